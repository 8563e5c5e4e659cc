/*
 * emu_himem.h — between the emulator and himem (private to emu/): the
 * window and banks a booted ESP32 gives himem, and the memory management
 * unit entry himem switches.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_EMU_HIMEM_H
#define HEAPCAPS_EMU_HIMEM_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

/** Bytes of one MMU page of the PSRAM window, and of one himem block. */
#define EMU_HIMEM_PAGE 0x8000u

/** What a booted chip gives himem. */
typedef struct {
    uint32_t window_chip;    /**< chip address of window block 0 */
    size_t window_blocks;    /**< CONFIG_SPIRAM_BANKSWITCH_RESERVE */
    uint64_t physical_start; /**< PSRAM offset of physical block 0 */
    uint64_t physical_size;  /**< bytes of PSRAM in all */
} emu_himem_setup_t;

/** Bring himem up (its descriptors come from the chip's heap, as calloc()
 *  gives them on the device) and log its startup line. */
void emu_himem_start(const emu_himem_setup_t *setup);

/** Forget himem's state (the chip's memory goes with the shutdown). */
void emu_himem_stop(void);

/** Point the window page at chip address `window_chip` to the PSRAM page
 *  at byte offset `physical` (emu.c). */
esp_err_t emu_himem_set_bank(uint32_t window_chip, uint64_t physical);

#endif /* HEAPCAPS_EMU_HIMEM_H */
