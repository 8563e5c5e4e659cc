/*
 * heapcaps/port_baremetal.h — the bare-metal port (HEAPCAPS_PORT=baremetal):
 * what the library needs from a board, supplied by the application as hooks.
 *
 * Every hook is optional; without any the library runs single-threaded,
 * prints nothing, and stops on a fatal heap error in a trap. Install the
 * hooks once, before heap_caps_init() or the first multi_heap call:
 *
 *     static void lock(void *l)   { (void)l; __disable_irq(); }   // or an RTOS mutex
 *     static void unlock(void *l) { (void)l; __enable_irq(); }
 *     static const heapcaps_baremetal_hooks_t hooks = {
 *         .lock = lock, .unlock = unlock, .write = uart_write, .abort = board_reset,
 *     };
 *     heapcaps_baremetal_set_hooks(&hooks);
 *
 * The library's own tables (heap_caps routes, task-tracking statistics) come
 * from a static pool of HEAPCAPS_BAREMETAL_META_POOL bytes (a CMake setting)
 * or, if set, from the meta_alloc/meta_free hooks.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_PORT_BAREMETAL_H
#define HEAPCAPS_PORT_BAREMETAL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /** Enter / leave the critical section guarding a heap (`lock` is the
     *  heap's lock object). Must nest: a heap operation may take it again.
     *  NULL: no locking — only for single-threaded programs without heap
     *  use from interrupts. */
    void (*lock)(void *lock);
    void (*unlock)(void *lock);
    /** Write `length` bytes of text (a UART, semihosting, a log buffer).
     *  NULL: reports and logs are dropped. */
    void (*write)(const char *text, size_t length);
    /** Stop after a fatal heap error; `message` says why (already written
     *  through `write`). Must not return. NULL: a trap instruction. */
    void (*abort)(const char *message);
    /** A free-running cycle counter (heap trace time stamps). NULL: 0. */
    unsigned long (*cycle_count)(void);
    /** The running task (an RTOS task handle), or NULL outside tasks; its
     *  name. NULL: no tasks (task tracking charges "Pre-scheduler"). */
    void *(*current_task)(void);
    void (*task_name)(void *task, char *name, size_t size);
    /** Memory for the library's own tables. NULL: the static pool. */
    void *(*meta_alloc)(size_t bytes);
    void (*meta_free)(void *p);
} heapcaps_baremetal_hooks_t;

/** Install the hooks (copied); NULL restores the defaults. */
void heapcaps_baremetal_set_hooks(const heapcaps_baremetal_hooks_t *hooks);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_PORT_BAREMETAL_H */
