/*
 * test_coverage_tlsf.c — the allocator core's structural check, one case per
 * kind of damage it names (the control block's bitmaps and lists, the block
 * chain), and the core's own entry points that multi_heap does not use:
 * tlsf_realloc, the bounded fallback scan, the plausibility checks of a
 * pointer handed back.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "test_support.h"

#include "tlsf/tlsf_block.h"
#include "tlsf/tlsf_ops.h"

#define WORD sizeof(size_t)

static void *region;

static tlsf_t *new_core(size_t bytes)
{
    region = test_region(bytes);
    tlsf_t *t = tlsf_create(region, bytes);
    assert_non_null(t);
    return t;
}

static int release_region(void **state)
{
    (void)state;
    free(region);
    region = NULL;
    return 0;
}

static void set_class_bit(tlsf_t *t, unsigned index)
{
    t->sl_bitmap[index >> TLSF_SL_LOG2] |= (uint16_t)(1u << (index & (TLSF_SL_COUNT - 1)));
    t->fl_bitmap |= 1u << (index >> TLSF_SL_LOG2);
}

static void expect_fault(const tlsf_t *t, const void *address, const char *problem)
{
    tlsf_fault_t fault = {NULL, NULL};
    assert_false(tlsf_check(t, &fault));
    assert_non_null(fault.problem);
    assert_string_equal(fault.problem, problem);
    assert_ptr_equal(fault.address, address);
}

/* A pool of blocks a, b, c, d (4, 8, 12 and 8 words) and the free rest,
 * with a and c freed: three free blocks, each alone in its class. */
typedef struct {
    tlsf_block_t *a, *b, *c, *d;
} shaped_t;

static shaped_t shaped_pool(tlsf_t *t)
{
    char *a = tlsf_malloc(t, 4 * WORD);
    char *b = tlsf_malloc(t, 8 * WORD);
    char *c = tlsf_malloc(t, 12 * WORD);
    char *d = tlsf_malloc(t, 8 * WORD);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    tlsf_free(t, a);
    tlsf_free(t, c);
    assert_true(tlsf_check(t, NULL));
    return (shaped_t){tlsf_block_from_payload(a), tlsf_block_from_payload(b),
                      tlsf_block_from_payload(c), tlsf_block_from_payload(d)};
}

/* ---- the control block's bitmaps -------------------------------------- */

static void check_reports_level_bits_past_the_last_level(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    unsigned levels = t->index_count >> TLSF_SL_LOG2;
    assert_true(levels < 32);
    t->fl_bitmap |= 1u << levels;
    expect_fault(t, &t->fl_bitmap, "level bitmap has bits beyond the last level");
    t->fl_bitmap &= ~(1u << levels);
    assert_true(tlsf_check(t, NULL));
}

static void check_reports_a_level_bit_without_classes(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    /* A fresh pool has one free block, in a high class: level 0 is empty. */
    assert_int_equal(t->sl_bitmap[0], 0);
    t->fl_bitmap |= 1u;
    expect_fault(t, &t->fl_bitmap, "level bitmap disagrees with a class bitmap");
    t->fl_bitmap &= ~1u;
    assert_true(tlsf_check(t, NULL));
}

static void check_reports_a_class_bit_without_a_list(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    unsigned index = 3; /* a small class, empty in a fresh pool */
    assert_null(t->heads[index]);
    set_class_bit(t, index);
    expect_fault(t, &t->heads[index], "class bitmap disagrees with its list");
}

/* ---- the free lists ------------------------------------------------------ */

static void check_reports_a_list_longer_than_the_free_count(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    /* One free block only: the whole pool. A list entry pointing at itself
     * with an intact back link is counted twice before anything else is
     * wrong. */
    tlsf_block_t *only = t->first;
    assert_true(tlsf_block_is_free(only));
    only->next_free = only;
    expect_fault(t, only, "free lists hold more blocks than the heap has free");
    only->next_free = NULL;
    assert_true(tlsf_check(t, NULL));
}

static void check_reports_an_allocated_block_in_a_free_list(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    shaped_t s = shaped_pool(t);
    assert_null(s.a->next_free); /* a is alone in its class */
    tlsf_block_t *saved = s.a->next_free;
    s.a->next_free = s.b; /* b is allocated */
    s.b->prev_free = s.a; /* what its links would say if it were free */
    expect_fault(t, s.b, "allocated block in a free list");
    s.a->next_free = saved;
    assert_true(tlsf_check(t, NULL));
}

static void check_reports_a_free_block_in_the_wrong_class(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    shaped_t s = shaped_pool(t);
    unsigned index = tlsf_class_of(tlsf_block_size(s.a));
    assert_ptr_equal(t->heads[index], s.a);
    assert_null(s.a->next_free);
    /* a moves to the next class's list (empty: a small class). */
    unsigned other = index + 1;
    assert_null(t->heads[other]);
    t->heads[index] = NULL;
    tlsf_list_mark_empty(t, index);
    t->heads[other] = s.a;
    set_class_bit(t, other);
    expect_fault(t, s.a, "free block in the wrong size-class list");
}

static void check_reports_a_free_block_missing_from_the_lists(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    shaped_t s = shaped_pool(t);
    unsigned index = tlsf_class_of(tlsf_block_size(s.a));
    assert_ptr_equal(t->heads[index], s.a);
    assert_null(s.a->next_free);
    t->heads[index] = NULL;
    tlsf_list_mark_empty(t, index);
    expect_fault(t, t->first, "a free block is missing from the free lists");
}

static void check_reports_links_that_no_header_can_be_read_at(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    shaped_t s = shaped_pool(t);
    tlsf_block_t *saved = s.a->next_free;
    /* Misaligned; below the first block; too close to the end for a header. */
    tlsf_block_t *bad[] = {
        (tlsf_block_t *)(void *)((char *)s.c + 1),
        (tlsf_block_t *)(void *)t,
        (tlsf_block_t *)(void *)((char *)t->sentinel + WORD),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        s.a->next_free = bad[i];
        expect_fault(t, &s.a->next_free, "free-list link points outside the heap");
    }
    s.a->next_free = saved;
    /* A list head itself: the fault is the head's slot. */
    unsigned index = tlsf_class_of(tlsf_block_size(s.a));
    t->heads[index] = bad[0];
    expect_fault(t, &t->heads[index], "free-list link points outside the heap");
    t->heads[index] = s.a;
    assert_true(tlsf_check(t, NULL));
}

/* ---- the block chain ---------------------------------------------------- */

static void check_reports_two_adjacent_free_blocks(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    shaped_t s = shaped_pool(t);
    /* b follows free a: marked free too, the two were never merged. */
    s.b->header |= TLSF_BLOCK_FREE;
    expect_fault(t, s.b, "two adjacent free blocks");
    s.b->header &= ~TLSF_BLOCK_FREE;
    assert_true(tlsf_check(t, NULL));
}

static size_t visited;

static bool count_block(void *payload, size_t size, bool used, void *user)
{
    (void)payload, (void)size, (void)used, (void)user;
    ++visited;
    return true;
}

static void walk_stops_at_a_size_word_leaving_the_pool(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    shaped_t s = shaped_pool(t);
    visited = 0;
    tlsf_walk(t, count_block, NULL);
    assert_int_equal(visited, 5); /* a, b, c, d and the free rest */
    size_t saved = s.b->header;
    s.b->header = ((size_t)1 << 28) | (saved & TLSF_FLAGS);
    visited = 0;
    tlsf_walk(t, count_block, NULL);
    assert_int_equal(visited, 2); /* a, then b, whose size leaves the pool */
    s.b->header = saved;
    assert_true(tlsf_check(t, NULL));
}

/* ---- pointers handed back ------------------------------------------------ */

static void plausibility_check_reads_the_size_word(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    size_t *p = tlsf_malloc(t, 32 * WORD);
    assert_non_null(p);
    assert_true(tlsf_is_allocated_payload(t, p));
    /* Inside a live block: a word that looks like the header of an
     * allocated block too small to be one, then of one too large for the
     * room left before the end marker. */
    p[3] = WORD; /* allocated, 1 word: below the minimum payload */
    assert_false(tlsf_is_allocated_payload(t, &p[4]));
    p[3] = (size_t)1 << 20; /* allocated, past the end of the pool */
    assert_false(tlsf_is_allocated_payload(t, &p[4]));
    p[3] = 8 * WORD; /* allocated, 8 words: plausible */
    assert_true(tlsf_is_allocated_payload(t, &p[4]));
    assert_false(tlsf_pool_contains(t, (char *)t->first - WORD));
    assert_true(tlsf_pool_contains(t, t->first));
    assert_false(tlsf_pool_contains(t, t->sentinel));
    tlsf_free(t, p);
    assert_true(tlsf_check(t, NULL));
}

/* ---- the core's realloc ------------------------------------------------ */

static void realloc_grows_in_place_shrinks_and_moves(void **state)
{
    (void)state;
    tlsf_t *t = new_core(4096);
    unsigned char *a = tlsf_malloc(t, 64);
    assert_non_null(a);
    for (unsigned i = 0; i < 64; ++i) {
        a[i] = (unsigned char)i;
    }
    size_t free_before = tlsf_largest_request(t);
    /* Grows into the free rest behind it: the same pointer. */
    assert_ptr_equal(tlsf_realloc(t, a, 256), a);
    assert_int_equal(tlsf_block_size_of(a), 256);
    assert_true(tlsf_check(t, NULL));
    /* Shrinks: the tail goes back and merges with the free rest. */
    assert_ptr_equal(tlsf_realloc(t, a, 64), a);
    assert_int_equal(tlsf_block_size_of(a), 64);
    assert_int_equal(tlsf_largest_request(t), free_before);
    assert_true(tlsf_check(t, NULL));
    /* A neighbour in the way: it moves, with the bytes. */
    void *wall = tlsf_malloc(t, 64);
    assert_non_null(wall);
    unsigned char *moved = tlsf_realloc(t, a, 512);
    assert_non_null(moved);
    assert_ptr_not_equal(moved, a);
    for (unsigned i = 0; i < 64; ++i) {
        assert_int_equal(moved[i], i);
    }
    assert_true(tlsf_check(t, NULL));
    /* Too large for the pool: NULL, the block stays. */
    assert_null(tlsf_realloc(t, moved, 1u << 20));
    assert_true(tlsf_is_allocated_payload(t, moved));
    assert_int_equal(moved[63], 63);
    tlsf_free(t, moved);
    tlsf_free(t, wall);
    assert_int_equal(tlsf_largest_request(t), tlsf_initial_free_payload(t));
    assert_true(tlsf_check(t, NULL));
}

/* ---- the bounded fallback scan ------------------------------------------ */

static void fallback_scan_looks_at_a_few_blocks_of_the_class(void **state)
{
    (void)state;
    /* Sizes of one class that holds more than one size: base and base + 1
     * word (classes above TLSF_SMALL span several words). */
    const size_t base = 2 * TLSF_SMALL;
    assert_int_equal(tlsf_class_of(base), tlsf_class_of(base + WORD));
    enum { SMALL_BLOCKS = TLSF_FALLBACK_SCAN + 1 };
    tlsf_t *t = new_core(64 * 1024);
    void *blocks[SMALL_BLOCKS], *walls[SMALL_BLOCKS + 1];
    for (int i = 0; i < SMALL_BLOCKS; ++i) {
        walls[i] = tlsf_malloc(t, 4 * WORD);
        blocks[i] = tlsf_malloc(t, base);
        assert_non_null(walls[i]);
        assert_non_null(blocks[i]);
    }
    /* A fitting block (base + 1 word) behind them in the same class. */
    walls[SMALL_BLOCKS] = tlsf_malloc(t, 4 * WORD);
    void *fitting = tlsf_malloc(t, base + WORD);
    assert_non_null(walls[SMALL_BLOCKS]);
    assert_non_null(fitting);
    /* The rest of the pool taken: no free block of a higher class. */
    void *rest = tlsf_malloc(t, tlsf_largest_request(t));
    assert_non_null(rest);
    assert_int_equal(tlsf_largest_request(t), 0);
    /* Freed in this order, each lower one goes behind the list's head:
     * the fitting block first, then the five small ones in front of it. */
    tlsf_free(t, fitting);
    for (int i = SMALL_BLOCKS - 1; i >= 0; --i) {
        tlsf_free(t, blocks[i]);
    }
    assert_true(tlsf_check(t, NULL));
    /* A request of base + 1 word: no higher class has a block, and the
     * scan of its own class stops after TLSF_FALLBACK_SCAN small blocks. */
    assert_null(tlsf_malloc(t, base + WORD));
    /* base fits any of them. */
    void *p = tlsf_malloc(t, base);
    assert_non_null(p);
    tlsf_free(t, p);
    assert_true(tlsf_check(t, NULL));
}

#define TLSF_TEST(fn) cmocka_unit_test_teardown(fn, release_region)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TLSF_TEST(check_reports_level_bits_past_the_last_level),
        TLSF_TEST(check_reports_a_level_bit_without_classes),
        TLSF_TEST(check_reports_a_class_bit_without_a_list),
        TLSF_TEST(check_reports_a_list_longer_than_the_free_count),
        TLSF_TEST(check_reports_an_allocated_block_in_a_free_list),
        TLSF_TEST(check_reports_a_free_block_in_the_wrong_class),
        TLSF_TEST(check_reports_a_free_block_missing_from_the_lists),
        TLSF_TEST(check_reports_links_that_no_header_can_be_read_at),
        TLSF_TEST(check_reports_two_adjacent_free_blocks),
        TLSF_TEST(walk_stops_at_a_size_word_leaving_the_pool),
        TLSF_TEST(plausibility_check_reads_the_size_word),
        TLSF_TEST(realloc_grows_in_place_shrinks_and_moves),
        TLSF_TEST(fallback_scan_looks_at_a_few_blocks_of_the_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
