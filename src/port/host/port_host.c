/*
 * port_host.c — the port for a Linux (POSIX) host: pthread locks, stderr
 * output, abort().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* recursive mutexes, thread names */

#include <execinfo.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heapcaps/host.h"
#include "heapcaps/lock.h"
#include "heapcaps/log.h"
#include "port/port.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(heapcaps_lock_t),
               "heapcaps_lock_t holds a pthread mutex");

void heapcaps_lock_init(heapcaps_lock_t *lock)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init((pthread_mutex_t *)(void *)lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

void heapcaps_lock_destroy(heapcaps_lock_t *lock)
{
    pthread_mutex_destroy((pthread_mutex_t *)(void *)lock);
}

void heapcaps_port_lock(void *lock)
{
    pthread_mutex_lock(lock);
}

void heapcaps_port_unlock(void *lock)
{
    pthread_mutex_unlock(lock);
}

static _Atomic long meta_allocs_left = -1; /* < 0: no failure injected */

void heapcaps_host_fail_meta_alloc_after(long count)
{
    meta_allocs_left = count;
}

void *heapcaps_port_meta_alloc(size_t bytes)
{
    long left = meta_allocs_left;
    if (left == 0) {
        return NULL;
    }
    if (left > 0) {
        meta_allocs_left = left - 1;
    }
    return malloc(bytes);
}

void heapcaps_port_meta_free(void *p)
{
    free(p);
}

void heapcaps_port_print(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
}

void heapcaps_port_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}

static bool log_enabled = true;
static struct timespec log_epoch;

bool heapcaps_log_set_enabled(bool enabled)
{
    bool previous = log_enabled;
    log_enabled = enabled;
    return previous;
}

void heapcaps_log_reset_clock(void)
{
    clock_gettime(CLOCK_MONOTONIC, &log_epoch);
}

void heapcaps_port_log(char level, const char *tag, const char *format, ...)
{
    if (!log_enabled) {
        return;
    }
    if (!log_epoch.tv_sec && !log_epoch.tv_nsec) {
        heapcaps_log_reset_clock();
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms =
        (long)(now.tv_sec - log_epoch.tv_sec) * 1000 + (now.tv_nsec - log_epoch.tv_nsec) / 1000000;
    printf("%c (%ld) %s: ", level, ms, tag);
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    putchar('\n');
}

_Noreturn void heapcaps_port_abort(const char *message)
{
    fprintf(stderr, "%s\n", message);
    fflush(stderr);
    abort();
}

unsigned long heapcaps_port_cycle_count(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (unsigned long)now.tv_sec * 1000000000ul + (unsigned long)now.tv_nsec;
}

size_t heapcaps_port_backtrace(void *from, void **callers, size_t depth)
{
    if (!depth) {
        return 0;
    }
    enum { MAX_FRAMES = 64 };
    void *frames[MAX_FRAMES];
    int count = backtrace(frames, MAX_FRAMES);
    callers[0] = from;
    size_t filled = 1;
    for (int i = 0; i < count; ++i) {
        if (frames[i] == from) {
            for (++i; i < count && filled < depth; ++i) {
                callers[filled++] = frames[i];
            }
            break;
        }
    }
    return filled;
}

void *heapcaps_port_task_current(void)
{
    return (void *)(uintptr_t)pthread_self();
}

void heapcaps_port_task_name(void *task, char *name, size_t size)
{
    if (!size) {
        return;
    }
    char buffer[64] = "";
    if (pthread_getname_np((pthread_t)(uintptr_t)task, buffer, sizeof(buffer)) != 0) {
        buffer[0] = '\0';
    }
    strncpy(name, buffer, size - 1);
    name[size - 1] = '\0';
}

/* A thread-specific value per watched thread; its destructor runs when the
 * thread exits and reports the end of the task. */
static pthread_key_t task_end_key;
static pthread_once_t task_end_once = PTHREAD_ONCE_INIT;
static void (*task_ended_callback)(void *task);

static void task_end_destructor(void *task)
{
    if (task_ended_callback) {
        task_ended_callback(task);
    }
}

static void task_end_key_create(void)
{
    pthread_key_create(&task_end_key, task_end_destructor);
}

void heapcaps_port_task_watch(void *task, void (*ended)(void *task))
{
    pthread_once(&task_end_once, task_end_key_create);
    task_ended_callback = ended;
    if ((void *)(uintptr_t)pthread_self() == task && !pthread_getspecific(task_end_key)) {
        pthread_setspecific(task_end_key, task);
    }
}
