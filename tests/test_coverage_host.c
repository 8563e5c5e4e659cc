/*
 * test_coverage_host.c — what only a host shows: an EXEC allocation through
 * the RTC fast memory's instruction alias on an emulated ESP32-S2, a pointer
 * in an alias window that belongs to no block, a region larger than the
 * 2 GiB one allocator manages (64-bit), and the host port's backtrace, task
 * names and end-of-task reports.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* MAP_NORESERVE */

#include "test_support.h"

#include "test_guard.h"

#include <pthread.h>
#include <sys/mman.h>

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "port/port.h"

static int shutdown_chip(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    return 0;
}

static void boot_s2_with_exec_rtc_heap(void)
{
    heapcaps_emu_options_t options = {0};
    options.memprot = HEAPCAPS_EMU_OFF; /* EXEC heaps exist */
    options.rtc_heap = HEAPCAPS_EMU_ON;
    options.quiet = true;
    assert_int_equal(heapcaps_emu_boot("esp32s2", &options), ESP_OK);
}

/* ---- the RTC instruction alias ------------------------------------------- */

static void exec_allocation_in_rtc_memory_comes_through_its_alias(void **state)
{
    (void)state;
    boot_s2_with_exec_rtc_heap();
    const uint32_t caps = MALLOC_CAP_EXEC | MALLOC_CAP_RTCRAM;
    size_t free_before = heap_caps_get_free_size(MALLOC_CAP_RTCRAM);
    unsigned char *code = heap_caps_malloc(64, caps);
    assert_non_null(code);
    /* The pointer is on the instruction bus; the bytes are the RTC data
     * memory's: the same memory, seen at its data address. */
    assert_true(esp_ptr_in_rtc_iram_fast(code));
    assert_true(esp_ptr_executable(code));
    uint32_t offset = heapcaps_emu_chip_address(code) - 0x40070000u;
    unsigned char *data = heapcaps_emu_host_ptr(0x3FF9E000u + offset);
    assert_non_null(data);
    assert_true(esp_ptr_in_rtc_dram_fast(data));
    assert_ptr_equal(esp_ptr_rtc_dram_to_iram(data), code);
    memset(code, 0x3C, 64);
    assert_int_equal(data[0], 0x3C);
    assert_int_equal(data[63], 0x3C);
    assert_int_equal(heap_caps_get_allocated_size(code), 64);
    assert_true(heap_caps_get_free_size(MALLOC_CAP_RTCRAM) < free_before);
    heap_caps_free(code);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_RTCRAM), free_before);
    assert_true(heap_caps_check_integrity_all(true));
}

static void *inside_alias;

static void size_of_alias_pointer(void *context)
{
    (void)context;
    (void)heap_caps_get_allocated_size(inside_alias);
}

static void alias_pointer_to_no_block_stops_a_size_query(void **state)
{
    (void)state;
    boot_s2_with_exec_rtc_heap();
    unsigned char *code = heap_caps_malloc(64, MALLOC_CAP_EXEC | MALLOC_CAP_RTCRAM);
    assert_non_null(code);
    /* Inside the block, on the instruction bus: the word before it is the
     * caller's data, not the data-side pointer of an allocation. */
    memset(code, 0x11, 64);
    inside_alias = code + 32;
    char out[1024];
    guard_end_t end = run_guarded(size_of_alias_pointer, NULL, out, sizeof(out));
    if (!end.aborted) {
        fail_msg("not stopped (status 0x%x):\n%s", (unsigned)end.raw, out);
    }
    assert_non_null(strstr(out, "pointer outside heap areas"));
    heap_caps_free(code);
}

/* ---- a region beyond what one allocator manages ----------------------- */

static void region_beyond_two_gib_is_used_up_to_two_gib(void **state)
{
    (void)state;
#if SIZE_MAX > 0xFFFFFFFFu
    /* Reserved, not committed: only the pages written are backed. */
    const size_t bytes = (size_t)3 << 30;
    void *area = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) {
        skip();
    }
    tlsf_t *t = tlsf_create(area, bytes);
    assert_non_null(t);
    size_t payload = tlsf_initial_free_payload(t);
    assert_true(payload < ((size_t)1 << 31));
    assert_true(payload > ((size_t)1 << 31) - ((size_t)1 << 20));
    /* A 1 GiB block and the rest: only headers are written. */
    void *big = tlsf_malloc(t, (size_t)1 << 30);
    assert_non_null(big);
    assert_true(tlsf_largest_request(t) < ((size_t)1 << 30));
    tlsf_free(t, big);
    assert_int_equal(tlsf_largest_request(t), payload);
    assert_int_equal(munmap(area, bytes), 0);
#endif
}

/* ---- the host port ---------------------------------------------------- */

static __attribute__((noinline)) size_t backtrace_from_here(void **callers, size_t depth)
{
    return heapcaps_port_backtrace(__builtin_return_address(0), callers, depth);
}

static void backtrace_starts_at_the_caller_and_stops_at_depth(void **state)
{
    (void)state;
    void *callers[8] = {NULL};
    assert_int_equal(heapcaps_port_backtrace(&callers, callers, 0), 0);
    /* A return address in the stack: it, then the frames above it. */
    assert_int_equal(backtrace_from_here(callers, 2), 2);
    assert_non_null(callers[0]);
    assert_non_null(callers[1]);
    /* An address that is no frame of this stack: that address only. */
    callers[1] = NULL;
    assert_int_equal(heapcaps_port_backtrace((void *)&shutdown_chip, callers, 8), 1);
    assert_ptr_equal(callers[0], (void *)&shutdown_chip);
    assert_null(callers[1]);
}

static void task_name_without_room_writes_nothing(void **state)
{
    (void)state;
    char name[4] = "abc";
    heapcaps_port_task_name(heapcaps_port_task_current(), name, 0);
    assert_string_equal(name, "abc");
    pthread_setname_np(pthread_self(), "coverage");
    heapcaps_port_task_name(heapcaps_port_task_current(), name, sizeof(name));
    assert_string_equal(name, "cov");
}

static _Atomic int ends_reported;

static void count_end(void *task)
{
    (void)task;
    ++ends_reported;
}

static void *watch_itself(void *context)
{
    (void)context;
    heapcaps_port_task_watch(heapcaps_port_task_current(), count_end);
    return NULL;
}

static void *watch_then_unwatch(void *context)
{
    (void)context;
    heapcaps_port_task_watch(heapcaps_port_task_current(), count_end);
    heapcaps_port_task_watch(heapcaps_port_task_current(), NULL);
    return NULL;
}

static void *do_nothing(void *context)
{
    (void)context;
    return NULL;
}

static void only_a_task_watching_itself_reports_its_end(void **state)
{
    (void)state;
    ends_reported = 0;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, watch_itself, NULL), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(ends_reported, 1);
    /* Watched from another thread: no report when it ends. */
    assert_int_equal(pthread_create(&thread, NULL, do_nothing, NULL), 0);
    heapcaps_port_task_watch((void *)(uintptr_t)thread, count_end);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(ends_reported, 1);
    /* The callback last given is the one called: none, no report. */
    assert_int_equal(pthread_create(&thread, NULL, watch_then_unwatch, NULL), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(ends_reported, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(exec_allocation_in_rtc_memory_comes_through_its_alias,
                                  shutdown_chip),
        cmocka_unit_test_teardown(alias_pointer_to_no_block_stops_a_size_query, shutdown_chip),
        cmocka_unit_test(region_beyond_two_gib_is_used_up_to_two_gib),
        cmocka_unit_test(backtrace_starts_at_the_caller_and_stops_at_depth),
        cmocka_unit_test(task_name_without_room_writes_nothing),
        cmocka_unit_test(only_a_task_watching_itself_reports_its_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
