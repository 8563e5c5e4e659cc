/*
 * heapcaps.c — the heapcaps command-line program.
 *
 * `heapcaps demo [--size BYTES]` registers one heap, makes a few allocations
 * and prints what multi_heap_get_info() reports after each step.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multi_heap.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: heapcaps <command> [options]\n"
            "\n"
            "commands:\n"
            "  demo [--size BYTES]   register one heap (default 65536 bytes), allocate,\n"
            "                        free, and print the heap figures after each step\n"
            "  --help                show this text\n"
            "  --version             print the version\n"
            "\n"
            "Sizes accept a K or M suffix (1K = 1024).\n");
}

/* Parse "123", "64K", "4M" into bytes; false on anything else. */
static int parse_size(const char *text, size_t *bytes)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-') {
        return 0;
    }
    unsigned long long scale = 1;
    if (*end == 'K' || *end == 'k') {
        scale = 1024;
        ++end;
    } else if (*end == 'M' || *end == 'm') {
        scale = 1024 * 1024;
        ++end;
    }
    if (*end || value > (unsigned long long)SIZE_MAX / scale) {
        return 0;
    }
    *bytes = (size_t)(value * scale);
    return 1;
}

static void print_info(const char *step, multi_heap_handle_t heap)
{
    multi_heap_info_t info;
    multi_heap_get_info(heap, &info);
    printf("%-26s free %8zu  allocated %8zu  largest %8zu  min_free %8zu  blocks %zu/%zu\n",
           step, info.total_free_bytes, info.total_allocated_bytes, info.largest_free_block,
           info.minimum_free_bytes, info.allocated_blocks, info.free_blocks);
}

static int run_demo(int argc, char **argv)
{
    size_t size = 65536;
    for (int i = 0; i < argc; ++i) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (!parse_size(argv[++i], &size)) {
                fprintf(stderr, "heapcaps demo: '%s' is not a size (e.g. 4096, 64K, 1M)\n",
                        argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "heapcaps demo: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    void *region = aligned_alloc(16, (size + 15) & ~(size_t)15);
    if (!region) {
        fprintf(stderr, "heapcaps demo: cannot get %zu bytes from the host\n", size);
        return 1;
    }
    multi_heap_handle_t heap = multi_heap_register(region, size);
    if (!heap) {
        fprintf(stderr, "heapcaps demo: a heap of %zu bytes is too small\n", size);
        free(region);
        return 1;
    }
    printf("heap of %zu bytes at %p\n", size, region);
    print_info("registered", heap);
    void *small = multi_heap_malloc(heap, 100);
    print_info("malloc(100)", heap);
    void *large = multi_heap_malloc(heap, size / 4);
    print_info("malloc(size/4)", heap);
    multi_heap_free(heap, small);
    print_info("free(first)", heap);
    large = multi_heap_realloc(heap, large, size / 2);
    print_info("realloc(second, size/2)", heap);
    multi_heap_free(heap, large);
    print_info("free(second)", heap);
    int ok = multi_heap_check(heap, true);
    printf("heap check: %s\n", ok ? "intact" : "CORRUPT");
    free(region);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("heapcaps %s\n", HEAPCAPS_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "demo")) {
        return run_demo(argc - 2, argv + 2);
    }
    fprintf(stderr, "heapcaps: unknown command '%s' (see heapcaps --help)\n", argv[1]);
    return 2;
}
