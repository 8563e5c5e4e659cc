/*
 * fuzz_heap_caps.c — libFuzzer harness for esp_heap_caps.h on an emulated
 * chip: the fuzzer's bytes pick a chip configuration, then drive allocation
 * by capabilities (malloc, calloc, realloc across caps, aligned, preference
 * lists, the malloc() policy and its PSRAM threshold, EXEC through the IRAM
 * alias, regions added at run time), each step checked against a model the
 * harness keeps itself (docs/fuzzing.md).
 *
 * The model knows every heap of the chip (from the registry: range, caps per
 * priority, alias) and keeps per heap the raw free bytes, their low-water
 * mark and the live blocks it handed out. For each request it works out, from
 * the documented selection rule (docs/heap_caps.md: level by level, the first
 * heap in list order offering one bit of the caps at that level and all of
 * them at some level) and each heap's largest request, which heaps may serve
 * it and whether one surely can; the block must come from such a heap, with
 * all the caps asked for, aligned as asked, inside its heap, overlapping no
 * other block, and keep its contents. Free-size figures per heap and per caps
 * mask must equal the model's exactly, the failure callback must fire exactly
 * when the API says, and the heaps must pass their integrity check.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_common.h"

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "esp_memory_utils.h"
#include "heap_caps_debug.h"
#include "heap_caps_internal.h"
#include "heapcaps/emu.h"
#include "heapcaps/heap_caps_ext.h"
#include "heapcaps/layout.h"
#include "multi_heap_ops.h"

#define MAX_HEAPS     40
#define SLOTS         48
#define MAX_RUNTIME   6   /* regions an input may add */
#define FULL_CHECK    32u /* operations between full checks */
#define ALIAS_WORD    sizeof(void *)
#define OWNER         HEAP_OWNER_WORD
#define CUSTOM_A      (1u << 30) /* capabilities of no chip memory type */
#define CUSTOM_B      (1u << 29)
#define PSRAM_MAX     ((size_t)2 * 1024 * 1024)
#define LONGEST_BLOCK (PSRAM_MAX + 4096)
#define HW_CAPS                                                                                    \
    (MALLOC_CAP_DMA | MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI |                          \
     MALLOC_CAP_CACHE_ALIGNED | MALLOC_CAP_SIMD)

/* ------------------------------------------------------------------ chips */

typedef struct {
    const char *target;
    size_t psram;
    heapcaps_emu_switch_t memprot, rtc_heap;
    int psram_use;
    long always_internal, reserve; /* 0 = ESP-IDF's default, HEAPCAPS_EMU_NONE = none */
    uint32_t static_ram;           /* chip address of unused static RAM (for add_region) */
} config_t;

#define KB(n) ((size_t)(n)*1024)

static const config_t configs[] = {
    {"esp32", 0, HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x3FFB1000},
    {"esp32", KB(1024), HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_ON, 0, 0, 0, 0x3FFB1000},
    {"esp32s2", KB(1024), HEAPCAPS_EMU_OFF, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x3FFB5000},
    {"esp32s3", KB(2048), HEAPCAPS_EMU_OFF, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x3FC89000},
    {"esp32s3", KB(1024), HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_DEFAULT, 1, 0, 0, 0x3FC89000},
    {"esp32s3", KB(512), HEAPCAPS_EMU_OFF, HEAPCAPS_EMU_DEFAULT, 0, HEAPCAPS_EMU_NONE,
     HEAPCAPS_EMU_NONE, 0x3FC89000},
    {"esp32c3", 0, HEAPCAPS_EMU_OFF, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x3FC81000},
    {"esp32c6", 0, HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x40801000},
    {"esp32h2", 0, HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x40801000},
    {"esp32p4", KB(1024), HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_DEFAULT, 0, 0, 0, 0x4FF21000},
    {"esp32p4", KB(512), HEAPCAPS_EMU_DEFAULT, HEAPCAPS_EMU_DEFAULT, 0, 1000, HEAPCAPS_EMU_NONE,
     0x4FF21000},
};
#define CONFIGS (sizeof(configs) / sizeof(configs[0]))

/* ------------------------------------------------------------------ model */

typedef struct {
    heap_t *heap; /* the registry's descriptor */
    multi_heap_handle_t handle;
    uintptr_t start, end;
    uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS], all;
    uint8_t alias;
    size_t raw_free, raw_min;     /* model: multi_heap's free bytes and their low-water mark */
    size_t sys_blocks, sys_bytes; /* allocated blocks the harness did not make */
    size_t live, allocated;       /* the harness's blocks: count, reported bytes */
    size_t largest;               /* largest_free_block as last reported */
    size_t monitor_saved;         /* local-minimum monitor: the mark saved at start */
    bool monitored;
} heap_model_t;

typedef struct {
    unsigned char *p;     /* what the caller got; NULL: free slot */
    unsigned char *block; /* what multi_heap returned (data side) */
    size_t req;           /* bytes asked for */
    size_t size;          /* bytes holding the pattern */
    size_t full;          /* multi_heap block payload */
    size_t mh_req;        /* bytes multi_heap was asked for */
    uint32_t id;
    uint8_t heap;
    bool alias;  /* an IRAM-alias pointer of an EXEC allocation */
    bool region; /* holds a heap added at run time: kept, contents not ours */
} slot_t;

static struct {
    const config_t *config;
    const heapcaps_soc_t *soc;
    size_t size_limit;
    heap_model_t heaps[MAX_HEAPS];
    size_t heap_count; /* in list order */
    slot_t slots[SLOTS];
    uint32_t next_id;
    int extmem_limit; /* heap_caps_malloc_extmem_enable() as an int; -1 = off */
    bool monitor_active;
    unsigned runtime_regions;
    bool static_added;
    bool aliases_mapped; /* memory protection off: the IRAM aliases exist, EXEC heaps too */
    uint64_t touched;    /* bit per heap index: check after the operation */
    size_t callbacks, expected_callbacks;
    size_t ops_in_input;
} m;

static void count_failure(size_t size, uint32_t caps, const char *function_name)
{
    (void)size;
    (void)caps;
    (void)function_name;
    m.callbacks++;
}

static size_t round_up(size_t size, size_t alignment)
{
    size_t rounded = (size + alignment - 1) & ~(alignment - 1);
    return rounded < size ? SIZE_MAX : rounded;
}

static heap_model_t *model_of(const heap_t *heap)
{
    for (size_t i = 0; i < m.heap_count; ++i) {
        if (m.heaps[i].heap == heap) {
            return &m.heaps[i];
        }
    }
    return NULL;
}

/* The innermost heap whose range holds address a (heaps nest when a region
 * is added inside an allocated block), or -1. */
static int heap_at(uintptr_t a)
{
    int best = -1;
    for (size_t i = 0; i < m.heap_count; ++i) {
        const heap_model_t *h = &m.heaps[i];
        if (a >= h->start && a < h->end &&
            (best < 0 || h->end - h->start < m.heaps[best].end - m.heaps[best].start)) {
            best = (int)i;
        }
    }
    return best;
}

static void take(heap_model_t *h, size_t bytes)
{
    FZ_CHECK(bytes <= h->raw_free);
    h->raw_free -= bytes;
    if (h->raw_free < h->raw_min) {
        h->raw_min = h->raw_free;
    }
}

static void touch(const heap_model_t *h)
{
    m.touched |= (uint64_t)1 << (h - m.heaps);
}

/* The registry's heaps, in list order, keeping what the model knew of each
 * (heaps are only ever added). New heaps start from what the heap reports. */
static void snapshot_heaps(void)
{
    heap_model_t old[MAX_HEAPS];
    size_t old_count = m.heap_count;
    memcpy(old, m.heaps, sizeof(old[0]) * old_count);
    m.heap_count = 0;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (!heap->heap) {
            continue;
        }
        FZ_CHECK(m.heap_count < MAX_HEAPS);
        heap_model_t *h = &m.heaps[m.heap_count++];
        const heap_model_t *known = NULL;
        for (size_t i = 0; i < old_count; ++i) {
            if (old[i].heap == heap) {
                known = &old[i];
            }
        }
        if (known) {
            *h = *known;
            continue;
        }
        memset(h, 0, sizeof(*h));
        h->heap = heap;
        h->handle = heap->heap;
        h->start = (uintptr_t)heap->start;
        h->end = (uintptr_t)heap->end;
        memcpy(h->caps, heap->caps, sizeof(h->caps));
        h->all = heap->caps[0] | heap->caps[1] | heap->caps[2];
        FZ_CHECK_EQ(h->all, heap->all_caps);
        /* Under memory protection no heap executes, not even one added at
         * run time with MALLOC_CAP_EXEC (docs/differences.md). */
        FZ_CHECK(m.aliases_mapped || !(h->all & MALLOC_CAP_EXEC));
        h->alias = heap->alias;
        /* The heap's own counters are the starting point (startup blocks). */
        h->raw_free = h->handle->free_bytes;
        h->raw_min = h->handle->minimum_free_bytes;
        multi_heap_info_t info;
        multi_heap_get_info(h->handle, &info);
        h->sys_blocks = info.allocated_blocks;
        h->sys_bytes = info.total_allocated_bytes;
        h->largest = info.largest_free_block;
    }
    /* Heaps added at run time go to the head: the slots' indices move. */
    for (int i = 0; i < SLOTS; ++i) {
        slot_t *s = &m.slots[i];
        if (s->p) {
            heap_model_t *h = model_of(old[s->heap].heap);
            FZ_CHECK(h != NULL);
            s->heap = (uint8_t)(h - m.heaps);
        }
    }
    for (size_t i = 0; i < m.heap_count; ++i) {
        touch(&m.heaps[i]);
    }
}

/* ------------------------------------------------------------------ prediction */

enum { NO, MAYBE, YES };

typedef struct {
    size_t size, align; /* after the hardware adjustment and word rounding */
    uint32_t caps;      /* after the hardware adjustment; EXEC adds 32BIT */
    bool possible;      /* false: refused before any heap is tried */
} attempt_t;

/* DMA, descriptor, cache-aligned and SIMD requests: aligned to the cache
 * line of the memory asked for and rounded up to it (docs/heap_caps.md,
 * "Hardware alignment"; the line sizes are the chip's facts). */
static void hw_adjust(size_t *align, size_t *size, uint32_t *caps)
{
    const heapcaps_soc_t *soc = m.soc;
    uint32_t c = *caps;
    if ((c & MALLOC_CAP_SPIRAM) &&
        (c & (MALLOC_CAP_DMA | MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI)) &&
        !soc->psram_dma) {
        *caps = c | MALLOC_CAP_INVALID; /* DMA does not reach PSRAM: fails */
        return;
    }
    size_t a = *align;
    size_t line = (c & MALLOC_CAP_SPIRAM) ? soc->external_cache_line : soc->internal_cache_line;
    if ((c & MALLOC_CAP_DMA_DESC_AXI) && soc->axi_desc_alignment > a) {
        a = soc->axi_desc_alignment;
    }
    a = line > a ? line : a;
    if ((c & MALLOC_CAP_SIMD) && soc->simd_alignment > a) {
        a = soc->simd_alignment;
    }
    *size = round_up(*size, a);
    if (c & (MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI)) {
        c = (c & ~(uint32_t)(MALLOC_CAP_DMA_DESC_AHB | MALLOC_CAP_DMA_DESC_AXI)) | MALLOC_CAP_DMA;
    }
    if (c & MALLOC_CAP_SPIRAM) {
        c &= ~(uint32_t)MALLOC_CAP_DMA;
    }
    *caps = c & ~(uint32_t)MALLOC_CAP_CACHE_ALIGNED;
    *align = a;
}

static attempt_t make_attempt(size_t size, size_t align, uint32_t caps)
{
    attempt_t a = {size, align, caps, true}; /* hardware rounding starts from this alignment */
    if (caps & HW_CAPS) {
        hw_adjust(&a.align, &a.size, &a.caps);
    }
    if (a.size == 0 || a.size - 1 >= m.size_limit) {
        a.possible = false; /* 0, or more than any heap of the chip holds */
    }
    if (a.caps & MALLOC_CAP_EXEC) {
        if (a.caps & (MALLOC_CAP_8BIT | MALLOC_CAP_DMA)) {
            a.possible = false; /* executable memory is never byte or DMA memory */
        }
        a.caps |= MALLOC_CAP_32BIT;
    }
    if (a.possible && (a.caps & (MALLOC_CAP_EXEC | MALLOC_CAP_32BIT))) {
        a.size = round_up(a.size, 4);
    }
    return a;
}

/* The heaps a request with caps tries, in order (docs/heap_caps.md). */
static size_t route_of(uint32_t caps, int *out)
{
    size_t count = 0;
    if (!caps) {
        return 0;
    }
    for (int prio = 0; prio < SOC_MEMORY_TYPE_NO_PRIOS; ++prio) {
        for (size_t i = 0; i < m.heap_count; ++i) {
            const heap_model_t *h = &m.heaps[i];
            if ((h->all & caps) != caps || !(h->caps[prio] & caps)) {
                continue;
            }
            bool listed = false;
            for (size_t k = 0; k < count; ++k) {
                listed = listed || out[k] == (int)i;
            }
            if (!listed) {
                out[count++] = (int)i;
            }
        }
    }
    return count;
}

/* Whether a request fits heap h: multi_heap's largest request is exact
 * (docs/differences.md), and an aligned request takes a block of size +
 * alignment + split minimum - word (docs/allocator.md). */
static int classify_alloc(const heap_model_t *h, const attempt_t *a)
{
    bool alias = (a->caps & MALLOC_CAP_EXEC) && h->alias != HEAP_ALIAS_NONE;
    if (alias && a->align > 4) {
        return NO; /* the alias serves no aligned request (docs/differences.md) */
    }
    size_t total = a->size + OWNER + (alias ? ALIAS_WORD : 0);
    size_t largest = h->largest;
    if (alias || a->align <= FZ_WORD) {
        return largest && total <= largest ? YES : NO;
    }
    if (total > largest) {
        return NO;
    }
    size_t need = fz_adjust(total + FZ_POISON) + a->align - FZ_WORD + FZ_SPLIT_MIN;
    return need <= largest + FZ_POISON ? YES : MAYBE;
}

typedef struct {
    int heap;
    int cls;
    attempt_t a;
    bool inplace; /* multi_heap_realloc() of the old block in its heap */
} cand_t;

typedef struct {
    cand_t c[3 * MAX_HEAPS + 4];
    size_t n;
    bool certain; /* a YES candidate: NULL is wrong */
} plan_t;

static void plan_add(plan_t *plan, int heap, int cls, const attempt_t *a, bool inplace)
{
    if (plan->certain || cls == NO) {
        return;
    }
    FZ_CHECK(plan->n < sizeof(plan->c) / sizeof(plan->c[0]));
    plan->c[plan->n++] = (cand_t){heap, cls, *a, inplace};
    plan->certain = cls == YES;
}

static void plan_alloc(plan_t *plan, size_t size, size_t align, uint32_t caps)
{
    attempt_t a = make_attempt(size, align, caps);
    if (!a.possible || plan->certain) {
        return;
    }
    int route[MAX_HEAPS];
    size_t count = route_of(a.caps, route);
    for (size_t i = 0; i < count && !plan->certain; ++i) {
        plan_add(plan, route[i], classify_alloc(&m.heaps[route[i]], &a), &a, false);
    }
}

/* heap_caps_realloc(s, size, caps) with s live and size > 0: in the block's
 * own heap when it has the caps (and no alignment or alias is involved),
 * else (or when that fails) a new allocation, copy and free. */
static void plan_realloc(plan_t *plan, const slot_t *s, size_t size, uint32_t caps)
{
    size_t align = 4, sz = size;
    uint32_t c = caps;
    if (c & HW_CAPS) {
        hw_adjust(&align, &sz, &c);
    }
    if (sz > m.size_limit || plan->certain) {
        return;
    }
    const heap_model_t *h = &m.heaps[s->heap];
    if (HEAPCAPS_REALLOC_IN_HEAP && !s->alias && (h->all & c) == c && align <= 4) {
        size_t total = sz + OWNER;
        size_t s_new = fz_adjust(total + FZ_POISON);
        int cls;
        if (!FZ_COMPREHENSIVE && s_new <= s->full) {
            cls = YES; /* shrinks in place */
        } else if (h->largest && total <= h->largest) {
            cls = YES;
        } else if (FZ_COMPREHENSIVE || s_new > s->full + h->raw_free) {
            cls = NO;
        } else {
            cls = MAYBE; /* grows into a free successor, if there is one */
        }
        attempt_t a = {sz, 4, c, true};
        plan_add(plan, s->heap, cls, &a, true);
    }
    plan_alloc(plan, size, 4, caps);
}

static void print_plan(const plan_t *plan)
{
    static const char *const names[] = {"no", "maybe", "yes"};
    for (size_t i = 0; i < plan->n; ++i) {
        const cand_t *c = &plan->c[i];
        const heap_model_t *h = &m.heaps[c->heap];
        fprintf(stderr,
                "  candidate heap %d [%#jx, %#jx) caps %#x/%#x/%#x alias %u largest %zu: %s "
                "(size %zu align %zu caps %#x%s)\n",
                c->heap, (uintmax_t)heapcaps_emu_chip_address((void *)h->start),
                (uintmax_t)heapcaps_emu_chip_address((void *)h->start) + (h->end - h->start),
                (unsigned)h->caps[0], (unsigned)h->caps[1], (unsigned)h->caps[2], h->alias,
                h->largest, names[c->cls], c->a.size, c->a.align, (unsigned)c->a.caps,
                c->inplace ? ", in place" : "");
    }
}

/* Where a returned pointer's block is: its heap, whether it came through the
 * IRAM alias (then the word before it holds the data-side address,
 * docs/heap_caps.md) and the block multi_heap handed out. */
static int locate(unsigned char *p, bool *alias, unsigned char **block)
{
    int heap = heap_at((uintptr_t)p - OWNER);
    *alias = heap < 0;
    if (heap >= 0) {
        *block = p - OWNER;
        return heap;
    }
    unsigned char *data;
    memcpy(&data, p - ALIAS_WORD, sizeof(data));
    heap = heap_at((uintptr_t)data - OWNER);
    if (heap < 0 || m.heaps[heap].alias == HEAP_ALIAS_NONE) {
        fz_fail("pointer %p (chip %#x) is in no heap and not an alias of one", (void *)p,
                (unsigned)heapcaps_emu_chip_address(p));
    }
    *block = data - OWNER;
    return heap;
}

/* Bytes multi_heap is asked for when candidate c serves (alias or not). */
static size_t mh_request(const cand_t *c, bool alias)
{
    return c->a.size + OWNER + (alias ? ALIAS_WORD : 0);
}

/* heap_caps_get_allocated_size() of a block: the bytes asked for (rounded as
 * the caps round them) with poisoning and on ESP32's reversed alias, else
 * what the block holds after the owner and alias words. */
static size_t expected_usable(const heap_model_t *h, size_t mh_req, size_t full, bool alias)
{
    size_t words = OWNER + (alias ? ALIAS_WORD : 0);
    bool reversed = alias && h->alias == HEAP_ALIAS_DIRAM && m.soc->diram_inverted;
    return FZ_POISON || reversed ? mh_req - words : full - words;
}

/* Whether p, at `block` of its heap, can be candidate c's result: the
 * alignment, the block's size and its usable size agree. (A realloc that
 * returns the old pointer resized it in place.) */
static bool consistent(const cand_t *c, const unsigned char *p, unsigned char *block, bool alias,
                       const void *old)
{
    if (p == old && !c->inplace) {
        return false;
    }
    if ((uintptr_t)p % (c->a.align > 4 ? c->a.align : 4) != 0) {
        return false;
    }
    const heap_model_t *h = &m.heaps[c->heap];
    size_t req = mh_request(c, alias);
    size_t lowest = fz_adjust(req + FZ_POISON);
    size_t full = multi_heap_get_full_block_size(h->handle, block);
    return full >= lowest && full <= lowest + FZ_SLACK &&
           heap_caps_get_allocated_size((void *)p) == expected_usable(h, req, full, alias);
}

/* The result of a request planned in `plan` (for a realloc, `old` is the
 * pointer resized): NULL only when no heap surely fits, else from a
 * candidate heap it is consistent with. Returns the candidate that served
 * it (NULL for NULL). */
static const cand_t *outcome(const plan_t *plan, unsigned char *p, const void *old,
                             const char *what, bool *alias, unsigned char **block)
{
    if (fz_trace) {
        print_plan(plan);
    }
    if (!p) {
        if (plan->certain) {
            fprintf(stderr, "%s returned NULL; the model's candidates:\n", what);
            print_plan(plan);
            fz_fail("%s returned NULL though the last candidate surely fits", what);
        }
        return NULL;
    }
    int heap = locate(p, alias, block);
    for (size_t i = 0; i < plan->n; ++i) {
        const cand_t *c = &plan->c[i];
        bool expect_alias = !c->inplace && (c->a.caps & MALLOC_CAP_EXEC) &&
                            m.heaps[c->heap].alias != HEAP_ALIAS_NONE;
        if (c->heap == heap && expect_alias == *alias && consistent(c, p, *block, *alias, old)) {
            return c;
        }
    }
    const heap_model_t *h = &m.heaps[heap];
    fprintf(stderr, "%s returned %p (chip %#x, heap %d, alias %d); the model's candidates:\n", what,
            (void *)p, (unsigned)heapcaps_emu_chip_address(p), heap, *alias);
    print_plan(plan);
    fz_fail("%s served from heap %d (caps %#x/%#x/%#x, largest %zu) in a way no candidate allows "
            "(alignment, block size, usable size)",
            what, heap, (unsigned)h->caps[0], (unsigned)h->caps[1], (unsigned)h->caps[2],
            h->largest);
}

/* ------------------------------------------------------------------ blocks */

static void check_contents(const slot_t *s)
{
    if (s->region || fz_holds(s->p, s->size, s->id)) {
        return;
    }
    size_t i = 0;
    const uint8_t *want = fz_pattern + fz_pattern_offset(s->id);
    while (i < s->size && s->p[i] == want[i]) {
        ++i;
    }
    fz_fail("block %p (chip %#x, %zu bytes) byte %zu is 0x%02x, expected 0x%02x", (void *)s->p,
            (unsigned)heapcaps_emu_chip_address(s->p), s->size, i, s->p[i], want[i]);
}

static uintptr_t block_low(const slot_t *s)
{
    return (uintptr_t)s->block - FZ_POISON_HEAD - FZ_WORD;
}

static uintptr_t block_high(const slot_t *s)
{
    return (uintptr_t)s->block - FZ_POISON_HEAD + s->full;
}

/* Record the block of candidate c at p in slot s (not yet counted). */
static void describe_block(slot_t *s, const cand_t *c, unsigned char *p, unsigned char *block,
                           bool alias, size_t req)
{
    heap_model_t *h = &m.heaps[c->heap];
    s->p = p;
    s->block = block;
    s->req = req;
    s->alias = alias;
    s->region = false;
    s->heap = (uint8_t)c->heap;
    s->mh_req = mh_request(c, alias);
    s->full = multi_heap_get_full_block_size(h->handle, block);
    size_t lowest = fz_adjust(s->mh_req + FZ_POISON);
    if (s->full < lowest || s->full > lowest + FZ_SLACK) {
        fz_fail("block of %zu bytes (multi_heap asked %zu) has a payload of %zu, expected %zu to "
                "%zu",
                req, s->mh_req, s->full, lowest, lowest + FZ_SLACK);
    }
    /* All the caps asked for, inside its heap, clear of every other block. */
    if ((h->all & c->a.caps) != c->a.caps) {
        fz_fail("block %p from a heap with caps %#x, asked for %#x", (void *)p, (unsigned)h->all,
                (unsigned)c->a.caps);
    }
    FZ_CHECK(block_low(s) >= h->start && block_high(s) <= h->end);
    FZ_CHECK((uintptr_t)p % 4 == 0);
    if (!alias) {
        FZ_CHECK(req <= c->a.size && (uintptr_t)p + c->a.size <= block_high(s));
    } else {
        FZ_CHECK(req <= c->a.size &&
                 (uintptr_t)block + OWNER + ALIAS_WORD + c->a.size <= block_high(s));
        FZ_CHECK(esp_ptr_executable(p) || esp_ptr_in_diram_iram(p));
        unsigned char *data = block + OWNER;
        if (h->alias == HEAP_ALIAS_RTC) {
            FZ_CHECK(esp_ptr_rtc_dram_to_iram(data + ALIAS_WORD) == p);
        } else if (m.soc->diram_inverted) {
            FZ_CHECK((unsigned char *)esp_ptr_diram_iram_to_dram(p) == data + c->a.size - 4);
        } else {
            FZ_CHECK((unsigned char *)esp_ptr_diram_iram_to_dram(p) == data + ALIAS_WORD);
        }
    }
    for (int i = 0; i < SLOTS; ++i) {
        const slot_t *o = &m.slots[i];
        if (o != s && o->p && o->heap == s->heap && block_low(o) < block_high(s) &&
            block_low(s) < block_high(o)) {
            fz_fail("block %p (chip %#x, %zu bytes) overlaps block %p (%zu bytes)", (void *)p,
                    (unsigned)heapcaps_emu_chip_address(p), s->full, (void *)o->p, o->full);
        }
    }
    size_t usable = heap_caps_get_allocated_size(p);
    size_t expected = expected_usable(h, s->mh_req, s->full, alias);
    if (usable != expected) {
        fz_fail("heap_caps_get_allocated_size(%p) is %zu, expected %zu (asked %zu, block %zu)",
                (void *)p, usable, expected, req, s->full);
    }
}

/* A new block: described, filled, counted. */
static void adopt(slot_t *s, const cand_t *c, unsigned char *p, unsigned char *block, bool alias,
                  size_t req, bool zeroed)
{
    describe_block(s, c, p, block, alias, req);
    heap_model_t *h = &m.heaps[c->heap];
    if (zeroed) {
        FZ_CHECK(fz_all(p, req, 0));
    }
    s->id = m.next_id++;
    s->size = req;
    fz_fill(p, 0, req, s->id);
    take(h, s->full + FZ_WORD);
    h->live++;
    h->allocated += s->full - FZ_POISON;
    touch(h);
}

static void forget(slot_t *s)
{
    heap_model_t *h = &m.heaps[s->heap];
    h->raw_free += s->full + FZ_WORD;
    h->live--;
    h->allocated -= s->full - FZ_POISON;
    s->p = NULL;
    touch(h);
}

/* ------------------------------------------------------------------ checks */

static void check_heap(heap_model_t *h)
{
    multi_heap_info_t info;
    multi_heap_get_info(h->handle, &info);
    size_t index = (size_t)(h - m.heaps);
    if (info.total_free_bytes != fz_less_poison(h->raw_free) ||
        info.minimum_free_bytes != fz_less_poison(h->raw_min) ||
        info.allocated_blocks != h->sys_blocks + h->live ||
        info.total_allocated_bytes != h->sys_bytes + h->allocated) {
        fz_fail("heap %zu (chip %#x): free %zu min %zu blocks %zu allocated %zu; model: free %zu "
                "min %zu blocks %zu allocated %zu",
                index, (unsigned)heapcaps_emu_chip_address((void *)h->start), info.total_free_bytes,
                info.minimum_free_bytes, info.allocated_blocks, info.total_allocated_bytes,
                fz_less_poison(h->raw_free), fz_less_poison(h->raw_min), h->sys_blocks + h->live,
                h->sys_bytes + h->allocated);
    }
    FZ_CHECK(info.largest_free_block == 0 ||
             info.largest_free_block + FZ_POISON + FZ_WORD <= h->raw_free);
    h->largest = info.largest_free_block;
    heapcaps_heap_fault_t fault;
    if (!heapcaps_multi_heap_check_fault(h->handle, &fault)) {
        fz_fail("heap %zu damaged: %s at %p", index, fault.problem, fault.address);
    }
}

static void check_touched(void)
{
    for (size_t i = 0; i < m.heap_count; ++i) {
        if (m.touched & ((uint64_t)1 << i)) {
            check_heap(&m.heaps[i]);
        }
    }
    m.touched = 0;
}

/* The heap_caps figures for one caps mask: sums over the heaps with all of
 * them, exactly. */
static void check_figures(uint32_t caps)
{
    size_t free_bytes = 0, minimum = 0, total = 0, info_free = 0, info_minimum = 0,
           info_allocated = 0, blocks = 0, largest = 0;
    for (size_t i = 0; i < m.heap_count; ++i) {
        const heap_model_t *h = &m.heaps[i];
        if ((h->all & caps) != caps) {
            continue;
        }
        size_t f = fz_less_poison(h->raw_free), n = fz_less_poison(h->raw_min);
        free_bytes += f;
        minimum += n;
        total += h->end - h->start;
        info_free += f > OWNER ? f - OWNER : 0;
        info_minimum += n > OWNER ? n - OWNER : 0;
        info_allocated += h->sys_bytes + h->allocated - (h->sys_blocks + h->live) * OWNER;
        blocks += h->sys_blocks + h->live;
        largest = h->largest > largest ? h->largest : largest;
    }
    largest = largest > OWNER ? largest - OWNER : 0;
    FZ_CHECK_EQ(heap_caps_get_free_size(caps), free_bytes);
    FZ_CHECK_EQ(heap_caps_get_minimum_free_size(caps), minimum);
    FZ_CHECK_EQ(heap_caps_get_total_size(caps), total);
    multi_heap_info_t info;
    heap_caps_get_info(&info, caps);
    FZ_CHECK_EQ(info.total_free_bytes, info_free);
    FZ_CHECK_EQ(info.minimum_free_bytes, info_minimum);
    FZ_CHECK_EQ(info.total_allocated_bytes, info_allocated);
    FZ_CHECK_EQ(info.allocated_blocks, blocks);
    FZ_CHECK_EQ(info.total_blocks, info.allocated_blocks + info.free_blocks);
    FZ_CHECK_EQ(info.largest_free_block, largest);
    FZ_CHECK_EQ(heap_caps_get_largest_free_block(caps), largest);
}

typedef struct {
    const slot_t *sorted[MAX_HEAPS][SLOTS];
    size_t count[MAX_HEAPS], next[MAX_HEAPS], sys_blocks[MAX_HEAPS], sys_bytes[MAX_HEAPS];
} walk_t;

static int by_block(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(const slot_t *const *)a)->block;
    uintptr_t y = (uintptr_t)(*(const slot_t *const *)b)->block;
    return (x > y) - (x < y);
}

static bool walk_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_t *w = user;
    int index = -1;
    for (size_t i = 0; i < m.heap_count; ++i) {
        if (m.heaps[i].start == (uintptr_t)heap.start && m.heaps[i].end == (uintptr_t)heap.end) {
            index = (int)i;
        }
    }
    FZ_CHECK(index >= 0);
    if (!block.used) {
        return true;
    }
    size_t *next = &w->next[index];
    const slot_t *s = *next < w->count[index] ? w->sorted[index][*next] : NULL;
    if (s && (uintptr_t)block.ptr == (uintptr_t)s->block - FZ_POISON_HEAD) {
        FZ_CHECK_EQ(block.size, s->full);
        ++*next;
    } else {
        FZ_CHECK(!s || (uintptr_t)block.ptr < (uintptr_t)s->block - FZ_POISON_HEAD);
        w->sys_blocks[index]++;
        w->sys_bytes[index] += block.size - FZ_POISON;
    }
    return true;
}

/* Every heap walked: the model's blocks are there with their sizes, and the
 * other used blocks are the startup ones the model counted. */
static void walk_all(void)
{
    static walk_t w;
    memset(&w, 0, sizeof(w));
    for (int i = 0; i < SLOTS; ++i) {
        const slot_t *s = &m.slots[i];
        if (s->p) {
            w.sorted[s->heap][w.count[s->heap]++] = s;
        }
    }
    for (size_t i = 0; i < m.heap_count; ++i) {
        qsort(w.sorted[i], w.count[i], sizeof(w.sorted[i][0]), by_block);
    }
    heap_caps_walk_all(walk_block, &w);
    for (size_t i = 0; i < m.heap_count; ++i) {
        const heap_model_t *h = &m.heaps[i];
        if (w.next[i] != w.count[i] || w.sys_blocks[i] != h->sys_blocks ||
            w.sys_bytes[i] != h->sys_bytes) {
            fz_fail("walk of heap %zu: %zu of %zu model blocks, %zu other blocks of %zu bytes "
                    "(model: %zu of %zu bytes)",
                    i, w.next[i], w.count[i], w.sys_blocks[i], w.sys_bytes[i], h->sys_blocks,
                    h->sys_bytes);
        }
    }
}

static const uint32_t figure_masks[] = {
    0,
    MALLOC_CAP_8BIT,
    MALLOC_CAP_32BIT,
    MALLOC_CAP_DEFAULT,
    MALLOC_CAP_INTERNAL,
    MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
    MALLOC_CAP_SPIRAM,
    MALLOC_CAP_EXEC,
    CUSTOM_A,
};

static void full_check(void)
{
    for (int i = 0; i < SLOTS; ++i) {
        if (m.slots[i].p) {
            check_contents(&m.slots[i]);
        }
    }
    for (size_t i = 0; i < m.heap_count; ++i) {
        check_heap(&m.heaps[i]);
    }
    m.touched = 0;
    walk_all();
    FZ_CHECK(heap_caps_check_integrity_all(true));
    check_figures(figure_masks[m.ops_in_input / FULL_CHECK %
                               (sizeof(figure_masks) / sizeof(figure_masks[0]))]);
}

static void expect_callbacks(size_t more)
{
    m.expected_callbacks += more;
    if (m.callbacks != m.expected_callbacks) {
        fz_fail("the failure callback fired %zu times, expected %zu", m.callbacks,
                m.expected_callbacks);
    }
}

/* ------------------------------------------------------------------ input */

static const uint32_t caps_table[] = {
    MALLOC_CAP_DEFAULT,
    MALLOC_CAP_8BIT,
    MALLOC_CAP_32BIT,
    MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT,
    MALLOC_CAP_DMA,
    MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
    MALLOC_CAP_DMA | MALLOC_CAP_8BIT,
    MALLOC_CAP_SPIRAM,
    MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT,
    MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL,
    MALLOC_CAP_DEFAULT | MALLOC_CAP_SPIRAM,
    MALLOC_CAP_EXEC,
    MALLOC_CAP_EXEC | MALLOC_CAP_32BIT,
    MALLOC_CAP_INTERNAL | MALLOC_CAP_32BIT,
    MALLOC_CAP_IRAM_8BIT,
    MALLOC_CAP_RTCRAM,
    MALLOC_CAP_RETENTION,
    MALLOC_CAP_SPM,
    MALLOC_CAP_DMA_DESC_AHB,
    MALLOC_CAP_DMA_DESC_AXI,
    MALLOC_CAP_CACHE_ALIGNED | MALLOC_CAP_INTERNAL,
    MALLOC_CAP_CACHE_ALIGNED | MALLOC_CAP_SPIRAM,
    MALLOC_CAP_SIMD,
    MALLOC_CAP_SIMD | MALLOC_CAP_SPIRAM,
    MALLOC_CAP_SPIRAM | MALLOC_CAP_DMA,
    MALLOC_CAP_EXEC | MALLOC_CAP_8BIT, /* refused */
    MALLOC_CAP_EXEC | MALLOC_CAP_DMA,  /* refused */
    MALLOC_CAP_EXEC | MALLOC_CAP_SIMD,
    CUSTOM_A,
    CUSTOM_B | MALLOC_CAP_8BIT,
    MALLOC_CAP_INVALID,
    0,
};
#define CAPS_TABLE (sizeof(caps_table) / sizeof(caps_table[0]))

static uint32_t fuzz_caps(fz_input_t *in)
{
    uint8_t k = fz_u8(in);
    if (k < 224) {
        return caps_table[k % CAPS_TABLE];
    }
    if (k < 240) {
        return caps_table[fz_u8(in) % CAPS_TABLE] | caps_table[fz_u8(in) % CAPS_TABLE];
    }
    return fz_u32(in); /* anything */
}

static size_t fuzz_size(fz_input_t *in, uint32_t caps)
{
    uint8_t kind = fz_u8(in);
    switch (kind & 7) {
    case 0:
    case 1:
    case 2:
        return fz_u8(in) % 97;
    case 3:
        return fz_u16(in) % 4097;
    case 4:
        return fz_u32(in) % 65537;
    case 5: {
        /* Around the largest request for these caps: the boundary. */
        size_t largest = heap_caps_get_largest_free_block(caps);
        size_t delta = fz_u8(in) % 9;
        return delta < 4 ? (largest > 4 - delta ? largest - (4 - delta) : 0)
                         : largest + (delta - 4);
    }
    case 6:
        return fz_u32(in) % (PSRAM_MAX + 4096);
    default:
        return kind & 8 ? SIZE_MAX - fz_u8(in) : (size_t)fz_u64(in);
    }
}

static size_t fuzz_alignment(fz_input_t *in)
{
    uint8_t a = fz_u8(in);
    if (a < 12) {
        return a == 0 ? 0 : (size_t)3 << (a % 6); /* invalid */
    }
    return (size_t)1 << (a % 14);
}

static slot_t *free_slot_from(unsigned i)
{
    for (unsigned k = 0; k < SLOTS; ++k) {
        slot_t *s = &m.slots[(i + k) % SLOTS];
        if (!s->p) {
            return s;
        }
    }
    return NULL;
}

/* A live block the harness may free or resize (not one holding a heap). */
static slot_t *used_slot_from(unsigned i)
{
    for (unsigned k = 0; k < SLOTS; ++k) {
        slot_t *s = &m.slots[(i + k) % SLOTS];
        if (s->p && !s->region) {
            return s;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ operations */

/* An allocation planned in `plan` returned p: checked, and kept in s. */
static void allocated(const plan_t *plan, slot_t *s, unsigned char *p, size_t req, bool zeroed,
                      const char *what)
{
    bool alias = false;
    unsigned char *block = NULL;
    const cand_t *c = outcome(plan, p, NULL, what, &alias, &block);
    if (!p) {
        return;
    }
    if (s) {
        adopt(s, c, p, block, alias, req, zeroed);
        return;
    }
    /* No slot free: check it and give it back. */
    slot_t scratch = {0};
    adopt(&scratch, c, p, block, alias, req, zeroed);
    check_contents(&scratch);
    heap_caps_free(p);
    forget(&scratch);
}

static void op_malloc(fz_input_t *in, unsigned index)
{
    uint32_t caps = fuzz_caps(in);
    size_t size = fuzz_size(in, caps);
    plan_t plan = {.n = 0};
    plan_alloc(&plan, size, 4, caps);
    unsigned char *p = heap_caps_malloc(size, caps);
    FZ_TRACE("heap_caps_malloc(%zu, %#x) -> %p\n", size, (unsigned)caps, (void *)p);
    allocated(&plan, free_slot_from(index), p, size, false, "heap_caps_malloc");
    expect_callbacks(!p && size ? 1 : 0);
}

static void op_calloc(fz_input_t *in, unsigned index)
{
    uint32_t caps = fuzz_caps(in);
    size_t size = fuzz_size(in, caps);
    size_t n = fz_u8(in) % 4;
    if (fz_u8(in) == 0xFF) {
        n = SIZE_MAX / 2 + 2; /* the product overflows */
    }
    size_t bytes;
    bool overflow = __builtin_mul_overflow(n, size, &bytes);
    plan_t plan = {.n = 0};
    if (!overflow) {
        plan_alloc(&plan, bytes, 4, caps);
    }
    unsigned char *p = heap_caps_calloc(n, size, caps);
    FZ_TRACE("heap_caps_calloc(%zu, %zu, %#x) -> %p\n", n, size, (unsigned)caps, (void *)p);
    allocated(&plan, free_slot_from(index), p, overflow ? 0 : bytes, true, "heap_caps_calloc");
    expect_callbacks(!p && size ? 1 : 0);
}

static void op_aligned(fz_input_t *in, unsigned index, bool zeroed)
{
    uint32_t caps = fuzz_caps(in);
    size_t size = fuzz_size(in, caps);
    size_t alignment = fuzz_alignment(in);
    size_t n = zeroed ? fz_u8(in) % 3 : 1;
    size_t bytes;
    bool overflow = __builtin_mul_overflow(n, size, &bytes);
    bool invalid = overflow || alignment == 0 || (alignment & (alignment - 1)) || bytes == 0;
    plan_t plan = {.n = 0};
    if (!invalid) {
        plan_alloc(&plan, bytes, alignment, caps);
    }
    unsigned char *p = zeroed ? heap_caps_aligned_calloc(alignment, n, size, caps)
                              : heap_caps_aligned_alloc(alignment, size, caps);
    FZ_TRACE("heap_caps_aligned_%s(%zu, %zu x %zu, %#x) -> %p\n", zeroed ? "calloc" : "alloc",
             alignment, n, size, (unsigned)caps, (void *)p);
    if (invalid) {
        FZ_CHECK(p == NULL);
    }
    allocated(&plan, free_slot_from(index), p, invalid ? 0 : bytes, zeroed,
              "heap_caps_aligned_alloc");
    expect_callbacks(!p && !invalid ? 1 : 0);
}

static void free_slot(slot_t *s, bool deprecated_call)
{
    check_contents(s);
    FZ_TRACE("heap_caps_free(%p)\n", (void *)s->p);
    if (deprecated_call) {
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
        heap_caps_aligned_free(s->p);
#pragma clang diagnostic pop
    } else {
        heap_caps_free(s->p);
    }
    forget(s);
}

static void op_free(unsigned index, bool deprecated_call)
{
    slot_t *s = used_slot_from(index);
    if (!s) {
        heap_caps_free(NULL); /* a no-op */
        return;
    }
    free_slot(s, deprecated_call);
}

/* A realloc planned in `plan` (s live, size > 0) returned q. */
static void reallocated(const plan_t *plan, slot_t *s, unsigned char *q, size_t size,
                        const char *what)
{
    bool alias = false;
    unsigned char *block = NULL;
    const cand_t *c = outcome(plan, q, s->p, what, &alias, &block);
    if (!q) {
        check_contents(s); /* untouched */
        return;
    }
    slot_t old = *s;
    size_t kept = old.size < size ? old.size : size;
    if (!fz_holds(q, kept, old.id)) {
        fz_fail("%s of %p (%zu bytes) to %zu bytes at %p lost its contents", what, (void *)old.p,
                old.size, size, (void *)q);
    }
    heap_model_t *from = &m.heaps[old.heap], *to = &m.heaps[c->heap];
    if (c->inplace) {
        FZ_CHECK(to == from);
        size_t s_new = fz_adjust(c->a.size + OWNER + FZ_POISON);
        if (!FZ_COMPREHENSIVE && s_new <= old.full) {
            FZ_CHECK(q == old.p); /* shrinks in place */
        }
    }
    s->p = NULL; /* not an overlap with itself */
    describe_block(s, c, q, block, alias, size);
    s->id = old.id;
    s->size = size;
    fz_fill(q, kept, size, s->id);
    /* The low-water mark: multi_heap_realloc counts the net change except
     * with Comprehensive poisoning; a move allocates before it frees. */
    if (c->inplace && !FZ_COMPREHENSIVE) {
        from->raw_free += old.full + FZ_WORD;
        take(to, s->full + FZ_WORD);
    } else {
        take(to, s->full + FZ_WORD);
        from->raw_free += old.full + FZ_WORD;
    }
    from->live--;
    from->allocated -= old.full - FZ_POISON;
    to->live++;
    to->allocated += s->full - FZ_POISON;
    touch(from);
    touch(to);
}

static void op_realloc(fz_input_t *in, unsigned index)
{
    uint32_t caps = fuzz_caps(in);
    size_t size = fuzz_size(in, caps);
    slot_t *s = fz_u8(in) & 1 ? used_slot_from(index) : NULL;
    if (!s) {
        slot_t *target = free_slot_from(index);
        plan_t plan = {.n = 0};
        plan_alloc(&plan, size, 4, caps);
        unsigned char *p = heap_caps_realloc(NULL, size, caps);
        FZ_TRACE("heap_caps_realloc(NULL, %zu, %#x) -> %p\n", size, (unsigned)caps, (void *)p);
        allocated(&plan, target, p, size, false, "heap_caps_realloc");
        expect_callbacks(!p && size ? 1 : 0);
        return;
    }
    check_contents(s);
    if (size == 0) {
        FZ_TRACE("heap_caps_realloc(%p, 0, %#x)\n", (void *)s->p, (unsigned)caps);
        FZ_CHECK(heap_caps_realloc(s->p, 0, caps) == NULL); /* frees */
        forget(s);
        expect_callbacks(0);
        return;
    }
    plan_t plan = {.n = 0};
    plan_realloc(&plan, s, size, caps);
    unsigned char *q = heap_caps_realloc(s->p, size, caps);
    FZ_TRACE("heap_caps_realloc(%p, %zu, %#x) -> %p\n", (void *)s->p, size, (unsigned)caps,
             (void *)q);
    reallocated(&plan, s, q, size, "heap_caps_realloc");
    expect_callbacks(q ? 0 : 1);
}

static void op_prefer(fz_input_t *in, unsigned index)
{
    uint8_t kind = fz_u8(in);
    size_t num = kind % 4;
    uint32_t caps[3] = {fuzz_caps(in), fuzz_caps(in), fuzz_caps(in)};
    size_t size = fuzz_size(in, caps[0]);
    plan_t plan = {.n = 0};
    unsigned char *p;
#define PREFER_ARGS(f, ...)                                                                        \
    (num == 0   ? f(__VA_ARGS__, 0)                                                                \
     : num == 1 ? f(__VA_ARGS__, 1, caps[0])                                                       \
     : num == 2 ? f(__VA_ARGS__, 2, caps[0], caps[1])                                              \
                : f(__VA_ARGS__, 3, caps[0], caps[1], caps[2]))
    if ((kind >> 2) % 3 == 2) {
        /* realloc over a preference list */
        slot_t *s = used_slot_from(index);
        if (!s || size == 0) {
            return;
        }
        check_contents(s);
        for (size_t i = 0; i < num; ++i) {
            plan_realloc(&plan, s, size, caps[i]);
        }
        unsigned char *q = PREFER_ARGS(heap_caps_realloc_prefer, s->p, size);
        FZ_TRACE("heap_caps_realloc_prefer(%p, %zu, %zu: %#x %#x %#x) -> %p\n", (void *)s->p, size,
                 num, (unsigned)caps[0], (unsigned)caps[1], (unsigned)caps[2], (void *)q);
        reallocated(&plan, s, q, size, "heap_caps_realloc_prefer");
        expect_callbacks(q ? 0 : 1);
        return;
    }
    bool zeroed = (kind >> 2) % 3 == 1;
    size_t n = zeroed ? fz_u8(in) % 3 : 1, bytes = 0;
    bool overflow = __builtin_mul_overflow(n, size, &bytes);
    for (size_t i = 0; i < num && !overflow; ++i) {
        plan_alloc(&plan, bytes, 4, caps[i]);
    }
    if (zeroed) {
        p = PREFER_ARGS(heap_caps_calloc_prefer, n, size);
    } else {
        p = PREFER_ARGS(heap_caps_malloc_prefer, size);
    }
#undef PREFER_ARGS
    FZ_TRACE("heap_caps_%s_prefer(%zu x %zu, %zu: %#x %#x %#x) -> %p\n",
             zeroed ? "calloc" : "malloc", n, size, num, (unsigned)caps[0], (unsigned)caps[1],
             (unsigned)caps[2], (void *)p);
    allocated(&plan, free_slot_from(index), p, bytes, zeroed, "heap_caps_malloc_prefer");
    expect_callbacks(!p && size ? 1 : 0);
}

/* The malloc() policy: internal memory first up to the threshold, PSRAM
 * above it, each falling back to any DEFAULT heap (docs/heap_caps.md). */
static uint32_t policy_caps(size_t size)
{
    if (m.extmem_limit < 0 || size <= (size_t)m.extmem_limit) {
        return MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL;
    }
    return MALLOC_CAP_DEFAULT | MALLOC_CAP_SPIRAM;
}

static void op_default(fz_input_t *in, unsigned index)
{
    uint8_t kind = fz_u8(in) % 3;
    size_t size = fuzz_size(in, MALLOC_CAP_DEFAULT);
    plan_t plan = {.n = 0};
    if (kind == 0) {
        plan_alloc(&plan, size, 4, policy_caps(size));
        if (m.extmem_limit >= 0) {
            plan_alloc(&plan, size, 4, MALLOC_CAP_DEFAULT);
        }
        unsigned char *p = heap_caps_malloc_default(size);
        FZ_TRACE("heap_caps_malloc_default(%zu) -> %p (limit %d)\n", size, (void *)p,
                 m.extmem_limit);
        allocated(&plan, free_slot_from(index), p, size, false, "heap_caps_malloc_default");
        expect_callbacks(!p && size ? 1 : 0);
    } else if (kind == 1) {
        size_t alignment = fuzz_alignment(in);
        bool invalid = alignment == 0 || (alignment & (alignment - 1)) || size == 0;
        if (!invalid) {
            plan_alloc(&plan, size, alignment, policy_caps(size));
            if (m.extmem_limit >= 0) {
                plan_alloc(&plan, size, alignment, MALLOC_CAP_DEFAULT);
            }
        }
        unsigned char *p = heap_caps_aligned_alloc_default(alignment, size);
        FZ_TRACE("heap_caps_aligned_alloc_default(%zu, %zu) -> %p (limit %d)\n", alignment, size,
                 (void *)p, m.extmem_limit);
        if (invalid) {
            FZ_CHECK(p == NULL);
        }
        allocated(&plan, free_slot_from(index), p, size, false, "heap_caps_aligned_alloc_default");
        expect_callbacks(!p && !invalid ? 1 : 0);
    } else {
        slot_t *s = used_slot_from(index);
        if (!s || size == 0) {
            return;
        }
        check_contents(s);
        plan_realloc(&plan, s, size, policy_caps(size));
        if (m.extmem_limit >= 0) {
            plan_realloc(&plan, s, size, MALLOC_CAP_DEFAULT);
        }
        unsigned char *q = heap_caps_realloc_default(s->p, size);
        FZ_TRACE("heap_caps_realloc_default(%p, %zu) -> %p (limit %d)\n", (void *)s->p, size,
                 (void *)q, m.extmem_limit);
        reallocated(&plan, s, q, size, "heap_caps_realloc_default");
        expect_callbacks(q ? 0 : 1);
    }
}

static void op_extmem(fz_input_t *in)
{
    uint8_t kind = fz_u8(in);
    size_t limit;
    switch (kind % 5) {
    case 0:
        limit = SIZE_MAX; /* off again */
        break;
    case 1:
        limit = 0;
        break;
    case 2:
        limit = 16384;
        break;
    case 3:
        limit = fz_u16(in);
        break;
    default:
        limit = fz_u32(in);
        break;
    }
    heap_caps_malloc_extmem_enable(limit);
    m.extmem_limit = (int)limit; /* the API keeps it as an int: (int)SIZE_MAX is -1 */
    FZ_TRACE("heap_caps_malloc_extmem_enable(%zu) (limit %d)\n", limit, m.extmem_limit);
}

/* After heap_caps_add_region*(): which heap gave the new heap's descriptor
 * (an allocation of the library's), and the new heap itself. */
static void after_add_region(esp_err_t err)
{
    size_t descriptor = fz_adjust(sizeof(heap_t) + OWNER + FZ_POISON);
    size_t gained = 0;
    for (size_t i = 0; i < m.heap_count; ++i) {
        heap_model_t *h = &m.heaps[i];
        multi_heap_info_t info;
        multi_heap_get_info(h->handle, &info);
        size_t raw_free = h->handle->free_bytes, raw_min = h->handle->minimum_free_bytes;
        size_t blocks = info.allocated_blocks - h->live;
        if (blocks == h->sys_blocks + 1) {
            /* The descriptor: one more block of the right size. */
            size_t taken = h->raw_free - raw_free;
            FZ_CHECK(err == ESP_OK && taken >= descriptor + FZ_WORD &&
                     taken <= descriptor + FZ_SLACK + FZ_WORD);
            gained++;
            h->sys_blocks = blocks;
            h->sys_bytes = info.total_allocated_bytes - h->allocated;
        } else {
            FZ_CHECK_EQ(blocks, h->sys_blocks);
            FZ_CHECK_EQ(raw_free, h->raw_free);
        }
        /* A descriptor allocated and freed again lowers the mark too. */
        FZ_CHECK(raw_min <= h->raw_min && raw_min + descriptor + FZ_SLACK + FZ_WORD >= h->raw_min);
        h->raw_free = raw_free;
        h->raw_min = raw_min;
        touch(h);
    }
    FZ_CHECK_EQ(gained, err == ESP_OK ? 1 : 0);
    if (err == ESP_OK) {
        size_t before = m.heap_count;
        snapshot_heaps();
        FZ_CHECK_EQ(m.heap_count, before + 1);
        heap_model_t *h = &m.heaps[0]; /* added at the head of the list */
        /* A fresh heap, added after startup: its minimum is 0. */
        FZ_CHECK_EQ(h->sys_blocks, 0);
        FZ_CHECK_EQ(h->raw_min, 0);
        FZ_CHECK_EQ(h->raw_free, h->end - h->start - heapcaps_multi_heap_overhead(h->handle));
        m.runtime_regions++;
    }
}

/* Regions added at run time: inside a block of our own (nested heap, with
 * caps from a small set: some steal requests from the chip's heaps), over
 * the chip's unused static RAM, and the argument errors. */
static void op_add_region(fz_input_t *in, unsigned index)
{
    static const uint32_t region_caps[][SOC_MEMORY_TYPE_NO_PRIOS] = {
        {CUSTOM_A, 0, 0},
        {0, CUSTOM_B | MALLOC_CAP_8BIT, MALLOC_CAP_32BIT},
        {0, MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
         MALLOC_CAP_DEFAULT | MALLOC_CAP_8BIT | MALLOC_CAP_32BIT},
        {MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, 0, MALLOC_CAP_8BIT | MALLOC_CAP_32BIT},
        {MALLOC_CAP_EXEC | MALLOC_CAP_32BIT, 0, CUSTOM_A},
    };
    uint8_t kind = fz_u8(in);
    size_t before_callbacks = m.callbacks;
    if (kind % 4 == 3) {
        /* Argument errors: no heap changes. */
        static char outside[64];
        const heap_model_t *h = &m.heaps[fz_u8(in) % m.heap_count];
        FZ_CHECK_EQ(heap_caps_add_region(0, 0x100), ESP_ERR_INVALID_ARG);
        FZ_CHECK_EQ(heap_caps_add_region_with_caps(NULL, (intptr_t)h->start, (intptr_t)h->end),
                    ESP_ERR_INVALID_ARG);
        FZ_CHECK_EQ(
            heap_caps_add_region_with_caps(region_caps[0], (intptr_t)h->end, (intptr_t)h->start),
            ESP_ERR_INVALID_ARG);
        FZ_CHECK_EQ(heap_caps_add_region((intptr_t)outside, (intptr_t)outside + sizeof(outside)),
                    ESP_ERR_NOT_FOUND);
        FZ_CHECK_EQ(
            heap_caps_add_region_with_caps(region_caps[0], (intptr_t)h->start, (intptr_t)h->end),
            ESP_FAIL); /* the same range again */
        FZ_CHECK_EQ(heap_caps_add_region_with_caps(region_caps[0], (intptr_t)h->start - 16,
                                                   (intptr_t)h->start + 16),
                    ESP_FAIL); /* across its start */
        expect_callbacks(0);
        return;
    }
    if (m.runtime_regions >= MAX_RUNTIME) {
        return;
    }
    intptr_t start, end;
    const uint32_t *caps = region_caps[fz_u8(in) % (sizeof(region_caps) / sizeof(region_caps[0]))];
    esp_err_t err;
    if (kind % 4 == 2) {
        if (m.static_added) {
            return;
        }
        start = (intptr_t)heapcaps_emu_host_ptr(m.config->static_ram);
        end = start + 0x1000;
        if (heap_at((uintptr_t)start) >= 0 || heap_at((uintptr_t)end - 1) >= 0) {
            return; /* not unused in this configuration */
        }
        err = heap_caps_add_region(start, end);
        FZ_TRACE("heap_caps_add_region(static RAM %#x) -> %d\n", (unsigned)m.config->static_ram,
                 err);
        FZ_CHECK(err == ESP_OK || err == ESP_ERR_NO_MEM);
        m.static_added = err == ESP_OK;
    } else {
        /* A block of ours becomes a heap (as the DMA reserve pool does). */
        slot_t *s = used_slot_from(index);
        if (!s || s->alias || s->req < 8) {
            return;
        }
        start = (intptr_t)s->p;
        end = start + (intptr_t)s->req - (kind & 4 ? 1 : 0);
        size_t room = (size_t)(end - ((start + (intptr_t)FZ_WORD - 1) & ~(intptr_t)(FZ_WORD - 1)));
        /* The new heap's descriptor comes from INTERNAL|8BIT memory. */
        plan_t descriptor = {.n = 0};
        plan_alloc(&descriptor, sizeof(heap_t), 4, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
        check_contents(s);
        err = heap_caps_add_region_with_caps(caps, start, end);
        FZ_TRACE("heap_caps_add_region_with_caps(%#x/%#x/%#x, block %p + %zu) -> %d\n",
                 (unsigned)caps[0], (unsigned)caps[1], (unsigned)caps[2], (void *)s->p,
                 (size_t)(end - start), err);
        if (err == ESP_OK) {
            s->region = true; /* its bytes are the new heap's now */
            FZ_CHECK(room >= heapcaps_multi_heap_min_region_size());
        } else if (err == ESP_ERR_INVALID_SIZE) {
            FZ_CHECK(room < heapcaps_multi_heap_min_region_size());
        } else {
            FZ_CHECK_EQ(err, ESP_ERR_NO_MEM);
            FZ_CHECK(!descriptor.certain);
        }
    }
    /* The descriptor allocation reports like any failed heap_caps_malloc. */
    m.expected_callbacks += m.callbacks - before_callbacks;
    FZ_CHECK(m.callbacks - before_callbacks == (err == ESP_ERR_NO_MEM ? 1u : 0u));
    after_add_region(err);
}

/* The size queries of a live block. */
static void op_query(fz_input_t *in, unsigned index)
{
    slot_t *s = used_slot_from(index);
    if (!s) {
        return;
    }
    size_t usable = heap_caps_get_allocated_size(s->p);
    FZ_CHECK(usable >= s->req);
    if (fz_u8(in) & 1) {
        /* Write every byte promised: the heap must stay intact. */
        fz_fill(s->p, s->size < usable ? s->size : usable, usable, s->id);
        s->size = usable > s->size ? usable : s->size;
        touch(&m.heaps[s->heap]);
        FZ_CHECK(heap_caps_check_integrity_addr((intptr_t)s->block, false));
        return;
    }
    if (!s->alias && s->req) {
        size_t k = fz_u16(in) % s->req;
        size_t expected = FZ_POISON ? s->mh_req : s->full;
        FZ_CHECK_EQ(heap_caps_get_containing_block_size(s->p + k), expected);
    }
}

/* Local minimum monitoring: start resets every heap's mark to its free
 * bytes (saving the lowest mark), stop puts the saved marks back. */
static void op_monitor(fz_input_t *in)
{
    if (fz_u8(in) & 1) {
        FZ_TRACE("heap_caps_monitor_local_minimum_free_size_start()\n");
        FZ_CHECK_EQ(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
        for (size_t i = 0; i < m.heap_count; ++i) {
            heap_model_t *h = &m.heaps[i];
            if (!m.monitor_active || !h->monitored) {
                h->monitor_saved = SIZE_MAX;
                h->monitored = true;
            }
            if (h->raw_min < h->monitor_saved) {
                h->monitor_saved = h->raw_min;
            }
            h->raw_min = h->raw_free;
            touch(h);
        }
        m.monitor_active = true;
    } else {
        esp_err_t err = heap_caps_monitor_local_minimum_free_size_stop();
        FZ_TRACE("heap_caps_monitor_local_minimum_free_size_stop() -> %d\n", err);
        FZ_CHECK_EQ(err, m.monitor_active ? ESP_OK : ESP_FAIL);
        for (size_t i = 0; i < m.heap_count && m.monitor_active; ++i) {
            heap_model_t *h = &m.heaps[i];
            if (h->monitored && h->monitor_saved < h->raw_min) {
                h->raw_min = h->monitor_saved;
            }
            h->monitored = false;
            touch(h);
        }
        m.monitor_active = false;
    }
}

enum {
    DO_MALLOC,
    DO_MALLOC2,
    DO_MALLOC3,
    DO_CALLOC,
    DO_FREE,
    DO_FREE2,
    DO_FREE3,
    DO_ALIGNED_FREE,
    DO_REALLOC,
    DO_REALLOC2,
    DO_ALIGNED,
    DO_ALIGNED_CALLOC,
    DO_PREFER,
    DO_DEFAULT,
    DO_DEFAULT2,
    DO_EXTMEM,
    DO_ADD_REGION,
    DO_QUERY,
    DO_MONITOR,
    DO_FIGURES,
    DO_FULL_CHECK,
    DO_KINDS
};

static void run_op(fz_input_t *in)
{
    uint8_t code = fz_u8(in);
    unsigned index = fz_u8(in) % SLOTS;
    switch (code % DO_KINDS) {
    case DO_MALLOC:
    case DO_MALLOC2:
    case DO_MALLOC3:
        op_malloc(in, index);
        break;
    case DO_CALLOC:
        op_calloc(in, index);
        break;
    case DO_FREE:
    case DO_FREE2:
    case DO_FREE3:
        op_free(index, false);
        break;
    case DO_ALIGNED_FREE:
        op_free(index, true);
        break;
    case DO_REALLOC:
    case DO_REALLOC2:
        op_realloc(in, index);
        break;
    case DO_ALIGNED:
        op_aligned(in, index, false);
        break;
    case DO_ALIGNED_CALLOC:
        op_aligned(in, index, true);
        break;
    case DO_PREFER:
        op_prefer(in, index);
        break;
    case DO_DEFAULT:
    case DO_DEFAULT2:
        op_default(in, index);
        break;
    case DO_EXTMEM:
        op_extmem(in);
        break;
    case DO_ADD_REGION:
        op_add_region(in, index);
        break;
    case DO_QUERY:
        op_query(in, index);
        break;
    case DO_MONITOR:
        op_monitor(in);
        break;
    case DO_FIGURES:
        check_figures(fuzz_caps(in));
        break;
    default:
        full_check();
        break;
    }
    check_touched();
    expect_callbacks(0);
    const slot_t *s = &m.slots[fz_operations % SLOTS];
    if (s->p) {
        check_contents(s);
    }
    fz_operations++;
    if (++m.ops_in_input % FULL_CHECK == 0) {
        full_check();
    }
}

/* ------------------------------------------------------------------ entry points */

static void boot(fz_input_t *in)
{
    uint8_t pick = fz_u8(in);
    m.config = &configs[pick % CONFIGS];
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = m.config->psram;
    options.memprot = m.config->memprot;
    options.rtc_heap = m.config->rtc_heap;
    options.psram_use = m.config->psram_use;
    options.psram_always_internal = m.config->always_internal;
    options.psram_reserve_internal = m.config->reserve;
    esp_err_t err = heapcaps_emu_boot(m.config->target, &options);
    FZ_TRACE("boot %s (config %u) -> %d\n", m.config->target, (unsigned)(pick % CONFIGS), err);
    FZ_CHECK_EQ(err, ESP_OK);
    FZ_CHECK_EQ(heap_caps_register_failed_alloc_callback(count_failure), ESP_OK);
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    FZ_CHECK(layout && layout->soc);
    m.soc = layout->soc;
    m.size_limit =
        (m.soc->max_contiguous_ram_size ? m.soc->max_contiguous_ram_size : SIZE_MAX / 2) - OWNER;
    /* Memory protection is on by default except on ESP32 (docs/emulator.md). */
    m.aliases_mapped =
        m.config->memprot == HEAPCAPS_EMU_OFF ||
        (m.config->memprot == HEAPCAPS_EMU_DEFAULT && strcmp(m.config->target, "esp32") == 0);
    m.extmem_limit = -1;
    if (m.config->psram && m.config->psram_use == 0) {
        long limit = m.config->always_internal;
        m.extmem_limit = limit == 0 ? 16384 : limit == HEAPCAPS_EMU_NONE ? 0 : (int)limit;
    }
    snapshot_heaps();
    check_touched();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_init("fuzz_heap_caps", LONGEST_BLOCK);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_input_t in = {data, size, 0};
    memset(&m, 0, sizeof(m));
    boot(&in);
    while (fz_more(&in)) {
        run_op(&in);
    }
    full_check();
    for (int i = 0; i < SLOTS; ++i) {
        if (m.slots[i].p && !m.slots[i].region) {
            free_slot(&m.slots[i], false);
        }
    }
    check_touched();
    expect_callbacks(0);
    heapcaps_emu_shutdown();
    fz_inputs++;
    return 0;
}
