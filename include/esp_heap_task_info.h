/*
 * esp_heap_task_info.h — how much heap memory each task holds: ESP-IDF's
 * per-task heap tracking API (CONFIG_HEAP_TASK_TRACKING), its names, types,
 * field order and output formats. See docs/task_tracking.md.
 *
 * With task tracking every heap_caps allocation starts with an owner word,
 * the handle of the task that made it (pointer-sized), and the tracker keeps
 * for every task and every heap the task used the current and peak usage
 * and the live allocations. Usage counts whole heap blocks (owner word,
 * poisoning overhead and rounding included), so it is a little more than the
 * sizes asked for.
 *
 * A "task" is whatever the port calls one: an RTOS task on a chip, a thread
 * on a host (handle = the thread, name = the thread's name). Allocations made
 * where the port reports no task (NULL, before a scheduler runs) belong to
 * the pseudo-task "Pre-scheduler", handle NULL, listed last.
 *
 * Everything here exists only when CONFIG_HEAP_TASK_TRACKING is set in
 * heapcaps/config.h. Not for interrupt context.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP_HEAP_TASK_INFO_H
#define ESP_HEAP_TASK_INFO_H

#include "heapcaps/config.h"

#ifdef CONFIG_HEAP_TASK_TRACKING

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "esp_err.h"

/* The task handle type: FreeRTOS's own when its task.h is part of the build
 * (included before this header, or HEAPCAPS_FREERTOS defined to have it
 * included here), else an opaque pointer. */
#if defined(HEAPCAPS_FREERTOS) && !defined(INC_TASK_H)
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#endif
#if !defined(INC_TASK_H) && !defined(HEAPCAPS_TASK_HANDLE_DEFINED)
#define HEAPCAPS_TASK_HANDLE_DEFINED 1
/** Handle of a task (a thread on a host). */
typedef void *TaskHandle_t;
#endif

#ifndef configMAX_TASK_NAME_LEN
/** Room for a task name, terminating NUL included (FreeRTOS's default). */
#define configMAX_TASK_NAME_LEN 16
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Number of caps/mask slots of heap_task_info_params_t. */
#define NUM_HEAP_TASK_CAPS 4

/** Totals of one task per caps slot (heap_caps_get_per_task_info()). */
typedef struct {
    TaskHandle_t task;                /**< the task */
    size_t size[NUM_HEAP_TASK_CAPS];  /**< bytes held in the heaps of each slot */
    size_t count[NUM_HEAP_TASK_CAPS]; /**< blocks held in the heaps of each slot */
} heap_task_totals_t;

/** One allocation of a task. */
typedef struct {
    TaskHandle_t task; /**< the owner */
    void *address;     /**< the pointer the owner was given */
    /** Full block size (owner word and debugging overhead included) in the
     *  statistics; the usable size (multi_heap_get_allocated_size()) in
     *  heap_caps_get_per_task_info(). */
    uint32_t size;
} heap_task_block_t;

/** Query of heap_caps_get_per_task_info(). */
typedef struct {
    /** A heap counts in the first slot i with (heap caps & mask[i]) == caps[i];
     *  heaps matching no slot are skipped. mask[0] = caps[0] = 0: every heap
     *  in slot 0. */
    int32_t caps[NUM_HEAP_TASK_CAPS];
    int32_t mask[NUM_HEAP_TASK_CAPS];
    TaskHandle_t *tasks;        /**< tasks whose blocks to list; NULL = all */
    size_t num_tasks;           /**< entries in tasks */
    heap_task_totals_t *totals; /**< per-task totals, may be NULL */
    size_t *num_totals;         /**< in: entries of totals in use; out: entries used */
    size_t max_totals;          /**< capacity of totals */
    heap_task_block_t *blocks;  /**< block list, may be NULL */
    size_t max_blocks;          /**< capacity of blocks */
} heap_task_info_params_t;

/** What a task holds in one heap. */
typedef struct {
    const char *name;              /**< memory type name of the heap (may be NULL) */
    uint32_t caps;                 /**< OR of the heap's capabilities */
    size_t size;                   /**< size of the heap in bytes */
    size_t current_usage;          /**< bytes the task holds there now */
    size_t peak_usage;             /**< most bytes the task held there at once */
    size_t alloc_count;            /**< live allocations of the task there */
    heap_task_block_t *alloc_stat; /**< the allocations, or NULL (none, or no room) */
} heap_stat_t;

/** What a task holds in all heaps. */
typedef struct {
    char name[configMAX_TASK_NAME_LEN]; /**< task name, taken at its first allocation */
    TaskHandle_t handle;                /**< task handle (NULL: "Pre-scheduler") */
    bool is_alive;                      /**< false once the task was deleted (ended) */
    size_t overall_peak_usage;          /**< most bytes held at once, all heaps */
    size_t overall_current_usage;       /**< bytes held now, all heaps */
    size_t heap_count;                  /**< heaps the task has allocated from */
    heap_stat_t *heap_stat;             /**< one entry per heap, or NULL (no room) */
} task_stat_t;

/** Caller-provided storage for the statistics of one task. */
typedef struct {
    task_stat_t stat;                    /**< the task */
    size_t heap_count;                   /**< in: entries at heap_stat_start; out: used */
    heap_stat_t *heap_stat_start;        /**< room for heap entries */
    size_t alloc_count;                  /**< in: entries at alloc_stat_start; out: used */
    heap_task_block_t *alloc_stat_start; /**< room for allocation entries */
} heap_single_task_stat_t;

/** Caller-provided storage for the statistics of every task. */
typedef struct {
    size_t task_count;                   /**< in: entries at stat_arr; out: used */
    task_stat_t *stat_arr;               /**< room for task entries */
    size_t heap_count;                   /**< in: entries at heap_stat_start; out: used */
    heap_stat_t *heap_stat_start;        /**< room for heap entries */
    size_t alloc_count;                  /**< in: entries at alloc_stat_start; out: used */
    heap_task_block_t *alloc_stat_start; /**< room for allocation entries */
} heap_all_tasks_stat_t;

/**
 * Totals per task and per caps slot, and optionally a list of blocks, read
 * from the owner words of the heaps themselves (the statistics are not
 * used). The first *num_totals entries of totals have their sizes and counts
 * zeroed (tasks kept) and are accumulated into; tasks not yet there are
 * appended while there is room. Blocks of the tasks in tasks[0..num_tasks)
 * (all tasks when tasks is NULL) are written to blocks while there is room.
 * params->num_totals must not be NULL. O(blocks in all heaps × totals).
 * @return number of entries written to blocks
 */
size_t heap_caps_get_per_task_info(heap_task_info_params_t *params);

/**
 * Copy the statistics of every task (deleted ones too when kept) into the
 * caller's arrays: at most task_count tasks; a task's heap entries are
 * copied (and its heap_stat set) only when all of them fit in what remains
 * at heap_stat_start, else heap_stat is NULL; likewise a heap's allocations
 * and alloc_stat. The three counts are set to the entries used.
 * @return ESP_OK; ESP_ERR_INVALID_ARG for NULL, or a NULL array with a
 *         non-zero count
 */
esp_err_t heap_caps_get_all_task_stat(heap_all_tasks_stat_t *tasks_stat);

/**
 * Copy the statistics of one task (NULL = the calling task; a deleted task
 * is found when kept), with the same rules as heap_caps_get_all_task_stat().
 * @return ESP_OK; ESP_ERR_INVALID_ARG as for heap_caps_get_all_task_stat();
 *         ESP_FAIL when the task has no statistics
 */
esp_err_t heap_caps_get_single_task_stat(heap_single_task_stat_t *task_stat,
                                         TaskHandle_t task_handle);

/** Print the statistics of every task as a tree (stream NULL = stdout). */
void heap_caps_print_all_task_stat(FILE *stream);

/** Print one line per task in a table (stream NULL = stdout). */
void heap_caps_print_all_task_stat_overview(FILE *stream);

/** Print the statistics of one task (NULL = calling task) as a tree;
 *  nothing for a task without statistics. */
void heap_caps_print_single_task_stat(FILE *stream, TaskHandle_t task_handle);

/** Print one task (NULL = calling task) as a one-row table; nothing for a
 *  task without statistics. */
void heap_caps_print_single_task_stat_overview(FILE *stream, TaskHandle_t task_handle);

/**
 * Size the arrays of task_stat for the live task task_handle (NULL = calling
 * task) as it is now (counts 0 for an unknown task) and allocate them
 * outside the tracked heaps' accounting; a zero count leaves its pointer NULL.
 * Release with heap_caps_free_single_task_stat_arrays().
 * @return ESP_OK; ESP_ERR_INVALID_ARG for NULL; ESP_FAIL when an array
 *         cannot be allocated (arrays already allocated are kept)
 */
esp_err_t heap_caps_alloc_single_task_stat_arrays(heap_single_task_stat_t *task_stat,
                                                  TaskHandle_t task_handle);

/** Free the arrays of heap_caps_alloc_single_task_stat_arrays(); zero their counts. */
void heap_caps_free_single_task_stat_arrays(heap_single_task_stat_t *task_stat);

/**
 * Size the three arrays of tasks_stat for every task as it is now and
 * allocate them as heap_caps_alloc_single_task_stat_arrays() does.
 * @return ESP_OK; ESP_ERR_INVALID_ARG for NULL; ESP_FAIL when an array
 *         cannot be allocated (arrays already allocated are kept)
 */
esp_err_t heap_caps_alloc_all_task_stat_arrays(heap_all_tasks_stat_t *tasks_stat);

/** Free the arrays of heap_caps_alloc_all_task_stat_arrays(); zero their counts. */
void heap_caps_free_all_task_stat_arrays(heap_all_tasks_stat_t *tasks_stat);

#ifdef __cplusplus
}
#endif

#endif /* CONFIG_HEAP_TASK_TRACKING */

#endif /* ESP_HEAP_TASK_INFO_H */
