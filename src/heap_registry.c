/*
 * heap_registry.c — the list of registered heaps and the two tables that
 * make allocation and free independent of the number of heaps: routes per
 * caps mask and the pointer-to-heap lookup (heap_caps_internal.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "heap_caps_debug.h"
#include "heap_caps_internal.h"
#include "heap_caps_private.h"
#include "memory_layout.h"
#include "port/port.h"

/* An empty heap at index 0 of every lookup: no pointer lies in it. */
static heap_t no_heap;
static heap_t *const no_heaps[1] = {&no_heap};
static const uint16_t no_pages[1] = {HEAP_PAGE_PARTIAL};
static const heap_lookup_t empty_lookup = {0, 0, no_pages, no_heaps, NULL, 0};

_Atomic(heap_t *) heapcaps_heap_list;
_Atomic(const heap_lookup_t *) heapcaps_heap_lookup = &empty_lookup;
/* Until heaps exist: a table with no routes (never written). */
static heap_route_table_t no_routes;
_Atomic(heap_route_table_t *) heapcaps_route_table = &no_routes;
bool heapcaps_startup_over;

/* Tables replaced while readers may still hold them: freed at reset. */
typedef struct retired {
    struct retired *next;
} retired_t;
static retired_t *retired_tables;

static heapcaps_lock_t registry_lock;
static bool registry_lock_ready;

void *heapcaps_meta_alloc(size_t bytes)
{
    return heapcaps_port_meta_alloc(bytes);
}

void heapcaps_meta_free(void *p)
{
    heapcaps_port_meta_free(p);
}

/* Allocate a table that can later be retired: a hidden link in front. */
static void *table_alloc(size_t bytes)
{
    retired_t *block = heapcaps_meta_alloc(sizeof(retired_t) * 2 + bytes);
    if (!block) {
        return NULL;
    }
    memset(block, 0, sizeof(retired_t) * 2 + bytes);
    return block + 2; /* two links keep the table 8-byte aligned on 32-bit */
}

static void table_retire(const void *table)
{
    if (table && table != &empty_lookup) {
        retired_t *block = (retired_t *)(uintptr_t)table - 2;
        block->next = retired_tables;
        retired_tables = block;
    }
}

/* Publish a new table; the old one is returned for retirement. Writers hold
 * the registry lock (heapcaps_registry_reset runs alone), so a load and a
 * store are enough: no read-modify-write atomic, which cores such as rv32imc
 * and lx106 do not have. */
static const heap_lookup_t *publish_lookup(const heap_lookup_t *lookup)
{
    const heap_lookup_t *old = atomic_load_explicit(&heapcaps_heap_lookup, memory_order_relaxed);
    atomic_store_explicit(&heapcaps_heap_lookup, lookup, memory_order_release);
    return old;
}

static heap_route_table_t *publish_routes(heap_route_table_t *routes)
{
    heap_route_table_t *old = atomic_load_explicit(&heapcaps_route_table, memory_order_relaxed);
    atomic_store_explicit(&heapcaps_route_table, routes, memory_order_release);
    return old;
}

static void registry_lock_take(void)
{
    if (!registry_lock_ready) {
        heapcaps_lock_init(&registry_lock);
        registry_lock_ready = true;
    }
    heapcaps_port_lock(&registry_lock);
}

static void registry_lock_give(void)
{
    heapcaps_port_unlock(&registry_lock);
}

size_t heapcaps_registry_count(void)
{
    size_t count = 0;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        ++count;
    }
    return count;
}

heap_fast_facts_t heapcaps_fast = {SIZE_MAX / 2, 0, 0, {0, 0}, {0, 0}};

/* An alias range of the chip in host addresses; span 0 where the data and
 * instruction addresses of that memory are the same. */
static void alias_range(const heapcaps_layout_t *layout, uint32_t data_low, uint32_t iram_low,
                        uint32_t iram_high, uintptr_t *low, uintptr_t *span)
{
    *low = 0;
    *span = 0;
    if (iram_low < iram_high && iram_low != data_low) {
        *low = (uintptr_t)heapcaps_layout_to_host(layout, (intptr_t)iram_low);
        *span = iram_high - iram_low;
    }
}

static void fast_facts_update(void)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    heap_fast_facts_t facts = {SIZE_MAX / 2 - HEAP_OWNER_WORD, 0, 0, {0, 0}, {0, 0}};
    if (layout && layout->soc) {
        const heapcaps_soc_t *soc = layout->soc;
        if (soc->max_contiguous_ram_size) {
            facts.size_limit = soc->max_contiguous_ram_size - HEAP_OWNER_WORD;
        }
        alias_range(layout, soc->diram_dram_low, soc->diram_iram_low, soc->diram_iram_high,
                    &facts.alias_low_exact[0], &facts.alias_span_exact[0]);
        alias_range(layout, soc->rtc_dram_low, soc->rtc_iram_low, soc->rtc_iram_high,
                    &facts.alias_low_exact[1], &facts.alias_span_exact[1]);
        uintptr_t low = UINTPTR_MAX, high = 0;
        for (int i = 0; i < 2; ++i) {
            if (facts.alias_span_exact[i]) {
                uintptr_t end = facts.alias_low_exact[i] + facts.alias_span_exact[i];
                low = facts.alias_low_exact[i] < low ? facts.alias_low_exact[i] : low;
                high = end > high ? end : high;
            }
        }
        if (high) {
            facts.alias_low = low;
            facts.alias_span = high - low;
        }
    }
    heapcaps_fast = facts;
}

bool heapcaps_is_alias_exact(uintptr_t p)
{
    return p - heapcaps_fast.alias_low_exact[0] < heapcaps_fast.alias_span_exact[0] ||
           p - heapcaps_fast.alias_low_exact[1] < heapcaps_fast.alias_span_exact[1];
}

/* ---- routes ------------------------------------------------------------ */

static size_t route_fill(uint32_t caps, heap_t **out, size_t room)
{
    size_t count = 0;
    if (!caps) {
        return 0; /* a heap is a candidate only for a bit it offers */
    }
    for (int prio = 0; prio < SOC_MEMORY_TYPE_NO_PRIOS; ++prio) {
        for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
            if (!heap_matches(heap, caps) || !(heap->caps[prio] & caps)) {
                continue;
            }
            bool listed = false; /* a heap that failed at one level fails at the next */
            for (size_t i = 0; i < count && !listed; ++i) {
                listed = out[i] == heap;
            }
            if (!listed && count < room) {
                out[count++] = heap;
            }
        }
    }
    return count;
}

const heap_route_t *heapcaps_route_build(uint32_t caps)
{
    registry_lock_take();
    heap_route_table_t *table = atomic_load_explicit(&heapcaps_route_table, memory_order_acquire);
    const heap_route_t *result = NULL;
    /* Open addressing from the mask's home slot; a mask found away from
     * home costs this locked probe on every request, which only happens
     * once more masks than slots share a neighbourhood. */
    for (unsigned probe = 0; table != &no_routes && probe < HEAP_ROUTE_SLOTS; ++probe) {
        unsigned slot = (heap_route_slot(caps) + probe) % HEAP_ROUTE_SLOTS;
        const heap_route_t *cached =
            atomic_load_explicit(&table->slots[slot], memory_order_acquire);
        if (cached && cached->caps == caps) {
            result = cached;
            break;
        }
        if (!cached) {
            size_t heaps = heapcaps_registry_count();
            heap_route_t *route = table_alloc(sizeof(heap_route_t) + heaps * sizeof(heap_t *));
            if (route) {
                route->caps = caps;
                route->count = (uint32_t)route_fill(caps, route->heaps, heaps);
                atomic_store_explicit(&table->slots[slot], route, memory_order_release);
            }
            result = route;
            break;
        }
    }
    registry_lock_give();
    return result; /* NULL: no room; the caller walks the heap list instead */
}

/* ---- pointer lookup --------------------------------------------------- */

static int compare_uintptr(uintptr_t a, uintptr_t b)
{
    return (a > b) - (a < b);
}

/* Sort and de-duplicate boundaries (few: insertion sort). */
static size_t sort_unique(uintptr_t *values, size_t count)
{
    for (size_t i = 1; i < count; ++i) {
        uintptr_t v = values[i];
        size_t j = i;
        while (j > 0 && compare_uintptr(values[j - 1], v) > 0) {
            values[j] = values[j - 1];
            --j;
        }
        values[j] = v;
    }
    size_t unique = 0;
    for (size_t i = 0; i < count; ++i) {
        if (!unique || values[unique - 1] != values[i]) {
            values[unique++] = values[i];
        }
    }
    return unique;
}

/* The innermost (smallest) enabled heap covering [start, end), or NULL. */
static heap_t *innermost(uintptr_t start, uintptr_t end)
{
    heap_t *best = NULL;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap->heap && (uintptr_t)heap->start <= start && (uintptr_t)heap->end >= end &&
            (!best || heap->end - heap->start < best->end - best->start)) {
            best = heap;
        }
    }
    return best;
}

/* The address window the page table covers: the installed chip's memory
 * (where its heaps live), or all heaps when they lie close together. */
static void lookup_window(uintptr_t low_heap, uintptr_t high_heap, uintptr_t *base, uintptr_t *span)
{
    const uintptr_t max_span = (uintptr_t)1 << 30;
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    uintptr_t low = low_heap, high = high_heap;
    if (layout && layout->region_count) {
        const soc_memory_region_t *first = &layout->regions[0];
        const soc_memory_region_t *last = &layout->regions[layout->region_count - 1];
        uintptr_t chip_low = (uintptr_t)heapcaps_layout_to_host(layout, first->start);
        uintptr_t chip_high = (uintptr_t)heapcaps_layout_to_host(layout, last->start) + last->size;
        if (high - low > max_span || high <= low) {
            low = chip_low;
            high = chip_high;
        }
    }
    if (high <= low || high - low > max_span) {
        *base = 0;
        *span = 0;
        return;
    }
    *base = low & ~(((uintptr_t)1 << HEAP_PAGE_SHIFT) - 1);
    *span = high - *base;
}

/* An -Os build keeps no page table: on an MCU's handful of heaps the
 * sorted segments find a heap in a few steps, and the table's builder is
 * the registry's largest function. (Nor a route cache: heap_caps_internal.h.) */
#if defined(__OPTIMIZE_SIZE__)
#define LOOKUP_PAGE_TABLE false
#else
#define LOOKUP_PAGE_TABLE true
#endif

static const heap_lookup_t *lookup_build(bool with_pages)
{
    size_t heaps = 0;
    uintptr_t low = UINTPTR_MAX, high = 0;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap->heap) {
            ++heaps;
            low = (uintptr_t)heap->start < low ? (uintptr_t)heap->start : low;
            high = (uintptr_t)heap->end > high ? (uintptr_t)heap->end : high;
        }
    }
    if (!heaps) {
        return &empty_lookup;
    }
    if (heaps >= HEAP_PAGE_PARTIAL - 1) {
        heapcaps_port_log('E', "heap_caps", "too many heaps for the lookup table");
        return NULL;
    }
    uintptr_t base = 0, span = 0;
    if (with_pages) {
        lookup_window(low, high, &base, &span);
    }
    size_t pages = span ? ((span - 1) >> HEAP_PAGE_SHIFT) + 1 : 1;
    size_t bounds_room = 2 * heaps;
    size_t bytes = sizeof(heap_lookup_t) + (heaps + 1) * sizeof(heap_t *) +
                   bounds_room * sizeof(heap_segment_t) + bounds_room * sizeof(uintptr_t) +
                   pages * sizeof(uint16_t);
    heap_lookup_t *lookup = table_alloc(bytes);
    if (!lookup) {
        return NULL;
    }
    heap_t **index = (heap_t **)(lookup + 1);
    heap_segment_t *segments = (heap_segment_t *)(index + heaps + 1);
    uintptr_t *bounds = (uintptr_t *)(segments + bounds_room);
    uint16_t *page_heap = (uint16_t *)(bounds + bounds_room);

    size_t count = 0, n = 0;
    index[n++] = &no_heap;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap->heap) {
            bounds[count++] = (uintptr_t)heap->start;
            bounds[count++] = (uintptr_t)heap->end;
            index[n++] = heap;
        }
    }
    count = sort_unique(bounds, count);
    size_t segment_count = 0;
    for (size_t i = 0; i + 1 < count; ++i) {
        heap_t *heap = innermost(bounds[i], bounds[i + 1]);
        if (heap) {
            segments[segment_count++] = (heap_segment_t){bounds[i], bounds[i + 1], heap};
        }
    }
    /* Pages: the one heap over the page (flagged PARTIAL unless it covers
     * the page whole), or SHARED. */
    for (size_t page = 0; page < pages; ++page) {
        page_heap[page] = HEAP_PAGE_PARTIAL; /* no heap */
    }
    for (size_t s = 0; s < segment_count; ++s) {
        uintptr_t from = segments[s].start, to = segments[s].end;
        if (to <= base || from >= base + span) {
            continue;
        }
        from = from < base ? base : from;
        to = to > base + span ? base + span : to;
        unsigned id = 0;
        while (index[id] != segments[s].heap) {
            ++id;
        }
        for (size_t page = (from - base) >> HEAP_PAGE_SHIFT;
             page <= ((to - 1 - base) >> HEAP_PAGE_SHIFT); ++page) {
            uint16_t entry = page_heap[page];
            uint16_t mine = (uint16_t)(id | HEAP_PAGE_PARTIAL);
            page_heap[page] =
                (entry == HEAP_PAGE_PARTIAL || entry == mine) ? mine : HEAP_PAGE_SHARED;
        }
    }
    /* A page inside one segment, and touched by nothing else, is whole. */
    for (size_t s = 0; s < segment_count; ++s) {
        uintptr_t page_size = (uintptr_t)1 << HEAP_PAGE_SHIFT;
        uintptr_t from = (segments[s].start + page_size - 1) & ~(page_size - 1);
        uintptr_t to = segments[s].end & ~(page_size - 1);
        from = from < base ? base : from;
        to = to > base + span ? ((base + span) & ~(page_size - 1)) : to;
        for (uintptr_t a = from; a < to; a += page_size) {
            size_t page = (a - base) >> HEAP_PAGE_SHIFT;
            if (page_heap[page] != HEAP_PAGE_SHARED) {
                page_heap[page] &= (uint16_t)~HEAP_PAGE_PARTIAL;
            }
        }
    }
    lookup->base = base;
    lookup->span = span;
    lookup->page_heap = page_heap;
    lookup->heaps = index;
    lookup->segments = segments;
    lookup->segment_count = segment_count;
    return lookup;
}

heap_t *heapcaps_find_heap_slow(const heap_lookup_t *lookup, uintptr_t p)
{
    size_t low = 0, high = lookup->segment_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (p < lookup->segments[mid].start) {
            high = mid;
        } else if (p >= lookup->segments[mid].end) {
            low = mid + 1;
        } else {
            return lookup->segments[mid].heap;
        }
    }
    return NULL;
}

/* ---- changes ---------------------------------------------------------- */

/* A route table goes with the routes it holds. */
static void retire_routes(heap_route_table_t *table)
{
    if (table == &no_routes) {
        return;
    }
    for (unsigned slot = 0; slot < HEAP_ROUTE_SLOTS; ++slot) {
        table_retire(atomic_load_explicit(&table->slots[slot], memory_order_relaxed));
    }
    table_retire(table);
}

/* Publish the tables of the heap list as it is now. False when the library
 * had no memory for the pointer lookup (even without its page table): the
 * old lookup stays, so the caller must take its new heaps out again. The
 * route cache is optional: without memory for it requests walk the list. */
static bool republish(void)
{
    const heap_lookup_t *lookup = lookup_build(LOOKUP_PAGE_TABLE);
    if (!lookup && LOOKUP_PAGE_TABLE) {
        lookup = lookup_build(false); /* sorted segments only: smaller */
    }
    if (!lookup) {
        return false;
    }
    fast_facts_update();
    table_retire(publish_lookup(lookup));
    heap_route_table_t *routes = HEAP_ROUTE_CACHE ? table_alloc(sizeof(heap_route_table_t)) : NULL;
    retire_routes(publish_routes(routes ? routes : &no_routes));
    return true;
}

static void list_remove(heap_t *heap)
{
    heap_t *first = heap_list_first();
    if (first == heap) {
        atomic_store_explicit(&heapcaps_heap_list, heap->next, memory_order_release);
        return;
    }
    for (heap_t *before = first; before; before = before->next) {
        if (before->next == heap) {
            before->next = heap->next;
            return;
        }
    }
}

static void list_insert(heap_t *heap, bool at_head)
{
    heap_t *first = heap_list_first();
    if (at_head || !first || first->end - first->start >= heap->end - heap->start) {
        heap->next = first;
        atomic_store_explicit(&heapcaps_heap_list, heap, memory_order_release);
    } else {
        heap_t *before = first;
        while (before->next && before->next->end - before->next->start < heap->end - heap->start) {
            before = before->next;
        }
        heap->next = before->next;
        before->next = heap;
    }
}

bool heapcaps_registry_add(heap_t *heaps, size_t count, bool at_head)
{
    registry_lock_take();
    for (size_t i = 0; i < count; ++i) {
        list_insert(&heaps[i], at_head);
    }
    /* once for all: it rebuilds the tables from the whole list */
    bool published = republish();
    if (!published) {
        heapcaps_port_log('E', "heap_caps", "no memory for the heap lookup table");
        for (size_t i = 0; i < count; ++i) {
            list_remove(&heaps[i]);
        }
    }
    registry_lock_give();
    return published;
}

void heapcaps_registry_changed(void)
{
    registry_lock_take();
    (void)republish(); /* the heap set is the same: the old lookup stays right */
    registry_lock_give();
}

bool heapcaps_startup_done(void)
{
    return heapcaps_startup_over;
}

void heapcaps_registry_reset(void)
{
    heapcaps_view_reset(); /* the heaps' memory is plain memory again */
    /* Locks live in the heaps' descriptors; release them before the memory goes. */
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap->heap) {
            heapcaps_lock_destroy(&heap->lock);
        }
    }
    atomic_store(&heapcaps_heap_list, NULL);
    table_retire(publish_lookup(&empty_lookup));
    retire_routes(publish_routes(&no_routes));
    while (retired_tables) {
        retired_t *next = retired_tables->next;
        heapcaps_meta_free(retired_tables);
        retired_tables = next;
    }
    heapcaps_startup_over = false;
    heapcaps_task_tracking_reset();
    heapcaps_trace_reset();
    heapcaps_heap_caps_reset_settings();
    fast_facts_update();
}
