/*
 * heapcaps/lock.h — the lock object handed to multi_heap_set_lock().
 *
 * Its storage belongs to the caller (as a portMUX_TYPE does on ESP-IDF); the
 * port decides what it holds: on the host a recursive pthread mutex.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_LOCK_H
#define HEAPCAPS_LOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Storage for one heap lock; initialise with heapcaps_lock_init(). */
typedef struct {
    uint64_t storage[8];
} heapcaps_lock_t;

/** Initialise a recursive lock. */
void heapcaps_lock_init(heapcaps_lock_t *lock);

/** Release what heapcaps_lock_init() set up; the lock must not be held. */
void heapcaps_lock_destroy(heapcaps_lock_t *lock);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_LOCK_H */
