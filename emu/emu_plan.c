/*
 * emu_plan.c — which chip address ranges a booted chip needs backed by
 * memory, and which pages back them: layout regions, the PSRAM window and the
 * IRAM aliases, rounded out to host pages and merged (no system calls here).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "emu_memory.h"
#include "esp_heap_caps.h"
#include "memory_layout.h"

typedef struct {
    uint64_t low, high;
} range_t;

/** A linear alias: [iram_low, iram_low + size) shows the pages of [dram_low, ...). */
typedef struct {
    uint64_t dram_low, iram_low, size;
} alias_t;

#define MAX_ALIASES 2

static uint64_t round_down(uint64_t value, size_t page)
{
    return value - value % page;
}

static uint64_t round_up(uint64_t value, size_t page)
{
    return round_down(value + page - 1, page);
}

static bool add_range(range_t *ranges, size_t *count, uint64_t low, uint64_t high, size_t page)
{
    if (low >= high) {
        return true;
    }
    if (*count == EMU_MAX_SPANS) {
        return false;
    }
    ranges[(*count)++] = (range_t){round_down(low, page), round_up(high, page)};
    return true;
}

/** True when some layout region starts in [low, high). */
static bool layout_uses(const heapcaps_layout_t *layout, uint64_t low, uint64_t high)
{
    for (size_t i = 0; i < layout->region_count; i++) {
        uint64_t start = (uint64_t)layout->regions[i].start;
        if (start >= low && start < high) {
            return true;
        }
    }
    return false;
}

/*
 * The IRAM side of a D/I pair: a linear alias sharing the DRAM side's pages
 * when page granularity allows, else (ESP32's inverted D/IRAM, which pages
 * cannot mirror byte by byte) memory of its own.
 */
static bool add_alias_pair(const emu_plan_request_t *request, uint64_t dram_low, uint64_t dram_high,
                           uint64_t iram_low, uint64_t iram_high, bool inverted, range_t *ranges,
                           size_t *count, alias_t *aliases, size_t *alias_count)
{
    size_t page = request->page_size;
    if (dram_low >= dram_high || iram_low >= iram_high || dram_low == iram_low) {
        return true;
    }
    bool linear = !inverted && dram_high - dram_low == iram_high - iram_low &&
                  dram_low % page == iram_low % page;
    if (!linear || *alias_count == MAX_ALIASES) {
        return add_range(ranges, count, iram_low, iram_high, page);
    }
    uint64_t low = round_down(dram_low, page);
    uint64_t high = round_up(dram_high, page);
    aliases[(*alias_count)++] = (alias_t){low, iram_low - (dram_low - low), high - low};
    /* The whole DRAM side is backed, so every IRAM alias address has a page. */
    return add_range(ranges, count, low, high, page);
}

static void sort_ranges(range_t *ranges, size_t count)
{
    /* Insertion sort: a few dozen entries, mostly in order already. */
    for (size_t i = 1; i < count; i++) {
        range_t moving = ranges[i];
        size_t j = i;
        while (j > 0 && ranges[j - 1].low > moving.low) {
            ranges[j] = ranges[j - 1];
            j--;
        }
        ranges[j] = moving;
    }
}

/** Sort and merge overlapping or adjacent ranges; returns the new count. */
static size_t merge_ranges(range_t *ranges, size_t count)
{
    sort_ranges(ranges, count);
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        if (out > 0 && ranges[i].low <= ranges[out - 1].high) {
            if (ranges[i].high > ranges[out - 1].high) {
                ranges[out - 1].high = ranges[i].high;
            }
        } else {
            ranges[out++] = ranges[i];
        }
    }
    return out;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/** Remove [low, high) from the ranges (the alias mapping owns those pages). */
static bool cut_out(range_t *ranges, size_t *count, uint64_t low, uint64_t high)
{
    range_t kept[EMU_MAX_SPANS];
    size_t kept_count = 0;
    for (size_t i = 0; i < *count; i++) {
        range_t r = ranges[i];
        range_t pieces[2] = {{r.low, min_u64(r.high, low)}, {max_u64(r.low, high), r.high}};
        for (size_t p = 0; p < 2; p++) {
            if (pieces[p].low < pieces[p].high) {
                if (kept_count == EMU_MAX_SPANS) {
                    return false;
                }
                kept[kept_count++] = pieces[p];
            }
        }
    }
    memcpy(ranges, kept, kept_count * sizeof(kept[0]));
    *count = kept_count;
    return true;
}

static bool add_span(emu_plan_t *plan, uint64_t low, uint64_t high, emu_object_t object,
                     uint64_t offset)
{
    if (plan->span_count == EMU_MAX_SPANS) {
        return false;
    }
    plan->spans[plan->span_count++] = (emu_span_t){low, high, object, offset};
    return true;
}

static void sort_spans(emu_plan_t *plan)
{
    for (size_t i = 1; i < plan->span_count; i++) {
        emu_span_t moving = plan->spans[i];
        size_t j = i;
        while (j > 0 && plan->spans[j - 1].chip_low > moving.chip_low) {
            plan->spans[j] = plan->spans[j - 1];
            j--;
        }
        plan->spans[j] = moving;
    }
}

static void widen(uint64_t *low, uint64_t *high, uint64_t range_low, uint64_t range_high)
{
    if (range_low >= range_high) {
        return;
    }
    if (range_low < *low) {
        *low = range_low;
    }
    if (range_high > *high) {
        *high = range_high;
    }
}

static void plan_facts_range(const heapcaps_soc_t *soc, emu_plan_t *plan, size_t page)
{
    uint64_t low = UINT64_MAX, high = 0;
    for (size_t i = 0; i < plan->span_count; i++) {
        widen(&low, &high, plan->spans[i].chip_low, plan->spans[i].chip_high);
    }
    if (soc) {
        const uint32_t pairs[][2] = {
            {soc->dram_low, soc->dram_high},
            {soc->iram_low, soc->iram_high},
            {soc->diram_dram_low, soc->diram_dram_high},
            {soc->diram_iram_low, soc->diram_iram_high},
            {soc->rtc_iram_low, soc->rtc_iram_high},
            {soc->rtc_dram_low, soc->rtc_dram_high},
            {soc->rtc_data_low, soc->rtc_data_high},
            {soc->extram_low, soc->extram_high},
            {soc->dma_low, soc->dma_high},
            {soc->byte_accessible_low, soc->byte_accessible_high},
            {soc->mem_internal_low, soc->mem_internal_high},
            {soc->spm_low, soc->spm_high},
        };
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
            widen(&low, &high, pairs[i][0], pairs[i][1]);
        }
    }
    if (low >= high) {
        low = high = 0;
    }
    plan->facts_low = round_down(low, page);
    plan->facts_high = round_up(high, page);
}

esp_err_t emu_plan_build(const emu_plan_request_t *request, emu_plan_t *plan)
{
    const heapcaps_layout_t *layout = request->layout;
    const heapcaps_soc_t *soc = layout->soc;
    size_t page = request->page_size;
    range_t ram[EMU_MAX_SPANS];
    size_t ram_count = 0;
    alias_t aliases[MAX_ALIASES];
    size_t alias_count = 0;
    bool ok = true;

    memset(plan, 0, sizeof(*plan));
    for (size_t i = 0; i < layout->region_count && ok; i++) {
        const soc_memory_region_t *region = &layout->regions[i];
        if (!heapcaps_layout_type_is_psram(layout, region->type)) {
            uint64_t start = (uint64_t)region->start;
            ok = add_range(ram, &ram_count, start, start + region->size, page);
        }
    }
    if (soc && !request->memprot) {
        ok = ok && add_alias_pair(request, soc->diram_dram_low, soc->diram_dram_high,
                                  soc->diram_iram_low, soc->diram_iram_high, soc->diram_inverted,
                                  ram, &ram_count, aliases, &alias_count);
        /* RTC fast memory's instruction alias, only where it is a heap. */
        if (layout_uses(layout, soc->rtc_dram_low, soc->rtc_dram_high)) {
            ok = ok &&
                 add_alias_pair(request, soc->rtc_dram_low, soc->rtc_dram_high, soc->rtc_iram_low,
                                soc->rtc_iram_high, false, ram, &ram_count, aliases, &alias_count);
        }
    }
    if (!ok) {
        return ESP_ERR_INVALID_SIZE;
    }
    ram_count = merge_ranges(ram, ram_count);
    for (size_t a = 0; a < alias_count; a++) {
        if (!cut_out(ram, &ram_count, aliases[a].iram_low, aliases[a].iram_low + aliases[a].size)) {
            return ESP_ERR_INVALID_SIZE;
        }
    }

    uint64_t offset = 0;
    for (size_t i = 0; i < ram_count; i++) {
        if (!add_span(plan, ram[i].low, ram[i].high, EMU_OBJECT_RAM, offset)) {
            return ESP_ERR_INVALID_SIZE;
        }
        offset += ram[i].high - ram[i].low;
    }
    plan->object_size[EMU_OBJECT_RAM] = offset;

    for (size_t a = 0; a < alias_count; a++) {
        const alias_t *alias = &aliases[a];
        const emu_span_t *dram = NULL;
        for (size_t i = 0; i < plan->span_count; i++) {
            if (plan->spans[i].chip_low <= alias->dram_low &&
                alias->dram_low + alias->size <= plan->spans[i].chip_high) {
                dram = &plan->spans[i];
            }
        }
        if (!dram) {
            return ESP_ERR_INVALID_SIZE; /* the DRAM side was cut by another alias */
        }
        uint64_t shared = dram->offset + (alias->dram_low - dram->chip_low);
        if (!add_span(plan, alias->iram_low, alias->iram_low + alias->size, EMU_OBJECT_RAM,
                      shared)) {
            return ESP_ERR_INVALID_SIZE;
        }
    }

    if (request->psram_window_size > 0) {
        if (!soc || soc->extram_low >= soc->extram_high) {
            return ESP_ERR_INVALID_SIZE;
        }
        uint64_t low = soc->extram_low;
        if (!add_span(plan, low, low + round_up(request->psram_window_size, page), EMU_OBJECT_PSRAM,
                      0)) {
            return ESP_ERR_INVALID_SIZE;
        }
        uint64_t physical = request->psram_physical_size > request->psram_window_size
                                ? request->psram_physical_size
                                : request->psram_window_size;
        plan->object_size[EMU_OBJECT_PSRAM] = round_up(physical, page);
    }

    sort_spans(plan);
    for (size_t i = 1; i < plan->span_count; i++) {
        if (plan->spans[i].chip_low < plan->spans[i - 1].chip_high) {
            return ESP_ERR_INVALID_SIZE; /* e.g. an internal region inside the PSRAM window */
        }
    }
    plan_facts_range(soc, plan, page);
    return ESP_OK;
}
