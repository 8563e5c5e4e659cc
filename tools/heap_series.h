/*
 * heap_series.h — heap figures over the operations of a replay, sampled
 * every N operations and at every failure (replay.c), for the reports and
 * the fragmentation plot (heap_svg.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_HEAP_SERIES_H
#define HEAPCAPS_TOOLS_HEAP_SERIES_H

#include <stddef.h>
#include <stdint.h>

/* The figures of one capability class after operation `op`. */
typedef struct {
    uint64_t op;    /* operations done (0 = before the first) */
    size_t free;    /* heap_caps_get_free_size(class) */
    size_t largest; /* heap_caps_get_largest_free_block(class) */
} heap_sample_t;

/* Fragmentation of a sample: 1 - largest / free (0 when nothing is free). */
static inline double heap_sample_fragmentation(const heap_sample_t *sample)
{
    return sample->free ? 1.0 - (double)sample->largest / (double)sample->free : 0.0;
}

/* One capability class over the replay. */
typedef struct {
    const char *name; /* e.g. "DEFAULT", "INTERNAL", "DMA", "SPIRAM" */
    uint32_t caps;    /* the MALLOC_CAP_* mask of the class */
    size_t total;     /* heap_caps_get_total_size(caps) */
    heap_sample_t *samples;
    size_t count;
} heap_series_t;

#endif /* HEAPCAPS_TOOLS_HEAP_SERIES_H */
