/*
 * replay.h — re-executing a heap trace (trace_model.h) on a freshly booted
 * emulated chip: every operation as the firmware made it, new pointers for
 * the old identities, the heap figures sampled as it goes, every failed
 * request with the state of the heaps that could have served it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_REPLAY_H
#define HEAPCAPS_TOOLS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "heap_series.h"
#include "heapcaps/emu.h"
#include "trace_model.h"

/* The capability classes the reports speak of; a class the chip has no
 * memory for is left out of a result. */
enum {
    REPLAY_CLASS_DEFAULT = 0, /* MALLOC_CAP_DEFAULT: what malloc() may use */
    REPLAY_CLASS_INTERNAL,    /* MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT */
    REPLAY_CLASS_DMA,         /* MALLOC_CAP_DMA */
    REPLAY_CLASS_SPIRAM,      /* MALLOC_CAP_SPIRAM */
    REPLAY_CLASS_COUNT,
};

/* A caller chain prefix whose allocations get these caps instead of the
 * default malloc() policy (device dumps carry no caps). */
typedef struct {
    const char *caller; /* an address as printed, e.g. "0x400d1234" */
    uint32_t caps;
} replay_caps_rule_t;

typedef struct {
    const char *target;              /* chip, e.g. "esp32" */
    heapcaps_emu_options_t options;  /* its boot options */
    size_t sample_every;             /* operations between samples; 0 = about 2000 in all */
    uint64_t stop_after;             /* operations to run; UINT64_MAX = all of them */
    bool keep_booted;                /* leave the chip up afterwards (for a picture) */
    const replay_caps_rule_t *rules; /* caps by caller chain */
    size_t rule_count;
    bool progress; /* a progress bar on stderr */
} replay_config_t;

/* The heaps a failed request could have used, when it failed. */
typedef struct {
    uint64_t op;     /* index of the operation in the trace */
    uint32_t caps;   /* caps the request used (the policy's: MALLOC_CAP_DEFAULT) */
    size_t free;     /* bytes free in those heaps */
    size_t largest;  /* their largest free block */
    bool fragmented; /* enough free memory, no block large enough */
    bool policy;     /* no caps given: the malloc() policy (MALLOC_CAP_DEFAULT) */
} replay_failure_t;

typedef struct {
    size_t total;       /* heap_caps_get_total_size() */
    size_t minimum;     /* lowest free bytes during the replay (per-heap low-water marks) */
    size_t min_largest; /* smallest largest-free-block seen (samples and failures) */
    double max_fragmentation;
    uint64_t max_fragmentation_op;
} replay_class_stats_t;

typedef struct {
    uint64_t done;  /* operations executed */
    double seconds; /* wall time of the execution */
    heap_series_t series[REPLAY_CLASS_COUNT];
    replay_class_stats_t stats[REPLAY_CLASS_COUNT];
    bool has_class[REPLAY_CLASS_COUNT];
    replay_failure_t *failures;
    size_t failure_count;
    size_t orphans;    /* frees and reallocs of blocks whose allocation failed */
    uint64_t worst_op; /* the first failure, else the most fragmented sample */
    bool worst_is_failure;
    int worst_class; /* REPLAY_CLASS_* of that sample (no failure) */
    void **live;     /* keep_booted: the pointer of every id now (NULL: none) */
} replay_result_t;

/* The name and mask of a class. */
const char *replay_class_name(int class_index);
uint32_t replay_class_caps(int class_index);

/* Boot, execute, collect. ESP_OK, or the boot's error (nothing to free). */
esp_err_t replay_run(const trace_t *trace, const replay_config_t *config, replay_result_t *result);

/* Free what replay_run() allocated (and shut the chip down if it is up). */
void replay_result_free(replay_result_t *result);

#endif /* HEAPCAPS_TOOLS_REPLAY_H */
