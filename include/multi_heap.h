/*
 * multi_heap.h — one heap over one contiguous region of memory.
 *
 * The API, names and semantics are those of ESP-IDF's multi_heap. Each heap is
 * a bounded-time allocator (see src/tlsf/tlsf.h for the algorithm and its
 * bounds) plus free-byte accounting, a low-water mark and an optional lock.
 * Differences from ESP-IDF are listed in docs/differences.md.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MULTI_HEAP_H
#define MULTI_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapcaps/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque handle of a registered heap; equal to the start address given to
 *  multi_heap_register(). */
typedef struct multi_heap_info *multi_heap_handle_t;

/** Heap figures, filled by multi_heap_get_info(). */
typedef struct {
    size_t total_free_bytes;      /**< Same as multi_heap_free_size(). */
    size_t total_allocated_bytes; /**< Sum of the usable sizes of allocated blocks. */
    size_t largest_free_block;    /**< Largest size multi_heap_malloc() satisfies now. */
    size_t minimum_free_bytes;    /**< Lifetime low-water mark of total_free_bytes. */
    size_t allocated_blocks;      /**< Number of allocated blocks. */
    size_t free_blocks;           /**< Number of free blocks. */
    size_t total_blocks;          /**< allocated_blocks + free_blocks. */
} multi_heap_info_t;

/** Walker callback: block pointer, block size, 1 if in use; return false to stop. */
typedef bool (*multi_heap_walker_cb_t)(void *block_ptr, size_t block_size, int block_used,
                                       void *user_data);

/**
 * Register a heap in [start, start + size).
 * @return the handle (== start), or NULL when start is NULL, not aligned to the
 *         machine word, or the region is too small for the control block and
 *         one minimum block (heapcaps_multi_heap_min_region_size()).
 * O(log size) for the control-block set-up.
 */
multi_heap_handle_t multi_heap_register(void *start, size_t size);

/**
 * Set the lock used by every operation on this heap; NULL disables locking.
 * The pointer is handed to the port's lock functions (on the host a
 * heapcaps_lock_t initialised with heapcaps_lock_init(); the lock must be
 * recursive).
 */
void multi_heap_set_lock(multi_heap_handle_t heap, void *lock);

/**
 * Allocate size bytes, aligned to the machine word.
 * @return NULL if heap is NULL, size is 0, or no free block can hold size bytes.
 * Constant time (bound stated in src/tlsf/tlsf.h).
 */
void *multi_heap_malloc(multi_heap_handle_t heap, size_t size);

/** multi_heap_aligned_alloc_offs(heap, size, alignment, 0). */
void *multi_heap_aligned_alloc(multi_heap_handle_t heap, size_t size, size_t alignment);

/**
 * Allocate size bytes at p such that p + offset is a multiple of alignment.
 * offset is rounded up to a multiple of the machine word.
 * @return NULL if heap is NULL, size is 0, alignment is 0 or not a power of
 *         two, or no block is large enough. Constant time.
 */
void *multi_heap_aligned_alloc_offs(multi_heap_handle_t heap, size_t size, size_t alignment,
                                    size_t offset);

/**
 * Free a block of this heap. NULL p (or NULL heap) is a no-op. A pointer that
 * is not a block of this heap, or a block that is already free, is reported
 * ("CORRUPT HEAP: ...") and the program aborts through the port.
 * Constant time; the block is merged with free neighbours at once.
 */
void multi_heap_free(multi_heap_handle_t heap, void *p);

/** Deprecated alias of multi_heap_free(). */
void multi_heap_aligned_free(multi_heap_handle_t heap, void *p);

/**
 * Resize a block: shrink in place, grow in place into a free successor, else
 * allocate, copy and free. p == NULL allocates; size == 0 frees p and returns
 * NULL. On failure returns NULL and p is untouched.
 */
void *multi_heap_realloc(multi_heap_handle_t heap, void *p, size_t size);

/** Usable size of the allocated block p (>= the requested size); 0 for NULL. */
size_t multi_heap_get_allocated_size(multi_heap_handle_t heap, void *p);

/** Size of the block holding p including any debugging overhead; 0 for NULL. */
size_t multi_heap_get_full_block_size(multi_heap_handle_t heap, void *p);

/**
 * Print the heap's blocks through the port's error output:
 * "Showing data for heap: %p \n" then "Block %p data, size: %d bytes, Free: %s \n".
 */
void multi_heap_dump(multi_heap_handle_t heap);

/**
 * Check the heap's structure (every block, every free list, the bitmaps).
 * Never follows a pointer out of the heap, never loops. print_errors prints
 * the first problem found. @return true when the heap is intact.
 */
bool multi_heap_check(multi_heap_handle_t heap, bool print_errors);

/** Free bytes in the heap (0 for NULL). Not the largest allocatable block. */
size_t multi_heap_free_size(multi_heap_handle_t heap);

/** Lifetime low-water mark of the free bytes (0 for NULL). */
size_t multi_heap_minimum_free_size(multi_heap_handle_t heap);

/** Fill *info (zeroed first; left zero for a NULL heap). O(number of blocks). */
void multi_heap_get_info(multi_heap_handle_t heap, multi_heap_info_t *info);

/** Set the low-water mark to the current free bytes; return the previous mark. */
size_t multi_heap_reset_minimum_free_bytes(multi_heap_handle_t heap);

/** Lower the low-water mark to new_minimum_free_bytes_value if that is smaller. */
void multi_heap_restore_minimum_free_bytes(multi_heap_handle_t heap,
                                           const size_t new_minimum_free_bytes_value);

/** Call walker_func for every block in address order until it returns false. */
void multi_heap_walk(multi_heap_handle_t heap, multi_heap_walker_cb_t walker_func, void *user_data);

/**
 * Start of the allocated block whose usable bytes contain ptr, or NULL when
 * ptr is in no allocated block. O(number of blocks).
 */
void *multi_heap_find_containing_block(multi_heap_handle_t heap, void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* MULTI_HEAP_H */
