/*
 * esp_heap_caps.h — capabilities-based allocation over every heap of the
 * chip: ESP-IDF's API, names, values and behaviour (see docs/heap_caps.md and
 * docs/differences.md).
 *
 * A heap offers capabilities at three priorities. A request with caps C is
 * served, level by level from the highest priority, by the first heap (in
 * list order) that offers at least one bit of C at that level and all bits
 * of C at some level. Startup heaps are listed by increasing size; heaps
 * added later come first.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP_HEAP_CAPS_H
#define ESP_HEAP_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "esp_err.h"
#include "multi_heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Placement attribute of the hot heap functions (IRAM on a chip). */
#define HEAP_IRAM_ATTR

#define MALLOC_CAP_EXEC          (1 << 0) /**< can hold executable code */
#define MALLOC_CAP_32BIT         (1 << 1) /**< 32-bit aligned accesses */
#define MALLOC_CAP_8BIT          (1 << 2) /**< byte accesses */
#define MALLOC_CAP_DMA           (1 << 3) /**< reachable by internal DMA */
#define MALLOC_CAP_PID2          (1 << 4) /**< PID memory spaces (unused by current chips) */
#define MALLOC_CAP_PID3          (1 << 5)
#define MALLOC_CAP_PID4          (1 << 6)
#define MALLOC_CAP_PID5          (1 << 7)
#define MALLOC_CAP_PID6          (1 << 8)
#define MALLOC_CAP_PID7          (1 << 9)
#define MALLOC_CAP_SPIRAM        (1 << 10)      /**< external PSRAM */
#define MALLOC_CAP_INTERNAL      (1 << 11)      /**< internal RAM */
#define MALLOC_CAP_DEFAULT       (1 << 12)      /**< memory for malloc() */
#define MALLOC_CAP_IRAM_8BIT     (1 << 13)      /**< IRAM allowing byte access */
#define MALLOC_CAP_RETENTION     (1 << 14)      /**< reachable by the retention DMA */
#define MALLOC_CAP_RTCRAM        (1 << 15)      /**< RTC fast memory */
#define MALLOC_CAP_SPM           (1 << 16)      /**< scratch-pad memory (ESP32-P4) */
#define MALLOC_CAP_TCM           MALLOC_CAP_SPM /**< former name of MALLOC_CAP_SPM */
#define MALLOC_CAP_DMA_DESC_AHB  (1 << 17)      /**< AHB DMA descriptors */
#define MALLOC_CAP_DMA_DESC_AXI  (1 << 18)      /**< AXI DMA descriptors */
#define MALLOC_CAP_CACHE_ALIGNED (1 << 19)      /**< aligned to every cache line on the way */
#define MALLOC_CAP_SIMD          (1 << 20)      /**< usable by SIMD instructions */
#define MALLOC_CAP_SPIRAM_NO_ENC (1 << 21)      /**< PSRAM exempt from flash encryption */
#define MALLOC_CAP_INVALID       (1u << 31) /**< no heap has it; "all heaps" for check/dump/walk */
/* Bits 22-30 have no meaning here: a board layout may give them meanings of
 * its own (take them from bit 30 down; examples/mcu_port, docs/porting.md).
 * ESP-IDF may assign the lower ones in later versions. */

/** Called when an allocation fails: requested size, caps, failing function. */
typedef void (*esp_alloc_failed_hook_t)(size_t size, uint32_t caps, const char *function_name);

/** Bounds [start, end) of the heap being walked (ESP-IDF's spelling). */
typedef struct walker_heap_info {
    intptr_t start;
    intptr_t end;
} walker_heap_into_t;

/** One block seen by heap_caps_walk(). */
typedef struct walker_block_info {
    void *ptr;   /**< block pointer (before any owner word or poison head) */
    size_t size; /**< block size */
    bool used;   /**< allocated */
} walker_block_info_t;

/** Walker callback: return false to stop walking the current heap. */
typedef bool (*heap_caps_walker_cb_t)(walker_heap_into_t heap_info, walker_block_info_t block_info,
                                      void *user_data);

/** Register the allocation-failure callback (one slot). NULL → ESP_ERR_INVALID_ARG. */
esp_err_t heap_caps_register_failed_alloc_callback(esp_alloc_failed_hook_t callback);

/**
 * Allocate size bytes with all of `caps`. NULL for size 0 (no callback),
 * for caps 0 or caps no heap has, for combinations EXEC|8BIT and EXEC|DMA,
 * and when nothing fits (the failure callback fires).
 */
void *heap_caps_malloc(size_t size, uint32_t caps);

/** Allocate n * size zeroed bytes; NULL on overflow. */
void *heap_caps_calloc(size_t n, size_t size, uint32_t caps);

/**
 * Resize ptr to size bytes with `caps`: in place when ptr's heap has all caps,
 * else move (data kept up to the smaller size). NULL ptr allocates; size 0
 * frees. On failure NULL, ptr untouched.
 */
void *heap_caps_realloc(void *ptr, size_t size, uint32_t caps);

/** Free memory from any heap_caps / malloc-family allocation; NULL is a no-op. */
void heap_caps_free(void *ptr);

/** Allocate size bytes aligned to `alignment` (a power of two). */
void *heap_caps_aligned_alloc(size_t alignment, size_t size, uint32_t caps);

/** heap_caps_aligned_alloc() of n * size zeroed bytes. */
void *heap_caps_aligned_calloc(size_t alignment, size_t n, size_t size, uint32_t caps);

/** Deprecated: same as heap_caps_free(). */
void heap_caps_aligned_free(void *ptr) __attribute__((deprecated));

/** Try `num` caps values (uint32_t) in order; first success wins. */
void *heap_caps_malloc_prefer(size_t size, size_t num, ...);

/** heap_caps_realloc() over a preference list. */
void *heap_caps_realloc_prefer(void *ptr, size_t size, size_t num, ...);

/** heap_caps_calloc() over a preference list. */
void *heap_caps_calloc_prefer(size_t n, size_t size, size_t num, ...);

/**
 * Let malloc() use PSRAM: requests up to `limit` bytes prefer internal RAM,
 * larger ones PSRAM, each falling back to the other. A limit that converts
 * to the int -1 (e.g. SIZE_MAX) disables external use again.
 */
void heap_caps_malloc_extmem_enable(size_t limit);

/** Sum of the sizes of the heaps with all of `caps` (0 = every heap). */
size_t heap_caps_get_total_size(uint32_t caps);

/** Free bytes of the heaps with all of `caps`. */
size_t heap_caps_get_free_size(uint32_t caps);

/** Sum of the low-water marks of the heaps with all of `caps`. */
size_t heap_caps_get_minimum_free_size(uint32_t caps);

/** Largest request with `caps` that heap_caps_malloc() serves now. */
size_t heap_caps_get_largest_free_block(uint32_t caps);

/** Aggregate multi_heap_get_info() over the heaps with all of `caps`. */
void heap_caps_get_info(multi_heap_info_t *info, uint32_t caps);

/** Print a summary of the heaps with all of `caps` (ESP-IDF's format). */
void heap_caps_print_heap_info(uint32_t caps);

/** Start (or restart) local low-water-mark monitoring; always ESP_OK. */
esp_err_t heap_caps_monitor_local_minimum_free_size_start(void);

/** Stop local monitoring; ESP_FAIL if not started. */
esp_err_t heap_caps_monitor_local_minimum_free_size_stop(void);

/** Usable size of the block of allocation ptr. */
size_t heap_caps_get_allocated_size(void *ptr);

/** Usable size of the allocated block containing ptr (anywhere inside it). */
size_t heap_caps_get_containing_block_size(void *ptr);

/** multi_heap_check() on every heap with all of `caps` (MALLOC_CAP_INVALID: all). */
bool heap_caps_check_integrity(uint32_t caps, bool print_errors);

/** heap_caps_check_integrity(MALLOC_CAP_INVALID, print_errors). */
bool heap_caps_check_integrity_all(bool print_errors);

/** multi_heap_check() on the heap containing addr; false if none does. */
bool heap_caps_check_integrity_addr(intptr_t addr, bool print_errors);

/** multi_heap_dump() of every heap with all of `caps` (MALLOC_CAP_INVALID: all). */
void heap_caps_dump(uint32_t caps);

/** heap_caps_dump(MALLOC_CAP_INVALID). */
void heap_caps_dump_all(void);

/** Call walker_func for every block of every heap with all of `caps`. */
void heap_caps_walk(uint32_t caps, heap_caps_walker_cb_t walker_func, void *user_data);

/** heap_caps_walk(MALLOC_CAP_INVALID, ...). */
void heap_caps_walk_all(heap_caps_walker_cb_t walker_func, void *user_data);

/* malloc() policy entry points (ESP-IDF's libc maps malloc & co. to them). */
void *heap_caps_malloc_default(size_t size);
void *heap_caps_realloc_default(void *ptr, size_t size);
void *heap_caps_aligned_alloc_default(size_t alignment, size_t size);

/* The allocation core without failure handling (tracing wraps these). */
void *heap_caps_malloc_base(size_t size, uint32_t caps);
void *heap_caps_calloc_base(size_t n, size_t size, uint32_t caps);
void *heap_caps_realloc_base(void *ptr, size_t size, uint32_t caps);
void *heap_caps_aligned_alloc_base(size_t alignment, size_t size, uint32_t caps);

#ifdef CONFIG_HEAP_USE_HOOKS
/**
 * Optional, defined by the application: called after every successful
 * allocation with the pointer returned, the size and caps after the heap's
 * adjustments (rounding, hardware alignment). It must not allocate, block,
 * log or take locks.
 */
HEAP_IRAM_ATTR void esp_heap_trace_alloc_hook(void *ptr, size_t size, uint32_t caps)
    __attribute__((weak));

/** Optional, defined by the application: called after every heap_caps_free()
 *  of a non-NULL pointer, with that pointer. Same restrictions. */
HEAP_IRAM_ATTR void esp_heap_trace_free_hook(void *ptr) __attribute__((weak));
#endif

#ifdef __cplusplus
}
#endif

#endif /* ESP_HEAP_CAPS_H */
