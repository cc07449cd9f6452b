/*
 * tinyc_subbyte.c - packing of int4 (two per byte, low nibble first) and int2
 * (four per byte, lowest bits first) values.
 */
#include "tinyc_kernels.h"

void tinyc_pack_s4(const int8_t *input, int32_t count, uint8_t *output)
{
    int32_t i;
    for (i = 0; i + 1 < count; i += 2) {
        output[i / 2] = (uint8_t)(((uint8_t)input[i] & 0x0Fu) | (((uint8_t)input[i + 1] & 0x0Fu) << 4));
    }
    if (count & 1) {
        output[count / 2] = (uint8_t)((uint8_t)input[count - 1] & 0x0Fu);
    }
}

void tinyc_unpack_s4(const uint8_t *input, int32_t count, int8_t *output)
{
    int32_t i;
    for (i = 0; i < count; i++) {
        const int32_t nibble = (input[i / 2] >> ((i & 1) * 4)) & 0x0F;
        output[i] = (int8_t)(nibble >= 8 ? nibble - 16 : nibble);
    }
}

void tinyc_pack_s2(const int8_t *input, int32_t count, uint8_t *output)
{
    int32_t i;
    for (i = 0; i < count; i++) {
        const uint8_t bits = (uint8_t)(((uint8_t)input[i] & 0x03u) << ((i & 3) * 2));
        if ((i & 3) == 0) {
            output[i / 4] = bits;
        } else {
            output[i / 4] = (uint8_t)(output[i / 4] | bits);
        }
    }
}

void tinyc_unpack_s2(const uint8_t *input, int32_t count, int8_t *output)
{
    int32_t i;
    for (i = 0; i < count; i++) {
        const int32_t v = (input[i / 4] >> ((i & 3) * 2)) & 0x03;
        output[i] = (int8_t)(v >= 2 ? v - 4 : v);
    }
}
