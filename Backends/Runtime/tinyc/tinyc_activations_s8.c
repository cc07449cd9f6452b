/*
 * tinyc_activations_s8.c - int8 LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU
 * and RELU6, bit-exact with TFLite Micro's reference kernels.
 */
#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

#define INPUT_INT_BITS 4

void tinyc_logistic_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t input_range_radius,
                       int32_t input_multiplier, int32_t input_left_shift, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = (int32_t)input[i] - input_zp;
        if (x <= -input_range_radius) {
            output[i] = -128;
        } else if (x >= input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t x_q4 = tinyc_requantize(x, input_multiplier, input_left_shift);
            const int32_t y_q0 = tinyc_fp_logistic(x_q4, INPUT_INT_BITS);
            const int32_t y = tinyc_rdbpot(y_q0, 31 - 8) - 128;
            output[i] = (int8_t)tinyc_clamp_i32(y, -128, 127);
        }
    }
}

void tinyc_tanh_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t input_range_radius,
                   int32_t input_multiplier, int32_t input_left_shift, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = (int32_t)input[i] - input_zp;
        if (x <= -input_range_radius) {
            output[i] = -128;
        } else if (x >= input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t x_q4 = tinyc_requantize(x, input_multiplier, input_left_shift);
            const int32_t y_q0 = tinyc_fp_tanh(x_q4, INPUT_INT_BITS);
            const int32_t y = tinyc_rdbpot(y_q0, 31 - 7);
            output[i] = (int8_t)tinyc_clamp_i32(y, -128, 127);
        }
    }
}

/* int16 helpers of TFLite's HardSwish. */
static int16_t sat_i16(int32_t v)
{
    return (int16_t)tinyc_clamp_i32(v, -32768, 32767);
}

static int16_t srdhm16(int16_t a, int16_t b)
{
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    if (a == b && a == -32768) {
        return 32767;
    }
    return (int16_t)((ab + nudge) / (1 << 15));
}

static int16_t sdhm16(int16_t a, int16_t b) /* SaturatingDoublingHighMul, truncating */
{
    if (a == b && a == -32768) {
        return 32767;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t sat_left_shift16(int16_t v, int amount)
{
    return sat_i16((int32_t)v * (1 << amount));
}

void tinyc_hard_swish_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp,
                         int32_t reluish_multiplier_q15, int32_t reluish_exponent, int32_t output_multiplier_q15,
                         int32_t output_exponent, int8_t *output)
{
    const int16_t reluish_mult = (int16_t)reluish_multiplier_q15;
    const int16_t output_mult = (int16_t)output_multiplier_q15;
    int32_t i;
    for (i = 0; i < size; i++) {
        const int16_t x = (int16_t)((int32_t)input[i] - input_zp);
        const int16_t x_hires = (int16_t)(x * (1 << 7));
        const int16_t x_preshift = srdhm16(x_hires, output_mult);
        int16_t reluish = x_hires;
        int16_t y;
        int32_t out;
        if (reluish_exponent > 0) {
            reluish = sat_left_shift16(reluish, reluish_exponent - 1);
        }
        reluish = srdhm16(reluish, reluish_mult);
        if (reluish_exponent > 0) {
            reluish = sat_left_shift16(reluish, 1);
        }
        if (reluish_exponent < 0) {
            reluish = (int16_t)tinyc_rdbpot(reluish, -reluish_exponent);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1);
        y = sdhm16(reluish, x_preshift);
        out = tinyc_rdbpot(y, -output_exponent) + output_zp;
        output[i] = (int8_t)tinyc_clamp_i32(out, -128, 127);
    }
}

void tinyc_leaky_relu_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp,
                         int32_t identity_multiplier, int32_t identity_shift, int32_t alpha_multiplier,
                         int32_t alpha_shift, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = (int32_t)input[i] - input_zp;
        const int32_t y = x >= 0 ? tinyc_requantize(x, identity_multiplier, identity_shift)
                                 : tinyc_requantize(x, alpha_multiplier, alpha_shift);
        output[i] = (int8_t)tinyc_clamp_i32(y + output_zp, -128, 127);
    }
}

void tinyc_relu_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t output_zp, int32_t multiplier,
                   int32_t shift, int32_t act_min, int32_t act_max, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t y = tinyc_requantize((int32_t)input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (int8_t)tinyc_clamp_i32(y, act_min, act_max);
    }
}

void tinyc_clamp_s8(const int8_t *input, int32_t size, int32_t lo, int32_t hi, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = (int8_t)tinyc_clamp_i32(input[i], lo, hi);
    }
}
