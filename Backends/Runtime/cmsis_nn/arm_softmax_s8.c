/*
 * arm_softmax_s8.c - host stand-in for arm_softmax_s8 (CMSIS-NN v7.0.0 API),
 * computing what TFLite's reference quantized Softmax does for int8 in/out:
 * gemmlowp fixed-point exp of the scaled differences to the row maximum,
 * summed with 12 integer bits, times the fixed-point reciprocal of the sum.
 */
#include "arm_nnfunctions.h"
#include "../tinyc/tinyc_fixedpoint.h"

#define SCALED_DIFF_INT_BITS 5
#define ACCUM_INT_BITS 12

void arm_softmax_s8(const int8_t *input,
                    const int32_t num_rows,
                    const int32_t row_size,
                    const int32_t mult,
                    const int32_t shift,
                    const int32_t diff_min,
                    int8_t *output)
{
    int32_t r, c;
    for (r = 0; r < num_rows; r++) {
        const int8_t *in = input + (int64_t)r * row_size;
        int8_t *out = output + (int64_t)r * row_size;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0;
        int32_t num_bits_over_unit;
        int32_t shifted_scale;
        int headroom_plus_one;
        for (c = 0; c < row_size; c++) {
            max_in_row = tinyc_max_i32(max_in_row, in[c]);
        }
        for (c = 0; c < row_size; c++) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = tinyc_srdhm((int32_t)((uint32_t)diff << shift), mult);
                const int32_t e = tinyc_exp_on_negative_values(scaled, SCALED_DIFF_INT_BITS);
                sum_of_exps = tinyc_wadd(sum_of_exps, tinyc_rescale(e, 0, ACCUM_INT_BITS));
            }
        }
        /* GetReciprocal(sum_of_exps, 12, &num_bits_over_unit) */
        headroom_plus_one = tinyc_clz32((uint32_t)sum_of_exps);
        num_bits_over_unit = ACCUM_INT_BITS - headroom_plus_one;
        shifted_scale = tinyc_one_over_one_plus_x(
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
        for (c = 0; c < row_size; c++) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = tinyc_srdhm((int32_t)((uint32_t)diff << shift), mult);
                const int32_t e = tinyc_exp_on_negative_values(scaled, SCALED_DIFF_INT_BITS);
                const int exponent = num_bits_over_unit + 31 - 8;
                /* |x| < 2^31, so x / 2^32 or less rounds to 0 (long rows). */
                const int32_t unsat = exponent > 31 ? 0 : tinyc_rdbpot(tinyc_srdhm(shifted_scale, e), exponent);
                out[c] = (int8_t)tinyc_clamp_i32(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
