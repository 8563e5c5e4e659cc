/*
 * multi_heap_ops.h — the heap header and the fast paths of malloc and free,
 * inline, so that heap_caps compiles them into its own entry points as
 * multi_heap.c does into multi_heap_malloc/free (a call boundary costs as
 * much as the dispatch itself). Private to the library.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_MULTI_HEAP_OPS_H
#define HEAPCAPS_MULTI_HEAP_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "multi_heap.h"
#include "tlsf/tlsf_ops.h"

struct multi_heap_info {
    void *lock;
    size_t free_bytes;
    size_t minimum_free_bytes;
    size_t region_size;
};

_Static_assert(sizeof(struct multi_heap_info) % sizeof(size_t) == 0,
               "the core's control block follows the heap header, word aligned");

/* The operations that take a caller's pointer, for the corruption message. */
typedef enum { OP_FREE, OP_REALLOC, OP_GET_SIZE } pointer_op_t;

/* Out of line in multi_heap.c: the locked variants and the corruption stop. */
TLSF_COLD TLSF_INTERNAL void *heapcaps_mh_malloc_locked(multi_heap_handle_t heap, size_t size);
TLSF_COLD TLSF_INTERNAL void heapcaps_mh_free_locked(multi_heap_handle_t heap, void *p);
TLSF_COLD TLSF_INTERNAL _Noreturn void heapcaps_mh_corrupt_pointer(multi_heap_handle_t heap,
                                                                   const void *p, pointer_op_t op);

static inline tlsf_t *core_of(multi_heap_handle_t heap)
{
    return (tlsf_t *)(void *)(heap + 1);
}

/* Bytes of the heap an allocated block holds: its payload and its header. */
TLSF_HOT size_t held_by(const void *p)
{
    return tlsf_block_size(tlsf_block_from_payload(p)) + TLSF_WORD;
}

TLSF_HOT void note_taken(multi_heap_handle_t heap, size_t bytes)
{
    heap->free_bytes -= bytes;
    if (heap->free_bytes < heap->minimum_free_bytes) {
        heap->minimum_free_bytes = heap->free_bytes;
    }
}

TLSF_HOT void require_allocated(multi_heap_handle_t heap, const void *p, pointer_op_t op)
{
    if (TLSF_UNLIKELY(!tlsf_ops_is_allocated(core_of(heap), p))) {
        heapcaps_mh_corrupt_pointer(heap, p, op);
    }
}

TLSF_HOT void *malloc_unlocked(multi_heap_handle_t heap, size_t size)
{
    size_t block_size;
    void *p = tlsf_ops_malloc(core_of(heap), size, &block_size);
    if (p) {
        note_taken(heap, block_size + TLSF_WORD);
    }
    return p;
}

TLSF_HOT void free_unlocked(multi_heap_handle_t heap, void *p)
{
    require_allocated(heap, p, OP_FREE);
    heap->free_bytes += tlsf_ops_free(core_of(heap), p) + TLSF_WORD;
}

/* multi_heap_malloc() for a non-NULL heap; the lock path is out of line, so
 * a heap without a lock pays nothing for locking. */
TLSF_HOT void *heapcaps_mh_malloc(multi_heap_handle_t heap, size_t size)
{
    if (heap->lock) {
        return heapcaps_mh_malloc_locked(heap, size);
    }
    return malloc_unlocked(heap, size);
}

/* multi_heap_free() for a non-NULL heap and pointer. */
TLSF_HOT void heapcaps_mh_free(multi_heap_handle_t heap, void *p)
{
    if (heap->lock) {
        heapcaps_mh_free_locked(heap, p);
    } else {
        free_unlocked(heap, p);
    }
}

#endif /* HEAPCAPS_MULTI_HEAP_OPS_H */
