/*
 * test_task_tracking.c — per-task heap tracking (esp_heap_task_info.h,
 * CONFIG_HEAP_TASK_TRACKING) on an emulated ESP32, with threads as tasks:
 * what each thread is charged (to the byte, against the heap's own block
 * sizes), frees and reallocs by other threads, threads that end, the stat
 * getters and their arrays, the legacy per-task walk, every printout line by
 * line, and the owner word as heap_caps_get_allocated_size() and
 * heap_caps_walk() see it. ESP-IDF's on-target task-tracking cases are
 * among them, written anew.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* pthread_setname_np, open_memstream */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_heap_task_info.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "heapcaps/host.h"
#include "heapcaps/log.h"
#include "test_host.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* The owner word before every allocation, and the poison head before it. */
#define OWNER_WORD sizeof(void *)
#if defined(CONFIG_HEAP_POISONING_LIGHT) || defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
#define POISONED        1
#define POISON_HEAD     ((size_t)8)
#define POISON_OVERHEAD ((size_t)12) /* head 8, tail canary 4 */
#else
#define POISONED        0
#define POISON_HEAD     ((size_t)0)
#define POISON_OVERHEAD ((size_t)0)
#endif

/* ESP32 memory types: OR of the three caps words. */
#define ESP32_DRAM_CAPS  0x180Eu
#define ESP32_IRAM_CAPS  0x803u
#define ESP32_DIRAM_CAPS 0x180Fu

#define UNKNOWN_TASK ((TaskHandle_t)(uintptr_t)0x1234)

/* ================================================================ threads as tasks */

typedef enum { OP_MALLOC, OP_FREE, OP_REALLOC, OP_RENAME } op_kind_t;

typedef struct {
    op_kind_t kind;
    size_t size;
    uint32_t caps;
    void *in;
    void *out;
    const char *name;
} op_t;

/* A thread that runs the operations the test hands it, one at a time. */
typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    op_t *op; /* pending operation, NULL when idle */
    bool quit;
    bool running;
    char name[16];
} worker_t;

static void run_op(op_t *op)
{
    switch (op->kind) {
    case OP_MALLOC:
        op->out = heap_caps_malloc(op->size, op->caps);
        break;
    case OP_FREE:
        heap_caps_free(op->in);
        break;
    case OP_REALLOC:
        op->out = heap_caps_realloc(op->in, op->size, op->caps);
        break;
    case OP_RENAME:
        pthread_setname_np(pthread_self(), op->name);
        break;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    pthread_setname_np(pthread_self(), w->name);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->op && !w->quit) {
            pthread_cond_wait(&w->cond, &w->lock);
        }
        if (!w->op) {
            break;
        }
        op_t *op = w->op;
        pthread_mutex_unlock(&w->lock);
        run_op(op);
        pthread_mutex_lock(&w->lock);
        w->op = NULL;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void worker_start(worker_t *w, const char *name)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->name, sizeof(w->name), "%s", name);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    assert_int_equal(pthread_create(&w->thread, NULL, worker_main, w), 0);
    w->running = true;
}

/* Run op in the worker and wait for it. */
static void worker_do(worker_t *w, op_t *op)
{
    pthread_mutex_lock(&w->lock);
    w->op = op;
    pthread_cond_broadcast(&w->cond);
    while (w->op) {
        pthread_cond_wait(&w->cond, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
}

/* End the thread (the task is deleted) and wait until it is gone. */
static void worker_stop(worker_t *w)
{
    if (!w->running) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    w->running = false;
}

static TaskHandle_t task_of(const worker_t *w)
{
    return (TaskHandle_t)(uintptr_t)w->thread;
}

static TaskHandle_t main_task(void)
{
    return (TaskHandle_t)(uintptr_t)pthread_self();
}

static void *w_malloc(worker_t *w, size_t size, uint32_t caps)
{
    op_t op = {.kind = OP_MALLOC, .size = size, .caps = caps};
    worker_do(w, &op);
    assert_non_null(op.out);
    return op.out;
}

static void w_free(worker_t *w, void *p)
{
    op_t op = {.kind = OP_FREE, .in = p};
    worker_do(w, &op);
}

static void *w_realloc(worker_t *w, void *p, size_t size, uint32_t caps)
{
    op_t op = {.kind = OP_REALLOC, .in = p, .size = size, .caps = caps};
    worker_do(w, &op);
    return op.out;
}

static void w_rename(worker_t *w, const char *name)
{
    op_t op = {.kind = OP_RENAME, .name = name};
    worker_do(w, &op);
}

/* ================================================================ blocks as the heap sees them */

typedef struct {
    const void *address; /* wanted: the block holding it */
    void *ptr;           /* the block's payload */
    size_t size;         /* the block's size */
    intptr_t heap_start, heap_end;
    int hits;
} block_t;

static bool find_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    block_t *b = user;
    uintptr_t a = (uintptr_t)b->address;
    if (block.used && a >= (uintptr_t)block.ptr && a < (uintptr_t)block.ptr + block.size) {
        b->ptr = block.ptr;
        b->size = block.size;
        b->heap_start = heap.start;
        b->heap_end = heap.end;
        b->hits++;
    }
    return true;
}

/* The used block holding address (exactly one). */
static block_t block_of(const void *address)
{
    block_t b = {.address = address};
    heap_caps_walk_all(find_block, &b);
    assert_int_equal(b.hits, 1);
    return b;
}

/* Full size of the block of a heap_caps allocation: what the tracker charges. */
static size_t charged(const void *p)
{
    return block_of(p).size;
}

static bool find_largest(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    (void)block;
    intptr_t *range = user;
    if (heap.end - heap.start > range[1] - range[0]) {
        range[0] = heap.start;
        range[1] = heap.end;
    }
    return false; /* one look per heap is enough */
}

/* Bounds of the largest heap (where the tracker keeps its records). */
static void largest_heap(intptr_t *start, intptr_t *end)
{
    intptr_t range[2] = {0, 0};
    heap_caps_walk_all(find_largest, range);
    *start = range[0];
    *end = range[1];
}

static size_t heap_size_of(const void *p)
{
    block_t b = block_of(p);
    return (size_t)(b.heap_end - b.heap_start);
}

/* ================================================================ statistics helpers */

typedef struct {
    heap_single_task_stat_t s;
    heap_stat_t heaps[8];
    heap_task_block_t allocs[64];
} single_t;

static esp_err_t get_single(TaskHandle_t task, single_t *out)
{
    memset(out, 0, sizeof(*out));
    out->s.heap_count = COUNT(out->heaps);
    out->s.heap_stat_start = out->heaps;
    out->s.alloc_count = COUNT(out->allocs);
    out->s.alloc_stat_start = out->allocs;
    return heap_caps_get_single_task_stat(&out->s, task);
}

/* The heap entry of a task holding address p. */
static const heap_stat_t *heap_holding(const task_stat_t *task, const void *p)
{
    for (size_t i = 0; i < task->heap_count; ++i) {
        const heap_stat_t *h = &task->heap_stat[i];
        for (size_t j = 0; h->alloc_stat && j < h->alloc_count; ++j) {
            if (h->alloc_stat[j].address == p) {
                return h;
            }
        }
    }
    return NULL;
}

/* The allocation record of p in a task's statistics. */
static const heap_task_block_t *record_of(const task_stat_t *task, const void *p)
{
    const heap_stat_t *h = heap_holding(task, p);
    for (size_t j = 0; h && j < h->alloc_count; ++j) {
        if (h->alloc_stat[j].address == p) {
            return &h->alloc_stat[j];
        }
    }
    return NULL;
}

static const heap_stat_t *heap_named(const task_stat_t *task, const char *name)
{
    for (size_t i = 0; i < task->heap_count; ++i) {
        if (task->heap_stat[i].name && strcmp(task->heap_stat[i].name, name) == 0) {
            return &task->heap_stat[i];
        }
    }
    return NULL;
}

/* The entry of `task` in the statistics of every task, or NULL. */
typedef struct {
    heap_all_tasks_stat_t s;
    task_stat_t tasks[16];
    heap_stat_t heaps[32];
    heap_task_block_t allocs[128];
} all_t;

static void get_all(all_t *out)
{
    memset(out, 0, sizeof(*out));
    out->s.task_count = COUNT(out->tasks);
    out->s.stat_arr = out->tasks;
    out->s.heap_count = COUNT(out->heaps);
    out->s.heap_stat_start = out->heaps;
    out->s.alloc_count = COUNT(out->allocs);
    out->s.alloc_stat_start = out->allocs;
    assert_int_equal(heap_caps_get_all_task_stat(&out->s), ESP_OK);
}

static const task_stat_t *task_in(const all_t *all, TaskHandle_t task, bool alive)
{
    for (size_t i = 0; i < all->s.task_count; ++i) {
        if (all->tasks[i].handle == task && all->tasks[i].is_alive == alive) {
            return &all->tasks[i];
        }
    }
    return NULL;
}

/* ================================================================ fixtures */

static worker_t alpha, beta, gamma_;

static int boot_esp32(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    return heapcaps_emu_boot("esp32", &options) == ESP_OK ? 0 : -1;
}

static int shut_down(void **state)
{
    (void)state;
    worker_stop(&alpha);
    worker_stop(&beta);
    worker_stop(&gamma_);
    heapcaps_emu_shutdown();
    return 0;
}

#define TRACKING_TEST(fn) cmocka_unit_test_setup_teardown(fn, boot_esp32, shut_down)

/* ================================================================ what each task is charged */

/* Two threads allocate from different heaps: each is charged the full
 * block sizes, per heap and overall, with one record per allocation. */
static void each_thread_is_charged_its_own_blocks(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    worker_start(&beta, "beta");
    void *a1 = w_malloc(&alpha, 100, MALLOC_CAP_8BIT);  /* DRAM */
    void *a2 = w_malloc(&alpha, 200, MALLOC_CAP_32BIT); /* IRAM first on ESP32 */
    void *a3 = w_malloc(&alpha, 60, MALLOC_CAP_DMA);    /* DRAM */
    void *b1 = w_malloc(&beta, 300, MALLOC_CAP_8BIT);
    assert_true(esp_ptr_in_dram(a1) && esp_ptr_in_iram(a2) && esp_ptr_in_dram(a3));

    single_t st;
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    const task_stat_t *t = &st.s.stat;
    assert_string_equal(t->name, "alpha");
    assert_ptr_equal(t->handle, task_of(&alpha));
    assert_true(t->is_alive);
    size_t total = charged(a1) + charged(a2) + charged(a3);
    assert_int_equal(t->overall_current_usage, total);
    assert_int_equal(t->overall_peak_usage, total);
    assert_int_equal(t->heap_count, 2);
    assert_int_equal(st.s.heap_count, 2);
    assert_int_equal(st.s.alloc_count, 3);
    assert_ptr_equal(t->heap_stat, st.heaps);

    const heap_stat_t *dram = heap_named(t, "DRAM");
    const heap_stat_t *iram = heap_named(t, "IRAM");
    assert_non_null(dram);
    assert_non_null(iram);
    assert_ptr_equal(dram, &st.heaps[0]); /* order of first use */
    assert_int_equal(dram->caps, ESP32_DRAM_CAPS);
    assert_int_equal(iram->caps, ESP32_IRAM_CAPS);
    assert_int_equal(dram->size, heap_size_of(a1));
    assert_int_equal(iram->size, heap_size_of(a2));
    assert_int_equal(dram->current_usage, charged(a1) + charged(a3));
    assert_int_equal(dram->peak_usage, charged(a1) + charged(a3));
    assert_int_equal(dram->alloc_count, 2);
    assert_int_equal(iram->current_usage, charged(a2));
    assert_int_equal(iram->alloc_count, 1);
    /* Records in allocation order: address as returned, full block size. */
    assert_ptr_equal(dram->alloc_stat[0].address, a1);
    assert_ptr_equal(dram->alloc_stat[1].address, a3);
    assert_ptr_equal(iram->alloc_stat[0].address, a2);
    assert_int_equal(dram->alloc_stat[0].size, charged(a1));
    assert_int_equal(dram->alloc_stat[1].size, charged(a3));
    assert_int_equal(iram->alloc_stat[0].size, charged(a2));
    assert_ptr_equal(dram->alloc_stat[0].task, task_of(&alpha));
    /* The charge covers the owner word: more than what was asked. */
    assert_true(charged(a1) >= 100 + OWNER_WORD + POISON_OVERHEAD);

    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_string_equal(st.s.stat.name, "beta");
    assert_int_equal(st.s.stat.overall_current_usage, charged(b1));
    assert_int_equal(st.s.stat.heap_count, 1);
    assert_ptr_equal(st.heaps[0].alloc_stat[0].address, b1);

    /* The main thread allocated nothing: it has no statistics. */
    assert_int_equal(get_single(main_task(), &st), ESP_FAIL);

    w_free(&alpha, a1);
    w_free(&alpha, a2);
    w_free(&alpha, a3);
    w_free(&beta, b1);
}

/* Peak usage: overall and per heap, the most held at once. */
static void peaks_keep_the_most_held_at_once(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    void *big = w_malloc(&alpha, 1000, MALLOC_CAP_8BIT);
    void *small = w_malloc(&alpha, 40, MALLOC_CAP_8BIT);
    size_t peak = charged(big) + charged(small);
    size_t big_size = charged(big);
    w_free(&alpha, big);
    void *code = w_malloc(&alpha, 64, MALLOC_CAP_32BIT);

    single_t st;
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    const task_stat_t *t = &st.s.stat;
    assert_int_equal(t->overall_current_usage, charged(small) + charged(code));
    assert_int_equal(t->overall_peak_usage, peak);
    const heap_stat_t *dram = heap_holding(t, small);
    assert_non_null(dram);
    assert_int_equal(dram->current_usage, charged(small));
    assert_int_equal(dram->peak_usage, peak);
    assert_int_equal(dram->alloc_count, 1);
    const heap_stat_t *iram = heap_holding(t, code);
    assert_int_equal(iram->peak_usage, charged(code));
    assert_true(big_size > charged(code));
    w_free(&alpha, small);
    w_free(&alpha, code);
}

/* The name is taken at the first allocation. */
static void name_is_taken_at_the_first_allocation(void **state)
{
    (void)state;
    worker_start(&alpha, "first-name");
    void *p = w_malloc(&alpha, 16, MALLOC_CAP_8BIT);
    w_rename(&alpha, "second-name");
    void *q = w_malloc(&alpha, 16, MALLOC_CAP_8BIT);
    single_t st;
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    assert_string_equal(st.s.stat.name, "first-name");
    assert_int_equal(st.s.alloc_count, 2);
    w_free(&alpha, p);
    w_free(&alpha, q);
}

/* A block freed by another thread is taken off its owner, not the freer. */
static void free_by_another_thread_is_taken_from_the_owner(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    worker_start(&beta, "beta");
    void *a1 = w_malloc(&alpha, 128, MALLOC_CAP_8BIT);
    void *a2 = w_malloc(&alpha, 64, MALLOC_CAP_8BIT);
    void *b1 = w_malloc(&beta, 32, MALLOC_CAP_8BIT);
    size_t peak = charged(a1) + charged(a2);

    w_free(&beta, a1);  /* beta frees alpha's block */
    heap_caps_free(a2); /* and so does the main thread */

    single_t st;
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, 0);
    assert_int_equal(st.s.stat.overall_peak_usage, peak);
    assert_int_equal(st.s.stat.heap_count, 1);
    assert_int_equal(st.heaps[0].alloc_count, 0);
    assert_null(st.heaps[0].alloc_stat);
    assert_int_equal(st.s.alloc_count, 0);

    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, charged(b1));
    assert_int_equal(st.heaps[0].alloc_count, 1);
    assert_ptr_equal(st.heaps[0].alloc_stat[0].address, b1);
    /* Freeing never made the main thread a task with statistics. */
    assert_int_equal(get_single(main_task(), &st), ESP_FAIL);
    w_free(&beta, b1);
}

/* The legacy walk reports the owner word of a block. */
static TaskHandle_t owner_seen_by_walk(const void *p)
{
    heap_task_block_t blocks[64];
    size_t totals = 0;
    heap_task_info_params_t params = {
        .num_totals = &totals, .blocks = blocks, .max_blocks = COUNT(blocks)};
    size_t n = heap_caps_get_per_task_info(&params);
    for (size_t i = 0; i < n; ++i) {
        if (blocks[i].address == p) {
            return blocks[i].task;
        }
    }
    fail_msg("block %p not found by heap_caps_get_per_task_info", p);
    return NULL;
}

/* A realloc takes the old block off its owner and charges the thread that
 * reallocated: in place (shrink, grow) and when moved to other caps. */
static void realloc_moves_the_charge_to_the_reallocating_thread(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    worker_start(&beta, "beta");
    void *p = w_malloc(&alpha, 200, MALLOC_CAP_8BIT);
    void *keep = w_malloc(&alpha, 24, MALLOC_CAP_8BIT);
    size_t alpha_peak = charged(p) + charged(keep);

    /* Shrink by another thread (in place, or moved where the build's realloc
     * always moves: the charge follows either way). */
    void *q = w_realloc(&beta, p, 80, MALLOC_CAP_8BIT);
    assert_non_null(q);
#if !defined(HEAPCAPS_SANITIZER_VIEW) && !defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
    assert_ptr_equal(q, p); /* the in-heap path of heap_caps_realloc() */
#endif
    single_t st;
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, charged(keep));
    assert_int_equal(st.s.stat.overall_peak_usage, alpha_peak);
    assert_int_equal(st.s.alloc_count, 1);
    assert_ptr_equal(st.allocs[0].address, keep);
    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, charged(q));
    assert_int_equal(st.s.alloc_count, 1);
    assert_ptr_equal(st.allocs[0].address, q);
    assert_int_equal(st.allocs[0].size, charged(q));
    assert_ptr_equal(owner_seen_by_walk(q), task_of(&beta));

    /* Back to alpha, growing. */
    void *r = w_realloc(&alpha, q, 400, MALLOC_CAP_8BIT);
    assert_non_null(r);
    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, 0);
    assert_int_equal(st.s.alloc_count, 0);
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, charged(keep) + charged(r));
    assert_non_null(record_of(&st.s.stat, r));
    assert_int_equal(record_of(&st.s.stat, r)->size, charged(r));
    assert_ptr_equal(owner_seen_by_walk(r), task_of(&alpha));

    /* Moved to IRAM by beta: a new block for beta, the old one off alpha. */
    void *code = w_realloc(&beta, r, 100, MALLOC_CAP_32BIT | MALLOC_CAP_EXEC);
    assert_true(esp_ptr_in_iram(code));
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, charged(keep));
    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, charged(code));
    assert_int_equal(st.s.stat.heap_count, 2); /* DRAM (now empty) and IRAM */
    const heap_stat_t *iram = heap_holding(&st.s.stat, code);
    assert_non_null(iram);
    assert_string_equal(iram->name, "IRAM");
    assert_ptr_equal(owner_seen_by_walk(code), task_of(&beta));

    /* realloc to 0 frees: taken off the owner. */
    assert_null(w_realloc(&alpha, code, 0, MALLOC_CAP_32BIT));
    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, 0);
    w_free(&alpha, keep);
}

/* Take every EXEC block that does not come through the D/IRAM alias. */
static void take_non_alias_exec(worker_t *w, void **kept, size_t room, size_t *kept_count)
{
    *kept_count = 0;
    for (size_t size = 4096; size >= 8; size /= 2) {
        while (*kept_count < room) {
            op_t op = {.kind = OP_MALLOC, .size = size, .caps = MALLOC_CAP_EXEC};
            worker_do(w, &op);
            if (!op.out) {
                break;
            }
            if (esp_ptr_in_diram_iram(op.out)) {
                w_free(w, op.out);
                break;
            }
            kept[(*kept_count)++] = op.out;
        }
    }
    assert_true(*kept_count < room);
}

/* An EXEC allocation returned through the instruction alias of D/IRAM is
 * recorded by that pointer, charged its data-side block, and freed by it. */
static void exec_alias_allocation_is_recorded_by_its_alias_pointer(void **state)
{
    (void)state;
    worker_start(&alpha, "filler");
    worker_start(&beta, "coder");
    static void *kept[512];
    size_t kept_count;
    take_non_alias_exec(&alpha, kept, COUNT(kept), &kept_count);
    void *code = w_malloc(&beta, 256, MALLOC_CAP_EXEC);
    assert_true(esp_ptr_in_diram_iram(code));
    /* The DRAM twin of the alias pointer lies in the data-side block. */
    size_t block = charged(esp_ptr_diram_iram_to_dram(code));

    single_t st;
    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.alloc_count, 1);
    assert_ptr_equal(st.allocs[0].address, code);
    assert_int_equal(st.allocs[0].size, block);
    assert_int_equal(st.s.stat.overall_current_usage, block);
    assert_string_equal(st.heaps[0].name, "D/IRAM");
    assert_int_equal(st.heaps[0].caps, ESP32_DIRAM_CAPS);

    heap_caps_free(code);
    assert_int_equal(get_single(task_of(&beta), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, 0);
    assert_int_equal(st.s.stat.overall_peak_usage, block);
    for (size_t i = 0; i < kept_count; ++i) {
        heap_caps_free(kept[i]);
    }
    assert_int_equal(get_single(task_of(&alpha), &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, 0);
    assert_true(heap_caps_check_integrity_all(true));
}

/* ================================================================ tasks that end */

/* ESP-IDF "heap task tracking reports created / deleted task": alive while
 * it runs; once ended, DELETED with its figures (deleted tasks kept) or gone. */
static void ended_thread_is_deleted_or_dropped(void **state)
{
    (void)state;
    worker_start(&alpha, "short-lived");
    void *p = w_malloc(&alpha, 500, MALLOC_CAP_8BIT);
    void *q = w_malloc(&alpha, 50, MALLOC_CAP_32BIT);
    TaskHandle_t handle = task_of(&alpha);
    all_t all;
    get_all(&all);
    const task_stat_t *t = task_in(&all, handle, true);
    assert_non_null(t);
    assert_string_equal(t->name, "short-lived");

    worker_stop(&alpha);
    get_all(&all);
    assert_null(task_in(&all, handle, true));
    single_t st;
#ifdef CONFIG_HEAP_TRACK_DELETED_TASKS
    t = task_in(&all, handle, false);
    assert_non_null(t);
    assert_string_equal(t->name, "short-lived");
    assert_int_equal(t->overall_current_usage, charged(p) + charged(q));
    assert_int_equal(t->heap_count, 2);
    assert_int_equal(get_single(handle, &st), ESP_OK);
    assert_false(st.s.stat.is_alive);
    assert_int_equal(st.s.alloc_count, 2);
    /* Its blocks, freed later, still come off it. */
    size_t peak = charged(p) + charged(q);
    size_t q_size = charged(q);
    heap_caps_free(p);
    assert_int_equal(get_single(handle, &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, q_size);
    assert_int_equal(st.s.stat.overall_peak_usage, peak);
    assert_int_equal(st.s.alloc_count, 1);
    heap_caps_free(q);
    assert_int_equal(get_single(handle, &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, 0);
#else
    assert_null(task_in(&all, handle, false));
    assert_int_equal(all.s.task_count, 0);
    assert_int_equal(get_single(handle, &st), ESP_FAIL);
    /* The owner word still names it; freeing its blocks changes nothing. */
    assert_ptr_equal(owner_seen_by_walk(p), handle);
    heap_caps_free(p);
    heap_caps_free(q);
    get_all(&all);
    assert_int_equal(all.s.task_count, 0);
#endif
}

/* ESP-IDF "heap task tracking realloc with reused TaskHandle does not
 * underflow usage": a new thread gets the handle of an ended one and
 * reallocs and frees blocks of both lifetimes. */
static void reused_handle_does_not_underflow_usage(void **state)
{
    (void)state;
    worker_start(&alpha, "old-life");
    void *old1 = w_malloc(&alpha, 100, MALLOC_CAP_8BIT);
    void *old2 = w_malloc(&alpha, 200, MALLOC_CAP_8BIT);
    TaskHandle_t handle = task_of(&alpha);
    worker_stop(&alpha);

    bool reused = false;
    for (int attempt = 0; attempt < 64 && !reused; ++attempt) {
        worker_start(&beta, "new-life");
        reused = task_of(&beta) == handle;
        if (!reused) {
            worker_stop(&beta);
        }
    }
    if (!reused) {
        heap_caps_free(old1);
        heap_caps_free(old2);
        skip(); /* the thread library never gave the handle again */
    }
    void *fresh = w_malloc(&beta, 60, MALLOC_CAP_8BIT);
    void *moved = w_realloc(&beta, old1, 150, MALLOC_CAP_8BIT);
    assert_non_null(moved);
    w_free(&beta, old2);
    void *grown = w_realloc(&beta, fresh, 300, MALLOC_CAP_8BIT);
    assert_non_null(grown);

    all_t all;
    get_all(&all);
    const task_stat_t *now = task_in(&all, handle, true);
    assert_non_null(now);
    assert_string_equal(now->name, "new-life");
    assert_int_equal(now->overall_current_usage, charged(moved) + charged(grown));
    for (size_t i = 0; i < all.s.task_count; ++i) {
        assert_true(all.tasks[i].overall_current_usage <= all.tasks[i].overall_peak_usage);
        for (size_t j = 0; j < all.tasks[i].heap_count; ++j) {
            const heap_stat_t *h = &all.tasks[i].heap_stat[j];
            assert_true(h->current_usage <= h->peak_usage);
            assert_true(h->current_usage <= h->size);
        }
    }
#ifdef CONFIG_HEAP_TRACK_DELETED_TASKS
    const task_stat_t *old = task_in(&all, handle, false);
    assert_non_null(old);
    assert_string_equal(old->name, "old-life");
    assert_int_equal(old->overall_current_usage, 0);
    assert_int_equal(all.s.task_count, 2);
    /* Live entry first, then the ended one with the same handle. */
    assert_true(all.tasks[0].is_alive);
#else
    assert_int_equal(all.s.task_count, 1);
#endif
    w_free(&beta, moved);
    w_free(&beta, grown);
    get_all(&all);
    assert_int_equal(task_in(&all, handle, true)->overall_current_usage, 0);
}

/* ================================================================ getters and arrays */

/* ESP-IDF "heap task tracking check alloc array and get all tasks info":
 * after another task allocates, every count grows. */
static void all_task_counts_grow_when_a_task_allocates(void **state)
{
    (void)state;
    void *mine = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    heap_all_tasks_stat_t before = {0};
    assert_int_equal(heap_caps_alloc_all_task_stat_arrays(&before), ESP_OK);
    assert_int_equal(heap_caps_get_all_task_stat(&before), ESP_OK);
    assert_int_equal(before.task_count, 1);
    assert_int_equal(before.heap_count, 1);
    assert_int_equal(before.alloc_count, 1);

    worker_start(&alpha, "other");
    void *a = w_malloc(&alpha, 64, MALLOC_CAP_8BIT);
    void *b = w_malloc(&alpha, 64, MALLOC_CAP_32BIT);

    heap_all_tasks_stat_t after = {0};
    assert_int_equal(heap_caps_alloc_all_task_stat_arrays(&after), ESP_OK);
    assert_int_equal(after.task_count, 2);
    assert_int_equal(after.heap_count, 3);
    assert_int_equal(after.alloc_count, 3);
    assert_int_equal(heap_caps_get_all_task_stat(&after), ESP_OK);
    assert_true(after.task_count > before.task_count);
    assert_true(after.heap_count > before.heap_count);
    assert_true(after.alloc_count > before.alloc_count);
    /* Every task, heap and allocation found room. */
    for (size_t i = 0; i < after.task_count; ++i) {
        assert_non_null(after.stat_arr[i].heap_stat);
        for (size_t j = 0; j < after.stat_arr[i].heap_count; ++j) {
            assert_non_null(after.stat_arr[i].heap_stat[j].alloc_stat);
        }
    }
    heap_caps_free_all_task_stat_arrays(&before);
    heap_caps_free_all_task_stat_arrays(&after);
    assert_null(after.stat_arr);
    assert_null(after.heap_stat_start);
    assert_null(after.alloc_stat_start);
    assert_int_equal(after.task_count + after.heap_count + after.alloc_count, 0);
    heap_caps_free(mine);
    w_free(&alpha, a);
    w_free(&alpha, b);
}

/* ESP-IDF "heap task tracking check alloc arrays and get info on specific
 * task", in a fresh thread. */
static void single_task_arrays_follow_a_fresh_thread(void **state)
{
    (void)state;
    worker_start(&alpha, "fresh");
    heap_single_task_stat_t st = {0};
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&st, task_of(&alpha)), ESP_OK);
    assert_int_equal(st.heap_count, 0);
    assert_int_equal(st.alloc_count, 0);
    assert_null(st.heap_stat_start);
    assert_null(st.alloc_stat_start);
    assert_int_equal(heap_caps_get_single_task_stat(&st, task_of(&alpha)), ESP_FAIL);

    const uint32_t caps = MALLOC_CAP_32BIT | MALLOC_CAP_DMA;
    void *p = w_malloc(&alpha, 100, caps);
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&st, task_of(&alpha)), ESP_OK);
    assert_int_equal(st.heap_count, 1);
    assert_int_equal(st.alloc_count, 1);
    assert_non_null(st.heap_stat_start);
    assert_non_null(st.alloc_stat_start);
    assert_int_equal(heap_caps_get_single_task_stat(&st, task_of(&alpha)), ESP_OK);
    assert_int_equal(st.heap_count, 1);
    assert_int_equal(st.alloc_count, 1);
    assert_int_equal(st.stat.heap_count, 1);
    assert_int_equal(st.heap_stat_start[0].caps & caps, caps);
    assert_ptr_equal(st.stat.heap_stat[0].alloc_stat, st.alloc_stat_start);
    assert_ptr_equal(st.alloc_stat_start[0].address, p);
    assert_true(st.alloc_stat_start[0].size > 0);
    assert_int_equal(st.alloc_stat_start[0].size, charged(p));
    heap_caps_free_single_task_stat_arrays(&st);
    assert_null(st.heap_stat_start);
    assert_null(st.alloc_stat_start);
    assert_int_equal(st.heap_count + st.alloc_count, 0);

    w_free(&alpha, p);
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&st, task_of(&alpha)), ESP_OK);
    assert_int_equal(st.heap_count, 1);
    assert_int_equal(st.alloc_count, 0);
    assert_null(st.alloc_stat_start);
    assert_int_equal(heap_caps_get_single_task_stat(&st, task_of(&alpha)), ESP_OK);
    assert_int_equal(st.stat.heap_count, 1);
    assert_int_equal(st.heap_stat_start[0].alloc_count, 0);
    assert_null(st.heap_stat_start[0].alloc_stat);
    assert_int_equal(st.heap_stat_start[0].current_usage, 0);
    heap_caps_free_single_task_stat_arrays(&st);
}

/* A NULL handle means the calling thread. */
static void null_handle_means_the_calling_thread(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    heap_single_task_stat_t st = {0};
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&st, NULL), ESP_OK);
    assert_int_equal(st.alloc_count, 1);
    assert_int_equal(heap_caps_get_single_task_stat(&st, NULL), ESP_OK);
    assert_ptr_equal(st.stat.handle, main_task());
    assert_ptr_equal(st.alloc_stat_start[0].address, p);
    heap_caps_free_single_task_stat_arrays(&st);
    heap_caps_free(p);
}

/* The arrays come from the tracker's own memory, past the heaps: they change
 * no task's statistics nor the heaps' figures, and freeing them zeroes the
 * counts. */
static void stat_arrays_are_not_charged_to_anyone(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    single_t st;
    assert_int_equal(get_single(NULL, &st), ESP_OK);
    size_t usage = st.s.stat.overall_current_usage;
    size_t free_before = heap_caps_get_free_size(MALLOC_CAP_8BIT);

    heap_all_tasks_stat_t all = {0};
    assert_int_equal(heap_caps_alloc_all_task_stat_arrays(&all), ESP_OK);
    assert_non_null(all.stat_arr);
    assert_non_null(all.heap_stat_start);
    assert_non_null(all.alloc_stat_start);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), free_before);
    assert_int_equal(get_single(NULL, &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, usage);
    assert_int_equal(st.s.alloc_count, 1);
    heap_caps_free_all_task_stat_arrays(&all);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_8BIT), free_before);
    heap_caps_free_all_task_stat_arrays(&all); /* nothing left: harmless */
    heap_caps_free_all_task_stat_arrays(NULL);
    heap_caps_free_single_task_stat_arrays(NULL);
    heap_caps_free(p);
}

/* Too small arrays: what fits is copied whole, the rest left NULL, the
 * counts say what was used. */
static void get_all_task_stat_with_too_small_arrays(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    worker_start(&beta, "beta");
    worker_start(&gamma_, "gamma");
    void *a[3] = {w_malloc(&alpha, 32, MALLOC_CAP_8BIT), w_malloc(&alpha, 32, MALLOC_CAP_8BIT),
                  w_malloc(&alpha, 32, MALLOC_CAP_32BIT)};
    void *b[1] = {w_malloc(&beta, 32, MALLOC_CAP_8BIT)};
    void *g[2] = {w_malloc(&gamma_, 32, MALLOC_CAP_8BIT), w_malloc(&gamma_, 32, MALLOC_CAP_8BIT)};

    all_t full;
    get_all(&full);
    assert_int_equal(full.s.task_count, 3);
    assert_int_equal(full.s.heap_count, 4);
    assert_int_equal(full.s.alloc_count, 6);
    /* Descending handles. */
    assert_true((uintptr_t)full.tasks[0].handle > (uintptr_t)full.tasks[1].handle);
    assert_true((uintptr_t)full.tasks[1].handle > (uintptr_t)full.tasks[2].handle);

    /* Room for two tasks only. */
    task_stat_t tasks[2];
    heap_stat_t heaps[8];
    heap_task_block_t allocs[8];
    heap_all_tasks_stat_t s = {2, tasks, 8, heaps, 8, allocs};
    assert_int_equal(heap_caps_get_all_task_stat(&s), ESP_OK);
    assert_int_equal(s.task_count, 2);
    assert_ptr_equal(tasks[0].handle, full.tasks[0].handle);
    assert_ptr_equal(tasks[1].handle, full.tasks[1].handle);
    assert_int_equal(s.heap_count, full.tasks[0].heap_count + full.tasks[1].heap_count);

    /* No heap room at all: tasks copied, heap_stat NULL. */
    heap_all_tasks_stat_t no_heaps = {3, full.tasks, 0, NULL, 0, NULL};
    assert_int_equal(heap_caps_get_all_task_stat(&no_heaps), ESP_OK);
    assert_int_equal(no_heaps.task_count, 3);
    assert_int_equal(no_heaps.heap_count, 0);
    assert_int_equal(no_heaps.alloc_count, 0);
    for (size_t i = 0; i < 3; ++i) {
        assert_null(full.tasks[i].heap_stat);
        assert_true(full.tasks[i].heap_count > 0); /* the real count stays */
    }

    /* One heap slot: the first one-heap task (in list order) gets it; no
     * alloc room: its alloc_stat is NULL. */
    task_stat_t three[3];
    heap_stat_t one_heap[1];
    heap_all_tasks_stat_t tight = {3, three, 1, one_heap, 0, NULL};
    assert_int_equal(heap_caps_get_all_task_stat(&tight), ESP_OK);
    assert_int_equal(tight.task_count, 3);
    assert_int_equal(tight.heap_count, 1);
    assert_int_equal(tight.alloc_count, 0);
    size_t first_single = 3;
    for (size_t i = 0; i < 3 && first_single == 3; ++i) {
        if (three[i].heap_count == 1) {
            first_single = i;
        }
    }
    assert_true(first_single < 3);
    for (size_t i = 0; i < 3; ++i) {
        if (i == first_single) {
            assert_ptr_equal(three[i].heap_stat, one_heap);
            assert_null(one_heap[0].alloc_stat);
            assert_true(one_heap[0].alloc_count > 0);
        } else {
            assert_null(three[i].heap_stat);
        }
    }

    /* Alloc room for one heap's records only: first heap that fits. */
    heap_task_block_t two_allocs[2];
    heap_all_tasks_stat_t some = {3, three, 8, heaps, 2, two_allocs};
    assert_int_equal(heap_caps_get_all_task_stat(&some), ESP_OK);
    assert_int_equal(some.heap_count, 4);
    assert_int_equal(some.alloc_count, 2);
    size_t listed = 0;
    for (size_t i = 0; i < 4; ++i) {
        if (heaps[i].alloc_stat) {
            listed += heaps[i].alloc_count;
        }
    }
    assert_int_equal(listed, 2);

    /* Zero everything: nothing copied, OK. */
    heap_all_tasks_stat_t none = {0};
    assert_int_equal(heap_caps_get_all_task_stat(&none), ESP_OK);
    assert_int_equal(none.task_count + none.heap_count + none.alloc_count, 0);

    for (size_t i = 0; i < COUNT(a); ++i) {
        heap_caps_free(a[i]);
    }
    heap_caps_free(b[0]);
    heap_caps_free(g[0]);
    heap_caps_free(g[1]);
}

static void get_single_task_stat_with_too_small_arrays(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    void *p1 = w_malloc(&alpha, 32, MALLOC_CAP_8BIT);
    void *p2 = w_malloc(&alpha, 48, MALLOC_CAP_8BIT);
    void *p3 = w_malloc(&alpha, 64, MALLOC_CAP_32BIT);

    /* No room: the task itself is still copied. */
    heap_single_task_stat_t st = {0};
    assert_int_equal(heap_caps_get_single_task_stat(&st, task_of(&alpha)), ESP_OK);
    assert_string_equal(st.stat.name, "alpha");
    assert_int_equal(st.stat.heap_count, 2);
    assert_null(st.stat.heap_stat);
    assert_int_equal(st.stat.overall_current_usage, charged(p1) + charged(p2) + charged(p3));
    assert_int_equal(st.heap_count + st.alloc_count, 0);

    /* Heap room for one of two heaps: none copied. */
    heap_stat_t heaps[2];
    heap_task_block_t allocs[3];
    st = (heap_single_task_stat_t){.heap_count = 1, .heap_stat_start = heaps};
    assert_int_equal(heap_caps_get_single_task_stat(&st, task_of(&alpha)), ESP_OK);
    assert_null(st.stat.heap_stat);
    assert_int_equal(st.heap_count, 0);

    /* Room for both heaps and one allocation: the IRAM heap's one fits. */
    st = (heap_single_task_stat_t){
        .heap_count = 2, .heap_stat_start = heaps, .alloc_count = 1, .alloc_stat_start = allocs};
    assert_int_equal(heap_caps_get_single_task_stat(&st, task_of(&alpha)), ESP_OK);
    assert_ptr_equal(st.stat.heap_stat, heaps);
    assert_int_equal(st.heap_count, 2);
    assert_int_equal(st.alloc_count, 1);
    assert_null(heaps[0].alloc_stat); /* DRAM: two records, no room */
    assert_int_equal(heaps[0].alloc_count, 2);
    assert_ptr_equal(heaps[1].alloc_stat, allocs);
    assert_ptr_equal(allocs[0].address, p3);

    w_free(&alpha, p1);
    w_free(&alpha, p2);
    w_free(&alpha, p3);
}

static void getters_reject_bad_arguments(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    task_stat_t tasks[2];
    heap_stat_t heaps[2];
    heap_task_block_t allocs[2];

    assert_int_equal(heap_caps_get_all_task_stat(NULL), ESP_ERR_INVALID_ARG);
    heap_all_tasks_stat_t all = {1, NULL, 2, heaps, 2, allocs};
    assert_int_equal(heap_caps_get_all_task_stat(&all), ESP_ERR_INVALID_ARG);
    all = (heap_all_tasks_stat_t){2, tasks, 1, NULL, 2, allocs};
    assert_int_equal(heap_caps_get_all_task_stat(&all), ESP_ERR_INVALID_ARG);
    all = (heap_all_tasks_stat_t){2, tasks, 2, heaps, 1, NULL};
    assert_int_equal(heap_caps_get_all_task_stat(&all), ESP_ERR_INVALID_ARG);
    assert_int_equal(all.task_count, 2); /* untouched on error */

    assert_int_equal(heap_caps_get_single_task_stat(NULL, NULL), ESP_ERR_INVALID_ARG);
    heap_single_task_stat_t one = {.heap_count = 1, .heap_stat_start = NULL};
    assert_int_equal(heap_caps_get_single_task_stat(&one, NULL), ESP_ERR_INVALID_ARG);
    one = (heap_single_task_stat_t){.alloc_count = 1, .alloc_stat_start = NULL};
    assert_int_equal(heap_caps_get_single_task_stat(&one, NULL), ESP_ERR_INVALID_ARG);
    /* An unknown task. */
    one = (heap_single_task_stat_t){0};
    assert_int_equal(heap_caps_get_single_task_stat(&one, UNKNOWN_TASK), ESP_FAIL);

    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(NULL, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_alloc_all_task_stat_arrays(NULL), ESP_ERR_INVALID_ARG);
    /* Arrays for an unknown task: empty. */
    one = (heap_single_task_stat_t){.heap_count = 7, .alloc_count = 7};
    assert_int_equal(heap_caps_alloc_single_task_stat_arrays(&one, UNKNOWN_TASK), ESP_OK);
    assert_int_equal(one.heap_count + one.alloc_count, 0);
    assert_null(one.heap_stat_start);
    assert_null(one.alloc_stat_start);

    assert_int_equal(heap_caps_get_per_task_info(NULL), 0);
    heap_task_info_params_t params = {0};
    assert_int_equal(heap_caps_get_per_task_info(&params), 0); /* num_totals NULL */
    heap_caps_free(p);
}

/* ================================================================ legacy per-task walk */

/* heap_caps_get_per_task_info(): slots by caps/mask, usable block sizes,
 * a task filter for the block list; the tracker's own blocks are not seen. */
static void per_task_info_sorts_heaps_into_slots(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    void *d1 = w_malloc(&alpha, 100, MALLOC_CAP_8BIT);
    void *i1 = w_malloc(&alpha, 200, MALLOC_CAP_32BIT);
    void *d2 = w_malloc(&alpha, 50, MALLOC_CAP_8BIT);
    void *mine = heap_caps_malloc(70, MALLOC_CAP_8BIT);
    /* multi_heap's usable size of the block includes the owner word. */
    size_t ud1 = heap_caps_get_allocated_size(d1) + OWNER_WORD;
    size_t ui1 = heap_caps_get_allocated_size(i1) + OWNER_WORD;
    size_t ud2 = heap_caps_get_allocated_size(d2) + OWNER_WORD;

    heap_task_totals_t totals[8];
    size_t num_totals = 0;
    heap_task_block_t blocks[8];
    TaskHandle_t only[1] = {task_of(&alpha)};
    heap_task_info_params_t params = {
        .caps = {MALLOC_CAP_EXEC, MALLOC_CAP_8BIT, (int32_t)(1u << 30), 0},
        .mask = {MALLOC_CAP_EXEC, MALLOC_CAP_8BIT | MALLOC_CAP_EXEC, (int32_t)(1u << 30),
                 (int32_t)(1u << 30)},
        .tasks = only,
        .num_tasks = 1,
        .totals = totals,
        .num_totals = &num_totals,
        .max_totals = COUNT(totals),
        .blocks = blocks,
        .max_blocks = COUNT(blocks),
    };
    size_t n = heap_caps_get_per_task_info(&params);
    assert_int_equal(n, 3);
    bool seen[3] = {false, false, false};
    for (size_t i = 0; i < n; ++i) {
        assert_ptr_equal(blocks[i].task, task_of(&alpha));
        if (blocks[i].address == d1) {
            seen[0] = true;
            assert_int_equal(blocks[i].size, ud1);
        } else if (blocks[i].address == i1) {
            seen[1] = true;
            assert_int_equal(blocks[i].size, ui1);
        } else if (blocks[i].address == d2) {
            seen[2] = true;
            assert_int_equal(blocks[i].size, ud2);
        }
    }
    assert_true(seen[0] && seen[1] && seen[2]);

    const heap_task_totals_t *ta = NULL, *tm = NULL;
    for (size_t i = 0; i < num_totals; ++i) {
        if (totals[i].task == task_of(&alpha)) {
            ta = &totals[i];
        } else if (totals[i].task == main_task()) {
            tm = &totals[i];
        }
    }
    assert_non_null(ta);
    assert_non_null(tm);
    assert_int_equal(ta->size[0], ui1); /* IRAM: EXEC slot */
    assert_int_equal(ta->count[0], 1);
    assert_int_equal(ta->size[1], ud1 + ud2); /* DRAM: byte slot */
    assert_int_equal(ta->count[1], 2);
    assert_int_equal(ta->count[2] + ta->count[3], 0);
    assert_int_equal(tm->size[1], heap_caps_get_allocated_size(mine) + OWNER_WORD);
    assert_int_equal(tm->count[1], 1);

    /* All tasks: the main thread's block too, but nothing of the tracker's
     * own storage in the largest heap (only the tracker uses it here). */
    intptr_t largest_start, largest_end;
    largest_heap(&largest_start, &largest_end);
    params.tasks = NULL;
    params.num_tasks = 0;
    num_totals = 0;
    heap_task_block_t every[64];
    params.blocks = every;
    params.max_blocks = COUNT(every);
    n = heap_caps_get_per_task_info(&params);
    bool found_mine = false;
    for (size_t i = 0; i < n; ++i) {
        found_mine |= every[i].address == mine;
        assert_true((intptr_t)every[i].address < largest_start ||
                    (intptr_t)every[i].address >= largest_end);
    }
    assert_true(found_mine);

    heap_caps_free(d1);
    heap_caps_free(i1);
    heap_caps_free(d2);
    heap_caps_free(mine);
}

static void per_task_info_resets_totals_and_respects_limits(void **state)
{
    (void)state;
    worker_start(&alpha, "alpha");
    void *d1 = w_malloc(&alpha, 100, MALLOC_CAP_8BIT);
    void *d2 = w_malloc(&alpha, 100, MALLOC_CAP_8BIT);
    void *mine = heap_caps_malloc(30, MALLOC_CAP_8BIT);

    /* One entry already there, with stale figures, and no room for more. */
    heap_task_totals_t totals[1] = {
        {.task = task_of(&alpha), .size = {9, 9, 9, 9}, .count = {9, 9, 9, 9}}};
    size_t num_totals = 1;
    heap_task_block_t blocks[1];
    TaskHandle_t only[1] = {task_of(&alpha)};
    heap_task_info_params_t params = {
        .caps = {0, 0, 0, 0}, /* mask 0 == caps 0: every heap in slot 0 */
        .mask = {0, 0, 0, 0},
        .tasks = only,
        .num_tasks = 1,
        .totals = totals,
        .num_totals = &num_totals,
        .max_totals = 1,
        .blocks = blocks,
        .max_blocks = 1,
    };
    assert_int_equal(heap_caps_get_per_task_info(&params), 1);
    assert_int_equal(num_totals, 1);
    assert_ptr_equal(totals[0].task, task_of(&alpha));
    assert_int_equal(totals[0].count[0], 2);
    assert_int_equal(totals[0].size[0], heap_caps_get_allocated_size(d1) +
                                            heap_caps_get_allocated_size(d2) + 2 * OWNER_WORD);
    assert_int_equal(totals[0].size[1] + totals[0].count[1], 0);
    assert_ptr_equal(blocks[0].task, task_of(&alpha));

    /* No block list: totals only. */
    params.blocks = NULL;
    assert_int_equal(heap_caps_get_per_task_info(&params), 0);
    assert_int_equal(totals[0].count[0], 2);

    heap_caps_free(d1);
    heap_caps_free(d2);
    heap_caps_free(mine);
}

/* ================================================================ printouts */

typedef struct {
    char *text;
    size_t size;
    FILE *stream;
} sink_t;

static FILE *sink_open(sink_t *sink)
{
    memset(sink, 0, sizeof(*sink));
    sink->stream = open_memstream(&sink->text, &sink->size);
    assert_non_null(sink->stream);
    return sink->stream;
}

static const char *sink_close(sink_t *sink)
{
    fclose(sink->stream);
    return sink->text;
}

/* Compare printed text with the expected lines, one by one. */
static void assert_lines(const char *text, const char *const *lines, size_t count)
{
    const char *at = text;
    for (size_t i = 0; i < count; ++i) {
        const char *end = strchr(at, '\n');
        if (!end) {
            fail_msg("line %zu missing, expected \"%s\"", i + 1, lines[i]);
        }
        size_t length = (size_t)(end - at);
        if (length != strlen(lines[i]) || memcmp(at, lines[i], length) != 0) {
            fail_msg("line %zu is \"%.*s\", expected \"%s\"", i + 1, (int)length, at, lines[i]);
        }
        at = end + 1;
    }
    if (*at) {
        fail_msg("unexpected text after line %zu: \"%s\"", count, at);
    }
}

#define MAX_LINES 32
typedef struct {
    char line[MAX_LINES][512];
    const char *lines[MAX_LINES];
    size_t count;
} lines_t;

__attribute__((format(printf, 2, 3))) static void add_line(lines_t *l, const char *format, ...)
{
    assert_true(l->count < MAX_LINES);
    va_list args;
    va_start(args, format);
    vsnprintf(l->line[l->count], sizeof(l->line[0]), format, args);
    va_end(args);
    l->lines[l->count] = l->line[l->count];
    l->count++;
}

static int pct(size_t part, size_t whole)
{
    return (int)(part * 100 / whole);
}

static const char TABLE_TOP[] = "┌────────────────────┬─────────┬──────────────────────┬───────"
                                "────────────┬─────────────────┐";
static const char TABLE_HEAD[] = "│ TASK               │ STATUS  │ CURRENT MEMORY USAGE │ PEAK "
                                 "MEMORY USAGE │ TOTAL HEAP USED │";
static const char TABLE_RULE[] = "├────────────────────┼─────────┼──────────────────────┼──────"
                                 "─────────────┼─────────────────┤";
static const char TABLE_BOTTOM[] = "└────────────────────┴─────────┴──────────────────────┴────"
                                   "───────────────┴─────────────────┘";

/* The scene of the print tests: alpha holds two DRAM blocks (one more was
 * freed) and one IRAM block; beta one DRAM block. */
typedef struct {
    void *a1, *a2, *i1, *b1;
    size_t dram_size, iram_size;
    size_t a_dram_peak, a_peak;
} scene_t;

static void set_scene(scene_t *s)
{
    worker_start(&alpha, "alpha");
    worker_start(&beta, "beta");
    s->a1 = w_malloc(&alpha, 100, MALLOC_CAP_8BIT);
    void *gone = w_malloc(&alpha, 300, MALLOC_CAP_8BIT);
    s->a2 = w_malloc(&alpha, 20, MALLOC_CAP_8BIT);
    size_t gone_size = charged(gone);
    s->a_dram_peak = charged(s->a1) + gone_size + charged(s->a2);
    w_free(&alpha, gone);
    s->i1 = w_malloc(&alpha, 64, MALLOC_CAP_32BIT);
    s->a_peak = s->a_dram_peak; /* the IRAM block came after the free */
    if (charged(s->i1) > gone_size) {
        s->a_peak = charged(s->a1) + charged(s->a2) + charged(s->i1);
    }
    s->b1 = w_malloc(&beta, 40, MALLOC_CAP_8BIT);
    s->dram_size = heap_size_of(s->a1);
    s->iram_size = heap_size_of(s->i1);
}

static void free_scene(const scene_t *s)
{
    heap_caps_free(s->a1);
    heap_caps_free(s->a2);
    heap_caps_free(s->i1);
    heap_caps_free(s->b1);
}

static void add_alpha_tree(lines_t *l, const scene_t *s, bool last, const char *state)
{
    const char *v = last ? " " : "│";
    size_t dram = charged(s->a1) + charged(s->a2);
    size_t iram = charged(s->i1);
    add_line(l, "%s %s: alpha, CURRENT MEMORY USAGE %d, PEAK MEMORY USAGE %d, TOTAL HEAP USED 2:",
             last ? "└" : "├", state, (int)(dram + iram), (int)s->a_peak);
    add_line(l,
             "%s    ├ HEAP: DRAM, CAPS: 0x%08lx, SIZE: %d, USAGE: CURRENT %d (%d%%), PEAK %d "
             "(%d%%), ALLOC COUNT: 2",
             v, (unsigned long)ESP32_DRAM_CAPS, (int)s->dram_size, (int)dram,
             pct(dram, s->dram_size), (int)s->a_dram_peak, pct(s->a_dram_peak, s->dram_size));
    add_line(l, "%s    │    ├ ALLOC %p, SIZE %u", v, s->a1, (unsigned)charged(s->a1));
    add_line(l, "%s    │    ├ ALLOC %p, SIZE %u", v, s->a2, (unsigned)charged(s->a2));
    add_line(l,
             "%s    └ HEAP: IRAM, CAPS: 0x%08lx, SIZE: %d, USAGE: CURRENT %d (%d%%), PEAK %d "
             "(%d%%), ALLOC COUNT: 1",
             v, (unsigned long)ESP32_IRAM_CAPS, (int)s->iram_size, (int)iram,
             pct(iram, s->iram_size), (int)iram, pct(iram, s->iram_size));
    add_line(l, "%s         ├ ALLOC %p, SIZE %u", v, s->i1, (unsigned)iram);
}

static void add_beta_tree(lines_t *l, const scene_t *s, bool last, const char *state)
{
    const char *v = last ? " " : "│";
    size_t b = charged(s->b1);
    add_line(l, "%s %s: beta, CURRENT MEMORY USAGE %d, PEAK MEMORY USAGE %d, TOTAL HEAP USED 1:",
             last ? "└" : "├", state, (int)b, (int)b);
    add_line(l,
             "%s    └ HEAP: DRAM, CAPS: 0x%08lx, SIZE: %d, USAGE: CURRENT %d (%d%%), PEAK %d "
             "(%d%%), ALLOC COUNT: 1",
             v, (unsigned long)ESP32_DRAM_CAPS, (int)s->dram_size, (int)b, pct(b, s->dram_size),
             (int)b, pct(b, s->dram_size));
    add_line(l, "%s         ├ ALLOC %p, SIZE %u", v, s->b1, (unsigned)b);
}

static bool alpha_first(void)
{
    return (uintptr_t)task_of(&alpha) > (uintptr_t)task_of(&beta);
}

static void print_all_to_stdout(void *context)
{
    (void)context;
    heap_caps_print_all_task_stat(NULL);
}

/* The tree of every task, line by line (to a stream and to stdout). */
static void print_all_task_stat_draws_the_tree(void **state)
{
    (void)state;
    scene_t s;
    set_scene(&s);
    lines_t expected = {0};
    if (alpha_first()) {
        add_alpha_tree(&expected, &s, false, "ALIVE");
        add_beta_tree(&expected, &s, true, "ALIVE");
    } else {
        add_beta_tree(&expected, &s, false, "ALIVE");
        add_alpha_tree(&expected, &s, true, "ALIVE");
    }
    sink_t sink;
    heap_caps_print_all_task_stat(sink_open(&sink));
    const char *text = sink_close(&sink);
    assert_lines(text, expected.lines, expected.count);
    free((void *)text);

    char out[8192];
    capture_output(1, print_all_to_stdout, NULL, out, sizeof(out));
    assert_lines(out, expected.lines, expected.count);
    free_scene(&s);
}

static void add_row(lines_t *l, const char *name, const char *status, size_t current, size_t peak,
                    size_t heaps)
{
    add_line(l, "│ %18s │ %7s │ %20d │ %17d │ %15d │", name, status, (int)current, (int)peak,
             (int)heaps);
}

/* The table of every task, line by line. */
static void print_all_task_stat_overview_draws_the_table(void **state)
{
    (void)state;
    /* No task yet: nothing at all. */
    sink_t sink;
    heap_caps_print_all_task_stat_overview(sink_open(&sink));
    const char *text = sink_close(&sink);
    assert_string_equal(text, "");
    free((void *)text);

    scene_t s;
    set_scene(&s);
    lines_t expected = {0};
    add_line(&expected, "%s", TABLE_TOP);
    add_line(&expected, "%s", TABLE_HEAD);
    add_line(&expected, "%s", TABLE_RULE);
    size_t a = charged(s.a1) + charged(s.a2) + charged(s.i1);
    size_t b = charged(s.b1);
    if (alpha_first()) {
        add_row(&expected, "alpha", "ALIVE  ", a, s.a_peak, 2);
        add_row(&expected, "beta", "ALIVE  ", b, b, 1);
    } else {
        add_row(&expected, "beta", "ALIVE  ", b, b, 1);
        add_row(&expected, "alpha", "ALIVE  ", a, s.a_peak, 2);
    }
    add_line(&expected, "%s", TABLE_BOTTOM);
    heap_caps_print_all_task_stat_overview(sink_open(&sink));
    text = sink_close(&sink);
    assert_lines(text, expected.lines, expected.count);
    free((void *)text);
    free_scene(&s);
}

/* One task: tree and one-row table; nothing for an unknown task. */
static void print_single_task_stat_draws_one_task(void **state)
{
    (void)state;
    scene_t s;
    set_scene(&s);
    lines_t expected = {0};
    add_alpha_tree(&expected, &s, true, "ALIVE");
    sink_t sink;
    heap_caps_print_single_task_stat(sink_open(&sink), task_of(&alpha));
    const char *text = sink_close(&sink);
    assert_lines(text, expected.lines, expected.count);
    free((void *)text);

    lines_t table = {0};
    add_line(&table, "%s", TABLE_TOP);
    add_line(&table, "%s", TABLE_HEAD);
    add_line(&table, "%s", TABLE_RULE);
    add_row(&table, "beta", "ALIVE  ", charged(s.b1), charged(s.b1), 1);
    add_line(&table, "%s", TABLE_BOTTOM);
    heap_caps_print_single_task_stat_overview(sink_open(&sink), task_of(&beta));
    text = sink_close(&sink);
    assert_lines(text, table.lines, table.count);
    free((void *)text);

    /* Unknown task, and the main thread (NULL: the caller) that never allocated. */
    heap_caps_print_single_task_stat(sink_open(&sink), UNKNOWN_TASK);
    heap_caps_print_single_task_stat_overview(sink.stream, UNKNOWN_TASK);
    heap_caps_print_single_task_stat(sink.stream, NULL);
    heap_caps_print_single_task_stat_overview(sink.stream, NULL);
    text = sink_close(&sink);
    assert_string_equal(text, "");
    free((void *)text);
    free_scene(&s);
}

/* An ended thread kept in the statistics prints as DELETED. */
static void ended_thread_prints_as_deleted(void **state)
{
    (void)state;
    scene_t s;
    set_scene(&s);
    TaskHandle_t beta_handle = task_of(&beta);
    bool alpha_is_first = alpha_first();
    worker_stop(&beta);
    lines_t tree = {0}, table = {0};
    add_line(&table, "%s", TABLE_TOP);
    add_line(&table, "%s", TABLE_HEAD);
    add_line(&table, "%s", TABLE_RULE);
    size_t a = charged(s.a1) + charged(s.a2) + charged(s.i1);
    size_t b = charged(s.b1);
#ifdef CONFIG_HEAP_TRACK_DELETED_TASKS
    if (alpha_is_first) {
        add_alpha_tree(&tree, &s, false, "ALIVE");
        add_beta_tree(&tree, &s, true, "DELETED");
        add_row(&table, "alpha", "ALIVE  ", a, s.a_peak, 2);
        add_row(&table, "beta", "DELETED", b, b, 1);
    } else {
        add_beta_tree(&tree, &s, false, "DELETED");
        add_alpha_tree(&tree, &s, true, "ALIVE");
        add_row(&table, "beta", "DELETED", b, b, 1);
        add_row(&table, "alpha", "ALIVE  ", a, s.a_peak, 2);
    }
#else
    (void)alpha_is_first;
    (void)b;
    add_alpha_tree(&tree, &s, true, "ALIVE");
    add_row(&table, "alpha", "ALIVE  ", a, s.a_peak, 2);
#endif
    add_line(&table, "%s", TABLE_BOTTOM);
    sink_t sink;
    heap_caps_print_all_task_stat(sink_open(&sink));
    const char *text = sink_close(&sink);
    assert_lines(text, tree.lines, tree.count);
    free((void *)text);
    heap_caps_print_all_task_stat_overview(sink_open(&sink));
    text = sink_close(&sink);
    assert_lines(text, table.lines, table.count);
    free((void *)text);

    heap_caps_print_single_task_stat(sink_open(&sink), beta_handle);
    text = sink_close(&sink);
#ifdef CONFIG_HEAP_TRACK_DELETED_TASKS
    lines_t single = {0};
    add_beta_tree(&single, &s, true, "DELETED");
    assert_lines(text, single.lines, single.count);
#else
    assert_string_equal(text, "");
#endif
    free((void *)text);
    free_scene(&s);
}

/* ================================================================ the owner word */

/* heap_caps_get_allocated_size() is what the caller may use: the block less
 * the owner word (and poisoning); heap_caps_walk() sees the whole block. */
static void allocated_size_and_walk_account_for_the_owner_word(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 16, 100, 1035};
    for (size_t i = 0; i < COUNT(sizes); ++i) {
        unsigned char *p = heap_caps_malloc(sizes[i], MALLOC_CAP_8BIT);
        assert_non_null(p);
        block_t b = block_of(p);
        assert_ptr_equal(b.ptr, p - OWNER_WORD - POISON_HEAD);
        size_t usable = heap_caps_get_allocated_size(p);
        assert_true(usable >= sizes[i]);
#if POISONED
        /* The poisoning layer may report the size asked for (tail canary after it). */
        assert_true(usable <= b.size - OWNER_WORD - POISON_OVERHEAD);
#else
        assert_int_equal(usable, b.size - OWNER_WORD);
#endif
        memset(p, 0xA5, sizes[i]);
        assert_true(heap_caps_check_integrity_all(true));
        assert_ptr_equal(owner_seen_by_walk(p), main_task());
        heap_caps_free(p);
    }
    /* A 16-byte block: 16 bytes, the owner word and poisoning, to the word. */
    void *p = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    size_t word = sizeof(size_t);
    size_t expected = (16 + OWNER_WORD + POISON_OVERHEAD + word - 1) / word * word;
    if (expected < 3 * word) {
        expected = 3 * word;
    }
    assert_int_equal(block_of(p).size, expected);
    heap_caps_free(p);
}

/* ================================================================ out of tracking memory */

static void *untracked;

static void allocate_while_full(void *context)
{
    (void)context;
    untracked = heap_caps_malloc(64, MALLOC_CAP_32BIT);
}

/* With the tracker's memory exhausted the allocation still succeeds; the
 * tracker logs its error line and leaves the block out of the figures. */
static void tracking_out_of_memory_logs_and_stays_consistent(void **state)
{
    (void)state;
    void *first = heap_caps_malloc(32, MALLOC_CAP_32BIT);
    single_t st;
    assert_int_equal(get_single(NULL, &st), ESP_OK);
    size_t usage = st.s.stat.overall_current_usage;
    size_t count = st.s.alloc_count;

    /* The tracker's memory runs out: the allocation itself still succeeds. */
    heapcaps_host_fail_meta_alloc_after(0);
    char out[1024];
    capture_output(1, allocate_while_full, NULL, out, sizeof(out));
    heapcaps_host_fail_meta_alloc_after(-1);
    assert_non_null(untracked);
    static const char message[] =
        " heap_task_tracking: Could not allocate memory to add new task statistics\n";
    assert_true(strncmp(out, "E (", 3) == 0);
    assert_non_null(strstr(out, message));
    assert_int_equal(strlen(strstr(out, message)), strlen(message)); /* the last line */

    assert_int_equal(get_single(NULL, &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, usage);
    assert_int_equal(st.s.alloc_count, count);
    heap_caps_free(untracked); /* no record: nothing to take off */
    assert_int_equal(get_single(NULL, &st), ESP_OK);
    assert_int_equal(st.s.stat.overall_current_usage, usage);

    heap_caps_free(first);
    assert_int_equal(get_single(NULL, &st), ESP_OK);
    assert_true(st.s.stat.overall_current_usage < usage);
    assert_true(heap_caps_check_integrity_all(true));
}

/* ================================================================ threads at once */

#define STRESS_THREADS 4
#define STRESS_OPS     400
#define STRESS_LIVE    24

typedef struct {
    pthread_t thread;
    unsigned seed;
    void *live[STRESS_LIVE];
    pthread_barrier_t *done;
    pthread_barrier_t *checked;
} stress_t;

static void *stress_main(void *arg)
{
    stress_t *s = arg;
    char name[16];
    snprintf(name, sizeof(name), "stress-%u", s->seed);
    pthread_setname_np(pthread_self(), name);
    static const uint32_t caps[] = {MALLOC_CAP_8BIT, MALLOC_CAP_32BIT, MALLOC_CAP_DMA,
                                    MALLOC_CAP_INTERNAL};
    unsigned r = s->seed;
    for (int i = 0; i < STRESS_OPS; ++i) {
        r = r * 1103515245u + 12345u;
        size_t slot = (r >> 8) % STRESS_LIVE;
        size_t size = 8 + (r >> 16) % 200;
        uint32_t c = caps[(r >> 4) % COUNT(caps)];
        if (!s->live[slot]) {
            s->live[slot] = heap_caps_malloc(size, c);
        } else if ((r >> 3) & 1) {
            void *q = heap_caps_realloc(s->live[slot], size, c);
            if (q) {
                s->live[slot] = q;
            }
        } else {
            heap_caps_free(s->live[slot]);
            s->live[slot] = NULL;
        }
    }
    pthread_barrier_wait(s->done);
    pthread_barrier_wait(s->checked);
    return NULL;
}

/* Threads allocating, reallocating and freeing at once: each ends up
 * charged exactly its live blocks. */
static void concurrent_threads_are_each_charged_exactly(void **state)
{
    (void)state;
    pthread_barrier_t done, checked;
    pthread_barrier_init(&done, NULL, STRESS_THREADS + 1);
    pthread_barrier_init(&checked, NULL, STRESS_THREADS + 1);
    static stress_t threads[STRESS_THREADS];
    for (unsigned i = 0; i < STRESS_THREADS; ++i) {
        memset(&threads[i], 0, sizeof(threads[i]));
        threads[i].seed = i + 1;
        threads[i].done = &done;
        threads[i].checked = &checked;
        assert_int_equal(pthread_create(&threads[i].thread, NULL, stress_main, &threads[i]), 0);
    }
    pthread_barrier_wait(&done);
    for (unsigned i = 0; i < STRESS_THREADS; ++i) {
        size_t expected = 0, live = 0;
        for (size_t j = 0; j < STRESS_LIVE; ++j) {
            if (threads[i].live[j]) {
                expected += charged(threads[i].live[j]);
                live++;
            }
        }
        single_t st;
        assert_int_equal(get_single((TaskHandle_t)(uintptr_t)threads[i].thread, &st), ESP_OK);
        assert_int_equal(st.s.stat.overall_current_usage, expected);
        assert_int_equal(st.s.alloc_count, live);
        assert_true(st.s.stat.overall_peak_usage >= expected);
    }
    pthread_barrier_wait(&checked);
    for (unsigned i = 0; i < STRESS_THREADS; ++i) {
        pthread_join(threads[i].thread, NULL);
        for (size_t j = 0; j < STRESS_LIVE; ++j) {
            heap_caps_free(threads[i].live[j]);
        }
    }
    pthread_barrier_destroy(&done);
    pthread_barrier_destroy(&checked);
    assert_true(heap_caps_check_integrity_all(true));
}

/* A reboot forgets every statistic. */
static void shutdown_forgets_the_statistics(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    (void)p; /* left allocated: the chip goes away */
    all_t all;
    get_all(&all);
    assert_int_equal(all.s.task_count, 1);
    heapcaps_emu_shutdown();
    assert_int_equal(boot_esp32(NULL), 0);
    get_all(&all);
    assert_int_equal(all.s.task_count, 0);
    sink_t sink;
    heap_caps_print_all_task_stat(sink_open(&sink));
    const char *text = sink_close(&sink);
    assert_string_equal(text, "");
    free((void *)text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TRACKING_TEST(each_thread_is_charged_its_own_blocks),
        TRACKING_TEST(peaks_keep_the_most_held_at_once),
        TRACKING_TEST(name_is_taken_at_the_first_allocation),
        TRACKING_TEST(free_by_another_thread_is_taken_from_the_owner),
        TRACKING_TEST(realloc_moves_the_charge_to_the_reallocating_thread),
        TRACKING_TEST(exec_alias_allocation_is_recorded_by_its_alias_pointer),
        TRACKING_TEST(ended_thread_is_deleted_or_dropped),
        TRACKING_TEST(reused_handle_does_not_underflow_usage),
        TRACKING_TEST(all_task_counts_grow_when_a_task_allocates),
        TRACKING_TEST(single_task_arrays_follow_a_fresh_thread),
        TRACKING_TEST(null_handle_means_the_calling_thread),
        TRACKING_TEST(stat_arrays_are_not_charged_to_anyone),
        TRACKING_TEST(get_all_task_stat_with_too_small_arrays),
        TRACKING_TEST(get_single_task_stat_with_too_small_arrays),
        TRACKING_TEST(getters_reject_bad_arguments),
        TRACKING_TEST(per_task_info_sorts_heaps_into_slots),
        TRACKING_TEST(per_task_info_resets_totals_and_respects_limits),
        TRACKING_TEST(print_all_task_stat_draws_the_tree),
        TRACKING_TEST(print_all_task_stat_overview_draws_the_table),
        TRACKING_TEST(print_single_task_stat_draws_one_task),
        TRACKING_TEST(ended_thread_prints_as_deleted),
        TRACKING_TEST(allocated_size_and_walk_account_for_the_owner_word),
        TRACKING_TEST(tracking_out_of_memory_logs_and_stays_consistent),
        TRACKING_TEST(concurrent_threads_are_each_charged_exactly),
        TRACKING_TEST(shutdown_forgets_the_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
