/*
 * heap_caps_internal.h — the registry of heaps behind esp_heap_caps.h: the
 * heap descriptor, the heap list, the route of a caps mask (the heaps a
 * request may use, in the order it tries them) and the lookup of the heap
 * holding a pointer. Private to the library.
 *
 * Both lookups are constant time on the allocation paths:
 * - routes are computed once per caps mask (and per change of the heap set)
 *   and kept in a hash table, so a request does not walk the heap list;
 * - the heap of a pointer comes from a page table over the emulated chip's
 *   address window (one 16-bit entry per 4 KiB page), with a binary search
 *   over the sorted heap segments only for pages two heaps share and for
 *   heaps outside the window.
 * Readers take no lock: tables are immutable once published; a change of the
 * heap set publishes new ones and retires the old (freed at reset).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_HEAP_CAPS_INTERNAL_H
#define HEAPCAPS_HEAP_CAPS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_heap_caps.h"
#include "heap_memory_layout.h"
#include "heapcaps/config.h"
#include "heapcaps/layout.h"
#include "heapcaps/lock.h"
#include "multi_heap.h"
#include "tlsf/tlsf_ops.h"

/** Bytes of the owner word before every allocation: a task handle with task
 *  tracking (pointer-sized: 4 on every chip), else none. */
#ifdef CONFIG_HEAP_TASK_TRACKING
#define HEAP_OWNER_WORD sizeof(void *)
#else
#define HEAP_OWNER_WORD ((size_t)0)
#endif

/** Which alias an EXEC allocation from this heap is returned through. */
enum { HEAP_ALIAS_NONE = 0, HEAP_ALIAS_DIRAM, HEAP_ALIAS_RTC };

typedef struct heap {
    uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS]; /* caps per priority, 0 = highest */
    uint32_t all_caps;                       /* OR of the three */
    intptr_t start, end;                     /* host addresses, end exclusive */
    multi_heap_handle_t heap;                /* NULL until enabled */
    const char *name;                        /* memory type name, or NULL */
    uint8_t alias;                           /* HEAP_ALIAS_* for EXEC allocations */
    bool runtime;                            /* added by heap_caps_add_region*() */
    bool monitored;                          /* monitor_saved holds a minimum */
    size_t monitor_saved;                    /* lowest minimum before local monitoring started */
    struct heap *next;                       /* heap list */
    heapcaps_lock_t lock;
} heap_t;

/** The heaps a caps mask may use, in the order a request tries them. */
typedef struct {
    uint32_t caps;
    uint32_t count;
    heap_t *heaps[];
} heap_route_t;

/** A piece of the address space and the innermost heap over it (or NULL). */
typedef struct {
    uintptr_t start, end;
    heap_t *heap;
} heap_segment_t;

#define HEAP_PAGE_SHIFT   12u
#define HEAP_PAGE_SHARED  0xFFFFu /* page entry: more than one heap, search */
#define HEAP_PAGE_PARTIAL 0x8000u /* page entry flag: the heap covers part of it */

typedef struct {
    uintptr_t base; /* host address of page 0 of the window */
    uintptr_t span; /* bytes the page table covers */
    /* per page: i = heaps[i] covers it whole; i | PARTIAL = heaps[i] covers
     * part of it (0 | PARTIAL: no heap); or HEAP_PAGE_SHARED */
    const uint16_t *page_heap;
    heap_t *const *heaps; /* heaps[0] is an empty heap: start == end == 0 */
    const heap_segment_t *segments;
    size_t segment_count;
} heap_lookup_t;

/* An -Os build keeps no route cache: a request walks the heap list by
 * priority, which on an MCU's handful of heaps is a few steps more, and the
 * cache's builder and its 1 KiB table stay out of the program (one slot
 * remains, for the empty table the registry publishes). */
#if defined(__OPTIMIZE_SIZE__)
#define HEAP_ROUTE_CACHE 0
#define HEAP_ROUTE_SLOTS 1u
#else
#define HEAP_ROUTE_CACHE 1
#define HEAP_ROUTE_SLOTS 256u
#endif

typedef struct {
    _Atomic(const heap_route_t *) slots[HEAP_ROUTE_SLOTS];
} heap_route_table_t;

/* Published state (readers load with acquire). */
extern TLSF_INTERNAL _Atomic(heap_t *) heapcaps_heap_list;
extern TLSF_INTERNAL _Atomic(const heap_lookup_t *) heapcaps_heap_lookup;
extern TLSF_INTERNAL _Atomic(heap_route_table_t *) heapcaps_route_table;

static inline bool heap_matches(const heap_t *heap, uint32_t caps)
{
    return heap->heap && (heap->all_caps & caps) == caps;
}

static inline heap_t *heap_list_first(void)
{
    return atomic_load_explicit(&heapcaps_heap_list, memory_order_acquire);
}

/** Innermost enabled heap whose [start, end) holds p: the slow part. */
TLSF_INTERNAL heap_t *heapcaps_find_heap_slow(const heap_lookup_t *lookup, uintptr_t p);

/** Innermost enabled heap whose [start, end) holds p, or NULL. */
static inline heap_t *heapcaps_find_heap(const void *ptr)
{
    const heap_lookup_t *lookup = atomic_load_explicit(&heapcaps_heap_lookup, memory_order_acquire);
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t offset = p - lookup->base;
    if (offset < lookup->span) {
        unsigned entry = lookup->page_heap[offset >> HEAP_PAGE_SHIFT];
        if (entry < HEAP_PAGE_PARTIAL) {
            return lookup->heaps[entry];
        }
        if (entry != HEAP_PAGE_SHARED) {
            heap_t *heap = lookup->heaps[entry & ~HEAP_PAGE_PARTIAL];
            return p - (uintptr_t)heap->start < (uintptr_t)(heap->end - heap->start) ? heap : NULL;
        }
    }
    return heapcaps_find_heap_slow(lookup, p);
}

/** Route of `caps` computed and cached: the slow part. NULL when the table
 *  is full or out of memory. */
TLSF_INTERNAL const heap_route_t *heapcaps_route_build(uint32_t caps);

static inline unsigned heap_route_slot(uint32_t caps)
{
    return (unsigned)((caps * 0x9E3779B1u) >> 24) % HEAP_ROUTE_SLOTS;
}

/** The heaps a request with `caps` tries, in order; NULL when it cannot be
 *  cached (then walk the heap list). */
static inline const heap_route_t *heapcaps_route(uint32_t caps)
{
    if (!HEAP_ROUTE_CACHE) {
        return NULL;
    }
    heap_route_table_t *table = atomic_load_explicit(&heapcaps_route_table, memory_order_acquire);
    const heap_route_t *route =
        atomic_load_explicit(&table->slots[heap_route_slot(caps)], memory_order_acquire);
    if (route && route->caps == caps) {
        return route;
    }
    return heapcaps_route_build(caps);
}

/**
 * Put heaps[0..count) in the list, in order — each at the head (runtime
 * heaps) or before the first heap at least as large (startup heaps) — then
 * republish lookup and routes once. Serialised by the registry lock. False
 * (the heaps taken out of the list again) when the library has no memory for
 * the pointer lookup.
 */
bool heapcaps_registry_add(heap_t *heaps, size_t count, bool at_head);

/** Republish lookup and routes after heaps were enabled. */
void heapcaps_registry_changed(void);

/** Number of heaps in the list. */
size_t heapcaps_registry_count(void);

/** Memory for the registry's own tables (the host's, never a chip heap). */
void *heapcaps_meta_alloc(size_t bytes);
void heapcaps_meta_free(void *p);

/** Facts of the installed chip the hot paths need, kept ready by the
 *  registry (recomputed whenever the heap set changes). */
typedef struct {
    size_t size_limit;    /* HEAP_SIZE_MAX - owner word: larger requests fail */
    uintptr_t alias_low;  /* host range holding the D/IRAM and RTC IRAM aliases */
    uintptr_t alias_span; /* (their hull); 0: no alias on this chip */
    uintptr_t alias_low_exact[2], alias_span_exact[2]; /* each alias range */
} heap_fast_facts_t;

extern TLSF_INTERNAL heap_fast_facts_t heapcaps_fast;

TLSF_INTERNAL bool heapcaps_is_alias_exact(uintptr_t p);

/** True when p is an IRAM-alias pointer of an EXEC allocation. On every
 *  chip the two alias ranges are adjacent, so one comparison decides. */
static inline bool heapcaps_is_alias(const void *p)
{
    return (uintptr_t)p - heapcaps_fast.alias_low < heapcaps_fast.alias_span &&
           heapcaps_is_alias_exact((uintptr_t)p);
}

/** Adjust alignment, size and caps to the hardware. */
void heapcaps_adjust_alignment_to_hw(size_t *alignment, size_t *size, uint32_t *caps);

/** Back to the settings of a fresh boot: malloc policy, failure callback,
 *  local-minimum monitoring (heap_caps.c, heap_caps_info.c). */
void heapcaps_heap_caps_reset_settings(void);
void heapcaps_monitor_reset(void);

/** The data-side pointer stored before an IRAM-alias pointer. */
void *heapcaps_alias_data(const void *p);

/** The block (owner word) before data-side pointer `data`. Integer
 *  arithmetic: the word read through an alias may be anything, even 0. */
static inline void *heapcaps_block_of(const void *data)
{
    return (void *)((uintptr_t)data - HEAP_OWNER_WORD);
}

/** Bytes usable through IRAM-alias pointer p of the block at data in heap. */
size_t heapcaps_alias_usable(heap_t *heap, const void *data, const void *p);

/** Set by heap_caps_enable_nonos_stack_heaps(). */
extern bool heapcaps_startup_over;

#endif /* HEAPCAPS_HEAP_CAPS_INTERNAL_H */
