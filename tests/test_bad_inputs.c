/*
 * test_bad_inputs.c — the bad-input table of docs/bad_inputs.md, one case
 * per row: every public entry point given the inputs a caller gets wrong,
 * with the documented outcome (NULL, an esp_err_t, an abort with its
 * message). After every row that does not end the program, the heaps check
 * clean and hold exactly the free bytes they held before (a rejected call
 * changes nothing). Aborts run in a forked child and their message is read.
 *
 * Runs on an emulated ESP32 with 4 MiB of PSRAM, plus one multi_heap of its
 * own over host memory for the multi_heap rows.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heap_memory_layout.h"
#include "heapcaps/emu.h"
#include "heapcaps/heap_caps_ext.h"
#ifdef CONFIG_HEAP_TRACING_STANDALONE
#include "esp_heap_trace.h"
#endif

#define MH_REGION 8192

static char *mh_region;
static multi_heap_handle_t mh;
static void *live;         /* a live heap_caps block every row may use */
static void *mh_live;      /* a live multi_heap block */
static size_t free_before; /* heap_caps_get_free_size(0-caps: all) before the row */
static size_t mh_free_before;
static size_t callbacks;
static char *added_region; /* a runtime region, released after shutdown */

static void count_failure(size_t size, uint32_t caps, const char *function_name)
{
    (void)size, (void)caps, (void)function_name;
    callbacks++;
}

static size_t all_free(void)
{
    return heap_caps_get_free_size(MALLOC_CAP_8BIT) + heap_caps_get_free_size(MALLOC_CAP_EXEC);
}

static int boot(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = {.psram_size = 4u << 20, .quiet = true};
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
    assert_int_equal(heap_caps_register_failed_alloc_callback(count_failure), ESP_OK);
    mh_region = test_region(MH_REGION);
    mh = multi_heap_register(mh_region, MH_REGION);
    assert_non_null(mh);
    live = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    mh_live = multi_heap_malloc(mh, 64);
    assert_non_null(live);
    assert_non_null(mh_live);
    memset(live, 0x5A, 64);
    memset(mh_live, 0xA5, 64);
    free_before = all_free();
    mh_free_before = multi_heap_free_size(mh);
    callbacks = 0;
    return 0;
}

/* Nothing changed: heaps clean, free bytes as before, the live blocks intact. */
static void assert_nothing_changed(void)
{
    assert_true(heap_caps_check_integrity_all(true));
    assert_true(multi_heap_check(mh, true));
    assert_int_equal(all_free(), free_before);
    assert_int_equal(multi_heap_free_size(mh), mh_free_before);
    for (size_t i = 0; i < 64; ++i) {
        assert_int_equal(((unsigned char *)live)[i], 0x5A);
        assert_int_equal(((unsigned char *)mh_live)[i], 0xA5);
    }
}

static int shut(void **state)
{
    (void)state;
    heap_caps_free(live);
    multi_heap_free(mh, mh_live);
    assert_true(heap_caps_check_integrity_all(true));
    heapcaps_emu_shutdown();
    free(mh_region);
    free(added_region);
    added_region = NULL;
    return 0;
}

/* ---- helpers for the outcomes ------------------------------------------- */

#define REJECTED_WITH_CALLBACK(expr)                                                               \
    do {                                                                                           \
        assert_null(expr);                                                                         \
        assert_int_equal(callbacks, 1);                                                            \
        assert_nothing_changed();                                                                  \
    } while (0)

#define REJECTED_SILENTLY(expr)                                                                    \
    do {                                                                                           \
        assert_null(expr);                                                                         \
        assert_int_equal(callbacks, 0);                                                            \
        assert_nothing_changed();                                                                  \
    } while (0)

typedef void (*doomed_fn)(void);

static void call_doomed(void *context)
{
    (*(doomed_fn *)context)();
}

/* fn, in a forked child, aborts saying `message`. */
static void assert_aborts_saying(doomed_fn fn, const char *message)
{
    char out[2048];
    guard_end_t end = run_guarded(call_doomed, &fn, out, sizeof(out));
    if (!end.aborted) {
        fail_msg("expected an abort, got status 0x%x; output: %s", end.raw, out);
    }
    if (!strstr(out, message)) {
        fail_msg("abort message '%s' not in: %s", message, out);
    }
    assert_nothing_changed(); /* the parent's heaps never saw the call */
}

static size_t foreign[16];

/* ---- multi_heap ---------------------------------------------------------- */

static void mh_malloc_null_heap(void **state)
{
    (void)state;
    assert_null(multi_heap_malloc(NULL, 16));
    assert_nothing_changed();
}

static void mh_malloc_size_0(void **state)
{
    (void)state;
    assert_null(multi_heap_malloc(mh, 0));
    assert_nothing_changed();
}

static void mh_malloc_size_max(void **state)
{
    (void)state;
    assert_null(multi_heap_malloc(mh, SIZE_MAX));
    assert_nothing_changed();
}

static void mh_malloc_size_overflowing_the_header(void **state)
{
    (void)state;
    for (size_t less = 1; less <= 16; ++less) {
        assert_null(multi_heap_malloc(mh, SIZE_MAX - less));
    }
    assert_nothing_changed();
}

static void mh_malloc_larger_than_the_heap(void **state)
{
    (void)state;
    assert_null(multi_heap_malloc(mh, MH_REGION));
    assert_nothing_changed();
}

static void mh_aligned_alignment_0(void **state)
{
    (void)state;
    assert_null(multi_heap_aligned_alloc(mh, 16, 0));
    assert_nothing_changed();
}

static void mh_aligned_alignment_not_a_power_of_two(void **state)
{
    (void)state;
    assert_null(multi_heap_aligned_alloc(mh, 16, 24));
    assert_null(multi_heap_aligned_alloc(mh, 16, 3));
    assert_nothing_changed();
}

static void mh_aligned_alignment_larger_than_the_heap(void **state)
{
    (void)state;
    assert_null(multi_heap_aligned_alloc(mh, 16, (size_t)1 << 20));
    assert_null(multi_heap_aligned_alloc(mh, 16, (size_t)1 << (sizeof(size_t) * 8 - 1)));
    assert_nothing_changed();
}

static void mh_aligned_size_0(void **state)
{
    (void)state;
    assert_null(multi_heap_aligned_alloc(mh, 0, 16));
    assert_nothing_changed();
}

static void mh_free_null(void **state)
{
    (void)state;
    multi_heap_free(mh, NULL);
    assert_nothing_changed();
}

static void mh_free_foreign(void)
{
    multi_heap_free(mh, &foreign[4]);
}

static void mh_free_foreign_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(mh_free_foreign, "CORRUPT HEAP: multi_heap.c free() detected at");
}

static void mh_free_interior(void)
{
    multi_heap_free(mh, (char *)mh_live + 12);
}

static void mh_free_interior_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(mh_free_interior, "CORRUPT HEAP: ");
}

static void mh_free_twice(void)
{
    void *p = multi_heap_malloc(mh, 32);
    multi_heap_free(mh, p);
    multi_heap_free(mh, p);
}

static void mh_free_already_freed(void **state)
{
    (void)state;
    assert_aborts_saying(mh_free_twice, "CORRUPT HEAP: multi_heap.c free() detected at");
}

static void mh_realloc_foreign(void)
{
    (void)multi_heap_realloc(mh, &foreign[4], 32);
}

static void mh_realloc_foreign_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(mh_realloc_foreign, "CORRUPT HEAP: multi_heap.c realloc() detected at");
}

static void mh_realloc_size_max(void **state)
{
    (void)state;
    assert_null(multi_heap_realloc(mh, mh_live, SIZE_MAX));
    assert_null(multi_heap_realloc(mh, mh_live, SIZE_MAX - 3));
    assert_nothing_changed(); /* the block is kept, whole */
}

static void mh_allocated_size_of_null(void **state)
{
    (void)state;
    assert_int_equal(multi_heap_get_allocated_size(mh, NULL), 0);
    assert_nothing_changed();
}

static void mh_register_null_start(void **state)
{
    (void)state;
    assert_null(multi_heap_register(NULL, 4096));
    assert_nothing_changed();
}

static void mh_register_tiny_region(void **state)
{
    (void)state;
    char region[64] __attribute__((aligned(16)));
    for (size_t size = 0; size < sizeof(region); size += 4) {
        assert_null(multi_heap_register(region, size));
    }
    assert_nothing_changed();
}

static void mh_register_misaligned_start(void **state)
{
    (void)state;
    char *region = test_region(4096 + 8);
    multi_heap_handle_t heap = multi_heap_register(region + 1, 4096);
    if (heap) { /* rounded up to the next word: still a working heap */
        void *p = multi_heap_malloc(heap, 32);
        assert_non_null(p);
        assert_true(((uintptr_t)p & (sizeof(size_t) - 1)) == 0);
        assert_true((char *)p > region && (char *)p < region + 4096 + 8);
        assert_true(multi_heap_check(heap, true));
    }
    free(region);
    assert_nothing_changed();
}

static void mh_queries_on_null_heap(void **state)
{
    (void)state;
    multi_heap_info_t info;
    memset(&info, 0xFF, sizeof(info));
    multi_heap_get_info(NULL, &info);
    assert_int_equal(info.total_free_bytes, 0);
    assert_int_equal(info.total_blocks, 0);
    assert_int_equal(multi_heap_free_size(NULL), 0);
    assert_int_equal(multi_heap_minimum_free_size(NULL), 0);
    assert_int_equal(heapcaps_multi_heap_largest_free_block(NULL), 0);
    assert_nothing_changed();
}

/* ---- heap_caps allocation ------------------------------------------------ */

static void hc_malloc_size_0(void **state)
{
    (void)state;
    REJECTED_SILENTLY(heap_caps_malloc(0, MALLOC_CAP_8BIT));
}

static void hc_malloc_size_max(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc(SIZE_MAX, MALLOC_CAP_8BIT));
}

static void hc_malloc_size_overflowing_the_headers(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc(SIZE_MAX - 3, MALLOC_CAP_8BIT));
}

static void hc_malloc_caps_0(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc(16, 0));
}

static void hc_malloc_caps_invalid(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc(16, MALLOC_CAP_INVALID));
}

static void hc_malloc_caps_no_heap_has(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc(16, MALLOC_CAP_SPM)); /* ESP32 has no SPM */
}

static void hc_malloc_exec_with_8bit(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc(16, MALLOC_CAP_EXEC | MALLOC_CAP_8BIT));
}

static void hc_calloc_product_overflows(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_calloc(SIZE_MAX / 2 + 1, 2, MALLOC_CAP_8BIT));
}

static void hc_calloc_zero_elements(void **state)
{
    (void)state;
    /* ESP-IDF reports it: the callback tests the element size, not the product. */
    REJECTED_WITH_CALLBACK(heap_caps_calloc(0, 16, MALLOC_CAP_8BIT));
}

static void hc_realloc_size_max(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_realloc(live, SIZE_MAX, MALLOC_CAP_8BIT));
}

static void hc_realloc_to_caps_no_heap_has(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_realloc(live, 128, MALLOC_CAP_SPM));
}

static void hc_realloc_size_0_frees(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    assert_non_null(p);
    assert_null(heap_caps_realloc(p, 0, MALLOC_CAP_8BIT));
    assert_int_equal(callbacks, 0);
    assert_nothing_changed(); /* p was freed: back to the bytes free before */
}

static void hc_realloc_foreign(void)
{
    (void)heap_caps_realloc(&foreign[4], 32, MALLOC_CAP_8BIT);
}

static void hc_realloc_foreign_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(hc_realloc_foreign, "realloc() pointer is outside heap areas");
}

static void hc_free_null(void **state)
{
    (void)state;
    heap_caps_free(NULL);
    assert_nothing_changed();
}

static void hc_free_foreign(void)
{
    heap_caps_free(&foreign[4]);
}

static void hc_free_foreign_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(hc_free_foreign, "free() target pointer is outside heap areas");
}

static void hc_free_interior(void)
{
    heap_caps_free((char *)live + 12);
}

static void hc_free_interior_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(hc_free_interior, "CORRUPT HEAP: ");
}

static void hc_free_twice(void)
{
    void *p = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    heap_caps_free(p);
    heap_caps_free(p);
}

static void hc_free_already_freed(void **state)
{
    (void)state;
    assert_aborts_saying(hc_free_twice, "CORRUPT HEAP: multi_heap.c free() detected at");
}

static void hc_aligned_alignment_0(void **state)
{
    (void)state;
    REJECTED_SILENTLY(heap_caps_aligned_alloc(0, 16, MALLOC_CAP_8BIT));
}

static void hc_aligned_alignment_not_a_power_of_two(void **state)
{
    (void)state;
    REJECTED_SILENTLY(heap_caps_aligned_alloc(24, 16, MALLOC_CAP_8BIT));
}

static void hc_aligned_size_0(void **state)
{
    (void)state;
    REJECTED_SILENTLY(heap_caps_aligned_alloc(16, 0, MALLOC_CAP_8BIT));
}

static void hc_aligned_alignment_larger_than_any_heap(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_aligned_alloc((size_t)1 << 28, 16, MALLOC_CAP_8BIT));
}

static void hc_aligned_calloc_product_overflows(void **state)
{
    (void)state;
    REJECTED_SILENTLY(heap_caps_aligned_calloc(16, SIZE_MAX / 2 + 1, 2, MALLOC_CAP_8BIT));
}

static void hc_prefer_empty_list(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_malloc_prefer(16, 0));
}

static void hc_prefer_size_0(void **state)
{
    (void)state;
    REJECTED_SILENTLY(heap_caps_malloc_prefer(0, 2, MALLOC_CAP_8BIT, MALLOC_CAP_SPIRAM));
}

static void hc_callback_null(void **state)
{
    (void)state;
    assert_int_equal(heap_caps_register_failed_alloc_callback(NULL), ESP_ERR_INVALID_ARG);
    /* the previous callback stays */
    assert_null(heap_caps_malloc(16, MALLOC_CAP_INVALID));
    assert_int_equal(callbacks, 1);
    assert_nothing_changed();
}

/* ---- queries, walks and checks ------------------------------------------- */

static void hc_aligned_free_null(void **state)
{
    (void)state;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    heap_caps_aligned_free(NULL);
#pragma GCC diagnostic pop
    assert_nothing_changed();
}

static void hc_allocated_size_foreign(void)
{
    (void)heap_caps_get_allocated_size(&foreign[4]);
}

static void hc_allocated_size_of_a_foreign_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(hc_allocated_size_foreign, "outside heap areas");
}

static void hc_containing_block_foreign(void)
{
    (void)heap_caps_get_containing_block_size(&foreign[4]);
}

static void hc_containing_block_size_of_a_foreign_pointer(void **state)
{
    (void)state;
    assert_aborts_saying(hc_containing_block_foreign,
                         "assert failed: heap_caps_get_containing_block_size");
}

/* ESP-IDF asserts; here a walk without a walker visits nothing. */
static void hc_walk_null_walker(void **state)
{
    (void)state;
    heap_caps_walk(MALLOC_CAP_8BIT, NULL, NULL);
    heap_caps_walk_all(NULL, NULL);
    assert_nothing_changed();
}

static void hc_check_integrity_addr_outside_every_heap(void **state)
{
    (void)state;
    assert_false(heap_caps_check_integrity_addr((intptr_t)&foreign[4], true));
    assert_nothing_changed();
}

static void hc_get_info_caps_no_heap_has(void **state)
{
    (void)state;
    multi_heap_info_t info;
    memset(&info, 0xFF, sizeof(info));
    heap_caps_get_info(&info, MALLOC_CAP_SPM);
    assert_int_equal(info.total_free_bytes, 0);
    assert_int_equal(info.largest_free_block, 0);
    assert_int_equal(info.total_blocks, 0);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_SPM), 0);
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_INVALID), 0);
    assert_nothing_changed();
}

static void hc_monitor_stop_without_start(void **state)
{
    (void)state;
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_FAIL);
    assert_nothing_changed();
}

static void hc_realloc_prefer_empty_list(void **state)
{
    (void)state;
    REJECTED_WITH_CALLBACK(heap_caps_realloc_prefer(live, 128, 0));
}

static void mh_walk_null_walker(void **state)
{
    (void)state;
    multi_heap_walk(mh, NULL, NULL);
    assert_nothing_changed();
}

/* ESP-IDF asserts; here the answer is "no block". */
static void mh_find_containing_block_of_a_foreign_pointer(void **state)
{
    (void)state;
    assert_null(multi_heap_find_containing_block(mh, &foreign[4]));
    assert_null(multi_heap_find_containing_block(NULL, mh_live));
    assert_nothing_changed();
}

/* ---- runtime regions ----------------------------------------------------- */

static const uint32_t region_caps[SOC_MEMORY_TYPE_NO_PRIOS] = {MALLOC_CAP_8BIT, 0, 0};

static void region_start_0(void **state)
{
    (void)state;
    assert_int_equal(heap_caps_add_region(0, 0x1000), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, 0, 0x1000), ESP_ERR_INVALID_ARG);
    assert_nothing_changed();
}

static void region_caps_null(void **state)
{
    (void)state;
    char *buffer = test_region(4096);
    assert_int_equal(
        heap_caps_add_region_with_caps(NULL, (intptr_t)buffer, (intptr_t)buffer + 4096),
        ESP_ERR_INVALID_ARG);
    free(buffer);
    assert_nothing_changed();
}

static void region_reversed_or_empty(void **state)
{
    (void)state;
    char *buffer = test_region(4096);
    intptr_t start = (intptr_t)buffer;
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, start + 4096, start),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, start, start),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, start, 0), ESP_ERR_INVALID_ARG);
    free(buffer);
    assert_nothing_changed();
}

static void region_too_small_for_a_heap(void **state)
{
    (void)state;
    char *buffer = test_region(64);
    intptr_t start = (intptr_t)buffer;
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, start, start + 16),
                     ESP_ERR_INVALID_SIZE);
    free(buffer);
    assert_nothing_changed();
}

static void region_straddling_a_heap(void **state)
{
    (void)state;
    /* The live block's heap: a range from before it into it straddles its start. */
    intptr_t inside = (intptr_t)live;
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, inside - 0x100000, inside + 64),
                     ESP_FAIL);
    assert_nothing_changed();
}

static void region_already_registered(void **state)
{
    (void)state;
    added_region = test_region(8192);
    intptr_t start = (intptr_t)added_region;
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, start, start + 8192), ESP_OK);
    size_t free_with_it = all_free();
    assert_int_equal(heap_caps_add_region_with_caps(region_caps, start, start + 8192), ESP_FAIL);
    assert_int_equal(all_free(), free_with_it);
    assert_true(heap_caps_check_integrity_all(true));
    free_before = free_with_it; /* the new heap stays until the chip shuts down */
    assert_nothing_changed();
}

static void region_outside_every_chip_region(void **state)
{
    (void)state;
    char *buffer = test_region(4096);
    assert_int_equal(heap_caps_add_region((intptr_t)buffer, (intptr_t)buffer + 4096),
                     ESP_ERR_NOT_FOUND);
    free(buffer);
    assert_nothing_changed();
}

/* ---- heap tracing -------------------------------------------------------- */

#ifdef CONFIG_HEAP_TRACING_STANDALONE
/* The trace state is global: each sequence runs in a child from a fresh
 * process state, and exits 0 only when every call answered as documented. */
static heap_trace_record_t records[8];

static void trace_wrong_states(void *context)
{
    (void)context;
    heap_trace_record_t record;
    heap_trace_summary_t summary;
    int bad = 0;
    bad += heap_trace_start(HEAP_TRACE_ALL) != ESP_ERR_INVALID_STATE; /* no buffer yet */
    bad += heap_trace_init_standalone(NULL, 8) != ESP_ERR_INVALID_ARG;
    bad += heap_trace_init_standalone(records, 0) != ESP_ERR_INVALID_ARG;
    bad += heap_trace_init_standalone(records, 8) != ESP_OK;
    bad += heap_trace_stop() != ESP_OK; /* from the never-started state */
    bad += heap_trace_stop() != ESP_ERR_INVALID_STATE;
    bad += heap_trace_start(HEAP_TRACE_LEAKS) != ESP_OK;
    bad += heap_trace_init_standalone(records, 8) != ESP_ERR_INVALID_STATE; /* running */
    bad += heap_trace_resume() != ESP_ERR_INVALID_STATE;                    /* already running */
    bad += heap_trace_alloc_pause() != ESP_OK;
    bad += heap_trace_alloc_pause() != ESP_ERR_INVALID_STATE;
    bad += heap_trace_init_standalone(records, 8) != ESP_ERR_INVALID_STATE; /* paused */
    bad += heap_trace_get(0, &record) != ESP_ERR_INVALID_ARG;               /* index >= count */
    bad += heap_trace_get(0, NULL) != ESP_ERR_INVALID_STATE;
    bad += heap_trace_summary(NULL) != ESP_ERR_INVALID_ARG;
    bad += heap_trace_summary(&summary) != ESP_OK;
    bad += heap_trace_stop() != ESP_OK;
    guarded_exit(bad);
}

static void trace_calls_in_the_wrong_state(void **state)
{
    (void)state;
    char out[2048];
    guard_end_t end = run_guarded(trace_wrong_states, NULL, out, sizeof(out));
    assert_true(end.exited);
    assert_int_equal(end.code, 0); /* the number of calls that answered otherwise */
    assert_nothing_changed();
}
#endif

/* ---- the table ------------------------------------------------------------ */

#define ROW(fn) cmocka_unit_test_setup_teardown(fn, boot, shut)

int main(void)
{
    const struct CMUnitTest rows[] = {
        ROW(mh_malloc_null_heap),
        ROW(mh_malloc_size_0),
        ROW(mh_malloc_size_max),
        ROW(mh_malloc_size_overflowing_the_header),
        ROW(mh_malloc_larger_than_the_heap),
        ROW(mh_aligned_alignment_0),
        ROW(mh_aligned_alignment_not_a_power_of_two),
        ROW(mh_aligned_alignment_larger_than_the_heap),
        ROW(mh_aligned_size_0),
        ROW(mh_free_null),
        ROW(mh_free_foreign_pointer),
        ROW(mh_free_interior_pointer),
        ROW(mh_free_already_freed),
        ROW(mh_realloc_foreign_pointer),
        ROW(mh_realloc_size_max),
        ROW(mh_allocated_size_of_null),
        ROW(mh_register_null_start),
        ROW(mh_register_tiny_region),
        ROW(mh_register_misaligned_start),
        ROW(mh_queries_on_null_heap),
        ROW(hc_malloc_size_0),
        ROW(hc_malloc_size_max),
        ROW(hc_malloc_size_overflowing_the_headers),
        ROW(hc_malloc_caps_0),
        ROW(hc_malloc_caps_invalid),
        ROW(hc_malloc_caps_no_heap_has),
        ROW(hc_malloc_exec_with_8bit),
        ROW(hc_calloc_product_overflows),
        ROW(hc_calloc_zero_elements),
        ROW(hc_realloc_size_max),
        ROW(hc_realloc_to_caps_no_heap_has),
        ROW(hc_realloc_size_0_frees),
        ROW(hc_realloc_foreign_pointer),
        ROW(hc_free_null),
        ROW(hc_free_foreign_pointer),
        ROW(hc_free_interior_pointer),
        ROW(hc_free_already_freed),
        ROW(hc_aligned_alignment_0),
        ROW(hc_aligned_alignment_not_a_power_of_two),
        ROW(hc_aligned_size_0),
        ROW(hc_aligned_alignment_larger_than_any_heap),
        ROW(hc_aligned_calloc_product_overflows),
        ROW(hc_prefer_empty_list),
        ROW(hc_prefer_size_0),
        ROW(hc_callback_null),
        ROW(hc_aligned_free_null),
        ROW(hc_allocated_size_of_a_foreign_pointer),
        ROW(hc_containing_block_size_of_a_foreign_pointer),
        ROW(hc_walk_null_walker),
        ROW(hc_check_integrity_addr_outside_every_heap),
        ROW(hc_get_info_caps_no_heap_has),
        ROW(hc_monitor_stop_without_start),
        ROW(hc_realloc_prefer_empty_list),
        ROW(mh_walk_null_walker),
        ROW(mh_find_containing_block_of_a_foreign_pointer),
        ROW(region_start_0),
        ROW(region_caps_null),
        ROW(region_reversed_or_empty),
        ROW(region_too_small_for_a_heap),
        ROW(region_straddling_a_heap),
        ROW(region_already_registered),
        ROW(region_outside_every_chip_region),
#ifdef CONFIG_HEAP_TRACING_STANDALONE
        ROW(trace_calls_in_the_wrong_state),
#endif
    };
    return cmocka_run_group_tests(rows, NULL, NULL);
}
