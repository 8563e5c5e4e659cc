/*
 * test_layouts.c — the chip layouts and the layout code, one case per
 * behaviour: every chip's default layout prints its ESP-IDF startup log, the
 * options change what they should, and the region arithmetic follows
 * ESP-IDF's rules. Needs neither the emulator nor heap_caps.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "layouts/chip.h"
#include "memory_layout.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static const char *const chip_names[] = {"esp32",   "esp32s2", "esp32s3", "esp32c3",
                                         "esp32c6", "esp32h2", "esp32p4"};

/* Layouts built here stay valid while installed; every case uninstalls. */
static heapcaps_chip_layout_t built;

static int uninstall_layout(void **state)
{
    (void)state;
    heapcaps_layout_uninstall();
    return 0;
}

static const heapcaps_chip_t *chip_named(const char *name)
{
    const heapcaps_chip_t *chip = heapcaps_chip_find(name);
    assert_non_null(chip);
    return chip;
}

/* The ESP-IDF defaults: memory protection as the chip has it, RTC fast
 * memory as heap except on ESP32 (needs the single-core build), no PSRAM. */
static heapcaps_chip_options_t default_options(const heapcaps_chip_t *chip)
{
    heapcaps_chip_options_t options = {0};
    options.memprot = chip->default_memprot;
    options.rtc_heap = strcmp(chip->name, "esp32") != 0;
    return options;
}

/* ---- the startup log ------------------------------------------------- */

typedef struct {
    char text[2048];  /* "At %08X len %08X (%d KiB): %s\n" per region */
    char startup[32]; /* per region: 'S' startup-stack region, '-' heap at once */
    size_t count;
} startup_log_t;

/* What heap_caps_init() logs for the installed layout: the available
 * regions, coalesced, one line each. */
static void log_installed_layout(startup_log_t *log)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    assert_non_null(layout);
    soc_memory_region_t regions[96];
    assert_true(soc_get_available_memory_region_max_count() <= COUNT_OF(regions));
    size_t count = heapcaps_layout_coalesce(regions, soc_get_available_memory_regions(regions));
    assert_true(count < sizeof(log->startup));

    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        assert_true(regions[i].type < layout->type_count);
        int n =
            snprintf(log->text + used, sizeof(log->text) - used, "At %08X len %08X (%d KiB): %s\n",
                     (unsigned)regions[i].start, (unsigned)regions[i].size,
                     (int)(regions[i].size / 1024), layout->types[regions[i].type].name);
        assert_true(n > 0 && (size_t)n < sizeof(log->text) - used);
        used += (size_t)n;
        log->startup[i] = regions[i].startup_stack ? 'S' : '-';
    }
    log->text[used] = '\0';
    log->startup[count] = '\0';
    log->count = count;
}

static void log_chip(const heapcaps_chip_t *chip, const heapcaps_chip_options_t *options,
                     startup_log_t *log)
{
    assert_int_equal(heapcaps_chip_build_layout(chip, options, &built), ESP_OK);
    assert_int_equal(heapcaps_layout_install(&built.layout), ESP_OK);
    log_installed_layout(log);
}

static void log_chip_defaults(const char *name, startup_log_t *log)
{
    const heapcaps_chip_t *chip = chip_named(name);
    heapcaps_chip_options_t options = default_options(chip);
    log_chip(chip, &options, log);
}

typedef struct {
    const char *chip;
    const char *log;     /* the example log's lines without "I (<ms>) heap_init: " */
    const char *startup; /* which of them are startup-stack regions */
} example_log_t;

/* docs/layouts.md lists where each comes from. */
static const example_log_t example_logs[] = {
    {"esp32",
     "At 3FFAE6E0 len 00001920 (6 KiB): DRAM\n"
     "At 3FFB2EC8 len 0002D138 (180 KiB): DRAM\n"
     "At 3FFE0440 len 00003AE0 (14 KiB): D/IRAM\n"
     "At 3FFE4350 len 0001BCB0 (111 KiB): D/IRAM\n"
     "At 4008944C len 00016BB4 (90 KiB): IRAM\n",
     "--SS-"},
    {"esp32s2",
     "At 3FFD7B10 len 000244F0 (145 KiB): RAM\n"
     "At 3FFFC000 len 00003A10 (14 KiB): RAM\n"
     "At 3FF9E030 len 00001FB8 (7 KiB): RTCRAM\n",
     "-S-"},
    {"esp32s3",
     "At 3FC9D3A8 len 0004C368 (304 KiB): RAM\n"
     "At 3FCE9710 len 00005724 (21 KiB): RAM\n"
     "At 3FCF0000 len 00008000 (32 KiB): DRAM\n"
     "At 600FE000 len 00001FE8 (7 KiB): RTCRAM\n",
     "-S--"},
    {"esp32c3",
     "At 3FC8D610 len 000329F0 (202 KiB): RAM\n"
     "At 3FCC0000 len 0001C710 (113 KiB): Retention RAM\n"
     "At 3FCDC710 len 00002950 (10 KiB): Retention RAM\n"
     "At 50000020 len 00001FC8 (7 KiB): RTCRAM\n",
     "--S-"},
    {"esp32c6",
     "At 4080D5B0 len 0006F060 (444 KiB): RAM\n"
     "At 4087C610 len 00002F54 (11 KiB): RAM\n"
     "At 50000000 len 00003FE8 (15 KiB): RTCRAM\n",
     "-S-"},
    {"esp32h2",
     "At 4080CB60 len 00040820 (258 KiB): RAM\n"
     "At 4084D380 len 00002B60 (10 KiB): RAM\n"
     "At 50000000 len 00000FE8 (3 KiB): RTCRAM\n",
     "-S-"},
    /* The rev >= 3 docs log has no SPM line; the SPM line is the rev < 3
     * log's (see docs/layouts.md). */
    {"esp32p4",
     "At 4FF33B20 len 000874A0 (541 KiB): RETENT_RAM\n"
     "At 4FFBAFC0 len 00004BF0 (18 KiB): RAM\n"
     "At 50108080 len 00007F80 (31 KiB): RTCRAM\n"
     "At 30100044 len 00001FBC (7 KiB): SPM\n",
     "-S--"},
};

static const example_log_t *example_log_of(const char *chip)
{
    for (size_t i = 0; i < COUNT_OF(example_logs); i++) {
        if (strcmp(example_logs[i].chip, chip) == 0) {
            return &example_logs[i];
        }
    }
    fail_msg("no example log for %s", chip);
    return NULL;
}

static void assert_default_log_is_the_example(const char *chip)
{
    const example_log_t *expected = example_log_of(chip);
    startup_log_t log;
    log_chip_defaults(chip, &log);
    assert_string_equal(log.text, expected->log);
    assert_string_equal(log.startup, expected->startup);
}

#define DEFAULT_LOG_CASE(chip)                                                                     \
    static void chip##_default_layout_prints_the_example_log(void **state)                         \
    {                                                                                              \
        (void)state;                                                                               \
        assert_default_log_is_the_example(#chip);                                                  \
    }
DEFAULT_LOG_CASE(esp32)
DEFAULT_LOG_CASE(esp32s2)
DEFAULT_LOG_CASE(esp32s3)
DEFAULT_LOG_CASE(esp32c3)
DEFAULT_LOG_CASE(esp32c6)
DEFAULT_LOG_CASE(esp32h2)
DEFAULT_LOG_CASE(esp32p4)

/* ---- chips and their data -------------------------------------------- */

static void chip_find_knows_every_chip_in_a_stable_order(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT_OF(chip_names); i++) {
        const heapcaps_chip_t *chip = heapcaps_chip_find(chip_names[i]);
        assert_non_null(chip);
        assert_string_equal(chip->name, chip_names[i]);
        assert_ptr_equal(heapcaps_chips[i], chip);
    }
    assert_null(heapcaps_chips[COUNT_OF(chip_names)]);
}

static void chip_find_returns_null_for_unknown_names_and_null(void **state)
{
    (void)state;
    assert_null(heapcaps_chip_find("esp8266"));
    assert_null(heapcaps_chip_find(NULL));
    assert_null(heapcaps_chip_find(""));
    assert_null(heapcaps_chip_find("esp32s"));
    assert_null(heapcaps_chip_find("esp32s31"));
    assert_null(heapcaps_chip_find("ESP32"));
}

static bool ranges_overlap(intptr_t a_start, intptr_t a_end, intptr_t b_start, intptr_t b_end)
{
    return a_start < b_end && b_start < a_end;
}

static void every_chip_table_is_consistent(void **state)
{
    (void)state;
    for (size_t c = 0; heapcaps_chips[c] != NULL; c++) {
        const heapcaps_chip_t *chip = heapcaps_chips[c];
        for (size_t t = 0; t < chip->type_count; t++) {
            assert_non_null(chip->types[t].name);
            assert_true(chip->types[t].name[0] != '\0');
        }
        for (size_t r = 0; r < chip->region_count; r++) {
            const soc_memory_region_t *region = &chip->regions[r].region;
            assert_true(region->type < chip->type_count);
            assert_true(region->size > 0);
            if (chip->regions[r].when & HEAPCAPS_REGION_IF_PSRAM) {
                /* The PSRAM entry is the data window. */
                assert_string_equal(chip->types[region->type].name, "SPIRAM");
                assert_int_equal(region->start, chip->soc.extram_low);
                assert_int_equal(region->size, chip->max_psram);
            }
        }
        for (size_t i = 0; i < chip->reserved_count; i++) {
            const soc_reserved_region_t *a = &chip->reserved[i];
            assert_true(a->start < a->end);
            for (size_t j = i + 1; j < chip->reserved_count; j++) {
                const soc_reserved_region_t *b = &chip->reserved[j];
                assert_false(ranges_overlap(a->start, a->end, b->start, b->end));
            }
        }
        assert_int_equal(chip->max_psram, chip->soc.extram_high - chip->soc.extram_low);
        assert_true(chip->default_static_dram > 0);
        assert_true(chip->iram_code_start == 0 || chip->default_iram_code > 0);
    }
}

static void only_esp32p4_reaches_internal_ram_through_a_cache(void **state)
{
    (void)state;
    for (size_t c = 0; heapcaps_chips[c] != NULL; c++) {
        const heapcaps_soc_t *soc = &heapcaps_chips[c]->soc;
        bool p4 = strcmp(heapcaps_chips[c]->name, "esp32p4") == 0;
        bool s3 = strcmp(heapcaps_chips[c]->name, "esp32s3") == 0;
        assert_int_equal(soc->internal_cache_line, p4 ? 64 : 0);
        assert_int_equal(soc->axi_desc_alignment, p4 ? 8 : 0);
        assert_int_equal(soc->simd_alignment, p4 || s3 ? 16 : 0);
        /* Chips with PSRAM cache it; the others have no external cache line. */
        assert_int_equal(soc->external_cache_line != 0, heapcaps_chips[c]->max_psram != 0);
    }
}

static void built_layout_points_into_the_chip_at_chip_addresses(void **state)
{
    (void)state;
    for (size_t c = 0; heapcaps_chips[c] != NULL; c++) {
        const heapcaps_chip_t *chip = heapcaps_chips[c];
        heapcaps_chip_options_t options = default_options(chip);
        assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_OK);
        assert_string_equal(built.layout.name, chip->name);
        assert_ptr_equal(built.layout.soc, &chip->soc);
        assert_ptr_equal(built.layout.types, built.types);
        assert_int_equal(built.layout.type_count, chip->type_count);
        assert_ptr_equal(built.layout.regions, built.regions);
        assert_ptr_equal(built.layout.reserved, built.reserved);
        assert_int_equal(built.layout.address_offset, 0);
        assert_int_equal(built.layout.psram_size, 0);
        assert_int_equal(heapcaps_layout_install(&built.layout), ESP_OK);
        assert_ptr_equal(heapcaps_layout_installed(), &built.layout);
    }
}

/* ---- options --------------------------------------------------------- */

static bool types_have_exec(const heapcaps_layout_t *layout)
{
    for (size_t t = 0; t < layout->type_count; t++) {
        for (size_t prio = 0; prio < SOC_MEMORY_TYPE_NO_PRIOS; prio++) {
            if (layout->types[t].caps[prio] & MALLOC_CAP_EXEC) {
                return true;
            }
        }
    }
    return false;
}

static void memprot_strips_exec_from_every_type_and_nothing_else(void **state)
{
    (void)state;
    for (size_t c = 0; heapcaps_chips[c] != NULL; c++) {
        const heapcaps_chip_t *chip = heapcaps_chips[c];
        heapcaps_chip_options_t options = default_options(chip);

        options.memprot = false;
        assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_OK);
        assert_true(types_have_exec(&built.layout));
        assert_memory_equal(built.types, chip->types, chip->type_count * sizeof(built.types[0]));

        options.memprot = true;
        assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_OK);
        assert_false(types_have_exec(&built.layout));
        for (size_t t = 0; t < chip->type_count; t++) {
            assert_ptr_equal(built.types[t].name, chip->types[t].name);
            for (size_t prio = 0; prio < SOC_MEMORY_TYPE_NO_PRIOS; prio++) {
                assert_int_equal(built.types[t].caps[prio],
                                 chip->types[t].caps[prio] & ~(uint32_t)MALLOC_CAP_EXEC);
            }
        }
    }
}

static void memprot_off_gives_esp32s3_the_iram_region_left_by_iram_code(void **state)
{
    (void)state;
    const heapcaps_chip_t *chip = chip_named("esp32s3");
    heapcaps_chip_options_t options = default_options(chip);
    options.memprot = false;
    startup_log_t log;

    /* By default the IRAM code fills the region: the log does not change. */
    log_chip(chip, &options, &log);
    assert_string_equal(log.text, example_log_of("esp32s3")->log);

    options.iram_code = 0x1000;
    log_chip(chip, &options, &log);
    char expected[1024];
    snprintf(expected, sizeof(expected), "At 40375000 len 00003000 (12 KiB): IRAM\n%s",
             example_log_of("esp32s3")->log);
    assert_string_equal(log.text, expected);
}

static size_t regions_of_type(const heapcaps_layout_t *layout, const char *type_name)
{
    size_t count = 0;
    for (size_t r = 0; r < layout->region_count; r++) {
        if (strcmp(layout->types[layout->regions[r].type].name, type_name) == 0) {
            count++;
        }
    }
    return count;
}

static void rtc_heap_decides_whether_the_rtc_region_exists(void **state)
{
    (void)state;
    for (size_t c = 0; heapcaps_chips[c] != NULL; c++) {
        const heapcaps_chip_t *chip = heapcaps_chips[c];
        heapcaps_chip_options_t options = default_options(chip);
        options.rtc_heap = false;
        assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_OK);
        assert_int_equal(regions_of_type(&built.layout, "RTCRAM"), 0);
        options.rtc_heap = true;
        assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_OK);
        assert_int_equal(regions_of_type(&built.layout, "RTCRAM"), 1);
    }
}

static void esp32_rtc_heap_adds_all_of_rtc_fast_memory(void **state)
{
    (void)state;
    const heapcaps_chip_t *chip = chip_named("esp32");
    heapcaps_chip_options_t options = default_options(chip);
    options.rtc_heap = true;
    startup_log_t log;
    log_chip(chip, &options, &log);
    char expected[1024];
    snprintf(expected, sizeof(expected), "%sAt 3FF80000 len 00002000 (8 KiB): RTCRAM\n",
             example_log_of("esp32")->log);
    assert_string_equal(log.text, expected);
}

static void psram_reserves_the_whole_window(void **state)
{
    (void)state;
    for (size_t c = 0; heapcaps_chips[c] != NULL; c++) {
        const heapcaps_chip_t *chip = heapcaps_chips[c];
        if (chip->max_psram == 0) {
            continue;
        }
        heapcaps_chip_options_t options = default_options(chip);
        options.psram = true;
        startup_log_t log;
        log_chip(chip, &options, &log);
        assert_int_equal(regions_of_type(&built.layout, "SPIRAM"), 1);
        bool window_reserved = false;
        for (size_t i = 0; i < built.layout.reserved_count; i++) {
            window_reserved |= built.reserved[i].start == (intptr_t)chip->soc.extram_low &&
                               built.reserved[i].end == (intptr_t)chip->soc.extram_high;
        }
        assert_true(window_reserved);
        /* No PSRAM heap yet: esp_psram adds it later. */
        assert_string_equal(log.text, example_log_of(chip->name)->log);
    }
}

static void psram_on_a_chip_without_psram_is_invalid(void **state)
{
    (void)state;
    const char *const without_psram[] = {"esp32c3", "esp32c6", "esp32h2"};
    for (size_t i = 0; i < COUNT_OF(without_psram); i++) {
        const heapcaps_chip_t *chip = chip_named(without_psram[i]);
        heapcaps_chip_options_t options = default_options(chip);
        options.psram = true;
        assert_int_equal(chip->max_psram, 0);
        assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_ERR_INVALID_ARG);
    }
}

static void static_dram_moves_the_heap_start(void **state)
{
    (void)state;
    startup_log_t log;
    const heapcaps_chip_t *esp32 = chip_named("esp32");
    heapcaps_chip_options_t options = default_options(esp32);
    options.static_dram = 0x10000;
    log_chip(esp32, &options, &log);
    assert_string_equal(log.text, "At 3FFAE6E0 len 00001920 (6 KiB): DRAM\n"
                                  "At 3FFC0000 len 00020000 (128 KiB): DRAM\n"
                                  "At 3FFE0440 len 00003AE0 (14 KiB): D/IRAM\n"
                                  "At 3FFE4350 len 0001BCB0 (111 KiB): D/IRAM\n"
                                  "At 4008944C len 00016BB4 (90 KiB): IRAM\n");

    const heapcaps_chip_t *c6 = chip_named("esp32c6");
    options = default_options(c6);
    options.static_dram = 0x20000;
    log_chip(c6, &options, &log);
    assert_string_equal(log.text, "At 40820000 len 0005C610 (369 KiB): RAM\n"
                                  "At 4087C610 len 00002F54 (11 KiB): RAM\n"
                                  "At 50000000 len 00003FE8 (15 KiB): RTCRAM\n");
}

static void iram_code_moves_the_iram_heap_start(void **state)
{
    (void)state;
    const heapcaps_chip_t *chip = chip_named("esp32");
    heapcaps_chip_options_t options = default_options(chip);
    options.iram_code = 0x10000;
    startup_log_t log;
    log_chip(chip, &options, &log);
    assert_non_null(strstr(log.text, "At 40090000 len 00010000 (64 KiB): IRAM\n"));
    assert_null(strstr(log.text, "4008944C"));
}

static void iram_code_is_ignored_where_code_shares_the_dram_range(void **state)
{
    (void)state;
    const heapcaps_chip_t *chip = chip_named("esp32c3");
    heapcaps_chip_options_t options = default_options(chip);
    options.iram_code = 0x10000;
    startup_log_t log;
    log_chip(chip, &options, &log);
    assert_string_equal(log.text, example_log_of("esp32c3")->log);
}

static void expect_invalid(const char *name, uint32_t static_dram, uint32_t iram_code)
{
    const heapcaps_chip_t *chip = chip_named(name);
    heapcaps_chip_options_t options = default_options(chip);
    options.static_dram = static_dram;
    options.iram_code = iram_code;
    assert_int_equal(heapcaps_chip_build_layout(chip, &options, &built), ESP_ERR_INVALID_ARG);
}

static void static_sizes_that_do_not_fit_are_invalid(void **state)
{
    (void)state;
    expect_invalid("esp32", 0x60000, 0);   /* past 0x40000000, the end of its RAM */
    expect_invalid("esp32", 0x30100, 0);   /* into the PRO CPU's ROM data */
    expect_invalid("esp32", 0, 0x20001);   /* past 0x400A0000, the end of its IRAM */
    expect_invalid("esp32s3", 0, 0x4001);  /* past the IRAM region into nothing */
    expect_invalid("esp32c3", 0x60000, 0); /* into the ROM's reserved data */
    expect_invalid("esp32p4", 0x100000, 0);
    expect_invalid("esp32c6", 0xFFFFFFFF, 0); /* wraps around in 32 bits */

    /* Up to the ROM's reservation fits: only RTC memory is left. */
    const heapcaps_chip_t *chip = chip_named("esp32c3");
    heapcaps_chip_options_t options = default_options(chip);
    options.static_dram = 0x3FCDF060 - 0x3FC80000;
    startup_log_t log;
    log_chip(chip, &options, &log);
    assert_string_equal(log.text, "At 50000020 len 00001FC8 (7 KiB): RTCRAM\n");
}

static void build_rejects_null_arguments(void **state)
{
    (void)state;
    const heapcaps_chip_t *chip = chip_named("esp32");
    heapcaps_chip_options_t options = default_options(chip);
    assert_int_equal(heapcaps_chip_build_layout(NULL, &options, &built), ESP_ERR_INVALID_ARG);
    assert_int_equal(heapcaps_chip_build_layout(chip, NULL, &built), ESP_ERR_INVALID_ARG);
    assert_int_equal(heapcaps_chip_build_layout(chip, &options, NULL), ESP_ERR_INVALID_ARG);
}

static void build_rejects_chips_larger_than_the_out_arrays(void **state)
{
    (void)state;
    const heapcaps_chip_t *esp32 = chip_named("esp32");
    heapcaps_chip_options_t options = default_options(esp32);

    soc_memory_type_desc_t types[COUNT_OF(built.types) + 1];
    for (size_t t = 0; t < COUNT_OF(types); t++) {
        types[t] = esp32->types[0];
    }
    heapcaps_chip_t too_many_types = *esp32;
    too_many_types.types = types;
    too_many_types.type_count = COUNT_OF(types);
    assert_int_equal(heapcaps_chip_build_layout(&too_many_types, &options, &built),
                     ESP_ERR_INVALID_ARG);

    static heapcaps_chip_region_t regions[COUNT_OF(built.regions) + 1];
    for (size_t r = 0; r < COUNT_OF(regions); r++) {
        regions[r].region.start = (intptr_t)(0x3FF00000 + r * 0x1000);
        regions[r].region.size = 0x1000;
        regions[r].region.type = 0;
    }
    heapcaps_chip_t too_many_regions = *esp32;
    too_many_regions.regions = regions;
    too_many_regions.region_count = COUNT_OF(regions);
    assert_int_equal(heapcaps_chip_build_layout(&too_many_regions, &options, &built),
                     ESP_ERR_INVALID_ARG);

    /* A full reserved array leaves no room for the static range. */
    soc_reserved_region_t reserved[COUNT_OF(built.reserved)];
    for (size_t i = 0; i < COUNT_OF(reserved); i++) {
        reserved[i].start = (intptr_t)(0x3FF90000 + i * 0x10);
        reserved[i].end = reserved[i].start + 0x10;
    }
    heapcaps_chip_t too_many_reserved = *esp32;
    too_many_reserved.reserved = reserved;
    too_many_reserved.reserved_count = COUNT_OF(reserved);
    assert_int_equal(heapcaps_chip_build_layout(&too_many_reserved, &options, &built),
                     ESP_ERR_INVALID_ARG);
    too_many_reserved.reserved_count = COUNT_OF(reserved) - 2;
    assert_int_equal(heapcaps_chip_build_layout(&too_many_reserved, &options, &built), ESP_OK);
}

/* ---- available regions ----------------------------------------------- */

static const soc_memory_type_desc_t board_types[] = {
    {"SRAM", {MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT, MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT, 0}},
    {"IRAM", {MALLOC_CAP_EXEC | MALLOC_CAP_32BIT, 0, 0}},
};

/* Install a board with these regions and reserved ranges. */
static void install_board(heapcaps_layout_t *board, const soc_memory_region_t *regions,
                          size_t region_count, const soc_reserved_region_t *reserved,
                          size_t reserved_count)
{
    memset(board, 0, sizeof(*board));
    board->name = "board";
    board->types = board_types;
    board->type_count = COUNT_OF(board_types);
    board->regions = regions;
    board->region_count = region_count;
    board->reserved = reserved;
    board->reserved_count = reserved_count;
    assert_int_equal(heapcaps_layout_install(board), ESP_OK);
}

/* The available regions as "start-end" pairs, e.g. "1000-1400 1404-2000". */
static void available_as_text(char *text, size_t size)
{
    soc_memory_region_t regions[32];
    assert_true(soc_get_available_memory_region_max_count() <= COUNT_OF(regions));
    size_t count = soc_get_available_memory_regions(regions);
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        int n = snprintf(text + used, size - used, "%s%lx-%lx", i ? " " : "",
                         (unsigned long)regions[i].start,
                         (unsigned long)(regions[i].start + (intptr_t)regions[i].size));
        assert_true(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

static void reserved_range_inside_a_region_splits_it_in_address_order(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x30000, 0x1000, 0, 0, false},
                                           {0x10000, 0x10000, 0, 0, false},
                                           {0x20000, 0x1000, 1, 0, false}};
    const soc_reserved_region_t reserved[] = {{0x18000, 0x19000}, {0x14000, 0x15000}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, COUNT_OF(reserved));
    char text[256];
    available_as_text(text, sizeof(text));
    /* Table order; the pieces of one region in address order. */
    assert_string_equal(text, "30000-31000 10000-14000 15000-18000 19000-20000 20000-21000");
}

static void reserved_ranges_trim_or_drop_the_regions_they_cover(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x1000, 0x1000, 0, 0, false},
                                           {0x3000, 0x1000, 0, 0, false},
                                           {0x5000, 0x1000, 0, 0, false}};
    const soc_reserved_region_t reserved[] = {
        {0x0800, 0x1200}, /* over the start of the first */
        {0x1F00, 0x2000}, /* at its end */
        {0x3000, 0x4000}, /* exactly all of the second */
        {0x4F00, 0x6100}, /* beyond both ends of the third */
    };
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, COUNT_OF(reserved));
    char text[256];
    available_as_text(text, sizeof(text));
    assert_string_equal(text, "1200-1f00");
}

static void pieces_of_16_bytes_or_less_are_dropped(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {
        {0x1000, 0x100, 0, 0, false}, {0x2000, 0x10, 0, 0, false}, {0x3000, 0x14, 0, 0, false}};
    const soc_reserved_region_t reserved[] = {{0x1010, 0x10EC}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, COUNT_OF(reserved));
    char text[256];
    available_as_text(text, sizeof(text));
    assert_string_equal(text, "10ec-1100 3000-3014");
}

static void reserved_ranges_are_widened_to_whole_words(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x1000, 0x1000, 0, 0, false}};
    const soc_reserved_region_t reserved[] = {{0x1401, 0x1403}, {0x1802, 0x1805}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, COUNT_OF(reserved));
    char text[256];
    available_as_text(text, sizeof(text));
    assert_string_equal(text, "1000-1400 1404-1800 1808-2000");
}

static void available_regions_are_host_addresses(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x1000, 0x1000, 1, 0x40001000, false},
                                           {0x3000, 0x1000, 0, 0, true}};
    const soc_reserved_region_t reserved[] = {{0x1000, 0x1100}};
    heapcaps_layout_t board;
    memset(&board, 0, sizeof(board));
    board.types = board_types;
    board.type_count = COUNT_OF(board_types);
    board.regions = regions;
    board.region_count = COUNT_OF(regions);
    board.reserved = reserved;
    board.reserved_count = COUNT_OF(reserved);
    board.address_offset = 0x10000000;
    assert_int_equal(heapcaps_layout_install(&board), ESP_OK);

    soc_memory_region_t available[4];
    assert_int_equal(soc_get_available_memory_region_max_count(), 3);
    assert_int_equal(soc_get_available_memory_regions(available), 2);
    assert_int_equal(available[0].start, 0x10001100);
    assert_int_equal(available[0].size, 0xF00);
    assert_int_equal(available[0].type, 1);
    /* The table's alias, in host addresses (informational, as in ESP-IDF). */
    assert_int_equal(available[0].iram_address, 0x50001000);
    assert_false(available[0].startup_stack);
    assert_int_equal(available[1].start, 0x10003000);
    assert_int_equal(available[1].size, 0x1000);
    assert_int_equal(available[1].iram_address, 0);
    assert_true(available[1].startup_stack);
}

/* soc_get_available_memory_regions(found->available), for capture_output. */
typedef struct {
    soc_memory_region_t available[8];
    size_t count;
} available_call_t;

static void get_available(void *context)
{
    available_call_t *call = context;
    call->count = soc_get_available_memory_regions(call->available);
}

static void expect_overlap_report(const soc_reserved_region_t *reserved, size_t count,
                                  const char *message)
{
    const soc_memory_region_t regions[] = {{0x0, 0x10000, 0, 0, false}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, count);
    available_call_t call;
    char printed[512];
    capture_output(2, get_available, &call, printed, sizeof(printed));
    assert_int_equal(call.count, 0);
    assert_string_equal(printed, message);
}

static void overlapping_reserved_ranges_give_no_regions_and_an_error(void **state)
{
    (void)state;
    const soc_reserved_region_t reserved[] = {{0x10F0, 0x1200}, {0x1000, 0x1100}};
    expect_overlap_report(reserved, COUNT_OF(reserved),
                          "E (0) memory_layout: SOC_RESERVE_MEMORY_REGION region range "
                          "0x00001000 - 0x00001100 overlaps with 0x000010f0 - 0x00001200\n");
}

static void ranges_that_overlap_once_widened_are_reported(void **state)
{
    (void)state;
    const soc_reserved_region_t reserved[] = {{0x2000, 0x2001}, {0x2002, 0x2010}};
    expect_overlap_report(reserved, COUNT_OF(reserved),
                          "E (0) memory_layout: SOC_RESERVE_MEMORY_REGION region range "
                          "0x00002000 - 0x00002004 overlaps with 0x00002000 - 0x00002010\n");
}

static void touching_reserved_ranges_do_not_overlap(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x1000, 0x1000, 0, 0, false}};
    const soc_reserved_region_t reserved[] = {{0x1300, 0x1400}, {0x1200, 0x1300}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, COUNT_OF(reserved));
    char text[256];
    available_as_text(text, sizeof(text));
    assert_string_equal(text, "1000-1200 1400-2000");
}

static void nothing_installed_gives_no_regions(void **state)
{
    (void)state;
    heapcaps_layout_uninstall();
    soc_memory_region_t regions[4];
    assert_null(heapcaps_layout_installed());
    assert_int_equal(soc_get_available_memory_region_max_count(), 0);
    assert_int_equal(soc_get_available_memory_regions(regions), 0);
}

static void max_count_bounds_the_worst_case_split(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x1000, 0x1000, 0, 0, false},
                                           {0x3000, 0x1000, 0, 0, false}};
    const soc_reserved_region_t reserved[] = {
        {0x1100, 0x1200}, {0x1300, 0x1400}, {0x3100, 0x3200}, {0x3300, 0x3400}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), reserved, COUNT_OF(reserved));
    soc_memory_region_t available[6];
    assert_int_equal(soc_get_available_memory_region_max_count(), 6);
    assert_int_equal(soc_get_available_memory_regions(available), 6);
}

/* ---- coalescing ------------------------------------------------------ */

static void coalesce_merges_chains_of_adjacent_regions_of_one_type_and_flag(void **state)
{
    (void)state;
    soc_memory_region_t regions[] = {
        {0x1000, 0x1000, 0, 0x41000, false}, {0x2000, 0x1000, 0, 0x42000, false},
        {0x3000, 0x1000, 0, 0x43000, false}, {0x4000, 0x1000, 0, 0, true},
        {0x5000, 0x1000, 0, 0, true},
    };
    assert_int_equal(heapcaps_layout_coalesce(regions, COUNT_OF(regions)), 2);
    assert_int_equal(regions[0].start, 0x1000);
    assert_int_equal(regions[0].size, 0x3000);
    assert_int_equal(regions[0].iram_address, 0x41000);
    assert_false(regions[0].startup_stack);
    assert_int_equal(regions[1].start, 0x4000);
    assert_int_equal(regions[1].size, 0x2000);
    assert_true(regions[1].startup_stack);
}

static void coalesce_keeps_regions_apart_that_differ_or_do_not_touch(void **state)
{
    (void)state;
    soc_memory_region_t regions[] = {
        {0x1000, 0x1000, 0, 0, false}, /* next has another type */
        {0x2000, 0x1000, 1, 0, false}, /* next has the startup flag */
        {0x3000, 0x1000, 1, 0, true},  /* next leaves a gap */
        {0x4010, 0x1000, 1, 0, true},  /* next starts before it ends */
        {0x4000, 0x1000, 1, 0, true},
    };
    soc_memory_region_t original[COUNT_OF(regions)];
    memcpy(original, regions, sizeof(regions));
    assert_int_equal(heapcaps_layout_coalesce(regions, COUNT_OF(regions)), COUNT_OF(regions));
    assert_memory_equal(regions, original, sizeof(regions));
}

static void coalesce_of_nothing_is_nothing(void **state)
{
    (void)state;
    soc_memory_region_t region = {0x1000, 0x1000, 0, 0, false};
    assert_int_equal(heapcaps_layout_coalesce(&region, 0), 0);
    assert_int_equal(heapcaps_layout_coalesce(NULL, 3), 0);
    assert_int_equal(heapcaps_layout_coalesce(&region, 1), 1);
    assert_int_equal(region.size, 0x1000);
}

/* ---- install --------------------------------------------------------- */

static void install_rejects_what_cannot_be_a_layout(void **state)
{
    (void)state;
    const soc_memory_region_t regions[] = {{0x1000, 0x1000, 0, 0, false}};
    const soc_memory_region_t unknown_type[] = {{0x1000, 0x1000, 2, 0, false}};
    const soc_memory_region_t overlapping[] = {{0x1000, 0x1000, 0, 0, false},
                                               {0x1800, 0x1000, 1, 0, false}};
    const soc_reserved_region_t backwards[] = {{0x1200, 0x1100}};
    heapcaps_layout_t good = {.name = "good",
                              .types = board_types,
                              .type_count = COUNT_OF(board_types),
                              .regions = regions,
                              .region_count = 1};
    heapcaps_layout_t bad;

    assert_int_equal(heapcaps_layout_install(NULL), ESP_ERR_INVALID_ARG);
    bad = good;
    bad.types = NULL;
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG);
    bad = good;
    bad.regions = NULL;
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG);
    bad = good;
    bad.regions = unknown_type;
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG);
    bad = good;
    bad.regions = overlapping;
    bad.region_count = COUNT_OF(overlapping);
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG);
    bad = good;
    bad.reserved_count = 1;
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG); /* reserved NULL */
    bad.reserved = backwards;
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG);
    assert_null(heapcaps_layout_installed());

    /* A failed install keeps the layout installed before. */
    assert_int_equal(heapcaps_layout_install(&good), ESP_OK);
    assert_int_equal(heapcaps_layout_install(&bad), ESP_ERR_INVALID_ARG);
    assert_ptr_equal(heapcaps_layout_installed(), &good);
}

static void install_accepts_esp_idf_table_order(void **state)
{
    (void)state;
    /* ESP-IDF lists RTC and SPM regions last, below the RAM before them. */
    const soc_memory_region_t regions[] = {{0x40000000, 0x1000, 0, 0, false},
                                           {0x30000000, 0x1000, 1, 0, false}};
    heapcaps_layout_t board;
    install_board(&board, regions, COUNT_OF(regions), NULL, 0);
    assert_ptr_equal(heapcaps_layout_installed(), &board);
}

static void install_rejects_more_reserved_ranges_than_it_can_sort(void **state)
{
    (void)state;
    static soc_reserved_region_t reserved[65];
    for (size_t i = 0; i < COUNT_OF(reserved); i++) {
        reserved[i].start = (intptr_t)(0x1000 + i * 0x10);
        reserved[i].end = reserved[i].start + 0x8;
    }
    const soc_memory_region_t regions[] = {{0x1000, 0x400, 0, 0, false}};
    heapcaps_layout_t board = {.types = board_types,
                               .type_count = COUNT_OF(board_types),
                               .regions = regions,
                               .region_count = 1,
                               .reserved = reserved,
                               .reserved_count = COUNT_OF(reserved)};
    assert_int_equal(heapcaps_layout_install(&board), ESP_ERR_INVALID_ARG);
    board.reserved_count = COUNT_OF(reserved) - 1;
    assert_int_equal(heapcaps_layout_install(&board), ESP_OK);
    soc_memory_region_t available[80];
    assert_int_equal(soc_get_available_memory_regions(available), 0); /* 8-byte pieces */
}

static void uninstall_forgets_the_layout(void **state)
{
    (void)state;
    log_chip_defaults("esp32c3", &(startup_log_t){0});
    assert_non_null(heapcaps_layout_installed());
    heapcaps_layout_uninstall();
    assert_null(heapcaps_layout_installed());
}

#define LAYOUT_TEST(fn) cmocka_unit_test_teardown(fn, uninstall_layout)

int main(void)
{
    const struct CMUnitTest tests[] = {
        LAYOUT_TEST(esp32_default_layout_prints_the_example_log),
        LAYOUT_TEST(esp32s2_default_layout_prints_the_example_log),
        LAYOUT_TEST(esp32s3_default_layout_prints_the_example_log),
        LAYOUT_TEST(esp32c3_default_layout_prints_the_example_log),
        LAYOUT_TEST(esp32c6_default_layout_prints_the_example_log),
        LAYOUT_TEST(esp32h2_default_layout_prints_the_example_log),
        LAYOUT_TEST(esp32p4_default_layout_prints_the_example_log),
        LAYOUT_TEST(chip_find_knows_every_chip_in_a_stable_order),
        LAYOUT_TEST(chip_find_returns_null_for_unknown_names_and_null),
        LAYOUT_TEST(every_chip_table_is_consistent),
        LAYOUT_TEST(only_esp32p4_reaches_internal_ram_through_a_cache),
        LAYOUT_TEST(built_layout_points_into_the_chip_at_chip_addresses),
        LAYOUT_TEST(memprot_strips_exec_from_every_type_and_nothing_else),
        LAYOUT_TEST(memprot_off_gives_esp32s3_the_iram_region_left_by_iram_code),
        LAYOUT_TEST(rtc_heap_decides_whether_the_rtc_region_exists),
        LAYOUT_TEST(esp32_rtc_heap_adds_all_of_rtc_fast_memory),
        LAYOUT_TEST(psram_reserves_the_whole_window),
        LAYOUT_TEST(psram_on_a_chip_without_psram_is_invalid),
        LAYOUT_TEST(static_dram_moves_the_heap_start),
        LAYOUT_TEST(iram_code_moves_the_iram_heap_start),
        LAYOUT_TEST(iram_code_is_ignored_where_code_shares_the_dram_range),
        LAYOUT_TEST(static_sizes_that_do_not_fit_are_invalid),
        LAYOUT_TEST(build_rejects_null_arguments),
        LAYOUT_TEST(build_rejects_chips_larger_than_the_out_arrays),
        LAYOUT_TEST(reserved_range_inside_a_region_splits_it_in_address_order),
        LAYOUT_TEST(reserved_ranges_trim_or_drop_the_regions_they_cover),
        LAYOUT_TEST(pieces_of_16_bytes_or_less_are_dropped),
        LAYOUT_TEST(reserved_ranges_are_widened_to_whole_words),
        LAYOUT_TEST(available_regions_are_host_addresses),
        LAYOUT_TEST(overlapping_reserved_ranges_give_no_regions_and_an_error),
        LAYOUT_TEST(ranges_that_overlap_once_widened_are_reported),
        LAYOUT_TEST(touching_reserved_ranges_do_not_overlap),
        LAYOUT_TEST(nothing_installed_gives_no_regions),
        LAYOUT_TEST(max_count_bounds_the_worst_case_split),
        LAYOUT_TEST(coalesce_merges_chains_of_adjacent_regions_of_one_type_and_flag),
        LAYOUT_TEST(coalesce_keeps_regions_apart_that_differ_or_do_not_touch),
        LAYOUT_TEST(coalesce_of_nothing_is_nothing),
        LAYOUT_TEST(install_rejects_what_cannot_be_a_layout),
        LAYOUT_TEST(install_accepts_esp_idf_table_order),
        LAYOUT_TEST(install_rejects_more_reserved_ranges_than_it_can_sort),
        LAYOUT_TEST(uninstall_forgets_the_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
