/*
 * esp_libc.c — the malloc family with ESP-IDF's libc semantics
 * on top of the heap_caps default-policy entry points.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "heapcaps/esp_libc.h"

void *heapcaps_libc_malloc(size_t size)
{
    return heap_caps_malloc_default(size);
}

void *heapcaps_libc_calloc(size_t n, size_t size)
{
    if (n != 0 && size > SIZE_MAX / n) {
        return NULL;
    }
    void *ptr = heap_caps_malloc_default(n * size);
    if (ptr) {
        memset(ptr, 0, n * size);
    }
    return ptr;
}

void *heapcaps_libc_realloc(void *ptr, size_t size)
{
    return heap_caps_realloc_default(ptr, size);
}

void heapcaps_libc_free(void *ptr)
{
    heap_caps_free(ptr);
}

void *heapcaps_libc_memalign(size_t alignment, size_t size)
{
    return heap_caps_aligned_alloc_default(alignment, size);
}

void *heapcaps_libc_aligned_alloc(size_t alignment, size_t size)
{
    return heap_caps_aligned_alloc_default(alignment, size);
}

int heapcaps_libc_posix_memalign(void **out, size_t alignment, size_t size)
{
    if (size == 0) {
        *out = NULL;
        return 0;
    }
    void *ptr = heap_caps_aligned_alloc_default(alignment, size);
    if (!ptr) {
        return ENOMEM;
    }
    *out = ptr;
    return 0;
}

void *heapcaps_libc_valloc(size_t size)
{
    return heap_caps_malloc_default(size);
}

void *heapcaps_libc_pvalloc(size_t size)
{
    return heap_caps_malloc_default(size);
}

size_t heapcaps_libc_malloc_usable_size(void *ptr)
{
    (void)ptr;
    return 0;
}
