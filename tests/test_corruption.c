/*
 * test_corruption.c — the corruption-injection matrix (docs/debugging.md):
 * each kind of damage a firmware bug does to a heap, at the build's
 * corruption-detection level (Basic, Light or Comprehensive), with what
 * detects it — multi_heap_check() (and its message) or the next free() or
 * malloc() (which stop the program: run guarded, test_guard.h) — and that the
 * check itself survives the damage.
 *
 * The expected outcome of every cell is written per level below; the suite
 * is built and run at all three levels by scripts/test.sh.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

#include "test_guard.h"

#define REGION 4096
/* A multiple of 8, so that without poisoning the block has no padding after
 * the data; large enough that a freed block has bytes beyond its list links
 * and footer at every level. */
#define DATA 48

enum { BASIC, LIGHT, COMPREHENSIVE };
#if defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
#define LEVEL COMPREHENSIVE
#elif defined(CONFIG_HEAP_POISONING_LIGHT)
#define LEVEL LIGHT
#else
#define LEVEL BASIC
#endif

/* A heap with three neighbouring allocations; the middle one is the victim. */
typedef struct {
    char *region;
    multi_heap_handle_t heap;
    unsigned char *before, *victim, *after;
} scene_t;

static scene_t scene;

static int set_scene(void **state)
{
    (void)state;
    scene.region = test_region(REGION);
    scene.heap = multi_heap_register(scene.region, REGION);
    assert_non_null(scene.heap);
    scene.before = multi_heap_malloc(scene.heap, DATA);
    scene.victim = multi_heap_malloc(scene.heap, DATA);
    scene.after = multi_heap_malloc(scene.heap, DATA);
    assert_non_null(scene.after);
    memset(scene.before, 0x11, DATA);
    memset(scene.victim, 0x22, DATA);
    memset(scene.after, 0x33, DATA);
    assert_true(multi_heap_check(scene.heap, true));
    return 0;
}

static int clear_scene(void **state)
{
    (void)state;
    free(scene.region);
    return 0;
}

/* ---- observing ------------------------------------------------------------ */

static bool check_result;

static void check_printing(void *heap)
{
    check_result = multi_heap_check(heap, true);
}

/* multi_heap_check(heap, true): its result, with what it printed in out. */
static bool check_and_capture(char *out, size_t room)
{
    capture_output(2, check_printing, scene.heap, out, room);
    return check_result;
}

typedef void (*operation_fn)(void);

static void run_operation(void *context)
{
    (*(operation_fn *)context)();
}

/* Run op guarded: true if it aborted; what it printed in out. */
static bool op_aborts(operation_fn op, char *out, size_t room)
{
    return run_guarded(run_operation, &op, out, room).aborted;
}

static void free_victim(void)
{
    multi_heap_free(scene.heap, scene.victim);
}

static void malloc_victim_size(void)
{
    (void)multi_heap_malloc(scene.heap, DATA);
}

static void free_victim_interior(void)
{
    multi_heap_free(scene.heap, scene.victim + 8);
}

static void free_foreign(void)
{
    static size_t outside[8];
    multi_heap_free(scene.heap, &outside[4]);
}

#define ASSERT_CONTAINS(text, part)                                                                \
    do {                                                                                           \
        if (!strstr((text), (part))) {                                                             \
            fail_msg("expected \"%s\" in:\n%s", (part), (text));                                   \
        }                                                                                          \
    } while (0)

#define ASSERT_CHECK_FAILS_SAYING(part)                                                            \
    do {                                                                                           \
        char out_[2048];                                                                           \
        assert_false(check_and_capture(out_, sizeof(out_)));                                       \
        ASSERT_CONTAINS(out_, (part));                                                             \
    } while (0)

#define ASSERT_OP_ABORTS_SAYING(op, part)                                                          \
    do {                                                                                           \
        char out_[2048];                                                                           \
        if (!op_aborts((op), out_, sizeof(out_))) {                                                \
            fail_msg("%s did not stop the program; output:\n%s", #op, out_);                       \
        }                                                                                          \
        ASSERT_CONTAINS(out_, (part));                                                             \
    } while (0)

/* The first fault the extension reports lies in [from, from + bytes). */
static void assert_fault_within(const void *from, size_t bytes)
{
    heapcaps_heap_fault_t fault;
    assert_false(heapcaps_multi_heap_check_fault(scene.heap, &fault));
    assert_non_null(fault.problem);
    if ((const char *)fault.address < (const char *)from ||
        (const char *)fault.address >= (const char *)from + bytes) {
        fail_msg("fault \"%s\" at %p, expected within [%p, +%zu)", fault.problem, fault.address,
                 from, bytes);
    }
}

/* ---- the injections ------------------------------------------------------- */

/* An underrun over the 8 bytes before the data: the head canary with
 * poisoning, the block's size word (and on 32-bit the word before it)
 * without. */
static void underrun_of_the_head(void **state)
{
    (void)state;
    unsigned char saved[8];
    memcpy(saved, scene.victim - 8, 8);
    memset(scene.victim - 8, 0x5A, 8);
    if (LEVEL == BASIC) {
        ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: ");
        ASSERT_OP_ABORTS_SAYING(free_victim, "CORRUPT HEAP: multi_heap.c free() detected at");
    } else {
        ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: Bad head at ");
        ASSERT_CHECK_FAILS_SAYING("Expected 0xabba1234 got 0x5a5a5a5a");
        assert_fault_within(scene.victim - 8, 4);
        ASSERT_OP_ABORTS_SAYING(free_victim, "CORRUPT HEAP: Bad head at ");
    }
    memcpy(scene.victim - 8, saved, 8);
    assert_true(multi_heap_check(scene.heap, true));
}

/* One byte written past the end of the data. */
static void overrun_by_one_byte(void **state)
{
    (void)state;
    unsigned char saved = scene.victim[DATA];
    scene.victim[DATA] = 0;
    if (LEVEL == BASIC) {
        /* The byte after the data is the low byte of the next block's size
         * word (no padding at this size): the check sees a damaged size. */
        ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: ");
        assert_fault_within(scene.victim + DATA, tlsf_align_size());
    } else {
        ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: Bad tail at ");
        ASSERT_CHECK_FAILS_SAYING("Expected 0xbaad5678 got 0xbaad5600");
        assert_fault_within(scene.victim + DATA, 4);
        ASSERT_OP_ABORTS_SAYING(free_victim, "CORRUPT HEAP: Bad tail at ");
    }
    scene.victim[DATA] = saved;
    assert_true(multi_heap_check(scene.heap, true));
}

/* A write into a freed block, away from the allocator's own words in it. */
static void write_after_free(void **state)
{
    (void)state;
    multi_heap_free(scene.heap, scene.victim);
    unsigned char *spot = scene.victim + 24; /* past the links, before the footer */
    unsigned char saved = *spot;
    *spot = 0xAA;
    if (LEVEL == COMPREHENSIVE) {
        ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: Invalid data at ");
        ASSERT_CHECK_FAILS_SAYING("Expected 0xfefefefe got 0xfefefeaa");
        /* (little-endian word: the damaged byte is the lowest of it) */
        assert_fault_within(spot, 1);
    } else {
        /* Not detectable without a free-memory pattern. */
        assert_true(multi_heap_check(scene.heap, true));
    }
    *spot = saved;
    assert_true(multi_heap_check(scene.heap, true));
    if (LEVEL == COMPREHENSIVE) {
        /* Handing the block out again finds the write. Last: on a board the
         * aborted call ran in place and left the heap as it stopped. */
        *spot = 0xAA;
        ASSERT_OP_ABORTS_SAYING(malloc_victim_size, "CORRUPT HEAP: Invalid data at ");
    }
}

static void double_free(void **state)
{
    (void)state;
    multi_heap_free(scene.heap, scene.victim);
    /* The allocator's pointer check comes before any canary is read. */
    ASSERT_OP_ABORTS_SAYING(free_victim, "CORRUPT HEAP: multi_heap.c free() detected at");
    assert_true(multi_heap_check(scene.heap, true));
}

static void free_of_a_foreign_pointer(void **state)
{
    (void)state;
    ASSERT_OP_ABORTS_SAYING(free_foreign, "CORRUPT HEAP: multi_heap.c free() detected at");
    assert_true(multi_heap_check(scene.heap, true));
}

/* A pointer into the middle of a block whose preceding bytes hold data that
 * cannot be a block header: the allocator's pointer check stops it at every
 * level. (With poisoning on a 32-bit target the word it reads as a header is
 * the victim's alloc size, a plausible header: the head canary check stops
 * it instead.) */
static void free_of_an_interior_pointer(void **state)
{
    (void)state;
    char out[2048];
    assert_true(op_aborts(free_victim_interior, out, sizeof(out)));
    if (LEVEL == BASIC || sizeof(size_t) == 8) {
        ASSERT_CONTAINS(out, "CORRUPT HEAP: multi_heap.c free() detected at");
    } else {
        ASSERT_CONTAINS(out, "CORRUPT HEAP: Bad head at ");
    }
    assert_true(multi_heap_check(scene.heap, true));
}

/* Guarded: free an interior pointer whose preceding word looks like an
 * allocated block's header, then exit with 3 if the heap check finds the
 * damage afterwards, 0 if not. */
static void free_disguised_interior_then_check(void *context)
{
    (void)context;
    unsigned char *interior = scene.victim + 24;
    size_t fake_header = 2 * tlsf_align_size() + 8; /* an allocated block's size word */
    memcpy((char *)TEST_MH_BLOCK(interior) - tlsf_align_size(), &fake_header, sizeof(fake_header));
    multi_heap_free(scene.heap, interior);
    guarded_exit(multi_heap_check(scene.heap, false) ? 0 : 3);
}

/* The same when the data before the pointer looks like a block header:
 * without poisoning the free goes through and damages the heap, which the
 * next check reports; with poisoning the head canary check stops it. */
static void free_of_a_disguised_interior_pointer(void **state)
{
    (void)state;
    char out[2048];
    guard_end_t end = run_guarded(free_disguised_interior_then_check, NULL, out, sizeof(out));
    if (LEVEL == BASIC) {
        assert_true(end.exited);
        assert_int_equal(end.code, 3);
    } else {
        assert_true(end.aborted);
        ASSERT_CONTAINS(out, "CORRUPT HEAP: Bad head at ");
    }
}

/* The size word of a block smashed: the walk must not follow it out of the
 * heap (esp-idf#8661); every level reports it. */
static void smashed_size_word(void **state)
{
    (void)state;
    size_t *size_word = (size_t *)TEST_MH_BLOCK(scene.victim) - 1;
    size_t saved = *size_word;
    *size_word = (size_t)0x7FFFFFF0u;
    ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: ");
    assert_fault_within(size_word, sizeof(*size_word));
    ASSERT_OP_ABORTS_SAYING(free_victim, "CORRUPT HEAP: multi_heap.c free() detected at");
    *size_word = saved;
    assert_true(multi_heap_check(scene.heap, true));
}

/* A free block's list link smashed (a use-after-free write over the first
 * bytes of a freed block): the check reports it and does not follow it. */
static void smashed_free_list_link(void **state)
{
    (void)state;
    multi_heap_free(scene.heap, scene.victim);
    void **link = (void **)TEST_MH_BLOCK(scene.victim);
    void *saved = *link;
    *link = (void *)(uintptr_t)0xDEADBEE0u;
    ASSERT_CHECK_FAILS_SAYING("CORRUPT HEAP: ");
    assert_fault_within(TEST_MH_BLOCK(scene.victim), 2 * sizeof(void *));
    *link = saved;
    assert_true(multi_heap_check(scene.heap, true));
}

/* The canaries in the exact places the layout documents (the offsets an
 * ESP-IDF application would use). */
static void canaries_sit_where_the_layout_says(void **state)
{
    (void)state;
    uint32_t head, size, tail;
    if (LEVEL == BASIC) {
        assert_int_equal(multi_heap_get_full_block_size(scene.heap, scene.victim),
                         multi_heap_get_allocated_size(scene.heap, scene.victim));
        return;
    }
    memcpy(&head, scene.victim - 8, 4);
    memcpy(&size, scene.victim - 4, 4);
    memcpy(&tail, scene.victim + DATA, 4);
    assert_int_equal(head, 0xABBA1234u);
    assert_int_equal(size, DATA);
    assert_int_equal(tail, 0xBAAD5678u);
    /* An odd size: the tail follows the data unaligned. */
    unsigned char *odd = multi_heap_malloc(scene.heap, 13);
    memcpy(&tail, odd + 13, 4);
    assert_int_equal(tail, 0xBAAD5678u);
    if (LEVEL == COMPREHENSIVE) {
        for (int i = 0; i < 13; ++i) {
            assert_int_equal(odd[i], 0xCE); /* uninitialised memory shows */
        }
    }
    multi_heap_free(scene.heap, odd);
}

/* Comprehensive: freed memory reads as 0xFE, a grown realloc's new bytes
 * too; the whole region starts filled. */
static void freed_memory_holds_the_free_pattern(void **state)
{
    (void)state;
    if (LEVEL != COMPREHENSIVE) {
        assert_true(multi_heap_check(scene.heap, true));
        return;
    }
    multi_heap_free(scene.heap, scene.victim);
    /* Past the two list links the allocator keeps in a free block. */
    for (size_t i = 2 * sizeof(void *) - 8; i < DATA; ++i) {
        assert_int_equal(scene.victim[i], 0xFE);
    }
    unsigned char *grown = multi_heap_realloc(scene.heap, scene.after, 2 * DATA);
    assert_non_null(grown);
    for (size_t i = 0; i < DATA; ++i) {
        assert_int_equal(grown[i], 0x33);
    }
    /* A grown block's new bytes are uninitialised memory: 0xCE. */
    for (size_t i = DATA; i < 2 * DATA; ++i) {
        assert_int_equal(grown[i], 0xCE);
    }
    multi_heap_free(scene.heap, grown);
    assert_true(multi_heap_check(scene.heap, true));
}

/* Every byte of a freed block, one at a time: Comprehensive finds each
 * write, Light and Basic none (the ESP-IDF poisoning detection case). */
static void every_byte_of_a_freed_block(void **state)
{
    (void)state;
    unsigned char *p = multi_heap_malloc(scene.heap, 64);
    void *guard = multi_heap_malloc(scene.heap, 8);
    size_t block = multi_heap_get_full_block_size(scene.heap, p);
    multi_heap_free(scene.heap, p);
    /* The bytes of the freed block that are not the allocator's: after its
     * two list links, before its footer word. */
    size_t word = tlsf_align_size();
    size_t from = 2 * word > TEST_POISON_HEAD ? 2 * word - TEST_POISON_HEAD : 0;
    size_t to = block - word - TEST_POISON_HEAD;
    if (to > 64) {
        to = 64;
    }
    assert_true(to - from >= 32);
    for (size_t i = from; i < to; ++i) {
        unsigned char saved = p[i];
        p[i] = 0xAA;
        assert_int_equal(multi_heap_check(scene.heap, false), LEVEL != COMPREHENSIVE);
        p[i] = saved;
        assert_true(multi_heap_check(scene.heap, false));
    }
    multi_heap_free(scene.heap, guard);
}

#define SCENE_TEST(fn) cmocka_unit_test_setup_teardown(fn, set_scene, clear_scene)

int main(void)
{
    const struct CMUnitTest tests[] = {
        SCENE_TEST(underrun_of_the_head),
        SCENE_TEST(overrun_by_one_byte),
        SCENE_TEST(write_after_free),
        SCENE_TEST(double_free),
        SCENE_TEST(free_of_a_foreign_pointer),
        SCENE_TEST(free_of_an_interior_pointer),
        SCENE_TEST(free_of_a_disguised_interior_pointer),
        SCENE_TEST(smashed_size_word),
        SCENE_TEST(smashed_free_list_link),
        SCENE_TEST(canaries_sit_where_the_layout_says),
        SCENE_TEST(freed_memory_holds_the_free_pattern),
        SCENE_TEST(every_byte_of_a_freed_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
