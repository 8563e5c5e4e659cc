/*
 * boot_settings.h — the configuration of an emulated boot as the heapcaps
 * program collects it: each value remembers whether it was given, so that
 * command-line values can be laid over an sdkconfig file's, and both over the
 * emulator's defaults.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_BOOT_SETTINGS_H
#define HEAPCAPS_TOOLS_BOOT_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "heapcaps/emu.h"

/* PSRAM use, the values of heapcaps_emu_options_t.psram_use. */
enum {
    BOOT_PSRAM_USE_MALLOC = 0,     /* CONFIG_SPIRAM_USE_MALLOC */
    BOOT_PSRAM_USE_CAPS_ALLOC = 1, /* CONFIG_SPIRAM_USE_CAPS_ALLOC */
    BOOT_PSRAM_USE_MEMMAP = 2,     /* CONFIG_SPIRAM_USE_MEMMAP */
};

/* One bit per setting: set in boot_settings_t.given when the value is there. */
enum {
    BOOT_GIVEN_TARGET = 1u << 0,
    BOOT_GIVEN_PSRAM_SIZE = 1u << 1,
    BOOT_GIVEN_STATIC_DRAM = 1u << 2,
    BOOT_GIVEN_IRAM_CODE = 1u << 3,
    BOOT_GIVEN_MEMPROT = 1u << 4,
    BOOT_GIVEN_RTC_HEAP = 1u << 5,
    BOOT_GIVEN_PSRAM_USE = 1u << 6,
    BOOT_GIVEN_ALWAYS_INTERNAL = 1u << 7,
    BOOT_GIVEN_RESERVE_INTERNAL = 1u << 8,
    BOOT_GIVEN_ABORT_ON_FAILURE = 1u << 9,
    BOOT_GIVEN_QUIET = 1u << 10,
    BOOT_GIVEN_SDKCONFIG = 1u << 11,
    BOOT_GIVEN_HIMEM = 1u << 12,
    BOOT_GIVEN_HIMEM_RESERVE = 1u << 13,
};

/* ESP-IDF's Kconfig ranges of the two PSRAM malloc limits. */
#define BOOT_ALWAYS_INTERNAL_MAX  131072u
#define BOOT_RESERVE_INTERNAL_MAX 262144u

/* ESP-IDF's Kconfig range of CONFIG_SPIRAM_BANKSWITCH_RESERVE (32 KiB pages). */
#define BOOT_HIMEM_RESERVE_MIN 1
#define BOOT_HIMEM_RESERVE_MAX 62

#define BOOT_TARGET_NAME_MAX 32
#define BOOT_PATH_MAX        4096

typedef struct {
    unsigned given;                    /* BOOT_GIVEN_* of the fields that hold a value */
    char target[BOOT_TARGET_NAME_MAX]; /* chip name, e.g. "esp32s3" */
    size_t psram_size;                 /* bytes, 0 = none */
    bool psram_auto;                   /* size auto-detected (CONFIG_SPIRAM_SIZE=-1) */
    size_t static_dram;                /* bytes of static data in DRAM */
    size_t iram_code;                  /* bytes of code in IRAM (ESP32) */
    bool memprot;                      /* CONFIG_ESP_SYSTEM_MEMPROT */
    bool rtc_heap;                     /* CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP */
    int psram_use;                     /* BOOT_PSRAM_USE_* */
    size_t always_internal;            /* CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL */
    size_t reserve_internal;           /* CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL */
    bool abort_on_alloc_failure;       /* CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS */
    bool quiet;                        /* no startup log */
    bool himem;                        /* himem; not given: on when ESP32 PSRAM > 4 MiB */
    int himem_reserve;                 /* CONFIG_SPIRAM_BANKSWITCH_RESERVE: window pages */
    char sdkconfig_path[BOOT_PATH_MAX];
} boot_settings_t;

/* Copy every value `top` holds over `base`. */
void boot_settings_overlay(boot_settings_t *base, const boot_settings_t *top);

/* PSRAM size assumed for CONFIG_SPIRAM_SIZE=-1 on `target`: 4 MiB on the
 * ESP32 (its whole mapped window), 2 MiB on other chips (the smallest PSRAM
 * their modules carry). */
size_t boot_psram_auto_size(const char *target);

/* The emulator's options for `settings`; values not given keep the
 * emulator's defaults. An auto-detected PSRAM is boot_psram_auto_size(). */
void boot_settings_resolve(const boot_settings_t *settings, heapcaps_emu_options_t *options);

/* The chip to boot: the given target, else "esp32". */
const char *boot_settings_target(const boot_settings_t *settings);

#endif /* HEAPCAPS_TOOLS_BOOT_SETTINGS_H */
