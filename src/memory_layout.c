/*
 * memory_layout.c — the installed layout, and from it the regions that become
 * heaps: the layout's regions minus its reserved ranges, in host addresses,
 * then adjacent pieces merged.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "memory_layout.h"

#include "port/port.h"

/* soc_get_available_memory_regions() sorts a copy of the reserved ranges on
 * the stack (the layout's table is const and the library has no allocator
 * of its own at that point); install refuses layouts with more. */
#define MAX_RESERVED_RANGES 64

/* Pieces of this size or less are not worth a heap (as in ESP-IDF). */
#define SMALLEST_USELESS_PIECE 16

/* An address range in unsigned arithmetic, [start, end). */
typedef struct {
    uintptr_t start;
    uintptr_t end;
} span_t;

static const heapcaps_layout_t *installed_layout;

static bool spans_overlap(span_t a, span_t b)
{
    return a.start < b.end && b.start < a.end;
}

static span_t span_of_region(const soc_memory_region_t *region)
{
    span_t span = {(uintptr_t)region->start, (uintptr_t)region->start + region->size};
    return span;
}

static bool layout_is_valid(const heapcaps_layout_t *layout)
{
    if (layout == NULL || layout->types == NULL ||
        (layout->region_count > 0 && layout->regions == NULL) ||
        (layout->reserved_count > 0 && layout->reserved == NULL) ||
        layout->reserved_count > MAX_RESERVED_RANGES) {
        return false;
    }
    for (size_t i = 0; i < layout->region_count; i++) {
        span_t region = span_of_region(&layout->regions[i]);
        if (layout->regions[i].type >= layout->type_count || region.end < region.start) {
            return false;
        }
        /* ESP-IDF's tables are not sorted by address (RTC or SPM regions
         * come last, S3's IRAM region first), so "ascending" is checked as
         * what it guarantees: no byte belongs to two regions. */
        for (size_t j = 0; j < i; j++) {
            if (spans_overlap(region, span_of_region(&layout->regions[j]))) {
                return false;
            }
        }
    }
    for (size_t i = 0; i < layout->reserved_count; i++) {
        if ((uintptr_t)layout->reserved[i].end < (uintptr_t)layout->reserved[i].start) {
            return false;
        }
    }
    return true;
}

esp_err_t heapcaps_layout_install(const heapcaps_layout_t *layout)
{
    if (!layout_is_valid(layout)) {
        return ESP_ERR_INVALID_ARG;
    }
    installed_layout = layout;
    return ESP_OK;
}

void heapcaps_layout_uninstall(void)
{
    installed_layout = NULL;
}

const heapcaps_layout_t *heapcaps_layout_installed(void)
{
    return installed_layout;
}

size_t soc_get_available_memory_region_max_count(void)
{
    const heapcaps_layout_t *layout = installed_layout;
    /* Each reserved range splits at most one region in two. */
    return layout ? layout->region_count + layout->reserved_count : 0;
}

/* Copy the reserved ranges into `sorted`, widened to whole words and sorted
 * by start. Overlapping ranges are a broken layout: report them and return
 * false (ESP-IDF aborts; here the caller gets no regions). */
static bool sort_reserved_ranges(const heapcaps_layout_t *layout, span_t *sorted)
{
    const uintptr_t word_mask = 3;
    for (size_t i = 0; i < layout->reserved_count; i++) {
        span_t range = {(uintptr_t)layout->reserved[i].start & ~word_mask,
                        ((uintptr_t)layout->reserved[i].end + word_mask) & ~word_mask};
        size_t at = i;
        for (; at > 0 && sorted[at - 1].start > range.start; at--) {
            sorted[at] = sorted[at - 1];
        }
        sorted[at] = range;
    }
    for (size_t i = 1; i < layout->reserved_count; i++) {
        const span_t *before = &sorted[i - 1];
        const span_t *after = &sorted[i];
        if (after->start < before->end || after->start == before->start) {
            heapcaps_port_printf("E (0) memory_layout: SOC_RESERVE_MEMORY_REGION region range "
                                 "0x%08lx - 0x%08lx overlaps with 0x%08lx - 0x%08lx\n",
                                 (unsigned long)before->start, (unsigned long)before->end,
                                 (unsigned long)after->start, (unsigned long)after->end);
            return false;
        }
    }
    return true;
}

/* Chip address to host address, in unsigned arithmetic (no signed overflow
 * for any offset). */
static intptr_t host_address(const heapcaps_layout_t *layout, uintptr_t chip_address)
{
    return (intptr_t)(chip_address + (uintptr_t)layout->address_offset);
}

/* Write the piece [start, end) of `region` to *out unless it is too small to
 * be a heap; returns the number written. The IRAM alias is the table's, as
 * in ESP-IDF (informational). */
static size_t emit_piece(const heapcaps_layout_t *layout, const soc_memory_region_t *region,
                         uintptr_t start, uintptr_t end, soc_memory_region_t *out)
{
    if (end - start <= SMALLEST_USELESS_PIECE) {
        return 0;
    }
    *out = *region;
    out->start = host_address(layout, start);
    out->size = end - start;
    if (region->iram_address != 0) {
        out->iram_address = host_address(layout, (uintptr_t)region->iram_address);
    }
    return 1;
}

size_t soc_get_available_memory_regions(soc_memory_region_t *regions)
{
    const heapcaps_layout_t *layout = installed_layout;
    span_t reserved[MAX_RESERVED_RANGES];
    if (layout == NULL || regions == NULL || !sort_reserved_ranges(layout, reserved)) {
        return 0;
    }

    size_t count = 0;
    for (size_t r = 0; r < layout->region_count; r++) {
        const soc_memory_region_t *region = &layout->regions[r];
        span_t rest = span_of_region(region);
        for (size_t i = 0; i < layout->reserved_count && rest.start < rest.end; i++) {
            const span_t *hole = &reserved[i];
            if (hole->end <= rest.start) {
                continue;
            }
            if (hole->start >= rest.end) {
                break; /* sorted: no later range reaches into this region */
            }
            if (hole->start > rest.start && hole->end < rest.end) {
                /* Inside: the part before it is a region of its own. */
                count += emit_piece(layout, region, rest.start, hole->start, &regions[count]);
                rest.start = hole->end;
            } else if (hole->start <= rest.start) {
                rest.start = hole->end < rest.end ? hole->end : rest.end;
            } else {
                rest.end = hole->start;
            }
        }
        count += emit_piece(layout, region, rest.start, rest.end, &regions[count]);
    }
    return count;
}

size_t heapcaps_layout_coalesce(soc_memory_region_t *regions, size_t count)
{
    if (regions == NULL || count == 0) {
        return 0;
    }
    size_t last = 0; /* the region the next one may extend */
    for (size_t i = 1; i < count; i++) {
        soc_memory_region_t *merged = &regions[last];
        const soc_memory_region_t *next = &regions[i];
        bool adjacent = (uintptr_t)merged->start + merged->size == (uintptr_t)next->start;
        if (adjacent && merged->type == next->type &&
            merged->startup_stack == next->startup_stack) {
            merged->size += next->size;
        } else {
            regions[++last] = *next;
        }
    }
    return last + 1;
}
