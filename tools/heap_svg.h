/*
 * heap_svg.h — SVG pictures of the heap (docs/heap_map.md): a map of every
 * heap of the booted emulated chip, block by block, and a plot of
 * fragmentation, free bytes and largest free block over a replay.
 *
 * Every shape carries data-* attributes with the exact figures it stands
 * for (chip addresses, sizes, point counts), so that scripts and tests can
 * read the picture back without measuring pixels.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_HEAP_SVG_H
#define HEAPCAPS_TOOLS_HEAP_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heap_series.h"

/* A live block to point at on the map: the block holding `ptr` (a host
 * pointer as heap_caps_malloc() returned it, or any address inside the
 * block) gets a distinct outline and `label` under the bar. */
typedef struct {
    const void *ptr;
    const char *label; /* NULL: the block's chip address */
} heap_svg_mark_t;

typedef struct {
    const char *title; /* e.g. "esp32, after operation 1234 (worst moment)"; NULL: the chip */
    const heap_svg_mark_t *marks;
    size_t mark_count;
} heap_svg_map_options_t;

/* Write the map of every heap of the booted chip (heap_caps_walk_all()) to
 * `out`: one bar per heap in address order, its blocks to scale. NULL
 * options = no title, no marks. Returns false when a write to `out` failed
 * or memory for the walk ran out (the output is then incomplete). */
bool heap_svg_write_map(FILE *out, const heap_svg_map_options_t *options);

/* Write the fragmentation-over-time plot of `series` (one per capability
 * class), with a vertical marker at each of the `failures` (operation
 * numbers of failed allocations). Returns false when a write failed. */
bool heap_svg_write_plot(FILE *out, const heap_series_t *series, size_t series_count,
                         const uint64_t *failures, size_t failure_count, const char *title);

/* The two pictures into the file at `path` (created or replaced). False,
 * with "<command>: cannot write <path>: <reason>" on stderr, when the file
 * cannot be written. */
bool heap_svg_save_map(const char *command, const char *path,
                       const heap_svg_map_options_t *options);
bool heap_svg_save_plot(const char *command, const char *path, const heap_series_t *series,
                        size_t series_count, const uint64_t *failures, size_t failure_count,
                        const char *title);

#endif /* HEAPCAPS_TOOLS_HEAP_SVG_H */
