/*
 * test_trace_input.c — tools/trace_input.c, the reader of `heapcaps replay`:
 * our CSV and JSONL formats, ESP-IDF's heap_trace_dump() text of v5.0,
 * v5.1-v5.4 and v5.5+ in both modes, the inference of free times from a dump
 * (reuse, the late and early policies, live blocks, overlaps), and every
 * kind of malformed input, which must be refused with its line and what is
 * wrong — including garbage and mutated traces, which must never crash.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* fdopen, mkstemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "trace_input.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static trace_t trace;
static trace_error_t error;

static int release(void **state)
{
    (void)state;
    trace_free(&trace);
    return 0;
}

/* What every accepted trace must be, whatever its format: ids dense and in
 * order of first use, an allocation on a new id, realloc and free of a live
 * one, callers in range. */
static void assert_consistent(const trace_t *t)
{
    uint8_t *state = calloc(t->id_count + 1, 1); /* 0 unused, 1 live, 2 freed */
    assert_non_null(state);
    uint32_t next_id = 0;
    size_t live = 0;
    for (size_t i = 0; i < t->count; ++i) {
        const trace_op_t *op = &t->ops[i];
        if (op->id >= t->id_count || op->kind > TRACE_FREE || op->line == 0 ||
            (op->callers != TRACE_NONE && op->callers >= t->caller_count)) {
            fail_msg("op %zu: id %u of %zu, kind %u, line %u, callers %u of %zu", i, op->id,
                     t->id_count, op->kind, op->line, op->callers, t->caller_count);
        }
        switch (op->kind) {
        case TRACE_REALLOC:
            if (state[op->id] != 1) {
                fail_msg("op %zu: realloc of id %u, which is not live", i, op->id);
            }
            break;
        case TRACE_FREE:
            if (state[op->id] != 1) {
                fail_msg("op %zu: free of id %u, which is not live", i, op->id);
            }
            state[op->id] = 2;
            live--;
            break;
        default:
            if (op->id != next_id || state[op->id] != 0) {
                fail_msg("op %zu: allocation of id %u, expected the new id %u", i, op->id, next_id);
            }
            if (op->size == 0 || (op->kind == TRACE_ALIGNED) != (op->alignment != 0)) {
                fail_msg("op %zu: size %u, alignment %u", i, op->size, op->alignment);
            }
            next_id++;
            state[op->id] = 1;
            live++;
            break;
        }
    }
    assert_int_equal(next_id, t->id_count);
    if (t->format == TRACE_FORMAT_ESP_IDF_DUMP) {
        assert_int_equal(live, t->live_at_end);
    }
    for (size_t i = 0; i < t->caller_count; ++i) {
        assert_non_null(t->callers[i]);
        assert_true(strlen(t->callers[i]) > 0);
    }
    free(state);
}

static bool parse_with(const char *text, trace_free_policy_t policy)
{
    trace_free(&trace);
    bool ok = trace_parse(text, strlen(text), "test", policy, &trace, &error);
    if (ok) {
        assert_consistent(&trace);
    }
    return ok;
}

static void parse_ok_with(const char *text, trace_free_policy_t policy)
{
    if (!parse_with(text, policy)) {
        fail_msg("rejected: %s (line %zu)", error.message, error.line);
    }
}

static void parse_ok(const char *text)
{
    parse_ok_with(text, TRACE_FREES_LATE);
}

/* Refused on `line` with a message holding `fragment`, and nothing left. */
static void assert_refused(const char *text, size_t line, const char *fragment)
{
    if (parse_with(text, TRACE_FREES_LATE)) {
        fail_msg("accepted, expected line %zu: ...%s...\n%s", line, fragment, text);
    }
    if (error.line != line || !strstr(error.message, fragment)) {
        fail_msg("got line %zu '%s', expected line %zu with '%s'", error.line, error.message, line,
                 fragment);
    }
    if (line) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "line %zu: ", line);
        assert_memory_equal(error.message, prefix, strlen(prefix));
    }
    assert_null(trace.ops);
    assert_int_equal(trace.count, 0);
    assert_null(trace.callers);
}

static void assert_op(size_t index, trace_kind_t kind, uint32_t id, uint32_t size, uint32_t line)
{
    if (index >= trace.count) {
        fail_msg("op %zu of %zu", index, trace.count);
    }
    const trace_op_t *op = &trace.ops[index];
    if (op->kind != kind || op->id != id || op->size != size || op->line != line) {
        fail_msg("op %zu: kind %u id %u size %u line %u, expected kind %d id %u size %u line %u",
                 index, op->kind, op->id, op->size, op->line, kind, id, size, line);
    }
}

/* xorshift64: the same stream on every machine. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static const char *callers_of(size_t index)
{
    assert_true(index < trace.count);
    uint32_t callers = trace.ops[index].callers;
    return callers == TRACE_NONE ? "" : trace.callers[callers];
}

/* ---- CSV ------------------------------------------------------------------ */

static void csv_every_operation(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n"
             "malloc,0x3ffb1000,16,0x1800,,100\n"
             "calloc,0x3ffb2000,32,4,0,0x200\n"
             "aligned,0x3ffb3000,64,0x800,16,300\n"
             "realloc,0x3ffb1000,48,0x1800,,\n"
             "free,0x3ffb2000,,,,500\n"
             "free,0x3ffb3000,,,,600\n");
    assert_int_equal(trace.format, TRACE_FORMAT_CSV);
    assert_string_equal(trace.format_version, "1");
    assert_false(trace.frees_inferred);
    assert_int_equal(trace.count, 6);
    assert_int_equal(trace.id_count, 3);
    assert_op(0, TRACE_MALLOC, 0, 16, 2);
    assert_op(1, TRACE_CALLOC, 1, 32, 3);
    assert_op(2, TRACE_ALIGNED, 2, 64, 4);
    assert_op(3, TRACE_REALLOC, 0, 48, 5);
    assert_op(4, TRACE_FREE, 1, 0, 6);
    assert_op(5, TRACE_FREE, 2, 0, 7);
    assert_int_equal(trace.ops[0].caps, 0x1800);
    assert_int_equal(trace.ops[1].caps, 4);
    assert_int_equal(trace.ops[2].alignment, 16);
    assert_int_equal(trace.ops[0].alignment, 0);
    assert_int_equal(trace.ops[0].time, 100);
    assert_int_equal(trace.ops[1].time, 0x200);
    assert_int_equal(trace.ops[3].time, 0);
    assert_int_equal(trace.ops[5].time, 600);
    assert_int_equal(trace.ops[0].callers, TRACE_NONE);
    assert_int_equal(trace.unknown_frees, 0);
}

static void csv_caps_empty_or_zero_is_the_default_policy(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n"
             "malloc,a,1,,,\n"
             "malloc,b,1,0,,\n"
             "malloc,c,1,0x0,,\n"
             "malloc,d,1,0xFFFFFFFF,,\n");
    assert_int_equal(trace.ops[0].caps, TRACE_CAPS_DEFAULT_POLICY);
    assert_int_equal(trace.ops[1].caps, TRACE_CAPS_DEFAULT_POLICY);
    assert_int_equal(trace.ops[2].caps, TRACE_CAPS_DEFAULT_POLICY);
    assert_int_equal(trace.ops[3].caps, UINT32_MAX);
}

static void csv_comments_blank_lines_and_crlf_anywhere(void **state)
{
    (void)state;
    parse_ok("# recorded on an ESP32-S3\r\n"
             "\r\n"
             "   \t\n"
             "op,id,size,caps,alignment,timestamp\r\n"
             "# the first block\r\n"
             "malloc,x,8,,,1\r\n"
             "\n"
             "free,x,,,,2\r\n"
             "# the end");
    assert_int_equal(trace.count, 2);
    assert_op(0, TRACE_MALLOC, 0, 8, 6);
    assert_op(1, TRACE_FREE, 0, 0, 8);
    assert_int_equal(trace.ops[1].time, 2);
}

static void csv_byte_order_mark_is_skipped(void **state)
{
    (void)state;
    parse_ok("\xef\xbb\xbfop,id,size,caps,alignment,timestamp\nmalloc,a,4,,,\n");
    assert_int_equal(trace.count, 1);
}

static void csv_header_only_is_an_empty_trace(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n");
    assert_int_equal(trace.format, TRACE_FORMAT_CSV);
    assert_int_equal(trace.count, 0);
    assert_int_equal(trace.id_count, 0);
}

static void csv_callers_column_shares_equal_chains(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp,callers\n"
             "malloc,1,10,,,,0x400d1234:0x400d5678\n"
             "malloc,2,20,,,,0x400e0000\n"
             "malloc,3,30,,,,0x400d1234:0x400d5678\n"
             "free,1,,,,,\n"
             "free,2,,,,,0x400e0000\n");
    assert_int_equal(trace.caller_count, 2);
    assert_string_equal(callers_of(0), "0x400d1234:0x400d5678");
    assert_string_equal(callers_of(1), "0x400e0000");
    assert_int_equal(trace.ops[2].callers, trace.ops[0].callers);
    assert_int_equal(trace.ops[3].callers, TRACE_NONE);
    assert_int_equal(trace.ops[4].callers, trace.ops[1].callers);
}

static void csv_token_allocated_again_after_free_is_a_new_id(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n"
             "malloc,0x3ffb0000,16,,,\n"
             "free,0x3ffb0000,,,,\n"
             "malloc,0x3ffb0000,32,,,\n"
             "realloc,0x3ffb0000,64,,,\n"
             "free,0x3ffb0000,,,,\n"
             "calloc,0x3ffb0000,8,,,\n");
    assert_int_equal(trace.id_count, 3);
    assert_op(0, TRACE_MALLOC, 0, 16, 2);
    assert_op(1, TRACE_FREE, 0, 0, 3);
    assert_op(2, TRACE_MALLOC, 1, 32, 4);
    assert_op(3, TRACE_REALLOC, 1, 64, 5);
    assert_op(4, TRACE_FREE, 1, 0, 6);
    assert_op(5, TRACE_CALLOC, 2, 8, 7);
}

static void csv_realloc_of_nothing_and_to_zero(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n"
             "realloc,p,24,0x4,,7\n" /* realloc(NULL, 24): a malloc */
             "realloc,p,0,,,8\n"     /* realloc(p, 0): a free */
             "realloc,q,0,,,9\n"     /* realloc(NULL, 0) of nothing: an unknown free */
             "realloc,p,40,,,10\n"); /* p again: a new block */
    assert_int_equal(trace.count, 3);
    assert_op(0, TRACE_MALLOC, 0, 24, 2);
    assert_int_equal(trace.ops[0].caps, 4);
    assert_op(1, TRACE_FREE, 0, 0, 3);
    assert_int_equal(trace.ops[1].time, 8);
    assert_op(2, TRACE_MALLOC, 1, 40, 5);
    assert_int_equal(trace.unknown_frees, 1);
}

static void csv_unknown_frees_are_counted_and_left_out(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n"
             "free,0xdeadbeef,,,,\n" /* allocated before the trace began */
             "malloc,a,4,,,\n"
             "free,a,,,,\n"
             "free,a,,,,\n"); /* twice */
    assert_int_equal(trace.count, 2);
    assert_int_equal(trace.unknown_frees, 2);
}

static void csv_free_ignores_size_caps_and_alignment(void **state)
{
    (void)state;
    parse_ok("op,id,size,caps,alignment,timestamp\n"
             "malloc,a,4,,,\n"
             "free,a,4,whatever,-1,0x10\n");
    assert_op(1, TRACE_FREE, 0, 0, 3);
    assert_int_equal(trace.ops[1].time, 16);
}

static void csv_long_tokens_and_many_tokens(void **state)
{
    (void)state;
    /* Tokens above and below the slot's inline length, reused after frees,
     * and enough of them to grow the table many times. */
    enum { BLOCKS = 20000 };
    size_t room = (size_t)BLOCKS * 3 * 80 + 64;
    char *text = malloc(room);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, room, "op,id,size,caps,alignment,timestamp\n");
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < BLOCKS; ++i) {
            n += (size_t)snprintf(text + n, room - n, "malloc,%s%d,%d,,,\n",
                                  i % 2 ? "a-rather-long-token-name-" : "t", i, i + 1);
        }
        for (int i = 0; i < BLOCKS; i += 2) {
            n += (size_t)snprintf(text + n, room - n, "free,%s%d,,,,\n",
                                  i % 2 ? "a-rather-long-token-name-" : "t", i);
        }
        for (int i = 1; i < BLOCKS; i += 2) {
            n += (size_t)snprintf(text + n, room - n, "free,%s%d,,,,\n",
                                  i % 2 ? "a-rather-long-token-name-" : "t", i);
        }
    }
    parse_ok(text);
    assert_int_equal(trace.count, 4 * BLOCKS);
    assert_int_equal(trace.id_count, 2 * BLOCKS);
    assert_op(2 * BLOCKS, TRACE_MALLOC, BLOCKS, 1, 2 * BLOCKS + 2);
    assert_op(BLOCKS, TRACE_FREE, 0, 0, BLOCKS + 2);
    assert_op(BLOCKS + BLOCKS / 2, TRACE_FREE, 1, 0, BLOCKS + BLOCKS / 2 + 2);
    free(text);
}

static void csv_huge_line(void **state)
{
    (void)state;
    /* A megabyte id and a megabyte caller chain are accepted... */
    size_t big = (size_t)1 << 20;
    size_t room = 3 * big + 256;
    char *text = malloc(room);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, room, "op,id,size,caps,alignment,timestamp,callers\nmalloc,");
    memset(text + n, 'k', big);
    n += big;
    n += (size_t)snprintf(text + n, room - n, ",8,,,,");
    for (size_t i = 0; i < big / 11; ++i) {
        n += (size_t)snprintf(text + n, room - n, "0x400d%04zx:", i & 0xffff);
    }
    n += (size_t)snprintf(text + n, room - n, "\nfree,");
    memset(text + n, 'k', big);
    n += big;
    snprintf(text + n, room - n, ",,,,,\n");
    parse_ok(text);
    assert_int_equal(trace.count, 2);
    assert_op(1, TRACE_FREE, 0, 0, 3);
    assert_true(strlen(trace.callers[0]) > big / 2);
    /* ...and a megabyte of garbage is refused with a short quote of it. */
    n = (size_t)snprintf(text, room, "op,id,size,caps,alignment,timestamp\nmalloc,a,");
    memset(text + n, '7', big);
    snprintf(text + n + big, room - n - big, "x,,,\n");
    assert_refused(text, 2, "size '7777");
    assert_non_null(strstr(error.message, "...' is not a number"));
    assert_true(strlen(error.message) < 200);
    free(text);
}

static void csv_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *body; /* after the header line */
        const char *message;
    } cases[] = {
        {"mallocc,a,1,,,\n", "unknown operation 'mallocc' (expected malloc, calloc, aligned, "
                             "realloc or free)"},
        {"MALLOC,a,1,,,\n", "unknown operation 'MALLOC'"},
        {",a,1,,,\n", "unknown operation ''"},
        {"malloc,a,abc,,,\n", "size 'abc' is not a number (expected decimal bytes)"},
        {"malloc,a,0x10,,,\n", "size '0x10' is not a number"},
        {"malloc,a, 16,,,\n", "size ' 16' is not a number"},
        {"malloc,a,-16,,,\n", "size '-16' is not a number"},
        {"malloc,a,16,,\n", "5 fields, expected 6 (op,id,size,caps,alignment,timestamp)"},
        {"malloc,a,16,,,,\n", "7 fields, expected 6"},
        {"malloc\n", "1 fields, expected 6"},
        {"malloc,a,4294967296,,,\n", "size '4294967296' does not fit 32 bits"},
        {"malloc,a,99999999999999999999999,,,\n", "does not fit 32 bits"},
        {"malloc,a,1,0x100000000,,\n", "caps '0x100000000' does not fit 32 bits"},
        {"malloc,a,1,4294967296,,\n", "caps '4294967296' does not fit 32 bits"},
        {"malloc,a,1,0xg,,\n", "caps '0xg' is not a number (expected decimal or 0x-hex"},
        {"malloc,a,1,0x,,\n", "caps '0x' is not a number"},
        {"aligned,a,1,,4294967296,\n", "alignment '4294967296' does not fit 32 bits"},
        {"aligned,a,1,,0x10,\n", "alignment '0x10' is not a number (expected a decimal power "
                                 "of two)"},
        {"malloc,a,1,,,18446744073709551616\n", "timestamp '18446744073709551616' does not "
                                                "fit 64 bits"},
        {"malloc,a,1,,,0x1ffffffffffffffff\n", "does not fit 64 bits"},
        {"malloc,a,1,,,12:30\n", "timestamp '12:30' is not a number (expected decimal or "
                                 "0x-hex)"},
        {"aligned,a,16,,24,\n", "alignment 24 is not a power of two"},
        {"aligned,a,16,,,\n", "aligned without an alignment (expected a power of two)"},
        {"aligned,a,16,,0,\n", "aligned without an alignment"},
        {"malloc,a,16,,8,\n", "alignment 8 given for malloc (only aligned takes one: expected "
                              "empty or 0)"},
        {"calloc,a,16,,8,\n", "alignment 8 given for calloc"},
        {"realloc,a,16,,8,\n", "alignment 8 given for realloc"},
        {"malloc,,16,,,\n", "empty id (expected the block's token, e.g. its address)"},
        {"malloc,a,,,,\n", "malloc without a size (expected bytes > 0)"},
        {"calloc,a,0,,,\n", "calloc of 0 bytes (expected a size > 0)"},
        {"realloc,a,,,,\n", "realloc without a size (expected bytes; 0 frees the block)"},
        {"malloc,a,1,,,\x01\n", "timestamp '\\x01' is not a number"},
        {"free,a\n", "2 fields, expected 6"},
        {"{\"op\":\"malloc\"}\n", "1 fields"},
    };
    for (size_t i = 0; i < COUNT(cases); ++i) {
        char text[256];
        snprintf(text, sizeof text, "op,id,size,caps,alignment,timestamp\n%s", cases[i].body);
        assert_refused(text, 2, cases[i].message);
    }
    /* The callers column: 7 fields. */
    assert_refused("op,id,size,caps,alignment,timestamp,callers\nmalloc,a,1,,,\n", 2,
                   "6 fields, expected 7 (op,id,size,caps,alignment,timestamp,callers)");
    assert_refused("op,id,size,caps,alignment,timestamp,callers\nmalloc,a,1,,,,0x4:0x5,0x6\n", 2,
                   "8 fields, expected 7");
}

static void csv_nul_byte_in_a_line(void **state)
{
    (void)state;
    static const char text[] = "op,id,size,caps,alignment,timestamp,callers\n"
                               "malloc,a,1,,,,0x4\0:0x5\n";
    assert_false(trace_parse(text, sizeof text - 1, "test", TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(error.line, 2);
    assert_string_equal(error.message, "line 2: the caller chain holds a NUL byte");
    /* In an id, a NUL byte is just a byte of the token. */
    static const char id[] = "op,id,size,caps,alignment,timestamp\nmalloc,a\0b,1,,,\nfree,a,,,,\n";
    assert_true(trace_parse(id, sizeof id - 1, "test", TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(trace.count, 1);
    assert_int_equal(trace.unknown_frees, 1);
}

static void csv_block_allocated_twice(void **state)
{
    (void)state;
    assert_refused("op,id,size,caps,alignment,timestamp\n"
                   "malloc,0x3ffb1234,16,,,\n"
                   "realloc,0x3ffb1234,32,,,\n"
                   "calloc,0x3ffb1234,8,,,\n",
                   4,
                   "block '0x3ffb1234' allocated again while it is live (allocated on line 2, "
                   "not freed since)");
}

static void csv_wrong_header(void **state)
{
    (void)state;
    assert_refused("# comment\nop,id,size\nmalloc,a,1\n", 2,
                   "CSV header 'op,id,size' is not 'op,id,size,caps,alignment,timestamp' "
                   "(optionally followed by ',callers')");
    assert_refused("op,id,size,caps,alignment,timestamp \nmalloc,a,1,,,\n", 1, "CSV header");
    assert_refused("OP,ID,SIZE,CAPS,ALIGNMENT,TIMESTAMP\n", 0, "test holds no trace");
    assert_refused("malloc,a,1,,,\n", 0,
                   "test holds no trace (expected the CSV header "
                   "'op,id,size,caps,alignment,timestamp', JSON objects one per line, or a "
                   "heap_trace_dump() output)");
}

/* ---- JSONL --------------------------------------------------------------- */

static void jsonl_every_operation_and_key(void **state)
{
    (void)state;
    parse_ok(
        "# JSON lines\n"
        "{\"op\":\"malloc\",\"id\":\"0x3ffb1000\",\"size\":16,\"caps\":6144,\"timestamp\":100}\n"
        "\n"
        "  { \"id\" : 7 , \"op\" : \"calloc\" , \"size\" : 32 , \"caps\" : \"0x800\" }  \n"
        "{\"op\":\"aligned\",\"id\":\"b\",\"size\":64,\"alignment\":32,\"caps\":null,"
        "\"callers\":\"0x400d1234:0x400d5678\"}\n"
        "{\"op\":\"realloc\",\"id\":\"0x3ffb1000\",\"size\":\"48\",\"timestamp\":\"0x1F\","
        "\"extra\":{\"a\":[1,2,{\"b\":null}],\"c\":\"}\"},\"flag\":true,\"n\":-1.5e3,"
        "\"m\":2E+8,\"k\":0.5e-2}\n"
        "{\"op\":\"free\",\"id\":\"7\",\"size\":null,\"callers\":null}\n"
        "{\"op\":\"free\",\"id\":\"b\",\"x\":false,\"y\":[],\"z\":{}}\n");
    assert_int_equal(trace.format, TRACE_FORMAT_JSONL);
    assert_string_equal(trace.format_version, "1");
    assert_int_equal(trace.count, 6);
    assert_int_equal(trace.id_count, 3);
    assert_op(0, TRACE_MALLOC, 0, 16, 2);
    assert_int_equal(trace.ops[0].caps, 6144);
    assert_int_equal(trace.ops[0].time, 100);
    assert_op(1, TRACE_CALLOC, 1, 32, 4);
    assert_int_equal(trace.ops[1].caps, 0x800);
    assert_op(2, TRACE_ALIGNED, 2, 64, 5);
    assert_int_equal(trace.ops[2].alignment, 32);
    assert_string_equal(callers_of(2), "0x400d1234:0x400d5678");
    assert_op(3, TRACE_REALLOC, 0, 48, 6);
    assert_int_equal(trace.ops[3].time, 31);
    assert_op(4, TRACE_FREE, 1, 0, 7); /* id 7 and "7" are one token */
    assert_op(5, TRACE_FREE, 2, 0, 8);
}

static void jsonl_string_escapes(void **state)
{
    (void)state;
    parse_ok("{\"op\":\"malloc\",\"id\":\"0x3ffb\\u0031000\",\"size\":1}\n"
             "{\"op\":\"free\",\"id\":\"0x3ffb1000\"}\n"
             "{\"op\":\"malloc\",\"id\":\"q\\\"\\\\\\/\\n\\t\\b\\f\\r\",\"size\":2}\n"
             "{\"op\":\"free\",\"id\":\"q\\\"\\\\/\\u000a\\u0009\\u0008\\u000c\\u000d\"}\n"
             "{\"op\":\"malloc\",\"id\":\"\\ud83d\\ude00\\u00e9\\u20ac "
             "and a long tail over sixteen bytes\",\"size\":3}\n"
             "{\"op\":\"free\",\"id\":\"\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac "
             "and a long tail over sixteen bytes\"}\n"
             "{\"o\\u0070\":\"free\",\"\\u0069d\":\"nothing\"}\n");
    assert_int_equal(trace.count, 6);
    assert_op(1, TRACE_FREE, 0, 0, 2);
    assert_op(3, TRACE_FREE, 1, 0, 4);
    assert_op(5, TRACE_FREE, 2, 0, 6);
    assert_int_equal(trace.unknown_frees, 1);
}

static void jsonl_semantics_as_csv(void **state)
{
    (void)state;
    parse_ok("{\"op\":\"realloc\",\"id\":1,\"size\":8}\n"
             "{\"op\":\"realloc\",\"id\":1,\"size\":0}\n"
             "{\"op\":\"free\",\"id\":1}\n"
             "{\"op\":\"malloc\",\"id\":1,\"size\":4}\n");
    assert_int_equal(trace.count, 3);
    assert_op(0, TRACE_MALLOC, 0, 8, 1);
    assert_op(1, TRACE_FREE, 0, 0, 2);
    assert_op(2, TRACE_MALLOC, 1, 4, 4);
    assert_int_equal(trace.unknown_frees, 1);
    assert_refused("{\"op\":\"malloc\",\"id\":1,\"size\":4}\n"
                   "{\"op\":\"aligned\",\"id\":\"1\",\"size\":4,\"alignment\":8}\n",
                   2, "block '1' allocated again while it is live (allocated on line 1");
}

static void jsonl_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *message;
    } cases[] = {
        {"{\"op\":\"malloc\",\"id\":\"a,\"size\":1}",
         "expected ',' or '}' at column 25, found 's'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"caps\":\"0x4}",
         "unterminated string starting at column 41 (expected a closing '\"' before the end "
         "of the line)"},
        {"{\"op\" \"malloc\",\"id\":\"a\",\"size\":1}",
         "expected ':' after the key \"op\" at column 7, found '\"'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1} x",
         "unexpected 'x' after the object at column 35 (one object per line)"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1}{}", "unexpected '{}' after the object"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1", "the object is not closed (expected '}' "
                                                       "before the end of the line)"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1 \"caps\":2}",
         "expected ',' or '}' at column 34, found '\"'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",}", "expected a key (a string) at column 25, found '}'"},
        {"{op:\"malloc\"}", "expected a key (a string) at column 2, found 'o'"},
        {"{\"id\":\"a\",\"size\":1}", "no \"op\" key (expected one of malloc, calloc, aligned, "
                                      "realloc, free)"},
        {"{\"op\":\"malloc\",\"size\":1}", "no \"id\" key (expected the block's token"},
        {"{}", "no \"op\" key"},
        {"{\"op\":\"new\",\"id\":\"a\"}", "unknown operation 'new' (expected malloc, calloc, "
                                          "aligned, realloc or free)"},
        {"{\"op\":5,\"id\":\"a\"}", "\"op\" must be a string (malloc, calloc, aligned, realloc "
                                    "or free), found '5' at column 7"},
        {"{\"op\":\"free\",\"id\":true}", "\"id\" must be a string or a non-negative integer, "
                                          "found 't' at column 19"},
        {"{\"op\":\"free\",\"id\":-1}", "\"id\" -1 is not a non-negative integer"},
        {"{\"op\":\"free\",\"id\":\"\"}", "empty \"id\""},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":\"abc\"}",
         "\"size\" 'abc' is not a number (expected a non-negative integer, or a string of one "
         "in decimal or 0x-hex)"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":-1}", "\"size\" -1 is not a non-negative "
                                                         "integer"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1.5}", "\"size\" 1.5 is not a non-negative "
                                                          "integer"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1e3}", "\"size\" 1e3 is not a non-negative "
                                                          "integer"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":4294967296}",
         "\"size\" 4294967296 does not fit 32 bits"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"caps\":\"0x100000000\"}",
         "\"caps\" 0x100000000 does not fit 32 bits"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"timestamp\":18446744073709551616}",
         "\"timestamp\" 18446744073709551616 does not fit 64 bits"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":true}", "\"size\" must be a number, found "
                                                           "'t' at column 32"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":01}", "malformed number at column 32"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":-}", "malformed number at column 32"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"size\":2}", "key \"size\" given twice"},
        {"{\"op\":\"aligned\",\"id\":\"a\",\"size\":1,\"alignment\":\"8x\"}",
         "\"alignment\" '8x' is not a number"},
        {"{\"op\":\"aligned\",\"id\":\"a\",\"size\":1,\"alignment\":3}",
         "alignment 3 is not a power of two"},
        {"{\"op\":\"malloc\",\"id\":\"a\\q\",\"size\":1}", "bad escape '\\q' at column 23"},
        {"{\"op\":\"malloc\",\"id\":\"a\\u12\",\"size\":1}", "bad \\u escape at column 23 "
                                                             "(expected 4 hex digits)"},
        {"{\"op\":\"malloc\",\"id\":\"\\udc00\",\"size\":1}", "lone low surrogate \\udc00 at "
                                                              "column 22"},
        {"{\"op\":\"malloc\",\"id\":\"\\ud800x\",\"size\":1}", "high surrogate \\ud800 at column "
                                                               "22 without its low surrogate"},
        {"{\"op\":\"malloc\",\"id\":\"a\tb\",\"size\":1}", "control character 0x09 in a string "
                                                           "at column 23"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"x\":[1,2}",
         "expected ',' or ']' at column 42, found '}'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"x\":{\"k\" 1}}",
         "expected ':' after a key at column 43, found '1'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"x\":tru}", "expected a value at column 38, "
                                                                  "found 't'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"x\":", "the line ends where a value was "
                                                              "expected"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"callers\":7}", "\"callers\" must be a "
                                                                      "string, found '7'"},
        {"{\"op\":\"malloc\",\"id\":\"a\",\"size\":1,\"callers\":\"0x4\\u0000\"}",
         "the caller chain holds a NUL byte"},
        {"[1,2]", "expected a JSON object ('{') at column 1, found '['"},
    };
    for (size_t i = 0; i < COUNT(cases); ++i) {
        char text[512];
        snprintf(text, sizeof text, "{\"op\":\"malloc\",\"id\":\"first\",\"size\":1}\n%s\n",
                 cases[i].line);
        assert_refused(text, 2, cases[i].message);
    }
}

static void jsonl_deep_nesting_is_refused_not_overflowed(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *text = malloc(2 * depth + 64);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "{\"op\":\"free\",\"id\":\"a\",\"x\":");
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    strcpy(text + n + 2 * depth, "}\n");
    assert_refused(text, 1, "values nested more than 64 deep");
    free(text);
}

/* ---- heap_trace_dump() ------------------------------------------------------ */

/* ESP-IDF v5.5+ (master), HEAP_TRACE_ALL, no callers: " freed" marks frees. */
static const char master_all[] =
    "====== Heap Trace: 4 records (8 capacity) ======\n"
    "    16 bytes (@ 0x3fcb2000, Internal) allocated CPU 0 ccount 0x00000100 freed\n"
    "    32 bytes (@ 0x3fcb2000, Internal) allocated CPU 0 ccount 0x00000200\n"
    "    24 bytes (@ 0x3fcb2100, Internal) allocated CPU 1 ccount 0x00000300 freed\n"
    "    40 bytes (@ 0x3c001000,    PSRAM) allocated CPU 0 ccount 0x00000400 freed\n"
    "====== Heap Trace Summary ======\n"
    "Mode: Heap Trace All\n"
    "32 bytes alive in trace (1/4 allocations)\n"
    "records: 4 (8 capacity, 4 high water mark)\n"
    "total allocations: 4\n"
    "total frees: 3\n"
    "================================\n";

static void dump_master_all_mode_late(void **state)
{
    (void)state;
    parse_ok(master_all);
    assert_int_equal(trace.format, TRACE_FORMAT_ESP_IDF_DUMP);
    assert_string_equal(trace.format_version, "v5.5+");
    assert_true(trace.frees_inferred);
    assert_false(trace.overflowed);
    assert_int_equal(trace.id_count, 4);
    assert_int_equal(trace.count, 7);
    assert_op(0, TRACE_MALLOC, 0, 16, 2);
    assert_op(1, TRACE_FREE, 0, 0, 2); /* its address is taken by the next record */
    assert_op(2, TRACE_MALLOC, 1, 32, 3);
    assert_op(3, TRACE_MALLOC, 2, 24, 4);
    assert_op(4, TRACE_MALLOC, 3, 40, 5);
    assert_op(5, TRACE_FREE, 2, 0, 4); /* late: after every allocation, in record order */
    assert_op(6, TRACE_FREE, 3, 0, 5);
    assert_int_equal(trace.frees_from_reuse, 1);
    assert_int_equal(trace.frees_from_policy, 2);
    assert_int_equal(trace.live_at_end, 1);
    for (size_t i = 0; i < trace.count; ++i) {
        assert_int_equal(trace.ops[i].caps, TRACE_CAPS_DEFAULT_POLICY);
        assert_int_equal(trace.ops[i].callers, TRACE_NONE);
    }
    assert_int_equal(trace.ops[0].time, 0x100);
    assert_int_equal(trace.ops[1].time, 0x200); /* that of the allocation it precedes */
    assert_int_equal(trace.ops[5].time, 0x400); /* that of the last record */
}

static void dump_master_all_mode_early(void **state)
{
    (void)state;
    parse_ok_with(master_all, TRACE_FREES_EARLY);
    assert_int_equal(trace.count, 7);
    assert_op(0, TRACE_MALLOC, 0, 16, 2);
    assert_op(1, TRACE_FREE, 0, 0, 2); /* reuse still decides where it can */
    assert_op(2, TRACE_MALLOC, 1, 32, 3);
    assert_op(3, TRACE_MALLOC, 2, 24, 4);
    assert_op(4, TRACE_FREE, 2, 0, 4); /* early: right after its allocation */
    assert_op(5, TRACE_MALLOC, 3, 40, 5);
    assert_op(6, TRACE_FREE, 3, 0, 5);
    assert_int_equal(trace.ops[4].time, 0x300);
    assert_int_equal(trace.frees_from_reuse, 1);
    assert_int_equal(trace.frees_from_policy, 2);
    assert_int_equal(trace.live_at_end, 1);
}

static void dump_master_leaks_mode(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 2 records (100 capacity) ======\n"
             "   100 bytes (@ 0x3ffb4000, Internal) allocated CPU 0 ccount 0x1e7af728 caller "
             "0x400d1234:0x400d5678\n"
             "  2048 bytes (@ 0x3f800000,    PSRAM) allocated CPU 1 ccount 0x1e7af800 caller "
             "0x400d1234:\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace Leaks\n"
             "2148 bytes 'leaked' in trace (2 allocations)\n"
             "records: 2 (100 capacity, 5 high water mark)\n"
             "hashmap: 512 capacity (10 hits, 0 misses)\n"
             "total allocations: 7\n"
             "total frees: 5\n"
             "================================\n");
    assert_string_equal(trace.format_version, "v5.5+");
    assert_int_equal(trace.count, 2);
    assert_op(0, TRACE_MALLOC, 0, 100, 2);
    assert_op(1, TRACE_MALLOC, 1, 2048, 3);
    assert_int_equal(trace.ops[0].time, 0x1e7af728);
    assert_string_equal(callers_of(0), "0x400d1234:0x400d5678");
    assert_string_equal(callers_of(1), "0x400d1234"); /* the early end's ':' dropped */
    assert_int_equal(trace.live_at_end, 2);
    assert_int_equal(trace.frees_from_reuse + trace.frees_from_policy, 0);
}

/* HEAP_TRACE_ALL with callers: "freed by" on the next line (v5.1 to master). */
static void dump_freed_by_lines(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 3 records (10 capacity) ======\n"
             "    20 bytes (@ 0x3ffb8000, Internal) allocated CPU 0 ccount 0x00001000 caller "
             "0x400d1234:0x400d5678\n"
             "freed by 0x400d9999:0x400daaaa\n"
             "    64 bytes (@ 0x3ffb9000, Internal) allocated CPU 1 ccount 0x00002000 caller "
             "0x400d1234:0x400d5678\n"
             "freed by 0x400d9999:0x00000000\n"
             "     8 bytes (@ 0x3ffb8010, Internal) allocated CPU 0 ccount 0x00003000 caller "
             "0x400e0001\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace All\n"
             "8 bytes alive in trace (1/3 allocations)\n"
             "records: 3 (10 capacity, 3 high water mark)\n"
             "total allocations: 3\n"
             "total frees: 2\n"
             "================================\n");
    /* Every record has a chain: v5.1-v5.4 and master print it alike. */
    assert_string_equal(trace.format_version, "v5.5+");
    assert_int_equal(trace.count, 5);
    assert_op(0, TRACE_MALLOC, 0, 20, 2);
    assert_op(1, TRACE_MALLOC, 1, 64, 4);
    assert_op(2, TRACE_FREE, 0, 0, 2); /* [0x3ffb8000, +20) holds 0x3ffb8010 */
    assert_op(3, TRACE_MALLOC, 2, 8, 6);
    assert_op(4, TRACE_FREE, 1, 0, 4);
    assert_string_equal(callers_of(0), "0x400d1234:0x400d5678");
    assert_string_equal(callers_of(2), "0x400d9999:0x400daaaa"); /* a free's: freed by */
    assert_string_equal(callers_of(4), "0x400d9999");            /* null entries dropped */
    assert_int_equal(trace.caller_count, 4);
    assert_int_equal(trace.frees_from_reuse, 1);
    assert_int_equal(trace.frees_from_policy, 1);
    assert_int_equal(trace.live_at_end, 1);
}

/* This project's own heap_trace_dump() on a 64-bit host: 16-digit callers. */
static void dump_from_the_host_library(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 2 records (8 capacity) ======\n"
             "    24 bytes (@ 0x3ffb2f10, Internal) allocated CPU 0 ccount 0x00000000 caller "
             "0x000055d2c3b4a123:0x000055d2c3b4a456 freed\n"
             "    24 bytes (@ 0x3ffb2f10, Internal) allocated CPU 0 ccount 0x00000000 caller "
             "0x000055d2c3b4a123:0x000055d2c3b4a456\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace All\n"
             "24 bytes alive in trace (1/2 allocations)\n"
             "records: 2 (8 capacity, 2 high water mark)\n"
             "total allocations: 2\n"
             "total frees: 1\n"
             "================================\n");
    assert_string_equal(trace.format_version, "v5.5+");
    assert_int_equal(trace.count, 3);
    assert_op(1, TRACE_FREE, 0, 0, 2);
    assert_int_equal(trace.caller_count, 1);
}

/* The HEAP_TRACE_ALL example of docs/tracing.md (32-bit host, depth 2): a
 * malloc, a realloc that grew the block in place, a free. A dump shows the
 * realloc as the first record freed and a new one at the same address. */
static void dump_example_of_the_tracing_doc(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 2 records (100 capacity) ======\n"
             "    40 bytes (@ 0x3ffaec40, Internal) allocated CPU 0 ccount 0x121771d8 caller "
             "0x565f0ea8:0x565ecb42\n"
             "freed by 0x565f0f2c:0x565ecb4f\n"
             "  4000 bytes (@ 0x3ffaec40, Internal) allocated CPU 0 ccount 0x12178f64 caller "
             "0x565f0f2c:0x565ecb4f\n"
             "freed by 0x565f0f58:0x565ecb57\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace All\n"
             "0 bytes alive in trace (0/2 allocations)\n"
             "records: 2 (100 capacity, 3 high water mark)\n"
             "hashmap: 512 capacity (2 hits, 0 misses)\n"
             "total allocations: 2\n"
             "total frees: 2\n"
             "================================\n");
    assert_int_equal(trace.count, 4);
    assert_op(0, TRACE_MALLOC, 0, 40, 2);
    assert_op(1, TRACE_FREE, 0, 0, 2);
    assert_op(2, TRACE_MALLOC, 1, 4000, 4);
    assert_op(3, TRACE_FREE, 1, 0, 4);
    assert_string_equal(callers_of(1), "0x565f0f2c:0x565ecb4f");
    assert_int_equal(trace.ops[2].callers, trace.ops[1].callers); /* the realloc's caller */
    assert_int_equal(trace.live_at_end, 0);
}

/* v5.1-v5.4, HEAP_TRACE_ALL without callers: " caller " with nothing after it,
 * and freed records print like live ones. */
static const char v51_all_no_callers[] =
    "====== Heap Trace: 3 records (10 capacity) ======\n"
    "    20 bytes (@ 0x3ffb8000, Internal) allocated CPU 0 ccount 0x12345678 caller \n"
    "    20 bytes (@ 0x3ffb8000, Internal) allocated CPU 0 ccount 0x12345700 caller \n"
    "    30 bytes (@ 0x3ffb9000, Internal) allocated CPU 0 ccount 0x12345800 caller\n"
    "====== Heap Trace Summary ======\n"
    "Mode: Heap Trace All\n"
    "70 bytes alive in trace (3/3 allocations)\n"
    "records: 3 (10 capacity, 3 high water mark)\n"
    "total allocations: 3\n"
    "total frees: 1\n"
    "================================\n";

static void dump_v51_all_mode_freed_records_look_live(void **state)
{
    (void)state;
    parse_ok(v51_all_no_callers);
    assert_string_equal(trace.format_version, "v5.1-v5.4");
    assert_int_equal(trace.count, 4);
    assert_op(0, TRACE_MALLOC, 0, 20, 2);
    assert_op(1, TRACE_FREE, 0, 0, 2); /* the next record at its address proves it */
    assert_op(2, TRACE_MALLOC, 1, 20, 3);
    assert_op(3, TRACE_MALLOC, 2, 30, 4);
    assert_int_equal(trace.frees_from_reuse, 1);
    assert_int_equal(trace.live_at_end, 2);
}

static void dump_v51_leaks_mode_overlap_is_an_error(void **state)
{
    (void)state;
    /* The same dump in HEAP_TRACE_LEAKS: printed records are live ones. */
    const char *all = "Mode: Heap Trace All";
    const char *at = strstr(v51_all_no_callers, all);
    char text[2 * sizeof v51_all_no_callers];
    snprintf(text, sizeof text, "%.*sMode: Heap Trace Leaks%s", (int)(at - v51_all_no_callers),
             v51_all_no_callers, at + strlen(all));
    assert_refused(text, 3,
                   "the record at 0x3ffb8000 (20 bytes) overlaps the one at 0x3ffb8000 (20 "
                   "bytes) on line 2, which is not freed: live blocks cannot share memory");
}

static void dump_v51_with_freed_by(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 2 records (10 capacity) ======\n"
             "    20 bytes (@ 0x3ffb8000, Internal) allocated CPU 0 ccount 0x00001000 caller \n"
             "freed by 0x400d9999:0x400daaaa:(nil)\n"
             "    20 bytes (@ 0x3ffb8000, Internal) allocated CPU 0 ccount 0x00002000 caller \n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace All\n"
             "20 bytes alive in trace (1/2 allocations)\n"
             "records: 2 (10 capacity, 2 high water mark)\n"
             "total allocations: 2\n"
             "total frees: 1\n"
             "================================\n");
    assert_string_equal(trace.format_version, "v5.1-v5.4");
    assert_int_equal(trace.count, 3);
    assert_op(1, TRACE_FREE, 0, 0, 2);
    assert_string_equal(callers_of(1), "0x400d9999:0x400daaaa");
    assert_int_equal(trace.live_at_end, 1);
}

static const char v50_dump[] =
    "3 allocations trace (100 entry buffer)\n"
    "32 bytes (@ 0x3ffb4a10) allocated CPU 0 ccount 0x1a2b3c40 caller 0x400d1234:0x400d2345\n"
    "16 bytes (@ 0x3ffb4a40) allocated CPU 1 ccount 0x1a2b3d40 caller 0x400d1234:0x400d2345\n"
    "freed by 0x400d3333:0x400d4444\n"
    "48 bytes (@ 0x3ffb4a40) allocated CPU 0 ccount 0x1a2b3e00 caller 0x400d1234:\n"
    "80 bytes alive in trace (2/3 allocations)\n"
    "total allocations 9 total frees 7\n"
    "(NB: Buffer has overflowed, so trace data is incomplete.)\n";

static void dump_v50(void **state)
{
    (void)state;
    parse_ok(v50_dump);
    assert_string_equal(trace.format_version, "v5.0");
    assert_true(trace.overflowed);
    assert_int_equal(trace.count, 4);
    assert_op(0, TRACE_MALLOC, 0, 32, 2);
    assert_op(1, TRACE_MALLOC, 1, 16, 3);
    assert_op(2, TRACE_FREE, 1, 0, 3);
    assert_op(3, TRACE_MALLOC, 2, 48, 5);
    assert_string_equal(callers_of(3), "0x400d1234");
    assert_int_equal(trace.live_at_end, 2);
}

static void dump_v50_leaks_without_callers(void **state)
{
    (void)state;
    parse_ok("1 allocations trace (10 entry buffer)\n"
             "12 bytes (@ 0x3ffb0000) allocated CPU 0 ccount 0x00000010 caller \n"
             "12 bytes 'leaked' in trace (1 allocations)\n"
             "total allocations 1 total frees 0\n"
             "I (1234) app: done\n");
    assert_string_equal(trace.format_version, "v5.0");
    assert_false(trace.overflowed);
    assert_int_equal(trace.count, 1);
    assert_int_equal(trace.live_at_end, 1);
}

/* A buffer that overflowed dropped records: overlaps are frees it missed. */
static void dump_overflowed_overlap_is_a_missed_free(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 2 records (2 capacity) ======\n"
             "    64 bytes (@ 0x3ffb0000, Internal) allocated CPU 0 ccount 0x00000100\n"
             "    16 bytes (@ 0x3ffb0020, Internal) allocated CPU 0 ccount 0x00000200\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace Leaks\n"
             "80 bytes 'leaked' in trace (2 allocations)\n"
             "records: 2 (2 capacity, 2 high water mark)\n"
             "total allocations: 40\n"
             "total frees: 38\n"
             "(NB: Internal Buffer has overflowed, so trace data is incomplete.)\n"
             "================================\n");
    assert_true(trace.overflowed);
    assert_int_equal(trace.count, 3);
    assert_op(1, TRACE_FREE, 0, 0, 2);
    assert_int_equal(trace.frees_from_reuse, 1);
    assert_int_equal(trace.live_at_end, 1);
}

/* A whole monitor log: lines before, colours, other tasks' lines, lines after. */
static void dump_inside_a_monitor_log(void **state)
{
    (void)state;
    parse_ok("--- idf_monitor on /dev/ttyUSB0 115200 ---\n"
             "\x1b[0;32mI (312) cpu_start: Starting scheduler.\x1b[0m\n"
             "op,id,size\n"
             "{not json}\n"
             "\x1b[0;32m====== Heap Trace: 2 \x1b[1mrecords (10 capacity) ======\x1b[0m\r\n"
             "    10 bytes (@ 0x3ffb1000, Internal) allocated CPU 0 ccount 0x00000100 freed\r\n"
             "\x1b[0;33mW (400) wifi: beacon lost\x1b[0m\r\n"
             "\x1b[1m    10 bytes (@ 0x3ffb1000, Internal) allocated CPU 0 ccount 0x00000200\r\n"
             "\r\n"
             "====== Heap Trace Summary ======\r\n"
             "Mode: Heap Trace All\r\n"
             "10 bytes alive in trace (1/2 allocations)\r\n"
             "I (401) other: this line is not checked\r\n"
             "================================\r\n"
             "I (500) app: done\n"
             "garbage after the dump\n");
    assert_int_equal(trace.format, TRACE_FORMAT_ESP_IDF_DUMP);
    assert_int_equal(trace.count, 3);
    assert_op(0, TRACE_MALLOC, 0, 10, 6);
    assert_op(1, TRACE_FREE, 0, 0, 6);
    assert_op(2, TRACE_MALLOC, 1, 10, 8);
}

/* Overlap rules: a range, not an address; adjacent is not overlapping;
 * several freed records under one; the latest overlap wins. */
static void dump_reuse_by_overlapping_ranges(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 7 records (10 capacity) ======\n"
             "16 bytes (@ 0x1000) allocated CPU 0 ccount 0x00000010 freed\n" /* A: 0 */
             "16 bytes (@ 0x1010) allocated CPU 0 ccount 0x00000020 freed\n" /* B: 1 */
             "16 bytes (@ 0x1020) allocated CPU 0 ccount 0x00000030 freed\n" /* C: 2 */
             "16 bytes (@ 0x1008) allocated CPU 0 ccount 0x00000040 freed\n" /* D: 3, over A, B */
             "16 bytes (@ 0x1030) allocated CPU 0 ccount 0x00000050\n"       /* E: 4, next to C */
             "64 bytes (@ 0x0fc0) allocated CPU 0 ccount 0x00000060\n"       /* F: 5, ends at A */
             "1 bytes (@ 0x1017) allocated CPU 0 ccount 0x00000070\n"        /* G: 6, in D */
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace All\n"
             "================================\n");
    assert_int_equal(trace.count, 11);
    assert_op(0, TRACE_MALLOC, 0, 16, 2);
    assert_op(1, TRACE_MALLOC, 1, 16, 3);
    assert_op(2, TRACE_MALLOC, 2, 16, 4);
    assert_op(3, TRACE_FREE, 0, 0, 2); /* before D, in record order */
    assert_op(4, TRACE_FREE, 1, 0, 3);
    assert_op(5, TRACE_MALLOC, 3, 16, 5);
    assert_op(6, TRACE_MALLOC, 4, 16, 6);
    assert_op(7, TRACE_MALLOC, 5, 64, 7);
    assert_op(8, TRACE_FREE, 3, 0, 5); /* before G */
    assert_op(9, TRACE_MALLOC, 6, 1, 8);
    assert_op(10, TRACE_FREE, 2, 0, 4); /* C: nothing took its place, freed late */
    assert_int_equal(trace.frees_from_reuse, 3);
    assert_int_equal(trace.frees_from_policy, 1);
    assert_int_equal(trace.live_at_end, 3);
    assert_int_equal(trace.ops[3].time, 0x40);
}

/* Random dumps against a plain O(n^2) reading of the rules: the reader's
 * treap of pending records must place every free where the rules say. */
static void dump_inference_matches_a_brute_force_reference(void **state)
{
    (void)state;
    enum { RECORDS = 300 };
    static struct {
        uint32_t address, size;
        bool freed, pending;
        int freed_before;
    } record[RECORDS];
    char *text = malloc(RECORDS * 100 + 512);
    assert_non_null(text);
    trace_op_t *expected = malloc(2 * RECORDS * sizeof *expected);
    assert_non_null(expected);
    for (int round = 0; round < 60; ++round) {
        trace_free_policy_t policy = round % 2 ? TRACE_FREES_EARLY : TRACE_FREES_LATE;
        uint32_t span = 64 + next_random() % 4096; /* small: many overlaps */
        int n = 0;
        size_t used = (size_t)sprintf(text, "====== Heap Trace: %d records (%d capacity) ======\n",
                                      RECORDS, RECORDS);
        for (int i = 0; i < RECORDS; ++i) {
            record[i].address = 0x3ffb0000u + (next_random() % span) * 4;
            record[i].size = 1 + next_random() % 96;
            record[i].pending = true;
            record[i].freed_before = -1;
            record[i].freed = next_random() % 3 != 0;
            /* The reference: earlier pending records it overlaps go back before it
             * (and so were freed: the input stays consistent). */
            uint32_t end = record[i].address + record[i].size;
            for (int j = 0; j < i; ++j) {
                if (record[j].pending && record[j].address < end &&
                    record[j].address + record[j].size > record[i].address) {
                    record[j].pending = false;
                    record[j].freed = true;
                    record[j].freed_before = i;
                }
            }
        }
        for (int i = 0; i < RECORDS; ++i) {
            used += (size_t)sprintf(text + used,
                                    "%6u bytes (@ 0x%08x, Internal) allocated CPU 0 ccount "
                                    "0x%08x%s\n",
                                    record[i].size, record[i].address, (unsigned)i * 4,
                                    record[i].freed ? " freed" : "");
        }
        sprintf(text + used, "====== Heap Trace Summary ======\nMode: Heap Trace All\n"
                             "================================\n");
        for (int i = 0; i < RECORDS; ++i) {
            for (int j = 0; j < i; ++j) {
                if (record[j].freed_before == i) {
                    expected[n++] = (trace_op_t){.kind = TRACE_FREE, .id = (uint32_t)j};
                }
            }
            expected[n++] = (trace_op_t){.kind = TRACE_MALLOC, .id = (uint32_t)i};
            if (policy == TRACE_FREES_EARLY && record[i].freed && record[i].freed_before < 0) {
                expected[n++] = (trace_op_t){.kind = TRACE_FREE, .id = (uint32_t)i};
            }
        }
        for (int i = 0; i < RECORDS && policy == TRACE_FREES_LATE; ++i) {
            if (record[i].freed && record[i].freed_before < 0) {
                expected[n++] = (trace_op_t){.kind = TRACE_FREE, .id = (uint32_t)i};
            }
        }
        parse_ok_with(text, policy);
        assert_int_equal(trace.count, n);
        for (int k = 0; k < n; ++k) {
            if (trace.ops[k].kind != expected[k].kind || trace.ops[k].id != expected[k].id) {
                fail_msg("round %d, op %d: kind %u id %u, expected kind %u id %u", round, k,
                         trace.ops[k].kind, trace.ops[k].id, expected[k].kind, expected[k].id);
            }
        }
    }
    free(expected);
    free(text);
}

static void dump_live_overlap_is_an_error(void **state)
{
    (void)state;
    assert_refused("====== Heap Trace: 2 records (10 capacity) ======\n"
                   "    64 bytes (@ 0x3ffb0000, Internal) allocated CPU 0 ccount 0x00000100\n"
                   "    16 bytes (@ 0x3ffb0030, Internal) allocated CPU 0 ccount 0x00000200\n"
                   "====== Heap Trace Summary ======\n"
                   "Mode: Heap Trace Leaks\n"
                   "================================\n",
                   3,
                   "the record at 0x3ffb0030 (16 bytes) overlaps the one at 0x3ffb0000 (64 bytes) "
                   "on line 2, which is not freed");
}

static void dump_record_count_is_checked(void **state)
{
    (void)state;
    assert_refused("====== Heap Trace: 3 records (10 capacity) ======\n"
                   "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n"
                   "====== Heap Trace Summary ======\n"
                   "Mode: Heap Trace Leaks\n"
                   "================================\n",
                   1,
                   "the header announces 3 records but the dump holds 1 (a cut-short paste, or "
                   "heap_trace_dump_caps() leaving some out?)");
    /* ...but not when the dump says why they differ. */
    parse_ok("====== Heap Trace: 3 records (10 capacity) ======\n"
             "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n"
             "\n"
             "Error: heap trace linked list is corrupt. expected more records.\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace Leaks\n"
             "================================\n");
    assert_int_equal(trace.count, 1);
    parse_ok("====== Heap Trace: 2 records (10 capacity) ======\n"
             "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace Leaks\n"
             "(NB: New entries were traced while dumping, so trace dump may have duplicate "
             "entries.)\n"
             "================================\n");
    assert_int_equal(trace.count, 1);
}

static void dump_empty(void **state)
{
    (void)state;
    parse_ok("====== Heap Trace: 0 records (0 capacity) ======\n"
             "====== Heap Trace Summary ======\n"
             "Mode: Heap Trace Leaks\n"
             "0 bytes 'leaked' in trace (0 allocations)\n"
             "records: 0 (0 capacity, 0 high water mark)\n"
             "total allocations: 0\n"
             "total frees: 0\n"
             "================================\n");
    assert_int_equal(trace.format, TRACE_FORMAT_ESP_IDF_DUMP);
    assert_int_equal(trace.count, 0);
    assert_int_equal(trace.id_count, 0);
}

static void dump_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t line;
        const char *message;
    } cases[] = {
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n",
         2,
         "the dump starting on line 1 ends without its summary ('====== Heap Trace Summary "
         "======'): is the log cut short?"},
        {"2 allocations trace (10 entry buffer)\n"
         "10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100 caller \n",
         2, "ends without its summary ('N bytes alive in trace (...)')"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 count 0x00000100\n",
         2,
         "malformed record at ' count 0x00000100' (expected 'SIZE bytes (@ 0xADDRESS) "
         "allocated CPU N ccount 0xCCOUNT')"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ zzz) allocated CPU 0 ccount 0x00000100\n",
         2, "record address is not a hex address"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0xq\n",
         2, "record ccount is not a hex number"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    -10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n",
         2, "record size '-10' is not a size of 1 to 4294967295 bytes"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    99999999999 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n",
         2, "record size '99999999999' is not a size"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "     0 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n",
         2, "record of 0 bytes"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100 freed twice\n",
         2,
         "unexpected 'freed twice' after the record (expected ' caller "
         "0xADDRESS:0xADDRESS...' and/or ' freed')"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100 caller main:loop\n",
         2, "caller chain 'main:loop' is not addresses separated by ':'"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "freed by 0x400d1234\n",
         2, "'freed by' without the record line it completes before it"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100 freed\n"
         "freed by 0x400d1234\n",
         3, "second 'freed by' or ' freed' for the record on line 2"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100 caller 0x4\n"
         "freed by somebody\n",
         3, "'freed by' chain 'somebody' is not addresses"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "the heap is fine\n",
         2,
         "expected a trace record ('SIZE bytes (@ 0xADDRESS) allocated ...'), 'freed by ...' "
         "or the summary, found 'the heap is fine'"},
        {"====== Heap Trace: 2 records (10 capacity) ======\n"
         "    10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100 caller \n"
         "    10 bytes (@ 0x3ffb2000) allocated CPU 0 ccount 0x00000100 freed\n"
         "====== Heap Trace Summary ======\n",
         3,
         "a record in ESP-IDF v5.5+'s form (' freed', or no ' caller ') but line 2 is in "
         "v5.1-v5.4's (' caller ' and nothing after it): not one dump"},
        {"1 allocations trace (10 entry buffer)\n"
         "10 bytes (@ 0x3ffb1000) allocated CPU 0 ccount 0x00000100\n"
         "10 bytes alive in trace (1/1 allocations)\n",
         2,
         "a record in ESP-IDF v5.5+'s form (' freed', or no ' caller ') in a v5.0 dump "
         "(header on line 1)"},
        {"====== Heap Trace: 1 records (10 capacity) ======\n"
         "    10 bytes (@ 0xffffffffffffffff) allocated CPU 0 ccount 0x00000100\n",
         2, "runs past the address space"},
        {"====== Heap Trace: 0 records (10 capacity) ======\n"
         "====== Heap Trace Summary ======\n"
         "================================\n"
         "====== Heap Trace: 0 records (10 capacity) ======\n",
         4,
         "a second heap trace dump starts here (the first starts on line 1): keep one dump "
         "per file"},
        {"====== Heap Trace: 0 records (10 capacity) ======\n"
         "====== Heap Trace: 0 records (10 capacity) ======\n",
         2, "a second heap trace dump starts here"},
    };
    for (size_t i = 0; i < COUNT(cases); ++i) {
        assert_refused(cases[i].text, cases[i].line, cases[i].message);
    }
}

/* ---- any input ------------------------------------------------------------- */

static void empty_and_comment_only_inputs(void **state)
{
    (void)state;
    assert_refused("", 0, "test is empty (expected a trace: see docs/replay-formats.md)");
    assert_refused("\n\n  \n", 0, "test is empty but for comments and blank lines");
    assert_refused("# just\n# comments\n", 0, "test is empty but for comments and blank lines");
    assert_false(trace_parse(NULL, 0, NULL, TRACE_FREES_LATE, &trace, &error));
    assert_string_equal(error.message,
                        "input is empty (expected a trace: see docs/replay-formats.md)");
    assert_false(trace_parse(NULL, 5, NULL, TRACE_FREES_LATE, &trace, &error));
    assert_string_equal(error.message, "input: no text given");
}

static void check_outcome(bool ok, size_t length)
{
    if (ok) {
        assert_consistent(&trace);
    } else {
        assert_true(error.message[0] != '\0');
        assert_true(strlen(error.message) < sizeof error.message);
        assert_true(error.line <= length + 1);
        assert_null(trace.ops);
        assert_int_equal(trace.count, 0);
    }
}

static void binary_garbage_fails_cleanly(void **state)
{
    (void)state;
    size_t room = 1 << 16;
    char *text = malloc(room);
    assert_non_null(text);
    for (int round = 0; round < 200; ++round) {
        size_t length = next_random() % room;
        for (size_t i = 0; i < length; ++i) {
            text[i] = (char)next_random();
        }
        bool ok = trace_parse(text, length, "garbage", TRACE_FREES_LATE, &trace, &error);
        assert_false(ok);
        check_outcome(ok, length);
        trace_free(&trace);
    }
    free(text);
}

/* Traces of every format with bytes flipped, inserted, deleted and
 * repeated: accepted or refused, never a crash or a leak (run under ASan). */
static void mutated_traces_never_crash(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "op,id,size,caps,alignment,timestamp,callers\n"
        "malloc,0x3ffb1000,16,0x1800,,100,0x400d1234:0x400d5678\n"
        "aligned,a,64,,16,0x200,\n"
        "realloc,0x3ffb1000,32,,,300,0x400d1234\n"
        "free,a,,,,400,\n"
        "free,0x3ffb1000,,,,500,0x400d1234\n",
        "{\"op\":\"malloc\",\"id\":\"0x3f\\u0031\",\"size\":16,\"caps\":\"0x800\"}\n"
        "{\"op\":\"realloc\",\"id\":\"0x3f1\",\"size\":8,\"x\":[{\"y\":null},true]}\n"
        "{\"op\":\"free\",\"id\":\"0x3f1\",\"callers\":\"0x4\"}\n",
        master_all,
        v51_all_no_callers,
        v50_dump,
    };
    static const char *const pieces[] = {
        ",",
        "\n",
        "{",
        "}",
        "\"",
        "\\",
        "\\u",
        "0x",
        "9999999999999999999999",
        ":",
        " ",
        "freed",
        " caller ",
        "freed by ",
        "\x1b[0m",
        "====== Heap Trace Summary ======\n",
        "-",
        "\0",
        "====== Heap Trace: 1 records (2 capacity) ======\n",
        "[",
        "]",
        "null",
        "#",
    };
    char *text = malloc(8192);
    assert_non_null(text);
    for (size_t seed = 0; seed < COUNT(seeds); ++seed) {
        for (int round = 0; round < 4000; ++round) {
            size_t length = strlen(seeds[seed]);
            memcpy(text, seeds[seed], length);
            int edits = 1 + (int)(next_random() % 4);
            for (int e = 0; e < edits && length > 0; ++e) {
                size_t at = next_random() % length;
                switch (next_random() % 5) {
                case 0:
                    text[at] = (char)next_random();
                    break;
                case 1: { /* insert a piece */
                    size_t p = next_random() % COUNT(pieces);
                    size_t n = pieces[p][0] ? strlen(pieces[p]) : 1;
                    if (length + n < 4096) {
                        memmove(text + at + n, text + at, length - at);
                        memcpy(text + at, pieces[p], n);
                        length += n;
                    }
                    break;
                }
                case 2: { /* delete a range */
                    size_t n = 1 + next_random() % 16;
                    n = n > length - at ? length - at : n;
                    memmove(text + at, text + at + n, length - at - n);
                    length -= n;
                    break;
                }
                case 3: { /* repeat a range */
                    size_t n = 1 + next_random() % 64;
                    n = n > length - at ? length - at : n;
                    if (length + n < 4096) {
                        memmove(text + at + n, text + at, length - at);
                        length += n;
                    }
                    break;
                }
                default: /* cut short */
                    length = at;
                    break;
                }
            }
            trace_free_policy_t policy = round % 2 ? TRACE_FREES_EARLY : TRACE_FREES_LATE;
            bool ok = trace_parse(text, length, "mutant", policy, &trace, &error);
            check_outcome(ok, length);
            trace_free(&trace);
        }
    }
    free(text);
}

/* ---- files ----------------------------------------------------------------- */

static char *temporary_file(const char *content)
{
    char *path = malloc(64);
    assert_non_null(path);
    strcpy(path, "/tmp/test_trace_input_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(content, 1, strlen(content), file), strlen(content));
    assert_int_equal(fclose(file), 0);
    return path;
}

static void read_files_and_standard_input(void **state)
{
    (void)state;
    char *path = temporary_file("op,id,size,caps,alignment,timestamp\nmalloc,a,4,,,\n");
    assert_true(trace_read(path, TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(trace.count, 1);
    assert_int_equal(trace.format, TRACE_FORMAT_CSV);
    trace_free(&trace);

    /* "-": standard input, here the same file. */
    assert_non_null(freopen(path, "rb", stdin));
    assert_true(trace_read("-", TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(trace.count, 1);
    trace_free(&trace);
    unlink(path);
    free(path);

    /* Standard input longer than the first read: the buffer grows. */
    enum { LINES = 20000 };
    char *long_text = malloc(LINES * 32 + 64);
    assert_non_null(long_text);
    size_t n = (size_t)sprintf(long_text, "op,id,size,caps,alignment,timestamp\n");
    for (int i = 0; i < LINES; ++i) {
        n += (size_t)sprintf(long_text + n, "%s,0x%08x,%d,,,%d\n", i % 2 ? "free" : "malloc",
                             0x3ffb0000 + (i / 2) % 64 * 16, i % 2 ? 0 : 16, i);
    }
    char *long_path = temporary_file(long_text);
    assert_non_null(freopen(long_path, "rb", stdin));
    assert_true(trace_read("-", TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(trace.count, LINES);
    assert_int_equal(trace.id_count, LINES / 2);
    trace_free(&trace);
    assert_true(trace_read(long_path, TRACE_FREES_LATE, &trace, &error)); /* mapped */
    assert_int_equal(trace.count, LINES);
    trace_free(&trace);
    unlink(long_path);
    free(long_path);
    free(long_text);

    char *bad = temporary_file("op,id,size,caps,alignment,timestamp\nmalloc,a,x,,,\n");
    assert_false(trace_read(bad, TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(error.line, 2);
    assert_string_equal(error.message, "line 2: size 'x' is not a number (expected decimal bytes)");
    unlink(bad);
    free(bad);

    char *empty = temporary_file("");
    assert_false(trace_read(empty, TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(error.line, 0);
    assert_non_null(strstr(error.message, " is empty"));
    assert_non_null(strstr(error.message, empty));
    unlink(empty);
    free(empty);

    assert_false(trace_read("/nonexistent/trace.csv", TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(error.line, 0);
    assert_string_equal(error.message,
                        "cannot open '/nonexistent/trace.csv': No such file or directory");
    assert_false(trace_read("/tmp", TRACE_FREES_LATE, &trace, &error));
    assert_int_equal(error.line, 0);
    assert_string_equal(error.message, "cannot read '/tmp': Is a directory");
    assert_null(trace.ops);
}

static void format_names_and_free(void **state)
{
    (void)state;
    assert_string_equal(trace_format_name(TRACE_FORMAT_CSV), "csv");
    assert_string_equal(trace_format_name(TRACE_FORMAT_JSONL), "jsonl");
    assert_string_equal(trace_format_name(TRACE_FORMAT_ESP_IDF_DUMP), "esp-idf-dump");
    assert_string_equal(trace_format_name((trace_format_t)99), "unknown");
    trace_t empty = {0};
    trace_free(&empty);
    trace_free(&empty);
    trace_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(csv_every_operation, release),
        cmocka_unit_test_teardown(csv_caps_empty_or_zero_is_the_default_policy, release),
        cmocka_unit_test_teardown(csv_comments_blank_lines_and_crlf_anywhere, release),
        cmocka_unit_test_teardown(csv_byte_order_mark_is_skipped, release),
        cmocka_unit_test_teardown(csv_header_only_is_an_empty_trace, release),
        cmocka_unit_test_teardown(csv_callers_column_shares_equal_chains, release),
        cmocka_unit_test_teardown(csv_token_allocated_again_after_free_is_a_new_id, release),
        cmocka_unit_test_teardown(csv_realloc_of_nothing_and_to_zero, release),
        cmocka_unit_test_teardown(csv_unknown_frees_are_counted_and_left_out, release),
        cmocka_unit_test_teardown(csv_free_ignores_size_caps_and_alignment, release),
        cmocka_unit_test_teardown(csv_long_tokens_and_many_tokens, release),
        cmocka_unit_test_teardown(csv_huge_line, release),
        cmocka_unit_test_teardown(csv_malformed_lines, release),
        cmocka_unit_test_teardown(csv_nul_byte_in_a_line, release),
        cmocka_unit_test_teardown(csv_block_allocated_twice, release),
        cmocka_unit_test_teardown(csv_wrong_header, release),
        cmocka_unit_test_teardown(jsonl_every_operation_and_key, release),
        cmocka_unit_test_teardown(jsonl_string_escapes, release),
        cmocka_unit_test_teardown(jsonl_semantics_as_csv, release),
        cmocka_unit_test_teardown(jsonl_malformed_lines, release),
        cmocka_unit_test_teardown(jsonl_deep_nesting_is_refused_not_overflowed, release),
        cmocka_unit_test_teardown(dump_master_all_mode_late, release),
        cmocka_unit_test_teardown(dump_master_all_mode_early, release),
        cmocka_unit_test_teardown(dump_master_leaks_mode, release),
        cmocka_unit_test_teardown(dump_freed_by_lines, release),
        cmocka_unit_test_teardown(dump_from_the_host_library, release),
        cmocka_unit_test_teardown(dump_example_of_the_tracing_doc, release),
        cmocka_unit_test_teardown(dump_v51_all_mode_freed_records_look_live, release),
        cmocka_unit_test_teardown(dump_v51_leaks_mode_overlap_is_an_error, release),
        cmocka_unit_test_teardown(dump_v51_with_freed_by, release),
        cmocka_unit_test_teardown(dump_v50, release),
        cmocka_unit_test_teardown(dump_v50_leaks_without_callers, release),
        cmocka_unit_test_teardown(dump_overflowed_overlap_is_a_missed_free, release),
        cmocka_unit_test_teardown(dump_inside_a_monitor_log, release),
        cmocka_unit_test_teardown(dump_reuse_by_overlapping_ranges, release),
        cmocka_unit_test_teardown(dump_inference_matches_a_brute_force_reference, release),
        cmocka_unit_test_teardown(dump_live_overlap_is_an_error, release),
        cmocka_unit_test_teardown(dump_record_count_is_checked, release),
        cmocka_unit_test_teardown(dump_empty, release),
        cmocka_unit_test_teardown(dump_malformed, release),
        cmocka_unit_test_teardown(empty_and_comment_only_inputs, release),
        cmocka_unit_test_teardown(binary_garbage_fails_cleanly, release),
        cmocka_unit_test_teardown(mutated_traces_never_crash, release),
        cmocka_unit_test_teardown(read_files_and_standard_input, release),
        cmocka_unit_test_teardown(format_names_and_free, release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
