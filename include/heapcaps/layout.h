/*
 * heapcaps/layout.h — the memory layout heap_caps_init() builds the heaps
 * from: memory types, regions and reserved ranges, plus the address facts
 * the capability rules need (D/IRAM aliases, DMA range, cache lines).
 *
 * On a host the chip emulator (heapcaps/emu.h) installs the layout of the
 * chip it boots. On a bare-metal board the application describes its own
 * RAM and installs it before calling heap_caps_init():
 *
 *     static const soc_memory_type_desc_t types[] = {
 *         {"SRAM", {MALLOC_CAP_8BIT | MALLOC_CAP_DEFAULT, MALLOC_CAP_INTERNAL |
 *                   MALLOC_CAP_DMA | MALLOC_CAP_32BIT, 0}},
 *     };
 *     static const soc_memory_region_t regions[] = {
 *         {0x20000000, 0x20000, 0, 0, false},
 *     };
 *     static const heapcaps_layout_t board = {
 *         .name = "my-board", .types = types, .type_count = 1,
 *         .regions = regions, .region_count = 1,
 *     };
 *     heapcaps_layout_install(&board);
 *     heap_caps_init();
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_LAYOUT_H
#define HEAPCAPS_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "heap_memory_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Address facts of a chip, in the chip's own addresses (ESP-IDF's soc.h
 * constants). A range with low == high does not exist on the chip.
 */
typedef struct {
    uint32_t dram_low, dram_high;                       /**< SOC_DRAM_LOW/HIGH */
    uint32_t iram_low, iram_high;                       /**< SOC_IRAM_LOW/HIGH */
    uint32_t diram_dram_low, diram_dram_high;           /**< SOC_DIRAM_DRAM_LOW/HIGH */
    uint32_t diram_iram_low, diram_iram_high;           /**< SOC_DIRAM_IRAM_LOW/HIGH */
    bool diram_inverted;                                /**< SOC_DIRAM_INVERTED (ESP32) */
    uint32_t rtc_iram_low, rtc_iram_high;               /**< SOC_RTC_IRAM_LOW/HIGH */
    uint32_t rtc_dram_low, rtc_dram_high;               /**< SOC_RTC_DRAM_LOW/HIGH */
    uint32_t rtc_data_low, rtc_data_high;               /**< SOC_RTC_DATA_LOW/HIGH */
    uint32_t extram_low, extram_high;                   /**< PSRAM data window */
    uint32_t dma_low, dma_high;                         /**< SOC_DMA_LOW/HIGH */
    uint32_t byte_accessible_low, byte_accessible_high; /**< SOC_BYTE_ACCESSIBLE_* */
    uint32_t mem_internal_low, mem_internal_high;       /**< SOC_MEM_INTERNAL_* */
    uint32_t spm_low, spm_high;                         /**< SOC_SPM_LOW/HIGH (ESP32-P4) */
    uint32_t max_contiguous_ram_size;                   /**< SOC_MAX_CONTIGUOUS_RAM_SIZE */
    uint16_t internal_cache_line; /**< data cache line over internal RAM; 0 = not cached */
    uint16_t external_cache_line; /**< data cache line over PSRAM; 0 = no PSRAM cache */
    uint16_t simd_alignment;      /**< SOC_SIMD_PREFERRED_DATA_ALIGNMENT; 0 = no SIMD */
    uint16_t axi_desc_alignment;  /**< AXI GDMA descriptor alignment; 0 = no AXI GDMA */
    bool psram_dma;               /**< DMA can reach PSRAM (MALLOC_CAP_DMA|SPIRAM works) */
} heapcaps_soc_t;

/** A memory layout: what heap_caps_init() turns into heaps. */
typedef struct {
    const char *name;                    /**< chip or board name */
    const heapcaps_soc_t *soc;           /**< address facts; NULL for a plain board
                                              (no aliases, no hardware alignment) */
    const soc_memory_type_desc_t *types; /**< memory types */
    size_t type_count;
    const soc_memory_region_t *regions; /**< regions in table order (not overlapping) */
    size_t region_count;
    const soc_reserved_region_t *reserved; /**< ranges no heap may use */
    size_t reserved_count;
    /** Host address minus chip address of every address above (0 on the
     *  chip itself; the emulator's mapping offset on a host). */
    intptr_t address_offset;
    /** Bytes of PSRAM mapped at soc->extram_low (0: none). */
    size_t psram_size;
    /** Memory protection on (CONFIG_ESP_SYSTEM_MEMPROT): no RAM is both
     *  writable and executable, so no heap serves MALLOC_CAP_EXEC, not even
     *  a region added at run time with that cap (it is dropped). */
    bool memprot;
} heapcaps_layout_t;

/**
 * Make `layout` the one heap_caps_init(), heap_caps_add_region() and the
 * esp_ptr_* helpers answer for. The layout (and the tables it points to)
 * must stay valid while installed. Heaps already registered are not touched:
 * install before heap_caps_init().
 * @return ESP_OK; ESP_ERR_INVALID_ARG for NULL, a region with an unknown
 *         type, overlapping regions, a reserved range that ends before it
 *         starts, or more than 64 reserved ranges.
 */
esp_err_t heapcaps_layout_install(const heapcaps_layout_t *layout);

/** Forget the installed layout (heap_caps_init() then has nothing to do). */
void heapcaps_layout_uninstall(void);

/** The installed layout, or NULL. */
const heapcaps_layout_t *heapcaps_layout_installed(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_LAYOUT_H */
