/*
 * qemu_main.c - runs one emitted model under qemu-system-arm (mps2-an386)
 * with semihosting: reads its inputs from host files, calls NAME_invoke,
 * writes its outputs, prints "instructions: N" (executed instructions of the
 * invoke, under -icount shift=0) and exits with the invoke's status.  See
 * ../tinyc/tinyc_harness.h for the model binding and file arguments.
 */
#include "../tinyc/tinyc_harness.h"
#include "tinyc_icount.h"
#include "tinyc_semihost.h"

#define MAX_ARGS 12
#define CMDLINE_BYTES 512

static char cmdline[CMDLINE_BYTES];

/* Splits the semihosting command line at spaces; argv[0] is the program. */
static int split_cmdline(char **argv)
{
    int argc = 0;
    int32_t n = tinyc_semihost_cmdline(cmdline, CMDLINE_BYTES);
    int32_t i = 0;
    if (n < 0) {
        return 0;
    }
    cmdline[n < CMDLINE_BYTES ? n : CMDLINE_BYTES - 1] = '\0';
    while (cmdline[i] != '\0' && argc < MAX_ARGS) {
        while (cmdline[i] == ' ') {
            cmdline[i++] = '\0';
        }
        if (cmdline[i] == '\0') {
            break;
        }
        argv[argc++] = &cmdline[i];
        while (cmdline[i] != '\0' && cmdline[i] != ' ') {
            i++;
        }
    }
    return argc;
}

static void print2(const char *a, const char *b)
{
    tinyc_semihost_write0(a);
    tinyc_semihost_write0(b);
    tinyc_semihost_write0("\n");
}

static void print_u64(const char *label, uint64_t v)
{
    char digits[24];
    int i = 23;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0 && i > 0);
    print2(label, &digits[i]);
}

static int read_input(const char *path, unsigned char *buf, int32_t bytes)
{
    const int32_t h = tinyc_semihost_open(path, 0);
    int32_t len;
    if (h < 0) {
        print2("error: cannot open input ", path);
        return -1;
    }
    len = tinyc_semihost_flen(h);
    if (len != bytes || tinyc_semihost_read(h, buf, bytes) != 0) {
        tinyc_semihost_close(h);
        print2("error: wrong size or unreadable input ", path);
        return -1;
    }
    tinyc_semihost_close(h);
    return 0;
}

static int write_output(const char *path, const unsigned char *buf, int32_t bytes)
{
    const int32_t h = tinyc_semihost_open(path, 1);
    int32_t left;
    if (h < 0) {
        print2("error: cannot create output ", path);
        return -1;
    }
    left = tinyc_semihost_write(h, buf, bytes);
    tinyc_semihost_close(h);
    if (left != 0) {
        print2("error: cannot write output ", path);
        return -1;
    }
    return 0;
}

int main(void)
{
    char *argv[MAX_ARGS];
    char name[16];
    const int argc = split_cmdline(argv);
    uint64_t t0, t1;
    int k, status;

    tinyc_icount_start();
    for (k = 0; k < TINYC_NUM_INPUTS; k++) {
        int32_t bytes;
        unsigned char *buf = tinyc_input_buffer(k, &bytes);
        const char *path = 1 + k < argc ? argv[1 + k] : tinyc_default_path(name, "input", k);
        if (read_input(path, buf, bytes) != 0) {
            return 2;
        }
    }
    t0 = tinyc_icount_ticks();
    status = tinyc_invoke_model();
    t1 = tinyc_icount_ticks();
    for (k = 0; k < TINYC_NUM_OUTPUTS; k++) {
        int32_t bytes;
        const unsigned char *buf = tinyc_output_buffer(k, &bytes);
        const int arg = 1 + TINYC_NUM_INPUTS + k;
        const char *path = arg < argc ? argv[arg] : tinyc_default_path(name, "output", k);
        if (write_output(path, buf, bytes) != 0) {
            return 2;
        }
    }
    print_u64("instructions: ", tinyc_icount_instructions(t1 - t0));
#ifdef TINYC_IN_PLACE
    if (status == 0 && (status = tinyc_check_in_place()) != 0) {
        tinyc_semihost_write0("error: the in-place API gave other outputs than NAME_invoke\n");
    }
#endif
    return status;
}
