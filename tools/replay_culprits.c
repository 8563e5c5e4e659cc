/*
 * replay_culprits.c — the live allocations that fragment the heap most
 * (replay_culprits.h), from one walk of the heaps.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "heapcaps/emu.h"
#include "replay_culprits.h"

typedef struct {
    intptr_t heap_start; /* the heap the block is in */
    uintptr_t address;
    size_t size;
    bool used;
} walked_block_t;

typedef struct {
    walked_block_t *blocks;
    size_t count, capacity;
    bool out_of_memory;
} walk_t;

static bool collect(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_t *walk = user;
    if (walk->count == walk->capacity) {
        size_t grown = walk->capacity ? 2 * walk->capacity : 1024;
        walked_block_t *blocks = realloc(walk->blocks, grown * sizeof(*blocks));
        if (!blocks) {
            walk->out_of_memory = true;
            return false;
        }
        walk->blocks = blocks;
        walk->capacity = grown;
    }
    walk->blocks[walk->count++] =
        (walked_block_t){heap.start, (uintptr_t)block.ptr, block.size, block.used};
    return true;
}

typedef struct {
    uintptr_t pointer;
    uint32_t id;
} live_entry_t;

static int by_pointer(const void *a, const void *b)
{
    uintptr_t x = ((const live_entry_t *)a)->pointer, y = ((const live_entry_t *)b)->pointer;
    return (x > y) - (x < y);
}

static int by_would_make(const void *a, const void *b)
{
    const replay_culprit_t *x = a, *y = b;
    if (x->would_make != y->would_make) {
        return x->would_make < y->would_make ? 1 : -1;
    }
    return (x->block_size < y->block_size) - (x->block_size > y->block_size);
}

/* The trace block whose pointer lies in [start, start + size), if any. */
static uint32_t owner_of(const live_entry_t *entries, size_t count, uintptr_t start, size_t size)
{
    size_t low = 0, high = count;
    while (low < high) { /* first entry at or above start */
        size_t middle = low + (high - low) / 2;
        if (entries[middle].pointer < start) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    /* The pointer follows the block's start by its own header words at most
     * (owner word, poison head): a pointer deeper inside is in a heap nested
     * in this block (the DMA reserve pool), not its owner. */
    const uintptr_t header_room = 32;
    uintptr_t limit = size < header_room ? size : header_room;
    return low < count && entries[low].pointer < start + limit ? entries[low].id : TRACE_NONE;
}

size_t replay_find_culprits(const trace_t *trace, void *const *live, uint64_t done, uint32_t caps,
                            replay_culprit_t *out, size_t max)
{
    walk_t walk = {0};
    heap_caps_walk(caps, collect, &walk);
    live_entry_t *entries = calloc(trace->id_count ? trace->id_count : 1, sizeof(*entries));
    uint64_t *allocated_by = calloc(trace->id_count ? trace->id_count : 1, sizeof(*allocated_by));
    replay_culprit_t *found = calloc(walk.count ? walk.count : 1, sizeof(*found));
    size_t found_count = 0;
    if (walk.out_of_memory || !entries || !allocated_by || !found) {
        goto done;
    }
    size_t live_count = 0;
    for (uint32_t id = 0; id < trace->id_count; id++) {
        if (live[id]) {
            entries[live_count++] = (live_entry_t){(uintptr_t)live[id], id};
        }
    }
    qsort(entries, live_count, sizeof(*entries), by_pointer);
    for (uint64_t i = 0; i < done && i < trace->count; i++) {
        if (trace->ops[i].kind != TRACE_FREE) {
            allocated_by[trace->ops[i].id] = i;
        }
    }

    /* Per heap: its largest free block, then each used block's merge. */
    for (size_t first = 0; first < walk.count;) {
        size_t end = first;
        size_t largest = 0;
        while (end < walk.count && walk.blocks[end].heap_start == walk.blocks[first].heap_start) {
            if (!walk.blocks[end].used && walk.blocks[end].size > largest) {
                largest = walk.blocks[end].size;
            }
            end++;
        }
        for (size_t i = first; i < end; i++) {
            const walked_block_t *b = &walk.blocks[i];
            if (!b->used) {
                continue;
            }
            /* It and the free blocks touching it (the gap between two walked
             * blocks is the header the merge takes back too). */
            uintptr_t low = b->address, high = b->address + b->size;
            if (i > first && !walk.blocks[i - 1].used) {
                low = walk.blocks[i - 1].address;
            }
            if (i + 1 < end && !walk.blocks[i + 1].used) {
                high = walk.blocks[i + 1].address + walk.blocks[i + 1].size;
            }
            size_t would_make = (size_t)(high - low);
            if (would_make <= largest || would_make == b->size) { /* no free neighbour */
                continue;
            }
            uint32_t id = owner_of(entries, live_count, b->address, b->size);
            found[found_count++] = (replay_culprit_t){
                .block = (void *)b->address,
                .address = heapcaps_emu_chip_address((void *)b->address),
                .block_size = b->size,
                .would_make = would_make,
                .largest_now = largest,
                .id = id,
                .op = id == TRACE_NONE ? 0 : allocated_by[id],
            };
        }
        first = end;
    }
    qsort(found, found_count, sizeof(*found), by_would_make);
done:
    if (found_count > max) {
        found_count = max;
    }
    if (found_count) {
        memcpy(out, found, found_count * sizeof(*out));
    }
    free(found);
    free(allocated_by);
    free(entries);
    free(walk.blocks);
    return found_count;
}
