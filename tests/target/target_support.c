/*
 * target_support.c — the bare-metal port's hooks for the test programs on
 * emulated boards: text to the C library's stdout (semihosting), an abort
 * that a test can catch, and tables from the C library's heap with an
 * optional failure countdown. Installed by a constructor, before main.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "target_support.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapcaps/port_baremetal.h"

static char *capture;
static size_t capture_room;
static size_t capture_used;
static jmp_buf *abort_landing;
static long meta_allowed = -1;

static void write_text(const char *text, size_t length)
{
    if (!capture) {
        fwrite(text, 1, length, stdout);
        return;
    }
    size_t fits = capture_room - 1 - capture_used;
    if (length > fits) {
        length = fits;
    }
    memcpy(capture + capture_used, text, length);
    capture_used += length;
    capture[capture_used] = '\0';
}

static void stop(const char *message)
{
    (void)message; /* already written by the port */
    if (abort_landing) {
        jmp_buf *landing = abort_landing;
        abort_landing = NULL;
        longjmp(*landing, 1);
    }
    fflush(stdout);
    _exit(134);
}

static void *meta_alloc(size_t bytes)
{
    if (meta_allowed == 0) {
        return NULL;
    }
    if (meta_allowed > 0) {
        meta_allowed--;
    }
    return malloc(bytes);
}

static void meta_free(void *p)
{
    free(p);
}

__attribute__((constructor)) static void install_hooks(void)
{
    const heapcaps_baremetal_hooks_t hooks = {
        .write = write_text,
        .abort = stop,
        .meta_alloc = meta_alloc,
        .meta_free = meta_free,
    };
    heapcaps_baremetal_set_hooks(&hooks);
}

bool target_run_catching_abort(void (*fn)(void *), void *context, char *out, size_t room)
{
    out[0] = '\0';
    capture = out;
    capture_room = room;
    capture_used = 0;
    jmp_buf landing;
    /* volatile: read after longjmp */
    volatile bool returned = false;
    if (setjmp(landing) == 0) {
        abort_landing = &landing;
        fn(context);
        returned = true;
    }
    abort_landing = NULL;
    capture = NULL;
    return returned;
}

void target_fail_meta_alloc_after(long count)
{
    meta_allowed = count;
}
