/*
 * host_main.c - runs one emitted model on the host: reads its inputs from
 * files, calls NAME_invoke, writes its outputs, exits with the invoke's
 * status.  See ../tinyc/tinyc_harness.h for the model binding and arguments:
 *     ./runner [in0.bin ...] [out0.bin ...]
 */
#include <stdio.h>

#include "../tinyc/tinyc_harness.h"

static int read_input(const char *path, unsigned char *buf, int32_t bytes)
{
    FILE *f = fopen(path, "rb");
    long size;
    if (f == NULL) {
        fprintf(stderr, "error: cannot open input %s\n", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        fprintf(stderr, "error: cannot size input %s\n", path);
        return -1;
    }
    if (size != (long)bytes || fread(buf, 1, (size_t)bytes, f) != (size_t)bytes) {
        fclose(f);
        fprintf(stderr, "error: input %s has %ld bytes, the model takes %ld\n", path, size, (long)bytes);
        return -1;
    }
    fclose(f);
    return 0;
}

static int write_output(const char *path, const unsigned char *buf, int32_t bytes)
{
    FILE *f = fopen(path, "wb");
    size_t written;
    if (f == NULL) {
        fprintf(stderr, "error: cannot create output %s\n", path);
        return -1;
    }
    written = fwrite(buf, 1, (size_t)bytes, f);
    if (fclose(f) != 0 || written != (size_t)bytes) {
        fprintf(stderr, "error: cannot write output %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char name[16];
    int k, status;
    for (k = 0; k < TINYC_NUM_INPUTS; k++) {
        int32_t bytes;
        unsigned char *buf = tinyc_input_buffer(k, &bytes);
        const char *path = 1 + k < argc ? argv[1 + k] : tinyc_default_path(name, "input", k);
        if (read_input(path, buf, bytes) != 0) {
            return 2;
        }
    }
    status = tinyc_invoke_model();
    for (k = 0; k < TINYC_NUM_OUTPUTS; k++) {
        int32_t bytes;
        const unsigned char *buf = tinyc_output_buffer(k, &bytes);
        const int arg = 1 + TINYC_NUM_INPUTS + k;
        const char *path = arg < argc ? argv[arg] : tinyc_default_path(name, "output", k);
        if (write_output(path, buf, bytes) != 0) {
            return 2;
        }
    }
    if (status != 0) {
        fprintf(stderr, "invoke returned %d\n", status);
    }
#ifdef TINYC_IN_PLACE
    else if ((status = tinyc_check_in_place()) != 0) {
        fprintf(stderr, "the in-place API returned %d or other outputs than NAME_invoke\n", status);
    }
#endif
    return status;
}
