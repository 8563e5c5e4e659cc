/* workloads.h — the benchmark workloads of bench-workloads.md (W1–W5 and Fill).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters.h"

#define FILL_SIZE_COUNT 14

/** Request sizes of the Fill workload, in the order they run. */
extern const size_t fill_sizes[FILL_SIZE_COUNT];

/** A memory figure that does not apply (no arena). */
#define FIGURE_NA SIZE_MAX

typedef struct {
    size_t arena;      /**< S, in bytes. */
    uint64_t max_main; /**< Cap on the main loop: steps (W1, W2) or calls (W3, W4). */
} workload_params_t;

typedef struct {
    bool capped;            /**< The main loop was shortened by max_main. */
    uint64_t main_length;   /**< Steps (W1, W2) or calls (W3, W4) of the main loop. */
    size_t largest_end;     /**< W1–W4: largest free block when the main loop ends. */
    size_t largest_empty;   /**< W1–W4: largest free block once everything is freed. */
    size_t largest[3];      /**< W5, binary search: fresh, fragmented, after freeing all. */
    size_t info_largest[3]; /**< W5: multi_heap_get_info() largest_free_block, same points. */
    uint64_t fill_blocks;   /**< W5: blocks of the first fill. */
    uint64_t blocks_256;    /**< W5: 256-byte blocks that fit after freeing odd blocks. */
    uint64_t refill_blocks; /**< W5: blocks of the refill. */
    uint64_t fill_count[FILL_SIZE_COUNT]; /**< Fill: allocations per size. */
} workload_result_t;

typedef struct {
    const char *name;
    /** true for W1–W4, whose main loop max_main can shorten. */
    bool has_main_loop;
    void (*run)(const bench_allocator_t *alloc, const workload_params_t *params,
                workload_result_t *result);
} workload_t;

/** The workload called name (case-insensitive: "W1" .. "W5", "Fill"), or NULL. */
const workload_t *find_workload(const char *name);

#endif /* BENCH_WORKLOADS_H */
