/*
 * tinyc_semihost.c - Arm semihosting calls (see tinyc_semihost.h).
 */
#include "tinyc_semihost.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_FLEN 0x0C
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int32_t semihost_call(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int32_t length_of(const char *s)
{
    int32_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

int32_t tinyc_semihost_open(const char *path, int for_writing)
{
    /* Modes: 1 = "rb", 5 = "wb". */
    const uint32_t args[3] = {(uint32_t)(uintptr_t)path, for_writing ? 5u : 1u, (uint32_t)length_of(path)};
    return semihost_call(SYS_OPEN, args);
}

int32_t tinyc_semihost_close(int32_t handle)
{
    const uint32_t args[1] = {(uint32_t)handle};
    return semihost_call(SYS_CLOSE, args);
}

int32_t tinyc_semihost_flen(int32_t handle)
{
    const uint32_t args[1] = {(uint32_t)handle};
    return semihost_call(SYS_FLEN, args);
}

int32_t tinyc_semihost_read(int32_t handle, void *buf, int32_t len)
{
    const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
    return semihost_call(SYS_READ, args);
}

int32_t tinyc_semihost_write(int32_t handle, const void *buf, int32_t len)
{
    const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
    return semihost_call(SYS_WRITE, args);
}

void tinyc_semihost_write0(const char *text)
{
    semihost_call(SYS_WRITE0, text);
}

int32_t tinyc_semihost_cmdline(char *buf, int32_t size)
{
    uint32_t args[2];
    args[0] = (uint32_t)(uintptr_t)buf;
    args[1] = (uint32_t)size;
    if (semihost_call(SYS_GET_CMDLINE, args) != 0) {
        return -1;
    }
    return (int32_t)args[1];
}

void tinyc_semihost_exit(int32_t code)
{
    const uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    for (;;) {
        semihost_call(SYS_EXIT_EXTENDED, args);
    }
}
