/*
 * heapcaps/esp_libc.h — the malloc family as ESP-IDF's libc implements it on
 * a chip, under names of their own so that a host program keeps
 * its own malloc: malloc follows the chip's default policy
 * (heap_caps_malloc_default: internal RAM, or PSRAM above the always-internal
 * threshold once enabled), free takes any heap_caps pointer.
 *
 * Firmware sources get the plain names mapped to these with
 * heapcaps/firmware_malloc.h (see docs/emulator.md). Memory from one family
 * must go back to the same family: heapcaps_libc_free() of a host malloc()
 * pointer, or free() of an emulated one, is a fault.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_ESP_LIBC_H
#define HEAPCAPS_ESP_LIBC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** malloc(): heap_caps_malloc_default(size); NULL for size 0. */
void *heapcaps_libc_malloc(size_t size);

/** calloc(): NULL when n * size overflows or is 0; else zeroed default-policy memory. */
void *heapcaps_libc_calloc(size_t n, size_t size);

/** realloc(): heap_caps_realloc_default() (may move between internal RAM and PSRAM). */
void *heapcaps_libc_realloc(void *ptr, size_t size);

/** free(): heap_caps_free(); NULL is a no-op. */
void heapcaps_libc_free(void *ptr);

/** memalign(): heap_caps_aligned_alloc_default(); NULL for alignment 0 or not a power of 2. */
void *heapcaps_libc_memalign(size_t alignment, size_t size);

/** aligned_alloc(): the same as heapcaps_libc_memalign(). */
void *heapcaps_libc_aligned_alloc(size_t alignment, size_t size);

/**
 * posix_memalign(): size 0 → *out = NULL and 0; success → *out set and 0;
 * failure → ENOMEM with *out untouched (errno not set).
 */
int heapcaps_libc_posix_memalign(void **out, size_t alignment, size_t size);

/** valloc(): the same as heapcaps_libc_malloc() (no page alignment, as ESP-IDF). */
void *heapcaps_libc_valloc(size_t size);

/** pvalloc(): the same as heapcaps_libc_malloc() (no page alignment, as ESP-IDF). */
void *heapcaps_libc_pvalloc(size_t size);

/** malloc_usable_size(): always 0 (ESP-IDF's stub; use heap_caps_get_allocated_size()). */
size_t heapcaps_libc_malloc_usable_size(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_ESP_LIBC_H */
