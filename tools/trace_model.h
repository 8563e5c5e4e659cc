/*
 * trace_model.h — a heap trace as `heapcaps replay` holds it: the operations
 * in the order they happened, each block named by a dense id (addresses in
 * the input are identities, not placement), and what the input said about
 * where they came from. Filled by trace_input.c from any input format.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_TRACE_MODEL_H
#define HEAPCAPS_TOOLS_TRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an operation does. */
typedef enum {
    TRACE_MALLOC = 0, /* id = a new block of `size` bytes with `caps` */
    TRACE_CALLOC,     /* the same, zeroed */
    TRACE_ALIGNED,    /* the same, aligned to `alignment` */
    TRACE_REALLOC,    /* live block `id` gets `size` bytes (it may move) */
    TRACE_FREE,       /* block `id` goes back */
} trace_kind_t;

/* No caps given (a device dump): the default malloc() policy. */
#define TRACE_CAPS_DEFAULT_POLICY 0u

/* No caller chain. */
#define TRACE_NONE UINT32_MAX

typedef struct {
    uint8_t kind;       /* trace_kind_t */
    uint32_t id;        /* block id, 0 .. trace_t.id_count - 1 */
    uint32_t size;      /* bytes asked for */
    uint32_t caps;      /* MALLOC_CAP_* asked for, or TRACE_CAPS_DEFAULT_POLICY */
    uint32_t alignment; /* TRACE_ALIGNED: the alignment; else 0 */
    uint32_t callers;   /* index into trace_t.callers, or TRACE_NONE */
    uint32_t line;      /* line of the input it came from (1-based); for an inferred
                           free, the line of the block's allocation */
    uint64_t time;      /* the input's timestamp (ccount on a device), or 0 */
} trace_op_t;

/* Input formats trace_read() recognises. */
typedef enum {
    TRACE_FORMAT_ESP_IDF_DUMP = 0, /* heap_trace_dump() text, v5.0 to master */
    TRACE_FORMAT_CSV,              /* docs/replay-formats.md: op,id,size,caps,alignment,timestamp */
    TRACE_FORMAT_JSONL,            /* docs/replay-formats.md: one JSON object per line */
} trace_format_t;

/* When a device dump's freed blocks are taken to go back (dumps carry no
 * free times). Either way a block is freed before a later allocation that
 * overlaps its address range: that allocation proves it was gone. */
typedef enum {
    TRACE_FREES_LATE = 0, /* as late as the evidence allows (default) */
    TRACE_FREES_EARLY,    /* right after its allocation */
} trace_free_policy_t;

typedef struct {
    trace_op_t *ops;
    size_t count;
    size_t id_count; /* ids are dense: 0 .. id_count - 1 */
    char **callers;  /* caller chains as printed, e.g. "0x400d1234:0x400d5678" */
    size_t caller_count;
    trace_format_t format;
    char format_version[32]; /* e.g. "v5.0", "v5.1-v5.4", "v5.5+", or "1" for ours */
    /* Device dumps: what was inferred. */
    bool frees_inferred;      /* free times are inferred (trace_free_policy_t) */
    size_t frees_from_reuse;  /* frees placed before an allocation at their address */
    size_t frees_from_policy; /* frees placed by the policy alone */
    size_t live_at_end;       /* blocks never freed (leaked or alive when dumped) */
    bool overflowed;          /* the device's buffer overflowed: records are missing */
    size_t unknown_frees;     /* frees of blocks the input never allocated: left out */
} trace_t;

/* Where reading failed: the input's line and what is wrong with it. */
typedef struct {
    size_t line; /* 1-based; 0 when not about one line (e.g. the file cannot be opened) */
    char message[256];
} trace_error_t;

/* Free everything trace_read() allocated; the trace is left empty. */
void trace_free(trace_t *trace);

#endif /* HEAPCAPS_TOOLS_TRACE_MODEL_H */
