/*
 * esp32.c — ESP32 memory as ESP-IDF master describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_DRAM, TYPE_DIRAM, TYPE_IRAM, TYPE_SPIRAM, TYPE_RTCRAM };

static const soc_memory_type_desc_t esp32_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_DRAM] = {"DRAM",
                   {MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT,
                    MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_32BIT, 0}},
    [TYPE_DIRAM] = {"D/IRAM",
                    {0, MALLOC_CAP_DMA | MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL | MALLOC_CAP_DEFAULT,
                     MALLOC_CAP_32BIT | MALLOC_CAP_EXEC}},
    [TYPE_IRAM] = {"IRAM", {MALLOC_CAP_INTERNAL | MALLOC_CAP_EXEC | MALLOC_CAP_32BIT, 0, 0}},
    [TYPE_SPIRAM] = {"SPIRAM",
                     {MALLOC_CAP_SPIRAM | MALLOC_CAP_DEFAULT, 0,
                      MALLOC_CAP_8BIT | MALLOC_CAP_32BIT}},
    [TYPE_RTCRAM] = {"RTCRAM",
                     {MALLOC_CAP_RTCRAM, MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT,
                      MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT | MALLOC_CAP_EXEC}},
};

/* clang-format off */
static const heapcaps_chip_region_t esp32_regions[] = {
    /*     start       size      type         IRAM alias  startup condition */
    REGION(0x3F800000, 0x400000, TYPE_SPIRAM, 0,          false,  IF_PSRAM),
    REGION(0x3FFAE000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS), /* pool 16, ROM */
    REGION(0x3FFB0000, 0x8000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFB8000, 0x8000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFC0000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFC2000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFC4000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFC6000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFC8000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFCA000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFCC000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFCE000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFD0000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFD2000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFD4000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFD6000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFD8000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFDA000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFDC000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    REGION(0x3FFDE000, 0x2000,   TYPE_DRAM,   0,          false,  ALWAYS),
    /* D/IRAM: the IRAM alias runs backwards (SOC_DIRAM_INVERTED). */
    REGION(0x3FFE0000, 0x4000,   TYPE_DIRAM,  0x400BC000, true,   ALWAYS),
    REGION(0x3FFE4000, 0x4000,   TYPE_DIRAM,  0x400B8000, true,   ALWAYS),
    REGION(0x3FFE8000, 0x8000,   TYPE_DIRAM,  0x400B0000, true,   ALWAYS),
    REGION(0x3FFF0000, 0x8000,   TYPE_DIRAM,  0x400A8000, true,   ALWAYS),
    REGION(0x3FFF8000, 0x4000,   TYPE_DIRAM,  0x400A4000, true,   ALWAYS),
    REGION(0x3FFFC000, 0x4000,   TYPE_DIRAM,  0x400A0000, true,   ALWAYS),
    REGION(0x40070000, 0x8000,   TYPE_IRAM,   0,          false,  ALWAYS), /* PRO CPU cache */
    REGION(0x40078000, 0x8000,   TYPE_IRAM,   0,          false,  ALWAYS), /* APP CPU cache */
    REGION(0x40080000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40082000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40084000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40086000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40088000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x4008A000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x4008C000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x4008E000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40090000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40092000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40094000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40096000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x40098000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x4009A000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x4009C000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    REGION(0x4009E000, 0x2000,   TYPE_IRAM,   0,          false,  ALWAYS),
    /* RTC fast memory: a heap only in single-core builds (off by default). */
    REGION(0x3FF80000, 0x2000,   TYPE_RTCRAM, 0,          false,  IF_RTC_HEAP),
};
/* clang-format on */

/* What every application reserves (dual-core, trace memory off). */
static const soc_reserved_region_t esp32_reserved[] = {
    {0x3FFAE000, 0x3FFAE6E0}, /* ROM data */
    {0x3FFE0000, 0x3FFE0440}, /* ROM data of the PRO CPU */
    {0x3FFE3F20, 0x3FFE4350}, /* ROM data of the APP CPU */
    {0x40070000, 0x40078000}, /* PRO CPU cache */
    {0x40078000, 0x40080000}, /* APP CPU cache */
};

const heapcaps_chip_t heapcaps_chip_esp32 = {
    .name = "esp32",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x3FFAE000, .dram_high = 0x40000000,
            .iram_low = 0x40080000, .iram_high = 0x400AA000,
            .diram_dram_low = 0x3FFE0000, .diram_dram_high = 0x40000000,
            .diram_iram_low = 0x400A0000, .diram_iram_high = 0x400C0000,
            .diram_inverted = true,
            .rtc_iram_low = 0x400C0000, .rtc_iram_high = 0x400C2000,
            .rtc_dram_low = 0x3FF80000, .rtc_dram_high = 0x3FF82000,
            .rtc_data_low = 0x50000000, .rtc_data_high = 0x50002000,
            .extram_low = 0x3F800000, .extram_high = 0x3FC00000,
            .dma_low = 0x3FFAE000, .dma_high = 0x40000000,
            .byte_accessible_low = 0x3FF90000, .byte_accessible_high = 0x40000000,
            .mem_internal_low = 0x3FF90000, .mem_internal_high = 0x400C2000,
            .spm_low = 0, .spm_high = 0,
            .max_contiguous_ram_size = 0x400000,
            .internal_cache_line = 0,  /* internal RAM is not cached */
            .external_cache_line = 32, /* fixed on ESP32 */
            .simd_alignment = 0,
            .axi_desc_alignment = 0,
            .psram_dma = false,
        },
    /* clang-format on */
    .types = esp32_types,
    .type_count = TABLE_LENGTH(esp32_types),
    .regions = esp32_regions,
    .region_count = TABLE_LENGTH(esp32_regions),
    .reserved = esp32_reserved,
    .reserved_count = TABLE_LENGTH(esp32_reserved),
    /* _data_start .. _heap_start: the docs log's DRAM heap starts at 0x3FFB2EC8. */
    .static_dram_start = 0x3FFB0000,
    .default_static_dram = 0x2EC8,
    /* _iram_start .. _iram_end: the docs log's IRAM heap starts at 0x4008944C. */
    .iram_code_start = 0x40080000,
    .default_iram_code = 0x944C,
    .default_memprot = false, /* ESP32 has no memory protection option */
    /* RTC fast memory is a heap only in a single-core build, which this
     * table (dual-core reservations) does not describe. */
    .default_rtc_heap = false,
    .max_psram = 0x400000,
    .max_physical_psram = 0x1000000, /* himem: 16 MiB, 384 banks above the window */
};
