/*
 * tlsf.c — the allocator core (algorithm and bounds: tlsf.h; block format:
 * tlsf_block.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "tlsf.h"

#include <string.h>

#include "tlsf_block.h"
#include "tlsf_ops.h"

#define SL_LOG2   TLSF_SL_LOG2
#define SL_COUNT  TLSF_SL_COUNT
#define SPLIT_MIN TLSF_SPLIT_MIN

/* Smallest payload of class `index`. */
static size_t class_floor(unsigned index)
{
    if (index < SL_COUNT) {
        return (size_t)index << TLSF_WORD_LOG2;
    }
    return (size_t)(SL_COUNT + (index & (SL_COUNT - 1)))
           << ((index >> SL_LOG2) - 1 + TLSF_WORD_LOG2);
}

tlsf_block_t *tlsf_take_from_own_class(tlsf_t *t, size_t s)
{
    tlsf_block_t *block = t->heads[tlsf_class_of(s)];
    for (unsigned i = 0; block && i < TLSF_FALLBACK_SCAN; ++i, block = block->next_free) {
        if (tlsf_block_size(block) >= s) {
            tlsf_list_remove(t, block);
            return block;
        }
    }
    return NULL;
}

size_t tlsf_align_size(void)
{
    return TLSF_WORD;
}

size_t tlsf_block_overhead(void)
{
    return TLSF_WORD;
}

static size_t control_bytes(unsigned levels)
{
    size_t bytes = sizeof(struct tlsf_control) + levels * SL_COUNT * sizeof(tlsf_block_t *);
    return (bytes + TLSF_WORD - 1) & ~(TLSF_WORD - 1);
}

size_t tlsf_min_create_size(void)
{
    return control_bytes(1) + 2 * TLSF_WORD + TLSF_MIN_PAYLOAD;
}

tlsf_t *tlsf_create(void *mem, size_t bytes)
{
    if (!mem || ((uintptr_t)mem & (TLSF_WORD - 1))) {
        return NULL;
    }
    if (bytes > ((size_t)1 << TLSF_MAX_POOL_LOG2) - TLSF_WORD) {
        bytes = ((size_t)1 << TLSF_MAX_POOL_LOG2) - TLSF_WORD;
    }
    bytes &= ~(TLSF_WORD - 1);
    if (bytes < tlsf_min_create_size()) {
        return NULL;
    }
    /* Levels for the largest block that could fit (an upper bound: the
     * lists themselves take room), fewer if the lists would not leave room
     * for a block; the pool is then capped at what those levels can hold. */
    unsigned levels = (tlsf_class_of(bytes - control_bytes(1) - 2 * TLSF_WORD) >> SL_LOG2) + 1;
    while (levels > 1 && bytes < control_bytes(levels) + 2 * TLSF_WORD + TLSF_MIN_PAYLOAD) {
        --levels;
    }
    size_t control = control_bytes(levels);
    size_t payload = bytes - control - 2 * TLSF_WORD;
    size_t level_cap = ((size_t)1 << (levels - 1 + SL_LOG2 + TLSF_WORD_LOG2)) - TLSF_WORD;
    if (payload > level_cap) {
        payload = level_cap;
    }
    tlsf_t *t = mem;
    memset(t, 0, control);
    t->index_count = levels * SL_COUNT;
    t->max_request = payload;
    t->first = (tlsf_block_t *)(void *)((char *)mem + control);
    t->sentinel = tlsf_block_after(t->first, payload);
    t->sentinel->header = 0;
    tlsf_block_set_free(t->first, payload, t->sentinel);
    tlsf_list_insert(t, t->first, payload);
    return t;
}

size_t tlsf_control_size(const tlsf_t *t)
{
    return (size_t)((char *)t->first - (char *)t);
}

size_t tlsf_initial_free_payload(const tlsf_t *t)
{
    return t->max_request;
}

void *tlsf_malloc(tlsf_t *t, size_t size)
{
    size_t block_size;
    return tlsf_ops_malloc(t, size, &block_size);
}

void *tlsf_memalign_offs(tlsf_t *t, size_t size, size_t align, size_t offset)
{
    if (align <= TLSF_WORD) {
        return tlsf_malloc(t, size);
    }
    if (size - 1 >= t->max_request || align > t->max_request) {
        return NULL;
    }
    size_t s = tlsf_adjust_request(size);
    /* Room for the worst leading gap, which must itself form a free block. */
    size_t need = s + align - TLSF_WORD + SPLIT_MIN;
    if (need > t->max_request) {
        return NULL;
    }
    tlsf_block_t *block = tlsf_take_fit(t, need);
    if (!block) {
        return NULL;
    }
    uintptr_t payload = (uintptr_t)tlsf_block_payload(block);
    uintptr_t mask = ~(uintptr_t)(align - 1);
    uintptr_t aligned = ((payload + offset + align - 1) & mask) - offset;
    if (aligned != payload && aligned - payload < SPLIT_MIN) {
        /* The gap must form a free block: first aligned place past one. */
        aligned = ((payload + SPLIT_MIN + offset + align - 1) & mask) - offset;
    }
    if (aligned != payload) {
        size_t gap = aligned - payload;
        tlsf_block_t *rest = tlsf_block_from_payload((void *)aligned);
        rest->header = (tlsf_block_size(block) - gap) | TLSF_PREV_FREE;
        tlsf_block_set_free(block, gap - TLSF_WORD, rest);
        tlsf_list_insert(t, block, gap - TLSF_WORD);
        block = rest;
    }
    size_t block_size;
    return tlsf_block_payload(tlsf_carve(t, block, s, block->header & TLSF_PREV_FREE, &block_size));
}

void tlsf_free(tlsf_t *t, void *ptr)
{
    tlsf_ops_free(t, ptr);
}

void *tlsf_realloc(tlsf_t *t, void *ptr, size_t size)
{
    return tlsf_ops_realloc(t, ptr, size);
}

size_t tlsf_block_size_of(const void *ptr)
{
    return tlsf_block_size(tlsf_block_from_payload(ptr));
}

size_t tlsf_largest_request(const tlsf_t *t)
{
    if (!t->fl_bitmap) {
        return 0;
    }
    unsigned level = tlsf_msb(t->fl_bitmap);
    unsigned index = (level << SL_LOG2) + tlsf_msb(t->sl_bitmap[level]);
    /* The good-fit search serves the class floor from any block of the class;
     * a larger request is served only by the blocks the fallback scan sees. */
    size_t largest = class_floor(index);
    const tlsf_block_t *block = t->heads[index];
    for (unsigned i = 0; block && i < TLSF_FALLBACK_SCAN; ++i, block = block->next_free) {
        if (tlsf_block_size(block) > largest) {
            largest = tlsf_block_size(block);
        }
    }
    return largest;
}

bool tlsf_pool_contains(const tlsf_t *t, const void *ptr)
{
    return (uintptr_t)ptr >= (uintptr_t)t->first && (uintptr_t)ptr < (uintptr_t)t->sentinel;
}

/* The block after `block`, or NULL if its size would leave the pool. */
static tlsf_block_t *next_in_pool(const tlsf_t *t, tlsf_block_t *block)
{
    size_t size = tlsf_block_size(block);
    if (size > (size_t)((char *)t->sentinel - (char *)block) - TLSF_WORD) {
        return NULL;
    }
    return tlsf_block_after(block, size);
}

bool tlsf_is_allocated_payload(const tlsf_t *t, const void *ptr)
{
    return tlsf_ops_is_allocated(t, ptr);
}

void tlsf_walk(tlsf_t *t, tlsf_walker_t walker, void *user)
{
    for (tlsf_block_t *block = t->first; block && block != t->sentinel;
         block = next_in_pool(t, block)) {
        if (!walker(tlsf_block_payload(block), tlsf_block_size(block), !tlsf_block_is_free(block),
                    user)) {
            break;
        }
    }
}

void *tlsf_find_containing_block(tlsf_t *t, const void *addr)
{
    tlsf_block_t *block = t->first;
    while (block != t->sentinel) {
        tlsf_block_t *next = next_in_pool(t, block);
        if (!next) {
            return NULL; /* damaged size word: nothing past it can be trusted */
        }
        char *payload = tlsf_block_payload(block);
        if ((const char *)addr >= payload && (const char *)addr < (char *)next) {
            return tlsf_block_is_free(block) ? NULL : payload;
        }
        block = next;
    }
    return NULL;
}

static bool fail(tlsf_fault_t *fault, const void *address, const char *problem)
{
    if (fault) {
        fault->address = address;
        fault->problem = problem;
    }
    return false;
}

/* A link may be followed only if a whole free-block header lies in the pool. */
static bool link_in_pool(const tlsf_t *t, const tlsf_block_t *block)
{
    return !((uintptr_t)block & (TLSF_WORD - 1)) && (uintptr_t)block >= (uintptr_t)t->first &&
           (uintptr_t)block + sizeof(tlsf_block_t) <= (uintptr_t)t->sentinel + TLSF_WORD;
}

static bool check_blocks(const tlsf_t *t, size_t *free_blocks, tlsf_fault_t *fault)
{
    bool prev_free = false;
    size_t count = 0;
    tlsf_block_t *block = t->first;
    while (block != t->sentinel) {
        size_t size = tlsf_block_size(block);
        if (tlsf_block_prev_is_free(block) != prev_free) {
            return fail(fault, block, "previous-block-free flag does not match the previous block");
        }
        if (size < TLSF_MIN_PAYLOAD) {
            return fail(fault, block, "block size below the minimum");
        }
        tlsf_block_t *next = next_in_pool(t, block);
        if (!next) {
            return fail(fault, block, "block size runs past the end of the heap");
        }
        if (tlsf_block_is_free(block)) {
            if (prev_free) {
                return fail(fault, block, "two adjacent free blocks");
            }
            if (tlsf_block_prev(next) != block) {
                return fail(fault, tlsf_block_footer_before(next),
                            "free block's footer does not point to it");
            }
            ++count;
        }
        prev_free = tlsf_block_is_free(block);
        block = next;
    }
    if (block->header != (prev_free ? TLSF_PREV_FREE : 0)) {
        return fail(fault, block, "end-of-heap marker overwritten");
    }
    *free_blocks = count;
    return true;
}

static bool check_lists(const tlsf_t *t, size_t free_blocks, tlsf_fault_t *fault)
{
    size_t listed = 0;
    unsigned levels = t->index_count >> SL_LOG2;
    if (levels < 32 && (t->fl_bitmap >> levels)) {
        return fail(fault, &t->fl_bitmap, "level bitmap has bits beyond the last level");
    }
    for (unsigned level = 0; level < levels; ++level) {
        if (((t->fl_bitmap >> level) & 1u) != (t->sl_bitmap[level] != 0)) {
            return fail(fault, &t->fl_bitmap, "level bitmap disagrees with a class bitmap");
        }
    }
    for (unsigned index = 0; index < t->index_count; ++index) {
        const tlsf_block_t *block = t->heads[index];
        bool bit = (t->sl_bitmap[index >> SL_LOG2] >> (index & (SL_COUNT - 1))) & 1u;
        if (bit != (block != NULL)) {
            return fail(fault, &t->heads[index], "class bitmap disagrees with its list");
        }
        const tlsf_block_t *prev = NULL;
        for (; block; prev = block, block = block->next_free) {
            if (!link_in_pool(t, block)) {
                return fail(fault, prev ? (const void *)&prev->next_free : &t->heads[index],
                            "free-list link points outside the heap");
            }
            if (++listed > free_blocks) {
                return fail(fault, block, "free lists hold more blocks than the heap has free");
            }
            if (!tlsf_block_is_free(block)) {
                return fail(fault, block, "allocated block in a free list");
            }
            if (block->prev_free != prev) {
                return fail(fault, &block->prev_free, "free-list back link is wrong");
            }
            if (tlsf_class_of(tlsf_block_size(block)) != index) {
                return fail(fault, block, "free block in the wrong size-class list");
            }
        }
    }
    if (listed != free_blocks) {
        return fail(fault, t->first, "a free block is missing from the free lists");
    }
    return true;
}

bool tlsf_check(const tlsf_t *t, tlsf_fault_t *fault)
{
    size_t free_blocks = 0;
    return check_blocks(t, &free_blocks, fault) && check_lists(t, free_blocks, fault);
}
