/*
 * heap_align_hw.c — alignment and size of DMA, cache-aligned and SIMD
 * requests adjusted to the chip's caches.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "esp_heap_caps.h"
#include "heap_caps_internal.h"

static size_t larger(size_t a, size_t b)
{
    return a > b ? a : b;
}

void heapcaps_adjust_alignment_to_hw(size_t *alignment, size_t *size, uint32_t *caps)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    const heapcaps_soc_t *soc = layout ? layout->soc : NULL;
    if (!soc) {
        return; /* a plain board: no caches to align to */
    }
    uint32_t c = *caps;
    size_t align = *alignment;
    if ((c & MALLOC_CAP_SPIRAM) &&
        (c & (MALLOC_CAP_DMA | MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI)) &&
        !soc->psram_dma) {
        *caps = c | MALLOC_CAP_INVALID; /* no DMA reaches PSRAM on this chip */
        return;
    }
    size_t cache_line =
        (c & MALLOC_CAP_SPIRAM) ? soc->external_cache_line : soc->internal_cache_line;
    if ((c & MALLOC_CAP_DMA_DESC_AXI) && soc->axi_desc_alignment) {
        align = larger(align, soc->axi_desc_alignment);
    }
    align = larger(align, cache_line);
    if ((c & MALLOC_CAP_SIMD) && soc->simd_alignment) {
        align = larger(align, soc->simd_alignment);
    }
    size_t rounded = (*size + align - 1) & ~(align - 1);
    *size = rounded < *size ? SIZE_MAX : rounded; /* an overflow fails as too large */
    if (c & (MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI)) {
        c = (c & ~(uint32_t)(MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI)) | MALLOC_CAP_DMA;
    }
    if (c & MALLOC_CAP_SPIRAM) {
        c &= ~(uint32_t)MALLOC_CAP_DMA; /* no heap carries SPIRAM and DMA together */
    }
    c &= ~(uint32_t)MALLOC_CAP_CACHE_ALIGNED;
    *caps = c;
    *alignment = align;
}
