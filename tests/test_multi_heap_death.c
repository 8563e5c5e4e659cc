/*
 * test_multi_heap_death.c — what multi_heap does with pointers that are not
 * its allocated blocks: it prints "CORRUPT HEAP: ..." and aborts. Each case
 * runs in a forked child (host only) whose exit and stderr are checked.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_host.h"

typedef void (*doomed_fn)(multi_heap_handle_t heap, char *region);

/* In the child: a fresh 4 KiB heap for the doomed function. */
static void on_fresh_heap(void *context)
{
    doomed_fn fn = *(doomed_fn *)context;
    char *region = aligned_alloc(16, 4096);
    multi_heap_handle_t heap = multi_heap_register(region, 4096);
    fn(heap, region);
}

/* Run fn in a child; return its stderr in out, assert it died of SIGABRT. */
static void expect_abort(doomed_fn fn, char *out, size_t out_size)
{
    int status = run_forked(on_fresh_heap, &fn, out, out_size);
    if (!child_aborted(status)) {
        fail_msg("expected an abort; child exited with status 0x%x, stderr: %s", status, out);
    }
}

static void free_twice(multi_heap_handle_t heap, char *region)
{
    (void)region;
    void *p = multi_heap_malloc(heap, 32);
    void *guard = multi_heap_malloc(heap, 32);
    (void)guard;
    multi_heap_free(heap, p);
    multi_heap_free(heap, p);
}

static void free_foreign(multi_heap_handle_t heap, char *region)
{
    (void)region;
    static size_t not_in_heap[8];
    multi_heap_free(heap, &not_in_heap[4]);
}

static void free_misaligned(multi_heap_handle_t heap, char *region)
{
    (void)region;
    char *p = multi_heap_malloc(heap, 64);
    multi_heap_free(heap, p + 1);
}

static void realloc_foreign(multi_heap_handle_t heap, char *region)
{
    (void)multi_heap_realloc(heap, region + 4096 + 64, 10);
}

static void size_of_freed(multi_heap_handle_t heap, char *region)
{
    (void)region;
    void *p = multi_heap_malloc(heap, 32);
    void *guard = multi_heap_malloc(heap, 32);
    (void)guard;
    multi_heap_free(heap, p);
    (void)multi_heap_get_allocated_size(heap, p);
}

static void double_free_aborts_with_a_corrupt_heap_message(void **state)
{
    (void)state;
    char out[512];
    expect_abort(free_twice, out, sizeof(out));
    assert_non_null(strstr(out, "CORRUPT HEAP: multi_heap.c free() detected at 0x"));
}

static void free_of_a_pointer_outside_the_heap_aborts(void **state)
{
    (void)state;
    char out[512];
    expect_abort(free_foreign, out, sizeof(out));
    assert_non_null(strstr(out, "CORRUPT HEAP: multi_heap.c free() detected at"));
}

static void free_of_a_misaligned_interior_pointer_aborts(void **state)
{
    (void)state;
    char out[512];
    expect_abort(free_misaligned, out, sizeof(out));
    assert_non_null(strstr(out, "CORRUPT HEAP: multi_heap.c free() detected at"));
}

static void realloc_of_a_pointer_outside_the_heap_aborts(void **state)
{
    (void)state;
    char out[512];
    expect_abort(realloc_foreign, out, sizeof(out));
    assert_non_null(strstr(out, "CORRUPT HEAP: multi_heap.c realloc() detected at"));
}

static void allocated_size_of_a_freed_block_aborts(void **state)
{
    (void)state;
    char out[512];
    expect_abort(size_of_freed, out, sizeof(out));
    assert_non_null(strstr(out, "CORRUPT HEAP: multi_heap.c get_allocated_size() detected at"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(double_free_aborts_with_a_corrupt_heap_message),
        cmocka_unit_test(free_of_a_pointer_outside_the_heap_aborts),
        cmocka_unit_test(free_of_a_misaligned_interior_pointer_aborts),
        cmocka_unit_test(realloc_of_a_pointer_outside_the_heap_aborts),
        cmocka_unit_test(allocated_size_of_a_freed_block_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
