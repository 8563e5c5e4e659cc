/*
 * test_coverage_layout.c — the esp_ptr_* helpers on synthetic SoC facts
 * (every range below, inside and above; the D/IRAM and RTC aliases inverted,
 * straight and absent; RTC fast memory as heap or not; internal RAM inside
 * the PSRAM window; one address space for both buses), without a layout and
 * without SoC facts; the layout checks of heapcaps_layout_install() and the
 * chip table builder on synthetic chips. Only address arithmetic: no memory
 * is mapped at these addresses and none is touched.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_guard.h"

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/layout.h"
#include "layouts/chip.h"
#include "memory_layout.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))
#define AT(address)     ((const void *)(uintptr_t)(address))
#define CHIP(p)         ((uint32_t)(uintptr_t)(p))

enum { T_DRAM, T_PSRAM, T_RTC };

static const soc_memory_type_desc_t types[] = {
    [T_DRAM] = {"DRAM", {MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL, MALLOC_CAP_DMA, 0}},
    [T_PSRAM] = {"SPIRAM", {MALLOC_CAP_SPIRAM, MALLOC_CAP_8BIT, 0}},
    [T_RTC] = {"RTCRAM", {MALLOC_CAP_RTCRAM, MALLOC_CAP_8BIT, 0}},
};

/* ESP32-like: D/IRAM alias inverted, RTC fast memory at two addresses,
 * internal RAM placed inside the PSRAM window (ESP32-S3's spare cache). */
static const heapcaps_soc_t soc_a = {
    .dram_low = 0x3FF80000,
    .dram_high = 0x40000000,
    .iram_low = 0x40070000,
    .iram_high = 0x400C0000,
    .diram_dram_low = 0x3FFE0000,
    .diram_dram_high = 0x40000000,
    .diram_iram_low = 0x40070000,
    .diram_iram_high = 0x40090000,
    .diram_inverted = true,
    .rtc_iram_low = 0x400C0000,
    .rtc_iram_high = 0x400C2000,
    .rtc_dram_low = 0x3FF9E000,
    .rtc_dram_high = 0x3FFA0000,
    .rtc_data_low = 0x50000000,
    .rtc_data_high = 0x50002000,
    .extram_low = 0x3F800000,
    .extram_high = 0x3FC00000,
    .dma_low = 0x3FFAE000,
    .dma_high = 0x40000000,
    .byte_accessible_low = 0x3FFA0000,
    .byte_accessible_high = 0x40000000,
    .mem_internal_low = 0x3FFA0000,
    .mem_internal_high = 0x400C0000,
    .psram_dma = false,
};

static const soc_memory_region_t regions_a[] = {
    {0x3F800000, 0x100000, T_PSRAM, 0, false}, /* mapped PSRAM (psram_size) */
    {0x3FBF0000, 0x4000, T_DRAM, 0, false},    /* internal, in the PSRAM window */
    {0x3FFB0000, 0x10000, T_DRAM, 0, false},
    {0x3FF9E000, 0x2000, T_RTC, 0, false}, /* RTC fast memory as heap */
};

static const heapcaps_layout_t layout_a = {
    .name = "a",
    .soc = &soc_a,
    .types = types,
    .type_count = COUNT_OF(types),
    .regions = regions_a,
    .region_count = COUNT_OF(regions_a),
    .psram_size = 0x100000,
};

/* The same chip without RTC fast memory as heap, PSRAM or the window region. */
static const heapcaps_layout_t layout_a_plain = {
    .name = "a-plain",
    .soc = &soc_a,
    .types = types,
    .type_count = COUNT_OF(types),
    .regions = &regions_a[2],
    .region_count = 1,
};

/* ESP32-P4-like: one address space for both buses (no aliases), RTC fast
 * memory at one address, SPM, PSRAM that DMA reaches and that executes. */
static const heapcaps_soc_t soc_b = {
    .dram_low = 0x4FF00000,
    .dram_high = 0x4FFC0000,
    .iram_low = 0x4FF00000,
    .iram_high = 0x4FFC0000,
    .diram_dram_low = 0x4FF00000,
    .diram_dram_high = 0x4FFC0000,
    .diram_iram_low = 0x4FF00000,
    .diram_iram_high = 0x4FFC0000,
    .rtc_iram_low = 0x50108000,
    .rtc_iram_high = 0x50110000,
    .rtc_dram_low = 0x50108000,
    .rtc_dram_high = 0x50110000,
    .extram_low = 0x48000000,
    .extram_high = 0x4C000000,
    .dma_low = 0x4FF00000,
    .dma_high = 0x4FFC0000,
    .byte_accessible_low = 0x4FF00000,
    .byte_accessible_high = 0x4FFC0000,
    .mem_internal_low = 0x4FF00000,
    .mem_internal_high = 0x4FFC0000,
    .spm_low = 0x30100000,
    .spm_high = 0x30102000,
    .psram_dma = true,
};

static const soc_memory_region_t regions_b[] = {
    {0x4FF10000, 0x10000, T_DRAM, 0, false},
};

static const heapcaps_layout_t layout_b = {
    .name = "b",
    .soc = &soc_b,
    .types = types,
    .type_count = COUNT_OF(types),
    .regions = regions_b,
    .region_count = 1,
    .psram_size = 0x200000,
};

/* ESP32-S2-like RTC: a data address only (no instruction alias); the D/IRAM
 * alias straight (not inverted). */
static const heapcaps_soc_t soc_c = {
    .dram_low = 0x3FFB0000,
    .dram_high = 0x40000000,
    .iram_low = 0x40020000,
    .iram_high = 0x40070000,
    .diram_dram_low = 0x3FFB0000,
    .diram_dram_high = 0x40000000,
    .diram_iram_low = 0x40020000,
    .diram_iram_high = 0x40070000,
    .rtc_dram_low = 0x3FF9E000,
    .rtc_dram_high = 0x3FFA0000,
};

/* ESP32-C3-like: no RTC fast memory at all. */
static const heapcaps_soc_t soc_d = {
    .dram_low = 0x3FC80000,
    .dram_high = 0x3FCE0000,
    .iram_low = 0x4037C000,
    .iram_high = 0x403E0000,
};

static heapcaps_layout_t layout_of(const heapcaps_soc_t *soc)
{
    return (heapcaps_layout_t){
        .name = "synthetic", .soc = soc, .types = types, .type_count = COUNT_OF(types)};
}

static int uninstall(void **state)
{
    (void)state;
    heapcaps_layout_uninstall();
    return 0;
}

static void install(const heapcaps_layout_t *layout)
{
    assert_int_equal(heapcaps_layout_install(layout), ESP_OK);
}

/* ---- no facts --------------------------------------------------------- */

static void every_range_is_empty_without_soc_facts(void **state)
{
    (void)state;
    static const heapcaps_layout_t plain = {.name = "plain", .types = types, .type_count = 1};
    for (int with_layout = 0; with_layout < 2; ++with_layout) {
        if (with_layout) {
            install(&plain); /* a board layout: no SoC facts */
        } else {
            heapcaps_layout_uninstall();
        }
        const void *p = AT(0x3FFB0000);
        assert_false(esp_dram_match_iram());
        assert_false(esp_rtc_dram_match_rtc_iram());
        assert_false(esp_ptr_in_iram(p));
        assert_false(esp_ptr_in_dram(p));
        assert_false(esp_ptr_in_diram_dram(p));
        assert_false(esp_ptr_in_diram_iram(p));
        assert_false(esp_ptr_in_rtc_iram_fast(p));
        assert_false(esp_ptr_in_rtc_dram_fast(p));
        assert_false(esp_ptr_in_rtc_slow(p));
        assert_false(esp_ptr_in_spm(p));
        assert_false(esp_ptr_dma_capable(p));
        assert_false(esp_ptr_dma_ext_capable(p));
        assert_false(esp_ptr_executable(p));
        assert_false(esp_ptr_byte_accessible(p));
        assert_false(esp_ptr_internal(p));
        assert_false(esp_ptr_external_ram(p));
        assert_true(esp_ptr_word_aligned(p));
        assert_false(esp_ptr_word_aligned(AT(0x3FFB0002)));
        /* The conversions give the pointer back unchanged. */
        assert_ptr_equal(esp_ptr_diram_dram_to_iram(p), p);
        assert_ptr_equal(esp_ptr_diram_iram_to_dram(p), p);
        assert_ptr_equal(esp_ptr_rtc_dram_to_iram(p), p);
    }
}

/* ---- ranges: below, inside, at the end ---------------------------------- */

typedef bool (*range_test_t)(const void *p);

static void expect_range(range_test_t in, uint32_t low, uint32_t high)
{
    assert_false(in(AT(low - 4)));
    assert_true(in(AT(low)));
    assert_true(in(AT(high - 4)));
    assert_false(in(AT(high)));
}

static void ranges_hold_from_low_to_below_high(void **state)
{
    (void)state;
    install(&layout_a);
    expect_range(esp_ptr_in_iram, soc_a.iram_low, soc_a.iram_high);
    expect_range(esp_ptr_in_dram, soc_a.dram_low, soc_a.dram_high);
    expect_range(esp_ptr_in_diram_dram, soc_a.diram_dram_low, soc_a.diram_dram_high);
    expect_range(esp_ptr_in_diram_iram, soc_a.diram_iram_low, soc_a.diram_iram_high);
    expect_range(esp_ptr_in_rtc_iram_fast, soc_a.rtc_iram_low, soc_a.rtc_iram_high);
    expect_range(esp_ptr_in_rtc_dram_fast, soc_a.rtc_dram_low, soc_a.rtc_dram_high);
    expect_range(esp_ptr_in_rtc_slow, soc_a.rtc_data_low, soc_a.rtc_data_high);
    expect_range(esp_ptr_dma_capable, soc_a.dma_low, soc_a.dma_high);
    install(&layout_b);
    expect_range(esp_ptr_in_spm, soc_b.spm_low, soc_b.spm_high);
    /* PSRAM: only the part that is mapped. */
    expect_range(esp_ptr_external_ram, soc_b.extram_low, soc_b.extram_low + 0x200000);
    expect_range(esp_ptr_dma_ext_capable, soc_b.extram_low, soc_b.extram_low + 0x200000);
}

static void psram_counts_only_when_mapped_and_dma_only_where_it_reaches(void **state)
{
    (void)state;
    install(&layout_a_plain); /* no PSRAM mapped */
    assert_false(esp_ptr_external_ram(AT(soc_a.extram_low)));
    install(&layout_a); /* 1 MiB mapped; DMA cannot reach it on this chip */
    assert_true(esp_ptr_external_ram(AT(soc_a.extram_low)));
    assert_false(esp_ptr_dma_ext_capable(AT(soc_a.extram_low)));
}

/* ---- aliases and address spaces ------------------------------------------ */

static void one_address_space_has_no_iram_alias(void **state)
{
    (void)state;
    install(&layout_b);
    assert_true(esp_dram_match_iram());
    assert_true(esp_rtc_dram_match_rtc_iram());
    assert_false(esp_ptr_in_diram_iram(AT(soc_b.diram_iram_low)));
    const void *rtc = AT(soc_b.rtc_dram_low + 0x100);
    assert_ptr_equal(esp_ptr_rtc_dram_to_iram(rtc), rtc);
    /* PSRAM executes from its data address where the buses share one. */
    assert_true(esp_ptr_executable(AT(soc_b.extram_low)));
    assert_false(esp_ptr_executable(AT(soc_b.extram_low + 0x200000)));
    assert_true(esp_ptr_executable(AT(soc_b.iram_low)));
}

static void separate_buses_are_told_apart(void **state)
{
    (void)state;
    install(&layout_a);
    assert_false(esp_dram_match_iram());
    assert_false(esp_rtc_dram_match_rtc_iram());
    assert_true(esp_ptr_executable(AT(soc_a.iram_low)));
    assert_true(esp_ptr_executable(AT(soc_a.rtc_iram_low)));
    assert_false(esp_ptr_executable(AT(soc_a.dram_low)));
    assert_false(esp_ptr_executable(AT(soc_a.extram_low))); /* PSRAM: data bus only */
    /* Same low address, another high: still two address spaces. */
    heapcaps_soc_t half = soc_a;
    half.iram_low = half.dram_low;
    heapcaps_layout_t layout = layout_of(&half);
    install(&layout);
    assert_false(esp_dram_match_iram());
    half.rtc_iram_low = half.rtc_dram_low;
    half.rtc_iram_high = half.rtc_dram_high + 4;
    assert_false(esp_rtc_dram_match_rtc_iram());
}

static void rtc_fast_memory_is_known_from_either_address(void **state)
{
    (void)state;
    heapcaps_layout_t c = layout_of(&soc_c); /* RTC data address only */
    install(&c);
    assert_false(esp_rtc_dram_match_rtc_iram());
    heapcaps_layout_t d = layout_of(&soc_d); /* no RTC fast memory */
    install(&d);
    assert_false(esp_rtc_dram_match_rtc_iram());
    assert_false(esp_ptr_in_rtc_dram_fast(AT(0x3FF9E000)));
}

static void diram_conversions_follow_the_alias_direction(void **state)
{
    (void)state;
    install(&layout_a); /* inverted: the last word of one is the first of the other */
    assert_int_equal(CHIP(esp_ptr_diram_dram_to_iram(AT(soc_a.diram_dram_high - 4))),
                     soc_a.diram_iram_low);
    assert_int_equal(CHIP(esp_ptr_diram_iram_to_dram(AT(soc_a.diram_iram_low))),
                     soc_a.diram_dram_high - 4);
    heapcaps_layout_t c = layout_of(&soc_c); /* straight */
    install(&c);
    assert_int_equal(CHIP(esp_ptr_diram_dram_to_iram(AT(soc_c.diram_dram_low + 0x100))),
                     soc_c.diram_iram_low + 0x100);
    assert_int_equal(CHIP(esp_ptr_diram_iram_to_dram(AT(soc_c.diram_iram_low + 0x100))),
                     soc_c.diram_dram_low + 0x100);
    install(&layout_a);
    assert_int_equal(CHIP(esp_ptr_rtc_dram_to_iram(AT(soc_a.rtc_dram_low + 8))),
                     soc_a.rtc_iram_low + 8);
}

/* ---- byte-accessible and internal ------------------------------------- */

static void byte_accessible_memory_is_each_kind_of_data_ram(void **state)
{
    (void)state;
    install(&layout_a);
    assert_true(esp_ptr_byte_accessible(AT(soc_a.byte_accessible_low)));
    assert_true(esp_ptr_byte_accessible(AT(soc_a.rtc_dram_low))); /* RTC heap */
    assert_true(esp_ptr_byte_accessible(AT(soc_a.extram_low)));   /* mapped PSRAM */
    assert_true(esp_ptr_byte_accessible(AT(0x3FBF0000)));         /* internal in the window */
    assert_true(esp_ptr_byte_accessible(AT(0x3FBF3FFC)));
    assert_false(esp_ptr_byte_accessible(AT(0x3FBF4000))); /* past that region */
    assert_false(esp_ptr_byte_accessible(AT(0x3FBEFFFC))); /* before it: unmapped PSRAM */
    assert_false(esp_ptr_byte_accessible(AT(soc_a.iram_low)));
    install(&layout_a_plain); /* RTC fast memory not a heap here */
    assert_false(esp_ptr_byte_accessible(AT(soc_a.rtc_dram_low)));
    assert_false(esp_ptr_byte_accessible(AT(0x3FBF0000)));
    install(&layout_b);
    assert_true(esp_ptr_byte_accessible(AT(soc_b.spm_low)));
}

static void internal_memory_is_each_kind_of_on_chip_ram(void **state)
{
    (void)state;
    install(&layout_a);
    assert_true(esp_ptr_internal(AT(soc_a.mem_internal_low)));
    assert_true(esp_ptr_internal(AT(soc_a.rtc_data_low)));
    assert_true(esp_ptr_internal(AT(soc_a.rtc_dram_low))); /* RTC heap */
    assert_true(esp_ptr_internal(AT(0x3FBF0000)));         /* the window's internal RAM */
    assert_false(esp_ptr_internal(AT(soc_a.extram_low)));  /* PSRAM */
    assert_false(esp_ptr_internal(AT(soc_a.rtc_data_high)));
    install(&layout_a_plain);
    assert_false(esp_ptr_internal(AT(soc_a.rtc_dram_low)));
    install(&layout_b);
    assert_true(esp_ptr_internal(AT(soc_b.spm_low)));
}

/* ---- the layout checks ---------------------------------------------------- */

static void install_rejects_what_no_board_has(void **state)
{
    (void)state;
    soc_reserved_region_t reserved[2] = {{0x3FFB0000, 0x3FFB0100}, {0x3FFB0200, 0x3FFB0300}};
    heapcaps_layout_t layout = layout_a_plain;
    layout.reserved = NULL;
    layout.reserved_count = 1; /* a count without its table */
    assert_int_equal(heapcaps_layout_install(&layout), ESP_ERR_INVALID_ARG);
    layout.reserved = reserved;
    layout.reserved_count = 65; /* more than the 64 ranges a layout may have */
    assert_int_equal(heapcaps_layout_install(&layout), ESP_ERR_INVALID_ARG);
    layout.reserved_count = 2;
    reserved[1].end = reserved[1].start - 4; /* ends before it starts */
    assert_int_equal(heapcaps_layout_install(&layout), ESP_ERR_INVALID_ARG);
    /* A region whose end wraps around the address space. */
    soc_memory_region_t wrapping = {(intptr_t)(UINTPTR_MAX - 0xFFF), 0x2000, T_DRAM, 0, false};
    layout = layout_a_plain;
    layout.regions = &wrapping;
    assert_int_equal(heapcaps_layout_install(&layout), ESP_ERR_INVALID_ARG);
    assert_null(heapcaps_layout_installed());
}

static char printed[512];

static void read_regions(void *context)
{
    soc_memory_region_t out[8];
    *(size_t *)context = soc_get_available_memory_regions(out);
}

static void reserved_ranges_starting_together_overlap(void **state)
{
    (void)state;
    /* An empty range and another at its start: ESP-IDF counts them as
     * overlapping too (the second does not start after the first). */
    static const soc_reserved_region_t reserved[] = {{0x3FFB0100, 0x3FFB0100},
                                                     {0x3FFB0100, 0x3FFB0200}};
    heapcaps_layout_t layout = layout_a_plain;
    layout.reserved = reserved;
    layout.reserved_count = 2;
    install(&layout);
    size_t count = 1;
    capture_output(2, read_regions, &count, printed, sizeof(printed));
    assert_int_equal(count, 0);
    assert_non_null(strstr(printed, "SOC_RESERVE_MEMORY_REGION region range"));
    assert_non_null(strstr(printed, "overlaps with"));
    /* No table to write into: nothing. */
    install(&layout_a_plain);
    assert_int_equal(soc_get_available_memory_regions(NULL), 0);
}

static void layout_helpers_answer_for_no_layout_and_unknown_types(void **state)
{
    (void)state;
    /* Without a layout, chip and host addresses are the same. */
    assert_int_equal(heapcaps_layout_to_chip(NULL, 0x1234), 0x1234);
    assert_int_equal(heapcaps_layout_to_host(NULL, 0x1234), 0x1234);
    heapcaps_layout_t shifted = layout_a_plain;
    shifted.address_offset = 0x1000;
    assert_int_equal(heapcaps_layout_to_chip(&shifted, 0x3000), 0x2000);
    assert_int_equal(heapcaps_layout_to_host(&shifted, 0x2000), 0x3000);
    assert_true(heapcaps_layout_type_is_psram(&layout_a, T_PSRAM));
    assert_false(heapcaps_layout_type_is_psram(&layout_a, T_DRAM));
    assert_false(heapcaps_layout_type_is_psram(&layout_a, COUNT_OF(types)));
}

/* ---- the chip table builder, on synthetic chips ------------------------- */

static const heapcaps_chip_region_t chip_regions[] = {
    REGION(0x3FFB0000, 0x10000, T_DRAM, 0, false, ALWAYS),
    REGION(0x3FFC0000, 0x10000, T_DRAM, 0, false, ALWAYS),
};

static heapcaps_chip_t synthetic_chip(void)
{
    heapcaps_chip_t chip = {0};
    chip.name = "synthetic";
    chip.soc = soc_c;
    chip.soc.extram_low = 0x3F800000;
    chip.soc.extram_high = 0x3FC00000;
    chip.types = types;
    chip.type_count = COUNT_OF(types);
    chip.regions = chip_regions;
    chip.region_count = COUNT_OF(chip_regions);
    chip.static_dram_start = 0x3FFB0000;
    chip.default_static_dram = 0; /* an application with no static data */
    chip.max_psram = 0x400000;
    return chip;
}

static heapcaps_chip_layout_t built;

static void chip_without_static_ram_or_rom_ranges_reserves_nothing(void **state)
{
    (void)state;
    heapcaps_chip_t chip = synthetic_chip();
    heapcaps_chip_options_t options = {0};
    assert_int_equal(heapcaps_chip_build_layout(&chip, &options, &built), ESP_OK);
    assert_int_equal(built.layout.reserved_count, 0);
    assert_int_equal(built.layout.region_count, 2);
    /* Static data asked for: one range. */
    options.static_dram = 0x800;
    assert_int_equal(heapcaps_chip_build_layout(&chip, &options, &built), ESP_OK);
    assert_int_equal(built.layout.reserved_count, 1);
    assert_int_equal(built.layout.reserved[0].start, 0x3FFB0000);
    assert_int_equal(built.layout.reserved[0].end, 0x3FFB0800);
}

static void chip_tables_larger_than_a_layout_are_rejected(void **state)
{
    (void)state;
    static soc_reserved_region_t many[COUNT_OF(built.reserved) + 1];
    for (size_t i = 0; i < COUNT_OF(many); ++i) {
        many[i] = (soc_reserved_region_t){(intptr_t)(0x3FFB0000 + 0x100 * i),
                                          (intptr_t)(0x3FFB0000 + 0x100 * i + 0x10)};
    }
    heapcaps_chip_t chip = synthetic_chip();
    heapcaps_chip_options_t options = {0};
    chip.reserved = many;
    chip.reserved_count = COUNT_OF(many); /* one more than a layout holds */
    assert_int_equal(heapcaps_chip_build_layout(&chip, &options, &built), ESP_ERR_INVALID_ARG);
    /* A full table: no room for the PSRAM window. */
    chip.reserved_count = COUNT_OF(built.reserved);
    options.psram = true;
    assert_int_equal(heapcaps_chip_build_layout(&chip, &options, &built), ESP_ERR_INVALID_ARG);
    /* One less: the window fits. */
    chip.reserved_count = COUNT_OF(built.reserved) - 1;
    assert_int_equal(heapcaps_chip_build_layout(&chip, &options, &built), ESP_OK);
    assert_int_equal(built.layout.reserved_count, COUNT_OF(built.reserved));
    assert_int_equal(built.layout.reserved[COUNT_OF(built.reserved) - 1].start, 0x3F800000);
}

#define LAYOUT_TEST(fn) cmocka_unit_test_teardown(fn, uninstall)

int main(void)
{
    const struct CMUnitTest tests[] = {
        LAYOUT_TEST(every_range_is_empty_without_soc_facts),
        LAYOUT_TEST(ranges_hold_from_low_to_below_high),
        LAYOUT_TEST(psram_counts_only_when_mapped_and_dma_only_where_it_reaches),
        LAYOUT_TEST(one_address_space_has_no_iram_alias),
        LAYOUT_TEST(separate_buses_are_told_apart),
        LAYOUT_TEST(rtc_fast_memory_is_known_from_either_address),
        LAYOUT_TEST(diram_conversions_follow_the_alias_direction),
        LAYOUT_TEST(byte_accessible_memory_is_each_kind_of_data_ram),
        LAYOUT_TEST(internal_memory_is_each_kind_of_on_chip_ram),
        LAYOUT_TEST(install_rejects_what_no_board_has),
        LAYOUT_TEST(reserved_ranges_starting_together_overlap),
        LAYOUT_TEST(layout_helpers_answer_for_no_layout_and_unknown_types),
        LAYOUT_TEST(chip_without_static_ram_or_rom_ranges_reserves_nothing),
        LAYOUT_TEST(chip_tables_larger_than_a_layout_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
