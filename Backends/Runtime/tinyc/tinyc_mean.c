/*
 * tinyc_mean.c - MEAN over a set of dims of a 4-D tensor, int8 (as TFLite
 * Micro's QuantizedMeanOrSum) and float32.  Outputs are produced one at a
 * time in output order, each summing its reduced elements, so no scratch
 * accumulator is needed and the work is one pass over the input.
 */
#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

/* Splits the 4 dims into kept (outer loops) and reduced (inner loops). */
typedef struct {
    int32_t keep[4];   /* extent of each dim in the outer loops (1 if reduced) */
    int32_t red[4];    /* extent of each dim in the inner loops (1 if kept) */
    int64_t stride[4]; /* input strides */
    int64_t count;     /* number of reduced elements per output */
} reduce_plan;

static int plan_reduce(const int32_t shape[4], int32_t axis_mask, reduce_plan *p)
{
    int32_t k;
    p->count = 1;
    p->stride[3] = 1;
    for (k = 2; k >= 0; k--) {
        p->stride[k] = p->stride[k + 1] * shape[k + 1];
    }
    for (k = 0; k < 4; k++) {
        if (shape[k] <= 0) {
            return -1;
        }
        if ((axis_mask >> k) & 1) {
            p->keep[k] = 1;
            p->red[k] = shape[k];
            p->count *= shape[k];
        } else {
            p->keep[k] = shape[k];
            p->red[k] = 1;
        }
    }
    return 0;
}

#define TINYC_REDUCE_LOOPS(p, OUTER_BEGIN, INNER, OUTER_END)                                                   \
    do {                                                                                                       \
        int32_t a0, a1, a2, a3, b0, b1, b2, b3;                                                                \
        for (a0 = 0; a0 < (p).keep[0]; a0++)                                                                   \
            for (a1 = 0; a1 < (p).keep[1]; a1++)                                                               \
                for (a2 = 0; a2 < (p).keep[2]; a2++)                                                           \
                    for (a3 = 0; a3 < (p).keep[3]; a3++) {                                                     \
                        const int64_t base = a0 * (p).stride[0] + a1 * (p).stride[1] + a2 * (p).stride[2] + a3; \
                        OUTER_BEGIN                                                                            \
                        for (b0 = 0; b0 < (p).red[0]; b0++)                                                    \
                            for (b1 = 0; b1 < (p).red[1]; b1++)                                                \
                                for (b2 = 0; b2 < (p).red[2]; b2++)                                            \
                                    for (b3 = 0; b3 < (p).red[3]; b3++) {                                      \
                                        const int64_t at = base + b0 * (p).stride[0] + b1 * (p).stride[1] +    \
                                                           b2 * (p).stride[2] + b3;                            \
                                        INNER                                                                  \
                                    }                                                                          \
                        OUTER_END                                                                              \
                    }                                                                                          \
    } while (0)

int32_t tinyc_mean_s8(const int8_t *input, const int32_t shape[4], int32_t axis_mask, int32_t input_zp,
                      int32_t output_zp, int32_t multiplier, int32_t shift, int8_t *output)
{
    reduce_plan p;
    int shift_n;
    int32_t n;
    if (plan_reduce(shape, axis_mask, &p) != 0 || p.count > TINYC_INT32_MAX / 256) {
        return -1;
    }
    n = (int32_t)p.count;
    /* Fold 1/n into the multiplier as TFLite Micro does:
     * shift_n = min(floor(log2 n), 32, 31 + shift). */
    shift_n = 31 - tinyc_clz32((uint32_t)n);
    shift_n = shift_n < 31 + shift ? shift_n : 31 + shift;
    multiplier = (int32_t)(((int64_t)multiplier * ((int64_t)1 << shift_n)) / n);
    shift -= shift_n;
    TINYC_REDUCE_LOOPS(p, int32_t sum = 0;, sum += input[at];, {
        const int32_t v = tinyc_requantize(sum - input_zp * n, multiplier, shift) + output_zp;
        *output++ = (int8_t)tinyc_clamp_i32(v, -128, 127);
    });
    return 0;
}

int32_t tinyc_mean_f32(const float *input, const int32_t shape[4], int32_t axis_mask, float *output)
{
    reduce_plan p;
    if (plan_reduce(shape, axis_mask, &p) != 0) {
        return -1;
    }
    TINYC_REDUCE_LOOPS(p, float sum = 0.0f;, sum += input[at];, { *output++ = sum / (float)p.count; });
    return 0;
}
