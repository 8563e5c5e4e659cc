/*
 * port.h — everything the allocator layers need from the platform, in one
 * small interface: locking, aborting with a message, and error output.
 * A port (src/port/host, src/port/baremetal) implements these functions.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_PORT_H
#define HEAPCAPS_PORT_H

#include <stdarg.h>
#include <stddef.h>

/* Take and release a lock set with multi_heap_set_lock(); it must be
 * recursive. Never called with NULL. */
void heapcaps_port_lock(void *lock);
void heapcaps_port_unlock(void *lock);

/* Memory for the library's own tables (never taken from a chip heap):
 * the host's allocator on a host, a static pool on bare metal. */
void *heapcaps_port_meta_alloc(size_t bytes);
void heapcaps_port_meta_free(void *p);

/* Print (printf format) on the platform's standard output: reports the user
 * asked for, such as heap_caps_print_heap_info(). */
void heapcaps_port_print(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Print a message (printf format) on the platform's error output. */
void heapcaps_port_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Log a line as ESP-IDF's early log does: "<level> (<ms>) <tag>: <message>"
 * with level 'E', 'W', 'I', 'D' or 'V'; the port adds the newline. */
void heapcaps_port_log(char level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- for the debugging layers (only called when they are built) ---- */

/* Time stamp of a heap trace record: the CPU cycle counter on a chip (its
 * low 32 bits), a nanosecond clock on a host. */
unsigned long heapcaps_port_cycle_count(void);

/* The call chain at the caller of a public heap function: callers[0] = from
 * (that function's return address), then the return addresses of the frames
 * above it, up to `depth` entries. Returns how many were filled (at least 1
 * when depth > 0); a port that cannot walk the stack fills callers[0] only. */
size_t heapcaps_port_backtrace(void *from, void **callers, size_t depth);

/* The running task (an RTOS task handle; a thread on a host), or NULL
 * before the scheduler runs or when the platform has no tasks. */
void *heapcaps_port_task_current(void);

/* Copy the name of `task` (NUL-terminated, at most size - 1 characters). */
void heapcaps_port_task_name(void *task, char *name, size_t size);

/* Call ended(task) once when `task` ends, from its own context if the
 * platform allows. A port without task deletion does nothing. */
void heapcaps_port_task_watch(void *task, void (*ended)(void *task));

/* Stop the program after a fatal heap error; `message` says why. */
_Noreturn void heapcaps_port_abort(const char *message);

#endif /* HEAPCAPS_PORT_H */
