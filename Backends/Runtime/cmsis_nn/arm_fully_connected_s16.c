/*
 * arm_fully_connected_s16.c - host stand-in for CMSIS-NN v7.0.0's
 * arm_fully_connected_s16 (per-tensor requantization, int64 bias, no scratch
 * on any build), computing what TFLite Micro's reference int16
 * FullyConnected does with an int64 bias.
 */
#include "arm_nnfunctions.h"
#include "../tinyc/tinyc_fixedpoint.h"

int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

arm_cmsis_nn_status arm_fully_connected_s16(const cmsis_nn_context *ctx,
                                            const cmsis_nn_fc_params *fc_params,
                                            const cmsis_nn_per_tensor_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims,
                                            const int16_t *input_data,
                                            const cmsis_nn_dims *filter_dims,
                                            const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims,
                                            const int64_t *bias_data,
                                            const cmsis_nn_dims *output_dims,
                                            int16_t *output_data)
{
    const int32_t depth = filter_dims->n;
    const int32_t units = output_dims->c;
    int32_t b, u, d;
    (void)ctx;
    (void)bias_dims;
    for (b = 0; b < input_dims->n; b++) {
        for (u = 0; u < units; u++) {
            int64_t acc = 0;
            for (d = 0; d < depth; d++) {
                acc += (int64_t)filter_data[(int64_t)u * depth + d] * input_data[(int64_t)b * depth + d];
            }
            if (bias_data != NULL) acc += bias_data[u];
            output_data[(int64_t)b * units + u] = (int16_t)tinyc_clamp_i32(
                tinyc_requantize_s64(acc, quant_params->multiplier, quant_params->shift),
                fc_params->activation.min, fc_params->activation.max);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
