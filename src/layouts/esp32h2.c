/*
 * esp32h2.c — ESP32-H2 memory as ESP-IDF master describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_RAM, TYPE_RTCRAM };

#define COMMON_CAPS                                                                                \
    (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT | MALLOC_CAP_8BIT |               \
     MALLOC_CAP_EXEC)

static const soc_memory_type_desc_t esp32h2_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_RAM] = {"RAM", {COMMON_CAPS | MALLOC_CAP_DMA, 0, 0}},
    [TYPE_RTCRAM] = {"RTCRAM", {MALLOC_CAP_RTCRAM, COMMON_CAPS, 0}},
};

/* Data and instruction buses share the addresses: the IRAM alias is the
 * region itself. */
/* clang-format off */
static const heapcaps_chip_region_t esp32h2_regions[] = {
    /*     start       size     type         IRAM alias  startup condition */
    REGION(0x40800000, 0x10000, TYPE_RAM,    0x40800000, false,  ALWAYS),
    REGION(0x40810000, 0x10000, TYPE_RAM,    0x40810000, false,  ALWAYS),
    REGION(0x40820000, 0x10000, TYPE_RAM,    0x40820000, false,  ALWAYS),
    REGION(0x40830000, 0x10000, TYPE_RAM,    0x40830000, false,  ALWAYS),
    REGION(0x40840000, 0xD380,  TYPE_RAM,    0x40840000, false,  ALWAYS),
    REGION(0x4084D380, 0x2C80,  TYPE_RAM,    0x4084D380, true,   ALWAYS), /* ROM stack */
    REGION(0x50000000, 0x1000,  TYPE_RTCRAM, 0,          false,  IF_RTC_HEAP),
};
/* clang-format on */

/* What every application reserves (no TEE). */
static const soc_reserved_region_t esp32h2_reserved[] = {
    {0x4084FEE0, 0x40850000}, /* ROM layout: dram0_rtos_reserved_start .. SOC_DIRAM_DRAM_HIGH */
    {0x50000FE8, 0x50001000}, /* _rtc_reserved_* */
};

const heapcaps_chip_t heapcaps_chip_esp32h2 = {
    .name = "esp32h2",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x40800000, .dram_high = 0x40850000,
            .iram_low = 0x40800000, .iram_high = 0x40850000,
            .diram_dram_low = 0x40800000, .diram_dram_high = 0x40850000,
            .diram_iram_low = 0x40800000, .diram_iram_high = 0x40850000,
            .diram_inverted = false,
            .rtc_iram_low = 0x50000000, .rtc_iram_high = 0x50001000,
            .rtc_dram_low = 0x50000000, .rtc_dram_high = 0x50001000,
            .rtc_data_low = 0x50000000, .rtc_data_high = 0x50001000,
            .extram_low = 0, .extram_high = 0, /* no PSRAM */
            .dma_low = 0x40800000, .dma_high = 0x40850000,
            .byte_accessible_low = 0x40800000, .byte_accessible_high = 0x40850000,
            .mem_internal_low = 0x40800000, .mem_internal_high = 0x40850000,
            .spm_low = 0, .spm_high = 0,
            .max_contiguous_ram_size = 0x50000,
            .internal_cache_line = 0, /* internal RAM is not cached */
            .external_cache_line = 0, /* no PSRAM */
            .simd_alignment = 0,
            .axi_desc_alignment = 0,
            .psram_dma = false,
        },
    /* clang-format on */
    .types = esp32h2_types,
    .type_count = TABLE_LENGTH(esp32h2_types),
    .regions = esp32h2_regions,
    .region_count = TABLE_LENGTH(esp32h2_regions),
    .reserved = esp32h2_reserved,
    .reserved_count = TABLE_LENGTH(esp32h2_reserved),
    /* IRAM code then static data from the start of SRAM: the v5.4 log's heap
     * starts at 0x4080CB60. */
    .static_dram_start = 0x40800000,
    .default_static_dram = 0xCB60,
    .iram_code_start = 0,
    .default_iram_code = 0,
    .default_memprot = true,
    .default_rtc_heap = true,
    .max_psram = 0,
};
