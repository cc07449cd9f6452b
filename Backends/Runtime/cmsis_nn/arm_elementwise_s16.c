/*
 * arm_elementwise_s16.c - host stand-in for CMSIS-NN v7.0.0's
 * arm_elementwise_add_s16 and arm_elementwise_mul_s16 (same shapes; the
 * offsets are not used: int16 activations have zero point 0), computing what
 * TFLite Micro's reference int16 ADD (general scales, left shift 15) and MUL do.
 */
#include "arm_nnfunctions.h"
#include "../tinyc/tinyc_fixedpoint.h"

arm_cmsis_nn_status arm_elementwise_add_s16(const int16_t *input_1_vect,
                                            const int16_t *input_2_vect,
                                            const int32_t input_1_offset,
                                            const int32_t input_1_mult,
                                            const int32_t input_1_shift,
                                            const int32_t input_2_offset,
                                            const int32_t input_2_mult,
                                            const int32_t input_2_shift,
                                            const int32_t left_shift,
                                            int16_t *output,
                                            const int32_t out_offset,
                                            const int32_t out_mult,
                                            const int32_t out_shift,
                                            const int32_t out_activation_min,
                                            const int32_t out_activation_max,
                                            const int32_t block_size)
{
    int32_t i;
    (void)input_1_offset;
    (void)input_2_offset;
    (void)out_offset;
    for (i = 0; i < block_size; i++) {
        const int32_t a = tinyc_requantize((int32_t)((uint32_t)(int32_t)input_1_vect[i] << left_shift), input_1_mult,
                                           input_1_shift);
        const int32_t b = tinyc_requantize((int32_t)((uint32_t)(int32_t)input_2_vect[i] << left_shift), input_2_mult,
                                           input_2_shift);
        output[i] = (int16_t)tinyc_clamp_i32(tinyc_requantize(a + b, out_mult, out_shift), out_activation_min,
                                             out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_elementwise_mul_s16(const int16_t *input_1_vect,
                                            const int16_t *input_2_vect,
                                            const int32_t input_1_offset,
                                            const int32_t input_2_offset,
                                            int16_t *output,
                                            const int32_t out_offset,
                                            const int32_t out_mult,
                                            const int32_t out_shift,
                                            const int32_t out_activation_min,
                                            const int32_t out_activation_max,
                                            const int32_t block_size)
{
    int32_t i;
    (void)input_1_offset;
    (void)input_2_offset;
    (void)out_offset;
    for (i = 0; i < block_size; i++) {
        const int32_t p = (int32_t)input_1_vect[i] * (int32_t)input_2_vect[i];
        output[i] =
            (int16_t)tinyc_clamp_i32(tinyc_requantize(p, out_mult, out_shift), out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
