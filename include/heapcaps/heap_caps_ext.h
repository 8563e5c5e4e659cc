/*
 * heapcaps/heap_caps_ext.h — additions to esp_heap_caps.h that ESP-IDF does
 * not have.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_HEAP_CAPS_EXT_H
#define HEAPCAPS_HEAP_CAPS_EXT_H

#include <stdbool.h>
#include <stdint.h>

#include "heapcaps/multi_heap_ext.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS at run time (an emulated device
 * reads it from its sdkconfig): when on, a failed allocation calls the
 * failure callback and then aborts with "Mem alloc fail. size 0x%08x caps
 * 0x%08x". The build's CONFIG_ value is the default; a reboot of the
 * emulator restores it. Returns the previous setting.
 */
bool heapcaps_set_abort_on_alloc_failure(bool abort_on_failure);

/**
 * heap_caps_check_integrity() that says what is wrong (esp-idf#1316): checks
 * the heaps `caps` selects (as heap_caps_check_integrity() does, printing
 * nothing) and returns true if all are intact; else false with the first
 * damaged address and what is wrong there in *fault (if not NULL). Never
 * follows a damaged size or link out of a heap, never loops.
 */
bool heapcaps_check_integrity_fault(uint32_t caps, heapcaps_heap_fault_t *fault);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_HEAP_CAPS_EXT_H */
