/*
 * test_multi_heap_model.c — randomized model test of multi_heap: thousands of
 * mixed operations on heaps from a few hundred bytes to 8 MiB, each checked
 * against a model the test keeps itself (live blocks, their contents, their
 * sizes), with the structural check and the accounting identity after every
 * operation.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "test_support.h"

#define SLOTS 96

typedef struct {
    unsigned char *p;
    size_t size;        /* bytes the test may use */
    unsigned char fill; /* every byte of the block holds this */
} slot_t;

typedef struct {
    multi_heap_handle_t heap;
    char *region;
    size_t region_size;
    slot_t slots[SLOTS];
    size_t model_taken; /* sum of (block size + header) over live blocks */
    size_t model_minimum_free;
    size_t initial_free;
} model_t;

static void fill_block(slot_t *s, unsigned char value)
{
    s->fill = value;
    memset(s->p, value, s->size);
}

static void assert_block_holds(const slot_t *s, size_t bytes)
{
    for (size_t i = 0; i < bytes; ++i) {
        if (s->p[i] != s->fill) {
            fail_msg("block %p byte %zu is 0x%02x, expected 0x%02x", (void *)s->p, i, s->p[i],
                     s->fill);
        }
    }
}

static size_t taken_by(const model_t *m, const void *p)
{
    return multi_heap_get_full_block_size(m->heap, (void *)p) + tlsf_block_overhead();
}

static void note_taken(model_t *m, size_t bytes)
{
    m->model_taken += bytes;
    size_t free_now = m->initial_free - m->model_taken; /* raw: before the poisoning figure */
    if (free_now < m->model_minimum_free) {
        m->model_minimum_free = free_now;
    }
}

static void assert_matches_model(const model_t *m)
{
    assert_heap_intact(m->heap);
    assert_accounting_exact(m->heap, m->region_size);
    assert_int_equal(multi_heap_free_size(m->heap),
                     test_less_poison(m->initial_free - m->model_taken));
    assert_int_equal(multi_heap_minimum_free_size(m->heap),
                     test_less_poison(m->model_minimum_free));
    size_t live = 0;
    for (int i = 0; i < SLOTS; ++i) {
        const slot_t *s = &m->slots[i];
        if (!s->p) {
            continue;
        }
        ++live;
        assert_true(s->p >= (unsigned char *)m->region &&
                    s->p + s->size <= (unsigned char *)m->region + m->region_size);
        assert_true(multi_heap_get_allocated_size(m->heap, s->p) >= s->size);
    }
    multi_heap_info_t info;
    multi_heap_get_info(m->heap, &info);
    assert_int_equal(info.allocated_blocks, live);
}

/* Live blocks never overlap (checked on the sorted list of starts). */
static int by_address(const void *a, const void *b)
{
    const slot_t *x = a, *y = b;
    return (x->p > y->p) - (x->p < y->p);
}

static void assert_no_overlap(const model_t *m)
{
    slot_t sorted[SLOTS];
    size_t n = 0;
    for (int i = 0; i < SLOTS; ++i) {
        if (m->slots[i].p) {
            sorted[n++] = m->slots[i];
        }
    }
    qsort(sorted, n, sizeof(sorted[0]), by_address);
    for (size_t i = 1; i < n; ++i) {
        assert_true(sorted[i - 1].p + sorted[i - 1].size <= sorted[i].p);
    }
}

static size_t random_size(test_rng_t *rng, size_t region_size)
{
    size_t cap = region_size / 8 > 4 ? region_size / 8 : 4;
    switch (test_rng_next(rng) % 8) {
    case 0:
        return test_rng_range(rng, 0, 16);
    case 1:
        return test_rng_range(rng, 1, cap);
    case 2:
        return test_rng_range(rng, 1, region_size); /* usually too big */
    default:
        return test_rng_range(rng, 1, cap < 1024 ? cap : 1024);
    }
}

static void run_model(size_t region_size, uint64_t seed, int operations)
{
    model_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->region_size = region_size;
    m->region = test_region(region_size);
    m->heap = multi_heap_register(m->region, region_size);
    assert_non_null(m->heap);
    m->initial_free = test_raw_free(m->heap);
    m->model_minimum_free = m->initial_free;
    test_rng_t rng = {seed};
    for (int op = 0; op < operations; ++op) {
        slot_t *s = &m->slots[test_rng_next(&rng) % SLOTS];
        unsigned kind = (unsigned)(test_rng_next(&rng) % 10);
        unsigned char value = (unsigned char)(op * 7 + 1);
        if (!s->p && kind < 6) {
            size_t size = random_size(&rng, region_size);
            s->p = multi_heap_malloc(m->heap, size);
            if (s->p) {
                assert_int_equal((uintptr_t)s->p % sizeof(size_t), 0);
                s->size = size;
                note_taken(m, taken_by(m, s->p));
                fill_block(s, value);
            }
        } else if (!s->p) {
            size_t alignment = (size_t)1 << test_rng_range(&rng, 0, 9);
            size_t size = random_size(&rng, region_size);
            s->p = multi_heap_aligned_alloc(m->heap, size, alignment);
            if (s->p) {
                assert_int_equal((uintptr_t)s->p % alignment, 0);
                s->size = size;
                note_taken(m, taken_by(m, s->p));
                fill_block(s, value);
            }
        } else if (kind < 5) {
            assert_block_holds(s, s->size);
            m->model_taken -= taken_by(m, s->p);
            multi_heap_free(m->heap, s->p);
            s->p = NULL;
        } else {
            size_t size = random_size(&rng, region_size);
            if (size == 0) {
                size = 1;
            }
            size_t old_taken = taken_by(m, s->p);
            unsigned char *q = multi_heap_realloc(m->heap, s->p, size);
            if (q) {
                s->p = q;
                assert_block_holds(s, size < s->size ? size : s->size);
                if (TEST_COMPREHENSIVE) {
                    /* Comprehensive realloc allocates the new block before
                     * it frees the old one: both are held for a moment. */
                    note_taken(m, taken_by(m, q));
                    m->model_taken -= old_taken;
                } else {
                    m->model_taken -= old_taken;
                    note_taken(m, taken_by(m, q));
                }
                s->size = size;
                fill_block(s, value);
            } else {
                assert_block_holds(s, s->size); /* untouched on failure */
            }
        }
        assert_matches_model(m);
        if (op % 16 == 0) {
            assert_no_overlap(m);
            assert_largest_is_exact(m->heap);
        }
    }
    for (int i = 0; i < SLOTS; ++i) {
        if (m->slots[i].p) {
            assert_block_holds(&m->slots[i], m->slots[i].size);
            multi_heap_free(m->heap, m->slots[i].p);
        }
    }
    multi_heap_info_t info;
    multi_heap_get_info(m->heap, &info);
    assert_int_equal(info.total_free_bytes, test_less_poison(m->initial_free));
    assert_int_equal(info.free_blocks, 1);
    assert_int_equal(info.allocated_blocks, 0);
    assert_heap_intact(m->heap);
    free(m->region);
    free(m);
}

static void model_holds_on_a_300_byte_heap(void **state)
{
    (void)state;
    run_model(300, 0x300, 4000);
}

static void model_holds_on_a_4k_heap(void **state)
{
    (void)state;
    run_model(4096, 0x4096, 6000);
}

static void model_holds_on_a_15k_heap(void **state)
{
    (void)state;
    run_model(15 * 1024, 0x15, 6000);
}

static void model_holds_on_a_255k_heap(void **state)
{
    (void)state;
    run_model(255 * 1024, 0x255, 5000);
}

static void model_holds_on_a_1m_heap(void **state)
{
    (void)state;
    run_model(1024 * 1024 + 36, 0x1001, 3000);
}

static void model_holds_on_an_8m_heap(void **state)
{
    (void)state;
    run_model(8 * 1024 * 1024, 0x8888, 1500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_holds_on_a_300_byte_heap),
        cmocka_unit_test(model_holds_on_a_4k_heap),
        cmocka_unit_test(model_holds_on_a_15k_heap),
        cmocka_unit_test(model_holds_on_a_255k_heap),
        cmocka_unit_test(model_holds_on_a_1m_heap),
        cmocka_unit_test(model_holds_on_an_8m_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
