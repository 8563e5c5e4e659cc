/*
 * heap_table.h — the per-capability summary of the booted chip's heaps, and
 * its himem figures, that `heapcaps boot` prints after the startup log.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_HEAP_TABLE_H
#define HEAPCAPS_TOOLS_HEAP_TABLE_H

#include <stdio.h>

/* Print, for each capability class (DEFAULT, INTERNAL, 8BIT, 32BIT, DMA,
 * EXEC, SPIRAM, RTCRAM, RETENTION, SIMD, SPM), the total, free, largest
 * block and minimum free bytes of the heaps having it, then the
 * esp_get_*_heap_size() figures. Aligned columns, one row per class. */
void heap_table_print(FILE *out, const char *target);

/* When himem is in use (esp32/himem.h): a blank line, then
 * esp_himem_get_phys_size(), esp_himem_get_free_size() and
 * esp_himem_reserved_area_size() in the columns of the figures above, the
 * first two also in KiB, the last with the window's pages and its chip
 * addresses (start-end, end exclusive). Nothing when himem is not in use. */
void himem_summary_print(FILE *out);

#endif /* HEAPCAPS_TOOLS_HEAP_TABLE_H */
