/*
 * tlsf.h — the allocator core: a two-level segregated-fit allocator over one
 * pool, with constant-time malloc, free and realloc.
 *
 * Algorithm
 * ---------
 * Free blocks sit in size-class lists. A size s belongs to class
 *   s <  SMALL (16 words): one class per word size (exact classes);
 *   s >= SMALL:            16 classes per power of two, each 1/16 of it wide.
 * Two bitmaps (one bit per power of two, one bit per class within it) say
 * which lists are non-empty, so the first non-empty list at or above a class
 * is found with two count-trailing-zeros instructions.
 *
 * malloc(n) rounds n up to the next class boundary and takes the head of the
 * first non-empty list at or above that boundary ("good fit": every block
 * there is large enough). Only when that finds nothing it looks at the first
 * TLSF_FALLBACK_SCAN blocks of n's own class, which may hold a block that is
 * large enough. The chosen block is split when the rest can form a block.
 * Blocks are given exactly the size asked for (rounded to a word), so no
 * memory is lost to class rounding; the fallback scan is what lets a freed
 * block serve the next request of its own class.
 *
 * free merges the block with both neighbours at once (boundary tags: the
 * header's "previous is free" flag and the free block's footer), so no two
 * free blocks are ever adjacent.
 *
 * Bounds (no loop depends on the pool size or on the number of blocks)
 * ------
 *   malloc:  2 bitmap searches + at most TLSF_FALLBACK_SCAN list steps
 *            + 1 unlink + 1 insert.
 *   free:    at most 2 unlinks (merges) + 1 insert.
 *   realloc: in place: 1 unlink + 1 insert; moving: malloc + copy + free.
 *   memalign: as malloc, plus 1 insert for the leading gap.
 * Measured instruction counts per call are in README.md (bench/run.sh).
 *
 * Memory: one header word per block; minimum payload 3 words; the control
 * block is tlsf_control_size() bytes (900 bytes for a 256 KiB pool on a
 * 32-bit target).
 *
 * This layer knows nothing of locks, statistics, capabilities or printing.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TLSF_H
#define HEAPCAPS_TLSF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** How many blocks of its own class a request looks at when the good-fit
 *  search finds nothing. Bounds malloc's worst case. */
#define TLSF_FALLBACK_SCAN 4

typedef struct tlsf_control tlsf_t;

/** A problem found by tlsf_check(). */
typedef struct {
    const void *address; /**< the header, link or bitmap that is wrong */
    const char *problem; /**< what is wrong with it */
} tlsf_fault_t;

typedef bool (*tlsf_walker_t)(void *payload, size_t size, bool used, void *user);

/** Word size: alignment of every payload, granularity of every size. */
size_t tlsf_align_size(void);

/** Per-block overhead in bytes (one header word). */
size_t tlsf_block_overhead(void);

/**
 * Create an allocator in [mem, mem + bytes). mem must be word aligned; an
 * area over 2 GiB is used up to 2 GiB.
 * @return the control block (== mem), or NULL when the area cannot hold the
 *         control block and one minimum block.
 */
tlsf_t *tlsf_create(void *mem, size_t bytes);

/** Smallest `bytes` that tlsf_create() accepts. */
size_t tlsf_min_create_size(void);

/** Bytes taken by the control block of an allocator created over `bytes`. */
size_t tlsf_control_size(const tlsf_t *tlsf);

/** Payload bytes of the single free block of a fresh allocator. */
size_t tlsf_initial_free_payload(const tlsf_t *tlsf);

/** Allocate size bytes; NULL for 0 or when nothing fits. Constant time. */
void *tlsf_malloc(tlsf_t *tlsf, size_t size);

/**
 * Allocate size bytes at p with (p + offset) % align == 0. align must be a
 * power of two; offset a multiple of the word size. Constant time.
 */
void *tlsf_memalign_offs(tlsf_t *tlsf, size_t size, size_t align, size_t offset);

/** Free an allocated block (ptr must be one). Constant time. */
void tlsf_free(tlsf_t *tlsf, void *ptr);

/**
 * Resize an allocated block (ptr non-NULL, size non-zero): in place when the
 * block or its free successor allows, else move. NULL on failure, ptr kept.
 */
void *tlsf_realloc(tlsf_t *tlsf, void *ptr, size_t size);

/** Payload size of an allocated block. */
size_t tlsf_block_size_of(const void *ptr);

/** Largest n for which tlsf_malloc(n) succeeds now (0 if none). Constant time. */
size_t tlsf_largest_request(const tlsf_t *tlsf);

/** True if ptr is the payload of a block header inside the pool that is allocated,
 *  judged from the header alone (constant time; for argument checks). */
bool tlsf_is_allocated_payload(const tlsf_t *tlsf, const void *ptr);

/** True if ptr lies inside the pool (first block header .. sentinel). */
bool tlsf_pool_contains(const tlsf_t *tlsf, const void *ptr);

/** Visit every block in address order until the walker returns false. */
void tlsf_walk(tlsf_t *tlsf, tlsf_walker_t walker, void *user);

/**
 * Check every invariant of the pool and the free lists. Never reads outside
 * the control block and the pool, never loops. @return true if intact; else
 * false with the first fault in *fault (if fault is not NULL).
 */
bool tlsf_check(const tlsf_t *tlsf, tlsf_fault_t *fault);

/** Payload of the allocated block whose payload contains addr, or NULL. */
void *tlsf_find_containing_block(tlsf_t *tlsf, const void *addr);

#endif /* HEAPCAPS_TLSF_H */
