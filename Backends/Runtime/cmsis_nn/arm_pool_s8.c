/*
 * arm_pool_s8.c - host stand-in for arm_avgpool_s8 and arm_max_pool_s8
 * (CMSIS-NN v7.0.0 API), computing what TFLite Micro's reference int8
 * AveragePool and MaxPool do: only in-bounds window elements count.
 */
#include "arm_nn_contract.h"
#include "../tinyc/tinyc_fixedpoint.h"

static arm_cmsis_nn_status pool_s8(int is_max,
                                   const cmsis_nn_pool_params *p,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    int32_t b, oy, ox, c, y, x;

    for (b = 0; b < batches; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ky_start = tinyc_max_i32(0, -y0);
            const int32_t ky_end = tinyc_min_i32(k_h, in_h - y0);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t kx_start = tinyc_max_i32(0, -x0);
                const int32_t kx_end = tinyc_min_i32(k_w, in_w - x0);
                for (c = 0; c < ch; c++) {
                    int32_t acc = is_max ? -128 : 0;
                    int32_t count = 0;
                    for (y = ky_start; y < ky_end; y++) {
                        for (x = kx_start; x < kx_end; x++) {
                            const int32_t v = input_data[(((int64_t)b * in_h + y0 + y) * in_w + x0 + x) * ch + c];
                            if (is_max) {
                                acc = tinyc_max_i32(acc, v);
                            } else {
                                acc += v;
                            }
                            count++;
                        }
                    }
                    if (!is_max) {
                        if (count == 0) {
                            return ARM_CMSIS_NN_ARG_ERROR;
                        }
                        /* Round half away from zero, as TFLite. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    acc = tinyc_clamp_i32(acc, p->activation.min, p->activation.max);
                    output_data[(((int64_t)b * out_h + oy) * out_w + ox) * ch + c] = (int8_t)acc;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx,
                                   const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data)
{
    if (!arm_nn_scratch_ok(ctx, arm_avgpool_s8_get_buffer_size(output_dims->w, input_dims->c))) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return pool_s8(0, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}

arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    (void)ctx;
    return pool_s8(1, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}
