/*
 * test_coverage_multi_heap.c — damage multi_heap_check() finds beyond the
 * block structure: heap counters that disagree with the blocks, a poisoning
 * head whose size runs past its block (Light and Comprehensive), free memory
 * written in the last bytes a request checks (Comprehensive); and requests
 * larger than a poisoning head can describe (64-bit).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_guard.h"

#include "multi_heap_ops.h"

#define REGION 4096

static void *region;
static multi_heap_handle_t heap;

static int new_heap(void **state)
{
    (void)state;
    region = test_region(REGION);
    heap = multi_heap_register(region, REGION);
    assert_non_null(heap);
    return 0;
}

static int release_heap(void **state)
{
    (void)state;
    free(region);
    region = NULL;
    heap = NULL;
    return 0;
}

static char printed[2048];

static void check_printing(void *context)
{
    (void)context;
    (void)multi_heap_check(heap, true);
}

/* ---- the heap's counters ------------------------------------------------- */

static void check_reports_counters_that_disagree_with_the_blocks(void **state)
{
    (void)state;
    void *p = multi_heap_malloc(heap, 100);
    assert_non_null(p);
    struct multi_heap_info *header = heap;
    heapcaps_heap_fault_t fault;

    header->free_bytes += sizeof(size_t);
    assert_false(heapcaps_multi_heap_check_fault(heap, &fault));
    assert_string_equal(fault.problem, "free-byte count disagrees with the free blocks");
    assert_ptr_equal(fault.address, &header->free_bytes);
    capture_output(2, check_printing, NULL, printed, sizeof(printed));
    assert_non_null(strstr(printed, "CORRUPT HEAP: free-byte count disagrees"));
    header->free_bytes -= sizeof(size_t);

    header->minimum_free_bytes = header->free_bytes + sizeof(size_t);
    assert_false(heapcaps_multi_heap_check_fault(heap, &fault));
    assert_string_equal(fault.problem, "minimum free bytes above the free bytes");
    assert_ptr_equal(fault.address, &header->minimum_free_bytes);
    header->minimum_free_bytes = header->free_bytes;

    assert_true(multi_heap_check(heap, false));
    multi_heap_free(heap, p);
    assert_heap_intact(heap);
}

/* ---- no heap, no pointer, nowhere to write --------------------------------- */

static void queries_without_a_heap_or_pointer_answer_nothing(void **state)
{
    (void)state;
    void *p = multi_heap_malloc(heap, 40);
    assert_non_null(p);
    assert_int_equal(multi_heap_get_allocated_size(heap, NULL), 0);
    assert_int_equal(multi_heap_get_allocated_size(NULL, p), 0);
    assert_int_equal(multi_heap_get_full_block_size(heap, NULL), 0);
    assert_int_equal(multi_heap_get_full_block_size(NULL, p), 0);
    assert_int_equal(heapcaps_multi_heap_overhead(NULL), 0);
    assert_false(heapcaps_multi_heap_check_fault(NULL, NULL));
    assert_true(heapcaps_multi_heap_check_fault(heap, NULL));
    multi_heap_info_t info;
    memset(&info, 0xA5, sizeof(info));
    multi_heap_get_info(NULL, &info);
    assert_int_equal(info.total_free_bytes, 0);
    assert_int_equal(info.total_blocks, 0);
    multi_heap_get_info(heap, NULL); /* nowhere to write: nothing happens */
    multi_heap_free(heap, p);
    assert_heap_intact(heap);
}

/* ---- the poisoning head ---------------------------------------------------- */

#ifdef MULTI_HEAP_POISONING
static void *damaged;

static void free_damaged(void *context)
{
    (void)context;
    multi_heap_free(heap, damaged);
}

static void check_reports_a_head_size_past_its_block(void **state)
{
    (void)state;
    damaged = multi_heap_malloc(heap, 24);
    assert_non_null(damaged);
    /* The head: canary, then the size asked for (both 32-bit words). */
    uint32_t *size_word = (uint32_t *)((char *)damaged - 4);
    assert_int_equal(*size_word, 24);
    *size_word = 4000; /* the canary intact, the size far past the block */
    heapcaps_heap_fault_t fault;
    assert_false(heapcaps_multi_heap_check_fault(heap, &fault));
    assert_string_equal(fault.problem, "allocation size in the head is larger than the block");
    assert_ptr_equal(fault.address, size_word);
    /* Printed as poisoning damage only (no second, structural line). */
    capture_output(2, check_printing, NULL, printed, sizeof(printed));
    assert_non_null(strstr(printed, "CORRUPT HEAP: Size at "));
    assert_non_null(strstr(printed, "got 0x00000fa0"));
    assert_null(strstr(printed, "CORRUPT HEAP: allocation size"));
    /* Freeing it stops, as a damaged canary does. */
    guard_end_t end = run_guarded(free_damaged, NULL, printed, sizeof(printed));
    assert_true(end.aborted);
    assert_non_null(strstr(printed, "multi_heap_free multi_heap_poisoning.c"));
    *size_word = 24;
    assert_heap_intact(heap);
    multi_heap_free(heap, damaged);
    assert_heap_intact(heap);
}

static void check_keeps_the_first_damaged_block(void **state)
{
    (void)state;
    unsigned char *a = multi_heap_malloc(heap, 16);
    unsigned char *b = multi_heap_malloc(heap, 16);
    assert_non_null(a);
    assert_non_null(b);
    a[16] ^= 0xFF; /* both tail canaries */
    b[16] ^= 0xFF;
    heapcaps_heap_fault_t fault;
    assert_false(heapcaps_multi_heap_check_fault(heap, &fault));
    assert_ptr_equal(fault.address, a + 16);
    assert_string_equal(fault.problem, "tail canary damaged");
    capture_output(2, check_printing, NULL, printed, sizeof(printed));
    const char *first = strstr(printed, "CORRUPT HEAP: Bad tail");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "CORRUPT HEAP: Bad tail")); /* both printed */
    a[16] ^= 0xFF;
    b[16] ^= 0xFF;
    assert_heap_intact(heap);
    multi_heap_free(heap, a);
    multi_heap_free(heap, b);
}
#endif

#ifdef MULTI_HEAP_POISONING_SLOW
static void check_reports_every_damaged_word_of_free_memory(void **state)
{
    (void)state;
    uint32_t *p = multi_heap_malloc(heap, 64);
    uint32_t *wall = multi_heap_malloc(heap, 16);
    assert_non_null(p);
    assert_non_null(wall);
    multi_heap_free(heap, p); /* a free block between the start and wall */
    assert_int_equal(p[8], 0xFEFEFEFEu);
    p[8] = 0x11111111u;
    p[10] = 0x22222222u;
    heapcaps_heap_fault_t fault;
    assert_false(heapcaps_multi_heap_check_fault(heap, &fault));
    assert_ptr_equal(fault.address, &p[8]);
    assert_string_equal(fault.problem, "free memory written after free");
    capture_output(2, check_printing, NULL, printed, sizeof(printed));
    assert_non_null(strstr(printed, "got 0x11111111"));
    assert_non_null(strstr(printed, "got 0x22222222"));
    p[8] = 0xFEFEFEFEu;
    p[10] = 0xFEFEFEFEu;
    assert_heap_intact(heap);
    multi_heap_free(heap, wall);
}

static void malloc_again(void *context)
{
    (void)context;
    (void)multi_heap_malloc(heap, 14);
}

static void malloc_checks_the_last_free_bytes_one_by_one(void **state)
{
    (void)state;
    unsigned char *p = multi_heap_malloc(heap, 14);
    assert_non_null(p);
    multi_heap_free(heap, p); /* the same place is handed out next */
    /* Two bytes after the last whole word of a 14-byte request, in free
     * memory that must still hold the free pattern. */
    assert_int_equal(p[12], 0xFE);
    assert_int_equal(p[13], 0xFE);
    p[12] = 0x12;
    p[13] = 0x34;
    guard_end_t end = run_guarded(malloc_again, NULL, printed, sizeof(printed));
    assert_true(end.aborted);
    assert_non_null(strstr(printed, "Expected 0xfe got 0x12"));
    assert_non_null(strstr(printed, "Expected 0xfe got 0x34"));
    assert_non_null(strstr(printed, "free memory intact"));
    /* (On a board the stopped call's effects stay: start a fresh heap.) */
    heap = multi_heap_register(region, REGION);
    assert_non_null(heap);
    void *again = multi_heap_malloc(heap, 14);
    assert_ptr_equal(again, p);
    multi_heap_free(heap, again);
    assert_heap_intact(heap);
}
#endif

/* ---- sizes a 32-bit size field cannot hold -------------------------------- */

static void requests_beyond_four_gib_are_refused(void **state)
{
    (void)state;
#if SIZE_MAX > 0xFFFFFFFFu
    const size_t huge = (size_t)UINT32_MAX + 1;
    size_t free_before = multi_heap_free_size(heap);
    assert_null(multi_heap_malloc(heap, huge));
    assert_null(multi_heap_aligned_alloc(heap, huge, 16));
    unsigned char *p = multi_heap_malloc(heap, 32);
    assert_non_null(p);
    memset(p, 0x5A, 32);
    assert_null(multi_heap_realloc(heap, p, huge));
    assert_int_equal(p[31], 0x5A); /* the block stays as it was */
    multi_heap_free(heap, p);
    assert_int_equal(multi_heap_free_size(heap), free_before);
#endif
    assert_heap_intact(heap);
}

#define MH_TEST(fn) cmocka_unit_test_setup_teardown(fn, new_heap, release_heap)

int main(void)
{
    const struct CMUnitTest tests[] = {
        MH_TEST(check_reports_counters_that_disagree_with_the_blocks),
        MH_TEST(queries_without_a_heap_or_pointer_answer_nothing),
#ifdef MULTI_HEAP_POISONING
        MH_TEST(check_reports_a_head_size_past_its_block),
        MH_TEST(check_keeps_the_first_damaged_block),
#endif
#ifdef MULTI_HEAP_POISONING_SLOW
        MH_TEST(check_reports_every_damaged_word_of_free_memory),
        MH_TEST(malloc_checks_the_last_free_bytes_one_by_one),
#endif
        MH_TEST(requests_beyond_four_gib_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
