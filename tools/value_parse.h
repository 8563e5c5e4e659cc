/*
 * value_parse.h — reading the values the heapcaps program takes on its command
 * line and from sdkconfig files: sizes with K/M suffixes, counts, on/off
 * switches.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_VALUE_PARSE_H
#define HEAPCAPS_TOOLS_VALUE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* "4096", "64K", "2M" (suffix in either case; 1K = 1024) into bytes. False for
 * anything else: empty, negative, other suffixes, trailing text, overflow. */
bool parse_size(const char *text, size_t *bytes);

/* A plain decimal count ("8"), no sign, suffix or trailing text. False for
 * anything else, and above ULONG_MAX. */
bool parse_count(const char *text, unsigned long *count);

/* "on" or "off" into true or false. */
bool parse_on_off(const char *text, bool *on);

#endif /* HEAPCAPS_TOOLS_VALUE_PARSE_H */
