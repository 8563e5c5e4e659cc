/*
 * test_sanitizer_view.c — the sanitizer view of the emulated heaps
 * (HEAPCAPS_SANITIZER_VIEW, docs/sanitizer_view.md), on an emulated ESP32
 * booted per case.
 *
 * Built three ways (tests/sanitizer_view_tests.cmake):
 * - with AddressSanitizer: a one-byte overrun of a DRAM block, a use after
 *   free (also of the old pointer after realloc), a write to a block header,
 *   to free heap memory, past an EXEC block through the IRAM alias: each
 *   stops a forked child with ASan's report and the view's block description
 *   naming the functions that allocated and freed the block; a legitimate
 *   workload (every allocation function, the info/walk/check/dump functions,
 *   EXEC blocks through the IRAM alias, several boots) runs clean;
 * - without a tool: the workload runs (the view compiled in must be inert);
 * - test_sanitizer_view_valgrind: the same scenarios run under valgrind's
 *   memcheck (this program re-executed with --child <scenario>), which must
 *   report the overrun and the use after free with the "alloc'd" and
 *   "free'd" stacks, and nothing at all for the workload.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, dup2, waitpid, readlink */

#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/config.h"
#include "heapcaps/emu.h"
#include "test_host.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TEST_ASAN)
#define TEST_ASAN 1
#endif

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define VICTIM_SIZE  64
#define PSRAM_SIZE   ((size_t)1024 * 1024)
/* Not every build of this file runs every scenario. */
#define MAYBE_UNUSED __attribute__((unused))

/* ------------------------------------------------------------ the firmware's code */

/* Stores after the calls keep these functions on the stack (no tail calls). */
static void *volatile last_block;
static const char *booted = "(none)"; /* for messages */

static void boot(const char *target, size_t psram, heapcaps_emu_switch_t memprot)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = psram;
    options.memprot = memprot;
    booted = target;
    esp_err_t err = heapcaps_emu_boot(target, &options);
    if (err != ESP_OK) { /* mostly in a child: no cmocka failure there */
        fprintf(stderr, "booting %s failed: 0x%x\n", target, (unsigned)err);
        _exit(5);
    }
}

MAYBE_UNUSED __attribute__((noinline)) static unsigned char *allocate_victim_block(size_t size)
{
    unsigned char *p = heap_caps_malloc(size, MALLOC_CAP_8BIT);
    last_block = p;
    return p;
}

MAYBE_UNUSED __attribute__((noinline)) static void free_victim_block(unsigned char *p)
{
    heap_caps_free(p);
    last_block = NULL;
}

MAYBE_UNUSED __attribute__((noinline)) static void overrun_block(unsigned char *p, size_t size)
{
    for (size_t i = 0; i <= size; ++i) { /* one byte too many */
        ((volatile unsigned char *)p)[i] = (unsigned char)i;
    }
}

static volatile size_t bytes_to_read = 1;

/* A loop, not a single load: valgrind would attribute a lone load in a
 * function this short to its caller (it translates both together). */
MAYBE_UNUSED __attribute__((noinline)) static unsigned read_after_free(const unsigned char *p,
                                                                       size_t offset)
{
    unsigned sum = 0;
    for (size_t i = 0; i < bytes_to_read; ++i) {
        sum += ((const volatile unsigned char *)p)[offset + i];
    }
    return sum;
}

/* A 64-byte block in an emulated DRAM heap of a fresh ESP32, its address on
 * stderr ("victim=<pointer>") for the parent to check the report against. */
MAYBE_UNUSED static unsigned char *boot_and_allocate_victim(void)
{
    boot("esp32", 0, HEAPCAPS_EMU_DEFAULT);
    unsigned char *p = allocate_victim_block(VICTIM_SIZE);
    if (!p || !esp_ptr_in_dram(p) || !esp_ptr_byte_accessible(p) ||
        heapcaps_emu_chip_address(p) == 0) {
        fprintf(stderr, "victim not in emulated DRAM: %p\n", (void *)p);
        _exit(3);
    }
    fprintf(stderr, "victim=%p\n", (void *)p);
    return p;
}

MAYBE_UNUSED static void overrun_scenario(void)
{
    unsigned char *p = boot_and_allocate_victim();
    overrun_block(p, VICTIM_SIZE);
    /* Not freed: under valgrind the program goes on, and with heap poisoning
     * free would stop it for the damaged tail canary. */
    heapcaps_emu_shutdown();
}

MAYBE_UNUSED static void use_after_free_scenario(void)
{
    unsigned char *p = boot_and_allocate_victim();
    memset(p, 0x5A, VICTIM_SIZE);
    free_victim_block(p);
    /* Inside the block, away from its neighbours. */
    unsigned value = read_after_free(p, VICTIM_SIZE / 2);
    fprintf(stderr, "read %u after free\n", value);
    heapcaps_emu_shutdown();
}

/* ------------------------------------------------------------ the legitimate workload */

/* Any problem ends the workload with a message (it also runs in children). */
static void workload_failed(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void workload_failed(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "workload on %s: ", booted);
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    _exit(4);
}

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            workload_failed("%s:%d: %s", __FILE__, __LINE__, #cond);                               \
        }                                                                                          \
    } while (0)

/* Word-only memory (32BIT, EXEC) is written and read in words. */
static void fill(void *p, size_t size, uint32_t caps, unsigned seed)
{
    if (caps & (MALLOC_CAP_32BIT | MALLOC_CAP_EXEC)) {
        for (size_t i = 0; i < size / 4; ++i) {
            ((volatile uint32_t *)p)[i] = (uint32_t)(seed * 2654435761u + i);
        }
    } else {
        for (size_t i = 0; i < size; ++i) {
            ((unsigned char *)p)[i] = (unsigned char)(seed + i);
        }
    }
}

static bool holds(const void *p, size_t size, uint32_t caps, unsigned seed)
{
    if (caps & (MALLOC_CAP_32BIT | MALLOC_CAP_EXEC)) {
        for (size_t i = 0; i < size / 4; ++i) {
            if (((const volatile uint32_t *)p)[i] != (uint32_t)(seed * 2654435761u + i)) {
                return false;
            }
        }
        return true;
    }
    for (size_t i = 0; i < size; ++i) {
        if (((const unsigned char *)p)[i] != (unsigned char)(seed + i)) {
            return false;
        }
    }
    return true;
}

typedef struct {
    size_t used, free, bytes;
} walk_count_t;

static bool count_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_count_t *count = user;
    EXPECT((intptr_t)block.ptr >= heap.start && (intptr_t)block.ptr < heap.end);
    if (block.used) {
        count->used++;
        count->bytes += block.size;
    } else {
        count->free++;
    }
    return true;
}

/* heap_caps_dump_all() with stderr sent to /dev/null. */
static void dump_to_null(void)
{
    fflush(NULL);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    EXPECT(saved_out >= 0 && saved_err >= 0 && null >= 0);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    heap_caps_dump_all();
    heap_caps_dump(MALLOC_CAP_8BIT);
    fflush(NULL);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(null);
}

typedef struct {
    void *p;
    size_t size;
    uint32_t caps;
    unsigned seed;
} live_t;

static live_t live[600];
static size_t live_count;

static void keep(void *p, size_t size, uint32_t caps)
{
    EXPECT(live_count < COUNT(live));
    unsigned seed = (unsigned)live_count * 7u + 3u;
    fill(p, size, caps, seed);
    live[live_count++] = (live_t){p, size, caps, seed};
}

static void check_and_free(size_t i)
{
    EXPECT(holds(live[i].p, live[i].size, live[i].caps, live[i].seed));
    heap_caps_free(live[i].p);
    live[i] = live[--live_count];
}

static volatile uint32_t twin_sink;

/* EXEC blocks handed out through the D/IRAM instruction alias (the chips
 * booted here have one and memory protection off): the plain IRAM heap
 * serves EXEC requests first, so it is used up before. */
static void exercise_exec_alias(void)
{
    static void *taken[2048];
    size_t count = 0;
    for (size_t size = 4096; size >= 16; size /= 2) {
        while (count < COUNT(taken)) {
            void *p = heap_caps_malloc(size, MALLOC_CAP_EXEC);
            if (!p || esp_ptr_in_diram_iram(p)) {
                heap_caps_free(p);
                break;
            }
            taken[count++] = p;
        }
    }
    EXPECT(count < COUNT(taken));
    size_t size = 16;
    for (int round = 0; round < 4; ++round, size += 20) {
        uint32_t *code = heap_caps_malloc(size, MALLOC_CAP_EXEC);
        EXPECT(code != NULL && esp_ptr_in_diram_iram(code));
        fill(code, size, MALLOC_CAP_EXEC, 31);
        /* The same memory seen from the data bus: each word's DRAM twin. */
        for (size_t k = 0; k < size / 4; ++k) {
            twin_sink += *(volatile uint32_t *)esp_ptr_diram_iram_to_dram(code + k);
        }
        uint32_t *moved = heap_caps_realloc(code, size / 2, MALLOC_CAP_EXEC);
        EXPECT(moved != NULL && holds(moved, size / 2, MALLOC_CAP_EXEC, 31));
        heap_caps_free(moved);
    }
    while (count) {
        heap_caps_free(taken[--count]);
    }
    EXPECT(heap_caps_check_integrity_all(true));
}

/* Every allocation function over many sizes and caps on the booted chip. */
static void exercise_chip(void)
{
    static const uint32_t caps_list[] = {
        MALLOC_CAP_8BIT,     MALLOC_CAP_DEFAULT, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL,
        MALLOC_CAP_DMA,      MALLOC_CAP_32BIT,   MALLOC_CAP_EXEC,
        MALLOC_CAP_INTERNAL,
    };
    size_t free_at_start = heap_caps_get_free_size(0);
    live_count = 0;

    /* malloc of many sizes across caps, freed in a scattered order */
    for (size_t round = 0; round < 3; ++round) {
        for (size_t size = 1; size <= 700; size += 13 + round) {
            uint32_t caps = caps_list[(size + round) % COUNT(caps_list)];
            void *p = heap_caps_malloc(size, caps);
            EXPECT(p != NULL);
            EXPECT(heap_caps_get_allocated_size(p) >= size);
            if (caps & MALLOC_CAP_EXEC) {
                EXPECT(esp_ptr_executable(p) || esp_ptr_in_diram_iram(p));
            }
            keep(p, (caps & (MALLOC_CAP_32BIT | MALLOC_CAP_EXEC)) ? (size + 3) & ~(size_t)3 : size,
                 caps);
        }
        for (size_t i = round; i < live_count; i += 3) {
            check_and_free(i);
        }
        EXPECT(heap_caps_check_integrity_all(true));
    }

    /* calloc: zeroed */
    for (size_t size = 1; size <= 300; size += 37) {
        unsigned char *p = heap_caps_calloc(3, size, MALLOC_CAP_8BIT);
        EXPECT(p != NULL);
        for (size_t i = 0; i < 3 * size; ++i) {
            EXPECT(p[i] == 0);
        }
        keep(p, 3 * size, MALLOC_CAP_8BIT);
    }

    /* aligned allocations */
    for (size_t alignment = 8; alignment <= 512; alignment *= 2) {
        for (size_t size = 1; size < 200; size += 67) {
            void *p = heap_caps_aligned_alloc(alignment, size, MALLOC_CAP_8BIT);
            EXPECT(p != NULL && ((uintptr_t)p & (alignment - 1)) == 0);
            keep(p, size, MALLOC_CAP_8BIT);
            void *q = heap_caps_aligned_calloc(alignment, 2, size, MALLOC_CAP_DEFAULT);
            EXPECT(q != NULL && ((uintptr_t)q & (alignment - 1)) == 0);
            EXPECT(((unsigned char *)q)[2 * size - 1] == 0);
            heap_caps_free(q);
        }
    }

    /* realloc growing and shrinking, content kept */
    for (size_t size = 5; size <= 2000; size = size * 3 + 1) {
        unsigned char *p = heap_caps_malloc(size, MALLOC_CAP_8BIT);
        EXPECT(p != NULL);
        fill(p, size, MALLOC_CAP_8BIT, 11);
        unsigned char *grown = heap_caps_realloc(p, size * 2 + 3, MALLOC_CAP_8BIT);
        EXPECT(grown != NULL && holds(grown, size, MALLOC_CAP_8BIT, 11));
        fill(grown, size * 2 + 3, MALLOC_CAP_8BIT, 12);
        unsigned char *shrunk = heap_caps_realloc(grown, size / 2 + 1, MALLOC_CAP_8BIT);
        EXPECT(shrunk != NULL && holds(shrunk, size / 2 + 1, MALLOC_CAP_8BIT, 12));
        unsigned char *moved = heap_caps_realloc(shrunk, size, MALLOC_CAP_DMA);
        EXPECT(moved != NULL && holds(moved, size / 2 + 1, MALLOC_CAP_8BIT, 12));
        EXPECT(heap_caps_realloc(moved, 0, MALLOC_CAP_8BIT) == NULL); /* frees */
    }

    /* EXEC blocks: written, moved and shrunk through realloc */
    for (size_t size = 4; size <= 1024; size = size * 2 + 4) {
        uint32_t *code = heap_caps_malloc(size, MALLOC_CAP_EXEC);
        if (!code) {
            break;
        }
        fill(code, size, MALLOC_CAP_EXEC, 21);
        uint32_t *bigger = heap_caps_realloc(code, size + 64, MALLOC_CAP_EXEC);
        EXPECT(bigger != NULL && holds(bigger, size, MALLOC_CAP_EXEC, 21));
        uint32_t *smaller = heap_caps_realloc(bigger, size / 2 + 4, MALLOC_CAP_EXEC);
        EXPECT(smaller != NULL && holds(smaller, (size / 2 + 4) & ~(size_t)3, MALLOC_CAP_EXEC, 21));
        heap_caps_free(smaller);
    }
    exercise_exec_alias();

    /* preference lists and the malloc() policy */
    void *preferred = heap_caps_malloc_prefer(100, 2, MALLOC_CAP_SPIRAM, MALLOC_CAP_8BIT);
    EXPECT(preferred != NULL);
    keep(preferred, 100, MALLOC_CAP_8BIT);
    void *by_policy = heap_caps_malloc_default(333);
    EXPECT(by_policy != NULL);
    by_policy = heap_caps_realloc_default(by_policy, 777);
    EXPECT(by_policy != NULL);
    keep(by_policy, 777, MALLOC_CAP_8BIT);

    /* information, checks, walks and dumps see live blocks without tripping */
    multi_heap_info_t info;
    heap_caps_get_info(&info, MALLOC_CAP_8BIT);
    EXPECT(info.allocated_blocks > 0 && info.total_free_bytes > 0);
    EXPECT(heap_caps_get_largest_free_block(MALLOC_CAP_8BIT) > 0);
    EXPECT(heap_caps_get_minimum_free_size(MALLOC_CAP_8BIT) <=
           heap_caps_get_free_size(MALLOC_CAP_8BIT));
    walk_count_t count = {0, 0, 0};
    heap_caps_walk_all(count_block, &count);
    EXPECT(count.used >= live_count && count.free > 0);
    EXPECT(heap_caps_check_integrity_all(true));
    dump_to_null();

    while (live_count) {
        check_and_free(live_count / 2);
    }
    EXPECT(heap_caps_check_integrity_all(true));
#ifndef CONFIG_HEAP_TASK_TRACKING /* it keeps statistics in the heaps */
    EXPECT(heap_caps_get_free_size(0) == free_at_start);
#else
    (void)free_at_start;
#endif
}

/* Boot, work, shut down; boot again (the same addresses) and again. */
static void workload_scenario(void)
{
    boot("esp32", 0, HEAPCAPS_EMU_DEFAULT);
    exercise_chip();
    heapcaps_emu_shutdown();
    boot("esp32", PSRAM_SIZE, HEAPCAPS_EMU_DEFAULT); /* PSRAM and the reserve pool */
    exercise_chip();
    heapcaps_emu_shutdown();
    boot("esp32s3", 0, HEAPCAPS_EMU_OFF); /* linear D/IRAM alias */
    exercise_chip();
    heapcaps_emu_shutdown();
    boot("esp32", 0, HEAPCAPS_EMU_DEFAULT);
    exercise_chip();
    heapcaps_emu_shutdown();
}

/* ------------------------------------------------------------ checks on reports */

#define OUTPUT_ROOM (256 * 1024)
MAYBE_UNUSED static char output[OUTPUT_ROOM];

MAYBE_UNUSED /* cmocka's messages are short: long texts go to stderr first. */
    static void
    fail_with_text(const char *text, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void fail_with_text(const char *text, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    fprintf(stderr, "---- output ----\n%s\n---- end of output ----\n", text);
    fail_msg("%s", message);
}

MAYBE_UNUSED static void assert_contains(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        fail_with_text(text, "expected \"%s\" in the output above", what);
    }
}

/* The part of text from `from` to `to` (or the end), copied. */
MAYBE_UNUSED static char *section(const char *text, const char *from, const char *to)
{
    const char *start = strstr(text, from);
    if (!start) {
        fail_with_text(text, "expected \"%s\" in the output above", from);
    }
    const char *end = to ? strstr(start + strlen(from), to) : NULL;
    size_t length = end ? (size_t)(end - start) : strlen(start);
    char *copy = malloc(length + 1);
    assert_non_null(copy);
    memcpy(copy, start, length);
    copy[length] = '\0';
    return copy;
}

/* The victim's address the child printed. */
MAYBE_UNUSED static uintptr_t victim_address(const char *text)
{
    const char *at = strstr(text, "victim=");
    if (!at) {
        fail_with_text(text, "no victim address in the output above");
    }
    return (uintptr_t)strtoull(at + strlen("victim="), NULL, 16);
}

#ifdef TEST_ASAN
/* ------------------------------------------------------------ AddressSanitizer */

static void run_scenario(void *context)
{
    ((void (*)(void))context)();
}

static int run_in_child(void (*scenario)(void))
{
    union {
        void (*function)(void);
        void *object;
    } pass = {.function = scenario};
    return run_forked(run_scenario, pass.object, output, sizeof(output));
}

static void assert_stopped_by_asan(int status, const char *text)
{
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 1)) {
        fail_with_text(text, "child status 0x%x, expected ASan's exit code 1", (unsigned)status);
    }
    assert_contains(text, "ERROR: AddressSanitizer: use-after-poison on address");
    if (!strstr(text, "test_sanitizer_view.c:")) {
        fail_with_text(text, "the report has no source locations: is llvm-symbolizer installed "
                             "(ASAN_SYMBOLIZER_PATH)?");
    }
}

static void overrun_by_one_byte_is_reported_with_the_allocating_stack(void **state)
{
    (void)state;
    int status = run_in_child(overrun_scenario);
    assert_stopped_by_asan(status, output);
    uintptr_t victim = victim_address(output);
    char expected[160];
    snprintf(expected, sizeof(expected), "use-after-poison on address 0x%012" PRIxPTR,
             victim + VICTIM_SIZE);
    assert_contains(output, expected);
    assert_contains(output, "WRITE of size 1");
    char *faulting = section(output, "WRITE of size 1", "\n\n");
    assert_contains(faulting, "in overrun_block ");
    assert_contains(faulting, "test_sanitizer_view.c");
    free(faulting);
    snprintf(expected, sizeof(expected),
             "heapcaps: heap-buffer-overflow in the emulated chip's heap: %p is 0 bytes after "
             "a 64-byte block [%p, %p) in heap ",
             (void *)(victim + VICTIM_SIZE), (void *)victim, (void *)(victim + VICTIM_SIZE));
    assert_contains(output, expected);
    char *allocated = section(output, "heapcaps: allocated at:", NULL);
    assert_contains(allocated, "in heap_caps_malloc ");
    assert_contains(allocated, "in allocate_victim_block ");
    assert_contains(allocated, "in overrun_scenario ");
    free(allocated);
    assert_null(strstr(output, "heapcaps: freed at:"));
}

static void use_after_free_is_reported_with_both_stacks(void **state)
{
    (void)state;
    int status = run_in_child(use_after_free_scenario);
    assert_stopped_by_asan(status, output);
    uintptr_t victim = victim_address(output);
    char expected[200];
    snprintf(expected, sizeof(expected), "use-after-poison on address 0x%012" PRIxPTR,
             victim + VICTIM_SIZE / 2);
    assert_contains(output, expected);
    char *faulting = section(output, "READ of size 1", "\n\n");
    assert_contains(faulting, "in read_after_free ");
    free(faulting);
    snprintf(expected, sizeof(expected),
             "heapcaps: heap-use-after-free in the emulated chip's heap: %p is 32 bytes inside "
             "a 64-byte freed block [%p, %p) in heap ",
             (void *)(victim + VICTIM_SIZE / 2), (void *)victim, (void *)(victim + VICTIM_SIZE));
    assert_contains(output, expected);
    char *allocated = section(output, "heapcaps: allocated at:", "heapcaps: freed at:");
    assert_contains(allocated, "in allocate_victim_block ");
    assert_null(strstr(allocated, "free_victim_block"));
    free(allocated);
    char *freed = section(output, "heapcaps: freed at:", NULL);
    assert_contains(freed, "in heap_caps_free ");
    assert_contains(freed, "in free_victim_block ");
    assert_contains(freed, "in use_after_free_scenario ");
    free(freed);
    assert_null(strstr(output, "read 0 after free")); /* stopped before */
}

/* realloc() moves the block (always, in view builds): the old pointer is
 * then a pointer to freed memory. */
__attribute__((noinline)) static unsigned char *grow_victim_block(unsigned char *p)
{
    unsigned char *q = heap_caps_realloc(p, 4 * VICTIM_SIZE, MALLOC_CAP_8BIT);
    last_block = q;
    return q;
}

static void stale_pointer_after_realloc_scenario(void)
{
    unsigned char *p = boot_and_allocate_victim();
    memset(p, 0x5A, VICTIM_SIZE);
    unsigned char *q = grow_victim_block(p);
    if (!q || q == p || q[VICTIM_SIZE - 1] != 0x5A) {
        _exit(3);
    }
    read_after_free(p, 8);
}

static void stale_pointer_after_realloc_is_a_use_after_free(void **state)
{
    (void)state;
    int status = run_in_child(stale_pointer_after_realloc_scenario);
    assert_stopped_by_asan(status, output);
    assert_contains(output, "heapcaps: heap-use-after-free in the emulated chip's heap: ");
    assert_contains(output, "is 8 bytes inside a 64-byte freed block");
    char *freed = section(output, "heapcaps: freed at:", NULL);
    assert_contains(freed, "in heap_caps_realloc ");
    assert_contains(freed, "in grow_victim_block ");
    free(freed);
}

/* A write into free memory of a heap, far from any block. */
static void free_memory_scenario(void)
{
    unsigned char *p = boot_and_allocate_victim();
    ((volatile unsigned char *)p)[VICTIM_SIZE + 1024] = 1;
}

static void free_memory_of_a_heap_is_poisoned(void **state)
{
    (void)state;
    int status = run_in_child(free_memory_scenario);
    assert_stopped_by_asan(status, output);
    assert_contains(output, "heapcaps: ");
    assert_contains(output, "in no block handed out (free memory or allocator metadata)");
}

/* The header word before a block belongs to the allocator. */
static void header_scenario(void)
{
    unsigned char *p = boot_and_allocate_victim();
    ((volatile unsigned char *)p)[-1] = 1;
}

static void block_header_is_poisoned(void **state)
{
    (void)state;
    int status = run_in_child(header_scenario);
    assert_stopped_by_asan(status, output);
    assert_contains(output, "heapcaps: heap-buffer-underflow in the emulated chip's heap: ");
    assert_contains(output, "is 1 bytes before a 64-byte block");
}

/* An EXEC block handed out through ESP32's (reversed) IRAM alias: its end
 * is exact there too, and its data-side twin is accessible. */
__attribute__((noinline)) static uint32_t *allocate_code_block(size_t size)
{
    uint32_t *p = heap_caps_malloc(size, MALLOC_CAP_EXEC);
    last_block = p;
    return p;
}

static void exec_alias_scenario(void)
{
    boot("esp32", 0, HEAPCAPS_EMU_DEFAULT);
    uint32_t *code = NULL;
    /* The plain IRAM heap serves EXEC first; take it until the alias serves. */
    for (int i = 0; i < 100000 && !(code && esp_ptr_in_diram_iram(code)); ++i) {
        code = allocate_code_block(64);
    }
    if (!code || !esp_ptr_in_diram_iram(code)) {
        _exit(3);
    }
    for (size_t i = 0; i < 16; ++i) {
        ((volatile uint32_t *)code)[i] = (uint32_t)i;
        /* the word's DRAM twin is the block's too */
        *(volatile uint32_t *)esp_ptr_diram_iram_to_dram(code + i) = (uint32_t)i;
    }
    fprintf(stderr, "code=%p\n", (void *)code);
    ((volatile uint32_t *)code)[16] = 16; /* one word too many */
}

static void exec_block_through_the_iram_alias_ends_exactly(void **state)
{
    (void)state;
    int status = run_in_child(exec_alias_scenario);
    assert_stopped_by_asan(status, output);
    assert_contains(output, "WRITE of size 4");
    assert_contains(output, "heapcaps: heap-buffer-overflow in the emulated chip's heap: ");
    assert_contains(output, "is 0 bytes after a 64-byte block");
    char *allocated = section(output, "heapcaps: allocated at:", NULL);
    assert_contains(allocated, "in allocate_code_block ");
    free(allocated);
}

static void legitimate_workload_runs_clean(void **state)
{
    (void)state;
    int status = run_in_child(workload_scenario);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) || strstr(output, "AddressSanitizer") ||
        strstr(output, "heapcaps: ")) {
        fail_with_text(output, "workload child status 0x%x", (unsigned)status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overrun_by_one_byte_is_reported_with_the_allocating_stack),
        cmocka_unit_test(use_after_free_is_reported_with_both_stacks),
        cmocka_unit_test(stale_pointer_after_realloc_is_a_use_after_free),
        cmocka_unit_test(free_memory_of_a_heap_is_poisoned),
        cmocka_unit_test(block_header_is_poisoned),
        cmocka_unit_test(exec_block_through_the_iram_alias_ends_exactly),
        cmocka_unit_test(legitimate_workload_runs_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#elif defined(HEAPCAPS_TEST_VALGRIND)
/* ------------------------------------------------------------ Valgrind memcheck */

/* Run this program under memcheck with `--child scenario`; its output
 * (valgrind's and the program's) goes to `output`. Returns the wait status. */
static int run_under_valgrind(const char *scenario)
{
    static char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(length > 0);
    self[length] = '\0';
    char *argv[] = {
        (char *)HEAPCAPS_TEST_VALGRIND,
        (char *)"--error-exitcode=99",
        (char *)"--suppressions=" HEAPCAPS_TEST_VALGRIND_SUPP,
        (char *)"--num-callers=40",
        (char *)"--leak-check=no",
        self,
        (char *)"--child",
        (char *)scenario,
        NULL,
    };
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    char discard[4096];
    for (;;) {
        char *into = used < sizeof(output) - 1 ? output + used : discard;
        size_t room = used < sizeof(output) - 1 ? sizeof(output) - 1 - used : sizeof(discard);
        ssize_t got = read(fds[0], into, room);
        if (got <= 0) {
            break;
        }
        if (into == output + used) {
            used += (size_t)got;
        }
    }
    output[used] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    return status;
}

static void assert_valgrind_exit(int status, int code)
{
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == code)) {
        fail_with_text(output, "valgrind status 0x%x, expected exit %d", (unsigned)status, code);
    }
}

static void memcheck_reports_the_overrun_with_the_allocating_stack(void **state)
{
    (void)state;
    assert_valgrind_exit(run_under_valgrind("overrun"), 99);
    uintptr_t victim = victim_address(output);
    char *error = section(output, "Invalid write of size 1", "ERROR SUMMARY");
    assert_contains(error, "at 0x");
    assert_contains(error, ": overrun_block"); /* maybe a clone: overrun_block.constprop.0 */
    char expected[120];
    snprintf(expected, sizeof(expected), "Address %p is 0 bytes after a block of size 64 alloc'd",
             (void *)(victim + VICTIM_SIZE));
    assert_contains(error, expected);
    char *allocated = section(error, "alloc'd", NULL);
    assert_contains(allocated, ": heap_caps_malloc"); /* or its .cold part */
    assert_contains(allocated, ": allocate_victim_block");
    free(allocated);
    free(error);
    assert_contains(output, "ERROR SUMMARY: 1 errors from 1 contexts");
}

static void memcheck_reports_the_use_after_free_with_both_stacks(void **state)
{
    (void)state;
    assert_valgrind_exit(run_under_valgrind("use-after-free"), 99);
    uintptr_t victim = victim_address(output);
    char *error = section(output, "Invalid read of size 1", "ERROR SUMMARY");
    assert_contains(error, ": read_after_free");
    char expected[120];
    snprintf(expected, sizeof(expected), "Address %p is 32 bytes inside a block of size 64 free'd",
             (void *)(victim + VICTIM_SIZE / 2));
    assert_contains(error, expected);
    char *freed = section(error, "free'd", "Block was alloc'd at");
    assert_contains(freed, ": heap_caps_free");
    assert_contains(freed, ": free_victim_block (");
    free(freed);
    char *allocated = section(error, "Block was alloc'd at", NULL);
    assert_contains(allocated, "heap_caps_malloc");
    assert_contains(allocated, ": allocate_victim_block");
    free(allocated);
    free(error);
    assert_contains(output, "ERROR SUMMARY: 1 errors from 1 contexts");
}

static void memcheck_finds_nothing_in_the_legitimate_workload(void **state)
{
    (void)state;
    int status = run_under_valgrind("workload");
    assert_valgrind_exit(status, 0);
    assert_contains(output, "ERROR SUMMARY: 0 errors from 0 contexts");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        if (strcmp(argv[2], "overrun") == 0) {
            overrun_scenario();
        } else if (strcmp(argv[2], "use-after-free") == 0) {
            use_after_free_scenario();
        } else if (strcmp(argv[2], "workload") == 0) {
            workload_scenario();
        } else {
            return 2;
        }
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memcheck_reports_the_overrun_with_the_allocating_stack),
        cmocka_unit_test(memcheck_reports_the_use_after_free_with_both_stacks),
        cmocka_unit_test(memcheck_finds_nothing_in_the_legitimate_workload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
/* ------------------------------------------------------------ no tool */

/* The view compiled in, no tool watching: everything works as usual. */
static void workload_runs_without_a_tool(void **state)
{
    (void)state;
    workload_scenario();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workload_runs_without_a_tool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
