/*
 * tinyc_harness.h - binds the generic test harnesses (host/host_main.c,
 * qemu/qemu_main.c) to one emitted model.
 *
 * Compile a harness with
 *     -DTINYC_MODEL_HEADER='"kws.h"' -DTINYC_MODEL=kws
 * (defaults: "model.h" and model).  The model header must provide, for
 * NAME = TINYC_MODEL:
 *     NAME_INPUT_COUNT, NAME_OUTPUT_COUNT        1..4 each
 *     NAME_INPUT<k>_BYTES, NAME_OUTPUT<k>_BYTES  byte size of input/output k
 *     int NAME_invoke(in0, ..., out0, ...);      one pointer per input (const
 *                                                T *), then one per output (T *),
 *                                                returning 0 on success
 * and may provide NAME_ARENA_BYTES (not used here).  With -DTINYC_IN_PLACE the
 * header must also declare tinyc's in-place API (void *NAME_input(int),
 * const void *NAME_output(int), int NAME_invoke_in_place(void)), and
 * tinyc_check_in_place() runs it on the same inputs and compares the outputs.
 *
 * Files: the harness takes the input paths, then the output paths, as its
 * arguments (host: argv; QEMU: the semihosting command line, e.g.
 * -semihosting-config enable=on,target=native,arg=prog,arg=in0.bin,arg=out0.bin).
 * Missing paths default to input<k>.bin and output<k>.bin.
 * Exit code: the invoke's status; 2 when an input file is missing or has the
 * wrong size, or an output cannot be written.
 */
#ifndef TINYC_HARNESS_H
#define TINYC_HARNESS_H

#include <stdint.h>

#ifndef TINYC_MODEL_HEADER
#define TINYC_MODEL_HEADER "model.h"
#endif
#ifndef TINYC_MODEL
#define TINYC_MODEL model
#endif

#include TINYC_MODEL_HEADER

#define TINYC_CAT_(a, b) a##b
#define TINYC_CAT(a, b) TINYC_CAT_(a, b)
#define TINYC_M(suffix) TINYC_CAT(TINYC_MODEL, suffix)

#define TINYC_NUM_INPUTS TINYC_M(_INPUT_COUNT)
#define TINYC_NUM_OUTPUTS TINYC_M(_OUTPUT_COUNT)

#if TINYC_NUM_INPUTS < 1 || TINYC_NUM_INPUTS > 4 || TINYC_NUM_OUTPUTS < 1 || TINYC_NUM_OUTPUTS > 4
#error "the harness supports 1 to 4 inputs and 1 to 4 outputs"
#endif

/* 8-byte aligned static buffers, one per input and output. */
#define TINYC_BUFFER(name, bytes)                                                                              \
    static union {                                                                                             \
        unsigned char b[bytes];                                                                                \
        int64_t align;                                                                                         \
    } name

TINYC_BUFFER(tinyc_in0, TINYC_M(_INPUT0_BYTES));
#define TINYC_IN_ARGS (void *)tinyc_in0.b
#if TINYC_NUM_INPUTS > 1
TINYC_BUFFER(tinyc_in1, TINYC_M(_INPUT1_BYTES));
#undef TINYC_IN_ARGS
#define TINYC_IN_ARGS (void *)tinyc_in0.b, (void *)tinyc_in1.b
#endif
#if TINYC_NUM_INPUTS > 2
TINYC_BUFFER(tinyc_in2, TINYC_M(_INPUT2_BYTES));
#undef TINYC_IN_ARGS
#define TINYC_IN_ARGS (void *)tinyc_in0.b, (void *)tinyc_in1.b, (void *)tinyc_in2.b
#endif
#if TINYC_NUM_INPUTS > 3
TINYC_BUFFER(tinyc_in3, TINYC_M(_INPUT3_BYTES));
#undef TINYC_IN_ARGS
#define TINYC_IN_ARGS (void *)tinyc_in0.b, (void *)tinyc_in1.b, (void *)tinyc_in2.b, (void *)tinyc_in3.b
#endif

TINYC_BUFFER(tinyc_out0, TINYC_M(_OUTPUT0_BYTES));
#define TINYC_OUT_ARGS (void *)tinyc_out0.b
#if TINYC_NUM_OUTPUTS > 1
TINYC_BUFFER(tinyc_out1, TINYC_M(_OUTPUT1_BYTES));
#undef TINYC_OUT_ARGS
#define TINYC_OUT_ARGS (void *)tinyc_out0.b, (void *)tinyc_out1.b
#endif
#if TINYC_NUM_OUTPUTS > 2
TINYC_BUFFER(tinyc_out2, TINYC_M(_OUTPUT2_BYTES));
#undef TINYC_OUT_ARGS
#define TINYC_OUT_ARGS (void *)tinyc_out0.b, (void *)tinyc_out1.b, (void *)tinyc_out2.b
#endif
#if TINYC_NUM_OUTPUTS > 3
TINYC_BUFFER(tinyc_out3, TINYC_M(_OUTPUT3_BYTES));
#undef TINYC_OUT_ARGS
#define TINYC_OUT_ARGS (void *)tinyc_out0.b, (void *)tinyc_out1.b, (void *)tinyc_out2.b, (void *)tinyc_out3.b
#endif

/* Buffer k and its size (k < TINYC_NUM_INPUTS / TINYC_NUM_OUTPUTS). */
static unsigned char *tinyc_input_buffer(int k, int32_t *bytes)
{
    switch (k) {
#if TINYC_NUM_INPUTS > 1
    case 1:
        *bytes = (int32_t)sizeof tinyc_in1.b;
        return tinyc_in1.b;
#endif
#if TINYC_NUM_INPUTS > 2
    case 2:
        *bytes = (int32_t)sizeof tinyc_in2.b;
        return tinyc_in2.b;
#endif
#if TINYC_NUM_INPUTS > 3
    case 3:
        *bytes = (int32_t)sizeof tinyc_in3.b;
        return tinyc_in3.b;
#endif
    default:
        *bytes = (int32_t)sizeof tinyc_in0.b;
        return tinyc_in0.b;
    }
}

static unsigned char *tinyc_output_buffer(int k, int32_t *bytes)
{
    switch (k) {
#if TINYC_NUM_OUTPUTS > 1
    case 1:
        *bytes = (int32_t)sizeof tinyc_out1.b;
        return tinyc_out1.b;
#endif
#if TINYC_NUM_OUTPUTS > 2
    case 2:
        *bytes = (int32_t)sizeof tinyc_out2.b;
        return tinyc_out2.b;
#endif
#if TINYC_NUM_OUTPUTS > 3
    case 3:
        *bytes = (int32_t)sizeof tinyc_out3.b;
        return tinyc_out3.b;
#endif
    default:
        *bytes = (int32_t)sizeof tinyc_out0.b;
        return tinyc_out0.b;
    }
}

/* Runs the model on the buffers; returns its status. */
static int tinyc_invoke_model(void)
{
    return TINYC_M(_invoke)(TINYC_IN_ARGS, TINYC_OUT_ARGS);
}

#ifdef TINYC_IN_PLACE
#include <string.h>
/* Copies the inputs into NAME_input(k), runs NAME_invoke_in_place and checks
 * that NAME_output(k) holds what NAME_invoke wrote into the output buffers.
 * Returns the invoke's status, or 3 when an output differs or is missing. */
static int tinyc_check_in_place(void)
{
    int k, status;
    for (k = 0; k < TINYC_NUM_INPUTS; k++) {
        int32_t bytes;
        const unsigned char *buf = tinyc_input_buffer(k, &bytes);
        void *in = TINYC_M(_input)(k);
        if (in != NULL) {
            memcpy(in, buf, (size_t)bytes);
        }
    }
    status = TINYC_M(_invoke_in_place)();
    if (status != 0) {
        return status;
    }
    for (k = 0; k < TINYC_NUM_OUTPUTS; k++) {
        int32_t bytes;
        const unsigned char *buf = tinyc_output_buffer(k, &bytes);
        const void *out = TINYC_M(_output)(k);
        if (out == NULL || memcmp(out, buf, (size_t)bytes) != 0) {
            return 3;
        }
    }
    return TINYC_M(_input)(TINYC_NUM_INPUTS) == NULL && TINYC_M(_output)(TINYC_NUM_OUTPUTS) == NULL ? 0 : 3;
}
#endif

/* Default file name "input<k>.bin" / "output<k>.bin" into buf[16]. */
static const char *tinyc_default_path(char *buf, const char *stem, int k)
{
    int i = 0;
    while (*stem != '\0') {
        buf[i++] = *stem++;
    }
    buf[i++] = (char)('0' + k);
    buf[i++] = '.';
    buf[i++] = 'b';
    buf[i++] = 'i';
    buf[i++] = 'n';
    buf[i] = '\0';
    return buf;
}

#endif /* TINYC_HARNESS_H */
