/* workloads.c — W1–W5 and Fill, exactly as /work/shared/bench-workloads.md states them.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Rules shared by all workloads: the random stream never depends on allocator results; a
 * failed allocation leaves its slot occupied by NULL, and the later "free" of that slot is a
 * no-op, not an allocator call. Bookkeeping lives in mmap'd memory (scratch_alloc), so the
 * harness never touches the allocator being measured.
 */
#define _DEFAULT_SOURCE /* strcasecmp */

#include "workloads.h"

#include <stdio.h>
#include <strings.h>

#include "meter.h"
#include "rng.h"

const size_t fill_sizes[FILL_SIZE_COUNT] = {1,  8,   12,  16,  24,  32,   48,
                                            64, 100, 128, 256, 512, 1024, 4096};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static size_t largest_free_or_na(const bench_allocator_t *alloc)
{
    return alloc->has_arena ? alloc->largest_free_block() : FIGURE_NA;
}

/* ---------------------------------------------------------------------------------------- */
/* W1 uniform: N slots, pick one at random, free it if live, else allocate 8..256 bytes.     */

typedef struct {
    void *ptr;
    bool live; /* live with ptr == NULL: the allocation failed */
} slot_t;

static void run_w1(const bench_allocator_t *alloc, const workload_params_t *params,
                   workload_result_t *result)
{
    const uint64_t full_steps = 1000000;
    const size_t slot_count = params->arena / 132; /* ⌊2 · 0.5 · S / 132⌋ */
    slot_t *slots = scratch_alloc(slot_count * sizeof *slots);
    rng_t rng;
    rng_seed(&rng, 0x1111);
    alloc->reset(params->arena);

    const uint64_t steps = min_u64(full_steps, params->max_main);
    for (uint64_t step = 0; step < steps; step++) {
        slot_t *slot = &slots[rng_next(&rng) % slot_count];
        if (slot->live) {
            if (slot->ptr != NULL) {
                meter_free(slot->ptr);
            }
            slot->ptr = NULL;
            slot->live = false;
        } else {
            size_t size = (size_t)rng_urange(&rng, 8, 256);
            slot->ptr = meter_malloc(size);
            slot->live = true;
        }
    }
    result->main_length = steps;
    result->capped = steps < full_steps;
    result->largest_end = largest_free_or_na(alloc);

    for (size_t i = 0; i < slot_count; i++) {
        if (slots[i].ptr != NULL) {
            meter_free(slots[i].ptr);
        }
    }
    result->largest_empty = largest_free_or_na(alloc);
    scratch_free(slots, slot_count * sizeof *slots);
}

/* ---------------------------------------------------------------------------------------- */
/* W2 mixed lifetimes: frees scheduled on a timing wheel of 2L buckets, LIFO per bucket.     */

#define NO_NODE UINT32_MAX

typedef struct {
    void *ptr;
    uint32_t next; /* next node in the same bucket, or in the free-node list */
} wheel_node_t;

static size_t w2_size(rng_t *rng)
{
    uint64_t percent = rng_next(rng) % 100;
    if (percent < 80) {
        return (size_t)rng_urange(rng, 16, 128);
    }
    if (percent < 95) {
        return (size_t)rng_urange(rng, 128, 2048);
    }
    return (size_t)rng_urange(rng, 2048, 16384);
}

/* Free every block of a bucket, last scheduled first, and recycle the nodes. */
static void w2_drain(uint32_t *bucket, wheel_node_t *nodes, uint32_t *free_nodes)
{
    while (*bucket != NO_NODE) {
        uint32_t index = *bucket;
        *bucket = nodes[index].next;
        if (nodes[index].ptr != NULL) {
            meter_free(nodes[index].ptr);
        }
        nodes[index].next = *free_nodes;
        *free_nodes = index;
    }
}

static void run_w2(const bench_allocator_t *alloc, const workload_params_t *params,
                   workload_result_t *result)
{
    const uint64_t full_steps = 500000;
    /* ⌊0.6 · S / 681.6⌋ in exact integer arithmetic: 0.6 / 681.6 = 6 / 6816. */
    const uint64_t lifetime_unit = (uint64_t)params->arena * 6 / 6816; /* L */
    const uint64_t bucket_count = 2 * lifetime_unit;
    /* A block waits at most 2L − 1 steps, so at most 2L blocks are scheduled at once. */
    const size_t node_count = (size_t)bucket_count + 1;
    uint32_t *buckets = scratch_alloc((size_t)bucket_count * sizeof *buckets);
    wheel_node_t *nodes = scratch_alloc(node_count * sizeof *nodes);
    for (uint64_t b = 0; b < bucket_count; b++) {
        buckets[b] = NO_NODE;
    }
    uint32_t free_nodes = NO_NODE;
    for (size_t i = node_count; i-- > 0;) {
        nodes[i].next = free_nodes;
        free_nodes = (uint32_t)i;
    }
    rng_t rng;
    rng_seed(&rng, 0x2222);
    alloc->reset(params->arena);

    const uint64_t steps = min_u64(full_steps, params->max_main);
    for (uint64_t t = 0; t < steps; t++) {
        size_t size = w2_size(&rng);
        uint64_t life = rng_urange(&rng, 1, bucket_count - 1);
        void *ptr = meter_malloc(size);
        if (free_nodes == NO_NODE) {
            bench_fatal("W2: timing wheel out of nodes");
        }
        uint32_t node = free_nodes;
        free_nodes = nodes[node].next;
        uint32_t *bucket = &buckets[(t + life) % bucket_count];
        nodes[node].ptr = ptr;
        nodes[node].next = *bucket; /* push: the bucket is a stack, hence LIFO */
        *bucket = node;
        w2_drain(&buckets[(t + 1) % bucket_count], nodes, &free_nodes);
    }
    result->main_length = steps;
    result->capped = steps < full_steps;
    result->largest_end = largest_free_or_na(alloc);

    /* The rest in the order time would have freed it: the next buckets due, LIFO in each. */
    for (uint64_t k = 1; k <= bucket_count; k++) {
        w2_drain(&buckets[(steps + k) % bucket_count], nodes, &free_nodes);
    }
    result->largest_empty = largest_free_or_na(alloc);
    scratch_free(buckets, (size_t)bucket_count * sizeof *buckets);
    scratch_free(nodes, node_count * sizeof *nodes);
}

/* ---------------------------------------------------------------------------------------- */
/* W3 packet FIFO: enqueue up to k packets (queue holds at most Q), dequeue up to m.          */

static size_t w3_size(rng_t *rng)
{
    uint64_t percent = rng_next(rng) % 100;
    if (percent < 40) {
        return (size_t)rng_urange(rng, 60, 100);
    }
    if (percent < 60) {
        return (size_t)rng_urange(rng, 100, 576);
    }
    return (size_t)rng_urange(rng, 1000, 1600);
}

static void run_w3(const bench_allocator_t *alloc, const workload_params_t *params,
                   workload_result_t *result)
{
    const uint64_t full_calls = 1000000;
    const size_t capacity = (size_t)((uint64_t)params->arena * 6 / 6200); /* ⌊0.6 · S / 620⌋ */
    void **ring = scratch_alloc(capacity * sizeof *ring);
    size_t head = 0, queued = 0; /* oldest packet at ring[head] */
    rng_t rng;
    rng_seed(&rng, 0x3333);
    alloc->reset(params->arena);

    /* Stop at exactly `calls` allocator calls, even in the middle of a step. */
    const uint64_t calls = min_u64(full_calls, params->max_main);
    while (meter_calls() < calls) {
        uint64_t enqueue = rng_next(&rng) % 4;
        uint64_t dequeue = rng_next(&rng) % 4;
        for (uint64_t i = 0; i < enqueue && queued < capacity; i++) {
            size_t size = w3_size(&rng);
            if (meter_calls() >= calls) {
                goto done;
            }
            ring[(head + queued) % capacity] = meter_malloc(size);
            queued++;
        }
        for (uint64_t i = 0; i < dequeue && queued > 0; i++) {
            void *ptr = ring[head];
            if (ptr != NULL) {
                if (meter_calls() >= calls) {
                    goto done;
                }
                meter_free(ptr);
            }
            head = (head + 1) % capacity;
            queued--;
        }
    }
done:
    result->main_length = meter_calls();
    result->capped = calls < full_calls;
    result->largest_end = largest_free_or_na(alloc);

    for (; queued > 0; queued--) {
        if (ring[head] != NULL) {
            meter_free(ring[head]);
        }
        head = (head + 1) % capacity;
    }
    result->largest_empty = largest_free_or_na(alloc);
    scratch_free(ring, capacity * sizeof *ring);
}

/* ---------------------------------------------------------------------------------------- */
/* W4 growing realloc: K buffers grown by ~1.5x up to a cap, plus M background slots.        */

typedef struct {
    void *ptr;
    size_t size;  /* current requested size */
    size_t cap;   /* grow while size < cap */
    bool live;    /* false: empty, the next visit allocates */
    bool retired; /* growth ended by a failure: the next visit frees */
} growing_buffer_t;

static void run_w4(const bench_allocator_t *alloc, const workload_params_t *params,
                   workload_result_t *result)
{
    const uint64_t full_calls = 1000000;
    const size_t buffer_count = params->arena / 16384 > 4 ? params->arena / 16384 : 4; /* K */
    const size_t background_count = params->arena / 256;                               /* M */
    growing_buffer_t *buffers = scratch_alloc(buffer_count * sizeof *buffers);
    slot_t *background = scratch_alloc(background_count * sizeof *background);
    rng_t rng;
    rng_seed(&rng, 0x4444);
    alloc->reset(params->arena);

    const uint64_t calls = min_u64(full_calls, params->max_main);
    while (meter_calls() < calls) {
        /* All seven draws first, in the stated order, whatever happens next. */
        size_t index = (size_t)(rng_next(&rng) % buffer_count);
        size_t jitter = (size_t)(rng_next(&rng) % 64);
        size_t first_size = (size_t)rng_urange(&rng, 16, 64);
        size_t cap = (size_t)rng_urange(&rng, 256, 16384);
        uint64_t background_draw = rng_next(&rng);
        size_t slot_index = (size_t)(rng_next(&rng) % background_count);
        size_t background_size = (size_t)rng_urange(&rng, 16, 128);

        growing_buffer_t *buffer = &buffers[index];
        if (!buffer->live) {
            buffer->ptr = meter_malloc(first_size);
            buffer->size = first_size;
            buffer->cap = cap;
            buffer->live = true;
            /* A failed allocation is an empty slot: its next visit is the no-op free. */
            buffer->retired = buffer->ptr == NULL;
        } else if (buffer->size < buffer->cap && !buffer->retired) {
            size_t grown = buffer->size + buffer->size / 2 + jitter;
            void *ptr = meter_realloc(buffer->ptr, grown);
            if (ptr != NULL) {
                buffer->ptr = ptr;
                buffer->size = grown;
            } else {
                buffer->retired = true; /* keeps the old block; freed on its next visit */
            }
        } else {
            if (buffer->ptr != NULL) {
                meter_free(buffer->ptr);
            }
            buffer->ptr = NULL;
            buffer->live = false;
        }

        if (background_draw % 2 == 1) {
            slot_t *slot = &background[slot_index];
            if (slot->live) {
                if (slot->ptr != NULL) {
                    if (meter_calls() >= calls) {
                        break;
                    }
                    meter_free(slot->ptr);
                }
                slot->ptr = NULL;
                slot->live = false;
            } else {
                if (meter_calls() >= calls) {
                    break;
                }
                slot->ptr = meter_malloc(background_size);
                slot->live = true;
            }
        }
    }
    result->main_length = meter_calls();
    result->capped = calls < full_calls;
    result->largest_end = largest_free_or_na(alloc);

    for (size_t i = 0; i < buffer_count; i++) {
        if (buffers[i].ptr != NULL) {
            meter_free(buffers[i].ptr);
        }
    }
    for (size_t i = 0; i < background_count; i++) {
        if (background[i].ptr != NULL) {
            meter_free(background[i].ptr);
        }
    }
    result->largest_empty = largest_free_or_na(alloc);
    scratch_free(buffers, buffer_count * sizeof *buffers);
    scratch_free(background, background_count * sizeof *background);
}

/* ---------------------------------------------------------------------------------------- */
/* Filling "until failure". glibc never fails, so it gets a virtual arena of S bytes instead:
 * each block is charged its chunk size and the fill ends once S bytes are charged. */

typedef struct {
    const bench_allocator_t *alloc;
    size_t arena;
    size_t charged; /* virtual arena use (glibc only) */
} filler_t;

static bool fill_one(filler_t *filler, size_t size, void **out)
{
    if (filler->alloc->block_charge != NULL && filler->charged >= filler->arena) {
        return false;
    }
    void *ptr = meter_malloc(size);
    if (ptr == NULL) {
        return false;
    }
    if (filler->alloc->block_charge != NULL) {
        filler->charged += filler->alloc->block_charge(ptr);
    }
    *out = ptr;
    return true;
}

static void fill_release(filler_t *filler, void *ptr)
{
    if (filler->alloc->block_charge != NULL) {
        filler->charged -= filler->alloc->block_charge(ptr);
    }
    meter_free(ptr);
}

/* Append to a bounded pointer list. */
typedef struct {
    void **items;
    size_t count, capacity;
} block_list_t;

static block_list_t list_make(size_t capacity)
{
    block_list_t list = {scratch_alloc(capacity * sizeof(void *)), 0, capacity};
    return list;
}

static void list_push(block_list_t *list, void *ptr)
{
    if (list->count == list->capacity) {
        bench_fatal("block list full (more blocks than the arena size allows?)");
    }
    list->items[list->count++] = ptr;
}

static void list_drop(block_list_t *list)
{
    scratch_free(list->items, list->capacity * sizeof(void *));
}

/* The largest request that succeeds now, by binary search (each probe is a measured call;
 * a successful probe is freed at once). Assumes success is monotonic in the size. */
static size_t largest_request(const bench_allocator_t *alloc, size_t arena)
{
    if (!alloc->has_arena) {
        return FIGURE_NA;
    }
    size_t works = 0, fails = arena + 1; /* no block can hold the whole arena */
    while (fails - works > 1) {
        size_t probe = works + (fails - works) / 2;
        void *ptr = meter_malloc(probe);
        if (ptr != NULL) {
            meter_free(ptr);
            works = probe;
        } else {
            fails = probe;
        }
    }
    return works;
}

/* ---------------------------------------------------------------------------------------- */
/* W5 fragmentation.                                                                         */

static void run_w5(const bench_allocator_t *alloc, const workload_params_t *params,
                   workload_result_t *result)
{
    const size_t arena = params->arena;
    filler_t filler = {alloc, arena, 0};
    block_list_t blocks = list_make(arena / 16 + 16); /* requests are >= 16 bytes */
    block_list_t big = list_make(arena / 256 + 16);
    block_list_t refill = list_make(arena / 16 + 16);
    rng_t rng;
    void *ptr;
    alloc->reset(arena);

    result->largest[0] = largest_request(alloc, arena);
    result->info_largest[0] = largest_free_or_na(alloc);

    rng_seed(&rng, 0x5555);
    while (fill_one(&filler, (size_t)rng_urange(&rng, 16, 64), &ptr)) {
        list_push(&blocks, ptr);
    }
    result->fill_blocks = blocks.count;
    for (size_t i = 1; i < blocks.count; i += 2) {
        fill_release(&filler, blocks.items[i]);
        blocks.items[i] = NULL;
    }

    result->largest[1] = largest_request(alloc, arena);
    result->info_largest[1] = largest_free_or_na(alloc);

    while (fill_one(&filler, 256, &ptr)) {
        list_push(&big, ptr);
    }
    result->blocks_256 = big.count;
    for (size_t i = 0; i < big.count; i++) {
        fill_release(&filler, big.items[i]);
    }

    rng_seed(&rng, 0x5556);
    while (fill_one(&filler, (size_t)rng_urange(&rng, 16, 64), &ptr)) {
        list_push(&refill, ptr);
    }
    result->refill_blocks = refill.count;

    for (size_t i = 0; i < blocks.count; i += 2) {
        fill_release(&filler, blocks.items[i]);
    }
    for (size_t i = 0; i < refill.count; i++) {
        fill_release(&filler, refill.items[i]);
    }
    result->largest[2] = largest_request(alloc, arena);
    result->info_largest[2] = largest_free_or_na(alloc);

    list_drop(&blocks);
    list_drop(&big);
    list_drop(&refill);
}

/* ---------------------------------------------------------------------------------------- */
/* Fill: one fixed size until failure, for each size in turn, on a fresh heap each time.     */

static void run_fill(const bench_allocator_t *alloc, const workload_params_t *params,
                     workload_result_t *result)
{
    /* Any allocator spends at least a machine word per block, so S / 4 bounds the count. */
    block_list_t blocks = list_make(params->arena / 4 + 16);
    for (size_t s = 0; s < FILL_SIZE_COUNT; s++) {
        filler_t filler = {alloc, params->arena, 0};
        void *ptr;
        alloc->reset(params->arena);
        blocks.count = 0;
        while (fill_one(&filler, fill_sizes[s], &ptr)) {
            list_push(&blocks, ptr);
        }
        result->fill_count[s] = blocks.count;
        for (size_t i = 0; i < blocks.count; i++) {
            fill_release(&filler, blocks.items[i]);
        }
    }
    list_drop(&blocks);
}

static const workload_t s_workloads[] = {
    {"W1", true, run_w1}, {"W2", true, run_w2},  {"W3", true, run_w3},
    {"W4", true, run_w4}, {"W5", false, run_w5}, {"Fill", false, run_fill},
};

const workload_t *find_workload(const char *name)
{
    for (size_t i = 0; i < sizeof s_workloads / sizeof s_workloads[0]; i++) {
        if (strcasecmp(s_workloads[i].name, name) == 0) {
            return &s_workloads[i];
        }
    }
    return NULL;
}
