/*
 * arm_nn_math_types.h - tinyc host stand-in for the CMSIS-NN v7.0.0 header of
 * the same name.  Only what the stand-in needs: the fixed-width integer types
 * and the compiler helpers the real header provides.  On a device, build
 * against the real CMSIS-NN instead; nothing in the emitted code changes.
 */
#ifndef ARM_NN_MATH_TYPES_H
#define ARM_NN_MATH_TYPES_H

#include <limits.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The library build, chosen as CMSIS-NN chooses it: from the compiler's feature macros on a
 *  device, or -DARM_MATH_DSP / -DARM_MATH_MVEI on the host to build the stand-in "as" a core. */
#if (defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1))
#ifndef ARM_MATH_DSP
#define ARM_MATH_DSP 1
#endif
#endif
#if (defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1))
#ifndef ARM_MATH_MVEI
#define ARM_MATH_MVEI 1
#endif
#endif

/** Minimum and maximum of the int8/int16/int32 ranges, as in CMSIS-NN. */
#define NN_Q7_MAX ((int8_t)(0x7F))
#define NN_Q7_MIN ((int8_t)(0x80))
#define NN_Q15_MAX ((int16_t)(0x7FFF))
#define NN_Q15_MIN ((int16_t)(0x8000))
#define NN_Q31_MAX ((int32_t)(0x7FFFFFFFL))
#define NN_Q31_MIN ((int32_t)(0x80000000L))

#ifdef __cplusplus
}
#endif

#endif /* ARM_NN_MATH_TYPES_H */
