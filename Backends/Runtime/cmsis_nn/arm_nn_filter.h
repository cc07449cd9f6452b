/*
 * arm_nn_filter.h - (internal to the stand-in) reading one filter value,
 * int8 or packed int4 (two per byte, element i in the low nibble of byte
 * i / 2 when i is even, in the high nibble when odd: CMSIS-NN's s4 layout).
 */
#ifndef ARM_NN_FILTER_H
#define ARM_NN_FILTER_H

#include <stdint.h>

static inline int32_t arm_nn_filter_at(const int8_t *filter, int64_t i, int is_s4)
{
    int32_t nibble;
    if (!is_s4) {
        return filter[i];
    }
    nibble = ((uint8_t)filter[i >> 1] >> ((i & 1) * 4)) & 0x0F;
    return nibble >= 8 ? nibble - 16 : nibble;
}

#endif /* ARM_NN_FILTER_H */
