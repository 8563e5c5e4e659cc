/*
 * memory_layout.h — turning the installed layout into the regions that
 * become heaps (private to the library; the public part is
 * heap_memory_layout.h and heapcaps/layout.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_MEMORY_LAYOUT_H
#define HEAPCAPS_MEMORY_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_heap_caps.h"
#include "heap_memory_layout.h"
#include "heapcaps/layout.h"

/**
 * Merge each region into the next when it ends exactly where the next
 * starts and both have the same type and startup-stack flag (chains
 * collapse into one), keeping table order. Returns the new count.
 */
size_t heapcaps_layout_coalesce(soc_memory_region_t *regions, size_t count);

/** Chip address of a host address under the installed layout. */
static inline intptr_t heapcaps_layout_to_chip(const heapcaps_layout_t *layout, intptr_t host)
{
    /* Unsigned arithmetic: the offset may be anything on a host. */
    return layout ? (intptr_t)((uintptr_t)host - (uintptr_t)layout->address_offset) : host;
}

/** Host address of a chip address under the installed layout. */
static inline intptr_t heapcaps_layout_to_host(const heapcaps_layout_t *layout, intptr_t chip)
{
    return layout ? (intptr_t)((uintptr_t)chip + (uintptr_t)layout->address_offset) : chip;
}

/** True when memory type `type` of the layout is PSRAM (SPIRAM at any priority). */
static inline bool heapcaps_layout_type_is_psram(const heapcaps_layout_t *layout, size_t type)
{
    if (type >= layout->type_count) {
        return false;
    }
    const uint32_t *caps = layout->types[type].caps;
    return ((caps[0] | caps[1] | caps[2]) & MALLOC_CAP_SPIRAM) != 0;
}

#endif /* HEAPCAPS_MEMORY_LAYOUT_H */
