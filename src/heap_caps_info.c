/*
 * heap_caps_info.c — what the heaps hold, per caps mask: sizes, info and its
 * printout, the local-minimum monitor, block sizes, integrity checks, dumps
 * and walks, and the esp_system.h heap figures.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_system.h"
#include "heap_caps_internal.h"
#include "heapcaps/heap_caps_ext.h"
#include "memory_layout.h"
#include "multi_heap_ops.h"
#include "port/port.h"

/* For check, dump and walk: MALLOC_CAP_INVALID (or 0) means every heap. */
static bool heap_selected(const heap_t *heap, uint32_t caps)
{
    return heap->heap && ((caps & MALLOC_CAP_INVALID) || heap_matches(heap, caps));
}

/* The sum of one figure over the heaps with all of `caps`. */
static size_t sum_over_heaps(uint32_t caps, size_t (*figure)(const heap_t *heap))
{
    size_t total = 0;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap_matches(heap, caps)) {
            total += figure(heap);
        }
    }
    return total;
}

static size_t size_of(const heap_t *heap)
{
    return (size_t)(heap->end - heap->start);
}

static size_t free_of(const heap_t *heap)
{
    return multi_heap_free_size(heap->heap);
}

static size_t minimum_free_of(const heap_t *heap)
{
    return multi_heap_minimum_free_size(heap->heap);
}

size_t heap_caps_get_total_size(uint32_t caps)
{
    return sum_over_heaps(caps, size_of);
}

size_t heap_caps_get_free_size(uint32_t caps)
{
    return sum_over_heaps(caps, free_of);
}

size_t heap_caps_get_minimum_free_size(uint32_t caps)
{
    return sum_over_heaps(caps, minimum_free_of);
}

/* A free figure as a heap_caps request sees it: less the owner word it
 * would carry (a full heap stays at 0). */
static size_t less_owner_word(size_t bytes)
{
    return bytes > HEAP_OWNER_WORD ? bytes - HEAP_OWNER_WORD : 0;
}

void heap_caps_get_info(multi_heap_info_t *info, uint32_t caps)
{
    if (!info) {
        return;
    }
    memset(info, 0, sizeof(*info));
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (!heap_matches(heap, caps)) {
            continue;
        }
        multi_heap_info_t one;
        multi_heap_get_info(heap->heap, &one);
        info->total_free_bytes += less_owner_word(one.total_free_bytes);
        info->total_allocated_bytes +=
            one.total_allocated_bytes - one.allocated_blocks * HEAP_OWNER_WORD;
        if (one.largest_free_block > info->largest_free_block) {
            info->largest_free_block = one.largest_free_block;
        }
        info->minimum_free_bytes += less_owner_word(one.minimum_free_bytes);
        info->allocated_blocks += one.allocated_blocks;
        info->free_blocks += one.free_blocks;
        info->total_blocks += one.total_blocks;
    }
    /* The owner word comes out of the largest block too. */
    info->largest_free_block = less_owner_word(info->largest_free_block);
}

/* Without heap_caps_get_info()'s walk of every block: each heap knows its
 * largest request in constant time. */
size_t heap_caps_get_largest_free_block(uint32_t caps)
{
    size_t largest = 0;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap_matches(heap, caps)) {
            size_t one = heapcaps_multi_heap_largest_free_block(heap->heap);
            largest = one > largest ? one : largest;
        }
    }
    /* The owner word comes out of the largest block too. */
    return less_owner_word(largest);
}

void heap_caps_print_heap_info(uint32_t caps)
{
    heapcaps_port_print("Heap summary for capabilities 0x%08X:\n", (unsigned)caps);
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (!heap_matches(heap, caps)) {
            continue;
        }
        multi_heap_info_t one;
        multi_heap_get_info(heap->heap, &one);
        heapcaps_port_print(
            "  At 0x%08x len %d free %d allocated %d min_free %d\n",
            (unsigned)heapcaps_layout_to_chip(heapcaps_layout_installed(), heap->start),
            (int)(heap->end - heap->start), (int)one.total_free_bytes,
            (int)one.total_allocated_bytes, (int)one.minimum_free_bytes);
        heapcaps_port_print(
            "    largest_free_block %d alloc_blocks %d free_blocks %d total_blocks %d\n",
            (int)one.largest_free_block, (int)one.allocated_blocks, (int)one.free_blocks,
            (int)one.total_blocks);
    }
    multi_heap_info_t all;
    heap_caps_get_info(&all, caps);
    heapcaps_port_print("  Totals:\n");
    heapcaps_port_print("    free %d allocated %d min_free %d largest_free_block %d\n",
                        (int)all.total_free_bytes, (int)all.total_allocated_bytes,
                        (int)all.minimum_free_bytes, (int)all.largest_free_block);
}

/* ---- local minimum monitoring ------------------------------------------ */

/* Each heap keeps its own saved minimum, so that heaps added while
 * monitoring (at the head of the list) neither shift nor take the others'. */
static bool monitor_active;

void heapcaps_monitor_reset(void)
{
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        heap->monitored = false;
    }
    monitor_active = false;
}

esp_err_t heap_caps_monitor_local_minimum_free_size_start(void)
{
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap->heap) {
            size_t previous = multi_heap_reset_minimum_free_bytes(heap->heap);
            if (!heap->monitored || previous < heap->monitor_saved) {
                heap->monitor_saved = previous;
            }
            heap->monitored = true;
        }
    }
    monitor_active = true;
    return ESP_OK;
}

esp_err_t heap_caps_monitor_local_minimum_free_size_stop(void)
{
    if (!monitor_active) {
        return ESP_FAIL;
    }
    /* A heap added after the last start keeps its own minimum. */
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap->heap && heap->monitored) {
            multi_heap_restore_minimum_free_bytes(heap->heap, heap->monitor_saved);
        }
    }
    heapcaps_monitor_reset();
    return ESP_OK;
}

/* ---- block sizes -------------------------------------------------------- */

size_t heap_caps_get_allocated_size(void *ptr)
{
    if (!ptr) {
        return 0;
    }
    heap_t *heap = heapcaps_find_heap((char *)ptr - HEAP_OWNER_WORD);
    if (!heap && heapcaps_is_alias(ptr)) {
        /* An EXEC allocation returned through the IRAM alias. */
        void *data = heapcaps_alias_data(ptr);
        heap = heapcaps_find_heap(heapcaps_block_of(data));
        if (heap) {
            return heapcaps_alias_usable(heap, data, ptr);
        }
    }
    if (!heap) {
        heapcaps_port_printf("assert failed: heap_caps_get_allocated_size heap_caps.c (heap)\n");
        heapcaps_port_abort("pointer outside heap areas");
    }
    return multi_heap_get_allocated_size(heap->heap, (char *)ptr - HEAP_OWNER_WORD) -
           HEAP_OWNER_WORD;
}

size_t heap_caps_get_containing_block_size(void *ptr)
{
    heap_t *heap = ptr ? heapcaps_find_heap(ptr) : NULL;
    void *block = heap ? multi_heap_find_containing_block(heap->heap, ptr) : NULL;
    if (!block) {
        heapcaps_port_printf("assert failed: heap_caps_get_containing_block_size heap_caps.c "
                             "(ptr is in an allocated block)\n");
        heapcaps_port_abort("pointer is in no allocated block");
    }
    return multi_heap_get_allocated_size(heap->heap, block);
}

/* ---- integrity, dump, walk ---------------------------------------------- */

bool heap_caps_check_integrity(uint32_t caps, bool print_errors)
{
    bool ok = true;
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap_selected(heap, caps) && !multi_heap_check(heap->heap, print_errors)) {
            ok = false;
        }
    }
    return ok;
}

bool heapcaps_check_integrity_fault(uint32_t caps, heapcaps_heap_fault_t *fault)
{
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap_selected(heap, caps) && !heapcaps_multi_heap_check_fault(heap->heap, fault)) {
            return false;
        }
    }
    if (fault) {
        *fault = (heapcaps_heap_fault_t){NULL, NULL};
    }
    return true;
}

bool heap_caps_check_integrity_all(bool print_errors)
{
    return heap_caps_check_integrity(MALLOC_CAP_INVALID, print_errors);
}

bool heap_caps_check_integrity_addr(intptr_t addr, bool print_errors)
{
    heap_t *heap = heapcaps_find_heap((void *)addr);
    return heap ? multi_heap_check(heap->heap, print_errors) : false;
}

void heap_caps_dump(uint32_t caps)
{
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap_selected(heap, caps)) {
            multi_heap_dump(heap->heap);
        }
    }
}

void heap_caps_dump_all(void)
{
    heap_caps_dump(MALLOC_CAP_INVALID);
}

typedef struct {
    heap_caps_walker_cb_t walker;
    void *user_data;
    walker_heap_into_t heap_info;
} walk_context_t;

static bool walk_block(void *block_ptr, size_t block_size, int block_used, void *user)
{
    walk_context_t *context = user;
    walker_block_info_t block = {block_ptr, block_size, block_used != 0};
    return context->walker(context->heap_info, block, context->user_data);
}

void heap_caps_walk(uint32_t caps, heap_caps_walker_cb_t walker_func, void *user_data)
{
    if (!walker_func) {
        return;
    }
    for (heap_t *heap = heap_list_first(); heap; heap = heap->next) {
        if (heap_selected(heap, caps)) {
            walk_context_t context = {walker_func, user_data, {heap->start, heap->end}};
            multi_heap_walk(heap->heap, walk_block, &context);
        }
    }
}

void heap_caps_walk_all(heap_caps_walker_cb_t walker_func, void *user_data)
{
    heap_caps_walk(MALLOC_CAP_INVALID, walker_func, user_data);
}

/* ---- esp_system.h ------------------------------------------------------- */

uint32_t esp_get_free_heap_size(void)
{
    return (uint32_t)heap_caps_get_free_size(MALLOC_CAP_DEFAULT);
}

uint32_t esp_get_free_internal_heap_size(void)
{
    return (uint32_t)heap_caps_get_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_DMA |
                                             MALLOC_CAP_INTERNAL);
}

uint32_t esp_get_minimum_free_heap_size(void)
{
    return (uint32_t)heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT);
}
