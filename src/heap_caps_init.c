/*
 * heap_caps_init.c — the heaps of the installed layout (startup, the
 * startup-stack regions later) and regions added at run time.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heap_caps_debug.h"
#include "heap_caps_internal.h"
#include "memory_layout.h"
#include "port/port.h"

static const char TAG[] = "heap_init";

static uint32_t or_of(const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS])
{
    return caps[0] | caps[1] | caps[2];
}

/* Which alias EXEC allocations from a heap starting at `start` go through. */
static uint8_t alias_of(intptr_t start)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    if (!layout || !layout->soc) {
        return HEAP_ALIAS_NONE;
    }
    const heapcaps_soc_t *soc = layout->soc;
    intptr_t chip = heapcaps_layout_to_chip(layout, start);
    if (soc->diram_dram_low != soc->diram_iram_low && chip >= (intptr_t)soc->diram_dram_low &&
        chip < (intptr_t)soc->diram_dram_high) {
        return HEAP_ALIAS_DIRAM;
    }
    if (soc->rtc_dram_low != soc->rtc_iram_low && soc->rtc_dram_low < soc->rtc_dram_high &&
        chip >= (intptr_t)soc->rtc_dram_low && chip < (intptr_t)soc->rtc_dram_high) {
        return HEAP_ALIAS_RTC;
    }
    return HEAP_ALIAS_NONE;
}

static void describe(heap_t *heap, const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS], intptr_t start,
                     intptr_t end, const char *name)
{
    memset(heap, 0, sizeof(*heap));
    memcpy(heap->caps, caps, sizeof(heap->caps));
    heap->all_caps = or_of(caps);
    heap->start = start;
    heap->end = end;
    heap->name = name;
    heap->alias = alias_of(start);
}

/* Register the heap's range. A region need only be 4-byte aligned on the
 * chip; on a 64-bit host the heap starts at the next 8-byte boundary. */
static void register_range(heap_t *heap)
{
    const intptr_t word = (intptr_t)sizeof(size_t);
    intptr_t start = (heap->start + word - 1) & ~(word - 1);
    heap->heap =
        heap->end > start ? multi_heap_register((void *)start, (size_t)(heap->end - start)) : NULL;
    if (heap->heap) {
        heap->start = start;
        heapcaps_view_heap_added((void *)start, (size_t)(heap->end - start));
    }
}

static void enable(heap_t *heap)
{
    heapcaps_lock_init(&heap->lock);
    multi_heap_set_lock(heap->heap, &heap->lock);
}

void heap_caps_init(void)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    if (!layout) {
        heapcaps_port_log('E', TAG, "no memory layout installed: no heaps");
        return;
    }
    size_t room = soc_get_available_memory_region_max_count();
    soc_memory_region_t *regions = heapcaps_meta_alloc(room * sizeof(*regions));
    heap_t *pending = heapcaps_meta_alloc(room * sizeof(*pending));
    if (!regions || !pending) {
        heapcaps_meta_free(regions);
        heapcaps_meta_free(pending);
        heapcaps_port_log('E', TAG, "no memory for the region list");
        return;
    }
    size_t count = heapcaps_layout_coalesce(regions, soc_get_available_memory_regions(regions));

    heapcaps_port_log('I', TAG, "Initializing. RAM available for dynamic allocation:");
    for (size_t i = 0; i < count; ++i) {
        const soc_memory_region_t *region = &regions[i];
        const soc_memory_type_desc_t *type = &layout->types[region->type];
        heap_t *heap = &pending[i];
        describe(heap, type->caps, region->start, region->start + (intptr_t)region->size,
                 type->name);
        if (!region->startup_stack) {
            register_range(heap);
        }
        heapcaps_port_log('I', TAG, "At %08X len %08X (%d KiB): %s",
                          (unsigned)heapcaps_layout_to_chip(layout, region->start),
                          (unsigned)region->size, (int)(region->size / 1024), type->name);
    }

    /* The descriptors live in the first internal byte-accessible heap, as on
     * the chip. */
    heap_t *permanent = NULL;
    for (size_t i = 0; i < count && !permanent; ++i) {
        const uint32_t needed = MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL;
        if (pending[i].heap && (pending[i].all_caps & needed) == needed) {
            permanent = multi_heap_malloc(pending[i].heap, count * sizeof(heap_t));
            heapcaps_view_alloc(permanent, count * sizeof(heap_t)); /* an allocated block */
        }
    }
    if (!permanent && count) {
        heapcaps_port_log('E', TAG, "no internal memory for the heap descriptors");
        heapcaps_port_abort("heap_caps_init: no internal memory for the heap descriptors");
    }
    for (size_t i = 0; i < count; ++i) {
        permanent[i] = pending[i];
        if (permanent[i].heap) {
            enable(&permanent[i]);
        }
    }
    if (count && !heapcaps_registry_add(permanent, count, false)) {
        heapcaps_port_abort("heap_caps_init: no memory for the heap lookup table");
    }
    heapcaps_meta_free(pending);
    heapcaps_meta_free(regions);
}

void heap_caps_enable_nonos_stack_heaps(void)
{
    bool changed = false;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (!heap->heap) {
            register_range(heap);
            if (heap->heap) {
                enable(heap);
                changed = true;
            }
        }
    }
    heapcaps_startup_over = true;
    if (changed) {
        heapcaps_registry_changed();
    }
}

esp_err_t heap_caps_add_region(intptr_t start, intptr_t end)
{
    if (!start) {
        return ESP_ERR_INVALID_ARG;
    }
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    intptr_t chip = heapcaps_layout_to_chip(layout, start);
    for (size_t i = 0; layout && i < layout->region_count; ++i) {
        const soc_memory_region_t *region = &layout->regions[i];
        if ((uintptr_t)(chip - region->start) < region->size) {
            return heap_caps_add_region_with_caps(layout->types[region->type].caps, start, end);
        }
    }
    return ESP_ERR_NOT_FOUND;
}

/* Addresses compare unsigned: on a 32-bit core a range may cross 0x80000000
 * (ESP-IDF's intptr_t arguments would make that a negative number). */
bool heap_caps_check_add_region_allowed(intptr_t heap_start, intptr_t heap_end, intptr_t start,
                                        intptr_t end)
{
    uintptr_t hs = (uintptr_t)heap_start, he = (uintptr_t)heap_end;
    uintptr_t s = (uintptr_t)start, e = (uintptr_t)end;
    return !((s < hs && e > hs) || (s < he && e > he) || (s == hs && e == he));
}

/* Name for task tracking: the memory type whose caps OR to the same word. */
static const char *type_name_for(const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS])
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    for (size_t i = 0; layout && i < layout->type_count; ++i) {
        if (or_of(layout->types[i].caps) == or_of(caps)) {
            return layout->types[i].name;
        }
    }
    return NULL;
}

esp_err_t heap_caps_add_region_with_caps(const uint32_t caps[], intptr_t start, intptr_t end)
{
    if (!caps || !start || !end || (uintptr_t)end <= (uintptr_t)start) {
        return ESP_ERR_INVALID_ARG;
    }
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (!heap_caps_check_add_region_allowed(heap->start, heap->end, start, end)) {
            return ESP_FAIL;
        }
    }
    heap_t *heap = heap_caps_malloc(sizeof(heap_t), MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    if (!heap) {
        return ESP_ERR_NO_MEM;
    }
    /* Under memory protection no RAM executes (the IRAM aliases are not
     * writable): the region keeps its other caps. */
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    uint32_t kept[SOC_MEMORY_TYPE_NO_PRIOS];
    for (size_t prio = 0; prio < SOC_MEMORY_TYPE_NO_PRIOS; ++prio) {
        kept[prio] = caps[prio] & (layout && layout->memprot ? ~(uint32_t)MALLOC_CAP_EXEC : ~0u);
    }
    describe(heap, kept, start, end, type_name_for(kept));
    heap->runtime = true;
    register_range(heap);
    if (!heap->heap) {
        heap_caps_free(heap);
        return ESP_ERR_INVALID_SIZE;
    }
    enable(heap);
    if (heapcaps_startup_over) {
        /* Added while the application runs: it never counts towards the
         * minimum (so heap_caps_get_minimum_free_size cannot rise). */
        multi_heap_restore_minimum_free_bytes(heap->heap, 0);
    }
    if (!heapcaps_registry_add(heap, 1, true)) {
        heapcaps_lock_destroy(&heap->lock);
        heap_caps_free(heap);
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}
