/*
 * heap_caps_private.h — what the chip emulator and the init code need from
 * the heap_caps registry beyond the public API (private to the library).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_HEAP_CAPS_PRIVATE_H
#define HEAPCAPS_HEAP_CAPS_PRIVATE_H

#include <stdbool.h>

/**
 * Forget every registered heap and every run-time setting (malloc policy,
 * failure callback, local-minimum monitoring, startup phase), as a reboot
 * does. The memory of the heaps is not touched; the caller unmaps it.
 */
void heapcaps_registry_reset(void);

/** True once heap_caps_enable_nonos_stack_heaps() has run (startup over). */
bool heapcaps_startup_done(void);

#endif /* HEAPCAPS_HEAP_CAPS_PRIVATE_H */
