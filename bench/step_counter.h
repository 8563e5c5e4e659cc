/* step_counter.h — count the user-mode instructions of one call by single-stepping it (x86 TF).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A SIGTRAP handler counts traps while EFLAGS.TF is set around exactly one call. Each
 * stepped_* function returns the number of traps, which includes a fixed overhead (the
 * call through the pointer, the instructions that clear TF); the caller subtracts the count
 * of the same stepped_* function around an empty adapter. About 1 trap per instruction and
 * several microseconds per trap: use on bounded numbers of calls.
 */
#ifndef BENCH_STEP_COUNTER_H
#define BENCH_STEP_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#include "adapters.h"

/** True when this build can single-step (i386 or x86-64). */
bool step_supported(void);

/** Install the SIGTRAP handler. Exits with a message when unsupported. */
void step_init(void);

uint64_t stepped_malloc(malloc_fn_t fn, size_t size, void **result);
uint64_t stepped_free(free_fn_t fn, void *ptr);
uint64_t stepped_realloc(realloc_fn_t fn, void *ptr, size_t size, void **result);

#endif /* BENCH_STEP_COUNTER_H */
