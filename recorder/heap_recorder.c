/*
 * heap_recorder.c — heapcaps/recorder.h: the user hooks of heap_caps write
 * each allocation, realloc and free as a CSV line.
 *
 * Freestanding: the port layer, heap_caps and memcpy/memset only; lines are
 * formatted by hand into a buffer on the stack.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "heapcaps/config.h"
#include "heapcaps/lock.h"
#include "heapcaps/recorder.h"
#include "port/port.h"

#ifndef CONFIG_HEAP_USE_HOOKS
#error "heapcaps_recorder needs heapcaps built with hooks (-DHEAPCAPS_HOOKS=ON)"
#endif

/* The hooks are declared here without the library's weak attribute (its
 * heap_caps_debug.h has it): these definitions must be strong, so that a
 * program with hooks of its own fails to link rather than record nothing. */
void esp_heap_trace_alloc_hook(void *ptr, size_t size, uint32_t caps);
void esp_heap_trace_free_hook(void *ptr);

#ifdef CONFIG_HEAP_TRACING_STANDALONE
/* heap_trace_standalone.c. A traced realloc holds the tracer's lock while
 * the hooks run; taking it here first as well gives one lock order (tracer,
 * then recorder), so a write callback that allocates (and so traces) cannot
 * deadlock against a realloc in another task. */
bool heapcaps_trace_hold(void);
void heapcaps_trace_release(bool held);
#else
static inline bool heapcaps_trace_hold(void)
{
    return false;
}
static inline void heapcaps_trace_release(bool held)
{
    (void)held;
}
#endif

#ifndef HEAPCAPS_RECORDER_SLOTS
#define HEAPCAPS_RECORDER_SLOTS 4096
#endif
#define SLOTS HEAPCAPS_RECORDER_SLOTS
#define MASK  ((size_t)SLOTS - 1)
_Static_assert(SLOTS >= 16 && (SLOTS & (SLOTS - 1)) == 0,
               "HEAPCAPS_RECORDER_SLOTS must be a power of two, at least 16");
/* Linear probing stays short below this load, and a lookup always ends. */
#define SLOT_LIMIT (SLOTS - SLOTS / 8)
#define NOT_FOUND  ((size_t)-1)

/* Ids of new blocks at an address still naming a moved block: address + n << 48. */
#define TAG_SHIFT 48
#define TAGS      16

/* Blocks that move inside their heap (see find_moved_from()). Without
 * poisoning, heap_caps_get_allocated_size() is a block's payload less the
 * owner word, so the free bytes of the heaps fall by exactly the new block's
 * usable size less the old one's. With poisoning it is the size asked for:
 * the canaries, word rounding and an unsplit tail (a few words) are hidden,
 * so the comparisons get that much room. */
#if defined(CONFIG_HEAP_POISONING_LIGHT) || defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
#define MOVE_MARGIN 64
#define SIZE_SLACK  64
#else
#define MOVE_MARGIN 0
#define SIZE_SLACK  16
#endif
/* Free blocks of a heap looked at per walk. */
#define RANGES 64

/* One address: the live block recorded there, and the ids based on it. */
typedef struct {
    uintptr_t address; /* 0: empty slot */
    uintptr_t token;   /* live block: its id's address (where it was first recorded) */
    uint32_t usable;   /* live block: heap_caps_get_allocated_size() when last recorded */
    uint16_t tags;     /* bit n: id address + n << 48 belongs to a live block */
    uint8_t tag;       /* live block: its id's n */
    uint8_t live;      /* a recorded block lives at address */
} slot_t;

static slot_t table[SLOTS];
static size_t slots_used;

/* State, under `lock` once the lock is ready. */
static struct {
    heapcaps_recorder_write_t write; /* NULL: not recording */
    void *context;
    bool writing;       /* the write callback runs: its own heap calls are not recorded */
    bool untracked;     /* a block was written without a slot (its free is unknown) */
    size_t free_before; /* free bytes of all heaps after the last event */
    size_t dropped;
} rec;

static atomic_bool recording;
static _Atomic(heapcaps_recorder_clock_t) clock_source;

static heapcaps_lock_t lock;
enum { LOCK_NONE, LOCK_SETTING_UP, LOCK_READY };
static atomic_int lock_status = LOCK_NONE;

/* The lock is set up by the first start, whichever thread that is. */
static void lock_set_up(void)
{
    int expected = LOCK_NONE;
    if (atomic_compare_exchange_strong(&lock_status, &expected, LOCK_SETTING_UP)) {
        heapcaps_lock_init(&lock);
        atomic_store_explicit(&lock_status, LOCK_READY, memory_order_release);
    }
    while (atomic_load_explicit(&lock_status, memory_order_acquire) != LOCK_READY) {
        /* another thread is initialising it */
    }
}

static bool lock_ready(void)
{
    return atomic_load_explicit(&lock_status, memory_order_acquire) == LOCK_READY;
}

/* ---- the table of live blocks ------------------------------------------ */

static size_t home(uintptr_t address)
{
    uint32_t h = (uint32_t)(address >> 2) ^ (uint32_t)((uint64_t)address >> 32);
    h *= UINT32_C(2654435769);
    h ^= h >> 15;
    return (size_t)h & MASK;
}

static size_t slot_find(uintptr_t address)
{
    for (size_t i = home(address);; i = (i + 1) & MASK) {
        if (table[i].address == address) {
            return i;
        }
        if (!table[i].address) {
            return NOT_FOUND;
        }
    }
}

/* The slot of `address`, added if needed; NOT_FOUND when the table is full. */
static size_t slot_add(uintptr_t address)
{
    size_t i = home(address);
    for (; table[i].address; i = (i + 1) & MASK) {
        if (table[i].address == address) {
            return i;
        }
    }
    if (slots_used >= SLOT_LIMIT) {
        return NOT_FOUND;
    }
    memset(&table[i], 0, sizeof(table[i]));
    table[i].address = address;
    slots_used++;
    return i;
}

/* Remove the slot of `address` when it holds nothing any more, moving later
 * entries of its probe run back (no tombstones). */
static void slot_release(uintptr_t address)
{
    size_t hole = slot_find(address);
    if (hole == NOT_FOUND || table[hole].live || table[hole].tags) {
        return;
    }
    for (size_t j = (hole + 1) & MASK; table[j].address; j = (j + 1) & MASK) {
        /* j may fill the hole if the hole lies between its home and j. */
        if (((j - home(table[j].address)) & MASK) >= ((j - hole) & MASK)) {
            table[hole] = table[j];
            hole = j;
        }
    }
    memset(&table[hole], 0, sizeof(table[hole]));
    slots_used--;
}

static uint64_t id_of(uintptr_t token, unsigned tag)
{
    return (uint64_t)tag << TAG_SHIFT | (uint64_t)token;
}

static uint32_t size32(size_t size)
{
    return size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
}

/* ---- lines --------------------------------------------------------------- */

typedef struct {
    char text[112];
    size_t length;
} line_t;

static void put_text(line_t *line, const char *text)
{
    while (*text) {
        line->text[line->length++] = *text++;
    }
}

static void put_hex(line_t *line, uint64_t value)
{
    static const char digits[] = "0123456789abcdef";
    char reversed[16];
    size_t n = 0;
    do {
        reversed[n++] = digits[value & 0xF];
        value >>= 4;
    } while (value);
    put_text(line, "0x");
    while (n) {
        line->text[line->length++] = reversed[--n];
    }
}

static void put_decimal(line_t *line, uint64_t value)
{
    char reversed[20];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n) {
        line->text[line->length++] = reversed[--n];
    }
}

/* Hand text to the write callback; whatever the callback allocates is its own. */
static void emit(const char *text, size_t length)
{
    rec.writing = true;
    rec.write(text, length, rec.context);
    rec.writing = false;
}

static uint64_t port_clock(void)
{
    return (uint64_t)heapcaps_port_cycle_count();
}

static uint64_t now(void)
{
    heapcaps_recorder_clock_t clock = atomic_load_explicit(&clock_source, memory_order_relaxed);
    return clock ? clock() : port_clock();
}

/* "op,id,size,caps,,timestamp," with empty size and caps for a free. */
static void emit_event(const char *op, uint64_t id, bool sized, size_t size, uint32_t caps)
{
    line_t line = {.length = 0};
    put_text(&line, op);
    put_text(&line, ",");
    put_hex(&line, id);
    put_text(&line, ",");
    if (sized) {
        put_decimal(&line, size);
        put_text(&line, ",");
        put_hex(&line, caps);
    } else {
        put_text(&line, ",");
    }
    put_text(&line, ",,");
    put_decimal(&line, now());
    put_text(&line, ",\n");
    emit(line.text, line.length);
}

/* ---- blocks that moved inside their heap ---------------------------------
 * heap_caps_realloc() resizes within the block's heap through
 * multi_heap_realloc(), which may move the block there; heap_caps then calls
 * only the alloc hook, with the new address. Such a move gives the old block
 * back without a free hook: the heaps' free bytes fall by less than the new
 * block holds (a new block takes its usable size and a header at least).
 * Then the old block is the recorded block of the usable size given back
 * that now lies in free memory of the new block's heap. */

static struct {
    uintptr_t target; /* the new block: its heap is walked */
    size_t skip;      /* free blocks before the ones wanted */
    size_t seen;      /* free blocks met */
    size_t count;     /* ranges stored */
    uintptr_t start[RANGES], end[RANGES];
} walk;

static bool walk_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    (void)user;
    if (walk.target < (uintptr_t)heap.start || walk.target >= (uintptr_t)heap.end) {
        return false; /* another heap: skip it */
    }
    if (block.used) {
        return true;
    }
    if (walk.seen++ >= walk.skip) {
        walk.start[walk.count] = (uintptr_t)block.ptr;
        walk.end[walk.count] = (uintptr_t)block.ptr + block.size;
        walk.count++;
    }
    return walk.count < RANGES;
}

/* Whether `address` lies in one of the free ranges (in address order). */
static bool in_free_range(uintptr_t address)
{
    size_t low = 0, high = walk.count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (address < walk.start[mid]) {
            high = mid;
        } else if (address >= walk.end[mid]) {
            low = mid + 1;
        } else {
            return true;
        }
    }
    return false;
}

static uint64_t distance(uint32_t usable, long long expected)
{
    long long d = (long long)usable - expected;
    return (uint64_t)(d < 0 ? -d : d);
}

/* The slot of the live block that the new block at `target` replaced, or
 * NOT_FOUND; `expected`: the usable size it had. */
static size_t find_moved_from(uintptr_t target, long long expected)
{
    size_t best = NOT_FOUND;
    uint64_t best_distance = 0;
    for (size_t skip = 0; best == NOT_FOUND; skip += RANGES) {
        walk.target = target;
        walk.skip = skip;
        walk.seen = 0;
        walk.count = 0;
        heap_caps_walk(MALLOC_CAP_INVALID, walk_block, NULL);
        if (!walk.count) {
            break;
        }
        for (size_t i = 0; i < SLOTS; ++i) {
            const slot_t *s = &table[i];
            if (!s->live || s->address == target) {
                continue;
            }
            uint64_t d = distance(s->usable, expected);
            if (d <= SIZE_SLACK && (best == NOT_FOUND || d < best_distance) &&
                in_free_range(s->address)) {
                best = i;
                best_distance = d;
            }
        }
        if (walk.count < RANGES) {
            break; /* that was the last free block */
        }
    }
    return best;
}

/* ---- events -------------------------------------------------------------- */

static void record_alloc(uintptr_t address, size_t size, uint32_t caps)
{
    uint32_t usable = size32(heap_caps_get_allocated_size((void *)address));
    size_t i = slot_find(address);
    if (i != NOT_FOUND && table[i].live) { /* resized in place */
        table[i].usable = usable;
        emit_event("realloc", id_of(table[i].token, table[i].tag), true, size, caps);
        return;
    }
    long long taken = (long long)rec.free_before - (long long)heap_caps_get_free_size(0);
    size_t old = NOT_FOUND;
    if (slots_used && taken <= (long long)usable + MOVE_MARGIN) {
        old = find_moved_from(address, (long long)usable - taken);
    }
    if (old != NOT_FOUND) { /* moved inside its heap: the block keeps its id */
        uintptr_t token = table[old].token, old_address = table[old].address;
        uint8_t tag = table[old].tag;
        table[old].live = 0;
        slot_release(old_address);
        size_t n = slot_add(address);
        if (n == NOT_FOUND) {
            size_t b = slot_find(token);
            if (b != NOT_FOUND) {
                table[b].tags &= (uint16_t) ~(1u << tag);
                slot_release(token);
            }
            rec.dropped++;
            rec.untracked = true;
        } else {
            table[n].live = 1;
            table[n].token = token;
            table[n].tag = tag;
            table[n].usable = usable;
        }
        emit_event("realloc", id_of(token, tag), true, size, caps);
        return;
    }
    size_t n = slot_add(address);
    unsigned tag = 0;
    while (n != NOT_FOUND && tag < TAGS && (table[n].tags & (1u << tag))) {
        tag++;
    }
    if (n == NOT_FOUND || tag == TAGS) {
        if (n != NOT_FOUND) {
            slot_release(address);
        }
        rec.dropped++;
        rec.untracked = true;
        emit_event("malloc", id_of(address, 0), true, size, caps);
        return;
    }
    table[n].tags |= (uint16_t)(1u << tag);
    table[n].live = 1;
    table[n].token = address;
    table[n].tag = (uint8_t)tag;
    table[n].usable = usable;
    emit_event("malloc", id_of(address, tag), true, size, caps);
}

static void record_free(uintptr_t address)
{
    size_t i = slot_find(address);
    if (i == NOT_FOUND || !table[i].live) {
        /* Allocated before the start (not in the trace) or written untracked:
         * only the latter is worth a line, if its id is not taken. */
        if (rec.untracked && !(i != NOT_FOUND && (table[i].tags & 1u))) {
            emit_event("free", id_of(address, 0), false, 0, 0);
        }
        return;
    }
    uintptr_t token = table[i].token;
    uint8_t tag = table[i].tag;
    table[i].live = 0;
    size_t b = slot_find(token);
    if (b != NOT_FOUND) {
        table[b].tags &= (uint16_t) ~(1u << tag);
    }
    slot_release(address);
    if (token != address) {
        slot_release(token);
    }
    emit_event("free", id_of(token, tag), false, 0, 0);
}

/* Every event: the recorder's lock (after the tracer's), and nothing from
 * inside the write callback. */
static bool event_begin(bool *held)
{
    if (!atomic_load_explicit(&recording, memory_order_acquire)) {
        return false;
    }
    *held = heapcaps_trace_hold();
    heapcaps_port_lock(&lock);
    if (!rec.write || rec.writing) {
        heapcaps_port_unlock(&lock);
        heapcaps_trace_release(*held);
        return false;
    }
    return true;
}

static void event_end(bool held)
{
    rec.free_before = heap_caps_get_free_size(0);
    heapcaps_port_unlock(&lock);
    heapcaps_trace_release(held);
}

void esp_heap_trace_alloc_hook(void *ptr, size_t size, uint32_t caps)
{
    bool held;
    if (ptr && event_begin(&held)) {
        record_alloc((uintptr_t)ptr, size, caps);
        event_end(held);
    }
}

void esp_heap_trace_free_hook(void *ptr)
{
    bool held;
    if (ptr && event_begin(&held)) {
        record_free((uintptr_t)ptr);
        event_end(held);
    }
}

/* ---- API ----------------------------------------------------------------- */

esp_err_t heapcaps_recorder_start(heapcaps_recorder_write_t write, void *context)
{
    static const char header[] = "# heapcaps trace\n"
                                 "op,id,size,caps,alignment,timestamp,callers\n";
    if (!write) {
        return ESP_ERR_INVALID_ARG;
    }
    lock_set_up();
    bool held = heapcaps_trace_hold();
    heapcaps_port_lock(&lock);
    esp_err_t err = ESP_ERR_INVALID_STATE;
    if (!rec.write) {
        memset(table, 0, sizeof(table));
        slots_used = 0;
        rec.write = write;
        rec.context = context;
        rec.untracked = false;
        rec.dropped = 0;
        emit(header, sizeof(header) - 1);
        rec.free_before = heap_caps_get_free_size(0);
        atomic_store_explicit(&recording, true, memory_order_release);
        err = ESP_OK;
    }
    heapcaps_port_unlock(&lock);
    heapcaps_trace_release(held);
    return err;
}

void heapcaps_recorder_stop(void)
{
    if (!lock_ready()) {
        return;
    }
    bool held = heapcaps_trace_hold();
    heapcaps_port_lock(&lock);
    if (rec.write) {
        atomic_store_explicit(&recording, false, memory_order_release);
        if (rec.dropped) {
            line_t line = {.length = 0};
            put_text(&line, "# ");
            put_decimal(&line, rec.dropped);
            put_text(&line, " events not tracked: the trace is incomplete\n");
            emit(line.text, line.length);
        }
        rec.write = NULL;
        rec.context = NULL;
    }
    heapcaps_port_unlock(&lock);
    heapcaps_trace_release(held);
}

size_t heapcaps_recorder_dropped(void)
{
    if (!lock_ready()) {
        return 0;
    }
    heapcaps_port_lock(&lock);
    size_t dropped = rec.dropped;
    heapcaps_port_unlock(&lock);
    return dropped;
}

void heapcaps_recorder_set_clock(heapcaps_recorder_clock_t clock)
{
    atomic_store_explicit(&clock_source, clock, memory_order_relaxed);
}
