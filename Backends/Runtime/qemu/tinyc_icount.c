/*
 * tinyc_icount.c - SysTick tick counter (see tinyc_icount.h).
 *
 * After the first reload, at tick t the counter holds R - (t mod (R+1)) with
 * R = RELOAD, and it reaches 0 (pending the interrupt, counted in `zeros`)
 * at t = k(R+1) + R.  Reading the counter value v and the number z of times
 * it reached 0 (taken interrupts plus a pending one) gives
 *     t = z(R+1) + (R - v)        when v != 0
 *     t = (z-1)(R+1) + R          when v == 0.
 */
#include "tinyc_icount.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define RELOAD 0x00FFFFFFu

static volatile uint32_t zeros;

void tinyc_systick_handler(void)
{
    zeros++;
}

void tinyc_icount_start(void)
{
    SYST_CSR = 0;
    zeros = 0;
    SYST_RVR = RELOAD;
    SYST_CVR = 0;    /* clears the counter; the next tick reloads it */
    SYST_CSR = 0x7u; /* ENABLE | TICKINT | CLKSOURCE (processor clock) */
    while (SYST_CVR == 0) {
    }
}

uint64_t tinyc_icount_ticks(void)
{
    uint32_t p1, p2, v, z;
    __asm__ volatile("cpsid i" ::: "memory");
    do {
        p1 = SCB_ICSR & ICSR_PENDSTSET;
        v = SYST_CVR;
        p2 = SCB_ICSR & ICSR_PENDSTSET;
    } while (p1 != p2);
    z = zeros + (p1 ? 1u : 0u);
    __asm__ volatile("cpsie i" ::: "memory");
    if (v == 0) {
        return (uint64_t)(z - 1u) * (RELOAD + 1u) + RELOAD;
    }
    return (uint64_t)z * (RELOAD + 1u) + (RELOAD - v);
}

uint64_t tinyc_icount_instructions(uint64_t ticks)
{
    return ticks * 1000000000u / TINYC_SYSTICK_HZ;
}
