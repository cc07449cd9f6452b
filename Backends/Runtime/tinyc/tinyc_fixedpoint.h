/*
 * tinyc_fixedpoint.h - the integer rounding rules of TFLite, in one place.
 *
 * Every int8 kernel of the tinyc runtime (tinyc_* and the host stand-in of
 * CMSIS-NN) rounds through these helpers, so that all of them agree with
 * TFLite Micro's reference kernels bit for bit:
 *
 *   tinyc_srdhm        gemmlowp SaturatingRoundingDoublingHighMul (int32)
 *   tinyc_rdbpot       gemmlowp RoundingDivideByPOT (round half away from 0)
 *   tinyc_requantize   TFLite MultiplyByQuantizedMultiplier: SRDHM of the
 *                      left-shifted value, then RDBPOT by the right shift
 *                      (the "double rounding" form TFLM uses by default;
 *                      CMSIS-NN's arm_nn_requantize computes the same).
 *
 * plus the few gemmlowp fixed-point transcendental functions that TFLite's
 * integer softmax, logistic and tanh are built from.  A fixed-point value
 * with I integer bits is an int32 "raw" r standing for r / 2^(31-I).
 *
 * Plain C99, header only, no allocation.
 */
#ifndef TINYC_FIXEDPOINT_H
#define TINYC_FIXEDPOINT_H

#include <stdint.h>

#define TINYC_INT32_MIN ((int32_t)(-2147483647 - 1))
#define TINYC_INT32_MAX ((int32_t)2147483647)

static inline int32_t tinyc_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t tinyc_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t tinyc_clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* round(a * b / 2^31), ties away from zero, saturating the one overflow case. */
static inline int32_t tinyc_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    if (a == TINYC_INT32_MIN && b == TINYC_INT32_MIN) {
        return TINYC_INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, as gemmlowp expects. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t tinyc_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* Arithmetic shift of a negative value: implementation-defined in C99,
     * arithmetic on gcc, clang and arm-none-eabi-gcc (as TFLite assumes). */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier(x, multiplier, shift):
 * shift > 0 is a left shift before the multiply, shift < 0 a rounding right
 * shift after it. */
static inline int32_t tinyc_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return tinyc_rdbpot(tinyc_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0. */
static inline int32_t tinyc_sat_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return TINYC_INT32_MAX;
    }
    if (x < -threshold) {
        return TINYC_INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp Rescale: a value with src_int_bits integer bits re-expressed with
 * dst_int_bits integer bits (saturating when widening the fraction). */
static inline int32_t tinyc_rescale(int32_t raw, int src_int_bits, int dst_int_bits)
{
    const int exponent = src_int_bits - dst_int_bits;
    if (exponent > 0) {
        return tinyc_sat_shift_left(raw, exponent);
    }
    if (exponent < 0) {
        return tinyc_rdbpot(raw, -exponent);
    }
    return raw;
}

/* gemmlowp RoundingHalfSum for int32. */
static inline int32_t tinyc_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* Wrapping int32 add/sub (gemmlowp's fixed-point + and - on int32 raws). */
static inline int32_t tinyc_wadd(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tinyc_wsub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* exp(x) for x in [-1/4, 0), x and result with 0 integer bits. */
static inline int32_t tinyc_exp_on_interval_m025_0(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
    const int32_t x = tinyc_wadd(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = tinyc_srdhm(x, x);
    const int32_t x3 = tinyc_srdhm(x2, x);
    const int32_t x4 = tinyc_srdhm(x2, x2);
    const int32_t x4_over_4 = tinyc_rdbpot(x4, 2);
    const int32_t poly = tinyc_rdbpot(
        tinyc_wadd(tinyc_srdhm(tinyc_wadd(x4_over_4, x3), constant_1_over_3), x2), 1);
    return tinyc_wadd(constant_term, tinyc_srdhm(constant_term, tinyc_wadd(x, poly)));
}

/* gemmlowp exp_on_negative_values: a <= 0 with int_bits integer bits
 * (1 <= int_bits <= 5); result with 0 integer bits. */
static inline int32_t tinyc_exp_on_negative_values(int32_t a, int int_bits)
{
    static const int32_t multipliers[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242         /* exp(-16)  */
    };
    const int frac_bits = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = tinyc_wsub(a & mask, one_quarter);
    int32_t result = tinyc_exp_on_interval_m025_0(
        tinyc_rescale(a_mod_quarter_minus_one_quarter, int_bits, 0));
    const int32_t remainder = tinyc_wsub(a_mod_quarter_minus_one_quarter, a);
    int exponent;
    for (exponent = -2; exponent <= 4; exponent++) {
        if (int_bits > exponent) {
            const int shift_amount = frac_bits + exponent;
            if (remainder & (int32_t)((uint32_t)1 << shift_amount)) {
                result = tinyc_srdhm(result, multipliers[exponent + 2]);
            }
        }
    }
    if (a == 0) {
        result = TINYC_INT32_MAX;
    }
    return result;
}

/* Newton-Raphson for 1 / half_denominator, in Q2.29; helper of the two below. */
static inline int32_t tinyc_nr_reciprocal_q2(int32_t half_denominator)
{
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = tinyc_wadd(constant_48_over_17, tinyc_srdhm(half_denominator, constant_neg_32_over_17));
    int i;
    for (i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = tinyc_srdhm(half_denominator, x);
        const int32_t one_minus = tinyc_wsub(one_q2, half_denominator_times_x);
        x = tinyc_wadd(x, tinyc_rescale(tinyc_srdhm(x, one_minus), 4, 2));
    }
    return x;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 (input and result Q0.31). */
static inline int32_t tinyc_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = tinyc_rounding_half_sum(a, TINYC_INT32_MAX);
    const int32_t x = tinyc_nr_reciprocal_q2(half_denominator);
    /* ExactMulByPot<-1> keeps the raw and makes it Q1.30; then Rescale<0>. */
    return tinyc_rescale(x, 1, 0);
}

/* gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1 (input and result Q0.31). */
static inline int32_t tinyc_one_minus_x_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = tinyc_rounding_half_sum(a, TINYC_INT32_MAX);
    const int32_t x = tinyc_nr_reciprocal_q2(half_denominator);
    return tinyc_rescale(tinyc_wsub(x, (int32_t)1 << 29), 2, 0);
}

/* gemmlowp logistic of a Q(int_bits) value; result Q0.31. */
static inline int32_t tinyc_fp_logistic(int32_t a, int int_bits)
{
    int32_t abs_a;
    int32_t positive;
    if (a == 0) {
        return (int32_t)1 << 30; /* one half */
    }
    abs_a = a > 0 ? a : tinyc_wsub(0, a);
    positive = tinyc_one_over_one_plus_x(tinyc_exp_on_negative_values(tinyc_wsub(0, abs_a), int_bits));
    return a > 0 ? positive : tinyc_wsub(TINYC_INT32_MAX, positive);
}

/* gemmlowp tanh of a Q(int_bits) value; result Q0.31. */
static inline int32_t tinyc_fp_tanh(int32_t a, int int_bits)
{
    int32_t n;
    int32_t t;
    if (a == 0) {
        return 0;
    }
    n = a < 0 ? a : tinyc_wsub(0, a); /* -|a| */
    /* ExactMulByPot<1>: same raw, one more integer bit (so exp(2n)). */
    t = tinyc_one_minus_x_over_one_plus_x(tinyc_exp_on_negative_values(n, int_bits + 1));
    return a < 0 ? tinyc_wsub(0, t) : t;
}

/* Number of leading zero bits of a 32-bit value (32 for 0). */
static inline int tinyc_clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

/* TFLite's MultiplyByQuantizedMultiplier(int64_t, ...) (CMSIS-NN's arm_nn_requantize_s64 with
 * REDUCE_MULTIPLIER): the Q31 multiplier rounded to Q15, one rounding shift by 15 - shift. */
static inline int32_t tinyc_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int64_t total_shift = 15 - shift;
    return (int32_t)((x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}

#endif /* TINYC_FIXEDPOINT_H */
