/*
 * test_board_layout.c — the STM32F7-class layout of examples/mcu_port, as
 * firmware meets it after board_heap_init(): the heaps and their caps, the
 * startup log, where DMA, "fast", malloc() and SDRAM requests land and where
 * they never land, free sizes per capability, realloc across capabilities,
 * requests no heap can serve, and heap integrity under a mixed workload.
 *
 * Built with fixed reservations (BOARD_STATIC_RAM_SIZE). On QEMU's mps2
 * boards the board's internal addresses are free RAM, used as they are, and
 * the "SDRAM" is moved next to them (BOARD_SDRAM_BASE/SIZE). On a host the
 * chip addresses are mapped into a buffer (board_heap_init_at), or, for the
 * STM32F7's own map with the SDRAM at 0xC0000000, into a reservation of the
 * whole address span with memory only where the board has RAM. Every
 * expected figure comes from board_layout.h's macros.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */

#include "test_support.h"

#include "test_guard.h"

#include "board_layout.h"
#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "esp_system.h"
#include "heap_caps_private.h"
#include "heapcaps/layout.h"
#include "heapcaps/log.h"

#ifndef BOARD_STATIC_RAM_SIZE
#error "build the test with -DBOARD_STATIC_RAM_SIZE=<bytes> (fixed reservations)"
#endif

/* The heaps the layout leaves, in chip addresses: DTCM less the main stack
 * at its top, SRAM1 less the static data at its start, SRAM2, SDRAM. */
#define DTCM_START  ((uintptr_t)BOARD_DTCM_BASE)
#define DTCM_LEN    ((size_t)(BOARD_DTCM_SIZE - BOARD_MAIN_STACK_SIZE))
#define SRAM1_START ((uintptr_t)BOARD_SRAM1_BASE + BOARD_STATIC_RAM_SIZE)
#define SRAM1_LEN   ((size_t)(BOARD_SRAM1_SIZE - BOARD_STATIC_RAM_SIZE))
#define SRAM2_START ((uintptr_t)BOARD_SRAM2_BASE)
#define SRAM2_LEN   ((size_t)BOARD_SRAM2_SIZE)
#define SDRAM_START ((uintptr_t)BOARD_SDRAM_BASE)
#define SDRAM_LEN   ((size_t)BOARD_SDRAM_SIZE)

/* The board's address span, from DTCM to the end of the SDRAM. */
#define SPAN ((size_t)(BOARD_SDRAM_BASE + BOARD_SDRAM_SIZE - BOARD_DTCM_BASE))
_Static_assert(BOARD_SDRAM_BASE >= BOARD_SRAM2_BASE + BOARD_SRAM2_SIZE,
               "the test maps the SDRAM above the internal RAM");
#if defined(HEAPCAPS_TEST_TARGET)
_Static_assert(SPAN <= 0x400000u, "on an mps2 board the SDRAM must be moved into the free "
                                  "4 MiB at 0x20000000 (BOARD_SDRAM_BASE, BOARD_SDRAM_SIZE)");
#else
#include <sys/mman.h>
#define HOST_BUFFER_SPAN 0x400000u /* up to this span one buffer holds the board's RAM */
#endif

/* What every heap may hold back on top of what it serves: allocator control
 * block, heap header, the heap descriptors (in DTCM), poisoning. */
#define HEAP_SLACK 4096u

enum { H_DTCM = 1, H_SRAM1 = 2, H_SRAM2 = 4, H_SDRAM = 8, H_ALL = 15 };

static const struct {
    uintptr_t start;
    size_t len;
    unsigned bit;
} expected_heaps[] = {
    {DTCM_START, DTCM_LEN, H_DTCM},
    {SRAM1_START, SRAM1_LEN, H_SRAM1},
    {SRAM2_START, SRAM2_LEN, H_SRAM2},
    {SDRAM_START, SDRAM_LEN, H_SDRAM},
};

static intptr_t offset; /* host address minus chip address */
static char *arena;     /* the board's RAM on a host */

static unsigned failures;
static uint32_t failed_caps;
static size_t failed_size;

static void count_failure(size_t size, uint32_t caps, const char *function_name)
{
    (void)function_name;
    failures++;
    failed_caps = caps;
    failed_size = size;
}

static uintptr_t chip(const void *p)
{
    return (uintptr_t)p - (uintptr_t)offset;
}

static bool in(const void *p, uintptr_t start, size_t len)
{
    return p && chip(p) - start < len;
}

#define IN_DTCM(p)  in((p), DTCM_START, DTCM_LEN)
#define IN_SRAM1(p) in((p), SRAM1_START, SRAM1_LEN)
#define IN_SRAM2(p) in((p), SRAM2_START, SRAM2_LEN)
#define IN_SDRAM(p) in((p), SDRAM_START, SDRAM_LEN)

static bool line_aligned(const void *p)
{
    return (uintptr_t)p % BOARD_CACHE_LINE == 0;
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *bytes = p;
    for (size_t i = 0; i < n; ++i) {
        bytes[i] = (unsigned char)(seed + i * 7);
    }
}

static bool holds(const void *p, size_t n, unsigned seed)
{
    const unsigned char *bytes = p;
    for (size_t i = 0; i < n; ++i) {
        if (bytes[i] != (unsigned char)(seed + i * 7)) {
            return false;
        }
    }
    return true;
}

/* ---- fixtures ------------------------------------------------------------ */

static int map_board(void **state)
{
    (void)state;
#if defined(HEAPCAPS_TEST_TARGET)
    offset = 0; /* the board's own addresses */
#else
    if (SPAN <= HOST_BUFFER_SPAN) {
        arena = test_region(SPAN);
    } else {
        /* Address space for the whole span (2.5 GiB for the STM32F7's map),
         * readable and writable only where the board has RAM: an access
         * outside the board's RAM faults. */
        void *span =
            mmap(NULL, SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        assert_true(span != MAP_FAILED);
        arena = span;
        size_t internal = BOARD_SRAM2_BASE + BOARD_SRAM2_SIZE - BOARD_DTCM_BASE;
        assert_int_equal(mprotect(arena, internal, PROT_READ | PROT_WRITE), 0);
        assert_int_equal(mprotect(arena + (BOARD_SDRAM_BASE - BOARD_DTCM_BASE), BOARD_SDRAM_SIZE,
                                  PROT_READ | PROT_WRITE),
                         0);
    }
    offset = (intptr_t)((uintptr_t)arena - (uintptr_t)BOARD_DTCM_BASE);
#endif
    return 0;
}

static int unmap_board(void **state)
{
    (void)state;
#if !defined(HEAPCAPS_TEST_TARGET)
    if (SPAN <= HOST_BUFFER_SPAN) {
        free(arena);
    } else {
        munmap(arena, SPAN);
    }
#endif
    arena = NULL;
    return 0;
}

static int boot(void **state)
{
    (void)state;
    bool logging = heapcaps_log_set_enabled(false);
    esp_err_t err = board_heap_init_at(offset);
    heapcaps_log_set_enabled(logging);
    assert_int_equal(err, ESP_OK);
    failures = 0;
    assert_int_equal(heap_caps_register_failed_alloc_callback(count_failure), ESP_OK);
    return 0;
}

static int shut(void **state)
{
    (void)state;
    assert_true(heap_caps_check_integrity_all(true));
    heapcaps_registry_reset();
    heapcaps_layout_uninstall();
    return 0;
}

/* ---- which heaps exist --------------------------------------------------- */

typedef struct {
    uintptr_t start[8];
    uintptr_t end[8];
    size_t count;
} heap_set_t;

static bool note_heap(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    (void)block;
    heap_set_t *set = user;
    uintptr_t start = chip((const void *)heap.start);
    for (size_t i = 0; i < set->count; ++i) {
        if (set->start[i] == start) {
            return false;
        }
    }
    assert_true(set->count < 8);
    set->start[set->count] = start;
    set->end[set->count] = chip((const void *)heap.end);
    set->count++;
    return false; /* one block tells the heap */
}

/* The expected heaps that have all of `caps`, as H_* bits; any other heap
 * fails the test. */
static unsigned heaps_with(uint32_t caps)
{
    heap_set_t set = {{0}, {0}, 0};
    heap_caps_walk(caps, note_heap, &set);
    unsigned found = 0;
    for (size_t i = 0; i < set.count; ++i) {
        unsigned bit = 0;
        for (size_t h = 0; h < sizeof(expected_heaps) / sizeof(expected_heaps[0]); ++h) {
            if (set.start[i] == expected_heaps[h].start &&
                set.end[i] == expected_heaps[h].start + expected_heaps[h].len) {
                bit = expected_heaps[h].bit;
            }
        }
        if (!bit) {
            fail_msg("unexpected heap [0x%lx, 0x%lx)", (unsigned long)set.start[i],
                     (unsigned long)set.end[i]);
        }
        found |= bit;
    }
    return found;
}

static size_t len_of(unsigned heaps)
{
    size_t total = 0;
    for (size_t h = 0; h < sizeof(expected_heaps) / sizeof(expected_heaps[0]); ++h) {
        if (heaps & expected_heaps[h].bit) {
            total += expected_heaps[h].len;
        }
    }
    return total;
}

static void heaps_and_their_caps_follow_the_layout(void **state)
{
    (void)state;
    static const struct {
        uint32_t caps;
        unsigned heaps;
    } table[] = {
        {0, H_ALL},
        {MALLOC_CAP_8BIT, H_ALL},
        {MALLOC_CAP_32BIT, H_ALL},
        {BOARD_CAP_FAST, H_DTCM},
        {MALLOC_CAP_DMA, H_SRAM1 | H_SRAM2},
        {MALLOC_CAP_INTERNAL, H_DTCM | H_SRAM1 | H_SRAM2},
        {MALLOC_CAP_DEFAULT, H_SRAM1 | H_SDRAM},
        {MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, H_SRAM1},
        {MALLOC_CAP_SPIRAM, H_SDRAM},
        {BOARD_CAP_FAST | MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT, H_DTCM},
        {BOARD_CAP_FAST | MALLOC_CAP_DMA, 0},
        {MALLOC_CAP_DMA | MALLOC_CAP_SPIRAM, 0},
        {MALLOC_CAP_EXEC, 0},
        {MALLOC_CAP_RTCRAM, 0},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); ++i) {
        unsigned found = heaps_with(table[i].caps);
        if (found != table[i].heaps) {
            fail_msg("caps 0x%08lx: heaps 0x%x, expected 0x%x", (unsigned long)table[i].caps, found,
                     table[i].heaps);
        }
        assert_int_equal(heap_caps_get_total_size(table[i].caps), len_of(table[i].heaps));
    }
}

/* ---- the startup log and the heap report --------------------------------- */

static void boot_printing(void *context)
{
    *(esp_err_t *)context = board_heap_init_at(offset);
}

/* "I (123) heap_init: ..." -> "I () heap_init: ..." (the time varies). */
static void strip_times(char *text)
{
    char *out = text;
    for (const char *at = text; *at;) {
        const char *digits = at + 1;
        while (*at == '(' && *digits >= '0' && *digits <= '9') {
            ++digits;
        }
        if (*at == '(' && digits > at + 1 && *digits == ')') {
            *out++ = '(';
            at = digits;
            continue;
        }
        *out++ = *at++;
    }
    *out = '\0';
}

static void startup_log_lists_every_heap_at_its_chip_address(void **state)
{
    (void)state;
    char out[1024];
    esp_err_t err = ESP_FAIL;
    capture_output(1, boot_printing, &err, out, sizeof(out));
    assert_int_equal(err, ESP_OK);
    strip_times(out);
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "I () heap_init: Initializing. RAM available for dynamic allocation:\n"
             "I () heap_init: At %08X len %08X (%u KiB): DTCM\n"
             "I () heap_init: At %08X len %08X (%u KiB): SRAM1\n"
             "I () heap_init: At %08X len %08X (%u KiB): SRAM2\n"
             "I () heap_init: At %08X len %08X (%u KiB): SDRAM\n",
             (unsigned)DTCM_START, (unsigned)DTCM_LEN, (unsigned)(DTCM_LEN / 1024),
             (unsigned)SRAM1_START, (unsigned)SRAM1_LEN, (unsigned)(SRAM1_LEN / 1024),
             (unsigned)SRAM2_START, (unsigned)SRAM2_LEN, (unsigned)(SRAM2_LEN / 1024),
             (unsigned)SDRAM_START, (unsigned)SDRAM_LEN, (unsigned)(SDRAM_LEN / 1024));
    assert_string_equal(out, expected);
}

static void print_dma_info(void *context)
{
    (void)context;
    heap_caps_print_heap_info(MALLOC_CAP_DMA);
}

static void heap_report_shows_the_dma_heaps_smaller_first(void **state)
{
    (void)state;
    char out[2048];
    capture_output(1, print_dma_info, NULL, out, sizeof(out));
    char header[64], sram2[64], sram1[64];
    snprintf(header, sizeof(header), "Heap summary for capabilities 0x%08X:\n",
             (unsigned)MALLOC_CAP_DMA);
    snprintf(sram2, sizeof(sram2), "  At 0x%08x len %d free ", (unsigned)SRAM2_START,
             (int)SRAM2_LEN);
    snprintf(sram1, sizeof(sram1), "  At 0x%08x len %d free ", (unsigned)SRAM1_START,
             (int)SRAM1_LEN);
    assert_true(strncmp(out, header, strlen(header)) == 0);
    const char *at2 = strstr(out, sram2);
    const char *at1 = strstr(out, sram1);
    assert_non_null(at2);
    assert_non_null(at1);
    assert_true(at2 < at1); /* heaps are listed by increasing size */
    char dtcm[32];
    snprintf(dtcm, sizeof(dtcm), "At 0x%08x", (unsigned)DTCM_START);
    assert_null(strstr(out, dtcm));
    assert_non_null(strstr(out, "  Totals:\n"));
}

/* ---- placement ----------------------------------------------------------- */

typedef struct {
    uintptr_t start;
    size_t free_bytes;
} heap_free_t;

static bool sum_free(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    heap_free_t *wanted = user;
    if (chip((const void *)heap.start) != wanted->start) {
        return false; /* another heap: skip it */
    }
    if (!block.used) {
        wanted->free_bytes += block.size;
    }
    return true;
}

/* Free bytes of the heap at chip address `start`, counted block by block
 * (independent of the capability bookkeeping). */
static size_t free_in(uintptr_t start)
{
    heap_free_t wanted = {start, 0};
    heap_caps_walk_all(sum_free, &wanted);
    return wanted.free_bytes;
}

/* The heap of p as a letter: D(TCM), 1 (SRAM1), 2 (SRAM2), S(DRAM). */
static char heap_letter(const void *p)
{
    return IN_DTCM(p) ? 'D' : IN_SRAM1(p) ? '1' : IN_SRAM2(p) ? '2' : IN_SDRAM(p) ? 'S' : '?';
}

/* Enough 4 KiB blocks to fill every heap. */
#define MAX_BLOCKS ((DTCM_LEN + SRAM1_LEN + SRAM2_LEN + SDRAM_LEN) / 4096 + 16)

static void each_request_fills_the_heaps_in_table_order(void **state)
{
    (void)state;
    /* board_layout.c's table of requests: the heaps in the order a request
     * fills them, each until it cannot take another 4 KiB block */
    static const struct {
        uint32_t caps;
        const char *order;
    } table[] = {
        {BOARD_CAP_FAST, "D"},
        {MALLOC_CAP_DMA, "21"},
        {MALLOC_CAP_DEFAULT, "1S"},
        {MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, "1"},
        {MALLOC_CAP_INTERNAL, "12D"},
        {MALLOC_CAP_8BIT, "1S2D"},
        {MALLOC_CAP_32BIT, "1S2D"},
        {MALLOC_CAP_SPIRAM, "S"},
        {MALLOC_CAP_DMA | MALLOC_CAP_SPIRAM, "S"},
    };
    static void *blocks[MAX_BLOCKS];
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); ++i) {
        char order[8] = "";
        size_t n = 0, visits = 0;
        while ((blocks[n] = heap_caps_malloc(4096, table[i].caps)) != NULL) {
            char heap = heap_letter(blocks[n]);
            if (visits == 0 || order[visits - 1] != heap) {
                assert_true(visits < sizeof(order) - 1);
                order[visits++] = heap;
            }
            assert_true(++n < MAX_BLOCKS);
        }
        if (strcmp(order, table[i].order) != 0) {
            fail_msg("caps 0x%08lx filled \"%s\", expected \"%s\"", (unsigned long)table[i].caps,
                     order, table[i].order);
        }
        assert_int_equal(failures, i + 1);
        while (n > 0) {
            heap_caps_free(blocks[--n]);
        }
    }
}

static void dma_requests_never_land_in_dtcm(void **state)
{
    (void)state;
    const uint32_t dma_caps[] = {MALLOC_CAP_DMA, MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
                                 MALLOC_CAP_DMA | MALLOC_CAP_8BIT};
    for (size_t c = 0; c < sizeof(dma_caps) / sizeof(dma_caps[0]); ++c) {
        size_t dtcm_before = free_in(DTCM_START), sdram_before = free_in(SDRAM_START);
        void *blocks[96];
        size_t n = 0, in_sram2 = 0;
        while (n < 96 && (blocks[n] = heap_caps_malloc(4096, dma_caps[c])) != NULL) {
            void *p = blocks[n];
            assert_true(IN_SRAM2(p) || IN_SRAM1(p));
            /* the pool first: once SRAM1 serves, SRAM2 is full */
            assert_true(IN_SRAM2(p) ? in_sram2 == n : n > 0);
            in_sram2 += IN_SRAM2(p);
            assert_true(line_aligned(p));
            assert_true(esp_ptr_dma_capable(p));
            n++;
        }
        assert_true(n < 96);
        assert_true(in_sram2 >= 1 && in_sram2 < SRAM2_LEN / 4096);
        assert_true(n - in_sram2 >= (SRAM1_LEN - HEAP_SLACK) / (4096 + 64));
        /* DMA memory is used up although DTCM and SDRAM are not */
        assert_int_equal(failures, c + 1);
        assert_int_equal(failed_caps, dma_caps[c]);
        assert_int_equal(free_in(DTCM_START), dtcm_before);
        assert_int_equal(free_in(SDRAM_START), sdram_before);
        assert_true(heap_caps_get_free_size(BOARD_CAP_FAST) > DTCM_LEN - HEAP_SLACK);
        void *fast = heap_caps_malloc(4096, BOARD_CAP_FAST);
        assert_true(IN_DTCM(fast));
        heap_caps_free(fast);
        for (size_t i = 0; i < n; ++i) {
            heap_caps_free(blocks[i]);
        }
    }
}

static void fast_requests_land_in_dtcm_and_only_there(void **state)
{
    (void)state;
    size_t sram1_before = free_in(SRAM1_START), sram2_before = free_in(SRAM2_START);
    void *blocks[64];
    size_t n = 0;
    while (n < 64 && (blocks[n] = heap_caps_malloc(1024, BOARD_CAP_FAST)) != NULL) {
        assert_true(IN_DTCM(blocks[n]));
        assert_true(esp_ptr_internal(blocks[n]));
        assert_false(esp_ptr_dma_capable(blocks[n]));
        n++;
    }
    assert_true(n < 64);
    assert_true(n >= (DTCM_LEN - HEAP_SLACK) / (1024 + 64));
    /* a hard capability: no fallback when DTCM is full */
    assert_int_equal(failures, 1);
    assert_int_equal(failed_caps, BOARD_CAP_FAST);
    assert_int_equal(free_in(SRAM1_START), sram1_before);
    assert_int_equal(free_in(SRAM2_START), sram2_before);
    /* a preference list falls back: FAST, else ordinary internal SRAM */
    void *fallback = board_malloc_fast(1024);
    assert_true(IN_SRAM1(fallback));
    heap_caps_free(blocks[0]);
    void *preferred = heap_caps_malloc_prefer(512, 2, (uint32_t)BOARD_CAP_FAST,
                                              (uint32_t)(MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL));
    assert_true(IN_DTCM(preferred));
    assert_int_equal(failures, 1);
    heap_caps_free(preferred);
    heap_caps_free(fallback);
    for (size_t i = 1; i < n; ++i) {
        heap_caps_free(blocks[i]);
    }
}

static void malloc_prefers_sram1_then_falls_back_to_sdram(void **state)
{
    (void)state;
    size_t dtcm_before = free_in(DTCM_START), sram2_before = free_in(SRAM2_START);
    void *blocks[96];
    size_t n = 0;
    for (;;) {
        assert_true(n < 96);
        blocks[n] = heap_caps_malloc_default(4096);
        assert_non_null(blocks[n]);
        if (!IN_SRAM1(blocks[n++])) {
            break;
        }
    }
    /* SRAM1 is full: the next small request went to the SDRAM, and neither
     * DTCM nor the DMA pool gave anything to malloc() */
    assert_true(IN_SDRAM(blocks[n - 1]));
    assert_true(n - 1 >= (SRAM1_LEN - HEAP_SLACK) / (4096 + 64));
    assert_int_equal(free_in(DTCM_START), dtcm_before);
    assert_int_equal(free_in(SRAM2_START), sram2_before);
    assert_int_equal(failures, 0);
    /* an internal-only DEFAULT request now fails; the caps API goes on */
    assert_null(heap_caps_malloc(4096, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL));
    assert_int_equal(failures, 1);
    void *any_default = heap_caps_malloc(4096, MALLOC_CAP_DEFAULT);
    assert_true(IN_SDRAM(any_default));
    /* plain INTERNAL still finds the pool, then DTCM (lowest priority) */
    void *internal = heap_caps_malloc(4096, MALLOC_CAP_INTERNAL);
    assert_true(IN_SRAM2(internal));
    heap_caps_free(internal);
    heap_caps_free(any_default);
    for (size_t i = 0; i < n; ++i) {
        heap_caps_free(blocks[i]);
    }
}

static void large_malloc_requests_go_to_sdram(void **state)
{
    (void)state;
    const size_t limit = BOARD_MALLOC_INTERNAL_LIMIT;
    unsigned char *at_limit = heap_caps_malloc_default(limit);
    void *above = heap_caps_malloc_default(limit + 1);
    assert_true(IN_SRAM1(at_limit));
    assert_true(IN_SDRAM(above));
    /* the threshold is malloc()'s policy; heap_caps_malloc(DEFAULT) follows
     * the priorities, SRAM1 first, whatever the size */
    void *by_caps = heap_caps_malloc(limit + 1, MALLOC_CAP_DEFAULT);
    assert_true(IN_SRAM1(by_caps));
    heap_caps_free(by_caps);
    /* growing past the threshold moves the block to the SDRAM */
    fill(at_limit, limit, 3);
    unsigned char *grown = heap_caps_realloc_default(at_limit, 2 * limit);
    assert_true(IN_SDRAM(grown));
    assert_true(holds(grown, limit, 3));
    /* SDRAM full: large requests fall back to internal SRAM */
    size_t largest = heap_caps_get_largest_free_block(MALLOC_CAP_SPIRAM);
    assert_true(largest > SDRAM_LEN - 3 * limit - HEAP_SLACK);
    void *hog = heap_caps_malloc(largest, MALLOC_CAP_SPIRAM);
    assert_true(IN_SDRAM(hog));
    void *fallback = heap_caps_malloc_default(limit + 1);
    assert_true(IN_SRAM1(fallback));
    assert_int_equal(failures, 0);
    heap_caps_free(fallback);
    heap_caps_free(hog);
    heap_caps_free(grown);
    heap_caps_free(above);
}

static void dma_buffers_own_their_cache_lines(void **state)
{
    (void)state;
    unsigned char *a = heap_caps_malloc(100, MALLOC_CAP_DMA);
    unsigned char *b = heap_caps_malloc(100, MALLOC_CAP_DMA);
    assert_true(IN_SRAM2(a) && IN_SRAM2(b));
    assert_true(line_aligned(a) && line_aligned(b));
    /* rounded up to whole lines: invalidating a's lines cannot hit b */
    size_t rounded = (100 + BOARD_CACHE_LINE - 1) / BOARD_CACHE_LINE * BOARD_CACHE_LINE;
    assert_true(heap_caps_get_allocated_size(a) >= rounded);
    assert_true((uintptr_t)b >= (uintptr_t)a + rounded || (uintptr_t)a >= (uintptr_t)b + rounded);
    /* DMA into the SDRAM (LTDC, DMA2D): external, aligned the same way */
    void *frame = heap_caps_malloc(1000, MALLOC_CAP_DMA | MALLOC_CAP_SPIRAM);
    assert_true(IN_SDRAM(frame));
    assert_true(line_aligned(frame));
    assert_true(esp_ptr_dma_ext_capable(frame));
    void *aligned = heap_caps_malloc(10, MALLOC_CAP_CACHE_ALIGNED | MALLOC_CAP_DEFAULT);
    assert_true(IN_SRAM1(aligned));
    assert_true(line_aligned(aligned));
    heap_caps_free(aligned);
    heap_caps_free(frame);
    heap_caps_free(b);
    heap_caps_free(a);
}

static void pointers_are_classified_by_the_board_facts(void **state)
{
    (void)state;
    void *fast = heap_caps_malloc(64, BOARD_CAP_FAST);
    void *dma = heap_caps_malloc(64, MALLOC_CAP_DMA);
    void *ordinary = heap_caps_malloc_default(64);
    void *external = heap_caps_malloc(64, MALLOC_CAP_SPIRAM);
    assert_true(esp_ptr_internal(fast) && !esp_ptr_dma_capable(fast));
    assert_true(esp_ptr_internal(dma) && esp_ptr_dma_capable(dma));
    assert_true(esp_ptr_internal(ordinary) && esp_ptr_dma_capable(ordinary));
    assert_true(esp_ptr_external_ram(external) && !esp_ptr_internal(external));
    assert_false(esp_ptr_dma_capable(external));
    assert_true(esp_ptr_byte_accessible(fast) && esp_ptr_byte_accessible(external));
    assert_false(esp_ptr_executable(fast));
    assert_string_equal(board_memory_name(fast), "DTCM");
    assert_string_equal(board_memory_name(dma), "SRAM2");
    assert_string_equal(board_memory_name(ordinary), "SRAM1");
    assert_string_equal(board_memory_name(external), "SDRAM");
    int on_the_stack = 0;
    assert_string_equal(board_memory_name(&on_the_stack), "other");
    heap_caps_free(external);
    heap_caps_free(ordinary);
    heap_caps_free(dma);
    heap_caps_free(fast);
}

/* ---- free sizes ---------------------------------------------------------- */

static void free_size_per_cap_follows_the_heaps(void **state)
{
    (void)state;
    size_t fast = heap_caps_get_free_size(BOARD_CAP_FAST);
    size_t dma = heap_caps_get_free_size(MALLOC_CAP_DMA);
    size_t sram1 = heap_caps_get_free_size(MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL);
    size_t internal = heap_caps_get_free_size(MALLOC_CAP_INTERNAL);
    size_t sdram = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    size_t all = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    /* each heap nearly whole */
    assert_true(fast < DTCM_LEN && fast > DTCM_LEN - HEAP_SLACK);
    assert_true(sram1 < SRAM1_LEN && sram1 > SRAM1_LEN - HEAP_SLACK);
    assert_true(dma - sram1 < SRAM2_LEN && dma - sram1 > SRAM2_LEN - HEAP_SLACK);
    assert_true(sdram < SDRAM_LEN && sdram > SDRAM_LEN - HEAP_SLACK);
    /* sums over the heaps each cap selects */
    assert_int_equal(internal, fast + dma);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_DEFAULT), sram1 + sdram);
    assert_int_equal(all, internal + sdram);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_32BIT), all);
    assert_int_equal(heap_caps_get_free_size(0), all);
    assert_int_equal(heap_caps_get_free_size(BOARD_CAP_FAST | MALLOC_CAP_DMA), 0);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_EXEC), 0);
    /* ESP-IDF's figures: malloc()'s memory, and DMA-capable internal RAM
     * (which leaves DTCM out) */
    assert_int_equal(esp_get_free_heap_size(), sram1 + sdram);
    assert_int_equal(esp_get_free_internal_heap_size(), dma);
    /* an allocation costs its own heap only, and comes back whole */
    void *p = heap_caps_malloc(1000, BOARD_CAP_FAST);
    size_t fast_used = heap_caps_get_free_size(BOARD_CAP_FAST);
    assert_true(fast_used <= fast - 1000 && fast_used >= fast - 1000 - 64);
    assert_true(heap_caps_get_minimum_free_size(BOARD_CAP_FAST) <= fast_used);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_DMA), dma);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_SPIRAM), sdram);
    void *q = heap_caps_malloc(5000, MALLOC_CAP_SPIRAM);
    size_t sdram_used = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    assert_true(sdram_used <= sdram - 5000 && sdram_used >= sdram - 5000 - 64);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_INTERNAL), fast_used + dma);
    heap_caps_free(q);
    heap_caps_free(p);
    assert_int_equal(heap_caps_get_free_size(BOARD_CAP_FAST), fast);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_SPIRAM), sdram);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), all);
    assert_true(heap_caps_get_minimum_free_size(BOARD_CAP_FAST) <= fast_used);
}

/* ---- realloc and failures ------------------------------------------------ */

static void realloc_moves_between_caps_keeping_the_data(void **state)
{
    (void)state;
    unsigned char *p = heap_caps_malloc(256, BOARD_CAP_FAST);
    assert_true(IN_DTCM(p));
    fill(p, 256, 11);
    p = heap_caps_realloc(p, 512, MALLOC_CAP_DMA);
    assert_true(IN_SRAM2(p) && line_aligned(p));
    assert_true(holds(p, 256, 11));
    fill(p, 512, 12);
    p = heap_caps_realloc(p, 40000, MALLOC_CAP_SPIRAM);
    assert_true(IN_SDRAM(p));
    assert_true(holds(p, 512, 12));
    fill(p, 40000, 13);
    p = heap_caps_realloc(p, 128, BOARD_CAP_FAST);
    assert_true(IN_DTCM(p));
    assert_true(holds(p, 128, 13));
    /* to caps no heap has: NULL, the block stays as it was */
    assert_null(heap_caps_realloc(p, 64, MALLOC_CAP_EXEC));
    assert_int_equal(failures, 1);
    assert_int_equal(failed_caps, MALLOC_CAP_EXEC);
    assert_true(IN_DTCM(p) && holds(p, 128, 13));
    /* same caps: stays in DTCM */
    p = heap_caps_realloc(p, 200, BOARD_CAP_FAST);
    assert_true(IN_DTCM(p) && holds(p, 128, 13));
    heap_caps_free(p);
    assert_int_equal(failures, 1);
}

static void caps_no_heap_has_fail_and_report(void **state)
{
    (void)state;
    const uint32_t impossible[] = {
        MALLOC_CAP_EXEC,
        MALLOC_CAP_RTCRAM,
        MALLOC_CAP_SPM,
        BOARD_CAP_FAST | MALLOC_CAP_DMA,
        BOARD_CAP_FAST | MALLOC_CAP_SPIRAM,
        MALLOC_CAP_SPIRAM | MALLOC_CAP_INTERNAL,
        1u << 29, /* a custom bit no memory type has */
        0,
    };
    size_t all = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    for (size_t i = 0; i < sizeof(impossible) / sizeof(impossible[0]); ++i) {
        assert_null(heap_caps_malloc(64, impossible[i]));
        assert_int_equal(failures, i + 1);
        assert_int_equal(failed_caps, impossible[i]);
        assert_int_equal(failed_size, 64);
    }
    /* larger than the heap that has the caps */
    assert_null(heap_caps_malloc(SDRAM_LEN, MALLOC_CAP_SPIRAM));
    assert_null(heap_caps_malloc(DTCM_LEN, BOARD_CAP_FAST));
    assert_null(heap_caps_calloc(SRAM1_LEN / 16, 16, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL));
    assert_int_equal(failures, sizeof(impossible) / sizeof(impossible[0]) + 3);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), all);
    assert_true(heap_caps_check_integrity_all(true));
}

/* ---- integrity ----------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t size;
    unsigned seed;
} slot_t;

/* Where a block with `caps` may be, by the layout's table. */
static bool placed_as_caps_say(const void *p, uint32_t caps)
{
    if (caps & BOARD_CAP_FAST) {
        return IN_DTCM(p);
    }
    if (caps & MALLOC_CAP_SPIRAM) {
        return IN_SDRAM(p);
    }
    if (caps & MALLOC_CAP_DMA) {
        return IN_SRAM2(p) || IN_SRAM1(p);
    }
    if (caps & MALLOC_CAP_DEFAULT) {
        return IN_SRAM1(p) || IN_SDRAM(p);
    }
    return IN_SRAM1(p) || IN_SRAM2(p) || IN_DTCM(p); /* INTERNAL */
}

static void mixed_workload_keeps_every_heap_intact(void **state)
{
    (void)state;
    static const uint32_t workload_caps[] = {
        BOARD_CAP_FAST,     MALLOC_CAP_DMA,
        MALLOC_CAP_DEFAULT, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT,
        MALLOC_CAP_SPIRAM,  MALLOC_CAP_DMA | MALLOC_CAP_SPIRAM,
    };
    const size_t kinds = sizeof(workload_caps) / sizeof(workload_caps[0]);
    const size_t heaps = sizeof(expected_heaps) / sizeof(expected_heaps[0]);
    size_t before[sizeof(expected_heaps) / sizeof(expected_heaps[0])];
    for (size_t h = 0; h < heaps; ++h) {
        before[h] = free_in(expected_heaps[h].start);
    }
    slot_t slots[48] = {{NULL, 0, 0}};
    const size_t slot_count = sizeof(slots) / sizeof(slots[0]);
    test_rng_t rng = {0x5EEDF00Du};
    for (unsigned step = 0; step < 1200; ++step) {
        slot_t *s = &slots[test_rng_range(&rng, 0, slot_count - 1)];
        uint32_t caps = workload_caps[test_rng_range(&rng, 0, kinds - 1)];
        size_t size = test_rng_range(&rng, 1, (caps & MALLOC_CAP_SPIRAM) ? 40000 : 3000);
        unsigned seed = step;
        if (!s->p) {
            s->p = heap_caps_malloc(size, caps);
            if (s->p) {
                assert_true(placed_as_caps_say(s->p, caps));
                fill(s->p, size, seed);
                s->size = size;
                s->seed = seed;
            }
        } else if (test_rng_next(&rng) % 2) {
            assert_true(holds(s->p, s->size, s->seed));
            heap_caps_free(s->p);
            s->p = NULL;
        } else {
            unsigned char *moved = heap_caps_realloc(s->p, size, caps);
            if (moved) {
                assert_true(placed_as_caps_say(moved, caps));
                assert_true(holds(moved, size < s->size ? size : s->size, s->seed));
                fill(moved, size, seed);
                s->p = moved;
                s->size = size;
                s->seed = seed;
            } else {
                assert_true(holds(s->p, s->size, s->seed)); /* untouched */
            }
        }
        if (step % 100 == 99) {
            assert_true(heap_caps_check_integrity_all(true));
            assert_true(heap_caps_check_integrity(BOARD_CAP_FAST, true));
        }
    }
    for (size_t i = 0; i < slot_count; ++i) {
        if (slots[i].p) {
            assert_true(heap_caps_check_integrity_addr((intptr_t)slots[i].p, true));
            assert_true(holds(slots[i].p, slots[i].size, slots[i].seed));
            heap_caps_free(slots[i].p);
        }
    }
    assert_true(heap_caps_check_integrity_all(true));
    for (size_t h = 0; h < heaps; ++h) {
        assert_int_equal(free_in(expected_heaps[h].start), before[h]); /* nothing leaked */
    }
}

#define BOARD_TEST(f) cmocka_unit_test_setup_teardown(f, boot, shut)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(startup_log_lists_every_heap_at_its_chip_address, NULL,
                                        shut),
        BOARD_TEST(heaps_and_their_caps_follow_the_layout),
        BOARD_TEST(heap_report_shows_the_dma_heaps_smaller_first),
        BOARD_TEST(each_request_fills_the_heaps_in_table_order),
        BOARD_TEST(dma_requests_never_land_in_dtcm),
        BOARD_TEST(fast_requests_land_in_dtcm_and_only_there),
        BOARD_TEST(malloc_prefers_sram1_then_falls_back_to_sdram),
        BOARD_TEST(large_malloc_requests_go_to_sdram),
        BOARD_TEST(dma_buffers_own_their_cache_lines),
        BOARD_TEST(pointers_are_classified_by_the_board_facts),
        BOARD_TEST(free_size_per_cap_follows_the_heaps),
        BOARD_TEST(realloc_moves_between_caps_keeping_the_data),
        BOARD_TEST(caps_no_heap_has_fail_and_report),
        BOARD_TEST(mixed_workload_keeps_every_heap_intact),
    };
    return cmocka_run_group_tests(tests, map_board, unmap_board);
}
