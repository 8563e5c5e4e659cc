/*
 * test_guard.h — the services the portable suites need for paths that end
 * the program or print: run a piece of a test so that an abort (or an exit)
 * ends only that piece, with what the library printed captured; capture what
 * a call prints; make the library's own table allocations fail.
 *
 * On the host a piece runs in a forked child (test_host.h); on an emulated
 * board (bare-metal port under QEMU, HEAPCAPS_TEST_TARGET) the port's abort
 * hook jumps back to the test and its write hook fills the buffer
 * (tests/target/target_support.c). There the piece's effects on memory stay:
 * a test must not rely on the parent's copy being untouched.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TEST_GUARD_H
#define HEAPCAPS_TEST_GUARD_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

/* How a guarded piece ended. */
typedef struct {
    bool aborted; /* the library aborted (a heap error, an allocation failure policy) */
    bool exited;  /* guarded_exit(code) or a normal return (code 0) */
    int code;     /* the exit code when exited */
    int raw;      /* the host's wait status, for messages (0 on a target) */
} guard_end_t;

#if defined(HEAPCAPS_TEST_TARGET)

#include "target_support.h"

static jmp_buf *guard_exit_landing;
static int guard_exit_code;

typedef struct {
    void (*fn)(void *);
    void *context;
} guard_call_t;

static inline void guard_piece(void *context)
{
    guard_call_t *call = context;
    jmp_buf landing;
    jmp_buf *outer = guard_exit_landing;
    if (setjmp(landing) == 0) {
        guard_exit_landing = &landing;
        call->fn(call->context);
        guard_exit_code = 0;
    }
    guard_exit_landing = outer;
}

static inline guard_end_t run_guarded(void (*fn)(void *), void *context, char *out, size_t room)
{
    guard_call_t call = {fn, context};
    guard_exit_code = 0;
    bool returned = target_run_catching_abort(guard_piece, &call, out, room);
    guard_exit_landing = NULL;
    return (guard_end_t){.aborted = !returned, .exited = returned, .code = guard_exit_code};
}

/* End the guarded piece with an exit code (only inside run_guarded). */
static inline _Noreturn void guarded_exit(int code)
{
    guard_exit_code = code;
    longjmp(*guard_exit_landing, 1);
}

/* fd is the host's stream; on a target all the library's output is one. */
static inline void capture_output(int fd, void (*fn)(void *), void *context, char *out, size_t room)
{
    (void)fd;
    (void)target_run_catching_abort(fn, context, out, room);
}

static inline void test_fail_meta_alloc_after(long count)
{
    target_fail_meta_alloc_after(count);
}

#else /* host */

#include <stdlib.h>
#include <unistd.h>

#include "heapcaps/host.h"
#include "test_host.h"

static inline guard_end_t run_guarded(void (*fn)(void *), void *context, char *out, size_t room)
{
    int status = run_forked(fn, context, out, room);
    guard_end_t end = {.raw = status};
    end.aborted = child_aborted(status);
    end.exited = status != -1 && WIFEXITED(status);
    end.code = end.exited ? WEXITSTATUS(status) : -1;
    return end;
}

static inline _Noreturn void guarded_exit(int code)
{
    _exit(code);
}

static inline void test_fail_meta_alloc_after(long count)
{
    heapcaps_host_fail_meta_alloc_after(count);
}

#endif

#endif /* HEAPCAPS_TEST_GUARD_H */
