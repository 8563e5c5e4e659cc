/*
 * esp32c3.c — ESP32-C3 memory as ESP-IDF master describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_RAM, TYPE_RETENTION_RAM, TYPE_RTCRAM };

#define COMMON_CAPS                                                                                \
    (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT | MALLOC_CAP_8BIT |               \
     MALLOC_CAP_EXEC)

static const soc_memory_type_desc_t esp32c3_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_RAM] = {"RAM", {COMMON_CAPS | MALLOC_CAP_DMA, 0, 0}},
    [TYPE_RETENTION_RAM] = {"Retention RAM",
                            {MALLOC_CAP_RETENTION, COMMON_CAPS | MALLOC_CAP_DMA, 0}},
    [TYPE_RTCRAM] = {"RTCRAM", {MALLOC_CAP_RTCRAM, 0, COMMON_CAPS}},
};

/* clang-format off */
static const heapcaps_chip_region_t esp32c3_regions[] = {
    /*     start       size     type                IRAM alias  startup condition */
    REGION(0x3FC80000, 0x20000, TYPE_RAM,           0x40380000, false,  ALWAYS),
    REGION(0x3FCA0000, 0x20000, TYPE_RAM,           0x403A0000, false,  ALWAYS),
    REGION(0x3FCC0000, 0x1C710, TYPE_RETENTION_RAM, 0x403C0000, false,  ALWAYS),
    REGION(0x3FCDC710, 0x38F0,  TYPE_RETENTION_RAM, 0x403DC710, true,   ALWAYS), /* ROM stack */
    REGION(0x50000000, 0x2000,  TYPE_RTCRAM,        0,          false,  IF_RTC_HEAP),
};
/* clang-format on */

/* What every application reserves. */
static const soc_reserved_region_t esp32c3_reserved[] = {
    {0x3FCDF060, 0x3FCE0000}, /* ROM layout: dram0_rtos_reserved_start .. SOC_DIRAM_DRAM_HIGH */
    {0x50000000, 0x50000020}, /* RTC data: SOC_RTC_DRAM_LOW .. _rtc_force_slow_end */
    {0x50001FE8, 0x50002000}, /* _rtc_reserved_* */
};

const heapcaps_chip_t heapcaps_chip_esp32c3 = {
    .name = "esp32c3",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x3FC80000, .dram_high = 0x3FCE0000,
            .iram_low = 0x4037C000, .iram_high = 0x403E0000,
            .diram_dram_low = 0x3FC80000, .diram_dram_high = 0x3FCE0000,
            .diram_iram_low = 0x40380000, .diram_iram_high = 0x403E0000,
            .diram_inverted = false,
            .rtc_iram_low = 0x50000000, .rtc_iram_high = 0x50002000,
            .rtc_dram_low = 0x50000000, .rtc_dram_high = 0x50002000,
            .rtc_data_low = 0x50000000, .rtc_data_high = 0x50002000,
            .extram_low = 0, .extram_high = 0, /* no PSRAM */
            .dma_low = 0x3FC80000, .dma_high = 0x3FCE0000,
            .byte_accessible_low = 0x3FC80000, .byte_accessible_high = 0x3FD00000,
            .mem_internal_low = 0x3FC80000, .mem_internal_high = 0x3FCE0000,
            .spm_low = 0, .spm_high = 0,
            .max_contiguous_ram_size = 0x64000,
            .internal_cache_line = 0, /* internal RAM is not cached */
            .external_cache_line = 0, /* no PSRAM */
            .simd_alignment = 0,
            .axi_desc_alignment = 0,
            .psram_dma = false,
        },
    /* clang-format on */
    .types = esp32c3_types,
    .type_count = TABLE_LENGTH(esp32c3_types),
    .regions = esp32c3_regions,
    .region_count = TABLE_LENGTH(esp32c3_regions),
    .reserved = esp32c3_reserved,
    .reserved_count = TABLE_LENGTH(esp32c3_reserved),
    /* IRAM code from 0x40380000 then static data, seen through the DRAM bus:
     * the v5.5.1 log's heap starts at 0x3FC8D610. */
    .static_dram_start = 0x3FC80000,
    .default_static_dram = 0xD610,
    .iram_code_start = 0,
    .default_iram_code = 0,
    .default_memprot = true,
    .default_rtc_heap = true,
    .max_psram = 0,
};
