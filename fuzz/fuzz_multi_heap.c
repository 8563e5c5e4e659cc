/*
 * fuzz_multi_heap.c — libFuzzer harness for multi_heap.h: one to three heaps
 * of fuzzed sizes and start alignments in a static arena, driven through
 * every allocation call by the fuzzer's bytes, each step checked against a
 * model the harness keeps itself (docs/fuzzing.md).
 *
 * Input: a set-up part (heap count; per heap: size, start skew, fill byte,
 * lock), then operations until the bytes run out: an opcode byte (kind and
 * heap), a slot byte, then the operation's own arguments. Reads past the end
 * are 0, so every byte string is a valid program.
 *
 * The model: per heap the raw free bytes (payload + header of every free
 * block: docs/allocator.md, "Accounting"), its low-water mark, the live
 * blocks with their sizes and contents, the largest request last reported.
 * After every operation the touched heap's multi_heap_get_info() figures
 * must equal the model's exactly and multi_heap_check() must pass; every
 * 64 operations (and at the end) all blocks' contents and a walk of every
 * heap are compared with the model too.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_common.h"

#include "heapcaps/lock.h"
#include "heapcaps/multi_heap_ext.h"
#include "multi_heap.h"

#define MAX_HEAPS   3
#define SLOTS       64
#define REGION_ROOM ((size_t)160 * 1024) /* largest heap */
#define SKEW_ROOM   ((size_t)4096)       /* room for the start skew */
#define FULL_CHECK  64u                  /* operations between full checks */

typedef struct {
    multi_heap_handle_t handle;
    unsigned char *start;
    size_t size;
    bool locked;
    heapcaps_lock_t lock;
    size_t fresh_raw;      /* raw free bytes of the fresh heap */
    size_t raw_free;       /* model: sum of (payload + header) of the free blocks */
    size_t raw_min;        /* model: low-water mark of raw_free */
    size_t largest;        /* largest_free_block as last reported (before the operation) */
    size_t live;           /* model: allocated blocks */
    size_t allocated;      /* model: reported total_allocated_bytes */
    size_t last_reset_min; /* what the last reset returned, to restore */
} heap_model_t;

typedef struct {
    unsigned char *p; /* NULL: free slot */
    size_t req;       /* bytes asked for */
    size_t size;      /* bytes holding the pattern (req, or the usable size) */
    size_t full;      /* block payload: multi_heap_get_full_block_size() */
    uint32_t id;      /* pattern of the contents */
    uint8_t heap;
} slot_t;

static _Alignas(4096) unsigned char arena[MAX_HEAPS][REGION_ROOM + SKEW_ROOM];

static struct {
    heap_model_t heaps[MAX_HEAPS];
    unsigned heap_count;
    slot_t slots[SLOTS];
    uint32_t next_id;
    size_t min_region;
    unsigned touched; /* bit per heap: checked after the operation */
    size_t ops_in_input;
} m;

/* ------------------------------------------------------------------ model */

static size_t class_floor(size_t size)
{
    if (size < 16 * FZ_WORD) {
        return size; /* one class per word size below 16 words */
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll((unsigned long long)size);
    return (size >> (msb - 4)) << (msb - 4); /* 16 classes per power of two */
}

static void note_taken(heap_model_t *h, size_t bytes)
{
    FZ_CHECK(bytes <= h->raw_free);
    h->raw_free -= bytes;
    if (h->raw_free < h->raw_min) {
        h->raw_min = h->raw_free;
    }
}

static void check_contents(const slot_t *s)
{
    if (!fz_holds(s->p, s->size, s->id)) {
        size_t i = 0;
        const uint8_t *want = fz_pattern + fz_pattern_offset(s->id);
        while (i < s->size && s->p[i] == want[i]) {
            ++i;
        }
        fz_fail("block %p (heap %u, %zu bytes) byte %zu is 0x%02x, expected 0x%02x", (void *)s->p,
                s->heap, s->size, i, s->p[i], want[i]);
    }
}

/* The extent of a block: its header word through the end of its payload. */
static uintptr_t block_low(const slot_t *s)
{
    return (uintptr_t)s->p - FZ_POISON_HEAD - FZ_WORD;
}

static uintptr_t block_high(const slot_t *s)
{
    return (uintptr_t)s->p - FZ_POISON_HEAD + s->full;
}

/* A block just handed out: where it is, its alignment, its size, and that
 * it overlaps no other live block; then it is filled and counted. */
static void adopt(heap_model_t *h, slot_t *s, void *p, size_t req, size_t alignment, size_t offset)
{
    unsigned char *q = p;
    FZ_CHECK((uintptr_t)q % FZ_WORD == 0);
    if (alignment) {
        FZ_CHECK(((uintptr_t)q + offset) % alignment == 0);
    }
    FZ_CHECK(q >= h->start && (uintptr_t)q - (uintptr_t)h->start <= h->size &&
             req <= h->size - (size_t)(q - h->start));
    s->p = q;
    s->req = req;
    s->size = req;
    s->heap = (uint8_t)(h - m.heaps);
    s->full = multi_heap_get_full_block_size(h->handle, q);
    size_t lowest = fz_adjust(req + FZ_POISON);
    if (s->full < lowest || s->full > lowest + FZ_SLACK) {
        fz_fail("block of %zu bytes has a payload of %zu, expected %zu to %zu", req, s->full,
                lowest, lowest + FZ_SLACK);
    }
    FZ_CHECK(block_low(s) >= (uintptr_t)h->start && block_high(s) <= (uintptr_t)h->start + h->size);
    FZ_CHECK_EQ(multi_heap_get_allocated_size(h->handle, q), FZ_POISON ? req : s->full);
    for (int i = 0; i < SLOTS; ++i) {
        const slot_t *o = &m.slots[i];
        if (o != s && o->p && o->heap == s->heap && block_low(o) < block_high(s) &&
            block_low(s) < block_high(o)) {
            fz_fail("new block %p (%zu bytes) overlaps block %p (%zu bytes)", p, s->full,
                    (void *)o->p, o->full);
        }
    }
#ifdef CONFIG_HEAP_POISONING_COMPREHENSIVE
    /* A fresh block reads the malloc pattern (docs/debugging.md). */
    FZ_CHECK(fz_all(q, req, 0xCE));
#endif
    s->id = m.next_id++;
    fz_fill(q, 0, req, s->id);
    note_taken(h, s->full + FZ_WORD);
    h->live++;
    h->allocated += s->full - FZ_POISON;
}

/* The model's side of freeing s (its contents checked first). */
static void forget(slot_t *s)
{
    heap_model_t *h = &m.heaps[s->heap];
    h->raw_free += s->full + FZ_WORD;
    h->live--;
    h->allocated -= s->full - FZ_POISON;
    s->p = NULL;
}

/* multi_heap_get_info(), the size queries and multi_heap_check() against the
 * model; also remembers the largest request for the next operation. */
static void check_heap(heap_model_t *h)
{
    multi_heap_info_t info;
    multi_heap_get_info(h->handle, &info);
    FZ_CHECK_EQ(info.total_free_bytes, fz_less_poison(h->raw_free));
    FZ_CHECK_EQ(multi_heap_free_size(h->handle), info.total_free_bytes);
    FZ_CHECK_EQ(info.minimum_free_bytes, fz_less_poison(h->raw_min));
    FZ_CHECK_EQ(multi_heap_minimum_free_size(h->handle), info.minimum_free_bytes);
    FZ_CHECK_EQ(info.allocated_blocks, h->live);
    FZ_CHECK_EQ(info.total_allocated_bytes, h->allocated);
    FZ_CHECK_EQ(info.total_blocks, info.allocated_blocks + info.free_blocks);
    /* No two free blocks are adjacent, each holds a header and a minimum payload. */
    FZ_CHECK(info.free_blocks <= h->live + 1);
    FZ_CHECK(h->raw_free >= info.free_blocks * (FZ_MIN_PAYLOAD + FZ_WORD));
    FZ_CHECK((info.free_blocks == 0) == (h->raw_free == 0));
    if (info.free_blocks == 0) {
        FZ_CHECK_EQ(info.largest_free_block, 0);
    } else {
        FZ_CHECK(info.largest_free_block + FZ_POISON >= FZ_MIN_PAYLOAD);
    }
    if (info.largest_free_block) {
        FZ_CHECK(info.largest_free_block + FZ_POISON + FZ_WORD <= h->raw_free);
    }
    h->largest = info.largest_free_block;
    heapcaps_heap_fault_t fault;
    if (!heapcaps_multi_heap_check_fault(h->handle, &fault)) {
        fz_fail("heap %u damaged: %s at %p", (unsigned)(h - m.heaps), fault.problem, fault.address);
    }
    FZ_CHECK(multi_heap_check(h->handle, false));
}

typedef struct {
    const heap_model_t *h;
    const slot_t *sorted[SLOTS];
    size_t count, next;
    uintptr_t expect;
    size_t free_sum, free_count, max_free;
    bool prev_free;
} walk_t;

static bool walk_block(void *block, size_t size, int used, void *user)
{
    walk_t *w = user;
    uintptr_t at = (uintptr_t)block;
    FZ_CHECK(!w->expect || at == w->expect); /* blocks follow each other */
    FZ_CHECK(at >= (uintptr_t)w->h->start && size <= w->h->size &&
             at - (uintptr_t)w->h->start <= w->h->size - size);
    w->expect = at + size + FZ_WORD;
    if (used) {
        FZ_CHECK(w->next < w->count);
        const slot_t *s = w->sorted[w->next++];
        if (at != (uintptr_t)s->p - FZ_POISON_HEAD || size != s->full) {
            fz_fail("walk: used block %p size %zu, model has %p size %zu", block, size,
                    (void *)(s->p - FZ_POISON_HEAD), s->full);
        }
        w->prev_free = false;
    } else {
        FZ_CHECK(!w->prev_free);
        FZ_CHECK(size >= FZ_MIN_PAYLOAD);
        w->free_sum += size + FZ_WORD;
        w->free_count++;
        w->max_free = size > w->max_free ? size : w->max_free;
        w->prev_free = true;
    }
    return true;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(const slot_t *const *)a)->p;
    uintptr_t y = (uintptr_t)(*(const slot_t *const *)b)->p;
    return (x > y) - (x < y);
}

/* The heap's blocks, walked, are exactly the model's live blocks (address
 * and size) with free blocks between them that add up to the free bytes;
 * the largest request lies between the floor of the largest free block's
 * class and its size. */
static void walk_heap(const heap_model_t *h)
{
    walk_t w;
    memset(&w, 0, sizeof(w));
    w.h = h;
    for (int i = 0; i < SLOTS; ++i) {
        if (m.slots[i].p && &m.heaps[m.slots[i].heap] == h) {
            w.sorted[w.count++] = &m.slots[i];
        }
    }
    qsort(w.sorted, w.count, sizeof(w.sorted[0]), by_address);
    multi_heap_walk(h->handle, walk_block, &w);
    FZ_CHECK_EQ(w.next, w.count);
    FZ_CHECK_EQ(w.free_sum, h->raw_free);
    FZ_CHECK(w.expect <= (uintptr_t)h->start + h->size);
    multi_heap_info_t info;
    multi_heap_get_info(h->handle, &info);
    FZ_CHECK_EQ(info.free_blocks, w.free_count);
    if (info.largest_free_block) {
        size_t raw_largest = info.largest_free_block + FZ_POISON;
        FZ_CHECK(raw_largest <= w.max_free && raw_largest >= class_floor(w.max_free));
    } else {
        FZ_CHECK(class_floor(w.max_free) <= FZ_POISON);
    }
}

static void full_check(void)
{
    for (int i = 0; i < SLOTS; ++i) {
        if (m.slots[i].p) {
            check_contents(&m.slots[i]);
        }
    }
    for (unsigned i = 0; i < m.heap_count; ++i) {
        check_heap(&m.heaps[i]);
        walk_heap(&m.heaps[i]);
    }
}

/* ------------------------------------------------------------------ input */

/* A request size: mostly small, sometimes the exact boundary of the
 * largest request, sometimes anything up to SIZE_MAX. */
static size_t fuzz_size(fz_input_t *in, const heap_model_t *h)
{
    uint8_t kind = fz_u8(in);
    switch (kind & 7) {
    case 0:
    case 1:
    case 2:
        return fz_u8(in) % 65;
    case 3:
    case 4:
        return fz_u16(in) % 2049;
    case 5: {
        size_t delta = fz_u8(in) % 9; /* largest - 4 ... largest + 4 */
        return delta < 4 ? (h->largest > 4 - delta ? h->largest - (4 - delta) : 0)
                         : h->largest + (delta - 4);
    }
    case 6:
        return fz_u32(in) % (h->size + 64);
    default:
        return kind & 8 ? SIZE_MAX - fz_u8(in) : (size_t)fz_u64(in);
    }
}

/* An alignment: 0 and non-powers of two are invalid; else 1 to 4096. */
static size_t fuzz_alignment(fz_input_t *in)
{
    uint8_t a = fz_u8(in);
    if (a < 8) {
        return a == 0 ? 0 : (size_t)3 << (a % 6); /* invalid */
    }
    return (size_t)1 << (a % 13);
}

static size_t fuzz_offset(fz_input_t *in)
{
    uint8_t kind = fz_u8(in);
    switch (kind & 3) {
    case 0:
        return 0;
    case 1:
        return fz_u8(in);
    case 2:
        return fz_u32(in) % (REGION_ROOM + SKEW_ROOM + 64);
    default:
        return SIZE_MAX - fz_u8(in);
    }
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

static slot_t *used_slot_from(unsigned i)
{
    for (unsigned k = 0; k < SLOTS; ++k) {
        slot_t *s = &m.slots[(i + k) % SLOTS];
        if (s->p) {
            return s;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ set-up */

/* Registration must not rely on zeroed memory: garbage where the heap's
 * header, control block and end marker go (the rest is never read before
 * it is written, and filling all of it would cost more than the operations). */
static void dirty(unsigned char *start, size_t size, unsigned char fill)
{
    size_t head = size < 8192 ? size : 8192;
    memset(start, fill, head);
    memset(start + size - (size < 64 ? size : 64), fill ^ 0x5A, size < 64 ? size : 64);
}

static void setup_heap(fz_input_t *in, unsigned i)
{
    heap_model_t *h = &m.heaps[i];
    uint8_t kind = fz_u8(in);
    uint16_t r = fz_u16(in);
    size_t size;
    switch (kind & 3) {
    case 0: /* around the smallest region, some below it */
        size = m.min_region - 16 + r % 512;
        break;
    case 1:
        size = r % 8192;
        break;
    case 2:
        size = 4096 + (size_t)r % (60 * 1024);
        break;
    default:
        size = (size_t)r * 3 % (REGION_ROOM + 1);
        break;
    }
    uint8_t skew_kind = fz_u8(in), skew_arg = fz_u8(in);
    size_t skew;
    switch (skew_kind & 3) {
    case 0:
        skew = 0; /* 4096-aligned */
        break;
    case 1:
        skew = FZ_WORD * (skew_arg % 64);
        break;
    case 2:
        skew = (size_t)8 << (skew_arg % 9); /* exactly 8 ... 2048 aligned */
        break;
    default:
        skew = FZ_WORD * (skew_arg % 64) + 1 + skew_arg % (FZ_WORD - 1); /* misaligned */
        break;
    }
    if (size > REGION_ROOM + SKEW_ROOM - skew) {
        size = REGION_ROOM + SKEW_ROOM - skew;
    }
    unsigned char fill = fz_u8(in);
    h->locked = kind & 4;
    unsigned char *start = arena[i] + skew;
    dirty(start, size, fill);
    multi_heap_handle_t handle = multi_heap_register(start, size);
    FZ_TRACE("register heap %u at %p size %zu -> %p\n", i, (void *)start, size, (void *)handle);
    if ((uintptr_t)start % FZ_WORD || size < m.min_region) {
        FZ_CHECK(handle == NULL);
        /* A refused region is not the heap's: its bytes stay as they were. */
        size_t tail = size < 64 ? size : 64;
        size_t plain = size - tail < 8192 ? size - tail : 8192; /* as dirty() left them */
        if (!fz_all(start, plain, fill) || !fz_all(start + size - tail, tail, fill ^ 0x5A)) {
            fz_fail("multi_heap_register(%p, %zu) refused the region but wrote to it",
                    (void *)start, size);
        }
        /* Use a valid region instead. */
        start = arena[i] + (skew & ~(FZ_WORD - 1));
        size = size < m.min_region ? m.min_region : size;
        dirty(start, size, fill);
        handle = multi_heap_register(start, size);
        FZ_TRACE("register heap %u at %p size %zu -> %p\n", i, (void *)start, size, (void *)handle);
    }
    FZ_CHECK(handle == (multi_heap_handle_t)(void *)start);
    h->handle = handle;
    h->start = start;
    h->size = size;
    if (h->locked) {
        heapcaps_lock_init(&h->lock);
        multi_heap_set_lock(handle, &h->lock);
    }
    size_t overhead = heapcaps_multi_heap_overhead(handle);
    FZ_CHECK(overhead < size && overhead <= 4096 + FZ_WORD);
    h->fresh_raw = size - overhead;
    FZ_CHECK(h->fresh_raw >= FZ_MIN_PAYLOAD + FZ_WORD);
    h->raw_free = h->fresh_raw;
    h->raw_min = h->fresh_raw;
    h->live = 0;
    h->allocated = 0;
    h->last_reset_min = h->fresh_raw;
    /* A fresh heap is one free block: free bytes = largest request + header. */
    multi_heap_info_t info;
    multi_heap_get_info(handle, &info);
    FZ_CHECK_EQ(info.free_blocks, 1);
    FZ_CHECK_EQ(info.largest_free_block, fz_less_poison(h->fresh_raw - FZ_WORD));
    check_heap(h);
}

/* ------------------------------------------------------------------ operations */

/* multi_heap_malloc(n) succeeds exactly when 0 < n <= the largest request
 * reported (docs/differences.md: largest_free_block is exact). */
static void op_malloc(fz_input_t *in, heap_model_t *h, unsigned index, bool zeroed)
{
    size_t n = fuzz_size(in, h);
    if (zeroed) {
        /* calloc-like (multi_heap has no calloc): count * size, overflow refused here */
        size_t count = fz_u8(in) % 5;
        if (__builtin_mul_overflow(count, n, &n)) {
            return;
        }
    }
    slot_t *s = free_slot_from(index);
    if (!s) {
        return;
    }
    void *p = multi_heap_malloc(h->handle, n);
    FZ_TRACE("malloc(heap %u, %zu) -> %p (largest %zu)\n", (unsigned)(h - m.heaps), n, p,
             h->largest);
    bool fits = n > 0 && n <= h->largest;
    if ((p != NULL) != fits) {
        fz_fail("multi_heap_malloc(%zu) returned %p with largest_free_block %zu", n, p, h->largest);
    }
    if (p) {
        adopt(h, s, p, n, 0, 0);
        if (zeroed) {
            memset(p, 0, n);
            FZ_CHECK(fz_all(p, n, 0));
            fz_fill(p, 0, n, s->id);
        }
    }
}

static void op_aligned(fz_input_t *in, heap_model_t *h, unsigned index, bool with_offset)
{
    size_t n = fuzz_size(in, h);
    size_t alignment = fuzz_alignment(in);
    size_t offset = with_offset ? fuzz_offset(in) : 0;
    slot_t *s = free_slot_from(index);
    if (!s) {
        return;
    }
    void *p = with_offset ? multi_heap_aligned_alloc_offs(h->handle, n, alignment, offset)
                          : multi_heap_aligned_alloc(h->handle, n, alignment);
    FZ_TRACE("aligned_alloc_offs(heap %u, %zu, %zu, %zu) -> %p (largest %zu)\n",
             (unsigned)(h - m.heaps), n, alignment, offset, p, h->largest);
    bool invalid = n == 0 || alignment == 0 || (alignment & (alignment - 1)) ||
                   offset > SIZE_MAX - FZ_POISON_HEAD || offset + FZ_POISON_HEAD > h->size;
    bool must_fail = invalid || n > h->largest;
    bool must_succeed = false;
    if (!must_fail && alignment <= FZ_WORD) {
        must_succeed = true; /* a plain allocation */
    } else if (!must_fail && h->largest) {
        /* The allocator takes a block of s + alignment + split minimum - word
         * (docs/allocator.md): certain to be served when the largest is as big. */
        size_t need = fz_adjust(n + FZ_POISON) + alignment - FZ_WORD + FZ_SPLIT_MIN;
        must_succeed = need <= h->largest + FZ_POISON;
    }
    if ((must_fail && p) || (must_succeed && !p)) {
        fz_fail("multi_heap_aligned_alloc_offs(%zu, align %zu, offset %zu) returned %p with "
                "largest_free_block %zu",
                n, alignment, offset, p, h->largest);
    }
    if (p) {
        size_t rounded = (offset + FZ_WORD - 1) & ~(FZ_WORD - 1);
        adopt(h, s, p, n, alignment, rounded);
    }
}

static void op_free(slot_t *s, bool aligned_free)
{
    if (!s) {
        multi_heap_free(m.heaps[0].handle, NULL); /* a no-op */
        return;
    }
    heap_model_t *h = &m.heaps[s->heap];
    check_contents(s);
    FZ_TRACE("free(heap %u, %p)\n", s->heap, (void *)s->p);
    if (aligned_free) {
        multi_heap_aligned_free(h->handle, s->p);
    } else {
        multi_heap_free(h->handle, s->p);
    }
    forget(s);
    m.touched |= 1u << s->heap;
}

static void op_realloc(fz_input_t *in, heap_model_t *h, unsigned index)
{
    slot_t *s = &m.slots[index];
    if (!s->p) {
        size_t n = fuzz_size(in, h);
        void *p = multi_heap_realloc(h->handle, NULL, n);
        FZ_TRACE("realloc(heap %u, NULL, %zu) -> %p\n", (unsigned)(h - m.heaps), n, p);
        if ((p != NULL) != (n > 0 && n <= h->largest)) {
            fz_fail("multi_heap_realloc(NULL, %zu) returned %p with largest_free_block %zu", n, p,
                    h->largest);
        }
        if (p) {
            adopt(h, s, p, n, 0, 0);
        }
        return;
    }
    h = &m.heaps[s->heap];
    m.touched |= 1u << s->heap;
    size_t n = fuzz_size(in, h);
    check_contents(s);
    unsigned char *old = s->p;
    size_t old_full = s->full, old_req = s->req, old_size = s->size;
    unsigned char *q = multi_heap_realloc(h->handle, old, n);
    FZ_TRACE("realloc(heap %u, %p, %zu) -> %p (block %zu, largest %zu, free %zu)\n", s->heap,
             (void *)old, n, (void *)q, old_full, h->largest, h->raw_free);
    if (n == 0) {
        FZ_CHECK(q == NULL); /* frees */
        forget(s);
        return;
    }
    bool must_fail = false, must_succeed = false, in_place = false;
    if (n > h->size) {
        must_fail = true; /* larger than the region (and the rounding below cannot overflow) */
    } else if (FZ_COMPREHENSIVE) {
        /* Always a new block (malloc, copy, free): exactly malloc's rule. */
        must_succeed = n <= h->largest;
        must_fail = !must_succeed;
    } else {
        size_t s_new = fz_adjust(n + FZ_POISON);
        if (s_new <= old_full) {
            must_succeed = in_place = true; /* shrinks in place */
        } else if (n <= h->largest) {
            must_succeed = true; /* in place into a free successor, or moved */
        } else if (s_new > old_full + h->raw_free) {
            must_fail = true; /* not even the whole free memory next to it */
        }
    }
    if ((must_fail && q) || (must_succeed && !q)) {
        fz_fail("multi_heap_realloc(block of %zu, %zu) returned %p with largest_free_block %zu",
                old_full, n, (void *)q, h->largest);
    }
    if (!q) {
        check_contents(s); /* untouched */
        return;
    }
    if (in_place) {
        FZ_CHECK(q == old);
    }
    if (FZ_COMPREHENSIVE) {
        FZ_CHECK(q != old);
    }
    /* The old bytes moved along, up to the smaller size. */
    size_t kept = old_size < n ? old_size : n;
    if (!fz_holds(q, kept, s->id)) {
        fz_fail("realloc of %p (%zu bytes) to %zu bytes at %p lost its contents", (void *)old,
                old_size, n, (void *)q);
    }
#ifdef CONFIG_HEAP_POISONING_COMPREHENSIVE
    size_t copied = old_req < n ? old_req : n;
    FZ_CHECK(fz_all(q + copied, n - copied, 0xCE)); /* past the copied data: uninitialised */
#else
    (void)old_req;
#endif
    fz_fill(q, kept, n, s->id);
    s->p = q;
    s->req = n;
    s->size = n;
    s->full = multi_heap_get_full_block_size(h->handle, q);
    size_t lowest = fz_adjust(n + FZ_POISON);
    if (s->full < lowest || s->full > lowest + FZ_SLACK) {
        fz_fail("realloc to %zu bytes gave a payload of %zu, expected %zu to %zu", n, s->full,
                lowest, lowest + FZ_SLACK);
    }
    FZ_CHECK(q >= h->start && block_high(s) <= (uintptr_t)h->start + h->size);
    for (int i = 0; i < SLOTS; ++i) {
        const slot_t *o = &m.slots[i];
        if (o != s && o->p && o->heap == s->heap && block_low(o) < block_high(s) &&
            block_low(s) < block_high(o)) {
            fz_fail("reallocated block %p overlaps block %p", (void *)q, (void *)o->p);
        }
    }
    /* The low-water mark: Comprehensive holds both blocks for a moment; the
     * unpoisoned and Light builds count the net change (docs/allocator.md). */
    if (FZ_COMPREHENSIVE) {
        note_taken(h, s->full + FZ_WORD);
        h->raw_free += old_full + FZ_WORD;
    } else {
        h->raw_free += old_full + FZ_WORD;
        note_taken(h, s->full + FZ_WORD);
    }
    h->allocated += s->full - old_full;
}

/* get_allocated_size, get_full_block_size and find_containing_block of a
 * live block and of an address inside it. */
static void op_query(fz_input_t *in, slot_t *s)
{
    if (!s) {
        return;
    }
    heap_model_t *h = &m.heaps[s->heap];
    size_t k = fz_u16(in) % s->req;
    FZ_CHECK_EQ(multi_heap_get_allocated_size(h->handle, s->p), FZ_POISON ? s->req : s->full);
    FZ_CHECK_EQ(multi_heap_get_full_block_size(h->handle, s->p), s->full);
    void *found = multi_heap_find_containing_block(h->handle, s->p + k);
    if (found != s->p) {
        fz_fail("find_containing_block(%p + %zu) returned %p", (void *)s->p, k, found);
    }
    /* The heap's own header is in no block. */
    FZ_CHECK(multi_heap_find_containing_block(h->handle, h->start) == NULL);
}

/* Write every byte get_allocated_size() promises: the heap must stay intact. */
static void op_fill_usable(slot_t *s)
{
    if (!s) {
        return;
    }
    heap_model_t *h = &m.heaps[s->heap];
    size_t usable = multi_heap_get_allocated_size(h->handle, s->p);
    FZ_CHECK(usable >= s->size);
    fz_fill(s->p, s->size, usable, s->id);
    s->size = usable;
    m.touched |= 1u << s->heap;
}

static void op_minimum(fz_input_t *in, heap_model_t *h)
{
    uint8_t how = fz_u8(in);
    if (how & 1) {
        /* Returns the raw mark (it is not adjusted for poisoning, as in ESP-IDF). */
        size_t previous = multi_heap_reset_minimum_free_bytes(h->handle);
        FZ_CHECK_EQ(previous, h->raw_min);
        h->raw_min = h->raw_free;
        h->last_reset_min = previous;
    } else {
        size_t value = how & 2 ? h->last_reset_min : fz_u32(in) % (h->fresh_raw + 1);
        multi_heap_restore_minimum_free_bytes(h->handle, value);
        if (value < h->raw_min) {
            h->raw_min = value;
        }
    }
}

/* The boundary: the largest request is served, one byte more is not. */
static void op_probe_largest(heap_model_t *h, unsigned index)
{
    size_t largest = h->largest;
    FZ_CHECK(multi_heap_malloc(h->handle, largest + 1) == NULL);
    if (!largest) {
        return;
    }
    slot_t *s = free_slot_from(index);
    if (!s) {
        return;
    }
    void *p = multi_heap_malloc(h->handle, largest);
    FZ_TRACE("malloc(heap %u, largest %zu) -> %p\n", (unsigned)(h - m.heaps), largest, p);
    if (!p) {
        fz_fail("multi_heap_malloc(largest_free_block %zu) failed", largest);
    }
    adopt(h, s, p, largest, 0, 0);
}

/* Calls on no heap, and with no pointer: no-ops and zeros. */
static void op_null(heap_model_t *h, slot_t *s)
{
    multi_heap_info_t info;
    memset(&info, 0xA5, sizeof(info));
    multi_heap_get_info(NULL, &info);
    FZ_CHECK(info.total_free_bytes == 0 && info.total_blocks == 0 && info.largest_free_block == 0);
    FZ_CHECK(multi_heap_malloc(NULL, 8) == NULL);
    FZ_CHECK(multi_heap_aligned_alloc(NULL, 8, 8) == NULL);
    FZ_CHECK(multi_heap_free_size(NULL) == 0 && multi_heap_minimum_free_size(NULL) == 0);
    FZ_CHECK(!multi_heap_check(NULL, false));
    FZ_CHECK(multi_heap_find_containing_block(NULL, h->start) == NULL);
    FZ_CHECK(multi_heap_malloc(h->handle, 0) == NULL);
    FZ_CHECK(multi_heap_get_allocated_size(h->handle, NULL) == 0);
    FZ_CHECK(multi_heap_get_full_block_size(h->handle, NULL) == 0);
    multi_heap_free(h->handle, NULL);
    if (s) {
        /* A NULL heap leaves the block alone. */
        FZ_CHECK(multi_heap_realloc(NULL, s->p, 16) == NULL);
        FZ_CHECK(multi_heap_get_allocated_size(NULL, s->p) == 0);
        multi_heap_free(NULL, s->p);
        check_contents(s);
    }
}

enum {
    OP_MALLOC,
    OP_MALLOC2,
    OP_MALLOC3,
    OP_CALLOC,
    OP_FREE,
    OP_FREE2,
    OP_FREE3,
    OP_ALIGNED_FREE,
    OP_REALLOC,
    OP_REALLOC2,
    OP_ALIGNED,
    OP_ALIGNED_OFFS,
    OP_QUERY,
    OP_FILL_USABLE,
    OP_MINIMUM,
    OP_PROBE,
    OP_NULL,
    OP_FULL_CHECK,
    OP_KINDS
};

static void run_op(fz_input_t *in)
{
    uint8_t code = fz_u8(in);
    unsigned kind = code % OP_KINDS;
    heap_model_t *h = &m.heaps[(code / OP_KINDS) % m.heap_count];
    unsigned index = fz_u8(in) % SLOTS;
    m.touched = 1u << (h - m.heaps);
    switch (kind) {
    case OP_MALLOC:
    case OP_MALLOC2:
    case OP_MALLOC3:
        op_malloc(in, h, index, false);
        break;
    case OP_CALLOC:
        op_malloc(in, h, index, true);
        break;
    case OP_FREE:
    case OP_FREE2:
    case OP_FREE3:
        op_free(used_slot_from(index), false);
        break;
    case OP_ALIGNED_FREE:
        op_free(used_slot_from(index), true);
        break;
    case OP_REALLOC:
    case OP_REALLOC2:
        op_realloc(in, h, index);
        break;
    case OP_ALIGNED:
        op_aligned(in, h, index, false);
        break;
    case OP_ALIGNED_OFFS:
        op_aligned(in, h, index, true);
        break;
    case OP_QUERY:
        op_query(in, used_slot_from(index));
        break;
    case OP_FILL_USABLE:
        op_fill_usable(used_slot_from(index));
        break;
    case OP_MINIMUM:
        op_minimum(in, h);
        break;
    case OP_PROBE:
        op_probe_largest(h, index);
        break;
    case OP_NULL:
        op_null(h, used_slot_from(index));
        break;
    default:
        full_check();
        break;
    }
    for (unsigned i = 0; i < m.heap_count; ++i) {
        if (m.touched & (1u << i)) {
            check_heap(&m.heaps[i]);
        }
    }
    /* One block's contents per operation, all of them now and then. */
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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_init("fuzz_multi_heap", REGION_ROOM + SKEW_ROOM);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_input_t in = {data, size, 0};
    memset(&m, 0, sizeof(m));
    m.min_region = heapcaps_multi_heap_min_region_size();
    m.heap_count = 1 + fz_u8(&in) % MAX_HEAPS;
    for (unsigned i = 0; i < m.heap_count; ++i) {
        setup_heap(&in, i);
    }
    while (fz_more(&in)) {
        run_op(&in);
    }
    full_check();
    /* Everything freed: each heap is one free block again, as it started. */
    for (int i = 0; i < SLOTS; ++i) {
        if (m.slots[i].p) {
            op_free(&m.slots[i], false);
        }
    }
    for (unsigned i = 0; i < m.heap_count; ++i) {
        heap_model_t *h = &m.heaps[i];
        check_heap(h);
        FZ_CHECK_EQ(h->raw_free, h->fresh_raw);
        multi_heap_info_t info;
        multi_heap_get_info(h->handle, &info);
        FZ_CHECK_EQ(info.free_blocks, 1);
        FZ_CHECK_EQ(info.largest_free_block, fz_less_poison(h->fresh_raw - FZ_WORD));
        if (h->locked) {
            heapcaps_lock_destroy(&h->lock);
        }
    }
    fz_inputs++;
    return 0;
}
