/*
 * arm_elementwise_s8.c - host stand-in for arm_elementwise_add_s8 and
 * arm_elementwise_mul_s8 (CMSIS-NN v7.0.0 API), computing what TFLite Micro's
 * reference int8 Add and Mul do for same-shape inputs.
 */
#include "arm_nnfunctions.h"
#include "../tinyc/tinyc_fixedpoint.h"

arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_1_mult,
                                           const int32_t input_1_shift,
                                           const int32_t input_2_offset,
                                           const int32_t input_2_mult,
                                           const int32_t input_2_shift,
                                           const int32_t left_shift,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++) {
        const int32_t a = (int32_t)((uint32_t)(input_1_vect[i] + input_1_offset) << left_shift);
        const int32_t b = (int32_t)((uint32_t)(input_2_vect[i] + input_2_offset) << left_shift);
        const int32_t sum = tinyc_requantize(a, input_1_mult, input_1_shift) +
                            tinyc_requantize(b, input_2_mult, input_2_shift);
        const int32_t out = tinyc_requantize(sum, out_mult, out_shift) + out_offset;
        output[i] = (int8_t)tinyc_clamp_i32(out, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_elementwise_mul_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_2_offset,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++) {
        const int32_t prod = (input_1_vect[i] + input_1_offset) * (input_2_vect[i] + input_2_offset);
        const int32_t out = tinyc_requantize(prod, out_mult, out_shift) + out_offset;
        output[i] = (int8_t)tinyc_clamp_i32(out, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
