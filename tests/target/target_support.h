/*
 * target_support.h — what the test suites need from the board when they run
 * on an emulated MCU (bare-metal port, QEMU): the library's output and its
 * aborts go through the port's hooks, which this support installs before
 * main. On the host the same services come from fork and file descriptors
 * (test_guard.h chooses).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TEST_TARGET_SUPPORT_H
#define HEAPCAPS_TEST_TARGET_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

/* Run fn(context) with the library's output captured into out (room bytes,
 * NUL-terminated). True when fn returned; false when the library aborted
 * (the port's abort hook returns here instead of stopping the program). */
bool target_run_catching_abort(void (*fn)(void *), void *context, char *out, size_t room);

/* Let count more allocations of the library's own tables succeed, then
 * refuse them; a negative count lifts the limit. */
void target_fail_meta_alloc_after(long count);

#endif /* HEAPCAPS_TEST_TARGET_SUPPORT_H */
