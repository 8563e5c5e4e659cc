/* meter.c — routes each workload call to the right adapter and keeps per-kind statistics.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _DEFAULT_SOURCE

#include "meter.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "step_counter.h"

/* Enough for every workload at 4 MiB (Fill makes ~1.5 M allocations there). */
#define OUTCOME_BITS ((uint64_t)1 << 24)

typedef struct {
    uint8_t *bits; /* bit i set: call i failed in the pre-pass */
    uint64_t next; /* index of the next call */
} outcome_log_t;

static const bench_allocator_t *s_alloc;
static meter_stats_t s_stats;
static uint64_t s_calls_seen; /* every call of this pass, for sampling */
static uint64_t s_sampled_calls;
static outcome_log_t s_malloc_log, s_realloc_log;

_Noreturn void bench_fatal(const char *message)
{
    fprintf(stderr, "heapcaps_bench: %s\n", message);
    exit(2);
}

void *scratch_alloc(size_t bytes)
{
    void *ptr = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ptr == MAP_FAILED) {
        bench_fatal("mmap of bookkeeping memory failed");
    }
    return ptr; /* anonymous mappings are zero-filled */
}

void scratch_free(void *ptr, size_t bytes)
{
    if (ptr != NULL) {
        munmap(ptr, bytes);
    }
}

/* ---- outcome log: written by the pre-pass, read back by the callgrind pass ---- */

static void log_rewind(outcome_log_t *log, bool clear)
{
    if (log->bits == NULL) {
        log->bits = scratch_alloc((size_t)(OUTCOME_BITS / 8));
    } else if (clear) {
        memset(log->bits, 0, (size_t)(OUTCOME_BITS / 8));
    }
    log->next = 0;
}

static uint64_t log_advance(outcome_log_t *log)
{
    if (log->next >= OUTCOME_BITS) {
        bench_fatal("too many calls for the outcome log");
    }
    return log->next++;
}

static void log_record(outcome_log_t *log, bool failed)
{
    uint64_t index = log_advance(log);
    if (failed) {
        log->bits[index / 8] |= (uint8_t)(1u << (index % 8));
    }
}

/* Whether the next call is expected to fail: in a measured pass of a replayable allocator,
 * from the log (its index advances on every call); otherwise never. */
static bool log_expect_failure(outcome_log_t *log)
{
    bool measured_pass = s_stats.mode == METER_CALLGRIND || s_stats.mode == METER_STEP;
    if (!measured_pass || !s_alloc->replayable) {
        return false;
    }
    uint64_t index = log_advance(log);
    return (log->bits[index / 8] & (1u << (index % 8))) != 0;
}

/* ---- single-stepping ---- */

static uint64_t calibrate(call_sig_t sig)
{
    /* The same stepped_* function around the empty adapter: repeated, it must agree. */
    uint64_t least = UINT64_MAX, most = 0;
    for (int i = 0; i < 8; i++) {
        void *result;
        uint64_t traps;
        switch (sig) {
        case SIG_MALLOC:
            traps = stepped_malloc(s_alloc->malloc_empty, 64, &result);
            break;
        case SIG_FREE:
            traps = stepped_free(s_alloc->free_empty, NULL);
            break;
        default:
            traps = stepped_realloc(s_alloc->realloc_empty, NULL, 64, &result);
            break;
        }
        least = traps < least ? traps : least;
        most = traps > most ? traps : most;
    }
    if (least != most) {
        fprintf(stderr, "heapcaps_bench: warning: empty-call step count varies (%llu..%llu)\n",
                (unsigned long long)least, (unsigned long long)most);
    }
    return least;
}

static void count_step(call_kind_t kind, uint64_t traps, call_sig_t sig)
{
    kind_stats_t *stats = &s_stats.kind[kind];
    uint64_t overhead = s_stats.step_overhead[sig];
    uint64_t work = traps > overhead ? traps - overhead : 0;
    stats->step_sum += work;
    if (work > stats->step_max) {
        stats->step_max = work;
    }
}

/* ---- the pass ---- */

void meter_start(const bench_allocator_t *alloc, meter_mode_t mode, uint64_t measure_cap,
                 uint64_t sample_every)
{
    s_alloc = alloc;
    memset(&s_stats, 0, sizeof s_stats);
    s_stats.mode = mode;
    s_stats.measure_cap = measure_cap;
    s_stats.sample_every = sample_every > 0 ? sample_every : 1;
    s_calls_seen = 0;
    s_sampled_calls = 0;
    /* A record pass starts a new log; a callgrind pass replays it from the start. */
    log_rewind(&s_malloc_log, mode == METER_RECORD);
    log_rewind(&s_realloc_log, mode == METER_RECORD);
    if (mode == METER_STEP) {
        step_init();
        s_stats.step_overhead[SIG_MALLOC] = calibrate(SIG_MALLOC);
        s_stats.step_overhead[SIG_FREE] = calibrate(SIG_FREE);
        s_stats.step_overhead[SIG_REALLOC] = calibrate(SIG_REALLOC);
    }
}

const meter_stats_t *meter_stats(void)
{
    return &s_stats;
}

uint64_t meter_calls(void)
{
    uint64_t total = 0;
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        total += s_stats.kind[kind].calls;
    }
    return total;
}

/* Whether this call belongs to the sample: one in sample_every, up to measure_cap of them,
 * plus every call predicted to fail (they are few, and a sample would miss their maximum). */
static bool sample_this_call(bool expected_failure)
{
    bool sampled =
        s_sampled_calls < s_stats.measure_cap && s_calls_seen % s_stats.sample_every == 0;
    s_calls_seen++;
    s_sampled_calls += sampled;
    return sampled || expected_failure;
}

/* Book one malloc or realloc call: outcome, adapter used, prediction check. */
static void count_call(call_kind_t ok_kind, call_kind_t failed_kind, bool failed,
                       bool expected_failure, bool sampled)
{
    s_stats.kind[failed ? failed_kind : ok_kind].calls++;
    if (s_stats.mode == METER_CALLGRIND) {
        call_kind_t routed = expected_failure ? failed_kind : ok_kind;
        s_stats.kind[routed].measured[sampled ? SET_SAMPLED : SET_OTHER]++;
    } else if (s_stats.mode == METER_STEP && sampled) {
        s_stats.kind[failed ? failed_kind : ok_kind].measured[SET_SAMPLED]++;
    }
    bool measured_pass = s_stats.mode == METER_CALLGRIND || s_stats.mode == METER_STEP;
    if (measured_pass && s_alloc->replayable && failed != expected_failure) {
        s_stats.mispredicted++;
    }
}

void *meter_malloc(size_t size)
{
    bool expected_failure = log_expect_failure(&s_malloc_log);
    bool sampled = sample_this_call(expected_failure);
    const adapter_set_t *set = &s_alloc->adapters[sampled ? SET_SAMPLED : SET_OTHER];
    void *ptr;
    if (s_stats.mode == METER_CALLGRIND) {
        /* Empty twin first (here and below), while every argument is still valid. */
        (void)s_alloc->malloc_empty(size);
        s_stats.empty_calls[SIG_MALLOC]++;
        ptr = (expected_failure ? set->malloc_failed : set->malloc_ok)(size);
    } else if (s_stats.mode == METER_STEP && sampled) {
        uint64_t traps = stepped_malloc(set->malloc_ok, size, &ptr);
        count_step(ptr != NULL ? KIND_MALLOC_OK : KIND_MALLOC_FAILED, traps, SIG_MALLOC);
    } else {
        ptr = s_alloc->direct_malloc(size);
    }
    if (s_stats.mode == METER_RECORD) {
        log_record(&s_malloc_log, ptr == NULL);
    }
    count_call(KIND_MALLOC_OK, KIND_MALLOC_FAILED, ptr == NULL, expected_failure, sampled);
    return ptr;
}

void meter_free(void *ptr)
{
    bool sampled = sample_this_call(false);
    const adapter_set_t *set = &s_alloc->adapters[sampled ? SET_SAMPLED : SET_OTHER];
    if (s_stats.mode == METER_CALLGRIND) {
        s_alloc->free_empty(ptr);
        s_stats.empty_calls[SIG_FREE]++;
        set->free(ptr);
        s_stats.kind[KIND_FREE].measured[sampled ? SET_SAMPLED : SET_OTHER]++;
    } else if (s_stats.mode == METER_STEP && sampled) {
        count_step(KIND_FREE, stepped_free(set->free, ptr), SIG_FREE);
        s_stats.kind[KIND_FREE].measured[SET_SAMPLED]++;
    } else {
        s_alloc->direct_free(ptr);
    }
    s_stats.kind[KIND_FREE].calls++;
}

void *meter_realloc(void *ptr, size_t size)
{
    bool expected_failure = log_expect_failure(&s_realloc_log);
    bool sampled = sample_this_call(expected_failure);
    const adapter_set_t *set = &s_alloc->adapters[sampled ? SET_SAMPLED : SET_OTHER];
    void *new_ptr;
    if (s_stats.mode == METER_CALLGRIND) {
        (void)s_alloc->realloc_empty(ptr, size);
        s_stats.empty_calls[SIG_REALLOC]++;
        new_ptr = (expected_failure ? set->realloc_failed : set->realloc_ok)(ptr, size);
    } else if (s_stats.mode == METER_STEP && sampled) {
        uint64_t traps = stepped_realloc(set->realloc_ok, ptr, size, &new_ptr);
        count_step(new_ptr != NULL ? KIND_REALLOC_OK : KIND_REALLOC_FAILED, traps, SIG_REALLOC);
    } else {
        new_ptr = s_alloc->direct_realloc(ptr, size);
    }
    /* The workloads never call realloc with size 0, so NULL always means failure. */
    if (s_stats.mode == METER_RECORD) {
        log_record(&s_realloc_log, new_ptr == NULL);
    }
    count_call(KIND_REALLOC_OK, KIND_REALLOC_FAILED, new_ptr == NULL, expected_failure, sampled);
    return new_ptr;
}
