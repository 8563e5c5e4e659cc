/*
 * test_free_entries.h — every public call that frees a heap_caps block, as a
 * table (name, call), for the suites that check each free reaches them
 * (tracing, hooks). Include after cmocka.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TEST_FREE_ENTRIES_H
#define HEAPCAPS_TEST_FREE_ENTRIES_H

#include "esp_heap_caps.h"
#include "heapcaps/esp_libc.h"

typedef struct {
    const char *name;
    void (*release)(void *p);
} free_entry_t;

static void fe_libc_free(void *p)
{
    heapcaps_libc_free(p);
}
static void fe_free(void *p)
{
    heap_caps_free(p);
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void fe_aligned_free(void *p)
{
    heap_caps_aligned_free(p);
}
#pragma GCC diagnostic pop
static void fe_libc_realloc_zero(void *p)
{
    assert_null(heapcaps_libc_realloc(p, 0));
}
static void fe_realloc_zero(void *p)
{
    assert_null(heap_caps_realloc(p, 0, MALLOC_CAP_8BIT));
}
static void fe_realloc_prefer_zero(void *p)
{
    assert_null(heap_caps_realloc_prefer(p, 0, 2, MALLOC_CAP_8BIT, MALLOC_CAP_32BIT));
}
static void fe_realloc_default_zero(void *p)
{
    assert_null(heap_caps_realloc_default(p, 0));
}
static void fe_realloc_base_zero(void *p)
{
    assert_null(heap_caps_realloc_base(p, 0, MALLOC_CAP_8BIT));
}

static const free_entry_t free_entries[] = {
    {"free", fe_libc_free},
    {"heap_caps_free", fe_free},
    {"heap_caps_aligned_free", fe_aligned_free},
    {"realloc(p, 0)", fe_libc_realloc_zero},
    {"heap_caps_realloc(p, 0)", fe_realloc_zero},
    {"heap_caps_realloc_prefer(p, 0)", fe_realloc_prefer_zero},
    {"heap_caps_realloc_default(p, 0)", fe_realloc_default_zero},
    {"heap_caps_realloc_base(p, 0)", fe_realloc_base_zero},
};

#endif /* HEAPCAPS_TEST_FREE_ENTRIES_H */
