/*
 * start.S — reset and exception vectors of the test programs on QEMU's
 * xtensa "sim" machine (lx106). Reset sets the stack pointer and enters
 * target_xtensa_start (sim_io.c); every exception ends the program with
 * exit status 134 through the simulator's SYS_exit call, so that a fault
 * fails its test instead of hanging it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
    .section .ResetVector.text, "ax"
    .global _ResetVector
_ResetVector:
    j       1f
    .align  4
2:  .word   target_xtensa_start
3:  .word   __stack
1:  l32r    a1, 3b
    l32r    a0, 2b
    jx      a0

/* lx106 vector offsets from VECBASE: debug 0x10, NMI 0x20, kernel 0x30,
 * user 0x50, double exception 0x70. */
    .section .ExceptionVectors.text, "ax"
    .global _ExceptionVectors
_ExceptionVectors:
    j       fault_exit
    .org    0x10
    j       fault_exit
    .org    0x20
    j       fault_exit
    .org    0x30
    j       fault_exit
    .org    0x50
    j       fault_exit
    .org    0x70
    j       fault_exit
    .org    0x80
fault_exit:
    movi    a2, 1           /* SYS_exit */
    movi    a3, 134
    simcall
    j       fault_exit
