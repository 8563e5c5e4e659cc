/*
 * test_coverage_heap_caps.c — heap_caps where the library runs short or the
 * layout is unusual: heap_caps_init() without a layout, without memory for
 * its lists, its descriptors, its lookup table or its route cache; regions too small to become
 * heaps; two heaps in one lookup page; a heap inside a block of another; heaps far apart; heaps
 * used after the layout is uninstalled; the malloc() policy with external memory enabled. On a
 * board layout over host memory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heap_caps_private.h"
#include "heapcaps/heap_caps_ext.h"
#include "heapcaps/layout.h"
#include "heapcaps/log.h"
#ifdef CONFIG_HEAP_TASK_TRACKING
#include "esp_heap_task_info.h"
#endif

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

enum { T_DRAM, T_IRAM, T_FAST, T_EXT };

#define FAST_CAP   (1u << 30) /* the board's own capability */
#define NESTED_CAP (1u << 29) /* a heap registered inside a block */
#define SPARE_CAP  (1u << 28) /* a heap registered at run time */

static const soc_memory_type_desc_t board_types[] = {
    [T_DRAM] = {"DRAM",
                {MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT,
                 MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_32BIT, 0}},
    [T_IRAM] = {"IRAM", {MALLOC_CAP_INTERNAL | MALLOC_CAP_EXEC | MALLOC_CAP_32BIT, 0, 0}},
    [T_FAST] = {"FAST", {FAST_CAP, MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT, 0}},
    [T_EXT] = {"EXT", {MALLOC_CAP_SPIRAM, MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT, MALLOC_CAP_32BIT}},
};

#define ARENA    0x20000
#define DRAM     0x00000 /* 32 KiB */
#define IRAM     0x08000 /* 2 KiB, then FAST: both in one 4 KiB lookup page */
#define FAST     0x08800
#define EXT      0x10000 /* 32 KiB */
#define TINY     0x18000 /* too small for a heap */
#define TINY_STK 0x19000 /* a startup-stack region too small for a heap */

static char *arena;
static soc_memory_region_t board_regions[6];
static heapcaps_layout_t board;
/* Memory outside the arena for regions added at run time: in the program's
 * data, far from the arena on a 64-bit host. */
static size_t spare[0x4000 / sizeof(size_t)];

static size_t failures;
static uint32_t failed_caps;
static const char *failed_function;

static void count_failure(size_t size, uint32_t caps, const char *function_name)
{
    (void)size;
    failures++;
    failed_caps = caps;
    failed_function = function_name;
}

static int install_board(void **state)
{
    (void)state;
    heapcaps_log_set_enabled(false);
    arena = test_region(ARENA);
    intptr_t base = (intptr_t)arena;
    /* The tiny region first: heap_caps_init() passes it by when it looks for
     * the internal heap that holds the descriptors. */
    board_regions[0] = (soc_memory_region_t){base + TINY, 0x40, T_DRAM, 0, false};
    board_regions[1] = (soc_memory_region_t){base + DRAM, 0x8000, T_DRAM, 0, false};
    board_regions[2] = (soc_memory_region_t){base + IRAM, 0x800, T_IRAM, 0, false};
    board_regions[3] = (soc_memory_region_t){base + FAST, 0x800, T_FAST, 0, false};
    board_regions[4] = (soc_memory_region_t){base + EXT, 0x8000, T_EXT, 0, false};
    board_regions[5] = (soc_memory_region_t){base + TINY_STK, 0x40, T_DRAM, 0, true};
    assert_true(0x40 < heapcaps_multi_heap_min_region_size());
    board = (heapcaps_layout_t){.name = "board",
                                .types = board_types,
                                .type_count = COUNT_OF(board_types),
                                .regions = board_regions,
                                .region_count = COUNT_OF(board_regions)};
    assert_int_equal(heapcaps_layout_install(&board), ESP_OK);
    failures = 0;
    return 0;
}

static int reset_board(void **state)
{
    (void)state;
    test_fail_meta_alloc_after(-1);
    heapcaps_registry_reset();
    heapcaps_layout_uninstall();
    heapcaps_log_set_enabled(true);
    free(arena);
    arena = NULL;
    return 0;
}

static void boot(void)
{
    heap_caps_init();
    heap_caps_enable_nonos_stack_heaps();
    assert_int_equal(heap_caps_register_failed_alloc_callback(count_failure), ESP_OK);
}

static bool in_arena(const void *p, size_t offset, size_t size)
{
    return p && (const char *)p >= arena + offset && (const char *)p < arena + offset + size;
}

/* ---- heap_caps_init() without what it needs ------------------------------ */

static void init_quietly(void *context)
{
    (void)context;
    heap_caps_init();
}

static void init_without_a_layout_makes_no_heaps(void **state)
{
    (void)state;
    heapcaps_layout_uninstall();
    heapcaps_log_set_enabled(true);
    char out[512];
    capture_output(1, init_quietly, NULL, out, sizeof(out));
    assert_non_null(strstr(out, "no memory layout installed: no heaps"));
    assert_null(heap_caps_malloc(16, MALLOC_CAP_8BIT));
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_8BIT), 0);
    /* The monitor has no heap to watch: it starts and stops all the same. */
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
}

static void layout_without_regions_makes_no_heaps(void **state)
{
    (void)state;
    static heapcaps_layout_t empty; /* installed: must outlive the test */
    empty = board;
    empty.region_count = 0;
    assert_int_equal(heapcaps_layout_install(&empty), ESP_OK);
    heap_caps_init(); /* nothing to do, nothing to complain about */
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_8BIT), 0);
    /* A runtime region's descriptor needs an internal heap: none. */
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {SPARE_CAP, 0, 0};
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)spare,
                                                    (intptr_t)spare + (intptr_t)sizeof(spare)),
                     ESP_ERR_NO_MEM);
    assert_int_equal(heap_caps_get_total_size(SPARE_CAP), 0);
}

static void init_without_memory_for_its_region_lists_makes_no_heaps(void **state)
{
    (void)state;
    heapcaps_log_set_enabled(true);
    /* No memory for the first list, then for the second one only. */
    for (long allowed = 0; allowed < 2; ++allowed) {
        test_fail_meta_alloc_after(allowed);
        char out[512];
        capture_output(1, init_quietly, NULL, out, sizeof(out));
        test_fail_meta_alloc_after(-1);
        assert_non_null(strstr(out, "no memory for the region list"));
        assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_8BIT), 0);
    }
}

static const soc_memory_type_desc_t external_only_types[] = {
    {"EXT", {MALLOC_CAP_SPIRAM, MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT, MALLOC_CAP_32BIT}},
};

static void init_stops_without_internal_memory_for_the_descriptors(void **state)
{
    (void)state;
    static soc_memory_region_t region; /* installed: must outlive the test */
    static heapcaps_layout_t external;
    region = board_regions[4]; /* the EXT region alone */
    region.type = 0;
    external = board;
    external.types = external_only_types;
    external.type_count = 1;
    external.regions = &region;
    external.region_count = 1;
    assert_int_equal(heapcaps_layout_install(&external), ESP_OK);
    heapcaps_log_set_enabled(true);
    char out[1024];
    guard_end_t end = run_guarded(init_quietly, NULL, out, sizeof(out));
    assert_true(end.aborted);
    assert_non_null(strstr(out, "no internal memory for the heap descriptors"));
}

static void init_fails_after(void *context)
{
    test_fail_meta_alloc_after(*(const long *)context);
    heap_caps_init();
}

static void init_stops_without_memory_for_the_heap_lookup(void **state)
{
    (void)state;
    heapcaps_log_set_enabled(true);
    /* The two region lists, then nothing: the lookup table (with pages or
     * without) cannot be built, and the heaps are taken off the list again
     * before the stop. */
    const long lists_only = 2;
    char out[1024];
    guard_end_t end = run_guarded(init_fails_after, (void *)&lists_only, out, sizeof(out));
    assert_true(end.aborted);
    assert_non_null(strstr(out, "no memory for the heap lookup table"));
}

static void without_a_route_cache_requests_walk_the_heap_list(void **state)
{
    (void)state;
    /* The region lists and the lookup table, then no route cache. */
    test_fail_meta_alloc_after(3);
    heap_caps_init();
    test_fail_meta_alloc_after(-1);
    heap_caps_enable_nonos_stack_heaps(); /* no route cache again: no memory asked */
    size_t dram_free = heap_caps_get_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    void *byte = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    void *exec = heap_caps_malloc(100, MALLOC_CAP_EXEC);
    void *fast = heap_caps_malloc(100, FAST_CAP);
    void *ext = heap_caps_malloc(100, MALLOC_CAP_SPIRAM);
    assert_true(in_arena(byte, DRAM, 0x8000));
    assert_true(in_arena(exec, IRAM, 0x800));
    assert_true(in_arena(fast, FAST, 0x800));
    assert_true(in_arena(ext, EXT, 0x8000));
    /* The 32BIT order over priority levels: IRAM first (level 0). */
    void *word = heap_caps_malloc(16, MALLOC_CAP_32BIT);
    assert_true(in_arena(word, IRAM, 0x800));
    assert_null(heap_caps_malloc(0x10000, MALLOC_CAP_8BIT)); /* larger than any heap */
    assert_null(heap_caps_malloc(16, MALLOC_CAP_RTCRAM));    /* no heap has it */
    assert_null(heap_caps_malloc(16, 0)); /* no capability asked: no heap offers it */
    heap_caps_free(word);
    heap_caps_free(ext);
    heap_caps_free(fast);
    heap_caps_free(exec);
    heap_caps_free(byte);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL), dram_free);
    assert_true(heap_caps_check_integrity_all(true));
}

/* ---- regions too small to be heaps ----------------------------------------- */

static void regions_too_small_for_a_heap_serve_nothing(void **state)
{
    (void)state;
    boot();
    heap_caps_enable_nonos_stack_heaps(); /* again: nothing left to enable */
    /* Only the 32 KiB DRAM region became a DRAM heap. */
    multi_heap_info_t info;
    heap_caps_get_info(&info, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_true(info.total_free_bytes < 0x8000);
    assert_true(info.total_free_bytes > 0x7000);
    assert_int_equal(info.free_blocks, 1);
    heap_caps_get_info(NULL, MALLOC_CAP_8BIT); /* nowhere to write: nothing happens */
    /* The monitor skips them. */
    size_t minimum = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    void *p = heap_caps_malloc(0x1000, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_true(in_arena(p, DRAM, 0x8000));
    heap_caps_free(p);
    /* The monitored minimum starts from the free size now. */
    assert_true(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL) < minimum);
    size_t local = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
    /* The lower of the two minimums stays. */
    assert_int_equal(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL), local);
#ifdef CONFIG_HEAP_TASK_TRACKING
    /* The per-task walk passes them by, and the heaps no slot asks for. */
    void *ext = heap_caps_malloc(100, MALLOC_CAP_SPIRAM);
    assert_true(in_arena(ext, EXT, 0x8000));
    heap_task_info_params_t params;
    memset(&params, 0, sizeof(params));
    for (int slot = 0; slot < NUM_HEAP_TASK_CAPS; ++slot) {
        params.mask[slot] = MALLOC_CAP_SPIRAM;
        params.caps[slot] = MALLOC_CAP_SPIRAM;
    }
    heap_task_totals_t totals[2];
    size_t used = 0;
    params.totals = totals;
    params.num_totals = &used;
    params.max_totals = 2;
    assert_int_equal(heap_caps_get_per_task_info(&params), 0); /* no block list asked for */
    assert_int_equal(used, 1);                                 /* only EXT's block counted */
    assert_int_equal(totals[0].count[0], 1);
    assert_true(totals[0].size[0] >= 100); /* with the owner word */
    heap_caps_free(ext);
#endif
    /* Nothing in them is a heap's block. */
    assert_false(heap_caps_check_integrity_addr((intptr_t)(arena + TINY + 8), false));
    assert_true(heap_caps_check_integrity_all(true));
}

/* ---- the pointer lookup ------------------------------------------------ */

static void two_heaps_in_one_lookup_page_are_told_apart(void **state)
{
    (void)state;
    boot();
    size_t iram_free = heap_caps_get_free_size(MALLOC_CAP_EXEC);
    size_t fast_free = heap_caps_get_free_size(FAST_CAP);
    char *exec = heap_caps_malloc(200, MALLOC_CAP_EXEC);
    char *fast = heap_caps_malloc(300, FAST_CAP);
    assert_true(in_arena(exec, IRAM, 0x800));
    assert_true(in_arena(fast, FAST, 0x800));
    assert_true(heap_caps_get_allocated_size(exec) >= 200);
    assert_true(heap_caps_get_allocated_size(fast) >= 300);
    assert_true(heap_caps_get_containing_block_size(exec + 100) >= 200);
    assert_true(heap_caps_get_containing_block_size(fast + 100) >= 300);
    assert_true(heap_caps_check_integrity_addr((intptr_t)exec, true));
    assert_true(heap_caps_check_integrity_addr((intptr_t)fast, true));
    /* Each block goes back to its own heap. */
    heap_caps_free(fast);
    assert_int_equal(heap_caps_get_free_size(FAST_CAP), fast_free);
    assert_true(heap_caps_get_free_size(MALLOC_CAP_EXEC) < iram_free); /* exec still out */
    heap_caps_free(exec);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_EXEC), iram_free);
}

static void a_region_inside_a_block_is_a_heap_of_its_own(void **state)
{
    (void)state;
    boot();
    const size_t outer_size = 0x400; /* inside one lookup page */
    char *outer = heap_caps_malloc(outer_size, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    char *neighbour = heap_caps_malloc(64, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_true(in_arena(outer, DRAM, 0x8000));
    assert_true(in_arena(neighbour, DRAM, 0x8000));
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {NESTED_CAP, 0, 0};
    assert_int_equal(
        heap_caps_add_region_with_caps(caps, (intptr_t)outer, (intptr_t)(outer + outer_size)),
        ESP_OK);
    size_t nested_free = heap_caps_get_free_size(NESTED_CAP);
    assert_true(nested_free > 0 && nested_free < outer_size);
    /* Its blocks are found in it, not in the heap around it. */
    char *inner = heap_caps_malloc(100, NESTED_CAP);
    assert_true(inner > outer && inner < outer + outer_size);
    assert_true(heap_caps_get_allocated_size(inner) >= 100);
    assert_true(heap_caps_get_free_size(NESTED_CAP) < nested_free);
    heap_caps_free(inner);
    assert_int_equal(heap_caps_get_free_size(NESTED_CAP), nested_free);
    /* The heap around it still finds its other blocks. */
    assert_int_equal(heap_caps_get_allocated_size(neighbour), 64);
    heap_caps_free(neighbour);
    assert_true(heap_caps_check_integrity_all(true));
}

static void heaps_far_apart_and_without_a_layout_keep_working(void **state)
{
    (void)state;
    boot();
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {SPARE_CAP, 0, MALLOC_CAP_8BIT};
    intptr_t start = (intptr_t)spare, end = (intptr_t)spare + (intptr_t)sizeof(spare) / 2;
    /* A region in the program's data, while the layout is installed: the
     * lookup covers the layout's window, this heap lies beside it. */
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, end), ESP_OK);
    char *a = heap_caps_malloc(64, SPARE_CAP);
    assert_true(a >= (char *)spare && a < (char *)spare + sizeof(spare) / 2);
    assert_int_equal(heap_caps_get_allocated_size(a), 64);
    /* The layout goes: the heaps stay and serve; regions are no longer
     * found in it. */
    heapcaps_layout_uninstall();
    assert_int_equal(heap_caps_add_region((intptr_t)arena + TINY, (intptr_t)arena + TINY + 0x40),
                     ESP_ERR_NOT_FOUND);
    const uint32_t more_caps[SOC_MEMORY_TYPE_NO_PRIOS] = {SPARE_CAP, 0, 0};
    assert_int_equal(
        heap_caps_add_region_with_caps(more_caps, end, (intptr_t)spare + (intptr_t)sizeof(spare)),
        ESP_OK);
    char *b = heap_caps_malloc(64, SPARE_CAP);
    char *c = heap_caps_aligned_alloc(64, 100, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    /* DMA without SoC facts: no cache line to align to, the DMA heap serves. */
    char *dma = heap_caps_malloc(30, MALLOC_CAP_DMA);
    assert_true(in_arena(dma, DRAM, 0x8000));
    assert_true(heap_caps_get_allocated_size(dma) >= 30);
    heap_caps_free(dma);
    assert_non_null(b);
    assert_true(in_arena(c, DRAM, 0x8000));
    assert_int_equal((uintptr_t)c % 64, 0);
    assert_int_equal(heap_caps_get_allocated_size(b), 64);
    heap_caps_free(c);
    heap_caps_free(b);
    heap_caps_free(a);
    assert_true(heap_caps_check_integrity_all(true));
}

/* ---- sizes of what is no block ------------------------------------------- */

static void containing_block_of_null(void *context)
{
    (void)context;
    (void)heap_caps_get_containing_block_size(NULL);
}

static void null_is_in_no_block_and_four_bytes_make_no_heap(void **state)
{
    (void)state;
    boot();
    char out[512];
    guard_end_t end = run_guarded(containing_block_of_null, NULL, out, sizeof(out));
    assert_true(end.aborted);
    assert_non_null(strstr(out, "pointer is in no allocated block"));
    /* Four bytes at a 4-byte boundary: less than nothing once the start is
     * aligned for a heap (on a 64-bit host), too small for one anyway. */
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {SPARE_CAP, 0, 0};
    intptr_t start = (intptr_t)spare + 4;
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, start + 4), ESP_ERR_INVALID_SIZE);
    assert_int_equal(heap_caps_get_total_size(SPARE_CAP), 0);
}

/* ---- the route cache ----------------------------------------------------- */

static unsigned home_slot(uint32_t caps)
{
    return (unsigned)((caps * 0x9E3779B1u) >> 24) % 256u;
}

static void masks_sharing_a_route_slot_are_both_served(void **state)
{
    (void)state;
    boot();
    /* Two masks whose routes want the same slot of the cache: the second
     * is stored in the next free slot and found there by a probe. */
    uint32_t first = 0, second = 0;
    static uint32_t owner_of_slot[256];
    memset(owner_of_slot, 0, sizeof(owner_of_slot));
    for (uint32_t i = 1; i < 4096 && !second; ++i) {
        /* Bits no heap has: PID2-PID7 (4-9) and 22-27. */
        uint32_t caps = MALLOC_CAP_8BIT | ((i & 63u) << 4) | ((i >> 6) << 22);
        unsigned slot = home_slot(caps);
        if (owner_of_slot[slot]) {
            first = owner_of_slot[slot];
            second = caps;
        }
        owner_of_slot[slot] = caps;
    }
    assert_true(second != 0);
    /* No heap has those bits: both routes are empty, the requests fail. */
    for (int round = 0; round < 3; ++round) {
        assert_null(heap_caps_malloc(16, first));
        assert_null(heap_caps_malloc(16, second));
    }
    assert_int_equal(failures, 6);
    void *p = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    assert_true(in_arena(p, DRAM, 0x8000));
    heap_caps_free(p);
}

/* ---- heap_caps_add_region_with_caps() without memory ------------------ */

static void adding_a_region_needs_internal_memory_for_its_descriptor(void **state)
{
    (void)state;
    boot();
    const uint32_t needed = MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT;
    void *taken[16];
    size_t count = 0;
    size_t largest;
    while ((largest = heap_caps_get_largest_free_block(needed)) > 0 && count < COUNT_OF(taken)) {
        taken[count] = heap_caps_malloc(largest, needed);
        assert_non_null(taken[count]);
        ++count;
    }
    assert_int_equal(heap_caps_get_largest_free_block(needed), 0);
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {SPARE_CAP, 0, 0};
    intptr_t start = (intptr_t)spare, end = (intptr_t)spare + (intptr_t)sizeof(spare);
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, end), ESP_ERR_NO_MEM);
    while (count > 0) {
        heap_caps_free(taken[--count]);
    }
    assert_int_equal(heap_caps_add_region_with_caps(caps, start, end), ESP_OK);
    assert_non_null(heap_caps_malloc(64, SPARE_CAP));
}

/* ---- the malloc() policy with external memory --------------------------- */

static void malloc_policy_with_external_memory_enabled(void **state)
{
    (void)state;
    boot();
    heap_caps_malloc_extmem_enable(64);
    void *small = heap_caps_malloc_default(32);
    void *large = heap_caps_malloc_default(1024);
    assert_true(in_arena(small, DRAM, 0x8000)); /* up to the limit: internal */
    assert_true(in_arena(large, EXT, 0x8000));  /* above it: external first */
    /* realloc to 0 frees, and is no failure. */
    size_t ext_free = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    assert_null(heap_caps_realloc_default(large, 0));
    assert_true(heap_caps_get_free_size(MALLOC_CAP_SPIRAM) > ext_free);
    assert_int_equal(failures, 0);
    /* Aligned, too large for either: one failure, reported as the policy's. */
    assert_null(heap_caps_aligned_alloc_default(16, 0x10000));
    assert_int_equal(failures, 1);
    assert_int_equal(failed_caps, MALLOC_CAP_DEFAULT);
    assert_string_equal(failed_function, "heap_caps_aligned_alloc_default");
    void *aligned = heap_caps_aligned_alloc_default(32, 16);
    assert_true(in_arena(aligned, DRAM, 0x8000));
    assert_int_equal((uintptr_t)aligned % 32, 0);
    heap_caps_free(aligned);
    heap_caps_free(small);
}

#define HC_TEST(fn) cmocka_unit_test_setup_teardown(fn, install_board, reset_board)

int main(void)
{
    const struct CMUnitTest tests[] = {
        HC_TEST(init_without_a_layout_makes_no_heaps),
        HC_TEST(layout_without_regions_makes_no_heaps),
        HC_TEST(init_without_memory_for_its_region_lists_makes_no_heaps),
        HC_TEST(init_stops_without_internal_memory_for_the_descriptors),
        HC_TEST(init_stops_without_memory_for_the_heap_lookup),
        HC_TEST(without_a_route_cache_requests_walk_the_heap_list),
        HC_TEST(regions_too_small_for_a_heap_serve_nothing),
        HC_TEST(two_heaps_in_one_lookup_page_are_told_apart),
        HC_TEST(a_region_inside_a_block_is_a_heap_of_its_own),
        HC_TEST(heaps_far_apart_and_without_a_layout_keep_working),
        HC_TEST(null_is_in_no_block_and_four_bytes_make_no_heap),
        HC_TEST(masks_sharing_a_route_slot_are_both_served),
        HC_TEST(adding_a_region_needs_internal_memory_for_its_descriptor),
        HC_TEST(malloc_policy_with_external_memory_enabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
