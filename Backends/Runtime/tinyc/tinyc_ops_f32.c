/*
 * tinyc_ops_f32.c - float32 pooling, softmax, elementwise ops and
 * activations, as TFLite's reference kernels.
 */
#include <math.h>

#include "tinyc_kernels.h"

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static void pool_f32(int is_max, const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t c,
                     int32_t k_h, int32_t k_w, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                     float act_min, float act_max, float *output, int32_t out_h, int32_t out_w)
{
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * stride_h - pad_h;
            const int32_t ys = y0 < 0 ? -y0 : 0;
            const int32_t ye = k_h < in_h - y0 ? k_h : in_h - y0;
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * stride_w - pad_w;
                const int32_t xs = x0 < 0 ? -x0 : 0;
                const int32_t xe = k_w < in_w - x0 ? k_w : in_w - x0;
                for (ch = 0; ch < c; ch++) {
                    float acc = is_max ? -INFINITY : 0.0f;
                    int32_t count = 0;
                    for (y = ys; y < ye; y++) {
                        for (x = xs; x < xe; x++) {
                            const float v = input[(((int64_t)b * in_h + y0 + y) * in_w + x0 + x) * c + ch];
                            if (is_max) {
                                acc = v > acc ? v : acc;
                            } else {
                                acc += v;
                            }
                            count++;
                        }
                    }
                    if (!is_max && count > 0) {
                        acc = acc / (float)count;
                    }
                    output[(((int64_t)b * out_h + oy) * out_w + ox) * c + ch] = clampf(acc, act_min, act_max);
                }
            }
        }
    }
}

void tinyc_avgpool_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t c, int32_t k_h,
                       int32_t k_w, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                       float act_min, float act_max, float *output, int32_t out_h, int32_t out_w)
{
    pool_f32(0, input, n, in_h, in_w, c, k_h, k_w, stride_h, stride_w, pad_h, pad_w, act_min, act_max, output,
             out_h, out_w);
}

void tinyc_maxpool_f32(const float *input, int32_t n, int32_t in_h, int32_t in_w, int32_t c, int32_t k_h,
                       int32_t k_w, int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w,
                       float act_min, float act_max, float *output, int32_t out_h, int32_t out_w)
{
    pool_f32(1, input, n, in_h, in_w, c, k_h, k_w, stride_h, stride_w, pad_h, pad_w, act_min, act_max, output,
             out_h, out_w);
}

void tinyc_softmax_f32(const float *input, int32_t rows, int32_t row_size, float beta, float *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const float *in = input + (int64_t)r * row_size;
        float *out = output + (int64_t)r * row_size;
        float max = in[0];
        float sum = 0.0f;
        for (c = 1; c < row_size; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < row_size; c++) {
            out[c] = expf((in[c] - max) * beta);
            sum += out[c];
        }
        for (c = 0; c < row_size; c++) {
            out[c] = out[c] / sum;
        }
    }
}

void tinyc_log_softmax_f32(const float *input, int32_t rows, int32_t row_size, float *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const float *in = input + (int64_t)r * row_size;
        float *out = output + (int64_t)r * row_size;
        float max = in[0];
        float sum = 0.0f;
        float log_sum;
        for (c = 1; c < row_size; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < row_size; c++) {
            sum += expf(in[c] - max);
        }
        log_sum = logf(sum);
        for (c = 0; c < row_size; c++) {
            out[c] = in[c] - max - log_sum;
        }
    }
}

void tinyc_add_f32(const float *a, const float *b, int32_t size, float act_min, float act_max, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = clampf(a[i] + b[i], act_min, act_max);
    }
}

void tinyc_sub_f32(const float *a, const float *b, int32_t size, float act_min, float act_max, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = clampf(a[i] - b[i], act_min, act_max);
    }
}

void tinyc_mul_f32(const float *a, const float *b, int32_t size, float act_min, float act_max, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = clampf(a[i] * b[i], act_min, act_max);
    }
}

void tinyc_logistic_f32(const float *input, int32_t size, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = 1.0f / (1.0f + expf(-input[i]));
    }
}

void tinyc_tanh_f32(const float *input, int32_t size, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = tanhf(input[i]);
    }
}

void tinyc_hard_swish_f32(const float *input, int32_t size, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float x = input[i];
        output[i] = x * clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    }
}

void tinyc_relu_f32(const float *input, int32_t size, float act_min, float act_max, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = clampf(input[i], act_min, act_max);
    }
}

void tinyc_leaky_relu_f32(const float *input, int32_t size, float alpha, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = input[i] > 0.0f ? input[i] : alpha * input[i];
    }
}

void tinyc_hard_sigmoid_f32(const float *input, int32_t size, float alpha, float beta, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float v = alpha * input[i] + beta;
        output[i] = v > 1.0f ? 1.0f : (v > 0.0f ? v : 0.0f);
    }
}
