/*
 * heapcaps/multi_heap_ext.h — additions to multi_heap.h that ESP-IDF does not
 * have.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_MULTI_HEAP_EXT_H
#define HEAPCAPS_MULTI_HEAP_EXT_H

#include <stdbool.h>
#include <stddef.h>

#include "multi_heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The first problem found by heapcaps_multi_heap_check_fault(). */
typedef struct {
    const void *address; /**< address of the damaged word (header, link, counter) */
    const char *problem; /**< what is wrong there, in words */
} heapcaps_heap_fault_t;

/** Smallest region size multi_heap_register() accepts. */
size_t heapcaps_multi_heap_min_region_size(void);

/**
 * Bytes of the region that never become free: heap header, allocator control
 * block and end-of-heap marker. For a fresh heap,
 * multi_heap_free_size() == region size - this.
 */
size_t heapcaps_multi_heap_overhead(multi_heap_handle_t heap);

/**
 * multi_heap_get_info()'s largest_free_block alone, in constant time (no walk
 * of the heap's blocks): the largest request multi_heap_malloc() serves now.
 * NULL heap: 0.
 */
size_t heapcaps_multi_heap_largest_free_block(multi_heap_handle_t heap);

/**
 * multi_heap_check() that says what is wrong: returns true if the heap is
 * intact, else false with the first fault in *fault (if not NULL). Never
 * follows a damaged pointer out of the heap, never loops. NULL heap: false.
 */
bool heapcaps_multi_heap_check_fault(multi_heap_handle_t heap, heapcaps_heap_fault_t *fault);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_MULTI_HEAP_EXT_H */
