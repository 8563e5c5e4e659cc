/*
 * replay_command.c — `heapcaps replay FILE [options]`: read a heap trace
 * (trace_input.c), replay it on an emulated chip (replay.c), and report peak
 * use, minimum free, largest free block and fragmentation over time, every
 * failed request and why it failed, and the live allocations that fragment
 * the heap most at the worst moment; as text or JSON, with SVG pictures and
 * what-if comparisons on other chip configurations (docs/replay.md).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* fileno */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_options.h"
#include "boot_settings.h"
#include "commands.h"
#include "esp_heap_caps.h"
#include "heap_svg.h"
#include "replay.h"
#include "replay_culprits.h"
#include "trace_input.h"

static const char COMMAND[] = "heapcaps replay";

#define MAX_SCENARIOS 8
#define MAX_RULES     256
#define DEFAULT_TOP   10

typedef enum { AT_WORST = 0, AT_FIRST_FAILURE, AT_END, AT_OPERATION } moment_kind_t;

typedef struct {
    const char *path;
    bool json;
    const char *svg_path;
    const char *plot_path;
    moment_kind_t at;
    uint64_t at_operation;
    trace_free_policy_t frees;
    size_t sample_every;
    const char *caps_map_path;
    size_t top;
    bool progress;
    const char *scenarios[MAX_SCENARIOS];
    size_t scenario_count;
    boot_settings_t chip; /* the chip options given */
} replay_options_t;

void replay_command_usage(FILE *out)
{
    fprintf(out, "usage: heapcaps replay FILE [options]\n"
                 "\n"
                 "Replays a heap trace on an emulated chip and reports how the heap fared:\n"
                 "peak use and minimum free per capability class, largest free block and\n"
                 "fragmentation over time, every failed request with the state of the heaps\n"
                 "that could have served it, and the live allocations that fragment the heap\n"
                 "most at the worst moment. FILE: a heap_trace_dump() printout of ESP-IDF\n"
                 "v5.0 or later, or a CSV or JSONL trace (docs/replay-formats.md); - = stdin.\n"
                 "\n"
                 "replay options:\n"
                 "  --json                      the report as JSON on stdout\n"
                 "  --svg OUT.svg               a map of every heap at the chosen moment\n"
                 "  --plot OUT.svg              fragmentation, free and largest block over time\n"
                 "  --at worst|first-failure|end|OP\n"
                 "                              the moment of the map and of the culprits\n"
                 "                              (default worst: the first failure, else the\n"
                 "                              sample where a class was most fragmented)\n"
                 "  --frees late|early          device dumps: when a freed block went (default\n"
                 "                              late: as late as later allocations allow)\n"
                 "  --sample N                  operations between samples (default: 2000 in all)\n"
                 "  --caps-map FILE             caps for allocations by caller: lines\n"
                 "                              'CALLER CAPS', e.g. '0x400d1234 DMA|INTERNAL'\n"
                 "  --top N                     culprits to list (default 10)\n"
                 "  --what-if OPTIONS           replay again with chip options changed and\n"
                 "                              compare: e.g. target=esp32s3,psram=8M or\n"
                 "                              always-internal=0 (repeatable, up to 8)\n"
                 "  --no-progress               no progress bar (shown on a terminal)\n"
                 "\n"
                 "chip options (as heapcaps boot; default esp32):\n");
    boot_options_usage(out);
    fprintf(out, "  %-26s  %s\n", "--help", "show this text");
    fprintf(out, "\nExit status: 0 replayed (failures are findings), 2 bad command line or "
                 "input,\n1 the chip did not boot.\n");
}

static bool parse_number(const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-') {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || *end) {
        return false;
    }
    *out = value;
    return true;
}

typedef enum { PARSE_OK, PARSE_HELP, PARSE_ERROR } parse_result_t;

/* Options of the command itself; chip options go to boot_option_take(). */
static parse_result_t parse_command_line(int argc, char **argv, replay_options_t *options)
{
    options->top = DEFAULT_TOP;
    options->progress = isatty(fileno(stderr));
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t number;
        if (!strcmp(word, "--help") || !strcmp(word, "-h")) {
            return PARSE_HELP;
        }
        if (!strcmp(word, "--json")) {
            options->json = true;
            continue;
        }
        if (!strcmp(word, "--no-progress")) {
            options->progress = false;
            continue;
        }
        bool takes_value = !strcmp(word, "--svg") || !strcmp(word, "--plot") ||
                           !strcmp(word, "--at") || !strcmp(word, "--frees") ||
                           !strcmp(word, "--sample") || !strcmp(word, "--caps-map") ||
                           !strcmp(word, "--top") || !strcmp(word, "--what-if");
        if (takes_value && !value) {
            fprintf(stderr, "%s: %s needs a value\n", COMMAND, word);
            return PARSE_ERROR;
        }
        if (!strcmp(word, "--svg")) {
            options->svg_path = argv[++i];
        } else if (!strcmp(word, "--plot")) {
            options->plot_path = argv[++i];
        } else if (!strcmp(word, "--caps-map")) {
            options->caps_map_path = argv[++i];
        } else if (!strcmp(word, "--at")) {
            i++;
            if (!strcmp(value, "worst")) {
                options->at = AT_WORST;
            } else if (!strcmp(value, "first-failure")) {
                options->at = AT_FIRST_FAILURE;
            } else if (!strcmp(value, "end")) {
                options->at = AT_END;
            } else if (parse_number(value, &number)) {
                options->at = AT_OPERATION;
                options->at_operation = number;
            } else {
                fprintf(stderr,
                        "%s: --at: '%s' is not worst, first-failure, end or an operation "
                        "number\n",
                        COMMAND, value);
                return PARSE_ERROR;
            }
        } else if (!strcmp(word, "--frees")) {
            i++;
            if (!strcmp(value, "late") || !strcmp(value, "early")) {
                options->frees = !strcmp(value, "late") ? TRACE_FREES_LATE : TRACE_FREES_EARLY;
            } else {
                fprintf(stderr, "%s: --frees: '%s' is neither late nor early\n", COMMAND, value);
                return PARSE_ERROR;
            }
        } else if (!strcmp(word, "--sample") || !strcmp(word, "--top")) {
            i++;
            if (!parse_number(value, &number) || number == 0 || number > SIZE_MAX / 2) {
                fprintf(stderr, "%s: %s: '%s' is not a positive whole number\n", COMMAND, word,
                        value);
                return PARSE_ERROR;
            }
            *(!strcmp(word, "--top") ? &options->top : &options->sample_every) = (size_t)number;
        } else if (!strcmp(word, "--what-if")) {
            i++;
            if (options->scenario_count == MAX_SCENARIOS) {
                fprintf(stderr, "%s: at most %d --what-if scenarios\n", COMMAND, MAX_SCENARIOS);
                return PARSE_ERROR;
            }
            options->scenarios[options->scenario_count++] = value;
        } else if (word[0] == '-' && word[1] != '\0') {
            int taken = boot_option_take(COMMAND, argc, argv, &i, &options->chip);
            if (taken < 0) {
                return PARSE_ERROR;
            }
            if (taken == 0) {
                fprintf(stderr, "%s: unknown option '%s' (see heapcaps replay --help)\n", COMMAND,
                        word);
                return PARSE_ERROR;
            }
        } else if (!options->path) {
            options->path = word;
        } else {
            fprintf(stderr, "%s: one trace file at a time ('%s' and '%s')\n", COMMAND,
                    options->path, word);
            return PARSE_ERROR;
        }
    }
    if (!options->path) {
        fprintf(stderr, "%s: which trace? (heapcaps replay FILE; see --help)\n", COMMAND);
        return PARSE_ERROR;
    }
    return PARSE_OK;
}

/* ---- caps by caller ---------------------------------------------------- */

static bool caps_from_names(const char *text, uint32_t *caps)
{
    static const struct {
        const char *name;
        uint32_t caps;
    } names[] = {
        {"EXEC", MALLOC_CAP_EXEC},
        {"32BIT", MALLOC_CAP_32BIT},
        {"8BIT", MALLOC_CAP_8BIT},
        {"DMA", MALLOC_CAP_DMA},
        {"SPIRAM", MALLOC_CAP_SPIRAM},
        {"INTERNAL", MALLOC_CAP_INTERNAL},
        {"DEFAULT", MALLOC_CAP_DEFAULT},
        {"IRAM_8BIT", MALLOC_CAP_IRAM_8BIT},
        {"RETENTION", MALLOC_CAP_RETENTION},
        {"RTCRAM", MALLOC_CAP_RTCRAM},
        {"TCM", MALLOC_CAP_TCM},
        {"DMA_DESC_AHB", MALLOC_CAP_DMA_DESC_AHB},
        {"DMA_DESC_AXI", MALLOC_CAP_DMA_DESC_AXI},
        {"CACHE_ALIGNED", MALLOC_CAP_CACHE_ALIGNED},
        {"SIMD", MALLOC_CAP_SIMD},
    };
    char *end;
    unsigned long number = strtoul(text, &end, 0);
    if (end != text && *end == '\0') {
        *caps = (uint32_t)number;
        return number <= UINT32_MAX && number != 0;
    }
    *caps = 0;
    const char *part = text;
    while (*part) {
        size_t length = strcspn(part, "|+");
        const char *name = strncmp(part, "MALLOC_CAP_", 11) == 0 ? part + 11 : part;
        size_t name_length = length - (size_t)(name - part);
        size_t i = 0;
        while (
            i < sizeof(names) / sizeof(names[0]) &&
            !(strlen(names[i].name) == name_length && !strncmp(names[i].name, name, name_length))) {
            i++;
        }
        if (i == sizeof(names) / sizeof(names[0])) {
            return false;
        }
        *caps |= names[i].caps;
        part += length;
        part += *part ? 1 : 0;
    }
    return *caps != 0;
}

typedef struct {
    replay_caps_rule_t rules[MAX_RULES];
    char text[MAX_RULES][64];
    size_t count;
} caps_map_t;

static bool read_caps_map(const char *path, caps_map_t *map)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "%s: --caps-map: cannot open %s: %s\n", COMMAND, path, strerror(errno));
        return false;
    }
    char line[512];
    size_t number = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), file)) {
        number++;
        char caller[64], caps_text[256], rest[2];
        const char *start = line + strspn(line, " \t");
        if (*start == '#' || *start == '\n' || *start == '\0') {
            continue;
        }
        int fields = sscanf(start, "%63s %255s %1s", caller, caps_text, rest);
        uint32_t caps;
        if (fields != 2 || !caps_from_names(caps_text, &caps)) {
            fprintf(stderr, "%s: %s:%zu: expected 'CALLER CAPS' (e.g. '0x400d1234 DMA|INTERNAL')\n",
                    COMMAND, path, number);
            ok = false;
        } else if (map->count == MAX_RULES) {
            fprintf(stderr, "%s: %s:%zu: more than %d rules\n", COMMAND, path, number, MAX_RULES);
            ok = false;
        } else {
            snprintf(map->text[map->count], sizeof(map->text[0]), "%s", caller);
            map->rules[map->count] = (replay_caps_rule_t){map->text[map->count], caps};
            map->count++;
        }
    }
    fclose(file);
    return ok;
}

/* ---- what-if scenarios ----------------------------------------------------- */

/* "target=esp32s3,psram=8M" as chip options over the base ones. */
static bool scenario_settings(const char *scenario, const boot_settings_t *base,
                              boot_settings_t *out)
{
    boot_settings_t given;
    memset(&given, 0, sizeof(given));
    char copy[512];
    if (strlen(scenario) >= sizeof(copy)) {
        fprintf(stderr, "%s: --what-if: too long\n", COMMAND);
        return false;
    }
    strcpy(copy, scenario);
    for (char *part = strtok(copy, ","); part; part = strtok(NULL, ",")) {
        char option[600];
        snprintf(option, sizeof(option), "--%s", part);
        char *words[] = {option};
        int index = 0;
        if (!strchr(part, '=') || boot_option_take(COMMAND, 1, words, &index, &given) != 1) {
            fprintf(stderr, "%s: --what-if: '%s' is not a chip option NAME=VALUE (see --help)\n",
                    COMMAND, part);
            return false;
        }
    }
    *out = *base;
    boot_settings_overlay(out, &given);
    return true;
}

/* ---- the report ----------------------------------------------------------- */

static const char *kind_name(uint8_t kind)
{
    static const char *const names[] = {"malloc", "calloc", "aligned", "realloc", "free"};
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static void json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; c && *c; c++) {
        if (*c == '"' || *c == '\\') {
            fprintf(out, "\\%c", *c);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c);
        } else {
            fputc(*c, out);
        }
    }
    fputc('"', out);
}

static const char *callers_of(const trace_t *trace, const trace_op_t *op)
{
    return op->callers != TRACE_NONE && op->callers < trace->caller_count
               ? trace->callers[op->callers]
               : NULL;
}

typedef struct {
    const char *label;
    replay_result_t result;
    bool booted;
    esp_err_t err;
    const char *target;
    heapcaps_emu_options_t options;
} scenario_run_t;

static bool failed_at(const replay_result_t *result, uint64_t op)
{
    size_t low = 0, high = result->failure_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (result->failures[middle].op < op) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low < result->failure_count && result->failures[low].op == op;
}

static void print_input_text(FILE *out, const replay_options_t *options, const trace_t *trace)
{
    fprintf(out, "Trace: %s (%s %s): %zu operations on %zu blocks\n", options->path,
            trace_format_name(trace->format), trace->format_version, trace->count, trace->id_count);
    if (trace->frees_inferred) {
        fprintf(out,
                "  Free times are inferred (a device dump has none): %zu frees placed before a "
                "later\n  allocation at the same address, %zu placed %s; %zu blocks stay live.\n"
                "  Figures between a free and its inferred time are an approximation.\n",
                trace->frees_from_reuse, trace->frees_from_policy,
                options->frees == TRACE_FREES_LATE ? "at the end (--frees late)"
                                                   : "right after their allocation (--frees early)",
                trace->live_at_end);
    }
    if (trace->overflowed) {
        fprintf(out, "  The device's trace buffer overflowed: records are missing.\n");
    }
    if (trace->unknown_frees) {
        fprintf(out, "  %zu frees of blocks the trace never allocated were left out.\n",
                trace->unknown_frees);
    }
}

static void print_report_text(FILE *out, const replay_options_t *options, const trace_t *trace,
                              const scenario_run_t *base, const replay_culprit_t *culprits,
                              size_t culprit_count, uint64_t moment, const char *moment_name,
                              const scenario_run_t *scenarios, size_t scenario_count)
{
    const replay_result_t *r = &base->result;
    print_input_text(out, options, trace);
    fprintf(out, "Chip: %s", base->target);
    if (base->options.psram_size) {
        fprintf(out, " with %zu KiB PSRAM", base->options.psram_size / 1024);
    }
    fprintf(out, "\nReplayed %llu operations in %.3f s (%.1f M operations/s); %zu failed",
            (unsigned long long)r->done, r->seconds,
            r->seconds > 0 ? (double)r->done / r->seconds / 1e6 : 0.0, r->failure_count);
    if (r->orphans) {
        fprintf(out, " (%zu frees of blocks whose allocation failed)", r->orphans);
    }
    fprintf(out, ".\n\n%-10s %12s %12s %12s %14s %16s\n", "class", "total", "peak used",
            "minimum free", "largest free", "fragmentation");
    fprintf(out, "%-10s %12s %12s %12s %14s %16s\n", "", "", "", "", "(smallest)",
            "(highest, at op)");
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        if (!r->has_class[c]) {
            continue;
        }
        const replay_class_stats_t *s = &r->stats[c];
        char fragmentation[40];
        snprintf(fragmentation, sizeof(fragmentation), "%.1f%% @%llu", s->max_fragmentation * 100,
                 (unsigned long long)s->max_fragmentation_op);
        fprintf(out, "%-10s %12zu %12zu %12zu %14zu %16s\n", replay_class_name(c), s->total,
                s->total - s->minimum, s->minimum, s->min_largest, fragmentation);
    }
    fprintf(out, "(peak used = total - minimum free, each heap's low-water mark summed)\n");

    if (r->failure_count) {
        size_t fragmented = 0;
        for (size_t i = 0; i < r->failure_count; i++) {
            fragmented += r->failures[i].fragmented;
        }
        fprintf(out,
                "\nFailed requests: %zu (%zu of them from fragmentation: enough free memory, "
                "no block large enough)\n",
                r->failure_count, fragmented);
        for (size_t i = 0; i < r->failure_count && i < 50; i++) {
            const replay_failure_t *f = &r->failures[i];
            const trace_op_t *op = &trace->ops[f->op];
            fprintf(out,
                    "  op %llu (line %u): %s of %u bytes, caps 0x%x%s: %s — %zu bytes free in the "
                    "heaps that could serve it, largest block %zu\n",
                    (unsigned long long)f->op, op->line, kind_name(op->kind), op->size, f->caps,
                    f->policy  ? " (malloc() policy)"
                    : op->caps ? ""
                               : " (by caller)",
                    f->fragmented ? "FRAGMENTATION" : "out of memory", f->free, f->largest);
        }
        if (r->failure_count > 50) {
            fprintf(out, "  ... %zu more (--json lists all)\n", r->failure_count - 50);
        }
    } else {
        fprintf(out, "\nNo request failed.\n");
    }

    fprintf(out, "\nAt %s (after operation %llu):\n", moment_name, (unsigned long long)moment);
    if (culprit_count == 0) {
        fprintf(out, "  no live allocation separates free memory into smaller blocks there.\n");
    } else {
        fprintf(out, "  the live allocations that fragment the heap most (freeing one would make "
                     "a free block of):\n");
    }
    for (size_t i = 0; i < culprit_count; i++) {
        const replay_culprit_t *c = &culprits[i];
        fprintf(out, "  %2zu. %7zu bytes  block of %zu bytes at 0x%08x (largest free now %zu)",
                i + 1, c->would_make, c->block_size, (unsigned)c->address, c->largest_now);
        if (c->id != TRACE_NONE) {
            const trace_op_t *op = &trace->ops[c->op];
            const char *callers = callers_of(trace, op);
            fprintf(out, ", %s(%u) at line %u%s%s", kind_name(op->kind), op->size, op->line,
                    callers ? ", caller " : "", callers ? callers : "");
        } else {
            fprintf(out, ", not from the trace (startup, or a heap inside it)");
        }
        fputc('\n', out);
    }

    for (size_t s = 0; s < scenario_count; s++) {
        const scenario_run_t *w = &scenarios[s];
        fprintf(out, "\nWhat if %s:", w->label);
        if (w->err != ESP_OK) {
            fprintf(out, " the chip did not boot (0x%x)\n", (unsigned)w->err);
            continue;
        }
        size_t gone = 0, added = 0;
        for (size_t i = 0; i < r->failure_count; i++) {
            gone += !failed_at(&w->result, r->failures[i].op);
        }
        for (size_t i = 0; i < w->result.failure_count; i++) {
            added += !failed_at(r, w->result.failures[i].op);
        }
        fprintf(out, " %zu failed (was %zu): %zu disappear, %zu new.\n", w->result.failure_count,
                r->failure_count, gone, added);
        for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
            if (w->result.has_class[c]) {
                fprintf(out, "  %-10s minimum free %zu of %zu, smallest largest block %zu\n",
                        replay_class_name(c), w->result.stats[c].minimum, w->result.stats[c].total,
                        w->result.stats[c].min_largest);
            }
        }
        size_t shown = 0;
        for (size_t i = 0; i < r->failure_count && shown < 10; i++) {
            if (!failed_at(&w->result, r->failures[i].op)) {
                const trace_op_t *op = &trace->ops[r->failures[i].op];
                fprintf(out, "  succeeds now: op %llu (line %u), %s of %u bytes\n",
                        (unsigned long long)r->failures[i].op, op->line, kind_name(op->kind),
                        op->size);
                shown++;
            }
        }
    }
}

static void print_report_json(FILE *out, const replay_options_t *options, const trace_t *trace,
                              const scenario_run_t *base, const replay_culprit_t *culprits,
                              size_t culprit_count, uint64_t moment, const char *moment_name,
                              const scenario_run_t *scenarios, size_t scenario_count)
{
    const replay_result_t *r = &base->result;
    fprintf(out, "{\n  \"input\": {\"file\": ");
    json_string(out, options->path);
    fprintf(out, ", \"format\": ");
    json_string(out, trace_format_name(trace->format));
    fprintf(out, ", \"version\": ");
    json_string(out, trace->format_version);
    fprintf(out,
            ", \"operations\": %zu, \"blocks\": %zu, \"frees_inferred\": %s, "
            "\"frees_from_reuse\": %zu, \"frees_from_policy\": %zu, \"free_policy\": \"%s\", "
            "\"live_at_end\": %zu, \"overflowed\": %s, \"unknown_frees\": %zu},\n",
            trace->count, trace->id_count, trace->frees_inferred ? "true" : "false",
            trace->frees_from_reuse, trace->frees_from_policy,
            options->frees == TRACE_FREES_LATE ? "late" : "early", trace->live_at_end,
            trace->overflowed ? "true" : "false", trace->unknown_frees);
    fprintf(out, "  \"chip\": {\"target\": ");
    json_string(out, base->target);
    fprintf(out, ", \"psram\": %zu},\n", base->options.psram_size);
    fprintf(out,
            "  \"replay\": {\"operations\": %llu, \"seconds\": %.6f, \"failures\": %zu, "
            "\"orphan_frees\": %zu},\n",
            (unsigned long long)r->done, r->seconds, r->failure_count, r->orphans);
    fprintf(out, "  \"classes\": [");
    bool first = true;
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        if (!r->has_class[c]) {
            continue;
        }
        const replay_class_stats_t *s = &r->stats[c];
        fprintf(out,
                "%s\n    {\"name\": \"%s\", \"caps\": %u, \"total\": %zu, \"peak_used\": %zu, "
                "\"minimum_free\": %zu, \"smallest_largest_free\": %zu, "
                "\"max_fragmentation\": %.6f, \"max_fragmentation_op\": %llu}",
                first ? "" : ",", replay_class_name(c), (unsigned)replay_class_caps(c), s->total,
                s->total - s->minimum, s->minimum, s->min_largest, s->max_fragmentation,
                (unsigned long long)s->max_fragmentation_op);
        first = false;
    }
    fprintf(out, "\n  ],\n  \"failures\": [");
    for (size_t i = 0; i < r->failure_count; i++) {
        const replay_failure_t *f = &r->failures[i];
        const trace_op_t *op = &trace->ops[f->op];
        fprintf(out,
                "%s\n    {\"op\": %llu, \"line\": %u, \"kind\": \"%s\", \"size\": %u, "
                "\"caps\": %u, \"malloc_policy\": %s, \"free\": %zu, \"largest\": %zu, "
                "\"cause\": \"%s\"}",
                i ? "," : "", (unsigned long long)f->op, op->line, kind_name(op->kind), op->size,
                (unsigned)f->caps, f->policy ? "true" : "false", f->free, f->largest,
                f->fragmented ? "fragmentation" : "out of memory");
    }
    fprintf(out, "%s],\n  \"moment\": {\"name\": \"%s\", \"op\": %llu, \"culprits\": [",
            r->failure_count ? "\n  " : "", moment_name, (unsigned long long)moment);
    for (size_t i = 0; i < culprit_count; i++) {
        const replay_culprit_t *c = &culprits[i];
        fprintf(out,
                "%s\n      {\"address\": %u, \"block_size\": %zu, \"would_make\": %zu, "
                "\"largest_now\": %zu",
                i ? "," : "", (unsigned)c->address, c->block_size, c->would_make, c->largest_now);
        if (c->id != TRACE_NONE) {
            const trace_op_t *op = &trace->ops[c->op];
            fprintf(out, ", \"op\": %llu, \"line\": %u, \"size\": %u, \"callers\": ",
                    (unsigned long long)c->op, op->line, op->size);
            const char *callers = callers_of(trace, op);
            if (callers) {
                json_string(out, callers);
            } else {
                fprintf(out, "null");
            }
        }
        fprintf(out, "}");
    }
    fprintf(out, "%s]},\n  \"series\": [", culprit_count ? "\n    " : "");
    first = true;
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        if (!r->has_class[c]) {
            continue;
        }
        const heap_series_t *series = &r->series[c];
        fprintf(out, "%s\n    {\"name\": \"%s\", \"total\": %zu, \"samples\": [", first ? "" : ",",
                series->name, series->total);
        for (size_t s = 0; s < series->count; s++) {
            fprintf(out, "%s[%llu, %zu, %zu]", s ? ", " : "",
                    (unsigned long long)series->samples[s].op, series->samples[s].free,
                    series->samples[s].largest);
        }
        fprintf(out, "]}");
        first = false;
    }
    fprintf(out, "\n  ],\n  \"what_if\": [");
    for (size_t s = 0; s < scenario_count; s++) {
        const scenario_run_t *w = &scenarios[s];
        fprintf(out, "%s\n    {\"scenario\": ", s ? "," : "");
        json_string(out, w->label);
        if (w->err != ESP_OK) {
            fprintf(out, ", \"boot_error\": %d}", (int)w->err);
            continue;
        }
        fprintf(out, ", \"failures\": %zu, \"disappear\": [", w->result.failure_count);
        bool any = false;
        for (size_t i = 0; i < r->failure_count; i++) {
            if (!failed_at(&w->result, r->failures[i].op)) {
                fprintf(out, "%s%llu", any ? ", " : "", (unsigned long long)r->failures[i].op);
                any = true;
            }
        }
        fprintf(out, "], \"new\": [");
        any = false;
        for (size_t i = 0; i < w->result.failure_count; i++) {
            if (!failed_at(r, w->result.failures[i].op)) {
                fprintf(out, "%s%llu", any ? ", " : "",
                        (unsigned long long)w->result.failures[i].op);
                any = true;
            }
        }
        fprintf(out, "]}");
    }
    fprintf(out, "%s]\n}\n", scenario_count ? "\n  " : "");
}

/* ---- the command ---------------------------------------------------------- */

/* The plot of the classes the chip has, failures marked. */
static bool save_plot(const char *path, const replay_result_t *r, const char *title)
{
    heap_series_t series[REPLAY_CLASS_COUNT];
    size_t count = 0;
    for (int c = 0; c < REPLAY_CLASS_COUNT; c++) {
        if (r->has_class[c]) {
            series[count++] = r->series[c];
        }
    }
    uint64_t *failures = calloc(r->failure_count ? r->failure_count : 1, sizeof(*failures));
    if (!failures) {
        fprintf(stderr, "%s: out of memory for %s\n", COMMAND, path);
        return false;
    }
    for (size_t i = 0; i < r->failure_count; i++) {
        failures[i] = r->failures[i].op;
    }
    bool ok = heap_svg_save_plot(COMMAND, path, series, count, failures, r->failure_count, title);
    free(failures);
    return ok;
}

int replay_command(int argc, char **argv)
{
    static replay_options_t options; /* large (settings with a path); one per process */
    memset(&options, 0, sizeof(options));
    switch (parse_command_line(argc, argv, &options)) {
    case PARSE_HELP:
        replay_command_usage(stdout);
        return EXIT_STATUS_OK;
    case PARSE_ERROR:
        return EXIT_STATUS_USAGE;
    case PARSE_OK:
        break;
    }
    int status = EXIT_STATUS_OK;
    static caps_map_t caps_map;
    caps_map.count = 0;
    if (options.caps_map_path && !read_caps_map(options.caps_map_path, &caps_map)) {
        return EXIT_STATUS_USAGE;
    }

    static boot_settings_t settings;
    scenario_run_t base = {.label = "as given"};
    if (!boot_prepare(COMMAND, &options.chip, &settings, &base.target, &base.options)) {
        return EXIT_STATUS_USAGE;
    }
    base.options.quiet = true;

    trace_t trace;
    trace_error_t error;
    if (!trace_read(options.path, options.frees, &trace, &error)) {
        if (error.line) {
            fprintf(stderr, "%s: %s:%zu: %s\n", COMMAND, options.path, error.line, error.message);
        } else {
            fprintf(stderr, "%s: %s: %s\n", COMMAND, options.path, error.message);
        }
        return EXIT_STATUS_USAGE;
    }

    replay_config_t config = {
        .target = base.target,
        .options = base.options,
        .sample_every = options.sample_every,
        .stop_after = UINT64_MAX,
        .rules = caps_map.rules,
        .rule_count = caps_map.count,
        .progress = options.progress && trace.count > 1000000,
    };
    base.err = replay_run(&trace, &config, &base.result);
    if (base.err != ESP_OK) {
        boot_report_failure(COMMAND, base.err, base.target, &base.options);
        replay_result_free(&base.result);
        trace_free(&trace);
        return EXIT_STATUS_FAILED;
    }

    /* The moment of the culprits and of the map. */
    uint64_t moment = base.result.worst_op;
    const char *moment_name =
        base.result.worst_is_failure ? "the first failure" : "the most fragmented moment";
    switch (options.at) {
    case AT_WORST:
        break;
    case AT_FIRST_FAILURE:
        if (base.result.failure_count) {
            moment = base.result.failures[0].op;
            moment_name = "the first failure";
        } else {
            moment = base.result.done;
            moment_name = "the end (nothing failed)";
        }
        break;
    case AT_END:
        moment = base.result.done;
        moment_name = "the end";
        break;
    case AT_OPERATION:
        moment = options.at_operation < base.result.done ? options.at_operation : base.result.done;
        moment_name = "the operation asked for";
        break;
    }
    /* Again up to that moment, the chip left up to be looked at. */
    replay_result_t at_moment;
    replay_config_t again = config;
    again.stop_after = moment;
    again.keep_booted = true;
    again.progress = false;
    replay_culprit_t *culprits = calloc(options.top, sizeof(*culprits));
    size_t culprit_count = 0;
    bool ok = culprits != NULL;
    if (ok && replay_run(&trace, &again, &at_moment) == ESP_OK) {
        uint32_t caps = options.at == AT_WORST && !base.result.worst_is_failure
                            ? replay_class_caps(base.result.worst_class)
                            : MALLOC_CAP_DEFAULT;
        for (size_t i = 0; i < base.result.failure_count; i++) {
            if (base.result.failures[i].op == moment) {
                caps = base.result.failures[i].caps;
            }
        }
        culprit_count = replay_find_culprits(&trace, at_moment.live, at_moment.done, caps, culprits,
                                             options.top);
        if (options.svg_path) {
            char title[256];
            snprintf(title, sizeof(title), "%s: %s, after operation %llu (%s)", options.path,
                     base.target, (unsigned long long)moment, moment_name);
            heap_svg_mark_t marks[64];
            size_t mark_count = 0;
            char labels[64][32];
            for (size_t i = 0; i < culprit_count && mark_count < 64; i++) {
                snprintf(labels[mark_count], sizeof(labels[0]), "#%zu", i + 1);
                marks[mark_count] = (heap_svg_mark_t){culprits[i].block, labels[mark_count]};
                mark_count++;
            }
            heap_svg_map_options_t map = {title, marks, mark_count};
            ok = heap_svg_save_map(COMMAND, options.svg_path, &map);
        }
        replay_result_free(&at_moment);
    } else {
        ok = false;
        fprintf(stderr, "%s: could not replay up to operation %llu again\n", COMMAND,
                (unsigned long long)moment);
    }
    if (ok && options.plot_path) {
        char title[256];
        snprintf(title, sizeof(title), "%s on %s: fragmentation over time", options.path,
                 base.target);
        ok = save_plot(options.plot_path, &base.result, title);
    }

    /* What if: the same trace on other chip options. */
    static scenario_run_t scenarios[MAX_SCENARIOS];
    static boot_settings_t scenario_chip[MAX_SCENARIOS]; /* the targets' names live here */
    size_t scenario_count = 0;
    for (size_t s = 0; ok && s < options.scenario_count; s++) {
        scenario_run_t *w = &scenarios[scenario_count];
        memset(w, 0, sizeof(*w));
        w->label = options.scenarios[s];
        boot_settings_t combined;
        if (!scenario_settings(options.scenarios[s], &options.chip, &combined) ||
            !boot_prepare(COMMAND, &combined, &scenario_chip[s], &w->target, &w->options)) {
            status = EXIT_STATUS_USAGE;
            ok = false;
            break;
        }
        w->options.quiet = true;
        replay_config_t what_if = config;
        what_if.target = w->target;
        what_if.options = w->options;
        what_if.progress = false;
        w->err = replay_run(&trace, &what_if, &w->result);
        scenario_count++;
    }

    if (ok || status != EXIT_STATUS_USAGE) {
        if (options.json) {
            print_report_json(stdout, &options, &trace, &base, culprits, culprit_count, moment,
                              moment_name, scenarios, scenario_count);
        } else {
            print_report_text(stdout, &options, &trace, &base, culprits, culprit_count, moment,
                              moment_name, scenarios, scenario_count);
        }
    }
    for (size_t s = 0; s < scenario_count; s++) {
        replay_result_free(&scenarios[s].result);
    }
    free(culprits);
    replay_result_free(&base.result);
    trace_free(&trace);
    if (status == EXIT_STATUS_USAGE) {
        return status;
    }
    return ok ? EXIT_STATUS_OK : EXIT_STATUS_FAILED;
}
