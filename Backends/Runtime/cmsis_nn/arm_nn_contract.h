/*
 * arm_nn_contract.h - what the real CMSIS-NN v7.0.0 asks of its caller, checked
 * by the tinyc host stand-in so that a host run fails where a device would.
 *
 * The library build is chosen as the real one chooses it: ARM_MATH_DSP and
 * ARM_MATH_MVEI (set from __ARM_FEATURE_DSP / __ARM_FEATURE_MVE in
 * arm_nn_math_types.h, or on the command line to build the host "as" a core:
 * -DARM_MATH_DSP for Cortex-M4/M7/M33, -DARM_MATH_DSP -DARM_MATH_MVEI for M55).
 * Every *_get_buffer_size answers what v7.0.0 answers on that build (with the
 * same compiler dependence: __ARMCC_VERSION), and the kernels refuse with
 * ARM_CMSIS_NN_ARG_ERROR when ctx->buf is NULL or ctx->size is smaller than
 * that, or (MVE fully connected) when ctx->buf does not hold the kernel sums
 * arm_vector_sum_s8 would have written.
 */
#ifndef ARM_NN_CONTRACT_H
#define ARM_NN_CONTRACT_H

#include "arm_nnfunctions.h"

/* CH_IN_BLOCK_MVE and CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD of v7.0.0. */
#define ARM_NN_CH_IN_BLOCK_MVE 124
#if defined(__ARMCC_VERSION) && (__ARMCC_VERSION >= 6010050)
#define ARM_NN_DW_TO_CONV_THRESHOLD 8
#else
#define ARM_NN_DW_TO_CONV_THRESHOLD 1
#endif

/* 1 when ctx gives `required` bytes (or none are required). The bytes are then
 * overwritten, as the library's kernels overwrite their scratch. */
int arm_nn_scratch_ok(const cmsis_nn_context *ctx, int32_t required);

/* 1 unless the build reads kernel sums (MVE) and ctx->buf does not hold
 * bias[r] + input_offset * (sum of row r + cols * filter_offset) for every row. */
int arm_nn_kernel_sums_ok(const cmsis_nn_context *ctx,
                          const cmsis_nn_fc_params *fc_params,
                          const cmsis_nn_dims *filter_dims,
                          const int8_t *filter_data,
                          const int32_t *bias_data,
                          int32_t rows);

#endif /* ARM_NN_CONTRACT_H */
