/*
 * test_himem.c — the ESP32 himem API (esp32/himem.h) on the emulated ESP32:
 * data kept per physical bank across bank switches (8 and 16 MiB of PSRAM,
 * from one thread and from two at once, in a forked child, and in a child
 * forked after eight threads mapped at the same moment), every
 * documented error with its exact code and no change of state, the check
 * order and the log lines, himem where it is not available, the figures and
 * the PSRAM heap it takes its window from, the boot options, and where the
 * window lies. Expected behaviour: docs/himem.md and
 * heapcaps/emu.h; NULL handles are heapcaps' own choice (ESP-IDF crashes).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, dup2, waitpid, pthread barriers */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>

#include "esp32/himem.h"
#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "test_guard.h"
#include "test_support.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define KIB          ((size_t)1024)
#define MIB          ((size_t)1024 * 1024)
#define BLK          ((size_t)ESP_HIMEM_BLKSZ)

/* The ESP32's PSRAM data window (SOC_EXTRAM_DATA_LOW/HIGH): 128 MMU pages. */
#define EXTRAM_LOW   0x3F800000u
#define EXTRAM_HIGH  0x3FC00000u
#define WINDOW_PAGES 128u
#define MAPPED_PSRAM (4 * MIB)

/* CONFIG_SPIRAM_BANKSWITCH_RESERVE's default. */
#define DEFAULT_RESERVE 8

/* ------------------------------------------------------------ booting */

static heapcaps_emu_options_t esp32_options(size_t psram_size)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = psram_size;
    return options;
}

static void boot_with(const char *target, const heapcaps_emu_options_t *options)
{
    esp_err_t err = heapcaps_emu_boot(target, options);
    if (err != ESP_OK) {
        fail_msg("booting %s with %zu bytes of PSRAM gave 0x%x", target, options->psram_size, err);
    }
}

static void boot_esp32(size_t psram_size)
{
    heapcaps_emu_options_t options = esp32_options(psram_size);
    boot_with("esp32", &options);
}

static int shutdown_after(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    return 0;
}

/* ------------------------------------------------------------ bank patterns */

/* A seed of its own for each (test, block): never 0, which xorshift keeps at 0. */
static uint64_t block_seed(uint64_t salt, size_t block)
{
    return ((salt << 32) ^ (((uint64_t)block + 1) * 0x9E3779B97F4A7C15u)) | 1u;
}

static void fill_pattern(void *block, uint64_t seed)
{
    test_rng_t rng = {seed};
    unsigned char *bytes = block;
    for (size_t i = 0; i < BLK; i += sizeof(uint64_t)) {
        uint64_t word = test_rng_next(&rng);
        memcpy(bytes + i, &word, sizeof(word));
    }
}

/* Offset of the first byte that is not the pattern's, BLK when every byte
 * is (no cmocka: threads and forked children use it too). */
static size_t pattern_mismatch(const void *block, uint64_t seed)
{
    test_rng_t rng = {seed};
    const unsigned char *bytes = block;
    for (size_t i = 0; i < BLK; i += sizeof(uint64_t)) {
        uint64_t word = test_rng_next(&rng);
        const unsigned char *expected = (const unsigned char *)&word;
        for (size_t j = 0; j < sizeof(word); j++) {
            if (bytes[i + j] != expected[j]) {
                return i + j;
            }
        }
    }
    return BLK;
}

static void assert_pattern(const void *block, uint64_t seed, const char *what, size_t index)
{
    size_t at = pattern_mismatch(block, seed);
    if (at != BLK) {
        fail_msg("%s %zu: byte %zu is not the one written to the bank", what, index, at);
    }
}

/* ------------------------------------------------------------ himem helpers */

static esp_himem_handle_t alloc_ram(size_t bytes)
{
    esp_himem_handle_t mem = NULL;
    assert_int_equal(esp_himem_alloc(bytes, &mem), ESP_OK);
    assert_non_null(mem);
    return mem;
}

static esp_himem_rangehandle_t alloc_range(size_t bytes)
{
    esp_himem_rangehandle_t range = NULL;
    assert_int_equal(esp_himem_alloc_map_range(bytes, &range), ESP_OK);
    assert_non_null(range);
    return range;
}

/* Map physical block `ram_block` of `mem` into block `window_block` of `range`. */
static unsigned char *map_block(esp_himem_handle_t mem, esp_himem_rangehandle_t range,
                                size_t ram_block, size_t window_block)
{
    void *p = NULL;
    esp_err_t err = esp_himem_map(mem, range, ram_block * BLK, window_block * BLK, BLK, 0, &p);
    if (err != ESP_OK) {
        fail_msg("mapping block %zu into window block %zu gave 0x%x", ram_block, window_block, err);
    }
    assert_non_null(p);
    return p;
}

static void unmap_block(esp_himem_rangehandle_t range, void *p)
{
    assert_int_equal(esp_himem_unmap(range, p, BLK), ESP_OK);
}

/* Chip address of window block 0 with `reserve` window pages. */
static uint32_t window_chip_start(unsigned reserve)
{
    return EXTRAM_LOW + (WINDOW_PAGES - reserve) * (uint32_t)BLK;
}

/* Window block `range` starts at: map of length 0 only returns the pointer. */
static size_t range_first_block(esp_himem_handle_t mem, esp_himem_rangehandle_t range)
{
    void *p = NULL;
    assert_int_equal(esp_himem_map(mem, range, 0, 0, 0, 0, &p), ESP_OK);
    uint32_t chip = heapcaps_emu_chip_address(p);
    assert_true(chip >= window_chip_start(DEFAULT_RESERVE));
    assert_int_equal((chip - window_chip_start(DEFAULT_RESERVE)) % BLK, 0);
    return (chip - window_chip_start(DEFAULT_RESERVE)) / BLK;
}

/* ------------------------------------------------------------ log capture */

/* One himem call, run with stdout (where the log goes) captured. */
typedef enum {
    CALL_ALLOC_RANGE,
    CALL_MAP,
    CALL_UNMAP,
    CALL_FREE,
    CALL_FREE_RANGE,
} call_kind_t;

typedef struct {
    call_kind_t kind;
    esp_himem_handle_t mem;
    esp_himem_rangehandle_t range;
    size_t ram_offset, range_offset, len; /* len: also the size of CALL_ALLOC_RANGE */
    void *ptr;                            /* CALL_UNMAP */
    esp_himem_rangehandle_t range_out;    /* CALL_ALLOC_RANGE */
    void *out;                            /* CALL_MAP */
    esp_err_t result;
} himem_call_t;

static void perform_call(void *context)
{
    himem_call_t *call = context;
    switch (call->kind) {
    case CALL_ALLOC_RANGE:
        call->result = esp_himem_alloc_map_range(call->len, &call->range_out);
        break;
    case CALL_MAP:
        call->result = esp_himem_map(call->mem, call->range, call->ram_offset, call->range_offset,
                                     call->len, 0, &call->out);
        break;
    case CALL_UNMAP:
        call->result = esp_himem_unmap(call->range, call->ptr, call->len);
        break;
    case CALL_FREE:
        call->result = esp_himem_free(call->mem);
        break;
    case CALL_FREE_RANGE:
        call->result = esp_himem_free_map_range(call->range);
        break;
    }
}

static esp_err_t logged_call(himem_call_t *call, char *log, size_t room)
{
    capture_output(1, perform_call, call, log, room);
    return call->result;
}

static bool take(const char **p, const char *text)
{
    size_t n = strlen(text);
    if (strncmp(*p, text, n) != 0) {
        return false;
    }
    *p += n;
    return true;
}

static bool take_digits(const char **p)
{
    const char *start = *p;
    while (**p >= '0' && **p <= '9') {
        (*p)++;
    }
    return *p > start;
}

/* `log` is exactly one line, ESP_RETURN_ON_FALSE's error:
 * "E (<ms>) esp_himem: <function>(<line>): <message>" (line not pinned). */
static void assert_one_error(const char *log, const char *function, const char *message)
{
    const char *p = log;
    bool ok = take(&p, "E (") && take_digits(&p) && take(&p, ") esp_himem: ") &&
              take(&p, function) && take(&p, "(") && take_digits(&p) && take(&p, "): ") &&
              take(&p, message) && take(&p, "\n") && *p == '\0';
    if (!ok) {
        fail_msg("expected the one line \"E (…) esp_himem: %s(<line>): %s\", the log was:\n%s",
                 function, message, log);
    }
}

/* ============================================================ data across banks */

/*
 * spec §5 "high psram memory test": every physical block keeps what was
 * written to it while other banks are shown in the window. Written through
 * window block 0 and read back through blocks 0 and 1 alternately, so the
 * data must travel with the bank, not stay in a window page.
 */
static void every_bank_keeps_its_data(size_t psram_size, uint64_t salt)
{
    boot_esp32(psram_size);
    size_t total = esp_himem_get_free_size();
    assert_int_equal(total, esp_himem_get_phys_size()); /* nothing claimed after boot */
    size_t blocks = total / BLK;
    assert_true(blocks > 2);

    esp_himem_handle_t mem = alloc_ram(total);
    assert_int_equal(esp_himem_get_free_size(), 0);
    esp_himem_rangehandle_t range = alloc_range(2 * BLK);

    for (size_t i = 0; i < blocks; i++) {
        unsigned char *p = map_block(mem, range, i, 0);
        fill_pattern(p, block_seed(salt, i));
        unmap_block(range, p);
    }
    for (size_t i = 0; i < blocks; i++) {
        unsigned char *p = map_block(mem, range, i, i % 2);
        assert_pattern(p, block_seed(salt, i), "bank", i);
        unmap_block(range, p);
    }

    /* Two banks shown at once, each in its own window block, with its own data. */
    size_t a = blocks / 3, b = blocks - 1;
    unsigned char *in0 = map_block(mem, range, b, 0);
    unsigned char *in1 = map_block(mem, range, a, 1);
    assert_ptr_equal(in1, in0 + BLK);
    assert_pattern(in0, block_seed(salt, b), "bank (window 0)", b);
    assert_pattern(in1, block_seed(salt, a), "bank (window 1)", a);
    assert_true(memcmp(in0, in1, BLK) != 0);
    unmap_block(range, in0);
    unmap_block(range, in1);

    /* Two consecutive banks in one call (len of two blocks). Not banks 0-1:
     * window block w shows physical block w before any mapping. */
    void *both = NULL;
    assert_int_equal(esp_himem_map(mem, range, 2 * BLK, 0, 2 * BLK, 0, &both), ESP_OK);
    assert_pattern(both, block_seed(salt, 2), "bank (two-block map)", 2);
    assert_pattern((unsigned char *)both + BLK, block_seed(salt, 3), "bank (two-block map)", 3);
    assert_int_equal(esp_himem_unmap(range, both, 2 * BLK), ESP_OK);

    assert_int_equal(esp_himem_free_map_range(range), ESP_OK);
    assert_int_equal(esp_himem_free(mem), ESP_OK);
    assert_int_equal(esp_himem_get_free_size(), total);
}

static void every_bank_of_8_mib_keeps_its_data_across_bank_switches(void **state)
{
    (void)state;
    every_bank_keeps_its_data(8 * MIB, 1);
}

static void every_bank_of_16_mib_keeps_its_data_across_bank_switches(void **state)
{
    (void)state;
    every_bank_keeps_its_data(16 * MIB, 2);
}

/* ============================================================ two threads */

enum { WORKER_BLOCKS = (int)(2 * MIB / ESP_HIMEM_BLKSZ), WORKER_ROUNDS = 4 };

typedef struct {
    uint64_t salt;
    pthread_barrier_t *start;
    char failure[160]; /* empty when the worker did all its rounds */
} bank_worker_t;

/* spec §5: the memory test from two tasks at once, each with its own 2 MiB
 * and its own window block. No cmocka here: failures are written down. */
static void *bank_worker(void *arg)
{
    bank_worker_t *w = arg;
    esp_himem_handle_t mem = NULL;
    esp_himem_rangehandle_t range = NULL;
    pthread_barrier_wait(w->start);
    esp_err_t err = esp_himem_alloc((size_t)WORKER_BLOCKS * BLK, &mem);
    if (err != ESP_OK) {
        snprintf(w->failure, sizeof(w->failure), "esp_himem_alloc gave 0x%x", err);
        return NULL;
    }
    err = esp_himem_alloc_map_range(BLK, &range);
    if (err != ESP_OK) {
        snprintf(w->failure, sizeof(w->failure), "esp_himem_alloc_map_range gave 0x%x", err);
        return NULL;
    }
    for (int round = 0; round < WORKER_ROUNDS && !w->failure[0]; round++) {
        uint64_t salt = w->salt * 16 + (uint64_t)round;
        for (int verify = 0; verify < 2 && !w->failure[0]; verify++) {
            for (size_t i = 0; i < (size_t)WORKER_BLOCKS; i++) {
                void *p = NULL;
                err = esp_himem_map(mem, range, i * BLK, 0, BLK, 0, &p);
                if (err != ESP_OK) {
                    snprintf(w->failure, sizeof(w->failure),
                             "round %d: mapping block %zu gave 0x%x", round, i, err);
                    break;
                }
                size_t at = BLK;
                if (verify) {
                    at = pattern_mismatch(p, block_seed(salt, i));
                } else {
                    fill_pattern(p, block_seed(salt, i));
                }
                err = esp_himem_unmap(range, p, BLK);
                if (at != BLK || err != ESP_OK) {
                    snprintf(w->failure, sizeof(w->failure),
                             "round %d: block %zu: byte %zu differs / unmap gave 0x%x", round, i,
                             at, err);
                    break;
                }
            }
        }
    }
    err = esp_himem_free_map_range(range);
    esp_err_t err2 = esp_himem_free(mem);
    if (!w->failure[0] && (err != ESP_OK || err2 != ESP_OK)) {
        snprintf(w->failure, sizeof(w->failure), "freeing gave 0x%x / 0x%x", err, err2);
    }
    return NULL;
}

static void two_threads_switch_their_own_banks_at_once_without_mixing_data(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    size_t total = esp_himem_get_free_size();
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    bank_worker_t workers[2] = {{.salt = 3, .start = &start}, {.salt = 4, .start = &start}};
    pthread_t threads[2];
    for (size_t i = 0; i < COUNT(threads); i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, bank_worker, &workers[i]), 0);
    }
    for (size_t i = 0; i < COUNT(threads); i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    pthread_barrier_destroy(&start);
    for (size_t i = 0; i < COUNT(workers); i++) {
        if (workers[i].failure[0]) {
            fail_msg("thread %zu: %s", i, workers[i].failure);
        }
    }
    assert_int_equal(esp_himem_get_free_size(), total);
}

/* ============================================================ esp_himem_alloc errors */

static void alloc_of_a_size_not_a_multiple_of_the_block_is_invalid_size(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    size_t total = esp_himem_get_free_size();
    const size_t sizes[] = {1, BLK - 1, BLK + 1, BLK / 2, 3 * BLK + 4096};
    for (size_t i = 0; i < COUNT(sizes); i++) {
        esp_himem_handle_t mem = NULL;
        assert_int_equal(esp_himem_alloc(sizes[i], &mem), ESP_ERR_INVALID_SIZE);
        assert_null(mem);
        assert_int_equal(esp_himem_get_free_size(), total);
    }
    esp_himem_handle_t mem = alloc_ram(BLK); /* a valid request still works */
    assert_int_equal(esp_himem_get_free_size(), total - BLK);
    assert_int_equal(esp_himem_free(mem), ESP_OK);
}

static void alloc_of_zero_bytes_is_no_mem(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    size_t total = esp_himem_get_free_size();
    esp_himem_handle_t mem = NULL;
    assert_int_equal(esp_himem_alloc(0, &mem), ESP_ERR_NO_MEM);
    assert_null(mem);
    assert_int_equal(esp_himem_get_free_size(), total);
}

/* Not enough free blocks: nothing claimed, so everything can still be had. */
static void alloc_of_more_than_is_free_is_no_mem_and_claims_nothing(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    size_t total = esp_himem_get_free_size();
    esp_himem_handle_t mem = NULL;
    assert_int_equal(esp_himem_alloc(total + BLK, &mem), ESP_ERR_NO_MEM);
    assert_null(mem);
    assert_int_equal(esp_himem_get_free_size(), total);

    esp_himem_handle_t half = alloc_ram(total / 2);
    size_t left = esp_himem_get_free_size();
    assert_int_equal(left, total - total / 2);
    assert_int_equal(esp_himem_alloc(left + BLK, &mem), ESP_ERR_NO_MEM);
    assert_int_equal(esp_himem_get_free_size(), left);
    esp_himem_handle_t rest = alloc_ram(left);
    assert_int_equal(esp_himem_get_free_size(), 0);
    assert_int_equal(esp_himem_alloc(BLK, &mem), ESP_ERR_NO_MEM);
    assert_int_equal(esp_himem_free(half), ESP_OK);
    assert_int_equal(esp_himem_free(rest), ESP_OK);
    assert_int_equal(esp_himem_get_free_size(), total);
}

/* ============================================================ esp_himem_alloc_map_range errors */

static void alloc_map_range_of_a_size_not_a_multiple_of_the_block_is_invalid_size(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    esp_himem_rangehandle_t range = NULL;
    assert_int_equal(esp_himem_alloc_map_range(BLK + 1, &range), ESP_ERR_INVALID_SIZE);
    assert_int_equal(esp_himem_alloc_map_range(BLK / 2, &range), ESP_ERR_INVALID_SIZE);
    assert_null(range);
    /* Nothing claimed: the whole window is still one free run. */
    range = alloc_range(DEFAULT_RESERVE * BLK);
    assert_int_equal(esp_himem_free_map_range(range), ESP_OK);
}

static void alloc_map_range_of_zero_or_more_than_the_window_is_no_mem(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    esp_himem_rangehandle_t range = NULL;
    assert_int_equal(esp_himem_alloc_map_range(0, &range), ESP_ERR_NO_MEM);
    assert_int_equal(esp_himem_alloc_map_range((DEFAULT_RESERVE + 1) * BLK, &range),
                     ESP_ERR_NO_MEM);
    assert_null(range);
    range = alloc_range(DEFAULT_RESERVE * BLK); /* exactly the window fits */
    esp_himem_rangehandle_t more = NULL;
    assert_int_equal(esp_himem_alloc_map_range(BLK, &more), ESP_ERR_NO_MEM);
    assert_int_equal(esp_himem_free_map_range(range), ESP_OK);
}

/* spec §3: the lowest run of contiguous free window blocks, never a gap too small. */
static void alloc_map_range_takes_the_lowest_contiguous_run(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    esp_himem_handle_t mem = alloc_ram(BLK);
    esp_himem_rangehandle_t one = alloc_range(BLK);
    esp_himem_rangehandle_t two = alloc_range(2 * BLK);
    assert_int_equal(range_first_block(mem, one), 0);
    assert_int_equal(range_first_block(mem, two), 1);
    assert_int_equal(esp_himem_free_map_range(one), ESP_OK);
    /* Block 0 alone is free below: two blocks must come from 3-4. */
    esp_himem_rangehandle_t again = alloc_range(2 * BLK);
    assert_int_equal(range_first_block(mem, again), 3);
    /* ...and the single free block is still the lowest for one block. */
    esp_himem_rangehandle_t single = alloc_range(BLK);
    assert_int_equal(range_first_block(mem, single), 0);

    /* Taken now: 0-4. Then 5, 6, 7 one by one; giving back 1-2, 6 and 3-4
     * leaves the runs 1-4 and 6: four blocks go to 1-4, then two do not fit. */
    esp_himem_rangehandle_t b5 = alloc_range(BLK);
    esp_himem_rangehandle_t b6 = alloc_range(BLK);
    esp_himem_rangehandle_t b7 = alloc_range(BLK);
    assert_int_equal(range_first_block(mem, b7), 7);
    assert_int_equal(esp_himem_free_map_range(two), ESP_OK);   /* 1-2 free */
    assert_int_equal(esp_himem_free_map_range(b6), ESP_OK);    /* 6 free */
    assert_int_equal(esp_himem_free_map_range(again), ESP_OK); /* 3-4 free: 1-4 one run */
    esp_himem_rangehandle_t four = alloc_range(4 * BLK);
    assert_int_equal(range_first_block(mem, four), 1);
    esp_himem_rangehandle_t none = NULL;
    assert_int_equal(esp_himem_alloc_map_range(2 * BLK, &none), ESP_ERR_NO_MEM); /* only 6 */
    assert_null(none);
    esp_himem_rangehandle_t six = alloc_range(BLK);
    assert_int_equal(range_first_block(mem, six), 6);

    assert_int_equal(esp_himem_free_map_range(single), ESP_OK);
    assert_int_equal(esp_himem_free_map_range(four), ESP_OK);
    assert_int_equal(esp_himem_free_map_range(b5), ESP_OK);
    assert_int_equal(esp_himem_free_map_range(six), ESP_OK);
    assert_int_equal(esp_himem_free_map_range(b7), ESP_OK);
    esp_himem_rangehandle_t all = alloc_range(DEFAULT_RESERVE * BLK);
    assert_int_equal(esp_himem_free_map_range(all), ESP_OK);
    assert_int_equal(esp_himem_free(mem), ESP_OK);
}

/* ============================================================ esp_himem_map errors */

typedef struct {
    esp_himem_handle_t mem;        /* 4 physical blocks */
    esp_himem_rangehandle_t range; /* 2 window blocks */
    size_t total;                  /* free himem before mem */
} map_scene_t;

static map_scene_t map_scene(void)
{
    boot_esp32(8 * MIB);
    map_scene_t scene;
    scene.total = esp_himem_get_free_size();
    scene.mem = alloc_ram(4 * BLK);
    scene.range = alloc_range(2 * BLK);
    return scene;
}

/* After a refused call: nothing is mapped, so every block maps and both handles free. */
static void assert_scene_unchanged(const map_scene_t *scene)
{
    assert_int_equal(esp_himem_get_free_size(), scene->total - 4 * BLK);
    void *p = NULL;
    assert_int_equal(esp_himem_map(scene->mem, scene->range, 2 * BLK, 0, 2 * BLK, 0, &p), ESP_OK);
    assert_int_equal(esp_himem_unmap(scene->range, p, 2 * BLK), ESP_OK);
    assert_int_equal(esp_himem_map(scene->mem, scene->range, 0, 0, 2 * BLK, 0, &p), ESP_OK);
    assert_int_equal(esp_himem_unmap(scene->range, p, 2 * BLK), ESP_OK);
}

static void free_scene(const map_scene_t *scene)
{
    assert_int_equal(esp_himem_free_map_range(scene->range), ESP_OK);
    assert_int_equal(esp_himem_free(scene->mem), ESP_OK);
    assert_int_equal(esp_himem_get_free_size(), scene->total);
}

static void map_with_an_offset_or_length_not_a_multiple_of_the_block_is_invalid_arg(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    void *p = NULL;
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 1, 0, BLK, 0, &p), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, BLK + 4096, 0, BLK, 0, &p),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 0, 16, BLK, 0, &p), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 0, 0, BLK - 1, 0, &p),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 0, 0, BLK + 1, 0, &p),
                     ESP_ERR_INVALID_ARG);
    assert_null(p);
    assert_scene_unchanged(&scene);
    free_scene(&scene);
}

/* spec §3: the checks come in order: ram offset, range offset, length, and
 * alignment before the sizes. The first failing one is the one logged. */
static void map_checks_alignment_in_order_and_logs_the_first_failure(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    char log[512];
    himem_call_t call = {.kind = CALL_MAP, .mem = scene.mem, .range = scene.range};

    call.ram_offset = 1, call.range_offset = 1, call.len = 1;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_map", "ram offset not aligned to blocksize");

    call.ram_offset = 0, call.range_offset = 1, call.len = 1;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_map", "range not aligned to blocksize");

    call.ram_offset = 0, call.range_offset = 0, call.len = 1;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_map", "length not aligned to blocksize");

    /* Unaligned and beyond the handle: alignment is checked first. */
    call.ram_offset = 100 * BLK + 1, call.range_offset = 0, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_map", "ram offset not aligned to blocksize");
    call.ram_offset = 0, call.range_offset = 0, call.len = 100 * BLK + 1;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_map", "length not aligned to blocksize");

    /* Beyond both handles: the ram handle's check comes first. */
    call.ram_offset = 4 * BLK, call.range_offset = 2 * BLK, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_SIZE);
    assert_one_error(log, "esp_himem_map", "args not in range of phys ram handle");
    call.ram_offset = 0, call.range_offset = 2 * BLK, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_SIZE);
    assert_one_error(log, "esp_himem_map", "args not in range of range handle");

    /* A valid call logs nothing. */
    call.ram_offset = 0, call.range_offset = 0, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_OK);
    assert_string_equal(log, "");
    assert_int_equal(esp_himem_unmap(scene.range, call.out, BLK), ESP_OK);
    assert_scene_unchanged(&scene);
    free_scene(&scene);
}

static void map_beyond_the_ram_handle_or_the_range_handle_is_invalid_size(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    const size_t huge = SIZE_MAX / BLK * BLK; /* aligned, and would wrap when added */
    const struct {
        size_t ram_offset, range_offset, len;
    } beyond[] = {
        {4 * BLK, 0, BLK},     /* starts after the handle's last block */
        {3 * BLK, 0, 2 * BLK}, /* ends after it */
        {0, 0, 5 * BLK},       /* longer than the handle (and the range) */
        {0, 2 * BLK, BLK},     /* starts after the range's last block */
        {0, BLK, 2 * BLK},     /* ends after it */
        {0, 0, 3 * BLK},       /* longer than the range */
        {huge, 0, BLK},        {0, huge, BLK}, {0, 0, huge}, {BLK, 0, huge},
    };
    for (size_t i = 0; i < COUNT(beyond); i++) {
        void *p = NULL;
        esp_err_t err = esp_himem_map(scene.mem, scene.range, beyond[i].ram_offset,
                                      beyond[i].range_offset, beyond[i].len, 0, &p);
        if (err != ESP_ERR_INVALID_SIZE) {
            fail_msg("case %zu: map(ram %#zx, range %#zx, len %#zx) gave 0x%x", i,
                     beyond[i].ram_offset, beyond[i].range_offset, beyond[i].len, err);
        }
    }
    assert_scene_unchanged(&scene);
    free_scene(&scene);
}

static void
map_of_a_block_mapped_already_or_into_a_mapped_window_block_is_invalid_state(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    esp_himem_rangehandle_t other = alloc_range(BLK);
    unsigned char *shown = map_block(scene.mem, scene.range, 1, 1);
    fill_pattern(shown, block_seed(5, 1));
    char log[512];
    himem_call_t call = {.kind = CALL_MAP, .mem = scene.mem, .len = BLK};

    /* Physical block 1, shown in window block 1 already: not a second time anywhere. */
    call.range = scene.range, call.ram_offset = BLK, call.range_offset = 0;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_STATE);
    assert_one_error(log, "esp_himem_map", "ram already mapped");
    call.range = other, call.ram_offset = BLK, call.range_offset = 0;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_STATE);
    assert_one_error(log, "esp_himem_map", "ram already mapped");

    /* Window block 1 shows a bank already: no other bank there. */
    call.range = scene.range, call.ram_offset = 2 * BLK, call.range_offset = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_STATE);
    assert_one_error(log, "esp_himem_map", "range already mapped");

    /* Two blocks of which the second is taken: the first is not left marked. */
    call.range = scene.range, call.ram_offset = 2 * BLK, call.range_offset = 0, call.len = 2 * BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_STATE);
    assert_one_error(log, "esp_himem_map", "range already mapped");
    unsigned char *first = map_block(scene.mem, scene.range, 2, 0);
    assert_ptr_equal(first + BLK, shown);
    assert_pattern(shown, block_seed(5, 1), "bank still shown", 1); /* not remapped */
    unmap_block(scene.range, first);

    unmap_block(scene.range, shown);
    assert_int_equal(esp_himem_free_map_range(other), ESP_OK);
    assert_scene_unchanged(&scene);
    free_scene(&scene);
}

/* spec §3: len 0 succeeds and only returns where the range offset is. */
static void map_of_length_zero_returns_the_pointer_and_maps_nothing(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    unsigned char *shown = map_block(scene.mem, scene.range, 0, 1);
    void *p = NULL;
    /* Even where a block is mapped, and at the end of both handles. */
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 0, BLK, 0, 0, &p), ESP_OK);
    assert_ptr_equal(p, shown);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 4 * BLK, 2 * BLK, 0, 0, &p), ESP_OK);
    assert_ptr_equal(p, shown + BLK);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, BLK, 0, 0, 0, &p), ESP_OK);
    assert_ptr_equal(p, shown - BLK);
    unmap_block(scene.range, shown);
    /* Nothing was marked: the range and the handle free at once. */
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 2 * BLK, 0, 0, 0, &p), ESP_OK);
    free_scene(&scene);
}

/* ============================================================ esp_himem_unmap errors */

static void
unmap_of_an_unaligned_pointer_or_length_or_outside_the_range_is_invalid_arg(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    esp_himem_rangehandle_t other = alloc_range(BLK); /* window block 2 */
    unsigned char *p = map_block(scene.mem, scene.range, 0, 0);
    unsigned char *q = map_block(scene.mem, scene.range, 1, 1);
    unsigned char *o = map_block(scene.mem, other, 2, 0);
    assert_ptr_equal(o, q + BLK);
    char log[512];
    himem_call_t call = {.kind = CALL_UNMAP, .range = scene.range, .ptr = p, .len = BLK};

    call.ptr = p + 1, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_unmap", "range offset not block-aligned");
    call.ptr = p + 4096, call.len = 1; /* both wrong: the pointer is checked first */
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_unmap", "range offset not block-aligned");
    call.ptr = p, call.len = BLK + 1;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_unmap", "map length not block-aligned");
    call.ptr = p, call.len = BLK / 2;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_unmap", "map length not block-aligned");

    /* Outside the range handle: another range's block, past the end, below the window. */
    const struct {
        void *ptr;
        size_t len;
    } outside[] = {
        {o, BLK},       {p, 3 * BLK},       {q, 2 * BLK},
        {p - BLK, BLK}, {p - 4 * BLK, BLK}, {q, SIZE_MAX / BLK * BLK},
    };
    for (size_t i = 0; i < COUNT(outside); i++) {
        call.ptr = outside[i].ptr, call.len = outside[i].len;
        esp_err_t err = logged_call(&call, log, sizeof(log));
        if (err != ESP_ERR_INVALID_ARG) {
            fail_msg("case %zu: unmap(%p, %#zx) gave 0x%x", i, outside[i].ptr, outside[i].len, err);
        }
        assert_one_error(log, "esp_himem_unmap", "range out of bounds for handle");
    }
    /* Nor through another range handle than the one mapped. */
    call.range = other, call.ptr = p, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_unmap", "range out of bounds for handle");

    /* Nothing was unmapped: the banks cannot be mapped a second time. */
    void *again = NULL;
    assert_int_equal(esp_himem_map(scene.mem, other, 0, 0, BLK, 0, &again), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_himem_map(scene.mem, other, BLK, 0, BLK, 0, &again),
                     ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_himem_free_map_range(scene.range), ESP_ERR_INVALID_ARG);

    assert_int_equal(esp_himem_unmap(scene.range, p, 2 * BLK), ESP_OK); /* both at once */
    unmap_block(other, o);
    assert_int_equal(esp_himem_free_map_range(other), ESP_OK);
    assert_scene_unchanged(&scene);
    free_scene(&scene);
}

/* heapcaps' choice (docs): unmapping a window block that shows nothing is
 * not detected and leaves the other blocks' mappings alone. */
static void unmap_of_a_block_not_mapped_leaves_the_mapped_ones_alone(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    unsigned char *p = map_block(scene.mem, scene.range, 3, 0);
    assert_int_equal(esp_himem_unmap(scene.range, p + BLK, BLK), ESP_OK);
    assert_int_equal(esp_himem_free(scene.mem), ESP_ERR_INVALID_ARG); /* block 3 still mapped */
    void *q = NULL;
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 3 * BLK, BLK, BLK, 0, &q),
                     ESP_ERR_INVALID_STATE);
    unmap_block(scene.range, p);
    assert_scene_unchanged(&scene);
    free_scene(&scene);
}

/* ============================================================ freeing while mapped */

static void free_of_a_handle_with_a_mapped_block_is_invalid_arg_and_frees_nothing(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    unsigned char *p = map_block(scene.mem, scene.range, 2, 0);
    fill_pattern(p, block_seed(6, 2));
    char log[512];
    himem_call_t call = {.kind = CALL_FREE, .mem = scene.mem};
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_free", "block in range still mapped");
    assert_int_equal(esp_himem_get_free_size(), scene.total - 4 * BLK);
    /* The handle still holds its blocks: they map, with their data. */
    unmap_block(scene.range, p);
    unsigned char *again = map_block(scene.mem, scene.range, 2, 1);
    assert_pattern(again, block_seed(6, 2), "bank after a refused free", 2);
    unmap_block(scene.range, again);
    assert_int_equal(esp_himem_free(scene.mem), ESP_OK);
    assert_int_equal(esp_himem_get_free_size(), scene.total);
    assert_int_equal(esp_himem_free_map_range(scene.range), ESP_OK);
}

static void free_map_range_with_a_mapped_block_is_invalid_arg_and_frees_nothing(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    unsigned char *p = map_block(scene.mem, scene.range, 0, 1);
    char log[512];
    himem_call_t call = {.kind = CALL_FREE_RANGE, .range = scene.range};
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_free_map_range", "memory still mapped to range");
    /* The range still holds its window blocks: the rest of the window is
     * DEFAULT_RESERVE - 2 blocks. */
    esp_himem_rangehandle_t rest = NULL;
    assert_int_equal(esp_himem_alloc_map_range((DEFAULT_RESERVE - 1) * BLK, &rest), ESP_ERR_NO_MEM);
    rest = alloc_range((DEFAULT_RESERVE - 2) * BLK);
    assert_int_equal(range_first_block(scene.mem, rest), 2);
    assert_int_equal(esp_himem_free_map_range(rest), ESP_OK);
    unmap_block(scene.range, p);
    assert_int_equal(esp_himem_free_map_range(scene.range), ESP_OK);
    esp_himem_rangehandle_t all = alloc_range(DEFAULT_RESERVE * BLK);
    assert_int_equal(esp_himem_free_map_range(all), ESP_OK);
    assert_int_equal(esp_himem_free(scene.mem), ESP_OK);
}

/* heapcaps' choice (ESP-IDF dereferences them): NULL handles and outputs
 * are ESP_ERR_INVALID_ARG and change nothing. */
static void null_handles_and_outputs_are_invalid_arg(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    size_t free_before = esp_himem_get_free_size();
    assert_int_equal(esp_himem_alloc(BLK, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_get_free_size(), free_before);
    assert_int_equal(esp_himem_alloc_map_range(BLK, NULL), ESP_ERR_INVALID_ARG);
    void *p = NULL;
    assert_int_equal(esp_himem_map(NULL, scene.range, 0, 0, BLK, 0, &p), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_map(scene.mem, NULL, 0, 0, BLK, 0, &p), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_map(scene.mem, scene.range, 0, 0, BLK, 0, NULL),
                     ESP_ERR_INVALID_ARG);
    assert_null(p);
    unsigned char *shown = map_block(scene.mem, scene.range, 0, 0);
    assert_int_equal(esp_himem_unmap(NULL, shown, BLK), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_free(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_free_map_range(NULL), ESP_ERR_INVALID_ARG);
    /* Still mapped, still claimed. */
    assert_int_equal(esp_himem_free(scene.mem), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_himem_get_free_size(), free_before);
    unmap_block(scene.range, shown);
    /* The whole window but the scene's range is free (no range was claimed for NULL). */
    esp_himem_rangehandle_t rest = alloc_range((DEFAULT_RESERVE - 2) * BLK);
    assert_int_equal(esp_himem_free_map_range(rest), ESP_OK);
    free_scene(&scene);
}

/* ============================================================ the log */

typedef struct {
    heapcaps_emu_options_t options;
    esp_err_t result;
} boot_call_t;

static void boot_call(void *context)
{
    boot_call_t *call = context;
    call->result = heapcaps_emu_boot("esp32", &call->options);
}

/* The line of `log` that contains `needle`, from its start; fails when none does. */
static const char *line_with(const char *log, const char *needle)
{
    const char *found = strstr(log, needle);
    if (!found) {
        fail_msg("no line with \"%s\" in the log:\n%s", needle, log);
    }
    while (found > log && found[-1] != '\n') {
        found--;
    }
    return found;
}

/* The line at `line` is "I (<ms>) <tag>: <message>". */
static void assert_info_line(const char *line, const char *tag, const char *message)
{
    const char *p = line;
    bool ok = take(&p, "I (") && take_digits(&p) && take(&p, ") ") && take(&p, tag) &&
              take(&p, ": ") && take(&p, message) && take(&p, "\n");
    if (!ok) {
        const char *eol = strchr(line, '\n');
        fail_msg("expected \"I (…) %s: %s\", got \"%.*s\"", tag, message,
                 (int)(eol ? eol - line : (ptrdiff_t)strlen(line)), line);
    }
}

static void boot_logged(heapcaps_emu_options_t options, char *log, size_t room)
{
    boot_call_t call = {options, ESP_FAIL};
    call.options.quiet = false;
    capture_output(1, boot_call, &call, log, room);
    if (call.result != ESP_OK) {
        fail_msg("boot gave 0x%x; log:\n%s", call.result, log);
    }
}

static void startup_log_announces_the_window_and_the_physical_memory(void **state)
{
    (void)state;
    static char log[16384];
    boot_logged(esp32_options(8 * MIB), log, sizeof(log));
    const char *himem = line_with(log, "esp_himem:");
    assert_info_line(himem, "esp_himem",
                     "Initialized. Using last 8 32KB address blocks for bank switching on 4352 KB "
                     "of physical memory.");
    /* After the PSRAM heap was added, without the window (4096K - 8 x 32K). */
    const char *psram = line_with(log, "esp_psram: Adding pool");
    assert_info_line(psram, "esp_psram", "Adding pool of 3840K of PSRAM memory to heap allocator");
    assert_true(psram < himem);
    heapcaps_emu_shutdown();

    /* Another reserve and size: the figures follow them. */
    heapcaps_emu_options_t options = esp32_options(16 * MIB);
    options.himem_reserve = 62;
    boot_logged(options, log, sizeof(log));
    assert_info_line(line_with(log, "esp_himem:"), "esp_himem",
                     "Initialized. Using last 62 32KB address blocks for bank switching on 14272 "
                     "KB of physical memory.");
    assert_info_line(line_with(log, "esp_psram: Adding pool"), "esp_psram",
                     "Adding pool of 2112K of PSRAM memory to heap allocator");
    heapcaps_emu_shutdown();

    /* Without himem in use there is no himem line, and the heap has all 4 MiB. */
    boot_logged(esp32_options(4 * MIB), log, sizeof(log));
    assert_null(strstr(log, "esp_himem"));
    assert_info_line(line_with(log, "esp_psram: Adding pool"), "esp_psram",
                     "Adding pool of 4096K of PSRAM memory to heap allocator");
}

static void error_messages_name_the_function_and_the_problem(void **state)
{
    (void)state;
    map_scene_t scene = map_scene();
    char log[512];
    himem_call_t call = {.kind = CALL_MAP, .mem = scene.mem, .range = scene.range};
    call.ram_offset = 4096, call.len = BLK;
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_ARG);
    assert_one_error(log, "esp_himem_map", "ram offset not aligned to blocksize");

    call = (himem_call_t){.kind = CALL_ALLOC_RANGE, .len = BLK + 2};
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_SIZE);
    assert_one_error(log, "esp_himem_alloc_map_range", "requested size not aligned to blocksize");
    assert_null(call.range_out);
    free_scene(&scene);
    heapcaps_emu_shutdown();

    /* Not available: the state check comes before the alignment ones. */
    call = (himem_call_t){.kind = CALL_MAP, .ram_offset = 1, .range_offset = 1, .len = 1};
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_STATE);
    assert_one_error(log, "esp_himem_map", "Himem not available!");
    call = (himem_call_t){.kind = CALL_ALLOC_RANGE, .len = 1};
    assert_int_equal(logged_call(&call, log, sizeof(log)), ESP_ERR_INVALID_STATE);
    assert_one_error(log, "esp_himem_alloc_map_range", "Himem not available!");
}

/* ============================================================ himem not available */

static void assert_himem_not_available(const char *where)
{
    if (esp_himem_get_phys_size() || esp_himem_get_free_size() || esp_himem_reserved_area_size()) {
        fail_msg("%s: figures %zu / %zu / %zu, expected all 0", where, esp_himem_get_phys_size(),
                 esp_himem_get_free_size(), esp_himem_reserved_area_size());
    }
    esp_himem_rangehandle_t range = NULL;
    assert_int_equal(esp_himem_alloc_map_range(BLK, &range), ESP_ERR_INVALID_STATE);
    assert_null(range);
    void *p = NULL;
    assert_int_equal(esp_himem_map(NULL, NULL, 0, 0, BLK, 0, &p), ESP_ERR_INVALID_STATE);
    assert_null(p);
    esp_himem_handle_t mem = NULL;
    assert_int_equal(esp_himem_alloc(BLK, &mem), ESP_ERR_NO_MEM);
    assert_null(mem);
}

static void himem_is_not_available_on_esp32_with_4_mib_by_default(void **state)
{
    (void)state;
    boot_esp32(4 * MIB);
    assert_himem_not_available("esp32, 4 MiB");
}

static void himem_is_not_available_on_esp32s3_with_psram(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = esp32_options(8 * MIB);
    boot_with("esp32s3", &options);
    assert_true(heap_caps_get_total_size(MALLOC_CAP_SPIRAM) > 8 * MIB - 64 * KIB);
    assert_himem_not_available("esp32s3, 8 MiB");
}

static void himem_is_not_available_without_a_chip_nor_after_shutdown(void **state)
{
    (void)state;
    assert_null(heapcaps_emu_target());
    assert_himem_not_available("no chip");
    boot_esp32(8 * MIB);
    esp_himem_handle_t mem = alloc_ram(BLK);
    (void)mem; /* gone with the chip */
    heapcaps_emu_shutdown();
    assert_himem_not_available("after shutdown");
    /* A new boot starts with every block free again. */
    boot_esp32(16 * MIB);
    assert_int_equal(esp_himem_get_free_size(), esp_himem_get_phys_size());
    assert_int_equal(esp_himem_get_phys_size(), 12 * MIB + DEFAULT_RESERVE * BLK);
}

/* ============================================================ figures and options */

static void figures_follow_psram_size_and_reserve_and_the_heap_gives_up_the_window(void **state)
{
    (void)state;
    /* The PSRAM heap with all of the 4 MiB window, to compare the others with. */
    heapcaps_emu_options_t options = esp32_options(4 * MIB);
    options.himem = HEAPCAPS_EMU_OFF;
    boot_with("esp32", &options);
    size_t whole_window_heap = heap_caps_get_total_size(MALLOC_CAP_SPIRAM);
    assert_true(whole_window_heap > 4 * MIB - 64 * KIB && whole_window_heap <= 4 * MIB);
    heapcaps_emu_shutdown();

    const struct {
        size_t psram;
        heapcaps_emu_switch_t himem;
        int reserve;
        size_t phys, reserved; /* free = phys right after boot */
    } rows[] = {
        {4 * MIB, HEAPCAPS_EMU_OFF, 0, 0, 0},
        {4 * MIB, HEAPCAPS_EMU_DEFAULT, 0, 0, 0},
        {4 * MIB, HEAPCAPS_EMU_ON, 0, 256 * KIB, 256 * KIB},
        {4 * MIB, HEAPCAPS_EMU_ON, 62, 1984 * KIB, 1984 * KIB},
        {8 * MIB, HEAPCAPS_EMU_DEFAULT, 0, 4 * MIB + 256 * KIB, 256 * KIB},
        {8 * MIB, HEAPCAPS_EMU_ON, 8, 4 * MIB + 256 * KIB, 256 * KIB},
        {8 * MIB, HEAPCAPS_EMU_OFF, 0, 0, 0}, /* the 4 MiB beyond the window unused */
        {16 * MIB, HEAPCAPS_EMU_DEFAULT, 0, 12 * MIB + 256 * KIB, 256 * KIB},
        {8 * MIB, HEAPCAPS_EMU_DEFAULT, 1, 4 * MIB + 32 * KIB, 32 * KIB},
        {8 * MIB, HEAPCAPS_EMU_DEFAULT, 62, 4 * MIB + 1984 * KIB, 1984 * KIB},
        {16 * MIB, HEAPCAPS_EMU_DEFAULT, 1, 12 * MIB + 32 * KIB, 32 * KIB},
        {16 * MIB, HEAPCAPS_EMU_DEFAULT, 62, 12 * MIB + 1984 * KIB, 1984 * KIB},
    };
    for (size_t i = 0; i < COUNT(rows); i++) {
        options = esp32_options(rows[i].psram);
        options.himem = rows[i].himem;
        options.himem_reserve = rows[i].reserve;
        boot_with("esp32", &options);
        size_t phys = esp_himem_get_phys_size(), free_size = esp_himem_get_free_size();
        size_t reserved = esp_himem_reserved_area_size();
        size_t heap = heap_caps_get_total_size(MALLOC_CAP_SPIRAM);
        if (phys != rows[i].phys || free_size != rows[i].phys || reserved != rows[i].reserved ||
            heap != whole_window_heap - rows[i].reserved) {
            fail_msg("row %zu (%zu MiB, himem %d, reserve %d): phys %zu free %zu reserved %zu "
                     "heap %zu; expected %zu %zu %zu %zu",
                     i, rows[i].psram / MIB, (int)rows[i].himem, rows[i].reserve, phys, free_size,
                     reserved, heap, rows[i].phys, rows[i].phys, rows[i].reserved,
                     whole_window_heap - rows[i].reserved);
        }
        /* phys = PSRAM - (4 MiB - reserved), spec §1 / §3. */
        if (reserved) {
            assert_int_equal(phys, rows[i].psram - (MAPPED_PSRAM - reserved));
        }
        heapcaps_emu_shutdown();
    }
}

static void free_size_counts_the_unclaimed_blocks(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    size_t phys = esp_himem_get_phys_size();
    esp_himem_handle_t a = alloc_ram(3 * BLK);
    esp_himem_handle_t b = alloc_ram(BLK);
    assert_int_equal(esp_himem_get_free_size(), phys - 4 * BLK);
    assert_int_equal(esp_himem_free(a), ESP_OK);
    assert_int_equal(esp_himem_get_free_size(), phys - BLK);
    /* Claimed blocks are the first free ones: a fragmented pool still serves any size. */
    esp_himem_handle_t c = alloc_ram(phys - BLK);
    assert_int_equal(esp_himem_get_free_size(), 0);
    assert_int_equal(esp_himem_get_phys_size(), phys); /* claims do not change it */
    assert_int_equal(esp_himem_reserved_area_size(), DEFAULT_RESERVE * BLK);
    assert_int_equal(esp_himem_free(b), ESP_OK);
    assert_int_equal(esp_himem_free(c), ESP_OK);
    assert_int_equal(esp_himem_get_free_size(), phys);
}

static void boot_options_himem_cannot_have_are_refused(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = esp32_options(2 * MIB);
    options.himem = HEAPCAPS_EMU_ON; /* a window beyond the PSRAM there is */
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_SIZE);
    options = esp32_options(0);
    options.himem = HEAPCAPS_EMU_ON;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_SIZE);

    options = esp32_options(8 * MIB);
    options.himem = HEAPCAPS_EMU_ON; /* no himem on this chip */
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_ERR_INVALID_ARG);

    options = esp32_options(8 * MIB);
    options.himem_reserve = 63;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_ARG);
    options.himem_reserve = -1;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_ARG);
    options = esp32_options(8 * MIB);
    options.himem = (heapcaps_emu_switch_t)7;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_ARG);

    options = esp32_options(32 * MIB); /* beyond the ESP32's 16 MiB */
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_SIZE);
    options = esp32_options(16 * MIB + BLK);
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_ERR_INVALID_SIZE);
    assert_null(heapcaps_emu_target());
    assert_himem_not_available("after refused boots");

    /* The limits themselves boot. */
    options = esp32_options(16 * MIB);
    options.himem_reserve = 62;
    boot_with("esp32", &options);
    heapcaps_emu_shutdown();
    options = esp32_options(4 * MIB);
    options.himem = HEAPCAPS_EMU_ON;
    options.himem_reserve = 1;
    boot_with("esp32", &options);
    assert_int_equal(esp_himem_get_phys_size(), BLK);
}

/* ============================================================ the PSRAM heap */

/* spec §4 "psram heap doesn't affect himem": the PSRAM heap stays out of
 * the window, so filling all of it leaves a mapped bank as it was. */
static void psram_heap_filled_to_the_last_chunk_leaves_a_mapped_bank_intact(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    esp_himem_handle_t mem = alloc_ram(2 * BLK);
    esp_himem_rangehandle_t range = alloc_range(BLK);
    unsigned char *bank = map_block(mem, range, 1, 0);
    fill_pattern(bank, block_seed(7, 1));

    size_t room = heap_caps_get_total_size(MALLOC_CAP_SPIRAM) / 16384 + 1;
    unsigned char **chunks = calloc(room, sizeof(*chunks));
    assert_non_null(chunks);
    size_t count = 0;
    while (count < room && (chunks[count] = heap_caps_malloc(16384, MALLOC_CAP_SPIRAM)) != NULL) {
        count++;
    }
    assert_true(count < room); /* the heap ran out */
    if (count <= 127) {
        fail_msg("only %zu chunks of 16 KiB from the PSRAM heap", count);
    }
    uint32_t window = window_chip_start(DEFAULT_RESERVE);
    for (size_t i = 0; i < count; i++) {
        uint32_t chip = heapcaps_emu_chip_address(chunks[i]);
        if (!esp_ptr_external_ram(chunks[i]) || chip < EXTRAM_LOW || chip + 16384 > window) {
            fail_msg("chunk %zu at chip address %#x: not in the PSRAM heap below the window %#x", i,
                     chip, window);
        }
        memset(chunks[i], (int)(0x5A ^ (i & 0xFF)), 16384);
    }
    assert_pattern(bank, block_seed(7, 1), "mapped bank", 1);
    /* And the bank itself, seen again through a fresh mapping. */
    unmap_block(range, bank);
    unsigned char *again = map_block(mem, range, 1, 0);
    assert_pattern(again, block_seed(7, 1), "remapped bank", 1);
    unmap_block(range, again);
    for (size_t i = 0; i < count; i++) {
        const unsigned char *c = chunks[i];
        if (c[0] != (unsigned char)(0x5A ^ (i & 0xFF)) ||
            c[16383] != (unsigned char)(0x5A ^ (i & 0xFF))) {
            fail_msg("chunk %zu changed under himem", i);
        }
        heap_caps_free(chunks[i]);
    }
    free(chunks);
    assert_int_equal(esp_himem_free_map_range(range), ESP_OK);
    assert_int_equal(esp_himem_free(mem), ESP_OK);
}

/* ============================================================ fork */

/* Window block w shows physical block w until something else is mapped
 * there, so every check below maps a bank into a window block of another
 * number: a mapping not in force would show the wrong data. */
typedef struct {
    esp_himem_handle_t mem;        /* blocks 0-3 written with seeds (8, i) */
    esp_himem_rangehandle_t range; /* 2 window blocks; block 0 shows bank 3 */
    unsigned char *window0;
} fork_scene_t;

/* The child: its own copy of the chip, banks and mappings included. Exit
 * codes say which check failed (no cmocka in a child). */
static void child_switches_banks(void *context)
{
    fork_scene_t *scene = context;
    if (pattern_mismatch(scene->window0, block_seed(8, 3)) != BLK) {
        guarded_exit(10); /* the mapping in force at fork() */
    }
    void *p = NULL;
    if (esp_himem_map(scene->mem, scene->range, 2 * BLK, BLK, BLK, 0, &p) != ESP_OK ||
        p != scene->window0 + BLK) {
        guarded_exit(11);
    }
    if (pattern_mismatch(p, block_seed(8, 2)) != BLK) {
        guarded_exit(12); /* a bank mapped in the child */
    }
    fill_pattern(scene->window0, block_seed(9, 3));
    fill_pattern(p, block_seed(9, 2));
    if (esp_himem_unmap(scene->range, p, BLK) != ESP_OK ||
        esp_himem_map(scene->mem, scene->range, 0, BLK, BLK, 0, &p) != ESP_OK) {
        guarded_exit(13);
    }
    if (pattern_mismatch(p, block_seed(8, 0)) != BLK) {
        guarded_exit(14);
    }
    /* The child's write went to its bank 2, which shows it again. */
    if (esp_himem_unmap(scene->range, p, BLK) != ESP_OK ||
        esp_himem_map(scene->mem, scene->range, 2 * BLK, BLK, BLK, 0, &p) != ESP_OK ||
        pattern_mismatch(p, block_seed(9, 2)) != BLK) {
        guarded_exit(15);
    }
    guarded_exit(0);
}

static void forked_child_sees_the_mapped_bank_switches_its_own_and_leaves_the_parents(void **state)
{
    (void)state;
    boot_esp32(8 * MIB);
    fork_scene_t scene = {alloc_ram(4 * BLK), alloc_range(2 * BLK), NULL};
    for (size_t i = 0; i < 4; i++) {
        unsigned char *p = map_block(scene.mem, scene.range, i, 1);
        fill_pattern(p, block_seed(8, i));
        unmap_block(scene.range, p);
    }
    scene.window0 = map_block(scene.mem, scene.range, 3, 0);
    assert_pattern(scene.window0, block_seed(8, 3), "bank before fork", 3);

    char out[1024];
    guard_end_t end = run_guarded(child_switches_banks, &scene, out, sizeof(out));
    if (!end.exited || end.code != 0) {
        fail_msg("child: exited %d code %d (status %#x); stderr:\n%s", end.exited, end.code,
                 end.raw, out);
    }
    /* The parent's banks and mappings are as it left them. */
    assert_pattern(scene.window0, block_seed(8, 3), "parent's mapped bank", 3);
    for (size_t i = 0; i < 3; i++) {
        unsigned char *p = map_block(scene.mem, scene.range, i, 1);
        assert_pattern(p, block_seed(8, i), "parent's bank", i);
        unmap_block(scene.range, p);
    }
    unmap_block(scene.range, scene.window0);
    assert_int_equal(esp_himem_free_map_range(scene.range), ESP_OK);
    assert_int_equal(esp_himem_free(scene.mem), ESP_OK);
}

/* Every window block mapped by a thread of its own, all at once: each
 * mapping is in force, in this process and in a child forked afterwards
 * (the emulator's fork handler maps the banks again from its table of
 * mappings). Repeated: threads that collide only now and then must never
 * lose a mapping. */
enum { MAPPERS = DEFAULT_RESERVE, MAPPER_ROUNDS = 64 };

typedef struct {
    esp_himem_handle_t mem; /* 2 blocks: block 1 is mapped (never the identity, see above) */
    esp_himem_rangehandle_t range;
    pthread_barrier_t *start;
    uint64_t seed;
    unsigned char *window;
    esp_err_t err;
} mapper_t;

static void *map_own_bank(void *arg)
{
    mapper_t *m = arg;
    pthread_barrier_wait(m->start);
    void *p = NULL;
    m->err = esp_himem_map(m->mem, m->range, BLK, 0, BLK, 0, &p);
    if (m->err == ESP_OK) {
        m->window = p;
        fill_pattern(p, m->seed);
    }
    return NULL;
}

/* Exit code: how many window blocks show another bank than their thread's. */
static void child_counts_wrong_window_blocks(void *context)
{
    const mapper_t *mappers = context;
    int wrong = 0;
    for (size_t i = 0; i < MAPPERS; i++) {
        wrong += pattern_mismatch(mappers[i].window, mappers[i].seed) != BLK;
    }
    guarded_exit(wrong);
}

static void banks_mapped_by_threads_at_once_stay_mapped_in_a_forked_child(void **state)
{
    (void)state;
    for (int round = 0; round < MAPPER_ROUNDS; round++) {
        boot_esp32(8 * MIB);
        pthread_barrier_t start;
        assert_int_equal(pthread_barrier_init(&start, NULL, MAPPERS), 0);
        mapper_t mappers[MAPPERS];
        pthread_t threads[MAPPERS];
        for (size_t i = 0; i < MAPPERS; i++) {
            mappers[i] = (mapper_t){alloc_ram(2 * BLK),
                                    alloc_range(BLK),
                                    &start,
                                    block_seed(100 + (uint64_t)round, i),
                                    NULL,
                                    ESP_FAIL};
        }
        for (size_t i = 0; i < MAPPERS; i++) {
            assert_int_equal(pthread_create(&threads[i], NULL, map_own_bank, &mappers[i]), 0);
        }
        for (size_t i = 0; i < MAPPERS; i++) {
            assert_int_equal(pthread_join(threads[i], NULL), 0);
        }
        pthread_barrier_destroy(&start);
        for (size_t i = 0; i < MAPPERS; i++) {
            if (mappers[i].err != ESP_OK) {
                fail_msg("round %d, thread %zu: esp_himem_map gave 0x%x", round, i, mappers[i].err);
            }
            assert_pattern(mappers[i].window, mappers[i].seed, "thread's window block", i);
        }
        char out[1024];
        guard_end_t end = run_guarded(child_counts_wrong_window_blocks, mappers, out, sizeof(out));
        if (!end.exited || end.code != 0) {
            fail_msg("round %d: in a child forked after %d threads mapped at once, %d window "
                     "block(s) showed another bank than the one mapped (status %#x)%s%s",
                     round, MAPPERS, end.code, end.raw, out[0] ? "; stderr:\n" : "", out);
        }
        heapcaps_emu_shutdown();
    }
}

/* ============================================================ where the window is */

static void window_pointers_are_the_last_psram_pages_and_external_ram(void **state)
{
    (void)state;
    const int reserves[] = {1, 8, 62};
    for (size_t r = 0; r < COUNT(reserves); r++) {
        unsigned n = (unsigned)reserves[r];
        heapcaps_emu_options_t options = esp32_options(8 * MIB);
        options.himem_reserve = reserves[r];
        boot_with("esp32", &options);
        esp_himem_handle_t mem = alloc_ram(BLK);
        esp_himem_rangehandle_t range = alloc_range(n * BLK);
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = map_block(mem, range, 0, i);
            uint32_t chip = heapcaps_emu_chip_address(p);
            uint32_t last = heapcaps_emu_chip_address(p + BLK - 1);
            if (chip != window_chip_start(n) + (uint32_t)(i * BLK) || last + 1 > EXTRAM_HIGH ||
                last != chip + BLK - 1) {
                fail_msg("reserve %u, window block %zu: chip address %#x..%#x, expected %#x", n, i,
                         chip, last, window_chip_start(n) + (uint32_t)(i * BLK));
            }
            assert_true(chip >= EXTRAM_LOW + (WINDOW_PAGES - n) * (uint32_t)BLK);
            assert_true(chip < EXTRAM_HIGH);
            assert_true(esp_ptr_external_ram(p));
            assert_true(esp_ptr_external_ram(p + BLK - 1));
            assert_false(esp_ptr_internal(p));
            p[0] = (unsigned char)i; /* writable through the window */
            p[BLK - 1] = (unsigned char)~i;
            unmap_block(range, p);
        }
        assert_int_equal(esp_himem_free_map_range(range), ESP_OK);
        assert_int_equal(esp_himem_free(mem), ESP_OK);
        heapcaps_emu_shutdown();
    }
}

/* ============================================================ */

#define HIMEM_TEST(fn) cmocka_unit_test_teardown(fn, shutdown_after)

int main(void)
{
    const struct CMUnitTest tests[] = {
        HIMEM_TEST(every_bank_of_8_mib_keeps_its_data_across_bank_switches),
        HIMEM_TEST(every_bank_of_16_mib_keeps_its_data_across_bank_switches),
        HIMEM_TEST(two_threads_switch_their_own_banks_at_once_without_mixing_data),
        HIMEM_TEST(alloc_of_a_size_not_a_multiple_of_the_block_is_invalid_size),
        HIMEM_TEST(alloc_of_zero_bytes_is_no_mem),
        HIMEM_TEST(alloc_of_more_than_is_free_is_no_mem_and_claims_nothing),
        HIMEM_TEST(alloc_map_range_of_a_size_not_a_multiple_of_the_block_is_invalid_size),
        HIMEM_TEST(alloc_map_range_of_zero_or_more_than_the_window_is_no_mem),
        HIMEM_TEST(alloc_map_range_takes_the_lowest_contiguous_run),
        HIMEM_TEST(map_with_an_offset_or_length_not_a_multiple_of_the_block_is_invalid_arg),
        HIMEM_TEST(map_checks_alignment_in_order_and_logs_the_first_failure),
        HIMEM_TEST(map_beyond_the_ram_handle_or_the_range_handle_is_invalid_size),
        HIMEM_TEST(map_of_a_block_mapped_already_or_into_a_mapped_window_block_is_invalid_state),
        HIMEM_TEST(map_of_length_zero_returns_the_pointer_and_maps_nothing),
        HIMEM_TEST(unmap_of_an_unaligned_pointer_or_length_or_outside_the_range_is_invalid_arg),
        HIMEM_TEST(unmap_of_a_block_not_mapped_leaves_the_mapped_ones_alone),
        HIMEM_TEST(free_of_a_handle_with_a_mapped_block_is_invalid_arg_and_frees_nothing),
        HIMEM_TEST(free_map_range_with_a_mapped_block_is_invalid_arg_and_frees_nothing),
        HIMEM_TEST(null_handles_and_outputs_are_invalid_arg),
        HIMEM_TEST(startup_log_announces_the_window_and_the_physical_memory),
        HIMEM_TEST(error_messages_name_the_function_and_the_problem),
        HIMEM_TEST(himem_is_not_available_on_esp32_with_4_mib_by_default),
        HIMEM_TEST(himem_is_not_available_on_esp32s3_with_psram),
        HIMEM_TEST(himem_is_not_available_without_a_chip_nor_after_shutdown),
        HIMEM_TEST(figures_follow_psram_size_and_reserve_and_the_heap_gives_up_the_window),
        HIMEM_TEST(free_size_counts_the_unclaimed_blocks),
        HIMEM_TEST(boot_options_himem_cannot_have_are_refused),
        HIMEM_TEST(psram_heap_filled_to_the_last_chunk_leaves_a_mapped_bank_intact),
        HIMEM_TEST(forked_child_sees_the_mapped_bank_switches_its_own_and_leaves_the_parents),
        HIMEM_TEST(banks_mapped_by_threads_at_once_stay_mapped_in_a_forked_child),
        HIMEM_TEST(window_pointers_are_the_last_psram_pages_and_external_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
