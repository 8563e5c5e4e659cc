/*
 * test_coverage_trace.c — standalone heap tracing beyond the usual run:
 * more records than hash buckets (chains), the hash table without internal
 * memory, initialising again with the same buffer, a record in memory that
 * is neither internal nor PSRAM, and allocations made by the output a dump
 * prints to (not traced). On an emulated ESP32.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* fopencookie */

#include "test_support.h"

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "esp_heap_trace.h"
#include "heap_memory_layout.h"
#include "heapcaps/emu.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static heap_trace_record_t records[CONFIG_HEAP_TRACE_HASH_MAP_SIZE + 64];

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
    (void)heap_trace_stop();
    heapcaps_emu_shutdown();
    return 0;
}

static size_t traced_count(void)
{
    heap_trace_summary_t summary;
    assert_int_equal(heap_trace_summary(&summary), ESP_OK);
    return summary.count;
}

/* ---- the hash map --------------------------------------------------------- */

static void more_records_than_hash_buckets_share_chains(void **state)
{
    (void)state;
    enum { BLOCKS = COUNT_OF(records) };
    static void *blocks[BLOCKS];
    assert_int_equal(heap_trace_init_standalone(records, COUNT_OF(records)), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    for (size_t i = 0; i < BLOCKS; ++i) {
        blocks[i] = heap_caps_malloc(8, MALLOC_CAP_8BIT);
        assert_non_null(blocks[i]);
    }
    assert_int_equal(traced_count(), BLOCKS);
    /* Freed oldest first: in a shared bucket the older record is behind
     * the newer one, so the chain is walked. */
    for (size_t i = 0; i < BLOCKS; ++i) {
        heap_caps_free(blocks[i]);
        assert_int_equal(traced_count(), BLOCKS - 1 - i);
    }
    heap_trace_summary_t summary;
    assert_int_equal(heap_trace_summary(&summary), ESP_OK);
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    assert_int_equal(summary.total_hashmap_hits, BLOCKS);
#endif
    assert_int_equal(summary.total_frees, BLOCKS);
}

#ifdef CONFIG_HEAP_TRACE_HASH_MAP
static void hash_table_needs_internal_memory(void **state)
{
    (void)state;
    const uint32_t internal = MALLOC_CAP_INTERNAL;
    void *taken[64];
    size_t count = 0;
    size_t largest;
    while ((largest = heap_caps_get_largest_free_block(internal)) > 0 && count < COUNT_OF(taken)) {
        taken[count] = heap_caps_malloc(largest, internal);
        assert_non_null(taken[count]);
        ++count;
    }
    assert_int_equal(heap_trace_init_standalone(records, COUNT_OF(records)), ESP_ERR_NO_MEM);
    while (count > 0) {
        heap_caps_free(taken[--count]);
    }
    assert_int_equal(heap_trace_init_standalone(records, COUNT_OF(records)), ESP_OK);
}
#endif

/* ---- the record buffer ------------------------------------------------- */

static void init_with_the_same_buffer_keeps_the_records(void **state)
{
    (void)state;
    assert_int_equal(heap_trace_init_standalone(records, 16), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    void *p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    assert_non_null(p);
    assert_int_equal(heap_trace_stop(), ESP_OK);
    assert_int_equal(traced_count(), 1);
    /* The same buffer and size: nothing to rebuild. */
    assert_int_equal(heap_trace_init_standalone(records, 16), ESP_OK);
    assert_int_equal(traced_count(), 1);
    heap_trace_record_t record;
    assert_int_equal(heap_trace_get(0, &record), ESP_OK);
    assert_ptr_equal(record.address, p);
    /* Another size: the records go. */
    assert_int_equal(heap_trace_init_standalone(records, 8), ESP_OK);
    assert_int_equal(traced_count(), 0);
    heap_caps_free(p);
}

static void resume_before_any_buffer_records_nothing(void **state)
{
    (void)state;
    /* Tracing "runs" without a record buffer: events find no lists. */
    assert_int_equal(heap_trace_resume(), ESP_OK);
    void *p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    assert_non_null(p);
    heap_caps_free(p);
    assert_int_equal(heap_trace_alloc_pause(), ESP_OK);
    p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    heap_caps_free(p);
    assert_int_equal(heap_trace_get_count(), 0);
    heap_trace_summary_t summary;
    assert_int_equal(heap_trace_summary(&summary), ESP_OK);
    assert_int_equal(summary.total_allocations, 0);
    assert_int_equal(summary.total_frees, 0);
}

/* ---- the dump ------------------------------------------------------------ */

static size_t spare[1024];
static char printed[16384];

static void dump_everything(void *context)
{
    (void)context;
    heap_trace_dump();
}

static void record_outside_internal_and_psram_has_no_label(void **state)
{
    (void)state;
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {1u << 30, 0, 0};
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)spare,
                                                    (intptr_t)spare + (intptr_t)sizeof(spare)),
                     ESP_OK);
    assert_int_equal(heap_trace_init_standalone(records, 16), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    void *outside = heap_caps_malloc(24, 1u << 30);
    void *inside = heap_caps_malloc(24, MALLOC_CAP_8BIT);
    assert_non_null(outside);
    assert_non_null(inside);
    capture_output(1, dump_everything, NULL, printed, sizeof(printed));
    /* Two records: one in internal RAM, one in neither. */
    assert_non_null(strstr(printed, "    24 bytes (@ 0x"));
    assert_non_null(strstr(printed, ", Internal) allocated"));
    const char *first = strstr(printed, "    24 bytes (@ 0x");
    const char *second = strstr(first + 1, "    24 bytes (@ 0x");
    assert_non_null(second);
    bool first_labelled = strncmp(first + 26, ", Internal", 10) == 0;
    bool second_labelled = strncmp(second + 26, ", Internal", 10) == 0;
    assert_true(first_labelled != second_labelled);
    assert_non_null(strstr(printed, "48 bytes 'leaked' in trace (2 allocations)"));
    heap_caps_free(inside);
    heap_caps_free(outside);
}

/* stdout while the dump prints: a stream that allocates and frees from the
 * heaps on every write, as a device's stdio may. */
static size_t stream_allocations;

static ssize_t allocating_write(void *cookie, const char *text, size_t length)
{
    FILE *real = cookie;
    void *p = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    if (p) {
        ++stream_allocations;
        heap_caps_free(p);
    }
    return (ssize_t)fwrite(text, 1, length, real);
}

static void allocations_by_the_dump_output_are_not_traced(void **state)
{
    (void)state;
    assert_int_equal(heap_trace_init_standalone(records, 16), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_ALL), ESP_OK);
    void *p = heap_caps_malloc(24, MALLOC_CAP_8BIT);
    assert_non_null(p);
    heap_trace_summary_t before;
    assert_int_equal(heap_trace_summary(&before), ESP_OK);
    FILE *sink = tmpfile();
    assert_non_null(sink);
    cookie_io_functions_t io = {.write = allocating_write};
    FILE *stream = fopencookie(sink, "w", io);
    assert_non_null(stream);
    setvbuf(stream, NULL, _IONBF, 0);
    FILE *saved = stdout;
    fflush(stdout);
    stdout = stream;
    stream_allocations = 0;
    heap_trace_dump();
    stdout = saved;
    fclose(stream);
    assert_true(stream_allocations > 0);
    heap_trace_summary_t after;
    assert_int_equal(heap_trace_summary(&after), ESP_OK);
    assert_int_equal(after.total_allocations, before.total_allocations);
    assert_int_equal(after.total_frees, before.total_frees);
    assert_int_equal(after.count, before.count);
    /* What was printed is the dump. */
    rewind(sink);
    size_t n = fread(printed, 1, sizeof(printed) - 1, sink);
    printed[n] = '\0';
    fclose(sink);
    assert_non_null(strstr(printed, "====== Heap Trace: 1 records"));
    assert_null(strstr(printed, "New entries were traced while dumping"));
    heap_caps_free(p);
}

#define TRACE_TEST(fn) cmocka_unit_test_setup_teardown(fn, boot, shutdown_chip)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TRACE_TEST(more_records_than_hash_buckets_share_chains),
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
        TRACE_TEST(hash_table_needs_internal_memory),
#endif
        TRACE_TEST(init_with_the_same_buffer_keeps_the_records),
        TRACE_TEST(resume_before_any_buffer_records_nothing),
        TRACE_TEST(record_outside_internal_and_psram_has_no_label),
        TRACE_TEST(allocations_by_the_dump_output_are_not_traced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
