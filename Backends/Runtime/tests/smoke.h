/*
 * smoke.h - a tiny hand-written "emitted model" for testing the
 * harnesses: input 64 int8 values, output 16 int8 values.
 * input[0] & 7 = how many times the int8 fully connected layer is repeated
 * (instruction counts must grow linearly with it); input[1] == 42 makes the
 * invoke return status 5 (the harness must exit with it).
 */
#ifndef SMOKE_H
#define SMOKE_H

#include <stdint.h>

#define smoke_INPUT_COUNT 1
#define smoke_OUTPUT_COUNT 1
#define smoke_INPUT0_BYTES 64
#define smoke_OUTPUT0_BYTES 16
#define smoke_ARENA_BYTES 128

int smoke_invoke(const int8_t *input, int8_t *output);

#endif
