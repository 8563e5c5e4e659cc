/*
 * esp32s3.c — ESP32-S3 memory as ESP-IDF master describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_RAM, TYPE_DRAM, TYPE_IRAM, TYPE_SPIRAM, TYPE_RTCRAM };

#define COMMON_CAPS (MALLOC_CAP_DEFAULT | MALLOC_CAP_32BIT | MALLOC_CAP_8BIT)

static const soc_memory_type_desc_t esp32s3_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_RAM] = {"RAM",
                  {COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_RETENTION |
                       MALLOC_CAP_EXEC | MALLOC_CAP_SIMD,
                   0, 0}},
    [TYPE_DRAM] = {"DRAM",
                   {0, COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_SIMD, 0}},
    [TYPE_IRAM] = {"IRAM", {MALLOC_CAP_EXEC, MALLOC_CAP_32BIT | MALLOC_CAP_INTERNAL, 0}},
    [TYPE_SPIRAM] = {"SPIRAM", {MALLOC_CAP_SPIRAM, 0, COMMON_CAPS | MALLOC_CAP_SIMD}},
    [TYPE_RTCRAM] = {"RTCRAM",
                     {MALLOC_CAP_RTCRAM, 0, COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_EXEC}},
};

/* Default cache configuration: I-cache 16 KB (its other 16 KB of SRAM0 is
 * the IRAM region) and D-cache 32 KB (0x3FCF0000 is a heap; the D-cache
 * 16 KB block at 0x3C000000 is not). */
/* clang-format off */
static const heapcaps_chip_region_t esp32s3_regions[] = {
    /*     start       size       type         IRAM alias  startup condition */
    REGION(0x40374000, 0x4000,    TYPE_IRAM,   0,          false,  IF_NO_MEMPROT),
    REGION(0x3FC88000, 0x8000,    TYPE_RAM,    0x40378000, false,  ALWAYS),
    REGION(0x3FC90000, 0x10000,   TYPE_RAM,    0x40380000, false,  ALWAYS),
    REGION(0x3FCA0000, 0x10000,   TYPE_RAM,    0x40390000, false,  ALWAYS),
    REGION(0x3FCB0000, 0x10000,   TYPE_RAM,    0x403A0000, false,  ALWAYS),
    REGION(0x3FCC0000, 0x10000,   TYPE_RAM,    0x403B0000, false,  ALWAYS),
    REGION(0x3FCD0000, 0x10000,   TYPE_RAM,    0x403C0000, false,  ALWAYS),
    REGION(0x3FCE0000, 0x9710,    TYPE_RAM,    0x403D0000, false,  ALWAYS),
    REGION(0x3FCE9710, 0x68F0,    TYPE_RAM,    0x403D9710, true,   ALWAYS), /* ROM stack */
    REGION(0x3FCF0000, 0x8000,    TYPE_DRAM,   0,          false,  ALWAYS), /* D-cache 32 KB */
    REGION(0x3C000000, 0x2000000, TYPE_SPIRAM, 0,          false,  IF_PSRAM),
    REGION(0x600FE000, 0x2000,    TYPE_RTCRAM, 0,          false,  IF_RTC_HEAP),
};
/* clang-format on */

/* What every application reserves (trace memory off). */
static const soc_reserved_region_t esp32s3_reserved[] = {
    {0x3FCEEE34, 0x3FCF0000}, /* ROM layout: dram0_rtos_reserved_start .. SOC_DIRAM_DRAM_HIGH */
    {0x600FFFE8, 0x60100000}, /* _rtc_reserved_* */
};

const heapcaps_chip_t heapcaps_chip_esp32s3 = {
    .name = "esp32s3",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x3FC88000, .dram_high = 0x3FD00000,
            .iram_low = 0x40370000, .iram_high = 0x403E0000,
            .diram_dram_low = 0x3FC88000, .diram_dram_high = 0x3FCF0000,
            .diram_iram_low = 0x40378000, .diram_iram_high = 0x403E0000,
            .diram_inverted = false,
            .rtc_iram_low = 0x600FE000, .rtc_iram_high = 0x60100000,
            .rtc_dram_low = 0x600FE000, .rtc_dram_high = 0x60100000,
            .rtc_data_low = 0x50000000, .rtc_data_high = 0x50002000,
            .extram_low = 0x3C000000, .extram_high = 0x3E000000,
            .dma_low = 0x3FC88000, .dma_high = 0x3FD00000,
            .byte_accessible_low = 0x3FC88000, .byte_accessible_high = 0x3FD00000,
            .mem_internal_low = 0x3FC88000, .mem_internal_high = 0x403E0000,
            .spm_low = 0, .spm_high = 0,
            .max_contiguous_ram_size = 0x2000000,
            .internal_cache_line = 0,  /* internal RAM is not cached */
            .external_cache_line = 32, /* CONFIG_ESP32S3_DATA_CACHE_LINE_SIZE default */
            .simd_alignment = 16,      /* SOC_SIMD_PREFERRED_DATA_ALIGNMENT */
            .axi_desc_alignment = 0,
            .psram_dma = true, /* SOC_PSRAM_DMA_CAPABLE, GDMA reaches PSRAM */
        },
    /* clang-format on */
    .types = esp32s3_types,
    .type_count = TABLE_LENGTH(esp32s3_types),
    .regions = esp32s3_regions,
    .region_count = TABLE_LENGTH(esp32s3_regions),
    .reserved = esp32s3_reserved,
    .reserved_count = TABLE_LENGTH(esp32s3_reserved),
    /* IRAM code past the I-cache gap, then static data, seen through the DRAM
     * bus: the v5.5.1 log's heap starts at 0x3FC9D3A8. */
    .static_dram_start = 0x3FC88000,
    .default_static_dram = 0x153A8,
    /* _iram_start = 0x40374000: IRAM code fills the IRAM region first. */
    .iram_code_start = 0x40374000,
    .default_iram_code = 0x4000,
    .default_memprot = true,
    .default_rtc_heap = true,
    .max_psram = 0x2000000,
};
