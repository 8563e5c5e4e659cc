/*
 * test_heap_caps_chips.c — heap_caps behaviour on every emulated ESP chip.
 *
 * One case per behaviour, each run on every chip it applies to (booted with the options it
 * needs): priorities, the EXEC alias, realloc across memory types, DMA/SIMD/cache alignment,
 * PSRAM and the malloc() policy, the reserve pool, RTC memory, the failure callback and abort,
 * impossible sizes, minimum-free tracking, runtime regions, the walker — ESP-IDF's on-target
 * cases (spec tests.md §3) among them. Chip facts come from spec/layouts.md, not from the
 * library's tables.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, dup2, waitpid */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "esp_memory_utils.h"
#include "esp_system.h"
#include "heapcaps/emu.h"
#include "heapcaps/heap_caps_ext.h"
#include "test_host.h"
#include "test_support.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define CUSTOM_CAP   (1u << 30) /* a capability no chip type has */
#define INVENTED_CAP (1u << 29) /* ESP-IDF's "registered after startup" case uses this one */
#define BIG_SIZE     ((size_t)0x08000000) /* 128 MiB: more than any emulated chip holds */
#define PSRAM_SIZE   ((size_t)1024 * 1024)

/* ------------------------------------------------------------ chip facts (spec/layouts.md) */

typedef enum { ALIAS_NONE, ALIAS_LINEAR, ALIAS_INVERTED } alias_kind_t;

typedef struct {
    const char *name;
    bool psram;           /* has a PSRAM window */
    bool psram_dma;       /* DMA reaches PSRAM (SOC_PSRAM_DMA_CAPABLE) */
    size_t internal_line; /* data cache line over internal RAM; 0 = not cached */
    size_t external_line; /* data cache line over PSRAM */
    size_t simd;          /* SOC_SIMD_PREFERRED_DATA_ALIGNMENT; 0 = no SIMD */
    alias_kind_t alias;   /* instruction-bus alias of D/IRAM */
    bool memprot_default; /* CONFIG_ESP_SYSTEM_MEMPROT default */
    uint32_t static_ram;  /* chip address inside the application's static RAM (reserved) */
    uint32_t static_caps; /* OR of the caps of the memory type there (default memprot) */
} chip_t;

static const chip_t chip_facts[] = {
    {"esp32", true, false, 0, 32, 0, ALIAS_INVERTED, false, 0x3FFB1000, 0x180E},
    {"esp32s2", true, true, 0, 32, 0, ALIAS_LINEAR, true, 0x3FFB5000, 0x180E},
    {"esp32s3", true, true, 0, 32, 16, ALIAS_LINEAR, true, 0x3FC89000, 0x10580E},
    {"esp32c3", false, false, 0, 0, 0, ALIAS_LINEAR, true, 0x3FC81000, 0x180E},
    {"esp32c6", false, false, 0, 0, 0, ALIAS_NONE, true, 0x40801000, 0x180E},
    {"esp32h2", false, false, 0, 0, 0, ALIAS_NONE, true, 0x40801000, 0x180E},
    {"esp32p4", true, true, 64, 64, 16, ALIAS_NONE, true, 0x4FF21000, 0x10580E},
};

static const chip_t *current; /* the chip a case is running on, for messages */

static const char *chip_name(void)
{
    return current ? current->name : "(no chip)";
}

/* Checks that name the chip they failed on. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fail_msg("%s: check failed: %s", chip_name(), #cond);                                  \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        uintmax_t check_a_ = (uintmax_t)(a), check_b_ = (uintmax_t)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fail_msg("%s: %s == %s failed: %#jx != %#jx", chip_name(), #a, #b, check_a_,           \
                     check_b_);                                                                    \
        }                                                                                          \
    } while (0)

/* Problems noted while a case goes on to the other chips; the case fails at
 * its end listing them all (for behaviours that differ per chip). */
static char problems[4096];

__attribute__((format(printf, 1, 2))) static void note_problem(const char *format, ...)
{
    size_t used = strlen(problems);
    if (used + 2 >= sizeof(problems)) {
        return;
    }
    va_list args;
    va_start(args, format);
    snprintf(problems + used, sizeof(problems) - used, "\n  %s: ", chip_name());
    used = strlen(problems);
    vsnprintf(problems + used, sizeof(problems) - used, format, args);
    va_end(args);
}

static const chip_t *facts_of(const char *name)
{
    for (size_t i = 0; i < COUNT(chip_facts); i++) {
        if (strcmp(chip_facts[i].name, name) == 0) {
            return &chip_facts[i];
        }
    }
    fail_msg("%s is emulated but this file has no facts for it: add it to chip_facts", name);
    return NULL;
}

static size_t round_up(size_t size, size_t alignment)
{
    return alignment ? (size + alignment - 1) / alignment * alignment : size;
}

static bool aligned_to(const void *p, size_t alignment)
{
    return alignment == 0 || (uintptr_t)p % alignment == 0;
}

/* ------------------------------------------------------------ failure callback recorder */

static struct {
    size_t calls;
    size_t size;
    uint32_t caps;
    const char *function;
} failure;

static void record_failure(size_t size, uint32_t caps, const char *function_name)
{
    failure.calls++;
    failure.size = size;
    failure.caps = caps;
    failure.function = function_name;
}

/* Exactly `calls` failures so far; when one is expected, the last had these values. */
#define CHECK_FAILURES(calls_, size_, caps_, function_)                                            \
    do {                                                                                           \
        CHECK_EQ(failure.calls, (calls_));                                                         \
        CHECK_EQ(failure.size, (size_));                                                           \
        CHECK_EQ(failure.caps, (caps_));                                                           \
        if (!failure.function || strcmp(failure.function, (function_)) != 0) {                     \
            fail_msg("%s: failure reported by %s, expected %s", chip_name(),                       \
                     failure.function ? failure.function : "(none)", (function_));                 \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------ booting */

/* A typical application (zeroed options: ESP-IDF's defaults), booted quietly. */
static heapcaps_emu_options_t app_options(void)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    return options;
}

static void boot(const chip_t *chip, const heapcaps_emu_options_t *options)
{
    current = chip;
    esp_err_t err = heapcaps_emu_boot(chip->name, options);
    if (err != ESP_OK) {
        fail_msg("%s: boot failed with 0x%x", chip->name, (unsigned)err);
    }
    memset(&failure, 0, sizeof(failure));
    CHECK_EQ(heap_caps_register_failed_alloc_callback(record_failure), ESP_OK);
}

static void boot_default(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    boot(chip, &options);
}

static void boot_with_psram(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    options.psram_size = chip->psram ? PSRAM_SIZE : 0;
    boot(chip, &options);
}

static void boot_without_memprot(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    options.memprot = HEAPCAPS_EMU_OFF;
    boot(chip, &options);
}

typedef void (*chip_case_t)(const chip_t *chip);

/* Run `body` for every emulated chip (each body boots as it needs); the chip is shut down after. */
static void on_every_chip(chip_case_t body)
{
    const char *const *targets = heapcaps_emu_targets();
    size_t ran = 0;
    for (size_t i = 0; targets[i]; i++) {
        const chip_t *chip = facts_of(targets[i]);
        current = chip;
        body(chip);
        heapcaps_emu_shutdown();
        ran++;
    }
    current = NULL;
    assert_true(ran >= COUNT(chip_facts));
    if (problems[0]) {
        fail_msg("on some chips:%s", problems);
    }
}

static int shutdown_after(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    current = NULL;
    problems[0] = '\0';
    return 0;
}

/* ------------------------------------------------------------ helpers */

static void fill(void *p, size_t size, unsigned seed)
{
    unsigned char *bytes = p;
    for (size_t i = 0; i < size; i++) {
        bytes[i] = (unsigned char)(seed + i * 7 + (i >> 8));
    }
}

static bool holds(const void *p, size_t size, unsigned seed)
{
    const unsigned char *bytes = p;
    for (size_t i = 0; i < size; i++) {
        if (bytes[i] != (unsigned char)(seed + i * 7 + (i >> 8))) {
            return false;
        }
    }
    return true;
}

static bool in_rtc_memory(const void *p)
{
    return esp_ptr_in_rtc_dram_fast(p) || esp_ptr_in_rtc_iram_fast(p) || esp_ptr_in_rtc_slow(p);
}

/* An instruction-bus address: ESP32's esp_ptr_executable() stops at SOC_IRAM_HIGH
 * (0x400AA000), below the top of its D/IRAM alias, as in ESP-IDF. */
static bool is_code_address(const void *p)
{
    return esp_ptr_executable(p) || esp_ptr_in_diram_iram(p);
}

static bool inside(const void *p, const void *start, size_t size)
{
    return (uintptr_t)p >= (uintptr_t)start && (uintptr_t)p < (uintptr_t)start + size;
}

static void free_all(void **blocks, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        heap_caps_free(blocks[i]);
        blocks[i] = NULL;
    }
}

/* Take all EXEC memory that is not a D/IRAM alias (word-only IRAM), so that
 * every later EXEC request comes from D/IRAM. (Sizes stay multiples of 8: an
 * alias allocation of another size is what exec_alias_allocations_of_every_size_work
 * is about.) */
static size_t take_non_alias_exec_memory(void **out, size_t room)
{
    size_t count = 0;
    for (size_t size = 4096; size >= 8; size /= 2) {
        while (count < room) {
            void *p = heap_caps_malloc(size, MALLOC_CAP_EXEC);
            if (!p) {
                break;
            }
            if (esp_ptr_in_diram_iram(p)) {
                heap_caps_free(p);
                break;
            }
            out[count++] = p;
        }
    }
    CHECK(count < room);
    return count;
}

/* ============================================================ priorities */

/* ESP32: IRAM offers 32BIT at priority 0, DRAM at 1, D/IRAM at 2; each is
 * exhausted before the next is touched (behaviour.md §2; tests.md
 * "Capabilities allocator test"). */
static void word_requests_on_esp32_use_iram_then_dram_then_diram(void **state)
{
    (void)state;
    boot_default(facts_of("esp32"));
    size_t all_free = heap_caps_get_free_size(0);
    size_t byte_free = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    CHECK(heap_caps_get_free_size(MALLOC_CAP_32BIT) >= byte_free);

    enum { IRAM, DRAM, DIRAM, PHASES };
    static void *blocks[512];
    size_t count = 0, per_phase[PHASES] = {0};
    int phase = IRAM;
    while (count < COUNT(blocks)) {
        void *p = heap_caps_malloc(4096, MALLOC_CAP_32BIT);
        if (!p) {
            break;
        }
        blocks[count++] = p;
        int where = esp_ptr_in_iram(p)         ? IRAM
                    : esp_ptr_in_diram_dram(p) ? DIRAM
                    : esp_ptr_in_dram(p)       ? DRAM
                                               : -1;
        if (where < phase) { /* also -1: not in internal RAM at all */
            fail_msg("esp32: 32BIT block %zu at 0x%08x went back to a higher priority", count,
                     (unsigned)heapcaps_emu_chip_address(p));
            return;
        }
        phase = where;
        per_phase[where]++;
        if (count == 1) {
            CHECK(where == IRAM);
            /* IRAM is not byte accessible: the 8BIT figure does not move. */
            CHECK_EQ(heap_caps_get_free_size(MALLOC_CAP_8BIT), byte_free);
        }
    }
    CHECK(count < COUNT(blocks));
    CHECK(per_phase[IRAM] > 0 && per_phase[DRAM] > 0 && per_phase[DIRAM] > 0);
    free_all(blocks, count);
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
    CHECK(heap_caps_check_integrity_all(true));
}

/* Every chip, memory protection off (so word-only IRAM heaps exist: ESP32's
 * IRAM, ESP32-S3's IRAM-only block when code leaves part of it): all memory
 * handed out for 8BIT is byte accessible, and a byte pattern written over
 * all of it reads back (no block overlaps another). */
static void byte_requests_never_come_from_word_only_iram_on(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    options.memprot = HEAPCAPS_EMU_OFF;
    if (strcmp(chip->name, "esp32s3") == 0) {
        options.iram_code = 0x1000; /* 12 KiB of the IRAM-only block stay a heap */
    }
    boot(chip, &options);
    if (strcmp(chip->name, "esp32") == 0 || strcmp(chip->name, "esp32s3") == 0) {
        /* The chip has word-only executable memory in this configuration. */
        CHECK(heap_caps_get_total_size(MALLOC_CAP_EXEC) >
              heap_caps_get_total_size(MALLOC_CAP_EXEC | MALLOC_CAP_8BIT));
    }
    size_t all_free = heap_caps_get_free_size(0);
    static void *blocks[2048];
    static size_t sizes[2048];
    size_t count = 0;
    for (size_t size = 8192; size >= 8; size /= 2) {
        while (count < COUNT(blocks)) {
            void *p = heap_caps_malloc(size, MALLOC_CAP_8BIT);
            if (!p) {
                break;
            }
            if (!esp_ptr_byte_accessible(p) || (!esp_dram_match_iram() && esp_ptr_in_iram(p))) {
                fail_msg("%s: 8BIT block at 0x%08x is not byte-accessible memory", chip->name,
                         (unsigned)heapcaps_emu_chip_address(p));
            }
            fill(p, size, (unsigned)count);
            blocks[count] = p;
            sizes[count++] = size;
        }
    }
    CHECK(count > 0 && count < COUNT(blocks));
    CHECK(heap_caps_get_largest_free_block(MALLOC_CAP_8BIT) < 8); /* all of it taken */
    for (size_t i = 0; i < count; i++) {
        if (!holds(blocks[i], sizes[i], (unsigned)i)) {
            fail_msg("%s: 8BIT block %zu at 0x%08x lost its pattern", chip->name, i,
                     (unsigned)heapcaps_emu_chip_address(blocks[i]));
        }
    }
    CHECK(heap_caps_check_integrity_all(true));
    free_all(blocks, count);
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
}

static void byte_requests_never_come_from_word_only_iram(void **state)
{
    (void)state;
    on_every_chip(byte_requests_never_come_from_word_only_iram_on);
}

static void exec_with_byte_or_dma_access_is_refused_on(const chip_t *chip)
{
    boot_without_memprot(chip);
    void *code = heap_caps_malloc(64, MALLOC_CAP_EXEC);
    CHECK(code != NULL && is_code_address(code));
    heap_caps_free(code);
    CHECK_EQ(failure.calls, 0);
    CHECK(heap_caps_malloc(64, MALLOC_CAP_8BIT | MALLOC_CAP_EXEC) == NULL);
    CHECK_FAILURES(1, 64, MALLOC_CAP_8BIT | MALLOC_CAP_EXEC, "heap_caps_malloc");
    CHECK(heap_caps_malloc(64, MALLOC_CAP_DMA | MALLOC_CAP_EXEC) == NULL);
    CHECK_FAILURES(2, 64, MALLOC_CAP_DMA | MALLOC_CAP_EXEC, "heap_caps_malloc");
}

static void exec_with_byte_or_dma_access_is_refused(void **state)
{
    (void)state;
    on_every_chip(exec_with_byte_or_dma_access_is_refused_on);
}

/* ============================================================ EXEC alias */

/* Memory protection off: an EXEC allocation from D/IRAM is an IRAM-alias
 * pointer that frees, reallocs and reports its size; on linear-alias chips
 * its bytes are the DRAM block's (tests.md "Allocate D/IRAM as IRAM/DRAM",
 * "realloc shrink buffer with EXEC CAPS"). */
static void exec_alias_round_trip_on(const chip_t *chip)
{
    if (chip->alias == ALIAS_NONE) {
        return;
    }
    boot_without_memprot(chip);
    size_t all_free = heap_caps_get_free_size(0);
    static void *kept[256];
    size_t kept_count = take_non_alias_exec_memory(kept, COUNT(kept));

    unsigned char *p = heap_caps_malloc(256, MALLOC_CAP_EXEC);
    CHECK(p != NULL);
    CHECK(esp_ptr_in_diram_iram(p));
    CHECK(is_code_address(p));
    CHECK(esp_ptr_word_aligned(p));
    CHECK(heapcaps_emu_chip_address(p) != 0); /* the alias is mapped */
    CHECK(heap_caps_get_allocated_size(p) >= 256);

    unsigned char *data = esp_ptr_diram_iram_to_dram(p);
    CHECK(esp_ptr_in_diram_dram(data));
    if (chip->alias == ALIAS_LINEAR) {
        CHECK(esp_ptr_diram_dram_to_iram(data) == p);
        CHECK(heap_caps_get_containing_block_size(data) >= 256);
        fill(p, 256, 1);
        CHECK(holds(data, 256, 1)); /* written through IRAM, read through DRAM */
        fill(data, 256, 2);
        CHECK(holds(p, 256, 2)); /* and the other way round */
    } else {
        /* Reversed word order: the first and last words of the allocation
         * have DRAM twins 252 bytes apart, both in one allocated block. */
        unsigned char *last = esp_ptr_diram_iram_to_dram(p + 252);
        CHECK_EQ((uintptr_t)data - (uintptr_t)last, 252);
        CHECK(heap_caps_get_containing_block_size(data) >= 256);
        CHECK(heap_caps_get_containing_block_size(last) >= 256);
    }

    /* Shrink, grow, move to byte memory: the data follows. */
    fill(p, 256, 3);
    unsigned char *q = heap_caps_realloc(p, 48, MALLOC_CAP_EXEC);
    CHECK(q != NULL && esp_ptr_in_diram_iram(q));
    CHECK(holds(q, 48, 3));
    q = heap_caps_realloc(q, 2000, MALLOC_CAP_EXEC);
    CHECK(q != NULL && esp_ptr_in_diram_iram(q));
    CHECK(holds(q, 48, 3));
    unsigned char *r = heap_caps_realloc(q, 1000, MALLOC_CAP_8BIT);
    CHECK(r != NULL && esp_ptr_byte_accessible(r));
    CHECK(holds(r, 48, 3));
    heap_caps_free(r);

    /* Byte memory of D/IRAM seen through its instruction alias (linear chips
     * share the pages; ESP32's reversed alias cannot, docs/emulator.md). */
    if (chip->alias == ALIAS_LINEAR) {
        unsigned char *bytes = heap_caps_malloc(1024, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
        CHECK(bytes != NULL && esp_ptr_in_diram_dram(bytes));
        unsigned char *code = esp_ptr_diram_dram_to_iram(bytes);
        CHECK(esp_ptr_in_diram_iram(code) && is_code_address(code));
        fill(bytes, 1024, 4);
        CHECK(holds(code, 1024, 4));
        fill(code, 1024, 5);
        CHECK(holds(bytes, 1024, 5));
        heap_caps_free(bytes);
    }

    free_all(kept, kept_count);
    CHECK_EQ(failure.calls, 0);
    CHECK(heap_caps_check_integrity_all(true));
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
}

static void exec_alias_round_trip_with_memory_protection_off(void **state)
{
    (void)state;
    on_every_chip(exec_alias_round_trip_on);
}

/* An aligned EXEC request is served aligned, or refused: the D/IRAM alias
 * (one word before the code) does not serve aligned requests, so with the
 * IRAM that executes at its own address used up they go elsewhere or fail
 * (docs/differences.md). */
static void aligned_exec_is_aligned_or_refused_on(const chip_t *chip)
{
    if (chip->alias == ALIAS_NONE) {
        return;
    }
    boot_without_memprot(chip);
    size_t all_free = heap_caps_get_free_size(0);
    for (size_t alignment = 8; alignment <= 64; alignment *= 2) {
        void *p = heap_caps_aligned_alloc(alignment, 100, MALLOC_CAP_EXEC);
        if (p) {
            CHECK(((uintptr_t)p & (alignment - 1)) == 0);
            heap_caps_free(p);
        }
    }
    static void *kept[256];
    size_t kept_count = take_non_alias_exec_memory(kept, COUNT(kept));
    for (size_t alignment = 8; alignment <= 64; alignment *= 2) {
        memset(&failure, 0, sizeof(failure));
        void *p = heap_caps_aligned_alloc(alignment, 100, MALLOC_CAP_EXEC);
        if (p) { /* memory that executes at its own address (RTC fast memory) */
            CHECK(((uintptr_t)p & (alignment - 1)) == 0);
            CHECK(!esp_ptr_in_diram_iram(p));
            heap_caps_free(p);
        } else {
            CHECK_EQ(failure.calls, 1);
        }
    }
    void *plain = heap_caps_malloc(100, MALLOC_CAP_EXEC); /* the alias still serves these */
    CHECK(plain != NULL && esp_ptr_in_diram_iram(plain));
    heap_caps_free(plain);
    free_all(kept, kept_count);
    CHECK(heap_caps_check_integrity_all(true));
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
}

static void aligned_exec_is_aligned_or_refused(void **state)
{
    (void)state;
    on_every_chip(aligned_exec_is_aligned_or_refused_on);
}

/* heap_caps_get_allocated_size() of an alias pointer must not promise bytes
 * outside the block: each IRAM word of [p, p + size) is written through its
 * DRAM twin (on the chip they are the same memory; the emulator shares the
 * pages on linear chips only, so the write is done on the DRAM side) and the
 * heap must stay intact. */
static void exec_alias_allocated_size_stays_inside_the_block_on(const chip_t *chip)
{
    if (chip->alias == ALIAS_NONE) {
        return;
    }
    boot_without_memprot(chip);
    static void *kept[256];
    size_t kept_count = take_non_alias_exec_memory(kept, COUNT(kept));
    /* Multiples of the alias word (see the next case for the others); the
     * smallest ones get a block larger than asked for. */
    const size_t sizes[] = {sizeof(void *), 2 * sizeof(void *), 3 * sizeof(void *), 1000};
    for (size_t i = 0; i < COUNT(sizes); i++) {
        unsigned char *p = heap_caps_malloc(sizes[i], MALLOC_CAP_EXEC);
        CHECK(p != NULL && esp_ptr_in_diram_iram(p));
        size_t usable = heap_caps_get_allocated_size(p);
        CHECK(usable >= sizes[i] && usable % 4 == 0 && usable <= 1100);
        static uint32_t saved[300];
        static uint32_t *twins[300];
        size_t words = usable / 4;
        for (size_t k = 0; k < words; k++) {
            twins[k] = esp_ptr_diram_iram_to_dram(p + 4 * k);
            memcpy(&saved[k], twins[k], 4);
            memset(twins[k], 0xA5, 4);
        }
        bool intact = heap_caps_check_integrity_all(false);
        for (size_t k = words; k-- > 0;) {
            memcpy(twins[k], &saved[k], 4);
        }
        if (!intact) {
            note_problem("writing the %zu bytes heap_caps_get_allocated_size() reports for a "
                         "%zu-byte EXEC allocation through its alias damages the heap",
                         usable, sizes[i]);
        }
        CHECK(heap_caps_check_integrity_all(true));
        heap_caps_free(p);
    }
    free_all(kept, kept_count);
    CHECK(heap_caps_check_integrity_all(true));
}

static void exec_alias_allocated_size_stays_inside_the_block(void **state)
{
    (void)state;
    on_every_chip(exec_alias_allocated_size_stays_inside_the_block_on);
}

/* EXEC sizes are word multiples (4 bytes); every one of them works through
 * the alias, whatever the size of the alias word on the host. */
static void exec_alias_sizes_on(const chip_t *chip)
{
    if (chip->alias == ALIAS_NONE) {
        return;
    }
    boot_without_memprot(chip);
    size_t all_free = heap_caps_get_free_size(0);
    static void *kept[256];
    size_t kept_count = take_non_alias_exec_memory(kept, COUNT(kept));
    for (size_t size = 1; size <= 64; size++) {
        unsigned char *p = heap_caps_malloc(size, MALLOC_CAP_EXEC);
        CHECK(p != NULL && esp_ptr_in_diram_iram(p) && esp_ptr_word_aligned(p));
        CHECK(heap_caps_get_allocated_size(p) >= size);
        fill(p, size, (unsigned)size);
        unsigned char *q = heap_caps_realloc(p, size + 20, MALLOC_CAP_EXEC);
        CHECK(q != NULL && esp_ptr_in_diram_iram(q));
        CHECK(holds(q, size, (unsigned)size));
        heap_caps_free(q);
    }
    free_all(kept, kept_count);
    CHECK(heap_caps_check_integrity_all(true));
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
}

static void exec_alias_allocations_of_every_size_work(void **state)
{
    (void)state;
    on_every_chip(exec_alias_sizes_on);
}

/* Memory protection on (the default except on ESP32): no heap is executable;
 * EXEC requests fail and report (tests.md "test memory protection features"). */
static void memory_protection_leaves_no_exec_heap_on(const chip_t *chip)
{
    if (!chip->memprot_default) {
        return;
    }
    boot_default(chip);
    CHECK_EQ(heap_caps_get_total_size(MALLOC_CAP_EXEC), 0);
    CHECK(heap_caps_malloc(64, MALLOC_CAP_EXEC) == NULL);
    CHECK_FAILURES(1, 64, MALLOC_CAP_EXEC, "heap_caps_malloc");
    CHECK(heap_caps_aligned_alloc(16, 64, MALLOC_CAP_EXEC) == NULL);
    CHECK_FAILURES(2, 64, MALLOC_CAP_EXEC, "heap_caps_aligned_alloc");
    unsigned char *data = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    fill(data, 32, 9);
    CHECK(heap_caps_realloc(data, 64, MALLOC_CAP_EXEC) == NULL);
    CHECK_FAILURES(3, 64, MALLOC_CAP_EXEC, "heap_caps_realloc");
    CHECK(holds(data, 32, 9));
    heap_caps_free(data);
}

static void memory_protection_leaves_no_exec_heap_and_exec_requests_report(void **state)
{
    (void)state;
    on_every_chip(memory_protection_leaves_no_exec_heap_on);
}

/* A region added at run time with MALLOC_CAP_EXEC under memory protection
 * keeps its other caps and serves no EXEC request (its IRAM alias is not
 * writable; docs/differences.md). */
static void memory_protection_drops_exec_from_added_regions_on(const chip_t *chip)
{
    if (!chip->memprot_default) {
        return;
    }
    boot_default(chip);
    const size_t room = 2048;
    unsigned char *region = heap_caps_malloc(room, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    CHECK(region != NULL);
    const uint32_t caps[3] = {MALLOC_CAP_EXEC | MALLOC_CAP_32BIT, 0, 0};
    CHECK_EQ(heap_caps_add_region_with_caps(caps, (intptr_t)region, (intptr_t)region + room),
             ESP_OK);
    CHECK_EQ(heap_caps_get_total_size(MALLOC_CAP_EXEC), 0);
    CHECK(heap_caps_get_free_size(MALLOC_CAP_32BIT) > 0);
    CHECK(heap_caps_malloc(64, MALLOC_CAP_EXEC) == NULL);
    CHECK_FAILURES(1, 64, MALLOC_CAP_EXEC, "heap_caps_malloc");
    CHECK(heap_caps_check_integrity_all(true));
}

static void memory_protection_drops_exec_from_regions_added_at_run_time(void **state)
{
    (void)state;
    on_every_chip(memory_protection_drops_exec_from_added_regions_on);
}

/* ============================================================ realloc across memory types */

/* tests.md "realloc move data to a new heap type" (memory protection off). */
static void realloc_moves_between_byte_and_exec_memory_on(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    options.memprot = HEAPCAPS_EMU_OFF;
    options.psram_size = chip->psram ? PSRAM_SIZE : 0;
    boot(chip, &options);
    size_t all_free = heap_caps_get_free_size(0);
    unsigned char *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    CHECK(p != NULL && esp_ptr_byte_accessible(p));
    fill(p, 64, 11);
    unsigned char *q = heap_caps_realloc(p, 64, MALLOC_CAP_EXEC);
    CHECK(q != NULL);
    if (q == p || (TEST_COMPREHENSIVE && esp_ptr_byte_accessible(q))) {
        /* The block's heap already offers EXEC (a D/IRAM heap): resized in
         * place (moved inside the heap with Comprehensive poisoning) and
         * still a data address (behaviour.md §10.2, as ESP-IDF). */
        CHECK(is_code_address(esp_ptr_diram_dram_to_iram(q)));
    } else {
        CHECK(is_code_address(q));
        if (!esp_dram_match_iram()) {
            CHECK(!esp_ptr_byte_accessible(q)); /* instruction-bus memory */
        }
    }
    CHECK(holds(q, 64, 11));
    CHECK(heap_caps_check_integrity_all(true));
    unsigned char *r = heap_caps_realloc(q, 48, MALLOC_CAP_8BIT);
    CHECK(r != NULL && esp_ptr_byte_accessible(r));
    CHECK(holds(r, 48, 11));
    heap_caps_free(r);

    /* From PSRAM, which never executes here, the block always moves. */
    if (chip->psram) {
        unsigned char *external = heap_caps_malloc(200, MALLOC_CAP_SPIRAM);
        CHECK(external != NULL && esp_ptr_external_ram(external));
        fill(external, 200, 12);
        unsigned char *code = heap_caps_realloc(external, 200, MALLOC_CAP_EXEC);
        CHECK(code != NULL && code != external && is_code_address(code));
        CHECK(!esp_ptr_external_ram(code));
        CHECK(holds(code, 200, 12));
        unsigned char *back = heap_caps_realloc(code, 100, MALLOC_CAP_SPIRAM);
        CHECK(back != NULL && esp_ptr_external_ram(back));
        CHECK(holds(back, 100, 12));
        heap_caps_free(back);
    }
    CHECK(heap_caps_check_integrity_all(true));
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
    CHECK_EQ(failure.calls, 0);
}

static void realloc_moves_between_byte_and_exec_memory_keeping_data(void **state)
{
    (void)state;
    on_every_chip(realloc_moves_between_byte_and_exec_memory_on);
}

static void realloc_moves_between_internal_ram_and_psram_on(const chip_t *chip)
{
    if (!chip->psram) {
        return;
    }
    boot_with_psram(chip);
    unsigned char *p = heap_caps_malloc(1000, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    CHECK(p != NULL && esp_ptr_internal(p));
    fill(p, 1000, 21);
    unsigned char *q = heap_caps_realloc(p, 3000, MALLOC_CAP_SPIRAM);
    CHECK(q != NULL && esp_ptr_external_ram(q) && !esp_ptr_internal(q));
    CHECK(holds(q, 1000, 21));
    unsigned char *r = heap_caps_realloc(q, 500, MALLOC_CAP_INTERNAL);
    CHECK(r != NULL && esp_ptr_internal(r) && !esp_ptr_external_ram(r));
    CHECK(holds(r, 500, 21));
    heap_caps_free(r);

    /* The malloc() policy chooses by the new size (api.md §2). */
    unsigned char *s = heap_caps_malloc_default(100);
    CHECK(s != NULL && esp_ptr_internal(s));
    fill(s, 100, 22);
    s = heap_caps_realloc_default(s, 20000);
    CHECK(s != NULL && esp_ptr_external_ram(s));
    CHECK(holds(s, 100, 22));
    s = heap_caps_realloc_default(s, 64);
    CHECK(s != NULL && esp_ptr_internal(s));
    CHECK(holds(s, 64, 22));
    heap_caps_free(s);
    CHECK_EQ(failure.calls, 0);
    CHECK(heap_caps_check_integrity_all(true));
}

static void realloc_moves_between_internal_ram_and_psram_keeping_data(void **state)
{
    (void)state;
    on_every_chip(realloc_moves_between_internal_ram_and_psram_on);
}

/* ============================================================ hardware alignment (§9) */

static const size_t odd_sizes[] = {1, 3, 16, 63, 64, 65, 100, 1000, 4097};

static void dma_requests_are_dma_capable_on(const chip_t *chip)
{
    boot_with_psram(chip);
    const uint32_t dma_caps[] = {MALLOC_CAP_DMA, MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
                                 MALLOC_CAP_DMA | MALLOC_CAP_8BIT, MALLOC_CAP_DMA_DESC_AHB,
                                 MALLOC_CAP_DMA_DESC_AXI};
    static void *blocks[COUNT(odd_sizes) * COUNT(dma_caps)];
    size_t count = 0;
    for (size_t c = 0; c < COUNT(dma_caps); c++) {
        for (size_t i = 0; i < COUNT(odd_sizes); i++) {
            void *p = heap_caps_malloc(odd_sizes[i], dma_caps[c]);
            if (!p || !esp_ptr_dma_capable(p) || !esp_ptr_internal(p) || esp_ptr_external_ram(p)) {
                fail_msg("%s: %zu bytes with caps 0x%x gave %p (chip 0x%08x), not internal DMA "
                         "memory",
                         chip->name, odd_sizes[i], (unsigned)dma_caps[c], p,
                         (unsigned)heapcaps_emu_chip_address(p));
            }
            size_t line = chip->internal_line;
            CHECK(aligned_to(p, line));
            if (dma_caps[c] == MALLOC_CAP_DMA_DESC_AXI && strcmp(chip->name, "esp32p4") == 0) {
                CHECK(aligned_to(p, 8));
            }
            size_t rounded = round_up(odd_sizes[i], line ? line : 4);
            CHECK(heap_caps_get_allocated_size(p) >= rounded);
            memset(p, 0x5A, rounded); /* the whole cache-line-rounded size is ours */
            blocks[count++] = p;
        }
    }
    CHECK(heap_caps_check_integrity_all(true));
    free_all(blocks, count);

    /* tests.md "test heap_caps_malloc_prefer / calloc_prefer for dma memory". */
    void *preferred = heap_caps_malloc_prefer(40, 1, MALLOC_CAP_DMA);
    CHECK(preferred != NULL && esp_ptr_dma_capable(preferred));
    unsigned char *zeroed = heap_caps_calloc_prefer(1, 40, 1, MALLOC_CAP_DMA);
    CHECK(zeroed != NULL && esp_ptr_dma_capable(zeroed) && zeroed[39] == 0);
    heap_caps_free(preferred);
    heap_caps_free(zeroed);

    /* A DMA realloc keeps the cache alignment (it always moves where it applies). */
    unsigned char *buffer = heap_caps_malloc(100, MALLOC_CAP_DMA);
    fill(buffer, 100, 31);
    buffer = heap_caps_realloc(buffer, 300, MALLOC_CAP_DMA);
    CHECK(buffer != NULL && esp_ptr_dma_capable(buffer) && aligned_to(buffer, chip->internal_line));
    CHECK(holds(buffer, 100, 31));
    buffer = heap_caps_realloc(buffer, 50, MALLOC_CAP_DMA);
    CHECK(buffer != NULL && esp_ptr_dma_capable(buffer) && aligned_to(buffer, chip->internal_line));
    CHECK(holds(buffer, 50, 31));
    heap_caps_free(buffer);

    void *big_aligned = heap_caps_aligned_alloc(128, 100, MALLOC_CAP_DMA);
    CHECK(big_aligned != NULL && aligned_to(big_aligned, 128) && esp_ptr_dma_capable(big_aligned));
    heap_caps_free(big_aligned);
    CHECK_EQ(failure.calls, 0);
}

static void dma_requests_are_dma_capable_and_cache_aligned(void **state)
{
    (void)state;
    on_every_chip(dma_requests_are_dma_capable_on);
}

static void dma_from_psram_on(const chip_t *chip)
{
    boot_with_psram(chip);
    const uint32_t caps = MALLOC_CAP_DMA | MALLOC_CAP_SPIRAM;
    if (!chip->psram_dma) {
        CHECK(heap_caps_malloc(100, caps) == NULL);
        CHECK_FAILURES(1, 100, caps, "heap_caps_malloc");
        return;
    }
    static void *blocks[COUNT(odd_sizes)];
    for (size_t i = 0; i < COUNT(odd_sizes); i++) {
        void *p = heap_caps_malloc(odd_sizes[i], caps);
        CHECK(p != NULL && esp_ptr_external_ram(p) && esp_ptr_dma_ext_capable(p));
        CHECK(aligned_to(p, chip->external_line));
        size_t rounded = round_up(odd_sizes[i], chip->external_line);
        CHECK(heap_caps_get_allocated_size(p) >= rounded);
        memset(p, 0xA5, rounded);
        blocks[i] = p;
    }
    unsigned char *zeroed = heap_caps_calloc(10, 10, caps);
    CHECK(zeroed != NULL && esp_ptr_external_ram(zeroed));
    CHECK(aligned_to(zeroed, chip->external_line));
    CHECK(zeroed[0] == 0 && zeroed[99] == 0);
    void *aligned = heap_caps_aligned_alloc(256, 1000, caps);
    CHECK(aligned != NULL && aligned_to(aligned, 256) && esp_ptr_external_ram(aligned));
    CHECK(heap_caps_check_integrity_all(true));
    free_all(blocks, COUNT(blocks));
    heap_caps_free(zeroed);
    heap_caps_free(aligned);
    CHECK_EQ(failure.calls, 0);
}

static void dma_from_psram_works_where_dma_reaches_psram(void **state)
{
    (void)state;
    on_every_chip(dma_from_psram_on);
}

static void simd_requests_on(const chip_t *chip)
{
    if (!chip->simd) {
        boot_default(chip);
        CHECK(heap_caps_malloc(64, MALLOC_CAP_SIMD) == NULL); /* no internal type has SIMD */
        CHECK_FAILURES(1, 64, MALLOC_CAP_SIMD, "heap_caps_malloc");
        return;
    }
    boot_with_psram(chip);
    for (size_t i = 0; i < COUNT(odd_sizes); i++) {
        void *p = heap_caps_malloc(odd_sizes[i], MALLOC_CAP_SIMD);
        CHECK(p != NULL && aligned_to(p, chip->simd));
        CHECK(heap_caps_get_allocated_size(p) >= round_up(odd_sizes[i], chip->simd));
        void *q = heap_caps_malloc(odd_sizes[i], MALLOC_CAP_SIMD | MALLOC_CAP_SPIRAM);
        CHECK(q != NULL && esp_ptr_external_ram(q) && aligned_to(q, chip->simd));
        heap_caps_free(p);
        heap_caps_free(q);
    }
    CHECK_EQ(failure.calls, 0);
}

static void simd_requests_are_simd_aligned_where_the_chip_has_simd(void **state)
{
    (void)state;
    on_every_chip(simd_requests_on);
}

static void cache_aligned_requests_on(const chip_t *chip)
{
    boot_with_psram(chip);
    for (size_t i = 0; i < COUNT(odd_sizes); i++) {
        void *p = heap_caps_malloc(odd_sizes[i], MALLOC_CAP_INTERNAL | MALLOC_CAP_CACHE_ALIGNED);
        CHECK(p != NULL && esp_ptr_internal(p) && aligned_to(p, chip->internal_line));
        CHECK(heap_caps_get_allocated_size(p) >= round_up(odd_sizes[i], chip->internal_line));
        heap_caps_free(p);
        if (chip->psram) {
            void *q = heap_caps_malloc(odd_sizes[i], MALLOC_CAP_SPIRAM | MALLOC_CAP_CACHE_ALIGNED);
            CHECK(q != NULL && esp_ptr_external_ram(q) && aligned_to(q, chip->external_line));
            CHECK(heap_caps_get_allocated_size(q) >= round_up(odd_sizes[i], chip->external_line));
            memset(q, 0x3C, round_up(odd_sizes[i], chip->external_line));
            heap_caps_free(q);
        }
    }
    CHECK_EQ(failure.calls, 0);
    CHECK(heap_caps_check_integrity_all(true));
}

static void cache_aligned_requests_align_to_the_line_of_their_memory(void **state)
{
    (void)state;
    on_every_chip(cache_aligned_requests_on);
}

/* tests.md "Capabilities aligned allocator test" (with its PSRAM variant). */
static void aligned_allocations_on(const chip_t *chip)
{
    boot_with_psram(chip);
    for (size_t alignment = 1; alignment <= 1024; alignment <<= 1) {
        unsigned char *p = heap_caps_aligned_alloc(alignment, alignment + 137, MALLOC_CAP_DEFAULT);
        CHECK(p != NULL && aligned_to(p, alignment));
        memset(p, 0xEE, alignment + 137);
        heap_caps_free(p);
        unsigned char *z = heap_caps_aligned_calloc(alignment, 1, 1024, MALLOC_CAP_DEFAULT);
        CHECK(z != NULL && aligned_to(z, alignment) && z[0] == 0 && z[1023] == 0);
        heap_caps_free(z);
    }
    if (chip->psram) {
        for (size_t alignment = 4; alignment <= 512 * 1024; alignment <<= 1) {
            void *p = heap_caps_aligned_alloc(alignment, 10 * 1024, MALLOC_CAP_SPIRAM);
            CHECK(p != NULL && aligned_to(p, alignment) && esp_ptr_external_ram(p));
            heap_caps_free(p);
        }
    }
    CHECK(heap_caps_aligned_calloc(1025, 1, 1024, MALLOC_CAP_32BIT) == NULL);
    CHECK(heap_caps_aligned_alloc(32, 0, MALLOC_CAP_DEFAULT) == NULL);
    CHECK_EQ(failure.calls, 0);
    CHECK(heap_caps_check_integrity_all(true));
}

static void aligned_allocations_honour_the_alignment_in_every_memory(void **state)
{
    (void)state;
    on_every_chip(aligned_allocations_on);
}

/* ============================================================ PSRAM and the malloc() policy */

/* tests.md "Check if default cap allocates in external memory in priority". */
static void default_caps_prefer_psram_on(const chip_t *chip)
{
    if (!chip->psram) {
        return;
    }
    boot_with_psram(chip);
    size_t internal = heap_caps_get_free_size(MALLOC_CAP_INTERNAL);
    size_t external = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    void *p = heap_caps_malloc(256, MALLOC_CAP_DEFAULT);
    CHECK(p != NULL);
    if (esp_ptr_external_ram(p)) {
        CHECK_EQ(heap_caps_get_free_size(MALLOC_CAP_INTERNAL), internal);
        CHECK(heap_caps_get_free_size(MALLOC_CAP_SPIRAM) <= external - 256);
    } else {
        note_problem("heap_caps_malloc(256, MALLOC_CAP_DEFAULT) came from internal RAM (0x%08x)",
                     (unsigned)heapcaps_emu_chip_address(p));
    }
    heap_caps_free(p);
    CHECK_EQ(heap_caps_get_free_size(MALLOC_CAP_SPIRAM), external);
    heapcaps_emu_shutdown();

    /* CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=0 (ESP-IDF's psram_all_ext): malloc() too. */
    heapcaps_emu_options_t options = app_options();
    options.psram_size = PSRAM_SIZE;
    options.psram_always_internal = HEAPCAPS_EMU_NONE;
    boot(chip, &options);
    internal = heap_caps_get_free_size(MALLOC_CAP_INTERNAL);
    void *q = heap_caps_malloc_default(256);
    CHECK(q != NULL && esp_ptr_external_ram(q));
    CHECK_EQ(heap_caps_get_free_size(MALLOC_CAP_INTERNAL), internal);
    heap_caps_free(q);
}

static void default_caps_prefer_psram_and_leave_internal_free_size(void **state)
{
    (void)state;
    on_every_chip(default_caps_prefer_psram_on);
}

static void malloc_policy_on(const chip_t *chip)
{
    if (!chip->psram) {
        return;
    }
    boot_with_psram(chip);
    void *small = heap_caps_malloc_default(16384);
    void *large = heap_caps_malloc_default(16385);
    CHECK(small != NULL && esp_ptr_internal(small));
    CHECK(large != NULL && esp_ptr_external_ram(large));
    heap_caps_free(small);
    heap_caps_free(large);

    /* PSRAM exhausted: a large request falls back to internal RAM, silently. */
    static void *blocks[512];
    size_t count = 0;
    size_t largest;
    while ((largest = heap_caps_get_largest_free_block(MALLOC_CAP_SPIRAM)) >= 64 &&
           count < COUNT(blocks)) {
        blocks[count] = heap_caps_malloc(largest, MALLOC_CAP_SPIRAM);
        CHECK(blocks[count] != NULL);
        count++;
    }
    CHECK(count < COUNT(blocks));
    void *fallback = heap_caps_malloc_default(20000);
    CHECK(fallback != NULL && esp_ptr_internal(fallback));
    heap_caps_free(fallback);
    free_all(blocks, count);

    /* Internal RAM exhausted: a small request falls back to PSRAM. */
    count = 0;
    while ((largest = heap_caps_get_largest_free_block(MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL)) >=
               64 &&
           count < COUNT(blocks)) {
        blocks[count] = heap_caps_malloc(largest, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL);
        CHECK(blocks[count] != NULL);
        count++;
    }
    CHECK(count < COUNT(blocks));
    void *external = heap_caps_malloc_default(64);
    CHECK(external != NULL && esp_ptr_external_ram(external));
    heap_caps_free(external);
    free_all(blocks, count);
    CHECK_EQ(failure.calls, 0);

    /* Other limits. */
    heap_caps_malloc_extmem_enable(0);
    void *one = heap_caps_malloc_default(1);
    CHECK(one != NULL && esp_ptr_external_ram(one));
    heap_caps_malloc_extmem_enable(1000);
    void *at = heap_caps_malloc_default(1000);
    void *above = heap_caps_malloc_default(1001);
    CHECK(at != NULL && esp_ptr_internal(at));
    CHECK(above != NULL && esp_ptr_external_ram(above));
    heap_caps_malloc_extmem_enable(SIZE_MAX); /* (int)-1: external use disabled */
    void *internal = heap_caps_malloc_default(20000);
    CHECK(internal != NULL && esp_ptr_internal(internal));
    CHECK(heap_caps_malloc_default(BIG_SIZE) == NULL);
    CHECK_FAILURES(1, BIG_SIZE, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, "heap_caps_malloc");
    heap_caps_free(one);
    heap_caps_free(at);
    heap_caps_free(above);
    heap_caps_free(internal);
    CHECK(heap_caps_check_integrity_all(true));
}

static void malloc_policy_splits_at_the_limit_and_falls_back_to_the_other_side(void **state)
{
    (void)state;
    on_every_chip(malloc_policy_on);
}

typedef struct {
    intptr_t start[64], end[64];
    size_t heaps;
    bool used[64];
} heap_list_t;

/* Walker: the distinct heaps seen, and whether each has a used block. */
static bool note_heap(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    heap_list_t *list = user;
    size_t i = 0;
    while (i < list->heaps && list->start[i] != heap.start) {
        i++;
    }
    if (i == list->heaps && i < COUNT(list->start)) {
        list->start[i] = heap.start;
        list->end[i] = heap.end;
        list->used[i] = false;
        list->heaps++;
    }
    if (i < COUNT(list->start) && block.used) {
        list->used[i] = true;
    }
    return true;
}

/* CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL: 32768 bytes of DMA/internal memory
 * registered again, after startup, as a heap of its own (ESP-IDF passes
 * start + size - 1 as the end), whose minimum is 0 (behaviour.md §5, §7). */
static void reserve_pool_on(const chip_t *chip)
{
    if (!chip->psram) {
        return;
    }
    heapcaps_emu_options_t options = app_options();
    options.psram_size = PSRAM_SIZE;
    options.psram_reserve_internal = HEAPCAPS_EMU_NONE;
    boot(chip, &options);
    /* Without the pool every DMA/internal heap was there at startup. */
    CHECK_EQ(heap_caps_get_minimum_free_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL),
             heap_caps_get_free_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL));
    heapcaps_emu_shutdown();

    boot_with_psram(chip);
    static heap_list_t list;
    memset(&list, 0, sizeof(list));
    heap_caps_walk(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL, note_heap, &list);
    size_t pools = 0, pool = 0;
    for (size_t i = 0; i < list.heaps; i++) {
        if (list.end[i] - list.start[i] == 32767) {
            pools++;
            pool = i;
        }
    }
    CHECK_EQ(pools, 1);
    CHECK(!list.used[pool]);
    size_t free_now = heap_caps_get_free_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL);
    size_t minimum = heap_caps_get_minimum_free_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL);
    /* The pool's free bytes are all that the minimum lacks. */
    CHECK(free_now - minimum > 30000 && free_now - minimum < 32767);
    /* malloc() leaves the pool for DMA/internal requests. */
    void *p = heap_caps_malloc_default(100);
    CHECK(p != NULL && esp_ptr_internal(p));
    CHECK(!((intptr_t)p >= list.start[pool] && (intptr_t)p < list.end[pool]));
    heap_caps_free(p);
}

static void dma_internal_reserve_pool_is_a_heap_added_after_startup(void **state)
{
    (void)state;
    on_every_chip(reserve_pool_on);
}

/* ============================================================ RTC memory */

/* tests.md "RTC memory should be lowest priority and its free size should be big enough". */
static void rtc_memory_on(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    options.rtc_heap = HEAPCAPS_EMU_ON; /* ESP32: a single-core build's option */
    boot(chip, &options);
    CHECK(heap_caps_get_total_size(MALLOC_CAP_RTCRAM) > 0);
    CHECK_EQ(heap_caps_get_minimum_free_size(MALLOC_CAP_RTCRAM),
             heap_caps_get_free_size(MALLOC_CAP_RTCRAM));
    void *p = heap_caps_malloc(4096, MALLOC_CAP_DEFAULT);
    CHECK(p != NULL && !in_rtc_memory(p));
    void *rtc = heap_caps_malloc(16, MALLOC_CAP_RTCRAM);
    CHECK(rtc != NULL && in_rtc_memory(rtc));
    heap_caps_free(p);
    heap_caps_free(rtc);
}

static void rtc_memory_is_not_used_for_default_requests_first(void **state)
{
    (void)state;
    on_every_chip(rtc_memory_on);
}

/* ============================================================ failure callback and abort */

static void failure_callback_on(const chip_t *chip)
{
    boot_default(chip);
    size_t n = 0;
    CHECK(heap_caps_malloc(0, MALLOC_CAP_8BIT) == NULL);
    CHECK_EQ(failure.calls, n);
    CHECK(heap_caps_malloc(16, 0) == NULL);
    CHECK_FAILURES(++n, 16, 0, "heap_caps_malloc");
    CHECK(heap_caps_malloc(16, MALLOC_CAP_INVALID) == NULL);
    CHECK_FAILURES(++n, 16, MALLOC_CAP_INVALID, "heap_caps_malloc");
    CHECK(heap_caps_malloc(BIG_SIZE, MALLOC_CAP_DEFAULT) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, MALLOC_CAP_DEFAULT, "heap_caps_malloc");

    /* calloc: reported when the element size is not 0 (api.md §1.4). */
    CHECK(heap_caps_calloc(0, 16, MALLOC_CAP_8BIT) == NULL);
    CHECK_FAILURES(++n, 0, MALLOC_CAP_8BIT, "heap_caps_calloc");
    CHECK(heap_caps_calloc(16, 0, MALLOC_CAP_8BIT) == NULL);
    CHECK(heap_caps_calloc(0, 0, MALLOC_CAP_8BIT) == NULL);
    CHECK_EQ(failure.calls, n);
    size_t elements = SIZE_MAX / 2 + 4;
    CHECK(heap_caps_calloc(elements, 2, MALLOC_CAP_8BIT) == NULL);
    CHECK_FAILURES(++n, elements * 2, MALLOC_CAP_8BIT, "heap_caps_calloc"); /* wrapped product */

    /* realloc */
    CHECK(heap_caps_realloc(NULL, 0, MALLOC_CAP_8BIT) == NULL);
    CHECK_EQ(failure.calls, n);
    unsigned char *p = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    fill(p, 32, 41);
    CHECK(heap_caps_realloc(p, BIG_SIZE, MALLOC_CAP_8BIT) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, MALLOC_CAP_8BIT, "heap_caps_realloc");
    CHECK(holds(p, 32, 41));
    CHECK(heap_caps_realloc(p, 0, MALLOC_CAP_8BIT) == NULL); /* freed, not a failure */
    CHECK(heap_caps_realloc(NULL, 16, MALLOC_CAP_INVALID) == NULL);
    CHECK_FAILURES(++n, 16, MALLOC_CAP_INVALID, "heap_caps_realloc");

    /* aligned: bad arguments are silent, too large and no memory report. */
    CHECK(heap_caps_aligned_alloc(0, 64, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_aligned_alloc(24, 64, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_aligned_alloc(32, 0, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_aligned_calloc(32, SIZE_MAX / 2, 4, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_aligned_calloc(1025, 1, 1024, MALLOC_CAP_32BIT) == NULL);
    CHECK_EQ(failure.calls, n);
    CHECK(heap_caps_aligned_alloc(32, SIZE_MAX / 2, MALLOC_CAP_DEFAULT) == NULL);
    CHECK_FAILURES(++n, SIZE_MAX / 2, MALLOC_CAP_DEFAULT, "heap_caps_aligned_alloc");
    CHECK(heap_caps_aligned_alloc(32, 64, MALLOC_CAP_INVALID) == NULL);
    CHECK_FAILURES(++n, 64, MALLOC_CAP_INVALID, "heap_caps_aligned_alloc");
    CHECK(heap_caps_aligned_calloc(32, 1, BIG_SIZE, MALLOC_CAP_DEFAULT) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, MALLOC_CAP_DEFAULT, "heap_caps_aligned_alloc");

    /* Preference lists report once, with the last caps tried. */
    CHECK(heap_caps_malloc_prefer(64, 2, MALLOC_CAP_INVALID, CUSTOM_CAP) == NULL);
    CHECK_FAILURES(++n, 64, CUSTOM_CAP, "heap_caps_malloc_prefer");
    CHECK(heap_caps_malloc_prefer(64, 0) == NULL);
    CHECK_FAILURES(++n, 64, MALLOC_CAP_DEFAULT, "heap_caps_malloc_prefer");
    CHECK(heap_caps_malloc_prefer(0, 1, MALLOC_CAP_8BIT) == NULL);
    CHECK_EQ(failure.calls, n);
    CHECK(heap_caps_calloc_prefer(4, 16, 2, CUSTOM_CAP, MALLOC_CAP_INVALID) == NULL);
    CHECK_FAILURES(++n, 16, MALLOC_CAP_INVALID, "heap_caps_calloc_prefer"); /* element size */
    CHECK(heap_caps_calloc_prefer(4, 0, 1, CUSTOM_CAP) == NULL);
    CHECK_EQ(failure.calls, n);
    CHECK(heap_caps_realloc_prefer(NULL, 64, 2, CUSTOM_CAP, MALLOC_CAP_INVALID) == NULL);
    CHECK_FAILURES(++n, 64, MALLOC_CAP_INVALID, "heap_caps_realloc_prefer");
    void *preferred = heap_caps_malloc_prefer(64, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
    CHECK(preferred != NULL);
    heap_caps_free(preferred);
    CHECK_EQ(failure.calls, n);

    /* malloc() policy without PSRAM: plain heap_caps calls with DEFAULT|INTERNAL. */
    const uint32_t internal = MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL;
    CHECK(heap_caps_malloc_default(0) == NULL);
    CHECK_EQ(failure.calls, n);
    CHECK(heap_caps_malloc_default(BIG_SIZE) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, internal, "heap_caps_malloc");
    CHECK(heap_caps_realloc_default(NULL, BIG_SIZE) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, internal, "heap_caps_realloc");
    CHECK(heap_caps_aligned_alloc_default(16, BIG_SIZE) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, internal, "heap_caps_aligned_alloc");
}

static void failure_callback_fires_exactly_where_the_api_says(void **state)
{
    (void)state;
    on_every_chip(failure_callback_on);
}

static void default_failures_with_psram_on(const chip_t *chip)
{
    if (!chip->psram) {
        return;
    }
    boot_with_psram(chip);
    size_t n = 0;
    CHECK(heap_caps_malloc_default(0) == NULL);
    CHECK_EQ(failure.calls, 0);
    CHECK(heap_caps_malloc_default(BIG_SIZE) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, MALLOC_CAP_DEFAULT, "heap_caps_malloc_default");
    unsigned char *p = heap_caps_malloc_default(64);
    fill(p, 64, 51);
    CHECK(heap_caps_realloc_default(p, BIG_SIZE) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, MALLOC_CAP_DEFAULT, "heap_caps_realloc_default");
    CHECK(holds(p, 64, 51));
    heap_caps_free(p);
    CHECK(heap_caps_aligned_alloc_default(0, 64) == NULL);
    CHECK(heap_caps_aligned_alloc_default(24, 64) == NULL);
    CHECK(heap_caps_aligned_alloc_default(16, 0) == NULL);
    CHECK_EQ(failure.calls, n);
    CHECK(heap_caps_aligned_alloc_default(16, BIG_SIZE) == NULL);
    CHECK_FAILURES(++n, BIG_SIZE, MALLOC_CAP_DEFAULT, "heap_caps_aligned_alloc_default");
    CHECK(heap_caps_aligned_alloc_default(16, SIZE_MAX / 2) == NULL);
    CHECK_FAILURES(++n, SIZE_MAX / 2, MALLOC_CAP_DEFAULT, "heap_caps_aligned_alloc_default");
}

static void malloc_policy_failures_report_default_caps_once(void **state)
{
    (void)state;
    on_every_chip(default_failures_with_psram_on);
}

/* ------------------------------------------------------------ forked abort */

static size_t doomed_size;
static uint32_t doomed_caps;

static void announce_failure(size_t size, uint32_t caps, const char *function_name)
{
    (void)size;
    (void)caps;
    fprintf(stderr, "[callback %s]\n", function_name);
    fflush(stderr);
}

static void fail_with_abort_on(void *context)
{
    (void)context;
    heap_caps_register_failed_alloc_callback(announce_failure);
    heapcaps_set_abort_on_alloc_failure(true);
    heap_caps_malloc(doomed_size, doomed_caps);
}

static void expect_abort_message(size_t size, uint32_t caps, const char *message)
{
    char out[2048];
    doomed_size = size;
    doomed_caps = caps;
    int status = run_forked(fail_with_abort_on, NULL, out, sizeof(out));
    if (!child_aborted(status)) {
        fail_msg("%s: expected an abort, got status 0x%x; stderr: %s", chip_name(), status, out);
    }
    const char *callback = strstr(out, "[callback heap_caps_malloc]");
    const char *abort_line = strstr(out, message);
    if (!callback || !abort_line || abort_line < callback) {
        fail_msg("%s: expected the callback, then '%s', in: %s", chip_name(), message, out);
    }
}

static void abort_on_failure_on(const chip_t *chip)
{
    boot_default(chip);
    expect_abort_message(BIG_SIZE, MALLOC_CAP_DEFAULT,
                         "Mem alloc fail. size 0x08000000 caps 0x00001000");
    if (strcmp(chip->name, "esp32") == 0) {
        expect_abort_message(0x0ABCDEF0, MALLOC_CAP_INVALID | MALLOC_CAP_DMA | MALLOC_CAP_8BIT,
                             "Mem alloc fail. size 0x0abcdef0 caps 0x8000000c");
    }
    /* The parent's setting is untouched by the child's. */
    CHECK(heap_caps_malloc(BIG_SIZE, MALLOC_CAP_DEFAULT) == NULL);
    CHECK_FAILURES(1, BIG_SIZE, MALLOC_CAP_DEFAULT, "heap_caps_malloc");
    /* A reboot restores the build's setting (off). */
    CHECK(!heapcaps_set_abort_on_alloc_failure(true));
    heapcaps_emu_shutdown();
    boot_default(chip);
    CHECK(!heapcaps_set_abort_on_alloc_failure(false));
}

static void failed_allocation_aborts_after_the_callback_when_configured(void **state)
{
    (void)state;
    on_every_chip(abort_on_failure_on);
}

/* ============================================================ sizes that cannot be served */

/* tests.md "alloc overflows should all fail" and "unreasonable allocs should
 * all fail", plus the hardware-alignment round-ups near SIZE_MAX. */
static void impossible_sizes_on(const chip_t *chip)
{
    heapcaps_emu_options_t options = app_options();
    options.psram_size = chip->psram ? PSRAM_SIZE : 0;
    options.memprot = HEAPCAPS_EMU_OFF;
    boot(chip, &options);
    size_t all_free = heap_caps_get_free_size(0);

    CHECK(heap_caps_calloc(SIZE_MAX / 2 + 4, 2, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_malloc_default(SIZE_MAX - 1) == NULL);
    CHECK(heap_caps_calloc(SIZE_MAX - 1, 1, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_malloc(SIZE_MAX - 1, MALLOC_CAP_32BIT) == NULL);
    CHECK(heap_caps_malloc(SIZE_MAX - 1, MALLOC_CAP_EXEC) == NULL);

    const size_t huge[] = {SIZE_MAX,      SIZE_MAX - 1, SIZE_MAX - 2,    SIZE_MAX - 3,
                           SIZE_MAX - 63, SIZE_MAX / 2, SIZE_MAX / 2 + 1};
    const uint32_t caps[] = {MALLOC_CAP_8BIT,
                             MALLOC_CAP_32BIT,
                             MALLOC_CAP_EXEC,
                             MALLOC_CAP_DMA,
                             MALLOC_CAP_DMA_DESC_AXI,
                             MALLOC_CAP_SIMD,
                             MALLOC_CAP_INTERNAL | MALLOC_CAP_CACHE_ALIGNED,
                             MALLOC_CAP_SPIRAM | MALLOC_CAP_CACHE_ALIGNED,
                             MALLOC_CAP_SPIRAM | MALLOC_CAP_DMA,
                             MALLOC_CAP_DEFAULT};
    unsigned char *kept = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    fill(kept, 40, 61);
    for (size_t i = 0; i < COUNT(huge); i++) {
        for (size_t c = 0; c < COUNT(caps); c++) {
            if (heap_caps_malloc(huge[i], caps[c]) != NULL ||
                heap_caps_aligned_alloc(64, huge[i], caps[c]) != NULL ||
                heap_caps_calloc(1, huge[i], caps[c]) != NULL ||
                heap_caps_realloc(kept, huge[i], caps[c]) != NULL) {
                fail_msg("%s: %#zx bytes with caps 0x%x were allocated", chip->name, huge[i],
                         (unsigned)caps[c]);
            }
        }
    }
    CHECK(holds(kept, 40, 61));
    heap_caps_free(kept);

    CHECK(heap_caps_calloc(16, 1024 * 1024, MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_malloc_default(16 * 1024 * 1024) == NULL);
    CHECK(heap_caps_malloc_default(SIZE_MAX / 2) == NULL);
    CHECK(heap_caps_malloc_default(SIZE_MAX - 256) == NULL);
    CHECK(heap_caps_malloc_default(esp_get_free_heap_size() - 1) == NULL);
    CHECK(heap_caps_malloc(esp_get_free_heap_size(), MALLOC_CAP_DEFAULT) == NULL);
    CHECK(heap_caps_check_integrity_all(true));
    CHECK_EQ(heap_caps_get_free_size(0), all_free);
}

static void overflowing_and_unreasonable_sizes_fail(void **state)
{
    (void)state;
    on_every_chip(impossible_sizes_on);
}

/* ============================================================ minimum free */

/* tests.md "heap caps minimum free bytes monitoring" and "... fault cases". */
static void minimum_monitoring_on(const chip_t *chip)
{
    boot_default(chip);
    void *big = heap_caps_malloc(8000, MALLOC_CAP_8BIT);
    heap_caps_free(big);
    size_t lifetime = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT);
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    size_t local = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT);
    CHECK(local >= lifetime);
    void *p = heap_caps_malloc(400, MALLOC_CAP_8BIT);
    heap_caps_free(p);
    CHECK(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT) <= local - 400);
    size_t local_after = heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT);
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
    CHECK(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT) <= local_after);
    CHECK(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT) <= lifetime);

    /* Fault cases: start twice is fine, stop twice is not. */
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
    CHECK(heap_caps_monitor_local_minimum_free_size_stop() != ESP_OK);
}

static void minimum_free_monitoring_starts_stops_and_refuses_a_second_stop(void **state)
{
    (void)state;
    on_every_chip(minimum_monitoring_on);
}

/* A region added while monitoring goes to the head of the heap list: every
 * other heap still gets its own saved minimum back at the stop, and the new
 * heap keeps its own (0: it was added after startup). */
static void monitoring_across_add_region_on(const chip_t *chip)
{
    boot_with_psram(chip);
    static const uint32_t watched[] = {MALLOC_CAP_SPIRAM, MALLOC_CAP_INTERNAL, MALLOC_CAP_DMA,
                                       MALLOC_CAP_DEFAULT, MALLOC_CAP_32BIT};
    char *buffer = heap_caps_malloc(3500, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    CHECK(buffer != NULL);
    size_t lifetime[COUNT(watched)];
    for (size_t i = 0; i < COUNT(watched); ++i) {
        lifetime[i] = heap_caps_get_minimum_free_size(watched[i]);
    }
    size_t psram_free = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    const uint32_t caps[3] = {INVENTED_CAP, 0, 0};
    CHECK_EQ(heap_caps_add_region_with_caps(caps, (intptr_t)buffer, (intptr_t)buffer + 3500),
             ESP_OK);
    CHECK_EQ(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
    for (size_t i = 0; i < COUNT(watched); ++i) {
        CHECK(heap_caps_get_minimum_free_size(watched[i]) <= lifetime[i]);
    }
    /* PSRAM was not touched: its lifetime minimum comes back exactly. */
    CHECK_EQ(heap_caps_get_minimum_free_size(MALLOC_CAP_SPIRAM), lifetime[0]);
    CHECK_EQ(heap_caps_get_free_size(MALLOC_CAP_SPIRAM), psram_free);
    CHECK_EQ(heap_caps_get_minimum_free_size(INVENTED_CAP), 0);
}

static void monitoring_gives_each_heap_its_own_minimum_across_add_region(void **state)
{
    (void)state;
    on_every_chip(monitoring_across_add_region_on);
}

/* tests.md "heap registered after startup should not affect minimum free size". */
static void late_heap_minimum_on(const chip_t *chip)
{
    boot_default(chip);
    char *buffer = heap_caps_malloc(3500, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    CHECK(buffer != NULL);
    size_t default_minimum = heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT);
    const uint32_t caps[3] = {INVENTED_CAP, 0, 0};
    CHECK_EQ(heap_caps_add_region_with_caps(caps, (intptr_t)buffer, (intptr_t)buffer + 3500),
             ESP_OK);
    CHECK_EQ(heap_caps_get_minimum_free_size(INVENTED_CAP), 0);
    CHECK(heap_caps_get_free_size(INVENTED_CAP) > 0);
    CHECK(heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT) <= default_minimum);
    void *p = heap_caps_malloc(100, INVENTED_CAP);
    CHECK(p != NULL && inside(p, buffer, 3500));
    heap_caps_free(p);
    CHECK(heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT) <= default_minimum);
}

static void heap_registered_after_startup_reports_minimum_zero(void **state)
{
    (void)state;
    on_every_chip(late_heap_minimum_on);
}

/* ============================================================ runtime regions */

static void add_region_on(const chip_t *chip)
{
    boot_default(chip);
    char *start = heapcaps_emu_host_ptr(chip->static_ram);
    const size_t size = 0x1000;
    size_t before[32];
    for (unsigned bit = 0; bit < 32; bit++) {
        before[bit] = heap_caps_get_total_size(1u << bit);
    }
    CHECK_EQ(heap_caps_add_region((intptr_t)start, (intptr_t)start + (intptr_t)size), ESP_OK);
    /* The new heap has exactly the caps of the memory type of its region. */
    for (unsigned bit = 0; bit < 32; bit++) {
        size_t grown = heap_caps_get_total_size(1u << bit) - before[bit];
        size_t expected = (chip->static_caps & (1u << bit)) ? size : 0;
        if (grown != expected) {
            fail_msg("%s: caps bit %u grew by %zu, expected %zu", chip->name, bit, grown, expected);
        }
    }
    /* Runtime heaps come first: the type's caps are served from it. */
    void *p = heap_caps_malloc(64, chip->static_caps);
    CHECK(p != NULL && inside(p, start, size));
    fill(p, 64, 71);
    CHECK(holds(p, 64, 71));
    heap_caps_free(p);

    CHECK_EQ(heap_caps_add_region((intptr_t)start, (intptr_t)start + (intptr_t)size), ESP_FAIL);
    CHECK_EQ(heap_caps_add_region((intptr_t)start - 0x100, (intptr_t)start + 0x100), ESP_FAIL);
    CHECK_EQ(heap_caps_add_region((intptr_t)start + 0x800, (intptr_t)start + 0x1800), ESP_FAIL);
    CHECK_EQ(heap_caps_add_region(0, 0x100), ESP_ERR_INVALID_ARG);

    /* Addresses in no region of the chip. */
    static char outside[4096];
    CHECK_EQ(heap_caps_add_region((intptr_t)outside, (intptr_t)outside + 4096), ESP_ERR_NOT_FOUND);
    intptr_t nowhere = (intptr_t)heapcaps_emu_host_ptr(0x10000000);
    CHECK_EQ(heap_caps_add_region(nowhere, nowhere + 0x1000), ESP_ERR_NOT_FOUND);
    CHECK(heap_caps_check_integrity_all(true));
}

static void runtime_region_takes_the_caps_of_its_chip_region(void **state)
{
    (void)state;
    on_every_chip(add_region_on);
}

/* 64 heaps with a capability of their own leave every other request, and
 * every free, to the chip's heaps. */
static void extra_heaps_on(const chip_t *chip)
{
    boot_default(chip);
    enum { HEAPS = 64, HEAP_SIZE = 768 }; /* room for the blocks with owner word and poisoning */
    char *area = heap_caps_malloc(HEAPS * HEAP_SIZE, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    CHECK(area != NULL);
    const uint32_t caps[3] = {CUSTOM_CAP, 0, 0};
    for (int i = 0; i < HEAPS; i++) {
        intptr_t start = (intptr_t)area + i * HEAP_SIZE;
        CHECK_EQ(heap_caps_add_region_with_caps(caps, start, start + HEAP_SIZE), ESP_OK);
    }
    size_t default_free = heap_caps_get_free_size(MALLOC_CAP_DEFAULT);
    static void *blocks[2048];
    for (size_t i = 0; i < 200; i++) {
        uint32_t want = i % 2 == 0 ? CUSTOM_CAP : i % 4 == 1 ? MALLOC_CAP_DEFAULT : MALLOC_CAP_8BIT;
        void *p = heap_caps_malloc(8 + i % 64, want);
        CHECK(p != NULL);
        CHECK(inside(p, area, HEAPS * HEAP_SIZE) == (want == CUSTOM_CAP));
        blocks[i] = p;
    }
    free_all(blocks, 200);
    CHECK_EQ(heap_caps_get_free_size(MALLOC_CAP_DEFAULT), default_free);

    /* Every one of them serves the custom capability. */
    bool served[HEAPS] = {false};
    size_t count = 0;
    while (count < COUNT(blocks)) {
        void *p = heap_caps_malloc(16, CUSTOM_CAP);
        if (!p) {
            break;
        }
        CHECK(inside(p, area, HEAPS * HEAP_SIZE));
        served[((uintptr_t)p - (uintptr_t)area) / HEAP_SIZE] = true;
        blocks[count++] = p;
    }
    CHECK(count < COUNT(blocks));
    CHECK_FAILURES(1, 16, CUSTOM_CAP, "heap_caps_malloc");
    for (int i = 0; i < HEAPS; i++) {
        if (!served[i]) {
            fail_msg("%s: extra heap %d never served the custom capability", chip->name, i);
        }
    }
    free_all(blocks, count);
    multi_heap_info_t info;
    heap_caps_get_info(&info, CUSTOM_CAP);
    CHECK_EQ(info.allocated_blocks, 0);
    CHECK_EQ(info.free_blocks, HEAPS);
    CHECK(heap_caps_check_integrity_all(true));
}

static void sixty_four_extra_heaps_leave_default_requests_to_the_chip(void **state)
{
    (void)state;
    on_every_chip(extra_heaps_on);
}

/* ============================================================ esp_system.h */

static void esp_system_figures_on(const chip_t *chip)
{
    boot_with_psram(chip);
    void *a = heap_caps_malloc(3000, MALLOC_CAP_DMA);
    void *b = heap_caps_malloc_default(30000);
    void *c = heap_caps_malloc(500, MALLOC_CAP_DEFAULT);
    heap_caps_free(a);
    CHECK_EQ(esp_get_free_heap_size(), heap_caps_get_free_size(MALLOC_CAP_DEFAULT));
    CHECK_EQ(esp_get_free_internal_heap_size(),
             heap_caps_get_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL));
    CHECK_EQ(esp_get_minimum_free_heap_size(), heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT));
    CHECK(esp_get_minimum_free_heap_size() <= esp_get_free_heap_size());
    heap_caps_free(b);
    heap_caps_free(c);
}

static void esp_system_heap_figures_equal_their_heap_caps_definitions(void **state)
{
    (void)state;
    on_every_chip(esp_system_figures_on);
}

/* ============================================================ walker */

#define WALK_TAG 0x9876BAABu

typedef struct {
    void *wanted;
    size_t hits, heaps_seen;
    intptr_t heap_start, heap_end;
    size_t block_size;
    bool tagged, used;
    bool saw_block_past_end;
} walk_seen_t;

static bool find_tagged_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_seen_t *seen = user;
    if (block.ptr == TEST_HC_BLOCK(seen->wanted)) {
        uint32_t tag;
        memcpy(&tag, seen->wanted, sizeof(tag));
        seen->hits++;
        seen->heap_start = heap.start;
        seen->heap_end = heap.end;
        seen->block_size = block.size;
        seen->tagged = tag == WALK_TAG;
        seen->used = block.used;
    }
    return true;
}

static bool stop_at_first_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    (void)heap;
    (void)block;
    ((walk_seen_t *)user)->heaps_seen++;
    return false;
}

/* tests.md "heap walker". */
static void walker_on(const chip_t *chip)
{
    boot_with_psram(chip);
    void *p = heap_caps_malloc(16, MALLOC_CAP_DEFAULT);
    CHECK(p != NULL);
    uint32_t tag = WALK_TAG;
    memcpy(p, &tag, sizeof(tag));
    walk_seen_t seen = {.wanted = p};
    heap_caps_walk_all(find_tagged_block, &seen);
    CHECK_EQ(seen.hits, 1);
    CHECK(seen.used && seen.tagged && seen.block_size >= 16);
    CHECK(seen.block_size >= heap_caps_get_allocated_size(p)); /* plus any metadata */
    CHECK((intptr_t)p >= seen.heap_start && (intptr_t)p < seen.heap_end);
    walk_seen_t by_caps = {.wanted = p};
    heap_caps_walk(MALLOC_CAP_DEFAULT, find_tagged_block, &by_caps);
    CHECK_EQ(by_caps.hits, 1);

    /* A false return ends the walk of one heap only. */
    static heap_list_t list;
    memset(&list, 0, sizeof(list));
    heap_caps_walk_all(note_heap, &list);
    walk_seen_t first_blocks = {.wanted = NULL};
    heap_caps_walk_all(stop_at_first_block, &first_blocks);
    CHECK(list.heaps > 1);
    CHECK_EQ(first_blocks.heaps_seen, list.heaps);
    heap_caps_free(p);
}

static void heap_walker_finds_a_tagged_block_in_its_heap(void **state)
{
    (void)state;
    on_every_chip(walker_on);
}

static bool stop_past_the_heap_end(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_seen_t *seen = user;
    if (block.size > (size_t)(heap.end - (intptr_t)block.ptr)) {
        seen->saw_block_past_end =
            seen->saw_block_past_end || block.ptr == TEST_HC_BLOCK(seen->wanted);
        return false;
    }
    return true;
}

/* tests.md "heap walker corrupted heap detection". */
static void corrupted_walk_on(const chip_t *chip)
{
    boot_default(chip);
    size_t *p = heap_caps_malloc(16, MALLOC_CAP_DEFAULT);
    void *guard = heap_caps_malloc(16, MALLOC_CAP_DEFAULT);
    CHECK(p != NULL && guard != NULL);
    size_t *size_word = (size_t *)TEST_HC_BLOCK(p) - 1;
    size_t saved = *size_word;
    *size_word = (size_t)0xFF000000u;
    walk_seen_t seen = {.wanted = p};
    heap_caps_walk_all(stop_past_the_heap_end, &seen);
    bool intact = heap_caps_check_integrity_all(false);
    *size_word = saved;
    CHECK(seen.saw_block_past_end);
    CHECK(!intact);
    CHECK(heap_caps_check_integrity_all(true));
    heap_caps_free(p);
    heap_caps_free(guard);
}

static void heap_walker_survives_a_corrupted_size_word(void **state)
{
    (void)state;
    on_every_chip(corrupted_walk_on);
}

/* ============================================================ */

#define CHIP_TEST(fn) cmocka_unit_test_teardown(fn, shutdown_after)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CHIP_TEST(word_requests_on_esp32_use_iram_then_dram_then_diram),
        CHIP_TEST(byte_requests_never_come_from_word_only_iram),
        CHIP_TEST(exec_with_byte_or_dma_access_is_refused),
        CHIP_TEST(exec_alias_round_trip_with_memory_protection_off),
        CHIP_TEST(aligned_exec_is_aligned_or_refused),
        CHIP_TEST(exec_alias_allocated_size_stays_inside_the_block),
        CHIP_TEST(memory_protection_leaves_no_exec_heap_and_exec_requests_report),
        CHIP_TEST(memory_protection_drops_exec_from_regions_added_at_run_time),
        CHIP_TEST(realloc_moves_between_byte_and_exec_memory_keeping_data),
        CHIP_TEST(realloc_moves_between_internal_ram_and_psram_keeping_data),
        CHIP_TEST(dma_requests_are_dma_capable_and_cache_aligned),
        CHIP_TEST(dma_from_psram_works_where_dma_reaches_psram),
        CHIP_TEST(simd_requests_are_simd_aligned_where_the_chip_has_simd),
        CHIP_TEST(cache_aligned_requests_align_to_the_line_of_their_memory),
        CHIP_TEST(aligned_allocations_honour_the_alignment_in_every_memory),
        CHIP_TEST(default_caps_prefer_psram_and_leave_internal_free_size),
        CHIP_TEST(malloc_policy_splits_at_the_limit_and_falls_back_to_the_other_side),
        CHIP_TEST(dma_internal_reserve_pool_is_a_heap_added_after_startup),
        CHIP_TEST(rtc_memory_is_not_used_for_default_requests_first),
        CHIP_TEST(failure_callback_fires_exactly_where_the_api_says),
        CHIP_TEST(malloc_policy_failures_report_default_caps_once),
        CHIP_TEST(failed_allocation_aborts_after_the_callback_when_configured),
        CHIP_TEST(overflowing_and_unreasonable_sizes_fail),
        CHIP_TEST(minimum_free_monitoring_starts_stops_and_refuses_a_second_stop),
        CHIP_TEST(monitoring_gives_each_heap_its_own_minimum_across_add_region),
        CHIP_TEST(heap_registered_after_startup_reports_minimum_zero),
        CHIP_TEST(runtime_region_takes_the_caps_of_its_chip_region),
        CHIP_TEST(sixty_four_extra_heaps_leave_default_requests_to_the_chip),
        CHIP_TEST(esp_system_heap_figures_equal_their_heap_caps_definitions),
        CHIP_TEST(heap_walker_finds_a_tagged_block_in_its_heap),
        CHIP_TEST(heap_walker_survives_a_corrupted_size_word),
        /* Last: under UBSan a failure here ends the program. */
        CHIP_TEST(exec_alias_allocations_of_every_size_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
