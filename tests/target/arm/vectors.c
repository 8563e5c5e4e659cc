/*
 * vectors.c — the vector table of the test programs on QEMU's Cortex-M
 * boards. Reset turns the FPU on (hard-float builds) and enters the C
 * library's start-up code; every fault ends the program with exit status
 * 134 through semihosting, so that a fault fails its test instead of
 * hanging it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <unistd.h>

extern char __StackTop[];
extern void _start(void);

void Reset_Handler(void);
void Fault_Handler(void);

void Fault_Handler(void)
{
    static const char message[] = "target: processor fault\n";
    write(2, message, sizeof message - 1);
    _exit(134);
}

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    *(volatile unsigned *)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10 and CP11 full access */
    __asm volatile("dsb\n\tisb");
#endif
    _start();
}

/* Stack, reset, then NMI, HardFault, MemManage, BusFault, UsageFault, four
 * reserved words, SVCall, DebugMonitor, reserved, PendSV, SysTick. */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__StackTop,
    Reset_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    0,
    0,
    0,
    0,
    Fault_Handler,
    Fault_Handler,
    0,
    Fault_Handler,
    Fault_Handler,
};
