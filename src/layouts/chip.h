/*
 * chip.h — what the project knows about each ESP chip's memory, as data: one
 * file per chip (esp32.c, esp32s2.c, ...) defines a heapcaps_chip_t, and
 * heapcaps_chip_build_layout() turns it, with the build/run options of an
 * application (memory protection, PSRAM, static usage), into the
 * heapcaps_layout_t that heap_caps_init() consumes.
 *
 * Addresses are the chip's own; the emulator adds its mapping offset.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_CHIP_H
#define HEAPCAPS_CHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapcaps/layout.h"

/** When a region of a chip table exists (flags, all must hold). */
enum {
    HEAPCAPS_REGION_ALWAYS = 0,
    HEAPCAPS_REGION_IF_RTC_HEAP = 1u << 0,   /**< RTC fast memory allowed as heap */
    HEAPCAPS_REGION_IF_NO_MEMPROT = 1u << 1, /**< memory protection off */
    HEAPCAPS_REGION_IF_PSRAM = 1u << 2,      /**< PSRAM present (window reserved, added later) */
};

/* Shorthands for the chip tables (src/layouts/esp32*.c): one row of a region
 * table, its conditions, and the length of a table. */
#define REGION(start, size, type, iram_alias, startup, when)                                       \
    {                                                                                              \
        {(start), (size), (type), (iram_alias), (startup)}, (when)                                 \
    }
#define ALWAYS              HEAPCAPS_REGION_ALWAYS
#define IF_RTC_HEAP         HEAPCAPS_REGION_IF_RTC_HEAP
#define IF_NO_MEMPROT       HEAPCAPS_REGION_IF_NO_MEMPROT
#define IF_PSRAM            HEAPCAPS_REGION_IF_PSRAM
#define TABLE_LENGTH(table) (sizeof(table) / sizeof((table)[0]))

typedef struct {
    soc_memory_region_t region; /**< chip addresses; type indexes the chip's types */
    uint32_t when;              /**< HEAPCAPS_REGION_IF_* flags */
} heapcaps_chip_region_t;

/** One chip's memory, as ESP-IDF master describes it. */
typedef struct {
    const char *name;                    /**< "esp32", "esp32s3", ... */
    heapcaps_soc_t soc;                  /**< address facts */
    const soc_memory_type_desc_t *types; /**< caps as with memory protection off */
    size_t type_count;
    const heapcaps_chip_region_t *regions;
    size_t region_count;
    /** Reservations every application has (ROM data, the ROM's own layout
     *  entry, RTC reserved words, trace memory off): chip addresses. */
    const soc_reserved_region_t *reserved;
    size_t reserved_count;
    /** The application's static RAM: reserved from static_dram_start for
     *  static_dram bytes (IRAM code included on chips where it shares the
     *  DRAM address space). The default reproduces the example log. */
    uint32_t static_dram_start;
    uint32_t default_static_dram;
    /** IRAM code in its own address range (ESP32): reserved from
     *  iram_code_start for iram_code bytes; 0 where not separate. */
    uint32_t iram_code_start;
    uint32_t default_iram_code;
    bool default_memprot;  /**< CONFIG_ESP_SYSTEM_MEMPROT default */
    bool default_rtc_heap; /**< CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP default */
    uint32_t max_psram;    /**< bytes of PSRAM the data window maps; 0 = no PSRAM */
    /** Largest PSRAM accepted, bank-switched beyond max_psram (ESP32 himem);
     *  0 = max_psram. */
    uint32_t max_physical_psram;
} heapcaps_chip_t;

/** Run-time choices of an application that shape its heap. */
typedef struct {
    bool memprot;         /**< memory protection on: EXEC removed from every type */
    bool rtc_heap;        /**< RTC fast memory used as heap */
    bool psram;           /**< PSRAM present (its window is reserved; esp_psram adds it) */
    uint32_t static_dram; /**< bytes; 0 = the chip's default */
    uint32_t iram_code;   /**< bytes; 0 = the chip's default */
} heapcaps_chip_options_t;

/** Room for one built layout (no allocation needed). */
typedef struct {
    heapcaps_layout_t layout;
    soc_memory_type_desc_t types[8];
    soc_memory_region_t regions[64];
    soc_reserved_region_t reserved[24];
} heapcaps_chip_layout_t;

/** The chip called `name` (e.g. "esp32c3"), or NULL. */
const heapcaps_chip_t *heapcaps_chip_find(const char *name);

/** Every known chip, NULL-terminated, in a stable order. */
extern const heapcaps_chip_t *const heapcaps_chips[];

/**
 * Build the layout of `chip` under `options` into `out` (address_offset 0):
 * regions whose condition does not hold are left out, EXEC is removed from
 * every type when memory protection is on, and the application's static
 * RAM is reserved. @return ESP_OK, or ESP_ERR_INVALID_ARG when the static
 * sizes do not fit the chip.
 */
esp_err_t heapcaps_chip_build_layout(const heapcaps_chip_t *chip,
                                     const heapcaps_chip_options_t *options,
                                     heapcaps_chip_layout_t *out);

#endif /* HEAPCAPS_CHIP_H */
