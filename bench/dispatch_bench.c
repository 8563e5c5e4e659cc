/*
 * dispatch_bench.c — what heap_caps adds on top of multi_heap: the same
 * uniform workload (bench W1's sizes and steps) run through
 * heap_caps_malloc/heap_caps_free on an emulated ESP32, and through
 * multi_heap_malloc/multi_heap_free on one heap with a lock set, as every
 * heap_caps heap has. Run it under callgrind (bench/dispatch.sh): the
 * difference of the exclusive costs of heap_caps_malloc and
 * multi_heap_malloc (both end in the same locked multi_heap path) is the
 * dispatch cost per call.
 *
 *   dispatch_bench caps [--extra-heaps N]   heap_caps on the emulated ESP32
 *   dispatch_bench multi                    multi_heap on one locked heap
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heapcaps/emu.h"
#include "heapcaps/lock.h"
#include "multi_heap.h"

#define STEPS     1000000
#define SLOTS     1024
#define EXTRA_CAP (1u << 30)

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void rng_seed(uint64_t seed)
{
    rng_state = seed ? seed : 88172645463325252ull;
    for (int i = 0; i < 8; ++i) {
        rng_next();
    }
}

static void *slots[SLOTS];

static void run_caps(void)
{
    rng_seed(0x1111);
    for (int step = 0; step < STEPS; ++step) {
        size_t slot = rng_next() % SLOTS;
        if (slots[slot]) {
            heap_caps_free(slots[slot]);
            slots[slot] = NULL;
        } else {
            slots[slot] = heap_caps_malloc(8 + rng_next() % 249, MALLOC_CAP_8BIT);
        }
    }
}

static void run_multi(multi_heap_handle_t heap)
{
    rng_seed(0x1111);
    for (int step = 0; step < STEPS; ++step) {
        size_t slot = rng_next() % SLOTS;
        if (slots[slot]) {
            multi_heap_free(heap, slots[slot]);
            slots[slot] = NULL;
        } else {
            slots[slot] = multi_heap_malloc(heap, 8 + rng_next() % 249);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "caps") && strcmp(argv[1], "multi"))) {
        fprintf(stderr, "usage: dispatch_bench caps [--extra-heaps N] | multi\n");
        return 2;
    }
    if (!strcmp(argv[1], "multi")) {
        static _Alignas(16) char region[256 * 1024];
        static heapcaps_lock_t lock;
        multi_heap_handle_t heap = multi_heap_register(region, sizeof(region));
        heapcaps_lock_init(&lock);
        multi_heap_set_lock(heap, &lock);
        run_multi(heap);
        printf("multi_heap: %d steps on one locked 256 KiB heap\n", STEPS);
        return 0;
    }
    int extra = argc == 4 && !strcmp(argv[2], "--extra-heaps") ? atoi(argv[3]) : 0;
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    if (heapcaps_emu_boot("esp32", &options) != ESP_OK) {
        fprintf(stderr, "dispatch_bench: cannot boot the emulated ESP32\n");
        return 1;
    }
    /* Extra heaps with a capability the requests do not ask for, in host
     * memory: they must not slow down selection or free. */
    static _Alignas(16) char extra_memory[64 * 4096];
    const uint32_t caps[3] = {EXTRA_CAP, 0, 0};
    for (int i = 0; i < extra && i < 64; ++i) {
        intptr_t start = (intptr_t)extra_memory + i * 4096;
        if (heap_caps_add_region_with_caps(caps, start, start + 4096) != ESP_OK) {
            fprintf(stderr, "dispatch_bench: cannot add extra heap %d\n", i);
            return 1;
        }
    }
    run_caps();
    printf("heap_caps: %d steps on the emulated ESP32 with %d extra heaps\n", STEPS, extra);
    heapcaps_emu_shutdown();
    return 0;
}
