/*
 * trace_input_bench.c — how fast tools/trace_input.c reads our CSV trace
 * format: generates 10 million operations in memory (mallocs, callocs,
 * aligned allocations, reallocs and frees of hex-address tokens that are
 * reused after their free, with caps and timestamps), parses them with
 * trace_parse() and prints operations per second. `heapcaps replay` needs
 * at least 5 million a second, reading included.
 *
 *   trace_input_bench [--ops N] [--callers] [--file PATH]
 *
 * --callers adds the optional callers column; --file also writes the trace
 * to PATH and times trace_read() on it (reading the file included).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace_input.h"

#define MAX_LIVE  4096  /* live blocks at most, like a busy application */
#define ADDRESSES 32768 /* distinct block addresses: a few MiB of heap, 64-byte steps */

typedef struct {
    char *text;
    size_t length;
    size_t capacity;
} text_t;

static void append(text_t *t, const char *s, size_t n)
{
    if (t->length + n > t->capacity) {
        t->capacity = (t->length + n) * 2;
        t->text = realloc(t->text, t->capacity);
        if (!t->text) {
            fprintf(stderr, "trace_input_bench: out of memory\n");
            exit(1);
        }
    }
    memcpy(t->text + t->length, s, n);
    t->length += n;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint32_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* A CSV trace of `ops` operations whose tokens are addresses. A freed
 * address goes back on a stack and new blocks mostly take one of the
 * latest freed, as an allocator does, so a token is reused many times. */
static void generate(text_t *out, size_t ops, bool callers)
{
    static const uint32_t caps[] = {0, 0, 0, 0x1800, 0x804, 0x808, 0x400, 0x1000};
    static const char *const chains[] = {"0x400d1234:0x400d5678", "0x400e0010:0x400d5678",
                                         "0x40081a2c:0x400e3344", "0x42001234:0x42005678"};
    uint32_t *live = malloc(MAX_LIVE * sizeof *live);
    uint32_t *unused = malloc(ADDRESSES * sizeof *unused);
    size_t live_count = 0;
    size_t unused_count = ADDRESSES;
    for (size_t i = 0; i < ADDRESSES; ++i) {
        unused[i] = 0x3f800000u + (uint32_t)(ADDRESSES - 1 - i) * 64;
    }
    uint64_t now = 1000;
    char line[160];
    const char *header = callers ? "op,id,size,caps,alignment,timestamp,callers\n"
                                 : "op,id,size,caps,alignment,timestamp\n";
    append(out, header, strlen(header));
    for (size_t i = 0; i < ops; ++i) {
        now += 1 + next_random() % 500;
        uint32_t dice = next_random() % 100;
        int n;
        const char *chain = callers ? chains[next_random() % 4] : NULL;
        char tail[64];
        snprintf(tail, sizeof tail, "%" PRIu64 "%s%s\n", now, chain ? "," : "", chain ? chain : "");
        if (live_count && (dice < 40 || live_count == MAX_LIVE)) {
            size_t k = next_random() % live_count;
            uint32_t address = live[k];
            live[k] = live[--live_count];
            unused[unused_count++] = address;
            n = snprintf(line, sizeof line, "free,0x%08" PRIx32 ",,,,%s", address, tail);
        } else if (live_count && dice < 55) {
            size_t k = next_random() % live_count;
            n = snprintf(line, sizeof line, "realloc,0x%08" PRIx32 ",%" PRIu32 ",0x%" PRIx32 ",,%s",
                         live[k], 1 + next_random() % 2048, caps[next_random() % 8], tail);
        } else {
            /* One of the 64 latest freed addresses. */
            size_t pick =
                unused_count - 1 - next_random() % (unused_count < 64 ? unused_count : 64);
            uint32_t address = unused[pick];
            unused[pick] = unused[--unused_count];
            live[live_count++] = address;
            uint32_t size = dice < 90 ? 1 + next_random() % 256 : 1 + next_random() % 16384;
            uint32_t cap = caps[next_random() % 8];
            if (dice < 62) {
                n = snprintf(line, sizeof line,
                             "aligned,0x%08" PRIx32 ",%" PRIu32 ",%" PRIu32 ",%u,%s", address, size,
                             cap, 16u << (next_random() % 4), tail);
            } else if (dice < 70) {
                n = snprintf(line, sizeof line,
                             "calloc,0x%08" PRIx32 ",%" PRIu32 ",%" PRIu32 ",,%s", address, size,
                             cap, tail);
            } else {
                n = snprintf(line, sizeof line,
                             "malloc,0x%08" PRIx32 ",%" PRIu32 ",0x%" PRIx32 ",,%s", address, size,
                             cap, tail);
            }
        }
        append(out, line, (size_t)n);
    }
    free(live);
    free(unused);
}

typedef struct {
    double wall;
    double cpu; /* this process's: less disturbed by other load on the machine */
} stamp_t;

static stamp_t stamp_now(void)
{
    struct timespec wall, cpu;
    clock_gettime(CLOCK_MONOTONIC, &wall);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    return (stamp_t){(double)wall.tv_sec + (double)wall.tv_nsec * 1e-9,
                     (double)cpu.tv_sec + (double)cpu.tv_nsec * 1e-9};
}

static void report(const char *what, const trace_t *trace, size_t bytes, stamp_t start)
{
    stamp_t end = stamp_now();
    double wall = end.wall - start.wall;
    double cpu = end.cpu - start.cpu;
    printf("%-22s %zu operations, %.1f MB: %.3f s (%.3f s CPU): %.2f million operations/s "
           "(%.2f per CPU second), %.0f MB/s\n",
           what, trace->count, (double)bytes / 1e6, wall, cpu, (double)trace->count / wall / 1e6,
           (double)trace->count / cpu / 1e6, (double)bytes / wall / 1e6);
}

int main(int argc, char **argv)
{
    size_t ops = 10000000;
    bool callers = false;
    const char *path = NULL;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
            ops = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--callers")) {
            callers = true;
        } else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "usage: trace_input_bench [--ops N] [--callers] [--file PATH]\n");
            return 2;
        }
    }
    text_t text = {0};
    generate(&text, ops, callers);
    trace_t trace;
    trace_error_t error;
    for (int run = 1; run <= 3; ++run) {
        stamp_t start = stamp_now();
        if (!trace_parse(text.text, text.length, "generated", TRACE_FREES_LATE, &trace, &error)) {
            fprintf(stderr, "trace_input_bench: %s\n", error.message);
            return 1;
        }
        char what[32];
        snprintf(what, sizeof what, "trace_parse, run %d:", run);
        report(what, &trace, text.length, start);
        trace_free(&trace);
    }
    if (path) {
        FILE *file = fopen(path, "wb");
        if (!file || fwrite(text.text, 1, text.length, file) != text.length || fclose(file)) {
            fprintf(stderr, "trace_input_bench: cannot write %s\n", path);
            return 1;
        }
        stamp_t start = stamp_now();
        if (!trace_read(path, TRACE_FREES_LATE, &trace, &error)) {
            fprintf(stderr, "trace_input_bench: %s\n", error.message);
            return 1;
        }
        report("trace_read (file):", &trace, text.length, start);
        trace_free(&trace);
    }
    free(text.text);
    return 0;
}
