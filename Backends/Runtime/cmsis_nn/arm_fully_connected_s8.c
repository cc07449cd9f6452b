/*
 * arm_fully_connected_s8.c - host stand-in for arm_fully_connected_s8,
 * arm_fully_connected_per_channel_s8 and arm_fully_connected_s4 (CMSIS-NN
 * v7.0.0 API), computing what TFLite Micro's reference FullyConnected
 * (per-tensor) and FullyConnectedPerChannel do.
 */
#include "arm_nnfunctions.h"
#include "arm_nn_contract.h"
#include "arm_nn_filter.h"
#include "../tinyc/tinyc_fixedpoint.h"

static arm_cmsis_nn_status fully_connected(int is_s4,
                                           const cmsis_nn_fc_params *fc_params,
                                           const int32_t *multipliers,
                                           const int32_t *shifts,
                                           int per_channel,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t depth = filter_dims->n;
    const int32_t out_c = output_dims->c;
    int32_t b, oc, d;

    for (b = 0; b < batches; b++) {
        const int8_t *in = input_data + (int64_t)b * depth;
        for (oc = 0; oc < out_c; oc++) {
            const int64_t w = (int64_t)oc * depth;
            const int32_t k = per_channel ? oc : 0;
            int32_t acc = 0;
            for (d = 0; d < depth; d++) {
                acc += (arm_nn_filter_at(filter_data, w + d, is_s4) + fc_params->filter_offset) *
                       ((int32_t)in[d] + fc_params->input_offset);
            }
            if (bias_data != NULL) {
                acc += bias_data[oc];
            }
            acc = tinyc_requantize(acc, multipliers[k], shifts[k]);
            acc += fc_params->output_offset;
            acc = tinyc_clamp_i32(acc, fc_params->activation.min, fc_params->activation.max);
            output_data[(int64_t)b * out_c + oc] = (int8_t)acc;
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
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
    if (!arm_nn_kernel_sums_ok(ctx, fc_params, filter_dims, filter_data, bias_data, output_dims->c)) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return fully_connected(0, fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims, input_data,
                           filter_dims, filter_data, bias_data, output_dims, output_data);
}

arm_cmsis_nn_status arm_fully_connected_s4(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data)
{
    cmsis_nn_fc_params params = *fc_params;
    (void)ctx;
    (void)bias_dims;
    /* v7.0.0's arm_fully_connected_s4 needs no buffer and ignores filter_offset (symmetric int4). */
    params.filter_offset = 0;
    return fully_connected(1, &params, &quant_params->multiplier, &quant_params->shift, 0, input_dims, input_data,
                           filter_dims, filter_data, bias_data, output_dims, output_data);
}

arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
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
    if (!arm_nn_kernel_sums_ok(ctx, fc_params, filter_dims, filter_data, bias_data, output_dims->c)) {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return fully_connected(0, fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims, input_data,
                           filter_dims, filter_data, bias_data, output_dims, output_data);
}
