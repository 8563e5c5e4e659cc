/*
 * atomic_fallback.c — the two read-modify-write atomics the library uses
 * (exchange and compare-exchange of a 32-bit word), for cores that have no
 * atomic instructions: rv32imc (no A extension) and Xtensa lx106. There the
 * compiler turns C11 atomics into calls to __atomic_exchange_4 and
 * __atomic_compare_exchange_4, which a platform runtime (an RTOS, a vendor
 * SDK) usually provides; these definitions are weak, so such a runtime's own
 * win. Each runs inside the port's critical section (the lock hooks, on a
 * lock object of its own): on a single core, interrupts off.
 *
 * Cores with atomic instructions (Cortex-M3 and up, rv32 with A) never call
 * them, so the linker leaves them out.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdint.h>

#include "port/port.h"

static int atomic_lock; /* its address tells the lock hooks who asks */

/* The runtime names, given through asm labels: GCC reserves the names for
 * its built-ins and would reject C definitions of them. */
uint32_t heapcaps_atomic_exchange_4(volatile void *object, uint32_t desired,
                                    int order) __asm__("__atomic_exchange_4") __attribute__((weak));
bool heapcaps_atomic_compare_exchange_4(volatile void *object, void *expected, uint32_t desired,
                                        bool weak, int success_order,
                                        int failure_order) __asm__("__atomic_compare_exchange_4")
    __attribute__((weak));

uint32_t heapcaps_atomic_exchange_4(volatile void *object, uint32_t desired, int order)
{
    (void)order; /* the critical section orders everything */
    volatile uint32_t *word = object;
    heapcaps_port_lock(&atomic_lock);
    uint32_t old = *word;
    *word = desired;
    heapcaps_port_unlock(&atomic_lock);
    return old;
}

bool heapcaps_atomic_compare_exchange_4(volatile void *object, void *expected, uint32_t desired,
                                        bool weak, int success_order, int failure_order)
{
    (void)weak, (void)success_order, (void)failure_order;
    volatile uint32_t *word = object;
    uint32_t *hoped = expected;
    heapcaps_port_lock(&atomic_lock);
    uint32_t old = *word;
    bool swapped = old == *hoped;
    if (swapped) {
        *word = desired;
    } else {
        *hoped = old;
    }
    heapcaps_port_unlock(&atomic_lock);
    return swapped;
}
