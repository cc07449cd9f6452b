/*
 * arm_pool_s16.c - host stand-in for CMSIS-NN v7.0.0's arm_avgpool_s16 and
 * arm_max_pool_s16, computing what TFLite Micro's reference int16 AveragePool
 * and MaxPool do (only in-bounds window elements count; the average rounds
 * half away from zero).  arm_avgpool_s16 needs ch_src * 4 bytes of scratch on
 * DSP builds (none on plain C and MVE) and refuses less.
 */
#include "arm_nnfunctions.h"
#include "arm_s16_target.h"
#include "../tinyc/tinyc_fixedpoint.h"

int32_t arm_avgpool_s16_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
#if defined(TINYC_S16_DSP) && !defined(TINYC_S16_MVEI)
    return ch_src * (int32_t)sizeof(int32_t);
#else
    (void)ch_src;
    return 0;
#endif
}

static arm_cmsis_nn_status pool_s16(int is_max, const cmsis_nn_pool_params *p, const cmsis_nn_dims *input_dims,
                                    const int16_t *input_data, const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims, int16_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    int32_t b, oy, ox, c, y, x;
    if (input_dims->n < 1) return ARM_CMSIS_NN_ARG_ERROR;
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ky0 = tinyc_max_i32(0, -y0), ky1 = tinyc_min_i32(filter_dims->h, in_h - y0);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t kx0 = tinyc_max_i32(0, -x0), kx1 = tinyc_min_i32(filter_dims->w, in_w - x0);
                for (c = 0; c < ch; c++) {
                    int32_t acc = is_max ? INT16_MIN : 0, count = 0;
                    for (y = ky0; y < ky1; y++) {
                        for (x = kx0; x < kx1; x++) {
                            const int32_t v = input_data[(((int64_t)b * in_h + y0 + y) * in_w + x0 + x) * ch + c];
                            acc = is_max ? tinyc_max_i32(acc, v) : acc + v;
                            count++;
                        }
                    }
                    if (count == 0) return ARM_CMSIS_NN_ARG_ERROR;
                    if (!is_max) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output_data[(((int64_t)b * out_h + oy) * out_w + ox) * ch + c] =
                        (int16_t)tinyc_clamp_i32(acc, p->activation.min, p->activation.max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_avgpool_s16(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int16_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int16_t *output_data)
{
    const int32_t need = arm_avgpool_s16_get_buffer_size(output_dims->w, input_dims->c);
    if (need > 0 && (ctx->buf == NULL || ctx->size < need)) return ARM_CMSIS_NN_ARG_ERROR;
    return pool_s16(0, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}

arm_cmsis_nn_status arm_max_pool_s16(const cmsis_nn_context *ctx,
                                     const cmsis_nn_pool_params *pool_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int16_t *src,
                                     const cmsis_nn_dims *filter_dims,
                                     const cmsis_nn_dims *output_dims,
                                     int16_t *dst)
{
    (void)ctx;
    return pool_s16(1, pool_params, input_dims, src, filter_dims, output_dims, dst);
}
