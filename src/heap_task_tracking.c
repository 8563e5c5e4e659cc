/*
 * heap_task_tracking.c — per-task heap statistics (CONFIG_HEAP_TASK_TRACKING):
 * the owner word of every heap_caps block, what each task holds in each heap,
 * the esp_heap_task_info.h API and its printouts (docs/task_tracking.md).
 *
 * State, under one recursive port lock:
 * - the tasks, sorted by descending handle (so the pseudo-task of allocations
 *   made without a task, handle NULL, comes last). A handle can appear more
 *   than once: a task that ended and was kept, and a later task the platform
 *   gave the same handle; the live one comes first;
 * - per task, the heaps it allocated from, in order of first use;
 * - per task and heap, its live allocations in allocation order, each one
 *   also in a hash table keyed by address, so that a free finds its record
 *   in constant time whatever the number of allocations.
 * A free or realloc takes the record of the block's owner (the owner word),
 * which may be another task than the one freeing; a block without a record
 * (allocated while tracking was out of memory, or whose owner's statistics
 * were dropped) changes nothing, so no counter can go below zero.
 *
 * The tracker's own memory is the port's (heapcaps_port_meta_alloc: the
 * host's allocator on a host), not a chip heap's: it is neither tracked nor
 * traced, and the heap figures do not move when tracking allocates.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* The print functions are defined by the API on a stdio FILE
 * (esp_heap_task_info.h), so this file prints with fprintf: the one place in
 * src/ outside the port that uses stdio. */
#include <stdio.h>
#include <string.h>

#include "esp_heap_task_info.h"
#include "heap_caps_debug.h"
#include "heap_caps_internal.h"
#include "heapcaps/lock.h"
#include "mem_ops.h"
#include "multi_heap_ops.h"
#include "port/port.h"

#define TAG "heap_task_tracking"

/* Name of the pseudo-task that owns allocations made without a task. */
#define PRE_SCHEDULER_NAME "Pre-scheduler"

/* Buckets of the record table at first use; it doubles when full. */
#define FIRST_BUCKETS ((size_t)64)

_Static_assert(HEAP_OWNER_WORD == sizeof(void *), "the owner word holds a task handle");

/* ------------------------------------------------------------------ types */

struct heap_entry;

/* One live allocation of a task in a heap. */
typedef struct record {
    struct record *prev, *next; /* in its heap entry, allocation order */
    struct record *chain;       /* next in its hash bucket */
    struct heap_entry *entry;   /* the task and heap it is charged to */
    void *address;              /* the pointer the caller got */
    uint32_t size;              /* full block size */
} record_t;

struct task_entry;

/* What one task holds in one heap. */
typedef struct heap_entry {
    struct heap_entry *next; /* the task's heaps, order of first use */
    struct task_entry *task;
    heap_t *heap;
    size_t current, peak, alloc_count;
    record_t *first, *last;
} heap_entry_t;

/* One task. */
typedef struct task_entry {
    struct task_entry *next; /* descending handle */
    void *handle;
    char name[configMAX_TASK_NAME_LEN];
    bool alive;
    size_t current, peak, heap_count;
    heap_entry_t *heaps, *last_heap;
} task_entry_t;

static struct {
    task_entry_t *tasks;
    size_t task_count, heap_count, record_count;
    record_t **buckets;  /* NULL until the first record */
    size_t bucket_count; /* a power of two, or 0 */
    bool busy;           /* the lock holder is inside the tracker */
} state;

/* ------------------------------------------------------------------- lock */

static heapcaps_lock_t tracking_lock;
static atomic_int lock_ready; /* 0: not set up, 1: being set up, 2: ready */

static void lock_take(void)
{
    if (atomic_load_explicit(&lock_ready, memory_order_acquire) != 2) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&lock_ready, &expected, 1)) {
            heapcaps_lock_init(&tracking_lock);
            atomic_store_explicit(&lock_ready, 2, memory_order_release);
        } else {
            while (atomic_load_explicit(&lock_ready, memory_order_acquire) != 2) {
            }
        }
    }
    heapcaps_port_lock(&tracking_lock);
}

static void lock_give(void)
{
    heapcaps_port_unlock(&tracking_lock);
}

/* Take the lock unless this thread is already inside the tracker (an
 * allocation made on the tracker's behalf, e.g. by the stdio it prints
 * with): then the nested event is not tracked and false is returned. */
static bool enter(void)
{
    lock_take();
    if (state.busy) {
        lock_give();
        return false;
    }
    state.busy = true;
    return true;
}

static void leave(void)
{
    state.busy = false;
    lock_give();
}

/* ---------------------------------------------------------------- storage */

/* The tracker's memory comes from the port's own memory, not from a chip
 * heap, so that tracking does not change the heap figures it reports on
 * (the owner word aside). Every block is on one list, so that a reboot of
 * the emulated chip gives all of it back. */
typedef struct storage_block {
    struct storage_block *prev, *next;
    max_align_t align[]; /* what follows is aligned for anything */
} storage_block_t;

static storage_block_t *storage_blocks;

static void *storage_alloc(size_t bytes)
{
    if (bytes > SIZE_MAX - sizeof(storage_block_t)) {
        return NULL;
    }
    storage_block_t *block = heapcaps_port_meta_alloc(sizeof(storage_block_t) + bytes);
    if (!block) {
        return NULL;
    }
    lock_take();
    block->prev = NULL;
    block->next = storage_blocks;
    if (storage_blocks) {
        storage_blocks->prev = block;
    }
    storage_blocks = block;
    lock_give();
    return block + 1;
}

static void storage_free(void *p)
{
    if (!p) {
        return;
    }
    storage_block_t *block = (storage_block_t *)p - 1;
    lock_take();
    if (block->prev) {
        block->prev->next = block->next;
    } else {
        storage_blocks = block->next;
    }
    if (block->next) {
        block->next->prev = block->prev;
    }
    lock_give();
    heapcaps_port_meta_free(block);
}

static void out_of_memory(void)
{
    heapcaps_port_log('E', TAG, "Could not allocate memory to add new task statistics");
}

/* ----------------------------------------------------------- record table */

static size_t bucket_of(const void *address, size_t bucket_count)
{
    uintptr_t a = (uintptr_t)address >> 2;
    a ^= a >> 15;
    a *= (uintptr_t)0x9E3779B1u;
    a ^= a >> 13;
    return (size_t)a & (bucket_count - 1);
}

/* Room for one more record; false only when there is no table at all. */
static bool table_reserve(void)
{
    if (state.record_count < state.bucket_count) {
        return true;
    }
    size_t count = state.bucket_count ? state.bucket_count * 2 : FIRST_BUCKETS;
    record_t **buckets =
        count <= SIZE_MAX / sizeof(record_t *) ? storage_alloc(count * sizeof(record_t *)) : NULL;
    if (!buckets) {
        return state.buckets != NULL; /* longer chains, still correct */
    }
    memset(buckets, 0, count * sizeof(record_t *));
    for (size_t i = 0; i < state.bucket_count; ++i) {
        record_t *r = state.buckets[i];
        while (r) {
            record_t *next = r->chain;
            size_t b = bucket_of(r->address, count);
            r->chain = buckets[b];
            buckets[b] = r;
            r = next;
        }
    }
    storage_free(state.buckets);
    state.buckets = buckets;
    state.bucket_count = count;
    return true;
}

/* The record of `address` charged to a task with handle `owner`. */
static record_t *table_find(const void *address, const void *owner)
{
    if (!state.bucket_count) {
        return NULL;
    }
    for (record_t *r = state.buckets[bucket_of(address, state.bucket_count)]; r; r = r->chain) {
        if (r->address == address && r->entry->task->handle == owner) {
            return r;
        }
    }
    return NULL;
}

static void table_remove(record_t *record)
{
    record_t **link = &state.buckets[bucket_of(record->address, state.bucket_count)];
    while (*link != record) {
        link = &(*link)->chain;
    }
    *link = record->chain;
}

/* ------------------------------------------------------------ bookkeeping */

/* First task with this handle; only a live one if alive_only. The live
 * entry of a handle comes before the ended ones. */
static task_entry_t *task_find(const void *handle, bool alive_only)
{
    for (task_entry_t *t = state.tasks; t; t = t->next) {
        if ((uintptr_t)t->handle < (uintptr_t)handle) {
            break;
        }
        if (t->handle == handle && (t->alive || !alive_only)) {
            return t;
        }
    }
    return NULL;
}

static void task_ended(void *task);

/* The live entry of the running task, made at its first allocation. */
static task_entry_t *task_of_current(void *handle)
{
    task_entry_t *task = task_find(handle, true);
    if (task) {
        return task;
    }
    task = storage_alloc(sizeof(*task));
    if (!task) {
        out_of_memory();
        return NULL;
    }
    memset(task, 0, sizeof(*task));
    task->handle = handle;
    task->alive = true;
    if (handle) {
        heapcaps_port_task_name(handle, task->name, sizeof(task->name));
    } else {
        _Static_assert(sizeof(PRE_SCHEDULER_NAME) <= sizeof(task->name), "the name fits");
        memcpy(task->name, PRE_SCHEDULER_NAME, sizeof(PRE_SCHEDULER_NAME));
    }
    task_entry_t **link = &state.tasks;
    while (*link && (uintptr_t)(*link)->handle > (uintptr_t)handle) {
        link = &(*link)->next;
    }
    task->next = *link;
    *link = task;
    state.task_count++;
    if (handle) {
        heapcaps_port_task_watch(handle, task_ended);
    }
    return task;
}

static heap_entry_t *heap_entry_of(task_entry_t *task, heap_t *heap)
{
    for (heap_entry_t *h = task->heaps; h; h = h->next) {
        if (h->heap == heap) {
            return h;
        }
    }
    heap_entry_t *h = storage_alloc(sizeof(*h));
    if (!h) {
        out_of_memory();
        return NULL;
    }
    memset(h, 0, sizeof(*h));
    h->task = task;
    h->heap = heap;
    if (task->last_heap) {
        task->last_heap->next = h;
    } else {
        task->heaps = h;
    }
    task->last_heap = h;
    task->heap_count++;
    state.heap_count++;
    return h;
}

/* Charge `task` with the block of `size` bytes at `address` in `heap`. */
static void charge(task_entry_t *task, heap_t *heap, void *address, size_t size)
{
    heap_entry_t *h = heap_entry_of(task, heap);
    if (!h) {
        return;
    }
    record_t *r = storage_alloc(sizeof(*r));
    if (!r || !table_reserve()) {
        storage_free(r);
        out_of_memory();
        return;
    }
    r->address = address;
    r->size = (uint32_t)size;
    r->entry = h;
    r->next = NULL;
    r->prev = h->last;
    if (h->last) {
        h->last->next = r;
    } else {
        h->first = r;
    }
    h->last = r;
    size_t b = bucket_of(address, state.bucket_count);
    r->chain = state.buckets[b];
    state.buckets[b] = r;
    state.record_count++;

    h->alloc_count++;
    h->current += r->size;
    if (h->current > h->peak) {
        h->peak = h->current;
    }
    task->current += r->size;
    if (task->current > task->peak) {
        task->peak = task->current;
    }
}

/* Forget a record and take its size off its task and heap. */
static void record_drop(record_t *r, bool count)
{
    heap_entry_t *h = r->entry;
    if (count) {
        h->current -= r->size;
        h->alloc_count--;
        h->task->current -= r->size;
    }
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        h->first = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    } else {
        h->last = r->prev;
    }
    table_remove(r);
    state.record_count--;
    storage_free(r);
    if (!state.record_count) {
        /* Nothing live: give the table back too, so that a heap's free size
         * returns to what it was once everything allocated is freed. */
        storage_free(state.buckets);
        state.buckets = NULL;
        state.bucket_count = 0;
    }
}

/* The block at `address` owned by `owner` is gone. */
static void discharge(const void *owner, const void *address)
{
    if (!owner) {
        return; /* allocations made without a task are never taken back */
    }
    record_t *r = table_find(address, owner);
    if (r) {
        record_drop(r, true);
    }
}

#ifndef CONFIG_HEAP_TRACK_DELETED_TASKS
/* Remove a task and everything it holds from the statistics. */
static void task_drop(task_entry_t *task)
{
    task_entry_t **link = &state.tasks;
    while (*link != task) {
        link = &(*link)->next;
    }
    *link = task->next;
    heap_entry_t *h = task->heaps;
    while (h) {
        while (h->first) {
            record_drop(h->first, false);
        }
        heap_entry_t *next = h->next;
        storage_free(h);
        state.heap_count--;
        h = next;
    }
    state.task_count--;
    storage_free(task);
}
#endif

/* A task was deleted: keep it as such, or forget it. */
static void task_mark_deleted(task_entry_t *task)
{
#ifdef CONFIG_HEAP_TRACK_DELETED_TASKS
    task->alive = false;
#else
    task_drop(task);
#endif
}

/* Called by the port when a watched task ends. */
static void task_ended(void *handle)
{
    if (!enter()) {
        return;
    }
    task_entry_t *task = handle ? task_find(handle, true) : NULL;
    if (task) {
        task_mark_deleted(task);
    }
    leave();
}

/* ------------------------------------------------- events from heap_caps.c */

static void *owner_of(const void *block)
{
    void *owner;
    heapcaps_copy(&owner, block, HEAP_OWNER_WORD);
    return owner;
}

static void set_owner(void *block, void *owner)
{
    heapcaps_copy(block, &owner, HEAP_OWNER_WORD);
}

void heapcaps_task_track_hold(void)
{
    lock_take();
}

void heapcaps_task_track_release(void)
{
    lock_give();
}

/* Owner words are written and read under the tracker's lock, which
 * heap_caps_get_per_task_info() holds for its walk. */
void heapcaps_task_track_alloc(heap_t *heap, void *block, void *user)
{
    void *current = heapcaps_port_task_current();
    size_t size = multi_heap_get_full_block_size(heap->heap, block);
    if (!enter()) {
        set_owner(block, current);
        return;
    }
    set_owner(block, current);
    task_entry_t *task = task_of_current(current);
    if (task) {
        charge(task, heap, user, size);
    }
    leave();
}

void heapcaps_task_track_free(heap_t *heap, void *block, void *user)
{
    (void)heap;
    if (!enter()) {
        return;
    }
    discharge(owner_of(block), user);
    /* A task's own control block going back: the task was deleted. */
    task_entry_t *task = task_find(user, true);
    if (task) {
        task_mark_deleted(task);
    }
    leave();
}

void heapcaps_task_track_realloc(heap_t *heap, void *old_user, void *block, void *user)
{
    void *current = heapcaps_port_task_current();
    size_t size = multi_heap_get_full_block_size(heap->heap, block);
    if (!enter()) {
        set_owner(block, current);
        return;
    }
    void *old_owner = owner_of(block);
    set_owner(block, current);
    discharge(old_owner, old_user);
    task_entry_t *task = task_of_current(current);
    if (task) {
        charge(task, heap, user, size);
    }
    leave();
}

void heapcaps_task_tracking_reset(void)
{
    /* A reboot: every entry, and any statistics arrays still held, go. */
    lock_take();
    memset(&state, 0, sizeof(state));
    while (storage_blocks) {
        storage_block_t *block = storage_blocks;
        storage_blocks = block->next;
        heapcaps_port_meta_free(block);
    }
    lock_give();
}

/* ---------------------------------------------------------------- getters */

static size_t task_alloc_count(const task_entry_t *task)
{
    size_t count = 0;
    for (const heap_entry_t *h = task->heaps; h; h = h->next) {
        count += h->alloc_count;
    }
    return count;
}

/* Where the caller's arrays stand while they are being filled. */
typedef struct {
    heap_stat_t *heaps;
    size_t heap_room, heap_used;
    heap_task_block_t *allocs;
    size_t alloc_room, alloc_used;
} fill_t;

static void copy_task(task_stat_t *out, const task_entry_t *task, fill_t *fill)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->name, task->name, sizeof(out->name));
    out->handle = task->handle;
    out->is_alive = task->alive;
    out->overall_peak_usage = task->peak;
    out->overall_current_usage = task->current;
    out->heap_count = task->heap_count;
    out->heap_stat = NULL;
    if (!task->heap_count || fill->heap_room - fill->heap_used < task->heap_count) {
        return;
    }
    out->heap_stat = fill->heaps + fill->heap_used;
    for (const heap_entry_t *h = task->heaps; h; h = h->next) {
        heap_stat_t *hs = fill->heaps + fill->heap_used++;
        hs->name = h->heap->name;
        hs->caps = h->heap->all_caps;
        hs->size = (size_t)(h->heap->end - h->heap->start);
        hs->current_usage = h->current;
        hs->peak_usage = h->peak;
        hs->alloc_count = h->alloc_count;
        hs->alloc_stat = NULL;
        if (!h->alloc_count || fill->alloc_room - fill->alloc_used < h->alloc_count) {
            continue;
        }
        hs->alloc_stat = fill->allocs + fill->alloc_used;
        for (const record_t *r = h->first; r; r = r->next) {
            heap_task_block_t *b = fill->allocs + fill->alloc_used++;
            b->task = task->handle;
            b->address = r->address;
            b->size = r->size;
        }
    }
}

esp_err_t heap_caps_get_all_task_stat(heap_all_tasks_stat_t *tasks_stat)
{
    if (!tasks_stat || (!tasks_stat->stat_arr && tasks_stat->task_count) ||
        (!tasks_stat->heap_stat_start && tasks_stat->heap_count) ||
        (!tasks_stat->alloc_stat_start && tasks_stat->alloc_count)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!enter()) {
        return ESP_FAIL;
    }
    fill_t fill = {tasks_stat->heap_stat_start,  tasks_stat->heap_count,  0,
                   tasks_stat->alloc_stat_start, tasks_stat->alloc_count, 0};
    size_t tasks = 0;
    for (const task_entry_t *t = state.tasks; t && tasks < tasks_stat->task_count; t = t->next) {
        copy_task(&tasks_stat->stat_arr[tasks++], t, &fill);
    }
    leave();
    tasks_stat->task_count = tasks;
    tasks_stat->heap_count = fill.heap_used;
    tasks_stat->alloc_count = fill.alloc_used;
    return ESP_OK;
}

esp_err_t heap_caps_get_single_task_stat(heap_single_task_stat_t *task_stat,
                                         TaskHandle_t task_handle)
{
    if (!task_stat || (!task_stat->heap_stat_start && task_stat->heap_count) ||
        (!task_stat->alloc_stat_start && task_stat->alloc_count)) {
        return ESP_ERR_INVALID_ARG;
    }
    void *handle = task_handle ? (void *)task_handle : heapcaps_port_task_current();
    if (!enter()) {
        return ESP_FAIL;
    }
    const task_entry_t *task = task_find(handle, false);
    if (!task) {
        leave();
        return ESP_FAIL;
    }
    fill_t fill = {task_stat->heap_stat_start,  task_stat->heap_count,  0,
                   task_stat->alloc_stat_start, task_stat->alloc_count, 0};
    copy_task(&task_stat->stat, task, &fill);
    leave();
    task_stat->heap_count = fill.heap_used;
    task_stat->alloc_count = fill.alloc_used;
    return ESP_OK;
}

/* An array of count elements of size bytes from the tracker's storage. */
static esp_err_t array_alloc(void **array, size_t count, size_t size)
{
    *array = NULL;
    if (!count) {
        return ESP_OK;
    }
    *array = count <= SIZE_MAX / size ? storage_alloc(count * size) : NULL;
    return *array ? ESP_OK : ESP_FAIL;
}

esp_err_t heap_caps_alloc_single_task_stat_arrays(heap_single_task_stat_t *task_stat,
                                                  TaskHandle_t task_handle)
{
    if (!task_stat) {
        return ESP_ERR_INVALID_ARG;
    }
    void *handle = task_handle ? (void *)task_handle : heapcaps_port_task_current();
    size_t heaps = 0, allocs = 0;
    if (enter()) {
        const task_entry_t *task = task_find(handle, true);
        if (task) {
            heaps = task->heap_count;
            allocs = task_alloc_count(task);
        }
        leave();
    }
    task_stat->heap_count = heaps;
    task_stat->alloc_count = allocs;
    void *array;
    esp_err_t err = array_alloc(&array, heaps, sizeof(heap_stat_t));
    task_stat->heap_stat_start = array;
    if (err != ESP_OK) {
        return err;
    }
    err = array_alloc(&array, allocs, sizeof(heap_task_block_t));
    task_stat->alloc_stat_start = array;
    return err;
}

/* Free a statistics array, if there is one, and zero its count; NULL for
 * the caller's pointer. */
static void *array_free(void *array, size_t *count)
{
    if (array) {
        storage_free(array);
        *count = 0;
    }
    return NULL;
}

void heap_caps_free_single_task_stat_arrays(heap_single_task_stat_t *task_stat)
{
    if (!task_stat) {
        return;
    }
    task_stat->heap_stat_start = array_free(task_stat->heap_stat_start, &task_stat->heap_count);
    task_stat->alloc_stat_start = array_free(task_stat->alloc_stat_start, &task_stat->alloc_count);
}

esp_err_t heap_caps_alloc_all_task_stat_arrays(heap_all_tasks_stat_t *tasks_stat)
{
    if (!tasks_stat) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t tasks = 0, heaps = 0, allocs = 0;
    if (enter()) {
        tasks = state.task_count;
        heaps = state.heap_count;
        allocs = state.record_count;
        leave();
    }
    tasks_stat->task_count = tasks;
    tasks_stat->heap_count = heaps;
    tasks_stat->alloc_count = allocs;
    void *array;
    esp_err_t err = array_alloc(&array, tasks, sizeof(task_stat_t));
    tasks_stat->stat_arr = array;
    if (err != ESP_OK) {
        return err;
    }
    err = array_alloc(&array, heaps, sizeof(heap_stat_t));
    tasks_stat->heap_stat_start = array;
    if (err != ESP_OK) {
        return err;
    }
    err = array_alloc(&array, allocs, sizeof(heap_task_block_t));
    tasks_stat->alloc_stat_start = array;
    return err;
}

void heap_caps_free_all_task_stat_arrays(heap_all_tasks_stat_t *tasks_stat)
{
    if (!tasks_stat) {
        return;
    }
    tasks_stat->stat_arr = array_free(tasks_stat->stat_arr, &tasks_stat->task_count);
    tasks_stat->heap_stat_start = array_free(tasks_stat->heap_stat_start, &tasks_stat->heap_count);
    tasks_stat->alloc_stat_start =
        array_free(tasks_stat->alloc_stat_start, &tasks_stat->alloc_count);
}

/* --------------------------------------------------------------- printing */

static int percent(size_t part, size_t whole)
{
    return whole ? (int)((unsigned long long)part * 100u / whole) : 0;
}

/* The tree of one task; `last`: the last task printed. */
static void print_tree(FILE *stream, const task_entry_t *task, bool last)
{
    const char *bar = last ? " " : "│";
    fprintf(stream,
            "%s %s: %s, CURRENT MEMORY USAGE %d, PEAK MEMORY USAGE %d, TOTAL HEAP USED %d:\n",
            last ? "└" : "├", task->alive ? "ALIVE" : "DELETED", task->name, (int)task->current,
            (int)task->peak, (int)task->heap_count);
    for (const heap_entry_t *h = task->heaps; h; h = h->next) {
        bool last_heap = h->next == NULL;
        size_t size = (size_t)(h->heap->end - h->heap->start);
        fprintf(stream,
                "%s    %s HEAP: %s, CAPS: 0x%08lx, SIZE: %d, USAGE: CURRENT %d (%d%%), PEAK %d "
                "(%d%%), ALLOC COUNT: %d\n",
                bar, last_heap ? "└" : "├", h->heap->name ? h->heap->name : "",
                (unsigned long)h->heap->all_caps, (int)size, (int)h->current,
                percent(h->current, size), (int)h->peak, percent(h->peak, size),
                (int)h->alloc_count);
        for (const record_t *r = h->first; r; r = r->next) {
            fprintf(stream, "%s    %s    ├ ALLOC %p, SIZE %u\n", bar, last_heap ? " " : "│",
                    r->address, (unsigned)r->size);
        }
    }
}

static void print_table_top(FILE *stream)
{
    fprintf(stream, "┌────────────────────┬─────────┬──────────────────────┬───────────────────┬"
                    "─────────────────┐\n");
    fprintf(stream, "│ TASK               │ STATUS  │ CURRENT MEMORY USAGE │ PEAK MEMORY USAGE │ "
                    "TOTAL HEAP USED │\n");
    fprintf(stream, "├────────────────────┼─────────┼──────────────────────┼───────────────────┼"
                    "─────────────────┤\n");
}

static void print_table_row(FILE *stream, const task_entry_t *task)
{
    fprintf(stream, "│ %18s │ %7s │ %20d │ %17d │ %15d │\n", task->name,
            task->alive ? "ALIVE  " : "DELETED", (int)task->current, (int)task->peak,
            (int)task->heap_count);
}

static void print_table_bottom(FILE *stream)
{
    fprintf(stream, "└────────────────────┴─────────┴──────────────────────┴───────────────────┴"
                    "─────────────────┘\n");
}

void heap_caps_print_all_task_stat(FILE *stream)
{
    stream = stream ? stream : stdout;
    if (!enter()) {
        return;
    }
    for (const task_entry_t *t = state.tasks; t; t = t->next) {
        print_tree(stream, t, t->next == NULL);
    }
    leave();
}

void heap_caps_print_all_task_stat_overview(FILE *stream)
{
    stream = stream ? stream : stdout;
    if (!enter()) {
        return;
    }
    for (const task_entry_t *t = state.tasks; t; t = t->next) {
        if (t == state.tasks) {
            print_table_top(stream);
        }
        print_table_row(stream, t);
        if (!t->next) {
            print_table_bottom(stream);
        }
    }
    leave();
}

/* Print one task (NULL handle: the calling one) with `print`; nothing when
 * it has no statistics. */
static void print_one_task(FILE *stream, TaskHandle_t task_handle,
                           void (*print)(FILE *stream, const task_entry_t *task))
{
    stream = stream ? stream : stdout;
    void *handle = task_handle ? (void *)task_handle : heapcaps_port_task_current();
    if (!enter()) {
        return;
    }
    const task_entry_t *task = task_find(handle, false);
    if (task) {
        print(stream, task);
    }
    leave();
}

static void print_tree_alone(FILE *stream, const task_entry_t *task)
{
    print_tree(stream, task, true);
}

static void print_table_alone(FILE *stream, const task_entry_t *task)
{
    print_table_top(stream);
    print_table_row(stream, task);
    print_table_bottom(stream);
}

void heap_caps_print_single_task_stat(FILE *stream, TaskHandle_t task_handle)
{
    print_one_task(stream, task_handle, print_tree_alone);
}

void heap_caps_print_single_task_stat_overview(FILE *stream, TaskHandle_t task_handle)
{
    print_one_task(stream, task_handle, print_table_alone);
}

/* ------------------------------------- heap_caps_get_per_task_info (legacy) */

typedef struct {
    heap_task_info_params_t *params;
    multi_heap_handle_t heap;
    int slot;
    size_t totals;
    size_t blocks;
} legacy_walk_t;

static bool listed_task(const heap_task_info_params_t *params, const void *task)
{
    if (!params->tasks) {
        return true;
    }
    for (size_t i = 0; i < params->num_tasks; ++i) {
        if (params->tasks[i] == task) {
            return true;
        }
    }
    return false;
}

static bool legacy_block(void *payload, size_t block_size, int used, void *user)
{
    (void)block_size;
    legacy_walk_t *walk = user;
    heap_task_info_params_t *params = walk->params;
    if (!used) {
        return true;
    }
    char *block = (char *)payload + MULTI_HEAP_POISON_HEAD;
    void *owner = owner_of(block);
    size_t size = multi_heap_get_allocated_size(walk->heap, block);
    if (params->totals) {
        size_t i = 0;
        while (i < walk->totals && params->totals[i].task != owner) {
            ++i;
        }
        if (i == walk->totals && walk->totals < params->max_totals) {
            heap_task_totals_t *added = &params->totals[walk->totals++];
            memset(added, 0, sizeof(*added));
            added->task = owner;
        }
        if (i < walk->totals) {
            params->totals[i].size[walk->slot] += size;
            params->totals[i].count[walk->slot]++;
        }
    }
    if (params->blocks && walk->blocks < params->max_blocks && listed_task(params, owner)) {
        heap_task_block_t *b = &params->blocks[walk->blocks++];
        b->task = owner;
        b->address = block + HEAP_OWNER_WORD;
        b->size = (uint32_t)size;
    }
    return true;
}

size_t heap_caps_get_per_task_info(heap_task_info_params_t *params)
{
    if (!params || !params->num_totals) {
        return 0;
    }
    legacy_walk_t walk = {params, NULL, 0, *params->num_totals, 0};
    if (params->totals) {
        for (size_t i = 0; i < walk.totals; ++i) {
            memset(params->totals[i].size, 0, sizeof(params->totals[i].size));
            memset(params->totals[i].count, 0, sizeof(params->totals[i].count));
        }
    }
    bool entered = enter(); /* owner words stay put during the walk */
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (!heap->heap) {
            continue;
        }
        int slot = 0;
        while (slot < NUM_HEAP_TASK_CAPS &&
               (heap->all_caps & (uint32_t)params->mask[slot]) != (uint32_t)params->caps[slot]) {
            ++slot;
        }
        if (slot == NUM_HEAP_TASK_CAPS) {
            continue;
        }
        walk.heap = heap->heap;
        walk.slot = slot;
        multi_heap_walk(heap->heap, legacy_block, &walk);
    }
    if (entered) {
        leave();
    }
    *params->num_totals = walk.totals;
    return walk.blocks;
}
