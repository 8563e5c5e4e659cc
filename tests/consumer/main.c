/*
 * main.c — the heapcaps consumer: registers a heap, takes a lock, allocates,
 * frees, checks the heap. Exit status 0 when everything behaves, 1 otherwise.
 * Uses only the installed public headers.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include <heapcaps/lock.h>
#include <multi_heap.h>

#ifndef CONSUMER_HOW
#define CONSUMER_HOW "plain"
#endif

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "consumer (%s): FAILED: %s\n", CONSUMER_HOW, what);
        failures++;
    }
}

int main(void)
{
    static _Alignas(16) unsigned char region[16 * 1024];
    heapcaps_lock_t lock;

    multi_heap_handle_t heap = multi_heap_register(region, sizeof region);
    expect(heap != NULL, "multi_heap_register returns a heap");
    if (heap == NULL) {
        return 1;
    }
    heapcaps_lock_init(&lock);
    multi_heap_set_lock(heap, &lock);

    size_t free_before = multi_heap_free_size(heap);
    expect(free_before > 0 && free_before < sizeof region, "a fresh heap has free bytes");

    char *a = multi_heap_malloc(heap, 100);
    char *b = multi_heap_malloc(heap, 1000);
    expect(a != NULL && b != NULL, "multi_heap_malloc succeeds");
    if (a != NULL && b != NULL) {
        memset(a, 0xa5, 100);
        memset(b, 0x5a, 1000);
        expect(multi_heap_get_allocated_size(heap, a) >= 100, "allocated size >= requested");
        expect(multi_heap_free_size(heap) < free_before, "allocating lowers the free bytes");
        expect(multi_heap_check(heap, true), "multi_heap_check after malloc");
    }
    multi_heap_free(heap, a);
    multi_heap_free(heap, b);
    expect(multi_heap_free_size(heap) == free_before, "freeing everything restores the free bytes");
    expect(multi_heap_check(heap, true), "multi_heap_check after free");

    multi_heap_set_lock(heap, NULL);
    heapcaps_lock_destroy(&lock);

    if (failures != 0) {
        return 1;
    }
    printf("consumer (%s): ok\n", CONSUMER_HOW);
    return 0;
}
