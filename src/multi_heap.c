/*
 * multi_heap.c — one heap over one region: the multi_heap.h API on top of the
 * allocator core, with the heap's lock and its free-byte accounting.
 *
 * Accounting: free_bytes is the sum over free blocks of (payload + header),
 * i.e. every byte of the pool not held by an allocated block. An allocation
 * of a block with payload b takes b + header from it and a free gives it
 * back, whatever merging or splitting the core does; multi_heap_check()
 * verifies the figure against the blocks.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "multi_heap.h"

#include <string.h>

#include "heapcaps/multi_heap_ext.h"
#include "port/port.h"
#include "multi_heap_ops.h"

/* A pointer handed back to this heap that is not one of its allocated blocks
 * means the caller or the heap is corrupt: stop with the address. */
void heapcaps_mh_corrupt_pointer(multi_heap_handle_t heap, const void *p, pointer_op_t op)
{
    static const char *const names[] = {"free()", "realloc()", "get_allocated_size()"};
    mh_unlock(heap);
    heapcaps_port_printf("CORRUPT HEAP: multi_heap.c %s detected at %p\n", names[op], p);
    heapcaps_port_abort("heap corruption: pointer is not an allocated block of this heap");
}

size_t heapcaps_multi_heap_min_region_size(void)
{
    return sizeof(struct multi_heap_info) + tlsf_min_create_size();
}

size_t heapcaps_multi_heap_overhead(multi_heap_handle_t heap)
{
    /* Whatever a fresh heap does not count as free: header, control block,
     * end marker and the unaligned tail of the region. */
    return heap ? heap->region_size - tlsf_initial_free_payload(core_of(heap)) -
                      tlsf_block_overhead()
                : 0;
}

multi_heap_handle_t MH_PUBLIC(multi_heap_register)(void *start, size_t size)
{
    if (!start || ((uintptr_t)start & (sizeof(size_t) - 1)) ||
        size < heapcaps_multi_heap_min_region_size()) {
        return NULL;
    }
    multi_heap_handle_t heap = start;
    tlsf_t *core = tlsf_create(heap + 1, size - sizeof(*heap));
    if (!core) {
        return NULL;
    }
    heap->lock = NULL;
    heap->region_size = size;
    heap->free_bytes = tlsf_initial_free_payload(core) + tlsf_block_overhead();
    heap->minimum_free_bytes = heap->free_bytes;
    return heap;
}

void multi_heap_set_lock(multi_heap_handle_t heap, void *lock)
{
    if (heap) {
        heap->lock = lock;
    }
}

void *heapcaps_mh_malloc_locked(multi_heap_handle_t heap, size_t size)
{
    heapcaps_port_lock(heap->lock);
    void *p = malloc_unlocked(heap, size);
    heapcaps_port_unlock(heap->lock);
    return p;
}

TLSF_ENTRY void *MH_PUBLIC(multi_heap_malloc)(multi_heap_handle_t heap, size_t size)
{
    if (!heap) {
        return NULL;
    }
    return mh_malloc_fast(heap, size);
}

void *multi_heap_aligned_alloc(multi_heap_handle_t heap, size_t size, size_t alignment)
{
    return multi_heap_aligned_alloc_offs(heap, size, alignment, 0);
}

void *MH_PUBLIC(multi_heap_aligned_alloc_offs)(multi_heap_handle_t heap, size_t size,
                                               size_t alignment, size_t offset)
{
    if (!heap || !size || !alignment || (alignment & (alignment - 1)) ||
        offset > heap->region_size) {
        return NULL;
    }
    size_t word = tlsf_align_size();
    offset = (offset + word - 1) & ~(word - 1);
    mh_lock(heap);
    void *p = tlsf_memalign_offs(core_of(heap), size, alignment, offset);
    if (p) {
        note_taken(heap, held_by(p));
    }
    mh_unlock(heap);
    return p;
}

void heapcaps_mh_free_locked(multi_heap_handle_t heap, void *p)
{
    heapcaps_port_lock(heap->lock);
    free_unlocked(heap, p);
    heapcaps_port_unlock(heap->lock);
}

TLSF_ENTRY void MH_PUBLIC(multi_heap_free)(multi_heap_handle_t heap, void *p)
{
    if (!heap || !p) {
        return;
    }
    mh_free_fast(heap, p);
}

void multi_heap_aligned_free(multi_heap_handle_t heap, void *p)
{
    multi_heap_free(heap, p);
}

void *MH_PUBLIC(multi_heap_realloc)(multi_heap_handle_t heap, void *p, size_t size)
{
    if (!heap) {
        return NULL;
    }
    if (!p) {
        return MH_PUBLIC(multi_heap_malloc)(heap, size);
    }
    if (!size) {
        MH_PUBLIC(multi_heap_free)(heap, p);
        return NULL;
    }
    mh_lock(heap);
    require_allocated(heap, p, OP_REALLOC);
    void *result = realloc_block_unlocked(heap, p, size);
    mh_unlock(heap);
    return result;
}

size_t MH_PUBLIC(multi_heap_get_allocated_size)(multi_heap_handle_t heap, void *p)
{
    if (!heap || !p) {
        return 0;
    }
    mh_lock(heap);
    require_allocated(heap, p, OP_GET_SIZE);
    size_t size = tlsf_block_size_of(p);
    mh_unlock(heap);
    return size;
}

size_t MH_PUBLIC(multi_heap_get_full_block_size)(multi_heap_handle_t heap, void *p)
{
    return MH_PUBLIC(multi_heap_get_allocated_size)(heap, p);
}

typedef struct {
    multi_heap_walker_cb_t walker;
    void *user;
} walk_adapter_t;

static bool walk_one(void *payload, size_t size, bool used, void *user)
{
    walk_adapter_t *adapter = user;
    return adapter->walker(payload, size, used ? 1 : 0, adapter->user);
}

void multi_heap_walk(multi_heap_handle_t heap, multi_heap_walker_cb_t walker_func, void *user_data)
{
    if (!heap || !walker_func) {
        return;
    }
    walk_adapter_t adapter = {walker_func, user_data};
    mh_lock(heap);
    tlsf_walk(core_of(heap), walk_one, &adapter);
    mh_unlock(heap);
}

static bool dump_one(void *payload, size_t size, bool used, void *user)
{
    (void)user;
    heapcaps_port_printf("Block %p data, size: %d bytes, Free: %s \n", payload, (int)size,
                         used ? "No" : "Yes");
    return true;
}

void multi_heap_dump(multi_heap_handle_t heap)
{
    if (!heap) {
        return;
    }
    mh_lock(heap);
    heapcaps_port_printf("Showing data for heap: %p \n", (void *)heap);
    tlsf_walk(core_of(heap), dump_one, NULL);
    mh_unlock(heap);
}

typedef struct {
    size_t free_bytes;
    size_t allocated_bytes;
    size_t free_blocks;
    size_t allocated_blocks;
} block_totals_t;

static bool add_up(void *payload, size_t size, bool used, void *user)
{
    (void)payload;
    block_totals_t *totals = user;
    if (used) {
        totals->allocated_bytes += size;
        totals->allocated_blocks++;
    } else {
        totals->free_bytes += size + tlsf_block_overhead();
        totals->free_blocks++;
    }
    return true;
}

typedef struct {
    block_totals_t totals;
    bool print_errors;
    heapcaps_heap_fault_t fault; /* the first block whose poisoning is damaged */
} check_walk_t;

/* The walk of a structurally sound heap: totals for the counters, and each
 * block's canaries and fill in poisoned builds (every damaged block is
 * reported when printing, as ESP-IDF does; the first one is kept). */
static bool check_block(void *payload, size_t size, bool used, void *user)
{
    check_walk_t *walk = user;
    add_up(payload, size, used, &walk->totals);
#ifdef MULTI_HEAP_POISONING
    heapcaps_heap_fault_t fault;
    if (!heapcaps_poison_check_block(payload, size, used, walk->print_errors, &fault) &&
        !walk->fault.problem) {
        walk->fault = fault;
    }
#endif
    return true;
}

/* The whole check; prints poisoning damage as it is found when asked. */
static bool check_heap(multi_heap_handle_t heap, bool print_errors, heapcaps_heap_fault_t *fault)
{
    mh_lock(heap);
    tlsf_fault_t core_fault = {NULL, NULL};
    bool ok = tlsf_check(core_of(heap), &core_fault);
    if (ok) {
        check_walk_t walk = {{0, 0, 0, 0}, print_errors, {NULL, NULL}};
        tlsf_walk(core_of(heap), check_block, &walk);
        if (walk.fault.problem) {
            ok = false;
            core_fault.address = walk.fault.address;
            core_fault.problem = walk.fault.problem;
        } else if (walk.totals.free_bytes != heap->free_bytes) {
            ok = false;
            core_fault.address = &heap->free_bytes;
            core_fault.problem = "free-byte count disagrees with the free blocks";
        } else if (heap->minimum_free_bytes > heap->free_bytes) {
            ok = false;
            core_fault.address = &heap->minimum_free_bytes;
            core_fault.problem = "minimum free bytes above the free bytes";
        }
    }
    mh_unlock(heap);
    fault->address = ok ? NULL : core_fault.address;
    fault->problem = ok ? NULL : core_fault.problem;
    return ok;
}

bool heapcaps_multi_heap_check_fault(multi_heap_handle_t heap, heapcaps_heap_fault_t *fault)
{
    heapcaps_heap_fault_t ignored;
    return heap && check_heap(heap, false, fault ? fault : &ignored);
}

bool multi_heap_check(multi_heap_handle_t heap, bool print_errors)
{
    if (!heap) {
        return false;
    }
    heapcaps_heap_fault_t fault;
    bool ok = check_heap(heap, print_errors, &fault);
    if (!ok && print_errors && !heapcaps_poison_fault_printed(&fault)) {
        /* Structural damage (poisoning damage was printed by the walk). */
        heapcaps_port_printf("CORRUPT HEAP: %s at %p\n", fault.problem, fault.address);
    }
    return ok;
}

size_t MH_PUBLIC(multi_heap_free_size)(multi_heap_handle_t heap)
{
    return heap ? counter_read(&heap->free_bytes) : 0;
}

size_t MH_PUBLIC(heapcaps_multi_heap_largest_free_block)(multi_heap_handle_t heap)
{
    if (!heap) {
        return 0;
    }
    mh_lock(heap);
    size_t largest = tlsf_largest_request(core_of(heap));
    mh_unlock(heap);
    return largest;
}

size_t MH_PUBLIC(multi_heap_minimum_free_size)(multi_heap_handle_t heap)
{
    return heap ? counter_read(&heap->minimum_free_bytes) : 0;
}

void MH_PUBLIC(multi_heap_get_info)(multi_heap_handle_t heap, multi_heap_info_t *info)
{
    if (!info) {
        return;
    }
    memset(info, 0, sizeof(*info));
    if (!heap) {
        return;
    }
    block_totals_t totals = {0, 0, 0, 0};
    mh_lock(heap);
    tlsf_walk(core_of(heap), add_up, &totals);
    info->total_free_bytes = heap->free_bytes;
    info->total_allocated_bytes = totals.allocated_bytes;
    info->largest_free_block = tlsf_largest_request(core_of(heap));
    info->minimum_free_bytes = heap->minimum_free_bytes;
    info->allocated_blocks = totals.allocated_blocks;
    info->free_blocks = totals.free_blocks;
    info->total_blocks = totals.allocated_blocks + totals.free_blocks;
    mh_unlock(heap);
}

size_t multi_heap_reset_minimum_free_bytes(multi_heap_handle_t heap)
{
    if (!heap) {
        return 0;
    }
    mh_lock(heap);
    size_t previous = heap->minimum_free_bytes;
    counter_write(&heap->minimum_free_bytes, heap->free_bytes);
    mh_unlock(heap);
    return previous;
}

void multi_heap_restore_minimum_free_bytes(multi_heap_handle_t heap,
                                           const size_t new_minimum_free_bytes_value)
{
    if (!heap) {
        return;
    }
    mh_lock(heap);
    if (new_minimum_free_bytes_value < heap->minimum_free_bytes) {
        counter_write(&heap->minimum_free_bytes, new_minimum_free_bytes_value);
    }
    mh_unlock(heap);
}

void *MH_PUBLIC(multi_heap_find_containing_block)(multi_heap_handle_t heap, void *ptr)
{
    if (!heap) {
        return NULL;
    }
    mh_lock(heap);
    void *block = tlsf_find_containing_block(core_of(heap), ptr);
    mh_unlock(heap);
    return block;
}
