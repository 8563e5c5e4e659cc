/*
 * replay.c — executing a trace on a booted emulated chip (replay.h).
 *
 * The loop does one allocator call per operation and nothing else: the
 * figures are sampled every `sample_every` operations and at each failure,
 * and the low-water marks come from the heaps' own minimum counters
 * (local-minimum monitoring started after the boot), so the replay runs at
 * the allocator's speed.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp_heap_caps.h"
#include "heapcaps/esp_libc.h"
#include "heapcaps/heap_caps_ext.h"
#include "replay.h"

static const struct {
    const char *name;
    uint32_t caps;
} classes[REPLAY_CLASS_COUNT] = {
    [REPLAY_CLASS_DEFAULT] = {"DEFAULT", MALLOC_CAP_DEFAULT},
    [REPLAY_CLASS_INTERNAL] = {"INTERNAL", MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT},
    [REPLAY_CLASS_DMA] = {"DMA", MALLOC_CAP_DMA},
    [REPLAY_CLASS_SPIRAM] = {"SPIRAM", MALLOC_CAP_SPIRAM},
};

const char *replay_class_name(int class_index)
{
    return class_index >= 0 && class_index < REPLAY_CLASS_COUNT ? classes[class_index].name : "?";
}

uint32_t replay_class_caps(int class_index)
{
    return class_index >= 0 && class_index < REPLAY_CLASS_COUNT ? classes[class_index].caps : 0;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Grow-by-doubling append; false when the host is out of memory. */
static bool append_sample(heap_series_t *series, size_t *capacity, heap_sample_t sample)
{
    if (series->count == *capacity) {
        size_t grown = *capacity ? 2 * *capacity : 256;
        heap_sample_t *samples = realloc(series->samples, grown * sizeof(*samples));
        if (!samples) {
            return false;
        }
        series->samples = samples;
        *capacity = grown;
    }
    series->samples[series->count++] = sample;
    return true;
}

typedef struct {
    replay_result_t *result;
    size_t capacity[REPLAY_CLASS_COUNT];
    size_t failure_capacity;
    bool out_of_memory;
} run_state_t;

static void sample_all(run_state_t *state, uint64_t op)
{
    replay_result_t *result = state->result;
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        if (!result->has_class[c]) {
            continue;
        }
        heap_sample_t sample = {op, heap_caps_get_free_size(classes[c].caps),
                                heap_caps_get_largest_free_block(classes[c].caps)};
        replay_class_stats_t *stats = &result->stats[c];
        if (sample.largest < stats->min_largest) {
            stats->min_largest = sample.largest;
        }
        double fragmentation = heap_sample_fragmentation(&sample);
        if (fragmentation > stats->max_fragmentation) {
            stats->max_fragmentation = fragmentation;
            stats->max_fragmentation_op = op;
        }
        state->out_of_memory |= !append_sample(&result->series[c], &state->capacity[c], sample);
    }
}

static void note_failure(run_state_t *state, uint64_t index, const trace_op_t *op, uint32_t caps)
{
    replay_result_t *result = state->result;
    if (result->failure_count == state->failure_capacity) {
        size_t grown = state->failure_capacity ? 2 * state->failure_capacity : 64;
        replay_failure_t *failures = realloc(result->failures, grown * sizeof(*failures));
        if (!failures) {
            state->out_of_memory = true;
            return;
        }
        result->failures = failures;
        state->failure_capacity = grown;
    }
    uint32_t mask = caps ? caps : MALLOC_CAP_DEFAULT;
    replay_failure_t failure = {
        .op = index,
        .caps = mask,
        .free = heap_caps_get_free_size(mask),
        .largest = heap_caps_get_largest_free_block(mask),
        .policy = caps == 0,
    };
    failure.fragmented = failure.free >= op->size && failure.largest < op->size;
    result->failures[result->failure_count++] = failure;
    sample_all(state, index); /* the state at the failure, in the series too */
}

/* Caps of each caller chain under the rules (0: the chain keeps the policy). */
static uint32_t *caller_caps(const trace_t *trace, const replay_config_t *config)
{
    if (config->rule_count == 0 || trace->caller_count == 0) {
        return NULL;
    }
    uint32_t *caps = calloc(trace->caller_count, sizeof(*caps));
    for (size_t i = 0; caps && i < trace->caller_count; i++) {
        for (size_t r = 0; r < config->rule_count && !caps[i]; r++) {
            if (strstr(trace->callers[i], config->rules[r].caller)) {
                caps[i] = config->rules[r].caps;
            }
        }
    }
    return caps;
}

static void show_progress(uint64_t done, uint64_t total)
{
    fprintf(stderr, "\rreplaying: %3u%% (%llu of %llu operations)", (unsigned)(done * 100 / total),
            (unsigned long long)done, (unsigned long long)total);
}

/* One operation; false when an allocation it asked for failed. */
static bool execute(const trace_op_t *op, uint32_t caps, void **live, size_t *orphans)
{
    void *p = NULL;
    switch (op->kind) {
    case TRACE_MALLOC:
        p = caps ? heap_caps_malloc(op->size, caps) : heapcaps_libc_malloc(op->size);
        break;
    case TRACE_CALLOC:
        p = caps ? heap_caps_calloc(1, op->size, caps) : heapcaps_libc_calloc(1, op->size);
        break;
    case TRACE_ALIGNED:
        p = caps ? heap_caps_aligned_alloc(op->alignment, op->size, caps)
                 : heapcaps_libc_aligned_alloc(op->alignment, op->size);
        break;
    case TRACE_REALLOC: {
        void *old = live[op->id];
        p = caps ? heap_caps_realloc(old, op->size, caps) : heapcaps_libc_realloc(old, op->size);
        if (!p) {
            return op->size == 0; /* a failed realloc keeps the old block */
        }
        break;
    }
    case TRACE_FREE:
        if (live[op->id]) {
            heap_caps_free(live[op->id]);
            live[op->id] = NULL;
        } else {
            (*orphans)++; /* its allocation failed in this replay */
        }
        return true;
    default:
        return true;
    }
    live[op->id] = p;
    return p != NULL;
}

esp_err_t replay_run(const trace_t *trace, const replay_config_t *config, replay_result_t *result)
{
    memset(result, 0, sizeof(*result));
    esp_err_t err = heapcaps_emu_boot(config->target, &config->options);
    if (err != ESP_OK) {
        return err;
    }
    bool aborting = heapcaps_set_abort_on_alloc_failure(false); /* a failure is a finding */
    run_state_t state = {.result = result};
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        size_t total = heap_caps_get_total_size(classes[c].caps);
        result->has_class[c] = total > 0;
        result->series[c] = (heap_series_t){classes[c].name, classes[c].caps, total, NULL, 0};
        result->stats[c] = (replay_class_stats_t){.total = total, .min_largest = SIZE_MAX};
    }
    void **live = calloc(trace->id_count ? trace->id_count : 1, sizeof(*live));
    uint32_t *rule_caps = caller_caps(trace, config);
    if (!live || (config->rule_count && trace->caller_count && !rule_caps)) {
        free(live);
        free(rule_caps);
        heapcaps_set_abort_on_alloc_failure(aborting);
        heapcaps_emu_shutdown();
        return ESP_ERR_NO_MEM;
    }
    uint64_t count = trace->count < config->stop_after ? trace->count : config->stop_after;
    uint64_t every = config->sample_every ? config->sample_every : (count / 2000 + 1);
    uint64_t progress_step = config->progress ? count / 100 + 1 : UINT64_MAX;

    heap_caps_monitor_local_minimum_free_size_start();
    sample_all(&state, 0);
    double start = now_seconds();
    uint64_t next_sample = every;
    uint64_t next_progress = progress_step;
    for (uint64_t i = 0; i < count; i++) {
        const trace_op_t *op = &trace->ops[i];
        uint32_t caps = op->caps;
        if (!caps && rule_caps && op->callers != TRACE_NONE) {
            caps = rule_caps[op->callers];
        }
        if (!execute(op, caps, live, &result->orphans)) {
            note_failure(&state, i, op, caps);
        }
        if (i + 1 == next_sample) {
            sample_all(&state, i + 1);
            next_sample += every;
        }
        if (i + 1 == next_progress) {
            show_progress(i + 1, count);
            next_progress += progress_step;
        }
    }
    result->seconds = now_seconds() - start;
    result->done = count;
    if (count % every != 0 || count == 0) {
        sample_all(&state, count);
    }
    if (config->progress) {
        show_progress(count, count);
        fputc('\n', stderr);
    }
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        result->stats[c].minimum = heap_caps_get_minimum_free_size(classes[c].caps);
        if (!result->has_class[c]) {
            result->stats[c].min_largest = 0;
        }
    }
    heap_caps_monitor_local_minimum_free_size_stop();
    heapcaps_set_abort_on_alloc_failure(aborting);

    /* The worst moment: the first failure, else the sample where a class
     * was most fragmented (its free memory in the smallest pieces). */
    if (result->failure_count) {
        result->worst_op = result->failures[0].op;
        result->worst_is_failure = true;
    } else {
        double worst = -1.0;
        for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
            if (result->has_class[c] && result->stats[c].max_fragmentation > worst) {
                worst = result->stats[c].max_fragmentation;
                result->worst_op = result->stats[c].max_fragmentation_op;
                result->worst_class = c;
            }
        }
    }
    free(rule_caps);
    if (config->keep_booted) {
        result->live = live;
    } else {
        free(live);
        heapcaps_emu_shutdown();
    }
    return state.out_of_memory ? ESP_ERR_NO_MEM : ESP_OK;
}

void replay_result_free(replay_result_t *result)
{
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        free(result->series[c].samples);
    }
    free(result->failures);
    if (result->live) {
        free(result->live);
        heapcaps_emu_shutdown();
    }
    memset(result, 0, sizeof(*result));
}
