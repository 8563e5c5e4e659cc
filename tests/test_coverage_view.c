/*
 * test_coverage_view.c — the sanitizer view's block descriptions for the
 * reports test_sanitizer_view does not make (ASan builds of the view only):
 * an error in the host's own memory (no description), a read just past a
 * freed block after more frees than the view remembers, an overrun in a
 * heap that has no memory type name. Each bug
 * runs in a forked child that ASan stops.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include <sys/wait.h>

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heap_memory_layout.h"
#include "heapcaps/emu.h"
#include "test_host.h"

#define BLOCK 64

static char output[16384];
static void *volatile keep; /* stores keep the compiler from dropping the bugs */

static void boot(void)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    if (heapcaps_emu_boot("esp32", &options) != ESP_OK) {
        _exit(5);
    }
}

static void expect_asan_stop(int status)
{
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 1)) {
        fail_msg("child status 0x%x, expected ASan's exit code 1; output:\n%s", (unsigned)status,
                 output);
    }
    if (!strstr(output, "ERROR: AddressSanitizer")) {
        fail_msg("no ASan report in:\n%s", output);
    }
}

/* ---- an error outside the emulated heaps --------------------------------- */

static void host_overrun(void *context)
{
    (void)context;
    boot();
    unsigned char *host = malloc(8);
    keep = host;
    ((volatile unsigned char *)host)[8] = 1;
}

static void error_in_host_memory_gets_no_block_description(void **state)
{
    (void)state;
    expect_asan_stop(run_forked(host_overrun, NULL, output, sizeof(output)));
    if (!strstr(output, "heap-buffer-overflow")) {
        fail_msg("not a heap-buffer-overflow:\n%s", output);
    }
    assert_null(strstr(output, "heapcaps: "));
}

/* ---- next to a freed block -------------------------------------------- */

#define RECYCLED 5000 /* more blocks freed than the view remembers (4096) */

static void read_past_freed(void *context)
{
    (void)context;
    boot();
    /* The oldest freed blocks are forgotten and their records reused. */
    for (int i = 0; i < RECYCLED; ++i) {
        heap_caps_free(heap_caps_malloc(16, MALLOC_CAP_8BIT));
    }
    unsigned char *p = heap_caps_malloc(BLOCK, MALLOC_CAP_8BIT);
    fprintf(stderr, "block=%p\n", (void *)p);
    heap_caps_free(p);
    keep = (void *)(uintptr_t)((volatile unsigned char *)p)[BLOCK + 2];
}

static void read_past_a_freed_block_names_it(void **state)
{
    (void)state;
    expect_asan_stop(run_forked(read_past_freed, NULL, output, sizeof(output)));
    const char *at = strstr(output, "block=");
    assert_non_null(at);
    uintptr_t block = (uintptr_t)strtoull(at + strlen("block="), NULL, 16);
    char expected[200];
    snprintf(expected, sizeof(expected),
             "heapcaps: access next to a freed block in the emulated chip's heap: %p",
             (void *)(block + BLOCK + 2));
    if (!strstr(output, expected)) {
        fail_msg("no \"%s\" in:\n%s", expected, output);
    }
    assert_non_null(strstr(output, "is 2 bytes after a 64-byte freed block"));
    assert_non_null(strstr(output, "heapcaps: freed at:"));
}

/* ---- a heap without a name ---------------------------------------------- */

static size_t spare[1024];

static void overrun_in_nameless_heap(void *context)
{
    (void)context;
    boot();
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {1u << 30, 0, 0};
    if (heap_caps_add_region_with_caps(caps, (intptr_t)spare,
                                       (intptr_t)spare + (intptr_t)sizeof(spare)) != ESP_OK) {
        _exit(4);
    }
    unsigned char *p = heap_caps_malloc(BLOCK, 1u << 30);
    keep = p;
    ((volatile unsigned char *)p)[BLOCK] = 1;
}

static void overrun_in_a_heap_without_a_name(void **state)
{
    (void)state;
    expect_asan_stop(run_forked(overrun_in_nameless_heap, NULL, output, sizeof(output)));
    if (!strstr(output, "heapcaps: heap-buffer-overflow in the emulated chip's heap: ")) {
        fail_msg("no block description in:\n%s", output);
    }
    assert_non_null(strstr(output, "64-byte block"));
    assert_non_null(strstr(output, ") in heap ?"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_in_host_memory_gets_no_block_description),
        cmocka_unit_test(read_past_a_freed_block_names_it),
        cmocka_unit_test(overrun_in_a_heap_without_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
