/*
 * test_recorder.c — heapcaps/recorder.h on emulated chips: the lines written
 * for each kind of call (realloc in place, moved inside its heap, moved to
 * another heap), ids of moved blocks, the write callback's own allocations,
 * start/stop, a full table, concurrent tasks, and random workloads whose
 * trace must describe exactly the blocks the program holds.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* pthreads */

#include <inttypes.h>
#include <pthread.h>
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
#include "heapcaps/recorder.h"
#include "test_support.h"

#ifndef HEAPCAPS_RECORDER_SLOTS
#define HEAPCAPS_RECORDER_SLOTS 4096
#endif
#define TRACKED_LIMIT (HEAPCAPS_RECORDER_SLOTS - HEAPCAPS_RECORDER_SLOTS / 8)

#define HEADER           "# heapcaps trace\nop,id,size,caps,alignment,timestamp,callers\n"
#define DEFAULT_INTERNAL (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL)
#define PSRAM_SIZE       ((size_t)2 * 1024 * 1024)

/* ------------------------------------------------------------ the output */

static char out[8 * 1024 * 1024];
static size_t out_length;
static size_t writes;

/* What the write callback does besides storing (the guard's cases). */
static enum { CB_STORE, CB_ALLOCATE, CB_KEEP_BLOCK } callback_mode;
static void *callback_block;
static size_t callback_allocations;
static test_rng_t callback_rng;

static void write_to_buffer(const char *text, size_t length, void *context)
{
    assert_ptr_equal(context, out);
    assert_true(out_length + length < sizeof(out));
    memcpy(out + out_length, text, length);
    out_length += length;
    out[out_length] = '\0';
    writes++;
    if (callback_mode == CB_ALLOCATE) {
        void *p = heap_caps_malloc(32, MALLOC_CAP_8BIT);
        assert_non_null(p);
        callback_allocations++;
        heap_caps_free(p);
    } else if (callback_mode == CB_KEEP_BLOCK) {
        /* A block of its own that grows, moves and shrinks across events. */
        void *p = heap_caps_realloc(callback_block, test_rng_range(&callback_rng, 8, 3000),
                                    MALLOC_CAP_8BIT);
        assert_non_null(p);
        callback_block = p;
        callback_allocations++;
    }
}

static uint64_t ticks;
static uint64_t tick_clock(void)
{
    return ++ticks;
}

static void start(void)
{
    assert_int_equal(heapcaps_recorder_start(write_to_buffer, out), ESP_OK);
}

/* The lines after the header, one by one. */
static const char *cursor;

static void rewind_lines(void)
{
    assert_true(strncmp(out, HEADER, strlen(HEADER)) == 0);
    cursor = out + strlen(HEADER);
}

static void expect_line(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void expect_line(const char *format, ...)
{
    char want[160];
    va_list args;
    va_start(args, format);
    vsnprintf(want, sizeof(want), format, args);
    va_end(args);
    const char *end = strchr(cursor, '\n');
    if (!end) {
        fail_msg("missing line: want '%s'", want);
    }
    size_t length = (size_t)(end - cursor);
    if (length != strlen(want) || memcmp(cursor, want, length) != 0) {
        fail_msg("line '%.*s', want '%s'", (int)length, cursor, want);
    }
    cursor = end + 1;
}

static void expect_no_more_lines(void)
{
    if (*cursor) {
        fail_msg("unexpected output: '%s'", cursor);
    }
}

static uint64_t id_of(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* "malloc,ID,SIZE,CAPS,,T," and friends, with the tick clock's next time. */
#define EXPECT_ALLOC(op, id, size, caps)                                                           \
    expect_line("%s,0x%" PRIx64 ",%zu,0x%" PRIx32 ",,%" PRIu64 ",", (op), (uint64_t)(id),          \
                (size_t)(size), (uint32_t)(caps), ++expected_tick)
#define EXPECT_FREE(id)                                                                            \
    expect_line("free,0x%" PRIx64 ",,,,%" PRIu64 ",", (uint64_t)(id), ++expected_tick)

/* ------------------------------------------------------------ a parsed trace */

typedef struct {
    char op[8];
    uint64_t id;
    size_t size;
} op_t;

typedef struct {
    uint64_t id;
    size_t size;
} live_t;

/* Replays the recorded lines on a model of live ids; fails on a line that is
 * malformed or inconsistent (a new id already live, an unknown id resized or
 * freed). Returns the number of live ids at the end, their sizes in sizes[]. */
static size_t check_trace(size_t *sizes, size_t room)
{
    static live_t live[16384];
    size_t live_count = 0;
    rewind_lines();
    uint64_t last_time = 0;
    bool first_line = true;
    for (const char *line = cursor; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        if (*line == '#') {
            line = end + 1;
            continue;
        }
        char text[160];
        size_t length = (size_t)(end - line);
        assert_true(length < sizeof(text));
        memcpy(text, line, length);
        text[length] = '\0';
        /* Seven fields: op,id,size,caps,alignment,timestamp,callers. */
        char *field[7] = {NULL};
        size_t fields = 0;
        char *p = text;
        field[fields++] = p;
        for (; *p; ++p) {
            if (*p == ',') {
                *p = '\0';
                if (fields == 7) {
                    fail_msg("too many fields: '%.*s'", (int)length, line);
                }
                field[fields++] = p + 1;
            }
        }
        if (fields != 7 || *field[4] || *field[6] || strncmp(field[1], "0x", 2) != 0) {
            fail_msg("malformed line '%.*s'", (int)length, line);
        }
        op_t op;
        if (strlen(field[0]) >= sizeof(op.op)) {
            fail_msg("unknown op in '%.*s'", (int)length, line);
        }
        strcpy(op.op, field[0]);
        op.id = strtoull(field[1] + 2, NULL, 16);
        op.size = (size_t)strtoull(field[2], NULL, 10);
        uint64_t time = strtoull(field[5], NULL, 10);
        /* Never backwards, modulo the clock's width: the port's counter is
         * an unsigned long, which wraps on a 32-bit host as ccount does. */
        uint64_t step = time - last_time;
        if (first_line) {
            first_line = false;
        } else if (sizeof(unsigned long) < sizeof(uint64_t)) {
            step = (uint32_t)step;
            assert_true(step <= UINT32_MAX / 2);
        } else {
            assert_true(time >= last_time);
        }
        last_time = time;
        size_t found = live_count;
        for (size_t i = 0; i < live_count; ++i) {
            if (live[i].id == op.id) {
                found = i;
                break;
            }
        }
        if (!strcmp(op.op, "malloc")) {
            if (found != live_count || !*field[2] || strncmp(field[3], "0x", 2) != 0) {
                fail_msg("bad malloc '%.*s'", (int)length, line);
            }
            assert_true(live_count < sizeof(live) / sizeof(live[0]));
            live[live_count++] = (live_t){op.id, op.size};
        } else if (!strcmp(op.op, "realloc")) {
            if (found == live_count || !*field[2]) {
                fail_msg("bad realloc '%.*s'", (int)length, line);
            }
            live[found].size = op.size;
        } else if (!strcmp(op.op, "free")) {
            if (found == live_count || *field[2] || *field[3]) {
                fail_msg("bad free '%.*s'", (int)length, line);
            }
            live[found] = live[--live_count];
        } else {
            fail_msg("unknown op '%.*s'", (int)length, line);
        }
        line = end + 1;
    }
    assert_true(live_count <= room);
    for (size_t i = 0; i < live_count; ++i) {
        sizes[i] = live[i].size;
    }
    return live_count;
}

static int compare_sizes(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ fixtures */

static void boot(const char *target, size_t psram)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = psram;
    assert_int_equal(heapcaps_emu_boot(target, &options), ESP_OK);
    out_length = 0;
    out[0] = '\0';
    writes = 0;
    ticks = 0;
    callback_mode = CB_STORE;
    callback_block = NULL;
    callback_allocations = 0;
    callback_rng.state = 0x5eed;
    heapcaps_recorder_set_clock(tick_clock);
}

static int boot_s3(void **state)
{
    (void)state;
    boot("esp32s3", PSRAM_SIZE);
    return 0;
}

static int boot_c3(void **state)
{
    (void)state;
    boot("esp32c3", 0);
    return 0;
}

static int shut_down(void **state)
{
    (void)state;
    heapcaps_recorder_stop();
    heapcaps_recorder_set_clock(NULL);
    callback_mode = CB_STORE;
    heap_caps_free(callback_block);
    callback_block = NULL;
    heapcaps_emu_shutdown();
    return 0;
}

/* ============================================================ start, stop */

static void start_writes_the_header(void **state)
{
    (void)state;
    start();
    assert_string_equal(out, HEADER);
    assert_int_equal(writes, 1);
    heapcaps_recorder_stop();
    assert_string_equal(out, HEADER);
    assert_int_equal(heapcaps_recorder_dropped(), 0);
}

static void start_twice_or_without_a_writer_fails(void **state)
{
    (void)state;
    assert_int_equal(heapcaps_recorder_start(NULL, NULL), ESP_ERR_INVALID_ARG);
    start();
    assert_int_equal(heapcaps_recorder_start(write_to_buffer, out), ESP_ERR_INVALID_STATE);
    assert_int_equal(heapcaps_recorder_start(NULL, NULL), ESP_ERR_INVALID_ARG);
    assert_string_equal(out, HEADER); /* the second start wrote nothing */
    heapcaps_recorder_stop();
    heapcaps_recorder_stop(); /* a no-op */
    out_length = 0;
    start(); /* again after a stop */
    assert_string_equal(out, HEADER);
}

static void stop_ends_the_recording(void **state)
{
    (void)state;
    start();
    void *p = heap_caps_malloc(48, MALLOC_CAP_8BIT);
    heapcaps_recorder_stop();
    void *q = heap_caps_malloc(48, MALLOC_CAP_8BIT);
    heap_caps_free(p);
    heap_caps_free(q);
    uint64_t expected_tick = 0;
    rewind_lines();
    EXPECT_ALLOC("malloc", id_of(p), 48, MALLOC_CAP_8BIT);
    expect_no_more_lines();
}

/* ============================================================ the calls */

static void every_kind_of_call_is_recorded(void **state)
{
    (void)state;
    start();
    char *a = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    char *b = heap_caps_calloc(4, 25, MALLOC_CAP_INTERNAL);
    char *c = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    char *guard = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    char *a2 = heap_caps_realloc(a, 60, MALLOC_CAP_8BIT);   /* shrinks in place */
    char *c2 = heap_caps_realloc(c, 3000, MALLOC_CAP_8BIT); /* moves inside its heap */
    char *d = heap_caps_malloc(200, MALLOC_CAP_INTERNAL);
    char *d2 = heap_caps_realloc(d, 200, MALLOC_CAP_SPIRAM); /* to another heap */
    char *e = heap_caps_aligned_alloc(256, 1000, MALLOC_CAP_DMA);
    char *f = heapcaps_libc_malloc(40);
    char *g = heap_caps_malloc(5, MALLOC_CAP_32BIT); /* rounded to a word */
    assert_true(a && b && c && guard && c2 && d && d2 && e && f && g);
    assert_true(esp_ptr_external_ram(d2));
    assert_int_equal((uintptr_t)e % 256, 0);
    heap_caps_free(a2);
    heap_caps_free(b);
    heap_caps_free(c2);
    heap_caps_free(guard);
    heap_caps_free(d2);
    heap_caps_free(e);
    heapcaps_libc_free(f);
    heap_caps_free(g);
    heap_caps_free(NULL);
    heapcaps_recorder_stop();

    uint64_t expected_tick = 0;
    rewind_lines();
    EXPECT_ALLOC("malloc", id_of(a), 100, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("malloc", id_of(b), 100, MALLOC_CAP_INTERNAL); /* calloc: n * size */
    EXPECT_ALLOC("malloc", id_of(c), 64, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("malloc", id_of(guard), 16, MALLOC_CAP_8BIT);
#ifdef HEAPCAPS_SANITIZER_VIEW
    /* The sanitizer view moves every realloc: a new block and a free. */
    EXPECT_ALLOC("malloc", id_of(a2), 60, MALLOC_CAP_8BIT);
    EXPECT_FREE(id_of(a));
#else
    /* In place; with Comprehensive poisoning (every realloc moves) a move
     * inside its heap, which keeps the id too. */
    EXPECT_ALLOC("realloc", id_of(a), 60, MALLOC_CAP_8BIT);
#endif
    assert_ptr_not_equal(c2, c);
#ifdef HEAPCAPS_SANITIZER_VIEW
    EXPECT_ALLOC("malloc", id_of(c2), 3000, MALLOC_CAP_8BIT);
    EXPECT_FREE(id_of(c));
#else
    EXPECT_ALLOC("realloc", id_of(c), 3000, MALLOC_CAP_8BIT); /* keeps its id */
#endif
    EXPECT_ALLOC("malloc", id_of(d), 200, MALLOC_CAP_INTERNAL);
    EXPECT_ALLOC("malloc", id_of(d2), 200, MALLOC_CAP_SPIRAM);
    EXPECT_FREE(id_of(d));
    /* The alignment is not seen; a DMA request's size is rounded up to it. */
    EXPECT_ALLOC("malloc", id_of(e), 1024, MALLOC_CAP_DMA);
#ifdef HEAPCAPS_SANITIZER_VIEW
    uint64_t moved_c = 0, moved_a = 0;
#else
    uint64_t moved_c = (uint64_t)(uintptr_t)c; /* still c2's id: a block there gets another */
    uint64_t moved_a = a2 != a ? (uint64_t)(uintptr_t)a : 0;
#endif
    bool f_tagged = f == (char *)(uintptr_t)moved_c || f == (char *)(uintptr_t)moved_a;
    bool g_tagged = g == (char *)(uintptr_t)moved_c || g == (char *)(uintptr_t)moved_a;
    uint64_t f_id = id_of(f) | ((uint64_t)f_tagged << 48);
    uint64_t g_id = id_of(g) | ((uint64_t)g_tagged << 48);
    EXPECT_ALLOC("malloc", f_id, 40, DEFAULT_INTERNAL); /* the malloc() policy's choice */
    EXPECT_ALLOC("malloc", g_id, 8, MALLOC_CAP_32BIT);
#ifdef HEAPCAPS_SANITIZER_VIEW
    EXPECT_FREE(id_of(a2));
#else
    EXPECT_FREE(id_of(a));
#endif
    EXPECT_FREE(id_of(b));
#ifdef HEAPCAPS_SANITIZER_VIEW
    EXPECT_FREE(id_of(c2));
#else
    EXPECT_FREE(id_of(c)); /* the id, not the address */
#endif
    EXPECT_FREE(id_of(guard));
    EXPECT_FREE(id_of(d2));
    EXPECT_FREE(id_of(e));
    EXPECT_FREE(f_id);
    EXPECT_FREE(g_id);
    expect_no_more_lines();
    assert_int_equal(heapcaps_recorder_dropped(), 0);
}

/* A block allocated where a moved block's id still points gets another id. */
static void a_new_block_at_a_moved_blocks_id_gets_a_tagged_id(void **state)
{
    (void)state;
#ifdef HEAPCAPS_SANITIZER_VIEW
    skip(); /* no move inside a heap */
#endif
    start();
    char *c = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    char *guard = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    char *c2 = heap_caps_realloc(c, 3000, MALLOC_CAP_8BIT);
    char *x = heap_caps_malloc(64, MALLOC_CAP_8BIT);       /* the hole c left */
    char *y = heap_caps_realloc(x, 4000, MALLOC_CAP_8BIT); /* moves too */
    char *z = heap_caps_malloc(64, MALLOC_CAP_8BIT);       /* and again */
    assert_true(c && guard && c2 && x && y && z);
    assert_ptr_equal(x, c);
    assert_ptr_not_equal(y, x);
    assert_ptr_equal(z, c);
    heap_caps_free(z);
    heap_caps_free(c2);
    heap_caps_free(y);
    char *w = heap_caps_malloc(64, MALLOC_CAP_8BIT); /* every id free again */
    assert_ptr_equal(w, c);
    heap_caps_free(w);
    heap_caps_free(guard);
    heapcaps_recorder_stop();

    uint64_t tag1 = (uint64_t)1 << 48, tag2 = (uint64_t)2 << 48;
    uint64_t expected_tick = 0;
    rewind_lines();
    EXPECT_ALLOC("malloc", id_of(c), 64, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("malloc", id_of(guard), 16, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("realloc", id_of(c), 3000, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("malloc", tag1 | id_of(c), 64, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("realloc", tag1 | id_of(c), 4000, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("malloc", tag2 | id_of(c), 64, MALLOC_CAP_8BIT);
    EXPECT_FREE(tag2 | id_of(c));
    EXPECT_FREE(id_of(c));
    EXPECT_FREE(tag1 | id_of(c));
    EXPECT_ALLOC("malloc", id_of(c), 64, MALLOC_CAP_8BIT);
    EXPECT_FREE(id_of(c));
    EXPECT_FREE(id_of(guard));
    expect_no_more_lines();
}

static void blocks_from_before_the_start_are_left_out(void **state)
{
    (void)state;
    char *p = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    char *q = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    char *guard = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    char *r = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    char *guard2 = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    assert_true(p && q && guard && r && guard2);
    start();
    heap_caps_free(p);                                    /* not in the trace */
    char *q2 = heap_caps_realloc(q, 40, MALLOC_CAP_8BIT); /* a new block for the trace */
    char *r2 = heap_caps_realloc(r, 2000, MALLOC_CAP_8BIT);
    assert_non_null(q2);
    assert_non_null(r2);
    heap_caps_free(q2);
    heap_caps_free(r2);
    heapcaps_recorder_stop();
    heap_caps_free(guard);
    heap_caps_free(guard2);

    uint64_t expected_tick = 0;
    rewind_lines();
    EXPECT_ALLOC("malloc", id_of(q2), 40, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("malloc", id_of(r2), 2000, MALLOC_CAP_8BIT);
    EXPECT_FREE(id_of(q2));
    EXPECT_FREE(id_of(r2));
    expect_no_more_lines();
}

/* ============================================================ the write callback */

static void the_callbacks_own_heap_calls_are_not_recorded(void **state)
{
    (void)state;
    callback_mode = CB_ALLOCATE;
    start();
    void *a = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    void *b = heap_caps_realloc(a, 200, MALLOC_CAP_8BIT);
    heap_caps_free(b);
    heapcaps_recorder_stop();
    assert_int_equal(callback_allocations, 4); /* the header and three events */
    assert_int_equal(writes, 4);
    uint64_t expected_tick = 0;
    rewind_lines();
    EXPECT_ALLOC("malloc", id_of(a), 100, MALLOC_CAP_8BIT);
    EXPECT_ALLOC("realloc", id_of(a), 200, MALLOC_CAP_8BIT); /* moved or not */
    EXPECT_FREE(id_of(a));
    expect_no_more_lines();
}

/* ============================================================ limits */

static void blocks_beyond_the_table_are_counted_as_dropped(void **state)
{
    (void)state;
    enum { EXTRA = 100, COUNT = TRACKED_LIMIT + EXTRA };
    static void *blocks[COUNT];
    start();
    for (size_t i = 0; i < COUNT; ++i) {
        blocks[i] = heap_caps_malloc(16, MALLOC_CAP_INTERNAL);
        assert_non_null(blocks[i]);
    }
    assert_int_equal(heapcaps_recorder_dropped(), EXTRA);
    for (size_t i = 0; i < COUNT; ++i) {
        heap_caps_free(blocks[i]);
    }
    heapcaps_recorder_stop();
    /* Untracked blocks are written all the same, their frees too. */
    size_t sizes[1];
    assert_int_equal(check_trace(sizes, 0), 0);
    char last[80];
    snprintf(last, sizeof(last), "# %d events not tracked: the trace is incomplete\n", EXTRA);
    assert_true(out_length > strlen(last));
    assert_string_equal(out + out_length - strlen(last), last);
    /* A new recording starts with an empty table. */
    out_length = 0;
    start();
    assert_int_equal(heapcaps_recorder_dropped(), 0);
}

static void the_default_clock_is_the_ports_cycle_counter(void **state)
{
    (void)state;
    heapcaps_recorder_set_clock(NULL);
    start();
    for (int i = 0; i < 10; ++i) {
        heap_caps_free(heap_caps_malloc(32, MALLOC_CAP_8BIT));
    }
    heapcaps_recorder_stop();
    size_t sizes[1];
    assert_int_equal(check_trace(sizes, 0), 0); /* times never go back */
    assert_int_equal(ticks, 0);
    /* The first event's time: the sixth field, a nanosecond clock here. */
    rewind_lines();
    const char *time = cursor;
    for (int commas = 0; commas < 5; ++time) {
        commas += *time == ',';
    }
    assert_true(strtoull(time, NULL, 10) > 0);
}

/* ============================================================ workloads */

typedef struct {
    void *p;
    size_t size;
} block_t;

/* Random calls of every kind on `slots` blocks; then the trace's live blocks
 * must be the program's, size for size. */
static void run_workload(uint64_t seed, size_t rounds, bool psram)
{
    enum { SLOTS = 160 };
    static block_t blocks[SLOTS];
    static size_t want[SLOTS], got[SLOTS];
    memset(blocks, 0, sizeof(blocks));
    test_rng_t rng = {seed};
    const uint32_t caps_choice[] = {MALLOC_CAP_8BIT, MALLOC_CAP_INTERNAL, MALLOC_CAP_DEFAULT,
                                    psram ? MALLOC_CAP_SPIRAM : MALLOC_CAP_8BIT};
    start();
    for (size_t round = 0; round < rounds; ++round) {
        block_t *b = &blocks[test_rng_range(&rng, 0, SLOTS - 1)];
        uint32_t caps = caps_choice[test_rng_range(&rng, 0, 3)];
        size_t size = test_rng_range(&rng, 0, 9) < 8 ? test_rng_range(&rng, 1, 300)
                                                     : test_rng_range(&rng, 300, 6000);
        unsigned what = (unsigned)test_rng_range(&rng, 0, 9);
        if (!b->p) {
            void *p = what < 5   ? heap_caps_malloc(size, caps)
                      : what < 7 ? heap_caps_calloc(1, size, caps)
                      : what < 8 ? heap_caps_aligned_alloc(64, size, caps)
                      : what < 9 ? heapcaps_libc_malloc(size)
                                 : heap_caps_realloc(NULL, size, caps);
            if (p) {
                *b = (block_t){p, size};
            }
        } else if (what < 6) {
            void *p = heap_caps_realloc(b->p, size, caps);
            if (p) {
                *b = (block_t){p, size};
            }
        } else {
            heap_caps_free(b->p);
            *b = (block_t){NULL, 0};
        }
    }
    heapcaps_recorder_stop();
    assert_int_equal(heapcaps_recorder_dropped(), 0);
    size_t count = 0;
    for (size_t i = 0; i < SLOTS; ++i) {
        if (blocks[i].p) {
            want[count++] = blocks[i].size;
        }
    }
    size_t recorded = check_trace(got, SLOTS);
    assert_int_equal(recorded, count);
    qsort(want, count, sizeof(want[0]), compare_sizes);
    qsort(got, count, sizeof(got[0]), compare_sizes);
    for (size_t i = 0; i < count; ++i) {
        assert_int_equal(got[i], want[i]);
    }
    for (size_t i = 0; i < SLOTS; ++i) {
        heap_caps_free(blocks[i].p);
    }
}

static void a_random_workload_is_recorded_exactly(void **state)
{
    (void)state;
    run_workload(0x1234567, 20000, false);
}

static void a_random_workload_with_psram_is_recorded_exactly(void **state)
{
    (void)state;
    run_workload(0xabcdef, 20000, true);
}

/* A write callback that keeps (and moves) a block of its own changes the
 * heaps' free bytes between events: no effect on the trace. */
static void a_callback_holding_memory_changes_nothing(void **state)
{
    (void)state;
    callback_mode = CB_KEEP_BLOCK;
    run_workload(0x777, 5000, true);
    assert_true(callback_allocations > 5000);
}

/* ------------------------------------------------------------ tasks */

typedef struct {
    uint64_t seed;
} task_t;

static void *task_body(void *arg)
{
    task_t *task = arg;
    test_rng_t rng = {task->seed};
    void *mine[32] = {0};
    for (int i = 0; i < 3000; ++i) {
        void **slot = &mine[test_rng_range(&rng, 0, 31)];
        size_t size = test_rng_range(&rng, 1, 700);
        if (!*slot) {
            *slot = heap_caps_malloc(size, MALLOC_CAP_8BIT);
        } else if (test_rng_range(&rng, 0, 1)) {
            void *p = heap_caps_realloc(*slot, size, MALLOC_CAP_8BIT);
            *slot = p ? p : *slot;
        } else {
            heap_caps_free(*slot);
            *slot = NULL;
        }
    }
    for (int i = 0; i < 32; ++i) {
        heap_caps_free(mine[i]);
    }
    return NULL;
}

/* Concurrent tasks: every line is well formed and consistent (no id
 * allocated twice, none resized or freed unknown), and nothing deadlocks
 * when the callback allocates. */
static void concurrent_tasks_give_a_consistent_trace(void **state)
{
    (void)state;
    callback_mode = CB_ALLOCATE;
    heapcaps_recorder_set_clock(NULL);
    start();
    enum { TASKS = 4 };
    pthread_t threads[TASKS];
    task_t tasks[TASKS];
    for (int i = 0; i < TASKS; ++i) {
        tasks[i].seed = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
        assert_int_equal(pthread_create(&threads[i], NULL, task_body, &tasks[i]), 0);
    }
    for (int i = 0; i < TASKS; ++i) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    heapcaps_recorder_stop();
    static size_t sizes[16384];
    check_trace(sizes, 16384);
    assert_true(writes > TASKS * 1000);
}

#ifdef CONFIG_HEAP_TRACING_STANDALONE
/* With heap tracing on too: a traced realloc holds the tracer's lock while
 * the hooks run, and the write callback's allocations take it. */
static void concurrent_tasks_with_heap_tracing_do_not_deadlock(void **state)
{
    static heap_trace_record_t records[256];
    assert_int_equal(heap_trace_init_standalone(records, 256), ESP_OK);
    assert_int_equal(heap_trace_start(HEAP_TRACE_LEAKS), ESP_OK);
    concurrent_tasks_give_a_consistent_trace(state);
    assert_int_equal(heap_trace_stop(), ESP_OK);
}
#endif

#define S3(fn) cmocka_unit_test_setup_teardown(fn, boot_s3, shut_down)
#define C3(fn) cmocka_unit_test_setup_teardown(fn, boot_c3, shut_down)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S3(start_writes_the_header),
        S3(start_twice_or_without_a_writer_fails),
        S3(stop_ends_the_recording),
        S3(every_kind_of_call_is_recorded),
        S3(a_new_block_at_a_moved_blocks_id_gets_a_tagged_id),
        S3(blocks_from_before_the_start_are_left_out),
        S3(the_callbacks_own_heap_calls_are_not_recorded),
        S3(blocks_beyond_the_table_are_counted_as_dropped),
        S3(the_default_clock_is_the_ports_cycle_counter),
        C3(a_random_workload_is_recorded_exactly),
        S3(a_random_workload_with_psram_is_recorded_exactly),
        S3(a_callback_holding_memory_changes_nothing),
        S3(concurrent_tasks_give_a_consistent_trace),
#ifdef CONFIG_HEAP_TRACING_STANDALONE
        S3(concurrent_tasks_with_heap_tracing_do_not_deadlock),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
