/*
 * two.h - a harness "model" with two inputs and two outputs of different
 * element types, to test the harnesses' argument order:
 * in0 int8[8], in1 float[4] -> out0 int8[8] = in0 + 1, out1 float[4] = 2 * in1.
 */
#ifndef TWO_H
#define TWO_H

#include <stdint.h>

#define two_INPUT_COUNT 2
#define two_OUTPUT_COUNT 2
#define two_INPUT0_BYTES 8
#define two_INPUT1_BYTES 16
#define two_OUTPUT0_BYTES 8
#define two_OUTPUT1_BYTES 16

int two_invoke(const int8_t *in0, const float *in1, int8_t *out0, float *out1);

#endif
