/*
 * demo_command.c — `heapcaps demo [--size BYTES]`: registers one heap, makes
 * a few allocations and prints what multi_heap_get_info() reports after each
 * step.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "multi_heap.h"
#include "value_parse.h"

static void print_info(const char *step, multi_heap_handle_t heap)
{
    multi_heap_info_t info;
    multi_heap_get_info(heap, &info);
    printf("%-26s free %8zu  allocated %8zu  largest %8zu  min_free %8zu  blocks %zu/%zu\n", step,
           info.total_free_bytes, info.total_allocated_bytes, info.largest_free_block,
           info.minimum_free_bytes, info.allocated_blocks, info.free_blocks);
}

int demo_command(int argc, char **argv)
{
    size_t size = 65536;
    for (int i = 0; i < argc; ++i) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (!parse_size(argv[++i], &size)) {
                fprintf(stderr, "heapcaps demo: '%s' is not a size (e.g. 4096, 64K, 1M)\n",
                        argv[i]);
                return EXIT_STATUS_USAGE;
            }
        } else {
            fprintf(stderr, "heapcaps demo: unknown option '%s'\n", argv[i]);
            return EXIT_STATUS_USAGE;
        }
    }
    void *region = aligned_alloc(16, (size + 15) & ~(size_t)15);
    if (!region) {
        fprintf(stderr, "heapcaps demo: cannot get %zu bytes from the host\n", size);
        return EXIT_STATUS_FAILED;
    }
    multi_heap_handle_t heap = multi_heap_register(region, size);
    if (!heap) {
        fprintf(stderr, "heapcaps demo: a heap of %zu bytes is too small\n", size);
        free(region);
        return EXIT_STATUS_FAILED;
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
    bool intact = multi_heap_check(heap, true);
    printf("heap check: %s\n", intact ? "intact" : "CORRUPT");
    free(region);
    return intact ? EXIT_STATUS_OK : EXIT_STATUS_FAILED;
}
