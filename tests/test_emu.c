/*
 * test_emu.c — the host chip emulator (heapcaps/emu.h): booting every chip
 * and shutting it down, options and their errors, the memory mapping (real
 * or fallback addresses, shared D/IRAM alias pages, unmapping), the esp_ptr_*
 * helpers on the booted chip, PSRAM set up as ESP-IDF does, and firmware code
 * built with heapcaps/firmware_malloc.h allocating from the emulated heap.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _DEFAULT_SOURCE /* mmap flags, msync, dup */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "heapcaps/layout.h"
#include "heapcaps/log.h"
#include "layouts/chip.h"

/* Firmware-side code, compiled at the end of this file with
 * heapcaps/firmware_malloc.h in effect (as -include would put it). */
static void *firmware_malloc(size_t size);
static void *firmware_calloc(size_t n, size_t size);
static void *firmware_realloc(void *ptr, size_t size);
static void firmware_free(void *ptr);
static void *firmware_memalign(size_t alignment, size_t size);
static void *firmware_aligned_alloc(size_t alignment, size_t size);
static int firmware_posix_memalign(void **out, size_t alignment, size_t size);
static void *firmware_valloc(size_t size);
static void *firmware_pvalloc(size_t size);
static size_t firmware_malloc_usable_size(void *ptr);
typedef void (*free_function_t)(void *);
static free_function_t firmware_free_function(void);

static const char *const documented_targets[] = {
    "esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6", "esp32h2", "esp32p4",
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static heapcaps_emu_options_t quiet_options(void)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    return options;
}

static void boot_quiet(const char *target)
{
    heapcaps_emu_options_t options = quiet_options();
    assert_int_equal(heapcaps_emu_boot(target, &options), ESP_OK);
}

static int shutdown_after(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    return 0;
}

/* The page holding host address `p` is mapped in this process. */
static bool page_is_mapped(const void *p)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *start = (void *)((uintptr_t)p & ~(page - 1));
    return msync(start, page, MS_ASYNC) == 0 || errno != ENOMEM;
}

/* ------------------------------------------------------------ stdout capture */

typedef struct {
    FILE *file;
    int saved_stdout;
} capture_t;

static capture_t capture_begin(void)
{
    capture_t capture = {tmpfile(), -1};
    assert_non_null(capture.file);
    fflush(stdout);
    capture.saved_stdout = dup(STDOUT_FILENO);
    assert_true(capture.saved_stdout >= 0);
    assert_true(dup2(fileno(capture.file), STDOUT_FILENO) >= 0);
    return capture;
}

/* Restore stdout; return what was printed meanwhile (caller frees). */
static char *capture_end(capture_t *capture)
{
    fflush(stdout);
    dup2(capture->saved_stdout, STDOUT_FILENO);
    close(capture->saved_stdout);
    long size = ftell(capture->file);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(capture->file);
    assert_int_equal(fread(text, 1, (size_t)size, capture->file), (size_t)size);
    fclose(capture->file);
    return text;
}

/* ------------------------------------------------------------ boot and shutdown */

static void targets_list_the_documented_chips(void **state)
{
    (void)state;
    const char *const *targets = heapcaps_emu_targets();
    assert_non_null(targets);
    for (size_t i = 0; i < COUNT(documented_targets); i++) {
        bool listed = false;
        for (size_t j = 0; targets[j]; j++) {
            listed = listed || strcmp(targets[j], documented_targets[i]) == 0;
        }
        if (!listed) {
            fail_msg("%s is not in heapcaps_emu_targets()", documented_targets[i]);
        }
    }
}

static void every_target_boots_with_heaps_and_shuts_down(void **state)
{
    (void)state;
    for (const char *const *target = heapcaps_emu_targets(); *target; target++) {
        boot_quiet(*target);
        assert_string_equal(heapcaps_emu_target(), *target);
        assert_true(heap_caps_get_total_size(MALLOC_CAP_DEFAULT) > 0);
        void *p = heap_caps_malloc(100, MALLOC_CAP_DEFAULT);
        if (!p) {
            fail_msg("%s: no DEFAULT memory after boot", *target);
        }
        assert_true(esp_ptr_internal(p));
        heap_caps_free(p);
        heapcaps_emu_shutdown();
        assert_null(heapcaps_emu_target());
        assert_int_equal(heap_caps_get_total_size(0), 0);
    }
}

static void every_target_boots_with_null_options(void **state)
{
    (void)state;
    for (const char *const *target = heapcaps_emu_targets(); *target; target++) {
        capture_t capture = capture_begin();
        esp_err_t err = heapcaps_emu_boot(*target, NULL);
        free(capture_end(&capture));
        if (err != ESP_OK) {
            fail_msg("%s: boot with NULL options gave 0x%x", *target, err);
        }
        heapcaps_emu_shutdown();
    }
}

static void null_target_is_esp32(void **state)
{
    (void)state;
    boot_quiet(NULL);
    assert_string_equal(heapcaps_emu_target(), "esp32");
}

static void unknown_target_is_not_found(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    assert_int_equal(heapcaps_emu_boot("esp8266", &options), ESP_ERR_NOT_FOUND);
    assert_int_equal(heapcaps_emu_boot("", &options), ESP_ERR_NOT_FOUND);
    assert_null(heapcaps_emu_target());
    assert_null(heapcaps_layout_installed());
}

static void second_boot_is_invalid_state_and_keeps_the_first_chip(void **state)
{
    (void)state;
    boot_quiet("esp32s3");
    heapcaps_emu_options_t options = quiet_options();
    assert_int_equal(heapcaps_emu_boot("esp32c3", &options), ESP_ERR_INVALID_STATE);
    assert_string_equal(heapcaps_emu_target(), "esp32s3");
    void *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_non_null(p);
    heap_caps_free(p);
}

static void shutdown_without_boot_is_a_no_op(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    heapcaps_emu_shutdown();
    assert_null(heapcaps_emu_target());
    assert_false(heapcaps_emu_real_addresses());
    assert_null(heapcaps_emu_host_ptr(0x3FFAE6E0));
    assert_int_equal(heapcaps_emu_chip_address(&state), 0);
}

/* Tests boot hundreds of chips: 200 cycles must work; the time is printed
 * (for docs/emulator.md), never asserted. */
static void boot_and_shutdown_200_times(void **state)
{
    (void)state;
    const char *targets[] = {"esp32", "esp32s3", "esp32c3", "esp32p4"};
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < 200; i++) {
        boot_quiet(targets[i % COUNT(targets)]);
        heapcaps_emu_shutdown();
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms =
        (double)(end.tv_sec - start.tv_sec) * 1e3 + (double)(end.tv_nsec - start.tv_nsec) / 1e6;
    print_message("200 boots + shutdowns: %.1f ms (%.3f ms each)\n", ms, ms / 200);
}

static void boot_prints_the_startup_log_and_quiet_prints_nothing(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.quiet = false;
    capture_t capture = capture_begin();
    esp_err_t err = heapcaps_emu_boot("esp32s3", &options);
    char *text = capture_end(&capture);
    assert_int_equal(err, ESP_OK);
    assert_non_null(strstr(text, "heap_init: Initializing. RAM available for dynamic "
                                 "allocation:"));
    assert_non_null(strstr(text, "heap_init: At "));
    free(text);
    heapcaps_emu_shutdown();

    options.quiet = true;
    capture = capture_begin();
    err = heapcaps_emu_boot("esp32s3", &options);
    text = capture_end(&capture);
    assert_int_equal(err, ESP_OK);
    assert_string_equal(text, "");
    free(text);
    /* Quiet is for the boot only: the log is enabled again afterwards. */
    assert_true(heapcaps_log_set_enabled(true));
}

/* ------------------------------------------------------------ options */

static void psram_beyond_the_window_or_on_a_chip_without_is_invalid_size(void **state)
{
    (void)state;
    for (size_t i = 0; heapcaps_chips[i]; i++) {
        const heapcaps_chip_t *chip = heapcaps_chips[i];
        heapcaps_emu_options_t options = quiet_options();
        /* Beyond the window on ESP32 is himem's, up to its physical maximum. */
        size_t largest = chip->max_physical_psram ? chip->max_physical_psram : chip->max_psram;
        options.psram_size = largest + 4096;
        assert_int_equal(heapcaps_emu_boot(chip->name, &options), ESP_ERR_INVALID_SIZE);
        assert_null(heapcaps_emu_target());
        if (chip->max_psram == 0) {
            options.psram_size = 1024 * 1024;
            assert_int_equal(heapcaps_emu_boot(chip->name, &options), ESP_ERR_INVALID_SIZE);
        }
    }
}

static void static_sizes_that_do_not_fit_are_invalid_size(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.static_dram = 64u * 1024 * 1024;
    assert_int_equal(heapcaps_emu_boot("esp32c3", &options), ESP_ERR_INVALID_SIZE);
    assert_null(heapcaps_emu_target());
}

static void malformed_options_are_invalid_arg(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.psram_use = 3;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_ERR_INVALID_ARG);
    options = quiet_options();
    options.memprot = (heapcaps_emu_switch_t)7;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_ERR_INVALID_ARG);
    options = quiet_options();
    options.psram_reserve_internal = -2;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_ERR_INVALID_ARG);
    assert_null(heapcaps_emu_target());
}

/* ------------------------------------------------------------ mapping */

static void chip_addresses_translate_both_ways_and_are_writable(void **state)
{
    (void)state;
    boot_quiet("esp32");
    char *heap_start = heapcaps_emu_host_ptr(0x3FFAE6E0);
    assert_non_null(heap_start);
    assert_int_equal(heapcaps_emu_chip_address(heap_start), 0x3FFAE6E0);
    if (heapcaps_emu_real_addresses()) {
        assert_ptr_equal(heap_start, (void *)(uintptr_t)0x3FFAE6E0);
    }
    /* ROM data below the first heap is reserved, but it is RAM: writable. */
    char *rom_data = heapcaps_emu_host_ptr(0x3FFAE000);
    memset(rom_data, 0xA5, 0x6E0);
    assert_int_equal((unsigned char)rom_data[0x6DF], 0xA5);
    /* A host pointer outside the chip has no chip address. */
    int local = 0;
    assert_int_equal(heapcaps_emu_chip_address(&local), 0);
}

/* With the chip's addresses taken, the chip still boots, at host addresses
 * one constant offset away. */
static void taken_chip_addresses_fall_back_to_host_addresses(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *wanted = (void *)(uintptr_t)0x3FFAE000;
    char *squatter = mmap(wanted, page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    bool squatting = squatter == wanted;
    if (squatter != MAP_FAILED && !squatting) {
        munmap(squatter, page);
    }
    if (squatting) {
        squatter[0] = 42;
    }
    boot_quiet("esp32");
    if (squatting) {
        assert_false(heapcaps_emu_real_addresses());
    }
    char *heap_start = heapcaps_emu_host_ptr(0x3FFAE6E0);
    char *dram_end = heapcaps_emu_host_ptr(0x3FFFFFFC);
    assert_int_equal(heapcaps_emu_chip_address(heap_start), 0x3FFAE6E0);
    assert_int_equal(dram_end - heap_start, 0x3FFFFFFC - 0x3FFAE6E0);
    assert_true(esp_ptr_internal(heap_start));
    assert_true(esp_ptr_dma_capable(heap_start));
    void *p = heap_caps_malloc(1000, MALLOC_CAP_DMA);
    assert_non_null(p);
    memset(p, 1, 1000);
    assert_true(esp_ptr_dma_capable(p));
    heap_caps_free(p);
    heapcaps_emu_shutdown();
    if (squatting) {
        assert_int_equal(squatter[0], 42);
        munmap(squatter, page);
    }
}

static void shutdown_unmaps_and_another_chip_boots(void **state)
{
    (void)state;
    boot_quiet("esp32s3");
    char *ram = heapcaps_emu_host_ptr(0x3FC88000);
    char *rtc = heapcaps_emu_host_ptr(0x600FE000);
    assert_true(page_is_mapped(ram));
    assert_true(page_is_mapped(rtc));
    bool real = heapcaps_emu_real_addresses();
    heapcaps_emu_shutdown();
    assert_false(page_is_mapped(ram));
    assert_false(page_is_mapped(rtc));
    assert_null(heapcaps_layout_installed());
    if (real) {
        /* The chip's addresses are free for the next boot. */
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void *again =
            mmap(ram, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        assert_ptr_equal(again, ram);
        munmap(again, page);
    }
    boot_quiet("esp32c3");
    assert_true(page_is_mapped(heapcaps_emu_host_ptr(0x3FC80000)));
    void *p = heap_caps_malloc(4096, MALLOC_CAP_DMA);
    assert_non_null(p);
    memset(p, 0x5A, 4096);
    heap_caps_free(p);
}

/* ESP32-S3 with memory protection off: the IRAM alias shows the DRAM pages. */
static void linear_iram_alias_shares_the_dram_bytes(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.memprot = HEAPCAPS_EMU_OFF;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    unsigned char *data = heap_caps_malloc(256, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_non_null(data);
    assert_true(esp_ptr_in_diram_dram(data));
    unsigned char *code = esp_ptr_diram_dram_to_iram(data);
    assert_true(esp_ptr_in_diram_iram(code));
    assert_true(esp_ptr_executable(code));
    assert_int_equal(heapcaps_emu_chip_address(code), heapcaps_emu_chip_address(data) + 0x6F0000);
    for (int i = 0; i < 256; i++) {
        data[i] = (unsigned char)i;
    }
    assert_memory_equal(code, data, 256);
    code[7] = 0xEE;
    assert_int_equal(data[7], 0xEE);
    assert_ptr_equal(esp_ptr_diram_iram_to_dram(code), data);
    heap_caps_free(data);

    /* An EXEC allocation from D/IRAM comes back as an IRAM alias pointer
     * whose bytes are the DRAM block's. */
    void *exec = heap_caps_malloc(64, MALLOC_CAP_EXEC);
    assert_non_null(exec);
    assert_true(esp_ptr_executable(exec));
    memset(exec, 0x3C, 64);
    if (esp_ptr_in_diram_iram(exec)) {
        assert_memory_equal(esp_ptr_diram_iram_to_dram(exec), exec, 64);
    }
    heap_caps_free(exec);
}

static void memory_protection_leaves_the_iram_alias_unmapped(void **state)
{
    (void)state;
    boot_quiet("esp32s3"); /* memory protection on by default */
    assert_int_equal(heapcaps_emu_chip_address(heapcaps_emu_host_ptr(0x40378000)), 0);
    assert_int_equal(heapcaps_emu_chip_address(heapcaps_emu_host_ptr(0x3FC88000)), 0x3FC88000);
    assert_null(heap_caps_malloc(64, MALLOC_CAP_EXEC));
}

/* ESP32's D/IRAM is byte-reversed between the buses; its IRAM alias is
 * mapped (allocations through it work) but has pages of its own. */
static void esp32_inverted_iram_alias_is_mapped_and_writable(void **state)
{
    (void)state;
    boot_quiet("esp32");
    char *low = heapcaps_emu_host_ptr(0x400A0000);
    char *last = heapcaps_emu_host_ptr(0x400BFFFC);
    assert_int_equal(heapcaps_emu_chip_address(low), 0x400A0000);
    assert_int_equal(heapcaps_emu_chip_address(last), 0x400BFFFC);
    memset(low, 1, 4);
    memset(last, 2, 4);
    assert_int_equal(low[0] + last[3], 3);
    /* ESP32's inverted D/IRAM formula. */
    void *dram = heapcaps_emu_host_ptr(0x3FFE0000);
    assert_ptr_equal(esp_ptr_diram_dram_to_iram(dram), heapcaps_emu_host_ptr(0x400BFFFC));
    assert_ptr_equal(esp_ptr_diram_iram_to_dram(heapcaps_emu_host_ptr(0x400BFFFC)), dram);
}

/* A forked child (death tests) gets a copy of the chip, as of private
 * memory: what it writes stays out of the parent's heaps, and its aliases
 * still share pages. */
static void forked_child_writes_its_own_copy(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.memprot = HEAPCAPS_EMU_OFF;
    options.psram_size = 1024 * 1024;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    unsigned char *data = heap_caps_malloc(64, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    unsigned char *psram = heap_caps_malloc(64, MALLOC_CAP_SPIRAM);
    assert_non_null(data);
    assert_non_null(psram);
    memset(data, 0x11, 64);
    memset(psram, 0x22, 64);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int failures = 0;
        failures += data[0] != 0x11 || psram[63] != 0x22; /* inherited contents */
        memset(data, 0x99, 64);
        memset(psram, 0x99, 64);
        unsigned char *code = esp_ptr_diram_dram_to_iram(data);
        failures += code[5] != 0x99; /* the alias shows the child's write */
        memset(heapcaps_emu_host_ptr(0x3FC88000), 0x99, 4096); /* wreck a heap */
        _exit(failures);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(data[i], 0x11);
        assert_int_equal(psram[i], 0x22);
    }
    assert_true(heap_caps_check_integrity_all(true));
    heap_caps_free(data);
    heap_caps_free(psram);
}

/* ------------------------------------------------------------ esp_ptr_* */

static void esp_ptr_helpers_answer_false_without_a_chip(void **state)
{
    (void)state;
    int local = 0;
    assert_false(esp_ptr_internal(&local));
    assert_false(esp_ptr_dma_capable(&local));
    assert_false(esp_ptr_external_ram(&local));
    assert_false(esp_ptr_byte_accessible(&local));
    assert_false(esp_ptr_executable(&local));
    assert_false(esp_dram_match_iram());
    assert_false(esp_rtc_dram_match_rtc_iram());
    assert_ptr_equal(esp_ptr_diram_dram_to_iram(&local), &local);
    assert_ptr_equal(esp_ptr_diram_iram_to_dram(&local), &local);
    assert_ptr_equal(esp_ptr_rtc_dram_to_iram(&local), &local);
    assert_true(esp_ptr_word_aligned(&local));
}

static void dma_allocations_are_dma_capable_internal_byte_accessible(void **state)
{
    (void)state;
    for (const char *const *target = heapcaps_emu_targets(); *target; target++) {
        boot_quiet(*target);
        void *p = heap_caps_malloc(128, MALLOC_CAP_DMA);
        if (!p) {
            fail_msg("%s: no DMA memory", *target);
        }
        assert_true(esp_ptr_dma_capable(p));
        assert_true(esp_ptr_internal(p));
        assert_true(esp_ptr_byte_accessible(p));
        assert_true(esp_ptr_in_dram(p));
        assert_true(esp_ptr_word_aligned(p));
        assert_false(esp_ptr_external_ram(p));
        assert_false(esp_ptr_dma_ext_capable(p));
        heap_caps_free(p);
        int host_local;
        assert_false(esp_ptr_internal(&host_local));
        assert_false(esp_ptr_dma_capable(&host_local));
        heapcaps_emu_shutdown();
    }
}

static void address_space_facts_per_chip(void **state)
{
    (void)state;
    boot_quiet("esp32");
    assert_false(esp_dram_match_iram());
    assert_false(esp_rtc_dram_match_rtc_iram());
    assert_ptr_equal(esp_ptr_rtc_dram_to_iram(heapcaps_emu_host_ptr(0x3FF80010)),
                     heapcaps_emu_host_ptr(0x400C0010));
    assert_true(esp_ptr_in_rtc_dram_fast(heapcaps_emu_host_ptr(0x3FF80010)));
    assert_true(esp_ptr_in_rtc_iram_fast(heapcaps_emu_host_ptr(0x400C0010)));
    assert_true(esp_ptr_in_rtc_slow(heapcaps_emu_host_ptr(0x50000000)));
    assert_true(esp_ptr_executable(heapcaps_emu_host_ptr(0x40080000)));
    assert_true(esp_ptr_in_iram(heapcaps_emu_host_ptr(0x40080000)));
    assert_false(esp_ptr_byte_accessible(heapcaps_emu_host_ptr(0x40080000)));
    /* RTC fast memory is no heap on ESP32 by default, so neither internal
     * nor byte accessible through esp_ptr_* (as ESP-IDF without the option). */
    assert_false(esp_ptr_byte_accessible(heapcaps_emu_host_ptr(0x3FF80010)));
    heapcaps_emu_shutdown();

    boot_quiet("esp32s3");
    assert_false(esp_dram_match_iram());
    assert_true(esp_rtc_dram_match_rtc_iram());
    void *rtc = heapcaps_emu_host_ptr(0x600FE100);
    assert_ptr_equal(esp_ptr_rtc_dram_to_iram(rtc), rtc);
    assert_true(esp_ptr_internal(rtc)); /* RTC heap on by default */
    assert_ptr_equal(esp_ptr_diram_dram_to_iram(heapcaps_emu_host_ptr(0x3FC90000)),
                     heapcaps_emu_host_ptr(0x40380000));
    void *r = heap_caps_malloc(32, MALLOC_CAP_RTCRAM);
    assert_non_null(r);
    assert_true(esp_ptr_in_rtc_dram_fast(r));
    heap_caps_free(r);
    heapcaps_emu_shutdown();

    boot_quiet("esp32c6");
    assert_true(esp_dram_match_iram());
    void *ram = heapcaps_emu_host_ptr(0x40810000);
    assert_false(esp_ptr_in_diram_iram(ram));
    assert_true(esp_ptr_in_diram_dram(ram));
    assert_ptr_equal(esp_ptr_diram_dram_to_iram(ram), ram);
    heapcaps_emu_shutdown();

    boot_quiet("esp32p4");
    char *spm = heapcaps_emu_host_ptr(0x30100044);
    assert_int_equal(heapcaps_emu_chip_address(spm), 0x30100044);
    spm[0] = 1; /* mapped */
    assert_true(esp_ptr_in_spm(spm));
    assert_true(esp_ptr_internal(spm));
    assert_true(esp_ptr_byte_accessible(spm));
    assert_false(esp_ptr_dma_capable(spm));
    assert_false(esp_ptr_in_spm(heapcaps_emu_host_ptr(0x30102000)));
}

/* ------------------------------------------------------------ PSRAM */

static void psram_boot_log(const heapcaps_emu_options_t *options, char **text)
{
    heapcaps_emu_options_t loud = *options;
    loud.quiet = false;
    capture_t capture = capture_begin();
    esp_err_t err = heapcaps_emu_boot("esp32s3", &loud);
    *text = capture_end(&capture);
    assert_int_equal(err, ESP_OK);
}

static void psram_becomes_a_heap_malloc_uses_above_16k(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.psram_size = 2 * 1024 * 1024;
    char *text;
    psram_boot_log(&options, &text);
    assert_non_null(strstr(text, "esp_psram: Adding pool of 2048K of PSRAM memory to heap "
                                 "allocator"));
    assert_non_null(strstr(text, "esp_psram: Reserving pool of 32K of internal memory for "
                                 "DMA/internal allocations"));
    /* The PSRAM line follows the heap_init lines, as on the device. */
    assert_true(strstr(text, "esp_psram: Adding") > strstr(text, "heap_init: At "));
    free(text);

    size_t psram_total = heap_caps_get_total_size(MALLOC_CAP_SPIRAM);
    assert_true(psram_total > 2 * 1024 * 1024 - 4096 && psram_total <= 2 * 1024 * 1024);
    void *external = heap_caps_malloc(4096, MALLOC_CAP_SPIRAM);
    assert_non_null(external);
    assert_true(esp_ptr_external_ram(external));
    assert_true(esp_ptr_dma_ext_capable(external));
    assert_true(esp_ptr_byte_accessible(external));
    assert_false(esp_ptr_internal(external));
    assert_false(esp_ptr_dma_capable(external));
    assert_int_equal(heapcaps_emu_chip_address(external) & 0xFE000000u, 0x3C000000u);
    heap_caps_free(external);

    /* CONFIG_SPIRAM_USE_MALLOC with the 16384 always-internal threshold. */
    void *small = heap_caps_malloc_default(16384);
    void *large = heap_caps_malloc_default(16385);
    assert_true(esp_ptr_internal(small));
    assert_true(esp_ptr_external_ram(large));
    heap_caps_free(small);
    heap_caps_free(large);
}

static void psram_reserve_pool_is_a_dma_internal_heap(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.psram_size = 1024 * 1024;
    options.psram_reserve_internal = HEAPCAPS_EMU_NONE;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    size_t without = heap_caps_get_total_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL);
    heapcaps_emu_shutdown();

    options.psram_reserve_internal = 0; /* ESP-IDF's default */
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    size_t with = heap_caps_get_total_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL);
    /* The pool's 32768 bytes (less the one the end quirk drops) are a heap of
     * their own, carved from an existing heap whose size is unchanged. */
    assert_true(with - without >= 32768 - 64 && with - without < 32768);
    heapcaps_emu_shutdown();

    options.psram_reserve_internal = 65536;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    assert_true(heap_caps_get_total_size(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL) - without >=
                65536 - 128);
}

static void psram_use_caps_alloc_and_memmap(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.psram_size = 1024 * 1024;
    options.psram_use = 1; /* CONFIG_SPIRAM_USE_CAPS_ALLOC: a heap, but not for malloc */
    char *text;
    psram_boot_log(&options, &text);
    assert_non_null(strstr(text, "Adding pool of 1024K"));
    assert_null(strstr(text, "Reserving pool"));
    free(text);
    assert_true(heap_caps_get_total_size(MALLOC_CAP_SPIRAM) > 0);
    void *p = heap_caps_malloc_default(100000);
    if (p) {
        assert_true(esp_ptr_internal(p));
        heap_caps_free(p);
    }
    heapcaps_emu_shutdown();

    options.psram_use = 2; /* CONFIG_SPIRAM_USE_MEMMAP: mapped, no heap */
    psram_boot_log(&options, &text);
    assert_null(strstr(text, "Adding pool"));
    free(text);
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_SPIRAM), 0);
    char *window = heapcaps_emu_host_ptr(0x3C000000);
    assert_int_equal(heapcaps_emu_chip_address(window), 0x3C000000);
    assert_true(esp_ptr_external_ram(window));
    memset(window, 0x77, 1024 * 1024);
    assert_int_equal(heapcaps_emu_chip_address(window + 1024 * 1024), 0);
}

static void psram_always_internal_threshold_is_an_option(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.psram_size = 1024 * 1024;
    options.psram_always_internal = HEAPCAPS_EMU_NONE;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    void *p = heap_caps_malloc_default(1);
    assert_true(esp_ptr_external_ram(p));
    heap_caps_free(p);
}

/* ------------------------------------------------------------ firmware malloc */

static void firmware_malloc_comes_from_the_chip_and_host_malloc_does_not(void **state)
{
    (void)state;
    boot_quiet("esp32s3");
    char *firmware = firmware_malloc(100);
    assert_non_null(firmware);
    assert_true(esp_ptr_internal(firmware));
    assert_int_not_equal(heapcaps_emu_chip_address(firmware), 0);
    assert_true(heap_caps_get_allocated_size(firmware) >= 100);
    char *host = malloc(100);
    assert_non_null(host);
    assert_false(esp_ptr_internal(host));
    assert_int_equal(heapcaps_emu_chip_address(host), 0);
    free(host);
    /* `free` as a value in firmware code is the emulated free too. */
    firmware_free_function()(firmware);
}

static void firmware_malloc_family_has_esp_idf_semantics(void **state)
{
    (void)state;
    boot_quiet("esp32c3");
    assert_null(firmware_malloc(0));
    assert_null(firmware_calloc(0, 0));
    assert_null(firmware_calloc(SIZE_MAX / 2, 3));
    unsigned char *zeroed = firmware_calloc(10, 10);
    assert_non_null(zeroed);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(zeroed[i], 0);
        zeroed[i] = (unsigned char)i;
    }
    unsigned char *grown = firmware_realloc(zeroed, 5000);
    assert_non_null(grown);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(grown[i], i);
    }
    assert_true(esp_ptr_internal(grown));
    assert_int_equal(firmware_malloc_usable_size(grown), 0);
    firmware_free(grown);
    firmware_free(NULL);

    assert_null(firmware_memalign(0, 16));
    assert_null(firmware_memalign(24, 16));
    void *aligned = firmware_aligned_alloc(256, 100);
    assert_non_null(aligned);
    assert_int_equal((uintptr_t)aligned % 256, 0);
    assert_true(esp_ptr_internal(aligned));
    firmware_free(aligned);

    void *out = &out;
    assert_int_equal(firmware_posix_memalign(&out, 64, 0), 0);
    assert_null(out);
    assert_int_equal(firmware_posix_memalign(&out, 64, 200), 0);
    assert_int_equal((uintptr_t)out % 64, 0);
    firmware_free(out);
    out = &out;
    assert_int_equal(firmware_posix_memalign(&out, 64, SIZE_MAX / 2), ENOMEM);
    assert_ptr_equal(out, &out);

    void *v = firmware_valloc(10);
    void *pv = firmware_pvalloc(10);
    assert_true(esp_ptr_internal(v) && esp_ptr_internal(pv));
    firmware_free(v);
    firmware_free(pv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(targets_list_the_documented_chips),
        cmocka_unit_test_teardown(every_target_boots_with_heaps_and_shuts_down, shutdown_after),
        cmocka_unit_test_teardown(every_target_boots_with_null_options, shutdown_after),
        cmocka_unit_test_teardown(null_target_is_esp32, shutdown_after),
        cmocka_unit_test_teardown(unknown_target_is_not_found, shutdown_after),
        cmocka_unit_test_teardown(second_boot_is_invalid_state_and_keeps_the_first_chip,
                                  shutdown_after),
        cmocka_unit_test(shutdown_without_boot_is_a_no_op),
        cmocka_unit_test_teardown(boot_and_shutdown_200_times, shutdown_after),
        cmocka_unit_test_teardown(boot_prints_the_startup_log_and_quiet_prints_nothing,
                                  shutdown_after),
        cmocka_unit_test_teardown(psram_beyond_the_window_or_on_a_chip_without_is_invalid_size,
                                  shutdown_after),
        cmocka_unit_test_teardown(static_sizes_that_do_not_fit_are_invalid_size, shutdown_after),
        cmocka_unit_test_teardown(malformed_options_are_invalid_arg, shutdown_after),
        cmocka_unit_test_teardown(chip_addresses_translate_both_ways_and_are_writable,
                                  shutdown_after),
        cmocka_unit_test_teardown(taken_chip_addresses_fall_back_to_host_addresses, shutdown_after),
        cmocka_unit_test_teardown(shutdown_unmaps_and_another_chip_boots, shutdown_after),
        cmocka_unit_test_teardown(linear_iram_alias_shares_the_dram_bytes, shutdown_after),
        cmocka_unit_test_teardown(memory_protection_leaves_the_iram_alias_unmapped, shutdown_after),
        cmocka_unit_test_teardown(esp32_inverted_iram_alias_is_mapped_and_writable, shutdown_after),
        cmocka_unit_test_teardown(forked_child_writes_its_own_copy, shutdown_after),
        cmocka_unit_test(esp_ptr_helpers_answer_false_without_a_chip),
        cmocka_unit_test_teardown(dma_allocations_are_dma_capable_internal_byte_accessible,
                                  shutdown_after),
        cmocka_unit_test_teardown(address_space_facts_per_chip, shutdown_after),
        cmocka_unit_test_teardown(psram_becomes_a_heap_malloc_uses_above_16k, shutdown_after),
        cmocka_unit_test_teardown(psram_reserve_pool_is_a_dma_internal_heap, shutdown_after),
        cmocka_unit_test_teardown(psram_use_caps_alloc_and_memmap, shutdown_after),
        cmocka_unit_test_teardown(psram_always_internal_threshold_is_an_option, shutdown_after),
        cmocka_unit_test_teardown(firmware_malloc_comes_from_the_chip_and_host_malloc_does_not,
                                  shutdown_after),
        cmocka_unit_test_teardown(firmware_malloc_family_has_esp_idf_semantics, shutdown_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ------------------------------------------------------------ firmware side
 * Everything below is "firmware": the plain malloc-family names now mean the
 * emulated chip's, exactly as for a source compiled with
 * -include heapcaps/firmware_malloc.h. Nothing after this point is test code. */
#include "heapcaps/firmware_malloc.h"

static void *firmware_malloc(size_t size)
{
    return malloc(size);
}

static void *firmware_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

static void *firmware_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size);
}

static void firmware_free(void *ptr)
{
    free(ptr);
}

static void *firmware_memalign(size_t alignment, size_t size)
{
    return memalign(alignment, size);
}

static void *firmware_aligned_alloc(size_t alignment, size_t size)
{
    return aligned_alloc(alignment, size);
}

static int firmware_posix_memalign(void **out, size_t alignment, size_t size)
{
    return posix_memalign(out, alignment, size);
}

static void *firmware_valloc(size_t size)
{
    return valloc(size);
}

static void *firmware_pvalloc(size_t size)
{
    return pvalloc(size);
}

static size_t firmware_malloc_usable_size(void *ptr)
{
    return malloc_usable_size(ptr);
}

static free_function_t firmware_free_function(void)
{
    return free;
}
