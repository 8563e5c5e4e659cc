/*
 * esp_heap_trace.h — standalone heap tracing: ESP-IDF's API for recording
 * allocations and frees into a buffer the application provides, to find
 * leaks (HEAP_TRACE_LEAKS) or to see every allocation of a stretch of code
 * (HEAP_TRACE_ALL). See docs/tracing.md.
 *
 * The functions exist when the library is built with tracing
 * (-DHEAPCAPS_TRACING=ON, CONFIG_HEAP_TRACING_STANDALONE in heapcaps/config.h);
 * without it they are not linked, as in ESP-IDF.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP_HEAP_TRACE_H
#define ESP_HEAP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "heapcaps/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The record layout depends on it, so a build without tracing still has a value. */
#ifndef CONFIG_HEAP_TRACING_STACK_DEPTH
#define CONFIG_HEAP_TRACING_STACK_DEPTH 0
#endif

/** What a trace keeps. */
typedef enum {
    HEAP_TRACE_ALL,   /**< every allocation; a free marks its record freed */
    HEAP_TRACE_LEAKS, /**< only allocations not freed yet; a free drops its record */
} heap_trace_mode_t;

/**
 * One traced allocation. The application provides an array of them to
 * heap_trace_init_standalone(); the tracer links them into lists through
 * the last members, which the application must leave alone.
 */
typedef struct heap_trace_record_t {
    uint32_t ccount; /**< cycle count at allocation, bits 1..0 cleared; bit 0 = CPU */
    void *address;   /**< the allocation; NULL = unused record */
    size_t size;     /**< bytes asked for */
    bool freed;      /**< HEAP_TRACE_ALL: freed since (the record stays) */
    void *alloced_by[CONFIG_HEAP_TRACING_STACK_DEPTH]; /**< callers of the allocation */
    void *freed_by[CONFIG_HEAP_TRACING_STACK_DEPTH];   /**< callers of the free */
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    /** Position in the used or unused list (same shape as a BSD TAILQ_ENTRY). */
    struct {
        struct heap_trace_record_t *tqe_next;
        struct heap_trace_record_t **tqe_prev;
    } tailq_list;
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    /** Next record of the same hash bucket (same shape as a BSD SLIST_ENTRY). */
    struct {
        struct heap_trace_record_t *sle_next;
    } slist_hashmap;
#endif
#endif
} heap_trace_record_t;

/** A snapshot of the trace (heap_trace_summary()). */
typedef struct {
    heap_trace_mode_t mode;   /**< mode of the last heap_trace_start() */
    size_t total_allocations; /**< allocations recorded since the start */
    size_t total_frees;       /**< frees seen while records existed */
    size_t count;             /**< records in use */
    size_t capacity;          /**< records in the buffer */
    size_t high_water_mark;   /**< most records ever in use at once */
    size_t has_overflowed;    /**< true once the oldest record had to make room */
#ifdef CONFIG_HEAP_TRACE_HASH_MAP
    size_t total_hashmap_hits; /**< address lookups the hash map answered */
    size_t total_hashmap_miss; /**< lookups it did not */
#endif
} heap_trace_summary_t;

/**
 * Give the tracer its record buffer (num_records records). The buffer is
 * used from the next heap_trace_start(); it must stay valid while tracing.
 * With the hash map, the first call also allocates the map's table from
 * internal RAM.
 * @return ESP_OK; ESP_ERR_INVALID_STATE while tracing is started or paused;
 *         ESP_ERR_INVALID_ARG for a NULL buffer or no records;
 *         ESP_ERR_NO_MEM when the hash map table cannot be allocated.
 */
esp_err_t heap_trace_init_standalone(heap_trace_record_t *record_buffer, size_t num_records);

/** Host-based tracing (over JTAG) is not available: ESP_ERR_NOT_SUPPORTED. */
esp_err_t heap_trace_init_tohost(void);

/**
 * Clear the buffer and every counter except the high-water mark, and start
 * recording in `mode` (also when already started).
 * @return ESP_OK; ESP_ERR_INVALID_STATE when no buffer was given.
 */
esp_err_t heap_trace_start(heap_trace_mode_t mode);

/** Stop recording; records stay. ESP_ERR_INVALID_STATE when already stopped. */
esp_err_t heap_trace_stop(void);

/** Record again, keeping the records. ESP_ERR_INVALID_STATE when already started. */
esp_err_t heap_trace_resume(void);

/**
 * Stop recording allocations but keep processing frees, so that records of
 * memory freed meanwhile go. ESP_ERR_INVALID_STATE when already paused.
 */
esp_err_t heap_trace_alloc_pause(void);

/** Number of records in use. */
size_t heap_trace_get_count(void);

/**
 * Copy record `index` (0 = oldest) into *record. Going through the indices
 * in order costs O(1) each.
 * @return ESP_OK; ESP_ERR_INVALID_STATE for a NULL record;
 *         ESP_ERR_INVALID_ARG for index >= heap_trace_get_count().
 */
esp_err_t heap_trace_get(size_t index, heap_trace_record_t *record);

/** heap_trace_dump_caps(MALLOC_CAP_INTERNAL | MALLOC_CAP_SPIRAM). */
void heap_trace_dump(void);

/**
 * Print the records (oldest first) and a summary on standard output:
 * records in internal RAM when caps has MALLOC_CAP_INTERNAL, in PSRAM when
 * it has MALLOC_CAP_SPIRAM, every record when it has both.
 */
void heap_trace_dump_caps(const uint32_t caps);

/**
 * Fill *summary with the current counters.
 * @return ESP_OK; ESP_ERR_INVALID_ARG for NULL.
 */
esp_err_t heap_trace_summary(heap_trace_summary_t *summary);

#ifdef __cplusplus
}
#endif

#endif /* ESP_HEAP_TRACE_H */
