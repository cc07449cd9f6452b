/*
 * arm_s16_target.h - the build flags CMSIS-NN v7.0.0 derives from the compiler
 * (ARM_MATH_DSP, ARM_MATH_MVEI), for the s16 stand-in kernels' buffer sizes:
 * the same per build as the real library's *_get_buffer_size.
 */
#ifndef ARM_S16_TARGET_H
#define ARM_S16_TARGET_H

#if defined(__ARM_FEATURE_MVE) && ((__ARM_FEATURE_MVE & 1) == 1)
#define TINYC_S16_MVEI 1
#endif
#if (defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)) || defined(TINYC_S16_MVEI)
#define TINYC_S16_DSP 1
#endif

#endif /* ARM_S16_TARGET_H */
