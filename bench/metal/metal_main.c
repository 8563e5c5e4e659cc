/* metal_main.c — the Cortex-M4 benchmark: bench/workloads.c on QEMU's mps2-an386, every call
 * counted in instructions.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Runs under qemu-system-arm -M mps2-an386 -icount shift=7 (bench/metal.sh). With -icount,
 * QEMU's virtual clock advances by 2^7 ns per executed instruction, and the board's CMSDK
 * timer counts 25 MHz ticks of that clock, so the ticks between two timer reads give the
 * number of instructions executed between them exactly (3.2 ticks each, the reads are off by
 * less than one tick). Every allocator call goes through metal_timed_call (timed_call.S) and
 * the adapters of bench/adapters.c; the empty adapters, timed the same way, give the
 * instructions to subtract, as on the host. The self-test checks the whole chain against
 * functions of known length before anything is measured.
 *
 * Implements the measured calls of bench/meter.h for bench/workloads.c; bookkeeping memory
 * comes from newlib's malloc, outside the measured arena.
 *
 * Usage (arguments through semihosting):
 *   metal_bench --workload W1|W2|W3|W4|W5|Fill [--arena BYTES] [--steps N] [--dump]
 *               [--stop-before K]
 * --steps N      W1/W2: N steps, W3/W4: N calls (as heapcaps_bench --steps).
 * --dump         a "window" line per timed window (self-test and calibration included) and a
 *                "call" line per allocator call, for the trace cross-check.
 * --stop-before K  call metal_before_call() just before call K (0-based), for a debugger.
 * Output: "tag key=value ..." records, one per line (bench/metal.sh reads them). Numbers are
 * printed as unsigned long / long long: this newlib's printf has no %zu, and its <inttypes.h>
 * (over gcc's <stdint.h>) no PRIu64.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters.h"
#include "meter.h"
#include "workloads.h"

/* timed_call.S */
typedef void (*metal_fn_t)(void);
uint32_t metal_timed_call(metal_fn_t fn, uintptr_t a0, uintptr_t a1, uintptr_t *result);
void metal_known_1(void);
void metal_known_2(void);
void metal_known_3(void);
void metal_known_7(void);
void metal_known_50(void);
void metal_known_149(void);
void metal_known_150(void);
void metal_known_151(void);
void metal_known_1000(void);
void metal_known_4097(void);

void metal_before_call(void);

/* CMSDK APB timer 0 of the MPS2 boards. */
#define TIMER0_CTRL   (*(volatile uint32_t *)0x40000000u)
#define TIMER0_VALUE  (*(volatile uint32_t *)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)

/* Must match bench/metal.sh's -icount shift. */
#define ICOUNT_SHIFT    7
#define TIMER_PERIOD_NS 40u /* 25 MHz */
#define TARGET_PER_CALL 150u

static const char *const s_kind_names[KIND_COUNT] = {"malloc_ok", "malloc_failed", "free",
                                                     "realloc_ok", "realloc_failed"};
static const char *const s_sig_names[SIG_COUNT] = {"malloc", "free", "realloc"};

typedef struct {
    uint64_t calls, sum, over_target;
    uint32_t max;
    uint64_t max_call; /* index of the first call with the maximum */
} kind_record_t;

static const bench_allocator_t *s_alloc;
static uint64_t s_calls;
static uint32_t s_overhead[SIG_COUNT]; /* instructions between the reads, empty adapter */
static kind_record_t s_kinds[KIND_COUNT];
static bool s_dump;
static uint64_t s_stop_before = UINT64_MAX;

_Noreturn void bench_fatal(const char *message)
{
    fflush(stdout);
    fprintf(stderr, "metal_bench: %s\n", message);
    exit(2);
}

void *scratch_alloc(size_t bytes)
{
    void *ptr = calloc(1, bytes);
    if (ptr == NULL) {
        bench_fatal("out of bookkeeping memory (newlib heap)");
    }
    return ptr;
}

void scratch_free(void *ptr, size_t bytes)
{
    (void)bytes;
    free(ptr);
}

/* A breakpoint target for bench/metal.sh --explain: called just before call --stop-before. */
__attribute__((noinline, used)) void metal_before_call(void)
{
    __asm__ volatile("" ::: "memory");
}

/* Instructions executed from the first timer read (exclusive) to the second (inclusive). */
static uint32_t timed_instructions(metal_fn_t fn, uintptr_t a0, uintptr_t a1, uintptr_t *result)
{
    uint64_t ticks = metal_timed_call(fn, a0, a1, result);
    /* 2^ICOUNT_SHIFT ns per instruction; each read is off by less than one tick, so the
     * nearest integer is exact. */
    uint32_t count =
        (uint32_t)((ticks * TIMER_PERIOD_NS + (1u << (ICOUNT_SHIFT - 1))) >> ICOUNT_SHIFT);
    if (s_dump) {
        /* Every timed window, in order: what the trace cross-check compares. */
        printf("window raw=%lu\n", (unsigned long)count);
    }
    return count;
}

static void timer_start(void)
{
    TIMER0_CTRL = 0;
    TIMER0_RELOAD = UINT32_MAX;
    TIMER0_VALUE = UINT32_MAX;
    TIMER0_CTRL = 1; /* enabled, no interrupt */
}

/* The same count every time, or the measurement cannot be trusted. */
static uint32_t timed_repeatably(metal_fn_t fn, uintptr_t a0, uintptr_t a1, const char *what)
{
    uintptr_t ignored;
    uint32_t first = timed_instructions(fn, a0, a1, &ignored);
    for (int i = 0; i < 7; i++) {
        if (timed_instructions(fn, a0, a1, &ignored) != first) {
            fprintf(stderr, "metal_bench: %s: different counts on repeated calls\n", what);
            bench_fatal("not run with -icount shift=7?");
        }
    }
    return first;
}

/* Functions of known length must count as their length plus one fixed call overhead. */
static void self_test(void)
{
    static const struct {
        metal_fn_t fn;
        uint32_t length;
    } known[] = {
        {metal_known_1, 1},       {metal_known_2, 2},     {metal_known_3, 3},
        {metal_known_7, 7},       {metal_known_50, 50},   {metal_known_149, 149},
        {metal_known_150, 150},   {metal_known_151, 151}, {metal_known_1000, 1000},
        {metal_known_4097, 4097},
    };
    enum { KNOWN_COUNT = sizeof known / sizeof known[0] };
    uint32_t overhead = timed_repeatably(metal_known_1, 0, 0, "metal_known_1") - 1;
    uint32_t counts[KNOWN_COUNT];
    bool ok = true;
    for (size_t i = 0; i < KNOWN_COUNT; i++) {
        counts[i] = timed_repeatably(known[i].fn, 0, 0, "known-length function") - overhead;
        ok = ok && counts[i] == known[i].length;
    }
    /* Printed afterwards: with --dump the measurements print lines of their own. */
    printf("selftest");
    for (size_t i = 0; i < KNOWN_COUNT; i++) {
        printf(" %lu=%lu", (unsigned long)known[i].length, (unsigned long)counts[i]);
    }
    printf(" call_overhead=%lu result=%s\n", (unsigned long)overhead, ok ? "ok" : "FAILED");
    if (!ok) {
        bench_fatal("self-test failed: a function of known length counts wrong "
                    "(not run with -icount shift=7?)");
    }
}

static void calibrate(const bench_allocator_t *alloc)
{
    s_overhead[SIG_MALLOC] =
        timed_repeatably((metal_fn_t)alloc->malloc_empty, 0, 0, "empty malloc");
    s_overhead[SIG_FREE] = timed_repeatably((metal_fn_t)alloc->free_empty, 0, 0, "empty free");
    s_overhead[SIG_REALLOC] =
        timed_repeatably((metal_fn_t)alloc->realloc_empty, 0, 0, "empty realloc");
    for (int sig = 0; sig < SIG_COUNT; sig++) {
        printf("empty sig=%s instructions=%lu\n", s_sig_names[sig], (unsigned long)s_overhead[sig]);
    }
}

static uintptr_t measured_call(call_sig_t sig, metal_fn_t fn, uintptr_t a0, uintptr_t a1,
                               call_kind_t ok_kind, call_kind_t failed_kind)
{
    if (s_calls == s_stop_before) {
        metal_before_call();
    }
    uintptr_t result;
    uint32_t raw = timed_instructions(fn, a0, a1, &result);
    if (raw < s_overhead[sig]) {
        bench_fatal("a call counted fewer instructions than the empty adapter");
    }
    uint32_t count = raw - s_overhead[sig];
    call_kind_t kind = sig == SIG_FREE || result != 0 ? ok_kind : failed_kind;
    kind_record_t *k = &s_kinds[kind];
    if (k->calls == 0 || count > k->max) {
        k->max = count;
        k->max_call = s_calls;
    }
    k->calls++;
    k->sum += count;
    k->over_target += count > TARGET_PER_CALL;
    if (s_dump) {
        printf("call index=%llu kind=%s count=%lu\n", (unsigned long long)s_calls,
               s_kind_names[kind], (unsigned long)count);
    }
    s_calls++;
    return result;
}

uint64_t meter_calls(void)
{
    return s_calls;
}

void *meter_malloc(size_t size)
{
    const adapter_set_t *set = &s_alloc->adapters[SET_OTHER];
    return (void *)measured_call(SIG_MALLOC, (metal_fn_t)set->malloc_ok, size, 0, KIND_MALLOC_OK,
                                 KIND_MALLOC_FAILED);
}

void meter_free(void *ptr)
{
    const adapter_set_t *set = &s_alloc->adapters[SET_OTHER];
    (void)measured_call(SIG_FREE, (metal_fn_t)set->free, (uintptr_t)ptr, 0, KIND_FREE, KIND_FREE);
}

void *meter_realloc(void *ptr, size_t size)
{
    const adapter_set_t *set = &s_alloc->adapters[SET_OTHER];
    return (void *)measured_call(SIG_REALLOC, (metal_fn_t)set->realloc_ok, (uintptr_t)ptr, size,
                                 KIND_REALLOC_OK, KIND_REALLOC_FAILED);
}

static _Noreturn void usage(void)
{
    bench_fatal("usage: metal_bench --workload W1|W2|W3|W4|W5|Fill [--arena BYTES] [--steps N] "
                "[--dump] [--stop-before K]");
}

static uint64_t parse_count(const char *text)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 0);
    if (*text == '\0' || *end != '\0') {
        usage();
    }
    return value;
}

static void print_results(const workload_t *workload, size_t arena, const workload_result_t *result)
{
    printf("bench workload=%s arena=%lu alloc=%s calls=%llu\n", workload->name,
           (unsigned long)arena, s_alloc->name, (unsigned long long)s_calls);
    if (workload->has_main_loop) {
        printf("main length=%llu capped=%d\n", (unsigned long long)result->main_length,
               result->capped);
    }
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        const kind_record_t *k = &s_kinds[kind];
        printf("kind name=%s calls=%llu sum=%llu max=%lu max_call=%llu over_%u=%llu\n",
               s_kind_names[kind], (unsigned long long)k->calls, (unsigned long long)k->sum,
               (unsigned long)k->max, (unsigned long long)k->max_call, TARGET_PER_CALL,
               (unsigned long long)k->over_target);
    }
    if (workload->has_main_loop) {
        printf("figures largest_end=%lu largest_empty=%lu\n", (unsigned long)result->largest_end,
               (unsigned long)result->largest_empty);
    } else if (strcmp(workload->name, "W5") == 0) {
        printf("figures largest_fresh=%lu largest_fragmented=%lu largest_final=%lu "
               "fill_blocks=%llu blocks_256=%llu refill_blocks=%llu\n",
               (unsigned long)result->largest[0], (unsigned long)result->largest[1],
               (unsigned long)result->largest[2], (unsigned long long)result->fill_blocks,
               (unsigned long long)result->blocks_256, (unsigned long long)result->refill_blocks);
    } else {
        printf("fill");
        for (int s = 0; s < FILL_SIZE_COUNT; s++) {
            printf(" %lu=%llu", (unsigned long)fill_sizes[s],
                   (unsigned long long)result->fill_count[s]);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    const char *workload_name = NULL;
    uint64_t arena = 256 * 1024, steps = UINT64_MAX;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--dump") == 0) {
            s_dump = true;
            continue;
        }
        if (value == NULL) {
            usage();
        }
        if (strcmp(arg, "--workload") == 0) {
            workload_name = value;
        } else if (strcmp(arg, "--arena") == 0) {
            arena = parse_count(value);
        } else if (strcmp(arg, "--steps") == 0) {
            steps = parse_count(value);
        } else if (strcmp(arg, "--stop-before") == 0) {
            s_stop_before = parse_count(value);
        } else {
            usage();
        }
        i++;
    }
    const workload_t *workload = workload_name != NULL ? find_workload(workload_name) : NULL;
    s_alloc = bench_find_allocator("heapcaps");
    if (workload == NULL || s_alloc == NULL || arena == 0 || arena > BENCH_MAX_ARENA) {
        usage();
    }

    /* Semihosting writes are slow: one per buffer, not per line. */
    static char stdout_buffer[1 << 12];
    setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);

    timer_start();
    self_test();
    calibrate(s_alloc);

    workload_params_t params = {(size_t)arena, workload->has_main_loop ? steps : UINT64_MAX};
    workload_result_t result;
    memset(&result, 0, sizeof result);
    workload->run(s_alloc, &params, &result);
    print_results(workload, (size_t)arena, &result);
    return 0;
}
