/*
 * heapcaps/heap_caps_ext.h — additions to esp_heap_caps.h that ESP-IDF does
 * not have.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_HEAP_CAPS_EXT_H
#define HEAPCAPS_HEAP_CAPS_EXT_H

#include <stdbool.h>

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

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_HEAP_CAPS_EXT_H */
