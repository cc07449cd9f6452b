/*
 * tinyc_s16.c - tinyc's own 16x8 kernels, for what CMSIS-NN v7.0.0 has no s16
 * function for: per-channel (or int32-bias) fully connected, broadcast
 * add/sub/mul, mean, logistic, tanh, and the float<->int16 edges.  Each
 * computes what TFLite Micro's reference int16 kernel does.
 */
#include <math.h>

#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

void tinyc_fully_connected_s16(const int16_t *input, int32_t rows, int32_t depth, const int8_t *filter, int32_t units,
                               const void *bias, int32_t bias_is_int32, const int32_t *multipliers,
                               const int32_t *shifts, int32_t act_min, int32_t act_max, int16_t *output)
{
    int32_t r, u, d;
    for (r = 0; r < rows; r++) {
        for (u = 0; u < units; u++) {
            int64_t acc = 0;
            int32_t v;
            for (d = 0; d < depth; d++) acc += (int64_t)filter[(int64_t)u * depth + d] * input[(int64_t)r * depth + d];
            if (bias_is_int32) {
                const int32_t b = bias != NULL ? ((const int32_t *)bias)[u] : 0;
                v = tinyc_requantize((int32_t)((uint32_t)(int32_t)acc + (uint32_t)b), multipliers[u], shifts[u]);
            } else {
                if (bias != NULL) acc += ((const int64_t *)bias)[u];
                v = tinyc_requantize_s64(acc, multipliers[u], shifts[u]);
            }
            output[(int64_t)r * units + u] = (int16_t)tinyc_clamp_i32(v, act_min, act_max);
        }
    }
}

/* Index of the element of a 4-D input (broadcast dims of size 1) for output index (d0..d3). */
static int64_t bcast_index(const int32_t s[4], const int32_t o[4])
{
    int64_t i = 0;
    int k;
    for (k = 0; k < 4; k++) i = i * s[k] + (s[k] == 1 ? 0 : o[k]);
    return i;
}

static int32_t binary_s16(int kind, const int16_t *a, const int32_t sa[4], const int16_t *b, const int32_t sb[4],
                          const int32_t p[7], int32_t act_min, int32_t act_max, int16_t *out)
{
    int32_t shape[4], o[4];
    int64_t n = 0;
    int k;
    for (k = 0; k < 4; k++) {
        if (sa[k] <= 0 || sb[k] <= 0 || (sa[k] != sb[k] && sa[k] != 1 && sb[k] != 1)) return -1;
        shape[k] = sa[k] > sb[k] ? sa[k] : sb[k];
    }
    for (o[0] = 0; o[0] < shape[0]; o[0]++)
        for (o[1] = 0; o[1] < shape[1]; o[1]++)
            for (o[2] = 0; o[2] < shape[2]; o[2]++)
                for (o[3] = 0; o[3] < shape[3]; o[3]++, n++) {
                    const int32_t x = a[bcast_index(sa, o)], y = b[bcast_index(sb, o)];
                    int32_t v;
                    if (kind == 2) {
                        v = tinyc_requantize(x * y, p[0], p[1]);
                    } else {
                        const int32_t u = tinyc_requantize((int32_t)((uint32_t)x << p[6]), p[0], p[1]);
                        const int32_t w = tinyc_requantize((int32_t)((uint32_t)y << p[6]), p[2], p[3]);
                        v = tinyc_requantize(kind == 0 ? u + w : u - w, p[4], p[5]);
                    }
                    out[n] = (int16_t)tinyc_clamp_i32(v, act_min, act_max);
                }
    return 0;
}

int32_t tinyc_add_s16_broadcast(const int16_t *a, const int32_t shape_a[4], const int16_t *b,
                                const int32_t shape_b[4], const int32_t params[7], int32_t act_min, int32_t act_max,
                                int16_t *output)
{
    return binary_s16(0, a, shape_a, b, shape_b, params, act_min, act_max, output);
}

int32_t tinyc_sub_s16_broadcast(const int16_t *a, const int32_t shape_a[4], const int16_t *b,
                                const int32_t shape_b[4], const int32_t params[7], int32_t act_min, int32_t act_max,
                                int16_t *output)
{
    return binary_s16(1, a, shape_a, b, shape_b, params, act_min, act_max, output);
}

int32_t tinyc_mul_s16_broadcast(const int16_t *a, const int32_t shape_a[4], const int16_t *b,
                                const int32_t shape_b[4], const int32_t params[7], int32_t act_min, int32_t act_max,
                                int16_t *output)
{
    return binary_s16(2, a, shape_a, b, shape_b, params, act_min, act_max, output);
}

int32_t tinyc_mean_s16(const int16_t *input, const int32_t shape[4], int32_t axis_mask, int32_t multiplier,
                       int32_t shift, int16_t *output)
{
    int32_t o[4], r[4], lim[4];
    int64_t n = 0;
    int k;
    for (k = 0; k < 4; k++) {
        if (shape[k] <= 0) return -1;
        lim[k] = (axis_mask >> k) & 1 ? 1 : shape[k];
    }
    for (o[0] = 0; o[0] < lim[0]; o[0]++)
        for (o[1] = 0; o[1] < lim[1]; o[1]++)
            for (o[2] = 0; o[2] < lim[2]; o[2]++)
                for (o[3] = 0; o[3] < lim[3]; o[3]++, n++) {
                    uint32_t sum = 0;
                    for (r[0] = 0; r[0] < (lim[0] == 1 ? shape[0] : 1); r[0]++)
                        for (r[1] = 0; r[1] < (lim[1] == 1 ? shape[1] : 1); r[1]++)
                            for (r[2] = 0; r[2] < (lim[2] == 1 ? shape[2] : 1); r[2]++)
                                for (r[3] = 0; r[3] < (lim[3] == 1 ? shape[3] : 1); r[3]++) {
                                    int64_t i = 0;
                                    for (k = 0; k < 4; k++) i = i * shape[k] + o[k] + r[k];
                                    sum += (uint32_t)(int32_t)input[i];
                                }
                    output[n] = (int16_t)tinyc_clamp_i32(tinyc_requantize((int32_t)sum, multiplier, shift), INT16_MIN,
                                                         INT16_MAX);
                }
    return 0;
}

void tinyc_quantize_f32_s16(const float *input, int32_t size, float scale, int32_t zero_point, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float r = roundf(input[i] / scale); /* half away from zero, as TfLiteRound */
        const int32_t q = r >= 2147483648.0f ? INT32_MAX : r <= -2147483648.0f ? INT32_MIN : (int32_t)r;
        output[i] = (int16_t)tinyc_clamp_i32((int32_t)((uint32_t)q + (uint32_t)zero_point), INT16_MIN, INT16_MAX);
    }
}

void tinyc_dequantize_s16_f32(const int16_t *input, int32_t size, float scale, int32_t zero_point, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) output[i] = (float)((double)scale * (double)(input[i] - zero_point));
}

/* reference_integer_ops::Logistic / Tanh for int16 (TFLite's sigmoid table, interpolated). */
void tinyc_logistic_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift, const uint16_t table[256],
                        int16_t *output)
{
    int32_t i, round;
    if (multiplier == 0) {
        multiplier = 3 << shift;
        shift = 0;
    }
    round = shift > 0 ? 1 << (shift - 1) : 0;
    for (i = 0; i < size; i++) {
        const int32_t x = (input[i] * multiplier + round) >> shift;
        const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
        const uint32_t uh = ax >> 9;
        uint32_t r;
        if (uh >= 255) {
            r = 0x7FFFu << 10;
        } else {
            const uint32_t ua = table[uh], ub = table[uh + 1];
            r = (ua << 9) + (ax & 0x1ff) * (ub - ua);
        }
        r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
        output[i] = (int16_t)(r >> 10);
    }
}

void tinyc_tanh_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift, const uint16_t table[256],
                    int16_t *output)
{
    int32_t i, round;
    if (multiplier == 0) {
        multiplier = 3 << shift;
        shift = 0;
    }
    round = shift > 0 ? 1 << (shift - 1) : 0;
    for (i = 0; i < size; i++) {
        const int32_t x = (input[i] * multiplier + round) >> shift;
        const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
        const uint32_t uh = ax >> 8;
        int32_t r;
        if (uh >= 255) {
            r = 0xFFFF << 8;
        } else {
            const uint32_t ua = table[uh], ub = table[uh + 1];
            r = (int32_t)((ua << 8) + (ax & 0xff) * (ub - ua));
        }
        r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(r >> 8);
    }
}
