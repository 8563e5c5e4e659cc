/*
 * port_baremetal.c — the port for a board without an operating system: the
 * application's hooks (heapcaps/port_baremetal.h), a static pool for the
 * library's own tables, and a small printf of its own, so that nothing but
 * memcpy/memset is needed from a C library.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "heapcaps/lock.h"
#include "heapcaps/log.h"
#include "heapcaps/port_baremetal.h"
#include "multi_heap.h"
#include "port/port.h"

#ifndef HEAPCAPS_BAREMETAL_META_POOL
#define HEAPCAPS_BAREMETAL_META_POOL 8192
#endif

static heapcaps_baremetal_hooks_t hooks;

/* strlen, without the C library (GCC would turn the loop back into a call). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static size_t
text_length(const char *text)
{
    size_t n = 0;
    while (text[n]) {
        ++n;
    }
    return n;
}

void heapcaps_baremetal_set_hooks(const heapcaps_baremetal_hooks_t *new_hooks)
{
    if (new_hooks) {
        hooks = *new_hooks;
    } else {
        memset(&hooks, 0, sizeof(hooks));
    }
}

/* ---- locks ---------------------------------------------------------------- */

/* A heap's lock object is the lock's own storage: the hooks receive it to
 * tell heaps apart if they want to (an RTOS port may keep a mutex there). */
void heapcaps_lock_init(heapcaps_lock_t *lock)
{
    memset(lock, 0, sizeof(*lock));
}

void heapcaps_lock_destroy(heapcaps_lock_t *lock)
{
    (void)lock;
}

void heapcaps_port_lock(void *lock)
{
    if (hooks.lock) {
        hooks.lock(lock);
    }
}

void heapcaps_port_unlock(void *lock)
{
    if (hooks.unlock) {
        hooks.unlock(lock);
    }
}

/* ---- the library's own memory ---------------------------------------------- */

/* The pool is a heap of its own (multi_heap), set up at first use. */
static size_t meta_pool[HEAPCAPS_BAREMETAL_META_POOL / sizeof(size_t)];
static multi_heap_handle_t meta_heap;

void *heapcaps_port_meta_alloc(size_t bytes)
{
    if (hooks.meta_alloc) {
        return hooks.meta_alloc(bytes);
    }
    if (!meta_heap) {
        meta_heap = multi_heap_register(meta_pool, sizeof(meta_pool));
    }
    return multi_heap_malloc(meta_heap, bytes);
}

void heapcaps_port_meta_free(void *p)
{
    if (hooks.meta_free) {
        hooks.meta_free(p);
    } else if (p) {
        multi_heap_free(meta_heap, p);
    }
}

/* ---- output: a printf for the formats the library uses ---------------------- */

typedef struct {
    char buffer[128];
    size_t used;
} out_t;

static void out_flush(out_t *out)
{
    if (out->used && hooks.write) {
        hooks.write(out->buffer, out->used);
    }
    out->used = 0;
}

static void out_char(out_t *out, char c)
{
    if (out->used == sizeof(out->buffer)) {
        out_flush(out);
    }
    out->buffer[out->used++] = c;
}

static void out_padded(out_t *out, const char *text, size_t length, unsigned width, bool left,
                       char pad)
{
    for (size_t i = length; !left && i < width; ++i) {
        out_char(out, pad);
    }
    for (size_t i = 0; i < length; ++i) {
        out_char(out, text[i]);
    }
    for (size_t i = length; left && i < width; ++i) {
        out_char(out, ' ');
    }
}

/* The last digit of *value in base 10 or 16, and *value without it, with
 * no division: a division helper may be missing from the core's runtime
 * (Debian's lx106 libgcc has none; the ESP8266 keeps them in ROM), and the
 * 64-bit one is 700 bytes on a Cortex-M. Printing is rare: a bit-by-bit long
 * division by ten is fast enough. */
static unsigned take_digit(unsigned long long *value, unsigned base)
{
    if (base == 16) {
        unsigned digit = (unsigned)(*value & 15u);
        *value >>= 4;
        return digit;
    }
    unsigned long long quotient = 0;
    unsigned rest = 0;
    for (int bit = (*value >> 32) ? 63 : 31; bit >= 0; --bit) {
        rest = (rest << 1) | (unsigned)((*value >> bit) & 1u);
        if (rest >= 10u) {
            rest -= 10u;
            quotient |= 1ull << bit;
        }
    }
    *value = quotient;
    return rest;
}

static void out_number(out_t *out, unsigned long long value, bool negative, unsigned base,
                       bool upper, unsigned width, bool left, char pad)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char text[24];
    size_t n = sizeof(text);
    do {
        text[--n] = digits[take_digit(&value, base)];
    } while (value);
    if (negative) {
        if (pad == '0' && width) {
            out_char(out, '-'); /* the sign goes before zero padding */
            --width;
        } else {
            text[--n] = '-';
        }
    }
    out_padded(out, text + n, sizeof(text) - n, width, left, pad);
}

static void out_format(out_t *out, const char *format, va_list args)
{
    for (const char *f = format; *f; ++f) {
        if (*f != '%') {
            out_char(out, *f);
            continue;
        }
        ++f;
        bool left = false;
        char pad = ' ';
        for (; *f == '-' || *f == '0'; ++f) {
            left = left || *f == '-';
            pad = *f == '0' ? '0' : pad;
        }
        unsigned width = 0;
        for (; *f >= '0' && *f <= '9'; ++f) {
            width = width * 10 + (unsigned)(*f - '0');
        }
        int longs = 0; /* 1: long, 2: long long; z and j as their size */
        bool size_t_arg = false;
        for (; *f == 'l' || *f == 'z' || *f == 'j' || *f == 'h'; ++f) {
            longs += *f == 'l' ? 1 : *f == 'j' ? 2 : 0;
            size_t_arg = size_t_arg || *f == 'z';
        }
        switch (*f) {
        case 'd':
        case 'i': {
            long long v = longs >= 2   ? va_arg(args, long long)
                          : longs == 1 ? va_arg(args, long)
                          : size_t_arg ? (long long)va_arg(args, size_t)
                                       : va_arg(args, int);
            out_number(out, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0, 10,
                       false, width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = longs >= 2   ? va_arg(args, unsigned long long)
                                   : longs == 1 ? va_arg(args, unsigned long)
                                   : size_t_arg ? va_arg(args, size_t)
                                                : va_arg(args, unsigned);
            out_number(out, v, false, *f == 'u' ? 10 : 16, *f == 'X', width, left, pad);
            break;
        }
        case 'p': /* as a device prints it: 0x and 8 digits on a 32-bit target */
            out_char(out, '0');
            out_char(out, 'x');
            out_number(out, (uintptr_t)va_arg(args, void *), false, 16, false, 2 * sizeof(void *),
                       false, '0');
            break;
        case 'c':
            out_char(out, (char)va_arg(args, int));
            break;
        case 's': {
            const char *s = va_arg(args, const char *);
            s = s ? s : "(null)";
            out_padded(out, s, text_length(s), width, left, ' ');
            break;
        }
        case '%':
            out_char(out, '%');
            break;
        default: /* unknown: print it as written */
            out_char(out, '%');
            if (*f) {
                out_char(out, *f);
            } else {
                --f;
            }
            break;
        }
    }
}

static void write_formatted(const char *format, va_list args)
{
    out_t out = {.used = 0};
    out_format(&out, format, args);
    out_flush(&out);
}

void heapcaps_port_print(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_formatted(format, args);
    va_end(args);
}

void heapcaps_port_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_formatted(format, args);
    va_end(args);
}

static bool log_enabled = true;
static unsigned long log_epoch;

bool heapcaps_log_set_enabled(bool enabled)
{
    bool previous = log_enabled;
    log_enabled = enabled;
    return previous;
}

void heapcaps_log_reset_clock(void)
{
    log_epoch = hooks.cycle_count ? hooks.cycle_count() : 0;
}

/* The time in a log line is the cycle counter's distance from the last
 * reset of the clock (a board knows its own clock rate; the library not). */
void heapcaps_port_log(char level, const char *tag, const char *format, ...)
{
    if (!log_enabled) {
        return;
    }
    unsigned long now = hooks.cycle_count ? hooks.cycle_count() - log_epoch : 0;
    heapcaps_port_print("%c (%lu) %s: ", level, now, tag);
    va_list args;
    va_start(args, format);
    write_formatted(format, args);
    va_end(args);
    heapcaps_port_print("\n");
}

/* ---- the debugging layers ------------------------------------------------- */

unsigned long heapcaps_port_cycle_count(void)
{
    return hooks.cycle_count ? hooks.cycle_count() : 0;
}

/* No portable stack walk on bare metal: the caller's address only. */
size_t heapcaps_port_backtrace(void *from, void **callers, size_t depth)
{
    if (!depth) {
        return 0;
    }
    callers[0] = from;
    return 1;
}

void *heapcaps_port_task_current(void)
{
    return hooks.current_task ? hooks.current_task() : NULL;
}

void heapcaps_port_task_name(void *task, char *name, size_t size)
{
    if (!size) {
        return;
    }
    name[0] = '\0';
    if (hooks.task_name) {
        hooks.task_name(task, name, size);
        name[size - 1] = '\0';
    }
}

/* An RTOS port reports a task's end by freeing its control block through
 * heap_caps_free() (task tracking notices that); nothing to watch here. */
void heapcaps_port_task_watch(void *task, void (*ended)(void *task))
{
    (void)task, (void)ended;
}

_Noreturn void heapcaps_port_abort(const char *message)
{
    if (hooks.write) {
        hooks.write(message, text_length(message));
        hooks.write("\n", 1);
    }
    if (hooks.abort) {
        hooks.abort(message);
    }
    for (;;) {
        __builtin_trap();
    }
}
