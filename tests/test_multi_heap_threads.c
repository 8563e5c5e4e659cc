/*
 * test_multi_heap_threads.c — a heap with a lock set is shared safely by
 * several threads (host only: pthreads).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "test_support.h"

#include <pthread.h>

#include "heapcaps/lock.h"

enum { THREADS = 4, ROUNDS = 20000 };

typedef struct {
    multi_heap_handle_t heap;
    uint64_t seed;
    size_t corrupted;
} worker_t;

static void *work(void *arg)
{
    worker_t *w = arg;
    test_rng_t rng = {w->seed};
    unsigned char *live[16] = {0};
    size_t sizes[16] = {0};
    for (int round = 0; round < ROUNDS; ++round) {
        size_t i = test_rng_next(&rng) % 16;
        if (live[i]) {
            for (size_t b = 0; b < sizes[i]; ++b) {
                w->corrupted += live[i][b] != (unsigned char)w->seed;
            }
            multi_heap_free(w->heap, live[i]);
            live[i] = NULL;
        } else {
            sizes[i] = test_rng_range(&rng, 1, 512);
            live[i] = multi_heap_malloc(w->heap, sizes[i]);
            if (live[i]) {
                memset(live[i], (unsigned char)w->seed, sizes[i]);
            }
        }
    }
    for (int i = 0; i < 16; ++i) {
        multi_heap_free(w->heap, live[i]);
    }
    return NULL;
}

static void locked_heap_is_shared_safely_by_threads(void **state)
{
    (void)state;
    const size_t size = 256 * 1024;
    void *region = test_region(size);
    multi_heap_handle_t heap = multi_heap_register(region, size);
    heapcaps_lock_t lock;
    heapcaps_lock_init(&lock);
    multi_heap_set_lock(heap, &lock);
    size_t initial = multi_heap_free_size(heap);
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int i = 0; i < THREADS; ++i) {
        workers[i] = (worker_t){heap, 0x100u + (uint64_t)i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; ++i) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].corrupted, 0);
    }
    assert_int_equal(multi_heap_free_size(heap), initial);
    assert_heap_intact(heap);
    assert_accounting_exact(heap, size);
    heapcaps_lock_destroy(&lock);
    free(region);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(locked_heap_is_shared_safely_by_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
