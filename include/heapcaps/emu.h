/*
 * heapcaps/emu.h — the host chip emulator: boots the heap of a real ESP chip
 * inside this process, its RAM mapped at the chip's own addresses where the
 * host allows (else at host-chosen ones, with a one-line notice), so that
 * heap_caps_*, malloc-policy and esp_ptr_* calls behave as on the device.
 *
 *     heapcaps_emu_options_t options = {0};      // zero = defaults
 *     options.psram_size = 2 * 1024 * 1024;
 *     heapcaps_emu_boot("esp32s3", &options);    // or NULL options
 *     void *dma = heap_caps_malloc(512, MALLOC_CAP_DMA);
 *     ...
 *     heapcaps_emu_shutdown();
 *
 * Booting prints the startup log a device prints (see log_startup).
 * One chip is booted at a time; boot after shutdown as often as needed.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_EMU_H
#define HEAPCAPS_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/** For a size option whose 0 means "ESP-IDF's default": really zero bytes. */
#define HEAPCAPS_EMU_NONE (-1L)

/** A setting that can be left at the chip's ESP-IDF default. */
typedef enum {
    HEAPCAPS_EMU_DEFAULT = 0, /**< ESP-IDF's default for the chip */
    HEAPCAPS_EMU_ON,
    HEAPCAPS_EMU_OFF,
} heapcaps_emu_switch_t;

/** Boot options; all-zero means a typical application's configuration. */
typedef struct {
    /** Bytes of PSRAM, 0 = none. Up to what the chip's data window maps
     *  (ESP32-S2 10.5 MiB, ESP32-S3 32 MiB, ESP32-P4 64 MiB); on ESP32 up to
     *  16 MiB, of which the first 4 MiB are mapped and the rest is himem's. */
    size_t psram_size;
    size_t static_dram; /**< bytes of DRAM used statically, 0 = the chip's default */
    size_t iram_code;   /**< bytes of IRAM code where IRAM is separate (ESP32), 0 = default */
    /** CONFIG_ESP_SYSTEM_MEMPROT: default on, except ESP32 (no exec heap when on;
     *  off gives exec heaps and mapped linear D/IRAM aliases). */
    heapcaps_emu_switch_t memprot;
    /** CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP: default on where the chip
     *  has RTC fast memory (ESP32: off, it needs the single-core build). */
    heapcaps_emu_switch_t rtc_heap;
    /** PSRAM use (CONFIG_SPIRAM_USE_*): 0 = malloc (default), 1 = caps-alloc only,
     *  2 = mapped but not a heap. */
    int psram_use;
    /** CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL in bytes; 0 = ESP-IDF's default
     *  16384, HEAPCAPS_EMU_NONE = 0 bytes (every request prefers PSRAM). */
    long psram_always_internal;
    /** CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL in bytes; 0 = ESP-IDF's default
     *  32768, HEAPCAPS_EMU_NONE = no reserve pool. */
    long psram_reserve_internal;
    bool quiet; /**< do not print the startup log */
    /** The application uses himem (esp32/himem.h; ESP32 with
     *  CONFIG_SPIRAM_BANKSWITCH_ENABLE): the last himem_reserve 32 KiB pages
     *  of the PSRAM address window become himem's window, taken from the
     *  PSRAM heap. Default: on when psram_size exceeds the 4 MiB the ESP32
     *  maps (the rest is reachable only through himem), else off. */
    heapcaps_emu_switch_t himem;
    /** CONFIG_SPIRAM_BANKSWITCH_RESERVE: window pages, 1-62; 0 = 8. */
    int himem_reserve;
} heapcaps_emu_options_t;

/**
 * Boot `target` ("esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6",
 * "esp32h2", "esp32p4"). NULL target = "esp32"; NULL options = defaults.
 * @return ESP_OK; ESP_ERR_NOT_FOUND for an unknown target;
 *         ESP_ERR_INVALID_STATE when a chip is already booted;
 *         ESP_ERR_INVALID_SIZE for options that do not fit the chip;
 *         ESP_ERR_NO_MEM when the host cannot map the memory.
 */
esp_err_t heapcaps_emu_boot(const char *target, const heapcaps_emu_options_t *options);

/** Unregister every heap and unmap everything. No-op when nothing is booted. */
void heapcaps_emu_shutdown(void);

/** Name of the booted chip, or NULL. */
const char *heapcaps_emu_target(void);

/** True when the chip's RAM sits at its real addresses in this process. */
bool heapcaps_emu_real_addresses(void);

/** Host address of a chip address (identity in real-address mode). */
void *heapcaps_emu_host_ptr(uint32_t chip_address);

/** Chip address of a host address inside the emulated memory. */
uint32_t heapcaps_emu_chip_address(const void *host_ptr);

/** NULL-terminated list of the targets heapcaps_emu_boot() knows. */
const char *const *heapcaps_emu_targets(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_EMU_H */
