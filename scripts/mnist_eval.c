/*
 * mnist_eval.c - runs one model that `tinyc compile` emitted on many samples in one process, for
 * scripts/mnist_accuracy.py and scripts/train_qat_mnist.py (accuracy of the deployed C, not of the
 * interpreter).
 *
 * Build beside the emitted folder DIR (scripts/mnist_tinyc.py does this):
 *     cc -std=c99 -O2 -DARM_MATH_DSP -IDIR -IDIR/runtime/cmsis_nn -IDIR/runtime/tinyc \
 *        -DTINYC_MODEL_HEADER='"NAME.h"' -DTINYC_MODEL=NAME \
 *        [-DTINYC_INPUT_SCALE=NAME_INPUT0_SCALE -DTINYC_INPUT_ZERO_POINT=NAME_INPUT0_ZERO_POINT]
        [-DTINYC_OUTPUT_SCALE=NAME_OUTPUT0_SCALE -DTINYC_OUTPUT_ZERO_POINT=NAME_OUTPUT0_ZERO_POINT]
        DIR/NAME.c DIR/runtime/cmsis_nn/ *.c DIR/runtime/tinyc/ *.c scripts/mnist_eval.c -lm
    (the scale and zero point macros for an int8 input / output, which the header then defines)
 * Run: ./eval inputs.f32 outputs.f32
 *     inputs.f32   float32 samples one after another, each NAME_INPUT0_ELEMENTS values in the
 *                  emitted C's layout (channels last); quantized here with the header's scale and
 *                  zero point when the model takes int8, as TFLite's quantize does
 *                  (round half away from zero, then clamp)
 *     outputs.f32  per sample NAME_OUTPUT0_ELEMENTS float32 values (int8 outputs dequantized)
 * Exit code: 0, 2 on a file or size error, or the first non-zero status NAME_invoke returned.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyc_harness.h"

#define IN_ELEMENTS TINYC_M(_INPUT0_ELEMENTS)
#define OUT_ELEMENTS TINYC_M(_OUTPUT0_ELEMENTS)

#if TINYC_NUM_INPUTS != 1 || TINYC_NUM_OUTPUTS != 1
#error "mnist_eval.c runs models with one input and one output"
#endif

static int is_f32(const char *type)
{
    return strcmp(type, "f32") == 0;
}

static void load_input(const float *sample, unsigned char *buf)
{
    int i;
    if (is_f32(TINYC_M(_INPUT0_TYPE))) {
        memcpy(buf, sample, sizeof(float) * IN_ELEMENTS);
        return;
    }
#ifdef TINYC_INPUT_SCALE
    for (i = 0; i < IN_ELEMENTS; i++) {
        float q = roundf(sample[i] / TINYC_INPUT_SCALE) + (float)TINYC_INPUT_ZERO_POINT;
        q = q < -128.0f ? -128.0f : (q > 127.0f ? 127.0f : q);
        ((int8_t *)buf)[i] = (int8_t)q;
    }
#else
    (void)i;
#endif
}

static void store_output(const unsigned char *buf, float *out)
{
    int i;
    if (is_f32(TINYC_M(_OUTPUT0_TYPE))) {
        memcpy(out, buf, sizeof(float) * OUT_ELEMENTS);
        return;
    }
#ifdef TINYC_OUTPUT_SCALE
    for (i = 0; i < OUT_ELEMENTS; i++) {
        out[i] = TINYC_OUTPUT_SCALE * (float)((int)((const int8_t *)buf)[i] - TINYC_OUTPUT_ZERO_POINT);
    }
#else
    (void)i;
#endif
}

int main(int argc, char **argv)
{
    static float sample[IN_ELEMENTS];
    static float logits[OUT_ELEMENTS];
    FILE *in, *out;
    long count = 0;
    int32_t bytes;
    if (argc != 3) {
        fprintf(stderr, "usage: %s inputs.f32 outputs.f32\n", argv[0]);
        return 2;
    }
#ifndef TINYC_INPUT_SCALE
    if (!is_f32(TINYC_M(_INPUT0_TYPE))) {
        fprintf(stderr, "error: an int8 input needs -DTINYC_INPUT_SCALE and -DTINYC_INPUT_ZERO_POINT\n");
        return 2;
    }
#endif
#ifndef TINYC_OUTPUT_SCALE
    if (!is_f32(TINYC_M(_OUTPUT0_TYPE))) {
        fprintf(stderr, "error: an int8 output needs -DTINYC_OUTPUT_SCALE and -DTINYC_OUTPUT_ZERO_POINT\n");
        return 2;
    }
#endif
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) {
        fprintf(stderr, "error: cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    while (fread(sample, sizeof(float), IN_ELEMENTS, in) == IN_ELEMENTS) {
        int status;
        load_input(sample, tinyc_input_buffer(0, &bytes));
        status = tinyc_invoke_model();
        if (status != 0) {
            fprintf(stderr, "error: invoke returned %d on sample %ld\n", status, count);
            return status;
        }
        store_output(tinyc_output_buffer(0, &bytes), logits);
        if (fwrite(logits, sizeof(float), OUT_ELEMENTS, out) != OUT_ELEMENTS) {
            fprintf(stderr, "error: cannot write %s\n", argv[2]);
            return 2;
        }
        count++;
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "error: cannot write %s\n", argv[2]);
        return 2;
    }
    fclose(in);
    return 0;
}
