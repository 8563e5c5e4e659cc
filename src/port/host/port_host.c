/*
 * port_host.c — the port for a Linux (POSIX) host: pthread locks, stderr
 * output, abort().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _XOPEN_SOURCE 700 /* recursive mutexes */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "heapcaps/lock.h"
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

void heapcaps_port_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}

_Noreturn void heapcaps_port_abort(const char *message)
{
    fprintf(stderr, "%s\n", message);
    fflush(stderr);
    abort();
}
