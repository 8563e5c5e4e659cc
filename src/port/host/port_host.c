/*
 * port_host.c — the port for a Linux (POSIX) host: pthread locks, stderr
 * output, abort().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _XOPEN_SOURCE 700 /* recursive mutexes */

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

void *heapcaps_port_meta_alloc(size_t bytes)
{
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
