/*
 * test_heap_caps.c — heap_caps on a board layout over host memory (no chip
 * emulator): selection by priority and list order, EXEC rules, realloc
 * across caps, the failure callback, info and monitoring, runtime regions
 * and their range checks, the malloc() policy. Chip-specific behaviour
 * (aliases, DMA ranges, layouts) is tested on the emulated chips.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "esp_system.h"
#include "heap_caps_private.h"
#include "heapcaps/heap_caps_ext.h"
#include "heapcaps/layout.h"
#include "heapcaps/log.h"

enum { T_DRAM, T_DIRAM, T_IRAM, T_RTC };

/* ESP32-like types: 32BIT is served by IRAM first, then DRAM, then D/IRAM. */
static const soc_memory_type_desc_t board_types[] = {
    [T_DRAM] = {"DRAM",
                {MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT,
                 MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_32BIT, 0}},
    [T_DIRAM] = {"D/IRAM",
                 {0, MALLOC_CAP_DMA | MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL | MALLOC_CAP_DEFAULT,
                  MALLOC_CAP_32BIT | MALLOC_CAP_EXEC}},
    [T_IRAM] = {"IRAM", {MALLOC_CAP_INTERNAL | MALLOC_CAP_EXEC | MALLOC_CAP_32BIT, 0, 0}},
    [T_RTC] = {"RTCRAM",
               {MALLOC_CAP_RTCRAM, MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT,
                MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT | MALLOC_CAP_EXEC}},
};

#define CUSTOM_CAP (1u << 30)
#define ARENA      0x48000
#define DRAM_A     0x00000 /* DRAM_A and DRAM_B are adjacent: one heap */
#define DRAM_B     0x10000
#define DIRAM      0x20000
#define IRAM       0x30000
#define RTC        0x38000
#define STACK      0x3C000 /* D/IRAM holding the startup stack */
#define SPARE      0x40000 /* not in the layout: for runtime regions */

static char *arena;
static soc_memory_region_t board_regions[6];
static soc_reserved_region_t board_reserved[1];
static heapcaps_layout_t board;

static size_t callback_calls;
static size_t callback_size;
static uint32_t callback_caps;
static const char *callback_function;

static void record_failure(size_t size, uint32_t caps, const char *function_name)
{
    callback_calls++;
    callback_size = size;
    callback_caps = caps;
    callback_function = function_name;
}

static void install_board(void)
{
    heapcaps_log_set_enabled(false);
    arena = test_region(ARENA);
    intptr_t base = (intptr_t)arena;
    board_regions[0] = (soc_memory_region_t){base + DRAM_A, 0x10000, T_DRAM, 0, false};
    board_regions[1] = (soc_memory_region_t){base + DRAM_B, 0x10000, T_DRAM, 0, false};
    board_regions[2] = (soc_memory_region_t){base + DIRAM, 0x10000, T_DIRAM, 0, false};
    board_regions[3] = (soc_memory_region_t){base + IRAM, 0x8000, T_IRAM, 0, false};
    board_regions[4] = (soc_memory_region_t){base + RTC, 0x4000, T_RTC, 0, false};
    board_regions[5] = (soc_memory_region_t){base + STACK, 0x4000, T_DIRAM, 0, true};
    board_reserved[0] = (soc_reserved_region_t){base + DRAM_A, base + DRAM_A + 0x1000};
    board = (heapcaps_layout_t){.name = "board",
                                .types = board_types,
                                .type_count = 4,
                                .regions = board_regions,
                                .region_count = 6,
                                .reserved = board_reserved,
                                .reserved_count = 1};
    assert_int_equal(heapcaps_layout_install(&board), ESP_OK);
}

static int boot_board(void **state)
{
    (void)state;
    install_board();
    heap_caps_init();
    heap_caps_enable_nonos_stack_heaps();
    callback_calls = 0;
    assert_int_equal(heap_caps_register_failed_alloc_callback(record_failure), ESP_OK);
    return 0;
}

static int shut_board(void **state)
{
    (void)state;
    assert_true(heap_caps_check_integrity_all(true));
    heapcaps_registry_reset();
    heapcaps_layout_uninstall();
    free(arena);
    arena = NULL;
    return 0;
}

static bool in_region(const void *p, size_t offset, size_t size)
{
    return p && (const char *)p >= arena + offset && (const char *)p < arena + offset + size;
}

#define IN_DRAM(p)  in_region((p), DRAM_A, 0x20000)
#define IN_DIRAM(p) in_region((p), DIRAM, 0x10000)
#define IN_IRAM(p)  in_region((p), IRAM, 0x8000)
#define IN_RTC(p)   in_region((p), RTC, 0x4000)
#define IN_STACK(p) in_region((p), STACK, 0x4000)

/* ---- selection ---------------------------------------------------------- */

static void byte_accessible_request_comes_from_dram(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(p));
    heap_caps_free(p);
}

static void default_request_avoids_rtc_memory(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(4096, MALLOC_CAP_DEFAULT);
    assert_non_null(p);
    assert_false(IN_RTC(p));
    assert_int_equal(heap_caps_get_minimum_free_size(MALLOC_CAP_RTCRAM),
                     heap_caps_get_free_size(MALLOC_CAP_RTCRAM));
    heap_caps_free(p);
}

static void word_request_uses_iram_then_dram_then_diram(void **state)
{
    (void)state;
    void *blocks[200];
    int n = 0;
    blocks[n] = heap_caps_malloc(1024, MALLOC_CAP_32BIT);
    assert_true(IN_IRAM(blocks[n]));
    while (IN_IRAM(blocks[n])) {
        blocks[++n] = heap_caps_malloc(1024, MALLOC_CAP_32BIT);
    }
    assert_true(IN_DRAM(blocks[n]));
    while (IN_DRAM(blocks[n]) && n < 199) {
        blocks[++n] = heap_caps_malloc(1024, MALLOC_CAP_32BIT);
    }
    /* D/IRAM offers 32BIT at its lowest priority: served last, smallest first. */
    assert_true(IN_STACK(blocks[n]) || IN_DIRAM(blocks[n]) || IN_RTC(blocks[n]));
    assert_false(IN_DRAM(blocks[n]));
    for (int i = 0; i <= n; ++i) {
        heap_caps_free(blocks[i]);
    }
}

static void word_request_rounds_the_size_up_to_four(void **state)
{
    (void)state;
    size_t before = heap_caps_get_free_size(MALLOC_CAP_EXEC);
    void *p = heap_caps_malloc(13, MALLOC_CAP_32BIT);
    assert_true(IN_IRAM(p));
    assert_int_equal(heap_caps_get_allocated_size(p) % 4, 0);
    assert_true(heap_caps_get_allocated_size(p) >= 16);
    heap_caps_free(p);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_EXEC), before);
}

static void exec_request_comes_from_iram(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(64, MALLOC_CAP_EXEC);
    assert_true(IN_IRAM(p));
    heap_caps_free(p);
}

static void exec_with_byte_or_dma_access_fails_and_reports(void **state)
{
    (void)state;
    assert_null(heap_caps_malloc(64, MALLOC_CAP_EXEC | MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 1);
    assert_int_equal(callback_caps, MALLOC_CAP_EXEC | MALLOC_CAP_8BIT);
    assert_null(heap_caps_malloc(64, MALLOC_CAP_EXEC | MALLOC_CAP_DMA));
    assert_int_equal(callback_calls, 2);
}

static void caps_zero_fails_and_reports(void **state)
{
    (void)state;
    assert_null(heap_caps_malloc(16, 0));
    assert_int_equal(callback_calls, 1);
    assert_int_equal(callback_size, 16);
    assert_int_equal(callback_caps, 0);
    assert_string_equal(callback_function, "heap_caps_malloc");
}

static void caps_no_heap_has_fail_and_report(void **state)
{
    (void)state;
    assert_null(heap_caps_malloc(16, MALLOC_CAP_INVALID));
    assert_null(heap_caps_malloc(16, CUSTOM_CAP));
    assert_null(heap_caps_malloc(16, MALLOC_CAP_SPIRAM));
    assert_int_equal(callback_calls, 3);
    assert_null(heap_caps_realloc(NULL, 16, MALLOC_CAP_INVALID));
    assert_null(heap_caps_aligned_alloc(16, 16, MALLOC_CAP_INVALID));
    assert_int_equal(callback_calls, 5);
}

static void malloc_of_zero_is_null_without_callback(void **state)
{
    (void)state;
    assert_null(heap_caps_malloc(0, MALLOC_CAP_8BIT));
    assert_null(heap_caps_malloc_default(0));
    assert_int_equal(callback_calls, 0);
}

static void unreasonable_and_overflowing_sizes_fail(void **state)
{
    (void)state;
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2, SIZE_MAX - 256, 16 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        assert_null(heap_caps_malloc(sizes[i], MALLOC_CAP_8BIT));
        assert_null(heap_caps_malloc(sizes[i], MALLOC_CAP_32BIT));
        assert_null(heap_caps_malloc(sizes[i], MALLOC_CAP_EXEC));
    }
    assert_null(heap_caps_calloc(SIZE_MAX / 2 + 4, 2, MALLOC_CAP_8BIT));
    assert_null(heap_caps_calloc(16, 1 << 20, MALLOC_CAP_8BIT));
    assert_null(heap_caps_malloc(esp_get_free_heap_size(), MALLOC_CAP_DEFAULT));
    assert_true(heap_caps_check_integrity_all(true));
}

/* ---- calloc ------------------------------------------------------------- */

static void calloc_zeroes_the_memory(void **state)
{
    (void)state;
    unsigned char *p = heap_caps_malloc(256, MALLOC_CAP_8BIT);
    memset(p, 0xAB, 256);
    heap_caps_free(p);
    unsigned char *q = heap_caps_calloc(16, 16, MALLOC_CAP_8BIT);
    assert_non_null(q);
    for (int i = 0; i < 256; ++i) {
        assert_int_equal(q[i], 0);
    }
    heap_caps_free(q);
}

static void calloc_reports_by_element_size(void **state)
{
    (void)state;
    assert_null(heap_caps_calloc(0, 16, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 1); /* element size 16 > 0: reported, size 0 */
    assert_int_equal(callback_size, 0);
    assert_null(heap_caps_calloc(16, 0, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 1); /* element size 0: silent */
    assert_null(heap_caps_calloc(SIZE_MAX / 2, 4, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 2);
    assert_string_equal(callback_function, "heap_caps_calloc");
}

/* ---- realloc ------------------------------------------------------------ */

static void realloc_moves_between_memory_types_keeping_data(void **state)
{
    (void)state;
    unsigned char *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(p));
    for (int i = 0; i < 64; ++i) {
        p[i] = (unsigned char)i;
    }
    unsigned char *q = heap_caps_realloc(p, 64, MALLOC_CAP_EXEC);
    assert_true(IN_IRAM(q));
    for (int i = 0; i < 64; ++i) {
        assert_int_equal(q[i], i);
    }
    unsigned char *r = heap_caps_realloc(q, 48, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(r));
    for (int i = 0; i < 48; ++i) {
        assert_int_equal(r[i], i);
    }
    heap_caps_free(r);
    assert_true(heap_caps_check_integrity_all(true));
}

static void realloc_shrinks_in_place(void **state)
{
    (void)state;
    unsigned char *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    memset(p, 0x3C, 64);
    unsigned char *q = heap_caps_realloc(p, 48, MALLOC_CAP_8BIT);
    if (TEST_COMPREHENSIVE || TEST_SANITIZER_VIEW) {
        assert_ptr_not_equal(q, p); /* Comprehensive poisoning and the view always move */
    } else {
        assert_ptr_equal(q, p);
    }
    for (int i = 0; i < 48; ++i) {
        assert_int_equal(q[i], 0x3C);
    }
    heap_caps_free(q);
}

static void realloc_of_null_allocates_and_to_zero_frees(void **state)
{
    (void)state;
    size_t before = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    void *p = heap_caps_realloc(NULL, 100, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(p));
    assert_null(heap_caps_realloc(p, 0, MALLOC_CAP_8BIT));
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), before);
    assert_null(heap_caps_realloc(NULL, 0, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 0);
}

static void failed_realloc_keeps_the_block_and_reports(void **state)
{
    (void)state;
    unsigned char *p = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    memset(p, 0x5C, 32);
    assert_null(heap_caps_realloc(p, 1 << 20, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 1);
    assert_string_equal(callback_function, "heap_caps_realloc");
    assert_null(heap_caps_realloc(p, 64, CUSTOM_CAP));
    for (int i = 0; i < 32; ++i) {
        assert_int_equal(p[i], 0x5C);
    }
    heap_caps_free(p);
}

/* ---- aligned ------------------------------------------------------------ */

static void aligned_alloc_rejects_bad_arguments_silently(void **state)
{
    (void)state;
    assert_null(heap_caps_aligned_alloc(0, 64, MALLOC_CAP_DEFAULT));
    assert_null(heap_caps_aligned_alloc(24, 64, MALLOC_CAP_DEFAULT));
    assert_null(heap_caps_aligned_alloc(32, 0, MALLOC_CAP_DEFAULT));
    assert_null(heap_caps_aligned_calloc(1025, 1, 1024, MALLOC_CAP_32BIT));
    assert_null(heap_caps_aligned_calloc(32, SIZE_MAX / 2, 4, MALLOC_CAP_DEFAULT));
    assert_int_equal(callback_calls, 0);
    assert_null(heap_caps_aligned_alloc(32, SIZE_MAX / 2, MALLOC_CAP_DEFAULT));
    assert_int_equal(callback_calls, 1);
}

static void aligned_alloc_honours_the_alignment(void **state)
{
    (void)state;
    for (size_t alignment = 1; alignment <= 1024; alignment <<= 1) {
        char *p = heap_caps_aligned_alloc(alignment, alignment + 137, MALLOC_CAP_DEFAULT);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % alignment, 0);
        memset(p, 0x11, alignment + 137);
        heap_caps_free(p);
        unsigned char *z = heap_caps_aligned_calloc(alignment, 1, 1024, MALLOC_CAP_DEFAULT);
        assert_int_equal((uintptr_t)z % alignment, 0);
        for (int i = 0; i < 1024; ++i) {
            assert_int_equal(z[i], 0);
        }
        heap_caps_free(z);
    }
}

/* ---- preference lists --------------------------------------------------- */

static void prefer_takes_the_first_caps_that_succeed(void **state)
{
    (void)state;
    void *p = heap_caps_malloc_prefer(64, 2, CUSTOM_CAP, MALLOC_CAP_EXEC);
    assert_true(IN_IRAM(p));
    void *q = heap_caps_realloc_prefer(p, 128, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(q));
    unsigned char *z = heap_caps_calloc_prefer(8, 8, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(z));
    assert_int_equal(z[63], 0);
    heap_caps_free(q);
    heap_caps_free(z);
    assert_int_equal(callback_calls, 0);
}

static void prefer_reports_the_last_caps_tried(void **state)
{
    (void)state;
    assert_null(heap_caps_malloc_prefer(64, 2, CUSTOM_CAP, MALLOC_CAP_SPIRAM));
    assert_int_equal(callback_calls, 1);
    assert_int_equal(callback_caps, MALLOC_CAP_SPIRAM);
    assert_null(heap_caps_malloc_prefer(64, 0));
    assert_int_equal(callback_caps, MALLOC_CAP_DEFAULT);
    assert_null(heap_caps_malloc_prefer(0, 1, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 2);
    assert_null(heap_caps_calloc_prefer(4, 16, 1, CUSTOM_CAP));
    assert_int_equal(callback_size, 16); /* the element size */
}

/* ---- information -------------------------------------------------------- */

static void totals_follow_the_layout(void **state)
{
    (void)state;
    /* DRAM (minus the static data), D/IRAM, IRAM, RTC, startup stack. */
    size_t all = (0x20000 - 0x1000) + 0x10000 + 0x8000 + 0x4000 + 0x4000;
    assert_int_equal(heap_caps_get_total_size(0), all);
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_EXEC), 0x10000 + 0x8000 + 0x4000 + 0x4000);
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_RTCRAM), 0x4000);
    assert_int_equal(heap_caps_get_total_size(CUSTOM_CAP), 0);
}

static void free_size_falls_by_the_allocation(void **state)
{
    (void)state;
    size_t before = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    void *p = heap_caps_malloc(10 * 1024, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(p));
    assert_true(heap_caps_get_free_size(MALLOC_CAP_8BIT) <= before - 10 * 1024);
    assert_true(heap_caps_get_free_size(MALLOC_CAP_32BIT) >=
                heap_caps_get_free_size(MALLOC_CAP_8BIT));
    heap_caps_free(p);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), before);
    assert_int_equal(esp_get_free_heap_size(), heap_caps_get_free_size(MALLOC_CAP_DEFAULT));
    assert_int_equal(
        esp_get_free_internal_heap_size(),
        heap_caps_get_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL));
    assert_int_equal(esp_get_minimum_free_heap_size(),
                     heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT));
}

static void largest_free_block_can_be_allocated(void **state)
{
    (void)state;
    const uint32_t masks[] = {MALLOC_CAP_8BIT, MALLOC_CAP_32BIT, MALLOC_CAP_EXEC,
                              MALLOC_CAP_DEFAULT, MALLOC_CAP_RTCRAM};
    for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); ++i) {
        size_t largest = heap_caps_get_largest_free_block(masks[i]);
        void *p = heap_caps_malloc(largest, masks[i]);
        assert_non_null(p);
        assert_true(heap_caps_get_largest_free_block(masks[i]) <= largest);
        heap_caps_free(p);
        assert_int_equal(heap_caps_get_largest_free_block(masks[i]), largest);
    }
}

static bool count_heap(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    (void)heap, (void)block;
    ++*(size_t *)user;
    return false; /* one block is enough: on to the next heap */
}

/* Number of heaps with all of `caps`. */
static size_t count_heaps(uint32_t caps)
{
    size_t count = 0;
    heap_caps_walk(caps, count_heap, &count);
    return count;
}

/* A heap filled to the last byte reports 0 free through heap_caps_get_info(),
 * owner word or not (the figure never wraps below zero). */
static void full_heap_reports_zero_free(void **state)
{
    (void)state;
    static void *blocks[64];
    size_t count = 0;
    size_t largest;
    while (count < 64 && (largest = heap_caps_get_largest_free_block(MALLOC_CAP_RTCRAM)) > 0) {
        blocks[count] = heap_caps_malloc(largest, MALLOC_CAP_RTCRAM);
        assert_non_null(blocks[count]);
        ++count;
    }
    multi_heap_info_t info;
    heap_caps_get_info(&info, MALLOC_CAP_RTCRAM);
    assert_true(info.total_free_bytes <= heap_caps_get_free_size(MALLOC_CAP_RTCRAM));
    assert_true(info.total_free_bytes < 64);
    assert_true(info.minimum_free_bytes <= info.total_free_bytes);
    assert_int_equal(info.largest_free_block, 0);
    for (size_t i = 0; i < count; ++i) {
        heap_caps_free(blocks[i]);
    }
}

static void info_sums_the_matching_heaps(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(1000, MALLOC_CAP_8BIT);
    multi_heap_info_t info;
    heap_caps_get_info(&info, MALLOC_CAP_8BIT);
    /* heap_caps_get_info() takes the owner word off each heap's free figures. */
    size_t heaps = count_heaps(MALLOC_CAP_8BIT);
    assert_int_equal(info.total_free_bytes + heaps * TEST_OWNER_WORD,
                     heap_caps_get_free_size(MALLOC_CAP_8BIT));
    assert_int_equal(info.minimum_free_bytes + heaps * TEST_OWNER_WORD,
                     heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT));
    assert_int_equal(info.largest_free_block, heap_caps_get_largest_free_block(MALLOC_CAP_8BIT));
    assert_true(info.allocated_blocks >= 2); /* ours, and the heap descriptors */
    assert_int_equal(info.total_blocks, info.allocated_blocks + info.free_blocks);
    heap_caps_free(p);
}

static void print_rtc_info(void *context)
{
    (void)context;
    heap_caps_print_heap_info(MALLOC_CAP_RTCRAM);
}

static void print_heap_info_uses_esp_idf_format(void **state)
{
    (void)state;
    char out[1024];
    capture_output(1, print_rtc_info, NULL, out, sizeof(out));
    multi_heap_info_t info;
    heap_caps_get_info(&info, MALLOC_CAP_RTCRAM);
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "Heap summary for capabilities 0x00008000:\n"
             "  At 0x%08x len %d free %d allocated %d min_free %d\n"
             "    largest_free_block %d alloc_blocks %d free_blocks %d total_blocks %d\n"
             "  Totals:\n"
             "    free %d allocated %d min_free %d largest_free_block %d\n",
             /* the heap's own figures: the totals take the owner word off them */
             (unsigned)(uintptr_t)(arena + RTC), 0x4000,
             (int)(info.total_free_bytes + TEST_OWNER_WORD),
             (int)(info.total_allocated_bytes + info.allocated_blocks * TEST_OWNER_WORD),
             (int)(info.minimum_free_bytes + TEST_OWNER_WORD),
             (int)(info.largest_free_block + TEST_OWNER_WORD), (int)info.allocated_blocks,
             (int)info.free_blocks, (int)info.total_blocks, (int)info.total_free_bytes,
             (int)info.total_allocated_bytes, (int)info.minimum_free_bytes,
             (int)info.largest_free_block);
    assert_string_equal(out, expected);
}

static void minimum_monitoring_reports_local_minimum_then_restores(void **state)
{
    (void)state;
    void *big = heap_caps_malloc(8000, MALLOC_CAP_8BIT);
    heap_caps_free(big);
    size_t lifetime = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    size_t local = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT);
    assert_true(local >= lifetime);
    void *p = heap_caps_malloc(400, MALLOC_CAP_8BIT);
    heap_caps_free(p);
    assert_true(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT) <= local - 400);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK); /* restart */
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
    assert_int_equal(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT), lifetime);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_FAIL);
}

/* ---- block sizes, checks, walk ------------------------------------------ */

static void allocated_and_containing_block_sizes(void **state)
{
    (void)state;
    const size_t sizes[] = {1035, 1064, 1541};
    for (size_t i = 0; i < 3; ++i) {
        char *p = heap_caps_malloc(sizes[i], MALLOC_CAP_INTERNAL);
        size_t rounded = (sizes[i] + 3) & ~(size_t)3;
        /* Poisoned builds report the bytes before the tail canary, exactly. */
        size_t least = TEST_POISON ? sizes[i] : rounded;
        assert_true(heap_caps_get_allocated_size(p) >= least);
        assert_true(heap_caps_get_containing_block_size(p) >= least);
        assert_true(heap_caps_get_containing_block_size(p + sizes[i] - 1) >= least);
        assert_true(heap_caps_get_containing_block_size(p + sizes[i] / 2) >= least);
        heap_caps_free(p);
    }
    assert_int_equal(heap_caps_get_allocated_size(NULL), 0);
}

typedef struct {
    void *wanted;
    size_t seen_used, seen_heaps_with_wanted;
    intptr_t heap_start, heap_end;
} walk_seen_t;

static bool see_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_seen_t *seen = user;
    seen->seen_used += block.used;
    if (block.ptr == TEST_HC_BLOCK(seen->wanted)) {
        seen->seen_heaps_with_wanted++;
        seen->heap_start = heap.start;
        seen->heap_end = heap.end;
        assert_true(block.used);
        assert_true(block.size >= 16);
    }
    return true;
}

static void walk_finds_an_allocation_in_its_heap(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(16, MALLOC_CAP_DEFAULT);
    walk_seen_t seen = {p, 0, 0, 0, 0};
    heap_caps_walk_all(see_block, &seen);
    assert_int_equal(seen.seen_heaps_with_wanted, 1);
    assert_true((intptr_t)p >= seen.heap_start && (intptr_t)p < seen.heap_end);
    walk_seen_t none = {p, 0, 0, 0, 0};
    heap_caps_walk(MALLOC_CAP_RTCRAM, see_block, &none);
    assert_int_equal(none.seen_heaps_with_wanted, 0);
    heap_caps_walk(0, NULL, NULL);
    heap_caps_free(p);
}

static void integrity_check_finds_a_damaged_block(void **state)
{
    (void)state;
    size_t *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    void *guard = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_true(heap_caps_check_integrity(MALLOC_CAP_8BIT, false));
    heapcaps_heap_fault_t fault = {p, "stale"};
    assert_true(heapcaps_check_integrity_fault(MALLOC_CAP_8BIT, &fault));
    assert_null(fault.address);
    assert_null(fault.problem);
    size_t *size_word = (size_t *)TEST_HC_BLOCK(p) - 1;
    size_t saved = *size_word;
    *size_word = (size_t)0xFF000000u;
    /* The extension names the damaged word. */
    assert_false(heapcaps_check_integrity_fault(MALLOC_CAP_8BIT, &fault));
    assert_ptr_equal(fault.address, size_word);
    assert_non_null(fault.problem);
    assert_false(heapcaps_check_integrity_fault(MALLOC_CAP_8BIT, NULL));
    assert_true(heapcaps_check_integrity_fault(MALLOC_CAP_RTCRAM, NULL));
    assert_false(heap_caps_check_integrity(MALLOC_CAP_8BIT, false));
    assert_false(heap_caps_check_integrity_all(false));
    assert_false(heap_caps_check_integrity_addr((intptr_t)p, false));
    assert_true(heap_caps_check_integrity(MALLOC_CAP_RTCRAM, false));
    *size_word = saved;
    assert_true(heap_caps_check_integrity_addr((intptr_t)p, false));
    assert_false(heap_caps_check_integrity_addr((intptr_t)arena + SPARE, false));
    heap_caps_free(p);
    heap_caps_free(guard);
}

/* ---- runtime regions ---------------------------------------------------- */

static void region_with_new_capability_serves_it(void **state)
{
    (void)state;
    const uint32_t caps[3] = {CUSTOM_CAP, 0, MALLOC_CAP_8BIT | MALLOC_CAP_32BIT};
    assert_null(heap_caps_malloc(64, CUSTOM_CAP));
    intptr_t start = (intptr_t)arena + SPARE;
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 3500), ESP_OK);
    void *p = heap_caps_malloc(64, CUSTOM_CAP);
    assert_true(in_region(p, SPARE, 3500));
    /* Added after startup: its low-water mark never counts. */
    assert_int_equal(heap_caps_get_minimum_free_size(CUSTOM_CAP), 0);
    heap_caps_free(p);
    /* Runtime heaps come first in the list: 8BIT now prefers it... only at
     * a level where it offers 8BIT (2), after DRAM's level 0. */
    void *q = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(q));
    heap_caps_free(q);
}

/* The library's own memory runs out, at each of its requests in turn, while
 * a region is added: a region the lookup table cannot take is refused
 * (ESP_ERR_NO_MEM) and nothing of it stays; once it is added, it serves its
 * capability (by the slow path if the route cache had no memory). */
static void region_added_without_library_memory_is_refused_cleanly(void **state)
{
    (void)state;
    const uint32_t caps[3] = {CUSTOM_CAP, 0, 0};
    intptr_t start = (intptr_t)arena + SPARE;
    size_t free_before = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    int refusals = 0;
    for (long allowed = 0; allowed < 16; ++allowed) {
        test_fail_meta_alloc_after(allowed);
        esp_err_t err = heap_caps_add_region_with_caps(caps, start, start + 3500);
        void *p = err == ESP_OK ? heap_caps_malloc(64, CUSTOM_CAP) : NULL;
        test_fail_meta_alloc_after(-1);
        assert_true(heap_caps_check_integrity_all(true));
        if (err == ESP_ERR_NO_MEM) {
            ++refusals;
            assert_null(heap_caps_malloc(64, CUSTOM_CAP));
            assert_int_equal(heap_caps_get_total_size(CUSTOM_CAP), 0);
            /* the descriptor went back */
            assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), free_before);
            continue;
        }
        assert_int_equal(err, ESP_OK);
        assert_true(in_region(p, SPARE, 3500));
        heap_caps_free(p);
        break;
    }
    assert_true(refusals >= 1);
    assert_true(in_region(heap_caps_malloc(64, CUSTOM_CAP), SPARE, 3500));
    void *q = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(q));
    heap_caps_free(q);
}

static void region_added_twice_or_straddling_is_refused(void **state)
{
    (void)state;
    const uint32_t caps[3] = {CUSTOM_CAP, 0, 0};
    intptr_t start = (intptr_t)arena + SPARE;
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 3500), ESP_OK);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 3500), ESP_FAIL);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start - 100, start + 100), ESP_FAIL);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start + 3400, start + 4000), ESP_FAIL);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start + 3500, start + 3400),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start + 3500, start + 3500),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(NULL, start + 4000, start + 8000),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(caps, 0, 100), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start + 4000, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start + 4000, start + 4010),
                     ESP_ERR_INVALID_SIZE);
    assert_int_equal(heap_caps_add_region(0, 100), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region(start + 4096, start + 8192), ESP_ERR_NOT_FOUND);
}

static void add_region_range_check_matches_esp_idf(void **state)
{
    (void)state;
    const intptr_t hs = 0x1000, he = 0x3000;
    assert_true(heap_caps_check_add_region_allowed(hs, he, 0x0, 0x1000));
    assert_true(heap_caps_check_add_region_allowed(hs, he, 0x3000, 0x4000));
    assert_true(heap_caps_check_add_region_allowed(hs, he, 0x1000, 0x2999));
    assert_true(heap_caps_check_add_region_allowed(hs, he, 0x1001, 0x3000));
    assert_true(heap_caps_check_add_region_allowed(hs, he, 0x1001, 0x2999));
    assert_false(heap_caps_check_add_region_allowed(hs, he, 0x0, 0x2000));
    assert_false(heap_caps_check_add_region_allowed(hs, he, 0x0, 0x4000));
    assert_false(heap_caps_check_add_region_allowed(hs, he, 0x1000, 0x4000));
    assert_false(heap_caps_check_add_region_allowed(hs, he, 0x2000, 0x4000));
    assert_false(heap_caps_check_add_region_allowed(hs, he, 0x1000, 0x3000));
}

/* A heap across 0x80000000 (its end a negative intptr_t on a 32-bit core):
 * addresses compare unsigned, a difference from ESP-IDF (docs/differences.md). */
static void add_region_range_check_across_the_sign_bit(void **state)
{
    (void)state;
    const intptr_t hs = (intptr_t)(uintptr_t)0x7FFFF000u, he = (intptr_t)(uintptr_t)0x80001000u;
    assert_false(heap_caps_check_add_region_allowed(hs, he, (intptr_t)(uintptr_t)0x7FFFE000u,
                                                    (intptr_t)(uintptr_t)0x80000000u));
    assert_false(heap_caps_check_add_region_allowed(hs, he, (intptr_t)(uintptr_t)0x80000800u,
                                                    (intptr_t)(uintptr_t)0x80002000u));
    assert_true(heap_caps_check_add_region_allowed(hs, he, (intptr_t)(uintptr_t)0x7FFFF800u,
                                                   (intptr_t)(uintptr_t)0x80000800u));
    assert_true(heap_caps_check_add_region_allowed(hs, he, (intptr_t)(uintptr_t)0x80001000u,
                                                   (intptr_t)(uintptr_t)0x80002000u));
}

static void region_inside_an_allocated_block_wins_for_its_pointers(void **state)
{
    (void)state;
    const uint32_t caps[3] = {CUSTOM_CAP, 0, 0};
    char *buffer = heap_caps_malloc(8192, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(buffer));
    intptr_t start = (intptr_t)buffer + 64;
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 4096), ESP_OK);
    void *inner = heap_caps_malloc(100, CUSTOM_CAP);
    assert_true((intptr_t)inner > start && (intptr_t)inner < start + 4096);
    size_t inner_free = heap_caps_get_free_size(CUSTOM_CAP);
    heap_caps_free(inner); /* returns to the nested heap, not to DRAM */
    assert_true(heap_caps_get_free_size(CUSTOM_CAP) > inner_free);
    assert_true(heap_caps_check_integrity_all(true));
}

static void many_extra_heaps_leave_selection_and_free_intact(void **state)
{
    (void)state;
    const uint32_t caps[3] = {CUSTOM_CAP, 0, 0};
    for (int i = 0; i < 64; ++i) {
        intptr_t start = (intptr_t)arena + SPARE + i * 512;
        assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 512), ESP_OK);
    }
    void *p[100];
    for (int i = 0; i < 100; ++i) {
        p[i] = heap_caps_malloc(8 + (size_t)i % 32, i % 2 ? MALLOC_CAP_8BIT : CUSTOM_CAP);
        assert_true(i % 2 ? IN_DRAM(p[i]) : in_region(p[i], SPARE, 0x8000));
    }
    for (int i = 0; i < 100; ++i) {
        heap_caps_free(p[i]);
    }
    multi_heap_info_t info;
    heap_caps_get_info(&info, CUSTOM_CAP);
    assert_int_equal(info.allocated_blocks, 0);
    assert_int_equal(info.free_blocks, 64);
}

/* Past the route cache's 256 masks requests still find their heap. */
static void more_distinct_caps_than_the_route_cache_holds_still_work(void **state)
{
    (void)state;
    const uint32_t many_bits = 0x3FF00000u; /* ten custom bits: 1,023 masks */
    const uint32_t caps[3] = {many_bits, 0, 0};
    intptr_t start = (intptr_t)arena + SPARE;
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 0x8000), ESP_OK);
    for (uint32_t i = 1; i <= 600; ++i) {
        uint32_t mask = (i << 20) & many_bits;
        void *p = heap_caps_malloc(16, mask);
        assert_true(in_region(p, SPARE, 0x8000));
        heap_caps_free(p);
    }
    assert_int_equal(callback_calls, 0);
}

/* ---- startup-stack heaps -------------------------------------------------- */

static void startup_stack_heap_is_logged_but_used_only_after_enable(void **state)
{
    (void)state;
    install_board();
    heap_caps_init();
    size_t before = heap_caps_get_total_size(0);
    heap_caps_enable_nonos_stack_heaps();
    assert_int_equal(heap_caps_get_total_size(0), before + 0x4000);
    heapcaps_registry_reset();
    heapcaps_layout_uninstall();
    free(arena);
}

/* ---- malloc() policy ---------------------------------------------------- */

static void malloc_policy_uses_external_memory_above_the_limit(void **state)
{
    (void)state;
    const uint32_t spiram[3] = {MALLOC_CAP_SPIRAM | MALLOC_CAP_DEFAULT, 0,
                                MALLOC_CAP_8BIT | MALLOC_CAP_32BIT};
    intptr_t start = (intptr_t)arena + SPARE;
    assert_int_equal(heap_caps_add_region_with_caps(spiram, start, start + 0x8000), ESP_OK);
    /* malloc() stays internal until external use is enabled... */
    void *a = heap_caps_malloc_default(4000);
    assert_false(in_region(a, SPARE, 0x8000));
    /* ...while a DEFAULT request prefers the heap added last. */
    void *b = heap_caps_malloc(256, MALLOC_CAP_DEFAULT);
    assert_true(in_region(b, SPARE, 0x8000));
    heap_caps_malloc_extmem_enable(1000);
    void *small = heap_caps_malloc_default(100);
    void *large = heap_caps_malloc_default(4000);
    assert_false(in_region(small, SPARE, 0x8000));
    assert_true(in_region(large, SPARE, 0x8000));
    void *grown = heap_caps_realloc_default(small, 2000);
    assert_true(in_region(grown, SPARE, 0x8000));
    void *aligned = heap_caps_aligned_alloc_default(64, 4000);
    assert_true(in_region(aligned, SPARE, 0x8000));
    heap_caps_malloc_extmem_enable(SIZE_MAX); /* converts to -1: disabled again */
    void *again = heap_caps_malloc_default(4000);
    assert_false(in_region(again, SPARE, 0x8000));
    heap_caps_free(a);
    heap_caps_free(b);
    heap_caps_free(large);
    heap_caps_free(grown);
    heap_caps_free(aligned);
    heap_caps_free(again);
}

static void malloc_policy_falls_back_and_reports_default_caps(void **state)
{
    (void)state;
    heap_caps_malloc_extmem_enable(1000);
    /* No external heap: the preferred SPIRAM attempt fails, DEFAULT serves. */
    void *p = heap_caps_malloc_default(4000);
    assert_non_null(p);
    assert_int_equal(callback_calls, 0);
    assert_null(heap_caps_malloc_default(1 << 20));
    assert_int_equal(callback_calls, 1);
    assert_int_equal(callback_caps, MALLOC_CAP_DEFAULT);
    assert_string_equal(callback_function, "heap_caps_malloc_default");
    heap_caps_free(p);
}

/* ---- dumps, deprecated and base entry points ---------------------------- */

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *at = strstr(text, what); at; at = strstr(at + 1, what)) {
        ++n;
    }
    return n;
}

static void dump_rtc(void *context)
{
    (void)context;
    heap_caps_dump(MALLOC_CAP_RTCRAM);
}

static void dump_everything(void *context)
{
    (void)context;
    heap_caps_dump_all();
}

static void dump_shows_the_matching_heaps_block_by_block(void **state)
{
    (void)state;
    static char out[16384];
    capture_output(2, dump_rtc, NULL, out, sizeof(out));
    assert_int_equal(count_of(out, "Showing data for heap: "), 1);
    assert_true(count_of(out, "Block ") >= 1);
    assert_non_null(strstr(out, "Free: Yes"));
    capture_output(2, dump_everything, NULL, out, sizeof(out));
    /* DRAM, D/IRAM, IRAM, RTC and the startup-stack heap. */
    assert_int_equal(count_of(out, "Showing data for heap: "), 5);
    assert_non_null(strstr(out, "Free: No")); /* the heap descriptors */
}

static void deprecated_aligned_free_frees(void **state)
{
    (void)state;
    size_t before = heap_caps_get_free_size(MALLOC_CAP_DEFAULT);
    void *p = heap_caps_aligned_alloc(64, 100, MALLOC_CAP_DEFAULT);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    heap_caps_aligned_free(p);
#pragma GCC diagnostic pop
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_DEFAULT), before);
}

static void base_entry_points_allocate_without_reporting_failures(void **state)
{
    (void)state;
    void *p = heap_caps_malloc_base(100, MALLOC_CAP_8BIT);
    assert_true(IN_DRAM(p));
    unsigned char *z = heap_caps_calloc_base(10, 10, MALLOC_CAP_8BIT);
    for (int i = 0; i < 100; ++i) {
        assert_int_equal(z[i], 0);
    }
    void *a = heap_caps_aligned_alloc_base(256, 100, MALLOC_CAP_8BIT);
    assert_int_equal((uintptr_t)a % 256, 0);
    void *r = heap_caps_realloc_base(p, 200, MALLOC_CAP_EXEC);
    assert_true(IN_IRAM(r));
    assert_null(heap_caps_malloc_base(1 << 20, MALLOC_CAP_8BIT));
    assert_null(heap_caps_calloc_base(SIZE_MAX / 2, 4, MALLOC_CAP_8BIT));
    assert_null(heap_caps_realloc_base(r, 1 << 20, MALLOC_CAP_8BIT));
    assert_null(heap_caps_aligned_alloc_base(16, 1 << 20, MALLOC_CAP_8BIT));
    assert_int_equal(callback_calls, 0); /* only the public wrappers report */
    heap_caps_free(r);
    heap_caps_free(z);
    heap_caps_free(a);
}

/* ---- fatal paths (guarded) ------------------------------------------------- */

typedef void (*doomed_fn)(void);

static void call_doomed(void *context)
{
    (*(doomed_fn *)context)();
}

static void expect_abort(doomed_fn fn, const char *message)
{
    char out[1024];
    guard_end_t end = run_guarded(call_doomed, &fn, out, sizeof(out));
    if (!end.aborted) {
        fail_msg("expected an abort, got status 0x%x; output: %s", end.raw, out);
    }
    if (!strstr(out, message)) {
        fail_msg("abort message '%s' not in: %s", message, out);
    }
}

static void free_foreign(void)
{
    static size_t outside[4];
    heap_caps_free(&outside[2]);
}

static void realloc_foreign(void)
{
    static size_t outside[4];
    heap_caps_realloc(&outside[2], 10, MALLOC_CAP_8BIT);
}

static void fail_with_abort_on(void)
{
    heapcaps_set_abort_on_alloc_failure(true);
    heap_caps_malloc(0x8000000, MALLOC_CAP_DEFAULT);
}

static void free_outside_every_heap_aborts(void **state)
{
    (void)state;
    expect_abort(free_foreign, "free() target pointer is outside heap areas");
    expect_abort(realloc_foreign, "realloc() pointer is outside heap areas");
}

static void failed_allocation_aborts_when_configured(void **state)
{
    (void)state;
    expect_abort(fail_with_abort_on, "Mem alloc fail. size 0x08000000 caps 0x00001000");
}

static void failure_callback_rejects_null(void **state)
{
    (void)state;
    assert_int_equal(heap_caps_register_failed_alloc_callback(NULL), ESP_ERR_INVALID_ARG);
    assert_null(heap_caps_malloc(16, CUSTOM_CAP));
    assert_int_equal(callback_calls, 1); /* the previous callback is kept */
}

#define BOARD_TEST(fn) cmocka_unit_test_setup_teardown(fn, boot_board, shut_board)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOARD_TEST(byte_accessible_request_comes_from_dram),
        BOARD_TEST(default_request_avoids_rtc_memory),
        BOARD_TEST(word_request_uses_iram_then_dram_then_diram),
        BOARD_TEST(word_request_rounds_the_size_up_to_four),
        BOARD_TEST(exec_request_comes_from_iram),
        BOARD_TEST(exec_with_byte_or_dma_access_fails_and_reports),
        BOARD_TEST(caps_zero_fails_and_reports),
        BOARD_TEST(caps_no_heap_has_fail_and_report),
        BOARD_TEST(malloc_of_zero_is_null_without_callback),
        BOARD_TEST(unreasonable_and_overflowing_sizes_fail),
        BOARD_TEST(calloc_zeroes_the_memory),
        BOARD_TEST(calloc_reports_by_element_size),
        BOARD_TEST(realloc_moves_between_memory_types_keeping_data),
        BOARD_TEST(realloc_shrinks_in_place),
        BOARD_TEST(realloc_of_null_allocates_and_to_zero_frees),
        BOARD_TEST(failed_realloc_keeps_the_block_and_reports),
        BOARD_TEST(aligned_alloc_rejects_bad_arguments_silently),
        BOARD_TEST(aligned_alloc_honours_the_alignment),
        BOARD_TEST(prefer_takes_the_first_caps_that_succeed),
        BOARD_TEST(prefer_reports_the_last_caps_tried),
        BOARD_TEST(totals_follow_the_layout),
        BOARD_TEST(free_size_falls_by_the_allocation),
        BOARD_TEST(largest_free_block_can_be_allocated),
        BOARD_TEST(full_heap_reports_zero_free),
        BOARD_TEST(info_sums_the_matching_heaps),
        BOARD_TEST(print_heap_info_uses_esp_idf_format),
        BOARD_TEST(minimum_monitoring_reports_local_minimum_then_restores),
        BOARD_TEST(allocated_and_containing_block_sizes),
        BOARD_TEST(walk_finds_an_allocation_in_its_heap),
        BOARD_TEST(integrity_check_finds_a_damaged_block),
        BOARD_TEST(region_with_new_capability_serves_it),
        BOARD_TEST(region_added_without_library_memory_is_refused_cleanly),
        BOARD_TEST(region_added_twice_or_straddling_is_refused),
        cmocka_unit_test(add_region_range_check_matches_esp_idf),
        cmocka_unit_test(add_region_range_check_across_the_sign_bit),
        BOARD_TEST(region_inside_an_allocated_block_wins_for_its_pointers),
        BOARD_TEST(many_extra_heaps_leave_selection_and_free_intact),
        BOARD_TEST(more_distinct_caps_than_the_route_cache_holds_still_work),
        cmocka_unit_test(startup_stack_heap_is_logged_but_used_only_after_enable),
        BOARD_TEST(malloc_policy_uses_external_memory_above_the_limit),
        BOARD_TEST(malloc_policy_falls_back_and_reports_default_caps),
        BOARD_TEST(dump_shows_the_matching_heaps_block_by_block),
        BOARD_TEST(deprecated_aligned_free_frees),
        BOARD_TEST(base_entry_points_allocate_without_reporting_failures),
        BOARD_TEST(free_outside_every_heap_aborts),
        BOARD_TEST(failed_allocation_aborts_when_configured),
        BOARD_TEST(failure_callback_rejects_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
