/*
 * sanitizer_view.c — the emulated heaps described to AddressSanitizer and to
 * Valgrind's memcheck (HEAPCAPS_SANITIZER_VIEW, host builds only; see
 * docs/sanitizer_view.md).
 *
 * What the tools are told:
 * - a registered heap is all inaccessible: header, free lists, free blocks,
 *   block headers, canaries, gaps (heapcaps_view_heap_added);
 * - a block handed out is accessible for exactly the bytes asked for, from
 *   the pointer the caller got (heapcaps_view_alloc), and inaccessible again
 *   when it goes back (heapcaps_view_free);
 * - memory reachable through a D/IRAM or RTC instruction alias is the same
 *   memory, so the alias image ("twin") of each range follows it;
 * - at a registry reset (boot, shutdown) everything is plain memory again:
 *   the emulator unmaps the chip and a later boot maps the same addresses.
 *
 * AddressSanitizer: the library is compiled without ASan instrumentation (its
 * header and free-list accesses are not checked), the firmware with it. The
 * ASan functions are weak references, so the same library works in a
 * program without ASan: the view then only acts under Valgrind. ASan shows
 * an access to poisoned heap memory as "use-after-poison" with the faulting
 * stack; its error-report callback (installed here) then prints which block
 * the address belongs to, where that block was allocated and where it was
 * freed, from a side table kept here with both call chains per block.
 *
 * Valgrind: blocks are VALGRIND_MALLOCLIKE_BLOCK / VALGRIND_FREELIKE_BLOCK,
 * so memcheck reports both stacks itself; heaps are NOACCESS. The library's
 * own accesses to NOACCESS memory are suppressed by
 * tools/valgrind/heapcaps.supp (by source file of the innermost frame).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_caps_debug.h"
#include "heap_caps_internal.h"
#include "heapcaps/emu.h"
#include "mem_ops.h"
#include "memory_layout.h"
#include "port/port.h"

#ifdef HEAPCAPS_VIEW_VALGRIND
#include <valgrind/memcheck.h>
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VIEW_INSTRUMENTED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(VIEW_INSTRUMENTED)
#error "the sanitizer view needs the library built without -fsanitize=address (src/CMakeLists.txt)"
#endif

/* ---- the ASan interface, as weak references --------------------------- */

void __asan_poison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));
void __asan_unpoison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));
void __asan_set_error_report_callback(void (*callback)(const char *)) __attribute__((weak));
void *__asan_get_report_address(void) __attribute__((weak));
void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out_buf, size_t out_buf_size)
    __attribute__((weak));

enum { TOOL_ASAN = 1, TOOL_VALGRIND = 2 };

/* Which tools watch this process (fixed for its lifetime). */
static unsigned tools(void)
{
    static atomic_int known = -1;
    if (atomic_load_explicit(&known, memory_order_relaxed) < 0) {
        unsigned found = 0;
        if (__asan_poison_memory_region && __asan_unpoison_memory_region) {
            found |= TOOL_ASAN;
        }
#ifdef HEAPCAPS_VIEW_VALGRIND
        if (RUNNING_ON_VALGRIND) {
            found |= TOOL_VALGRIND;
        }
#endif
        atomic_store_explicit(&known, (int)found, memory_order_relaxed);
    }
    return (unsigned)atomic_load_explicit(&known, memory_order_relaxed);
}

/* ---- the library's own copies and fills (mem_ops.h) -------------------
 * Volatile accesses: the compiler can neither turn the loops back into
 * memcpy/memset calls (which ASan intercepts and checks) nor drop them. */

void heapcaps_view_copy(void *to, const void *from, size_t bytes)
{
    volatile unsigned char *d = to;
    const volatile unsigned char *s = from;
    if ((((uintptr_t)d | (uintptr_t)s) & (sizeof(size_t) - 1)) == 0) {
        for (; bytes >= sizeof(size_t); bytes -= sizeof(size_t)) {
            *(volatile size_t *)(uintptr_t)d = *(const volatile size_t *)(uintptr_t)s;
            d += sizeof(size_t);
            s += sizeof(size_t);
        }
    }
    while (bytes--) {
        *d++ = *s++;
    }
}

void heapcaps_view_fill(void *to, int byte, size_t bytes)
{
    volatile unsigned char *d = to;
    size_t word = (unsigned char)byte * (SIZE_MAX / 0xFF);
    for (; bytes && ((uintptr_t)d & (sizeof(size_t) - 1)); --bytes) {
        *d++ = (unsigned char)byte;
    }
    for (; bytes >= sizeof(size_t); bytes -= sizeof(size_t)) {
        *(volatile size_t *)(uintptr_t)d = word;
        d += sizeof(size_t);
    }
    while (bytes--) {
        *d++ = (unsigned char)byte;
    }
}

/* ---- address ranges and their alias twins ------------------------------ */

typedef struct {
    uintptr_t start, end; /* host addresses, end exclusive; start == end: none */
} span_t;

/* The image of [start, end) on the other side of a D/IRAM or RTC alias of the
 * installed chip (data memory seen through the instruction bus or the other
 * way round), if the range lies in one. ESP32's D/IRAM alias reverses the
 * word order: the image is computed for the whole words the range touches. */
static span_t alias_twin(uintptr_t start, uintptr_t end)
{
    span_t none = {0, 0};
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    if (!layout || !layout->soc || end <= start) {
        return none;
    }
    const heapcaps_soc_t *soc = layout->soc;
    const struct {
        uint32_t data_low, data_high, code_low, code_high;
        bool inverted;
    } aliases[2] = {
        {soc->diram_dram_low, soc->diram_dram_high, soc->diram_iram_low, soc->diram_iram_high,
         soc->diram_inverted},
        {soc->rtc_dram_low, soc->rtc_dram_high, soc->rtc_iram_low, soc->rtc_iram_high, false},
    };
    uintptr_t a = (uintptr_t)heapcaps_layout_to_chip(layout, (intptr_t)start);
    uintptr_t b = a + (end - start);
    for (int i = 0; i < 2; ++i) {
        uintptr_t dl = aliases[i].data_low, dh = aliases[i].data_high;
        uintptr_t cl = aliases[i].code_low, ch = aliases[i].code_high;
        if (dl == cl || dl >= dh || cl >= ch) {
            continue; /* no alias, or data and instructions at the same addresses */
        }
        uintptr_t from_low, from_high, to_low;
        if (a >= dl && b <= dh) {
            from_low = dl, from_high = dh, to_low = cl;
        } else if (a >= cl && b <= ch) {
            from_low = cl, from_high = ch, to_low = dl;
        } else {
            continue;
        }
        span_t twin;
        if (aliases[i].inverted) {
            /* Word w bytes above the low end is the word w bytes below the
             * other side's high end: [wa, wb) -> [low' + (high - wb), low' + (high - wa)). */
            uintptr_t wa = a & ~(uintptr_t)3, wb = (b + 3) & ~(uintptr_t)3;
            wb = wb > from_high ? from_high : wb;
            twin.start = to_low + (from_high - wb);
            twin.end = to_low + (from_high - wa);
        } else {
            twin.start = to_low + (a - from_low);
            twin.end = to_low + (b - from_low);
        }
        twin.start = (uintptr_t)heapcaps_layout_to_host(layout, (intptr_t)twin.start);
        twin.end = (uintptr_t)heapcaps_layout_to_host(layout, (intptr_t)twin.end);
        return twin;
    }
    return none;
}

/* Make [start, end) and its alias twin inaccessible or accessible. */
static void mark(uintptr_t start, uintptr_t end, bool accessible, bool with_twin)
{
    unsigned watching = tools();
    span_t spans[2] = {{start, end}, {0, 0}};
    if (with_twin) {
        spans[1] = alias_twin(start, end);
    }
    for (int i = 0; i < 2; ++i) {
        if (spans[i].end <= spans[i].start) {
            continue;
        }
        void *p = (void *)spans[i].start;
        size_t size = spans[i].end - spans[i].start;
        if (watching & TOOL_ASAN) {
            if (accessible) {
                __asan_unpoison_memory_region(p, size);
            } else {
                __asan_poison_memory_region(p, size);
            }
        }
#ifdef HEAPCAPS_VIEW_VALGRIND
        if (watching & TOOL_VALGRIND) {
            if (accessible) {
                VALGRIND_MAKE_MEM_UNDEFINED(p, size);
            } else {
                VALGRIND_MAKE_MEM_NOACCESS(p, size);
            }
        }
#endif
    }
}

/* ---- the side table: one record per block handed out ------------------- */

#define STACK_DEPTH 16
#define BUCKETS     4096u /* live blocks, chained by data address */
#define FREED_KEPT  4096u /* freed blocks remembered for use-after-free reports */

typedef struct record {
    struct record *next;   /* hash chain, while live */
    uintptr_t key;         /* data-side address: the heap's block + the owner word */
    uintptr_t user;        /* the caller's pointer (an IRAM alias for EXEC blocks) */
    size_t size;           /* bytes asked for */
    const char *heap_name; /* memory type of the heap, or NULL */
    bool freed;
    bool malloclike; /* announced to memcheck */
    unsigned alloc_depth, free_depth;
    void *alloc_stack[STACK_DEPTH];
    void *free_stack[STACK_DEPTH];
} record_t;

/* A range the view made inaccessible, made accessible again at reset. */
typedef struct {
    uintptr_t start, end;
} tracked_t;

static struct {
    pthread_mutex_t lock;
    record_t *live[BUCKETS];
    record_t *freed[FREED_KEPT]; /* ring, oldest overwritten */
    record_t *spare;             /* records to reuse */
    unsigned freed_next;
    tracked_t *ranges;
    size_t range_count, range_room;
    bool callback_installed;
} view = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned bucket_of(uintptr_t key)
{
    return (unsigned)((key >> 3) * 0x9E3779B1u) % BUCKETS;
}

static void report_callback(const char *report);

#if defined(HEAPCAPS_VIEW_FRAME_POINTERS) &&                                                       \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
/* This thread's stack, for a frame-pointer walk that never leaves it. */
static bool stack_bounds(uintptr_t *low, uintptr_t *high)
{
    static _Thread_local uintptr_t bottom, top;
    if (!top) {
        pthread_attr_t attr;
        void *base;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &attr) != 0) {
            return false;
        }
        int err = pthread_attr_getstack(&attr, &base, &size);
        pthread_attr_destroy(&attr);
        if (err != 0) {
            return false;
        }
        bottom = (uintptr_t)base;
        top = bottom + size;
    }
    *low = bottom;
    *high = top;
    return true;
}

/* The return addresses from `from` up, along the frame-pointer chain (the
 * build has frame pointers: -fno-omit-frame-pointer with the sanitizers);
 * 0 if `from` is not on it. A frame record is [previous frame, return]. */
__attribute__((noinline)) static unsigned walk_frames(void *from, void **stack)
{
    uintptr_t low, high;
    if (!stack_bounds(&low, &high)) {
        return 0;
    }
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    unsigned count = 0;
    bool found = false;
    while (count < STACK_DEPTH && fp >= low && fp <= high - 2 * sizeof(void *) &&
           !(fp & (sizeof(void *) - 1))) {
        const uintptr_t *record = (const uintptr_t *)fp;
        void *ret = (void *)record[1];
        found = found || ret == from;
        if (found && ret) {
            stack[count++] = ret;
        }
        if (record[0] <= fp) {
            break; /* the chain must go up the stack */
        }
        fp = record[0];
    }
    return count;
}
#else
static unsigned walk_frames(void *from, void **stack)
{
    (void)from, (void)stack;
    return 0;
}
#endif

/* The caller's chain from `from` (a return address into heap_caps) up: by
 * frame pointers where the build has them (a few nanoseconds), else by the
 * unwinder (microseconds: it reads the unwind tables). */
static unsigned capture(void *from, void **stack)
{
    unsigned count = walk_frames(from, stack);
    return count ? count : (unsigned)heapcaps_port_backtrace(from, stack, STACK_DEPTH);
}

static void track_range(uintptr_t start, uintptr_t end)
{
    if (end <= start) {
        return;
    }
    if (view.range_count == view.range_room) {
        size_t room = view.range_room ? 2 * view.range_room : 32;
        tracked_t *grown = realloc(view.ranges, room * sizeof(*grown));
        if (!grown) {
            return;
        }
        view.ranges = grown;
        view.range_room = room;
    }
    view.ranges[view.range_count++] = (tracked_t){start, end};
}

/* With the table lock held, on the first heap of an emulated chip. */
static void install_asan_handlers(void)
{
    if (!view.callback_installed && __asan_set_error_report_callback) {
        __asan_set_error_report_callback(report_callback);
        view.callback_installed = true;
    }
}

void heapcaps_view_heap_added(void *start, size_t size)
{
    unsigned watching = tools();
    if (!watching || !size) {
        return;
    }
    uintptr_t s = (uintptr_t)start, e = s + size;
    pthread_mutex_lock(&view.lock);
    if (watching & TOOL_ASAN) {
        install_asan_handlers();
    }
    track_range(s, e);
    span_t twin = alias_twin(s, e);
    track_range(twin.start, twin.end);
    pthread_mutex_unlock(&view.lock);
    mark(s, e, false, true);
}

/* The data-side address of user pointer `user` (differs for an EXEC block
 * handed out through an IRAM alias) and whether it is such a block. */
static uintptr_t key_of(void *user, bool *alias)
{
    *alias = false;
    if (!heapcaps_find_heap((char *)user - HEAP_OWNER_WORD) && heapcaps_is_alias(user)) {
        *alias = true;
        return (uintptr_t)heapcaps_alias_data(user);
    }
    return (uintptr_t)user;
}

/* A record to fill: a spare one, else new. Called with the lock held. */
static record_t *record_new(void)
{
    record_t *r = view.spare;
    if (r) {
        view.spare = r->next;
        return r;
    }
    return malloc(sizeof(*r));
}

__attribute__((noinline)) void heapcaps_view_alloc(void *user, size_t size)
{
    unsigned watching = tools();
    if (!watching || !user || !size) {
        return;
    }
    void *from = __builtin_return_address(0);
    bool alias;
    uintptr_t key = key_of(user, &alias);
    uintptr_t u = (uintptr_t)user;
    mark(u, u + size, true, true);
    void *stack[STACK_DEPTH];
    unsigned depth = (watching & TOOL_ASAN) ? capture(from, stack) : 0;
    heap_t *heap = heapcaps_find_heap((void *)(key - HEAP_OWNER_WORD));

    pthread_mutex_lock(&view.lock);
    record_t *r = record_new();
    if (r) {
        r->key = key;
        r->user = u;
        r->size = size;
        r->heap_name = heap ? heap->name : NULL;
        r->freed = false;
        r->malloclike = (watching & TOOL_VALGRIND) != 0;
        r->alloc_depth = depth;
        r->free_depth = 0;
        memcpy(r->alloc_stack, stack, depth * sizeof(stack[0]));
        unsigned b = bucket_of(key);
        r->next = view.live[b];
        view.live[b] = r;
    }
    pthread_mutex_unlock(&view.lock);
    /* Without a record (no host memory) the block is accessible, untracked. */
#ifdef HEAPCAPS_VIEW_VALGRIND
    if (r && (watching & TOOL_VALGRIND)) {
        /* Memcheck records the allocating stack here. The range was made
         * UNDEFINED above, as a malloc'd block is. */
        VALGRIND_MALLOCLIKE_BLOCK(user, size, 0, 0);
    }
#endif
}

static record_t *take_live(uintptr_t key)
{
    for (record_t **link = &view.live[bucket_of(key)]; *link; link = &(*link)->next) {
        if ((*link)->key == key) {
            record_t *r = *link;
            *link = r->next;
            r->next = NULL;
            return r;
        }
    }
    return NULL;
}

__attribute__((noinline)) void heapcaps_view_free(void *block, size_t block_size)
{
    unsigned watching = tools();
    if (!watching || !block) {
        return;
    }
    void *from = __builtin_return_address(0);
    void *stack[STACK_DEPTH];
    unsigned depth = (watching & TOOL_ASAN) ? capture(from, stack) : 0;

    /* A heap_caps block is known by the address after its owner word; a
     * block the library took for itself (no owner word) by its own. */
    pthread_mutex_lock(&view.lock);
    record_t *r = take_live((uintptr_t)block + HEAP_OWNER_WORD);
    if (!r && HEAP_OWNER_WORD != 0) {
        r = take_live((uintptr_t)block);
    }
    uintptr_t user = 0;
    size_t size = 0;
    bool malloclike = false;
    if (r) {
        user = r->user;
        size = r->size;
        malloclike = r->malloclike;
        r->freed = true;
        r->free_depth = depth;
        memcpy(r->free_stack, stack, depth * sizeof(stack[0]));
        /* Into the ring of freed blocks; the oldest one becomes spare. */
        record_t *oldest = view.freed[view.freed_next];
        view.freed[view.freed_next] = r;
        view.freed_next = (view.freed_next + 1) % FREED_KEPT;
        if (oldest) {
            oldest->next = view.spare;
            view.spare = oldest;
        }
    }
    pthread_mutex_unlock(&view.lock);

#ifdef HEAPCAPS_VIEW_VALGRIND
    if (malloclike) {
        /* Memcheck records the freeing stack and makes the bytes NOACCESS. */
        VALGRIND_FREELIKE_BLOCK((void *)user, 0);
    }
#else
    (void)malloclike;
#endif
    /* The whole block (with the poisoning layer, up to one header word
     * more, which is inaccessible anyway) and what the caller saw. */
    mark((uintptr_t)block, (uintptr_t)block + block_size, false, true);
    if (size) {
        mark(user, user + size, false, true);
    }
}

static void free_list(record_t *r)
{
    while (r) {
        record_t *next = r->next;
        free(r);
        r = next;
    }
}

void heapcaps_view_reset(void)
{
    unsigned watching = tools();
    if (!watching) {
        return;
    }
    pthread_mutex_lock(&view.lock);
    for (unsigned b = 0; b < BUCKETS; ++b) {
        for (record_t *r = view.live[b]; r; r = r->next) {
#ifdef HEAPCAPS_VIEW_VALGRIND
            if (r->malloclike) {
                VALGRIND_FREELIKE_BLOCK((void *)r->user, 0); /* the chip goes away */
            }
#endif
        }
        free_list(view.live[b]);
        view.live[b] = NULL;
    }
    for (unsigned i = 0; i < FREED_KEPT; ++i) {
        free(view.freed[i]);
        view.freed[i] = NULL;
    }
    view.freed_next = 0;
    free_list(view.spare);
    view.spare = NULL;
    for (size_t i = 0; i < view.range_count; ++i) {
        void *p = (void *)view.ranges[i].start;
        size_t size = view.ranges[i].end - view.ranges[i].start;
        if (watching & TOOL_ASAN) {
            __asan_unpoison_memory_region(p, size);
        }
#ifdef HEAPCAPS_VIEW_VALGRIND
        if (watching & TOOL_VALGRIND) {
            VALGRIND_MAKE_MEM_DEFINED(p, size);
        }
#endif
    }
    view.range_count = 0;
    pthread_mutex_unlock(&view.lock);
}

/* ---- the ASan report addition ------------------------------------------ */

typedef struct {
    const record_t *record;
    uintptr_t address; /* the address as the block saw it (or its twin) */
    size_t distance;
    int where; /* -1 before, 0 inside, 1 after */
} match_t;

/* Better of the current match and record r for address a: inside a block
 * first (the most recently freed one wins, as the table is searched newest
 * first), then the nearest edge, live blocks before freed ones. */
static void consider(match_t *best, const record_t *r, uintptr_t a)
{
    match_t m = {r, a, a - r->user, 0}; /* inside: the offset */
    if (a < r->user) {
        m.where = -1, m.distance = r->user - a;
    } else if (a >= r->user + r->size) {
        m.where = 1, m.distance = a - (r->user + r->size);
    }
    if (!best->record) {
        *best = m;
        return;
    }
    bool in = m.where == 0, best_in = best->where == 0;
    if (in != best_in) {
        if (in) {
            *best = m;
        }
        return;
    }
    if (in) {
        return; /* keep the newer */
    }
    if (m.distance < best->distance ||
        (m.distance == best->distance && !r->freed && best->record->freed)) {
        *best = m;
    }
}

static bool in_tracked(uintptr_t a)
{
    for (size_t i = 0; i < view.range_count; ++i) {
        if (a >= view.ranges[i].start && a < view.ranges[i].end) {
            return true;
        }
    }
    return false;
}

/* Output without stdio (we are inside ASan's report). */
static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *format, ...)
{
    char line[1024];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    if (n < 0) {
        return;
    }
    size_t length = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    for (size_t done = 0; done < length;) {
        ssize_t wrote = write(STDERR_FILENO, line + done, length - done);
        if (wrote <= 0) {
            return;
        }
        done += (size_t)wrote;
    }
}

static void print_stack(void *const *stack, unsigned depth)
{
    unsigned frame = 0;
    for (unsigned i = 0; i < depth; ++i) {
        /* Return addresses: the call is the instruction before. */
        void *pc = (char *)stack[i] - 1;
        char text[2048];
        text[0] = '\0';
        if (__sanitizer_symbolize_pc) {
            __sanitizer_symbolize_pc(pc, "%F %L", text, sizeof(text));
        }
        if (!text[0]) {
            say("    #%u %p\n", frame++, stack[i]);
            continue;
        }
        /* One string per inlined frame, then an empty one. */
        for (const char *s = text; *s && s < text + sizeof(text); s += strlen(s) + 1) {
            say("    #%u %p %s\n", frame++, stack[i], s);
        }
    }
}

static void report_callback(const char *report)
{
    (void)report;
    if (!__asan_get_report_address) {
        return;
    }
    uintptr_t a = (uintptr_t)__asan_get_report_address();
    /* Never wait for the table: its holder might be this very thread. */
    if (pthread_mutex_trylock(&view.lock) != 0) {
        say("heapcaps: (the block table is busy: no block description)\n");
        return;
    }
    span_t twin = alias_twin(a, a + 1);
    if (!in_tracked(a) && !(twin.end && in_tracked(twin.start))) {
        pthread_mutex_unlock(&view.lock);
        return; /* not the emulated heaps' memory */
    }
    match_t best = {NULL, 0, 0, 0};
    for (unsigned i = 0; i < FREED_KEPT; ++i) {
        /* newest first */
        const record_t *r = view.freed[(view.freed_next + FREED_KEPT - 1 - i) % FREED_KEPT];
        if (r) {
            consider(&best, r, a);
            if (twin.end) {
                consider(&best, r, twin.start);
            }
        }
    }
    for (unsigned b = 0; b < BUCKETS; ++b) {
        for (const record_t *r = view.live[b]; r; r = r->next) {
            consider(&best, r, a);
            if (twin.end) {
                consider(&best, r, twin.start);
            }
        }
    }
    uint32_t chip = heapcaps_emu_chip_address((void *)a);
    char chip_text[48] = "";
    if (chip && chip != a) {
        snprintf(chip_text, sizeof(chip_text), " (chip address 0x%08x)", (unsigned)chip);
    }
    heap_t *heap = heapcaps_find_heap((void *)a);
    if (!heap && twin.end) {
        heap = heapcaps_find_heap((void *)twin.start);
    }
    const char *heap_name = heap && heap->name ? heap->name : "?";
    const size_t near = 64; /* farther than this from any block: not about a block */
    if (!best.record || (best.where != 0 && best.distance > near)) {
        say("heapcaps: %p%s is in heap %s of the emulated chip, in no block handed out "
            "(free memory or allocator metadata)\n",
            (void *)a, chip_text, heap_name);
        pthread_mutex_unlock(&view.lock);
        return;
    }
    const record_t *r = best.record;
    const char *kind = r->freed && best.where == 0 ? "heap-use-after-free"
                       : best.where == 0           ? "access to a live block"
                       : best.where < 0            ? "heap-buffer-underflow"
                       : r->freed                  ? "access next to a freed block"
                                                   : "heap-buffer-overflow";
    const char *relation = best.where < 0 ? "before" : best.where > 0 ? "after" : "inside";
    say("heapcaps: %s in the emulated chip's heap: %p%s is %zu bytes %s a %zu-byte %sblock "
        "[%p, %p) in heap %s%s\n",
        kind, (void *)a, chip_text, best.distance, relation, r->size, r->freed ? "freed " : "",
        (void *)r->user, (void *)(r->user + r->size), r->heap_name ? r->heap_name : heap_name,
        best.address != a ? " (seen through its alias)" : "");
    say("heapcaps: allocated at:\n");
    print_stack(r->alloc_stack, r->alloc_depth);
    if (r->freed) {
        say("heapcaps: freed at:\n");
        print_stack(r->free_stack, r->free_depth);
    }
    pthread_mutex_unlock(&view.lock);
}
