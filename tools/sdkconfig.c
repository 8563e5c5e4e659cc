/*
 * sdkconfig.c — reading an ESP-IDF sdkconfig file into boot settings
 * (sdkconfig.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* getline */

#include "sdkconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One assignment: "CONFIG_X=value" (is_set, text = the value, a string's
 * quotes and escapes removed) or "# CONFIG_X is not set" (!is_set). */
typedef struct {
    bool is_set;
    const char *text;
} config_value_t;

/* The file being read: what it has said so far about PSRAM, which ESP-IDF
 * spreads over two keys, and where to put everything else. */
typedef struct {
    boot_settings_t *settings;
    int psram_enabled; /* -1 not mentioned, 0 "is not set", 1 "=y" */
    bool psram_size_given;
    long long psram_size; /* -1 = auto-detect */
} reader_t;

#define PROBLEM_MAX 200

typedef bool (*key_handler_t)(reader_t *reader, const config_value_t *value, char *problem);

static bool report(char *problem, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Write the problem text; always false, so handlers can `return report(...)`. */
static bool report(char *problem, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(problem, PROBLEM_MAX, format, args);
    va_end(args);
    return false;
}

/* ------------------------------------------------------------ value kinds */

static bool read_bool(const config_value_t *value, bool *on, char *problem)
{
    if (!value->is_set || !strcmp(value->text, "n")) {
        *on = false;
        return true;
    }
    if (!strcmp(value->text, "y")) {
        *on = true;
        return true;
    }
    return report(problem, "'%s' is not a boolean (y, n)", value->text);
}

/* Decimal (optionally negative) or 0x-prefixed hexadecimal, within [min, max]. */
static bool read_integer(const config_value_t *value, long long min, long long max,
                         long long *number, char *problem)
{
    const char *text = value->text;
    const char *digits = text[0] == '-' ? text + 1 : text;
    int base = (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) ? 16 : 10;
    const char *first = base == 16 ? digits + 2 : digits;
    if (!isxdigit((unsigned char)first[0]) || (base == 10 && !isdigit((unsigned char)first[0]))) {
        return report(problem, "'%s' is not an integer", text);
    }
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll(text, &end, base);
    if (errno || *end) {
        return report(problem, "'%s' is not an integer", text);
    }
    if (parsed < min || parsed > max) {
        return report(problem, "%lld is outside %lld..%lld", parsed, min, max);
    }
    *number = parsed;
    return true;
}

/* ------------------------------------------------------------ key handlers */

static bool take_target(reader_t *reader, const config_value_t *value, char *problem)
{
    boot_settings_t *settings = reader->settings;
    if (!value->is_set) {
        return true;
    }
    if (!value->text[0] || strlen(value->text) >= sizeof(settings->target)) {
        return report(problem, "'%s' is not a chip name", value->text);
    }
    strcpy(settings->target, value->text);
    settings->given |= BOOT_GIVEN_TARGET;
    return true;
}

static bool take_psram(reader_t *reader, const config_value_t *value, char *problem)
{
    bool on = false;
    if (!read_bool(value, &on, problem)) {
        return false;
    }
    reader->psram_enabled = on;
    return true;
}

static bool take_psram_size(reader_t *reader, const config_value_t *value, char *problem)
{
    if (!value->is_set) {
        return true;
    }
    long long size;
    if (!read_integer(value, -1, (long long)(SIZE_MAX / 2), &size, problem)) {
        return false;
    }
    reader->psram_size_given = true;
    reader->psram_size = size;
    return true;
}

/* The three members of the CONFIG_SPIRAM_USE choice: the one set to y wins. */
static bool take_psram_use(reader_t *reader, const config_value_t *value, int use, char *problem)
{
    bool chosen = false;
    if (!read_bool(value, &chosen, problem)) {
        return false;
    }
    if (chosen) {
        reader->settings->psram_use = use;
        reader->settings->given |= BOOT_GIVEN_PSRAM_USE;
    }
    return true;
}

static bool take_use_malloc(reader_t *reader, const config_value_t *value, char *problem)
{
    return take_psram_use(reader, value, BOOT_PSRAM_USE_MALLOC, problem);
}

static bool take_use_caps_alloc(reader_t *reader, const config_value_t *value, char *problem)
{
    return take_psram_use(reader, value, BOOT_PSRAM_USE_CAPS_ALLOC, problem);
}

static bool take_use_memmap(reader_t *reader, const config_value_t *value, char *problem)
{
    return take_psram_use(reader, value, BOOT_PSRAM_USE_MEMMAP, problem);
}

static bool take_always_internal(reader_t *reader, const config_value_t *value, char *problem)
{
    long long bytes;
    if (!value->is_set) {
        return true;
    }
    if (!read_integer(value, 0, BOOT_ALWAYS_INTERNAL_MAX, &bytes, problem)) {
        return false;
    }
    reader->settings->always_internal = (size_t)bytes;
    reader->settings->given |= BOOT_GIVEN_ALWAYS_INTERNAL;
    return true;
}

static bool take_reserve_internal(reader_t *reader, const config_value_t *value, char *problem)
{
    long long bytes;
    if (!value->is_set) {
        return true;
    }
    if (!read_integer(value, 0, BOOT_RESERVE_INTERNAL_MAX, &bytes, problem)) {
        return false;
    }
    reader->settings->reserve_internal = (size_t)bytes;
    reader->settings->given |= BOOT_GIVEN_RESERVE_INTERNAL;
    return true;
}

static bool take_memprot(reader_t *reader, const config_value_t *value, char *problem)
{
    if (!read_bool(value, &reader->settings->memprot, problem)) {
        return false;
    }
    reader->settings->given |= BOOT_GIVEN_MEMPROT;
    return true;
}

static bool take_rtc_heap(reader_t *reader, const config_value_t *value, char *problem)
{
    if (!read_bool(value, &reader->settings->rtc_heap, problem)) {
        return false;
    }
    reader->settings->given |= BOOT_GIVEN_RTC_HEAP;
    return true;
}

static bool take_abort_on_failure(reader_t *reader, const config_value_t *value, char *problem)
{
    if (!read_bool(value, &reader->settings->abort_on_alloc_failure, problem)) {
        return false;
    }
    reader->settings->given |= BOOT_GIVEN_ABORT_ON_FAILURE;
    return true;
}

/* y only allows the application to use himem: whether it does is the
 * emulator's default (on when the ESP32's PSRAM exceeds the 4 MiB it maps),
 * which a later --himem can still override. */
static bool take_himem(reader_t *reader, const config_value_t *value, char *problem)
{
    bool allowed = false;
    if (!read_bool(value, &allowed, problem)) {
        return false;
    }
    if (allowed) {
        reader->settings->given &= ~(unsigned)BOOT_GIVEN_HIMEM;
    } else {
        reader->settings->himem = false;
        reader->settings->given |= BOOT_GIVEN_HIMEM;
    }
    return true;
}

static bool take_himem_reserve(reader_t *reader, const config_value_t *value, char *problem)
{
    long long pages;
    if (!value->is_set) {
        return true;
    }
    if (!read_integer(value, BOOT_HIMEM_RESERVE_MIN, BOOT_HIMEM_RESERVE_MAX, &pages, problem)) {
        return false;
    }
    reader->settings->himem_reserve = (int)pages;
    reader->settings->given |= BOOT_GIVEN_HIMEM_RESERVE;
    return true;
}

static const struct {
    const char *name;
    key_handler_t take;
} understood_keys[] = {
    {"CONFIG_IDF_TARGET", take_target},
    {"CONFIG_SPIRAM", take_psram},
    {"CONFIG_SPIRAM_SIZE", take_psram_size},
    {"CONFIG_SPIRAM_USE_MALLOC", take_use_malloc},
    {"CONFIG_SPIRAM_USE_CAPS_ALLOC", take_use_caps_alloc},
    {"CONFIG_SPIRAM_USE_MEMMAP", take_use_memmap},
    {"CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL", take_always_internal},
    {"CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL", take_reserve_internal},
    {"CONFIG_SPIRAM_BANKSWITCH_ENABLE", take_himem},
    {"CONFIG_SPIRAM_BANKSWITCH_RESERVE", take_himem_reserve},
    {"CONFIG_ESP_SYSTEM_MEMPROT", take_memprot},
    {"CONFIG_ESP_SYSTEM_MEMPROT_FEATURE", take_memprot},
    {"CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP", take_rtc_heap},
    {"CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS", take_abort_on_failure},
};

/* ------------------------------------------------------------ line syntax */

static const char *const not_set_suffix = " is not set";

/* Length of the CONFIG_ name at `text` (letters, digits, '_' after
 * "CONFIG_"), 0 when there is none. */
static size_t config_name_length(const char *text)
{
    if (strncmp(text, "CONFIG_", 7) != 0) {
        return 0;
    }
    size_t length = 7;
    while (isalnum((unsigned char)text[length]) || text[length] == '_') {
        length++;
    }
    return length > 7 ? length : 0;
}

/* Remove the quotes and backslash escapes of a quoted value, in place. */
static bool unquote(char *text)
{
    char *write = text;
    const char *read = text + 1;
    while (*read && *read != '"') {
        if (*read == '\\' && read[1]) {
            read++;
        }
        *write++ = *read++;
    }
    if (*read != '"' || read[1]) {
        return false; /* no closing quote, or text after it */
    }
    *write = '\0';
    return true;
}

/* Split one line (no line end, trailing blanks removed) into name and value.
 * Returns false for malformed lines; a comment or blank line gives an empty
 * name. */
static bool split_line(char *line, char **name, config_value_t *value)
{
    *name = NULL;
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    if (!*line) {
        return true;
    }
    if (*line == '#') {
        /* "# CONFIG_X is not set", or any other comment. */
        char *candidate = line + 1;
        while (*candidate == ' ') {
            candidate++;
        }
        size_t length = config_name_length(candidate);
        if (length && !strcmp(candidate + length, not_set_suffix)) {
            candidate[length] = '\0';
            *name = candidate;
            value->is_set = false;
            value->text = "";
        }
        return true;
    }
    size_t length = config_name_length(line);
    if (!length || line[length] != '=' || !line[length + 1]) {
        return false;
    }
    line[length] = '\0';
    char *text = line + length + 1;
    if (*text == '"' && !unquote(text)) {
        return false;
    }
    *name = line;
    value->is_set = true;
    value->text = text;
    return true;
}

static bool take_line(reader_t *reader, char *line, char *problem)
{
    char *name;
    config_value_t value;
    if (!split_line(line, &name, &value)) {
        return report(problem,
                      "malformed line (expected CONFIG_NAME=value or # CONFIG_NAME is not set)");
    }
    if (!name) {
        return true;
    }
    for (size_t i = 0; i < sizeof(understood_keys) / sizeof(understood_keys[0]); i++) {
        if (!strcmp(name, understood_keys[i].name)) {
            char detail[PROBLEM_MAX];
            if (!understood_keys[i].take(reader, &value, detail)) {
                return report(problem, "%s: %s", name, detail);
            }
            return true;
        }
    }
    return true; /* a key the heap does not depend on */
}

/* CONFIG_SPIRAM decides whether there is PSRAM; CONFIG_SPIRAM_SIZE how much. */
static void settle_psram(const reader_t *reader)
{
    boot_settings_t *settings = reader->settings;
    if (reader->psram_enabled == 1) {
        settings->psram_auto = !reader->psram_size_given || reader->psram_size < 0;
        settings->psram_size = settings->psram_auto ? 0 : (size_t)reader->psram_size;
        settings->given |= BOOT_GIVEN_PSRAM_SIZE;
    } else if (reader->psram_enabled == 0) {
        settings->psram_size = 0;
        settings->psram_auto = false;
        settings->given |= BOOT_GIVEN_PSRAM_SIZE;
    }
}

bool sdkconfig_read(const char *path, boot_settings_t *settings, char *error, size_t error_size)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return false;
    }
    reader_t reader = {.settings = settings, .psram_enabled = -1};
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    unsigned long line_number = 0;
    bool ok = true;
    while (ok && (length = getline(&line, &capacity, file)) >= 0) {
        line_number++;
        while (length > 0 && isspace((unsigned char)line[length - 1])) {
            line[--length] = '\0'; /* line end, CR of a CRLF file, trailing blanks */
        }
        char problem[PROBLEM_MAX];
        if (strlen(line) != (size_t)length) {
            ok = report(problem, "NUL byte in line");
        } else {
            ok = take_line(&reader, line, problem);
        }
        if (!ok) {
            snprintf(error, error_size, "%s:%lu: %s", path, line_number, problem);
        }
    }
    if (ok && ferror(file)) {
        snprintf(error, error_size, "%s: read error", path);
        ok = false;
    }
    free(line);
    fclose(file);
    if (ok) {
        settle_psram(&reader);
    }
    return ok;
}
