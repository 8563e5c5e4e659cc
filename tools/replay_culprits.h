/*
 * replay_culprits.h — which live allocations fragment the heap most: for
 * every used block of the heaps a request could use, the free block that
 * freeing it would make (it and the free neighbours it separates), largest
 * first. Run on a chip left booted by replay_run() at the worst moment.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_REPLAY_CULPRITS_H
#define HEAPCAPS_TOOLS_REPLAY_CULPRITS_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"
#include "trace_model.h"

typedef struct {
    void *block;        /* the block (as heap_caps_walk() shows it) */
    uint32_t address;   /* its chip address (the chip may be gone when it is printed) */
    size_t block_size;  /* its size */
    size_t would_make;  /* free block freeing it would leave (it and its free neighbours) */
    size_t largest_now; /* the largest free block of its heap now */
    uint32_t id;        /* the trace's block, or TRACE_NONE (not the trace's: startup) */
    uint64_t op;        /* the operation that allocated it (when id is set) */
} replay_culprit_t;

/* Up to `max` culprits in the heaps with `caps`, largest would_make first
 * (only blocks whose freeing would make a free block larger than any free
 * block of their heap now). `live` and `done` are replay_result_t's live
 * pointers and operations executed. Returns how many were found. */
size_t replay_find_culprits(const trace_t *trace, void *const *live, uint64_t done, uint32_t caps,
                            replay_culprit_t *out, size_t max);

#endif /* HEAPCAPS_TOOLS_REPLAY_CULPRITS_H */
