/*
 * tinyc_icount.h - executed-instruction counting with SysTick under
 * qemu-system-arm -icount shift=0.
 *
 * With -icount shift=0 every guest instruction takes 1 ns of virtual time and
 * SysTick runs from the board's system clock: 25 MHz on mps2-an386 (one tick
 * = 40 instructions), 20 MHz on mps2-an505, 32 MHz on mps3-an547 (measured
 * with tests/icount_check.c).  Define TINYC_SYSTICK_HZ for another board.
 * SysTick is set to its largest reload (2^24 - 1) and its interrupt counts
 * wraps, giving a 64-bit tick count.  The figure is the same run after run
 * and proportional to the work done; it is what tinyc reports as "M4
 * instructions" (QEMU models no cycle timing).
 */
#ifndef TINYC_ICOUNT_H
#define TINYC_ICOUNT_H

#include <stdint.h>

/** SysTick clock of the board (mps2-an386: 25 MHz). */
#ifndef TINYC_SYSTICK_HZ
#define TINYC_SYSTICK_HZ 25000000u
#endif

/** Start SysTick (max reload, processor clock, wrap interrupt on). */
void tinyc_icount_start(void);
/** SysTick ticks since tinyc_icount_start(). */
uint64_t tinyc_icount_ticks(void);
/** Executed instructions in a number of ticks (1 ns per instruction). */
uint64_t tinyc_icount_instructions(uint64_t ticks);
/** The SysTick exception handler (in the vector table). */
void tinyc_systick_handler(void);

#endif /* TINYC_ICOUNT_H */
