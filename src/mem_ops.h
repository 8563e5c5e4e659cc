/*
 * mem_ops.h — copy and fill for memory the library owns inside a heap
 * (headers, canaries, free blocks, the bytes of a block being moved).
 *
 * They are memcpy and memset, except with the sanitizer view: there the heap's
 * free memory and headers are poisoned for AddressSanitizer, whose memcpy and
 * memset check every byte, so the library's own accesses go through loops of
 * its uninstrumented code instead (sanitizer_view.c). Private to the library.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_MEM_OPS_H
#define HEAPCAPS_MEM_OPS_H

#include <stddef.h>
#include <string.h>

#include "heapcaps/config.h"

#ifdef HEAPCAPS_SANITIZER_VIEW
void heapcaps_view_copy(void *to, const void *from, size_t bytes);
void heapcaps_view_fill(void *to, int byte, size_t bytes);
#define heapcaps_copy heapcaps_view_copy
#define heapcaps_fill heapcaps_view_fill
#else
#define heapcaps_copy memcpy
#define heapcaps_fill memset
#endif

#endif /* HEAPCAPS_MEM_OPS_H */
