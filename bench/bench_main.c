/* bench_main.c — heapcaps_bench: run one workload on one allocator and print its figures.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Usage: heapcaps_bench --workload W1|W2|W3|W4|W5|Fill [--arena BYTES] [--alloc heapcaps|glibc]
 *                       [--mode plain|callgrind|step] [--step] [--steps N] [--sample K]
 *
 * Output is one "tag key=value ..." record per line, read by run.sh (see README.md).
 * --steps N shortens the main loop of W1–W4 to N steps (W1, W2) or N calls (W3, W4). W5 and
 * Fill run until the arena is full, so for them it instead samples only the first N calls.
 * --sample K samples calls 0, K, 2K, ... of the run. --step single-steps the sampled calls and
 * makes the others directly (the heap evolves as in a full run); --mode callgrind measures
 * every call, the sampled ones through their own adapters (see meter.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters.h"
#include "meter.h"
#include "workloads.h"

static const char *const s_kind_names[KIND_COUNT] = {"malloc_ok", "malloc_failed", "free",
                                                     "realloc_ok", "realloc_failed"};
static const char *const s_mode_names[] = {"plain", "record", "callgrind", "step"};

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: heapcaps_bench --workload W1|W2|W3|W4|W5|Fill [--arena BYTES]\n"
                    "                      [--alloc heapcaps|glibc] [--mode plain|callgrind|step]\n"
                    "                      [--step] [--steps N] [--sample K]\n");
    exit(2);
}

static uint64_t parse_count(const char *text)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 0);
    if (*text == '\0' || *end != '\0') {
        fprintf(stderr, "heapcaps_bench: not a number: %s\n", text);
        exit(2);
    }
    return value;
}

static void print_figure(const char *name, size_t value)
{
    if (value == FIGURE_NA) {
        printf(" %s=n/a", name);
    } else {
        printf(" %s=%zu", name, value);
    }
}

static void print_results(const bench_allocator_t *alloc, const workload_t *workload, size_t arena,
                          const workload_result_t *result)
{
    const meter_stats_t *stats = meter_stats();
    printf("bench workload=%s arena=%zu alloc=%s abi=%u mode=%s\n", workload->name, arena,
           alloc->name, (unsigned)(sizeof(void *) * 8), s_mode_names[stats->mode]);
    if (workload->has_main_loop) {
        printf("main length=%" PRIu64 " capped=%d\n", result->main_length, result->capped);
    }
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        const kind_stats_t *k = &stats->kind[kind];
        printf("kind name=%s calls=%" PRIu64 " adapter=%s measured=%" PRIu64
               " sampled_adapter=%s sampled=%" PRIu64 " step_sum=%" PRIu64 " step_max=%" PRIu64
               "\n",
               s_kind_names[kind], k->calls, alloc->adapters[SET_OTHER].name[kind],
               k->measured[SET_OTHER], alloc->adapters[SET_SAMPLED].name[kind],
               k->measured[SET_SAMPLED], k->step_sum, k->step_max);
    }
    printf("empty sig=malloc adapter=%s calls=%" PRIu64 " step_overhead=%" PRIu64 "\n",
           alloc->empty_malloc_name, stats->empty_calls[SIG_MALLOC],
           stats->step_overhead[SIG_MALLOC]);
    printf("empty sig=free adapter=%s calls=%" PRIu64 " step_overhead=%" PRIu64 "\n",
           alloc->empty_free_name, stats->empty_calls[SIG_FREE], stats->step_overhead[SIG_FREE]);
    printf("empty sig=realloc adapter=%s calls=%" PRIu64 " step_overhead=%" PRIu64 "\n",
           alloc->empty_realloc_name, stats->empty_calls[SIG_REALLOC],
           stats->step_overhead[SIG_REALLOC]);
    printf("check mispredicted=%" PRIu64 " measure_cap=%" PRIu64 " sample_every=%" PRIu64 "\n",
           stats->mispredicted, stats->measure_cap, stats->sample_every);

    if (workload->has_main_loop) {
        printf("figures");
        print_figure("largest_end", result->largest_end);
        print_figure("largest_empty", result->largest_empty);
        printf("\n");
    } else if (strcmp(workload->name, "W5") == 0) {
        printf("figures");
        print_figure("largest_fresh", result->largest[0]);
        print_figure("largest_fragmented", result->largest[1]);
        print_figure("largest_final", result->largest[2]);
        print_figure("info_fresh", result->info_largest[0]);
        print_figure("info_fragmented", result->info_largest[1]);
        print_figure("info_final", result->info_largest[2]);
        printf(" fill_blocks=%" PRIu64 " blocks_256=%" PRIu64 " refill_blocks=%" PRIu64 "\n",
               result->fill_blocks, result->blocks_256, result->refill_blocks);
    } else {
        printf("fill");
        for (int s = 0; s < FILL_SIZE_COUNT; s++) {
            printf(" %zu=%" PRIu64, fill_sizes[s], result->fill_count[s]);
        }
        printf("\n");
    }

    /* A readable summary of what this process measured by itself. */
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        const kind_stats_t *k = &stats->kind[kind];
        uint64_t stepped = k->measured[SET_SAMPLED];
        if (stats->mode == METER_STEP && stepped > 0) {
            printf("# %-14s %10" PRIu64 " calls, %" PRIu64 " stepped: mean %.1f, max %" PRIu64
                   " instructions\n",
                   s_kind_names[kind], k->calls, stepped, (double)k->step_sum / stepped,
                   k->step_max);
        } else if (k->calls > 0) {
            printf("# %-14s %10" PRIu64 " calls\n", s_kind_names[kind], k->calls);
        }
    }
}

int main(int argc, char **argv)
{
    const char *workload_name = NULL, *alloc_name = "heapcaps", *mode_name = "plain";
    uint64_t arena = 256 * 1024, steps = UINT64_MAX, sample_every = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--step") == 0) {
            mode_name = "step";
            continue;
        }
        if (value == NULL) {
            usage();
        }
        if (strcmp(arg, "--workload") == 0) {
            workload_name = value;
        } else if (strcmp(arg, "--arena") == 0) {
            arena = parse_count(value);
        } else if (strcmp(arg, "--alloc") == 0) {
            alloc_name = value;
        } else if (strcmp(arg, "--mode") == 0) {
            mode_name = value;
        } else if (strcmp(arg, "--steps") == 0) {
            steps = parse_count(value);
        } else if (strcmp(arg, "--sample") == 0) {
            sample_every = parse_count(value);
        } else {
            usage();
        }
        i++;
    }
    const workload_t *workload = workload_name != NULL ? find_workload(workload_name) : NULL;
    const bench_allocator_t *alloc = bench_find_allocator(alloc_name);
    if (workload == NULL || alloc == NULL || arena == 0 || arena > BENCH_MAX_ARENA ||
        sample_every == 0) {
        usage();
    }
    meter_mode_t mode;
    if (strcmp(mode_name, "plain") == 0) {
        mode = METER_PLAIN;
    } else if (strcmp(mode_name, "callgrind") == 0) {
        mode = METER_CALLGRIND;
    } else if (strcmp(mode_name, "step") == 0) {
        mode = METER_STEP;
    } else {
        usage();
    }

    workload_params_t params = {(size_t)arena, UINT64_MAX};
    uint64_t measure_cap = UINT64_MAX;
    if (workload->has_main_loop) {
        params.max_main = steps;
    } else {
        measure_cap = steps;
    }

    /* Output goes through a static buffer: stdio must not allocate during a glibc run. */
    static char stdout_buffer[1 << 14];
    setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);

    workload_result_t result;
    if ((mode == METER_CALLGRIND || mode == METER_STEP) && alloc->replayable) {
        /* Pre-pass on an identical fresh heap: which calls will fail. */
        memset(&result, 0, sizeof result);
        meter_start(alloc, METER_RECORD, UINT64_MAX, 1);
        workload->run(alloc, &params, &result);
    }
    memset(&result, 0, sizeof result);
    meter_start(alloc, mode, measure_cap, sample_every);
    workload->run(alloc, &params, &result);

    print_results(alloc, workload, (size_t)arena, &result);
    if (meter_stats()->mispredicted != 0) {
        fprintf(stderr,
                "heapcaps_bench: %" PRIu64 " calls did not fail/succeed as in the "
                "pre-pass; the split by outcome is wrong\n",
                meter_stats()->mispredicted);
        return 1;
    }
    return 0;
}
