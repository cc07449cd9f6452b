/*
 * tinyc_semihost.h - Arm semihosting (bkpt 0xab) for programs under
 * qemu-system-arm -semihosting-config enable=on,target=native.
 * File paths are relative to QEMU's working directory; console output goes
 * to QEMU's stderr under -nographic.
 */
#ifndef TINYC_SEMIHOST_H
#define TINYC_SEMIHOST_H

#include <stdint.h>

/** Open path for reading ("rb") or writing ("wb"); returns a handle or -1. */
int32_t tinyc_semihost_open(const char *path, int for_writing);
/** Close a handle; 0 on success. */
int32_t tinyc_semihost_close(int32_t handle);
/** Length in bytes of an open file, or -1. */
int32_t tinyc_semihost_flen(int32_t handle);
/** Read len bytes; returns the number of bytes NOT read (0 = all read). */
int32_t tinyc_semihost_read(int32_t handle, void *buf, int32_t len);
/** Write len bytes; returns the number of bytes NOT written (0 = all written). */
int32_t tinyc_semihost_write(int32_t handle, const void *buf, int32_t len);
/** Print a NUL-terminated string on the host console. */
void tinyc_semihost_write0(const char *text);
/** Copy the command line (QEMU: -semihosting-config arg=..., or the kernel
 *  name and -append) into buf; returns its length or -1. */
int32_t tinyc_semihost_cmdline(char *buf, int32_t size);
/** Stop the program with an exit code (SYS_EXIT_EXTENDED). */
void tinyc_semihost_exit(int32_t code) __attribute__((noreturn));

#endif /* TINYC_SEMIHOST_H */
