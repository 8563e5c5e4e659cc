/*
 * tlsf_ops.h — the allocator core's constant-time operations (malloc, free,
 * realloc, memalign), as inline functions.
 *
 * They live in a header so that the layer above (multi_heap.c) compiles them
 * into its own entry points: on a 32-bit core a call boundary in the middle
 * of malloc costs as much as a third of the work. tlsf.c instantiates them
 * once more as the out-of-line tlsf_malloc() & co. for other users. The
 * algorithm and its bounds are described in tlsf.h; the block format in
 * tlsf_block.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TLSF_OPS_H
#define HEAPCAPS_TLSF_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tlsf.h"
#include "tlsf_block.h"
#include "mem_ops.h"

/* Size classes: 16 per power of two above SMALL, one per word below it. */
#define TLSF_SL_LOG2  4u
#define TLSF_SL_COUNT (1u << TLSF_SL_LOG2)
#define TLSF_SMALL    ((size_t)1 << (TLSF_SL_LOG2 + TLSF_WORD_LOG2))
/* A block split off another must hold a header and a minimum payload. */
#define TLSF_SPLIT_MIN (TLSF_WORD + TLSF_MIN_PAYLOAD)

/* An entry point whose fast path must stay one function: gcc would
 * otherwise split off its body behind a call (-fpartial-inlining). */
#if defined(__GNUC__) && !defined(__clang__)
#define TLSF_ENTRY __attribute__((optimize("no-partial-inlining")))
#else
#define TLSF_ENTRY
#endif

#if defined(__GNUC__)
/* Hot paths are forced inline when optimising for speed; an -Os build lets
 * the compiler share them instead (code size matters more there). */
#if defined(__OPTIMIZE_SIZE__)
#define TLSF_HOT static inline
#else
#define TLSF_HOT static inline __attribute__((always_inline))
#endif
/* Not exported: calls to it need no PLT (and on i386 no GOT register). */
#define TLSF_INTERNAL    __attribute__((visibility("hidden")))
#define TLSF_COLD        __attribute__((noinline, cold))
#define TLSF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TLSF_HOT static inline
#define TLSF_INTERNAL
#define TLSF_COLD
#define TLSF_UNLIKELY(x) (x)
#endif

/* Largest pool one allocator manages (a larger area is used up to this). */
#define TLSF_MAX_POOL_LOG2 31u
/* Levels such a pool can need: one per power of two from SMALL up. */
#define TLSF_MAX_LEVELS (TLSF_MAX_POOL_LOG2 - (TLSF_SL_LOG2 + TLSF_WORD_LOG2) + 1)

struct tlsf_control {
    uint32_t fl_bitmap;     /* bit f: some list of power-of-two level f is non-empty */
    uint32_t index_count;   /* number of lists: levels * TLSF_SL_COUNT */
    size_t max_request;     /* payload of the one block of a fresh pool */
    tlsf_block_t *first;    /* first block header */
    tlsf_block_t *sentinel; /* zero-size allocated header that ends the pool */
    /* per level: bit s set if list s of the level is non-empty; one more
     * entry than levels, always 0, for searches that start past the last */
    uint16_t sl_bitmap[TLSF_MAX_LEVELS + 1];
    tlsf_block_t *heads[]; /* list heads, index = level * TLSF_SL_COUNT + s */
};

_Static_assert(TLSF_SL_COUNT <= 16, "a level's lists fit one 16-bit bitmap");

/* Index of the highest set bit (x != 0). Written as an xor so that x86
 * compiles it to a single bsr. */
TLSF_HOT unsigned tlsf_msb(size_t x)
{
#if SIZE_MAX > 0xFFFFFFFFu
    return 63u ^ (unsigned)__builtin_clzll((unsigned long long)x);
#else
    return 31u ^ (unsigned)__builtin_clz((unsigned)x);
#endif
}

TLSF_HOT unsigned tlsf_lsb(uint32_t x)
{
    return (unsigned)__builtin_ctz(x);
}

/* Class of a block of payload `size` (a word multiple >= TLSF_MIN_PAYLOAD). */
TLSF_HOT unsigned tlsf_class_of(size_t size)
{
    if (size < TLSF_SMALL) {
        return (unsigned)(size >> TLSF_WORD_LOG2);
    }
    unsigned msb = tlsf_msb(size);
    return ((msb - (TLSF_SL_LOG2 + TLSF_WORD_LOG2)) << TLSF_SL_LOG2) +
           (unsigned)(size >> (msb - TLSF_SL_LOG2));
}

TLSF_HOT size_t tlsf_adjust_request(size_t size)
{
    size_t s = (size + TLSF_WORD - 1) & ~(TLSF_WORD - 1);
    return s < TLSF_MIN_PAYLOAD ? TLSF_MIN_PAYLOAD : s;
}

/* Put a free block at the head of list `index`, whose head is `head`. */
TLSF_HOT void tlsf_list_push(tlsf_t *t, tlsf_block_t *block, unsigned index, tlsf_block_t *head)
{
    block->next_free = head;
    block->prev_free = NULL;
    if (head) {
        head->prev_free = block;
    } else {
        t->sl_bitmap[index >> TLSF_SL_LOG2] |= (uint16_t)(1u << (index & (TLSF_SL_COUNT - 1)));
        t->fl_bitmap |= 1u << (index >> TLSF_SL_LOG2);
    }
    t->heads[index] = block;
}

/* Put a free block at the head of its class list. */
TLSF_HOT void tlsf_list_insert(tlsf_t *t, tlsf_block_t *block, size_t size)
{
    unsigned index = tlsf_class_of(size);
    tlsf_list_push(t, block, index, t->heads[index]);
}

/* Put a freed block in its class list: at the head, unless the head lies
 * lower in memory, then right behind it. Keeping the lower of the two in
 * front steers allocations towards low addresses, the way a first-fit
 * allocator does, which leaves larger free areas at the top. */
TLSF_HOT void tlsf_list_insert_freed(tlsf_t *t, tlsf_block_t *block, size_t size)
{
    unsigned index = tlsf_class_of(size);
    tlsf_block_t *head = t->heads[index];
    if (head && head < block) {
        tlsf_block_t *second = head->next_free;
        block->next_free = second;
        block->prev_free = head;
        head->next_free = block;
        if (second) {
            second->prev_free = block;
        }
        return;
    }
    tlsf_list_push(t, block, index, head);
}

TLSF_HOT void tlsf_list_mark_empty(tlsf_t *t, unsigned index)
{
    unsigned level = index >> TLSF_SL_LOG2;
    t->sl_bitmap[level] &= (uint16_t) ~(1u << (index & (TLSF_SL_COUNT - 1)));
    if (!t->sl_bitmap[level]) {
        t->fl_bitmap &= ~(1u << level);
    }
}

/* Unlink a free block; its class is needed only when it heads its list. */
TLSF_HOT void tlsf_list_remove(tlsf_t *t, tlsf_block_t *block)
{
    tlsf_block_t *next = block->next_free;
    tlsf_block_t *prev = block->prev_free;
    if (next) {
        next->prev_free = prev;
    }
    if (prev) {
        prev->next_free = next;
    } else {
        unsigned index = tlsf_class_of(tlsf_block_size(block));
        t->heads[index] = next;
        if (!next) {
            tlsf_list_mark_empty(t, index);
        }
    }
}

/* Not found by the good-fit search: look at the first TLSF_FALLBACK_SCAN
 * blocks of the request's own class, which may hold one large enough. */
TLSF_COLD TLSF_INTERNAL tlsf_block_t *tlsf_take_from_own_class(tlsf_t *t, size_t s);

/* Find a free block of payload >= s and take it off its list.
 *
 * Good fit: the first non-empty class whose floor is >= s holds only blocks
 * that fit. If the next non-empty class of the same power of two exists too,
 * the head of whichever of the two lies lower in memory is taken: both fit,
 * and preferring low addresses keeps the top of the heap in large pieces
 * (on the mixed-lifetime benchmark this cuts failed allocations by a third). */
TLSF_HOT tlsf_block_t *tlsf_take_fit(tlsf_t *t, size_t s)
{
    unsigned fit;
    if (s < TLSF_SMALL) {
        fit = (unsigned)(s >> TLSF_WORD_LOG2);
    } else {
        /* (s - 1) >> shift is the class of s - 1 within its power of two, in
         * [SL_COUNT - 1, 2 * SL_COUNT - 1]; the class after it is the first
         * whose floor is >= s. */
        unsigned msb = tlsf_msb(s);
        fit = ((msb - (TLSF_SL_LOG2 + TLSF_WORD_LOG2)) << TLSF_SL_LOG2) +
              (unsigned)((s - 1) >> (msb - TLSF_SL_LOG2)) + 1;
    }
    /* fit may be one level past the last; that level's bitmap is always 0. */
    unsigned level = fit >> TLSF_SL_LOG2;
    uint32_t map = t->sl_bitmap[level] & (~0u << (fit & (TLSF_SL_COUNT - 1)));
    if (!map) {
        uint32_t levels = t->fl_bitmap & (~0u << (level + 1));
        if (TLSF_UNLIKELY(!levels)) {
            return tlsf_take_from_own_class(t, s);
        }
        level = tlsf_lsb(levels);
        map = t->sl_bitmap[level];
    }
    fit = (level << TLSF_SL_LOG2) + tlsf_lsb(map);
    tlsf_block_t *block = t->heads[fit];
    uint32_t others = map & (map - 1);
    if (others) {
        unsigned second = (level << TLSF_SL_LOG2) + tlsf_lsb(others);
        if (t->heads[second] < block) {
            fit = second;
            block = t->heads[second];
        }
    }
    tlsf_block_t *next = block->next_free;
    t->heads[fit] = next;
    if (next) {
        next->prev_free = NULL;
    } else {
        tlsf_list_mark_empty(t, fit);
    }
    return block;
}

/* Make the free, unlisted `block` an allocated block of payload s (<= its
 * size), returning what is left over to the free lists. `prev_flag` is the
 * block's "previous is free" flag: 0 for any block taken off a free list
 * (free blocks have no free neighbours). Returns the block's final size. */
TLSF_HOT tlsf_block_t *tlsf_carve(tlsf_t *t, tlsf_block_t *block, size_t s, size_t prev_flag,
                                  size_t *block_size)
{
    size_t size = tlsf_block_size(block);
    if (size - s >= TLSF_SPLIT_MIN) {
        size_t rest_size = size - s - TLSF_WORD;
        tlsf_block_t *rest = tlsf_block_after(block, s);
        rest->header = rest_size | TLSF_BLOCK_FREE;
        *tlsf_block_footer_before(tlsf_block_after(rest, rest_size)) = rest;
        tlsf_list_insert(t, rest, rest_size);
        block->header = s | prev_flag;
        *block_size = s;
        return block;
    }
    block->header = size | prev_flag;
    tlsf_block_after(block, size)->header &= ~TLSF_PREV_FREE;
    *block_size = size;
    return block;
}

/* Allocate; on success *block_size is the payload size of the block given. */
TLSF_HOT void *tlsf_ops_malloc(tlsf_t *t, size_t size, size_t *block_size)
{
    if (size - 1 >= t->max_request) {
        return NULL; /* 0, or larger than the pool could ever hold */
    }
    size_t s = tlsf_adjust_request(size);
    tlsf_block_t *block = tlsf_take_fit(t, s);
    if (!block) {
        return NULL;
    }
    return tlsf_block_payload(tlsf_carve(t, block, s, 0, block_size));
}

/* Constant-time plausibility check of a pointer handed back by a caller: a
 * word-aligned payload inside the pool whose header says "allocated" with a
 * size that ends inside the pool. */
static inline bool tlsf_ops_is_allocated(const tlsf_t *t, const void *ptr)
{
    /* Bytes from ptr to the end marker; payloads start no lower than the
     * first block's, max_request bytes below the end marker. */
    uintptr_t room = (uintptr_t)t->sentinel - (uintptr_t)ptr;
    if (room > t->max_request || ((uintptr_t)ptr & (TLSF_WORD - 1))) {
        return false;
    }
    size_t header = tlsf_block_from_payload(ptr)->header;
    size_t size = header & ~TLSF_FLAGS;
    return !(header & TLSF_BLOCK_FREE) && size <= room && size >= TLSF_MIN_PAYLOAD;
}

/* A merge leaves the absorbed header and links (and the footer before them)
 * inside the merged free block. A build that keeps free memory filled with
 * a pattern (Comprehensive poisoning) refills those bytes, so that only the
 * free block's own header, links and footer differ from the pattern. */
#ifdef CONFIG_HEAP_POISONING_COMPREHENSIVE
#define TLSF_FREE_FILL              0xFE
#define tlsf_absorbed(start, bytes) heapcaps_fill((start), TLSF_FREE_FILL, (bytes))
#else
#define tlsf_absorbed(start, bytes) ((void)0)
#endif

/* Free an allocated block, merging it with free neighbours. Returns the
 * block's payload size. */
TLSF_HOT size_t tlsf_ops_free(tlsf_t *t, void *ptr)
{
    tlsf_block_t *block = tlsf_block_from_payload(ptr);
    size_t freed = tlsf_block_size(block);
    size_t size = freed;
    tlsf_block_t *next = tlsf_block_after(block, size);
    if (tlsf_block_is_free(next)) {
        tlsf_list_remove(t, next);
        size += TLSF_WORD + tlsf_block_size(next);
        tlsf_absorbed(next, sizeof(tlsf_block_t));
        next = tlsf_block_after(block, size);
    }
    if (tlsf_block_prev_is_free(block)) {
        tlsf_block_t *prev = tlsf_block_prev(block);
        tlsf_list_remove(t, prev);
        size += TLSF_WORD + tlsf_block_size(prev);
        tlsf_absorbed(tlsf_block_footer_before(block), 2 * TLSF_WORD);
        block = prev;
    }
    tlsf_block_set_free(block, size, next);
    tlsf_list_insert_freed(t, block, size);
    return freed;
}

/* Give the tail of allocated `block` beyond payload s back, if it can form a
 * block (merged with a free successor). */
static inline void tlsf_trim_tail(tlsf_t *t, tlsf_block_t *block, size_t s)
{
    size_t size = tlsf_block_size(block);
    if (size - s < TLSF_SPLIT_MIN) {
        return;
    }
    tlsf_block_t *rest = tlsf_block_after(block, s);
    size_t rest_size = size - s - TLSF_WORD;
    tlsf_block_t *next = tlsf_block_after(block, size);
    if (tlsf_block_is_free(next)) {
        tlsf_list_remove(t, next);
        rest_size += TLSF_WORD + tlsf_block_size(next);
        tlsf_absorbed(next, sizeof(tlsf_block_t));
        next = tlsf_block_after(rest, rest_size);
    }
    block->header = s | (block->header & TLSF_PREV_FREE);
    tlsf_block_set_free(rest, rest_size, next);
    tlsf_list_insert(t, rest, rest_size);
}

/* Resize an allocated block (size non-zero): in place when the block or its
 * free successor allows, else allocate, copy, free. NULL keeps ptr. */
static inline void *tlsf_ops_realloc(tlsf_t *t, void *ptr, size_t size)
{
    if (size - 1 >= t->max_request) {
        return NULL;
    }
    size_t s = tlsf_adjust_request(size);
    tlsf_block_t *block = tlsf_block_from_payload(ptr);
    size_t current = tlsf_block_size(block);
    if (s > current) {
        tlsf_block_t *next = tlsf_block_after(block, current);
        size_t joined = current + TLSF_WORD + tlsf_block_size(next);
        if (!tlsf_block_is_free(next) || joined < s) {
            size_t moved_size;
            void *moved = tlsf_ops_malloc(t, size, &moved_size);
            if (moved) {
                heapcaps_copy(moved, ptr, current);
                tlsf_ops_free(t, ptr);
            }
            return moved;
        }
        tlsf_list_remove(t, next);
        block->header = joined | (block->header & TLSF_PREV_FREE);
        tlsf_block_after(block, joined)->header &= ~TLSF_PREV_FREE;
    }
    tlsf_trim_tail(t, block, s);
    return ptr;
}

#endif /* HEAPCAPS_TLSF_OPS_H */
