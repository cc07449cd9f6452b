/*
 * two.c - see two.h.
 */
#include "two.h"

int two_invoke(const int8_t *in0, const float *in1, int8_t *out0, float *out1)
{
    int i;
    for (i = 0; i < 8; i++) {
        out0[i] = (int8_t)(in0[i] + 1);
    }
    for (i = 0; i < 4; i++) {
        out1[i] = 2.0f * in1[i];
    }
    return 0;
}
