/*
 * heap_caps_debug.h — where heap_caps tells the debugging layers about
 * allocations and frees. Each event is an empty inline function unless its
 * layer is configured (heapcaps/config.h), so a build without debugging
 * features pays nothing for them.
 *
 * Two levels, as in ESP-IDF:
 * - heap events (heap_*): one per block a heap hands out or takes back, with
 *   the heap, the block multi_heap returned and the pointer the caller sees.
 *   Task tracking (owner word, statistics), the user hooks and the sanitizer
 *   view live here; realloc's internal allocation and free are events too.
 * - call events (trace_*): one per public allocation call, with the size the
 *   caller asked for and the caller's address. Heap tracing lives here, so a
 *   realloc is traced as the free of the old pointer and one allocation,
 *   whatever it does inside.
 *
 * Private to the library.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_HEAP_CAPS_DEBUG_H
#define HEAPCAPS_HEAP_CAPS_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "heap_caps_internal.h"
#include "heapcaps/config.h"

/* ---- task tracking (heap_task_tracking.c) ------------------------------ */
#ifdef CONFIG_HEAP_TASK_TRACKING
/* block: what multi_heap returned, starting with the owner word; user: the
 * pointer returned to the caller. Writes the owner word. */
void heapcaps_task_track_alloc(heap_t *heap, void *block, void *user);
/* Before the block goes back to its heap; the owner word is still intact. */
void heapcaps_task_track_free(heap_t *heap, void *block, void *user);
/* After multi_heap_realloc() moved or resized old_user's block in `heap` to
 * block/user (the owner word was carried over). */
void heapcaps_task_track_realloc(heap_t *heap, void *old_user, void *block, void *user);
/* Forget every statistic (a reboot: the heaps' memory is not touched). */
void heapcaps_task_tracking_reset(void);
/* Hold the tracker's (recursive) lock across a realloc inside a heap, which
 * may give the old address back before heapcaps_task_track_realloc() takes
 * its record off: no other task's allocation there is charged meanwhile. */
void heapcaps_task_track_hold(void);
void heapcaps_task_track_release(void);
#else
static inline void heapcaps_task_track_hold(void)
{
}
static inline void heapcaps_task_track_release(void)
{
}
static inline void heapcaps_task_track_alloc(heap_t *heap, void *block, void *user)
{
    (void)heap, (void)block, (void)user;
}
static inline void heapcaps_task_track_free(heap_t *heap, void *block, void *user)
{
    (void)heap, (void)block, (void)user;
}
static inline void heapcaps_task_track_realloc(heap_t *heap, void *old_user, void *block,
                                               void *user)
{
    (void)heap, (void)old_user, (void)block, (void)user;
}
static inline void heapcaps_task_tracking_reset(void)
{
}
#endif

/* ---- sanitizer view (sanitizer_view.c) --------------------------------- */
#ifdef HEAPCAPS_SANITIZER_VIEW
/* user: the caller's pointer, size: the bytes asked for (after rounding). */
void heapcaps_view_alloc(void *user, size_t size);
/* Before the block goes back: block and its full size (multi_heap's view). */
void heapcaps_view_free(void *block, size_t block_size);
/* A heap was registered over [start, start + size): all of it is the
 * allocator's (inaccessible to the program) until blocks are handed out. */
void heapcaps_view_heap_added(void *start, size_t size);
/* The registry is being reset (boot, shutdown): every heap's memory becomes
 * plain memory again and the blocks are forgotten. */
void heapcaps_view_reset(void);
#else
static inline void heapcaps_view_alloc(void *user, size_t size)
{
    (void)user, (void)size;
}
static inline void heapcaps_view_free(void *block, size_t block_size)
{
    (void)block, (void)block_size;
}
static inline void heapcaps_view_heap_added(void *start, size_t size)
{
    (void)start, (void)size;
}
static inline void heapcaps_view_reset(void)
{
}
#endif

/* ---- allocation and free hooks (user-provided, weak) ------------------- */
#ifdef CONFIG_HEAP_USE_HOOKS
void esp_heap_trace_alloc_hook(void *ptr, size_t size, uint32_t caps) __attribute__((weak));
void esp_heap_trace_free_hook(void *ptr) __attribute__((weak));
static inline void heapcaps_hook_alloc(void *user, size_t size, uint32_t caps)
{
    if (esp_heap_trace_alloc_hook) {
        esp_heap_trace_alloc_hook(user, size, caps);
    }
}
static inline void heapcaps_hook_free(void *user)
{
    if (esp_heap_trace_free_hook) {
        esp_heap_trace_free_hook(user);
    }
}
#else
static inline void heapcaps_hook_alloc(void *user, size_t size, uint32_t caps)
{
    (void)user, (void)size, (void)caps;
}
static inline void heapcaps_hook_free(void *user)
{
    (void)user;
}
#endif

/* ---- heap tracing (heap_trace_standalone.c) ---------------------------- */
#ifdef CONFIG_HEAP_TRACING_STANDALONE
/* The time stamp of a record, taken before the allocation. */
uint32_t heapcaps_trace_timestamp(void);
/* A successful allocation of `size` bytes (as asked) at p, made by a call
 * that returns to `caller`. */
void heapcaps_trace_alloc(void *p, size_t size, uint32_t timestamp, void *caller);
/* A free (or the old pointer of a realloc) of non-NULL p. */
void heapcaps_trace_free(void *p, void *caller);
/* Forget the buffer, state and counters (a reboot of the emulated chip). */
void heapcaps_trace_reset(void);
/* While tracing records: hold the tracer's (recursive) lock and return true,
 * so that a realloc's records are made before another task can record an
 * allocation at the address it gave back. */
bool heapcaps_trace_hold(void);
/* Release what heapcaps_trace_hold() returned true for. */
void heapcaps_trace_release(bool held);
#define HEAPCAPS_TRACE_CALLER() __builtin_return_address(0)
#else
static inline bool heapcaps_trace_hold(void)
{
    return false;
}
static inline void heapcaps_trace_release(bool held)
{
    (void)held;
}
static inline void heapcaps_trace_reset(void)
{
}
static inline uint32_t heapcaps_trace_timestamp(void)
{
    return 0;
}
static inline void heapcaps_trace_alloc(void *p, size_t size, uint32_t timestamp, void *caller)
{
    (void)p, (void)size, (void)timestamp, (void)caller;
}
static inline void heapcaps_trace_free(void *p, void *caller)
{
    (void)p, (void)caller;
}
#define HEAPCAPS_TRACE_CALLER() ((void *)0)
#endif

/* ---- the events heap_caps.c raises ------------------------------------ */

/* A heap handed out `block`; the caller gets `user`. */
static inline void heapcaps_heap_allocated(heap_t *heap, void *block, void *user, size_t size,
                                           uint32_t caps)
{
    heapcaps_task_track_alloc(heap, block, user);
    heapcaps_view_alloc(user, size);
    heapcaps_hook_alloc(user, size, caps);
}

/* `block` of `heap` is about to go back to it. */
static inline void heapcaps_heap_freeing(heap_t *heap, void *block)
{
#ifdef HEAPCAPS_SANITIZER_VIEW
    heapcaps_view_free(block, multi_heap_get_full_block_size(heap->heap, block));
#else
    (void)heap, (void)block;
#endif
}

/* Whether heap_caps_realloc() may resize within the heap (multi_heap_realloc).
 * The sanitizer view moves every realloc, as AddressSanitizer's own realloc
 * does, so that the old block is seen freed and the new one allocated. */
#ifdef HEAPCAPS_SANITIZER_VIEW
#define HEAPCAPS_REALLOC_IN_HEAP 0
#else
#define HEAPCAPS_REALLOC_IN_HEAP 1
#endif

#endif /* HEAPCAPS_HEAP_CAPS_DEBUG_H */
