/*
 * trace_input.c — reading heap traces into trace_model.h (trace_input.h):
 * our CSV and JSONL formats and ESP-IDF's heap_trace_dump() text, whose free
 * times are inferred. docs/replay-formats.md describes what is accepted.
 *
 * The whole input is one buffer; fields are parsed in place with
 * hand-written number parsing, block tokens go through an open-addressing
 * hash table whose keys point into the buffer, and the operations array
 * grows geometrically: `heapcaps replay` must read millions of operations a
 * second.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat, mmap */

#include "trace_input.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define CSV_HEADER              "op,id,size,caps,alignment,timestamp"
#define CSV_HEADER_WITH_CALLERS CSV_HEADER ",callers"
#define NO_RECORD               UINT32_MAX
#define QUOTE_ROOM              72 /* a quoted excerpt of the input in a message */
#define JSON_MAX_DEPTH          64 /* nesting of skipped values: bounded recursion */
#define ARENA_CHUNK             65536

/* ---- state --------------------------------------------------------------- */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used;
    size_t size;
    char data[];
} arena_chunk_t;

/* Keys up to this long are kept in the slot: one cache miss per lookup,
 * not two (the slot, then the key far away in the input). */
#define SLOT_INLINE 16
#define MAX_KEY     0x7fffffffu

typedef struct {
    union {
        char bytes[SLOT_INLINE]; /* length <= SLOT_INLINE, zero-padded */
        const char *pointer;     /* into the input, an arena chunk or trace_t.callers */
    } key;
    unsigned length : 31; /* 0: an empty slot (keys are never empty) */
    unsigned live : 1;    /* tokens: the current instance is allocated */
    uint32_t hash;
    uint32_t id;   /* tokens: the current instance's block id; chains: the callers index */
    uint32_t line; /* tokens: where the current instance was allocated */
} slot_t;

typedef struct {
    slot_t *slots;
    size_t capacity; /* a power of two, or 0 */
    size_t used;
} table_t;

typedef struct {
    const char *name;
    trace_t *out;
    trace_error_t *error;
    size_t op_capacity;
    size_t caller_capacity;
    table_t tokens;
    table_t chains;
    arena_chunk_t *arena; /* keys that are not in the input as they are (JSON escapes) */
} reader_t;

/* ---- errors -------------------------------------------------------------- */

static bool fail(reader_t *r, size_t line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(reader_t *r, size_t line, const char *format, ...)
{
    trace_error_t *error = r->error;
    error->line = line;
    int prefix = 0;
    if (line) {
        prefix = snprintf(error->message, sizeof error->message, "line %zu: ", line);
    }
    va_list args;
    va_start(args, format);
    vsnprintf(error->message + prefix, sizeof error->message - (size_t)prefix, format, args);
    va_end(args);
    return false;
}

/* Up to QUOTE_ROOM - 1 characters of input for a message: unprintable bytes
 * as \xNN (binary input stays readable), "..." when cut. */
static const char *quoted(char room[QUOTE_ROOM], const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    size_t out = 0;
    for (size_t i = 0; i < length; ++i) {
        unsigned char c = (unsigned char)text[i];
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;
        bool last = i + 1 == length;
        if (out + need + (last ? 0 : 3) >= QUOTE_ROOM) {
            memcpy(room + out, "...", 3);
            out += 3;
            break;
        }
        if (need == 1) {
            room[out++] = (char)c;
        } else {
            room[out++] = '\\';
            room[out++] = 'x';
            room[out++] = hex[c >> 4];
            room[out++] = hex[c & 15];
        }
    }
    room[out] = '\0';
    return room;
}

/* ---- lines --------------------------------------------------------------- */

typedef struct {
    const char *p;
    const char *end;
    size_t line; /* of the line last returned */
} cursor_t;

/* The next line without its "\n" or "\r\n"; false at the end of the input. */
static inline bool next_line(cursor_t *c, const char **text, size_t *length)
{
    if (c->p >= c->end) {
        return false;
    }
    const char *start = c->p;
    const char *newline = memchr(start, '\n', (size_t)(c->end - start));
    const char *stop = newline ? newline : c->end;
    c->p = newline ? newline + 1 : c->end;
    if (stop > start && stop[-1] == '\r') {
        --stop;
    }
    *text = start;
    *length = (size_t)(stop - start);
    c->line++;
    return true;
}

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_blank(const char *text, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        if (!is_space(text[i])) {
            return false;
        }
    }
    return true;
}

/* Empty, blank or a '#' comment: CSV and JSONL skip these anywhere. */
static inline bool is_ignored(const char *text, size_t length)
{
    return length == 0 || text[0] == '#' || (is_space(text[0]) && is_blank(text, length));
}

/* trace_op_t.line is 32 bits. */
static inline bool line_fits(reader_t *r, size_t line)
{
    if (line > UINT32_MAX) {
        return fail(r, 0, "%s has more than %" PRIu32 " lines", r->name, UINT32_MAX);
    }
    return true;
}

/* ---- numbers ------------------------------------------------------------- */

typedef enum { NUMBER_OK, NUMBER_BAD, NUMBER_TOO_BIG } number_status_t;

static inline int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decimal digits, or "0x" and hex digits when `hex` is allowed; nothing
 * else (no sign, no spaces). TOO_BIG above `max`; BAD wins over TOO_BIG. */
static inline number_status_t parse_number(const char *text, size_t length, bool hex, uint64_t max,
                                           uint64_t *value)
{
    if (length == 0) {
        return NUMBER_BAD;
    }
    uint64_t v = 0;
    bool too_big = false;
    if (hex && length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        for (size_t i = 2; i < length; ++i) {
            int d = hex_digit(text[i]);
            if (d < 0) {
                return NUMBER_BAD;
            }
            too_big |= (v >> 60) != 0;
            v = v << 4 | (uint64_t)d;
        }
    } else {
        for (size_t i = 0; i < length; ++i) {
            unsigned d = (unsigned)(unsigned char)text[i] - '0';
            if (d > 9) {
                return NUMBER_BAD;
            }
            if (i < 19) { /* 19 digits cannot overflow 64 bits */
                v = v * 10 + d;
            } else if (v > (UINT64_MAX - d) / 10) {
                too_big = true;
            } else {
                v = v * 10 + d;
            }
        }
    }
    if (too_big || v > max) {
        return NUMBER_TOO_BIG;
    }
    *value = v;
    return NUMBER_OK;
}

static int bits_of(uint64_t max)
{
    return max == UINT32_MAX ? 32 : 64;
}

/* ---- memory -------------------------------------------------------------- */

static char *arena_copy(reader_t *r, const char *text, size_t length)
{
    arena_chunk_t *chunk = r->arena;
    if (!chunk || chunk->size - chunk->used < length) {
        size_t size = length > ARENA_CHUNK ? length : ARENA_CHUNK;
        if (size > SIZE_MAX - sizeof *chunk) {
            return NULL;
        }
        chunk = malloc(sizeof *chunk + size);
        if (!chunk) {
            return NULL;
        }
        chunk->next = r->arena;
        chunk->used = 0;
        chunk->size = size;
        r->arena = chunk;
    }
    char *copy = chunk->data + chunk->used;
    if (length) {
        memcpy(copy, text, length);
    }
    chunk->used += length;
    return copy;
}

static bool out_of_memory(reader_t *r, size_t line)
{
    return fail(r, line, "out of memory (after %zu operations)", r->out->count);
}

static bool reserve_ops(reader_t *r, size_t line, size_t capacity)
{
    if (capacity <= r->op_capacity) {
        return true;
    }
    if (capacity > SIZE_MAX / sizeof(trace_op_t)) {
        return out_of_memory(r, line);
    }
    trace_op_t *ops = realloc(r->out->ops, capacity * sizeof *ops);
    if (!ops) {
        return out_of_memory(r, line);
    }
    r->out->ops = ops;
    r->op_capacity = capacity;
    return true;
}

static inline trace_op_t *push_op(reader_t *r, size_t line)
{
    trace_t *t = r->out;
    if (t->count == r->op_capacity &&
        !reserve_ops(r, line, r->op_capacity ? r->op_capacity * 2 : 1024)) {
        return NULL;
    }
    return &t->ops[t->count++];
}

/* ---- hash tables --------------------------------------------------------- */

static inline uint32_t hash_bytes(const char *text, size_t length)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)length;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, text, 8);
        h = (h ^ word) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
        text += 8;
        length -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, text, length);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdu;
    return (uint32_t)(h ^ (h >> 32));
}

/* A key being looked up: short ones as two words (zero-padded), compared
 * as words with the copy in the slot. */
typedef struct {
    const char *text;
    size_t length;
    uint32_t hash;
    uint64_t words[SLOT_INLINE / 8];
} lookup_t;

/* Up to 8 bytes as a word, built in registers: a variable-length memcpy
 * to the stack and a word load back would stall on store forwarding. */
static inline uint64_t load_word(const char *text, size_t length)
{
    uint64_t word = 0;
    if (length == 8) {
        memcpy(&word, text, 8);
        return word;
    }
    for (size_t i = 0; i < length; ++i) {
        word |= (uint64_t)(unsigned char)text[i] << (8 * i);
    }
    return word;
}

static inline lookup_t make_key(const char *text, size_t length)
{
    lookup_t key = {text, length, 0, {0, 0}};
    if (length > SLOT_INLINE) {
        key.hash = hash_bytes(text, length);
        return key;
    }
    size_t first = length < 8 ? length : 8;
    key.words[0] = load_word(text, first);
    key.words[1] = load_word(text + first, length - first);
    uint64_t h = (key.words[0] ^ 0x9e3779b97f4a7c15u ^ length) * 0xff51afd7ed558ccdu;
    h ^= h >> 32;
    h = (h ^ key.words[1]) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdu;
    key.hash = (uint32_t)(h ^ (h >> 32));
    return key;
}

static inline bool slot_matches(const slot_t *slot, const lookup_t *key)
{
    if (slot->hash != key->hash || slot->length != key->length) {
        return false;
    }
    if (key->length <= SLOT_INLINE) {
        uint64_t words[SLOT_INLINE / 8];
        memcpy(words, slot->key.bytes, sizeof words);
        return words[0] == key->words[0] && words[1] == key->words[1];
    }
    return memcmp(slot->key.pointer, key->text, key->length) == 0;
}

/* The slot holding the key, or the empty slot where it would go. */
static inline slot_t *table_slot(const table_t *t, const lookup_t *key)
{
    size_t mask = t->capacity - 1;
    for (size_t i = key->hash & mask;; i = (i + 1) & mask) {
        slot_t *slot = &t->slots[i];
        if (!slot->length || slot_matches(slot, key)) {
            return slot;
        }
    }
}

/* Fills an empty slot; `stored` keeps a long key (short ones are copied in). */
static inline void slot_fill(slot_t *slot, const lookup_t *key, const char *stored)
{
    *slot = (slot_t){.length = (unsigned)key->length, .hash = key->hash};
    if (key->length <= SLOT_INLINE) {
        memcpy(slot->key.bytes, key->words, SLOT_INLINE);
    } else {
        slot->key.pointer = stored;
    }
}

/* Room for one more key at a load of at most 1/2. */
static bool table_reserve(reader_t *r, size_t line, table_t *t)
{
    if ((t->used + 1) * 2 <= t->capacity) {
        return true;
    }
    /* Slots are found by a 32-bit hash: at most 2^32 of them. */
    if (t->capacity > SIZE_MAX / 2 / sizeof(slot_t) || (uint64_t)t->capacity > UINT32_MAX / 2) {
        return out_of_memory(r, line);
    }
    size_t capacity = t->capacity ? t->capacity * 2 : 256;
    slot_t *slots = calloc(capacity, sizeof *slots);
    if (!slots) {
        return out_of_memory(r, line);
    }
    size_t mask = capacity - 1;
    for (size_t i = 0; i < t->capacity; ++i) {
        const slot_t *old = &t->slots[i];
        if (old->length) {
            size_t at = old->hash & mask;
            while (slots[at].length) {
                at = (at + 1) & mask;
            }
            slots[at] = *old;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->capacity = capacity;
    return true;
}

/* The callers index of a chain, equal chains sharing one; TRACE_NONE when empty. */
static bool intern_chain(reader_t *r, size_t line, const char *text, size_t length, uint32_t *index)
{
    if (length == 0) {
        *index = TRACE_NONE;
        return true;
    }
    if (memchr(text, '\0', length)) {
        return fail(r, line, "the caller chain holds a NUL byte");
    }
    if (length > MAX_KEY) {
        return fail(r, line, "a caller chain of more than %u bytes", MAX_KEY);
    }
    if (!table_reserve(r, line, &r->chains)) {
        return false;
    }
    lookup_t key = make_key(text, length);
    slot_t *slot = table_slot(&r->chains, &key);
    if (slot->length) {
        *index = slot->id;
        return true;
    }
    trace_t *t = r->out;
    if (t->caller_count >= TRACE_NONE) {
        return fail(r, line, "more than %" PRIu32 " different caller chains", TRACE_NONE - 1);
    }
    if (t->caller_count == r->caller_capacity) {
        size_t capacity = r->caller_capacity ? r->caller_capacity * 2 : 64;
        char **callers = capacity <= SIZE_MAX / sizeof(char *)
                             ? realloc(t->callers, capacity * sizeof(char *))
                             : NULL;
        if (!callers) {
            return out_of_memory(r, line);
        }
        t->callers = callers;
        r->caller_capacity = capacity;
    }
    char *copy = malloc(length + 1);
    if (!copy) {
        return out_of_memory(r, line);
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    t->callers[t->caller_count] = copy;
    slot_fill(slot, &key, copy);
    slot->id = (uint32_t)t->caller_count;
    r->chains.used++;
    *index = (uint32_t)t->caller_count++;
    return true;
}

static bool new_id(reader_t *r, size_t line, uint32_t *id)
{
    if (r->out->id_count >= TRACE_NONE) {
        return fail(r, line, "more than %" PRIu32 " blocks", TRACE_NONE - 1);
    }
    *id = (uint32_t)r->out->id_count++;
    return true;
}

/* ---- operations (CSV and JSONL) ------------------------------------------ */

static const char *const kind_names[] = {"malloc", "calloc", "aligned", "realloc", "free"};

static inline bool parse_kind(const char *text, size_t length, trace_kind_t *kind)
{
    switch (length) {
    case 4:
        *kind = TRACE_FREE;
        return memcmp(text, "free", 4) == 0;
    case 6:
        *kind = text[0] == 'c' ? TRACE_CALLOC : TRACE_MALLOC;
        return memcmp(text, kind_names[*kind], 6) == 0;
    case 7:
        *kind = text[0] == 'a' ? TRACE_ALIGNED : TRACE_REALLOC;
        return memcmp(text, kind_names[*kind], 7) == 0;
    default:
        return false;
    }
}

/* One operation as a line gives it, before its token is resolved. */
typedef struct {
    trace_kind_t kind;
    const char *token;
    size_t token_length;
    bool token_transient; /* not in the input as it is: copy it to keep it */
    bool has_size;
    uint32_t size;
    uint32_t caps;
    uint32_t alignment;
    uint64_t time;
    uint32_t callers;
    const char *callers_text; /* the CSV fast path's, not yet interned */
    size_t callers_length;
} input_op_t;

static bool apply_op(reader_t *r, size_t line, const input_op_t *in)
{
    const char *name = kind_names[in->kind];
    if (in->kind != TRACE_FREE) {
        if (!in->has_size) {
            if (in->kind == TRACE_REALLOC) {
                return fail(r, line, "realloc without a size (expected bytes; 0 frees the block)");
            }
            return fail(r, line, "%s without a size (expected bytes > 0)", name);
        }
        if (in->size == 0 && in->kind != TRACE_REALLOC) {
            return fail(r, line, "%s of 0 bytes (expected a size > 0)", name);
        }
        if (in->kind == TRACE_ALIGNED) {
            if (in->alignment == 0) {
                return fail(r, line, "aligned without an alignment (expected a power of two)");
            }
            if (in->alignment & (in->alignment - 1)) {
                return fail(r, line, "alignment %" PRIu32 " is not a power of two", in->alignment);
            }
        } else if (in->alignment) {
            return fail(r, line,
                        "alignment %" PRIu32
                        " given for %s (only aligned takes one: expected empty or 0)",
                        in->alignment, name);
        }
    }
    if (in->token_length > MAX_KEY) {
        return fail(r, line, "an id of more than %u bytes", MAX_KEY);
    }
    table_t *tokens = &r->tokens;
    lookup_t key = make_key(in->token, in->token_length);
    bool frees = in->kind == TRACE_FREE || (in->kind == TRACE_REALLOC && in->size == 0);
    if (frees) {
        slot_t *slot = tokens->capacity ? table_slot(tokens, &key) : NULL;
        if (!slot || !slot->length || !slot->live) {
            r->out->unknown_frees++; /* freed before the trace began, or twice */
            return true;
        }
        trace_op_t *op = push_op(r, line);
        if (!op) {
            return false;
        }
        slot->live = false;
        *op = (trace_op_t){.kind = TRACE_FREE,
                           .id = slot->id,
                           .callers = in->callers,
                           .line = (uint32_t)line,
                           .time = in->time};
        return true;
    }
    if (!table_reserve(r, line, tokens)) {
        return false;
    }
    slot_t *slot = table_slot(tokens, &key);
    if (!slot->length) {
        const char *stored = in->token;
        if (in->token_transient && in->token_length > SLOT_INLINE &&
            !(stored = arena_copy(r, in->token, in->token_length))) {
            return out_of_memory(r, line);
        }
        slot_fill(slot, &key, stored);
        tokens->used++;
    }
    trace_kind_t kind = in->kind;
    uint32_t id = slot->id;
    if (slot->live) {
        if (kind != TRACE_REALLOC) {
            char token[QUOTE_ROOM];
            return fail(r, line,
                        "block '%s' allocated again while it is live (allocated on line %" PRIu32
                        ", not freed since)",
                        quoted(token, in->token, in->token_length), slot->line);
        }
    } else {
        if (kind == TRACE_REALLOC) {
            kind = TRACE_MALLOC; /* realloc(NULL, size) */
        }
        if (!new_id(r, line, &id)) {
            return false;
        }
        slot->id = id;
        slot->live = true;
        slot->line = (uint32_t)line;
    }
    trace_op_t *op = push_op(r, line);
    if (!op) {
        return false;
    }
    *op = (trace_op_t){.kind = (uint8_t)kind,
                       .id = id,
                       .size = in->size,
                       .caps = in->caps,
                       .alignment = kind == TRACE_ALIGNED ? in->alignment : 0,
                       .callers = in->callers,
                       .line = (uint32_t)line,
                       .time = in->time};
    return true;
}

/* ---- CSV ----------------------------------------------------------------- */

enum { CSV_OP, CSV_ID, CSV_SIZE, CSV_CAPS, CSV_ALIGNMENT, CSV_TIME, CSV_CALLERS, CSV_MAX_FIELDS };

static bool csv_number_error(reader_t *r, size_t line, number_status_t status, const char *what,
                             const char *text, size_t length, uint64_t max, const char *expected)
{
    char shown[QUOTE_ROOM];
    if (status == NUMBER_TOO_BIG) {
        return fail(r, line, "%s '%s' does not fit %d bits", what, quoted(shown, text, length),
                    bits_of(max));
    }
    return fail(r, line, "%s '%s' is not a number (expected %s)", what, quoted(shown, text, length),
                expected);
}

static inline bool csv_number(reader_t *r, size_t line, const char *what, const char *text,
                              size_t length, bool hex, uint64_t max, const char *expected,
                              uint64_t *value)
{
    number_status_t status = parse_number(text, length, hex, max, value);
    return status == NUMBER_OK ||
           csv_number_error(r, line, status, what, text, length, max, expected);
}

/* A line field by field, with the message for whatever is wrong with it.
 * The fast path below hands over every line it does not accept. */
static bool csv_line_checked(reader_t *r, size_t line, const char *text, size_t length,
                             size_t fields)
{
    const char *field[CSV_MAX_FIELDS];
    size_t field_length[CSV_MAX_FIELDS];
    size_t n = 0;
    const char *start = text;
    const char *end = text + length;
    for (const char *p = text;; ++p) {
        if (p == end || *p == ',') {
            if (n < CSV_MAX_FIELDS) {
                field[n] = start;
                field_length[n] = (size_t)(p - start);
            }
            n++;
            if (p == end) {
                break;
            }
            start = p + 1;
        }
    }
    if (n != fields) {
        return fail(r, line, "%zu fields, expected %zu (%s)", n, fields,
                    fields == 6 ? CSV_HEADER : CSV_HEADER_WITH_CALLERS);
    }
    input_op_t op = {.callers = TRACE_NONE};
    if (!parse_kind(field[CSV_OP], field_length[CSV_OP], &op.kind)) {
        char shown[QUOTE_ROOM];
        return fail(r, line,
                    "unknown operation '%s' (expected malloc, calloc, aligned, realloc or free)",
                    quoted(shown, field[CSV_OP], field_length[CSV_OP]));
    }
    if (field_length[CSV_ID] == 0) {
        return fail(r, line, "empty id (expected the block's token, e.g. its address)");
    }
    op.token = field[CSV_ID];
    op.token_length = field_length[CSV_ID];
    uint64_t value = 0;
    if (op.kind != TRACE_FREE) { /* a free's size, caps and alignment are ignored */
        if (field_length[CSV_SIZE]) {
            if (!csv_number(r, line, "size", field[CSV_SIZE], field_length[CSV_SIZE], false,
                            UINT32_MAX, "decimal bytes", &value)) {
                return false;
            }
            op.has_size = true;
            op.size = (uint32_t)value;
        }
        if (field_length[CSV_CAPS]) {
            if (!csv_number(r, line, "caps", field[CSV_CAPS], field_length[CSV_CAPS], true,
                            UINT32_MAX, "decimal or 0x-hex MALLOC_CAP_* bits", &value)) {
                return false;
            }
            op.caps = (uint32_t)value;
        }
        if (field_length[CSV_ALIGNMENT]) {
            if (!csv_number(r, line, "alignment", field[CSV_ALIGNMENT], field_length[CSV_ALIGNMENT],
                            false, UINT32_MAX, "a decimal power of two", &value)) {
                return false;
            }
            op.alignment = (uint32_t)value;
        }
    }
    if (field_length[CSV_TIME] &&
        !csv_number(r, line, "timestamp", field[CSV_TIME], field_length[CSV_TIME], true, UINT64_MAX,
                    "decimal or 0x-hex", &op.time)) {
        return false;
    }
    if (fields > CSV_CALLERS &&
        !intern_chain(r, line, field[CSV_CALLERS], field_length[CSV_CALLERS], &op.callers)) {
        return false;
    }
    return apply_op(r, line, &op);
}

/* Digits up to the next ',' (or `end` when `last`), at most `max`; false
 * for anything else, including an empty field. */
static inline bool fast_decimal(const char **at, const char *end, bool last, uint64_t max,
                                uint64_t *value)
{
    const char *p = *at;
    const char *start = p;
    uint64_t v = 0;
    unsigned d;
    while (p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
        v = v * 10 + d;
        ++p;
    }
    if (p == start || p - start > 19 || v > max || (last ? p != end : (p == end || *p != ','))) {
        return false;
    }
    *value = v;
    *at = p + !last;
    return true;
}

/* The same, also "0x" and hex digits. */
static inline bool fast_number(const char **at, const char *end, bool last, uint64_t max,
                               uint64_t *value)
{
    const char *p = *at;
    if (end - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X')) {
        return fast_decimal(at, end, last, max, value);
    }
    p += 2;
    const char *start = p;
    uint64_t v = 0;
    int d;
    while (p < end && (d = hex_digit(*p)) >= 0) {
        v = v << 4 | (uint64_t)d;
        ++p;
    }
    if (p == start || p - start > 16 || v > max || (last ? p != end : (p == end || *p != ','))) {
        return false;
    }
    *value = v;
    *at = p + !last;
    return true;
}

/* An empty field: true and past its comma. */
static inline bool fast_empty(const char **at, const char *end)
{
    if (*at < end && **at == ',') {
        ++*at;
        return true;
    }
    return false;
}

/* A well-formed line in one pass, without messages: false hands it to
 * csv_line_checked(), which accepts it or says what is wrong. */
static inline bool csv_line_fast(const char *p, const char *end, bool callers, input_op_t *op)
{
    size_t length = (size_t)(end - p);
    if (length >= 5 && memcmp(p, "free,", 5) == 0) {
        op->kind = TRACE_FREE;
        p += 5;
    } else if (length >= 7 && memcmp(p, "malloc,", 7) == 0) {
        op->kind = TRACE_MALLOC;
        p += 7;
    } else if (length >= 8 && memcmp(p, "realloc,", 8) == 0) {
        op->kind = TRACE_REALLOC;
        p += 8;
    } else if (length >= 8 && memcmp(p, "aligned,", 8) == 0) {
        op->kind = TRACE_ALIGNED;
        p += 8;
    } else if (length >= 7 && memcmp(p, "calloc,", 7) == 0) {
        op->kind = TRACE_CALLOC;
        p += 7;
    } else {
        return false;
    }
    const char *token = p;
    while (p < end && *p != ',') {
        ++p;
    }
    if (p == end || p == token) {
        return false;
    }
    op->token = token;
    op->token_length = (size_t)(p - token);
    ++p;
    uint64_t value;
    if (op->kind == TRACE_FREE) {
        for (int skip = 0; skip < 3; ++skip) { /* size, caps, alignment: ignored */
            while (p < end && *p != ',') {
                ++p;
            }
            if (p++ == end) {
                return false;
            }
        }
    } else {
        if (!fast_decimal(&p, end, false, UINT32_MAX, &value)) {
            return false;
        }
        op->has_size = true;
        op->size = (uint32_t)value;
        if (!fast_empty(&p, end)) {
            if (!fast_number(&p, end, false, UINT32_MAX, &value)) {
                return false;
            }
            op->caps = (uint32_t)value;
        }
        if (!fast_empty(&p, end)) {
            if (!fast_decimal(&p, end, false, UINT32_MAX, &value)) {
                return false;
            }
            op->alignment = (uint32_t)value;
        }
    }
    if (!callers) {
        return p == end || fast_number(&p, end, true, UINT64_MAX, &op->time);
    }
    if (!fast_empty(&p, end) && !fast_number(&p, end, false, UINT64_MAX, &op->time)) {
        return false;
    }
    op->callers_text = p;
    op->callers_length = (size_t)(end - p);
    return !memchr(p, ',', op->callers_length);
}

static bool csv_line(reader_t *r, size_t line, const char *text, size_t length, size_t fields)
{
    input_op_t op = {.callers = TRACE_NONE};
    if (!csv_line_fast(text, text + length, fields > CSV_CALLERS, &op)) {
        return csv_line_checked(r, line, text, length, fields);
    }
    if (op.callers_length &&
        !intern_chain(r, line, op.callers_text, op.callers_length, &op.callers)) {
        return false;
    }
    return apply_op(r, line, &op);
}

static bool parse_csv(reader_t *r, cursor_t *c, size_t fields)
{
    const char *text;
    size_t length;
    while (next_line(c, &text, &length)) {
        if (is_ignored(text, length)) {
            continue;
        }
        if (!line_fits(r, c->line) || !csv_line(r, c->line, text, length, fields)) {
            return false;
        }
    }
    return true;
}

/* ---- JSONL --------------------------------------------------------------- */

typedef struct {
    reader_t *r;
    size_t line;
    const char *start; /* of the line: columns in messages */
    const char *p;
    const char *end;
} json_t;

typedef struct {
    const char *text;
    size_t length;
    bool transient; /* decoded into the arena */
} json_text_t;

static size_t column(const json_t *j)
{
    return (size_t)(j->p - j->start) + 1;
}

static void json_skip_space(json_t *j)
{
    while (j->p < j->end && is_space(*j->p)) {
        ++j->p;
    }
}

static bool json_at(json_t *j, char c)
{
    return j->p < j->end && *j->p == c;
}

/* "end of the line" or the character found, for "expected ... at ..." */
static const char *json_found(const json_t *j, char room[QUOTE_ROOM])
{
    if (j->p >= j->end) {
        return "the end of the line";
    }
    char shown[QUOTE_ROOM];
    snprintf(room, QUOTE_ROOM, "'%s'", quoted(shown, j->p, 1));
    return room;
}

static int json_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; ++i) {
        int d = hex_digit(p[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static size_t utf8_encode(char *out, uint32_t code)
{
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xc0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3f));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xe0 | (code >> 12));
        out[1] = (char)(0x80 | ((code >> 6) & 0x3f));
        out[2] = (char)(0x80 | (code & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (code >> 18));
    out[1] = (char)(0x80 | ((code >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3f));
    out[3] = (char)(0x80 | (code & 0x3f));
    return 4;
}

/* A string at j->p (the opening quote). With `value`, its text: in the input
 * when it has no escapes, else decoded into the arena. */
static bool json_string(json_t *j, json_text_t *value)
{
    size_t opened = column(j);
    const char *body = ++j->p;
    bool escapes = false;
    for (;;) {
        if (j->p >= j->end) {
            return fail(j->r, j->line,
                        "unterminated string starting at column %zu (expected a closing '\"' "
                        "before the end of the line)",
                        opened);
        }
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return fail(j->r, j->line, "control character 0x%02x in a string at column %zu", c,
                        column(j));
        }
        if (c != '\\') {
            ++j->p;
            continue;
        }
        escapes = true;
        if (j->end - j->p < 2) {
            ++j->p;
            continue; /* reported as unterminated */
        }
        char e = j->p[1];
        if (e == 'u') {
            if (j->end - j->p < 6 || json_hex4(j->p + 2) < 0) {
                return fail(j->r, j->line, "bad \\u escape at column %zu (expected 4 hex digits)",
                            column(j));
            }
            j->p += 6;
        } else if (e && strchr("\"\\/bfnrt", e)) {
            j->p += 2;
        } else {
            char shown[QUOTE_ROOM];
            return fail(j->r, j->line,
                        "bad escape '\\%s' at column %zu (expected one of \\\" \\\\ \\/ \\b \\f "
                        "\\n \\r \\t \\uXXXX)",
                        quoted(shown, &e, 1), column(j));
        }
    }
    const char *body_end = j->p++;
    if (!value) {
        return true;
    }
    size_t raw = (size_t)(body_end - body);
    if (!escapes) {
        *value = (json_text_t){body, raw, false};
        return true;
    }
    /* Decoded text is never longer than the escaped text. */
    char *out = arena_copy(j->r, body, raw);
    if (!out) {
        return out_of_memory(j->r, j->line);
    }
    size_t n = 0;
    for (const char *p = body; p < body_end;) {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            uint32_t code = (uint32_t)json_hex4(p);
            size_t at = (size_t)(p - 2 - j->start) + 1;
            p += 4;
            if (code >= 0xdc00 && code <= 0xdfff) {
                return fail(j->r, j->line, "lone low surrogate \\u%04" PRIx32 " at column %zu",
                            code, at);
            }
            if (code >= 0xd800 && code <= 0xdbff) {
                int low = body_end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? json_hex4(p + 2) : -1;
                if (low < 0xdc00 || low > 0xdfff) {
                    return fail(j->r, j->line,
                                "high surrogate \\u%04" PRIx32
                                " at column %zu without its low surrogate",
                                code, at);
                }
                code = 0x10000 + ((code - 0xd800) << 10) + ((uint32_t)low - 0xdc00);
                p += 6;
            }
            n += utf8_encode(out + n, code);
            break;
        }
        default: /* " \ / */
            out[n++] = e;
            break;
        }
    }
    *value = (json_text_t){out, n, true};
    return true;
}

/* A JSON number at j->p; `integer` when it has no sign, fraction or exponent. */
static bool json_number(json_t *j, json_text_t *text, bool *integer)
{
    const char *start = j->p;
    size_t at = column(j);
    bool minus = json_at(j, '-');
    if (minus) {
        ++j->p;
    }
    const char *digits = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        ++j->p;
    }
    bool bad = j->p == digits || (j->p - digits > 1 && *digits == '0');
    bool fraction = false;
    if (!bad && json_at(j, '.')) {
        fraction = true;
        const char *f = ++j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            ++j->p;
        }
        bad = j->p == f;
    }
    if (!bad && (json_at(j, 'e') || json_at(j, 'E'))) {
        fraction = true;
        ++j->p;
        if (json_at(j, '+') || json_at(j, '-')) {
            ++j->p;
        }
        const char *e = j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            ++j->p;
        }
        bad = j->p == e;
    }
    if (bad) {
        return fail(j->r, j->line, "malformed number at column %zu", at);
    }
    *text = (json_text_t){start, (size_t)(j->p - start), false};
    *integer = !minus && !fraction;
    return true;
}

static bool json_literal(json_t *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) >= n && memcmp(j->p, word, n) == 0) {
        j->p += n;
        return true;
    }
    return false;
}

/* A value whose key is not ours: checked, then left out. */
static bool json_skip_value(json_t *j, int depth)
{
    char room[QUOTE_ROOM];
    if (depth > JSON_MAX_DEPTH) {
        return fail(j->r, j->line, "values nested more than %d deep at column %zu", JSON_MAX_DEPTH,
                    column(j));
    }
    json_skip_space(j);
    if (j->p >= j->end) {
        return fail(j->r, j->line, "the line ends where a value was expected");
    }
    char c = *j->p;
    if (c == '"') {
        return json_string(j, NULL);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        json_text_t number;
        bool integer;
        return json_number(j, &number, &integer);
    }
    if (json_literal(j, "true") || json_literal(j, "false") || json_literal(j, "null")) {
        return true;
    }
    if (c != '{' && c != '[') {
        return fail(j->r, j->line, "expected a value at column %zu, found %s", column(j),
                    json_found(j, room));
    }
    char close = c == '{' ? '}' : ']';
    ++j->p;
    json_skip_space(j);
    if (json_at(j, close)) {
        ++j->p;
        return true;
    }
    for (;;) {
        if (close == '}') {
            json_skip_space(j);
            if (!json_at(j, '"')) {
                return fail(j->r, j->line, "expected a key at column %zu, found %s", column(j),
                            json_found(j, room));
            }
            if (!json_string(j, NULL)) {
                return false;
            }
            json_skip_space(j);
            if (!json_at(j, ':')) {
                return fail(j->r, j->line, "expected ':' after a key at column %zu, found %s",
                            column(j), json_found(j, room));
            }
            ++j->p;
        }
        if (!json_skip_value(j, depth + 1)) {
            return false;
        }
        json_skip_space(j);
        if (json_at(j, ',')) {
            ++j->p;
            continue;
        }
        if (json_at(j, close)) {
            ++j->p;
            return true;
        }
        return fail(j->r, j->line, "expected ',' or '%c' at column %zu, found %s", close, column(j),
                    json_found(j, room));
    }
}

/* "size": 16, "size": "0x10" or "size": null (absent). */
static bool json_number_field(json_t *j, const char *key, uint64_t max, bool *present,
                              uint64_t *value)
{
    char shown[QUOTE_ROOM];
    char room[QUOTE_ROOM];
    *present = false;
    if (json_literal(j, "null")) {
        return true;
    }
    json_text_t text;
    number_status_t status;
    if (json_at(j, '"')) {
        if (!json_string(j, &text)) {
            return false;
        }
        status = parse_number(text.text, text.length, true, max, value);
        if (status == NUMBER_BAD) {
            return fail(j->r, j->line,
                        "\"%s\" '%s' is not a number (expected a non-negative integer, or a "
                        "string of one in decimal or 0x-hex)",
                        key, quoted(shown, text.text, text.length));
        }
    } else if (json_at(j, '-') || (j->p < j->end && *j->p >= '0' && *j->p <= '9')) {
        bool integer;
        if (!json_number(j, &text, &integer)) {
            return false;
        }
        if (!integer) {
            return fail(j->r, j->line, "\"%s\" %s is not a non-negative integer", key,
                        quoted(shown, text.text, text.length));
        }
        status = parse_number(text.text, text.length, false, max, value);
    } else {
        return fail(j->r, j->line, "\"%s\" must be a number, found %s at column %zu", key,
                    json_found(j, room), column(j));
    }
    if (status == NUMBER_TOO_BIG) {
        return fail(j->r, j->line, "\"%s\" %s does not fit %d bits", key,
                    quoted(shown, text.text, text.length), bits_of(max));
    }
    *present = true;
    return true;
}

enum {
    KEY_OP,
    KEY_ID,
    KEY_SIZE,
    KEY_CAPS,
    KEY_ALIGNMENT,
    KEY_TIMESTAMP,
    KEY_CALLERS,
    KEY_COUNT,
};

static const char *const json_keys[KEY_COUNT] = {"op",        "id",        "size",   "caps",
                                                 "alignment", "timestamp", "callers"};

static int json_key_index(const json_text_t *key)
{
    for (int k = 0; k < KEY_COUNT; ++k) {
        if (strlen(json_keys[k]) == key->length &&
            memcmp(json_keys[k], key->text, key->length) == 0) {
            return k;
        }
    }
    return -1;
}

/* The value of one of our keys, into *op. */
static bool json_known_value(json_t *j, int key, input_op_t *op)
{
    char shown[QUOTE_ROOM];
    char room[QUOTE_ROOM];
    json_text_t text;
    bool present;
    uint64_t value = 0;
    switch (key) {
    case KEY_OP:
        if (!json_at(j, '"')) {
            return fail(j->r, j->line,
                        "\"op\" must be a string (malloc, calloc, aligned, realloc or free), found "
                        "%s at column %zu",
                        json_found(j, room), column(j));
        }
        if (!json_string(j, &text)) {
            return false;
        }
        if (!parse_kind(text.text, text.length, &op->kind)) {
            return fail(j->r, j->line,
                        "unknown operation '%s' (expected malloc, calloc, aligned, realloc or "
                        "free)",
                        quoted(shown, text.text, text.length));
        }
        return true;
    case KEY_ID:
        if (json_at(j, '"')) {
            if (!json_string(j, &text)) {
                return false;
            }
        } else if (json_at(j, '-') || (j->p < j->end && *j->p >= '0' && *j->p <= '9')) {
            bool integer;
            if (!json_number(j, &text, &integer)) {
                return false;
            }
            if (!integer) {
                return fail(j->r, j->line, "\"id\" %s is not a non-negative integer",
                            quoted(shown, text.text, text.length));
            }
        } else {
            return fail(j->r, j->line,
                        "\"id\" must be a string or a non-negative integer, found %s at column "
                        "%zu",
                        json_found(j, room), column(j));
        }
        if (text.length == 0) {
            return fail(j->r, j->line,
                        "empty \"id\" (expected the block's token, e.g. its "
                        "address)");
        }
        op->token = text.text;
        op->token_length = text.length;
        op->token_transient = text.transient;
        return true;
    case KEY_SIZE:
        if (!json_number_field(j, "size", UINT32_MAX, &present, &value)) {
            return false;
        }
        op->has_size = present;
        op->size = (uint32_t)value;
        return true;
    case KEY_CAPS:
        if (!json_number_field(j, "caps", UINT32_MAX, &present, &value)) {
            return false;
        }
        op->caps = (uint32_t)value;
        return true;
    case KEY_ALIGNMENT:
        if (!json_number_field(j, "alignment", UINT32_MAX, &present, &value)) {
            return false;
        }
        op->alignment = (uint32_t)value;
        return true;
    case KEY_TIMESTAMP:
        return json_number_field(j, "timestamp", UINT64_MAX, &present, &op->time);
    default: /* KEY_CALLERS */
        if (json_literal(j, "null")) {
            return true;
        }
        if (!json_at(j, '"')) {
            return fail(j->r, j->line, "\"callers\" must be a string, found %s at column %zu",
                        json_found(j, room), column(j));
        }
        return json_string(j, &text) &&
               intern_chain(j->r, j->line, text.text, text.length, &op->callers);
    }
}

static bool json_line(reader_t *r, size_t line, const char *text, size_t length)
{
    json_t j = {r, line, text, text, text + length};
    char room[QUOTE_ROOM];
    json_skip_space(&j);
    if (!json_at(&j, '{')) {
        return fail(r, line, "expected a JSON object ('{') at column %zu, found %s", column(&j),
                    json_found(&j, room));
    }
    ++j.p;
    input_op_t op = {.callers = TRACE_NONE};
    unsigned seen = 0;
    json_skip_space(&j);
    if (json_at(&j, '}')) {
        ++j.p;
    } else {
        for (;;) {
            json_skip_space(&j);
            if (!json_at(&j, '"')) {
                return fail(r, line, "expected a key (a string) at column %zu, found %s",
                            column(&j), json_found(&j, room));
            }
            json_text_t key;
            if (!json_string(&j, &key)) {
                return false;
            }
            int index = json_key_index(&key);
            json_skip_space(&j);
            if (!json_at(&j, ':')) {
                char shown[QUOTE_ROOM];
                return fail(r, line, "expected ':' after the key \"%s\" at column %zu, found %s",
                            quoted(shown, key.text, key.length), column(&j), json_found(&j, room));
            }
            ++j.p;
            json_skip_space(&j);
            if (index < 0) {
                if (!json_skip_value(&j, 1)) {
                    return false;
                }
            } else {
                if (seen & (1u << index)) {
                    return fail(r, line, "key \"%s\" given twice", json_keys[index]);
                }
                seen |= 1u << index;
                if (!json_known_value(&j, index, &op)) {
                    return false;
                }
            }
            json_skip_space(&j);
            if (json_at(&j, ',')) {
                ++j.p;
                continue;
            }
            if (json_at(&j, '}')) {
                ++j.p;
                break;
            }
            if (j.p >= j.end) {
                return fail(r, line,
                            "the object is not closed (expected '}' before the end of "
                            "the line)");
            }
            return fail(r, line, "expected ',' or '}' at column %zu, found %s", column(&j),
                        json_found(&j, room));
        }
    }
    json_skip_space(&j);
    if (j.p < j.end) {
        char shown[QUOTE_ROOM];
        return fail(r, line, "unexpected '%s' after the object at column %zu (one object per line)",
                    quoted(shown, j.p, (size_t)(j.end - j.p)), column(&j));
    }
    if (!(seen & (1u << KEY_OP))) {
        return fail(r, line,
                    "no \"op\" key (expected one of malloc, calloc, aligned, realloc, free)");
    }
    if (!(seen & (1u << KEY_ID))) {
        return fail(r, line, "no \"id\" key (expected the block's token, e.g. its address)");
    }
    return apply_op(r, line, &op);
}

static bool parse_jsonl(reader_t *r, cursor_t *c)
{
    const char *text;
    size_t length;
    while (next_line(c, &text, &length)) {
        if (is_ignored(text, length)) {
            continue;
        }
        if (!line_fits(r, c->line) || !json_line(r, c->line, text, length)) {
            return false;
        }
    }
    return true;
}

/* ---- heap_trace_dump() text ---------------------------------------------- */

/* Matching device output: a space in a pattern stands for one or more spaces. */
typedef struct {
    const char *p;
    const char *end;
} scan_t;

static bool scan_literal(scan_t *s, const char *pattern)
{
    const char *p = s->p;
    for (; *pattern; ++pattern) {
        if (*pattern == ' ') {
            if (p == s->end || !is_space(*p)) {
                return false;
            }
            while (p < s->end && is_space(*p)) {
                ++p;
            }
        } else {
            if (p == s->end || *p != *pattern) {
                return false;
            }
            ++p;
        }
    }
    s->p = p;
    return true;
}

static void scan_spaces(scan_t *s)
{
    while (s->p < s->end && is_space(*s->p)) {
        ++s->p;
    }
}

/* A run of characters from `set` (digits when NULL). */
static size_t scan_run(scan_t *s, const char *set, const char **start)
{
    *start = s->p;
    while (s->p < s->end &&
           (set ? (*s->p != '\0' && strchr(set, *s->p) != NULL) : (*s->p >= '0' && *s->p <= '9'))) {
        ++s->p;
    }
    return (size_t)(s->p - *start);
}

static bool scan_decimal(scan_t *s, uint64_t *value)
{
    const char *digits;
    size_t n = scan_run(s, NULL, &digits);
    return n && parse_number(digits, n, false, UINT64_MAX, value) == NUMBER_OK;
}

static bool scan_at_end(scan_t *s)
{
    scan_spaces(s);
    return s->p == s->end;
}

/* The length of the ANSI escape sequence (a monitor's colours) at text[0]
 * == ESC: a CSI ("ESC [", parameters, a final byte) or ESC and one byte. */
static size_t escape_length(const char *text, size_t length)
{
    size_t i = 1;
    if (i < length && text[i] == '[') {
        ++i;
        while (i < length && (unsigned char)text[i] >= 0x20 && (unsigned char)text[i] <= 0x3f) {
            ++i;
        }
    }
    return i < length ? i + 1 : length;
}

/* Text without its escape sequences into out, which has room for length
 * bytes; returns the new length. */
static size_t strip_ansi(const char *text, size_t length, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < length;) {
        if (text[i] == '\x1b') {
            i += escape_length(text + i, length - i);
        } else {
            out[n++] = text[i++];
        }
    }
    return n;
}

/* Without colour codes and surrounding spaces. */
typedef struct {
    char *buffer;
    size_t capacity;
} clean_t;

static bool clean_line(reader_t *r, size_t line, clean_t *clean, const char **text, size_t *length)
{
    const char *s = *text;
    size_t n = *length;
    if (memchr(s, '\x1b', n)) {
        if (n > clean->capacity) {
            char *buffer = realloc(clean->buffer, n);
            if (!buffer) {
                return out_of_memory(r, line);
            }
            clean->buffer = buffer;
            clean->capacity = n;
        }
        n = strip_ansi(s, n, clean->buffer);
        s = clean->buffer;
    }
    while (n && is_space(*s)) {
        ++s, --n;
    }
    while (n && is_space(s[n - 1])) {
        --n;
    }
    *text = s;
    *length = n;
    return true;
}

typedef enum { DUMP_V50, DUMP_V51 } dump_header_t;

/* "====== Heap Trace: %u records (%u capacity) ======" (v5.1 on) or
 * "%u allocations trace (%u entry buffer)" (v5.0), in a clean_line(). */
static bool dump_header(const char *text, size_t length, dump_header_t *kind, uint64_t *count)
{
    scan_t s = {text, text + length};
    uint64_t capacity;
    if (s.p < s.end && *s.p == '=') {
        *kind = DUMP_V51;
        return scan_literal(&s, "====== Heap Trace: ") && scan_decimal(&s, count) &&
               scan_literal(&s, " records (") && scan_decimal(&s, &capacity) &&
               scan_literal(&s, " capacity) ======");
    }
    *kind = DUMP_V50;
    return scan_decimal(&s, count) && scan_literal(&s, " allocations trace (") &&
           scan_decimal(&s, &capacity) && scan_literal(&s, " entry buffer)");
}

/* Moves the cursor past the next line that is a dump header: *found false
 * at the end of the input; false on an error. */
static bool next_header(reader_t *r, cursor_t *c, clean_t *clean, dump_header_t *kind,
                        uint64_t *count, bool *found)
{
    const char *text;
    size_t length;
    *found = false;
    while (next_line(c, &text, &length)) {
        if (!clean_line(r, c->line, clean, &text, &length)) {
            return false;
        }
        if (dump_header(text, length, kind, count)) {
            *found = true;
            return line_fits(r, c->line);
        }
    }
    return true;
}

typedef struct {
    uint64_t address;
    uint64_t end;
    uint64_t ccount;
    uint32_t size;
    uint32_t callers;
    uint32_t freed_by;
    uint32_t line;
    uint32_t freed_before;          /* the record whose allocation proves the free, or NO_RECORD */
    uint32_t left, right, priority; /* treap of pending records by address */
    bool freed;
} dump_record_t;

typedef enum { MODE_UNKNOWN, MODE_ALL, MODE_LEAKS } dump_mode_t;

typedef struct {
    dump_record_t *records;
    size_t count;
    size_t capacity;
    dump_header_t header;
    size_t header_line;
    size_t old_form_line;    /* a record with " caller " and nothing after it (v5.1-v5.4) */
    size_t master_form_line; /* a record with " freed", or without " caller " (v5.5+) */
    bool any_chain;
    bool any_freed_by;
    dump_mode_t mode;
    bool corrupt; /* "Error: heap trace linked list is corrupt" */
    bool racing;  /* "(NB: New entries were traced while dumping ...)" */
    size_t last_record_line;
    clean_t clean;
} dump_t;

static bool starts_with(const char *text, size_t length, const char *prefix)
{
    size_t n = strlen(prefix);
    return length >= n && memcmp(text, prefix, n) == 0;
}

/* "I (1234) tag: ..." from another task, between the dump's lines. */
static bool is_log_line(const char *text, size_t length)
{
    if (length < 5 || !strchr("EWIDV", text[0]) || text[0] == '\0' || text[1] != ' ' ||
        text[2] != '(') {
        return false;
    }
    size_t i = 3;
    while (i < length && ((text[i] >= '0' && text[i] <= '9') || text[i] == ':' || text[i] == '.')) {
        ++i;
    }
    return i > 3 && i < length && text[i] == ')';
}

/* Addresses separated by ':' as %p prints them ("0x400d1234", "(nil)"). */
static bool valid_chain(const char *text, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        char c = text[i];
        if (!(hex_digit(c) >= 0 || c == 'x' || c == 'X' || c == ':')) {
            if (!(length - i >= 5 && memcmp(text + i, "(nil)", 5) == 0)) {
                return false;
            }
            i += 4;
        }
    }
    return true;
}

static bool null_address(const char *text, size_t length)
{
    if (length == 5 && memcmp(text, "(nil)", 5) == 0) {
        return true;
    }
    size_t i = length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? 2 : 0;
    for (; i < length; ++i) {
        if (text[i] != '0') {
            return false;
        }
    }
    return true;
}

/* The chain without trailing ':' (printed when it ends early) and, for
 * "freed by" (which prints all entries), without trailing null entries. */
static size_t chain_length(const char *text, size_t length, bool drop_nulls)
{
    for (;;) {
        while (length && text[length - 1] == ':') {
            --length;
        }
        if (!drop_nulls || !length) {
            return length;
        }
        size_t start = length;
        while (start && text[start - 1] != ':') {
            --start;
        }
        if (!null_address(text + start, length - start)) {
            return length;
        }
        length = start;
    }
}

/* "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x[ caller CHAIN][ freed]".
 * Returns 0 when the line is not a record, 1 when read, -1 on an error. */
static int dump_record_line(reader_t *r, dump_t *d, size_t line, const char *text, size_t length)
{
    char shown[QUOTE_ROOM];
    scan_t s = {text, text + length};
    bool negative = s.p < s.end && *s.p == '-';
    s.p += negative;
    const char *digits;
    size_t digit_count = scan_run(&s, NULL, &digits);
    if (!digit_count || !scan_literal(&s, " bytes (@ ")) {
        return 0;
    }
    const char *expected = "expected 'SIZE bytes (@ 0xADDRESS) allocated CPU N ccount 0xCCOUNT'";
    uint64_t size;
    number_status_t status = parse_number(digits, digit_count, false, UINT32_MAX, &size);
    if (negative || status != NUMBER_OK) {
        fail(r, line, "record size '%s%s' is not a size of 1 to %" PRIu32 " bytes",
             negative ? "-" : "", quoted(shown, digits, digit_count), UINT32_MAX);
        return -1;
    }
    if (size == 0) {
        fail(r, line, "record of 0 bytes (a device records only allocations that succeeded)");
        return -1;
    }
    if (s.end - s.p > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        s.p += 2;
    }
    const char *address_text;
    size_t address_length = scan_run(&s, "0123456789abcdefABCDEF", &address_text);
    if (!address_length || address_length > 16) {
        fail(r, line, "record address is not a hex address (%s)", expected);
        return -1;
    }
    uint64_t address = 0;
    for (size_t i = 0; i < address_length; ++i) {
        address = address * 16 + (uint64_t)hex_digit(address_text[i]);
    }
    if (s.p < s.end && *s.p == ',') { /* ", Internal", ",    PSRAM" */
        while (s.p < s.end && *s.p != ')') {
            ++s.p;
        }
    }
    uint64_t cpu;
    if (!scan_literal(&s, ") allocated CPU ") || !scan_decimal(&s, &cpu) ||
        !scan_literal(&s, " ccount 0x")) {
        fail(r, line, "malformed record at '%s' (%s)", quoted(shown, s.p, (size_t)(s.end - s.p)),
             expected);
        return -1;
    }
    const char *ccount_text;
    size_t ccount_length = scan_run(&s, "0123456789abcdefABCDEF", &ccount_text);
    if (!ccount_length || ccount_length > 16) {
        fail(r, line, "record ccount is not a hex number (%s)", expected);
        return -1;
    }
    uint64_t ccount = 0;
    for (size_t i = 0; i < ccount_length; ++i) {
        ccount = ccount * 16 + (uint64_t)hex_digit(ccount_text[i]);
    }
    bool caller_word = false;
    bool freed = false;
    const char *chain = NULL;
    size_t chain_chars = 0;
    scan_t rest = s;
    if (scan_literal(&rest, " caller") && (rest.p == rest.end || is_space(*rest.p))) {
        caller_word = true;
        s = rest;
        scan_spaces(&rest);
        const char *word = rest.p;
        while (rest.p < rest.end && !is_space(*rest.p)) {
            ++rest.p;
        }
        size_t word_length = (size_t)(rest.p - word);
        if (!(word_length == 5 && memcmp(word, "freed", 5) == 0)) {
            chain = word;
            chain_chars = word_length;
            s = rest;
        }
    }
    rest = s;
    if (scan_literal(&rest, " freed") && scan_at_end(&rest)) {
        freed = true;
        s = rest;
    }
    if (!scan_at_end(&s)) {
        fail(r, line,
             "unexpected '%s' after the record (expected ' caller 0xADDRESS:0xADDRESS...' "
             "and/or ' freed')",
             quoted(shown, s.p, (size_t)(s.end - s.p)));
        return -1;
    }
    if (chain_chars && !valid_chain(chain, chain_chars)) {
        fail(r, line, "caller chain '%s' is not addresses separated by ':'",
             quoted(shown, chain, chain_chars));
        return -1;
    }
    chain_chars = chain ? chain_length(chain, chain_chars, false) : 0;
    if (address > UINT64_MAX - size) {
        fail(r, line, "record at 0x%" PRIx64 " of %" PRIu64 " bytes runs past the address space",
             address, size);
        return -1;
    }
    if (d->count >= NO_RECORD - 1 || d->count > SIZE_MAX / sizeof(dump_record_t) / 2) {
        fail(r, line, "more than %" PRIu32 " records", NO_RECORD - 2);
        return -1;
    }
    if (d->count == d->capacity) {
        size_t capacity = d->capacity ? d->capacity * 2 : 256;
        dump_record_t *records = realloc(d->records, capacity * sizeof *records);
        if (!records) {
            out_of_memory(r, line);
            return -1;
        }
        d->records = records;
        d->capacity = capacity;
    }
    dump_record_t *record = &d->records[d->count];
    *record = (dump_record_t){.address = address,
                              .end = address + size,
                              .ccount = ccount,
                              .size = (uint32_t)size,
                              .callers = TRACE_NONE,
                              .freed_by = TRACE_NONE,
                              .line = (uint32_t)line,
                              .freed_before = NO_RECORD,
                              .freed = freed};
    if (!intern_chain(r, line, chain, chain_chars, &record->callers)) {
        return -1;
    }
    d->count++;
    d->any_chain |= chain_chars != 0;
    if (caller_word && !chain_chars && !d->old_form_line) {
        d->old_form_line = line;
    }
    if ((!caller_word || freed) && !d->master_form_line) {
        d->master_form_line = line;
    }
    d->last_record_line = line;
    return 1;
}

/* "freed by %p:%p..." after the record it completes (HEAP_TRACE_ALL with callers). */
static bool dump_freed_by(reader_t *r, dump_t *d, size_t line, const char *text, size_t length)
{
    char shown[QUOTE_ROOM];
    if (!d->count || d->last_record_line == 0) {
        return fail(r, line, "'freed by' without the record line it completes before it");
    }
    dump_record_t *record = &d->records[d->count - 1];
    if (record->freed) {
        return fail(r, line, "second 'freed by' or ' freed' for the record on line %" PRIu32,
                    record->line);
    }
    scan_t s = {text + 8, text + length};
    scan_spaces(&s);
    const char *chain = s.p;
    size_t chain_chars = (size_t)(s.end - s.p);
    if (!valid_chain(chain, chain_chars)) {
        return fail(r, line, "'freed by' chain '%s' is not addresses separated by ':'",
                    quoted(shown, chain, chain_chars));
    }
    record->freed = true;
    d->any_freed_by = true;
    d->last_record_line = 0;
    return intern_chain(r, line, chain, chain_length(chain, chain_chars, true), &record->freed_by);
}

/* "N bytes alive in trace (...)" / "N bytes 'leaked' in trace (...)": the
 * mode, for v5.0, which prints no "Mode:" line. */
static bool dump_alive_line(dump_t *d, const char *text, size_t length)
{
    scan_t s = {text, text + length};
    uint64_t bytes;
    if (!scan_decimal(&s, &bytes)) {
        return false;
    }
    scan_t leaks = s;
    dump_mode_t mode;
    if (scan_literal(&s, " bytes alive in trace (")) {
        mode = MODE_ALL;
    } else if (scan_literal(&leaks, " bytes 'leaked' in trace (")) {
        mode = MODE_LEAKS;
    } else {
        return false;
    }
    if (d->mode == MODE_UNKNOWN) { /* a "Mode:" line says it first */
        d->mode = mode;
    }
    return true;
}

/* The footer's notes, the same in every version but for the overflow one. */
static void dump_note(reader_t *r, dump_t *d, const char *text, size_t length)
{
    if (starts_with(text, length, "(NB: Internal Buffer has overflowed") ||
        starts_with(text, length, "(NB: Buffer has overflowed")) {
        r->out->overflowed = true;
    } else if (starts_with(text, length, "(NB: New entries were traced while dumping")) {
        d->racing = true;
    }
}

static bool is_rule(const char *text, size_t length)
{
    if (length < 8) {
        return false;
    }
    for (size_t i = 0; i < length; ++i) {
        if (text[i] != '=') {
            return false;
        }
    }
    return true;
}

static bool second_dump(reader_t *r, size_t line, const dump_t *d)
{
    return fail(r, line,
                "a second heap trace dump starts here (the first starts on line %zu): keep one "
                "dump per file",
                d->header_line);
}

/* The header's line and what follows it, up to the end of the footer. */
static bool dump_lines(reader_t *r, dump_t *d, cursor_t *c)
{
    enum { RECORDS, FOOTER, DONE } state = RECORDS;
    const char *text;
    size_t length;
    while (state != DONE && next_line(c, &text, &length)) {
        size_t line = c->line;
        if (!line_fits(r, line) || !clean_line(r, line, &d->clean, &text, &length)) {
            return false;
        }
        if (length == 0) {
            continue;
        }
        dump_header_t kind;
        uint64_t count;
        if (dump_header(text, length, &kind, &count)) {
            return second_dump(r, line, d);
        }
        if (state == FOOTER) {
            if (d->header == DUMP_V51) {
                if (is_rule(text, length)) {
                    state = DONE;
                } else if (starts_with(text, length, "Mode: Heap Trace All")) {
                    d->mode = MODE_ALL;
                } else if (starts_with(text, length, "Mode: Heap Trace Leaks")) {
                    d->mode = MODE_LEAKS;
                } else if (!dump_alive_line(d, text, length)) {
                    dump_note(r, d, text, length); /* others are figures: not checked */
                }
            } else if (starts_with(text, length, "(NB: ")) {
                dump_note(r, d, text, length);
            } else if (!starts_with(text, length, "total allocations ")) {
                state = DONE; /* v5.0 has no closing rule */
            }
            continue;
        }
        int record = dump_record_line(r, d, line, text, length);
        if (record < 0) {
            return false;
        }
        if (record > 0) {
            continue;
        }
        if (starts_with(text, length, "freed by")) {
            if (!dump_freed_by(r, d, line, text, length)) {
                return false;
            }
            continue;
        }
        d->last_record_line = 0;
        if (starts_with(text, length, "Error: heap trace linked list is corrupt")) {
            d->corrupt = true;
        } else if (d->header == DUMP_V51 &&
                   starts_with(text, length, "====== Heap Trace Summary ======")) {
            state = FOOTER;
        } else if (d->header == DUMP_V50 && dump_alive_line(d, text, length)) {
            state = FOOTER;
        } else if (!is_log_line(text, length)) {
            char shown[QUOTE_ROOM];
            return fail(r, line,
                        "expected a trace record ('SIZE bytes (@ 0xADDRESS) allocated ...'), "
                        "'freed by ...' or the summary, found '%s'",
                        quoted(shown, text, length));
        }
    }
    if (state == RECORDS) {
        return fail(r, c->line,
                    "the dump starting on line %zu ends without its summary (%s): is the log "
                    "cut short?",
                    d->header_line,
                    d->header == DUMP_V51 ? "'====== Heap Trace Summary ======'"
                                          : "'N bytes alive in trace (...)'");
    }
    dump_header_t kind;
    uint64_t count;
    bool found;
    if (!next_header(r, c, &d->clean, &kind, &count, &found)) {
        return false;
    }
    return !found || second_dump(r, c->line, d);
}

/* ---- free-time inference --------------------------------------------------- */

static uint32_t treap_merge(dump_record_t *n, uint32_t a, uint32_t b)
{
    if (a == NO_RECORD) {
        return b;
    }
    if (b == NO_RECORD) {
        return a;
    }
    if (n[a].priority > n[b].priority) {
        n[a].right = treap_merge(n, n[a].right, b);
        return a;
    }
    n[b].left = treap_merge(n, a, n[b].left);
    return b;
}

/* Splits t into the records starting below `key` and the others. */
static void treap_split(dump_record_t *n, uint32_t t, uint64_t key, uint32_t *below, uint32_t *rest)
{
    if (t == NO_RECORD) {
        *below = *rest = NO_RECORD;
    } else if (n[t].address < key) {
        treap_split(n, n[t].right, key, &n[t].right, rest);
        *below = t;
    } else {
        treap_split(n, n[t].left, key, below, &n[t].left);
        *rest = t;
    }
}

/* t without its highest record, which goes to *removed. */
static uint32_t treap_pop_max(dump_record_t *n, uint32_t t, uint32_t *removed)
{
    if (n[t].right == NO_RECORD) {
        *removed = t;
        return n[t].left;
    }
    uint32_t parent = t;
    while (n[n[parent].right].right != NO_RECORD) {
        parent = n[parent].right;
    }
    *removed = n[parent].right;
    n[parent].right = n[*removed].left;
    return t;
}

static uint32_t treap_max(const dump_record_t *n, uint32_t t)
{
    while (n[t].right != NO_RECORD) {
        t = n[t].right;
    }
    return t;
}

static int compare_index(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static bool emit(reader_t *r, trace_kind_t kind, uint32_t id, const dump_record_t *record,
                 uint64_t time)
{
    trace_op_t *op = push_op(r, record->line);
    if (!op) {
        return false;
    }
    bool is_free = kind == TRACE_FREE;
    *op = (trace_op_t){.kind = (uint8_t)kind,
                       .id = id,
                       .size = is_free ? 0 : record->size,
                       .caps = TRACE_CAPS_DEFAULT_POLICY,
                       .callers = is_free ? record->freed_by : record->callers,
                       .line = record->line,
                       .time = time};
    return true;
}

/* Places the frees the dump implies (docs/replay-formats.md, "Free times"):
 * a record's memory taken by a later record proves it freed before that
 * one; other freed records go back by the policy. Pending (not yet freed)
 * records never overlap, so a treap by address finds the ones a new record
 * overlaps: the highest below its end, while it reaches past its start. */
static bool dump_infer(reader_t *r, dump_t *d, trace_free_policy_t policy)
{
    dump_record_t *rec = d->records;
    size_t count = d->count;
    trace_t *t = r->out;
    /* Before v5.5, HEAP_TRACE_ALL without caller chains prints freed records as live. */
    bool freed_unknown = (d->header == DUMP_V50 || d->old_form_line) && d->mode == MODE_ALL &&
                         !d->any_chain && !d->any_freed_by;
    uint32_t *reuse = malloc((count + 1) * sizeof *reuse); /* frees before record i, grouped */
    uint32_t *reuse_start = malloc((count + 1) * sizeof *reuse_start);
    if (!reuse || !reuse_start) {
        free(reuse);
        free(reuse_start);
        return out_of_memory(r, d->header_line);
    }
    bool ok = true;
    uint32_t root = NO_RECORD;
    uint32_t random = 0x9e3779b9u;
    size_t reused = 0;
    for (size_t i = 0; i < count && ok; ++i) {
        dump_record_t *new_record = &rec[i];
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        new_record->priority = random;
        new_record->left = new_record->right = NO_RECORD;
        reuse_start[i] = (uint32_t)reused;
        uint32_t below, rest;
        treap_split(rec, root, new_record->end, &below, &rest);
        while (below != NO_RECORD && rec[treap_max(rec, below)].end > new_record->address) {
            uint32_t old;
            below = treap_pop_max(rec, below, &old);
            if (!rec[old].freed) {
                if (!t->overflowed && !freed_unknown) {
                    fail(r, new_record->line,
                         "the record at 0x%" PRIx64 " (%" PRIu32
                         " bytes) overlaps the one at 0x%" PRIx64 " (%" PRIu32
                         " bytes) on line %" PRIu32
                         ", which is not freed: live blocks cannot share memory",
                         new_record->address, new_record->size, rec[old].address, rec[old].size,
                         rec[old].line);
                    ok = false;
                    break;
                }
                rec[old].freed = true; /* its free was not recorded, or not printed */
            }
            rec[old].freed_before = (uint32_t)i;
            reuse[reused++] = old;
        }
        if (reused - reuse_start[i] > 1) { /* found by address: freed in record order */
            qsort(reuse + reuse_start[i], reused - reuse_start[i], sizeof *reuse, compare_index);
        }
        root = treap_merge(rec, treap_merge(rec, below, (uint32_t)i), rest);
    }
    reuse_start[count] = (uint32_t)reused;
    ok = ok && reserve_ops(r, d->header_line, count * 2 + 1);
    t->id_count = count;
    for (size_t i = 0; i < count && ok; ++i) {
        for (size_t k = reuse_start[i]; k < reuse_start[i + 1] && ok; ++k) {
            ok = emit(r, TRACE_FREE, reuse[k], &rec[reuse[k]], rec[i].ccount);
            t->frees_from_reuse++;
        }
        ok = ok && emit(r, TRACE_MALLOC, (uint32_t)i, &rec[i], rec[i].ccount);
        if (ok && policy == TRACE_FREES_EARLY && rec[i].freed && rec[i].freed_before == NO_RECORD) {
            ok = emit(r, TRACE_FREE, (uint32_t)i, &rec[i], rec[i].ccount);
            t->frees_from_policy++;
        }
    }
    for (size_t i = 0; i < count && ok; ++i) {
        if (!rec[i].freed) {
            t->live_at_end++;
        } else if (policy == TRACE_FREES_LATE && rec[i].freed_before == NO_RECORD) {
            ok = emit(r, TRACE_FREE, (uint32_t)i, &rec[i], rec[count - 1].ccount);
            t->frees_from_policy++;
        }
    }
    free(reuse);
    free(reuse_start);
    return ok;
}

static bool parse_dump(reader_t *r, cursor_t *c, dump_header_t header, uint64_t announced,
                       trace_free_policy_t policy)
{
    trace_t *t = r->out;
    dump_t d = {.header = header, .header_line = c->line};
    t->format = TRACE_FORMAT_ESP_IDF_DUMP;
    t->frees_inferred = true;
    bool ok = dump_lines(r, &d, c);
    if (ok && header == DUMP_V50 && d.master_form_line) {
        ok = fail(r, d.master_form_line,
                  "a record in ESP-IDF v5.5+'s form (' freed', or no ' caller ') in a v5.0 dump "
                  "(header on line %zu)",
                  d.header_line);
    }
    if (ok && d.old_form_line && d.master_form_line) {
        ok = fail(r, d.master_form_line,
                  "a record in ESP-IDF v5.5+'s form (' freed', or no ' caller ') but line %zu is "
                  "in v5.1-v5.4's (' caller ' and nothing after it): not one dump",
                  d.old_form_line);
    }
    if (ok && d.count != announced && !d.corrupt && !d.racing && !t->overflowed) {
        ok = fail(r, d.header_line,
                  "the header announces %" PRIu64
                  " records but the dump holds %zu (a cut-short paste, or "
                  "heap_trace_dump_caps() leaving some out?)",
                  announced, d.count);
    }
    if (ok) {
        snprintf(t->format_version, sizeof t->format_version, "%s",
                 header == DUMP_V50 ? "v5.0"
                 : d.old_form_line  ? "v5.1-v5.4"
                                    : "v5.5+");
        ok = dump_infer(r, &d, policy);
    }
    free(d.records);
    free(d.clean.buffer);
    return ok;
}

/* ---- entry points ------------------------------------------------------------ */

static void reader_release(reader_t *r)
{
    free(r->tokens.slots);
    free(r->chains.slots);
    while (r->arena) {
        arena_chunk_t *next = r->arena->next;
        free(r->arena);
        r->arena = next;
    }
}

static bool parse_any(reader_t *r, const char *text, size_t length, trace_free_policy_t policy)
{
    if (length >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte order mark */
        text += 3;
        length -= 3;
    }
    cursor_t c = {text, text + length, 0};
    const char *line;
    size_t line_length;
    bool found = false;
    while (next_line(&c, &line, &line_length)) {
        if (!is_ignored(line, line_length)) {
            found = true;
            break;
        }
    }
    trace_t *t = r->out;
    if (!found) {
        return fail(r, 0, "%s is empty%s (expected a trace: see docs/replay-formats.md)", r->name,
                    length ? " but for comments and blank lines" : "");
    }
    if (!line_fits(r, c.line)) {
        return false;
    }
    bool csv = line_length == strlen(CSV_HEADER) && memcmp(line, CSV_HEADER, line_length) == 0;
    bool csv_callers = line_length == strlen(CSV_HEADER_WITH_CALLERS) &&
                       memcmp(line, CSV_HEADER_WITH_CALLERS, line_length) == 0;
    if (csv || csv_callers) {
        t->format = TRACE_FORMAT_CSV;
        snprintf(t->format_version, sizeof t->format_version, "1");
        /* About 30 bytes a line: no growth for typical traces. Only a hint:
         * without that much memory the array grows as it fills. */
        size_t hint = length / 24 + 16;
        if (hint <= SIZE_MAX / sizeof(trace_op_t)) {
            trace_op_t *ops = malloc(hint * sizeof *ops);
            if (ops) {
                t->ops = ops;
                r->op_capacity = hint;
            }
        }
        return parse_csv(r, &c, csv_callers ? 7 : 6);
    }
    size_t first_line = c.line;
    const char *first_text = line;
    size_t first_length = line_length;
    scan_t first = {line, line + line_length};
    scan_spaces(&first);
    if (first.p < first.end && *first.p == '{') {
        t->format = TRACE_FORMAT_JSONL;
        snprintf(t->format_version, sizeof t->format_version, "1");
        c = (cursor_t){text, text + length, 0};
        return parse_jsonl(r, &c);
    }
    c = (cursor_t){text, text + length, 0};
    clean_t clean = {0};
    dump_header_t header;
    uint64_t announced;
    bool ok = next_header(r, &c, &clean, &header, &announced, &found);
    free(clean.buffer);
    if (!ok || found) {
        return ok && parse_dump(r, &c, header, announced, policy);
    }
    if (starts_with(first_text, first_length, "op,")) {
        char shown[QUOTE_ROOM];
        return fail(r, first_line,
                    "CSV header '%s' is not '" CSV_HEADER "' (optionally followed by ',callers')",
                    quoted(shown, first_text, first_length));
    }
    return fail(r, 0,
                "%s holds no trace (expected the CSV header '" CSV_HEADER
                "', JSON objects one per line, or a heap_trace_dump() output)",
                r->name);
}

bool trace_parse(const char *text, size_t length, const char *name, trace_free_policy_t frees,
                 trace_t *out, trace_error_t *error)
{
    memset(out, 0, sizeof *out);
    error->line = 0;
    error->message[0] = '\0';
    reader_t r = {.name = name ? name : "input", .out = out, .error = error};
    bool ok = text || !length ? parse_any(&r, text ? text : "", length, frees)
                              : fail(&r, 0, "%s: no text given", r.name);
    reader_release(&r);
    if (!ok) {
        trace_free(out);
    }
    return ok;
}

/* The whole of a pipe or terminal in one buffer: parsing needs no refills,
 * tokens point into it. */
static bool read_all(FILE *file, char **text, size_t *length)
{
    size_t capacity = 1 << 16;
    char *buffer = malloc(capacity);
    size_t used = 0;
    for (;;) {
        if (!buffer) {
            errno = ENOMEM;
            return false;
        }
        used += fread(buffer + used, 1, capacity - used, file);
        if (used < capacity) {
            break;
        }
        if (capacity > SIZE_MAX / 2) {
            free(buffer);
            errno = EFBIG;
            return false;
        }
        capacity *= 2;
        char *grown = realloc(buffer, capacity);
        if (!grown) {
            free(buffer);
        }
        buffer = grown;
    }
    if (ferror(file)) {
        int saved = errno ? errno : EIO;
        free(buffer);
        errno = saved;
        return false;
    }
    *text = buffer;
    *length = used;
    return true;
}

bool trace_read(const char *path, trace_free_policy_t frees, trace_t *out, trace_error_t *error)
{
    memset(out, 0, sizeof *out);
    error->line = 0;
    error->message[0] = '\0';
    bool from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "standard input" : path;
    FILE *file = from_stdin ? stdin : fopen(path, "rb");
    if (!file) {
        snprintf(error->message, sizeof error->message, "cannot open '%s': %s", path,
                 strerror(errno));
        return false;
    }
    /* A regular file is mapped: no copy, and the kernel reads ahead. */
    struct stat info;
    if (!from_stdin && fstat(fileno(file), &info) == 0 && S_ISREG(info.st_mode) &&
        info.st_size > 0 && (uintmax_t)info.st_size <= SIZE_MAX) {
        size_t size = (size_t)info.st_size;
        void *mapped = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(file), 0);
        if (mapped != MAP_FAILED) {
            (void)posix_madvise(mapped, size, POSIX_MADV_SEQUENTIAL);
            bool ok = trace_parse(mapped, size, name, frees, out, error);
            munmap(mapped, size);
            fclose(file);
            return ok;
        }
    }
    char *text = NULL;
    size_t length = 0;
    errno = 0;
    bool read = read_all(file, &text, &length);
    int read_errno = errno;
    if (!from_stdin) {
        fclose(file);
    }
    if (!read) {
        snprintf(error->message, sizeof error->message, "cannot read '%s': %s", name,
                 strerror(read_errno ? read_errno : EIO));
        return false;
    }
    bool ok = trace_parse(text, length, name, frees, out, error);
    free(text);
    return ok;
}

void trace_free(trace_t *trace)
{
    if (!trace) {
        return;
    }
    for (size_t i = 0; i < trace->caller_count; ++i) {
        free(trace->callers[i]);
    }
    free(trace->callers);
    free(trace->ops);
    memset(trace, 0, sizeof *trace);
}

const char *trace_format_name(trace_format_t format)
{
    switch (format) {
    case TRACE_FORMAT_ESP_IDF_DUMP:
        return "esp-idf-dump";
    case TRACE_FORMAT_CSV:
        return "csv";
    case TRACE_FORMAT_JSONL:
        return "jsonl";
    }
    return "unknown";
}
