/*
 * tinyc_conv_f32.c - float32 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED,
 * in the summation order of TFLite's reference kernels.
 */
#include "tinyc_kernels.h"

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

int32_t tinyc_conv2d_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t in_c,
                         const float *filter, int32_t out_c, int32_t k_h, int32_t k_w, int32_t filter_c,
                         const float *bias, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                         int32_t dilation_h, int32_t dilation_w, float act_min, float act_max, float *output,
                         int32_t out_h, int32_t out_w)
{
    const int32_t groups = filter_c > 0 ? in_c / filter_c : 0;
    const int32_t per_group = groups > 0 ? out_c / groups : 0;
    int32_t b, oy, ox, oc, ky, kx, ic;
    if (groups <= 0 || groups * filter_c != in_c || per_group * groups != out_c) {
        return -1;
    }
    for (b = 0; b < n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            for (ox = 0; ox < out_w; ox++) {
                for (oc = 0; oc < out_c; oc++) {
                    const int32_t g = oc / per_group;
                    float total = 0.0f;
                    for (ky = 0; ky < k_h; ky++) {
                        const int32_t iy = oy * stride_h - pad_h + ky * dilation_h;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (kx = 0; kx < k_w; kx++) {
                            const int32_t ix = ox * stride_w - pad_w + kx * dilation_w;
                            const float *in;
                            const float *f;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            in = input + (((int64_t)b * in_h + iy) * in_w + ix) * in_c + g * filter_c;
                            f = filter + (((int64_t)oc * k_h + ky) * k_w + kx) * filter_c;
                            for (ic = 0; ic < filter_c; ic++) {
                                total += in[ic] * f[ic];
                            }
                        }
                    }
                    if (bias != NULL) {
                        total += bias[oc];
                    }
                    output[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] = clampf(total, act_min, act_max);
                }
            }
        }
    }
    return 0;
}

int32_t tinyc_depthwise_conv2d_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t in_c,
                                   const float *filter, int32_t k_h, int32_t k_w, int32_t ch_mult,
                                   const float *bias, int32_t stride_h, int32_t stride_w, int32_t pad_h,
                                   int32_t pad_w, int32_t dilation_h, int32_t dilation_w, float act_min,
                                   float act_max, float *output, int32_t out_h, int32_t out_w)
{
    const int32_t out_c = in_c * ch_mult;
    int32_t b, oy, ox, ic, m, ky, kx;
    if (ch_mult <= 0) {
        return -1;
    }
    for (b = 0; b < n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            for (ox = 0; ox < out_w; ox++) {
                for (ic = 0; ic < in_c; ic++) {
                    for (m = 0; m < ch_mult; m++) {
                        const int32_t oc = ic * ch_mult + m;
                        float total = 0.0f;
                        for (ky = 0; ky < k_h; ky++) {
                            const int32_t iy = oy * stride_h - pad_h + ky * dilation_h;
                            if (iy < 0 || iy >= in_h) {
                                continue;
                            }
                            for (kx = 0; kx < k_w; kx++) {
                                const int32_t ix = ox * stride_w - pad_w + kx * dilation_w;
                                if (ix < 0 || ix >= in_w) {
                                    continue;
                                }
                                total += input[(((int64_t)b * in_h + iy) * in_w + ix) * in_c + ic] *
                                         filter[((int64_t)ky * k_w + kx) * out_c + oc];
                            }
                        }
                        if (bias != NULL) {
                            total += bias[oc];
                        }
                        output[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] =
                            clampf(total, act_min, act_max);
                    }
                }
            }
        }
    }
    return 0;
}

void tinyc_fully_connected_f32(const float *input, int32_t batches, int32_t depth, const float *filter,
                               int32_t out_c, const float *bias, float act_min, float act_max, float *output)
{
    int32_t b, oc, d;
    for (b = 0; b < batches; b++) {
        for (oc = 0; oc < out_c; oc++) {
            float total = 0.0f;
            for (d = 0; d < depth; d++) {
                total += input[(int64_t)b * depth + d] * filter[(int64_t)oc * depth + d];
            }
            if (bias != NULL) {
                total += bias[oc];
            }
            output[(int64_t)b * out_c + oc] = clampf(total, act_min, act_max);
        }
    }
}
