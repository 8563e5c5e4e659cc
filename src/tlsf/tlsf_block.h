/*
 * tlsf_block.h — the block format of the allocator core, behind accessors.
 *
 * Every block starts with one header word: the payload size in bytes (a
 * multiple of the machine word) with two flags in its low bits. The payload
 * follows the header directly. A free block keeps two list links at the start
 * of its payload and a pointer to its own header in the last payload word (the
 * "footer"), so that the block after it can find it when merging. An
 * allocated block carries nothing but its header: the overhead of a block is
 * one word.
 *
 *   allocated: [size|flags][payload ......................................]
 *   free:      [size|flags][next free][prev free][ ... ][footer: own header]
 *
 * The pool ends with a sentinel: a header of size 0 marked allocated.
 * This file is the only place that knows the format.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TLSF_BLOCK_H
#define HEAPCAPS_TLSF_BLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct tlsf_block tlsf_block_t;

struct tlsf_block {
    size_t header;           /* payload size | TLSF_BLOCK_FREE | TLSF_PREV_FREE */
    tlsf_block_t *next_free; /* valid only while the block is free */
    tlsf_block_t *prev_free; /* valid only while the block is free */
};

#define TLSF_WORD      sizeof(size_t)
#define TLSF_WORD_LOG2 (sizeof(size_t) == 8 ? 3u : 2u)
/* Two links and a footer must fit in a free block's payload. */
#define TLSF_MIN_PAYLOAD (3 * TLSF_WORD)
#define TLSF_BLOCK_FREE  ((size_t)1)
#define TLSF_PREV_FREE   ((size_t)2)
#define TLSF_FLAGS       (TLSF_BLOCK_FREE | TLSF_PREV_FREE)

_Static_assert(sizeof(void *) == sizeof(size_t), "a link must fit in a header word");
_Static_assert(sizeof(tlsf_block_t) == 3 * TLSF_WORD, "header plus two links");

static inline size_t tlsf_block_size(const tlsf_block_t *block)
{
    return block->header & ~TLSF_FLAGS;
}

static inline int tlsf_block_is_free(const tlsf_block_t *block)
{
    return (block->header & TLSF_BLOCK_FREE) != 0;
}

static inline int tlsf_block_prev_is_free(const tlsf_block_t *block)
{
    return (block->header & TLSF_PREV_FREE) != 0;
}

static inline void *tlsf_block_payload(tlsf_block_t *block)
{
    return (char *)block + TLSF_WORD;
}

static inline tlsf_block_t *tlsf_block_from_payload(const void *payload)
{
    return (tlsf_block_t *)((uintptr_t)payload - TLSF_WORD);
}

/* The block that starts right after a block of payload size `size`. */
static inline tlsf_block_t *tlsf_block_after(tlsf_block_t *block, size_t size)
{
    return (tlsf_block_t *)((char *)block + TLSF_WORD + size);
}

static inline tlsf_block_t *tlsf_block_next(tlsf_block_t *block)
{
    return tlsf_block_after(block, tlsf_block_size(block));
}

/* The footer of the block before `block`: valid only if that block is free. */
static inline tlsf_block_t **tlsf_block_footer_before(tlsf_block_t *block)
{
    return (tlsf_block_t **)block - 1;
}

static inline tlsf_block_t *tlsf_block_prev(tlsf_block_t *block)
{
    return *tlsf_block_footer_before(block);
}

/* Mark `block` (payload `size`, followed by `next`) free and link its footer. */
static inline void tlsf_block_set_free(tlsf_block_t *block, size_t size, tlsf_block_t *next)
{
    block->header = size | TLSF_BLOCK_FREE;
    *tlsf_block_footer_before(next) = block;
    next->header |= TLSF_PREV_FREE;
}

#endif /* HEAPCAPS_TLSF_BLOCK_H */
