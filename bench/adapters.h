/* adapters.h — the allocators under test, each behind small non-inlined adapter functions.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every measured allocator call goes through one of these adapters so that callgrind can
 * attribute inclusive instruction counts to it by name, and so that the single-stepping mode
 * runs the same code. Per allocator (hc_*, glibc_*) there are two sets of adapters, one for
 * the sampled calls (the ones also single-stepped) and one for the others, each with a
 * success and a known-failure adapter per call kind (callgrind cannot split one function by
 * outcome), plus "empty" adapters of the same shape whose cost is subtracted.
 */
#ifndef BENCH_ADAPTERS_H
#define BENCH_ADAPTERS_H

#include <stdbool.h>
#include <stddef.h>

/** Largest arena the static buffer holds. */
#define BENCH_MAX_ARENA ((size_t)4 << 20)

typedef void *(*malloc_fn_t)(size_t size);
typedef void (*free_fn_t)(void *ptr);
typedef void *(*realloc_fn_t)(void *ptr, size_t size);

/** Call kinds, each with its own adapter and statistics. */
typedef enum {
    KIND_MALLOC_OK,
    KIND_MALLOC_FAILED,
    KIND_FREE,
    KIND_REALLOC_OK,
    KIND_REALLOC_FAILED,
    KIND_COUNT
} call_kind_t;

/** Adapter sets: calls outside the sample, and sampled calls. */
typedef enum { SET_OTHER, SET_SAMPLED, SET_COUNT } adapter_set_id_t;

typedef struct {
    malloc_fn_t malloc_ok, malloc_failed;
    free_fn_t free;
    realloc_fn_t realloc_ok, realloc_failed;
    /** Function names, indexed by call_kind_t, as callgrind shows them. */
    const char *name[KIND_COUNT];
} adapter_set_t;

typedef struct {
    const char *name; /**< "heapcaps" or "glibc". */
    bool has_arena;   /**< false: no arena, memory figures are not applicable. */
    /** reset() recreates the same state, so a pre-pass can predict which calls fail. */
    bool replayable;

    /** Start from a fresh heap of arena_size bytes (glibc: a one-time warm-up only). */
    void (*reset)(size_t arena_size);
    /** multi_heap_get_info().largest_free_block; 0 when not applicable. */
    size_t (*largest_free_block)(void);
    /** Bytes the block takes from a virtual arena (glibc only; NULL otherwise). */
    size_t (*block_charge)(void *ptr);

    adapter_set_t adapters[SET_COUNT];
    malloc_fn_t malloc_empty;
    free_fn_t free_empty;
    realloc_fn_t realloc_empty;
    const char *empty_malloc_name, *empty_free_name, *empty_realloc_name;

    /* Unmeasured calls: the pre-pass, plain runs, calls left out of a stepped run. */
    malloc_fn_t direct_malloc;
    free_fn_t direct_free;
    realloc_fn_t direct_realloc;
} bench_allocator_t;

/** The allocator called name, or NULL. */
const bench_allocator_t *bench_find_allocator(const char *name);

#endif /* BENCH_ADAPTERS_H */
