/* adapters.c — measured adapter functions for multi_heap (hc_*) and glibc (glibc_*).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Shape of every adapter: load the arguments, call the allocator, return. Nothing else, so
 * that "adapter inclusive cost - empty adapter inclusive cost" is the allocator's own work.
 * The empty adapters call a do-nothing function with the allocator function's signature, so
 * the subtraction also removes the call/return and argument set-up around the allocator.
 * Everything here has external linkage and stays out of line: the compiler may not drop,
 * merge or specialise these functions, or their call sites would stop being measured.
 */
#include "adapters.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multi_heap.h"

#if defined(__clang__)
#define BENCH_OUT_OF_LINE __attribute__((noinline, used))
#else
/* noipa: gcc would otherwise find the empty functions side-effect free and delete calls, or
 * fold identical adapters into one. */
#define BENCH_OUT_OF_LINE __attribute__((noinline, noipa, used))
#endif

/* A value passed through an empty asm: keeps a call out of tail position (callgrind then
 * sees an ordinary call/return) and hides constant results from the optimiser. */
#define BENCH_OPAQUE(value) __asm__ volatile("" : "+r"(value))
#define BENCH_BARRIER()     __asm__ volatile("" ::: "memory")

/* One adapter: `name` calls `call` (an expression using the parameters size / ptr). */
#define MALLOC_ADAPTER(name, call)                                                                 \
    void *name(size_t size);                                                                       \
    BENCH_OUT_OF_LINE void *name(size_t size)                                                      \
    {                                                                                              \
        void *result = (call);                                                                     \
        BENCH_OPAQUE(result);                                                                      \
        return result;                                                                             \
    }
#define FREE_ADAPTER(name, call)                                                                   \
    void name(void *ptr);                                                                          \
    BENCH_OUT_OF_LINE void name(void *ptr)                                                         \
    {                                                                                              \
        call;                                                                                      \
        BENCH_BARRIER();                                                                           \
    }
#define REALLOC_ADAPTER(name, call)                                                                \
    void *name(void *ptr, size_t size);                                                            \
    BENCH_OUT_OF_LINE void *name(void *ptr, size_t size)                                           \
    {                                                                                              \
        void *result = (call);                                                                     \
        BENCH_OPAQUE(result);                                                                      \
        return result;                                                                             \
    }

/* ---- do-nothing callees standing in for the allocator in the empty adapters ---- */

void *bench_null_malloc2(void *heap, size_t size);
void bench_null_free2(void *heap, void *ptr);
void *bench_null_realloc3(void *heap, void *ptr, size_t size);
void *bench_null_malloc1(size_t size);
void bench_null_free1(void *ptr);
void *bench_null_realloc2(void *ptr, size_t size);

BENCH_OUT_OF_LINE void *bench_null_malloc2(void *heap, size_t size)
{
    (void)heap;
    (void)size;
    void *result = NULL;
    BENCH_OPAQUE(result);
    return result;
}

BENCH_OUT_OF_LINE void bench_null_free2(void *heap, void *ptr)
{
    (void)heap;
    (void)ptr;
    BENCH_BARRIER();
}

BENCH_OUT_OF_LINE void *bench_null_realloc3(void *heap, void *ptr, size_t size)
{
    (void)heap;
    (void)ptr;
    (void)size;
    void *result = NULL;
    BENCH_OPAQUE(result);
    return result;
}

BENCH_OUT_OF_LINE void *bench_null_malloc1(size_t size)
{
    (void)size;
    void *result = NULL;
    BENCH_OPAQUE(result);
    return result;
}

BENCH_OUT_OF_LINE void bench_null_free1(void *ptr)
{
    (void)ptr;
    BENCH_BARRIER();
}

BENCH_OUT_OF_LINE void *bench_null_realloc2(void *ptr, size_t size)
{
    (void)ptr;
    (void)size;
    void *result = NULL;
    BENCH_OPAQUE(result);
    return result;
}

/* ---- multi_heap on a static arena ---- */

static _Alignas(64) unsigned char s_arena[BENCH_MAX_ARENA];
static multi_heap_handle_t s_heap;

/* The *_failed twins have the same body; the pre-pass decides which one a call uses. */
MALLOC_ADAPTER(hc_malloc, multi_heap_malloc(s_heap, size))
MALLOC_ADAPTER(hc_malloc_failed, multi_heap_malloc(s_heap, size))
FREE_ADAPTER(hc_free, multi_heap_free(s_heap, ptr))
REALLOC_ADAPTER(hc_realloc, multi_heap_realloc(s_heap, ptr, size))
REALLOC_ADAPTER(hc_realloc_failed, multi_heap_realloc(s_heap, ptr, size))

MALLOC_ADAPTER(hc_sampled_malloc, multi_heap_malloc(s_heap, size))
MALLOC_ADAPTER(hc_sampled_malloc_failed, multi_heap_malloc(s_heap, size))
FREE_ADAPTER(hc_sampled_free, multi_heap_free(s_heap, ptr))
REALLOC_ADAPTER(hc_sampled_realloc, multi_heap_realloc(s_heap, ptr, size))
REALLOC_ADAPTER(hc_sampled_realloc_failed, multi_heap_realloc(s_heap, ptr, size))

MALLOC_ADAPTER(hc_empty_malloc, bench_null_malloc2(s_heap, size))
FREE_ADAPTER(hc_empty_free, bench_null_free2(s_heap, ptr))
REALLOC_ADAPTER(hc_empty_realloc, bench_null_realloc3(s_heap, ptr, size))

/* Unmeasured twins (distinct names keep them out of the adapters' totals in callgrind). */
static void *hc_direct_malloc(size_t size)
{
    return multi_heap_malloc(s_heap, size);
}

static void hc_direct_free(void *ptr)
{
    multi_heap_free(s_heap, ptr);
}

static void *hc_direct_realloc(void *ptr, size_t size)
{
    return multi_heap_realloc(s_heap, ptr, size);
}

static void hc_reset(size_t arena_size)
{
    if (arena_size > sizeof s_arena) {
        fprintf(stderr, "heapcaps_bench: arena of %zu bytes exceeds the %zu-byte buffer\n",
                arena_size, sizeof s_arena);
        exit(2);
    }
    /* Registering again over the same bytes gives a fresh, identical heap every time. */
    s_heap = multi_heap_register(s_arena, arena_size);
    if (s_heap == NULL) {
        fprintf(stderr, "heapcaps_bench: multi_heap_register(%p, %zu) failed\n", (void *)s_arena,
                arena_size);
        exit(2);
    }
}

static size_t hc_largest_free_block(void)
{
    multi_heap_info_t info;
    multi_heap_get_info(s_heap, &info);
    return info.largest_free_block;
}

/* ---- glibc ---- */

MALLOC_ADAPTER(glibc_malloc, malloc(size))
MALLOC_ADAPTER(glibc_malloc_failed, malloc(size))
FREE_ADAPTER(glibc_free, free(ptr))
REALLOC_ADAPTER(glibc_realloc, realloc(ptr, size))
REALLOC_ADAPTER(glibc_realloc_failed, realloc(ptr, size))

MALLOC_ADAPTER(glibc_sampled_malloc, malloc(size))
MALLOC_ADAPTER(glibc_sampled_malloc_failed, malloc(size))
FREE_ADAPTER(glibc_sampled_free, free(ptr))
REALLOC_ADAPTER(glibc_sampled_realloc, realloc(ptr, size))
REALLOC_ADAPTER(glibc_sampled_realloc_failed, realloc(ptr, size))

MALLOC_ADAPTER(glibc_empty_malloc, bench_null_malloc1(size))
FREE_ADAPTER(glibc_empty_free, bench_null_free1(ptr))
REALLOC_ADAPTER(glibc_empty_realloc, bench_null_realloc2(ptr, size))

static void *glibc_direct_malloc(size_t size)
{
    return malloc(size);
}

static void glibc_direct_free(void *ptr)
{
    free(ptr);
}

static void *glibc_direct_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size);
}

static void glibc_reset(size_t arena_size)
{
    static bool warmed_up;
    (void)arena_size;
    /* glibc has no arena to reset. Its one-time initialisation (arena set-up, tcache) is
     * done here, outside the measurement, as it would be long before any real workload. */
    if (!warmed_up) {
        free(malloc(1));
        warmed_up = true;
    }
}

static size_t glibc_largest_free_block(void)
{
    return 0;
}

/* glibc's footprint of a block: its usable size plus the size word in front of it. */
static size_t glibc_block_charge(void *ptr)
{
    return malloc_usable_size(ptr) + sizeof(size_t);
}

/* ---- the table ---- */

/* An adapter set from its five functions; the names are the functions' own. */
#define ADAPTER_SET(m_ok, m_failed, f, r_ok, r_failed)                                             \
    {                                                                                              \
        m_ok, m_failed, f, r_ok, r_failed,                                                         \
        {                                                                                          \
#m_ok, #m_failed, #f, #r_ok, #r_failed                                                 \
        }                                                                                          \
    }

static const bench_allocator_t s_allocators[] = {
    {
        .name = "heapcaps",
        .has_arena = true,
        .replayable = true,
        .reset = hc_reset,
        .largest_free_block = hc_largest_free_block,
        .block_charge = NULL,
        .adapters =
            {
                ADAPTER_SET(hc_malloc, hc_malloc_failed, hc_free, hc_realloc, hc_realloc_failed),
                ADAPTER_SET(hc_sampled_malloc, hc_sampled_malloc_failed, hc_sampled_free,
                            hc_sampled_realloc, hc_sampled_realloc_failed),
            },
        .malloc_empty = hc_empty_malloc,
        .free_empty = hc_empty_free,
        .realloc_empty = hc_empty_realloc,
        .empty_malloc_name = "hc_empty_malloc",
        .empty_free_name = "hc_empty_free",
        .empty_realloc_name = "hc_empty_realloc",
        .direct_malloc = hc_direct_malloc,
        .direct_free = hc_direct_free,
        .direct_realloc = hc_direct_realloc,
    },
    {
        .name = "glibc",
        .has_arena = false,
        /* A pre-pass would leave glibc's heap changed for the measured pass, and glibc does
         * not fail here: every call is predicted to succeed. */
        .replayable = false,
        .reset = glibc_reset,
        .largest_free_block = glibc_largest_free_block,
        .block_charge = glibc_block_charge,
        .adapters =
            {
                ADAPTER_SET(glibc_malloc, glibc_malloc_failed, glibc_free, glibc_realloc,
                            glibc_realloc_failed),
                ADAPTER_SET(glibc_sampled_malloc, glibc_sampled_malloc_failed, glibc_sampled_free,
                            glibc_sampled_realloc, glibc_sampled_realloc_failed),
            },
        .malloc_empty = glibc_empty_malloc,
        .free_empty = glibc_empty_free,
        .realloc_empty = glibc_empty_realloc,
        .empty_malloc_name = "glibc_empty_malloc",
        .empty_free_name = "glibc_empty_free",
        .empty_realloc_name = "glibc_empty_realloc",
        .direct_malloc = glibc_direct_malloc,
        .direct_free = glibc_direct_free,
        .direct_realloc = glibc_direct_realloc,
    },
};

const bench_allocator_t *bench_find_allocator(const char *name)
{
    for (size_t i = 0; i < sizeof s_allocators / sizeof s_allocators[0]; i++) {
        if (strcmp(s_allocators[i].name, name) == 0) {
            return &s_allocators[i];
        }
    }
    return NULL;
}
