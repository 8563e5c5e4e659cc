/*
 * esp_heap_caps_init.h — building the heaps from the installed memory layout
 * (heapcaps/layout.h) and adding regions at run time.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP_HEAP_CAPS_INIT_H
#define ESP_HEAP_CAPS_INIT_H

#include <stdint.h>

#include "esp_err.h"
#include "esp_heap_caps.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Register a heap for every available region of the installed layout
 * (adjacent regions of one type merged), except startup-stack regions, and
 * log "heap_init: At %08X len %08X (%d KiB): %s" per region. Call once;
 * heapcaps_emu_boot() does it for an emulated chip.
 */
void heap_caps_init(void);

/** Register the startup-stack regions and end the startup phase. */
void heap_caps_enable_nonos_stack_heaps(void);

/**
 * Add [start, end) as a heap with the caps of the layout region containing
 * start. ESP_ERR_INVALID_ARG for start 0, ESP_ERR_NOT_FOUND when no layout
 * region contains start; otherwise as heap_caps_add_region_with_caps().
 */
esp_err_t heap_caps_add_region(intptr_t start, intptr_t end);

/**
 * Add [start, end) as a heap with the three priority caps words `caps`.
 * ESP_ERR_INVALID_ARG: caps NULL, start or end 0, end <= start.
 * ESP_FAIL: the range straddles the start or end of a registered heap, or
 * equals one. ESP_ERR_NO_MEM: no internal memory for the descriptor.
 * ESP_ERR_INVALID_SIZE: too small for a heap. The new heap is searched before
 * every startup heap.
 */
esp_err_t heap_caps_add_region_with_caps(const uint32_t caps[], intptr_t start, intptr_t end);

/** The range check of heap_caps_add_region_with_caps(): false when [start, end)
 *  straddles an end of [heap_start, heap_end) or equals it. */
bool heap_caps_check_add_region_allowed(intptr_t heap_start, intptr_t heap_end, intptr_t start,
                                        intptr_t end);

#ifdef __cplusplus
}
#endif

#endif /* ESP_HEAP_CAPS_INIT_H */
