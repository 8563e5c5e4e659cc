/*
 * sdkconfig.h — reading the heap-related settings of an ESP-IDF project's
 * sdkconfig file (lines "CONFIG_NAME=value" and "# CONFIG_NAME is not set").
 *
 * Understood: CONFIG_IDF_TARGET, CONFIG_SPIRAM, CONFIG_SPIRAM_SIZE (-1 =
 * auto-detect), CONFIG_SPIRAM_USE_MALLOC / _USE_CAPS_ALLOC / _USE_MEMMAP,
 * CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL, CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL,
 * CONFIG_SPIRAM_BANKSWITCH_ENABLE, CONFIG_SPIRAM_BANKSWITCH_RESERVE,
 * CONFIG_ESP_SYSTEM_MEMPROT (and the older CONFIG_ESP_SYSTEM_MEMPROT_FEATURE),
 * CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP and
 * CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS. Other CONFIG_ keys are ignored;
 * comments and blank lines too.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_SDKCONFIG_H
#define HEAPCAPS_TOOLS_SDKCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "boot_settings.h"

/* Set in `settings` the values the file at `path` gives (and mark them
 * given); leave the others alone. On failure return false with a message in
 * `error`: "PATH:LINE: what is wrong" for a malformed line or a bad value of
 * an understood key, "PATH: reason" when the file cannot be read. */
bool sdkconfig_read(const char *path, boot_settings_t *settings, char *error, size_t error_size);

#endif /* HEAPCAPS_TOOLS_SDKCONFIG_H */
