/*
 * startup.c - vector table and reset handler for the Cortex-M4 of
 * qemu-system-arm -M mps2-an386.
 *
 * Reset_Handler enables the FPU (CPACR bits 20-23: full access to CP10 and
 * CP11) before anything else, since the first floating-point instruction
 * faults otherwise; then copies .data from Flash, zeroes .bss, calls main()
 * and reports main's return value as the exit code through semihosting.
 * Faults print a message and exit with code 3.
 */
#include <stdint.h>

#include "tinyc_semihost.h"
#include "tinyc_icount.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);
void Default_Handler(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst;
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    tinyc_semihost_exit(main());
}

void Fault_Handler(void)
{
    tinyc_semihost_write0("fault: hard fault or bus/usage/memory fault\n");
    tinyc_semihost_exit(3);
}

void Default_Handler(void)
{
    tinyc_semihost_write0("fault: unexpected interrupt\n");
    tinyc_semihost_exit(3);
}

typedef void (*vector_t)(void);

/* Core vectors: initial stack pointer, then the 15 system exceptions. */
__attribute__((section(".isr_vector"), used)) const vector_t tinyc_vector_table[16] = {
    (vector_t)(uintptr_t)&_estack,
    Reset_Handler,
    Default_Handler, /* NMI */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    tinyc_systick_handler,
};
