/*
 * heap_table.c — the per-capability summary table and the himem figures
 * (heap_table.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "heap_table.h"

#include <stddef.h>
#include <stdint.h>

#include "esp32/himem.h"
#include "esp_heap_caps.h"
#include "esp_system.h"
#include "heapcaps/layout.h"

static const struct {
    const char *name;
    uint32_t caps;
} capability_classes[] = {
    {"DEFAULT", MALLOC_CAP_DEFAULT},
    {"INTERNAL", MALLOC_CAP_INTERNAL},
    {"8BIT", MALLOC_CAP_8BIT},
    {"32BIT", MALLOC_CAP_32BIT},
    {"DMA", MALLOC_CAP_DMA},
    {"EXEC", MALLOC_CAP_EXEC},
    {"SPIRAM", MALLOC_CAP_SPIRAM},
    {"RTCRAM", MALLOC_CAP_RTCRAM},
    {"RETENTION", MALLOC_CAP_RETENTION},
    {"SIMD", MALLOC_CAP_SIMD},
    {"SPM", MALLOC_CAP_SPM},
};

/* Column widths: a capability name, then byte counts (up to 64 MiB of PSRAM
 * needs 8 digits; the headers are wider). */
#define NAME_WIDTH   10
#define NUMBER_WIDTH 14

void heap_table_print(FILE *out, const char *target)
{
    fprintf(out, "Heaps of %s by capability (bytes):\n", target);
    fprintf(out, "%-*s %*s %*s %*s %*s\n", NAME_WIDTH, "capability", NUMBER_WIDTH, "total",
            NUMBER_WIDTH, "free", NUMBER_WIDTH, "largest block", NUMBER_WIDTH, "minimum free");
    for (size_t i = 0; i < sizeof(capability_classes) / sizeof(capability_classes[0]); i++) {
        uint32_t caps = capability_classes[i].caps;
        fprintf(out, "%-*s %*zu %*zu %*zu %*zu\n", NAME_WIDTH, capability_classes[i].name,
                NUMBER_WIDTH, heap_caps_get_total_size(caps), NUMBER_WIDTH,
                heap_caps_get_free_size(caps), NUMBER_WIDTH, heap_caps_get_largest_free_block(caps),
                NUMBER_WIDTH, heap_caps_get_minimum_free_size(caps));
    }
    fprintf(out, "\n");
    fprintf(out, "%-34s %10lu\n", "esp_get_free_heap_size()",
            (unsigned long)esp_get_free_heap_size());
    fprintf(out, "%-34s %10lu\n", "esp_get_minimum_free_heap_size()",
            (unsigned long)esp_get_minimum_free_heap_size());
    fprintf(out, "%-34s %10lu\n", "esp_get_free_internal_heap_size()",
            (unsigned long)esp_get_free_internal_heap_size());
}

void himem_summary_print(FILE *out)
{
    size_t reserved = esp_himem_reserved_area_size();
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    if (reserved == 0 || !layout || !layout->soc) {
        return; /* himem not in use */
    }
    /* The window is the top of the mapped PSRAM range (ESP-IDF's himem.c). */
    unsigned long window_end = (unsigned long)layout->soc->extram_low + layout->psram_size;
    unsigned long window_start = window_end - reserved;
    size_t physical = esp_himem_get_phys_size();
    size_t free_bytes = esp_himem_get_free_size();
    fprintf(out, "\n");
    fprintf(out, "%-34s %10lu  (%lu KiB)\n", "esp_himem_get_phys_size()", (unsigned long)physical,
            (unsigned long)(physical / 1024));
    fprintf(out, "%-34s %10lu  (%lu KiB)\n", "esp_himem_get_free_size()", (unsigned long)free_bytes,
            (unsigned long)(free_bytes / 1024));
    fprintf(out, "%-34s %10lu  (%lu x 32 KiB window at 0x%08lX-0x%08lX)\n",
            "esp_himem_reserved_area_size()", (unsigned long)reserved,
            (unsigned long)(reserved / ESP_HIMEM_BLKSZ), window_start, window_end);
}
