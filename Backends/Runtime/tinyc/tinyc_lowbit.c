/*
 * tinyc_lowbit.c - CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pooling, ADD,
 * CONCATENATION, QUANTIZE and DEQUANTIZE on packed 8/4/2-bit integer tensors
 * (the layout is described in tinyc_kernels.h). Every operand is read where it
 * lies, packed, and every result written packed in element order, so that the
 * kernels need no RAM besides a few locals. The arithmetic is TFLite's integer
 * arithmetic, as tinyc's interpreter computes it (int32 accumulators that wrap,
 * MultiplyByQuantizedMultiplier through tinyc_fixedpoint.h, clamps to the
 * result type's range folded into act_min / act_max by the compiler).
 */
#include <math.h>

#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

/* Element i of a packed tensor (bits = 8, 4 or 2), sign-extended. */
static inline int32_t get(const int8_t *data, int64_t i, int32_t bits)
{
    uint32_t v;
    if (bits == 8) {
        return data[i];
    }
    if (bits == 4) {
        v = ((uint32_t)(uint8_t)data[i >> 1] >> ((uint32_t)(i & 1) * 4u)) & 0x0Fu;
        return (int32_t)v - (int32_t)((v & 0x08u) << 1);
    }
    v = ((uint32_t)(uint8_t)data[i >> 2] >> ((uint32_t)(i & 3) * 2u)) & 0x03u;
    return (int32_t)v - (int32_t)((v & 0x02u) << 1);
}

int32_t tinyc_lowbit_get(const int8_t *data, int64_t index, int32_t bits) { return get(data, index, bits); }

/* Writes a packed tensor element by element, each byte once when it is complete. */
typedef struct {
    uint8_t *p;
    int32_t bits;
    uint32_t acc;
    int32_t fill;
} packer;

static void packer_start(packer *w, int8_t *out, int32_t bits)
{
    w->p = (uint8_t *)out;
    w->bits = bits;
    w->acc = 0;
    w->fill = 0;
}

static inline void put(packer *w, int32_t v)
{
    if (w->bits == 8) {
        *w->p++ = (uint8_t)v;
        return;
    }
    w->acc |= ((uint32_t)v & ((1u << w->bits) - 1u)) << w->fill;
    w->fill += w->bits;
    if (w->fill == 8) {
        *w->p++ = (uint8_t)w->acc;
        w->acc = 0;
        w->fill = 0;
    }
}

/* Stores a last, partly filled byte (its unused high bits 0). */
static void packer_finish(packer *w)
{
    if (w->fill > 0) {
        *w->p++ = (uint8_t)w->acc;
        w->acc = 0;
        w->fill = 0;
    }
}

/* Sum over k < n of w[wi + k] * (x[xi + k] + x_offset), wrapping as int32. */
static int32_t dot(const int8_t *x, int64_t xi, int32_t x_bits, const int8_t *w, int64_t wi, int32_t w_bits,
                   int32_t n, int32_t x_offset)
{
    uint32_t acc = 0;
    int32_t k;
    if (x_bits == 8 && w_bits == 8) {
        const int8_t *xp = x + xi;
        const int8_t *wp = w + wi;
        for (k = 0; k < n; k++) {
            acc += (uint32_t)((int32_t)wp[k] * ((int32_t)xp[k] + x_offset));
        }
    } else if (x_bits == 8) {
        const int8_t *xp = x + xi;
        for (k = 0; k < n; k++) {
            acc += (uint32_t)(get(w, wi + k, w_bits) * ((int32_t)xp[k] + x_offset));
        }
    } else {
        for (k = 0; k < n; k++) {
            acc += (uint32_t)(get(w, wi + k, w_bits) * (get(x, xi + k, x_bits) + x_offset));
        }
    }
    return (int32_t)acc;
}

/* bias, requantization, output offset and clamp of output channel c. */
static inline int32_t requantize(int32_t acc, const int32_t *bias, int32_t c, const tinyc_lowbit_quant *q)
{
    const int32_t k = q->per_channel ? c : 0;
    if (bias != NULL) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)bias[c]);
    }
    acc = (int32_t)((uint32_t)tinyc_requantize(acc, q->multiplier[k], q->shift[k]) + (uint32_t)q->output_offset);
    return tinyc_clamp_i32(acc, q->act_min, q->act_max);
}

int32_t tinyc_conv2d_lowbit(const int8_t *input, const int8_t *filter, const int32_t *bias,
                            const tinyc_lowbit_geometry *g, const tinyc_lowbit_quant *q, int8_t *output)
{
    const int32_t groups = g->k_c > 0 ? g->in_c / g->k_c : 0;
    const int32_t per_group = groups > 0 ? g->out_c / groups : 0;
    int32_t b, oy, ox, oc, ky, kx;
    packer w;
    if (groups <= 0 || groups * g->k_c != g->in_c || per_group * groups != g->out_c) {
        return -1;
    }
    packer_start(&w, output, q->out_bits);
    for (b = 0; b < g->batches; b++) {
        for (oy = 0; oy < g->out_h; oy++) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            for (ox = 0; ox < g->out_w; ox++) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                for (oc = 0; oc < g->out_c; oc++) {
                    const int32_t group = oc / per_group;
                    uint32_t acc = 0;
                    for (ky = 0; ky < g->k_h; ky++) {
                        const int32_t iy = iy0 + g->dil_h * ky;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; kx++) {
                            const int32_t ix = ix0 + g->dil_w * kx;
                            int64_t xi, wi;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            xi = (((int64_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + (int64_t)group * g->k_c;
                            wi = (((int64_t)oc * g->k_h + ky) * g->k_w + kx) * g->k_c;
                            acc += (uint32_t)dot(input, xi, q->in_bits, filter, wi, q->w_bits, g->k_c,
                                                 q->input_offset);
                        }
                    }
                    put(&w, requantize((int32_t)acc, bias, oc, q));
                }
            }
        }
    }
    packer_finish(&w);
    return 0;
}

int32_t tinyc_depthwise_conv2d_lowbit(const int8_t *input, const int8_t *filter, const int32_t *bias,
                                      const tinyc_lowbit_geometry *g, const tinyc_lowbit_quant *q, int8_t *output)
{
    int32_t b, oy, ox, oc, ky, kx;
    packer w;
    if (g->ch_mult <= 0 || g->in_c * g->ch_mult != g->out_c) {
        return -1;
    }
    packer_start(&w, output, q->out_bits);
    for (b = 0; b < g->batches; b++) {
        for (oy = 0; oy < g->out_h; oy++) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            for (ox = 0; ox < g->out_w; ox++) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                for (oc = 0; oc < g->out_c; oc++) {
                    const int32_t ic = oc / g->ch_mult;
                    uint32_t acc = 0;
                    for (ky = 0; ky < g->k_h; ky++) {
                        const int32_t iy = iy0 + g->dil_h * ky;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; kx++) {
                            const int32_t ix = ix0 + g->dil_w * kx;
                            int32_t xv, wv;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            xv = get(input, (((int64_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic, q->in_bits);
                            wv = get(filter, ((int64_t)ky * g->k_w + kx) * g->out_c + oc, q->w_bits);
                            acc += (uint32_t)(wv * (xv + q->input_offset));
                        }
                    }
                    put(&w, requantize((int32_t)acc, bias, oc, q));
                }
            }
        }
    }
    packer_finish(&w);
    return 0;
}

void tinyc_fully_connected_lowbit(const int8_t *input, int32_t rows, int32_t depth, const int8_t *filter,
                                  int32_t units, const int32_t *bias, const tinyc_lowbit_quant *q, int8_t *output)
{
    int32_t r, o;
    packer w;
    packer_start(&w, output, q->out_bits);
    for (r = 0; r < rows; r++) {
        for (o = 0; o < units; o++) {
            const int32_t acc = dot(input, (int64_t)r * depth, q->in_bits, filter, (int64_t)o * depth, q->w_bits,
                                    depth, q->input_offset);
            put(&w, requantize(acc, bias, o, q));
        }
    }
    packer_finish(&w);
}

int32_t tinyc_pool_lowbit(const int8_t *input, int32_t in_bits, const tinyc_lowbit_geometry *g, int32_t is_max,
                          int32_t act_min, int32_t act_max, int8_t *output, int32_t out_bits)
{
    int32_t b, oy, ox, c, fy, fx;
    int32_t status = 0;
    packer w;
    packer_start(&w, output, out_bits);
    for (b = 0; b < g->batches; b++) {
        for (oy = 0; oy < g->out_h; oy++) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t fy0 = tinyc_max_i32(0, -iy0), fy1 = tinyc_min_i32(g->k_h, g->in_h - iy0);
            for (ox = 0; ox < g->out_w; ox++) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                const int32_t fx0 = tinyc_max_i32(0, -ix0), fx1 = tinyc_min_i32(g->k_w, g->in_w - ix0);
                for (c = 0; c < g->in_c; c++) {
                    int32_t acc = is_max ? -128 : 0;
                    int32_t count = 0;
                    for (fy = fy0; fy < fy1; fy++) {
                        for (fx = fx0; fx < fx1; fx++) {
                            const int64_t i = (((int64_t)b * g->in_h + iy0 + fy) * g->in_w + ix0 + fx) * g->in_c + c;
                            const int32_t v = get(input, i, in_bits);
                            acc = is_max ? tinyc_max_i32(acc, v) : acc + v;
                            count++;
                        }
                    }
                    if (!is_max) {
                        if (count == 0) {
                            status = -1;
                        } else {
                            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                        }
                    }
                    put(&w, tinyc_clamp_i32(acc, act_min, act_max));
                }
            }
        }
    }
    packer_finish(&w);
    return status;
}

void tinyc_add_lowbit(const int8_t *input_1, int32_t bits_1, const int8_t *input_2, int32_t bits_2,
                      int32_t input_1_offset, int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                      int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                      int32_t out_bits, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                      int32_t out_activation_min, int32_t out_activation_max, int32_t size)
{
    int32_t i;
    packer w;
    packer_start(&w, output, out_bits);
    for (i = 0; i < size; i++) {
        const int32_t a = (int32_t)((uint32_t)(get(input_1, i, bits_1) + input_1_offset) << left_shift);
        const int32_t b = (int32_t)((uint32_t)(get(input_2, i, bits_2) + input_2_offset) << left_shift);
        const int32_t sum = (int32_t)((uint32_t)tinyc_requantize(a, input_1_mult, input_1_shift) +
                                      (uint32_t)tinyc_requantize(b, input_2_mult, input_2_shift));
        const int32_t out = (int32_t)((uint32_t)tinyc_requantize(sum, out_mult, out_shift) + (uint32_t)out_offset);
        put(&w, tinyc_clamp_i32(out, out_activation_min, out_activation_max));
    }
    packer_finish(&w);
}

/* TFLite's TfLiteRound to int32: half away from zero, saturating, NaN to 0. */
static int32_t round_to_i32(float x)
{
    const float r = roundf(x);
    if (r != r) {
        return 0;
    }
    if (r >= 2147483648.0f) {
        return TINYC_INT32_MAX;
    }
    if (r <= -2147483648.0f) {
        return TINYC_INT32_MIN;
    }
    return (int32_t)r;
}

void tinyc_concat_lowbit(const int8_t *const *inputs, const int32_t *input_bits, int32_t num_inputs,
                         const int32_t *axis_sizes, int32_t outer, int32_t inner, const int32_t *rescale,
                         const float *scale, const float *bias, int32_t output_zp, int32_t act_min,
                         int32_t act_max, int8_t *output, int32_t out_bits)
{
    int32_t o, k, j;
    packer w;
    packer_start(&w, output, out_bits);
    for (o = 0; o < outer; o++) {
        for (k = 0; k < num_inputs; k++) {
            const int32_t chunk = axis_sizes[k] * inner;
            const int64_t base = (int64_t)o * chunk;
            for (j = 0; j < chunk; j++) {
                int32_t v = get(inputs[k], base + j, input_bits[k]);
                if (rescale[k]) {
                    v = (int32_t)((uint32_t)round_to_i32((float)v * scale[k] + bias[k]) + (uint32_t)output_zp);
                }
                put(&w, tinyc_clamp_i32(v, act_min, act_max));
            }
        }
    }
    packer_finish(&w);
}

void tinyc_requantize_lowbit(const int8_t *input, int32_t in_bits, int32_t size, int32_t input_zp, int32_t output_zp,
                             int32_t multiplier, int32_t shift, int32_t out_min, int32_t out_max, int8_t *output,
                             int32_t out_bits)
{
    int32_t i;
    packer w;
    packer_start(&w, output, out_bits);
    for (i = 0; i < size; i++) {
        const int32_t v = tinyc_requantize(get(input, i, in_bits) - input_zp, multiplier, shift);
        put(&w, tinyc_clamp_i32((int32_t)((uint32_t)v + (uint32_t)output_zp), out_min, out_max));
    }
    packer_finish(&w);
}

void tinyc_quantize_f32_lowbit(const float *input, int32_t size, float scale, int32_t zero_point, int32_t out_min,
                               int32_t out_max, int8_t *output, int32_t out_bits)
{
    int32_t i;
    packer w;
    packer_start(&w, output, out_bits);
    for (i = 0; i < size; i++) {
        const int32_t v = (int32_t)((uint32_t)round_to_i32(input[i] / scale) + (uint32_t)zero_point);
        put(&w, tinyc_clamp_i32(v, out_min, out_max));
    }
    packer_finish(&w);
}

void tinyc_dequantize_lowbit_f32(const int8_t *input, int32_t in_bits, int32_t size, float scale, int32_t zero_point,
                                 float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = (float)((double)scale * (double)(get(input, i, in_bits) - zero_point));
    }
}
