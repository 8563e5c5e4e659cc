/*
 * test_heap_hooks.c — esp_heap_trace_alloc_hook() and esp_heap_trace_free_hook()
 * on an emulated ESP32: which calls reach them, with
 * which pointer, size and caps, and in which order for realloc.
 *
 * The test defines both hooks; its strong definitions replace the weak
 * references of the library.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "heapcaps/esp_libc.h"
#include "test_free_entries.h"

#define COUNT(array)     (sizeof(array) / sizeof((array)[0]))
#define CUSTOM_CAP       (1u << 30) /* a capability no heap has */
#define BIG_SIZE         ((size_t)0x08000000)
#define PSRAM_SIZE       ((size_t)1024 * 1024)
#define DEFAULT_INTERNAL (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL)

/* ------------------------------------------------------------ the hooks */

typedef enum { EV_ALLOC, EV_FREE } event_kind_t;

typedef struct {
    event_kind_t kind;
    void *ptr;
    size_t size;
    uint32_t caps;
} event_t;

/* The hooks only store: they must not allocate, lock or print. */
static event_t events[16];
static size_t event_count;
static size_t events_lost;

static void add_event(event_kind_t kind, void *ptr, size_t size, uint32_t caps)
{
    if (event_count < COUNT(events)) {
        events[event_count++] = (event_t){kind, ptr, size, caps};
    } else {
        events_lost++;
    }
}

void esp_heap_trace_alloc_hook(void *ptr, size_t size, uint32_t caps)
{
    add_event(EV_ALLOC, ptr, size, caps);
}

void esp_heap_trace_free_hook(void *ptr)
{
    add_event(EV_FREE, ptr, 0, 0);
}

static void forget_events(void)
{
    event_count = 0;
    events_lost = 0;
}

static void assert_alloc_event(size_t index, const void *ptr, size_t size, uint32_t caps)
{
    assert_true(index < event_count);
    assert_int_equal(events[index].kind, EV_ALLOC);
    assert_ptr_equal(events[index].ptr, ptr);
    assert_int_equal(events[index].size, size);
    assert_int_equal(events[index].caps, caps);
}

static void assert_free_event(size_t index, const void *ptr)
{
    assert_true(index < event_count);
    assert_int_equal(events[index].kind, EV_FREE);
    assert_ptr_equal(events[index].ptr, ptr);
}

/* ------------------------------------------------------------ fixtures */

static void boot(size_t psram_size)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = psram_size;
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
    forget_events(); /* the boot's own allocations */
}

static int boot_plain(void **state)
{
    (void)state;
    boot(0);
    return 0;
}

static int boot_with_psram(void **state)
{
    (void)state;
    boot(PSRAM_SIZE);
    return 0;
}

static int shut_down(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    assert_int_equal(events_lost, 0);
    return 0;
}

/* ============================================================ allocations */

typedef struct {
    const char *name;
    void *(*alloc)(void);
    size_t size;   /* what the hook must see */
    uint32_t caps; /* idem */
} alloc_entry_t;

static void *ea_libc_malloc(void)
{
    return heapcaps_libc_malloc(40);
}
static void *ea_libc_calloc(void)
{
    return heapcaps_libc_calloc(3, 28);
}
static void *ea_libc_realloc(void)
{
    return heapcaps_libc_realloc(NULL, 44);
}
static void *ea_libc_memalign(void)
{
    return heapcaps_libc_memalign(64, 48);
}
static void *ea_libc_posix_memalign(void)
{
    void *p = NULL;
    return heapcaps_libc_posix_memalign(&p, 16, 52) == 0 ? p : NULL;
}
static void *ea_malloc(void)
{
    return heap_caps_malloc(68, MALLOC_CAP_8BIT);
}
static void *ea_malloc_32bit(void)
{
    return heap_caps_malloc(5, MALLOC_CAP_32BIT); /* rounded to a word */
}
static void *ea_malloc_exec(void)
{
    return heap_caps_malloc(5, MALLOC_CAP_EXEC); /* EXEC implies 32BIT */
}
static void *ea_malloc_dma(void)
{
    return heap_caps_malloc(10, MALLOC_CAP_DMA); /* hardware alignment: whole words */
}
static void *ea_calloc(void)
{
    return heap_caps_calloc(5, 14, MALLOC_CAP_8BIT);
}
static void *ea_realloc(void)
{
    return heap_caps_realloc(NULL, 72, MALLOC_CAP_8BIT);
}
static void *ea_aligned_alloc(void)
{
    return heap_caps_aligned_alloc(128, 76, MALLOC_CAP_8BIT);
}
static void *ea_aligned_calloc(void)
{
    return heap_caps_aligned_calloc(64, 4, 20, MALLOC_CAP_8BIT);
}
static void *ea_malloc_prefer(void)
{
    return heap_caps_malloc_prefer(84, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
}
static void *ea_calloc_prefer(void)
{
    return heap_caps_calloc_prefer(2, 44, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
}
static void *ea_realloc_prefer(void)
{
    return heap_caps_realloc_prefer(NULL, 92, 2, CUSTOM_CAP, MALLOC_CAP_8BIT);
}
static void *ea_malloc_default(void)
{
    return heap_caps_malloc_default(96);
}
static void *ea_realloc_default(void)
{
    return heap_caps_realloc_default(NULL, 100);
}
static void *ea_aligned_alloc_default(void)
{
    return heap_caps_aligned_alloc_default(256, 104);
}
static void *ea_malloc_base(void)
{
    return heap_caps_malloc_base(108, MALLOC_CAP_8BIT);
}
static void *ea_calloc_base(void)
{
    return heap_caps_calloc_base(7, 16, MALLOC_CAP_8BIT);
}
static void *ea_realloc_base(void)
{
    return heap_caps_realloc_base(NULL, 116, MALLOC_CAP_8BIT);
}
static void *ea_aligned_alloc_base(void)
{
    return heap_caps_aligned_alloc_base(16, 120, MALLOC_CAP_8BIT);
}

/* Without PSRAM the malloc policy asks for DEFAULT | INTERNAL. */
static const alloc_entry_t alloc_entries[] = {
    {"malloc", ea_libc_malloc, 40, DEFAULT_INTERNAL},
    {"calloc", ea_libc_calloc, 84, DEFAULT_INTERNAL},
    {"realloc(NULL)", ea_libc_realloc, 44, DEFAULT_INTERNAL},
    {"memalign", ea_libc_memalign, 48, DEFAULT_INTERNAL},
    {"posix_memalign", ea_libc_posix_memalign, 52, DEFAULT_INTERNAL},
    {"heap_caps_malloc", ea_malloc, 68, MALLOC_CAP_8BIT},
    {"heap_caps_malloc 32BIT", ea_malloc_32bit, 8, MALLOC_CAP_32BIT},
    {"heap_caps_malloc EXEC", ea_malloc_exec, 8, MALLOC_CAP_EXEC | MALLOC_CAP_32BIT},
    {"heap_caps_malloc DMA", ea_malloc_dma, 12, MALLOC_CAP_DMA},
    {"heap_caps_calloc", ea_calloc, 70, MALLOC_CAP_8BIT},
    {"heap_caps_realloc(NULL)", ea_realloc, 72, MALLOC_CAP_8BIT},
    {"heap_caps_aligned_alloc", ea_aligned_alloc, 76, MALLOC_CAP_8BIT},
    {"heap_caps_aligned_calloc", ea_aligned_calloc, 80, MALLOC_CAP_8BIT},
    {"heap_caps_malloc_prefer", ea_malloc_prefer, 84, MALLOC_CAP_8BIT},
    {"heap_caps_calloc_prefer", ea_calloc_prefer, 88, MALLOC_CAP_8BIT},
    {"heap_caps_realloc_prefer(NULL)", ea_realloc_prefer, 92, MALLOC_CAP_8BIT},
    {"heap_caps_malloc_default", ea_malloc_default, 96, DEFAULT_INTERNAL},
    {"heap_caps_realloc_default(NULL)", ea_realloc_default, 100, DEFAULT_INTERNAL},
    {"heap_caps_aligned_alloc_default", ea_aligned_alloc_default, 104, DEFAULT_INTERNAL},
    {"heap_caps_malloc_base", ea_malloc_base, 108, MALLOC_CAP_8BIT},
    {"heap_caps_calloc_base", ea_calloc_base, 112, MALLOC_CAP_8BIT},
    {"heap_caps_realloc_base(NULL)", ea_realloc_base, 116, MALLOC_CAP_8BIT},
    {"heap_caps_aligned_alloc_base", ea_aligned_alloc_base, 120, MALLOC_CAP_8BIT},
};

static void alloc_hook_sees_every_allocation_once(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(alloc_entries); ++i) {
        const alloc_entry_t *e = &alloc_entries[i];
        forget_events();
        void *p = e->alloc();
        if (!p) {
            fail_msg("%s failed", e->name);
        }
        if (event_count != 1 || events[0].kind != EV_ALLOC || events[0].ptr != p ||
            events[0].size != e->size || events[0].caps != e->caps) {
            fail_msg("%s: %u events; first: kind %d ptr %p (want %p) size %u (want %u) "
                     "caps 0x%x (want 0x%x)",
                     e->name, (unsigned)event_count, (int)events[0].kind, events[0].ptr, p,
                     (unsigned)events[0].size, (unsigned)e->size, (unsigned)events[0].caps,
                     (unsigned)e->caps);
        }
        heap_caps_free(p);
        assert_int_equal(event_count, 2);
        assert_free_event(1, p);
    }
}

/* The hardware adjustments are visible: PSRAM cache-aligned requests grow
 * to whole cache lines (32 bytes on ESP32) and lose CACHE_ALIGNED. */
static void alloc_hook_sees_the_cache_line_rounding(void **state)
{
    (void)state;
    void *p = heap_caps_malloc(33, MALLOC_CAP_SPIRAM | MALLOC_CAP_CACHE_ALIGNED);
    assert_non_null(p);
    assert_true(esp_ptr_external_ram(p));
    assert_int_equal(event_count, 1);
    assert_alloc_event(0, p, 64, MALLOC_CAP_SPIRAM);
    heap_caps_free(p);
}

static void failed_allocations_call_no_hook(void **state)
{
    (void)state;
    assert_null(heap_caps_malloc(BIG_SIZE, MALLOC_CAP_8BIT));
    assert_null(heap_caps_malloc(16, CUSTOM_CAP));
    assert_null(heap_caps_malloc(0, MALLOC_CAP_8BIT));
    assert_null(heap_caps_calloc(SIZE_MAX / 2, 4, MALLOC_CAP_8BIT));
    assert_null(heap_caps_aligned_alloc(3, 16, MALLOC_CAP_8BIT));
    assert_null(heapcaps_libc_malloc(0));
    void *p = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    forget_events();
    assert_null(heap_caps_realloc(p, BIG_SIZE, MALLOC_CAP_8BIT));
    assert_null(heap_caps_realloc(p, 32, CUSTOM_CAP));
    assert_int_equal(event_count, 0);
    heap_caps_free(p);
}

/* ============================================================ frees */

static void free_hook_sees_every_free_with_the_pointer_passed(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(free_entries); ++i) {
        void *p = heap_caps_malloc(48, MALLOC_CAP_8BIT);
        assert_non_null(p);
        forget_events();
        free_entries[i].release(p);
        if (event_count != 1 || events[0].kind != EV_FREE || events[0].ptr != p) {
            fail_msg("%s: %u events, first kind %d ptr %p (want %p)", free_entries[i].name,
                     (unsigned)event_count, (int)events[0].kind, events[0].ptr, p);
        }
    }
    forget_events();
    heap_caps_free(NULL);
    heapcaps_libc_free(NULL);
    assert_int_equal(event_count, 0);
}

/* An EXEC allocation is freed through its IRAM alias: that is what the hook gets. */
static void free_hook_gets_the_iram_alias_of_exec_memory(void **state)
{
    (void)state;
    void *code = heap_caps_malloc(64, MALLOC_CAP_EXEC);
    assert_non_null(code);
    assert_true(esp_ptr_executable(code));
    assert_alloc_event(0, code, 64, MALLOC_CAP_EXEC | MALLOC_CAP_32BIT);
    heap_caps_free(code);
    assert_int_equal(event_count, 2);
    assert_free_event(1, code);
}

/* ============================================================ realloc */

static void realloc_within_the_heap_calls_only_the_alloc_hook(void **state)
{
    (void)state;
    char *p = heap_caps_malloc(256, MALLOC_CAP_8BIT);
    void *guard = heap_caps_malloc(16, MALLOC_CAP_8BIT);
    assert_non_null(p);
    forget_events();
    char *shrunk = heap_caps_realloc(p, 128, MALLOC_CAP_8BIT);
    assert_non_null(shrunk);
#ifdef HEAPCAPS_SANITIZER_VIEW
    /* The sanitizer view moves every realloc: a new block, then the free. */
    assert_int_equal(event_count, 2);
    assert_alloc_event(0, shrunk, 128, MALLOC_CAP_8BIT);
    assert_free_event(1, p);
#else
    assert_int_equal(event_count, 1);
    assert_alloc_event(0, shrunk, 128, MALLOC_CAP_8BIT);
    /* Growing past the guard moves the block inside its heap: still no free hook. */
    forget_events();
    char *grown = heap_caps_realloc(shrunk, 1000, MALLOC_CAP_8BIT);
    assert_non_null(grown);
    assert_int_equal(event_count, 1);
    assert_alloc_event(0, grown, 1000, MALLOC_CAP_8BIT);
    shrunk = grown;
#endif
    forget_events();
    heap_caps_free(shrunk);
    heap_caps_free(guard);
    assert_int_equal(event_count, 2);
}

static void realloc_across_heaps_calls_alloc_then_free(void **state)
{
    (void)state;
    void *internal = heap_caps_malloc(64, MALLOC_CAP_INTERNAL);
    assert_non_null(internal);
    forget_events();
    void *external = heap_caps_realloc(internal, 64, MALLOC_CAP_SPIRAM);
    assert_non_null(external);
    assert_true(esp_ptr_external_ram(external));
    assert_int_equal(event_count, 2);
    assert_alloc_event(0, external, 64, MALLOC_CAP_SPIRAM);
    assert_free_event(1, internal);

    /* To executable memory: size and caps as adjusted for EXEC. */
    forget_events();
    void *code = heap_caps_realloc(external, 62, MALLOC_CAP_EXEC);
    assert_non_null(code);
    assert_true(esp_ptr_executable(code));
    assert_int_equal(event_count, 2);
    assert_alloc_event(0, code, 64, MALLOC_CAP_EXEC | MALLOC_CAP_32BIT);
    assert_free_event(1, external);
    heap_caps_free(code);
}

/* ESP-IDF's hooks case, in its own words here: allocations of 1234 bytes by
 * malloc, calloc and aligned alloc reach the alloc hook with that size; a
 * realloc to 32BIT memory within the heap reports the size asked (no
 * rounding on that path, as in ESP-IDF); the free hook gets the result. */
static void hooks_see_the_sizes_of_mixed_calls(void **state)
{
    (void)state;
    void *a = heap_caps_malloc(1234, MALLOC_CAP_DEFAULT);
    void *b = heap_caps_calloc(1, 1234, MALLOC_CAP_DEFAULT);
    void *c = heap_caps_aligned_alloc(0x200, 1234, MALLOC_CAP_DEFAULT);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(event_count, 3);
    assert_alloc_event(0, a, 1234, MALLOC_CAP_DEFAULT);
    assert_alloc_event(1, b, 1234, MALLOC_CAP_DEFAULT);
    assert_alloc_event(2, c, 1234, MALLOC_CAP_DEFAULT);
    heap_caps_free(a);
    heap_caps_free(b);
    forget_events();
    void *d = heap_caps_realloc(c, 1234, MALLOC_CAP_32BIT);
    assert_non_null(d);
#ifdef HEAPCAPS_SANITIZER_VIEW
    /* Every realloc moves: a fresh 32BIT allocation, rounded to a word. */
    assert_int_equal(event_count, 2);
    assert_alloc_event(0, d, 1236, MALLOC_CAP_32BIT);
    assert_free_event(1, c);
#else
    assert_int_equal(event_count, 1);
    assert_alloc_event(0, d, 1234, MALLOC_CAP_32BIT);
#endif
    forget_events();
    heap_caps_free(d);
    assert_int_equal(event_count, 1);
    assert_free_event(0, d);
}

/* ============================================================ */

#define PLAIN(fn) cmocka_unit_test_setup_teardown(fn, boot_plain, shut_down)
#define PSRAM(fn) cmocka_unit_test_setup_teardown(fn, boot_with_psram, shut_down)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PLAIN(alloc_hook_sees_every_allocation_once),
        PSRAM(alloc_hook_sees_the_cache_line_rounding),
        PLAIN(failed_allocations_call_no_hook),
        PLAIN(free_hook_sees_every_free_with_the_pointer_passed),
        PLAIN(free_hook_gets_the_iram_alias_of_exec_memory),
        PLAIN(realloc_within_the_heap_calls_only_the_alloc_hook),
        PSRAM(realloc_across_heaps_calls_alloc_then_free),
        PLAIN(hooks_see_the_sizes_of_mixed_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
