/*
 * test_coverage_task_tracking.c — task tracking where it runs short or is
 * re-entered: calls made from inside the tracker (by the stream it prints
 * to) are not tracked and its queries answer "busy"; the statistics arrays
 * and the record table without memory; a heap without a type name in the
 * printed tree. On an emulated ESP32.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* fopencookie */

#include "test_support.h"

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "esp_heap_task_info.h"
#include "heapcaps/emu.h"
#include "heap_memory_layout.h"
#include "heapcaps/host.h"

static int boot(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
    return 0;
}

static int shutdown_chip(void **state)
{
    (void)state;
    heapcaps_host_fail_meta_alloc_after(-1);
    heapcaps_emu_shutdown();
    return 0;
}

/* What the calling task holds now, as the tracker counts it. */
static size_t current_usage(void)
{
    heap_single_task_stat_t stat;
    memset(&stat, 0, sizeof(stat));
    assert_int_equal(heap_caps_get_single_task_stat(&stat, NULL), ESP_OK);
    return stat.stat.overall_current_usage;
}

/* ---- calls from inside the tracker ------------------------------------- */

typedef struct {
    bool done;
    esp_err_t all_stat, single_stat, single_arrays, all_arrays;
    heap_single_task_stat_t single;
    heap_all_tasks_stat_t all;
    char inner[256];
} nested_t;

static nested_t nested;

/* The stream the tracker prints to: its first write, made while the tracker
 * holds its lock, calls every entry point of the tracker. */
static ssize_t nested_write(void *cookie, const char *text, size_t length)
{
    (void)cookie, (void)text;
    if (nested.done) {
        return (ssize_t)length;
    }
    nested.done = true;
    void *p = heap_caps_malloc(48, MALLOC_CAP_8BIT);
    assert_non_null(p);
    p = heap_caps_realloc(p, 4000, MALLOC_CAP_8BIT);
    assert_non_null(p);
    heap_caps_free(p);
    heap_all_tasks_stat_t all;
    task_stat_t tasks[4];
    memset(&all, 0, sizeof(all));
    all.task_count = 4;
    all.stat_arr = tasks;
    nested.all_stat = heap_caps_get_all_task_stat(&all);
    heap_single_task_stat_t single;
    memset(&single, 0, sizeof(single));
    nested.single_stat = heap_caps_get_single_task_stat(&single, NULL);
    nested.single_arrays = heap_caps_alloc_single_task_stat_arrays(&nested.single, NULL);
    nested.all_arrays = heap_caps_alloc_all_task_stat_arrays(&nested.all);
    FILE *inner = fmemopen(nested.inner, sizeof(nested.inner), "w");
    assert_non_null(inner);
    heap_caps_print_all_task_stat(inner);
    heap_caps_print_all_task_stat_overview(inner);
    heap_caps_print_single_task_stat(inner, NULL);
    heap_caps_print_single_task_stat_overview(inner, NULL);
    fclose(inner);
    return (ssize_t)length;
}

static void calls_from_inside_the_tracker_are_not_tracked(void **state)
{
    (void)state;
    void *mine = heap_caps_malloc(100, MALLOC_CAP_8BIT); /* the task has statistics */
    assert_non_null(mine);
    size_t before = current_usage();
    memset(&nested, 0, sizeof(nested));
    cookie_io_functions_t io = {.write = nested_write};
    FILE *stream = fopencookie(NULL, "w", io);
    assert_non_null(stream);
    setvbuf(stream, NULL, _IONBF, 0); /* every fprintf writes at once */
    heap_caps_print_all_task_stat(stream);
    fclose(stream);
    assert_true(nested.done);
    /* The queries found the tracker busy. */
    assert_int_equal(nested.all_stat, ESP_FAIL);
    assert_int_equal(nested.single_stat, ESP_FAIL);
    /* The array helpers saw nothing to hold: no arrays. */
    assert_int_equal(nested.single_arrays, ESP_OK);
    assert_int_equal(nested.single.heap_count, 0);
    assert_null(nested.single.heap_stat_start);
    assert_int_equal(nested.all_arrays, ESP_OK);
    assert_int_equal(nested.all.task_count, 0);
    assert_null(nested.all.stat_arr);
    /* Nothing printed from inside. */
    assert_int_equal(nested.inner[0], '\0');
    /* The allocation, the move and the free made inside were not counted. */
    assert_int_equal(current_usage(), before);
    heap_caps_free(mine);
    assert_true(heap_caps_check_integrity_all(true));
}

/* ---- without memory ---------------------------------------------------- */

static void statistics_arrays_without_memory_fail(void **state)
{
    (void)state;
    void *mine = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    assert_non_null(mine);
    heap_single_task_stat_t single;
    memset(&single, 0, sizeof(single));
    heapcaps_host_fail_meta_alloc_after(0);
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&single, NULL), ESP_FAIL);
    assert_null(single.heap_stat_start);
    heap_all_tasks_stat_t all;
    for (long allowed = 0; allowed < 2; ++allowed) {
        memset(&all, 0, sizeof(all));
        heapcaps_host_fail_meta_alloc_after(allowed);
        assert_int_equal(heap_caps_alloc_all_task_stat_arrays(&all), ESP_FAIL);
        heapcaps_host_fail_meta_alloc_after(-1);
        heap_caps_free_all_task_stat_arrays(&all);
    }
    heapcaps_host_fail_meta_alloc_after(-1);
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&single, NULL), ESP_OK);
    assert_non_null(single.heap_stat_start);
    heap_caps_free_single_task_stat_arrays(&single);
    heap_caps_free(mine);
}

#define FIRST_BUCKETS 64 /* the record table's first size */

#define OWN_CAP (1u << 29) /* a heap of the test's own: every block in one heap */

static size_t own_region[0x4000 / sizeof(size_t)];
static void *unrecorded;

static void allocate_without_memory(void *context)
{
    (void)context;
    heapcaps_host_fail_meta_alloc_after(0);
    unrecorded = heap_caps_malloc(16, OWN_CAP);
    heapcaps_host_fail_meta_alloc_after(-1);
}

static void record_table_without_memory_to_grow_keeps_counting(void **state)
{
    (void)state;
    enum { BLOCKS = 2 * FIRST_BUCKETS };
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {OWN_CAP, 0, 0};
    assert_int_equal(
        heap_caps_add_region_with_caps(caps, (intptr_t)own_region,
                                       (intptr_t)own_region + (intptr_t)sizeof(own_region)),
        ESP_OK);
    void *blocks[BLOCKS];
    blocks[0] = heap_caps_malloc(16, OWN_CAP); /* the task's entries for it exist */
    assert_non_null(blocks[0]);
    /* Memory for each block's record, none for a larger table: the table
     * fills past its size (longer chains) and every block is counted. */
    for (int i = 1; i < BLOCKS; ++i) {
        size_t before = current_usage();
        heapcaps_host_fail_meta_alloc_after(1);
        blocks[i] = heap_caps_malloc(16, OWN_CAP);
        heapcaps_host_fail_meta_alloc_after(-1);
        assert_non_null(blocks[i]);
        assert_true(current_usage() > before);
    }
    /* No memory even for a record: the block is handed out, not counted. */
    size_t held = current_usage();
    char out[512];
    capture_output(1, allocate_without_memory, NULL, out, sizeof(out));
    assert_non_null(unrecorded);
    assert_non_null(strstr(out, "Could not allocate memory to add new task statistics"));
    assert_int_equal(current_usage(), held);
    heap_caps_free(unrecorded);
    for (int i = 0; i < BLOCKS; ++i) {
        heap_caps_free(blocks[i]);
    }
    assert_true(heap_caps_check_integrity_all(true));
}

/* The first tracked allocation after a boot, with the tracker allowed 0, 1,
 * 2... allocations of its own: whatever it runs out of (task entry, heap
 * entry, record, record table), the block is handed out and the statistics
 * stay consistent. */
static void first_allocation_succeeds_whatever_the_tracker_lacks(void **state)
{
    (void)state;
    for (long allowed = 0; allowed < 6; ++allowed) {
        heapcaps_emu_shutdown();
        heapcaps_emu_options_t options = {0};
        options.quiet = true;
        assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
        heapcaps_host_fail_meta_alloc_after(allowed);
        void *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
        heapcaps_host_fail_meta_alloc_after(-1);
        assert_non_null(p);
        task_stat_t tasks[4];
        heap_stat_t heaps[8];
        heap_all_tasks_stat_t all = {4, tasks, 8, heaps, 0, NULL};
        assert_int_equal(heap_caps_get_all_task_stat(&all), ESP_OK);
        for (size_t i = 0; i < all.task_count; ++i) {
            /* A task without a heap entry holds nothing and lists no heap. */
            if (!tasks[i].heap_count) {
                assert_int_equal(tasks[i].overall_current_usage, 0);
                assert_null(tasks[i].heap_stat);
            }
        }
        heap_caps_free(p);
        assert_true(heap_caps_check_integrity_all(true));
    }
}

static void print_overview(void *context)
{
    (void)context;
    heap_caps_print_all_task_stat_overview(NULL); /* NULL: stdout */
    heap_caps_print_single_task_stat_overview(NULL, NULL);
}

static void overviews_go_to_stdout_by_default(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_non_null(p);
    char out[4096];
    capture_output(1, print_overview, NULL, out, sizeof(out));
    const char *first = strstr(out, "│ TASK ");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "│ TASK ")); /* both tables */
    heap_caps_free(p);
}

/* ---- a heap without a type name ---------------------------------------- */

static size_t spare[1024];
static char printed[8192];

static void print_all(void *context)
{
    (void)context;
    heap_caps_print_all_task_stat(stdout);
}

static void heap_without_a_type_name_prints_an_empty_name(void **state)
{
    (void)state;
    /* Caps that are no memory type's: the heap has no name. */
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {1u << 30, 0, 0};
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)spare,
                                                    (intptr_t)spare + (intptr_t)sizeof(spare)),
                     ESP_OK);
    void *p = heap_caps_malloc(64, 1u << 30);
    assert_non_null(p);
    capture_output(1, print_all, NULL, printed, sizeof(printed));
    assert_non_null(strstr(printed, "HEAP: , CAPS: 0x40000000"));
    heap_caps_free(p);
}

#define TT_TEST(fn) cmocka_unit_test_setup_teardown(fn, boot, shutdown_chip)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TT_TEST(calls_from_inside_the_tracker_are_not_tracked),
        TT_TEST(statistics_arrays_without_memory_fail),
        TT_TEST(record_table_without_memory_to_grow_keeps_counting),
        TT_TEST(first_allocation_succeeds_whatever_the_tracker_lacks),
        TT_TEST(overviews_go_to_stdout_by_default),
        TT_TEST(heap_without_a_type_name_prints_an_empty_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
