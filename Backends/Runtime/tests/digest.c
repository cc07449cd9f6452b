/*
 * digest.c - see digest.h.
 */
#include "digest.h"

#include <math.h>

#include "arm_nnfunctions.h"
#include "tinyc_kernels.h"

#define N_IN (2 * 9 * 10 * 6) /* input tensor [2, 9, 10, 6] */

static int8_t in8[N_IN], in8b[N_IN], w8[8 * 3 * 3 * 6], dw8[3 * 3 * 12], out8[4096];
static float inf[N_IN], inf2[N_IN], wf[8 * 3 * 3 * 6], dwf[3 * 3 * 12], outf[4096];
static int32_t bias[16], mult[16], shift[16];
static uint8_t packed[N_IN];
static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static uint32_t fnv(const void *data, int32_t bytes)
{
    const uint8_t *p = (const uint8_t *)data;
    uint32_t h = 2166136261u;
    int32_t i;
    for (i = 0; i < bytes; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static uint8_t *emit(uint8_t *out, uint32_t h)
{
    out[0] = (uint8_t)h;
    out[1] = (uint8_t)(h >> 8);
    out[2] = (uint8_t)(h >> 16);
    out[3] = (uint8_t)(h >> 24);
    return out + 4;
}

/* Scratch for the kernels that ask for it on this build (sized by their *_get_buffer_size). */
static int64_t scratch[512];
static int32_t kernel_sums[8];

int digest_invoke(const uint8_t *input, uint8_t *output)
{
    const cmsis_nn_context ctx = {scratch, (int32_t)sizeof scratch};
    const cmsis_nn_context fc_ctx = {kernel_sums, (int32_t)sizeof kernel_sums};
    int refused = 0;
    const cmsis_nn_dims in_dims = {2, 9, 10, 6};
    uint8_t *o = output;
    int32_t i;
    rng_state = (uint32_t)input[0] | ((uint32_t)input[1] << 8) | ((uint32_t)input[2] << 16) |
                ((uint32_t)input[3] << 24);
    for (i = 0; i < N_IN; i++) {
        in8[i] = (int8_t)(rnd() & 0xFF);
        in8b[i] = (int8_t)(rnd() & 0xFF);
        inf[i] = (float)((int32_t)(rnd() % 4001u) - 2000) / 1000.0f;
        inf2[i] = (float)((int32_t)(rnd() % 4001u) - 2000) / 1000.0f;
    }
    for (i = 0; i < 8 * 3 * 3 * 6; i++) {
        w8[i] = (int8_t)((int32_t)(rnd() % 255u) - 127);
        wf[i] = (float)w8[i] / 256.0f;
    }
    for (i = 0; i < 3 * 3 * 12; i++) {
        dw8[i] = (int8_t)((int32_t)(rnd() % 255u) - 127);
        dwf[i] = (float)dw8[i] / 256.0f;
    }
    for (i = 0; i < 16; i++) {
        bias[i] = (int32_t)(rnd() % 20001u) - 10000;
        mult[i] = 1073741824 + (int32_t)(rnd() % 1000000000u);
        shift[i] = -(int32_t)(rnd() % 10u) - 4;
    }

    { /* 1: conv s8, stride 2, pad 1, dilation 1 -> [2, 5, 5, 8] */
        const cmsis_nn_conv_params p = {5, -3, {2, 2}, {1, 1}, {1, 1}, {-128, 127}};
        const cmsis_nn_per_channel_quant_params q = {mult, shift};
        const cmsis_nn_dims f = {8, 3, 3, 6}, b = {1, 1, 1, 8}, od = {2, 5, 5, 8};
        refused |= arm_convolve_wrapper_s8(&ctx, &p, &q, &in_dims, in8, &f, w8, &b, bias, &od, out8) != ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 2 * 5 * 5 * 8));
    }
    { /* 2: conv s8, dilation 2, valid -> [2, 5, 6, 8] */
        const cmsis_nn_conv_params p = {-7, 11, {1, 1}, {0, 0}, {2, 2}, {-100, 90}};
        const cmsis_nn_per_channel_quant_params q = {mult, shift};
        const cmsis_nn_dims f = {8, 3, 3, 6}, b = {1, 1, 1, 8}, od = {2, 5, 6, 8};
        refused |= arm_convolve_wrapper_s8(&ctx, &p, &q, &in_dims, in8, &f, w8, &b, bias, &od, out8) != ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 2 * 5 * 6 * 8));
    }
    { /* 3: depthwise s8, mult 2 -> [2, 9, 10, 12] */
        const cmsis_nn_dw_conv_params p = {3, -5, 2, {1, 1}, {1, 1}, {1, 1}, {-128, 127}};
        const cmsis_nn_per_channel_quant_params q = {mult, shift};
        const cmsis_nn_dims f = {1, 3, 3, 12}, b = {1, 1, 1, 12}, od = {2, 9, 10, 12};
        refused |= arm_depthwise_conv_wrapper_s8(&ctx, &p, &q, &in_dims, in8, &f, dw8, &b, bias, &od, out8) != ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 2 * 9 * 10 * 12));
    }
    { /* 4, 5: fully connected per-tensor and per-channel, [6, 90] x [8, 90] */
        const cmsis_nn_fc_params p = {9, 0, -4, {-128, 127}};
        const cmsis_nn_per_tensor_quant_params qt = {mult[0], shift[0] + 2};
        const cmsis_nn_per_channel_quant_params qc = {mult, shift};
        const cmsis_nn_dims id = {6, 1, 1, 90}, f = {90, 1, 1, 8}, b = {1, 1, 1, 8}, od = {6, 1, 1, 8};
        /* MVE reads the kernel sums from the buffer (arm_vector_sum_s8); other builds ignore them. */
        arm_vector_sum_s8(kernel_sums, 90, 8, in8b, p.input_offset, p.filter_offset, bias);
        refused |= arm_fully_connected_s8(&fc_ctx, &p, &qt, &id, in8, &f, in8b, &b, bias, &od, out8) != ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 48));
        refused |= arm_fully_connected_per_channel_s8(&fc_ctx, &p, &qc, &id, in8, &f, in8b, &b, bias, &od, out8) !=
                   ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 48));
    }
    { /* 6, 7: pools 3x3 stride 2 pad 1 -> [2, 5, 5, 6] */
        const cmsis_nn_pool_params p = {{2, 2}, {1, 1}, {-120, 120}};
        const cmsis_nn_dims f = {1, 3, 3, 1}, od = {2, 5, 5, 6};
        refused |= arm_avgpool_s8(&ctx, &p, &in_dims, in8, &f, &od, out8) != ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 300));
        refused |= arm_max_pool_s8(&ctx, &p, &in_dims, in8, &f, &od, out8) != ARM_CMSIS_NN_SUCCESS;
        o = emit(o, fnv(out8, 300));
    }
    /* 8: softmax over rows of 60 */
    arm_softmax_s8(in8, 18, 60, 1518500250, 22, -3968, out8);
    o = emit(o, fnv(out8, N_IN));
    /* 9, 10: add, mul */
    arm_elementwise_add_s8(in8, in8b, 3, 1073741824, -1, -9, 1789569707, -2, 20, out8, 4, 1431655765, -19, -128, 127,
                           N_IN);
    o = emit(o, fnv(out8, N_IN));
    arm_elementwise_mul_s8(in8, in8b, 3, -9, out8, 4, 1431655765, -8, -128, 127, N_IN);
    o = emit(o, fnv(out8, N_IN));
    /* 11, 12: relu6, relu_q7 (in place) */
    for (i = 0; i < N_IN; i++) {
        out8[i] = in8[i];
    }
    arm_relu6_s8(out8, N_IN);
    o = emit(o, fnv(out8, N_IN));
    for (i = 0; i < N_IN; i++) {
        out8[i] = in8[i];
    }
    arm_relu_q7(out8, N_IN);
    o = emit(o, fnv(out8, N_IN));
    { /* 13: pad */
        const int32_t shape[4] = {2, 9, 10, 6}, before[4] = {0, 1, 2, 0}, after[4] = {0, 2, 0, 1};
        const int8_t v = -5;
        tinyc_pad(in8, 1, shape, before, after, &v, out8);
        o = emit(o, fnv(out8, 2 * 12 * 12 * 7));
    }
    { /* 14, 15: concat, concat with requantization */
        const int8_t *ins[2];
        const int32_t sizes[2] = {6, 6}, zps[2] = {3, -8}, ms[2] = {1518500250, 0}, ss[2] = {-1, 0};
        ins[0] = in8;
        ins[1] = in8b;
        tinyc_concat((const void *const *)ins, 2, sizes, 180, 1, 1, out8);
        o = emit(o, fnv(out8, 2 * N_IN));
        tinyc_concat_s8(ins, 2, sizes, 180, 1, zps, ms, ss, 6, out8);
        o = emit(o, fnv(out8, 2 * N_IN));
    }
    { /* 16, 17: transpose, strided slice */
        const int32_t shape[4] = {2, 9, 10, 6}, perm[4] = {3, 1, 0, 2};
        const int32_t begin[4] = {1, 8, 0, 1}, end[4] = {2, 0, 10, 6}, strides[4] = {1, -2, 3, 2};
        tinyc_transpose(in8, 1, 4, shape, perm, out8);
        o = emit(o, fnv(out8, N_IN));
        tinyc_strided_slice(in8, 1, 4, shape, begin, end, strides, out8);
        o = emit(o, fnv(out8, 1 * 4 * 4 * 3));
    }
    { /* 18: mean s8 over H, W */
        const int32_t shape[4] = {2, 9, 10, 6};
        tinyc_mean_s8(in8, shape, 0x6, 3, -7, 1634124015, -1, out8);
        o = emit(o, fnv(out8, 12));
    }
    /* 19-27: int8 elementwise tinyc kernels */
    tinyc_requantize_s8(in8, N_IN, 3, -7, 1634124015, 1, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_logistic_s8(in8, N_IN, 3, 1920, 1717986918, 3, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_tanh_s8(in8, N_IN, -2, 1920, 1717986918, 3, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_hard_swish_s8(in8, N_IN, 3, -10, 27307, 2, 27307, -1, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_leaky_relu_s8(in8, N_IN, 3, -5, 1431655765, 0, 1717986918, -3, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_relu_s8(in8, N_IN, 3, -128, 1431655765, 1, -128, 127, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_clamp_s8(in8, N_IN, -20, 100, out8);
    o = emit(o, fnv(out8, N_IN));
    tinyc_sub_s8(in8, in8b, 3, 1073741824, -1, -9, 1789569707, -2, 20, out8, 4, 1431655765, -19, -128, 127, N_IN);
    o = emit(o, fnv(out8, N_IN));
    tinyc_quantize_f32_s8(inf, N_IN, 0.013f, -5, out8);
    o = emit(o, fnv(out8, N_IN));
    /* 28: dequantize */
    tinyc_dequantize_s8_f32(in8, N_IN, 0.0371f, -7, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    /* 29-31: float conv, depthwise, fully connected */
    tinyc_conv2d_f32(inf, 2, 9, 10, 6, wf, 8, 3, 3, 6, NULL, 2, 2, 1, 1, 1, 1, 0.0f, 6.0f, outf, 5, 5);
    o = emit(o, fnv(outf, 4 * 2 * 5 * 5 * 8));
    tinyc_depthwise_conv2d_f32(inf, 2, 9, 10, 6, dwf, 3, 3, 2, NULL, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, outf, 9,
                               10);
    o = emit(o, fnv(outf, 4 * 2 * 9 * 10 * 12));
    tinyc_fully_connected_f32(inf, 6, 90, inf2, 8, NULL, -INFINITY, INFINITY, outf);
    o = emit(o, fnv(outf, 4 * 48));
    /* 32-33: float pools */
    tinyc_avgpool_f32(inf, 2, 9, 10, 6, 3, 3, 2, 2, 1, 1, -INFINITY, INFINITY, outf, 5, 5);
    o = emit(o, fnv(outf, 4 * 300));
    tinyc_maxpool_f32(inf, 2, 9, 10, 6, 3, 3, 2, 2, 1, 1, -INFINITY, INFINITY, outf, 5, 5);
    o = emit(o, fnv(outf, 4 * 300));
    /* 34-36: float add, sub, mul */
    tinyc_add_f32(inf, inf2, N_IN, -1.0f, 1.0f, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    tinyc_sub_f32(inf, inf2, N_IN, -INFINITY, INFINITY, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    tinyc_mul_f32(inf, inf2, N_IN, 0.0f, INFINITY, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    { /* 37: float mean */
        const int32_t shape[4] = {2, 9, 10, 6};
        tinyc_mean_f32(inf, shape, 0x6, outf);
        o = emit(o, fnv(outf, 4 * 12));
    }
    /* 38-40: float relu, leaky relu, hard swish (no libm) */
    tinyc_relu_f32(inf, N_IN, 0.0f, 6.0f, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    tinyc_leaky_relu_f32(inf, N_IN, 0.1f, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    tinyc_hard_swish_f32(inf, N_IN, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    /* 41-42: int4 and int2 packing round trips */
    tinyc_pack_s4(in8, N_IN, packed);
    tinyc_unpack_s4(packed, N_IN, out8);
    o = emit(o, fnv(packed, N_IN / 2) ^ fnv(out8, N_IN));
    tinyc_pack_s2(in8, N_IN, packed);
    tinyc_unpack_s2(packed, N_IN, out8);
    o = emit(o, fnv(packed, N_IN / 4) ^ fnv(out8, N_IN));
    { /* 43-45: int4-weight conv, depthwise, fully connected (weights packed from w8 >> 4) */
        const cmsis_nn_conv_params p = {5, -3, {2, 2}, {1, 1}, {1, 1}, {-128, 127}};
        const cmsis_nn_dw_conv_params dp = {3, -5, 2, {1, 1}, {1, 1}, {1, 1}, {-128, 127}};
        const cmsis_nn_fc_params fp = {9, 0, -4, {-128, 127}};
        const cmsis_nn_per_channel_quant_params q = {mult, shift};
        const cmsis_nn_per_tensor_quant_params qt = {mult[0], shift[0] + 2};
        const cmsis_nn_dims f = {8, 3, 3, 6}, b = {1, 1, 1, 8}, od = {2, 5, 5, 8};
        const cmsis_nn_dims df = {1, 3, 3, 12}, db = {1, 1, 1, 12}, dod = {2, 9, 10, 12};
        const cmsis_nn_dims id = {6, 1, 1, 90}, ff = {90, 1, 1, 8}, fod = {6, 1, 1, 8};
        for (i = 0; i < 8 * 3 * 3 * 6; i++) {
            out8[i] = (int8_t)(w8[i] / 16);
        }
        tinyc_pack_s4(out8, 8 * 3 * 3 * 6, packed);
        arm_convolve_wrapper_s4(&ctx, &p, &q, &in_dims, in8, &f, (const int8_t *)packed, &b, bias, &od, out8);
        o = emit(o, fnv(out8, 2 * 5 * 5 * 8));
        arm_depthwise_conv_wrapper_s4(&ctx, &dp, &q, &in_dims, in8, &df, (const int8_t *)packed, &db, bias, &dod, out8);
        o = emit(o, fnv(out8, 2 * 9 * 10 * 12));
        arm_fully_connected_s4(&ctx, &fp, &qt, &id, in8, &ff, (const int8_t *)packed, &b, bias, &fod, out8);
        o = emit(o, fnv(out8, 48));
    }
    { /* 46-49: broadcasting add, sub, mul (int8) and add (float) */
        const int32_t sa[4] = {2, 9, 10, 6}, sb[4] = {1, 1, 10, 1};
        tinyc_add_s8_broadcast(in8, sa, in8b, sb, 3, 1073741824, -1, -9, 1789569707, -2, 20, out8, 4, 1431655765, -19,
                               -128, 127);
        o = emit(o, fnv(out8, N_IN));
        tinyc_sub_s8_broadcast(in8, sa, in8b, sb, 3, 1073741824, -1, -9, 1789569707, -2, 20, out8, 4, 1431655765, -19,
                               -128, 127);
        o = emit(o, fnv(out8, N_IN));
        tinyc_mul_s8_broadcast(in8, sa, in8b, sb, 3, -9, out8, 4, 1431655765, -8, -128, 127);
        o = emit(o, fnv(out8, N_IN));
        tinyc_add_f32_broadcast(inf, sa, inf2, sb, -INFINITY, INFINITY, outf);
        o = emit(o, fnv(outf, 4 * N_IN));
    }
    /* 50-51: float kernels through libm (expf, tanhf: may differ between C libraries) */
    tinyc_softmax_f32(inf, 18, 60, 1.0f, outf);
    o = emit(o, fnv(outf, 4 * N_IN));
    tinyc_logistic_f32(inf, N_IN, outf);
    tinyc_tanh_f32(inf, N_IN, outf + N_IN / 2);
    o = emit(o, fnv(outf, 4 * N_IN));
    if (refused) {
        return 3; /* a kernel refused its arguments */
    }
    return (int)(o - output) == 4 * DIGEST_KERNELS ? 0 : 1;
}
