/* meter.h — the measured allocator calls the workloads make, in one of four modes.
 * SPDX-License-Identifier: Apache-2.0
 *
 * plain      direct, unmeasured calls; counts and memory figures only (fast).
 * record     pre-pass: direct calls; remembers which malloc/realloc calls fail.
 * callgrind  every call through an adapter, paired with one call of the matching empty
 *            adapter; callgrind's inclusive counts per adapter then give the means. Calls
 *            the pre-pass saw fail go through the *_failed adapters (each outcome is checked
 *            against that prediction), sampled calls through the SET_SAMPLED adapters.
 * step       sampled calls single-stepped (step_counter.h), the others made directly.
 * Sampled calls: calls 0, k, 2k, ... (k = sample_every), at most measure_cap of them, and all
 * calls the pre-pass saw fail. The heap evolves the same whichever calls are sampled, so
 * callgrind's figures for the sampled adapters cover exactly the calls a step run with the
 * same options single-steps.
 */
#ifndef BENCH_METER_H
#define BENCH_METER_H

#include <stddef.h>
#include <stdint.h>

#include "adapters.h"

typedef enum { METER_PLAIN, METER_RECORD, METER_CALLGRIND, METER_STEP } meter_mode_t;

/** The three call signatures, for the empty adapters and step calibration. */
typedef enum { SIG_MALLOC, SIG_FREE, SIG_REALLOC, SIG_COUNT } call_sig_t;

typedef struct {
    uint64_t calls; /**< Calls whose outcome was of this kind, measured or not. */
    /** Calls made through this kind's adapter of each set (callgrind: as predicted; step:
     *  the stepped calls, by outcome, under SET_SAMPLED). */
    uint64_t measured[SET_COUNT];
    uint64_t step_sum; /**< Step mode: their instructions, empty-adapter cost subtracted. */
    uint64_t step_max; /**< Step mode: the largest of them. */
} kind_stats_t;

typedef struct {
    meter_mode_t mode;
    kind_stats_t kind[KIND_COUNT];
    uint64_t empty_calls[SIG_COUNT];   /**< Calls of the empty adapters (callgrind mode). */
    uint64_t step_overhead[SIG_COUNT]; /**< Traps counted around an empty adapter call. */
    uint64_t mispredicted;             /**< Outcomes differing from the pre-pass. */
    uint64_t measure_cap;              /**< Most calls to sample. */
    uint64_t sample_every;             /**< Sample calls 0, k, 2k, ... */
} meter_stats_t;

/** Reset the statistics and start a pass in mode. */
void meter_start(const bench_allocator_t *alloc, meter_mode_t mode, uint64_t measure_cap,
                 uint64_t sample_every);

const meter_stats_t *meter_stats(void);

/** Allocator calls made in this pass (failed ones included; no-op frees are not calls). */
uint64_t meter_calls(void);

void *meter_malloc(size_t size);
void meter_free(void *ptr);
void *meter_realloc(void *ptr, size_t size);

/** Zeroed bookkeeping memory from mmap, so glibc's heap never sees the harness. */
void *scratch_alloc(size_t bytes);
void scratch_free(void *ptr, size_t bytes);

/** Print a message and exit(2). */
_Noreturn void bench_fatal(const char *message);

#endif /* BENCH_METER_H */
