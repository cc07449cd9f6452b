/*
 * tinyc_kernels.h - tinyc's own kernels, for the ops CMSIS-NN does not have
 * and for float32 models.
 *
 * Conventions (all functions):
 *   - Tensors are dense, row-major, NHWC for 4-D feature maps.
 *   - Sizes and dims are int32_t; "size" is a number of elements.
 *   - int8 quantization parameters are passed as TFLite computes them:
 *     zero points as int32_t, and each real rescale factor as a 32-bit
 *     fixed-point multiplier plus shift from TFLite's QuantizeMultiplier
 *     (shift > 0: left shift); every requantization rounds with
 *     tinyc_requantize (TFLite MultiplyByQuantizedMultiplier).
 *   - int8 kernels are bit-exact with TFLite Micro's reference kernels for the
 *     same parameters; float kernels follow the same reference kernels in
 *     float32 (results may differ in the last bits through libm).
 *   - Functions return 0 on success and a negative value on bad arguments,
 *     or void when they cannot fail.  Nothing allocates.
 */
#ifndef TINYC_KERNELS_H
#define TINYC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest rank that tinyc_transpose and tinyc_strided_slice accept. */
#define TINYC_MAX_RANK 6

/* ------------------------------------------------------------------------ */
/* Data movement (any element type: elem_size is 1 for int8, 4 for float).  */

/**
 * Pad a 4-D tensor.  in_shape[4]: input dims; pad_before[4], pad_after[4]:
 * elements added before/after each dim (>= 0); pad_value: one element of
 * elem_size bytes (int8: the output zero point, or PadV2's constant).
 * Output dims: in_shape[i] + pad_before[i] + pad_after[i].
 */
int32_t tinyc_pad(const void *input, int32_t elem_size, const int32_t in_shape[4], const int32_t pad_before[4],
                  const int32_t pad_after[4], const void *pad_value, void *output);

/**
 * Concatenate num_inputs tensors along one axis, without requantization.
 * Every tensor is viewed as [outer, axis_sizes[i], inner]: outer = product of
 * the dims before the axis, inner = product of the dims after it (the same for
 * all inputs).  Output: [outer, sum(axis_sizes), inner].
 */
void tinyc_concat(const void *const *inputs, int32_t num_inputs, const int32_t *axis_sizes, int32_t outer,
                  int32_t inner, int32_t elem_size, void *output);

/**
 * Permute the dims of a tensor of rank <= TINYC_MAX_RANK: output dim i is
 * input dim perm[i] (TFLite TRANSPOSE).
 */
int32_t tinyc_transpose(const void *input, int32_t elem_size, int32_t rank, const int32_t *in_shape,
                        const int32_t *perm, void *output);

/**
 * Strided slice of rank <= TINYC_MAX_RANK with already-normalized bounds:
 * for each dim, indices begin[i], begin[i] + strides[i], ... while
 * < end[i] (strides > 0) or > end[i] (strides < 0); strides[i] != 0;
 * begin[i] in [0, in_shape[i]), end[i] in [-1, in_shape[i]].
 * Output dim i: max(0, ceil((end[i] - begin[i]) / strides[i])).
 */
int32_t tinyc_strided_slice(const void *input, int32_t elem_size, int32_t rank, const int32_t *in_shape,
                            const int32_t *begin, const int32_t *end, const int32_t *strides, void *output);

/* ------------------------------------------------------------------------ */
/* int8 kernels                                                              */

/**
 * Mean of a 4-D int8 tensor over the dims whose bit is set in axis_mask
 * (bit i = dim i; e.g. 0x6 = H and W of NHWC), as TFLite Micro's int8 MEAN
 * (QuantizedMeanOrSum): multiplier/shift = QuantizeMultiplier(in_scale /
 * out_scale); the 1/N factor is folded in here exactly as TFLM does.
 * Output: the input shape with reduced dims set to 1 (same bytes with or
 * without keep_dims).
 */
int32_t tinyc_mean_s8(const int8_t *input, const int32_t shape[4], int32_t axis_mask, int32_t input_zp,
                      int32_t output_zp, int32_t multiplier, int32_t shift, int8_t *output);

/**
 * Requantize int8 -> int8 (TFLite QUANTIZE int8->int8, Requantize):
 * out = clamp(requantize(in - input_zp, multiplier, shift) + output_zp),
 * multiplier/shift = QuantizeMultiplier(in_scale / out_scale).
 */
void tinyc_requantize_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp,
                         int32_t multiplier, int32_t shift, int8_t *output);

/**
 * Concatenation of int8 tensors with requantization of each input to the
 * output's scale (layout as tinyc_concat).  Input i is copied as is when
 * multipliers[i] == 0; otherwise out = clamp(requantize(in - input_zps[i],
 * multipliers[i], shifts[i]) + output_zp), the per-input factor being
 * QuantizeMultiplier(in_scale[i] / out_scale).  (TFLite Micro only accepts
 * equal scales, where this is a copy.)
 */
void tinyc_concat_s8(const int8_t *const *inputs, int32_t num_inputs, const int32_t *axis_sizes, int32_t outer,
                     int32_t inner, const int32_t *input_zps, const int32_t *multipliers, const int32_t *shifts,
                     int32_t output_zp, int8_t *output);

/**
 * Logistic (TFLite Micro int8 LOGISTIC; output scale 1/256, zero point -128).
 * With kInputIntegerBits = 4: input_multiplier and input_left_shift from
 * frexp(in_scale * 2^27) (multiplier = round(q * 2^31)), input_range_radius =
 * CalculateInputRadius(4, input_left_shift, 31).
 */
void tinyc_logistic_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t input_range_radius,
                       int32_t input_multiplier, int32_t input_left_shift, int8_t *output);

/**
 * Tanh (TFLite Micro int8 TANH; output scale 1/128, zero point 0).
 * Parameters computed as for tinyc_logistic_s8.
 */
void tinyc_tanh_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t input_range_radius,
                   int32_t input_multiplier, int32_t input_left_shift, int8_t *output);

/**
 * Hard swish (TFLite Micro int8 HARD_SWISH, reference_ops::HardSwish).
 * With hires = in_scale / 128 (float32 arithmetic, as TFLite):
 * output_multiplier_q15/output_exponent: QuantizeMultiplier(hires / out_scale)
 * with the multiplier rounded to 16 bits (DownScaleInt32ToInt16Multiplier);
 * reluish_multiplier_q15/reluish_exponent: the same for hires / (3 / 32768).
 */
void tinyc_hard_swish_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp,
                         int32_t reluish_multiplier_q15, int32_t reluish_exponent, int32_t output_multiplier_q15,
                         int32_t output_exponent, int8_t *output);

/**
 * Leaky ReLU (TFLite Micro int8 LEAKY_RELU): x >= 0 uses identity_* =
 * QuantizeMultiplier(in_scale / out_scale), x < 0 uses alpha_* =
 * QuantizeMultiplier(in_scale * alpha / out_scale) (float32 product).
 */
void tinyc_leaky_relu_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp,
                         int32_t identity_multiplier, int32_t identity_shift, int32_t alpha_multiplier,
                         int32_t alpha_shift, int8_t *output);

/**
 * Standalone ReLU / ReLU6 / ReLU_N1_TO_1 with requantization (TFLite Micro
 * int8 RELU): out = clamp(requantize(in - input_zp, multiplier, shift) +
 * output_zp, act_min, act_max); multiplier/shift = QuantizeMultiplier(in_scale
 * / out_scale), act_min/act_max the quantized activation bounds in the output.
 */
void tinyc_relu_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp, int32_t multiplier,
                   int32_t shift, int32_t act_min, int32_t act_max, int8_t *output);

/**
 * Clamp without requantization (TFLite Micro int8 RELU6, which keeps the
 * input's scale: lo = input zero point, hi = quantized 6.0).
 */
void tinyc_clamp_s8(const int8_t *input, int32_t size, int32_t lo, int32_t hi, int8_t *output);

/**
 * Elementwise subtract of same-shape int8 tensors (TFLite Micro int8 SUB):
 * parameters as arm_elementwise_add_s8 (offsets = -input zero points,
 * left_shift = 20, multipliers from 2 * max(in scales)).
 */
void tinyc_sub_s8(const int8_t *input_1, const int8_t *input_2, int32_t input_1_offset, int32_t input_1_mult,
                  int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult, int32_t input_2_shift,
                  int32_t left_shift, int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                  int32_t out_activation_min, int32_t out_activation_max, int32_t size);

/**
 * ADD / SUB of 4-D int8 tensors with broadcasting: each dim of shape_1 and
 * shape_2 equals the output's or is 1; the output shape is the per-dim
 * maximum.  Parameters as arm_elementwise_add_s8.  Returns -1 on shapes
 * that do not broadcast.
 */
int32_t tinyc_add_s8_broadcast(const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                               const int32_t shape_2[4], int32_t input_1_offset, int32_t input_1_mult,
                               int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult,
                               int32_t input_2_shift, int32_t left_shift, int8_t *output, int32_t out_offset,
                               int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                               int32_t out_activation_max);
int32_t tinyc_sub_s8_broadcast(const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                               const int32_t shape_2[4], int32_t input_1_offset, int32_t input_1_mult,
                               int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult,
                               int32_t input_2_shift, int32_t left_shift, int8_t *output, int32_t out_offset,
                               int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                               int32_t out_activation_max);

/** MUL of 4-D int8 tensors with broadcasting; parameters as arm_elementwise_mul_s8. */
int32_t tinyc_mul_s8_broadcast(const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                               const int32_t shape_2[4], int32_t input_1_offset, int32_t input_2_offset,
                               int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                               int32_t out_activation_min, int32_t out_activation_max);

/**
 * Quantize float32 -> int8 (TFLite QUANTIZE): out = clamp(round(in / scale)
 * + zero_point), division in float32, rounding half away from zero.
 */
void tinyc_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output);

/**
 * Dequantize int8 -> float32 (TFLite DEQUANTIZE): out = (float)((double)scale
 * * (in - zero_point)).
 */
void tinyc_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output);

/* ------------------------------------------------------------------------ */
/* float32 kernels (act_min/act_max: the fused activation's float range,     */
/* -INFINITY/INFINITY for none, 0/6 for RELU6, ...)                          */

/**
 * 2-D convolution.  input [n, in_h, in_w, in_c]; filter [out_c, k_h, k_w,
 * filter_c] with in_c = groups * filter_c; bias [out_c] or NULL; output
 * [n, out_h, out_w, out_c]; pad_h/pad_w: padding before (top/left).
 */
int32_t tinyc_conv2d_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t in_c,
                         const float *filter, int32_t out_c, int32_t k_h, int32_t k_w, int32_t filter_c,
                         const float *bias, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                         int32_t dilation_h, int32_t dilation_w, float act_min, float act_max, float *output,
                         int32_t out_h, int32_t out_w);

/**
 * Depthwise convolution.  input [n, in_h, in_w, in_c]; filter [1, k_h, k_w,
 * out_c] with out_c = in_c * ch_mult; bias [out_c] or NULL; output
 * [n, out_h, out_w, out_c].
 */
int32_t tinyc_depthwise_conv2d_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t in_c,
                                   const float *filter, int32_t k_h, int32_t k_w, int32_t ch_mult,
                                   const float *bias, int32_t stride_h, int32_t stride_w, int32_t pad_h,
                                   int32_t pad_w, int32_t dilation_h, int32_t dilation_w, float act_min,
                                   float act_max, float *output, int32_t out_h, int32_t out_w);

/**
 * Fully connected: input [batches, depth]; filter [out_c, depth]; bias
 * [out_c] or NULL; output [batches, out_c].
 */
void tinyc_fully_connected_f32(const float *input, int32_t batches, int32_t depth, const float *filter,
                               int32_t out_c, const float *bias, float act_min, float act_max, float *output);

/**
 * Average / max pooling over in-bounds window elements.  input [n, in_h,
 * in_w, c]; output [n, out_h, out_w, c]; pad_h/pad_w: padding before.
 */
void tinyc_avgpool_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t c, int32_t k_h,
                       int32_t k_w, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                       float act_min, float act_max, float *output, int32_t out_h, int32_t out_w);
void tinyc_maxpool_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t c, int32_t k_h,
                       int32_t k_w, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                       float act_min, float act_max, float *output, int32_t out_h, int32_t out_w);

/** Softmax over the last dim: rows x row_size, exp(beta * (x - max)) / sum. */
void tinyc_softmax_f32(const float *input, int32_t rows, int32_t row_size, float beta, float *output);
/** Log-softmax over the last dimension: out = x - max - log(sum(exp(x - max))), row by row. */
void tinyc_log_softmax_f32(const float *input, int32_t rows, int32_t row_size, float *output);

/** Elementwise a+b, a-b, a*b of same-size tensors, clamped to [act_min, act_max]. */
void tinyc_add_f32(const float *a, const float *b, int32_t size, float act_min, float act_max, float *output);
void tinyc_sub_f32(const float *a, const float *b, int32_t size, float act_min, float act_max, float *output);
void tinyc_mul_f32(const float *a, const float *b, int32_t size, float act_min, float act_max, float *output);

/** a+b, a-b, a*b of 4-D tensors with broadcasting (as tinyc_add_s8_broadcast). */
int32_t tinyc_add_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output);
int32_t tinyc_sub_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output);
int32_t tinyc_mul_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output);
/** a/b with broadcasting (ONNX Div), clamped to [act_min, act_max]. */
int32_t tinyc_div_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output);
/** PRelu: a >= 0 ? a : a * slope, the slope broadcast. */
int32_t tinyc_prelu_f32_broadcast(const float *a, const int32_t shape_a[4], const float *slope,
                                  const int32_t shape_slope[4], float *output);
/** Hard sigmoid (ONNX HardSigmoid): max(0, min(1, alpha * x + beta)). */
void tinyc_hard_sigmoid_f32(const float *input, int32_t size, float alpha, float beta, float *output);

/** Mean of a 4-D tensor over the dims set in axis_mask (as tinyc_mean_s8). */
int32_t tinyc_mean_f32(const float *input, const int32_t shape[4], int32_t axis_mask, float *output);

/** Activations, elementwise: 1/(1+e^-x), tanh, x*relu6(x+3)/6. */
void tinyc_logistic_f32(const float *input, int32_t size, float *output);
void tinyc_tanh_f32(const float *input, int32_t size, float *output);
void tinyc_hard_swish_f32(const float *input, int32_t size, float *output);

/** ReLU family as a clamp: RELU [0, inf), RELU6 [0, 6], RELU_N1_TO_1 [-1, 1]. */
void tinyc_relu_f32(const float *input, int32_t size, float act_min, float act_max, float *output);

/** Leaky ReLU: x > 0 ? x : alpha * x. */
void tinyc_leaky_relu_f32(const float *input, int32_t size, float alpha, float *output);

/* ------------------------------------------------------------------------ */
/* Sub-byte packing                                                          */

/**
 * int4: two values per byte, element 2i in the low nibble and 2i+1 in the
 * high nibble (CMSIS-NN s4 layout).  pack takes values in [-8, 7] (others
 * are truncated to 4 bits) and writes (count + 1) / 2 bytes, an odd last high
 * nibble being 0; unpack sign-extends count values.
 */
void tinyc_pack_s4(const int8_t *input, int32_t count, uint8_t *output);
void tinyc_unpack_s4(const uint8_t *input, int32_t count, int8_t *output);

/**
 * int2: four values per byte, element 4i+k in bits 2k..2k+1 (lowest bits
 * first).  pack takes values in [-2, 1] and writes (count + 3) / 4 bytes;
 * unpack sign-extends count values.
 */
void tinyc_pack_s2(const int8_t *input, int32_t count, uint8_t *output);
void tinyc_unpack_s2(const uint8_t *input, int32_t count, int8_t *output);

/*
 * 16x8 (int16 activations, zero point 0), as TFLite Micro's reference int16 kernels.
 * Fully connected with per-output multipliers (per-channel weights) or an int32 bias:
 * bias is int64_t[units] (64-bit accumulator) or, when bias_is_int32, int32_t[units]; may be NULL.
 */
void tinyc_fully_connected_s16(const int16_t *input, int32_t rows, int32_t depth, const int8_t *filter, int32_t units,
                               const void *bias, int32_t bias_is_int32, const int32_t *multipliers,
                               const int32_t *shifts, int32_t act_min, int32_t act_max, int16_t *output);
/** a+b, a-b (params: mult1, shift1, mult2, shift2, out_mult, out_shift, left_shift = 15) and
 *  a*b (params: mult, shift) of 4-D tensors with broadcasting; -1 on incompatible shapes. */
int32_t tinyc_add_s16_broadcast(const int16_t *a, const int32_t shape_a[4], const int16_t *b,
                                const int32_t shape_b[4], const int32_t params[7], int32_t act_min, int32_t act_max,
                                int16_t *output);
int32_t tinyc_sub_s16_broadcast(const int16_t *a, const int32_t shape_a[4], const int16_t *b,
                                const int32_t shape_b[4], const int32_t params[7], int32_t act_min, int32_t act_max,
                                int16_t *output);
int32_t tinyc_mul_s16_broadcast(const int16_t *a, const int32_t shape_a[4], const int16_t *b,
                                const int32_t shape_b[4], const int32_t params[7], int32_t act_min, int32_t act_max,
                                int16_t *output);
/** Mean over the dims in axis_mask: int32 sum requantized (1/count folded into multiplier). */
int32_t tinyc_mean_s16(const int16_t *input, const int32_t shape[4], int32_t axis_mask, int32_t multiplier,
                       int32_t shift, int16_t *output);
void tinyc_quantize_f32_s16(const float *input, int32_t size, float scale, int32_t zero_point, int16_t *output);
void tinyc_dequantize_s16_f32(const int16_t *input, int32_t size, float scale, int32_t zero_point, float *output);
/** LOGISTIC / TANH on int16 with TFLite's 256-entry sigmoid table (the model carries it). */
void tinyc_logistic_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift, const uint16_t table[256],
                        int16_t *output);
void tinyc_tanh_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift, const uint16_t table[256],
                    int16_t *output);

/* ---- Packed 8/4/2-bit integer tensors (tinyc_lowbit.c) ----
 * Element i of a b-bit tensor (b = 8, 4, 2) holds bits (i*b) mod 8 .. +b-1 of
 * byte i*b/8, low bits first, two's complement; a tensor of n elements occupies
 * (n*b + 7)/8 bytes and its unused high bits of the last byte are written 0.
 * The kernels read packed operands and write packed results in place in the
 * arena (no whole-tensor unpacking) and compute what tinyc's interpreter (TFLite's
 * integer arithmetic) computes. Results are written in element order, each byte
 * once, after every operand element it depends on of that byte has been read. */

/** Geometry of a convolution, depthwise convolution or pooling (NHWC). k_c: filter
 *  input channels of a (grouped) convolution; ch_mult: depth multiplier (depthwise). */
typedef struct {
    int32_t batches, in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w, k_c, ch_mult;
    int32_t stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
} tinyc_lowbit_geometry;

/** Bit widths and requantization of a conv / depthwise / fully-connected layer:
 *  y = clamp(output_offset + MultiplyByQuantizedMultiplier(acc + bias, multiplier[c], shift[c])),
 *  with acc = sum of w * (x + input_offset); per_channel 0 uses multiplier[0], shift[0]. */
typedef struct {
    int32_t in_bits, w_bits, out_bits;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
} tinyc_lowbit_quant;

/** Element i of a packed tensor, sign-extended. */
int32_t tinyc_lowbit_get(const int8_t *data, int64_t index, int32_t bits);
/** CONV_2D (grouped when k_c < in_c), OHWI filter; 0, or -1 on inconsistent groups. */
int32_t tinyc_conv2d_lowbit(const int8_t *input, const int8_t *filter, const int32_t *bias,
                            const tinyc_lowbit_geometry *g, const tinyc_lowbit_quant *q, int8_t *output);
/** DEPTHWISE_CONV_2D, 1HW(C*ch_mult) filter; 0, or -1 when out_c != in_c * ch_mult. */
int32_t tinyc_depthwise_conv2d_lowbit(const int8_t *input, const int8_t *filter, const int32_t *bias,
                                      const tinyc_lowbit_geometry *g, const tinyc_lowbit_quant *q, int8_t *output);
/** FULLY_CONNECTED: rows x depth input, units x depth filter. */
void tinyc_fully_connected_lowbit(const int8_t *input, int32_t rows, int32_t depth, const int8_t *filter,
                                  int32_t units, const int32_t *bias, const tinyc_lowbit_quant *q, int8_t *output);
/** AVERAGE_POOL_2D (is_max 0) / MAX_POOL_2D over k_h x k_w windows clamped to the image, no
 *  requantization; 0, or -1 when an average window holds no pixel. */
int32_t tinyc_pool_lowbit(const int8_t *input, int32_t in_bits, const tinyc_lowbit_geometry *g, int32_t is_max,
                          int32_t act_min, int32_t act_max, int8_t *output, int32_t out_bits);
/** ADD of same-shape tensors, TFLite's int8 arithmetic (params as tinyc_sub_s8). */
void tinyc_add_lowbit(const int8_t *input_1, int32_t bits_1, const int8_t *input_2, int32_t bits_2,
                      int32_t input_1_offset, int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                      int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                      int32_t out_bits, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                      int32_t out_activation_min, int32_t out_activation_max, int32_t size);
/** CONCATENATION: input k is copied (rescale[k] 0) or requantized as TFLite's
 *  ConcatenationWithScaling, round(x * scale[k] + bias[k]) + output_zp in float; then clamped. */
void tinyc_concat_lowbit(const int8_t *const *inputs, const int32_t *input_bits, int32_t num_inputs,
                         const int32_t *axis_sizes, int32_t outer, int32_t inner, const int32_t *rescale,
                         const float *scale, const float *bias, int32_t output_zp, int32_t act_min,
                         int32_t act_max, int8_t *output, int32_t out_bits);
/** QUANTIZE int -> int: (x - input_zp) rescaled, + output_zp, clamped to [out_min, out_max]. */
void tinyc_requantize_lowbit(const int8_t *input, int32_t in_bits, int32_t size, int32_t input_zp, int32_t output_zp,
                             int32_t multiplier, int32_t shift, int32_t out_min, int32_t out_max, int8_t *output,
                             int32_t out_bits);
/** QUANTIZE f32 -> int: round(x / scale) + zero_point (half away from zero), clamped. */
void tinyc_quantize_f32_lowbit(const float *input, int32_t size, float scale, int32_t zero_point, int32_t out_min,
                               int32_t out_max, int8_t *output, int32_t out_bits);
/** DEQUANTIZE int -> f32: float(double(scale) * (x - zero_point)). */
void tinyc_dequantize_lowbit_f32(const int8_t *input, int32_t in_bits, int32_t size, float scale, int32_t zero_point,
                                 float *output);

#ifdef __cplusplus
}
#endif

#endif /* TINYC_KERNELS_H */
