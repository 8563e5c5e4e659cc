/*
 * fuzz_common.h — what the libFuzzer harnesses share: reading operations out
 * of the fuzzer's bytes, the byte pattern the blocks are filled with, the
 * build's per-block overheads, reporting a model mismatch, and the operation
 * counter printed at exit.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_FUZZ_COMMON_H
#define HEAPCAPS_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapcaps/config.h"

/* ---- the build's block format (docs/allocator.md, docs/debugging.md) ---- */

#define FZ_WORD        sizeof(size_t)           /* header word, payload granularity */
#define FZ_MIN_PAYLOAD (3 * FZ_WORD)            /* smallest block payload */
#define FZ_SPLIT_MIN   (4 * FZ_WORD)            /* a split-off rest holds header + minimum */
#define FZ_SLACK       (FZ_SPLIT_MIN - FZ_WORD) /* most a block exceeds its request by */

/* Light and Comprehensive poisoning put an 8-byte head and a 4-byte tail
 * around every allocation; multi_heap's figures leave them out. */
#if defined(CONFIG_HEAP_POISONING_LIGHT) || defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
#define FZ_POISON_HEAD ((size_t)8)
#define FZ_POISON      ((size_t)12)
#else
#define FZ_POISON_HEAD ((size_t)0)
#define FZ_POISON      ((size_t)0)
#endif
#ifdef CONFIG_HEAP_POISONING_COMPREHENSIVE
#define FZ_COMPREHENSIVE 1 /* realloc always moves: malloc new, copy, free old */
#else
#define FZ_COMPREHENSIVE 0
#endif

/* Payload size the allocator gives a request of n bytes at least. */
static inline size_t fz_adjust(size_t n)
{
    size_t s = (n + FZ_WORD - 1) & ~(FZ_WORD - 1);
    return s < FZ_MIN_PAYLOAD ? FZ_MIN_PAYLOAD : s;
}

/* A raw figure as multi_heap reports it with poisoning: less one block's. */
static inline size_t fz_less_poison(size_t bytes)
{
    return bytes > FZ_POISON ? bytes - FZ_POISON : 0;
}

/* ---- the input --------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} fz_input_t;

static inline bool fz_more(const fz_input_t *in)
{
    return in->pos < in->size;
}

/* Past the end every read is 0, so any byte string is a valid program. */
static inline uint8_t fz_u8(fz_input_t *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint16_t fz_u16(fz_input_t *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(fz_input_t *in)
{
    uint32_t lo = fz_u16(in);
    return lo | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(fz_input_t *in)
{
    uint64_t lo = fz_u32(in);
    return lo | (uint64_t)fz_u32(in) << 32;
}

/* ---- block contents ----------------------------------------------------
 * A block of id k holds fz_pattern[k % 251 ...]: a pseudo-random table, so
 * a block copied to the wrong offset or mixed with another's bytes shows. */

#define FZ_PATTERN_SPAN 256u

extern uint8_t *fz_pattern;

void fz_pattern_init(size_t longest_block);

static inline size_t fz_pattern_offset(uint32_t id)
{
    return id % 251u;
}

static inline void fz_fill(void *p, size_t from, size_t to, uint32_t id)
{
    memcpy((uint8_t *)p + from, fz_pattern + fz_pattern_offset(id) + from, to - from);
}

static inline bool fz_holds(const void *p, size_t bytes, uint32_t id)
{
    return memcmp(p, fz_pattern + fz_pattern_offset(id), bytes) == 0;
}

/* All `bytes` bytes at p are `value` (memcmp, not a loop the coverage
 * instrumentation would trace byte by byte). */
static inline bool fz_all(const void *p, size_t bytes, uint8_t value)
{
    const uint8_t *b = p;
    return bytes == 0 || (b[0] == value && memcmp(b, b + 1, bytes - 1) == 0);
}

/* ---- reporting -----------------------------------------------------------
 * A mismatch prints what differs and aborts: libFuzzer saves the input. */

extern const char *fz_harness;
extern uint64_t fz_operations, fz_inputs;
extern bool fz_trace; /* HEAPCAPS_FUZZ_TRACE set: print every operation */
/* HEAPCAPS_FUZZ_KNOWN_BUGS set: also drive the library into the bugs listed
 * in docs/fuzzing.md, which the harnesses otherwise steer around so that a
 * long run finds new ones (the regression ctests set it). */
extern bool fz_known_bugs;

#define FZ_TRACE(...)                                                                              \
    do {                                                                                           \
        if (fz_trace) {                                                                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
        }                                                                                          \
    } while (0)

__attribute__((format(printf, 1, 2), noreturn)) void fz_fail(const char *format, ...);

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fz_fail("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                         \
        }                                                                                          \
    } while (0)

#define FZ_CHECK_EQ(a, b)                                                                          \
    do {                                                                                           \
        uintmax_t fz_a_ = (uintmax_t)(a), fz_b_ = (uintmax_t)(b);                                  \
        if (fz_a_ != fz_b_) {                                                                      \
            fz_fail("%s:%d: %s == %s failed: %ju != %ju", __FILE__, __LINE__, #a, #b, fz_a_,       \
                    fz_b_);                                                                        \
        }                                                                                          \
    } while (0)

/* Set up the pattern, the counters and the summary printed at exit. */
void fz_init(const char *harness, size_t longest_block);

#endif /* HEAPCAPS_FUZZ_COMMON_H */
