/*
 * smoke.c - see smoke.h.  Calls the CMSIS-NN stand-in
 * (arm_fully_connected_s8), an int8 tinyc kernel and float tinyc kernels
 * (so the FPU must be on).
 */
#include "smoke.h"

#include "arm_nnfunctions.h"
#include "tinyc_kernels.h"

static int8_t weights[16 * 64];
static int32_t bias[16];
static union {
    int8_t s8[64];
    float f32[16];
} arena[2];

int smoke_invoke(const int8_t *input, int8_t *output)
{
    const cmsis_nn_context ctx = {0, 0};
    const cmsis_nn_fc_params fc = {128, 0, -3, {-128, 127}};
    const cmsis_nn_per_tensor_quant_params q = {1518500250, -6};
    const cmsis_nn_dims in_dims = {1, 1, 1, 64}, filter_dims = {64, 1, 1, 16};
    const cmsis_nn_dims bias_dims = {1, 1, 1, 16}, out_dims = {1, 1, 1, 16};
    const int reps = input[0] & 7;
    int i, r;
    for (i = 0; i < 16 * 64; i++) {
        weights[i] = (int8_t)((i * 37 + 11) % 255 - 127);
    }
    for (i = 0; i < 16; i++) {
        bias[i] = i * 100 - 800;
    }
    for (i = 0; i < 64; i++) {
        arena[0].s8[i] = input[i];
    }
    for (r = 0; r < reps; r++) {
        arm_fully_connected_s8(&ctx, &fc, &q, &in_dims, arena[0].s8, &filter_dims, weights, &bias_dims, bias,
                               &out_dims, arena[1].s8);
        for (i = 0; i < 16; i++) {
            arena[0].s8[i] = arena[1].s8[i];
        }
    }
    tinyc_logistic_s8(arena[0].s8, 16, 0, 2000, 1717986918, 3, arena[1].s8);
    tinyc_dequantize_s8_f32(arena[1].s8, 16, 1.0f / 256.0f, -128, arena[0].f32);
    tinyc_softmax_f32(arena[0].f32, 1, 16, 3.0f, arena[1].f32);
    tinyc_quantize_f32_s8(arena[1].f32, 16, 1.0f / 256.0f, -128, output);
    return input[1] == 42 ? 5 : 0;
}
