/*
 * test_port_baremetal.c — the bare-metal port on the host: built from the
 * allocator core, multi_heap and port_baremetal.c alone (not the host port),
 * so its hooks, its printf and its pool for the library's own tables are
 * checked where a debugger is at hand.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "heapcaps/log.h"
#include "heapcaps/port_baremetal.h"
#include "multi_heap.h"
#include "port/port.h"

static char written[1024];
static size_t written_length;
static int locks, unlocks;
static jmp_buf aborted;
static const char *abort_message;

static void capture(const char *text, size_t length)
{
    assert_true(written_length + length < sizeof(written));
    memcpy(written + written_length, text, length);
    written_length += length;
    written[written_length] = '\0';
}

static void count_lock(void *lock)
{
    (void)lock;
    ++locks;
}

static void count_unlock(void *lock)
{
    (void)lock;
    ++unlocks;
}

static void stop(const char *message)
{
    abort_message = message;
    longjmp(aborted, 1);
}

static unsigned long cycles(void)
{
    return 1000;
}

static void *the_task(void)
{
    return (void *)&written;
}

static void name_task(void *task, char *name, size_t size)
{
    (void)task;
    snprintf(name, size, "%s", "a-very-long-task-name");
}

static const heapcaps_baremetal_hooks_t hooks = {
    .lock = count_lock,
    .unlock = count_unlock,
    .write = capture,
    .abort = stop,
    .cycle_count = cycles,
    .current_task = the_task,
    .task_name = name_task,
};

static int install(void **state)
{
    (void)state;
    written_length = 0;
    written[0] = '\0';
    locks = unlocks = 0;
    heapcaps_baremetal_set_hooks(&hooks);
    return 0;
}

static void printf_formats_what_the_library_prints(void **state)
{
    (void)state;
    heapcaps_port_print("%d|%6d|%-4d|%u|%08x|%08X|%x|%s|%c|%%|%zu|%lu|%ld", -42, 17, 5, 4000000000u,
                        0xabcu, 0xABCu, 0u, "text", 'z', (size_t)123, 4294967295ul, -7l);
    assert_string_equal(written, "-42|    17|5   |4000000000|00000abc|00000ABC|0|text|z|%|123|"
                                 "4294967295|-7");
}

/* 64-bit values take 32-bit divisions only: every digit place is checked. */
static void long_long_values_print_whole(void **state)
{
    (void)state;
    heapcaps_port_print("%llu|%lld|%llx|%llu|%llu", 18446744073709551615ull,
                        -9223372036854775807ll - 1, 0xFEDCBA9876543210ull, 4294967296ull,
                        10000000000000000000ull);
    assert_string_equal(written, "18446744073709551615|-9223372036854775808|fedcba9876543210|"
                                 "4294967296|10000000000000000000");
}

static void pointers_print_as_a_device_prints_them(void **state)
{
    (void)state;
    heapcaps_port_printf("%p", (void *)(uintptr_t)0x3ffb1230u);
    char expected[32];
    snprintf(expected, sizeof(expected), "0x%0*lx", (int)(2 * sizeof(void *)), 0x3ffb1230ul);
    assert_string_equal(written, expected);
}

static void long_output_is_written_in_pieces_but_whole(void **state)
{
    (void)state;
    char long_text[600];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    heapcaps_port_print("<%s>", long_text);
    assert_int_equal(written_length, sizeof(long_text) + 1);
    assert_int_equal(written[0], '<');
    assert_int_equal(written[written_length - 1], '>');
}

static void log_lines_carry_level_time_and_tag(void **state)
{
    (void)state;
    heapcaps_log_reset_clock();
    heapcaps_port_log('E', "tag", "value %d", 3);
    assert_string_equal(written, "E (0) tag: value 3\n");
    written_length = 0;
    bool was = heapcaps_log_set_enabled(false);
    heapcaps_port_log('I', "tag", "dropped");
    heapcaps_log_set_enabled(was);
    assert_int_equal(written_length, 0);
}

static void locked_heap_calls_the_hooks_in_pairs(void **state)
{
    (void)state;
    static size_t region[512];
    multi_heap_handle_t heap = multi_heap_register(region, sizeof(region));
    assert_non_null(heap);
    multi_heap_set_lock(heap, region); /* any object: the hooks get it */
    void *p = multi_heap_malloc(heap, 100);
    assert_non_null(p);
    multi_heap_free(heap, p);
    assert_true(locks >= 2);
    assert_int_equal(locks, unlocks);
}

static void meta_pool_serves_and_takes_back(void **state)
{
    (void)state;
    void *a = heapcaps_port_meta_alloc(1000);
    void *b = heapcaps_port_meta_alloc(1000);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    memset(a, 1, 1000);
    memset(b, 2, 1000);
    heapcaps_port_meta_free(a);
    heapcaps_port_meta_free(b);
    heapcaps_port_meta_free(NULL);
    /* The pool is bounded: a request larger than it fails. */
    assert_null(heapcaps_port_meta_alloc(1 << 20));
}

static void tasks_and_clock_come_from_the_hooks(void **state)
{
    (void)state;
    assert_ptr_equal(heapcaps_port_task_current(), &written);
    char name[8];
    heapcaps_port_task_name(&written, name, sizeof(name));
    assert_string_equal(name, "a-very-"); /* cut to the room given */
    assert_int_equal(heapcaps_port_cycle_count(), 1000);
    void *callers[4] = {NULL, NULL, NULL, NULL};
    assert_int_equal(heapcaps_port_backtrace((void *)&install, callers, 4), 1);
    assert_ptr_equal(callers[0], (void *)&install);
    assert_int_equal(heapcaps_port_backtrace((void *)&install, callers, 0), 0);
}

static void abort_writes_the_message_then_calls_the_hook(void **state)
{
    (void)state;
    abort_message = NULL;
    if (setjmp(aborted) == 0) {
        heapcaps_port_abort("heap corruption: test");
    }
    assert_string_equal(abort_message, "heap corruption: test");
    assert_string_equal(written, "heap corruption: test\n");
}

static void without_hooks_nothing_is_written_and_no_task_exists(void **state)
{
    (void)state;
    heapcaps_baremetal_set_hooks(NULL);
    heapcaps_port_print("dropped %d", 1);
    assert_int_equal(written_length, 0);
    assert_null(heapcaps_port_task_current());
    assert_int_equal(heapcaps_port_cycle_count(), 0);
    char name[4] = "abc";
    heapcaps_port_task_name(NULL, name, sizeof(name));
    assert_string_equal(name, "");
    heapcaps_port_lock(&written); /* no hooks: no locking, no crash */
    heapcaps_port_unlock(&written);
}

#define PORT_TEST(fn) cmocka_unit_test_setup(fn, install)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PORT_TEST(printf_formats_what_the_library_prints),
        PORT_TEST(long_long_values_print_whole),
        PORT_TEST(pointers_print_as_a_device_prints_them),
        PORT_TEST(long_output_is_written_in_pieces_but_whole),
        PORT_TEST(log_lines_carry_level_time_and_tag),
        PORT_TEST(locked_heap_calls_the_hooks_in_pairs),
        PORT_TEST(meta_pool_serves_and_takes_back),
        PORT_TEST(tasks_and_clock_come_from_the_hooks),
        PORT_TEST(abort_writes_the_message_then_calls_the_hook),
        PORT_TEST(without_hooks_nothing_is_written_and_no_task_exists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
