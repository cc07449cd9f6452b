/*
 * digest.h - a harness "model" that runs every runtime kernel on fixed
 * pseudo-random data and outputs one 32-bit FNV-1a hash of each kernel's
 * output (DIGEST_KERNELS of them, in the order of digest_names in digest.c).
 * Built for the host and for QEMU, the two outputs must be equal: the
 * Cortex-M4 build computes the same bits as the host build that
 * scripts/check_runtime.py checks against TFLite Micro.
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <stdint.h>

#define DIGEST_KERNELS 51

#define digest_INPUT_COUNT 1
#define digest_OUTPUT_COUNT 1
#define digest_INPUT0_BYTES 4
#define digest_OUTPUT0_BYTES (4 * DIGEST_KERNELS)

/** input: 4-byte seed (little endian); output: DIGEST_KERNELS uint32 hashes. */
int digest_invoke(const uint8_t *input, uint8_t *output);

#endif
