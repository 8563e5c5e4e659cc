/*
 * boot_options.h — the chip options of `heapcaps boot` (--target, --psram,
 * --sdkconfig, ...) for every command that boots a chip: reading them,
 * turning them into the emulator's options, reporting a failed boot.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_BOOT_OPTIONS_H
#define HEAPCAPS_TOOLS_BOOT_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "boot_settings.h"
#include "esp_err.h"
#include "heapcaps/emu.h"

/* If argv[*index] is a chip option, store it in `settings` (taking its value
 * word too, *index moves past it) and return 1; 0 when it is not one; -1
 * when its value is wrong (message printed, starting with `command`). */
int boot_option_take(const char *command, int argc, char **argv, int *index,
                     boot_settings_t *settings);

/* The option rows of --help. */
void boot_options_usage(FILE *out);

/* The sdkconfig file under the command line, the target checked, the
 * emulator's options. False when something is wrong (message printed). */
bool boot_prepare(const char *command, const boot_settings_t *command_line,
                  boot_settings_t *settings, const char **target, heapcaps_emu_options_t *options);

/* "<command>: booting <target> failed: <error>: <what it means>". */
void boot_report_failure(const char *command, esp_err_t err, const char *target,
                         const heapcaps_emu_options_t *options);

#endif /* HEAPCAPS_TOOLS_BOOT_OPTIONS_H */
