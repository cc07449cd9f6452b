/*
 * tinyc_quantize.c - QUANTIZE (float32 -> int8, int8 -> int8), DEQUANTIZE
 * (int8 -> float32) and int8 SUB, as TFLite Micro's reference kernels.
 */
#include <math.h>

#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

void tinyc_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        float r = roundf(input[i] / scale); /* half away from zero, as TfLiteRound */
        int32_t v;
        r = r < -1.0e6f ? -1.0e6f : (r > 1.0e6f ? 1.0e6f : r); /* NaN stays NaN: mapped below */
        v = (r == r) ? (int32_t)r + zero_point : zero_point;
        output[i] = (int8_t)tinyc_clamp_i32(v, -128, 127);
    }
}

void tinyc_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = (float)((double)scale * (double)((int32_t)input[i] - zero_point));
    }
}

void tinyc_requantize_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp,
                         int32_t multiplier, int32_t shift, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t v = tinyc_requantize((int32_t)input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (int8_t)tinyc_clamp_i32(v, -128, 127);
    }
}

void tinyc_sub_s8(const int8_t *input_1, const int8_t *input_2, int32_t input_1_offset, int32_t input_1_mult,
                  int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult, int32_t input_2_shift,
                  int32_t left_shift, int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                  int32_t out_activation_min, int32_t out_activation_max, int32_t size)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t a = (int32_t)((uint32_t)(input_1[i] + input_1_offset) << left_shift);
        const int32_t b = (int32_t)((uint32_t)(input_2[i] + input_2_offset) << left_shift);
        const int32_t diff = tinyc_requantize(a, input_1_mult, input_1_shift) -
                             tinyc_requantize(b, input_2_mult, input_2_shift);
        const int32_t out = tinyc_requantize(diff, out_mult, out_shift) + out_offset;
        output[i] = (int8_t)tinyc_clamp_i32(out, out_activation_min, out_activation_max);
    }
}
