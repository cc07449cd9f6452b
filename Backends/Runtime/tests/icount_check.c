/*
 * icount_check.c - calibration of the SysTick instruction count under
 * qemu-system-arm -icount shift=0: times a loop of exactly 2 instructions
 * per iteration (subs + bne) for 100000, 200000 and 400000000 iterations
 * (the last one crosses SysTick wraps, every 2^24 ticks = 671088640
 * instructions on mps2-an386) and prints "loop N: M" lines; M should be 2N to within a few
 * 40-instruction ticks.
 */
#include <stdint.h>

#include "tinyc_icount.h"
#include "tinyc_semihost.h"

static void spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

static void print_line(uint32_t n, uint64_t count)
{
    char buf[64];
    char digits[24];
    int i, j = 0, d;
    const char *label = "loop ";
    uint64_t values[2];
    values[0] = n;
    values[1] = count;
    for (i = 0; label[i] != '\0'; i++) {
        buf[j++] = label[i];
    }
    for (i = 0; i < 2; i++) {
        uint64_t v = values[i];
        d = 0;
        do {
            digits[d++] = (char)('0' + (int)(v % 10u));
            v /= 10u;
        } while (v != 0);
        while (d > 0) {
            buf[j++] = digits[--d];
        }
        if (i == 0) {
            buf[j++] = ':';
            buf[j++] = ' ';
        }
    }
    buf[j++] = '\n';
    buf[j] = '\0';
    tinyc_semihost_write0(buf);
}

int main(void)
{
    static const uint32_t loops[3] = {100000u, 200000u, 400000000u};
    int k;
    tinyc_icount_start();
    for (k = 0; k < 3; k++) {
        const uint32_t n = loops[k];
        const uint64_t t0 = tinyc_icount_ticks();
        uint64_t t1;
        spin(n);
        t1 = tinyc_icount_ticks();
        print_line(n, tinyc_icount_instructions(t1 - t0));
    }
    return 0;
}
