/*
 * multi_heap_poisoning.c — corruption detection between multi_heap's public
 * functions and the allocator (Light and Comprehensive levels; the Basic
 * level does not build this file and multi_heap.c's functions are public).
 *
 * Every block carries an 8-byte head and a 4-byte tail around the bytes
 * asked for:
 *
 *   [head canary 0xABBA1234][alloc size][data ... size bytes][tail canary 0xBAAD5678]
 *   ^ block payload          ^ +4        ^ +8 = pointer returned
 *
 * The tail follows the data directly, so it may be unaligned; it is read and
 * written bytewise. Free, realloc and the size queries verify both canaries
 * and stop the program when one is damaged; multi_heap_check() verifies
 * every block.
 *
 * Comprehensive also keeps free memory filled with 0xFE: the region at
 * registration, every block at free, the headers a merge absorbs (the core's
 * merge hook). A new allocation must find 0xFE (else something wrote to free
 * memory) and is then filled with 0xCE, so reads of uninitialised memory
 * show. Realloc never resizes in place there: it moves, so the old block is
 * freed and refilled.
 *
 * Everything happens under the heap's lock, taken once here; the block
 * operations below it (multi_heap_ops.h) neither lock nor check the pointer
 * again. A pointer that is not an allocated block of the heap is stopped by
 * the allocator's pointer check before any canary is read.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapcaps/multi_heap_ext.h"
#include "mem_ops.h"
#include "multi_heap.h"
#include "multi_heap_ops.h"
#include "port/port.h"

#define HEAD_CANARY 0xABBA1234u
#define TAIL_CANARY 0xBAAD5678u
#define HEAD_BYTES  MULTI_HEAP_POISON_HEAD
#define TAIL_BYTES  4u
#define POISON      (HEAD_BYTES + TAIL_BYTES)
#define MALLOC_FILL 0xCE
#define FREE_FILL   0xFE

#ifdef MULTI_HEAP_POISONING_SLOW
_Static_assert(FREE_FILL == TLSF_FREE_FILL, "the core's merge hook refills with the free pattern");
#endif

typedef struct {
    uint32_t canary;
    uint32_t alloc_size;
} poison_head_t;

_Static_assert(sizeof(poison_head_t) == HEAD_BYTES, "the head is 8 bytes");

static const char FAULT_HEAD[] = "head canary damaged";
static const char FAULT_TAIL[] = "tail canary damaged";
static const char FAULT_SIZE[] = "allocation size in the head is larger than the block";
static const char FAULT_FILL[] = "free memory written after free";

/* ---- canaries ----------------------------------------------------------- */

static uint32_t read_u32(const void *at)
{
    uint32_t value;
    heapcaps_copy(&value, at, sizeof(value));
    return value;
}

static void write_u32(void *at, uint32_t value)
{
    heapcaps_copy(at, &value, sizeof(value));
}

/* Write head and tail around `size` bytes of data in block payload `head`;
 * return the data pointer. */
static void *poison_block(void *head, size_t size)
{
    poison_head_t h = {HEAD_CANARY, (uint32_t)size};
    heapcaps_copy(head, &h, sizeof(h));
    char *data = (char *)head + HEAD_BYTES;
    write_u32(data + size, TAIL_CANARY);
    return data;
}

/* Verify the head and tail of the block at payload `head` with payload
 * size `block_size` (0: unknown, the size field is not range-checked).
 * Prints what is wrong when print_errors; the first fault goes to *fault. */
static bool verify_canaries(const void *head, size_t block_size, bool print_errors,
                            heapcaps_heap_fault_t *fault)
{
    poison_head_t h;
    heapcaps_copy(&h, head, sizeof(h));
    if (h.canary != HEAD_CANARY) {
        if (print_errors) {
            heapcaps_port_printf("CORRUPT HEAP: Bad head at %p. Expected 0x%08x got 0x%08x\n", head,
                                 HEAD_CANARY, (unsigned)h.canary);
        }
        *fault = (heapcaps_heap_fault_t){head, FAULT_HEAD};
        return false;
    }
    if (block_size && (block_size < POISON || h.alloc_size > block_size - POISON)) {
        const char *size_at = (const char *)head + 4;
        if (print_errors) {
            heapcaps_port_printf(
                "CORRUPT HEAP: Size at %p expected <=0x%08x got 0x%08x\n", (const void *)size_at,
                (unsigned)(block_size >= POISON ? block_size - POISON : 0), (unsigned)h.alloc_size);
        }
        *fault = (heapcaps_heap_fault_t){size_at, FAULT_SIZE};
        return false;
    }
    const char *tail = (const char *)head + HEAD_BYTES + h.alloc_size;
    uint32_t tail_value = read_u32(tail);
    if (tail_value != TAIL_CANARY) {
        if (print_errors) {
            heapcaps_port_printf("CORRUPT HEAP: Bad tail at %p. Expected 0x%08x got 0x%08x\n",
                                 (const void *)tail, TAIL_CANARY, (unsigned)tail_value);
        }
        *fault = (heapcaps_heap_fault_t){tail, FAULT_TAIL};
        return false;
    }
    return true;
}

/* Stop after damage found on free, realloc or a size query (ESP-IDF asserts). */
TLSF_COLD _Noreturn static void stop_on_damage(multi_heap_handle_t heap, const char *function)
{
    mh_unlock(heap);
    heapcaps_port_printf("assert failed: %s multi_heap_poisoning.c (head != NULL)\n", function);
    heapcaps_port_abort("heap corruption: damaged canary");
}

/* The block payload (head) of data pointer p, verified: p must be an
 * allocated block of the heap and both canaries intact, else stop.
 * Called with the lock held. */
static poison_head_t *verified_head(multi_heap_handle_t heap, void *p, pointer_op_t op,
                                    const char *function)
{
    poison_head_t *head = (poison_head_t *)(void *)((char *)p - HEAD_BYTES);
    require_allocated(heap, head, op);
    heapcaps_heap_fault_t fault;
    if (!verify_canaries(head, tlsf_block_size_of(head), true, &fault)) {
        stop_on_damage(heap, function);
    }
    return head;
}

/* ---- the free-memory pattern (Comprehensive) ---------------------------- */

#ifdef MULTI_HEAP_POISONING_SLOW
/* Check that [start, start + bytes) holds `expected`; print each damaged
 * word (and trailing byte) when print_errors. */
static bool verify_fill(const char *start, size_t bytes, uint8_t expected, bool print_errors,
                        heapcaps_heap_fault_t *fault)
{
    const uint32_t pattern = expected * 0x01010101u;
    bool intact = true;
    size_t i = 0;
    /* Whole 4-byte words first, then the bytes that remain. */
    for (; i + 4 <= bytes; i += 4) {
        uint32_t word = read_u32(start + i);
        if (word != pattern) {
            if (print_errors) {
                heapcaps_port_printf(
                    "CORRUPT HEAP: Invalid data at %p. Expected 0x%08x got 0x%08x\n",
                    (const void *)(start + i), (unsigned)pattern, (unsigned)word);
            }
            if (intact) {
                *fault = (heapcaps_heap_fault_t){start + i, FAULT_FILL};
            }
            intact = false;
        }
    }
    for (; i < bytes; ++i) {
        uint8_t byte;
        heapcaps_copy(&byte, start + i, 1);
        if (byte != expected) {
            if (print_errors) {
                heapcaps_port_printf(
                    "CORRUPT HEAP: Invalid data at %p. Expected 0x%02x got 0x%02x\n",
                    (const void *)(start + i), (unsigned)expected, (unsigned)byte);
            }
            if (intact) {
                *fault = (heapcaps_heap_fault_t){start + i, FAULT_FILL};
            }
            intact = false;
        }
    }
    return intact;
}

/* Bytes of a free block's payload that hold the pattern: all but the two
 * list links at its start and the footer word at its end. */
static inline size_t free_fill_start(void)
{
    return 2 * tlsf_align_size();
}

/* A block just allocated from free memory: its data (from the end of the
 * free block's links, up to its last word, which may have been the footer)
 * must still hold the free pattern; then it gets the malloc pattern. */
static void take_from_free_memory(multi_heap_handle_t heap, poison_head_t *head, size_t size)
{
    char *data = (char *)(head + 1);
    char *check_from = (char *)head + free_fill_start();
    char *check_to = (char *)head + tlsf_block_size_of(head) - tlsf_align_size();
    if (check_from < data) {
        check_from = data;
    }
    if (check_to > data + size) {
        check_to = data + size;
    }
    heapcaps_heap_fault_t fault;
    if (check_from < check_to &&
        !verify_fill(check_from, (size_t)(check_to - check_from), FREE_FILL, true, &fault)) {
        mh_unlock(heap);
        heapcaps_port_printf("assert failed: multi_heap_malloc multi_heap_poisoning.c "
                             "(free memory intact)\n");
        heapcaps_port_abort("heap corruption: free memory was written after free");
    }
    heapcaps_fill(data, MALLOC_FILL, size);
}
#else
static inline void take_from_free_memory(multi_heap_handle_t heap, poison_head_t *head, size_t size)
{
    (void)heap, (void)head, (void)size;
}
#endif

/* ---- the public functions ------------------------------------------------ */

#ifdef MULTI_HEAP_POISONING_SLOW
/* The free pattern over a free block, where the integrity check expects it. */
static bool fill_free_block(void *payload, size_t size, bool used, void *user)
{
    (void)user;
    size_t from = free_fill_start();
    size_t to = size - tlsf_align_size();
    if (!used && from < to) {
        heapcaps_fill((char *)payload + from, FREE_FILL, to - from);
    }
    return true;
}
#endif

/* The region is filled only once it is accepted: a refused region keeps its
 * bytes (docs/differences.md). */
multi_heap_handle_t multi_heap_register(void *start, size_t size)
{
    multi_heap_handle_t heap = multi_heap_register_impl(start, size);
#ifdef MULTI_HEAP_POISONING_SLOW
    if (heap) {
        tlsf_walk(core_of(heap), fill_free_block, NULL);
    }
#endif
    return heap;
}

/* Head and tail on a fresh block of `size` data bytes. */
static void *hand_out(multi_heap_handle_t heap, void *head, size_t size)
{
    if (!head) {
        return NULL;
    }
    take_from_free_memory(heap, head, size);
    return poison_block(head, size);
}

void *multi_heap_malloc(multi_heap_handle_t heap, size_t size)
{
    if (!heap || !size || size > SIZE_MAX - POISON || size > UINT32_MAX) {
        return NULL;
    }
    mh_lock(heap);
    void *p = hand_out(heap, malloc_unlocked(heap, size + POISON), size);
    mh_unlock(heap);
    return p;
}

void *multi_heap_aligned_alloc_offs(multi_heap_handle_t heap, size_t size, size_t alignment,
                                    size_t offset)
{
    if (!heap || !size || size > SIZE_MAX - POISON || size > UINT32_MAX ||
        offset > SIZE_MAX - HEAD_BYTES) {
        return NULL;
    }
    mh_lock(heap);
    void *head =
        multi_heap_aligned_alloc_offs_impl(heap, size + POISON, alignment, offset + HEAD_BYTES);
    void *p = hand_out(heap, head, size);
    mh_unlock(heap);
    return p;
}

void multi_heap_free(multi_heap_handle_t heap, void *p)
{
    if (!heap || !p) {
        return;
    }
    mh_lock(heap);
    poison_head_t *head = verified_head(heap, p, OP_FREE, "multi_heap_free");
#ifdef MULTI_HEAP_POISONING_SLOW
    /* The whole payload, so the block is pattern-filled whatever it merges with. */
    heapcaps_fill(head, FREE_FILL, tlsf_block_size_of(head));
#endif
    free_block_unlocked(heap, head); /* verified_head() checked the pointer */
    mh_unlock(heap);
}

void *multi_heap_realloc(multi_heap_handle_t heap, void *p, size_t size)
{
    if (!heap) {
        return NULL;
    }
    if (!p) {
        return multi_heap_malloc(heap, size);
    }
    if (!size) {
        multi_heap_free(heap, p);
        return NULL;
    }
    if (size > SIZE_MAX - POISON || size > UINT32_MAX) {
        return NULL;
    }
    mh_lock(heap);
    poison_head_t *head = verified_head(heap, p, OP_REALLOC, "multi_heap_realloc");
#ifdef MULTI_HEAP_POISONING_SLOW
    /* Always move, so the old block is refilled and checked like any free. */
    size_t old_size = head->alloc_size;
    void *result = multi_heap_malloc(heap, size);
    if (result) {
        heapcaps_copy(result, p, old_size < size ? old_size : size);
        multi_heap_free(heap, p);
    }
#else
    void *result = NULL;
    poison_head_t *moved = realloc_block_unlocked(heap, head, size + POISON);
    if (moved) {
        result = poison_block(moved, size);
    }
#endif
    mh_unlock(heap);
    return result;
}

size_t multi_heap_get_allocated_size(multi_heap_handle_t heap, void *p)
{
    if (!heap || !p) {
        return 0;
    }
    mh_lock(heap);
    poison_head_t *head = verified_head(heap, p, OP_GET_SIZE, "multi_heap_get_allocated_size");
    /* The bytes before the tail canary: writing all of them is safe. */
    size_t size = head->alloc_size;
    mh_unlock(heap);
    return size;
}

size_t multi_heap_get_full_block_size(multi_heap_handle_t heap, void *p)
{
    if (!heap || !p) {
        return 0;
    }
    mh_lock(heap);
    poison_head_t *head = verified_head(heap, p, OP_GET_SIZE, "multi_heap_get_full_block_size");
    size_t size = tlsf_block_size_of(head);
    mh_unlock(heap);
    return size;
}

void *multi_heap_find_containing_block(multi_heap_handle_t heap, void *ptr)
{
    char *head = multi_heap_find_containing_block_impl(heap, ptr);
    return head ? head + HEAD_BYTES : NULL;
}

/* The figures a caller can allocate from: each request costs POISON more. */
static size_t less_poison(size_t bytes)
{
    return bytes > POISON ? bytes - POISON : 0;
}

size_t heapcaps_multi_heap_largest_free_block(multi_heap_handle_t heap)
{
    return less_poison(heapcaps_multi_heap_largest_free_block_impl(heap));
}

size_t multi_heap_free_size(multi_heap_handle_t heap)
{
    return less_poison(multi_heap_free_size_impl(heap));
}

size_t multi_heap_minimum_free_size(multi_heap_handle_t heap)
{
    return less_poison(multi_heap_minimum_free_size_impl(heap));
}

void multi_heap_get_info(multi_heap_handle_t heap, multi_heap_info_t *info)
{
    multi_heap_get_info_impl(heap, info);
    if (!info || !heap) {
        return;
    }
    info->total_allocated_bytes -= POISON * info->allocated_blocks;
    info->total_free_bytes = less_poison(info->total_free_bytes);
    info->minimum_free_bytes = less_poison(info->minimum_free_bytes);
    info->largest_free_block = less_poison(info->largest_free_block);
}

/* ---- the integrity check ------------------------------------------------- */

bool heapcaps_poison_check_block(void *payload, size_t size, bool used, bool print_errors,
                                 heapcaps_heap_fault_t *fault)
{
    if (used) {
        return verify_canaries(payload, size, print_errors, fault);
    }
#ifdef MULTI_HEAP_POISONING_SLOW
    size_t from = free_fill_start();
    size_t to = size - tlsf_align_size();
    return from >= to ||
           verify_fill((const char *)payload + from, to - from, FREE_FILL, print_errors, fault);
#else
    return true;
#endif
}

bool heapcaps_poison_fault_printed(const heapcaps_heap_fault_t *fault)
{
    return fault->problem == FAULT_HEAD || fault->problem == FAULT_TAIL ||
           fault->problem == FAULT_SIZE || fault->problem == FAULT_FILL;
}
