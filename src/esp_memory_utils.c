/*
 * esp_memory_utils.c — ESP-IDF's esp_ptr_* helpers over the installed
 * layout's SoC facts: a pointer is turned into a chip address (minus the
 * layout's address offset) and tested against the chip's ranges; conversions
 * return host pointers again. Portable: no libc calls.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/layout.h"
#include "memory_layout.h"

/* The installed layout when it has SoC facts, else NULL (every range empty). */
static const heapcaps_layout_t *chip_layout(void)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    return layout && layout->soc ? layout : NULL;
}

/* Unsigned arithmetic: a host pointer far from the chip's memory wraps to
 * an address outside every range instead of overflowing. */
static uintptr_t chip_address(const heapcaps_layout_t *layout, const void *p)
{
    return (uintptr_t)p - (uintptr_t)layout->address_offset;
}

static void *host_pointer(const heapcaps_layout_t *layout, uintptr_t chip)
{
    return (void *)(chip + (uintptr_t)layout->address_offset);
}

static bool in_range(uintptr_t address, uint32_t low, uint32_t high)
{
    return address >= low && address < high;
}

/* CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP, as the layout shows it: a
 * region in RTC fast memory. */
static bool rtc_heap_enabled(const heapcaps_layout_t *layout)
{
    const heapcaps_soc_t *soc = layout->soc;
    for (size_t i = 0; i < layout->region_count; i++) {
        if (in_range((uintptr_t)layout->regions[i].start, soc->rtc_dram_low, soc->rtc_dram_high)) {
            return true;
        }
    }
    return false;
}

/* Internal RAM the layout places inside the PSRAM address window (ESP32-S3
 * with a 16 KB data cache: the unused cache memory at the start of DROM). */
static bool in_internal_region_of_extram_window(const heapcaps_layout_t *layout, uintptr_t chip)
{
    const heapcaps_soc_t *soc = layout->soc;
    for (size_t i = 0; i < layout->region_count; i++) {
        const soc_memory_region_t *region = &layout->regions[i];
        uintptr_t start = (uintptr_t)region->start;
        if (in_range(start, soc->extram_low, soc->extram_high) &&
            !heapcaps_layout_type_is_psram(layout, region->type) && chip >= start &&
            chip - start < region->size) {
            return true;
        }
    }
    return false;
}

static bool in_mapped_psram(const heapcaps_layout_t *layout, uintptr_t chip)
{
    uint32_t low = layout->soc->extram_low;
    return layout->psram_size > 0 && chip >= low && chip - low < layout->psram_size;
}

static bool rtc_fast_memory_exists(const heapcaps_soc_t *soc)
{
    return soc->rtc_iram_low < soc->rtc_iram_high || soc->rtc_dram_low < soc->rtc_dram_high;
}

bool esp_dram_match_iram(void)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout && layout->soc->dram_low == layout->soc->iram_low &&
           layout->soc->dram_high == layout->soc->iram_high;
}

bool esp_rtc_dram_match_rtc_iram(void)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout || !rtc_fast_memory_exists(layout->soc)) {
        return false;
    }
    const heapcaps_soc_t *soc = layout->soc;
    return soc->rtc_iram_low == soc->rtc_dram_low && soc->rtc_iram_high == soc->rtc_dram_high;
}

bool esp_ptr_in_iram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout &&
           in_range(chip_address(layout, p), layout->soc->iram_low, layout->soc->iram_high);
}

bool esp_ptr_in_dram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout &&
           in_range(chip_address(layout, p), layout->soc->dram_low, layout->soc->dram_high);
}

bool esp_ptr_in_diram_dram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout && in_range(chip_address(layout, p), layout->soc->diram_dram_low,
                              layout->soc->diram_dram_high);
}

bool esp_ptr_in_diram_iram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout || layout->soc->diram_iram_low == layout->soc->diram_dram_low) {
        return false; /* one address space for both buses: no IRAM alias */
    }
    return in_range(chip_address(layout, p), layout->soc->diram_iram_low,
                    layout->soc->diram_iram_high);
}

bool esp_ptr_in_rtc_iram_fast(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout &&
           in_range(chip_address(layout, p), layout->soc->rtc_iram_low, layout->soc->rtc_iram_high);
}

bool esp_ptr_in_rtc_dram_fast(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout &&
           in_range(chip_address(layout, p), layout->soc->rtc_dram_low, layout->soc->rtc_dram_high);
}

bool esp_ptr_in_rtc_slow(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout &&
           in_range(chip_address(layout, p), layout->soc->rtc_data_low, layout->soc->rtc_data_high);
}

bool esp_ptr_in_spm(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout && in_range(chip_address(layout, p), layout->soc->spm_low, layout->soc->spm_high);
}

bool esp_ptr_dma_capable(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout && in_range(chip_address(layout, p), layout->soc->dma_low, layout->soc->dma_high);
}

bool esp_ptr_dma_ext_capable(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout && layout->soc->psram_dma && in_mapped_psram(layout, chip_address(layout, p));
}

bool esp_ptr_word_aligned(const void *p)
{
    return (uintptr_t)p % 4 == 0;
}

bool esp_ptr_executable(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout) {
        return false;
    }
    const heapcaps_soc_t *soc = layout->soc;
    uintptr_t chip = chip_address(layout, p);
    /* Flash and ROM (IROM, IROM mask) hold no heap and are not emulated.
     * PSRAM executes from the data address only where one address space
     * serves both buses (ESP32-P4). */
    return in_range(chip, soc->iram_low, soc->iram_high) ||
           in_range(chip, soc->rtc_iram_low, soc->rtc_iram_high) ||
           (esp_dram_match_iram() && in_mapped_psram(layout, chip));
}

bool esp_ptr_byte_accessible(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout) {
        return false;
    }
    const heapcaps_soc_t *soc = layout->soc;
    uintptr_t chip = chip_address(layout, p);
    return in_range(chip, soc->byte_accessible_low, soc->byte_accessible_high) ||
           in_range(chip, soc->spm_low, soc->spm_high) ||
           (rtc_heap_enabled(layout) && in_range(chip, soc->rtc_dram_low, soc->rtc_dram_high)) ||
           in_mapped_psram(layout, chip) || in_internal_region_of_extram_window(layout, chip);
}

bool esp_ptr_internal(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout) {
        return false;
    }
    const heapcaps_soc_t *soc = layout->soc;
    uintptr_t chip = chip_address(layout, p);
    return in_range(chip, soc->mem_internal_low, soc->mem_internal_high) ||
           in_range(chip, soc->spm_low, soc->spm_high) ||
           in_range(chip, soc->rtc_data_low, soc->rtc_data_high) ||
           (rtc_heap_enabled(layout) && in_range(chip, soc->rtc_dram_low, soc->rtc_dram_high)) ||
           in_internal_region_of_extram_window(layout, chip);
}

bool esp_ptr_external_ram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    return layout && in_mapped_psram(layout, chip_address(layout, p));
}

void *esp_ptr_diram_dram_to_iram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout) {
        return (void *)(uintptr_t)p;
    }
    const heapcaps_soc_t *soc = layout->soc;
    uintptr_t chip = chip_address(layout, p);
    uintptr_t iram = soc->diram_inverted ? soc->diram_iram_low + (soc->diram_dram_high - chip) - 4
                                         : soc->diram_iram_low + (chip - soc->diram_dram_low);
    return host_pointer(layout, iram);
}

void *esp_ptr_diram_iram_to_dram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout) {
        return (void *)(uintptr_t)p;
    }
    const heapcaps_soc_t *soc = layout->soc;
    uintptr_t chip = chip_address(layout, p);
    uintptr_t dram = soc->diram_inverted ? soc->diram_dram_low + (soc->diram_iram_high - chip) - 4
                                         : soc->diram_dram_low + (chip - soc->diram_iram_low);
    return host_pointer(layout, dram);
}

void *esp_ptr_rtc_dram_to_iram(const void *p)
{
    const heapcaps_layout_t *layout = chip_layout();
    if (!layout || layout->soc->rtc_iram_low == layout->soc->rtc_dram_low) {
        return (void *)(uintptr_t)p;
    }
    const heapcaps_soc_t *soc = layout->soc;
    return host_pointer(layout, soc->rtc_iram_low + (chip_address(layout, p) - soc->rtc_dram_low));
}
