/*
 * heapcaps/recorder.h — record a program's heap activity as a CSV trace that
 * `heapcaps replay` re-executes on an emulated chip.
 *
 * Linking: the recorder is the static library heapcaps_recorder (recorder/),
 * built when heapcaps is configured with -DHEAPCAPS_HOOKS=ON (ESP-IDF's
 * CONFIG_HEAP_USE_HOOKS): it defines esp_heap_trace_alloc_hook() and
 * esp_heap_trace_free_hook(), so a program that links it must not define them
 * itself. In CMake: target_link_libraries(app PRIVATE heapcaps_recorder).
 * It runs wherever heapcaps runs (host emulator or bare-metal port): no stdio,
 * no allocation; each line goes to the write callback as it happens.
 *
 *     static void to_file(const char *text, size_t length, void *context)
 *     {
 *         fwrite(text, 1, length, context);
 *     }
 *     heapcaps_recorder_start(to_file, file);
 *     ...                                   // the code whose heap use is wanted
 *     heapcaps_recorder_stop();
 *
 * What is written: "# heapcaps trace", the header
 * "op,id,size,caps,alignment,timestamp,callers", then one line per event:
 *
 *     malloc,0x3ffb2ec8,1600,0x8,,1234,        a new block
 *     realloc,0x3ffb2ec8,2000,0x8,,1240,       live block 0x3ffb2ec8 now has 2000 bytes
 *     free,0x3ffb2ec8,,,,1250,                 it goes back
 *
 * - id: the block's address when it was first recorded, in hex. A block keeps
 *   its id when a realloc moves it; a new block at an address whose hex is
 *   still the id of such a moved block gets that address plus n << 48
 *   (0x10000003ffb2ec8), so that live ids are always distinct.
 * - Only what the hooks see is known: calloc and aligned allocations are
 *   written as `malloc` lines (with n * size bytes; the alignment is not
 *   known), and size and caps are the ones the allocation was served with:
 *   after the hardware adjustments (DMA, cache-line rounding) and, for
 *   malloc(), the malloc() policy's choice (MALLOC_CAP_DEFAULT |
 *   MALLOC_CAP_INTERNAL, or | MALLOC_CAP_SPIRAM above the PSRAM threshold).
 *   caps is therefore never empty.
 * - realloc: within the block's heap, heap_caps calls only the alloc hook,
 *   with the new pointer (as ESP-IDF does), even when the block moved. The
 *   recorder writes `realloc` for an alloc hook at a live block's address
 *   (resized in place) and, when the heaps' free bytes show that some memory
 *   came back without a free hook, finds the recorded block that now lies in
 *   free memory of the new block's heap (heap_caps_walk()) and writes
 *   `realloc` for it: the block keeps its id.
 *   A realloc that moves to another heap reaches the hooks as an allocation
 *   and a free, and is written so: `malloc` of the new block, `free` of the old.
 * - Blocks allocated before heapcaps_recorder_start() are not in the trace:
 *   their frees are not written, a realloc of one appears as a new block.
 * - timestamp: the clock set with heapcaps_recorder_set_clock(), by default
 *   the port's cycle counter (CPU cycles on a chip, nanoseconds on a host).
 * - callers: always empty (the hooks are not given the caller).
 *
 * Threads: events are written one at a time under one lock, in the order the
 * hooks ran. The write callback runs under that lock: heap calls it makes
 * (fprintf allocating on a device's C library) are not recorded and do not
 * recurse, but it must not wait for another task that is allocating. With
 * hooks alone, a free whose hook has not run yet when another task's
 * allocation is recorded can be mistaken for a moved block's old address;
 * traces of concurrent tasks are exact when their allocations do not race.
 *
 * The recorder keeps the live blocks in a static table of
 * HEAPCAPS_RECORDER_SLOTS entries (default 4096; at most 7/8 of them are
 * used, 16 bytes each on a 32-bit chip). Events it cannot track (table full)
 * are still written but counted by heapcaps_recorder_dropped(): the trace is
 * then incomplete. Stop the recorder before the heaps go away
 * (heapcaps_emu_shutdown()).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_RECORDER_H
#define HEAPCAPS_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Receives `length` bytes of the trace (whole lines, not NUL-terminated). */
typedef void (*heapcaps_recorder_write_t)(const char *text, size_t length, void *context);

/** A time stamp for the next line. */
typedef uint64_t (*heapcaps_recorder_clock_t)(void);

/**
 * Start recording: writes the "# heapcaps trace" comment and the header
 * line, then every allocation, realloc and free until heapcaps_recorder_stop().
 * @return ESP_OK; ESP_ERR_INVALID_ARG for a NULL write; ESP_ERR_INVALID_STATE
 *         when already recording.
 */
esp_err_t heapcaps_recorder_start(heapcaps_recorder_write_t write, void *context);

/**
 * Stop recording and forget the live blocks. If events were dropped, writes
 * a last comment line saying how many. No-op when not recording.
 */
void heapcaps_recorder_stop(void);

/** Events of the current (or last) recording that could not be tracked. */
size_t heapcaps_recorder_dropped(void);

/**
 * Take the time stamps from `clock` (e.g. an operation counter, for traces
 * that must be reproducible); NULL: the port's cycle counter (the default).
 */
void heapcaps_recorder_set_clock(heapcaps_recorder_clock_t clock);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_RECORDER_H */
