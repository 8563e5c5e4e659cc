/*
 * value_parse.c — sizes with K/M suffixes, counts and on/off switches
 * (value_parse.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "value_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool parse_size(const char *text, size_t *bytes)
{
    if (!isdigit((unsigned char)text[0])) {
        return false; /* strtoull would accept spaces, signs and "0x" */
    }
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno) {
        return false;
    }
    unsigned long long scale = 1;
    if (*end == 'K' || *end == 'k') {
        scale = 1024;
        ++end;
    } else if (*end == 'M' || *end == 'm') {
        scale = 1024 * 1024;
        ++end;
    }
    if (*end || value > (unsigned long long)SIZE_MAX / scale) {
        return false;
    }
    *bytes = (size_t)(value * scale);
    return true;
}

bool parse_count(const char *text, unsigned long *count)
{
    if (!isdigit((unsigned char)text[0])) {
        return false; /* strtoul would accept spaces, signs and "0x" */
    }
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno || *end) {
        return false;
    }
    *count = value;
    return true;
}

bool parse_on_off(const char *text, bool *on)
{
    if (!strcmp(text, "on")) {
        *on = true;
        return true;
    }
    if (!strcmp(text, "off")) {
        *on = false;
        return true;
    }
    return false;
}
