/*
 * board_layout.c — the heaps of an STM32F7-class board: memory types with
 * their capabilities per priority, the RAM regions, the ranges the firmware
 * itself uses, the address facts heapcaps needs for DMA alignment and the
 * esp_ptr_* helpers, and the start-up call (board_layout.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "board_layout.h"

#include <stdbool.h>

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heapcaps/layout.h"

/* Addresses in the tables are intptr_t; an SDRAM at 0xC0000000 is above
 * INTPTR_MAX on a 32-bit core, so the conversion is spelled out. */
#define ADDRESS(a) ((intptr_t)(uintptr_t)(a))

#define WORD_AND_BYTE (MALLOC_CAP_8BIT | MALLOC_CAP_32BIT)

/*
 * Memory types: capabilities at three priorities, index 0 the highest. A
 * request is served by the heaps that have all its caps, first those that
 * offer one of its caps at priority 0, then at 1, then at 2; among equals
 * the smaller heap first. So a type's priority-0 caps are the requests it is
 * meant for, and its lower levels the requests it takes once those heaps are
 * full. With this table:
 *
 *   BOARD_CAP_FAST               DTCM only (nothing else has the bit)
 *   MALLOC_CAP_DMA               SRAM2, then SRAM1; never DTCM, never SDRAM
 *   MALLOC_CAP_DEFAULT           SRAM1, then SDRAM; never DTCM or SRAM2
 *   MALLOC_CAP_INTERNAL          SRAM1, then SRAM2, then DTCM
 *   MALLOC_CAP_8BIT / _32BIT     SRAM1, SDRAM, then SRAM2, then DTCM
 *   MALLOC_CAP_SPIRAM            SDRAM only
 *   MALLOC_CAP_DMA|_SPIRAM       SDRAM (DMA2, DMA2D and LTDC reach the FMC)
 *
 * DTCM carries no DMA cap. On the F74x/F75x DMA reaches DTCM only through
 * the core's AHBS slave port, in competition with the CPU that DTCM is
 * there for, and on other Cortex-M7 parts (STM32H7) DMA1/DMA2 cannot reach
 * it at all; keeping DMA out of DTCM is right on all of them. It is not
 * DEFAULT either: malloc() must not use up the fast memory; code that wants
 * it says so with BOARD_CAP_FAST.
 *
 * SRAM2 is the DMA pool: DMA requests try it first, and malloc() leaves it
 * alone. 16 KiB at a 16 KiB boundary is one MPU region, so a firmware can
 * make it non-cacheable; DMA buffers in it then need no cache maintenance.
 *
 * SDRAM is external memory as ESP32's PSRAM is: MALLOC_CAP_SPIRAM (the bit
 * ESP-IDF uses for "external RAM"), not INTERNAL, and DEFAULT only at
 * priority 1, so DEFAULT requests take it after SRAM1. heap_caps_malloc_
 * extmem_enable() in board_heap_init() sends large malloc() requests there.
 */
static const soc_memory_type_desc_t board_types[BOARD_MEM_COUNT] = {
    [BOARD_MEM_DTCM] = {"DTCM", {BOARD_CAP_FAST, 0, MALLOC_CAP_INTERNAL | WORD_AND_BYTE}},
    [BOARD_MEM_SRAM1] = {"SRAM1",
                         {MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL | WORD_AND_BYTE, MALLOC_CAP_DMA,
                          0}},
    [BOARD_MEM_SRAM2] = {"SRAM2", {MALLOC_CAP_DMA, 0, MALLOC_CAP_INTERNAL | WORD_AND_BYTE}},
    [BOARD_MEM_SDRAM] = {"SDRAM", {MALLOC_CAP_SPIRAM, MALLOC_CAP_DEFAULT | WORD_AND_BYTE, 0}},
};

/* One region per RAM block, in address order (the startup log lists them in
 * this order). Regions of the same type that touch would be merged into one
 * heap; SRAM1 and SRAM2 touch, and stay two heaps because their types
 * differ. */
static const soc_memory_region_t board_regions[] = {
    {ADDRESS(BOARD_DTCM_BASE), BOARD_DTCM_SIZE, BOARD_MEM_DTCM, 0, false},
    {ADDRESS(BOARD_SRAM1_BASE), BOARD_SRAM1_SIZE, BOARD_MEM_SRAM1, 0, false},
    {ADDRESS(BOARD_SRAM2_BASE), BOARD_SRAM2_SIZE, BOARD_MEM_SRAM2, 0, false},
    {ADDRESS(BOARD_SDRAM_BASE), BOARD_SDRAM_SIZE, BOARD_MEM_SDRAM, 0, false},
};

#define INTERNAL_LOW  BOARD_DTCM_BASE
#define INTERNAL_HIGH (BOARD_SRAM2_BASE + BOARD_SRAM2_SIZE)

/*
 * Address facts. Without them (soc = NULL) the board works as well, but
 * DMA requests get no cache-line alignment and the esp_ptr_* helpers of
 * esp_memory_utils.h answer false for every pointer. Ranges not listed are
 * empty: no D/IRAM alias, no RTC memory, no executable heap.
 */
static const heapcaps_soc_t board_soc = {
    .dram_low = INTERNAL_LOW,
    .dram_high = INTERNAL_HIGH,
    .extram_low = BOARD_SDRAM_BASE,
    .extram_high = BOARD_SDRAM_BASE + BOARD_SDRAM_SIZE,
    .dma_low = BOARD_SRAM1_BASE, /* as the caps say: SRAM1 and SRAM2 */
    .dma_high = INTERNAL_HIGH,
    .byte_accessible_low = INTERNAL_LOW,
    .byte_accessible_high = INTERNAL_HIGH,
    .mem_internal_low = INTERNAL_LOW,
    .mem_internal_high = INTERNAL_HIGH,
    .internal_cache_line = BOARD_CACHE_LINE,
    .external_cache_line = BOARD_CACHE_LINE,
    .psram_dma = true,
};

/* Filled at start-up: linker symbols are link-time addresses, which a
 * constant table of integers cannot portably hold. */
static soc_reserved_region_t board_reserved[2];

#ifndef BOARD_STATIC_RAM_SIZE
/* Symbols the linker script defines; only their addresses mean anything. */
extern char BOARD_LD_STATIC_START[], BOARD_LD_STATIC_END[], BOARD_LD_STACK_TOP[];
#endif

static void reserve_firmware_ram(void)
{
#ifdef BOARD_STATIC_RAM_SIZE
    board_reserved[0].start = ADDRESS(BOARD_SRAM1_BASE);
    board_reserved[0].end = ADDRESS(BOARD_SRAM1_BASE + BOARD_STATIC_RAM_SIZE);
    board_reserved[1].start = ADDRESS(BOARD_DTCM_BASE + BOARD_DTCM_SIZE - BOARD_MAIN_STACK_SIZE);
    board_reserved[1].end = ADDRESS(BOARD_DTCM_BASE + BOARD_DTCM_SIZE);
#else
    board_reserved[0].start = (intptr_t)BOARD_LD_STATIC_START;
    board_reserved[0].end = (intptr_t)BOARD_LD_STATIC_END;
    board_reserved[1].start = (intptr_t)BOARD_LD_STACK_TOP - (intptr_t)BOARD_MAIN_STACK_SIZE;
    board_reserved[1].end = (intptr_t)BOARD_LD_STACK_TOP;
#endif
}

static heapcaps_layout_t board_layout = {
    .name = "stm32f7-board",
    .soc = &board_soc,
    .types = board_types,
    .type_count = BOARD_MEM_COUNT,
    .regions = board_regions,
    .region_count = sizeof(board_regions) / sizeof(board_regions[0]),
    .reserved = board_reserved,
    .reserved_count = sizeof(board_reserved) / sizeof(board_reserved[0]),
    .psram_size = BOARD_SDRAM_SIZE, /* what esp_ptr_external_ram() accepts */
};

esp_err_t board_heap_init_at(intptr_t address_offset)
{
    reserve_firmware_ram();
    board_layout.address_offset = address_offset;
    esp_err_t err = heapcaps_layout_install(&board_layout);
    if (err != ESP_OK) {
        return err;
    }
    heap_caps_init();
    /* Overlapping reserved ranges leave no heap at all (the log says why);
     * malloc() needs internal memory in any case. */
    if (heap_caps_get_total_size(MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL) == 0) {
        return ESP_FAIL;
    }
    heap_caps_malloc_extmem_enable(BOARD_MALLOC_INTERNAL_LIMIT);
    return ESP_OK;
}

esp_err_t board_heap_init(void)
{
    return board_heap_init_at(0);
}

const char *board_memory_name(const void *p)
{
    uintptr_t chip = (uintptr_t)p - (uintptr_t)board_layout.address_offset;
    for (size_t i = 0; i < sizeof(board_regions) / sizeof(board_regions[0]); ++i) {
        const soc_memory_region_t *region = &board_regions[i];
        if (chip - (uintptr_t)region->start < region->size) {
            return board_types[region->type].name;
        }
    }
    return "other";
}
