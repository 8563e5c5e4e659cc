/*
 * heapcaps/host.h — aids of the host port for tests of what a device cannot
 * easily show (host builds only).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_HOST_H
#define HEAPCAPS_HOST_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Make the library's requests for its own memory (route and lookup tables,
 * task-tracking statistics; never a chip heap's memory) fail once `count`
 * more have succeeded; a negative count: never fail (the default). For
 * testing the out-of-memory paths.
 */
void heapcaps_host_fail_meta_alloc_after(long count);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_HOST_H */
