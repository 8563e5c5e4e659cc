/*
 * esp32c6.c — ESP32-C6 memory as ESP-IDF master describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_RAM, TYPE_RTCRAM };

#define COMMON_CAPS                                                                                \
    (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT | MALLOC_CAP_8BIT |               \
     MALLOC_CAP_EXEC)

static const soc_memory_type_desc_t esp32c6_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_RAM] = {"RAM", {COMMON_CAPS | MALLOC_CAP_DMA, 0, 0}},
    [TYPE_RTCRAM] = {"RTCRAM", {MALLOC_CAP_RTCRAM, COMMON_CAPS, 0}},
};

/* Data and instruction buses share the addresses: the IRAM alias is the
 * region itself. */
/* clang-format off */
static const heapcaps_chip_region_t esp32c6_regions[] = {
    /*     start       size     type         IRAM alias  startup condition */
    REGION(0x40800000, 0x20000, TYPE_RAM,    0x40800000, false,  ALWAYS),
    REGION(0x40820000, 0x20000, TYPE_RAM,    0x40820000, false,  ALWAYS),
    REGION(0x40840000, 0x20000, TYPE_RAM,    0x40840000, false,  ALWAYS),
    REGION(0x40860000, 0x1C610, TYPE_RAM,    0x40860000, false,  ALWAYS),
    REGION(0x4087C610, 0x39F0,  TYPE_RAM,    0x4087C610, true,   ALWAYS), /* ROM stack */
    REGION(0x50000000, 0x4000,  TYPE_RTCRAM, 0,          false,  IF_RTC_HEAP),
};
/* clang-format on */

/* What every application reserves (no ULP in HP memory, no TEE). */
static const soc_reserved_region_t esp32c6_reserved[] = {
    {0x4087F564, 0x40880000}, /* ROM layout: dram0_rtos_reserved_start .. SOC_DIRAM_DRAM_HIGH */
    {0x50003FE8, 0x50004000}, /* _rtc_reserved_* */
};

const heapcaps_chip_t heapcaps_chip_esp32c6 = {
    .name = "esp32c6",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x40800000, .dram_high = 0x40880000,
            .iram_low = 0x40800000, .iram_high = 0x40880000,
            .diram_dram_low = 0x40800000, .diram_dram_high = 0x40880000,
            .diram_iram_low = 0x40800000, .diram_iram_high = 0x40880000,
            .diram_inverted = false,
            .rtc_iram_low = 0x50000000, .rtc_iram_high = 0x50004000,
            .rtc_dram_low = 0x50000000, .rtc_dram_high = 0x50004000,
            .rtc_data_low = 0x50000000, .rtc_data_high = 0x50004000,
            .extram_low = 0, .extram_high = 0, /* no PSRAM */
            .dma_low = 0x40800000, .dma_high = 0x40880000,
            .byte_accessible_low = 0x40800000, .byte_accessible_high = 0x40880000,
            .mem_internal_low = 0x40800000, .mem_internal_high = 0x40880000,
            .spm_low = 0, .spm_high = 0,
            .max_contiguous_ram_size = 0x80000,
            .internal_cache_line = 0, /* internal RAM is not cached */
            .external_cache_line = 0, /* no PSRAM */
            .simd_alignment = 0,
            .axi_desc_alignment = 0,
            .psram_dma = false,
        },
    /* clang-format on */
    .types = esp32c6_types,
    .type_count = TABLE_LENGTH(esp32c6_types),
    .regions = esp32c6_regions,
    .region_count = TABLE_LENGTH(esp32c6_regions),
    .reserved = esp32c6_reserved,
    .reserved_count = TABLE_LENGTH(esp32c6_reserved),
    /* IRAM code then static data from the start of SRAM: the v5.4.1 log's
     * heap starts at 0x4080D5B0. */
    .static_dram_start = 0x40800000,
    .default_static_dram = 0xD5B0,
    .iram_code_start = 0,
    .default_iram_code = 0,
    .default_memprot = true,
    .default_rtc_heap = true,
    .max_psram = 0,
};
