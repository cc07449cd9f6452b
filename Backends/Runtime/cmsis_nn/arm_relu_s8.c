/*
 * arm_relu_s8.c - host stand-in for arm_relu6_s8 and arm_relu_q7 (CMSIS-NN
 * v7.0.0 API): in-place clamps of raw int8 values.
 */
#include "arm_nnfunctions.h"

void arm_relu6_s8(int8_t *data, uint16_t size)
{
    uint16_t i;
    for (i = 0; i < size; i++) {
        data[i] = data[i] < 0 ? 0 : (data[i] > 6 ? 6 : data[i]);
    }
}

void arm_relu_q7(int8_t *data, uint16_t size)
{
    uint16_t i;
    for (i = 0; i < size; i++) {
        data[i] = data[i] < 0 ? 0 : data[i];
    }
}
