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

#include "heapcaps/config.h"
#include "heapcaps/multi_heap_ext.h"
#include "port/port.h"

/* Light and Comprehensive corruption detection: the poisoning layer
 * (multi_heap_poisoning.c) provides the public functions and calls the
 * *_impl ones of multi_heap.c. */
#if defined(CONFIG_HEAP_POISONING_LIGHT) || defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
#define MULTI_HEAP_POISONING 1
#define MH_PUBLIC(name)      name##_impl
#else
#define MH_PUBLIC(name) name
#endif
#ifdef CONFIG_HEAP_POISONING_COMPREHENSIVE
#define MULTI_HEAP_POISONING_SLOW 1
#endif

/* Bytes between a block's payload (what multi_heap_walk() reports) and the
 * pointer multi_heap_malloc() returns: the poisoning head, if any. */
#ifdef MULTI_HEAP_POISONING
#define MULTI_HEAP_POISON_HEAD ((size_t)8)
#else
#define MULTI_HEAP_POISON_HEAD ((size_t)0)
#endif

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

static inline void mh_lock(multi_heap_handle_t heap)
{
    if (heap->lock) {
        heapcaps_port_lock(heap->lock);
    }
}

static inline void mh_unlock(multi_heap_handle_t heap)
{
    if (heap->lock) {
        heapcaps_port_unlock(heap->lock);
    }
}

#ifdef MULTI_HEAP_POISONING
/* multi_heap.c's functions under the poisoning layer. */
multi_heap_handle_t multi_heap_register_impl(void *start, size_t size);
void *multi_heap_malloc_impl(multi_heap_handle_t heap, size_t size);
void *multi_heap_aligned_alloc_offs_impl(multi_heap_handle_t heap, size_t size, size_t alignment,
                                         size_t offset);
void multi_heap_free_impl(multi_heap_handle_t heap, void *p);
void *multi_heap_realloc_impl(multi_heap_handle_t heap, void *p, size_t size);
size_t multi_heap_get_allocated_size_impl(multi_heap_handle_t heap, void *p);
size_t multi_heap_get_full_block_size_impl(multi_heap_handle_t heap, void *p);
size_t multi_heap_free_size_impl(multi_heap_handle_t heap);
size_t multi_heap_minimum_free_size_impl(multi_heap_handle_t heap);
size_t heapcaps_multi_heap_largest_free_block_impl(multi_heap_handle_t heap);
void multi_heap_get_info_impl(multi_heap_handle_t heap, multi_heap_info_t *info);
void *multi_heap_find_containing_block_impl(multi_heap_handle_t heap, void *ptr);

/* The check of one block's canaries (allocated) or fill (free, Comprehensive)
 * during multi_heap_check(); prints what is wrong when print_errors. */
bool heapcaps_poison_check_block(void *payload, size_t size, bool used, bool print_errors,
                                 heapcaps_heap_fault_t *fault);
/* True if the fault is poisoning damage (already printed by the check). */
bool heapcaps_poison_fault_printed(const heapcaps_heap_fault_t *fault);
#else
static inline bool heapcaps_poison_fault_printed(const heapcaps_heap_fault_t *fault)
{
    (void)fault;
    return false;
}
#endif

static inline tlsf_t *core_of(multi_heap_handle_t heap)
{
    return (tlsf_t *)(void *)(heap + 1);
}

/* Bytes of the heap an allocated block holds: its payload and its header. */
TLSF_HOT size_t held_by(const void *p)
{
    return tlsf_block_size(tlsf_block_from_payload(p)) + TLSF_WORD;
}

/* The free counters are written under the heap's lock but read without it
 * (multi_heap_free_size, heap_caps_get_free_size): relaxed atomic loads and
 * stores, plain loads and stores on every core, keep those reads race-free
 * without a read-modify-write (writers are serialised by the lock). */
static inline size_t counter_read(const size_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static inline void counter_write(size_t *counter, size_t value)
{
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

TLSF_HOT void note_taken(multi_heap_handle_t heap, size_t bytes)
{
    size_t free_now = heap->free_bytes - bytes;
    counter_write(&heap->free_bytes, free_now);
    if (free_now < heap->minimum_free_bytes) {
        counter_write(&heap->minimum_free_bytes, free_now);
    }
}

/* The heap holds `bytes` more free bytes (under its lock). */
static inline void note_given_back(multi_heap_handle_t heap, size_t bytes)
{
    counter_write(&heap->free_bytes, heap->free_bytes + bytes);
}

/* The core's operations on a heap's pool: inline, so that malloc and free
 * are one function each; an -Os build calls the core's public functions
 * instead, so that a program holds one copy of the core's operations. */
#if defined(__OPTIMIZE_SIZE__)
static inline void *core_malloc(tlsf_t *core, size_t size, size_t *block_size)
{
    void *p = tlsf_malloc(core, size);
    if (p) {
        *block_size = tlsf_block_size(tlsf_block_from_payload(p));
    }
    return p;
}

static inline size_t core_free(tlsf_t *core, void *p)
{
    size_t freed = tlsf_block_size(tlsf_block_from_payload(p));
    tlsf_free(core, p);
    return freed;
}

#define core_realloc tlsf_realloc
#else
#define core_malloc  tlsf_ops_malloc
#define core_free    tlsf_ops_free
#define core_realloc tlsf_ops_realloc
#endif

TLSF_HOT void require_allocated(multi_heap_handle_t heap, const void *p, pointer_op_t op)
{
    if (TLSF_UNLIKELY(!tlsf_ops_is_allocated(core_of(heap), p))) {
        heapcaps_mh_corrupt_pointer(heap, p, op);
    }
}

TLSF_HOT void *malloc_unlocked(multi_heap_handle_t heap, size_t size)
{
    size_t block_size;
    void *p = core_malloc(core_of(heap), size, &block_size);
    if (p) {
        note_taken(heap, block_size + TLSF_WORD);
    }
    return p;
}

/* Free block p, known to be an allocated block of the heap. */
TLSF_HOT void free_block_unlocked(multi_heap_handle_t heap, void *p)
{
    note_given_back(heap, core_free(core_of(heap), p) + TLSF_WORD);
}

TLSF_HOT void free_unlocked(multi_heap_handle_t heap, void *p)
{
    require_allocated(heap, p, OP_FREE);
    free_block_unlocked(heap, p);
}

/* Resize block p, known to be an allocated block of the heap (size > 0). */
static inline void *realloc_block_unlocked(multi_heap_handle_t heap, void *p, size_t size)
{
    size_t before = held_by(p);
    void *result = core_realloc(core_of(heap), p, size);
    if (result) {
        /* Moved or not, the heap now holds the new block instead of the old. */
        note_given_back(heap, before);
        note_taken(heap, held_by(result));
    }
    return result;
}

/* multi_heap_malloc() for a non-NULL heap, without poisoning; the lock path
 * is out of line, so a heap without a lock pays nothing for locking. */
TLSF_HOT void *mh_malloc_fast(multi_heap_handle_t heap, size_t size)
{
    if (heap->lock) {
        return heapcaps_mh_malloc_locked(heap, size);
    }
    return malloc_unlocked(heap, size);
}

/* multi_heap_free() for a non-NULL heap and pointer, without poisoning. */
TLSF_HOT void mh_free_fast(multi_heap_handle_t heap, void *p)
{
    if (heap->lock) {
        heapcaps_mh_free_locked(heap, p);
    } else {
        free_unlocked(heap, p);
    }
}

/* What heap_caps calls: the fast paths inline, or, with poisoning, the
 * poisoning layer's public functions; an -Os build calls the public
 * functions too, rather than keep a second copy of them in heap_caps. */
#if defined(MULTI_HEAP_POISONING) || defined(__OPTIMIZE_SIZE__)
static inline void *heapcaps_mh_malloc(multi_heap_handle_t heap, size_t size)
{
    return multi_heap_malloc(heap, size);
}

static inline void heapcaps_mh_free(multi_heap_handle_t heap, void *p)
{
    multi_heap_free(heap, p);
}
#else
TLSF_HOT void *heapcaps_mh_malloc(multi_heap_handle_t heap, size_t size)
{
    return mh_malloc_fast(heap, size);
}

TLSF_HOT void heapcaps_mh_free(multi_heap_handle_t heap, void *p)
{
    mh_free_fast(heap, p);
}
#endif

#endif /* HEAPCAPS_MULTI_HEAP_OPS_H */
