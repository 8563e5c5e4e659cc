/* step_counter.c — x86 trap-flag single-stepping of one call at a time, counted by SIGTRAP.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* REG_RIP and friends in ucontext_t */

#include "step_counter.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

/* Written by the handler; read and reset between stepped regions. The kernel clears TF while
 * the handler runs and sigreturn restores it, so only the code between the two asm blocks is
 * counted, one trap per instruction. */
static volatile uint64_t s_traps;

/* Where the previous trap stopped: the instruction that the next trap will have executed. */
static volatile uintptr_t s_prev_ip, s_prev_count;
static volatile int s_prev_valid;

/* True when code points at an unconditional REP string instruction (MOVS, STOS, LODS). */
static bool is_rep_string(const unsigned char *code)
{
    bool rep = false;
    for (int i = 0; i < 15; i++, code++) {
        switch (*code) {
        case 0xf3:
        case 0xf2:
            rep = true;
            continue;
        case 0x66:
        case 0x67:
        case 0x2e:
        case 0x36:
        case 0x3e:
        case 0x26:
        case 0x64:
        case 0x65:
            continue;
        default:
            break;
        }
#if defined(__x86_64__)
        if ((*code & 0xf0) == 0x40) { /* REX comes last, right before the opcode */
            code++;
        }
#endif
        return rep && (*code == 0xa4 || *code == 0xa5 || *code == 0xaa || *code == 0xab ||
                       *code == 0xac || *code == 0xad);
    }
    return false;
}

/* A REP string instruction with n > 0 iterations traps n times (once per iteration); callgrind
 * counts it as n + 1 instructions (with n = 0: 1 and 1). To report the same figures as
 * callgrind, one trap is added when such an instruction completes after iterating. */
static void on_trap(int signo, siginfo_t *info, void *context)
{
    (void)signo;
    (void)info;
#if defined(__x86_64__) || defined(__i386__)
    const ucontext_t *uc = context;
#if defined(__x86_64__)
    uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t count = (uintptr_t)uc->uc_mcontext.gregs[REG_RCX];
#else
    uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_EIP];
    uintptr_t count = (uintptr_t)uc->uc_mcontext.gregs[REG_ECX];
#endif
    if (s_prev_valid && ip != s_prev_ip && s_prev_count != 0 &&
        is_rep_string((const unsigned char *)s_prev_ip)) {
        s_traps++;
    }
    s_prev_ip = ip;
    s_prev_count = count;
    s_prev_valid = 1;
#else
    (void)context;
#endif
    s_traps++;
}

#if defined(__x86_64__)
/* Step over the 128-byte red zone first: pushfq would otherwise overwrite it. lea leaves
 * the flags alone. */
#define TRAP_FLAG_ON()                                                                             \
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\torl $0x100, (%%rsp)\n\tpopfq\n\t"        \
                     "lea 128(%%rsp), %%rsp" ::                                                    \
                         : "memory", "cc")
#define TRAP_FLAG_OFF()                                                                            \
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\tandl $~0x100, (%%rsp)\n\tpopfq\n\t"      \
                     "lea 128(%%rsp), %%rsp" ::                                                    \
                         : "memory", "cc")
#define STEP_SUPPORTED 1
#elif defined(__i386__)
#define TRAP_FLAG_ON() __asm__ volatile("pushfl\n\torl $0x100, (%%esp)\n\tpopfl" ::: "memory", "cc")
#define TRAP_FLAG_OFF()                                                                            \
    __asm__ volatile("pushfl\n\tandl $~0x100, (%%esp)\n\tpopfl" ::: "memory", "cc")
#define STEP_SUPPORTED 1
#else
#define TRAP_FLAG_ON()  ((void)0)
#define TRAP_FLAG_OFF() ((void)0)
#define STEP_SUPPORTED  0
#endif

bool step_supported(void)
{
    return STEP_SUPPORTED != 0;
}

void step_init(void)
{
    if (!step_supported()) {
        fprintf(stderr, "heapcaps_bench: --step needs an x86 (i386 or x86-64) build\n");
        exit(2);
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_trap;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTRAP, &action, NULL) != 0) {
        perror("heapcaps_bench: sigaction(SIGTRAP)");
        exit(2);
    }
}

/* One function per signature, used both for the measured adapters and for the empty ones,
 * so the instructions around the call are identical and cancel out in the subtraction. */

__attribute__((noinline)) uint64_t stepped_malloc(malloc_fn_t fn, size_t size, void **result)
{
    uint64_t before = s_traps;
    s_prev_valid = 0;
    TRAP_FLAG_ON();
    void *ptr = fn(size);
    TRAP_FLAG_OFF();
    *result = ptr;
    return s_traps - before;
}

__attribute__((noinline)) uint64_t stepped_free(free_fn_t fn, void *ptr)
{
    uint64_t before = s_traps;
    s_prev_valid = 0;
    TRAP_FLAG_ON();
    fn(ptr);
    TRAP_FLAG_OFF();
    return s_traps - before;
}

__attribute__((noinline)) uint64_t stepped_realloc(realloc_fn_t fn, void *ptr, size_t size,
                                                   void **result)
{
    uint64_t before = s_traps;
    s_prev_valid = 0;
    TRAP_FLAG_ON();
    void *new_ptr = fn(ptr, size);
    TRAP_FLAG_OFF();
    *result = new_ptr;
    return s_traps - before;
}
