/*
 * arm_convolve_s8.c - host stand-in for arm_convolve_wrapper_s8 and
 * arm_convolve_wrapper_s4 (CMSIS-NN v7.0.0 API), computing what TFLite
 * Micro's reference ConvPerChannel does (for int4 filters: on the unpacked
 * values, as TFLite Micro does).
 */
#include "arm_nnfunctions.h"
#include "arm_nn_contract.h"
#include "arm_nn_filter.h"
#include "../tinyc/tinyc_fixedpoint.h"

static arm_cmsis_nn_status convolve(int is_s4,
                                    const cmsis_nn_conv_params *conv_params,
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
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t groups = k_c > 0 ? in_c / k_c : 0;
    const int32_t filters_per_group = groups > 0 ? out_c / groups : 0;
    int32_t b, oy, ox, oc, ky, kx, ic;

    if (groups <= 0 || groups * k_c != in_c || filters_per_group * groups != out_c || filter_dims->n != out_c) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < batches; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t in_y0 = oy * conv_params->stride.h - conv_params->padding.h;
            for (ox = 0; ox < out_w; ox++) {
                const int32_t in_x0 = ox * conv_params->stride.w - conv_params->padding.w;
                for (oc = 0; oc < out_c; oc++) {
                    const int32_t group = oc / filters_per_group;
                    const int64_t filter = (int64_t)oc * k_h * k_w * k_c;
                    int32_t acc = 0;
                    for (ky = 0; ky < k_h; ky++) {
                        const int32_t in_y = in_y0 + ky * conv_params->dilation.h;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        for (kx = 0; kx < k_w; kx++) {
                            const int32_t in_x = in_x0 + kx * conv_params->dilation.w;
                            const int8_t *in;
                            int64_t f;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            in = input_data + (((int64_t)b * in_h + in_y) * in_w + in_x) * in_c + group * k_c;
                            f = filter + ((int64_t)ky * k_w + kx) * k_c;
                            for (ic = 0; ic < k_c; ic++) {
                                acc += arm_nn_filter_at(filter_data, f + ic, is_s4) *
                                       ((int32_t)in[ic] + conv_params->input_offset);
                            }
                        }
                    }
                    if (bias_data != NULL) {
                        acc += bias_data[oc];
                    }
                    acc = tinyc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                    acc += conv_params->output_offset;
                    acc = tinyc_clamp_i32(acc, conv_params->activation.min, conv_params->activation.max);
                    output_data[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)acc;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_convolve_wrapper_s8(const cmsis_nn_context *ctx,
                                            const cmsis_nn_conv_params *conv_params,
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
    if (!arm_nn_scratch_ok(ctx, arm_convolve_wrapper_s8_get_buffer_size(conv_params, input_dims, filter_dims,
                                                                        output_dims))) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return convolve(0, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                    output_dims, output_data);
}

arm_cmsis_nn_status arm_convolve_wrapper_s4(const cmsis_nn_context *ctx,
                                            const cmsis_nn_conv_params *conv_params,
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
    /* v7.0.0's s4 kernels take rhs_cols = w * h * input c: no grouped convolution. Every
     * kernel but the 1x1 ones refuses a NULL buffer; the stand-in also refuses a smaller one. */
    if (filter_dims->c != input_dims->c ||
        !arm_nn_scratch_ok(ctx, arm_convolve_wrapper_s4_get_buffer_size(conv_params, input_dims, filter_dims,
                                                                        output_dims))) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return convolve(1, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                    output_dims, output_data);
}
