/*
 * trace_input.h — reading a heap trace for `heapcaps replay`: our CSV and
 * JSONL formats and ESP-IDF's heap_trace_dump() text, into the model of
 * trace_model.h. The formats are described in docs/replay-formats.md.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_TRACE_INPUT_H
#define HEAPCAPS_TOOLS_TRACE_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "trace_model.h"

/* Reads the trace in the file at `path` ("-" = standard input), whatever its
 * format. On success fills *out (overwritten, not freed: trace_free() it when
 * done) and returns true. On failure returns false with *out empty and
 * *error saying where and what: error->line is the 1-based input line (0 when
 * the problem is not one line, e.g. the file cannot be opened) and
 * error->message reads "line 12: size 'abc' is not a number (...)". `frees`
 * places the frees a device dump does not time (trace_model.h). */
bool trace_read(const char *path, trace_free_policy_t frees, trace_t *out, trace_error_t *error);

/* The same on `length` bytes at `text` (which need not end in a NUL).
 * `name` names the input in messages not about one line ("empty input");
 * NULL = "input". */
bool trace_parse(const char *text, size_t length, const char *name, trace_free_policy_t frees,
                 trace_t *out, trace_error_t *error);

/* "csv", "jsonl" or "esp-idf-dump"; "unknown" for anything else. */
const char *trace_format_name(trace_format_t format);

#endif /* HEAPCAPS_TOOLS_TRACE_INPUT_H */
