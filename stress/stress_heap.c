/*
 * stress_heap.c — concurrency stress with exact accounting.
 *
 * 2 to 16 worker threads run a random mix of allocations (malloc, calloc,
 * realloc, aligned, preference lists, the malloc() policy) and frees on
 * shared heaps; a block may be handed to another thread through a shared
 * queue and freed or reallocated there. Every block carries a pattern that
 * depends on its seed and on the offset, written after allocation and
 * checked before every realloc and free (and by the checker).
 *
 * Two levels: multi_heap (several heaps of host memory, each with its own
 * lock) and heap_caps (an emulated ESP32-S3 or ESP32 with PSRAM and memory
 * protection off, so that EXEC allocations exist, over caps and preference
 * lists).
 *
 * Every --check-every operations all threads stop at a barrier and the main
 * thread compares the threads' model (their live blocks, and the queue's)
 * with what the heaps say, exactly: every used block of every heap is a
 * model block or was there at the start; per heap the free bytes equal the
 * initial free bytes less what the model's blocks take (block + header), and
 * the allocated bytes and block counts match; per caps mask the same through
 * heap_caps_get_free_size() and heap_caps_get_info(); multi_heap_check()
 * passes. With task tracking each thread's statistics equal its blocks (to
 * the record); with tracing the leak records equal the live allocations. At
 * the end (threads joined, everything freed) everything is back to the
 * start. An observer thread meanwhile runs the locked queries and checks the
 * per-heap identity free + allocated + headers + overhead = region size on
 * every consistent snapshot a query returns.
 *
 * Exit status 0 when every check passed, 1 on any mismatch (with a message
 * naming the heap, caps or block), 2 on bad arguments. See docs/stress.md.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* pthread_setname_np */

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp_heap_caps.h"
#include "esp_heap_task_info.h"
#include "esp_heap_trace.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "heapcaps/lock.h"
#include "heapcaps/multi_heap_ext.h"
#include "multi_heap.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

enum {
    MIN_THREADS = 2,
    MAX_THREADS = 16,
    SLOTS = 48,           /* live blocks a thread holds at most */
    QUEUE_PER_THREAD = 8, /* hand-off queue room per thread */
    MAX_HEAPS = 32,
    MAX_REPORTS = 40, /* mismatch lines printed before going quiet */
    LARGE = 128 * 1024,
};

/* ================================================================ options */

static struct {
    unsigned threads;
    unsigned long ops; /* per thread */
    uint64_t seed;
    bool multi_heap, heap_caps;
    unsigned long check_every; /* 0: ops / 20, at least 500 */
    const char *chip;
    size_t psram;
    bool observer;
    bool locked_queries_only;
    bool warm_up;
    bool verbose;
} opt = {4, 20000, 1, true, true, 0, "esp32s3", 2 * 1024 * 1024, true, false, false, false};

static void usage(FILE *out)
{
    fprintf(out, "usage: stress_heap [options]\n"
                 "  --threads N        worker threads, 2-16 (default 4)\n"
                 "  --ops N            operations per thread (default 20000; k and M suffixes)\n"
                 "  --seed S           random seed (default 1)\n"
                 "  --level L          multi_heap, heap_caps or both (default both)\n"
                 "  --check-every N    operations per thread between two barrier checks\n"
                 "                     (default ops/20, at least 500)\n"
                 "  --chip C           heap_caps level: esp32s3 (default) or esp32\n"
                 "  --psram BYTES      PSRAM of the emulated chip (default 2M; k and M suffixes)\n"
                 "  --no-observer      no observer thread running queries during the run\n"
                 "  --locked-queries-only  the observer leaves out the queries that read\n"
                 "                     counters as relaxed C11 atomics, without a lock (for\n"
                 "                     Helgrind, which does not see C11 atomics)\n"
                 "  --warm-up          build every caps route from the main thread first\n"
                 "                     (for Helgrind, which does not see C11 atomics)\n"
                 "  --verbose          a line per check\n"
                 "Exit status: 0 all checks passed, 1 a mismatch, 2 bad arguments.\n");
}

static bool parse_count(const char *text, unsigned long long unit_k, unsigned long long *out)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 0);
    if (end == text) {
        return false;
    }
    if (*end == 'k' || *end == 'K') {
        value *= unit_k;
        end++;
    } else if (*end == 'M') {
        value *= unit_k * unit_k;
        end++;
    }
    *out = value;
    return *end == '\0' && text[0] != '-';
}

static int parse_options(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long number;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(arg, "--no-observer") == 0) {
            opt.observer = false;
        } else if (strcmp(arg, "--locked-queries-only") == 0) {
            opt.locked_queries_only = true;
        } else if (strcmp(arg, "--warm-up") == 0) {
            opt.warm_up = true;
        } else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
            opt.verbose = true;
        } else if (!value) {
            fprintf(stderr, "stress_heap: unknown option or missing value: %s\n", arg);
            return 2;
        } else if (strcmp(arg, "--threads") == 0) {
            if (!parse_count(value, 1000, &number) || number < MIN_THREADS ||
                number > MAX_THREADS) {
                fprintf(stderr, "stress_heap: --threads takes 2 to 16, not %s\n", value);
                return 2;
            }
            opt.threads = (unsigned)number;
            ++i;
        } else if (strcmp(arg, "--ops") == 0) {
            if (!parse_count(value, 1000, &number) || number == 0) {
                fprintf(stderr, "stress_heap: --ops takes a positive number, not %s\n", value);
                return 2;
            }
            opt.ops = (unsigned long)number;
            ++i;
        } else if (strcmp(arg, "--check-every") == 0) {
            if (!parse_count(value, 1000, &number) || number == 0) {
                fprintf(stderr, "stress_heap: --check-every takes a positive number\n");
                return 2;
            }
            opt.check_every = (unsigned long)number;
            ++i;
        } else if (strcmp(arg, "--seed") == 0) {
            if (!parse_count(value, 1000, &number)) {
                fprintf(stderr, "stress_heap: --seed takes a number, not %s\n", value);
                return 2;
            }
            opt.seed = number;
            ++i;
        } else if (strcmp(arg, "--level") == 0) {
            opt.multi_heap = strcmp(value, "multi_heap") == 0 || strcmp(value, "both") == 0;
            opt.heap_caps = strcmp(value, "heap_caps") == 0 || strcmp(value, "both") == 0;
            if (!opt.multi_heap && !opt.heap_caps) {
                fprintf(stderr, "stress_heap: --level takes multi_heap, heap_caps or both\n");
                return 2;
            }
            ++i;
        } else if (strcmp(arg, "--chip") == 0) {
            if (strcmp(value, "esp32s3") != 0 && strcmp(value, "esp32") != 0) {
                fprintf(stderr, "stress_heap: --chip takes esp32s3 or esp32, not %s\n", value);
                return 2;
            }
            opt.chip = value;
            ++i;
        } else if (strcmp(arg, "--psram") == 0) {
            if (!parse_count(value, 1024, &number) || number < 64 * 1024) {
                fprintf(stderr, "stress_heap: --psram takes a size of at least 64k\n");
                return 2;
            }
            opt.psram = (size_t)number;
            ++i;
        } else {
            fprintf(stderr, "stress_heap: unknown option %s (see --help)\n", arg);
            return 2;
        }
    }
    return 0;
}

/* ================================================================ reporting */

static atomic_bool failed;
static atomic_uint reports;

/* A mismatch or a broken block: printed (up to MAX_REPORTS lines) and the
 * run fails. Safe from any thread. */
__attribute__((format(printf, 1, 2))) static void problem(const char *format, ...)
{
    atomic_store(&failed, true);
    unsigned n = atomic_fetch_add(&reports, 1);
    if (n > MAX_REPORTS) {
        return;
    }
    char line[600];
    if (n == MAX_REPORTS) {
        snprintf(line, sizeof(line), "(more problems not shown)");
    } else {
        va_list args;
        va_start(args, format);
        vsnprintf(line, sizeof(line), format, args);
        va_end(args);
    }
    fprintf(stderr, "stress_heap: %s\n", line);
}

static bool any_problem(void)
{
    return atomic_load_explicit(&failed, memory_order_relaxed);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ================================================================ random numbers, patterns */

typedef struct {
    uint64_t state;
} rng_t;

static uint64_t rng_next(rng_t *r) /* splitmix64 */
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t rng_below(rng_t *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* Mostly small requests, some medium, a few large ones that exhaust the
 * small heaps (failed allocations must leave the accounting unchanged). */
static size_t random_size(rng_t *r)
{
    uint64_t pick = rng_below(r, 1000);
    if (pick < 700) {
        return 1 + (size_t)rng_below(r, 128);
    }
    if (pick < 900) {
        return 129 + (size_t)rng_below(r, 1920);
    }
    if (pick < 990) {
        return 2049 + (size_t)rng_below(r, 14336);
    }
    return 16385 + (size_t)rng_below(r, LARGE - 16384);
}

/* The pattern of a block: word i of the block is pattern_word(seed, i),
 * so it depends on the block (seed) and on the offset, and a realloc keeps
 * a valid prefix. Accessed through memcpy: blocks are only 4-byte aligned
 * on some paths (ESP32's EXEC alias). */
static inline uint64_t pattern_word(uint64_t seed, size_t index)
{
    uint64_t x = seed + (uint64_t)index * 0x9E3779B97F4A7C15u;
    return x ^ (x >> 31);
}

static inline unsigned char pattern_byte(uint64_t seed, size_t offset)
{
    uint64_t word = pattern_word(seed, offset / 8);
    unsigned char bytes[8];
    memcpy(bytes, &word, sizeof(bytes));
    return bytes[offset % 8];
}

static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t i = from;
    for (; i < to && i % 8; ++i) {
        p[i] = pattern_byte(seed, i);
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t word = pattern_word(seed, i / 8);
        memcpy(p + i, &word, sizeof(word));
    }
    for (; i < to; ++i) {
        p[i] = pattern_byte(seed, i);
    }
}

/* Offset of the first byte of [0, size) that is not the pattern, or size. */
static size_t first_bad(const unsigned char *p, size_t size, uint64_t seed)
{
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, sizeof(word));
        if (word != pattern_word(seed, i / 8)) {
            break;
        }
    }
    for (; i < size; ++i) {
        if (p[i] != pattern_byte(seed, i)) {
            return i;
        }
    }
    return size;
}

static bool all_zero(const unsigned char *p, size_t size)
{
    for (size_t i = 0; i < size; ++i) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* ================================================================ the model */

/* One live block as its holder knows it. */
typedef struct {
    unsigned char *p; /* what the allocator returned; NULL: empty slot */
    size_t size;      /* bytes asked for, all of them carrying the pattern */
    uint64_t seed;
    uint32_t caps;  /* heap_caps level: the caps asked for (0: malloc() policy, lists) */
    uint16_t heap;  /* multi_heap level: index of its heap */
    uint16_t owner; /* worker that allocated or last reallocated it (the task charged) */
    size_t charged; /* multi_heap level: free bytes it took from its heap */
} block_t;

typedef enum {
    OP_MALLOC,
    OP_CALLOC,
    OP_ALIGNED,
    OP_PREFER,
    OP_DEFAULT,
    OP_REALLOC,
    OP_FREE,
    OP_HANDOFF,
    OP_ADOPT,
    OP_KINDS
} op_kind_t;

static const char *const op_names[OP_KINDS] = {
    "malloc", "calloc", "aligned", "prefer", "default", "realloc", "free", "hand-off", "adopt",
};

typedef struct {
    unsigned long ops[OP_KINDS];
    unsigned long failed_allocs; /* NULL from an allocation (heap full): fine */
    unsigned long foreign_frees; /* freed a block another thread allocated */
    unsigned long moved;         /* reallocs that returned another address */
} stats_t;

typedef struct {
    pthread_t thread;
    unsigned index;
    rng_t rng;
    block_t slots[SLOTS];
    unsigned live;
    stats_t stats;
} worker_t;

/* Blocks on their way from one thread to another. */
static struct {
    pthread_mutex_t lock;
    block_t *entries;
    size_t capacity, head, count;
} queue;

static bool queue_push(const block_t *b)
{
    pthread_mutex_lock(&queue.lock);
    bool pushed = queue.count < queue.capacity;
    if (pushed) {
        queue.entries[(queue.head + queue.count++) % queue.capacity] = *b;
    }
    pthread_mutex_unlock(&queue.lock);
    return pushed;
}

static bool queue_pop(block_t *out)
{
    pthread_mutex_lock(&queue.lock);
    bool popped = queue.count > 0;
    if (popped) {
        *out = queue.entries[queue.head];
        queue.head = (queue.head + 1) % queue.capacity;
        queue.count--;
    }
    pthread_mutex_unlock(&queue.lock);
    return popped;
}

/* ================================================================ heaps and constants */

/* What one allocation costs a heap beyond the block's full size, and what the
 * public figures leave out (the poisoning canaries in Light and
 * Comprehensive builds), measured through the API on a scratch heap. */
static struct {
    size_t header;      /* free bytes a block takes beyond multi_heap_get_full_block_size() */
    size_t poison_free; /* raw free bytes - multi_heap_free_size() */
    size_t poison_info; /* full size - what get_info counts as allocated, per block */
} cal;

typedef struct {
    multi_heap_handle_t handle;
    uintptr_t start, end; /* the region registered (handle == start) */
    size_t raw_initial;   /* free bytes at the start, before the reporting offset */
    size_t info_alloc0;   /* get_info's allocated bytes at the start */
    size_t blocks0;       /* used blocks at the start */
    uint32_t cap_bits;    /* bit i: counted in check_caps[i] */
    size_t observed_min;  /* observer only: the lowest minimum free seen */
} heap_desc_t;

typedef enum { LEVEL_MULTI_HEAP, LEVEL_HEAP_CAPS } level_t;

/* The caps masks checked at every barrier (heap_caps level). */
static const struct {
    uint32_t caps;
    const char *name;
} check_caps[] = {
    {0, "all"},
    {MALLOC_CAP_DEFAULT, "DEFAULT"},
    {MALLOC_CAP_INTERNAL, "INTERNAL"},
    {MALLOC_CAP_8BIT, "8BIT"},
    {MALLOC_CAP_32BIT, "32BIT"},
    {MALLOC_CAP_DMA, "DMA"},
    {MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL, "DMA|INTERNAL"},
    {MALLOC_CAP_EXEC, "EXEC"},
    {MALLOC_CAP_SPIRAM, "SPIRAM"},
    {MALLOC_CAP_RTCRAM, "RTCRAM"},
    {MALLOC_CAP_IRAM_8BIT, "IRAM_8BIT"},
    {MALLOC_CAP_SIMD, "SIMD"},
};

/* The caps the workers allocate with (those the chip has). */
static const uint32_t alloc_caps_wanted[] = {
    MALLOC_CAP_DEFAULT,
    MALLOC_CAP_8BIT,
    MALLOC_CAP_32BIT,
    MALLOC_CAP_DMA,
    MALLOC_CAP_INTERNAL,
    MALLOC_CAP_SPIRAM,
    MALLOC_CAP_EXEC,
    MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT,
    MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
    MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT,
    MALLOC_CAP_RTCRAM,
    MALLOC_CAP_IRAM_8BIT,
    MALLOC_CAP_SIMD,
    MALLOC_CAP_SPIRAM | MALLOC_CAP_CACHE_ALIGNED,
};

/* Preference lists: first choice, then fallback. */
static const uint32_t prefer_wanted[][2] = {
    {MALLOC_CAP_SPIRAM, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT},
    {MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL, MALLOC_CAP_8BIT},
    {MALLOC_CAP_EXEC, MALLOC_CAP_32BIT},
    {MALLOC_CAP_RTCRAM, MALLOC_CAP_DEFAULT},
    {MALLOC_CAP_IRAM_8BIT, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT},
};

/* A used block of a heap as the walk reports it. */
typedef struct {
    uintptr_t ptr;
    size_t size;
    unsigned heap;
    bool claimed;  /* by a model block, in this check */
    bool baseline; /* there at the start */
} used_t;

static struct {
    level_t level;
    unsigned long check_every, rounds;
    worker_t *workers;
    heap_desc_t heaps[MAX_HEAPS];
    size_t heap_count;
    /* multi_heap level: host regions and their locks */
    void *regions[MAX_HEAPS];
    heapcaps_lock_t locks[MAX_HEAPS];
    /* heap_caps level */
    uint32_t alloc_caps[COUNT(alloc_caps_wanted)];
    size_t alloc_caps_count;
    uint32_t prefer[COUNT(prefer_wanted)][2];
    size_t prefer_count;
    size_t cap_initial[COUNT(check_caps)]; /* heap_caps_get_free_size() at the start */
    used_t *baseline;                      /* used blocks at the start, by address */
    size_t baseline_count;
    /* the rounds */
    pthread_barrier_t pause, resume;
    atomic_ulong finished; /* rounds finished, summed over the workers */
    bool stop;             /* set by the checker between the two barriers */
    unsigned checks;
    double check_seconds;
#ifdef CONFIG_HEAP_TASK_TRACKING
    size_t main_usage0, main_count0; /* the main thread's statistics at the start */
#endif
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    heap_trace_record_t *trace_records;
    size_t trace_capacity;
#endif
} run;

static atomic_ulong failed_alloc_callbacks;

static void count_failed_alloc(size_t size, uint32_t caps, const char *function_name)
{
    (void)size, (void)caps, (void)function_name;
    atomic_fetch_add_explicit(&failed_alloc_callbacks, 1, memory_order_relaxed);
}

static size_t reported_free(size_t raw)
{
    return raw > cal.poison_free ? raw - cal.poison_free : 0;
}

static bool calibrate(void)
{
    enum { SIZE = 64 * 1024 };
    void *region = aligned_alloc(64, SIZE);
    multi_heap_handle_t heap = region ? multi_heap_register(region, SIZE) : NULL;
    if (!heap) {
        fprintf(stderr, "stress_heap: cannot register a scratch heap\n");
        free(region);
        return false;
    }
    size_t raw = SIZE - heapcaps_multi_heap_overhead(heap);
    size_t before = multi_heap_free_size(heap);
    void *p = multi_heap_malloc(heap, 100);
    size_t full = multi_heap_get_full_block_size(heap, p);
    size_t after = multi_heap_free_size(heap);
    multi_heap_info_t info;
    multi_heap_get_info(heap, &info);
    cal.poison_free = raw - before;
    cal.header = before - after - full;
    cal.poison_info = full - info.total_allocated_bytes;
    multi_heap_free(heap, p);
    bool ok = p && info.allocated_blocks == 1 && multi_heap_free_size(heap) == before &&
              full >= 100 && before > after;
    free(region);
    if (!ok) {
        fprintf(stderr, "stress_heap: the scratch heap does not account as expected\n");
    }
    return ok;
}

/* The innermost heap whose region holds address a (heaps can be nested: the
 * DMA reserve pool is a block of another heap), or -1. */
static int heap_of_address(uintptr_t a)
{
    int best = -1;
    for (size_t i = 0; i < run.heap_count; ++i) {
        const heap_desc_t *h = &run.heaps[i];
        if (a >= h->start && a < h->end &&
            (best < 0 || h->end - h->start < run.heaps[best].end - run.heaps[best].start)) {
            best = (int)i;
        }
    }
    return best;
}

/* ================================================================ worker helpers */

static int free_slot(worker_t *w)
{
    if (w->live == SLOTS) {
        return -1;
    }
    unsigned start = (unsigned)rng_below(&w->rng, SLOTS);
    for (unsigned i = 0; i < SLOTS; ++i) {
        unsigned s = (start + i) % SLOTS;
        if (!w->slots[s].p) {
            return (int)s;
        }
    }
    return -1;
}

static int used_slot(worker_t *w)
{
    if (!w->live) {
        return -1;
    }
    unsigned start = (unsigned)rng_below(&w->rng, SLOTS);
    for (unsigned i = 0; i < SLOTS; ++i) {
        unsigned s = (start + i) % SLOTS;
        if (w->slots[s].p) {
            return (int)s;
        }
    }
    return -1;
}

/* False (and reported) if b's first upto bytes are not its pattern: the
 * caller then forgets the block (never frees it: the heap may be damaged). */
static bool intact(const worker_t *w, const block_t *b, size_t upto, const char *when)
{
    size_t bad = first_bad(b->p, upto, b->seed);
    if (bad == upto) {
        return true;
    }
    problem("worker %u: block %p (%zu bytes, caps 0x%x, allocated by worker %u) differs from "
            "its pattern at byte %zu %s",
            w->index, (void *)b->p, b->size, (unsigned)b->caps, (unsigned)b->owner, bad, when);
    return false;
}

static uint64_t new_seed(worker_t *w)
{
    return rng_next(&w->rng) | 1;
}

/* ================================================================ multi_heap level */

/* The bytes a block takes from its heap's free count, and checks of its
 * sizes against the request. */
static size_t mh_charge(const worker_t *w, const block_t *b)
{
    multi_heap_handle_t heap = run.heaps[b->heap].handle;
    size_t full = multi_heap_get_full_block_size(heap, b->p);
    size_t usable = multi_heap_get_allocated_size(heap, b->p);
    if (usable < b->size || full < usable) {
        problem("worker %u: heap %u block %p of %zu bytes: usable size %zu, full size %zu",
                w->index, (unsigned)b->heap, (void *)b->p, b->size, usable, full);
    }
    return full + cal.header;
}

static void mh_allocate(worker_t *w, int slot, bool aligned)
{
    unsigned h = (unsigned)rng_below(&w->rng, run.heap_count);
    multi_heap_handle_t heap = run.heaps[h].handle;
    size_t size = random_size(&w->rng);
    size_t alignment = (size_t)8 << rng_below(&w->rng, 7);
    unsigned char *p =
        aligned ? multi_heap_aligned_alloc(heap, size, alignment) : multi_heap_malloc(heap, size);
    w->stats.ops[aligned ? OP_ALIGNED : OP_MALLOC]++;
    if (!p) {
        w->stats.failed_allocs++;
        return;
    }
    if (aligned && (uintptr_t)p % alignment) {
        problem("worker %u: multi_heap_aligned_alloc(heap %u, %zu, %zu) returned %p", w->index, h,
                size, alignment, (void *)p);
    }
    block_t *b = &w->slots[slot];
    *b = (block_t){p, size, new_seed(w), 0, (uint16_t)h, (uint16_t)w->index, 0};
    b->charged = mh_charge(w, b);
    fill(p, 0, size, b->seed);
    w->live++;
}

/* Free b (held by w): multi_heap_free, or realloc to 0 bytes. */
static void mh_release(worker_t *w, block_t *b)
{
    if (!intact(w, b, b->size, "before free")) {
        b->p = NULL;
        return;
    }
    multi_heap_handle_t heap = run.heaps[b->heap].handle;
    size_t charge = mh_charge(w, b);
    if (charge != b->charged) {
        problem("worker %u: block %p of heap %u took %zu bytes, now %zu", w->index, (void *)b->p,
                (unsigned)b->heap, b->charged, charge);
    }
    if (b->owner != w->index) {
        w->stats.foreign_frees++;
    }
    if (rng_below(&w->rng, 8) == 0) {
        void *q = multi_heap_realloc(heap, b->p, 0);
        if (q) {
            problem("worker %u: multi_heap_realloc(%p, 0) returned %p", w->index, (void *)b->p, q);
        }
    } else {
        multi_heap_free(heap, b->p);
    }
    w->stats.ops[OP_FREE]++;
    b->p = NULL;
}

static void mh_reallocate(worker_t *w, block_t *b)
{
    size_t size =
        rng_below(&w->rng, 2) ? random_size(&w->rng) : 1 + (size_t)rng_below(&w->rng, b->size);
    if (!intact(w, b, b->size, "before realloc")) {
        b->p = NULL;
        return;
    }
    w->stats.ops[OP_REALLOC]++;
    unsigned char *q = multi_heap_realloc(run.heaps[b->heap].handle, b->p, size);
    if (!q) {
        w->stats.failed_allocs++;
        if (!intact(w, b, b->size, "after a failed realloc")) {
            b->p = NULL;
        }
        return;
    }
    w->stats.moved += q != b->p;
    size_t kept = size < b->size ? size : b->size;
    b->p = q;
    if (!intact(w, b, kept, "after realloc (the kept part)")) {
        b->p = NULL;
        return;
    }
    fill(q, kept, size, b->seed);
    b->size = size;
    b->owner = (uint16_t)w->index;
    b->charged = mh_charge(w, b);
}

/* ================================================================ heap_caps level */

static bool in_rtc(const void *p)
{
    return esp_ptr_in_rtc_dram_fast(p) || esp_ptr_in_rtc_iram_fast(p) || esp_ptr_in_rtc_slow(p);
}

/* What is wrong with p for a request with caps, or NULL. A realloc in place
 * keeps a D/IRAM block at its data address even with EXEC (as ESP-IDF). */
static const char *caps_violation(const void *p, uint32_t caps)
{
    if ((caps & MALLOC_CAP_SPIRAM) && !esp_ptr_external_ram(p)) {
        return "not in PSRAM";
    }
    if ((caps & MALLOC_CAP_INTERNAL) && !esp_ptr_internal(p)) {
        return "not internal";
    }
    if ((caps & MALLOC_CAP_DMA) && !(caps & MALLOC_CAP_SPIRAM) && !esp_ptr_dma_capable(p)) {
        return "not DMA-capable";
    }
    if ((caps & MALLOC_CAP_EXEC) && !esp_ptr_executable(p) && !esp_ptr_in_diram_iram(p) &&
        !esp_ptr_in_diram_dram(p) && !esp_ptr_in_rtc_iram_fast(p)) {
        return "not executable memory";
    }
    if ((caps & MALLOC_CAP_RTCRAM) && !in_rtc(p)) {
        return "not RTC memory";
    }
    return NULL;
}

static uint32_t random_caps(worker_t *w)
{
    return run.alloc_caps[rng_below(&w->rng, run.alloc_caps_count)];
}

/* Checks of a fresh heap_caps allocation of size bytes; `caps` 0 for the
 * malloc() policy, else the caps (a preference list checks either). */
static void hc_check_new(worker_t *w, const unsigned char *p, size_t size, uint32_t caps,
                         uint32_t either, const char *function)
{
    const char *wrong = caps ? caps_violation(p, caps) : NULL;
    if (wrong && either) {
        wrong = caps_violation(p, either);
    }
    if (wrong) {
        problem("worker %u: %s(%zu, caps 0x%x%s) returned %p: %s", w->index, function, size,
                (unsigned)caps, either ? " or the next" : "", (const void *)p, wrong);
    }
    size_t usable = heap_caps_get_allocated_size((void *)p);
    if (usable < size) {
        problem("worker %u: %s(%zu) returned %p with usable size %zu", w->index, function, size,
                (const void *)p, usable);
    }
    /* The containing-block lookup is for data addresses (not EXEC aliases). */
    if (!((caps | either) & MALLOC_CAP_EXEC) &&
        heap_caps_get_containing_block_size((void *)(p + size - 1)) < size) {
        problem("worker %u: %s: the block containing %p is smaller than %zu", w->index, function,
                (const void *)p, size);
    }
}

static void hc_allocate(worker_t *w, int slot, op_kind_t kind)
{
    size_t size = random_size(&w->rng);
    uint32_t caps = random_caps(w);
    uint32_t either = 0;
    const char *function = "heap_caps_malloc";
    unsigned char *p = NULL;
    bool zeroed = false;
    size_t n = 1 + (size_t)rng_below(&w->rng, 4);
    size_t element = (size + n - 1) / n;
    switch (kind) {
    case OP_MALLOC:
        p = heap_caps_malloc(size, caps);
        break;
    case OP_CALLOC:
        size = n * element;
        p = heap_caps_calloc(n, element, caps);
        zeroed = true;
        function = "heap_caps_calloc";
        break;
    case OP_ALIGNED: {
        /* Not with EXEC: the alias path ignores the alignment (as ESP-IDF's). */
        caps &= ~(uint32_t)MALLOC_CAP_EXEC;
        caps = caps ? caps : MALLOC_CAP_32BIT;
        size_t alignment = (size_t)4 << rng_below(&w->rng, 7);
        if (rng_below(&w->rng, 3) == 0) {
            size = n * element;
            p = heap_caps_aligned_calloc(alignment, n, element, caps);
            zeroed = true;
            function = "heap_caps_aligned_calloc";
        } else {
            p = heap_caps_aligned_alloc(alignment, size, caps);
            function = "heap_caps_aligned_alloc";
        }
        if (p && (uintptr_t)p % alignment) {
            problem("worker %u: %s(%zu, %zu, caps 0x%x) returned %p", w->index, function, alignment,
                    size, (unsigned)caps, (void *)p);
        }
        break;
    }
    case OP_PREFER: {
        const uint32_t *pair = run.prefer[rng_below(&w->rng, run.prefer_count)];
        caps = pair[0];
        either = pair[1];
        if (rng_below(&w->rng, 3) == 0) {
            size = n * element;
            p = heap_caps_calloc_prefer(n, element, 2, pair[0], pair[1]);
            zeroed = true;
            function = "heap_caps_calloc_prefer";
        } else {
            p = heap_caps_malloc_prefer(size, 2, pair[0], pair[1]);
            function = "heap_caps_malloc_prefer";
        }
        break;
    }
    default: /* OP_DEFAULT: the malloc() policy (PSRAM above 16 KiB) */
        caps = 0;
        p = heap_caps_malloc_default(size);
        function = "heap_caps_malloc_default";
        break;
    }
    w->stats.ops[kind]++;
    if (!p) {
        w->stats.failed_allocs++;
        return;
    }
    if (zeroed && !all_zero(p, size)) {
        problem("worker %u: %s returned %p with non-zero bytes", w->index, function, (void *)p);
    }
    hc_check_new(w, p, size, caps, either, function);
    block_t *b = &w->slots[slot];
    *b = (block_t){p, size, new_seed(w), either ? 0 : caps, 0, (uint16_t)w->index, 0};
    fill(p, 0, size, b->seed);
    w->live++;
}

static void hc_release(worker_t *w, block_t *b)
{
    if (!intact(w, b, b->size, "before free")) {
        b->p = NULL;
        return;
    }
    if (b->owner != w->index) {
        w->stats.foreign_frees++;
    }
    if (rng_below(&w->rng, 8) == 0) {
        void *q = heap_caps_realloc(b->p, 0, MALLOC_CAP_8BIT);
        if (q) {
            problem("worker %u: heap_caps_realloc(%p, 0) returned %p", w->index, (void *)b->p, q);
        }
    } else {
        heap_caps_free(b->p);
    }
    w->stats.ops[OP_FREE]++;
    b->p = NULL;
}

static void hc_reallocate(worker_t *w, block_t *b)
{
    size_t size =
        rng_below(&w->rng, 2) ? random_size(&w->rng) : 1 + (size_t)rng_below(&w->rng, b->size);
    if (!intact(w, b, b->size, "before realloc")) {
        b->p = NULL;
        return;
    }
    w->stats.ops[OP_REALLOC]++;
    uint32_t caps = random_caps(w), either = 0;
    const char *function = "heap_caps_realloc";
    unsigned char *q;
    uint64_t pick = rng_below(&w->rng, 10);
    if (pick < 6) {
        q = heap_caps_realloc(b->p, size, caps);
    } else if (pick < 8) {
        const uint32_t *pair = run.prefer[rng_below(&w->rng, run.prefer_count)];
        caps = pair[0];
        either = pair[1];
        q = heap_caps_realloc_prefer(b->p, size, 2, pair[0], pair[1]);
        function = "heap_caps_realloc_prefer";
    } else {
        caps = 0;
        q = heap_caps_realloc_default(b->p, size);
        function = "heap_caps_realloc_default";
    }
    if (!q) {
        w->stats.failed_allocs++;
        if (!intact(w, b, b->size, "after a failed realloc")) {
            b->p = NULL;
        }
        return;
    }
    w->stats.moved += q != b->p;
    size_t kept = size < b->size ? size : b->size;
    b->p = q;
    if (!intact(w, b, kept, "after realloc (the kept part)")) {
        b->p = NULL;
        return;
    }
    hc_check_new(w, q, size, caps, either, function);
    fill(q, kept, size, b->seed);
    b->size = size;
    b->caps = either ? 0 : caps;
    b->owner = (uint16_t)w->index;
}

/* ================================================================ the operations */

static void release(worker_t *w, block_t *b)
{
    if (run.level == LEVEL_MULTI_HEAP) {
        mh_release(w, b);
    } else {
        hc_release(w, b);
    }
}

static void release_slot(worker_t *w, int slot)
{
    if (slot >= 0 && w->slots[slot].p) {
        release(w, &w->slots[slot]);
        w->live -= !w->slots[slot].p;
    }
}

static void allocate(worker_t *w, int slot, op_kind_t kind)
{
    if (run.level == LEVEL_MULTI_HEAP) {
        /* multi_heap has no calloc, preference lists or malloc() policy. */
        mh_allocate(w, slot, kind == OP_ALIGNED);
    } else {
        hc_allocate(w, slot, kind);
    }
}

static void reallocate(worker_t *w, block_t *b)
{
    if (run.level == LEVEL_MULTI_HEAP) {
        mh_reallocate(w, b);
    } else {
        hc_reallocate(w, b);
    }
}

/* A block popped from the queue: checked, then freed, reallocated or kept. */
static void adopt(worker_t *w)
{
    block_t b;
    if (!queue_pop(&b)) {
        int slot = free_slot(w);
        if (slot >= 0) {
            allocate(w, slot, OP_MALLOC);
        }
        return;
    }
    w->stats.ops[OP_ADOPT]++;
    if (!intact(w, &b, b.size, "when taken from the queue")) {
        return; /* forgotten */
    }
    uint64_t pick = rng_below(&w->rng, 100);
    int slot = free_slot(w);
    if (pick < 45 || slot < 0) {
        release(w, &b);
        return;
    }
    if (pick < 60) {
        reallocate(w, &b);
        if (!b.p) {
            return; /* damaged, forgotten */
        }
    }
    w->slots[slot] = b;
    w->live++;
}

static void hand_off(worker_t *w)
{
    int slot = used_slot(w);
    if (slot < 0) {
        adopt(w);
        return;
    }
    if (queue_push(&w->slots[slot])) {
        w->stats.ops[OP_HANDOFF]++;
        w->slots[slot].p = NULL;
        w->live--;
    } else {
        release_slot(w, slot);
    }
}

static void step(worker_t *w)
{
    bool caps_level = run.level == LEVEL_HEAP_CAPS;
    uint64_t pick = rng_below(&w->rng, 100);
    if (pick < 45) {
        int slot = free_slot(w);
        if (slot < 0) {
            release_slot(w, used_slot(w));
            return;
        }
        op_kind_t kind = OP_MALLOC;
        if (pick < 10) {
            kind = OP_ALIGNED;
        } else if (caps_level && pick < 18) {
            kind = OP_CALLOC;
        } else if (caps_level && pick < 24) {
            kind = OP_PREFER;
        } else if (caps_level && pick < 28) {
            kind = OP_DEFAULT;
        }
        allocate(w, slot, kind);
    } else if (pick < 60) {
        int slot = used_slot(w);
        if (slot < 0) {
            slot = free_slot(w);
            allocate(w, slot, OP_MALLOC);
            return;
        }
        reallocate(w, &w->slots[slot]);
        w->live -= !w->slots[slot].p; /* damaged, forgotten */
    } else if (pick < 80) {
        release_slot(w, used_slot(w));
    } else if (pick < 90) {
        hand_off(w);
    } else {
        adopt(w);
    }
}

/* Free what the thread holds, then help empty the queue. */
static void drain(worker_t *w)
{
    for (int s = 0; s < SLOTS; ++s) {
        release_slot(w, s);
    }
    block_t b;
    while (queue_pop(&b)) {
        release(w, &b);
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "stress-w%u", w->index);
    pthread_setname_np(pthread_self(), name);
    unsigned long done = 0;
    for (unsigned long round = 0; round < run.rounds; ++round) {
        unsigned long end = done + run.check_every < opt.ops ? done + run.check_every : opt.ops;
        for (; done < end && !any_problem(); ++done) {
            step(w);
        }
        done = end;
        atomic_fetch_add(&run.finished, 1);
        pthread_barrier_wait(&run.pause); /* the checker runs */
        pthread_barrier_wait(&run.resume);
        if (run.stop) {
            break;
        }
    }
    drain(w);
    return NULL;
}

/* ================================================================ the observer */

/* A locked query returns a consistent snapshot of one heap: the identity
 * free + allocated + headers + overhead = region size must hold in it. */
static void observe_heap(heap_desc_t *h, bool deep)
{
    multi_heap_info_t info;
    multi_heap_get_info(h->handle, &info);
    size_t region = h->end - h->start;
    if (info.total_free_bytes > 0) { /* else the reporting offset hides the raw figure */
        size_t sum = info.total_free_bytes + cal.poison_free + info.total_allocated_bytes +
                     (cal.poison_info + cal.header) * info.allocated_blocks +
                     heapcaps_multi_heap_overhead(h->handle);
        if (sum != region) {
            problem("observer: heap %p: free %zu + allocated %zu in %zu blocks + overhead "
                    "= %zu, not the region size %zu",
                    (void *)h->start, info.total_free_bytes, info.total_allocated_bytes,
                    info.allocated_blocks, sum, region);
        }
    }
    if (info.minimum_free_bytes > info.total_free_bytes) {
        problem("observer: heap %p: minimum free %zu above free %zu", (void *)h->start,
                info.minimum_free_bytes, info.total_free_bytes);
    }
    if (info.minimum_free_bytes > h->observed_min) {
        problem("observer: heap %p: minimum free rose from %zu to %zu", (void *)h->start,
                h->observed_min, info.minimum_free_bytes);
    }
    h->observed_min = info.minimum_free_bytes;
    if (info.largest_free_block > info.total_free_bytes) {
        problem("observer: heap %p: largest free block %zu above free %zu", (void *)h->start,
                info.largest_free_block, info.total_free_bytes);
    }
    if (deep && !multi_heap_check(h->handle, true)) {
        problem("observer: multi_heap_check(%p) failed during the run", (void *)h->start);
    }
}

static volatile size_t observed_sink; /* keeps the query results alive */

static void observe_once(unsigned long n)
{
    heap_desc_t *h = &run.heaps[n % run.heap_count];
    observe_heap(h, n % 16 == 0);
    if (!opt.locked_queries_only) {
        /* These read a heap's counters without the lock the allocating
         * threads write them under (relaxed atomics in the library). */
        observed_sink = multi_heap_free_size(h->handle) + multi_heap_minimum_free_size(h->handle);
    }
    if (run.level != LEVEL_HEAP_CAPS) {
        return;
    }
    multi_heap_info_t info;
    switch (n % 8) {
    case 1:
        heap_caps_get_info(&info, MALLOC_CAP_8BIT);
        if (info.largest_free_block > info.total_free_bytes) {
            problem("observer: heap_caps_get_info(8BIT): largest %zu above free %zu",
                    info.largest_free_block, info.total_free_bytes);
        }
        break;
    case 3:
        observed_sink = heap_caps_get_largest_free_block(MALLOC_CAP_DMA);
        break;
    case 5:
        if (n % 64 == 5 && !heap_caps_check_integrity_all(true)) {
            problem("observer: heap_caps_check_integrity_all failed during the run");
        }
        break;
    case 7: {
#ifdef CONFIG_HEAP_TASK_TRACKING
        task_stat_t tasks[MAX_THREADS + 4];
        heap_all_tasks_stat_t all = {COUNT(tasks), tasks, 0, NULL, 0, NULL};
        if (heap_caps_get_all_task_stat(&all) != ESP_OK) {
            problem("observer: heap_caps_get_all_task_stat failed during the run");
        }
        /* Reads owner words of blocks other threads are allocating. */
        heap_task_totals_t totals[MAX_THREADS + 4];
        size_t used = 0;
        heap_task_info_params_t params = {{0}, {0}, NULL, 0, totals, &used, COUNT(totals), NULL, 0};
        observed_sink = heap_caps_get_per_task_info(&params);
#endif
#ifdef CONFIG_HEAP_TRACING_STANDALONE
        heap_trace_summary_t summary;
        if (heap_trace_summary(&summary) != ESP_OK || summary.has_overflowed) {
            problem("observer: heap_trace_summary failed or the buffer overflowed");
        }
#endif
        if (!opt.locked_queries_only) {
            observed_sink = heap_caps_get_free_size(MALLOC_CAP_INTERNAL) +
                            heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT);
        }
        break;
    }
    default:
        break;
    }
}

static void *observer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "stress-observer");
    unsigned long n = 0;
    for (unsigned long round = 0; round < run.rounds; ++round) {
        unsigned long target = (round + 1) * opt.threads;
        while (atomic_load(&run.finished) < target) {
            observe_once(n++);
            /* Leave the CPUs to the workers most of the time. */
            struct timespec pause = {0, 50 * 1000};
            nanosleep(&pause, NULL);
        }
        pthread_barrier_wait(&run.pause);
        pthread_barrier_wait(&run.resume);
        if (run.stop) {
            break;
        }
    }
    return NULL;
}

/* ================================================================ the checker */

typedef struct {
    used_t *items;
    size_t count, room;
    unsigned heap;
    size_t free_raw; /* free blocks' sizes + headers */
} walk_t;

static bool collect_block(void *ptr, size_t size, int used, void *user)
{
    walk_t *walk = user;
    if (!used) {
        walk->free_raw += size + cal.header;
        return true;
    }
    if (walk->count == walk->room) {
        walk->room = walk->room ? walk->room * 2 : 256;
        walk->items = realloc(walk->items, walk->room * sizeof(*walk->items));
        if (!walk->items) {
            fprintf(stderr, "stress_heap: out of host memory\n");
            exit(1);
        }
    }
    walk->items[walk->count++] = (used_t){(uintptr_t)ptr, size, walk->heap, false, false};
    return true;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = ((const used_t *)a)->ptr, y = ((const used_t *)b)->ptr;
    return (x > y) - (x < y);
}

/* The used block with the highest start at or below a (the innermost block
 * holding a, if any), or NULL. */
static used_t *block_at_or_below(used_t *items, size_t count, uintptr_t a)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid].ptr <= a) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo ? &items[lo - 1] : NULL;
}

/* Every heap's used blocks, sorted by address; free bytes per heap. */
static used_t *walk_heaps(size_t *count, size_t free_raw[MAX_HEAPS])
{
    walk_t walk = {NULL, 0, 0, 0, 0};
    for (size_t i = 0; i < run.heap_count; ++i) {
        walk.heap = (unsigned)i;
        walk.free_raw = 0;
        multi_heap_walk(run.heaps[i].handle, collect_block, &walk);
        free_raw[i] = walk.free_raw;
    }
    if (walk.count) {
        qsort(walk.items, walk.count, sizeof(*walk.items), by_address);
    }
    *count = walk.count;
    return walk.items;
}

/* One model block at the time of a check. */
typedef struct {
    const block_t *block;
    unsigned holder; /* worker index; opt.threads for the queue */
    uintptr_t data;  /* its data-side address (an EXEC alias resolved) */
    size_t full;     /* its heap block's size, from the walk */
    unsigned heap;
    bool matched; /* by a statistics record, in the current comparison */
} live_t;

#if defined(CONFIG_HEAP_TASK_TRACKING) || defined(CONFIG_HEAP_TRACING_STANDALONE)
static int live_by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const live_t *)a)->block->p;
    uintptr_t y = (uintptr_t)((const live_t *)b)->block->p;
    return (x > y) - (x < y);
}

/* The model block at address a (live sorted by address), or NULL. */
static live_t *find_live(live_t *live, size_t count, uintptr_t a)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uintptr_t key = (uintptr_t)live[mid].block->p;
        if (key == a) {
            return &live[mid];
        }
        if (key < a) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}
#endif

typedef struct {
    size_t charged; /* free bytes the model's blocks take */
    size_t count;
    size_t info_alloc; /* what get_info counts for them */
} heap_tally_t;

#ifdef CONFIG_HEAP_TASK_TRACKING
static bool is_main_task(TaskHandle_t task)
{
    return task == (TaskHandle_t)(uintptr_t)pthread_self();
}

static int worker_of_task(TaskHandle_t task)
{
    for (unsigned i = 0; i < opt.threads; ++i) {
        if ((TaskHandle_t)(uintptr_t)run.workers[i].thread == task) {
            return (int)i;
        }
    }
    return -1;
}

/* Per-task statistics against the model: each worker's usage and its
 * records, block by block; the main thread unchanged; the total equal to
 * what the heaps count as allocated beyond the start. */
static void check_task_stats(const char *when, live_t *live, size_t live_count,
                             const size_t info_alloc_now, bool final)
{
    size_t owner_bytes[MAX_THREADS] = {0}, owner_count[MAX_THREADS] = {0};
    size_t model_bytes = 0;
    for (size_t i = 0; i < live_count; ++i) {
        owner_bytes[live[i].block->owner] += live[i].full;
        owner_count[live[i].block->owner]++;
        model_bytes += live[i].full;
        live[i].matched = false;
    }
    if (live_count) {
        qsort(live, live_count, sizeof(*live), live_by_address);
    }
    heap_all_tasks_stat_t all;
    memset(&all, 0, sizeof(all));
    if (heap_caps_alloc_all_task_stat_arrays(&all) != ESP_OK ||
        heap_caps_get_all_task_stat(&all) != ESP_OK) {
        problem("%s: cannot read the task statistics", when);
        heap_caps_free_all_task_stat_arrays(&all);
        return;
    }
    size_t workers_usage = 0;
    bool seen[MAX_THREADS] = {false};
    for (size_t t = 0; t < all.task_count; ++t) {
        const task_stat_t *task = &all.stat_arr[t];
        if (is_main_task(task->handle) && task->is_alive) {
            if (task->overall_current_usage != run.main_usage0) {
                problem("%s: task tracking: the main thread holds %zu bytes, %zu at the start",
                        when, task->overall_current_usage, run.main_usage0);
            }
            continue;
        }
        int w = worker_of_task(task->handle);
        if (w < 0 || (!final && !task->is_alive)) {
            if (task->overall_current_usage) {
                problem("%s: task tracking: task %p \"%s\" (%s) holds %zu bytes, no worker's", when,
                        (void *)task->handle, task->name, task->is_alive ? "alive" : "deleted",
                        task->overall_current_usage);
            }
            continue;
        }
        seen[w] = true;
        workers_usage += task->overall_current_usage;
        size_t records = 0;
        for (size_t h = 0; task->heap_stat && h < task->heap_count; ++h) {
            const heap_stat_t *hs = &task->heap_stat[h];
            records += hs->alloc_count;
            if (hs->alloc_count && !hs->alloc_stat) {
                problem("%s: task tracking: worker %d: no room for its records", when, w);
            }
            for (size_t r = 0; hs->alloc_stat && r < hs->alloc_count; ++r) {
                const heap_task_block_t *rec = &hs->alloc_stat[r];
                live_t *l = find_live(live, live_count, (uintptr_t)rec->address);
                if (!l || l->matched || l->block->owner != w || l->full != rec->size) {
                    problem("%s: task tracking: worker %d has a record of %p (%u bytes) "
                            "that is %s",
                            when, w, rec->address, (unsigned)rec->size,
                            !l                     ? "no live block"
                            : l->matched           ? "listed twice"
                            : l->block->owner != w ? "another worker's block"
                                                   : "of another size than the block");
                    continue;
                }
                l->matched = true;
            }
        }
        if (task->overall_current_usage != owner_bytes[w] || records != owner_count[w]) {
            problem("%s: task tracking: worker %d is charged %zu bytes in %zu blocks, "
                    "the model says %zu bytes in %zu blocks",
                    when, w, task->overall_current_usage, records, owner_bytes[w], owner_count[w]);
        }
    }
    for (unsigned w = 0; w < opt.threads; ++w) {
        if (!seen[w] && owner_count[w]) {
            problem("%s: task tracking: worker %u holds %zu blocks but has no statistics", when, w,
                    owner_count[w]);
        }
    }
    if (workers_usage != model_bytes || model_bytes != info_alloc_now) {
        problem("%s: task tracking: the workers are charged %zu bytes, their blocks are %zu "
                "bytes, the heaps count %zu bytes allocated beyond the start",
                when, workers_usage, model_bytes, info_alloc_now);
    }
    heap_caps_free_all_task_stat_arrays(&all);

    /* The legacy per-task walk reads the owner words in the heaps. */
    heap_task_totals_t totals[MAX_THREADS + 4];
    size_t used_totals = 0;
    heap_task_info_params_t params = {{0},          {0},           NULL, 0, totals,
                                      &used_totals, COUNT(totals), NULL, 0};
    heap_caps_get_per_task_info(&params);
    for (size_t i = 0; i < used_totals; ++i) {
        int w = worker_of_task(totals[i].task);
        if (w >= 0 && totals[i].count[0] != owner_count[w]) {
            problem("%s: heap_caps_get_per_task_info: worker %d owns %zu blocks, the model "
                    "says %zu",
                    when, w, totals[i].count[0], owner_count[w]);
        }
    }
}
#endif

#ifdef CONFIG_HEAP_TRACING_STANDALONE
/* The leak records are the live allocations: same addresses, same sizes. */
static void check_trace(const char *when, live_t *live, size_t live_count)
{
    for (size_t i = 0; i < live_count; ++i) {
        live[i].matched = false;
    }
    if (live_count) {
        qsort(live, live_count, sizeof(*live), live_by_address);
    }
    heap_trace_summary_t summary;
    if (heap_trace_summary(&summary) != ESP_OK) {
        problem("%s: heap_trace_summary failed", when);
        return;
    }
    if (summary.has_overflowed || summary.count != live_count ||
        heap_trace_get_count() != live_count) {
        problem("%s: heap trace: %zu records (overflowed: %zu), %zu live allocations", when,
                summary.count, summary.has_overflowed, live_count);
    }
    size_t count = heap_trace_get_count();
    for (size_t i = 0; i < count; ++i) {
        heap_trace_record_t record;
        if (heap_trace_get(i, &record) != ESP_OK) {
            problem("%s: heap_trace_get(%zu) failed", when, i);
            break;
        }
        live_t *l = find_live(live, live_count, (uintptr_t)record.address);
        if (!l || l->matched || l->block->size != record.size) {
            problem("%s: heap trace: record %zu (%p, %zu bytes) is %s", when, i, record.address,
                    record.size,
                    !l           ? "no live allocation"
                    : l->matched ? "a second record of a live allocation"
                                 : "of another size than the live allocation");
            continue;
        }
        l->matched = true;
    }
}
#endif

/* The consistent-snapshot check (all workers stopped, or joined when
 * final): see the file comment. Returns true when everything matched. */
static bool check_state(const char *when, bool final)
{
    unsigned problems_before = atomic_load(&reports);
    size_t free_raw[MAX_HEAPS];
    size_t used_count;
    used_t *used = walk_heaps(&used_count, free_raw);

    /* Blocks there at the start must still be there. */
    size_t baseline_seen = 0;
    for (size_t i = 0; i < used_count; ++i) {
        used_t *b = block_at_or_below(run.baseline, run.baseline_count, used[i].ptr);
        if (b && b->ptr == used[i].ptr && b->size == used[i].size) {
            used[i].baseline = true;
            baseline_seen++;
        }
    }
    if (baseline_seen != run.baseline_count) {
        problem("%s: %zu of the %zu blocks allocated before the start are gone", when,
                run.baseline_count - baseline_seen, run.baseline_count);
    }

    /* The model: every thread's blocks and the queue's. */
    size_t live_room = opt.threads * SLOTS + queue.capacity, live_count = 0;
    live_t *live = calloc(live_room ? live_room : 1, sizeof(*live));
    size_t held_by[MAX_THREADS + 1] = {0};
    heap_tally_t tally[MAX_HEAPS];
    memset(tally, 0, sizeof(tally));
    for (unsigned t = 0; t <= opt.threads; ++t) {
        size_t n = t < opt.threads ? SLOTS : queue.count;
        for (size_t s = 0; s < n; ++s) {
            const block_t *b = t < opt.threads ? &run.workers[t].slots[s]
                                               : &queue.entries[(queue.head + s) % queue.capacity];
            if (b->p) {
                live[live_count++] = (live_t){b, t, (uintptr_t)b->p, 0, 0, false};
            }
        }
    }
    unsigned queue_holder = opt.threads;
    size_t aliases = 0;
    for (size_t i = 0; i < live_count; ++i) {
        live_t *l = &live[i];
        const block_t *b = l->block;
        bool alias = heap_of_address(l->data) < 0;
        if (alias) {
            /* An EXEC allocation through the IRAM alias: the data-side
             * address is in the word before it (docs/heap_caps.md). */
            void *data;
            memcpy(&data, b->p - sizeof(void *), sizeof(data));
            l->data = (uintptr_t)data;
            aliases++;
        }
        int h = heap_of_address(l->data);
        used_t *u = block_at_or_below(used, used_count, l->data);
        if (h < 0 || !u || l->data >= u->ptr + u->size ||
            (!alias && l->data + b->size > u->ptr + u->size)) {
            problem("%s: block %p (%zu bytes) held by %s %u is in no used block of any heap", when,
                    (void *)b->p, b->size, l->holder == queue_holder ? "the queue" : "worker",
                    l->holder);
            continue;
        }
        if (u->heap != (unsigned)h || u->claimed || u->baseline) {
            problem("%s: block %p (%zu bytes) is in heap block %p (%zu bytes) which is %s", when,
                    (void *)b->p, b->size, (void *)u->ptr, u->size,
                    u->claimed    ? "another live allocation's too"
                    : u->baseline ? "a block allocated before the start"
                                  : "of another heap");
            continue;
        }
        u->claimed = true;
        l->full = u->size;
        l->heap = u->heap;
        if (run.level == LEVEL_MULTI_HEAP && b->charged != u->size + cal.header) {
            problem("%s: the model says block %p takes %zu bytes, the heap walk %zu", when,
                    (void *)b->p, b->charged, u->size + cal.header);
        }
        tally[h].charged += u->size + cal.header;
        tally[h].count++;
        tally[h].info_alloc += u->size - cal.poison_info;
        held_by[l->holder] += u->size + cal.header;
        size_t bad = first_bad(b->p, b->size, b->seed);
        if (bad != b->size) {
            problem("%s: block %p (%zu bytes) of %s %u differs from its pattern at byte %zu", when,
                    (void *)b->p, b->size, l->holder == queue_holder ? "the queue" : "worker",
                    l->holder, bad);
        }
    }
    for (size_t i = 0; i < used_count; ++i) {
        if (!used[i].claimed && !used[i].baseline) {
            problem("%s: heap %p has a used block %p (%zu bytes) no thread holds", when,
                    (void *)run.heaps[used[i].heap].start, (void *)used[i].ptr, used[i].size);
        }
    }

    /* Per heap: free bytes (walk and counter), allocated bytes and blocks. */
    size_t held_total = 0, info_alloc_now = 0;
    for (size_t i = 0; i < run.heap_count; ++i) {
        const heap_desc_t *h = &run.heaps[i];
        held_total += tally[i].charged;
        if (tally[i].charged > h->raw_initial) {
            problem("%s: heap %p: the model holds %zu bytes, more than the %zu free at the start",
                    when, (void *)h->start, tally[i].charged, h->raw_initial);
            continue;
        }
        size_t expected_raw = h->raw_initial - tally[i].charged;
        size_t counter = multi_heap_free_size(h->handle);
        if (free_raw[i] != expected_raw || counter != reported_free(expected_raw)) {
            problem("%s: heap %p: free bytes %zu (walk: %zu raw), expected %zu (initial %zu - "
                    "held by the threads %zu)",
                    when, (void *)h->start, counter, free_raw[i], reported_free(expected_raw),
                    reported_free(h->raw_initial), tally[i].charged);
        }
        multi_heap_info_t info;
        multi_heap_get_info(h->handle, &info);
        if (info.allocated_blocks != h->blocks0 + tally[i].count ||
            info.total_allocated_bytes != h->info_alloc0 + tally[i].info_alloc ||
            info.total_free_bytes != counter) {
            problem("%s: heap %p: get_info says %zu bytes in %zu blocks allocated, %zu free; "
                    "expected %zu in %zu, %zu",
                    when, (void *)h->start, info.total_allocated_bytes, info.allocated_blocks,
                    info.total_free_bytes, h->info_alloc0 + tally[i].info_alloc,
                    h->blocks0 + tally[i].count, counter);
        }
        info_alloc_now += info.total_allocated_bytes - h->info_alloc0;
        if (multi_heap_minimum_free_size(h->handle) > counter) {
            problem("%s: heap %p: minimum free %zu above free %zu", when, (void *)h->start,
                    multi_heap_minimum_free_size(h->handle), counter);
        }
        if (!multi_heap_check(h->handle, true)) {
            problem("%s: multi_heap_check(%p) failed", when, (void *)h->start);
        }
    }
    size_t held_threads = 0;
    for (unsigned t = 0; t < opt.threads; ++t) {
        held_threads += held_by[t];
    }
    if (held_threads + held_by[queue_holder] != held_total) {
        problem("%s: the threads hold %zu bytes and the queue %zu, the heaps lost %zu", when,
                held_threads, held_by[queue_holder], held_total);
    }

    if (run.level == LEVEL_HEAP_CAPS) {
        /* Per caps mask, through the heap_caps queries. */
        for (size_t c = 0; c < COUNT(check_caps); ++c) {
            size_t expected = 0, blocks = 0, held = 0;
            for (size_t i = 0; i < run.heap_count; ++i) {
                const heap_desc_t *h = &run.heaps[i];
                if ((h->cap_bits & (1u << c)) && tally[i].charged <= h->raw_initial) {
                    expected += reported_free(h->raw_initial - tally[i].charged);
                    blocks += h->blocks0 + tally[i].count;
                    held += tally[i].charged;
                }
            }
            size_t now = heap_caps_get_free_size(check_caps[c].caps);
            multi_heap_info_t info;
            heap_caps_get_info(&info, check_caps[c].caps);
            if (now != expected || info.allocated_blocks != blocks) {
                problem("%s: caps %s: free %zu, expected %zu (initial %zu - held by the threads "
                        "%zu); %zu blocks allocated, expected %zu",
                        when, check_caps[c].name, now, expected, run.cap_initial[c], held,
                        info.allocated_blocks, blocks);
            }
        }
        if (!heap_caps_check_integrity_all(true)) {
            problem("%s: heap_caps_check_integrity_all failed", when);
        }
        (void)info_alloc_now; /* what task tracking is compared with */
#ifdef CONFIG_HEAP_TASK_TRACKING
        check_task_stats(when, live, live_count, info_alloc_now + cal.poison_info * (live_count),
                         final);
#endif
#ifdef CONFIG_HEAP_TRACING_STANDALONE
        check_trace(when, live, live_count);
#endif
    }
    (void) final;

    if (opt.verbose) {
        printf("  %s: %zu live blocks (%zu through an IRAM alias), %zu bytes held (threads %zu, "
               "queue %zu) = initial free - free now%s\n",
               when, live_count, aliases, held_total, held_threads, held_by[queue_holder],
               atomic_load(&reports) == problems_before ? ": exact" : ": MISMATCH");
    }
    free(live);
    free(used);
    return atomic_load(&reports) == problems_before;
}

/* ================================================================ set-up of the levels */

/* The state the checks compare with: heaps' free bytes and used blocks. */
static bool take_baseline(void)
{
    size_t free_raw[MAX_HEAPS];
    free(run.baseline);
    run.baseline = walk_heaps(&run.baseline_count, free_raw);
    for (size_t i = 0; i < run.baseline_count; ++i) {
        run.baseline[i].baseline = true;
    }
    for (size_t i = 0; i < run.heap_count; ++i) {
        heap_desc_t *h = &run.heaps[i];
        size_t reported = multi_heap_free_size(h->handle);
        multi_heap_info_t info;
        multi_heap_get_info(h->handle, &info);
        h->raw_initial = reported + cal.poison_free;
        h->info_alloc0 = info.total_allocated_bytes;
        h->blocks0 = info.allocated_blocks;
        h->observed_min = SIZE_MAX;
        if (!reported || free_raw[i] != h->raw_initial) {
            problem("heap %p: %zu bytes free by its counter, %zu by its blocks", (void *)h->start,
                    h->raw_initial, free_raw[i]);
        }
        observe_heap(h, true); /* the identity, before anything runs */
    }
    for (size_t c = 0; c < COUNT(check_caps); ++c) {
        run.cap_initial[c] =
            run.level == LEVEL_HEAP_CAPS ? heap_caps_get_free_size(check_caps[c].caps) : 0;
    }
    return !any_problem();
}

static const size_t mh_heap_sizes[] = {16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024};

static bool setup_multi_heap(void)
{
    run.heap_count = COUNT(mh_heap_sizes);
    for (size_t i = 0; i < run.heap_count; ++i) {
        run.regions[i] = aligned_alloc(64, mh_heap_sizes[i]);
        multi_heap_handle_t heap =
            run.regions[i] ? multi_heap_register(run.regions[i], mh_heap_sizes[i]) : NULL;
        if (!heap) {
            fprintf(stderr, "stress_heap: cannot register a heap of %zu bytes\n", mh_heap_sizes[i]);
            return false;
        }
        /* The lock is the caller's storage, made by the port (a recursive
         * pthread mutex on the host). */
        heapcaps_lock_init(&run.locks[i]);
        multi_heap_set_lock(heap, &run.locks[i]);
        run.heaps[i] = (heap_desc_t){
            heap, (uintptr_t)heap, (uintptr_t)heap + mh_heap_sizes[i], 0, 0, 0, 0, SIZE_MAX};
    }
    return take_baseline();
}

static void teardown_multi_heap(void)
{
    for (size_t i = 0; i < run.heap_count; ++i) {
        heapcaps_lock_destroy(&run.locks[i]);
        free(run.regions[i]);
    }
    run.heap_count = 0;
}

typedef struct {
    uintptr_t starts[MAX_HEAPS];
    uintptr_t ends[MAX_HEAPS];
    size_t count;
} heap_list_t;

static bool note_heap(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    (void)block;
    heap_list_t *list = user;
    if (list->count < MAX_HEAPS) {
        list->starts[list->count] = (uintptr_t)heap.start;
        list->ends[list->count++] = (uintptr_t)heap.end;
    }
    return false; /* one block is enough to know the heap */
}

/* One allocation of every kind with every caps mask, from this thread, so
 * that the caps routes exist before the workers start. */
static void warm_up_routes(void)
{
    for (size_t i = 0; i < run.alloc_caps_count; ++i) {
        uint32_t caps = run.alloc_caps[i];
        heap_caps_free(heap_caps_malloc(24, caps));
        heap_caps_free(heap_caps_calloc(2, 12, caps));
        void *p = heap_caps_malloc(16, caps);
        heap_caps_free(heap_caps_realloc(p, 40000, caps));
        if (!(caps & MALLOC_CAP_EXEC)) {
            heap_caps_free(heap_caps_aligned_alloc(64, 24, caps));
            heap_caps_free(heap_caps_aligned_calloc(64, 2, 12, caps));
        }
    }
    for (size_t i = 0; i < run.prefer_count; ++i) {
        heap_caps_free(heap_caps_malloc_prefer(24, 2, run.prefer[i][0], run.prefer[i][1]));
    }
    heap_caps_free(heap_caps_malloc_default(24));
    heap_caps_free(heap_caps_malloc_default(40000));
}

static bool setup_heap_caps(void)
{
    heapcaps_emu_options_t options = {0};
    options.psram_size = opt.psram;
    options.memprot = HEAPCAPS_EMU_OFF; /* EXEC heaps, and the D/IRAM alias */
    options.quiet = true;
    esp_err_t err = heapcaps_emu_boot(opt.chip, &options);
    if (err != ESP_OK) {
        fprintf(stderr, "stress_heap: booting %s failed: 0x%x\n", opt.chip, (unsigned)err);
        return false;
    }
    heap_caps_register_failed_alloc_callback(count_failed_alloc);

    run.alloc_caps_count = 0;
    const uint32_t hw_bits = MALLOC_CAP_CACHE_ALIGNED;
    for (size_t i = 0; i < COUNT(alloc_caps_wanted); ++i) {
        if (heap_caps_get_total_size(alloc_caps_wanted[i] & ~hw_bits) > 0) {
            run.alloc_caps[run.alloc_caps_count++] = alloc_caps_wanted[i];
        }
    }
    run.prefer_count = 0;
    for (size_t i = 0; i < COUNT(prefer_wanted); ++i) {
        if (heap_caps_get_total_size(prefer_wanted[i][0]) &&
            heap_caps_get_total_size(prefer_wanted[i][1])) {
            run.prefer[run.prefer_count][0] = prefer_wanted[i][0];
            run.prefer[run.prefer_count++][1] = prefer_wanted[i][1];
        }
    }

#ifdef CONFIG_HEAP_TRACING_STANDALONE
    /* Room for every block that can be live at once: no record is dropped.
     * Init allocates the hash map's table: before the baseline. */
    run.trace_capacity = opt.threads * SLOTS + queue.capacity + 64;
    run.trace_records = calloc(run.trace_capacity, sizeof(*run.trace_records));
    if (!run.trace_records ||
        heap_trace_init_standalone(run.trace_records, run.trace_capacity) != ESP_OK) {
        fprintf(stderr, "stress_heap: heap_trace_init_standalone failed\n");
        return false;
    }
#endif
    if (opt.warm_up) {
        warm_up_routes();
    }

    /* The heaps, from the walker: the multi_heap handle of a heap is its start. */
    heap_list_t all = {{0}, {0}, 0};
    heap_caps_walk_all(note_heap, &all);
    run.heap_count = all.count;
    for (size_t i = 0; i < all.count; ++i) {
        run.heaps[i] = (heap_desc_t){
            (multi_heap_handle_t)all.starts[i], all.starts[i], all.ends[i], 0, 0, 0, 0, SIZE_MAX};
    }
    for (size_t c = 0; c < COUNT(check_caps); ++c) {
        heap_list_t with = {{0}, {0}, 0};
        heap_caps_walk(check_caps[c].caps, note_heap, &with);
        for (size_t j = 0; j < with.count; ++j) {
            for (size_t i = 0; i < run.heap_count; ++i) {
                if (run.heaps[i].start == with.starts[j]) {
                    run.heaps[i].cap_bits |= 1u << c;
                }
            }
        }
    }
    if (!take_baseline()) {
        return false;
    }
    for (size_t c = 0; c < COUNT(check_caps); ++c) {
        size_t sum = 0;
        for (size_t i = 0; i < run.heap_count; ++i) {
            if (run.heaps[i].cap_bits & (1u << c)) {
                sum += reported_free(run.heaps[i].raw_initial);
            }
        }
        if (sum != run.cap_initial[c]) {
            problem("caps %s: heap_caps_get_free_size says %zu at the start, its heaps %zu",
                    check_caps[c].name, run.cap_initial[c], sum);
        }
    }
#ifdef CONFIG_HEAP_TASK_TRACKING
    heap_single_task_stat_t main_stat;
    memset(&main_stat, 0, sizeof(main_stat));
    if (heap_caps_get_single_task_stat(&main_stat, NULL) == ESP_OK) {
        run.main_usage0 = main_stat.stat.overall_current_usage;
    }
#endif
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    if (heap_trace_start(HEAP_TRACE_LEAKS) != ESP_OK) {
        fprintf(stderr, "stress_heap: heap_trace_start failed\n");
        return false;
    }
#endif
    return !any_problem();
}

static void teardown_heap_caps(void)
{
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    heap_trace_stop();
#endif
    heapcaps_emu_shutdown();
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    free(run.trace_records);
    run.trace_records = NULL;
#endif
    run.heap_count = 0;
}

/* ================================================================ one level */

static const char *level_name(level_t level)
{
    return level == LEVEL_MULTI_HEAP ? "multi_heap" : "heap_caps";
}

static bool run_level(level_t level)
{
    run.level = level;
    run.stop = false;
    run.checks = 0;
    run.check_seconds = 0;
    atomic_store(&run.finished, 0);
    atomic_store(&failed_alloc_callbacks, 0);
    run.check_every = opt.check_every ? opt.check_every : (opt.ops + 19) / 20;
    if (!opt.check_every && run.check_every < 500) {
        run.check_every = 500;
    }
    run.rounds = (opt.ops + run.check_every - 1) / run.check_every;
    queue.capacity = (size_t)opt.threads * QUEUE_PER_THREAD;
    queue.head = queue.count = 0;
    queue.entries = calloc(queue.capacity, sizeof(*queue.entries));
    run.workers = calloc(opt.threads, sizeof(*run.workers));
    if (!queue.entries || !run.workers) {
        fprintf(stderr, "stress_heap: out of host memory\n");
        return false;
    }

    bool ok = level == LEVEL_MULTI_HEAP ? setup_multi_heap() : setup_heap_caps();
    if (!ok) {
        problem("%s: set-up failed", level_name(level));
    }
    if (ok && level == LEVEL_HEAP_CAPS) {
        printf("%s: %s, %zu KiB PSRAM, %s addresses, %zu heaps, %zu caps masks, %zu "
               "preference lists\n",
               level_name(level), opt.chip, opt.psram / 1024,
               heapcaps_emu_real_addresses() ? "real chip" : "host-chosen", run.heap_count,
               run.alloc_caps_count, run.prefer_count);
    } else if (ok) {
        printf("%s: %zu heaps (16 KiB to 1 MiB), each with its own lock\n", level_name(level),
               run.heap_count);
    }

    unsigned parties = opt.threads + 1 + (opt.observer ? 1 : 0);
    pthread_barrier_init(&run.pause, NULL, parties);
    pthread_barrier_init(&run.resume, NULL, parties);
    pthread_t observer;
    memset(&observer, 0, sizeof(observer));
    double t0 = now_seconds();
    if (ok) {
        for (unsigned i = 0; i < opt.threads; ++i) {
            worker_t *w = &run.workers[i];
            w->index = i;
            w->rng.state = opt.seed * 0x100000001B3u + i * 0x9E3779B97F4A7C15u + level;
            if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                fprintf(stderr, "stress_heap: pthread_create failed\n");
                exit(1);
            }
        }
        if (opt.observer && pthread_create(&observer, NULL, observer_main, NULL) != 0) {
            fprintf(stderr, "stress_heap: pthread_create failed\n");
            exit(1);
        }
        for (unsigned long round = 0; round < run.rounds; ++round) {
            pthread_barrier_wait(&run.pause);
            double c0 = now_seconds();
            char when[96];
            snprintf(when, sizeof(when), "%s check %lu/%lu", level_name(level), round + 1,
                     run.rounds);
            if (any_problem() || !check_state(when, false)) {
                run.stop = true;
            }
            run.checks++;
            run.check_seconds += now_seconds() - c0;
            pthread_barrier_wait(&run.resume);
            if (run.stop) {
                break;
            }
        }
        for (unsigned i = 0; i < opt.threads; ++i) {
            pthread_join(run.workers[i].thread, NULL);
        }
        if (opt.observer) {
            pthread_join(observer, NULL);
        }
    }
    double seconds = now_seconds() - t0;
    pthread_barrier_destroy(&run.pause);
    pthread_barrier_destroy(&run.resume);

    if (ok && !any_problem()) {
        if (queue.count) {
            problem("%s: %zu blocks left in the queue", level_name(level), queue.count);
        }
        char when[64];
        snprintf(when, sizeof(when), "%s final check", level_name(level));
        check_state(when, true);
    }

    stats_t total;
    memset(&total, 0, sizeof(total));
    for (unsigned i = 0; i < opt.threads && ok; ++i) {
        const stats_t *s = &run.workers[i].stats;
        for (int k = 0; k < OP_KINDS; ++k) {
            total.ops[k] += s->ops[k];
        }
        total.failed_allocs += s->failed_allocs;
        total.foreign_frees += s->foreign_frees;
        total.moved += s->moved;
    }
    if (ok) {
        unsigned long all_ops = opt.threads * opt.ops;
        double work = seconds - run.check_seconds;
        printf("%s: %u threads x %lu operations (seed %" PRIu64 "): %s in %.2f s (%.0f ops/s; "
               "%u checks, %.2f s)\n",
               level_name(level), opt.threads, opt.ops, opt.seed,
               any_problem() ? "FAILED" : "all checks exact", seconds,
               work > 0 ? (double)all_ops / work : 0.0, run.checks, run.check_seconds);
        printf("%s:   ", level_name(level));
        for (int k = 0; k < OP_KINDS; ++k) {
            if (total.ops[k]) {
                printf("%s %lu, ", op_names[k], total.ops[k]);
            }
        }
        printf("failed allocations %lu, frees of another thread's block %lu, reallocs that "
               "moved %lu\n",
               total.failed_allocs, total.foreign_frees, total.moved);
    }

    if (level == LEVEL_MULTI_HEAP) {
        teardown_multi_heap();
    } else if (ok || heapcaps_emu_target()) {
        teardown_heap_caps();
    }
    free(run.workers);
    run.workers = NULL;
    free(queue.entries);
    queue.entries = NULL;
    free(run.baseline);
    run.baseline = NULL;
    run.baseline_count = 0;
    return ok && !any_problem();
}

int main(int argc, char **argv)
{
    int status = parse_options(argc, argv);
    if (status) {
        return status;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_mutex_init(&queue.lock, NULL);
    if (!calibrate()) {
        return 1;
    }
    printf("stress_heap: %u threads x %lu operations, seed %" PRIu64 "; block header %zu bytes, "
           "poisoning %zu bytes; features:%s%s%s\n",
           opt.threads, opt.ops, opt.seed, cal.header, cal.poison_free,
#ifdef CONFIG_HEAP_TASK_TRACKING
           " task-tracking",
#else
           "",
#endif
#ifdef CONFIG_HEAP_TRACING_STANDALONE
           " tracing",
#else
           "",
#endif
           opt.observer ? " observer" : "");
    bool ok = true;
    if (opt.multi_heap) {
        ok = run_level(LEVEL_MULTI_HEAP) && ok;
    }
    if (opt.heap_caps && ok) {
        ok = run_level(LEVEL_HEAP_CAPS) && ok;
    }
    pthread_mutex_destroy(&queue.lock);
    printf("stress_heap: %s\n", ok ? "PASSED" : "FAILED");
    return ok ? 0 : 1;
}
