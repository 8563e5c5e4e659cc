/*
 * esp32s2.c — ESP32-S2 memory as ESP-IDF master describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_RAM, TYPE_SPIRAM, TYPE_RTCRAM };

#define COMMON_CAPS (MALLOC_CAP_DEFAULT | MALLOC_CAP_32BIT | MALLOC_CAP_8BIT)

static const soc_memory_type_desc_t esp32s2_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_RAM] = {"RAM",
                  {COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_EXEC, 0, 0}},
    [TYPE_SPIRAM] = {"SPIRAM", {MALLOC_CAP_SPIRAM, 0, COMMON_CAPS}},
    [TYPE_RTCRAM] = {"RTCRAM",
                     {MALLOC_CAP_RTCRAM, 0, COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_EXEC}},
};

/* Default cache configuration: I-cache 8 KB and D-cache 8 KB take blocks
 * 0 and 1, so the heap's RAM starts with block 2. The IRAM alias of every
 * RAM block is its address + 0x70000. */
/* clang-format off */
static const heapcaps_chip_region_t esp32s2_regions[] = {
    /*     start       size      type         IRAM alias  startup condition */
    REGION(0x3F500000, 0xA80000, TYPE_SPIRAM, 0,          false,  IF_PSRAM),
    REGION(0x3FFB4000, 0x2000,   TYPE_RAM,    0x40024000, false,  ALWAYS), /* block 2 */
    REGION(0x3FFB6000, 0x2000,   TYPE_RAM,    0x40026000, false,  ALWAYS), /* block 3 */
    REGION(0x3FFB8000, 0x4000,   TYPE_RAM,    0x40028000, false,  ALWAYS), /* block 4 */
    REGION(0x3FFBC000, 0x4000,   TYPE_RAM,    0x4002C000, false,  ALWAYS),
    REGION(0x3FFC0000, 0x4000,   TYPE_RAM,    0x40030000, false,  ALWAYS),
    REGION(0x3FFC4000, 0x4000,   TYPE_RAM,    0x40034000, false,  ALWAYS),
    REGION(0x3FFC8000, 0x4000,   TYPE_RAM,    0x40038000, false,  ALWAYS),
    REGION(0x3FFCC000, 0x4000,   TYPE_RAM,    0x4003C000, false,  ALWAYS),
    REGION(0x3FFD0000, 0x4000,   TYPE_RAM,    0x40040000, false,  ALWAYS),
    REGION(0x3FFD4000, 0x4000,   TYPE_RAM,    0x40044000, false,  ALWAYS),
    REGION(0x3FFD8000, 0x4000,   TYPE_RAM,    0x40048000, false,  ALWAYS),
    REGION(0x3FFDC000, 0x4000,   TYPE_RAM,    0x4004C000, false,  ALWAYS),
    REGION(0x3FFE0000, 0x4000,   TYPE_RAM,    0x40050000, false,  ALWAYS),
    REGION(0x3FFE4000, 0x4000,   TYPE_RAM,    0x40054000, false,  ALWAYS),
    REGION(0x3FFE8000, 0x4000,   TYPE_RAM,    0x40058000, false,  ALWAYS),
    REGION(0x3FFEC000, 0x4000,   TYPE_RAM,    0x4005C000, false,  ALWAYS),
    REGION(0x3FFF0000, 0x4000,   TYPE_RAM,    0x40060000, false,  ALWAYS),
    REGION(0x3FFF4000, 0x4000,   TYPE_RAM,    0x40064000, false,  ALWAYS),
    REGION(0x3FFF8000, 0x4000,   TYPE_RAM,    0x40068000, false,  ALWAYS),
    REGION(0x3FFFC000, 0x4000,   TYPE_RAM,    0x4006C000, true,   ALWAYS), /* block 21 */
    REGION(0x3FF9E000, 0x2000,   TYPE_RTCRAM, 0x40070000, false,  IF_RTC_HEAP),
};
/* clang-format on */

/* What every application reserves (trace memory off). */
static const soc_reserved_region_t esp32s2_reserved[] = {
    {0x3FFFFA10, 0x40000000}, /* ROM: _dram0_rtos_reserved_start .. SOC_BYTE_ACCESSIBLE_HIGH */
    {0x3FF9E000, 0x3FF9E030}, /* RTC fast data */
    {0x3FF9FFE8, 0x3FFA0000}, /* _rtc_reserved_* */
};

const heapcaps_chip_t heapcaps_chip_esp32s2 = {
    .name = "esp32s2",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x3FFB0000, .dram_high = 0x40000000,
            .iram_low = 0x40020000, .iram_high = 0x40070000,
            .diram_dram_low = 0x3FFB0000, .diram_dram_high = 0x40000000,
            .diram_iram_low = 0x40020000, .diram_iram_high = 0x40070000,
            .diram_inverted = false,
            .rtc_iram_low = 0x40070000, .rtc_iram_high = 0x40072000,
            .rtc_dram_low = 0x3FF9E000, .rtc_dram_high = 0x3FFA0000,
            .rtc_data_low = 0x50000000, .rtc_data_high = 0x50002000,
            .extram_low = 0x3F500000, .extram_high = 0x3FF80000,
            .dma_low = 0x3FFB0000, .dma_high = 0x40000000,
            .byte_accessible_low = 0x3FF9E000, .byte_accessible_high = 0x40000000,
            .mem_internal_low = 0x3FF9E000, .mem_internal_high = 0x40072000,
            .spm_low = 0, .spm_high = 0,
            .max_contiguous_ram_size = 0xA80000,
            .internal_cache_line = 0,  /* internal RAM is not cached */
            .external_cache_line = 32, /* CONFIG_ESP32S2_DATA_CACHE_LINE_SIZE default */
            .simd_alignment = 0,
            .axi_desc_alignment = 0,
            .psram_dma = true, /* SOC_PSRAM_DMA_CAPABLE */
        },
    /* clang-format on */
    .types = esp32s2_types,
    .type_count = TABLE_LENGTH(esp32s2_types),
    .regions = esp32s2_regions,
    .region_count = TABLE_LENGTH(esp32s2_regions),
    .reserved = esp32s2_reserved,
    .reserved_count = TABLE_LENGTH(esp32s2_reserved),
    /* IRAM code (from block 2) then static data: the v5.2.1 log's heap starts at 0x3FFD7B10. */
    .static_dram_start = 0x3FFB4000,
    .default_static_dram = 0x23B10,
    .iram_code_start = 0,
    .default_iram_code = 0,
    .default_memprot = true,
    .default_rtc_heap = true,
    .max_psram = 0xA80000,
};
