/*
 * tinyc_data_movement.c - pad, concatenation, transpose and strided slice for
 * any element size (TFLite PAD/PADV2, CONCATENATION, TRANSPOSE, STRIDED_SLICE).
 */
#include <string.h>

#include "tinyc_kernels.h"
#include "tinyc_fixedpoint.h"

int32_t tinyc_pad(const void *input, int32_t elem_size, const int32_t in_shape[4], const int32_t pad_before[4],
                  const int32_t pad_after[4], const void *pad_value, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    int32_t out_shape[4];
    int32_t i, d0, d1, d2, d3;
    for (i = 0; i < 4; i++) {
        if (in_shape[i] < 0 || pad_before[i] < 0 || pad_after[i] < 0) {
            return -1;
        }
        out_shape[i] = in_shape[i] + pad_before[i] + pad_after[i];
    }
    for (d0 = 0; d0 < out_shape[0]; d0++) {
        for (d1 = 0; d1 < out_shape[1]; d1++) {
            for (d2 = 0; d2 < out_shape[2]; d2++) {
                for (d3 = 0; d3 < out_shape[3]; d3++) {
                    const int32_t s0 = d0 - pad_before[0], s1 = d1 - pad_before[1];
                    const int32_t s2 = d2 - pad_before[2], s3 = d3 - pad_before[3];
                    const int inside = s0 >= 0 && s0 < in_shape[0] && s1 >= 0 && s1 < in_shape[1] && s2 >= 0 &&
                                       s2 < in_shape[2] && s3 >= 0 && s3 < in_shape[3];
                    const void *src = pad_value;
                    if (inside) {
                        src = in + ((((int64_t)s0 * in_shape[1] + s1) * in_shape[2] + s2) * in_shape[3] + s3) *
                                       elem_size;
                    }
                    memcpy(out, src, (size_t)elem_size);
                    out += elem_size;
                }
            }
        }
    }
    return 0;
}

void tinyc_concat(const void *const *inputs, int32_t num_inputs, const int32_t *axis_sizes, int32_t outer,
                  int32_t inner, int32_t elem_size, void *output)
{
    uint8_t *out = (uint8_t *)output;
    int32_t o, i;
    for (o = 0; o < outer; o++) {
        for (i = 0; i < num_inputs; i++) {
            const size_t chunk = (size_t)axis_sizes[i] * (size_t)inner * (size_t)elem_size;
            memcpy(out, (const uint8_t *)inputs[i] + (size_t)o * chunk, chunk);
            out += chunk;
        }
    }
}

void tinyc_concat_s8(const int8_t *const *inputs, int32_t num_inputs, const int32_t *axis_sizes, int32_t outer,
                     int32_t inner, const int32_t *input_zps, const int32_t *multipliers, const int32_t *shifts,
                     int32_t output_zp, int8_t *output)
{
    int32_t o, i, j;
    for (o = 0; o < outer; o++) {
        for (i = 0; i < num_inputs; i++) {
            const int32_t chunk = axis_sizes[i] * inner;
            const int8_t *in = inputs[i] + (int64_t)o * chunk;
            if (multipliers == NULL || multipliers[i] == 0) {
                memcpy(output, in, (size_t)chunk);
            } else {
                for (j = 0; j < chunk; j++) {
                    const int32_t v = tinyc_requantize(in[j] - input_zps[i], multipliers[i], shifts[i]) + output_zp;
                    output[j] = (int8_t)tinyc_clamp_i32(v, -128, 127);
                }
            }
            output += chunk;
        }
    }
}

/* Row-major strides of a shape. */
static void strides_of(int32_t rank, const int32_t *shape, int64_t *strides)
{
    int64_t s = 1;
    int32_t i;
    for (i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

int32_t tinyc_transpose(const void *input, int32_t elem_size, int32_t rank, const int32_t *in_shape,
                        const int32_t *perm, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    int64_t in_strides[TINYC_MAX_RANK];
    int32_t out_shape[TINYC_MAX_RANK];
    int32_t idx[TINYC_MAX_RANK];
    int64_t total = 1, n;
    int32_t i;
    if (rank < 1 || rank > TINYC_MAX_RANK) {
        return -1;
    }
    strides_of(rank, in_shape, in_strides);
    for (i = 0; i < rank; i++) {
        if (perm[i] < 0 || perm[i] >= rank) {
            return -1;
        }
        out_shape[i] = in_shape[perm[i]];
        idx[i] = 0;
        total *= out_shape[i];
    }
    for (n = 0; n < total; n++) {
        int64_t offset = 0;
        for (i = 0; i < rank; i++) {
            offset += idx[i] * in_strides[perm[i]];
        }
        memcpy(out, in + offset * elem_size, (size_t)elem_size);
        out += elem_size;
        for (i = rank - 1; i >= 0; i--) { /* odometer over the output index */
            if (++idx[i] < out_shape[i]) {
                break;
            }
            idx[i] = 0;
        }
    }
    return 0;
}

int32_t tinyc_strided_slice(const void *input, int32_t elem_size, int32_t rank, const int32_t *in_shape,
                            const int32_t *begin, const int32_t *end, const int32_t *strides, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    int64_t in_strides[TINYC_MAX_RANK];
    int32_t out_shape[TINYC_MAX_RANK];
    int32_t idx[TINYC_MAX_RANK];
    int64_t total = 1, n;
    int32_t i;
    if (rank < 1 || rank > TINYC_MAX_RANK) {
        return -1;
    }
    strides_of(rank, in_shape, in_strides);
    for (i = 0; i < rank; i++) {
        const int32_t s = strides[i];
        int32_t len;
        if (s == 0) {
            return -1;
        }
        len = s > 0 ? (end[i] - begin[i] + s - 1) / s : (begin[i] - end[i] - s - 1) / -s;
        out_shape[i] = len > 0 ? len : 0;
        idx[i] = 0;
        total *= out_shape[i];
    }
    for (n = 0; n < total; n++) {
        int64_t offset = 0;
        for (i = 0; i < rank; i++) {
            offset += ((int64_t)begin[i] + (int64_t)idx[i] * strides[i]) * in_strides[i];
        }
        memcpy(out, in + offset * elem_size, (size_t)elem_size);
        out += elem_size;
        for (i = rank - 1; i >= 0; i--) {
            if (++idx[i] < out_shape[i]) {
                break;
            }
            idx[i] = 0;
        }
    }
    return 0;
}
