/*
 * heap_memory_layout.h — a chip's memory described for the heap: memory
 * types with their capabilities per priority, regions, reserved ranges.
 *
 * In ESP-IDF these tables are link-time globals of one chip. heapcaps can
 * boot several chips in one process, so the tables belong to the layout
 * installed with heapcaps_layout_install() (heapcaps/layout.h); the
 * functions below answer for that layout.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAP_MEMORY_LAYOUT_H
#define HEAP_MEMORY_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Capability words per memory type; index 0 is the highest priority. */
#define SOC_MEMORY_TYPE_NO_PRIOS 3

/** A kind of memory: its name in the startup log and caps per priority. */
typedef struct {
    const char *name;
    uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS];
} soc_memory_type_desc_t;

/** A region of memory of one type. */
typedef struct {
    intptr_t start;        /**< start address */
    size_t size;           /**< size in bytes */
    size_t type;           /**< index into the layout's memory types */
    intptr_t iram_address; /**< IRAM alias of start, 0 if none (informational) */
    bool startup_stack;    /**< holds the startup stack: a heap only from
                                heap_caps_enable_nonos_stack_heaps() on */
} soc_memory_region_t;

/** A range no heap may use; end is exclusive. */
typedef struct {
    intptr_t start;
    intptr_t end;
} soc_reserved_region_t;

/**
 * Fill `regions` (room for soc_get_available_memory_region_max_count()
 * entries) with the installed layout's regions minus its reserved ranges, in
 * table order, and return how many. Regions of 16 bytes or less are dropped.
 * Returns 0 when no layout is installed or the reserved ranges overlap (the
 * overlap is reported through the port's log).
 */
size_t soc_get_available_memory_regions(soc_memory_region_t *regions);

/** Upper bound of the number soc_get_available_memory_regions() returns. */
size_t soc_get_available_memory_region_max_count(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAP_MEMORY_LAYOUT_H */
