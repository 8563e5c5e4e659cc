/*
 * esp32p4.c — ESP32-P4 (chip revision 3 or later) memory as ESP-IDF master
 * describes it (docs/layouts.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include "esp_heap_caps.h"

enum { TYPE_RAM, TYPE_RETENT_RAM, TYPE_SPIRAM, TYPE_SPM, TYPE_RTCRAM };

#define COMMON_CAPS (MALLOC_CAP_DEFAULT | MALLOC_CAP_32BIT | MALLOC_CAP_8BIT)
#define L2MEM_CAPS  (COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_DMA | MALLOC_CAP_EXEC)

static const soc_memory_type_desc_t esp32p4_types[] = {
    /* name, {prio 0 (highest), prio 1, prio 2} */
    [TYPE_RAM] = {"RAM", {L2MEM_CAPS | MALLOC_CAP_SIMD, 0, 0}},
    [TYPE_RETENT_RAM] = {"RETENT_RAM", {MALLOC_CAP_RETENTION | MALLOC_CAP_SIMD, L2MEM_CAPS, 0}},
    [TYPE_SPIRAM] = {"SPIRAM", {MALLOC_CAP_SPIRAM, 0, COMMON_CAPS | MALLOC_CAP_SIMD}},
    [TYPE_SPM] = {"SPM", {MALLOC_CAP_SPM, 0, COMMON_CAPS | MALLOC_CAP_INTERNAL}},
    [TYPE_RTCRAM] = {"RTCRAM",
                     {MALLOC_CAP_RTCRAM, 0, COMMON_CAPS | MALLOC_CAP_INTERNAL | MALLOC_CAP_EXEC}},
};

/* Default configuration: chip revision >= 3 and L2 cache 128 KB at the
 * start of L2MEM, so the heap's L2MEM starts at 0x4FF20000. Data and
 * instruction buses share the addresses. */
/* clang-format off */
static const heapcaps_chip_region_t esp32p4_regions[] = {
    /*     start       size       type             IRAM alias  startup condition */
    REGION(0x48000000, 0x4000000, TYPE_SPIRAM,     0,          false,  IF_PSRAM),
    REGION(0x4FF20000, 0x9AFC0,   TYPE_RETENT_RAM, 0x4FF20000, false,  ALWAYS),
    REGION(0x4FFBAFC0, 0x5040,    TYPE_RAM,        0x4FFBAFC0, true,   ALWAYS), /* ROM stack */
    REGION(0x50108000, 0x8000,    TYPE_RTCRAM,     0,          false,  IF_RTC_HEAP),
    REGION(0x30100000, 0x2000,    TYPE_SPM,        0,          false,  ALWAYS),
};
/* clang-format on */

/* What every application reserves (no ULP in HP memory). */
static const soc_reserved_region_t esp32p4_reserved[] = {
    {0x4FFBFBB0, 0x4FFC0000}, /* ROM layout: dram0_rtos_reserved_start .. SOC_DIRAM_DRAM_HIGH */
    {0x50108000, 0x50108080}, /* _rtc_reserved_* and RTC data up to _rtc_force_slow_end */
    {0x30100000, 0x30100044}, /* SPM code and data (rev < 3 docs log) */
};

const heapcaps_chip_t heapcaps_chip_esp32p4 = {
    .name = "esp32p4",
    /* clang-format off */
    .soc =
        {
            .dram_low = 0x4FF00000, .dram_high = 0x4FFC0000,
            .iram_low = 0x4FF00000, .iram_high = 0x4FFC0000,
            .diram_dram_low = 0x4FF00000, .diram_dram_high = 0x4FFC0000,
            .diram_iram_low = 0x4FF00000, .diram_iram_high = 0x4FFC0000,
            .diram_inverted = false,
            .rtc_iram_low = 0x50108000, .rtc_iram_high = 0x50110000,
            .rtc_dram_low = 0x50108000, .rtc_dram_high = 0x50110000,
            .rtc_data_low = 0x50108000, .rtc_data_high = 0x50110000,
            .extram_low = 0x48000000, .extram_high = 0x4C000000,
            .dma_low = 0x4FF00000, .dma_high = 0x4FFC0000,
            .byte_accessible_low = 0x4FF00000, .byte_accessible_high = 0x4FFC0000,
            .mem_internal_low = 0x4FF00000, .mem_internal_high = 0x4FFC0000,
            .spm_low = 0x30100000, .spm_high = 0x30102000,
            .max_contiguous_ram_size = 0x4000000,
            .internal_cache_line = 64, /* L1 data cache line, fixed */
            .external_cache_line = 64, /* L2 line: CONFIG_ESP32P4_L2_CACHE_LINE_SIZE default */
            .simd_alignment = 16,      /* SOC_SIMD_PREFERRED_DATA_ALIGNMENT */
            .axi_desc_alignment = 8,   /* SOC_AXI_GDMA_SUPPORTED */
            .psram_dma = true,         /* SOC_AXI_GDMA_SUPPORT_PSRAM */
        },
    /* clang-format on */
    .types = esp32p4_types,
    .type_count = TABLE_LENGTH(esp32p4_types),
    .regions = esp32p4_regions,
    .region_count = TABLE_LENGTH(esp32p4_regions),
    .reserved = esp32p4_reserved,
    .reserved_count = TABLE_LENGTH(esp32p4_reserved),
    /* IRAM code then static data from the end of the L2 cache: the rev >= 3
     * docs log's heap starts at 0x4FF33B20. */
    .static_dram_start = 0x4FF20000,
    .default_static_dram = 0x13B20,
    .iram_code_start = 0,
    .default_iram_code = 0,
    .default_memprot = true,
    .default_rtc_heap = true,
    .max_psram = 0x4000000,
};
