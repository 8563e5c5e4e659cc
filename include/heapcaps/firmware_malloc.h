/*
 * heapcaps/firmware_malloc.h — makes firmware code allocate as on the chip:
 * after this header, malloc, calloc, realloc, free, memalign, aligned_alloc,
 * posix_memalign, valloc, pvalloc and malloc_usable_size name the
 * heapcaps_libc_* functions (heapcaps/esp_libc.h), which follow the booted
 * chip's default policy. Give it to the firmware's sources only, first:
 *
 *     cc -include heapcaps/firmware_malloc.h -c firmware.c
 *     set_source_files_properties(firmware.c PROPERTIES
 *                                 COMPILE_OPTIONS "-include;heapcaps/firmware_malloc.h")
 *
 * The host's malloc is untouched: the host libc's own declarations are seen
 * first (<stdlib.h>, <malloc.h>), and code compiled without this header, the
 * test harness and the libraries included, keeps allocating from the host.
 * The names are object-like macros, so `&free` or a `free` callback in
 * firmware code refers to the emulated function too. Because the header comes
 * before the source's first line, feature-test macros (_GNU_SOURCE, ...) for
 * such sources belong on the command line (-D), not in the file. C only.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_FIRMWARE_MALLOC_H
#define HEAPCAPS_FIRMWARE_MALLOC_H

#include <stdlib.h>
#if defined(__has_include)
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif
#endif

#include "heapcaps/esp_libc.h"

#define malloc             heapcaps_libc_malloc
#define calloc             heapcaps_libc_calloc
#define realloc            heapcaps_libc_realloc
#define free               heapcaps_libc_free
#define memalign           heapcaps_libc_memalign
#define aligned_alloc      heapcaps_libc_aligned_alloc
#define posix_memalign     heapcaps_libc_posix_memalign
#define valloc             heapcaps_libc_valloc
#define pvalloc            heapcaps_libc_pvalloc
#define malloc_usable_size heapcaps_libc_malloc_usable_size

#endif /* HEAPCAPS_FIRMWARE_MALLOC_H */
