/*
 * test_coverage_port_baremetal.c — the bare-metal port's less common paths,
 * on the host: the application's own memory hooks for the library's tables,
 * heap locks, printf flags and conversions the library does not use itself
 * (left adjustment, a negative number zero-padded, h and j modifiers, a
 * NULL string, an unknown conversion, a lone % at the end), a log without a
 * cycle counter, the no-op hooks, and an abort without hooks (the trap).
 * Built like test_port_baremetal: the core, multi_heap and port_baremetal.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapcaps/lock.h"
#include "heapcaps/log.h"
#include "heapcaps/port_baremetal.h"
#include "port/port.h"

static char written[1024];
static size_t written_length;
static size_t meta_allocs, meta_frees;

static void capture(const char *text, size_t length)
{
    assert_true(written_length + length < sizeof(written));
    memcpy(written + written_length, text, length);
    written_length += length;
    written[written_length] = '\0';
}

static void *own_meta_alloc(size_t bytes)
{
    ++meta_allocs;
    return malloc(bytes);
}

static void own_meta_free(void *p)
{
    ++meta_frees;
    free(p);
}

static const heapcaps_baremetal_hooks_t write_only = {.write = capture};

static int install(void **state)
{
    (void)state;
    written_length = 0;
    written[0] = '\0';
    heapcaps_baremetal_set_hooks(&write_only);
    return 0;
}

static void library_tables_come_from_the_application_hooks(void **state)
{
    (void)state;
    heapcaps_baremetal_hooks_t hooks = write_only;
    hooks.meta_alloc = own_meta_alloc;
    hooks.meta_free = own_meta_free;
    heapcaps_baremetal_set_hooks(&hooks);
    meta_allocs = meta_frees = 0;
    /* Larger than the port's own pool: only the hook can serve it. */
    void *big = heapcaps_port_meta_alloc(1 << 20);
    assert_non_null(big);
    memset(big, 0, 1 << 20);
    assert_int_equal(meta_allocs, 1);
    heapcaps_port_meta_free(big);
    assert_int_equal(meta_frees, 1);
}

static void heap_locks_are_their_own_storage(void **state)
{
    (void)state;
    heapcaps_lock_t lock;
    memset(&lock, 0xA5, sizeof(lock));
    heapcaps_lock_init(&lock);
    heapcaps_lock_t zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&lock, &zero, sizeof(lock)); /* a fresh lock object */
    heapcaps_port_lock(&lock);                       /* no lock hook: nothing to do */
    heapcaps_port_unlock(&lock);
    heapcaps_lock_destroy(&lock);
    assert_memory_equal(&lock, &zero, sizeof(lock));
}

/* Formats the compiler would reject in a literal call (a NULL string, an
 * unknown conversion): through a pointer, which carries no format check. */
static void (*volatile print_unchecked)(const char *format, ...) = heapcaps_port_print;
static const char *volatile no_text = NULL;

static void printf_flags_and_conversions_beyond_the_librarys_own(void **state)
{
    (void)state;
    print_unchecked("[%05d|%-6d|%-5s|%5s|%hd|%jd|%ju|%zd|%s]", -42, -7, "ab", "cd", 12,
                    (intmax_t)-5, (uintmax_t)6, (size_t)9, no_text);
    assert_string_equal(written, "[-0042|-7    |ab   |   cd|12|-5|6|9|(null)]");
    written_length = 0;
    print_unchecked("%q and 100%");
    assert_string_equal(written, "%q and 100%");
    /* Zero padding without a width; both flags; two length modifiers. */
    written_length = 0;
    print_unchecked("[%0d|%-05d|%zhu]", -3, 4, (size_t)7);
    assert_string_equal(written, "[-3|4    |7]");
    /* Nothing to print: nothing written. */
    written_length = 0;
    written[0] = '\0';
    print_unchecked("");
    assert_int_equal(written_length, 0);
}

static unsigned long no_cycles(void)
{
    return 0;
}

static void log_without_a_cycle_counter_says_zero(void **state)
{
    (void)state;
    heapcaps_log_reset_clock();
    heapcaps_port_log('W', "tag", "no clock");
    assert_string_equal(written, "W (0) tag: no clock\n");
    /* With a counter that stands still: zero too. */
    heapcaps_baremetal_hooks_t hooks = write_only;
    hooks.cycle_count = no_cycles;
    heapcaps_baremetal_set_hooks(&hooks);
    heapcaps_log_reset_clock();
    written_length = 0;
    heapcaps_port_log('I', "tag", "still");
    assert_string_equal(written, "I (0) tag: still\n");
}

static void name_without_room_and_watch_do_nothing(void **state)
{
    (void)state;
    char name[4] = "abc";
    heapcaps_port_task_name(NULL, name, 0);
    assert_string_equal(name, "abc");
    heapcaps_port_task_watch(NULL, NULL); /* tasks end by freeing their control block */
    assert_int_equal(written_length, 0);
}

#define TRAPPED 77

static void on_trap(int signal_number)
{
    (void)signal_number;
    _exit(TRAPPED);
}

static void abort_without_hooks_traps(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* The trap instruction raises SIGILL (x86, Arm) or SIGTRAP. */
        signal(SIGILL, on_trap);
        signal(SIGTRAP, on_trap);
        heapcaps_baremetal_set_hooks(NULL);
        heapcaps_port_abort("nothing to tell it to");
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), TRAPPED);
}

#define PORT_TEST(fn) cmocka_unit_test_setup(fn, install)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PORT_TEST(library_tables_come_from_the_application_hooks),
        PORT_TEST(heap_locks_are_their_own_storage),
        PORT_TEST(printf_flags_and_conversions_beyond_the_librarys_own),
        PORT_TEST(log_without_a_cycle_counter_says_zero),
        PORT_TEST(name_without_room_and_watch_do_nothing),
        PORT_TEST(abort_without_hooks_traps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
