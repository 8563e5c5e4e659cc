/*
 * fuzz_common.c — the shared part of the harnesses (fuzz_common.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "fuzz_common.h"

#include <time.h>

uint8_t *fz_pattern;
const char *fz_harness = "fuzz";
uint64_t fz_operations, fz_inputs;
bool fz_trace;
bool fz_known_bugs;

static struct timespec started;

static void print_summary(void);

void fz_pattern_init(size_t longest_block)
{
    size_t bytes = longest_block + FZ_PATTERN_SPAN;
    fz_pattern = malloc(bytes);
    if (!fz_pattern) {
        fprintf(stderr, "%s: no memory for the pattern\n", fz_harness);
        abort();
    }
    uint64_t state = 0x9E3779B97F4A7C15u; /* xorshift64: the same table on every host */
    for (size_t i = 0; i < bytes; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        fz_pattern[i] = (uint8_t)(state >> 24);
    }
}

void fz_fail(const char *format, ...)
{
    fprintf(stderr, "\n%s: MODEL MISMATCH at operation %ju of input %ju: ", fz_harness,
            (uintmax_t)fz_operations, (uintmax_t)fz_inputs);
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\n(replay the input with HEAPCAPS_FUZZ_TRACE=1 to see every operation)\n");
    print_summary(); /* abort() skips atexit: the operations run so far still count */
    fflush(stderr);
    abort();
}

/* The line run.sh and the ctest read: operations executed by this process. */
static void print_summary(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double seconds =
        (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
    fprintf(stderr, "%s: %ju operations in %ju inputs, %.1f s, %.0f operations/s\n", fz_harness,
            (uintmax_t)fz_operations, (uintmax_t)fz_inputs, seconds,
            seconds > 0 ? (double)fz_operations / seconds : 0.0);
}

void fz_init(const char *harness, size_t longest_block)
{
    fz_harness = harness;
    fz_pattern_init(longest_block);
    const char *trace = getenv("HEAPCAPS_FUZZ_TRACE");
    fz_trace = trace && *trace && strcmp(trace, "0") != 0;
    const char *known = getenv("HEAPCAPS_FUZZ_KNOWN_BUGS");
    fz_known_bugs = known && *known && strcmp(known, "0") != 0;
    clock_gettime(CLOCK_MONOTONIC, &started);
    atexit(print_summary);
}
