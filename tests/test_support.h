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
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heapcaps/multi_heap_ext.h"
#include "multi_heap.h"
#include "tlsf/tlsf.h"

/* A region for a test heap, 16-byte aligned, from the host's allocator. */
static inline void *test_region(size_t size)
{
    void *region = aligned_alloc(16, (size + 15) & ~(size_t)15);
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

/* free + allocated payloads + one header per allocated block + the heap's
 * fixed overhead == the region size, exactly. */
static inline void assert_accounting_exact(multi_heap_handle_t heap, size_t region_size)
{
    multi_heap_info_t info;
    multi_heap_get_info(heap, &info);
    size_t accounted = info.total_free_bytes + info.total_allocated_bytes +
                       info.allocated_blocks * tlsf_block_overhead() +
                       heapcaps_multi_heap_overhead(heap);
    assert_int_equal(accounted, region_size);
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
    if (info.largest_free_block == 0) {
        assert_null(multi_heap_malloc(heap, 1));
        return;
    }
    assert_null(multi_heap_malloc(heap, info.largest_free_block + 1));
    void *p = multi_heap_malloc(heap, info.largest_free_block);
    assert_non_null(p);
    multi_heap_free(heap, p);
    multi_heap_reset_minimum_free_bytes(heap);
    multi_heap_restore_minimum_free_bytes(heap, info.minimum_free_bytes);
}

#endif /* HEAPCAPS_TEST_SUPPORT_H */
