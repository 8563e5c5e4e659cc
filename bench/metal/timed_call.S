/* timed_call.S — the measured call of the Cortex-M4 benchmark, and functions of known length.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Written in assembler so that the instructions around a measured call are fixed and known:
 * the same sequence times an allocator adapter and its empty twin, and the trace cross-check
 * of bench/metal.sh --validate finds the two timer reads by their labels.
 *
 * QEMU runs with -icount shift=7: the virtual clock advances 128 ns per instruction, and the
 * CMSDK timer at 0x40000000 counts down at 25 MHz from that clock, so the ticks between the
 * two reads give the instructions between them exactly (metal_main.c converts).
 */
    .syntax unified
    .thumb

    .equ TIMER0_VALUE, 0x40000004

/* uint32_t metal_timed_call(void *fn, uintptr_t a0, uintptr_t a1, uintptr_t *result)
 * Calls fn(a0, a1) (a one-argument fn ignores a1), stores its r0 in *result and returns
 * the timer ticks between the read before the call and the read after it. The timer is set
 * back to its top value first, so a measurement never sees it wrap. */
    .text
    .global metal_timed_call
    .global metal_timer_start
    .global metal_timer_end
    .type metal_timed_call, %function
    .thumb_func
metal_timed_call:
    push    {r3, r4, r5, r6, r7, lr}
    mov     r4, r0
    mov     r6, r3
    movw    r5, #:lower16:TIMER0_VALUE
    movt    r5, #:upper16:TIMER0_VALUE
    mov     r0, r1
    mov     r1, r2
    mov     r7, #-1
    str     r7, [r5]
metal_timer_start:
    ldr     r7, [r5]
    blx     r4
metal_timer_end:
    ldr     r2, [r5]
    str     r0, [r6]
    subs    r0, r7, r2
    pop     {r3, r4, r5, r6, r7, pc}
    .size metal_timed_call, . - metal_timed_call

/* metal_known_<n>: exactly n instructions (n - 1 NOPs, then the return). The self-test times
 * each through metal_timed_call and expects the empty function's count plus n - 1. */
    .macro known_length n
    .global metal_known_\n
    .type metal_known_\n, %function
    .thumb_func
metal_known_\n:
    .rept \n - 1
    nop
    .endr
    bx      lr
    .size metal_known_\n, . - metal_known_\n
    .endm

    known_length 1
    known_length 2
    known_length 3
    known_length 7
    known_length 50
    known_length 149
    known_length 150
    known_length 151
    known_length 1000
    known_length 4097

    .section .note.GNU-stack, "", %progbits
