/*
 * test_multi_heap.c — the multi_heap.h API, one case per behaviour: edge cases
 * of every function, exact accounting, the low-water mark, and the known
 * upstream pitfalls the allocator avoids.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"
#include "test_guard.h"

#define WORD sizeof(size_t)

typedef struct {
    void *region;
    size_t size;
    multi_heap_handle_t heap;
} fixture_t;

static fixture_t *fixture_new(size_t size)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->size = size;
    f->region = test_region(size);
    f->heap = multi_heap_register(f->region, size);
    assert_non_null(f->heap);
    return f;
}

static int teardown_fixture(void **state)
{
    fixture_t *f = *state;
    if (f) {
        free(f->region);
        free(f);
    }
    return 0;
}

static int setup_4k(void **state)
{
    *state = fixture_new(4096);
    return 0;
}

static int setup_64k(void **state)
{
    *state = fixture_new(65536);
    return 0;
}

static int setup_256k(void **state)
{
    *state = fixture_new(256 * 1024);
    return 0;
}

/* ---- registration ---------------------------------------------------- */

static void register_returns_handle_equal_to_start(void **state)
{
    (void)state;
    void *region = test_region(4096);
    assert_ptr_equal(multi_heap_register(region, 4096), region);
    free(region);
}

static void register_rejects_null_start(void **state)
{
    (void)state;
    assert_null(multi_heap_register(NULL, 4096));
}

static void register_rejects_misaligned_start(void **state)
{
    (void)state;
    char *region = test_region(4096 + 16);
    assert_null(multi_heap_register(region + 1, 4096));
    assert_null(multi_heap_register(region + WORD / 2, 4096));
    free(region);
}

static void register_rejects_region_below_minimum_size(void **state)
{
    (void)state;
    size_t min = heapcaps_multi_heap_min_region_size();
    char *region = test_region(min);
    /* A refused region keeps its bytes, with every poisoning level. */
    memset(region, 0x5A, min);
    assert_null(multi_heap_register(region, min - 1));
    assert_null(multi_heap_register(region, 0));
    assert_null(multi_heap_register(region + 1, min - 1));
    for (size_t i = 0; i < min; ++i) {
        assert_int_equal((unsigned char)region[i], 0x5A);
    }
    multi_heap_handle_t heap = multi_heap_register(region, min);
    assert_non_null(heap);
    if (1 + TEST_POISON > 3 * WORD) {
        /* A 32-bit poisoned build: the one minimum block cannot hold the
         * poisoning of even one byte. */
        assert_null(multi_heap_malloc(heap, 1));
        assert_heap_intact(heap);
        free(region);
        return;
    }
    void *p = multi_heap_malloc(heap, 1);
    assert_non_null(p);
    assert_null(multi_heap_malloc(heap, 1));
    multi_heap_free(heap, p);
    assert_heap_intact(heap);
    free(region);
}

/* Every size from the minimum up registers a usable heap (no gaps where the
 * control block gains a level). */
static void register_accepts_every_size_from_the_minimum(void **state)
{
    (void)state;
    size_t min = heapcaps_multi_heap_min_region_size();
    char *region = test_region(8192);
    for (size_t size = min; size <= 8192; size += WORD) {
        multi_heap_handle_t heap = multi_heap_register(region, size);
        if (!heap) {
            fail_msg("a region of %zu bytes was refused", size);
        }
        assert_accounting_exact(heap, size);
        assert_largest_is_exact(heap);
        assert_heap_intact(heap);
    }
    free(region);
}

static void fresh_heap_has_one_free_block_and_exact_figures(void **state)
{
    fixture_t *f = *state;
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.allocated_blocks, 0);
    assert_int_equal(info.total_allocated_bytes, 0);
    assert_int_equal(info.free_blocks, 1);
    assert_int_equal(info.total_blocks, 1);
    assert_int_equal(info.total_free_bytes, info.minimum_free_bytes);
    assert_int_equal(info.total_free_bytes,
                     test_less_poison(f->size - heapcaps_multi_heap_overhead(f->heap)));
    /* The one free block's payload is the free bytes less its header. */
    assert_int_equal(info.largest_free_block, info.total_free_bytes - WORD);
    assert_accounting_exact(f->heap, f->size);
    assert_largest_is_exact(f->heap);
}

static void fresh_256k_heap_serves_at_least_253952_bytes(void **state)
{
    fixture_t *f = *state;
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    assert_true(info.largest_free_block >= 253952);
    void *p = multi_heap_malloc(f->heap, info.largest_free_block);
    assert_non_null(p);
    multi_heap_free(f->heap, p);
}

/* ---- malloc ---------------------------------------------------------- */

static void malloc_of_zero_returns_null(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    assert_null(multi_heap_malloc(f->heap, 0));
    assert_int_equal(multi_heap_free_size(f->heap), before);
}

static void malloc_on_null_heap_returns_null(void **state)
{
    (void)state;
    assert_null(multi_heap_malloc(NULL, 16));
}

static void malloc_of_huge_or_overflowing_sizes_returns_null(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    const size_t sizes[] = {
        SIZE_MAX,         SIZE_MAX - 1, SIZE_MAX - WORD, SIZE_MAX - 2 * WORD + 1,
        SIZE_MAX / 2 + 1, f->size,      f->size + 1};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        assert_null(multi_heap_malloc(f->heap, sizes[i]));
    }
    assert_int_equal(multi_heap_free_size(f->heap), before);
    assert_int_equal(multi_heap_minimum_free_size(f->heap), before);
    assert_heap_intact(f->heap);
}

static void malloc_returns_word_aligned_memory_inside_the_heap(void **state)
{
    fixture_t *f = *state;
    for (size_t size = 1; size < 300; size += 7) {
        char *p = multi_heap_malloc(f->heap, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % WORD, 0);
        assert_true(p > (char *)f->region && p + size <= (char *)f->region + f->size);
        memset(p, 0x5A, size);
        assert_true(multi_heap_get_allocated_size(f->heap, p) >= size);
        if (TEST_POISON) {
            /* Poisoned: exactly the bytes before the tail canary. */
            assert_int_equal(multi_heap_get_allocated_size(f->heap, p), size);
        } else {
            assert_int_equal(multi_heap_get_allocated_size(f->heap, p) % WORD, 0);
        }
    }
    assert_heap_intact(f->heap);
}

/* esp-idf#9087: running out of memory is an ordinary NULL, never an assert. */
static void exhausted_heap_returns_null_and_stays_intact(void **state)
{
    fixture_t *f = *state;
    void *blocks[4096];
    size_t count = 0;
    while (count < 4096 && (blocks[count] = multi_heap_malloc(f->heap, 24)) != NULL) {
        ++count;
    }
    assert_true(count > 10 && count < 4096);
    assert_null(multi_heap_malloc(f->heap, 24));
    assert_null(multi_heap_malloc(f->heap, 1000));
    assert_heap_intact(f->heap);
    assert_accounting_exact(f->heap, f->size);
    for (size_t i = 0; i < count; ++i) {
        multi_heap_free(f->heap, blocks[i]);
    }
    assert_int_equal(multi_heap_free_size(f->heap),
                     test_less_poison(f->size - heapcaps_multi_heap_overhead(f->heap)));
}

static void half_the_heap_twice_fails_then_succeeds_after_free(void **state)
{
    fixture_t *f = *state;
    size_t half = (multi_heap_free_size(f->heap) + 4) / 2;
    char *a = multi_heap_malloc(f->heap, half);
    assert_non_null(a);
    assert_true(a >= (char *)f->region && a + half <= (char *)f->region + f->size);
    assert_true(multi_heap_get_allocated_size(f->heap, a) >= half);
    assert_null(multi_heap_malloc(f->heap, half));
    multi_heap_free(f->heap, a);
    a = multi_heap_malloc(f->heap, half);
    assert_non_null(a);
    multi_heap_free(f->heap, a);
    assert_true(multi_heap_free_size(f->heap) > multi_heap_minimum_free_size(f->heap));
}

static void fragmented_heap_refuses_a_request_larger_than_any_gap(void **state)
{
    fixture_t *f = *state;
    void *p[4];
    for (int i = 0; i < 4; ++i) {
        assert_heap_intact(f->heap);
        p[i] = multi_heap_malloc(f->heap, 500);
        assert_non_null(p[i]);
    }
    void *rest = multi_heap_malloc(f->heap, multi_heap_free_size(f->heap) - 2 * WORD - 600);
    assert_non_null(rest);
    multi_heap_free(f->heap, p[0]);
    multi_heap_free(f->heap, p[2]);
    /* 1000+ bytes are free but in two separate 500-byte holes. */
    assert_true(multi_heap_free_size(f->heap) > 1000);
    assert_null(multi_heap_malloc(f->heap, 900));
    multi_heap_free(f->heap, p[1]);
    void *joined = multi_heap_malloc(f->heap, 1500);
    assert_ptr_equal(joined, p[0]);
    multi_heap_free(f->heap, joined);
    multi_heap_free(f->heap, p[3]);
    multi_heap_free(f->heap, rest);
    assert_int_equal(multi_heap_get_allocated_size(f->heap, NULL), 0);
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.free_blocks, 1);
    assert_largest_is_exact(f->heap);
}

static void freed_block_is_reused_by_smaller_requests(void **state)
{
    fixture_t *f = *state;
    multi_heap_info_t fresh;
    multi_heap_get_info(f->heap, &fresh);
    void *a = multi_heap_malloc(f->heap, 128);
    void *b = multi_heap_malloc(f->heap, 32);
    assert_non_null(a);
    assert_non_null(b);
    multi_heap_free(f->heap, a);
    void *c = multi_heap_malloc(f->heap, 64);
    assert_ptr_equal(c, a);
    multi_heap_free(f->heap, c);
    void *d = multi_heap_malloc(f->heap, 32);
    assert_ptr_equal(d, a);
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.allocated_blocks, 2);
    assert_int_equal(info.free_blocks, 2);
    multi_heap_free(f->heap, d);
    multi_heap_free(f->heap, b);
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.allocated_blocks, 0);
    assert_int_equal(info.free_blocks, 1);
    assert_int_equal(info.total_free_bytes, fresh.total_free_bytes);
}

static void tiny_allocations_fill_the_heap_and_all_come_back(void **state)
{
    fixture_t *f = *state;
    size_t start_free = multi_heap_free_size(f->heap);
    void *blocks[1024];
    size_t count = 0;
    while (count < 1024 && (blocks[count] = multi_heap_malloc(f->heap, 1)) != NULL) {
        ++count;
    }
    assert_true(count < 1024);
    assert_true(multi_heap_free_size(f->heap) < start_free);
    test_rng_t rng = {0x1234};
    while (count) {
        size_t i = test_rng_range(&rng, 0, count - 1);
        multi_heap_free(f->heap, blocks[i]);
        blocks[i] = blocks[--count];
        assert_heap_intact(f->heap);
    }
    assert_int_equal(multi_heap_free_size(f->heap), start_free);
}

/* Upstream's free lists strand a freed block whose class lies between a
 * request and the next class up; here it serves the next request of its
 * class, even when it is the only free block. */
static void freed_block_serves_the_next_request_of_its_size(void **state)
{
    fixture_t *f = *state;
    const size_t sizes[] = {100, 1000, 1500, 3000, 9000, 20000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        void *a = multi_heap_malloc(f->heap, sizes[i]);
        assert_non_null(a);
        /* Take everything else, so `a` is the only candidate. */
        multi_heap_info_t info;
        multi_heap_get_info(f->heap, &info);
        void *rest = multi_heap_malloc(f->heap, info.largest_free_block);
        assert_non_null(rest);
        multi_heap_free(f->heap, a);
        void *again = multi_heap_malloc(f->heap, sizes[i]);
        assert_ptr_equal(again, a);
        multi_heap_free(f->heap, again);
        void *smaller = multi_heap_malloc(f->heap, sizes[i] - sizes[i] / 20);
        assert_ptr_equal(smaller, a);
        multi_heap_free(f->heap, smaller);
        multi_heap_free(f->heap, rest);
        assert_heap_intact(f->heap);
    }
}

/* ---- largest_free_block (esp-idf#7808: it was reported rounded down) -- */

static void largest_free_block_is_exactly_the_largest_request_served(void **state)
{
    fixture_t *f = *state;
    test_rng_t rng = {0xABCDEF};
    void *live[64] = {0};
    for (int step = 0; step < 3000; ++step) {
        size_t slot = test_rng_range(&rng, 0, 63);
        if (live[slot]) {
            multi_heap_free(f->heap, live[slot]);
            live[slot] = NULL;
        } else {
            live[slot] = multi_heap_malloc(f->heap, test_rng_range(&rng, 1, 3000));
        }
        if (step % 7 == 0) {
            assert_largest_is_exact(f->heap);
        }
    }
    for (int i = 0; i < 64; ++i) {
        multi_heap_free(f->heap, live[i]);
    }
    assert_largest_is_exact(f->heap);
}

/* ---- accounting and the low-water mark ------------------------------- */

static void allocation_takes_its_block_and_one_header_word(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    void *p = multi_heap_malloc(f->heap, 256);
    assert_int_equal(multi_heap_get_full_block_size(f->heap, p),
                     (256 + TEST_POISON + WORD - 1) & ~(WORD - 1));
    assert_int_equal(multi_heap_free_size(f->heap),
                     before - multi_heap_get_full_block_size(f->heap, p) - WORD);
    multi_heap_free(f->heap, p);
    assert_int_equal(multi_heap_free_size(f->heap), before);
}

static void get_info_counts_exactly_the_requested_bytes(void **state)
{
    fixture_t *f = *state;
    multi_heap_info_t before;
    multi_heap_get_info(f->heap, &before);
    void *p = multi_heap_malloc(f->heap, 32);
    multi_heap_info_t after;
    multi_heap_get_info(f->heap, &after);
    assert_int_equal(after.allocated_blocks, 1);
    size_t block = multi_heap_get_full_block_size(f->heap, p);
    assert_int_equal(after.total_allocated_bytes, block - TEST_POISON);
    assert_int_equal(after.total_free_bytes, before.total_free_bytes - block - WORD);
    assert_true(after.minimum_free_bytes < before.minimum_free_bytes);
    assert_true(after.minimum_free_bytes > 0);
    multi_heap_free(f->heap, p);
    multi_heap_info_t freed;
    multi_heap_get_info(f->heap, &freed);
    assert_int_equal(freed.allocated_blocks, 0);
    assert_int_equal(freed.total_allocated_bytes, 0);
    assert_int_equal(freed.total_free_bytes, before.total_free_bytes);
    assert_int_equal(freed.minimum_free_bytes, after.minimum_free_bytes);
}

static void get_info_with_null_heap_is_all_zero(void **state)
{
    (void)state;
    multi_heap_info_t info;
    memset(&info, 0xFF, sizeof(info));
    multi_heap_get_info(NULL, &info);
    multi_heap_info_t zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&info, &zero, sizeof(info));
    assert_int_equal(multi_heap_free_size(NULL), 0);
    assert_int_equal(multi_heap_minimum_free_size(NULL), 0);
}

static void minimum_free_falls_with_allocation_and_never_rises(void **state)
{
    fixture_t *f = *state;
    size_t start = multi_heap_minimum_free_size(f->heap);
    void *a = multi_heap_malloc(f->heap, 1000);
    size_t after_a = multi_heap_minimum_free_size(f->heap);
    assert_int_equal(after_a, multi_heap_free_size(f->heap));
    assert_true(after_a < start);
    multi_heap_free(f->heap, a);
    assert_int_equal(multi_heap_minimum_free_size(f->heap), after_a);
    void *b = multi_heap_malloc(f->heap, 10);
    assert_int_equal(multi_heap_minimum_free_size(f->heap), after_a);
    multi_heap_free(f->heap, b);
}

static void reset_minimum_returns_old_mark_and_restore_only_lowers(void **state)
{
    fixture_t *f = *state;
    void *a = multi_heap_malloc(f->heap, 2000);
    multi_heap_free(f->heap, a);
    size_t low = multi_heap_minimum_free_size(f->heap);
    size_t now = multi_heap_free_size(f->heap);
    assert_true(low < now);
    /* Reset and restore take the raw figure (without the poisoning adjustment). */
    assert_int_equal(multi_heap_reset_minimum_free_bytes(f->heap), low + TEST_POISON);
    assert_int_equal(multi_heap_minimum_free_size(f->heap), now);
    multi_heap_restore_minimum_free_bytes(f->heap, now + TEST_POISON + 100);
    assert_int_equal(multi_heap_minimum_free_size(f->heap), now);
    multi_heap_restore_minimum_free_bytes(f->heap, low + TEST_POISON);
    assert_int_equal(multi_heap_minimum_free_size(f->heap), low);
    assert_int_equal(multi_heap_reset_minimum_free_bytes(NULL), 0);
    multi_heap_restore_minimum_free_bytes(NULL, 0);
}

/* ---- free ------------------------------------------------------------ */

static void free_of_null_is_a_no_op(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    multi_heap_free(f->heap, NULL);
    multi_heap_free(NULL, NULL);
    multi_heap_aligned_free(f->heap, NULL);
    assert_int_equal(multi_heap_free_size(f->heap), before);
    assert_heap_intact(f->heap);
}

static void free_merges_with_both_neighbours(void **state)
{
    fixture_t *f = *state;
    void *a = multi_heap_malloc(f->heap, 100);
    void *b = multi_heap_malloc(f->heap, 100);
    void *c = multi_heap_malloc(f->heap, 100);
    size_t block = multi_heap_get_full_block_size(f->heap, a);
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    void *rest = multi_heap_malloc(f->heap, info.largest_free_block); /* nothing else is free */
    assert_non_null(rest);
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, c);
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.free_blocks, 2);
    multi_heap_free(f->heap, b);
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.free_blocks, 1);
    /* One block spanning all three, their two inner headers included. */
    size_t span = 3 * block + 2 * WORD - TEST_POISON;
    assert_int_equal(info.largest_free_block, span);
    assert_ptr_equal(multi_heap_malloc(f->heap, span), a);
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, rest);
    assert_heap_intact(f->heap);
}

/* ---- realloc --------------------------------------------------------- */

static void realloc_of_null_allocates(void **state)
{
    fixture_t *f = *state;
    void *p = multi_heap_realloc(f->heap, NULL, 40);
    assert_non_null(p);
    assert_true(multi_heap_get_allocated_size(f->heap, p) >= 40);
    assert_null(multi_heap_realloc(f->heap, NULL, 0));
    multi_heap_free(f->heap, p);
}

/* ESP-IDF's unpoisoned build frees the block but forgets to count it. */
static void realloc_to_zero_frees_and_counts_the_bytes(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    void *p = multi_heap_malloc(f->heap, 64);
    assert_null(multi_heap_realloc(f->heap, p, 0));
    assert_int_equal(multi_heap_free_size(f->heap), before);
    assert_accounting_exact(f->heap, f->size);
    assert_heap_intact(f->heap);
}

static void realloc_on_null_heap_returns_null(void **state)
{
    (void)state;
    assert_null(multi_heap_realloc(NULL, NULL, 16));
}

static void failed_realloc_keeps_the_block_and_its_contents(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = multi_heap_malloc(f->heap, 64);
    memset(p, 0x77, 64);
    size_t before = multi_heap_free_size(f->heap);
    assert_null(multi_heap_realloc(f->heap, p, SIZE_MAX));
    assert_null(multi_heap_realloc(f->heap, p, SIZE_MAX - 2));
    assert_null(multi_heap_realloc(f->heap, p, f->size));
    assert_int_equal(multi_heap_free_size(f->heap), before);
    for (int i = 0; i < 64; ++i) {
        assert_int_equal(p[i], 0x77);
    }
    multi_heap_free(f->heap, p);
    assert_heap_intact(f->heap);
}

/* Comprehensive poisoning never resizes in place: the block moves and its
 * data comes along. */
static void realloc_moves_keeping(multi_heap_handle_t heap, unsigned char **a, size_t kept,
                                  size_t size)
{
    memset(*a, 0x42, kept);
    unsigned char *moved = multi_heap_realloc(heap, *a, size);
    assert_non_null(moved);
    assert_ptr_not_equal(moved, *a);
    for (size_t i = 0; i < kept; ++i) {
        assert_int_equal(moved[i], 0x42);
    }
    *a = moved;
}

static void realloc_shrinks_in_place(void **state)
{
    fixture_t *f = *state;
    unsigned char *a = multi_heap_malloc(f->heap, 128);
    void *guard = multi_heap_malloc(f->heap, 16);
    if (TEST_COMPREHENSIVE) {
        realloc_moves_keeping(f->heap, &a, 64, 64);
        realloc_moves_keeping(f->heap, &a, 32, 32);
    } else {
        assert_ptr_equal(multi_heap_realloc(f->heap, a, 64), a);
        assert_ptr_equal(multi_heap_realloc(f->heap, a, 32), a);
        multi_heap_info_t info;
        multi_heap_get_info(f->heap, &info);
        assert_int_equal(info.allocated_blocks, 2);
        assert_int_equal(info.free_blocks, 2);
        assert_int_equal(info.total_allocated_bytes,
                         multi_heap_get_full_block_size(f->heap, a) - TEST_POISON +
                             multi_heap_get_full_block_size(f->heap, guard) - TEST_POISON);
    }
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, guard);
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    assert_int_equal(info.free_blocks, 1);
    assert_accounting_exact(f->heap, f->size);
}

static void realloc_grows_in_place_into_a_free_successor(void **state)
{
    fixture_t *f = *state;
    unsigned char *a = multi_heap_malloc(f->heap, 64);
    void *b = multi_heap_malloc(f->heap, 200);
    void *guard = multi_heap_malloc(f->heap, 16);
    memset(a, 0x42, 64);
    multi_heap_free(f->heap, b);
    if (TEST_COMPREHENSIVE) {
        realloc_moves_keeping(f->heap, &a, 64, 200);
    } else {
        assert_ptr_equal(multi_heap_realloc(f->heap, a, 200), a);
    }
    for (int i = 0; i < 64; ++i) {
        assert_int_equal(a[i], 0x42);
    }
    assert_heap_intact(f->heap);
    assert_accounting_exact(f->heap, f->size);
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, guard);
}

static void realloc_moves_when_blocked_and_keeps_contents(void **state)
{
    fixture_t *f = *state;
    uint32_t *a = multi_heap_malloc(f->heap, 64);
    void *b = multi_heap_malloc(f->heap, 32);
    assert_true((char *)b > (char *)a);
    for (int i = 0; i < 16; ++i) {
        a[i] = 0xC0DE0000u + (uint32_t)i;
    }
    uint32_t *c = multi_heap_realloc(f->heap, a, 72);
    assert_non_null(c);
    assert_true((char *)c > (char *)b);
    for (int i = 0; i < 16; ++i) {
        assert_int_equal(c[i], 0xC0DE0000u + (uint32_t)i);
    }
    /* The old block is free again: a request of its size lands there. */
    void *d = multi_heap_malloc(f->heap, 60);
    assert_ptr_equal(d, a);
    assert_null(multi_heap_realloc(f->heap, c, f->size));
    multi_heap_free(f->heap, b);
    multi_heap_free(f->heap, c);
    multi_heap_free(f->heap, d);
    assert_accounting_exact(f->heap, f->size);
}

/* Upstream TLSF fragments a heap under buffers that grow by realloc (2,214
 * failures on the growing-realloc benchmark at 4 MiB). A reduced version of
 * that workload must see no failure. */
static void growing_realloc_workload_never_fails(void **state)
{
    (void)state;
    const size_t size = 4u << 20;
    void *region = test_region(size);
    multi_heap_handle_t heap = multi_heap_register(region, size);
    enum { BUFFERS = 256, BACKGROUND = 16384 };
    static struct {
        unsigned char *p;
        size_t n, cap;
    } buf[BUFFERS];
    static void *bg[BACKGROUND];
    memset(buf, 0, sizeof(buf));
    memset(bg, 0, sizeof(bg));
    test_rng_t rng = {0x4444};
    size_t failures = 0;
    for (int step = 0; step < 150000; ++step) {
        size_t i = test_rng_next(&rng) % BUFFERS;
        size_t jitter = test_rng_next(&rng) % 64;
        size_t n0 = test_rng_range(&rng, 16, 64);
        size_t cap0 = test_rng_range(&rng, 256, 16384);
        uint64_t toggle = test_rng_next(&rng);
        size_t k = test_rng_next(&rng) % BACKGROUND;
        size_t bn = test_rng_range(&rng, 16, 128);
        if (!buf[i].p) {
            buf[i].p = multi_heap_malloc(heap, n0);
            failures += buf[i].p == NULL;
            buf[i].n = n0;
            buf[i].cap = cap0;
        } else if (buf[i].n < buf[i].cap) {
            size_t n = buf[i].n + buf[i].n / 2 + jitter;
            unsigned char *grown = multi_heap_realloc(heap, buf[i].p, n);
            if (grown) {
                buf[i].p = grown;
                buf[i].n = n;
            } else {
                ++failures;
                buf[i].cap = 0;
            }
        } else {
            multi_heap_free(heap, buf[i].p);
            buf[i].p = NULL;
        }
        if (toggle & 1) {
            if (bg[k]) {
                multi_heap_free(heap, bg[k]);
                bg[k] = NULL;
            } else {
                bg[k] = multi_heap_malloc(heap, bn);
                failures += bg[k] == NULL;
            }
        }
    }
    assert_int_equal(failures, 0);
    assert_heap_intact(heap);
    free(region);
}

/* ---- aligned allocation ---------------------------------------------- */

static void aligned_alloc_rejects_zero_and_non_power_of_two_alignments(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    for (size_t alignment = 0; alignment <= 256; ++alignment) {
        if (alignment && !(alignment & (alignment - 1))) {
            continue;
        }
        assert_null(multi_heap_aligned_alloc(f->heap, 64, alignment));
    }
    assert_null(multi_heap_aligned_alloc(f->heap, 0, 16));
    assert_null(multi_heap_aligned_alloc(NULL, 16, 16));
    assert_int_equal(multi_heap_free_size(f->heap), before);
}

static void aligned_alloc_honours_every_power_of_two(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    for (size_t alignment = 1; alignment <= 4096; alignment <<= 1) {
        char *p = multi_heap_aligned_alloc(f->heap, alignment + 137, alignment);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % alignment, 0);
        assert_true(p > (char *)f->region && p + alignment + 137 <= (char *)f->region + f->size);
        memset(p, 0xA5, alignment + 137);
        assert_heap_intact(f->heap);
        multi_heap_free(f->heap, p);
    }
    assert_int_equal(multi_heap_free_size(f->heap), before);
    assert_heap_intact(f->heap);
}

static void aligned_alloc_offs_aligns_pointer_plus_offset(void **state)
{
    fixture_t *f = *state;
    const size_t offsets[] = {0, 4, 8, 12, 16, 3, 40};
    void *live[7 * 4];
    int count = 0;
    for (size_t i = 0; i < 7; ++i) {
        for (size_t alignment = 16; alignment <= 128; alignment <<= 1) {
            char *p = multi_heap_aligned_alloc_offs(f->heap, 50, alignment, offsets[i]);
            assert_non_null(p);
            size_t rounded = (offsets[i] + WORD - 1) & ~(WORD - 1);
            assert_int_equal((uintptr_t)(p + rounded) % alignment, 0);
            live[count++] = p;
        }
    }
    assert_heap_intact(f->heap);
    assert_accounting_exact(f->heap, f->size);
    for (int i = 0; i < count; ++i) {
        multi_heap_free(f->heap, live[i]);
    }
    assert_int_equal(multi_heap_free_size(f->heap),
                     test_less_poison(f->size - heapcaps_multi_heap_overhead(f->heap)));
}

static void aligned_alloc_larger_than_the_heap_fails_cleanly(void **state)
{
    fixture_t *f = *state;
    size_t before = multi_heap_free_size(f->heap);
    assert_null(multi_heap_aligned_alloc(f->heap, 64, (size_t)1 << 28));
    assert_null(multi_heap_aligned_alloc(f->heap, 64, (SIZE_MAX >> 1) + 1));
    assert_null(multi_heap_aligned_alloc(f->heap, SIZE_MAX, 16));
    assert_null(multi_heap_aligned_alloc_offs(f->heap, 64, 16, SIZE_MAX));
    assert_int_equal(multi_heap_free_size(f->heap), before);
    assert_heap_intact(f->heap);
}

typedef struct {
    void *block;
    size_t size;
    int used;
} found_block_t;

static bool find_block(void *block, size_t size, int used, void *user)
{
    found_block_t *found = user;
    if (block == found->block) {
        found->size = size;
        found->used = used;
        return false;
    }
    return true;
}

/* Two neighbouring blocks freed: one free block spans both, and exactly its
 * size can be allocated again. */
static void two_adjacent_blocks_give_back_their_whole_span(void **state)
{
    fixture_t *f = *state;
    char *a = multi_heap_aligned_alloc(f->heap, 50, 4);
    char *b = multi_heap_aligned_alloc(f->heap, 50, 4);
    assert_true(b > a);
    size_t span = (size_t)(b - a) + multi_heap_get_full_block_size(f->heap, b) - TEST_POISON;
    void *guard = multi_heap_malloc(f->heap, 8);
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, b);
    found_block_t found = {TEST_MH_BLOCK(a), 0, 1};
    multi_heap_walk(f->heap, find_block, &found);
    assert_false(found.used);
    assert_int_equal(found.size, span + TEST_POISON);
    /* Fill everything else, so that the request can only land there. */
    multi_heap_info_t info;
    multi_heap_get_info(f->heap, &info);
    void *rest = multi_heap_malloc(f->heap, info.largest_free_block);
    assert_non_null(rest);
    assert_ptr_equal(multi_heap_malloc(f->heap, span), a);
    multi_heap_free(f->heap, rest);
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, guard);
    assert_heap_intact(f->heap);
}

/* ---- sizes, walk, find, dump ----------------------------------------- */

static void allocated_size_is_zero_for_null_and_full_size_matches(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(multi_heap_get_allocated_size(f->heap, NULL), 0);
    assert_int_equal(multi_heap_get_full_block_size(f->heap, NULL), 0);
    void *p = multi_heap_malloc(f->heap, 10);
    if (TEST_POISON) {
        /* The bytes before the tail canary; the block holds head and tail too. */
        assert_int_equal(multi_heap_get_allocated_size(f->heap, p), 10);
        assert_int_equal(multi_heap_get_full_block_size(f->heap, p),
                         (10 + TEST_POISON + WORD - 1) & ~(WORD - 1));
    } else {
        assert_int_equal(multi_heap_get_allocated_size(f->heap, p), 3 * WORD > 12 ? 3 * WORD : 12);
        assert_int_equal(multi_heap_get_full_block_size(f->heap, p),
                         multi_heap_get_allocated_size(f->heap, p));
    }
    multi_heap_free(f->heap, p);
}

typedef struct {
    char *last_end;
    size_t blocks, used, bytes, stop_after;
} walk_record_t;

static bool record_block(void *block, size_t size, int used, void *user)
{
    walk_record_t *r = user;
    char *p = block;
    if (r->last_end) {
        assert_ptr_equal(p, r->last_end + WORD); /* blocks are contiguous */
    }
    r->last_end = p + size;
    r->blocks++;
    r->used += used ? 1 : 0;
    r->bytes += size + WORD;
    return r->blocks != r->stop_after;
}

static void walk_visits_every_block_in_address_order(void **state)
{
    fixture_t *f = *state;
    void *a = multi_heap_malloc(f->heap, 100);
    void *b = multi_heap_malloc(f->heap, 200);
    void *c = multi_heap_malloc(f->heap, 300);
    multi_heap_free(f->heap, b);
    walk_record_t r = {NULL, 0, 0, 0, 0};
    multi_heap_walk(f->heap, record_block, &r);
    assert_int_equal(r.blocks, 4);
    assert_int_equal(r.used, 2);
    /* Every byte but the fixed overhead is in some block, header included. */
    assert_int_equal(r.bytes, f->size - heapcaps_multi_heap_overhead(f->heap));
    walk_record_t stop = {NULL, 0, 0, 0, 2};
    multi_heap_walk(f->heap, record_block, &stop);
    assert_int_equal(stop.blocks, 2);
    multi_heap_walk(NULL, record_block, &stop);
    multi_heap_walk(f->heap, NULL, NULL);
    multi_heap_free(f->heap, a);
    multi_heap_free(f->heap, c);
}

static void find_containing_block_maps_interior_pointers_to_their_block(void **state)
{
    fixture_t *f = *state;
    char *a = multi_heap_malloc(f->heap, 100);
    char *b = multi_heap_malloc(f->heap, 100);
    assert_ptr_equal(multi_heap_find_containing_block(f->heap, a), a);
    assert_ptr_equal(multi_heap_find_containing_block(f->heap, a + 57), a);
    assert_ptr_equal(multi_heap_find_containing_block(f->heap, a + 99), a);
    assert_ptr_equal(multi_heap_find_containing_block(f->heap, b + 1), b);
    multi_heap_free(f->heap, b);
    assert_null(multi_heap_find_containing_block(f->heap, b + 1));
    assert_null(multi_heap_find_containing_block(f->heap, (char *)f->region - 64));
    assert_null(multi_heap_find_containing_block(NULL, a));
    multi_heap_free(f->heap, a);
}

static void dump_heap(void *heap)
{
    multi_heap_dump(heap);
}

static void dump_prints_the_heap_then_one_line_per_block(void **state)
{
    fixture_t *f = *state;
    void *a = multi_heap_malloc(f->heap, 64);
    char out[1024];
    capture_output(2, dump_heap, f->heap, out, sizeof(out));
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "Showing data for heap: %p \nBlock %p data, size: %d bytes, Free: No \n"
             "Block %p data, size: %d bytes, Free: Yes \n",
             (void *)f->heap, TEST_MH_BLOCK(a), (int)multi_heap_get_full_block_size(f->heap, a),
             (void *)((char *)TEST_MH_BLOCK(a) + multi_heap_get_full_block_size(f->heap, a) + WORD),
             (int)(test_raw_free(f->heap) - WORD));
    assert_string_equal(out, expected);
    multi_heap_free(f->heap, a);
    multi_heap_dump(NULL);
}

static void check_heap_printing(void *heap)
{
    assert_false(multi_heap_check(heap, true));
}

static void check_reports_a_damaged_size_word(void **state)
{
    fixture_t *f = *state;
    size_t *p = multi_heap_malloc(f->heap, 64);
    void *q = multi_heap_malloc(f->heap, 64);
    assert_true(multi_heap_check(f->heap, true));
    size_t saved = p[-1];
    p[-1] = (size_t)1 << 30; /* a size running far past the heap */
    char out[512];
    capture_output(2, check_heap_printing, f->heap, out, sizeof(out));
    assert_non_null(strstr(out, "CORRUPT HEAP: "));
    assert_false(multi_heap_check(f->heap, false));
    p[-1] = saved;
    assert_true(multi_heap_check(f->heap, false));
    multi_heap_free(f->heap, p);
    multi_heap_free(f->heap, q);
    assert_false(multi_heap_check(NULL, false));
}

static void set_lock_on_null_heap_is_ignored(void **state)
{
    (void)state;
    multi_heap_set_lock(NULL, NULL);
}

#define HEAP_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown_fixture)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_returns_handle_equal_to_start),
        cmocka_unit_test(register_rejects_null_start),
        cmocka_unit_test(register_rejects_misaligned_start),
        cmocka_unit_test(register_rejects_region_below_minimum_size),
        cmocka_unit_test(register_accepts_every_size_from_the_minimum),
        HEAP_TEST(fresh_heap_has_one_free_block_and_exact_figures, setup_4k),
        HEAP_TEST(fresh_heap_has_one_free_block_and_exact_figures, setup_256k),
        HEAP_TEST(fresh_256k_heap_serves_at_least_253952_bytes, setup_256k),
        HEAP_TEST(malloc_of_zero_returns_null, setup_4k),
        cmocka_unit_test(malloc_on_null_heap_returns_null),
        HEAP_TEST(malloc_of_huge_or_overflowing_sizes_returns_null, setup_4k),
        HEAP_TEST(malloc_returns_word_aligned_memory_inside_the_heap, setup_64k),
        HEAP_TEST(exhausted_heap_returns_null_and_stays_intact, setup_4k),
        HEAP_TEST(half_the_heap_twice_fails_then_succeeds_after_free, setup_4k),
        HEAP_TEST(fragmented_heap_refuses_a_request_larger_than_any_gap, setup_4k),
        HEAP_TEST(freed_block_is_reused_by_smaller_requests, setup_4k),
        HEAP_TEST(tiny_allocations_fill_the_heap_and_all_come_back, setup_4k),
        HEAP_TEST(freed_block_serves_the_next_request_of_its_size, setup_64k),
        HEAP_TEST(largest_free_block_is_exactly_the_largest_request_served, setup_64k),
        HEAP_TEST(allocation_takes_its_block_and_one_header_word, setup_4k),
        HEAP_TEST(get_info_counts_exactly_the_requested_bytes, setup_4k),
        cmocka_unit_test(get_info_with_null_heap_is_all_zero),
        HEAP_TEST(minimum_free_falls_with_allocation_and_never_rises, setup_4k),
        HEAP_TEST(reset_minimum_returns_old_mark_and_restore_only_lowers, setup_4k),
        HEAP_TEST(free_of_null_is_a_no_op, setup_4k),
        HEAP_TEST(free_merges_with_both_neighbours, setup_4k),
        HEAP_TEST(realloc_of_null_allocates, setup_4k),
        HEAP_TEST(realloc_to_zero_frees_and_counts_the_bytes, setup_4k),
        cmocka_unit_test(realloc_on_null_heap_returns_null),
        HEAP_TEST(failed_realloc_keeps_the_block_and_its_contents, setup_4k),
        HEAP_TEST(realloc_shrinks_in_place, setup_4k),
        HEAP_TEST(realloc_grows_in_place_into_a_free_successor, setup_4k),
        HEAP_TEST(realloc_moves_when_blocked_and_keeps_contents, setup_4k),
        cmocka_unit_test(growing_realloc_workload_never_fails),
        HEAP_TEST(aligned_alloc_rejects_zero_and_non_power_of_two_alignments, setup_4k),
        HEAP_TEST(aligned_alloc_honours_every_power_of_two, setup_64k),
        HEAP_TEST(aligned_alloc_offs_aligns_pointer_plus_offset, setup_64k),
        HEAP_TEST(aligned_alloc_larger_than_the_heap_fails_cleanly, setup_4k),
        HEAP_TEST(two_adjacent_blocks_give_back_their_whole_span, setup_4k),
        HEAP_TEST(allocated_size_is_zero_for_null_and_full_size_matches, setup_4k),
        HEAP_TEST(walk_visits_every_block_in_address_order, setup_4k),
        HEAP_TEST(find_containing_block_maps_interior_pointers_to_their_block, setup_4k),
        HEAP_TEST(dump_prints_the_heap_then_one_line_per_block, setup_4k),
        HEAP_TEST(check_reports_a_damaged_size_word, setup_4k),
        cmocka_unit_test(set_lock_on_null_heap_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
