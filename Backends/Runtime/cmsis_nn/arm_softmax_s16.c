/*
 * arm_softmax_s16.c - host stand-in for CMSIS-NN v7.0.0's arm_softmax_s16,
 * computing what TFLite Micro's reference SoftmaxInt16 does with the two
 * 513-entry tables its Prepare builds (passed in softmax_params; NULL tables
 * are refused as the real function refuses them).
 */
#include "arm_nnfunctions.h"
#include "../tinyc/tinyc_fixedpoint.h"

/* TFLite's LUTLookup for int16: 9 bits index, 7 bits interpolate. */
static int16_t lut_lookup_s16(int16_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = lut[index + 1] - base;
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

arm_cmsis_nn_status arm_softmax_s16(const int16_t *input,
                                    const int32_t num_rows,
                                    const int32_t row_size,
                                    const int32_t mult,
                                    const int32_t shift,
                                    const cmsis_nn_softmax_lut_s16 *softmax_params,
                                    int16_t *output)
{
    int32_t r, c;
    if (softmax_params->exp_lut == NULL || softmax_params->one_by_one_lut == NULL) return ARM_CMSIS_NN_ARG_ERROR;
    for (r = 0; r < num_rows; r++) {
        const int16_t *in = input + (int64_t)r * row_size;
        int16_t *out = output + (int64_t)r * row_size;
        int32_t max = INT16_MIN, sum = 0, headroom, shifted_sum, right_shift;
        int16_t reciprocal;
        for (c = 0; c < row_size; c++) max = tinyc_max_i32(max, in[c]);
        for (c = 0; c < row_size; c++) {
            const int32_t scaled = tinyc_requantize(in[c] - max, mult, shift) + 32767;
            out[c] = lut_lookup_s16((int16_t)tinyc_clamp_i32(scaled, INT16_MIN, INT16_MAX), softmax_params->exp_lut);
            sum += out[c];
        }
        headroom = tinyc_clz32((uint32_t)sum);
        if (headroom < 1 || headroom > 30) return ARM_CMSIS_NN_ARG_ERROR;
        shifted_sum = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14);
        reciprocal = lut_lookup_s16((int16_t)tinyc_clamp_i32(shifted_sum - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX),
                                    softmax_params->one_by_one_lut);
        right_shift = 31 - headroom;
        for (c = 0; c < row_size; c++) {
            const int32_t v =
                (int32_t)(((int64_t)out[c] * reciprocal + ((int64_t)1 << (right_shift - 1))) >> right_shift);
            out[c] = (int16_t)tinyc_clamp_i32(v, 0, 32767);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
