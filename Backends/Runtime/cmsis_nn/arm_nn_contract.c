/*
 * arm_nn_contract.c - the scratch-buffer sizes of CMSIS-NN v7.0.0 per build
 * (plain C, ARM_MATH_DSP, ARM_MATH_MVEI), written from the library's
 * Source/ConvolutionFunctions/arm_{convolve,depthwise_conv}_get_buffer_sizes_s8.c,
 * Source/FullyConnectedFunctions/arm_fully_connected_get_buffer_sizes_s8.c and
 * Source/PoolingFunctions/arm_avgpool_get_buffer_sizes_s8.c and the s4 convolution and
 * depthwise files (arm_{convolve,depthwise_conv}_get_buffer_sizes_s4.c), following the
 * wrappers' dispatch; and the checks of arm_nn_contract.h.
 */
#include "arm_nn_contract.h"

#define ARM_NN_MAX(a, b) ((a) > (b) ? (a) : (b))

static int32_t convolve_s8_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    const int32_t cols = input_dims->c * filter_dims->w * filter_dims->h;
#if defined(ARM_MATH_MVEI)
    return 4 * ((cols + 15) / 16) * 16;
#else
    return 2 * ((cols + 3) / 4 * 4) * (int32_t)sizeof(int16_t);
#endif
}

static int32_t convolve_1_x_n_s8_size(const cmsis_nn_conv_params *conv_params,
                                      const cmsis_nn_dims *input_dims,
                                      const cmsis_nn_dims *filter_dims,
                                      const cmsis_nn_dims *output_dims)
{
#if defined(ARM_MATH_MVEI)
    const int32_t c = input_dims->c, pad_x = conv_params->padding.w, stride_x = conv_params->stride.w;
    const int32_t total_pad = (output_dims->w - 1) * stride_x + filter_dims->w - input_dims->w;
    const int32_t asym_pad = total_pad % 2;
    const int32_t right_pad_num =
        pad_x + asym_pad != 0 ? ARM_NN_MAX(1, (pad_x + asym_pad + stride_x - 1) / stride_x) : 0;
    const int32_t left_pad_num = pad_x != 0 ? ARM_NN_MAX(1, (pad_x + stride_x - 1) / stride_x) : 0;
    const int32_t no_pad_num = ARM_NN_MAX(output_dims->w - (right_pad_num + left_pad_num), 0);
    const int32_t pad_left = pad_x * c;
    const int32_t pad_right = asym_pad ? right_pad_num * c : pad_left;
    const int32_t left = filter_dims->w * c;
    if (right_pad_num + no_pad_num + left_pad_num != output_dims->w) {
        return convolve_s8_size(input_dims, filter_dims);
    }
    return ARM_NN_MAX(left + pad_left, left - c + pad_right);
#else
    (void)conv_params;
    (void)output_dims;
    return convolve_s8_size(input_dims, filter_dims);
#endif
}

int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims)
{
    if (conv_params->padding.w == 0 && conv_params->padding.h == 0 && filter_dims->w == 1 && filter_dims->h == 1 &&
        conv_params->dilation.w == 1 && conv_params->dilation.h == 1) {
        /* arm_convolve_1x1_s8_fast: 2*c int16 on DSP when built by armclang; arm_convolve_1x1_s8: none. */
#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI) && defined(__ARMCC_VERSION) && (__ARMCC_VERSION >= 6010050)
        if (conv_params->stride.w == 1 && conv_params->stride.h == 1) {
            return 2 * input_dims->c * (int32_t)sizeof(int16_t);
        }
#endif
        return 0;
    }
    if (input_dims->h == 1 && conv_params->dilation.w == 1 && filter_dims->h == 1 &&
        (conv_params->stride.w * input_dims->c) % 4 == 0) {
        return convolve_1_x_n_s8_size(conv_params, input_dims, filter_dims, output_dims);
    }
    return convolve_s8_size(input_dims, filter_dims);
}

int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims)
{
#if defined(ARM_MATH_MVEI)
    if (input_dims->c == 1 && output_dims->c > ARM_NN_DW_TO_CONV_THRESHOLD) {
        /* Run as a convolution; the transposed filter follows the convolution's own buffer. */
        const cmsis_nn_conv_params conv_params = {dw_conv_params->input_offset, dw_conv_params->output_offset,
                                                  dw_conv_params->stride,       dw_conv_params->padding,
                                                  dw_conv_params->dilation,     dw_conv_params->activation};
        const cmsis_nn_dims conv_filter = {filter_dims->c, filter_dims->h, filter_dims->w, filter_dims->n};
        return arm_convolve_wrapper_s8_get_buffer_size(&conv_params, input_dims, &conv_filter, output_dims) +
               filter_dims->c * filter_dims->h * filter_dims->w * filter_dims->n;
    }
#endif
    if (input_dims->c != output_dims->c || input_dims->n != 1 || dw_conv_params->dilation.w != 1 ||
        dw_conv_params->dilation.h != 1) {
        return 0; /* arm_depthwise_conv_s8 */
    }
#if defined(ARM_MATH_MVEI)
    return 4 * ARM_NN_CH_IN_BLOCK_MVE * filter_dims->w * filter_dims->h;
#else
    if (filter_dims->w == 3 && filter_dims->h == 3 && dw_conv_params->padding.h <= 1 &&
        dw_conv_params->padding.w <= 1) {
        return 0; /* arm_depthwise_conv_3x3_s8 */
    }
#if defined(ARM_MATH_DSP)
    return input_dims->c * filter_dims->w * filter_dims->h * (int32_t)sizeof(int16_t);
#else
    return 0;
#endif
#endif
}

/* v7.0.0's arm_convolve_get_buffer_sizes_s4.c: on MVE the s4 wrapper answers what the s8 MVE
 * wrapper answers; otherwise 0 for the 1x1 (unpadded, undilated) kernels and 2 int16 im2col
 * columns of rhs_cols = c * w * h (not rounded up, unlike s8) for every other one. */
int32_t arm_convolve_wrapper_s4_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims)
{
#if defined(ARM_MATH_MVEI)
    return arm_convolve_wrapper_s8_get_buffer_size(conv_params, input_dims, filter_dims, output_dims);
#else
    (void)output_dims;
    if (conv_params->padding.w == 0 && conv_params->padding.h == 0 && filter_dims->w == 1 && filter_dims->h == 1 &&
        conv_params->dilation.w == 1 && conv_params->dilation.h == 1) {
        return 0; /* arm_convolve_1x1_s4_fast / arm_convolve_1x1_s4 */
    }
    return 2 * (filter_dims->w * filter_dims->h * input_dims->c) * (int32_t)sizeof(int16_t);
#endif
}

/* v7.0.0's arm_depthwise_conv_get_buffer_sizes_s4.c: arm_depthwise_conv_s4_opt's buffer (the
 * s8 _dsp size, c * w * h int16, on plain C too; the s8 MVE size on MVE), 0 for arm_depthwise_conv_s4. */
int32_t arm_depthwise_conv_wrapper_s4_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims)
{
    if (input_dims->c != output_dims->c || input_dims->n != 1 || dw_conv_params->dilation.w != 1 ||
        dw_conv_params->dilation.h != 1) {
        return 0;
    }
#if defined(ARM_MATH_MVEI)
    return 4 * ARM_NN_CH_IN_BLOCK_MVE * filter_dims->w * filter_dims->h;
#else
    return input_dims->c * filter_dims->w * filter_dims->h * (int32_t)sizeof(int16_t);
#endif
}

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
#if defined(ARM_MATH_MVEI)
    return filter_dims->c * (int32_t)sizeof(int32_t);
#else
    (void)filter_dims;
    return 0;
#endif
}

int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)
    return ch_src * (int32_t)sizeof(int32_t);
#else
    (void)ch_src;
    return 0;
#endif
}

arm_cmsis_nn_status arm_vector_sum_s8(int32_t *vector_sum_buf,
                                      const int32_t vector_cols,
                                      const int32_t vector_rows,
                                      const int8_t *vector_data,
                                      const int32_t lhs_offset,
                                      const int32_t rhs_offset,
                                      const int32_t *bias_data)
{
    int32_t r, j;
    for (r = 0; r < vector_rows; r++) {
        uint32_t s = 0;
        for (j = 0; j < vector_cols; j++) {
            s += (uint32_t)(int32_t)vector_data[(int64_t)r * vector_cols + j];
        }
        s += (uint32_t)vector_cols * (uint32_t)rhs_offset;
        vector_sum_buf[r] = (int32_t)(s * (uint32_t)lhs_offset + (bias_data != NULL ? (uint32_t)bias_data[r] : 0u));
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int arm_nn_scratch_ok(const cmsis_nn_context *ctx, int32_t required)
{
    if (required <= 0) {
        return 1;
    }
    if (ctx == NULL || ctx->buf == NULL || ctx->size < required) {
        return 0;
    }
    memset(ctx->buf, 0x5a, (size_t)required);
    return 1;
}

int arm_nn_kernel_sums_ok(const cmsis_nn_context *ctx,
                          const cmsis_nn_fc_params *fc_params,
                          const cmsis_nn_dims *filter_dims,
                          const int8_t *filter_data,
                          const int32_t *bias_data,
                          int32_t rows)
{
#if defined(ARM_MATH_MVEI)
    const int32_t cols = filter_dims->n;
    const int32_t *sums;
    int32_t r, j;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < rows * (int32_t)sizeof(int32_t)) {
        return 0;
    }
    sums = (const int32_t *)ctx->buf;
    for (r = 0; r < rows; r++) {
        uint32_t s = 0;
        uint32_t expected;
        for (j = 0; j < cols; j++) {
            s += (uint32_t)(int32_t)filter_data[(int64_t)r * cols + j];
        }
        s += (uint32_t)cols * (uint32_t)fc_params->filter_offset;
        expected = s * (uint32_t)fc_params->input_offset + (bias_data != NULL ? (uint32_t)bias_data[r] : 0u);
        if ((uint32_t)sums[r] != expected) {
            return 0;
        }
    }
    return 1;
#else
    (void)ctx;
    (void)fc_params;
    (void)filter_dims;
    (void)filter_data;
    (void)bias_data;
    (void)rows;
    return 1;
#endif
}
