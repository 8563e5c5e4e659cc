/*
 * test_heap_trace.c — standalone heap tracing (esp_heap_trace.h) on an
 * emulated ESP32: ESP-IDF's on-target tracing cases, written anew, and the
 * rest of ESP-IDF's documented tracing behaviour — every allocation entry
 * point traced exactly once, the state machine and its errors, both modes,
 * the full buffer, realloc, the hash map, the recorded callers and the dump
 * format, line by line.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* dup, dup2, pthread */

#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_heap_trace.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "heapcaps/esp_libc.h"
#include "test_free_entries.h"
#include "test_host.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define DEPTH        CONFIG_HEAP_TRACING_STACK_DEPTH
#define CUSTOM_CAP   (1u << 30)           /* a capability no heap has */
#define BIG_SIZE     ((size_t)0x08000000) /* more than the chip holds */
#define PSRAM_SIZE   ((size_t)1024 * 1024)
#define OUTPUT_ROOM  (64 * 1024)
#define RECORDS      8

static heap_trace_record_t recs[RECORDS];

/* ------------------------------------------------------------ fixtures */

static void boot(size_t psram_size)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = psram_size;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
}

static int boot_plain(void **state)
{
    (void)state;
    boot(0);
    return 0;
}

static int boot_with_psram(void **state)
{
    (void)state;
    boot(PSRAM_SIZE);
    return 0;
}

static int shut_down(void **state)
{
    (void)state;
    heap_trace_stop();
    heapcaps_emu_shutdown(); /* a reboot also forgets the tracer's state */
    return 0;
}

/* init + start over the static record buffer. */
static void start_tracing(heap_trace_mode_t mode, size_t records)
{
    assert_true(records <= RECORDS);
    assert_int_equal(heap_trace_init_standalone(recs, records), ESP_OK);
    assert_int_equal(heap_trace_start(mode), ESP_OK);
}

static heap_trace_record_t get_record(size_t index)
{
    heap_trace_record_t r;
    assert_int_equal(heap_trace_get(index, &r), ESP_OK);
    return r;
}

static heap_trace_summary_t get_summary(void)
{
    heap_trace_summary_t s;
    assert_int_equal(heap_trace_summary(&s), ESP_OK);
    return s;
}

/* True when some record in use has address p. */
static bool traced(const void *p)
{
    size_t count = heap_trace_get_count();
    for (size_t i = 0; i < count; ++i) {
        if (get_record(i).address == p) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ output capture */

static char output[OUTPUT_ROOM];

static void run_dump_all(void *context)
{
    (void)context;
    heap_trace_dump();
}

static void run_dump_caps(void *context)
{
    heap_trace_dump_caps(*(const uint32_t *)context);
}

static void capture_dump(uint32_t caps)
{
    capture_output(1, run_dump_caps, &caps, output, sizeof(output));
}

/* Splits `output` into lines (in place); returns how many. */
static size_t split_lines(char *text, char **lines, size_t room)
{
    size_t n = 0;
    char *line = text;
    while (*line && n < room) {
        char *end = strchr(line, '\n');
        lines[n++] = line;
        if (!end) {
            break;
        }
        *end = '\0';
        line = end + 1;
    }
    return n;
}

static bool matches(const char *pattern, const char *text)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static unsigned chip(const void *p)
{
    return (unsigned)heapcaps_emu_chip_address(p);
}

/* ============================================================ ESP-IDF's cases */

static void leak_check_keeps_the_allocations_not_freed(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *a = heapcaps_libc_malloc(64);
    void *b = heapcaps_libc_malloc(96);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(heap_trace_get_count(), 2);
    assert_ptr_equal(get_record(0).address, a);
    assert_ptr_equal(get_record(1).address, b);
    assert_ptr_equal(recs[0].address, a);
    assert_ptr_equal(recs[1].address, b);
    assert_int_equal(get_record(0).size, 64);
    assert_int_equal(get_record(1).size, 96);

    heapcaps_libc_free(a);
    assert_int_equal(heap_trace_get_count(), 1);
    assert_ptr_equal(get_record(0).address, b);
    assert_null(recs[0].address); /* the slot is cleared */
    assert_int_equal(recs[0].size, 0);
    heapcaps_libc_free(b);
    assert_int_equal(heap_trace_get_count(), 0);
    assert_int_equal(heap_trace_stop(), ESP_OK);
}

static void heap_caps_calloc_is_recorded_once_with_the_product_size(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *p = heap_caps_calloc(4, 16, MALLOC_CAP_INTERNAL);
    assert_non_null(p);
    assert_int_equal(heap_trace_get_count(), 1);
    heap_trace_record_t r = get_record(0);
    assert_ptr_equal(r.address, p);
    assert_int_equal(r.size, 64);
    assert_int_equal(get_summary().total_allocations, 1);
    heap_caps_free(p);
    assert_int_equal(heap_trace_get_count(), 0);
}

static void wrapped_buffer_drops_the_oldest_records(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *p[RECORDS + 1];
    for (size_t i = 0; i < COUNT(p); ++i) {
        p[i] = heapcaps_libc_malloc(32 + i);
        assert_non_null(p[i]);
    }
    assert_int_equal(heap_trace_get_count(), RECORDS);
    assert_false(traced(p[0])); /* the oldest made room */
    for (size_t i = 1; i < COUNT(p); ++i) {
        assert_true(traced(p[i]));
        assert_ptr_equal(get_record(i - 1).address, p[i]); /* oldest first */
    }
    heap_trace_summary_t s = get_summary();
    assert_true(s.has_overflowed);
    assert_int_equal(s.high_water_mark, RECORDS);

    for (size_t i = 0; i < COUNT(p); ++i) {
        heapcaps_libc_free(p[i]);
    }
    for (size_t i = 0; i < COUNT(p); ++i) {
        assert_false(traced(p[i]));
    }
    assert_int_equal(heap_trace_get_count(), 0);
    void *other = heapcaps_libc_malloc(48);
    assert_true(traced(other));
    heapcaps_libc_free(other);
}

static void alloc_pause_stops_recording_allocations_but_not_frees(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, 2);
    void *a = heapcaps_libc_malloc(20);
    assert_int_equal(heap_trace_get_count(), 1);
    void *b = heapcaps_libc_malloc(20);
    assert_int_equal(heap_trace_get_count(), 2);
    heapcaps_libc_free(a);
    assert_int_equal(heap_trace_get_count(), 1);

    assert_int_equal(heap_trace_alloc_pause(), ESP_OK);
    void *c = heapcaps_libc_malloc(20);
    assert_non_null(c);
    assert_int_equal(heap_trace_get_count(), 1); /* not recorded */
    heapcaps_libc_free(b);
    assert_int_equal(heap_trace_get_count(), 0); /* but the free was */

    assert_int_equal(heap_trace_resume(), ESP_OK);
    void *d = heapcaps_libc_malloc(20);
    assert_int_equal(heap_trace_get_count(), 1);
    assert_ptr_equal(get_record(0).address, d);
    heapcaps_libc_free(c); /* never recorded: no change */
    assert_int_equal(heap_trace_get_count(), 1);
    heapcaps_libc_free(d);
    assert_int_equal(heap_trace_get_count(), 0);
}

static void summary_reports_counts_capacity_and_overflow(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, 2);
    void *p[3];
    for (size_t i = 0; i < COUNT(p); ++i) {
        p[i] = heapcaps_libc_malloc(100);
        assert_non_null(p[i]);
    }
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.mode, HEAP_TRACE_ALL);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.capacity, 2);
    assert_int_equal(s.total_allocations, 3);
    assert_int_equal(s.total_frees, 0);
    assert_int_equal(s.high_water_mark, 2);
    assert_true(s.has_overflowed);
    for (size_t i = 0; i < COUNT(p); ++i) {
        heapcaps_libc_free(p[i]);
    }
    s = get_summary();
    assert_int_equal(s.total_frees, 3); /* also the one whose record was dropped */
    assert_int_equal(s.count, 2);       /* ALL keeps freed records */
}

/* The three dump cases of ESP-IDF (PSRAM boot): the caps filter. */
static void dump_fixture(void **internal, void **external)
{
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    *internal = heap_caps_malloc(100, MALLOC_CAP_INTERNAL);
    *external = heap_caps_malloc(300, MALLOC_CAP_SPIRAM);
    assert_non_null(*internal);
    assert_non_null(*external);
    assert_true(esp_ptr_internal(*internal));
    assert_true(esp_ptr_external_ram(*external));
}

static bool output_has_record(const void *p, const char *label, size_t size)
{
    char expected[96];
    snprintf(expected, sizeof(expected), "%6d bytes (@ 0x%08x%s) allocated CPU 0 ccount ",
             (int)size, chip(p), label);
    return strstr(output, expected) != NULL;
}

static void dump_of_internal_ram_only(void **state)
{
    (void)state;
    void *in, *ex;
    dump_fixture(&in, &ex);
    capture_dump(MALLOC_CAP_INTERNAL);
    assert_true(output_has_record(in, ", Internal", 100));
    assert_false(output_has_record(ex, ",    PSRAM", 300));
    assert_null(strstr(output, "PSRAM"));
    assert_non_null(strstr(output, "\n100 bytes 'leaked' in trace (1 allocations)\n"));
    heap_caps_free(in);
    heap_caps_free(ex);
}

static void dump_of_external_ram_only(void **state)
{
    (void)state;
    void *in, *ex;
    dump_fixture(&in, &ex);
    capture_dump(MALLOC_CAP_SPIRAM);
    assert_false(output_has_record(in, ", Internal", 100));
    assert_true(output_has_record(ex, ",    PSRAM", 300));
    assert_null(strstr(output, "Internal"));
    assert_non_null(strstr(output, "\n300 bytes 'leaked' in trace (1 allocations)\n"));
    heap_caps_free(in);
    heap_caps_free(ex);
}

static void dump_of_both(void **state)
{
    (void)state;
    void *in, *ex;
    dump_fixture(&in, &ex);
    capture_output(1, run_dump_all, NULL, output, sizeof(output));
    assert_true(output_has_record(in, ", Internal", 100));
    assert_true(output_has_record(ex, ",    PSRAM", 300));
    assert_non_null(strstr(output, "\n400 bytes 'leaked' in trace (2 allocations)\n"));
    /* Both caps given explicitly: the same. */
    char both[OUTPUT_ROOM];
    memcpy(both, output, sizeof(both));
    capture_dump(MALLOC_CAP_INTERNAL | MALLOC_CAP_SPIRAM);
    assert_string_equal(both, output);
    /* Neither: records are not printed, the summary is. */
    capture_dump(MALLOC_CAP_8BIT);
    assert_null(strstr(output, "bytes (@"));
    assert_non_null(strstr(output, "\n0 bytes 'leaked' in trace (0 allocations)\n"));
    heap_caps_free(in);
    heap_caps_free(ex);
}

/* ============================================================ every entry point */

typedef struct {
    const char *name;
    void *(*alloc)(size_t *asked); /* allocates; *asked = size to be recorded */
} alloc_entry_t;

static void *ep_libc_malloc(size_t *asked)
{
    *asked = 40;
    return heapcaps_libc_malloc(40);
}
static void *ep_libc_calloc(size_t *asked)
{
    *asked = 3 * 28;
    return heapcaps_libc_calloc(3, 28);
}
static void *ep_libc_realloc(size_t *asked)
{
    *asked = 44;
    return heapcaps_libc_realloc(NULL, 44);
}
static void *ep_libc_memalign(size_t *asked)
{
    *asked = 48;
    return heapcaps_libc_memalign(64, 48);
}
static void *ep_libc_aligned_alloc(size_t *asked)
{
    *asked = 52;
    return heapcaps_libc_aligned_alloc(32, 52);
}
static void *ep_libc_posix_memalign(size_t *asked)
{
    void *p = NULL;
    *asked = 56;
    return heapcaps_libc_posix_memalign(&p, 16, 56) == 0 ? p : NULL;
}
static void *ep_libc_valloc(size_t *asked)
{
    *asked = 60;
    return heapcaps_libc_valloc(60);
}
static void *ep_libc_pvalloc(size_t *asked)
{
    *asked = 64;
    return heapcaps_libc_pvalloc(64);
}
static void *ep_malloc(size_t *asked)
{
    *asked = 68;
    return heap_caps_malloc(68, MALLOC_CAP_8BIT);
}
static void *ep_calloc(size_t *asked)
{
    *asked = 5 * 14;
    return heap_caps_calloc(5, 14, MALLOC_CAP_8BIT);
}
static void *ep_realloc(size_t *asked)
{
    *asked = 72;
    return heap_caps_realloc(NULL, 72, MALLOC_CAP_8BIT);
}
static void *ep_aligned_alloc(size_t *asked)
{
    *asked = 76;
    return heap_caps_aligned_alloc(128, 76, MALLOC_CAP_8BIT);
}
static void *ep_aligned_calloc(size_t *asked)
{
    *asked = 4 * 20;
    return heap_caps_aligned_calloc(64, 4, 20, MALLOC_CAP_8BIT);
}
/* The preference lists start with caps no heap has: one failed attempt. */
static void *ep_malloc_prefer(size_t *asked)
{
    *asked = 84;
    return heap_caps_malloc_prefer(84, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
}
static void *ep_calloc_prefer(size_t *asked)
{
    *asked = 2 * 44;
    return heap_caps_calloc_prefer(2, 44, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
}
static void *ep_realloc_prefer(size_t *asked)
{
    *asked = 92;
    return heap_caps_realloc_prefer(NULL, 92, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
}
static void *ep_malloc_default(size_t *asked)
{
    *asked = 96;
    return heap_caps_malloc_default(96);
}
static void *ep_realloc_default(size_t *asked)
{
    *asked = 100;
    return heap_caps_realloc_default(NULL, 100);
}
static void *ep_aligned_alloc_default(size_t *asked)
{
    *asked = 104;
    return heap_caps_aligned_alloc_default(256, 104);
}
static void *ep_malloc_base(size_t *asked)
{
    *asked = 108;
    return heap_caps_malloc_base(108, MALLOC_CAP_8BIT);
}
static void *ep_calloc_base(size_t *asked)
{
    *asked = 7 * 16;
    return heap_caps_calloc_base(7, 16, MALLOC_CAP_8BIT);
}
static void *ep_realloc_base(size_t *asked)
{
    *asked = 116;
    return heap_caps_realloc_base(NULL, 116, MALLOC_CAP_8BIT);
}
static void *ep_aligned_alloc_base(size_t *asked)
{
    *asked = 120;
    return heap_caps_aligned_alloc_base(16, 120, MALLOC_CAP_8BIT);
}

static const alloc_entry_t alloc_entries[] = {
    {"malloc", ep_libc_malloc},
    {"calloc", ep_libc_calloc},
    {"realloc(NULL)", ep_libc_realloc},
    {"memalign", ep_libc_memalign},
    {"aligned_alloc", ep_libc_aligned_alloc},
    {"posix_memalign", ep_libc_posix_memalign},
    {"valloc", ep_libc_valloc},
    {"pvalloc", ep_libc_pvalloc},
    {"heap_caps_malloc", ep_malloc},
    {"heap_caps_calloc", ep_calloc},
    {"heap_caps_realloc(NULL)", ep_realloc},
    {"heap_caps_aligned_alloc", ep_aligned_alloc},
    {"heap_caps_aligned_calloc", ep_aligned_calloc},
    {"heap_caps_malloc_prefer", ep_malloc_prefer},
    {"heap_caps_calloc_prefer", ep_calloc_prefer},
    {"heap_caps_realloc_prefer(NULL)", ep_realloc_prefer},
    {"heap_caps_malloc_default", ep_malloc_default},
    {"heap_caps_realloc_default(NULL)", ep_realloc_default},
    {"heap_caps_aligned_alloc_default", ep_aligned_alloc_default},
    {"heap_caps_malloc_base", ep_malloc_base},
    {"heap_caps_calloc_base", ep_calloc_base},
    {"heap_caps_realloc_base(NULL)", ep_realloc_base},
    {"heap_caps_aligned_alloc_base", ep_aligned_alloc_base},
};

static void every_allocation_entry_point_is_traced_once(void **state)
{
    (void)state;
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK);
    for (size_t i = 0; i < COUNT(alloc_entries); ++i) {
        assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
        size_t asked = 0;
        void *p = alloc_entries[i].alloc(&asked);
        if (!p) {
            fail_msg("%s failed", alloc_entries[i].name);
        }
        heap_trace_summary_t s = get_summary();
        if (s.count != 1 || s.total_allocations != 1) {
            fail_msg("%s: %u records, %u allocations", alloc_entries[i].name, (unsigned)s.count,
                     (unsigned)s.total_allocations);
        }
        heap_trace_record_t r = get_record(0);
        assert_ptr_equal(r.address, p);
        if (r.size != asked) {
            fail_msg("%s: size %u recorded, %u asked", alloc_entries[i].name, (unsigned)r.size,
                     (unsigned)asked);
        }
        heap_caps_free(p);
        s = get_summary();
        assert_int_equal(s.count, 0);
        assert_int_equal(s.total_frees, 1);
    }
}

static void every_free_entry_point_is_traced_once(void **state)
{
    (void)state;
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK);
    for (size_t i = 0; i < COUNT(free_entries); ++i) {
        assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
        void *keep = heap_caps_malloc(24, MALLOC_CAP_8BIT); /* the list is not empty */
        void *p = heap_caps_malloc(80, MALLOC_CAP_8BIT);
        assert_int_equal(heap_trace_get_count(), 2);
        free_entries[i].release(p);
        heap_trace_summary_t s = get_summary();
        if (s.count != 1 || s.total_frees != 1 || s.total_allocations != 2) {
            fail_msg("%s: %u records, %u frees, %u allocations", free_entries[i].name,
                     (unsigned)s.count, (unsigned)s.total_frees, (unsigned)s.total_allocations);
        }
        assert_ptr_equal(get_record(0).address, keep);
        heap_caps_free(keep);
    }
}

/* With malloc() allowed in PSRAM and PSRAM full, the malloc policy makes a
 * failed attempt and falls back: still one record per call. */
static void malloc_policy_fallback_is_traced_once(void **state)
{
    (void)state;
    heap_caps_malloc_extmem_enable(64);
    void *filler[64];
    size_t fillers = 0;
    size_t largest;
    while (fillers < COUNT(filler) &&
           (largest = heap_caps_get_largest_free_block(MALLOC_CAP_SPIRAM)) > 0) {
        filler[fillers] = heap_caps_malloc(largest, MALLOC_CAP_SPIRAM);
        assert_non_null(filler[fillers]);
        ++fillers;
    }
    assert_int_equal(heap_caps_get_largest_free_block(MALLOC_CAP_SPIRAM), 0);

    start_tracing(HEAP_TRACE_ALL, RECORDS);
    void *a = heap_caps_malloc_default(1000);
    void *b = heap_caps_aligned_alloc_default(64, 1000);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(esp_ptr_internal(a));
    assert_int_equal(get_summary().total_allocations, 2);
    void *c = heap_caps_realloc_default(a, 2000);
    assert_non_null(c);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.total_allocations, 3);
    assert_int_equal(s.total_frees, 1);
    assert_int_equal(s.count, 3);
    heap_caps_free(b);
    heap_caps_free(c);
    assert_int_equal(get_summary().total_frees, 3);
    for (size_t i = 0; i < fillers; ++i) {
        heap_caps_free(filler[i]);
    }
}

/* Allocations nothing can serve are never recorded. */
static void failed_allocations_are_not_recorded(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, RECORDS);
    assert_null(heap_caps_malloc(BIG_SIZE, MALLOC_CAP_8BIT));
    assert_null(heap_caps_malloc(16, CUSTOM_CAP));
    assert_null(heap_caps_calloc(SIZE_MAX / 2, 4, MALLOC_CAP_8BIT));
    assert_null(heap_caps_malloc(0, MALLOC_CAP_8BIT));
    assert_null(heapcaps_libc_malloc(0));
    assert_null(heap_caps_aligned_alloc(3, 16, MALLOC_CAP_8BIT));
    heap_caps_free(NULL);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.count, 0);
    assert_int_equal(s.total_allocations, 0);
    assert_int_equal(s.total_frees, 0);
}

/* ============================================================ state machine */

static void state_machine_errors(void **state)
{
    (void)state;
    heap_trace_record_t r;
    heap_trace_summary_t s;
    /* Nothing given yet. */
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_init_standalone(NULL, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_trace_init_standalone(NULL, RECORDS), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_trace_init_standalone(recs, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_init_tohost(), ESP_ERR_NOT_SUPPORTED);
    /* Stopping a trace never started is fine once. */
    assert_int_equal(heap_trace_stop(), ESP_OK);
    assert_int_equal(heap_trace_stop(), ESP_ERR_INVALID_STATE);

    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_resume(), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_alloc_pause(), ESP_OK);
    assert_int_equal(heap_trace_alloc_pause(), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_resume(), ESP_OK);
    assert_int_equal(heap_trace_stop(), ESP_OK);
    assert_int_equal(heap_trace_stop(), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_alloc_pause(), ESP_OK); /* not checked against "running" */
    assert_int_equal(heap_trace_stop(), ESP_OK);
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK); /* stopped: allowed */

    /* get and summary arguments. */
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    void *p = heap_caps_malloc(10, MALLOC_CAP_8BIT);
    assert_int_equal(heap_trace_get(0, NULL), ESP_ERR_INVALID_STATE);
    assert_int_equal(heap_trace_get(0, &r), ESP_OK);
    assert_int_equal(heap_trace_get(1, &r), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_trace_get(SIZE_MAX, &r), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_trace_summary(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_trace_summary(&s), ESP_OK);
    assert_int_equal(s.mode, HEAP_TRACE_LEAKS);
    heap_caps_free(p);
}

static void start_clears_everything_but_the_high_water_mark(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, 4);
    void *p[5];
    for (size_t i = 0; i < COUNT(p); ++i) {
        p[i] = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    }
    heap_caps_free(p[4]);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.count, 3);
    assert_int_equal(s.high_water_mark, 4);
    assert_true(s.has_overflowed);

    /* Start again while started: allowed, and everything restarts. */
    assert_int_equal(heap_trace_start(HEAP_TRACE_ALL), ESP_OK);
    s = get_summary();
    assert_int_equal(s.mode, HEAP_TRACE_ALL);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.total_allocations, 0);
    assert_int_equal(s.total_frees, 0);
    assert_false(s.has_overflowed);
    assert_int_equal(s.high_water_mark, 4); /* kept */
    for (size_t i = 0; i < 4; ++i) {
        assert_null(recs[i].address); /* the buffer is cleared */
    }
    for (size_t i = 0; i < 4; ++i) {
        heap_caps_free(p[i]);
    }
    assert_int_equal(get_summary().total_frees, 0); /* no records: frees ignored */
}

static void stopped_trace_records_nothing_and_keeps_its_records(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *a = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    assert_int_equal(heap_trace_stop(), ESP_OK);
    void *b = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    heap_caps_free(a); /* stopped: not processed either */
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.count, 1);
    assert_int_equal(s.total_allocations, 1);
    assert_int_equal(s.total_frees, 0);
    assert_ptr_equal(get_record(0).address, a);

    /* Resume keeps the records. */
    assert_int_equal(heap_trace_resume(), ESP_OK);
    assert_int_equal(heap_trace_get_count(), 1);
    heap_caps_free(b); /* no record for it, but counted */
    s = get_summary();
    assert_int_equal(s.count, 1);
    assert_int_equal(s.total_frees, 1);
}

/* Where ESP-IDF is undefined: resume before any start, a new buffer while stopped. */
static void resume_without_start_and_init_with_another_buffer(void **state)
{
    (void)state;
    static heap_trace_record_t other[4];
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK);
    assert_int_equal(heap_trace_resume(), ESP_OK); /* starts, in the initial mode */
    void *p = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.mode, HEAP_TRACE_ALL);
    assert_int_equal(s.count, 1);
    assert_ptr_equal(recs[0].address, p);
    assert_int_equal(heap_trace_stop(), ESP_OK);

    /* The same buffer again: the records stay. */
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK);
    assert_int_equal(heap_trace_get_count(), 1);
    assert_ptr_equal(get_record(0).address, p);

    /* Another buffer: the old records are forgotten. */
    heap_trace_record_t r;
    assert_int_equal(heap_trace_init_standalone(other, COUNT(other)), ESP_OK);
    assert_int_equal(heap_trace_get_count(), 0);
    assert_int_equal(heap_trace_get(0, &r), ESP_ERR_INVALID_ARG);
    assert_int_equal(get_summary().capacity, COUNT(other));
    assert_int_equal(heap_trace_resume(), ESP_OK);
    void *q = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    assert_int_equal(heap_trace_get_count(), 1);
    assert_ptr_equal(other[0].address, q);
    heap_caps_free(p);
    heap_caps_free(q);
    s = get_summary();
    assert_int_equal(s.count, 1); /* ALL keeps q's record, marked freed */
    assert_true(get_record(0).freed);
    assert_int_equal(s.total_frees, 2);
}

/* ============================================================ modes, realloc */

static void all_mode_marks_freed_records_and_keeps_them(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, RECORDS);
    void *a = heap_caps_malloc(30, MALLOC_CAP_8BIT);
    void *b = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    heap_caps_free(a);
    assert_int_equal(heap_trace_get_count(), 2);
    heap_trace_record_t ra = get_record(0);
    heap_trace_record_t rb = get_record(1);
    assert_ptr_equal(ra.address, a);
    assert_true(ra.freed);
    assert_ptr_equal(rb.address, b);
    assert_false(rb.freed);
#if DEPTH > 0
    assert_non_null(ra.freed_by[0]);
    assert_null(rb.freed_by[0]);
#endif
    heap_caps_free(b);
    assert_true(get_record(1).freed);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.total_frees, 2);
    assert_int_equal(s.count, 2);
}

/* An address handed out again: the free belongs to the newest record. */
static void free_of_a_reused_address_marks_the_newest_record(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, RECORDS);
    void *a = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    heap_caps_free(a);
    void *b = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    if (b != a) {
        heap_caps_free(b);
        skip(); /* the allocator chose another block */
    }
    assert_false(get_record(1).freed);
    heap_caps_free(b);
    assert_true(get_record(0).freed);
    assert_true(get_record(1).freed);
}

static void realloc_is_a_free_and_an_allocation(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    char *a = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    void *guard = heap_caps_malloc(32, MALLOC_CAP_8BIT); /* so a cannot grow in place */
    char *b = heap_caps_realloc(a, 4000, MALLOC_CAP_8BIT);
    assert_non_null(b);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.count, 2);
    assert_int_equal(s.total_allocations, 3);
    assert_int_equal(s.total_frees, 1);
    assert_ptr_equal(get_record(1).address, b);
    assert_int_equal(get_record(1).size, 4000);
    assert_false(b != a && traced(a));

    /* Shrinking (in place or not): the record follows. */
    char *c = heap_caps_realloc(b, 100, MALLOC_CAP_8BIT);
    assert_non_null(c);
    assert_int_equal(heap_trace_get_count(), 2);
    assert_ptr_equal(get_record(1).address, c);
    assert_int_equal(get_record(1).size, 100);

    /* A failed realloc changes nothing: c is still alive and so is its record. */
    assert_null(heap_caps_realloc(c, BIG_SIZE, MALLOC_CAP_8BIT));
    assert_null(heap_caps_realloc(c, 100, CUSTOM_CAP));
    s = get_summary();
    assert_int_equal(s.count, 2);
    assert_int_equal(s.total_frees, 2);
    assert_int_equal(s.total_allocations, 4);
    assert_ptr_equal(get_record(1).address, c);
    assert_int_equal(get_record(1).size, 100);

    /* realloc to 0 is a free. */
    assert_null(heap_caps_realloc(c, 0, MALLOC_CAP_8BIT));
    assert_int_equal(heap_trace_get_count(), 1);
    assert_int_equal(get_summary().total_frees, 3);
    heap_caps_free(guard);
}

static void realloc_in_all_mode_marks_the_old_record_freed(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, RECORDS);
    void *a = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    void *guard = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    void *b = heap_caps_realloc(a, 3000, MALLOC_CAP_8BIT);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(heap_trace_get_count(), 3);
    heap_trace_record_t old = get_record(0);
    heap_trace_record_t moved = get_record(2);
    assert_ptr_equal(old.address, a);
    assert_true(old.freed);
    assert_ptr_equal(moved.address, b);
    assert_false(moved.freed);
    assert_int_equal(moved.size, 3000);
#if DEPTH > 0
    /* Both come from the same call. */
    assert_ptr_equal(old.freed_by[0], moved.alloced_by[0]);
#endif
    heap_caps_free(b);
    heap_caps_free(guard);
}

/* ============================================================ hash map */

#ifdef CONFIG_HEAP_TRACE_HASH_MAP
static void run_init(void *context)
{
    (void)context;
    assert_int_equal(heap_trace_init_standalone(recs, RECORDS), ESP_OK);
}

static void hash_map_table_comes_from_internal_ram_once(void **state)
{
    (void)state;
    size_t bytes = CONFIG_HEAP_TRACE_HASH_MAP_SIZE * sizeof(void *);
    size_t before = heap_caps_get_free_size(MALLOC_CAP_INTERNAL);
    capture_output(1, run_init, NULL, output, sizeof(output));
    size_t after = heap_caps_get_free_size(MALLOC_CAP_INTERNAL);
    assert_true(before - after >= bytes);
    char expected[96];
    snprintf(expected, sizeof(expected), "heap_trace: hashmap: allocating %u bytes (Internal RAM)",
             (unsigned)bytes);
    assert_true(matches("^I \\([0-9]+\\) ", output));
    assert_non_null(strstr(output, expected));

    /* Again: no new table, no line. */
    capture_output(1, run_init, NULL, output, sizeof(output));
    assert_string_equal(output, "");
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_INTERNAL), after);
}

static void hash_map_counts_hits_and_misses(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *untraced = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    assert_int_equal(heap_trace_stop(), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    void *p[3];
    for (size_t i = 0; i < COUNT(p); ++i) {
        p[i] = heap_caps_malloc(16 * (i + 1), MALLOC_CAP_8BIT);
    }
    heap_caps_free(p[1]);
    heap_caps_free(untraced); /* no record: a miss */
    heap_caps_free(p[0]);
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.total_hashmap_hits, 2);
    assert_int_equal(s.total_hashmap_miss, 1);
    assert_int_equal(s.count, 1);
    heap_caps_free(p[2]);
    s = get_summary();
    assert_int_equal(s.total_hashmap_hits, 3);
    assert_int_equal(s.total_frees, 4);
    /* start clears the counters */
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    s = get_summary();
    assert_int_equal(s.total_hashmap_hits, 0);
    assert_int_equal(s.total_hashmap_miss, 0);
}

/* ESP-IDF's bucket of an address, on the chip address. */
static size_t bucket_of(const void *p)
{
    uint32_t a = (uint32_t)chip(p);
    return (uint32_t)(((a >> 3) + (a >> 5) + (a >> 7)) * 16777619u) %
           CONFIG_HEAP_TRACE_HASH_MAP_SIZE;
}

#define MANY 256
static heap_trace_record_t many[MANY];

/* Records sharing a bucket: each free finds and removes its own record,
 * whether it is at the head of the chain or behind another. */
static void hash_map_finds_records_sharing_a_bucket(void **state)
{
    (void)state;
    assert_int_equal(heap_trace_init_standalone(many, MANY), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    static void *p[MANY];
    for (size_t i = 0; i < MANY; ++i) {
        p[i] = heap_caps_malloc(8 + 4 * (i % 8), MALLOC_CAP_8BIT);
        assert_non_null(p[i]);
    }
    size_t older = MANY, newer = MANY;
    for (size_t i = 0; i < MANY && older == MANY; ++i) {
        for (size_t j = i + 1; j < MANY; ++j) {
            if (bucket_of(p[i]) == bucket_of(p[j])) {
                older = i;
                newer = j;
                break;
            }
        }
    }
    if (older == MANY) {
        for (size_t i = 0; i < MANY; ++i) {
            heap_caps_free(p[i]);
        }
        skip(); /* no two addresses share a bucket */
    }
    heap_caps_free(p[older]); /* behind the newer one on the chain */
    assert_false(traced(p[older]));
    assert_true(traced(p[newer]));
    heap_caps_free(p[newer]);
    assert_false(traced(p[newer]));
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.count, MANY - 2);
    assert_int_equal(s.total_hashmap_hits, 2);
    assert_int_equal(s.total_hashmap_miss, 0);
    for (size_t i = 0; i < MANY; ++i) {
        if (i != older && i != newer) {
            heap_caps_free(p[i]);
        }
    }
    s = get_summary();
    assert_int_equal(s.count, 0);
    assert_int_equal(s.total_hashmap_hits, MANY);
    assert_int_equal(s.total_hashmap_miss, 0);
}
#endif

/* ============================================================ callers */

#if DEPTH > 0
/* Called through volatile pointers so that the compiler neither inlines
 * nor clones them: the call sites stay inside these very functions. */
void *trace_test_allocate_here(size_t size);
void *trace_test_allocate_via(size_t size);
void trace_test_free_here(void *p);
static void *volatile sink;
static void *(*volatile allocate_here)(size_t) = trace_test_allocate_here;
static void *(*volatile allocate_via)(size_t) = trace_test_allocate_via;
static void (*volatile free_here)(void *) = trace_test_free_here;

void *trace_test_allocate_here(size_t size)
{
    void *p = heap_caps_malloc(size, MALLOC_CAP_8BIT);
    sink = p; /* work after the call: no tail call */
    return p;
}

void *trace_test_allocate_via(size_t size)
{
    void *p = allocate_here(size);
    sink = p;
    return p;
}

void trace_test_free_here(void *p)
{
    heap_caps_free(p);
    sink = NULL;
}

static bool inside(const void *address, void *function)
{
    uintptr_t offset = (uintptr_t)address - (uintptr_t)function;
    return offset > 0 && offset < 1024;
}

static void callers_name_the_call_site(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, RECORDS);
    void *p0 = allocate_via(24);
    void *p1 = allocate_via(24);
    free_here(p0);
    heap_trace_record_t r0 = get_record(0);
    heap_trace_record_t r1 = get_record(1);
    /* The caller of the public function, the same place both times. */
    assert_non_null(r0.alloced_by[0]);
    assert_ptr_equal(r0.alloced_by[0], r1.alloced_by[0]);
    assert_true(inside(r0.alloced_by[0], (void *)trace_test_allocate_here));
    assert_true(inside(r0.freed_by[0], (void *)trace_test_free_here));
    assert_null(r1.freed_by[0]);
#if DEPTH > 1
    /* One frame up. */
    assert_ptr_equal(r0.alloced_by[1], r1.alloced_by[1]);
    assert_true(inside(r0.alloced_by[1], (void *)trace_test_allocate_via));
#endif
    /* Another call site, another caller. */
    void *q = heap_caps_malloc(24, MALLOC_CAP_8BIT);
    assert_non_null(get_record(2).alloced_by[0]);
    assert_ptr_not_equal(get_record(2).alloced_by[0], r0.alloced_by[0]);
    heap_caps_free(p1);
    heap_caps_free(q);
}
#endif

static void ccount_has_the_cpu_bits_clear(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *p = heap_caps_malloc(8, MALLOC_CAP_8BIT);
    heap_trace_record_t r = get_record(0);
    assert_int_equal(r.ccount & 3u, 0); /* CPU 0, bit 1 clear */
    heap_caps_free(p);
}

/* ============================================================ dump format */

/* The record line the spec prescribes, from the record itself. */
static void expected_record_line(const heap_trace_record_t *r, char *line, size_t room)
{
    const char *label = esp_ptr_internal(r->address)       ? ", Internal"
                        : esp_ptr_external_ram(r->address) ? ",    PSRAM"
                                                           : "";
    int n =
        snprintf(line, room, "%6d bytes (@ 0x%08x%s) allocated CPU %d ccount 0x%08x", (int)r->size,
                 chip(r->address), label, (int)(r->ccount & 1), (unsigned)(r->ccount & ~3u));
#if DEPTH > 0
    if (r->alloced_by[0]) {
        n += snprintf(line + n, room - (size_t)n, " caller ");
        for (int i = 0; i < DEPTH && r->alloced_by[i]; ++i) {
            n += snprintf(line + n, room - (size_t)n, "0x%08" PRIxPTR "%s",
                          (uintptr_t)r->alloced_by[i], i < DEPTH - 1 ? ":" : "");
        }
    }
#endif
    (void)n;
}

static const char *const record_pattern = "^ *[0-9]+ bytes \\(@ 0x[0-9a-f]{8}(, Internal|,    "
                                          "PSRAM)?\\) allocated CPU 0 ccount 0x[0-9a-f]{8}"
                                          "( caller (0x[0-9a-f]{8,}:?)+)?( freed)?$";

static void dump_prints_the_documented_format(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_ALL, RECORDS);
    void *a = heap_caps_malloc(100, MALLOC_CAP_INTERNAL);
    void *b = heap_caps_malloc(200, MALLOC_CAP_8BIT);
    void *c = heap_caps_malloc(300, MALLOC_CAP_SPIRAM);
    heap_caps_free(b);
    heap_trace_record_t r[3] = {get_record(0), get_record(1), get_record(2)};
    capture_output(1, run_dump_all, NULL, output, sizeof(output));

    char *lines[32];
    size_t n = split_lines(output, lines, COUNT(lines));
    size_t at = 0;
    char expected[2048];
    assert_string_equal(lines[at++], "====== Heap Trace: 3 records (8 capacity) ======");
    for (size_t i = 0; i < 3; ++i) {
        assert_true(at < n);
        expected_record_line(&r[i], expected, sizeof(expected));
        unsigned size, address, cpu, ccount;
        assert_int_equal(sscanf(lines[at], "%u bytes (@ 0x%x", &size, &address), 2);
        assert_int_equal(size, r[i].size);
        assert_int_equal(address, chip(r[i].address));
        const char *tail = strstr(lines[at], "allocated CPU ");
        assert_non_null(tail);
        assert_int_equal(sscanf(tail, "allocated CPU %u ccount 0x%x", &cpu, &ccount), 2);
        assert_int_equal(cpu, 0);
        assert_int_equal(ccount, r[i].ccount);
        if (!r[i].freed) {
            assert_string_equal(lines[at], expected);
            assert_true(matches(record_pattern, lines[at]));
            ++at;
            continue;
        }
#if DEPTH > 0
        /* Freed, with its free's callers on the next line. */
        assert_string_equal(lines[at], expected);
        ++at;
        char freed_by[2048];
        int len = snprintf(freed_by, sizeof(freed_by), "freed by ");
        for (int j = 0; j < DEPTH; ++j) {
            len += snprintf(freed_by + len, sizeof(freed_by) - (size_t)len, "0x%08" PRIxPTR "%s",
                            (uintptr_t)r[i].freed_by[j], j < DEPTH - 1 ? ":" : "");
        }
        assert_string_equal(lines[at], freed_by);
        assert_true(matches("^freed by 0x[0-9a-f]{8,}(:0x[0-9a-f]{8,})*$", lines[at]));
        ++at;
#else
        strcat(expected, " freed");
        assert_string_equal(lines[at], expected);
        assert_true(matches(record_pattern, lines[at]));
        ++at;
#endif
    }
    assert_string_equal(lines[at++], "====== Heap Trace Summary ======");
    assert_string_equal(lines[at++], "Mode: Heap Trace All");
    assert_string_equal(lines[at++], "400 bytes alive in trace (2/3 allocations)");
    assert_string_equal(lines[at++], "records: 3 (8 capacity, 3 high water mark)");
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    snprintf(expected, sizeof(expected), "hashmap: %u capacity (1 hits, 0 misses)",
             (unsigned)CONFIG_HEAP_TRACE_HASH_MAP_SIZE);
    assert_string_equal(lines[at++], expected);
#endif
    assert_string_equal(lines[at++], "total allocations: 3");
    assert_string_equal(lines[at++], "total frees: 1");
    assert_string_equal(lines[at++], "================================");
    assert_int_equal(at, n);
    heap_caps_free(a);
    heap_caps_free(c);
}

static void dump_in_leaks_mode_with_an_overflowed_buffer(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, 2);
    void *p[3];
    for (size_t i = 0; i < COUNT(p); ++i) {
        p[i] = heap_caps_malloc(10 * (i + 1), MALLOC_CAP_8BIT);
    }
    heap_caps_free(p[0]); /* dropped already: counted, nothing removed */
    capture_output(1, run_dump_all, NULL, output, sizeof(output));
    char *lines[32];
    size_t n = split_lines(output, lines, COUNT(lines));
    size_t at = 0;
    assert_string_equal(lines[at++], "====== Heap Trace: 2 records (2 capacity) ======");
    assert_true(matches(record_pattern, lines[at]));
    assert_int_equal(atoi(lines[at++]), 20);
    assert_true(matches(record_pattern, lines[at]));
    assert_int_equal(atoi(lines[at++]), 30);
    assert_string_equal(lines[at++], "====== Heap Trace Summary ======");
    assert_string_equal(lines[at++], "Mode: Heap Trace Leaks");
    assert_string_equal(lines[at++], "50 bytes 'leaked' in trace (2 allocations)");
    assert_string_equal(lines[at++], "records: 2 (2 capacity, 2 high water mark)");
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    char expected[96];
    snprintf(expected, sizeof(expected), "hashmap: %u capacity (0 hits, 1 misses)",
             (unsigned)CONFIG_HEAP_TRACE_HASH_MAP_SIZE);
    assert_string_equal(lines[at++], expected);
#endif
    assert_string_equal(lines[at++], "total allocations: 3");
    assert_string_equal(lines[at++], "total frees: 1");
    assert_string_equal(lines[at++],
                        "(NB: Internal Buffer has overflowed, so trace data is incomplete.)");
    assert_string_equal(lines[at++], "================================");
    assert_int_equal(at, n);
    heap_caps_free(p[1]);
    heap_caps_free(p[2]);
}

static void dump_of_an_empty_trace(void **state)
{
    (void)state;
    /* Never started: a header and a summary of nothing. */
    capture_output(1, run_dump_all, NULL, output, sizeof(output));
    assert_non_null(strstr(output, "====== Heap Trace: 0 records (0 capacity) ======\n"
                                   "====== Heap Trace Summary ======\n"));
    assert_non_null(strstr(output, "total allocations: 0\ntotal frees: 0\n"
                                   "================================\n"));
    assert_null(strstr(output, "NB:"));
}

static void dump_reports_a_list_shorter_than_its_count(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *p[3];
    for (size_t i = 0; i < COUNT(p); ++i) {
        p[i] = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    }
    /* Damage the list as a stray write into the buffer would. */
    heap_trace_record_t *saved = recs[0].tailq_list.tqe_next;
    recs[0].tailq_list.tqe_next = NULL;
    capture_output(1, run_dump_all, NULL, output, sizeof(output));
    recs[0].tailq_list.tqe_next = saved;

    char *lines[32];
    size_t n = split_lines(output, lines, COUNT(lines));
    assert_true(n > 5);
    assert_string_equal(lines[0], "====== Heap Trace: 3 records (8 capacity) ======");
    assert_true(matches(record_pattern, lines[1]));
    assert_string_equal(lines[2], "");
    assert_string_equal(lines[3],
                        "Error: heap trace linked list is corrupt. expected more records.");
    assert_string_equal(lines[4], "====== Heap Trace Summary ======");
    for (size_t i = 0; i < COUNT(p); ++i) {
        heap_caps_free(p[i]);
    }
    assert_int_equal(heap_trace_get_count(), 0);
}

/* ============================================================ get, threads */

static void get_walks_in_any_order(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    void *p[RECORDS];
    for (size_t i = 0; i < RECORDS; ++i) {
        p[i] = heap_caps_malloc(8 + i, MALLOC_CAP_8BIT);
    }
    static const size_t order[] = {0, 1, 2, 3, 7, 6, 2, 5, 5, 0, 4};
    for (size_t i = 0; i < COUNT(order); ++i) {
        assert_ptr_equal(get_record(order[i]).address, p[order[i]]);
    }
    /* The cursor follows removals. */
    assert_ptr_equal(get_record(3).address, p[3]);
    heap_caps_free(p[1]);
    assert_ptr_equal(get_record(3).address, p[4]);
    assert_ptr_equal(get_record(4).address, p[5]);
    for (size_t i = 0; i < RECORDS; ++i) {
        if (i != 1) {
            heap_caps_free(p[i]);
        }
    }
}

#define THREADS    4
#define ITERATIONS 2000

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITERATIONS; ++i) {
        void *p = heap_caps_malloc(16 + (size_t)(i % 64), MALLOC_CAP_8BIT);
        if (!p) {
            return (void *)1;
        }
        heap_caps_free(p);
    }
    return NULL;
}

static void concurrent_allocations_are_all_traced(void **state)
{
    (void)state;
    start_tracing(HEAP_TRACE_LEAKS, RECORDS);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; ++i) {
        assert_int_equal(pthread_create(&threads[i], NULL, churn, NULL), 0);
    }
    for (int i = 0; i < THREADS; ++i) {
        void *result = (void *)1;
        assert_int_equal(pthread_join(threads[i], &result), 0);
        assert_null(result);
    }
    heap_trace_summary_t s = get_summary();
    assert_int_equal(s.count, 0);
    assert_int_equal(s.total_allocations, THREADS * ITERATIONS);
    assert_int_equal(s.total_frees, THREADS * ITERATIONS);
    assert_false(s.has_overflowed);
    assert_true(s.high_water_mark >= 1 && s.high_water_mark <= THREADS);
}

/* ============================================================ */

#define PLAIN(fn) cmocka_unit_test_setup_teardown(fn, boot_plain, shut_down)
#define PSRAM(fn) cmocka_unit_test_setup_teardown(fn, boot_with_psram, shut_down)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PLAIN(leak_check_keeps_the_allocations_not_freed),
        PLAIN(heap_caps_calloc_is_recorded_once_with_the_product_size),
        PLAIN(wrapped_buffer_drops_the_oldest_records),
        PLAIN(alloc_pause_stops_recording_allocations_but_not_frees),
        PLAIN(summary_reports_counts_capacity_and_overflow),
        PSRAM(dump_of_internal_ram_only),
        PSRAM(dump_of_external_ram_only),
        PSRAM(dump_of_both),
        PLAIN(every_allocation_entry_point_is_traced_once),
        PLAIN(every_free_entry_point_is_traced_once),
        PSRAM(malloc_policy_fallback_is_traced_once),
        PLAIN(failed_allocations_are_not_recorded),
        PLAIN(state_machine_errors),
        PLAIN(start_clears_everything_but_the_high_water_mark),
        PLAIN(stopped_trace_records_nothing_and_keeps_its_records),
        PLAIN(resume_without_start_and_init_with_another_buffer),
        PLAIN(all_mode_marks_freed_records_and_keeps_them),
        PLAIN(free_of_a_reused_address_marks_the_newest_record),
        PLAIN(realloc_is_a_free_and_an_allocation),
        PLAIN(realloc_in_all_mode_marks_the_old_record_freed),
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
        PLAIN(hash_map_table_comes_from_internal_ram_once),
        PLAIN(hash_map_counts_hits_and_misses),
        PLAIN(hash_map_finds_records_sharing_a_bucket),
#endif
#if DEPTH > 0
        PLAIN(callers_name_the_call_site),
#endif
        PLAIN(ccount_has_the_cpu_bits_clear),
        PSRAM(dump_prints_the_documented_format),
        PLAIN(dump_in_leaks_mode_with_an_overflowed_buffer),
        PLAIN(dump_of_an_empty_trace),
        PLAIN(dump_reports_a_list_shorter_than_its_count),
        PLAIN(get_walks_in_any_order),
        PLAIN(concurrent_allocations_are_all_traced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
