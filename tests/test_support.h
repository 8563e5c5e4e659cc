/*
 * test_support.h — helpers shared by the host test suites: word-aligned test
 * regions, a deterministic random stream, and heap invariant checks that
 * report what is wrong.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TEST_SUPPORT_H
#define HEAPCAPS_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heapcaps/config.h"
#include "heapcaps/multi_heap_ext.h"
#include "multi_heap.h"
#include "tlsf/tlsf.h"

#if defined(HEAPCAPS_TEST_TARGET)
#include <malloc.h> /* memalign: newlib's aligned_alloc needs posix_memalign, which it lacks */
#endif

/* A region for a test heap, 16-byte aligned, from the C library's allocator. */
static inline void *test_region(size_t size)
{
#if defined(HEAPCAPS_TEST_TARGET)
    void *region = memalign(16, (size + 15) & ~(size_t)15);
#else
    void *region = aligned_alloc(16, (size + 15) & ~(size_t)15);
#endif
    assert_non_null(region);
    return region;
}

/* xorshift64: the same stream on every machine and ABI. */
typedef struct {
    uint64_t state;
} test_rng_t;

static inline uint64_t test_rng_next(test_rng_t *rng)
{
    rng->state ^= rng->state << 13;
    rng->state ^= rng->state >> 7;
    rng->state ^= rng->state << 17;
    return rng->state;
}

/* Uniform in [lo, hi]. */
static inline size_t test_rng_range(test_rng_t *rng, size_t lo, size_t hi)
{
    return lo + (size_t)(test_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

/* The heap's structure and counters are intact; otherwise fail naming the fault. */
static inline void assert_heap_intact(multi_heap_handle_t heap)
{
    heapcaps_heap_fault_t fault;
    if (!heapcaps_multi_heap_check_fault(heap, &fault)) {
        fail_msg("heap %p damaged: %s at %p", (void *)heap, fault.problem, fault.address);
    }
}

/* What the build puts around an allocation: the poisoning head and tail
 * (Light and Comprehensive corruption detection) and heap_caps's owner word
 * (task tracking). multi_heap's figures leave out TEST_POISON per block. */
#if defined(CONFIG_HEAP_POISONING_LIGHT) || defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
#define TEST_POISON_HEAD ((size_t)8)
#define TEST_POISON      ((size_t)12)
#else
#define TEST_POISON_HEAD ((size_t)0)
#define TEST_POISON      ((size_t)0)
#endif
#ifdef CONFIG_HEAP_TASK_TRACKING
#define TEST_OWNER_WORD sizeof(void *)
#else
#define TEST_OWNER_WORD ((size_t)0)
#endif
#ifdef CONFIG_HEAP_POISONING_COMPREHENSIVE
#define TEST_COMPREHENSIVE 1
#else
#define TEST_COMPREHENSIVE 0
#endif
#ifdef HEAPCAPS_SANITIZER_VIEW
#define TEST_SANITIZER_VIEW 1 /* heap_caps_realloc always moves */
#else
#define TEST_SANITIZER_VIEW 0
#endif

/* The block (as multi_heap_walk() and heap_caps_walk() report it) of a
 * multi_heap pointer and of a heap_caps pointer. */
#define TEST_MH_BLOCK(p) ((void *)((char *)(p)-TEST_POISON_HEAD))
#define TEST_HC_BLOCK(p) ((void *)((char *)(p)-TEST_POISON_HEAD - TEST_OWNER_WORD))

/* A figure as multi_heap reports it: less the poisoning of one more block. */
static inline size_t test_less_poison(size_t bytes)
{
    return bytes > TEST_POISON ? bytes - TEST_POISON : 0;
}

typedef struct {
    size_t free_bytes, used_payload, used_blocks, free_blocks;
} test_walk_totals_t;

static inline bool test_add_block(void *block, size_t size, int used, void *user)
{
    (void)block;
    test_walk_totals_t *totals = user;
    if (used) {
        totals->used_payload += size;
        totals->used_blocks++;
    } else {
        totals->free_bytes += size + tlsf_block_overhead();
        totals->free_blocks++;
    }
    return true;
}

/* Free bytes as the allocator holds them (before the poisoning adjustment). */
static inline size_t test_raw_free(multi_heap_handle_t heap)
{
    test_walk_totals_t totals = {0, 0, 0, 0};
    multi_heap_walk(heap, test_add_block, &totals);
    return totals.free_bytes;
}

/* free + allocated payloads + one header per allocated block + the heap's
 * fixed overhead == the region size, exactly (counted from the blocks), and
 * the reported figures are those, less the poisoning. */
static inline void assert_accounting_exact(multi_heap_handle_t heap, size_t region_size)
{
    test_walk_totals_t totals = {0, 0, 0, 0};
    multi_heap_walk(heap, test_add_block, &totals);
    size_t accounted = totals.free_bytes + totals.used_payload +
                       totals.used_blocks * tlsf_block_overhead() +
                       heapcaps_multi_heap_overhead(heap);
    assert_int_equal(accounted, region_size);
    multi_heap_info_t info;
    multi_heap_get_info(heap, &info);
    assert_int_equal(info.total_free_bytes, test_less_poison(totals.free_bytes));
    assert_int_equal(info.total_allocated_bytes,
                     totals.used_payload - totals.used_blocks * TEST_POISON);
    assert_int_equal(info.allocated_blocks, totals.used_blocks);
    assert_int_equal(info.free_blocks, totals.free_blocks);
    assert_int_equal(info.total_free_bytes, multi_heap_free_size(heap));
    assert_int_equal(info.total_blocks, info.allocated_blocks + info.free_blocks);
    assert_true(info.minimum_free_bytes <= info.total_free_bytes);
}

/* largest_free_block is exact: that many bytes can be allocated, one more
 * cannot. The probe leaves the heap's low-water mark as it found it. */
static inline void assert_largest_is_exact(multi_heap_handle_t heap)
{
    multi_heap_info_t info;
    multi_heap_get_info(heap, &info);
    /* The constant-time query agrees with the walk. */
    assert_int_equal(heapcaps_multi_heap_largest_free_block(heap), info.largest_free_block);
    /* The low-water mark as the heap keeps it (reported figures may be
     * less the poisoning), to put back after the probe. */
    size_t raw_minimum = multi_heap_reset_minimum_free_bytes(heap);
    multi_heap_restore_minimum_free_bytes(heap, raw_minimum);
    if (info.largest_free_block == 0) {
        assert_null(multi_heap_malloc(heap, 1));
        return;
    }
    assert_null(multi_heap_malloc(heap, info.largest_free_block + 1));
    void *p = multi_heap_malloc(heap, info.largest_free_block);
    assert_non_null(p);
    multi_heap_free(heap, p);
    multi_heap_reset_minimum_free_bytes(heap);
    multi_heap_restore_minimum_free_bytes(heap, raw_minimum);
}

#endif /* HEAPCAPS_TEST_SUPPORT_H */
