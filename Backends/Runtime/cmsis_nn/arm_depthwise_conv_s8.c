/*
 * arm_depthwise_conv_s8.c - host stand-in for arm_depthwise_conv_wrapper_s8
 * and arm_depthwise_conv_wrapper_s4 (CMSIS-NN v7.0.0 API), computing what
 * TFLite Micro's reference DepthwiseConvPerChannel does.
 */
#include "arm_nnfunctions.h"
#include "arm_nn_contract.h"
#include "arm_nn_filter.h"
#include "../tinyc/tinyc_fixedpoint.h"

static arm_cmsis_nn_status depthwise(int is_s4,
                                     const cmsis_nn_dw_conv_params *dw_conv_params,
                                     const cmsis_nn_per_channel_quant_params *quant_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int8_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const int32_t *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int8_t *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = dw_conv_params->ch_mult;
    int32_t b, oy, ox, ic, m, ky, kx;

    if (mult <= 0 || in_c * mult != out_c || filter_dims->c != out_c) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < batches; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t in_y0 = oy * dw_conv_params->stride.h - dw_conv_params->padding.h;
            for (ox = 0; ox < out_w; ox++) {
                const int32_t in_x0 = ox * dw_conv_params->stride.w - dw_conv_params->padding.w;
                for (ic = 0; ic < in_c; ic++) {
                    for (m = 0; m < mult; m++) {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = 0;
                        for (ky = 0; ky < k_h; ky++) {
                            const int32_t in_y = in_y0 + ky * dw_conv_params->dilation.h;
                            if (in_y < 0 || in_y >= in_h) {
                                continue;
                            }
                            for (kx = 0; kx < k_w; kx++) {
                                const int32_t in_x = in_x0 + kx * dw_conv_params->dilation.w;
                                int32_t in_val, f_val;
                                if (in_x < 0 || in_x >= in_w) {
                                    continue;
                                }
                                in_val = input_data[(((int64_t)b * in_h + in_y) * in_w + in_x) * in_c + ic];
                                f_val = arm_nn_filter_at(filter_data, ((int64_t)ky * k_w + kx) * out_c + oc, is_s4);
                                acc += f_val * (in_val + dw_conv_params->input_offset);
                            }
                        }
                        if (bias_data != NULL) {
                            acc += bias_data[oc];
                        }
                        acc = tinyc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        acc += dw_conv_params->output_offset;
                        acc = tinyc_clamp_i32(acc, dw_conv_params->activation.min, dw_conv_params->activation.max);
                        output_data[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)acc;
                    }
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims,
                                                  const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims,
                                                  const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims,
                                                  const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data)
{
    (void)bias_dims;
    if (!arm_nn_scratch_ok(ctx, arm_depthwise_conv_wrapper_s8_get_buffer_size(dw_conv_params, input_dims,
                                                                              filter_dims, output_dims))) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return depthwise(0, dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                     output_dims, output_data);
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s4(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims,
                                                  const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims,
                                                  const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims,
                                                  const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data)
{
    (void)bias_dims;
    /* v7.0.0 runs arm_depthwise_conv_s4_opt (which refuses a NULL buffer) for ch_mult 1, batch
     * 1, no dilation, and arm_depthwise_conv_s4 (no buffer) otherwise. */
    if (!arm_nn_scratch_ok(ctx, arm_depthwise_conv_wrapper_s4_get_buffer_size(dw_conv_params, input_dims,
                                                                              filter_dims, output_dims))) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return depthwise(1, dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                     output_dims, output_data);
}
