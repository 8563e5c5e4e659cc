/*
 * heap_trace_standalone.c — standalone heap tracing (esp_heap_trace.h):
 * heap_caps reports every public allocation and free (heap_caps_debug.h)
 * and the tracer keeps them as records in the application's buffer.
 *
 * The records of the buffer are threaded into two lists through their
 * tailq_list member: the used records, oldest first, and the unused ones.
 * With the hash map every used record is also on the chain of its bucket
 * (slist_hashmap), newest first, so that a free finds its record without
 * walking the list.
 *
 * One lock guards all of it. The tracer calls no allocator while it works
 * on the records; the hash table is allocated in init, when nothing is being
 * recorded, and what the platform's output may allocate during a dump is
 * not recorded (see `busy`).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_heap_trace.h"
#include "esp_memory_utils.h"
#include "heap_caps_debug.h"
#include "heapcaps/lock.h"
#include "memory_layout.h"
#include "port/port.h"

#define DEPTH CONFIG_HEAP_TRACING_STACK_DEPTH
/* Room for a call stack even when none is kept (no zero-length arrays). */
#define STACK_ROOM (DEPTH > 0 ? DEPTH : 1)

typedef enum {
    STATE_UNKNOWN, /* never started */
    STATE_STARTED,
    STATE_STOPPED,
    STATE_ALLOC_PAUSED,
} trace_state_t;

/* Head of a record list, BSD tail-queue style: `last` is the link to set
 * when appending (&first when empty, else the last record's tqe_next). */
typedef struct {
    heap_trace_record_t *first;
    heap_trace_record_t **last;
} record_list_t;

static struct {
    heap_trace_record_t *buffer;
    size_t capacity;
    bool lists_ready; /* used/unused are built over buffer */
    record_list_t used, unused;
    size_t count; /* records on `used` */
    size_t high_water_mark;
    bool has_overflowed;
    heap_trace_mode_t mode;
    size_t total_allocations;
    size_t total_frees;
    bool busy; /* the tracer itself is running: what it allocates is not recorded */
    /* heap_trace_get(): record number cursor_index is cursor (NULL: unknown) */
    heap_trace_record_t *cursor;
    size_t cursor_index;
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    heap_trace_record_t **buckets; /* CONFIG_HEAP_TRACE_HASH_MAP_SIZE chain heads */
    size_t hits, misses;
#endif
} trace;

/* Written under the lock; read without it by the event fast paths. */
static atomic_int trace_state = STATE_UNKNOWN;

static heapcaps_lock_t trace_lock;
enum { LOCK_NONE, LOCK_SETTING_UP, LOCK_READY };
static atomic_int lock_status = LOCK_NONE;

/* The lock is set up on first use: a C11 lock-free handshake, since any
 * thread may be first. */
static void lock_take(void)
{
    if (atomic_load_explicit(&lock_status, memory_order_acquire) != LOCK_READY) {
        int expected = LOCK_NONE;
        if (atomic_compare_exchange_strong(&lock_status, &expected, LOCK_SETTING_UP)) {
            heapcaps_lock_init(&trace_lock);
            atomic_store_explicit(&lock_status, LOCK_READY, memory_order_release);
        } else {
            while (atomic_load_explicit(&lock_status, memory_order_acquire) != LOCK_READY) {
                /* another thread is initialising it */
            }
        }
    }
    heapcaps_port_lock(&trace_lock);
}

static void lock_give(void)
{
    heapcaps_port_unlock(&trace_lock);
}

static trace_state_t state_now(void)
{
    return (trace_state_t)atomic_load_explicit(&trace_state, memory_order_relaxed);
}

static void state_set(trace_state_t state)
{
    atomic_store_explicit(&trace_state, (int)state, memory_order_relaxed);
}

/* ---- record lists -------------------------------------------------------- */

static void list_init(record_list_t *list)
{
    list->first = NULL;
    list->last = &list->first;
}

static void list_append(record_list_t *list, heap_trace_record_t *r)
{
    r->tailq_list.tqe_next = NULL;
    r->tailq_list.tqe_prev = list->last;
    *list->last = r;
    list->last = &r->tailq_list.tqe_next;
}

static void list_prepend(record_list_t *list, heap_trace_record_t *r)
{
    r->tailq_list.tqe_next = list->first;
    if (list->first) {
        list->first->tailq_list.tqe_prev = &r->tailq_list.tqe_next;
    } else {
        list->last = &r->tailq_list.tqe_next;
    }
    list->first = r;
    r->tailq_list.tqe_prev = &list->first;
}

static void list_remove(record_list_t *list, heap_trace_record_t *r)
{
    heap_trace_record_t *next = r->tailq_list.tqe_next;
    if (next) {
        next->tailq_list.tqe_prev = r->tailq_list.tqe_prev;
    } else {
        list->last = r->tailq_list.tqe_prev;
    }
    *r->tailq_list.tqe_prev = next;
}

/* The record whose tqe_next is `link`, or NULL when link is the head's. */
static heap_trace_record_t *record_of_link(record_list_t *list, heap_trace_record_t **link)
{
    if (link == &list->first) {
        return NULL;
    }
    return (heap_trace_record_t *)(void *)((char *)link -
                                           offsetof(heap_trace_record_t, tailq_list.tqe_next));
}

static heap_trace_record_t *list_last(record_list_t *list)
{
    return record_of_link(list, list->last);
}

static heap_trace_record_t *list_before(record_list_t *list, heap_trace_record_t *r)
{
    return record_of_link(list, r->tailq_list.tqe_prev);
}

/* ---- hash map ------------------------------------------------------------ */

#ifdef CONFIG_HEAP_TRACE_HASH_MAP
/* ESP-IDF's bucket formula, on the chip address so that records spread
 * over the buckets as on the device. */
static size_t bucket_of(const void *p)
{
    uint32_t a = (uint32_t)heapcaps_layout_to_chip(heapcaps_layout_installed(), (intptr_t)p);
    uint32_t mixed = (uint32_t)(((a >> 3) + (a >> 5) + (a >> 7)) * UINT32_C(16777619));
    return mixed % CONFIG_HEAP_TRACE_HASH_MAP_SIZE;
}

static void map_clear(void)
{
    if (trace.buckets) {
        memset(trace.buckets, 0, CONFIG_HEAP_TRACE_HASH_MAP_SIZE * sizeof(trace.buckets[0]));
    }
    trace.hits = 0;
    trace.misses = 0;
}

static void map_add(heap_trace_record_t *r)
{
    heap_trace_record_t **head = &trace.buckets[bucket_of(r->address)];
    r->slist_hashmap.sle_next = *head;
    *head = r;
}

static void map_remove(heap_trace_record_t *r)
{
    for (heap_trace_record_t **link = &trace.buckets[bucket_of(r->address)]; *link;
         link = &(*link)->slist_hashmap.sle_next) {
        if (*link == r) {
            *link = r->slist_hashmap.sle_next;
            r->slist_hashmap.sle_next = NULL;
            return;
        }
    }
}

/* The newest record of address p on its chain; counts a hit or a miss. */
static heap_trace_record_t *map_find(const void *p)
{
    for (heap_trace_record_t *r = trace.buckets[bucket_of(p)]; r; r = r->slist_hashmap.sle_next) {
        if (r->address == p) {
            trace.hits++;
            return r;
        }
    }
    trace.misses++;
    return NULL;
}
#else
static void map_clear(void)
{
}
static void map_add(heap_trace_record_t *r)
{
    (void)r;
}
static void map_remove(heap_trace_record_t *r)
{
    (void)r;
}
#endif

/* ---- records ------------------------------------------------------------- */

static void forget_cursor(void)
{
    trace.cursor = NULL;
    trace.cursor_index = 0;
}

/* Empty lists over the whole buffer (which the caller cleared or not). */
static void lists_build(void)
{
    list_init(&trace.used);
    list_init(&trace.unused);
    for (size_t i = 0; i < trace.capacity; ++i) {
        list_append(&trace.unused, &trace.buffer[i]);
    }
    trace.count = 0;
    trace.lists_ready = true;
    map_clear();
    forget_cursor();
}

/* What heap_trace_start() clears: everything but the high-water mark. */
static void records_restart(void)
{
    memset(trace.buffer, 0, trace.capacity * sizeof(trace.buffer[0]));
    lists_build();
    trace.has_overflowed = false;
    trace.total_allocations = 0;
    trace.total_frees = 0;
}

/* Take used record r off the used list and out of the map. */
static void used_remove(heap_trace_record_t *r)
{
    list_remove(&trace.used, r);
    map_remove(r);
    trace.count--;
    forget_cursor();
}

/* The newest used record of address p. Searching from the newest matches
 * the hash map (its chains are newest first) and finds a short-lived
 * allocation after a few steps. */
static heap_trace_record_t *find_record(const void *p)
{
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    heap_trace_record_t *found = map_find(p);
    if (found) {
        return found;
    }
#endif
    for (heap_trace_record_t *r = list_last(&trace.used); r; r = list_before(&trace.used, r)) {
        if (r->address == p) {
            return r;
        }
    }
    return NULL;
}

static void record_allocation(void *p, size_t size, uint32_t ccount, void *const *callers)
{
    heap_trace_record_t *r = trace.unused.first;
    if (r) {
        list_remove(&trace.unused, r);
    } else {
        /* Full: the oldest record makes room. */
        r = trace.used.first;
        if (!r) {
            return;
        }
        used_remove(r);
        trace.has_overflowed = true;
    }
    r->ccount = ccount;
    r->address = p;
    r->size = size;
    r->freed = false;
#if DEPTH > 0
    memcpy(r->alloced_by, callers, sizeof(r->alloced_by));
    memset(r->freed_by, 0, sizeof(r->freed_by));
#else
    (void)callers;
#endif
    list_append(&trace.used, r);
    map_add(r);
    trace.count++;
    if (trace.count > trace.high_water_mark) {
        trace.high_water_mark = trace.count;
    }
    trace.total_allocations++;
    forget_cursor();
}

static void collect_callers(void *caller, void **callers)
{
    memset(callers, 0, STACK_ROOM * sizeof(callers[0]));
#if DEPTH > 0
    heapcaps_port_backtrace(caller, callers, DEPTH);
#else
    (void)caller;
#endif
}

static void record_free(void *p, void *caller)
{
    if (!trace.count) {
        return;
    }
    trace.total_frees++;
    heap_trace_record_t *r = find_record(p);
    if (!r) {
        return;
    }
    if (trace.mode == HEAP_TRACE_ALL) {
        r->freed = true;
#if DEPTH > 0
        collect_callers(caller, r->freed_by);
#else
        (void)caller;
#endif
        return;
    }
    used_remove(r);
    r->address = NULL;
    r->size = 0;
    r->freed = false;
    /* Reused first: the slot just written is likely still in the cache. */
    list_prepend(&trace.unused, r);
}

/* ---- events from heap_caps (heap_caps_debug.h) --------------------------- */

uint32_t heapcaps_trace_timestamp(void)
{
    if (state_now() != STATE_STARTED) {
        return 0; /* not recorded: spare the clock read */
    }
    /* Bits 1..0 carry the CPU number, always 0 here. */
    return (uint32_t)heapcaps_port_cycle_count() & ~UINT32_C(3);
}

void heapcaps_trace_alloc(void *p, size_t size, uint32_t timestamp, void *caller)
{
    if (!p || state_now() != STATE_STARTED) {
        return;
    }
    void *callers[STACK_ROOM];
    collect_callers(caller, callers); /* before the lock: it may be slow */
    lock_take();
    if (state_now() == STATE_STARTED && trace.lists_ready && !trace.busy) {
        record_allocation(p, size, timestamp, callers);
    }
    lock_give();
}

void heapcaps_trace_free(void *p, void *caller)
{
    trace_state_t state = state_now();
    if (!p || (state != STATE_STARTED && state != STATE_ALLOC_PAUSED)) {
        return; /* never started (so no records) or stopped */
    }
    lock_take();
    state = state_now();
    if ((state == STATE_STARTED || state == STATE_ALLOC_PAUSED) && trace.lists_ready &&
        !trace.busy) {
        record_free(p, caller);
    }
    lock_give();
}

bool heapcaps_trace_hold(void)
{
    trace_state_t state = state_now();
    if (state != STATE_STARTED && state != STATE_ALLOC_PAUSED) {
        return false;
    }
    lock_take();
    return true;
}

void heapcaps_trace_release(bool held)
{
    if (held) {
        lock_give();
    }
}

void heapcaps_trace_reset(void)
{
    lock_take();
    /* The hash table was in the old chip's RAM: forget it, do not free it. */
    memset(&trace, 0, sizeof(trace));
    state_set(STATE_UNKNOWN);
    lock_give();
}

/* ---- API ----------------------------------------------------------------- */

esp_err_t heap_trace_init_standalone(heap_trace_record_t *record_buffer, size_t num_records)
{
    lock_take();
    trace_state_t state = state_now();
    esp_err_t err = ESP_OK;
    if (state == STATE_STARTED || state == STATE_ALLOC_PAUSED) {
        err = ESP_ERR_INVALID_STATE;
    } else if (!record_buffer || !num_records) {
        err = ESP_ERR_INVALID_ARG;
    }
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    if (err == ESP_OK && !trace.buckets) {
        size_t bytes = CONFIG_HEAP_TRACE_HASH_MAP_SIZE * sizeof(trace.buckets[0]);
        trace.busy = true; /* the table is not a traced allocation */
        trace.buckets = heap_caps_calloc(CONFIG_HEAP_TRACE_HASH_MAP_SIZE, sizeof(trace.buckets[0]),
                                         MALLOC_CAP_INTERNAL);
        trace.busy = false;
        if (trace.buckets) {
            heapcaps_port_log('I', "heap_trace", "hashmap: allocating %u bytes (Internal RAM)",
                              (unsigned)bytes);
        } else {
            err = ESP_ERR_NO_MEM;
        }
    }
#endif
    if (err == ESP_OK && (record_buffer != trace.buffer || num_records != trace.capacity)) {
        /* The lists ran through the old buffer; the next start builds them anew. */
        trace.buffer = record_buffer;
        trace.capacity = num_records;
        trace.lists_ready = false;
        trace.count = 0;
        map_clear();
        forget_cursor();
    }
    lock_give();
    return err;
}

esp_err_t heap_trace_init_tohost(void)
{
    return ESP_ERR_NOT_SUPPORTED;
}

esp_err_t heap_trace_start(heap_trace_mode_t mode)
{
    lock_take();
    if (!trace.buffer) {
        lock_give();
        return ESP_ERR_INVALID_STATE;
    }
    trace.mode = mode;
    records_restart();
    state_set(STATE_STARTED);
    lock_give();
    return ESP_OK;
}

esp_err_t heap_trace_stop(void)
{
    lock_take();
    esp_err_t err = ESP_ERR_INVALID_STATE;
    if (state_now() != STATE_STOPPED) {
        state_set(STATE_STOPPED);
        err = ESP_OK;
    }
    lock_give();
    return err;
}

esp_err_t heap_trace_resume(void)
{
    lock_take();
    esp_err_t err = ESP_ERR_INVALID_STATE;
    if (state_now() != STATE_STARTED) {
        if (trace.buffer && !trace.lists_ready) {
            /* No start since the buffer was given: start in the last mode. */
            records_restart();
        }
        state_set(STATE_STARTED);
        err = ESP_OK;
    }
    lock_give();
    return err;
}

esp_err_t heap_trace_alloc_pause(void)
{
    lock_take();
    esp_err_t err = ESP_ERR_INVALID_STATE;
    if (state_now() != STATE_ALLOC_PAUSED) {
        state_set(STATE_ALLOC_PAUSED);
        err = ESP_OK;
    }
    lock_give();
    return err;
}

size_t heap_trace_get_count(void)
{
    lock_take();
    size_t count = trace.count;
    lock_give();
    return count;
}

/* Used record number `index` (< count); sequential indices step the cursor. */
static heap_trace_record_t *record_at(size_t index)
{
    heap_trace_record_t *r;
    size_t at;
    if (trace.cursor && trace.cursor_index <= index) {
        r = trace.cursor;
        at = trace.cursor_index;
    } else {
        r = trace.used.first;
        at = 0;
    }
    while (r && at < index) {
        r = r->tailq_list.tqe_next;
        ++at;
    }
    trace.cursor = r;
    trace.cursor_index = r ? index : 0;
    return r;
}

esp_err_t heap_trace_get(size_t index, heap_trace_record_t *record)
{
    if (!record) {
        return ESP_ERR_INVALID_STATE;
    }
    lock_take();
    esp_err_t err = ESP_ERR_INVALID_ARG;
    if (index < trace.count) {
        heap_trace_record_t *r = record_at(index);
        if (r) {
            *record = *r;
            err = ESP_OK;
        } else {
            /* count says more records than the list holds: damaged */
            memset(record, 0, sizeof(*record));
            err = ESP_ERR_INVALID_STATE;
        }
    }
    lock_give();
    return err;
}

esp_err_t heap_trace_summary(heap_trace_summary_t *summary)
{
    if (!summary) {
        return ESP_ERR_INVALID_ARG;
    }
    lock_take();
    memset(summary, 0, sizeof(*summary));
    summary->mode = trace.mode;
    summary->total_allocations = trace.total_allocations;
    summary->total_frees = trace.total_frees;
    summary->count = trace.count;
    summary->capacity = trace.capacity;
    summary->high_water_mark = trace.high_water_mark;
    summary->has_overflowed = trace.has_overflowed;
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    summary->total_hashmap_hits = trace.hits;
    summary->total_hashmap_miss = trace.misses;
#endif
    lock_give();
    return ESP_OK;
}

/* ---- dump ---------------------------------------------------------------- */

/* A record address as the device prints it: the 32-bit chip address. */
static unsigned chip_address(const void *p)
{
    return (unsigned)(uint32_t)heapcaps_layout_to_chip(heapcaps_layout_installed(), (intptr_t)p);
}

static bool dump_selects(const void *p, uint32_t caps)
{
    bool internal = (caps & MALLOC_CAP_INTERNAL) != 0;
    bool external = (caps & MALLOC_CAP_SPIRAM) != 0;
    return (internal && external) || (internal && esp_ptr_internal(p)) ||
           (external && esp_ptr_external_ram(p));
}

/* Prints one record; true when it is alive (not freed). */
static bool dump_record(const heap_trace_record_t *r)
{
    const char *label = "";
    if (esp_ptr_internal(r->address)) {
        label = ", Internal";
    } else if (esp_ptr_external_ram(r->address)) {
        label = ",    PSRAM";
    }
    heapcaps_port_print("%6d bytes (@ 0x%08x%s) allocated CPU %d ccount 0x%08x", (int)r->size,
                        chip_address(r->address), label, (int)(r->ccount & 1),
                        (unsigned)(r->ccount & ~UINT32_C(3)));
#if DEPTH > 0
    if (r->alloced_by[0]) {
        heapcaps_port_print(" caller ");
        for (int i = 0; i < DEPTH && r->alloced_by[i]; ++i) {
            heapcaps_port_print("0x%08" PRIxPTR "%s", (uintptr_t)r->alloced_by[i],
                                i < DEPTH - 1 ? ":" : "");
        }
    }
#endif
    if (!r->freed) {
        heapcaps_port_print("\n");
        return true;
    }
#if DEPTH > 0
    if (trace.mode == HEAP_TRACE_ALL && r->freed_by[0]) {
        heapcaps_port_print("\nfreed by ");
        for (int i = 0; i < DEPTH; ++i) {
            heapcaps_port_print("0x%08" PRIxPTR "%s", (uintptr_t)r->freed_by[i],
                                i < DEPTH - 1 ? ":" : "\n");
        }
        return false;
    }
#endif
    heapcaps_port_print(" freed\n");
    return false;
}

void heap_trace_dump(void)
{
    heap_trace_dump_caps(MALLOC_CAP_INTERNAL | MALLOC_CAP_SPIRAM);
}

void heap_trace_dump_caps(const uint32_t caps)
{
    lock_take();
    trace.busy = true; /* output may allocate on some platforms */
    size_t count_before = trace.count;
    heapcaps_port_print("====== Heap Trace: %u records (%u capacity) ======\n",
                        (unsigned)trace.count, (unsigned)trace.capacity);
    size_t alive_bytes = 0;
    size_t alive_records = 0;
    heap_trace_record_t *r = trace.lists_ready ? trace.used.first : NULL;
    for (size_t i = 0; i < count_before; ++i) {
        if (!r) {
            heapcaps_port_print(
                "\nError: heap trace linked list is corrupt. expected more records.\n");
            break;
        }
        if (r->address && dump_selects(r->address, caps) && dump_record(r)) {
            alive_bytes += r->size;
            alive_records++;
        }
        r = r->tailq_list.tqe_next;
    }
    heapcaps_port_print("====== Heap Trace Summary ======\n");
    if (trace.mode == HEAP_TRACE_ALL) {
        heapcaps_port_print("Mode: Heap Trace All\n");
        heapcaps_port_print("%u bytes alive in trace (%u/%u allocations)\n", (unsigned)alive_bytes,
                            (unsigned)alive_records, (unsigned)trace.count);
    } else {
        heapcaps_port_print("Mode: Heap Trace Leaks\n");
        heapcaps_port_print("%u bytes 'leaked' in trace (%u allocations)\n", (unsigned)alive_bytes,
                            (unsigned)alive_records);
    }
    heapcaps_port_print("records: %u (%u capacity, %u high water mark)\n", (unsigned)trace.count,
                        (unsigned)trace.capacity, (unsigned)trace.high_water_mark);
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    heapcaps_port_print("hashmap: %u capacity (%u hits, %u misses)\n",
                        (unsigned)CONFIG_HEAP_TRACE_HASH_MAP_SIZE, (unsigned)trace.hits,
                        (unsigned)trace.misses);
#endif
    heapcaps_port_print("total allocations: %u\n", (unsigned)trace.total_allocations);
    heapcaps_port_print("total frees: %u\n", (unsigned)trace.total_frees);
    if (trace.count != count_before) {
        heapcaps_port_print("(NB: New entries were traced while dumping, so trace dump may have "
                            "duplicate entries.)\n");
    }
    if (trace.has_overflowed) {
        heapcaps_port_print("(NB: Internal Buffer has overflowed, so trace data is incomplete.)\n");
    }
    heapcaps_port_print("================================\n");
    trace.busy = false;
    lock_give();
}
