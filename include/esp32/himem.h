/*
 * esp32/himem.h — ESP32 himem: PSRAM beyond the 4 MiB the ESP32 can map,
 * reached through a window of 32 KiB pages at the top of the mapped PSRAM
 * range whose memory management unit entries are switched between physical
 * banks on demand.
 *
 *     esp_himem_handle_t mem;            // physical blocks
 *     esp_himem_rangehandle_t window;    // window blocks
 *     esp_himem_alloc(4 * ESP_HIMEM_BLKSZ, &mem);
 *     esp_himem_alloc_map_range(ESP_HIMEM_BLKSZ, &window);
 *     void *p;
 *     esp_himem_map(mem, window, 2 * ESP_HIMEM_BLKSZ, 0, ESP_HIMEM_BLKSZ, 0, &p);
 *     ...                                // p shows physical block 2 of mem
 *     esp_himem_unmap(window, p, ESP_HIMEM_BLKSZ);
 *
 * On the host this is the emulated ESP32 (heapcaps/emu.h) booted with himem
 * in use (heapcaps_emu_options_t.himem); on any other chip, or with himem
 * not in use, the functions report that himem is not available. What
 * differs from ESP-IDF is listed in docs/himem.md.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP32_HIMEM_H
#define ESP32_HIMEM_H

#include <stddef.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a physical block and of a window block: one MMU page. */
#define ESP_HIMEM_BLKSZ (0x8000)

/** Map read-only: accepted and ignored, as on ESP-IDF. */
#define ESP_HIMEM_MAPFLAG_RO 1

/** A set of physical PSRAM blocks (not necessarily contiguous). */
typedef struct esp_himem_ramdata_t *esp_himem_handle_t;

/** A contiguous run of window blocks in the address space. */
typedef struct esp_himem_rangedata_t *esp_himem_rangehandle_t;

/**
 * Claim `size` bytes of physical himem: the first free blocks, in ascending
 * order. @return ESP_OK; ESP_ERR_INVALID_SIZE when size is not a multiple
 * of ESP_HIMEM_BLKSZ; ESP_ERR_NO_MEM when there are not enough free blocks
 * (also for size 0, and when himem is not available) or no memory for the
 * handle. A NULL handle_out is ESP_ERR_INVALID_ARG.
 */
esp_err_t esp_himem_alloc(size_t size, esp_himem_handle_t *handle_out);

/**
 * Claim `size` bytes of contiguous window blocks, the lowest free run.
 * @return ESP_OK; ESP_ERR_INVALID_STATE when himem is not available;
 * ESP_ERR_INVALID_SIZE when size is not a multiple of ESP_HIMEM_BLKSZ;
 * ESP_ERR_NO_MEM when no run is free (also for size 0) or no memory for the
 * handle. A NULL handle_out is ESP_ERR_INVALID_ARG.
 */
esp_err_t esp_himem_alloc_map_range(size_t size, esp_himem_rangehandle_t *handle_out);

/**
 * Show `len` bytes of `handle`'s blocks from `ram_offset` in `range` from
 * `range_offset`; *out_ptr is where they appear. `flags` is ignored.
 * @return ESP_OK (len 0 too: only the pointer); ESP_ERR_INVALID_STATE when
 * himem is not available; ESP_ERR_INVALID_ARG when an offset or len is not
 * a multiple of ESP_HIMEM_BLKSZ (or a handle or out_ptr is NULL);
 * ESP_ERR_INVALID_SIZE when the blocks lie beyond either handle;
 * ESP_ERR_INVALID_STATE when one of the physical blocks is mapped already,
 * anywhere, or one of the window blocks is.
 */
esp_err_t esp_himem_map(esp_himem_handle_t handle, esp_himem_rangehandle_t range, size_t ram_offset,
                        size_t range_offset, size_t len, int flags, void **out_ptr);

/**
 * Mark `len` bytes of `range` from `ptr` unmapped (the window keeps showing
 * them until mapped anew, as on the chip). @return ESP_OK;
 * ESP_ERR_INVALID_ARG when ptr is not at a block of the window, len is not
 * a multiple of ESP_HIMEM_BLKSZ, or the blocks lie outside `range`.
 */
esp_err_t esp_himem_unmap(esp_himem_rangehandle_t range, void *ptr, size_t len);

/**
 * Give `handle`'s physical blocks back. @return ESP_OK; ESP_ERR_INVALID_ARG
 * when one of them is still mapped (nothing is freed) or handle is NULL.
 */
esp_err_t esp_himem_free(esp_himem_handle_t handle);

/**
 * Give `handle`'s window blocks back. @return ESP_OK; ESP_ERR_INVALID_ARG
 * when one of them is still mapped (nothing is freed) or handle is NULL.
 */
esp_err_t esp_himem_free_map_range(esp_himem_rangehandle_t handle);

/** Bytes of physical PSRAM under himem's control (0 when not available). */
size_t esp_himem_get_phys_size(void);

/** Bytes of it not claimed by esp_himem_alloc() (0 when not available). */
size_t esp_himem_get_free_size(void);

/** Bytes of the PSRAM address window reserved as himem's window (0 when
 *  himem is not in use: the PSRAM heap keeps them). */
size_t esp_himem_reserved_area_size(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP32_HIMEM_H */
