/*
 * boot_command.c — `heapcaps boot [options]`: boots an emulated chip with the
 * configuration from the command line and an optional sdkconfig file, prints
 * the startup log as the device would and then the per-capability heap table
 * (and the himem figures when himem is in use).
 *
 * The options are rows of one table (boot_options): a new option is a new
 * row, plus its field in boot_settings_t when it needs a new value.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "boot_options.h"
#include "boot_settings.h"
#include "commands.h"
#include "heap_svg.h"
#include "heap_table.h"
#include "heapcaps/emu.h"
#include "heapcaps/heap_caps_ext.h"
#include "sdkconfig.h"
#include "value_parse.h"

typedef enum {
    VALUE_FLAG,      /* no value: the bool field becomes true */
    VALUE_SIZE,      /* size_t field: bytes, K/M suffixes, at most `limit` (0: no limit) */
    VALUE_ON_OFF,    /* bool field: on | off */
    VALUE_PSRAM_USE, /* int field: malloc | caps | memmap */
    VALUE_COUNT,     /* int field: a decimal count from 1 to `limit` */
    VALUE_TEXT,      /* char array field: any text that fits */
} value_kind_t;

typedef struct {
    const char *name;       /* "--psram" */
    const char *value_name; /* how --help shows the value; NULL for flags */
    value_kind_t kind;
    size_t field_offset; /* where the value goes in boot_settings_t */
    size_t field_size;
    unsigned given_bit; /* BOOT_GIVEN_* */
    size_t limit;
    const char *help;
} boot_option_t;

#define FIELD(member) offsetof(boot_settings_t, member), sizeof(((boot_settings_t *)0)->member)

static const boot_option_t boot_options[] = {
    {"--target", "CHIP", VALUE_TEXT, FIELD(target), BOOT_GIVEN_TARGET, 0,
     "chip to boot (default esp32)"},
    {"--psram", "SIZE", VALUE_SIZE, FIELD(psram_size), BOOT_GIVEN_PSRAM_SIZE, 0,
     "PSRAM size, 0 = none (the default)"},
    {"--static-dram", "BYTES", VALUE_SIZE, FIELD(static_dram), BOOT_GIVEN_STATIC_DRAM, 0,
     "DRAM used by static data (default: typical app)"},
    {"--iram-code", "BYTES", VALUE_SIZE, FIELD(iram_code), BOOT_GIVEN_IRAM_CODE, 0,
     "IRAM used by code, ESP32 (default: typical app)"},
    {"--memprot", "on|off", VALUE_ON_OFF, FIELD(memprot), BOOT_GIVEN_MEMPROT, 0,
     "memory protection (default on; ESP32 off)"},
    {"--rtc-heap", "on|off", VALUE_ON_OFF, FIELD(rtc_heap), BOOT_GIVEN_RTC_HEAP, 0,
     "RTC fast memory as heap (default on; ESP32 off)"},
    {"--psram-use", "malloc|caps|memmap", VALUE_PSRAM_USE, FIELD(psram_use), BOOT_GIVEN_PSRAM_USE,
     0, "PSRAM for malloc (default), caps only, no heap"},
    {"--always-internal", "BYTES", VALUE_SIZE, FIELD(always_internal), BOOT_GIVEN_ALWAYS_INTERNAL,
     BOOT_ALWAYS_INTERNAL_MAX, "malloc() up to BYTES stays internal (16384)"},
    {"--reserve-internal", "BYTES", VALUE_SIZE, FIELD(reserve_internal),
     BOOT_GIVEN_RESERVE_INTERNAL, BOOT_RESERVE_INTERNAL_MAX,
     "internal pool kept for DMA/internal (32768)"},
    {"--himem", "on|off", VALUE_ON_OFF, FIELD(himem), BOOT_GIVEN_HIMEM, 0,
     "ESP32 himem (default on when PSRAM > 4M)"},
    {"--himem-reserve", "PAGES", VALUE_COUNT, FIELD(himem_reserve), BOOT_GIVEN_HIMEM_RESERVE,
     BOOT_HIMEM_RESERVE_MAX, "himem window in 32K pages, 1-62 (8)"},
    {"--sdkconfig", "FILE", VALUE_TEXT, FIELD(sdkconfig_path), BOOT_GIVEN_SDKCONFIG, 0,
     "settings from an sdkconfig; options win"},
    {"--quiet", NULL, VALUE_FLAG, FIELD(quiet), BOOT_GIVEN_QUIET, 0,
     "no startup log, only the table"},
};

#define BOOT_OPTION_COUNT (sizeof(boot_options) / sizeof(boot_options[0]))

static const char *const psram_use_names[] = {
    [BOOT_PSRAM_USE_MALLOC] = "malloc",
    [BOOT_PSRAM_USE_CAPS_ALLOC] = "caps",
    [BOOT_PSRAM_USE_MEMMAP] = "memmap",
};

/* Who is speaking in messages: "heapcaps boot" or "heapcaps replay". */
static const char *command_name = "heapcaps boot";

static void print_known_targets(FILE *out)
{
    const char *const *targets = heapcaps_emu_targets();
    for (size_t i = 0; targets[i]; i++) {
        fprintf(out, "%s%s", i ? ", " : "", targets[i]);
    }
}

void boot_command_usage(FILE *out)
{
    fprintf(out, "usage: heapcaps boot [options]\n"
                 "\n"
                 "Boots an emulated chip, prints the startup log a device prints and a table\n"
                 "of the heaps by capability (total, free, largest block, minimum free), then\n"
                 "the himem figures when the ESP32 uses himem.\n"
                 "\n"
                 "options:\n");
    boot_options_usage(out);
    fprintf(out, "  %-26s  %s\n", "--svg FILE", "a picture of every heap after the boot");
    fprintf(out, "  %-26s  %s\n", "--help", "show this text");
    fprintf(out, "\nSizes are bytes, or K/M multiples (64K, 2M). Targets: ");
    print_known_targets(out);
    fprintf(out, ".\n"
                 "Exit status: 0 booted, 1 the boot failed, 2 bad command line or sdkconfig.\n");
}

void boot_options_usage(FILE *out)
{
    for (size_t i = 0; i < BOOT_OPTION_COUNT; i++) {
        const boot_option_t *option = &boot_options[i];
        char synopsis[64];
        snprintf(synopsis, sizeof(synopsis), "%s%s%s", option->name, option->value_name ? " " : "",
                 option->value_name ? option->value_name : "");
        if (strlen(synopsis) > 26) {
            fprintf(out, "  %s\n  %-26s  %s\n", synopsis, "", option->help);
        } else {
            fprintf(out, "  %-26s  %s\n", synopsis, option->help);
        }
    }
}

static const boot_option_t *find_option(const char *name, size_t name_length)
{
    for (size_t i = 0; i < BOOT_OPTION_COUNT; i++) {
        if (strlen(boot_options[i].name) == name_length &&
            !strncmp(boot_options[i].name, name, name_length)) {
            return &boot_options[i];
        }
    }
    return NULL;
}

/* Store `value` for `option` in `settings`; false (message printed) if it is
 * not a valid value. */
static bool store_option(const boot_option_t *option, const char *value, boot_settings_t *settings)
{
    void *field = (char *)settings + option->field_offset;
    switch (option->kind) {
    case VALUE_FLAG:
        *(bool *)field = true;
        break;
    case VALUE_SIZE: {
        size_t bytes;
        if (!parse_size(value, &bytes)) {
            fprintf(stderr, "%s: %s: '%s' is not a size (e.g. 4096, 64K, 2M)\n", command_name,
                    option->name, value);
            return false;
        }
        if (option->limit && bytes > option->limit) {
            fprintf(stderr, "%s: %s: %zu is above ESP-IDF's maximum %zu\n", command_name,
                    option->name, bytes, option->limit);
            return false;
        }
        *(size_t *)field = bytes;
        break;
    }
    case VALUE_ON_OFF:
        if (!parse_on_off(value, (bool *)field)) {
            fprintf(stderr, "%s: %s: '%s' is neither on nor off\n", command_name, option->name,
                    value);
            return false;
        }
        break;
    case VALUE_PSRAM_USE: {
        size_t count = sizeof(psram_use_names) / sizeof(psram_use_names[0]);
        size_t use = 0;
        while (use < count && strcmp(value, psram_use_names[use]) != 0) {
            use++;
        }
        if (use == count) {
            fprintf(stderr, "%s: %s: '%s' is not one of malloc, caps, memmap\n", command_name,
                    option->name, value);
            return false;
        }
        *(int *)field = (int)use;
        break;
    }
    case VALUE_COUNT: {
        unsigned long count;
        if (!parse_count(value, &count) || count < 1 || count > option->limit) {
            fprintf(stderr, "%s: %s: '%s' is not a whole number from 1 to %zu\n", command_name,
                    option->name, value, option->limit);
            return false;
        }
        *(int *)field = (int)count;
        break;
    }
    case VALUE_TEXT:
        if (!value[0] || strlen(value) >= option->field_size) {
            fprintf(stderr, "%s: %s: '%s' is %s\n", command_name, option->name, value,
                    value[0] ? "too long" : "empty");
            return false;
        }
        strcpy((char *)field, value);
        break;
    }
    settings->given |= option->given_bit;
    return true;
}

int boot_option_take(const char *command, int argc, char **argv, int *index,
                     boot_settings_t *settings)
{
    command_name = command;
    const char *word = argv[*index];
    const char *equals = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
    size_t name_length = equals ? (size_t)(equals - word) : strlen(word);
    const boot_option_t *option = find_option(word, name_length);
    if (!option) {
        return 0;
    }
    const char *value = NULL;
    if (option->kind == VALUE_FLAG) {
        if (equals) {
            fprintf(stderr, "%s: %s takes no value\n", command_name, option->name);
            return -1;
        }
    } else if (equals) {
        value = equals + 1;
    } else if (*index + 1 < argc) {
        value = argv[++*index];
    } else {
        fprintf(stderr, "%s: %s needs a value (%s)\n", command_name, option->name,
                option->value_name);
        return -1;
    }
    return store_option(option, value, settings) ? 1 : -1;
}

typedef enum { PARSE_OK, PARSE_HELP, PARSE_ERROR } parse_result_t;

/* Read the words after "boot": "--name value", "--name=value" or "--flag";
 * --svg FILE is the command's own. */
static parse_result_t parse_command_line(int argc, char **argv, boot_settings_t *settings,
                                         const char **svg_path)
{
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        if (!strcmp(word, "--help") || !strcmp(word, "-h")) {
            return PARSE_HELP;
        }
        if (!strcmp(word, "--svg")) {
            if (i + 1 == argc) {
                fprintf(stderr, "heapcaps boot: --svg needs a value (FILE)\n");
                return PARSE_ERROR;
            }
            *svg_path = argv[++i];
            continue;
        }
        int taken = boot_option_take("heapcaps boot", argc, argv, &i, settings);
        if (taken < 0) {
            return PARSE_ERROR;
        }
        if (taken == 0) {
            const char *equals = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
            size_t name_length = equals ? (size_t)(equals - word) : strlen(word);
            fprintf(stderr, "heapcaps boot: unknown %s '%.*s' (see heapcaps boot --help)\n",
                    word[0] == '-' ? "option" : "argument", (int)name_length, word);
            return PARSE_ERROR;
        }
    }
    return PARSE_OK;
}

static bool target_is_known(const char *target)
{
    const char *const *targets = heapcaps_emu_targets();
    for (size_t i = 0; targets[i]; i++) {
        if (!strcmp(targets[i], target)) {
            return true;
        }
    }
    return false;
}

static const char *esp_err_name(esp_err_t err)
{
    switch (err) {
    case ESP_OK:
        return "ESP_OK";
    case ESP_FAIL:
        return "ESP_FAIL";
    case ESP_ERR_NO_MEM:
        return "ESP_ERR_NO_MEM";
    case ESP_ERR_INVALID_ARG:
        return "ESP_ERR_INVALID_ARG";
    case ESP_ERR_INVALID_STATE:
        return "ESP_ERR_INVALID_STATE";
    case ESP_ERR_INVALID_SIZE:
        return "ESP_ERR_INVALID_SIZE";
    case ESP_ERR_NOT_FOUND:
        return "ESP_ERR_NOT_FOUND";
    case ESP_ERR_NOT_SUPPORTED:
        return "ESP_ERR_NOT_SUPPORTED";
    default:
        return "unknown error";
    }
}

/* What a boot error means for the person who typed the command. */
static const char *boot_error_meaning(esp_err_t err, const char *target,
                                      const heapcaps_emu_options_t *options)
{
    /* --himem on is the one switch a chip can refuse outright (heapcaps/emu.h). */
    if (options->himem == HEAPCAPS_EMU_ON) {
        bool esp32 = !strcmp(target, "esp32");
        if (err == ESP_ERR_INVALID_ARG && !esp32) {
            return "himem (--himem on) exists only on the ESP32";
        }
        if (err == ESP_ERR_INVALID_SIZE && esp32 && options->psram_size < 4u * 1024 * 1024) {
            return "himem (--himem on) needs at least 4M of PSRAM on the ESP32";
        }
    }
    switch (err) {
    case ESP_ERR_INVALID_SIZE:
        return "the sizes do not fit the chip (PSRAM on a chip without PSRAM or above its "
               "maximum, or static sizes beyond its RAM)";
    case ESP_ERR_NO_MEM:
        return "the host could not map the chip's memory, or the DMA/internal pool "
               "did not fit";
    case ESP_ERR_NOT_FOUND:
        return "unknown target";
    case ESP_ERR_INVALID_ARG:
        return "an option value the emulator rejects";
    default:
        return "see heapcaps/emu.h";
    }
}

/* The command line over the sdkconfig file over nothing. False (message
 * printed) when the file cannot be used. */
static bool gather_settings(const boot_settings_t *command_line, boot_settings_t *settings)
{
    memset(settings, 0, sizeof(*settings));
    if (command_line->given & BOOT_GIVEN_SDKCONFIG) {
        char error[BOOT_PATH_MAX + 256];
        if (!sdkconfig_read(command_line->sdkconfig_path, settings, error, sizeof(error))) {
            fprintf(stderr, "%s: %s\n", command_name, error);
            return false;
        }
    }
    boot_settings_overlay(settings, command_line);
    return true;
}

bool boot_prepare(const char *command, const boot_settings_t *command_line,
                  boot_settings_t *settings, const char **target, heapcaps_emu_options_t *options)
{
    command_name = command;
    if (!gather_settings(command_line, settings)) {
        return false;
    }
    *target = boot_settings_target(settings);
    if (!target_is_known(*target)) {
        bool from_file = !(command_line->given & BOOT_GIVEN_TARGET);
        fprintf(stderr, "%s: unknown target '%s'%s%s%s; known targets: ", command_name, *target,
                from_file ? " (CONFIG_IDF_TARGET in " : "",
                from_file ? settings->sdkconfig_path : "", from_file ? ")" : "");
        print_known_targets(stderr);
        fprintf(stderr, "\n");
        return false;
    }
    if ((settings->given & BOOT_GIVEN_PSRAM_SIZE) && settings->psram_auto) {
        fprintf(stderr,
                "%s: note: %s asks for PSRAM size auto-detection "
                "(CONFIG_SPIRAM_SIZE=-1 or unset); assuming %zu MiB on %s\n",
                command_name, settings->sdkconfig_path,
                boot_psram_auto_size(*target) / (1024 * 1024), *target);
    }
    boot_settings_resolve(settings, options);
    return true;
}

void boot_report_failure(const char *command, esp_err_t err, const char *target,
                         const heapcaps_emu_options_t *options)
{
    fprintf(stderr, "%s: booting %s failed: %s (0x%x): %s\n", command, target, esp_err_name(err),
            (unsigned)err, boot_error_meaning(err, target, options));
}

int boot_command(int argc, char **argv)
{
    boot_settings_t command_line;
    memset(&command_line, 0, sizeof(command_line));
    const char *svg_path = NULL;
    switch (parse_command_line(argc, argv, &command_line, &svg_path)) {
    case PARSE_HELP:
        boot_command_usage(stdout);
        return EXIT_STATUS_OK;
    case PARSE_ERROR:
        return EXIT_STATUS_USAGE;
    case PARSE_OK:
        break;
    }

    static boot_settings_t settings; /* large (file name); one boot per process */
    const char *target;
    heapcaps_emu_options_t options;
    if (!boot_prepare("heapcaps boot", &command_line, &settings, &target, &options)) {
        return EXIT_STATUS_USAGE;
    }
    esp_err_t err = heapcaps_emu_boot(target, &options);
    fflush(stdout); /* the log lines printed so far come before any message */
    if (err != ESP_OK) {
        boot_report_failure("heapcaps boot", err, target, &options);
        return EXIT_STATUS_FAILED;
    }
    if (settings.given & BOOT_GIVEN_ABORT_ON_FAILURE) {
        heapcaps_set_abort_on_alloc_failure(settings.abort_on_alloc_failure);
    }
    if (!options.quiet) {
        printf("\n");
    }
    heap_table_print(stdout, target);
    himem_summary_print(stdout);
    fflush(stdout);
    int status = EXIT_STATUS_OK;
    if (svg_path) {
        char title[128];
        snprintf(title, sizeof(title), "%s after its boot", target);
        heap_svg_map_options_t map = {.title = title};
        if (!heap_svg_save_map("heapcaps boot", svg_path, &map)) {
            status = EXIT_STATUS_FAILED;
        }
    }
    heapcaps_emu_shutdown();
    return status;
}
