/*
 * tinyc_broadcast.c - ADD, SUB and MUL of 4-D tensors with broadcasting
 * (each dim of each input equals the output's or is 1), int8 and float32,
 * with the element arithmetic of TFLite Micro's reference kernels.
 */
#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

/* Output shape and the two inputs' strides (0 along broadcast dims). */
typedef struct {
    int32_t shape[4];
    int64_t stride_1[4];
    int64_t stride_2[4];
} broadcast_plan;

static int plan_broadcast(const int32_t shape_1[4], const int32_t shape_2[4], broadcast_plan *p)
{
    int64_t s1 = 1, s2 = 1;
    int32_t k;
    for (k = 3; k >= 0; k--) {
        if (shape_1[k] <= 0 || shape_2[k] <= 0 ||
            (shape_1[k] != shape_2[k] && shape_1[k] != 1 && shape_2[k] != 1)) {
            return -1;
        }
        p->shape[k] = shape_1[k] > shape_2[k] ? shape_1[k] : shape_2[k];
        p->stride_1[k] = shape_1[k] == 1 ? 0 : s1;
        p->stride_2[k] = shape_2[k] == 1 ? 0 : s2;
        s1 *= shape_1[k];
        s2 *= shape_2[k];
    }
    return 0;
}

#define TINYC_BROADCAST_LOOPS(p, BODY)                                                                         \
    do {                                                                                                       \
        int32_t d0, d1, d2, d3;                                                                                \
        int64_t o_ = 0;                                                                                        \
        for (d0 = 0; d0 < (p).shape[0]; d0++)                                                                  \
            for (d1 = 0; d1 < (p).shape[1]; d1++)                                                              \
                for (d2 = 0; d2 < (p).shape[2]; d2++)                                                          \
                    for (d3 = 0; d3 < (p).shape[3]; d3++, o_++) {                                              \
                        const int64_t i1_ = d0 * (p).stride_1[0] + d1 * (p).stride_1[1] +                      \
                                            d2 * (p).stride_1[2] + d3 * (p).stride_1[3];                       \
                        const int64_t i2_ = d0 * (p).stride_2[0] + d1 * (p).stride_2[1] +                      \
                                            d2 * (p).stride_2[2] + d3 * (p).stride_2[3];                       \
                        BODY                                                                                   \
                    }                                                                                          \
    } while (0)

static int32_t add_sub_s8(int sign, const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                          const int32_t shape_2[4], int32_t input_1_offset, int32_t input_1_mult,
                          int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult, int32_t input_2_shift,
                          int32_t left_shift, int8_t *output, int32_t out_offset, int32_t out_mult,
                          int32_t out_shift, int32_t out_activation_min, int32_t out_activation_max)
{
    broadcast_plan p;
    if (plan_broadcast(shape_1, shape_2, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, {
        const int32_t a = (int32_t)((uint32_t)(input_1[i1_] + input_1_offset) << left_shift);
        const int32_t b = (int32_t)((uint32_t)(input_2[i2_] + input_2_offset) << left_shift);
        const int32_t sa = tinyc_requantize(a, input_1_mult, input_1_shift);
        const int32_t sb = tinyc_requantize(b, input_2_mult, input_2_shift);
        const int32_t out = tinyc_requantize(sign > 0 ? sa + sb : sa - sb, out_mult, out_shift) + out_offset;
        output[o_] = (int8_t)tinyc_clamp_i32(out, out_activation_min, out_activation_max);
    });
    return 0;
}

int32_t tinyc_add_s8_broadcast(const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                               const int32_t shape_2[4], int32_t input_1_offset, int32_t input_1_mult,
                               int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult,
                               int32_t input_2_shift, int32_t left_shift, int8_t *output, int32_t out_offset,
                               int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                               int32_t out_activation_max)
{
    return add_sub_s8(1, input_1, shape_1, input_2, shape_2, input_1_offset, input_1_mult, input_1_shift,
                      input_2_offset, input_2_mult, input_2_shift, left_shift, output, out_offset, out_mult,
                      out_shift, out_activation_min, out_activation_max);
}

int32_t tinyc_sub_s8_broadcast(const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                               const int32_t shape_2[4], int32_t input_1_offset, int32_t input_1_mult,
                               int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult,
                               int32_t input_2_shift, int32_t left_shift, int8_t *output, int32_t out_offset,
                               int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                               int32_t out_activation_max)
{
    return add_sub_s8(-1, input_1, shape_1, input_2, shape_2, input_1_offset, input_1_mult, input_1_shift,
                      input_2_offset, input_2_mult, input_2_shift, left_shift, output, out_offset, out_mult,
                      out_shift, out_activation_min, out_activation_max);
}

int32_t tinyc_mul_s8_broadcast(const int8_t *input_1, const int32_t shape_1[4], const int8_t *input_2,
                               const int32_t shape_2[4], int32_t input_1_offset, int32_t input_2_offset,
                               int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                               int32_t out_activation_min, int32_t out_activation_max)
{
    broadcast_plan p;
    if (plan_broadcast(shape_1, shape_2, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, {
        const int32_t prod = (input_1[i1_] + input_1_offset) * (input_2[i2_] + input_2_offset);
        const int32_t out = tinyc_requantize(prod, out_mult, out_shift) + out_offset;
        output[o_] = (int8_t)tinyc_clamp_i32(out, out_activation_min, out_activation_max);
    });
    return 0;
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

int32_t tinyc_add_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output)
{
    broadcast_plan p;
    if (plan_broadcast(shape_a, shape_b, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, { output[o_] = clampf(a[i1_] + b[i2_], act_min, act_max); });
    return 0;
}

int32_t tinyc_sub_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output)
{
    broadcast_plan p;
    if (plan_broadcast(shape_a, shape_b, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, { output[o_] = clampf(a[i1_] - b[i2_], act_min, act_max); });
    return 0;
}

int32_t tinyc_mul_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output)
{
    broadcast_plan p;
    if (plan_broadcast(shape_a, shape_b, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, { output[o_] = clampf(a[i1_] * b[i2_], act_min, act_max); });
    return 0;
}

int32_t tinyc_div_f32_broadcast(const float *a, const int32_t shape_a[4], const float *b, const int32_t shape_b[4],
                                float act_min, float act_max, float *output)
{
    broadcast_plan p;
    if (plan_broadcast(shape_a, shape_b, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, { output[o_] = clampf(a[i1_] / b[i2_], act_min, act_max); });
    return 0;
}

int32_t tinyc_prelu_f32_broadcast(const float *a, const int32_t shape_a[4], const float *slope,
                                  const int32_t shape_slope[4], float *output)
{
    broadcast_plan p;
    if (plan_broadcast(shape_a, shape_slope, &p) != 0) {
        return -1;
    }
    TINYC_BROADCAST_LOOPS(p, {
        const float v = a[i1_];
        output[o_] = v >= 0.0f ? v : v * slope[i2_];
    });
    return 0;
}
