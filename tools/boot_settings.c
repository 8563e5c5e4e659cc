/*
 * boot_settings.c — laying settings over each other and turning them into the
 * emulator's boot options (boot_settings.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "boot_settings.h"

#include <string.h>

#define MIB (1024u * 1024u)

void boot_settings_overlay(boot_settings_t *base, const boot_settings_t *top)
{
    unsigned given = top->given;
    if (given & BOOT_GIVEN_TARGET) {
        memcpy(base->target, top->target, sizeof(base->target));
    }
    if (given & BOOT_GIVEN_PSRAM_SIZE) {
        base->psram_size = top->psram_size;
        base->psram_auto = top->psram_auto;
    }
    if (given & BOOT_GIVEN_STATIC_DRAM) {
        base->static_dram = top->static_dram;
    }
    if (given & BOOT_GIVEN_IRAM_CODE) {
        base->iram_code = top->iram_code;
    }
    if (given & BOOT_GIVEN_MEMPROT) {
        base->memprot = top->memprot;
    }
    if (given & BOOT_GIVEN_RTC_HEAP) {
        base->rtc_heap = top->rtc_heap;
    }
    if (given & BOOT_GIVEN_PSRAM_USE) {
        base->psram_use = top->psram_use;
    }
    if (given & BOOT_GIVEN_ALWAYS_INTERNAL) {
        base->always_internal = top->always_internal;
    }
    if (given & BOOT_GIVEN_RESERVE_INTERNAL) {
        base->reserve_internal = top->reserve_internal;
    }
    if (given & BOOT_GIVEN_ABORT_ON_FAILURE) {
        base->abort_on_alloc_failure = top->abort_on_alloc_failure;
    }
    if (given & BOOT_GIVEN_QUIET) {
        base->quiet = top->quiet;
    }
    if (given & BOOT_GIVEN_HIMEM) {
        base->himem = top->himem;
    }
    if (given & BOOT_GIVEN_HIMEM_RESERVE) {
        base->himem_reserve = top->himem_reserve;
    }
    if (given & BOOT_GIVEN_SDKCONFIG) {
        memcpy(base->sdkconfig_path, top->sdkconfig_path, sizeof(base->sdkconfig_path));
    }
    base->given |= given;
}

size_t boot_psram_auto_size(const char *target)
{
    return strcmp(target, "esp32") == 0 ? 4 * MIB : 2 * MIB;
}

const char *boot_settings_target(const boot_settings_t *settings)
{
    return (settings->given & BOOT_GIVEN_TARGET) ? settings->target : "esp32";
}

static heapcaps_emu_switch_t to_switch(const boot_settings_t *settings, unsigned bit, bool on)
{
    if (!(settings->given & bit)) {
        return HEAPCAPS_EMU_DEFAULT;
    }
    return on ? HEAPCAPS_EMU_ON : HEAPCAPS_EMU_OFF;
}

void boot_settings_resolve(const boot_settings_t *settings, heapcaps_emu_options_t *options)
{
    unsigned given = settings->given;
    memset(options, 0, sizeof(*options));
    if (given & BOOT_GIVEN_PSRAM_SIZE) {
        options->psram_size = settings->psram_auto
                                  ? boot_psram_auto_size(boot_settings_target(settings))
                                  : settings->psram_size;
    }
    if (given & BOOT_GIVEN_STATIC_DRAM) {
        options->static_dram = settings->static_dram;
    }
    if (given & BOOT_GIVEN_IRAM_CODE) {
        options->iram_code = settings->iram_code;
    }
    options->memprot = to_switch(settings, BOOT_GIVEN_MEMPROT, settings->memprot);
    options->rtc_heap = to_switch(settings, BOOT_GIVEN_RTC_HEAP, settings->rtc_heap);
    if (given & BOOT_GIVEN_PSRAM_USE) {
        options->psram_use = settings->psram_use;
    }
    /* Both limits are checked against ESP-IDF's ranges (far below LONG_MAX)
     * when they are read. */
    if (given & BOOT_GIVEN_ALWAYS_INTERNAL) {
        options->psram_always_internal =
            settings->always_internal ? (long)settings->always_internal : HEAPCAPS_EMU_NONE;
    }
    if (given & BOOT_GIVEN_RESERVE_INTERNAL) {
        options->psram_reserve_internal =
            settings->reserve_internal ? (long)settings->reserve_internal : HEAPCAPS_EMU_NONE;
    }
    options->quiet = (given & BOOT_GIVEN_QUIET) && settings->quiet;
    options->himem = to_switch(settings, BOOT_GIVEN_HIMEM, settings->himem);
    if (given & BOOT_GIVEN_HIMEM_RESERVE) {
        options->himem_reserve = settings->himem_reserve; /* 1-62, checked when read */
    }
}
