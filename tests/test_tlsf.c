/*
 * test_tlsf.c — the allocator core on its own: sizing of the control block,
 * bounded behaviour, and a structural check that finds damage without ever
 * leaving the pool or looping.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "test_support.h"

#include "tlsf/tlsf_block.h"

#define WORD sizeof(size_t)

static tlsf_t *new_core(size_t bytes, void **region)
{
    *region = test_region(bytes);
    tlsf_t *t = tlsf_create(*region, bytes);
    assert_non_null(t);
    return t;
}

static void control_block_is_no_larger_than_esp_idf_at_256k(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(256 * 1024, &region);
    if (sizeof(size_t) == 4) {
        /* ESP-IDF's TLSF control block for a 256 KiB pool is 988 bytes. */
        assert_true(tlsf_control_size(t) <= 988);
    } else {
        assert_true(tlsf_control_size(t) <= 2 * 988);
    }
    assert_int_equal(tlsf_initial_free_payload(t), 256 * 1024 - tlsf_control_size(t) - 2 * WORD);
    free(region);
}

static void control_block_grows_with_the_pool_not_beyond(void **state)
{
    (void)state;
    size_t previous = 0;
    for (size_t bytes = 512; bytes <= ((size_t)8 << 20); bytes *= 2) {
        void *region;
        tlsf_t *t = new_core(bytes, &region);
        assert_true(tlsf_control_size(t) >= previous);
        assert_true(tlsf_control_size(t) < bytes / 2 || bytes <= 2048);
        previous = tlsf_control_size(t);
        assert_true(tlsf_check(t, NULL));
        free(region);
    }
}

static void create_rejects_unaligned_null_and_tiny_areas(void **state)
{
    (void)state;
    char *region = test_region(4096);
    assert_null(tlsf_create(NULL, 4096));
    assert_null(tlsf_create(region + 1, 4000));
    assert_null(tlsf_create(region, tlsf_min_create_size() - 1));
    assert_non_null(tlsf_create(region, tlsf_min_create_size()));
    free(region);
}

static void every_block_carries_one_header_word(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(8192, &region);
    assert_int_equal(tlsf_block_overhead(), WORD);
    char *a = tlsf_malloc(t, 40);
    char *b = tlsf_malloc(t, 40);
    assert_ptr_equal(b, a + 40 + WORD);
    char *c = tlsf_malloc(t, 1);
    assert_ptr_equal(c, b + 40 + WORD);
    assert_int_equal(tlsf_block_size_of(c), 3 * WORD);
    free(region);
}

static void largest_request_of_a_full_pool_is_zero(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(1024, &region);
    void *all = tlsf_malloc(t, tlsf_largest_request(t));
    assert_non_null(all);
    assert_int_equal(tlsf_largest_request(t), 0);
    assert_null(tlsf_malloc(t, 1));
    tlsf_free(t, all);
    assert_int_equal(tlsf_largest_request(t), tlsf_initial_free_payload(t));
    free(region);
}

/* Builds a pool with free blocks in several lists and returns one of them. */
static tlsf_block_t *pool_with_free_blocks(tlsf_t *t, void *keep[4])
{
    void *a = tlsf_malloc(t, 200);
    keep[0] = tlsf_malloc(t, 16);
    void *b = tlsf_malloc(t, 200);
    keep[1] = tlsf_malloc(t, 16);
    void *c = tlsf_malloc(t, 600);
    keep[2] = tlsf_malloc(t, 16);
    tlsf_free(t, a);
    tlsf_free(t, b);
    tlsf_free(t, c);
    assert_true(tlsf_check(t, NULL));
    return tlsf_block_from_payload(b);
}

static void check_reports_a_free_list_link_pointing_outside(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(8192, &region);
    void *keep[4];
    tlsf_block_t *b = pool_with_free_blocks(t, keep);
    tlsf_block_t *saved = b->next_free;
    b->next_free = (tlsf_block_t *)(uintptr_t)0x10;
    tlsf_fault_t fault;
    assert_false(tlsf_check(t, &fault));
    assert_string_equal(fault.problem, "free-list link points outside the heap");
    b->next_free = saved;
    assert_true(tlsf_check(t, &fault));
    free(region);
}

static void check_stops_on_a_free_list_cycle(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(8192, &region);
    void *keep[4];
    tlsf_block_t *b = pool_with_free_blocks(t, keep);
    tlsf_block_t *saved_next = b->next_free;
    b->next_free = b; /* a list that loops on itself */
    tlsf_fault_t fault;
    assert_false(tlsf_check(t, &fault));
    assert_non_null(fault.problem);
    b->next_free = saved_next;
    assert_true(tlsf_check(t, NULL));
    free(region);
}

static void check_reports_a_size_word_running_out_of_the_pool(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(8192, &region);
    size_t *p = tlsf_malloc(t, 64);
    size_t saved = p[-1];
    p[-1] = (size_t)1 << 28;
    tlsf_fault_t fault;
    assert_false(tlsf_check(t, &fault));
    assert_ptr_equal(fault.address, &p[-1]);
    assert_string_equal(fault.problem, "block size runs past the end of the heap");
    /* The walk stops at the damage instead of leaving the pool. */
    assert_null(tlsf_find_containing_block(t, (char *)region + 8000));
    p[-1] = saved;
    assert_true(tlsf_check(t, NULL));
    free(region);
}

static void check_reports_a_wrong_previous_free_flag(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(8192, &region);
    size_t *a = tlsf_malloc(t, 64);
    size_t *b = tlsf_malloc(t, 64);
    (void)a;
    b[-1] |= TLSF_PREV_FREE;
    tlsf_fault_t fault;
    assert_false(tlsf_check(t, &fault));
    assert_string_equal(fault.problem,
                        "previous-block-free flag does not match the previous block");
    b[-1] &= ~TLSF_PREV_FREE;
    assert_true(tlsf_check(t, NULL));
    free(region);
}

static void check_reports_a_used_block_marked_free(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(8192, &region);
    size_t *a = tlsf_malloc(t, 64);
    void *b = tlsf_malloc(t, 64);
    (void)b;
    a[-1] |= TLSF_BLOCK_FREE;
    assert_false(tlsf_check(t, NULL));
    a[-1] &= ~TLSF_BLOCK_FREE;
    assert_true(tlsf_check(t, NULL));
    free(region);
}

static void check_reports_an_overwritten_end_marker(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(1024, &region);
    size_t *all = tlsf_malloc(t, tlsf_largest_request(t));
    size_t words = tlsf_block_size_of(all) / WORD;
    size_t saved = all[words];
    all[words] = 0x1234; /* one word past the block: the end-of-heap marker */
    tlsf_fault_t fault;
    assert_false(tlsf_check(t, &fault));
    assert_string_equal(fault.problem, "end-of-heap marker overwritten");
    all[words] = saved;
    assert_true(tlsf_check(t, NULL));
    free(region);
}

static void is_allocated_payload_rejects_what_is_not_a_live_block(void **state)
{
    (void)state;
    void *region;
    tlsf_t *t = new_core(4096, &region);
    char *a = tlsf_malloc(t, 64);
    char *b = tlsf_malloc(t, 64);
    assert_true(tlsf_is_allocated_payload(t, a));
    assert_false(tlsf_is_allocated_payload(t, a + 1));
    assert_false(tlsf_is_allocated_payload(t, (char *)region - 64));
    assert_false(tlsf_is_allocated_payload(t, (char *)region + 8192));
    tlsf_free(t, a);
    assert_false(tlsf_is_allocated_payload(t, a));
    assert_true(tlsf_pool_contains(t, b));
    assert_false(tlsf_pool_contains(t, (char *)region + 4096));
    free(region);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_block_is_no_larger_than_esp_idf_at_256k),
        cmocka_unit_test(control_block_grows_with_the_pool_not_beyond),
        cmocka_unit_test(create_rejects_unaligned_null_and_tiny_areas),
        cmocka_unit_test(every_block_carries_one_header_word),
        cmocka_unit_test(largest_request_of_a_full_pool_is_zero),
        cmocka_unit_test(check_reports_a_free_list_link_pointing_outside),
        cmocka_unit_test(check_stops_on_a_free_list_cycle),
        cmocka_unit_test(check_reports_a_size_word_running_out_of_the_pool),
        cmocka_unit_test(check_reports_a_wrong_previous_free_flag),
        cmocka_unit_test(check_reports_a_used_block_marked_free),
        cmocka_unit_test(check_reports_an_overwritten_end_marker),
        cmocka_unit_test(is_allocated_payload_rejects_what_is_not_a_live_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
