/*
 * arm_convolve_s16.c - host stand-in for CMSIS-NN v7.0.0's 16x8 convolutions
 * (arm_convolve_wrapper_s16, arm_convolve_s16, arm_depthwise_conv_wrapper_s16
 * and their *_get_buffer_size), computing what TFLite Micro's reference int16
 * ConvPerChannel / DepthwiseConvPerChannel do: acc += w * x (no input offset),
 * 64-bit accumulator with an int64 bias (32-bit with an int32 one), per-channel
 * requantization, clamp.  Buffer sizes and refusals follow the real library:
 * arm_convolve_s16 needs its im2col buffer on every build, the fast depthwise
 * kernel (ch_mult 1, no dilation, fewer than 512 taps) on DSP and MVE builds;
 * a missing or smaller buffer gives ARM_CMSIS_NN_ARG_ERROR.
 */
#include "arm_nnfunctions.h"
#include "arm_s16_target.h"
#include "../tinyc/tinyc_fixedpoint.h"

int32_t arm_convolve_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
#if defined(TINYC_S16_MVEI)
    return 4 * ((input_dims->c * filter_dims->w * filter_dims->h + 7) / 8) * 8 * (int32_t)sizeof(int16_t);
#else
    return (2 * input_dims->c * filter_dims->w * filter_dims->h) * (int32_t)sizeof(int16_t);
#endif
}

int32_t arm_convolve_wrapper_s16_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                 const cmsis_nn_dims *input_dims,
                                                 const cmsis_nn_dims *filter_dims,
                                                 const cmsis_nn_dims *output_dims)
{
    (void)conv_params;
    (void)output_dims;
    return arm_convolve_s16_get_buffer_size(input_dims, filter_dims);
}

arm_cmsis_nn_status arm_convolve_s16(const cmsis_nn_context *ctx,
                                     const cmsis_nn_conv_params *conv_params,
                                     const cmsis_nn_per_channel_quant_params *quant_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int16_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const cmsis_nn_dims *bias_dims,
                                     const cmsis_nn_bias_data *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int16_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    int32_t b, oy, ox, oc, ky, kx, ic;
    (void)bias_dims;
    if (ctx->buf == NULL || ctx->size < arm_convolve_s16_get_buffer_size(input_dims, filter_dims) ||
        filter_dims->c != in_c) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            for (ox = 0; ox < out_w; ox++) {
                const int32_t y0 = oy * conv_params->stride.h - conv_params->padding.h;
                const int32_t x0 = ox * conv_params->stride.w - conv_params->padding.w;
                for (oc = 0; oc < out_c; oc++) {
                    int64_t acc = 0;
                    int32_t r;
                    for (ky = 0; ky < k_h; ky++) {
                        const int32_t y = y0 + conv_params->dilation.h * ky;
                        if (y < 0 || y >= in_h) continue;
                        for (kx = 0; kx < k_w; kx++) {
                            const int32_t x = x0 + conv_params->dilation.w * kx;
                            const int16_t *px;
                            const int8_t *pw;
                            if (x < 0 || x >= in_w) continue;
                            px = input_data + (((int64_t)b * in_h + y) * in_w + x) * in_c;
                            pw = filter_data + (((int64_t)oc * k_h + ky) * k_w + kx) * in_c;
                            for (ic = 0; ic < in_c; ic++) acc += (int64_t)pw[ic] * px[ic];
                        }
                    }
                    if (bias_data != NULL && bias_data->data != NULL && bias_data->is_int32_bias) {
                        const int32_t acc32 = (int32_t)(uint32_t)((uint32_t)(int32_t)acc +
                                                                  (uint32_t)((const int32_t *)bias_data->data)[oc]);
                        r = tinyc_requantize(acc32, quant_params->multiplier[oc], quant_params->shift[oc]);
                    } else {
                        if (bias_data != NULL && bias_data->data != NULL) acc += ((const int64_t *)bias_data->data)[oc];
                        r = tinyc_requantize_s64(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                    }
                    r = tinyc_clamp_i32(r, conv_params->activation.min, conv_params->activation.max);
                    output_data[(((int64_t)b * out_h + oy) * out_w + ox) * out_c + oc] = (int16_t)r;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_convolve_wrapper_s16(const cmsis_nn_context *ctx,
                                             const cmsis_nn_conv_params *conv_params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims,
                                             const int16_t *input_data,
                                             const cmsis_nn_dims *filter_dims,
                                             const int8_t *filter_data,
                                             const cmsis_nn_dims *bias_dims,
                                             const cmsis_nn_bias_data *bias_data,
                                             const cmsis_nn_dims *output_dims,
                                             int16_t *output_data)
{
    return arm_convolve_s16(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                            bias_dims, bias_data, output_dims, output_data);
}

/* The wrapper's choice: arm_depthwise_conv_fast_s16 for ch_mult 1, no dilation, < 512 taps. */
static int use_fast_dw_s16(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *filter_dims)
{
    return p->ch_mult == 1 && p->dilation.w == 1 && p->dilation.h == 1 && filter_dims->w * filter_dims->h < 512;
}

int32_t arm_depthwise_conv_fast_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
#if defined(TINYC_S16_MVEI)
    return 4 * input_dims->c * filter_dims->w * filter_dims->h * (int32_t)sizeof(int16_t) + 8;
#elif defined(TINYC_S16_DSP)
    return input_dims->c * filter_dims->w * filter_dims->h * (int32_t)sizeof(int16_t);
#else
    (void)input_dims;
    (void)filter_dims;
    return 0;
#endif
}

int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const cmsis_nn_dims *output_dims)
{
    (void)output_dims;
    return use_fast_dw_s16(dw_conv_params, filter_dims) ? arm_depthwise_conv_fast_s16_get_buffer_size(input_dims, filter_dims)
                                                        : 0;
}

arm_cmsis_nn_status arm_depthwise_conv_s16(const cmsis_nn_context *ctx,
                                           const cmsis_nn_dw_conv_params *dw_conv_params,
                                           const cmsis_nn_per_channel_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int16_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int64_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int16_t *output_data)
{
    const cmsis_nn_dw_conv_params *p = dw_conv_params;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    int32_t oy, ox, oc, ky, kx;
    (void)ctx;
    (void)bias_dims;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t x0 = ox * p->stride.w - p->padding.w;
            for (oc = 0; oc < out_c; oc++) {
                int64_t acc = 0;
                for (ky = 0; ky < k_h; ky++) {
                    const int32_t y = y0 + p->dilation.h * ky;
                    if (y < 0 || y >= in_h) continue;
                    for (kx = 0; kx < k_w; kx++) {
                        const int32_t x = x0 + p->dilation.w * kx;
                        if (x < 0 || x >= in_w) continue;
                        acc += (int64_t)filter_data[((int64_t)ky * k_w + kx) * out_c + oc] *
                               input_data[((int64_t)y * in_w + x) * in_c + oc / p->ch_mult];
                    }
                }
                if (bias_data != NULL) acc += bias_data[oc];
                output_data[((int64_t)oy * out_w + ox) * out_c + oc] = (int16_t)tinyc_clamp_i32(
                    tinyc_requantize_s64(acc, quant_params->multiplier[oc], quant_params->shift[oc]), p->activation.min,
                    p->activation.max);
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s16(const cmsis_nn_context *ctx,
                                                   const cmsis_nn_dw_conv_params *dw_conv_params,
                                                   const cmsis_nn_per_channel_quant_params *quant_params,
                                                   const cmsis_nn_dims *input_dims,
                                                   const int16_t *input_data,
                                                   const cmsis_nn_dims *filter_dims,
                                                   const int8_t *filter_data,
                                                   const cmsis_nn_dims *bias_dims,
                                                   const int64_t *bias_data,
                                                   const cmsis_nn_dims *output_dims,
                                                   int16_t *output_data)
{
    if (use_fast_dw_s16(dw_conv_params, filter_dims)) {
        /* arm_depthwise_conv_fast_s16's refusals. */
        const int32_t need = arm_depthwise_conv_fast_s16_get_buffer_size(input_dims, filter_dims);
        if (input_dims->c != output_dims->c || (need > 0 && (ctx->buf == NULL || ctx->size < need))) {
            return ARM_CMSIS_NN_ARG_ERROR;
        }
    }
    return arm_depthwise_conv_s16(ctx, dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                                  bias_dims, bias_data, output_dims, output_data);
}
