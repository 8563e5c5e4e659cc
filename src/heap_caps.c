/*
 * heap_caps.c — allocation by capabilities: choosing a heap for a request,
 * the D/IRAM alias of EXEC allocations, free and realloc by address, the
 * malloc() policy and the failure callback.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "heap_caps_internal.h"
#include "heapcaps/heap_caps_ext.h"
#include "memory_layout.h"
#include "heap_caps_debug.h"
#include "mem_ops.h"
#include "multi_heap_ops.h"
#include "port/port.h"

#ifndef CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS
#define CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS 0
#endif

static esp_alloc_failed_hook_t alloc_failed_callback;
static bool abort_when_allocation_fails = CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS;
/* malloc() threshold for PSRAM; -1 = no external allocations (as an int). */
static int malloc_alwaysinternal_limit = -1;

/* The word before an IRAM-alias pointer holds the data-side pointer. */
#define ALIAS_WORD sizeof(void *)

void heapcaps_heap_caps_reset_settings(void)
{
    alloc_failed_callback = NULL;
    abort_when_allocation_fails = CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS;
    malloc_alwaysinternal_limit = -1;
    heapcaps_monitor_reset();
}

bool heapcaps_set_abort_on_alloc_failure(bool abort_on_failure)
{
    bool previous = abort_when_allocation_fails;
    abort_when_allocation_fails = abort_on_failure;
    return previous;
}

esp_err_t heap_caps_register_failed_alloc_callback(esp_alloc_failed_hook_t callback)
{
    if (!callback) {
        return ESP_ERR_INVALID_ARG;
    }
    alloc_failed_callback = callback;
    return ESP_OK;
}

/* "Mem alloc fail. size 0x%08x caps 0x%08x", lower-case hex by hand. */
static void format_failure(char out[48], size_t size, uint32_t caps)
{
    static const char digits[] = "0123456789abcdef";
    static const char text[] = "Mem alloc fail. size 0x00000000 caps 0x00000000";
    memcpy(out, text, sizeof(text));
    for (int i = 0; i < 8; ++i) {
        out[23 + i] = digits[((uint32_t)size >> (28 - 4 * i)) & 0xF];
        out[39 + i] = digits[(caps >> (28 - 4 * i)) & 0xF];
    }
}

TLSF_COLD static void alloc_failed(size_t size, uint32_t caps, const char *function_name)
{
    if (alloc_failed_callback) {
        alloc_failed_callback(size, caps, function_name);
    }
    if (abort_when_allocation_fails) {
        char message[48];
        format_failure(message, size, caps);
        heapcaps_port_abort(message);
    }
}

/* ---- the D/IRAM (and RTC) alias of EXEC allocations ------------------ */

static const heapcaps_layout_t *layout_with_soc(void)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    return layout && layout->soc ? layout : NULL;
}

/* The IRAM word that will precede the pointer returned for data pointer d
 * of an allocation of `size` (a multiple of 4) with one alias word. */
static void *alias_word_for(const heapcaps_layout_t *layout, int alias, uintptr_t d, size_t size)
{
    const heapcaps_soc_t *soc = layout->soc;
    intptr_t chip_d = heapcaps_layout_to_chip(layout, (intptr_t)d);
    intptr_t iram;
    if (alias == HEAP_ALIAS_DIRAM && soc->diram_inverted) {
        /* Reversed byte order between the buses: the alias of the last word. */
        intptr_t chip_end = chip_d + (intptr_t)size;
        iram = (intptr_t)soc->diram_iram_low + ((intptr_t)soc->diram_dram_high - chip_end) -
               (intptr_t)ALIAS_WORD;
    } else if (alias == HEAP_ALIAS_DIRAM) {
        iram = (intptr_t)soc->diram_iram_low + (chip_d - (intptr_t)soc->diram_dram_low);
    } else {
        iram = (intptr_t)soc->rtc_iram_low + (chip_d - (intptr_t)soc->rtc_dram_low);
    }
    return (void *)heapcaps_layout_to_host(layout, iram);
}

void *heapcaps_alias_data(const void *p)
{
    void *data;
    heapcaps_copy(&data, (const char *)p - ALIAS_WORD, ALIAS_WORD);
    return data;
}

size_t heapcaps_alias_usable(heap_t *heap, const void *data, const void *p)
{
    const heapcaps_layout_t *layout = layout_with_soc();
    if (heap->alias == HEAP_ALIAS_DIRAM && layout && layout->soc->diram_inverted) {
        /* Reversed words: what lies behind p ends where the block's first
         * data word appears, i.e. the size that was asked for. */
        const heapcaps_soc_t *soc = layout->soc;
        return (size_t)((intptr_t)soc->diram_iram_low + (intptr_t)soc->diram_dram_high -
                        heapcaps_layout_to_chip(layout, (intptr_t)data) -
                        heapcaps_layout_to_chip(layout, (intptr_t)p));
    }
    return multi_heap_get_allocated_size(heap->heap, (char *)data - HEAP_OWNER_WORD) -
           HEAP_OWNER_WORD - ALIAS_WORD;
}

/* If p is an IRAM-alias pointer, the data-side pointer stored before it. */
static inline void *alias_to_data(void *p, bool *was_alias)
{
    *was_alias = heapcaps_is_alias(p);
    return *was_alias ? heapcaps_alias_data(p) : p;
}

/* ---- allocation ------------------------------------------------------- */

/* A heap handed out `block`: tell the debugging layers (task tracking
 * writes the owner word) and give the caller the memory after the owner word. */
TLSF_HOT void *handed_out(heap_t *heap, void *block, size_t size, uint32_t caps)
{
    void *user = (char *)block + HEAP_OWNER_WORD;
    heapcaps_heap_allocated(heap, block, user, size, caps);
    return user;
}

/* An EXEC allocation from a heap whose memory executes through an IRAM
 * alias: one more word, which records the data-side address. */
TLSF_COLD static void *alloc_through_alias(heap_t *heap, size_t size, uint32_t caps)
{
    const heapcaps_layout_t *layout = layout_with_soc();
    char *block = heapcaps_mh_malloc(heap->heap, size + HEAP_OWNER_WORD + ALIAS_WORD);
    if (!block) {
        return NULL;
    }
    uintptr_t d = (uintptr_t)block + HEAP_OWNER_WORD;
    char *word = alias_word_for(layout, heap->alias, d, size);
    /* On ESP32's reversed alias the word is only 4-byte aligned. */
    heapcaps_copy(word, &d, ALIAS_WORD);
    void *user = word + ALIAS_WORD;
    heapcaps_heap_allocated(heap, block, user, size, caps);
    return user;
}

/* Try one heap: plain or aligned, with the EXEC alias where it applies. An
 * aligned EXEC request is not served through an alias (the alias word before
 * the code would need the alignment on the instruction side): heaps that
 * execute at their own addresses serve it, or it fails. */
TLSF_HOT void *alloc_from(heap_t *heap, size_t size, size_t alignment, uint32_t caps)
{
    if (TLSF_UNLIKELY((caps & MALLOC_CAP_EXEC) && heap->alias != HEAP_ALIAS_NONE)) {
        return alignment <= 4 ? alloc_through_alias(heap, size, caps) : NULL;
    }
    void *block = alignment <= 4 ? heapcaps_mh_malloc(heap->heap, size + HEAP_OWNER_WORD)
                                 : multi_heap_aligned_alloc_offs(heap->heap, size + HEAP_OWNER_WORD,
                                                                 alignment, HEAP_OWNER_WORD);
    return block ? handed_out(heap, block, size, caps) : NULL;
}

/* Without a cached route: the same order, by priority level over the list. */
TLSF_COLD static void *alloc_uncached(size_t size, size_t alignment, uint32_t caps)
{
    for (int prio = 0; caps && prio < SOC_MEMORY_TYPE_NO_PRIOS; ++prio) {
        for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
            if (heap_matches(heap, caps) && (heap->caps[prio] & caps)) {
                void *p = alloc_from(heap, size, alignment, caps);
                if (p) {
                    return p;
                }
            }
        }
    }
    return NULL;
}

/* The allocation core once the request is adjusted to the hardware. */
TLSF_HOT void *alloc_core(size_t alignment, size_t size, uint32_t caps)
{
    if (size - 1 >= heapcaps_fast.size_limit) {
        return NULL; /* 0, or more than any heap of the chip can hold */
    }
    if (caps & (MALLOC_CAP_EXEC | MALLOC_CAP_32BIT)) {
        if (caps & MALLOC_CAP_EXEC) {
            if (caps & (MALLOC_CAP_8BIT | MALLOC_CAP_DMA)) {
                return NULL;
            }
            caps |= MALLOC_CAP_32BIT;
        }
        size = (size + 3) & ~(size_t)3;
    }
    const heap_route_t *route = heapcaps_route(caps);
    if (TLSF_UNLIKELY(!route)) {
        return alloc_uncached(size, alignment, caps);
    }
    for (uint32_t i = 0; i < route->count; ++i) {
        void *p = alloc_from(route->heaps[i], size, alignment, caps);
        if (p) {
            return p;
        }
    }
    return NULL;
}

#define HW_ALIGNED_CAPS                                                                            \
    (MALLOC_CAP_DMA | MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI |                          \
     MALLOC_CAP_CACHE_ALIGNED | MALLOC_CAP_SIMD)

TLSF_COLD static void *alloc_hw_aligned(size_t alignment, size_t size, uint32_t caps)
{
    heapcaps_adjust_alignment_to_hw(&alignment, &size, &caps);
    return alloc_core(alignment, size, caps);
}

TLSF_HOT void *alloc_base(size_t alignment, size_t size, uint32_t caps)
{
    if (caps & HW_ALIGNED_CAPS) {
        return alloc_hw_aligned(alignment, size, caps);
    }
    return alloc_core(alignment, size, caps);
}

/* The bits that need more than "try the route's heaps in order". */
#define SPECIAL_CAPS (HW_ALIGNED_CAPS | MALLOC_CAP_EXEC | MALLOC_CAP_32BIT)

TLSF_COLD static void *alloc_plain_rest(const heap_route_t *route, size_t size, uint32_t caps)
{
    if (!route) {
        return alloc_uncached(size, 4, caps);
    }
    for (uint32_t i = 1; i < route->count; ++i) {
        void *p = multi_heap_malloc(route->heaps[i]->heap, size + HEAP_OWNER_WORD);
        if (p) {
            return handed_out(route->heaps[i], p, size, caps);
        }
    }
    return NULL;
}

/* malloc with no special caps: the first heap of the route almost always
 * serves it, so that is tried first with as little as possible around it. */
TLSF_HOT void *alloc_plain(size_t size, uint32_t caps)
{
    if (TLSF_UNLIKELY(caps & SPECIAL_CAPS)) {
        return alloc_base(4, size, caps);
    }
    if (size - 1 >= heapcaps_fast.size_limit) {
        return NULL;
    }
    const heap_route_t *route = heapcaps_route(caps);
    if (TLSF_UNLIKELY(!route || !route->count)) {
        return route ? NULL : alloc_plain_rest(route, size, caps);
    }
    void *p = heapcaps_mh_malloc(route->heaps[0]->heap, size + HEAP_OWNER_WORD);
    if (TLSF_UNLIKELY(!p)) {
        return alloc_plain_rest(route, size, caps);
    }
    return handed_out(route->heaps[0], p, size, caps);
}

static void *calloc_untraced(size_t n, size_t size, uint32_t caps)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        return NULL;
    }
    void *p = alloc_base(4, bytes, caps);
    if (p) {
        memset(p, 0, bytes);
    }
    return p;
}

/* ---- free ------------------------------------------------------------- */

TLSF_COLD _Noreturn static void outside_heaps(const char *function, const char *what)
{
    heapcaps_port_printf("assert failed: %s heap_caps.c (heap != NULL && \"%s\")\n", function,
                         what);
    heapcaps_port_abort("pointer outside heap areas");
}

/* The data-side block and heap of IRAM-alias pointer ptr; stop when ptr
 * is in no heap at all. */
TLSF_COLD static void *alias_block_or_abort(void *ptr, heap_t **heap)
{
    void *block = NULL;
    *heap = NULL;
    if (heapcaps_is_alias(ptr)) {
        block = heapcaps_block_of(heapcaps_alias_data(ptr));
        *heap = heapcaps_find_heap(block);
    }
    if (!*heap) {
        outside_heaps("heap_caps_free", "free() target pointer is outside heap areas");
    }
    return block;
}

/* heap_caps_free() without its trace record (realloc frees this way). */
TLSF_HOT void free_untraced(void *ptr)
{
    void *block = (char *)ptr - HEAP_OWNER_WORD;
    heap_t *heap = heapcaps_find_heap(block);
    if (TLSF_UNLIKELY(!heap)) {
        /* No heap holds an IRAM alias address: only then is it looked at. */
        block = alias_block_or_abort(ptr, &heap);
    }
    heapcaps_task_track_free(heap, block, ptr);
    heapcaps_heap_freeing(heap, block);
    heapcaps_mh_free(heap->heap, block);
    heapcaps_hook_free(ptr);
}

/* ---- realloc ---------------------------------------------------------- */

static void *realloc_untraced(void *ptr, size_t size, uint32_t caps)
{
    size_t alignment = 4;
    if (caps & HW_ALIGNED_CAPS) {
        heapcaps_adjust_alignment_to_hw(&alignment, &size, &caps);
    }
    if (!ptr) {
        return alloc_base(alignment, size, caps);
    }
    if (!size) {
        free_untraced(ptr);
        return NULL;
    }
    if (size > heapcaps_fast.size_limit) {
        return NULL;
    }
    bool was_alias;
    void *data = alias_to_data(ptr, &was_alias);
    void *block = heapcaps_block_of(data);
    heap_t *heap = heapcaps_find_heap(block);
    if (!heap) {
        outside_heaps("heap_caps_realloc_base", "realloc() pointer is outside heap areas");
    }
    if (HEAPCAPS_REALLOC_IN_HEAP && !was_alias && (heap->all_caps & caps) == caps &&
        alignment <= 4) {
        heapcaps_task_track_hold();
        void *resized = multi_heap_realloc(heap->heap, block, size + HEAP_OWNER_WORD);
        void *user = resized ? (char *)resized + HEAP_OWNER_WORD : NULL;
        if (resized) {
            heapcaps_task_track_realloc(heap, ptr, resized, user);
        }
        heapcaps_task_track_release();
        if (resized) {
            heapcaps_hook_alloc(user, size, caps);
            return user;
        }
    }
    void *moved = alloc_base(alignment, size, caps);
    if (!moved) {
        return NULL;
    }
    size_t old = was_alias ? heapcaps_alias_usable(heap, data, ptr)
                           : multi_heap_get_allocated_size(heap->heap, block) - HEAP_OWNER_WORD;
    heapcaps_copy(moved, ptr, size < old ? size : old);
    free_untraced(ptr);
    return moved;
}

/* ---- the traced entry points -------------------------------------------
 * Each public function passes its own return address, so a trace record
 * names the caller of the public API however the calls nest inside. */

TLSF_HOT void *malloc_traced(size_t size, uint32_t caps, void *caller)
{
    uint32_t timestamp = heapcaps_trace_timestamp();
    void *p = alloc_plain(size, caps);
    if (p) {
        heapcaps_trace_alloc(p, size, timestamp, caller);
    }
    return p;
}

static void *aligned_traced(size_t alignment, size_t size, uint32_t caps, void *caller)
{
    uint32_t timestamp = heapcaps_trace_timestamp();
    void *p = alloc_base(alignment, size, caps);
    if (p) {
        heapcaps_trace_alloc(p, size, timestamp, caller);
    }
    return p;
}

static void *calloc_traced(size_t n, size_t size, uint32_t caps, void *caller)
{
    uint32_t timestamp = heapcaps_trace_timestamp();
    void *p = calloc_untraced(n, size, caps);
    if (p) {
        heapcaps_trace_alloc(p, n * size, timestamp, caller);
    }
    return p;
}

/* A realloc is traced as the free of the old pointer and the allocation of
 * the result, and only when it took effect: a failed realloc leaves the
 * old block alive and its record too. The tracer's lock is held from
 * before the call until both records are made: a block that moved gives its
 * old address back inside the call, and another task's allocation there
 * must be recorded after the old block's free, not taken for it. */
static void *realloc_traced(void *ptr, size_t size, uint32_t caps, void *caller)
{
    uint32_t timestamp = heapcaps_trace_timestamp();
    if (ptr && !size) {
        /* A free: traced before the block goes back, as heap_caps_free does. */
        heapcaps_trace_free(ptr, caller);
        return realloc_untraced(ptr, 0, caps);
    }
    bool held = ptr && heapcaps_trace_hold();
    void *p = realloc_untraced(ptr, size, caps);
    if (ptr && p) {
        heapcaps_trace_free(ptr, caller);
    }
    if (p) {
        heapcaps_trace_alloc(p, size, timestamp, caller);
    }
    heapcaps_trace_release(held);
    return p;
}

TLSF_HOT void free_traced(void *ptr, void *caller)
{
    if (ptr) {
        heapcaps_trace_free(ptr, caller);
        free_untraced(ptr);
    }
}

TLSF_ENTRY void *heap_caps_malloc_base(size_t size, uint32_t caps)
{
    return malloc_traced(size, caps, HEAPCAPS_TRACE_CALLER());
}

void *heap_caps_aligned_alloc_base(size_t alignment, size_t size, uint32_t caps)
{
    return aligned_traced(alignment, size, caps, HEAPCAPS_TRACE_CALLER());
}

void *heap_caps_calloc_base(size_t n, size_t size, uint32_t caps)
{
    return calloc_traced(n, size, caps, HEAPCAPS_TRACE_CALLER());
}

void *heap_caps_realloc_base(void *ptr, size_t size, uint32_t caps)
{
    return realloc_traced(ptr, size, caps, HEAPCAPS_TRACE_CALLER());
}

TLSF_ENTRY void heap_caps_free(void *ptr)
{
    free_traced(ptr, HEAPCAPS_TRACE_CALLER());
}

void heap_caps_aligned_free(void *ptr)
{
    free_traced(ptr, HEAPCAPS_TRACE_CALLER());
}

/* ---- the public allocation functions ----------------------------------- */

TLSF_HOT void *malloc_reporting(size_t size, uint32_t caps, void *caller, const char *function)
{
    void *p = malloc_traced(size, caps, caller);
    if (!p && size) {
        alloc_failed(size, caps, function);
    }
    return p;
}

TLSF_ENTRY void *heap_caps_malloc(size_t size, uint32_t caps)
{
    return malloc_reporting(size, caps, HEAPCAPS_TRACE_CALLER(), __func__);
}

void *heap_caps_calloc(size_t n, size_t size, uint32_t caps)
{
    void *p = calloc_traced(n, size, caps, HEAPCAPS_TRACE_CALLER());
    if (!p && size) {
        alloc_failed(n * size, caps, __func__);
    }
    return p;
}

static void *realloc_reporting(void *ptr, size_t size, uint32_t caps, void *caller,
                               const char *function)
{
    void *p = realloc_traced(ptr, size, caps, caller);
    if (!p && size) {
        alloc_failed(size, caps, function);
    }
    return p;
}

void *heap_caps_realloc(void *ptr, size_t size, uint32_t caps)
{
    return realloc_reporting(ptr, size, caps, HEAPCAPS_TRACE_CALLER(), __func__);
}

/* ---- aligned ---------------------------------------------------------- */

static void *aligned_reporting(size_t alignment, size_t size, uint32_t caps, void *caller,
                               const char *function)
{
    if (!alignment || (alignment & (alignment - 1)) || !size) {
        return NULL;
    }
    void *p =
        size > heapcaps_fast.size_limit ? NULL : aligned_traced(alignment, size, caps, caller);
    if (!p) {
        alloc_failed(size, caps, function);
    }
    return p;
}

void *heap_caps_aligned_alloc(size_t alignment, size_t size, uint32_t caps)
{
    return aligned_reporting(alignment, size, caps, HEAPCAPS_TRACE_CALLER(), __func__);
}

void *heap_caps_aligned_calloc(size_t alignment, size_t n, size_t size, uint32_t caps)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        return NULL;
    }
    void *p = aligned_reporting(alignment, bytes, caps, HEAPCAPS_TRACE_CALLER(),
                                "heap_caps_aligned_alloc");
    if (p) {
        memset(p, 0, bytes);
    }
    return p;
}

/* ---- preference lists -------------------------------------------------- */

void *heap_caps_malloc_prefer(size_t size, size_t num, ...)
{
    void *caller = HEAPCAPS_TRACE_CALLER();
    va_list list;
    va_start(list, num);
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    while (num-- && size) {
        caps = va_arg(list, uint32_t);
        p = aligned_traced(4, size, caps, caller);
        if (p) {
            break;
        }
    }
    va_end(list);
    if (!p && size) {
        alloc_failed(size, caps, __func__);
    }
    return p;
}

void *heap_caps_realloc_prefer(void *ptr, size_t size, size_t num, ...)
{
    void *caller = HEAPCAPS_TRACE_CALLER();
    va_list list;
    va_start(list, num);
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    while (num--) {
        caps = va_arg(list, uint32_t);
        p = realloc_traced(ptr, size, caps, caller);
        if (p || !size) {
            break;
        }
    }
    va_end(list);
    if (!p && size) {
        alloc_failed(size, caps, __func__);
    }
    return p;
}

void *heap_caps_calloc_prefer(size_t n, size_t size, size_t num, ...)
{
    void *caller = HEAPCAPS_TRACE_CALLER();
    va_list list;
    va_start(list, num);
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    while (num-- && size) {
        caps = va_arg(list, uint32_t);
        p = calloc_traced(n, size, caps, caller);
        if (p) {
            break;
        }
    }
    va_end(list);
    if (!p && size) {
        alloc_failed(size, caps, __func__);
    }
    return p;
}

/* ---- the malloc() policy ----------------------------------------------- */

void heap_caps_malloc_extmem_enable(size_t limit)
{
    malloc_alwaysinternal_limit = (int)limit;
}

/* First choice of the malloc() policy for a request of `size` bytes. */
static uint32_t preferred_caps(size_t size)
{
    if (malloc_alwaysinternal_limit < 0 || size <= (size_t)malloc_alwaysinternal_limit) {
        return MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL;
    }
    return MALLOC_CAP_DEFAULT | MALLOC_CAP_SPIRAM;
}

void *heap_caps_malloc_default(size_t size)
{
    void *caller = HEAPCAPS_TRACE_CALLER();
    if (malloc_alwaysinternal_limit < 0) {
        return malloc_reporting(size, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, caller,
                                "heap_caps_malloc");
    }
    void *p = aligned_traced(4, size, preferred_caps(size), caller);
    if (!p && size) {
        p = aligned_traced(4, size, MALLOC_CAP_DEFAULT, caller);
        if (!p) {
            alloc_failed(size, MALLOC_CAP_DEFAULT, __func__);
        }
    }
    return p;
}

void *heap_caps_realloc_default(void *ptr, size_t size)
{
    void *caller = HEAPCAPS_TRACE_CALLER();
    if (malloc_alwaysinternal_limit < 0) {
        return realloc_reporting(ptr, size, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, caller,
                                 "heap_caps_realloc");
    }
    void *p = realloc_traced(ptr, size, preferred_caps(size), caller);
    if (!p && size) {
        p = realloc_traced(ptr, size, MALLOC_CAP_DEFAULT, caller);
        if (!p) {
            alloc_failed(size, MALLOC_CAP_DEFAULT, __func__);
        }
    }
    return p;
}

void *heap_caps_aligned_alloc_default(size_t alignment, size_t size)
{
    void *caller = HEAPCAPS_TRACE_CALLER();
    if (malloc_alwaysinternal_limit < 0) {
        return aligned_reporting(alignment, size, MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, caller,
                                 "heap_caps_aligned_alloc");
    }
    if (!alignment || (alignment & (alignment - 1)) || !size) {
        return NULL;
    }
    if (size > heapcaps_fast.size_limit) {
        alloc_failed(size, MALLOC_CAP_DEFAULT, __func__);
        return NULL;
    }
    void *p = aligned_traced(alignment, size, preferred_caps(size), caller);
    if (!p) {
        p = aligned_traced(alignment, size, MALLOC_CAP_DEFAULT, caller);
    }
    if (!p) {
        alloc_failed(size, MALLOC_CAP_DEFAULT, __func__);
    }
    return p;
}
