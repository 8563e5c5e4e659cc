/* rng.h — the workloads' random stream: Marsaglia's xorshift64 with seeding and urange().
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} rng_t;

/** Next output: the updated state (x ^= x << 13; x ^= x >> 7; x ^= x << 17). */
static inline uint64_t rng_next(rng_t *rng)
{
    uint64_t x = rng->state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng->state = x;
    return x;
}

/** Seed with s (0 means Marsaglia's default state), then discard 8 outputs. */
static inline void rng_seed(rng_t *rng, uint64_t seed)
{
    rng->state = seed != 0 ? seed : UINT64_C(88172645463325252);
    for (int i = 0; i < 8; i++) {
        (void)rng_next(rng);
    }
}

/** lo + next() % (hi - lo + 1), computed in 64 bits on every ABI. */
static inline uint64_t rng_urange(rng_t *rng, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(rng) % (hi - lo + 1);
}

#endif /* BENCH_RNG_H */
