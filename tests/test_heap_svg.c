/*
 * test_heap_svg.c — the SVG heap map and fragmentation plot (tools/heap_svg.c):
 * the output is well-formed XML, the map's shapes are exactly the blocks a
 * heap walk sees (chip addresses and sizes, in order, per heap), marks and
 * capability classes appear, the plot's lines, markers and axes match the
 * series, text is escaped, and a failed write is reported.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _DEFAULT_SOURCE /* open_memstream, fmemopen */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "heap_svg.h"
#include "heapcaps/emu.h"
#include "heapcaps/layout.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* ---- a small XML reader -------------------------------------------------
 * Enough of XML 1.0 to catch what a hand-written writer gets wrong: the
 * declaration, matched tags, one root, quoted and unique attributes, only
 * the five predefined entities and character references, no raw '<' or '&',
 * no forbidden control characters. Elements are kept in document order with
 * their attributes and text decoded. */

#define MAX_ATTRIBUTES 32

typedef struct {
    char *name;
    size_t parent; /* SIZE_MAX for the root */
    size_t attribute_count;
    char *attribute_names[MAX_ATTRIBUTES];
    char *attribute_values[MAX_ATTRIBUTES];
    char *text; /* the element's own character data, decoded */
} element_t;

typedef struct {
    element_t *elements;
    size_t count, room;
    char error[160];
} document_t;

static void document_free(document_t *doc)
{
    for (size_t i = 0; i < doc->count; i++) {
        element_t *e = &doc->elements[i];
        free(e->name);
        free(e->text);
        for (size_t a = 0; a < e->attribute_count; a++) {
            free(e->attribute_names[a]);
            free(e->attribute_values[a]);
        }
    }
    free(doc->elements);
    memset(doc, 0, sizeof(*doc));
}

static bool xml_fail(document_t *doc, const char *at, const char *start, const char *what)
{
    snprintf(doc->error, sizeof(doc->error), "offset %ld: %s near \"%.30s\"", (long)(at - start),
             what, at);
    return false;
}

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char *copy(const char *from, size_t length)
{
    char *text = malloc(length + 1);
    assert_non_null(text);
    memcpy(text, from, length);
    text[length] = '\0';
    return text;
}

/* Decode character data up to `end` (or a byte in `stop`) into *out
 * (appended); false on a bad entity, a raw '<' or a forbidden control byte. */
static bool decode(document_t *doc, const char *start, const char **p, const char *stop, char **out)
{
    size_t length = *out ? strlen(*out) : 0;
    size_t room = length + 64;
    char *text = realloc(*out, room);
    assert_non_null(text);
    *out = text;
    while (**p && !strchr(stop, **p)) {
        char c = **p;
        const char *replacement = NULL;
        char buffer[8];
        if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            return xml_fail(doc, *p, start, "control character");
        }
        if (c == '<') {
            return xml_fail(doc, *p, start, "raw '<'");
        }
        if (c == '&') {
            static const char *const names[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            static const char *const values[] = {"&", "<", ">", "\"", "'"};
            for (size_t i = 0; i < COUNT(names) && !replacement; i++) {
                if (strncmp(*p, names[i], strlen(names[i])) == 0) {
                    replacement = values[i];
                    *p += strlen(names[i]);
                }
            }
            if (!replacement && (*p)[1] == '#') {
                const char *q = *p + 2;
                bool hex = *q == 'x';
                char *end;
                unsigned long code = strtoul(hex ? q + 1 : q, &end, hex ? 16 : 10);
                if (end == (hex ? q + 1 : q) || *end != ';' || code == 0 || code > 0x7f) {
                    return xml_fail(doc, *p, start, "bad character reference");
                }
                buffer[0] = (char)code;
                buffer[1] = '\0';
                replacement = buffer;
                *p = end + 1;
            }
            if (!replacement) {
                return xml_fail(doc, *p, start, "unknown entity");
            }
        } else {
            buffer[0] = c;
            buffer[1] = '\0';
            replacement = buffer;
            (*p)++;
        }
        size_t add = strlen(replacement);
        if (length + add + 1 > room) {
            room = (length + add + 1) * 2;
            text = realloc(*out, room);
            assert_non_null(text);
            *out = text;
        }
        memcpy(text + length, replacement, add + 1);
        length += add;
    }
    return true;
}

static bool xml_parse(document_t *doc, const char *input)
{
    memset(doc, 0, sizeof(*doc));
    const char *p = input;
    if (strncmp(p, "<?xml ", 6) != 0) {
        return xml_fail(doc, p, input, "no XML declaration first");
    }
    p = strstr(p, "?>");
    if (!p) {
        return xml_fail(doc, input, input, "unterminated declaration");
    }
    p += 2;
    size_t open = SIZE_MAX; /* innermost open element */
    bool root_seen = false;
    while (*p) {
        if (*p != '<') {
            char *text = NULL;
            const char *from = p;
            if (!decode(doc, input, &p, "<", &text)) {
                free(text);
                return false;
            }
            bool blank = true;
            for (const char *q = from; q < p; q++) {
                blank = blank && is_space(*q);
            }
            if (open == SIZE_MAX && !blank) {
                free(text);
                return xml_fail(doc, from, input, "text outside the root");
            }
            if (open != SIZE_MAX) {
                element_t *e = &doc->elements[open];
                size_t had = e->text ? strlen(e->text) : 0;
                e->text = realloc(e->text, had + strlen(text) + 1);
                assert_non_null(e->text);
                strcpy(e->text + had, text);
            }
            free(text);
            continue;
        }
        if (strncmp(p, "<!--", 4) == 0) {
            const char *end = strstr(p + 4, "--");
            if (!end || end[2] != '>') {
                return xml_fail(doc, p, input, "bad comment");
            }
            p = end + 3;
            continue;
        }
        if (p[1] == '/') {
            const char *name = p + 2;
            const char *q = name;
            while (name_char(*q)) {
                q++;
            }
            while (is_space(*q)) {
                q++;
            }
            if (open == SIZE_MAX || *q != '>' ||
                strlen(doc->elements[open].name) != (size_t)(q - name) ||
                strncmp(doc->elements[open].name, name, (size_t)(q - name)) != 0) {
                return xml_fail(doc, p, input, "end tag does not match");
            }
            open = doc->elements[open].parent;
            p = q + 1;
            continue;
        }
        /* A start tag. */
        if (!name_start(p[1])) {
            return xml_fail(doc, p, input, "bad tag name");
        }
        if (open == SIZE_MAX && root_seen) {
            return xml_fail(doc, p, input, "second root element");
        }
        root_seen = true;
        if (doc->count == doc->room) {
            doc->room = doc->room ? doc->room * 2 : 256;
            doc->elements = realloc(doc->elements, doc->room * sizeof(element_t));
            assert_non_null(doc->elements);
        }
        size_t index = doc->count++;
        element_t *e = &doc->elements[index];
        memset(e, 0, sizeof(*e));
        e->parent = open;
        const char *q = p + 1;
        while (name_char(*q)) {
            q++;
        }
        e->name = copy(p + 1, (size_t)(q - p - 1));
        p = q;
        for (;;) {
            bool spaced = false;
            while (is_space(*p)) {
                p++;
                spaced = true;
            }
            if (*p == '>' || (p[0] == '/' && p[1] == '>')) {
                break;
            }
            if (!spaced || !name_start(*p)) {
                return xml_fail(doc, p, input, "bad attribute");
            }
            const char *name = p;
            while (name_char(*p)) {
                p++;
            }
            size_t name_length = (size_t)(p - name);
            if (*p != '=' || (p[1] != '"' && p[1] != '\'')) {
                return xml_fail(doc, p, input, "attribute without a quoted value");
            }
            char quote[2] = {p[1], '\0'};
            p += 2;
            if (e->attribute_count == MAX_ATTRIBUTES) {
                return xml_fail(doc, p, input, "too many attributes for this reader");
            }
            for (size_t a = 0; a < e->attribute_count; a++) {
                if (strlen(e->attribute_names[a]) == name_length &&
                    strncmp(e->attribute_names[a], name, name_length) == 0) {
                    return xml_fail(doc, name, input, "duplicate attribute");
                }
            }
            char *value = NULL;
            if (!decode(doc, input, &p, quote, &value)) {
                free(value);
                return false;
            }
            if (*p != quote[0]) {
                free(value);
                return xml_fail(doc, p, input, "unterminated attribute value");
            }
            p++;
            e->attribute_names[e->attribute_count] = copy(name, name_length);
            e->attribute_values[e->attribute_count++] = value;
        }
        if (*p == '/') {
            p += 2; /* empty element */
        } else {
            p++;
            open = index;
        }
    }
    if (open != SIZE_MAX) {
        return xml_fail(doc, p, input, "unclosed element at the end");
    }
    if (!root_seen) {
        return xml_fail(doc, p, input, "no root element");
    }
    return true;
}

static const char *attribute(const element_t *e, const char *name)
{
    for (size_t a = 0; a < e->attribute_count; a++) {
        if (strcmp(e->attribute_names[a], name) == 0) {
            return e->attribute_values[a];
        }
    }
    return NULL;
}

/* `class` has the word `word`. */
static bool has_class(const element_t *e, const char *word)
{
    const char *classes = attribute(e, "class");
    size_t length = strlen(word);
    for (const char *p = classes; p && *p;) {
        while (*p == ' ') {
            p++;
        }
        const char *end = p;
        while (*end && *end != ' ') {
            end++;
        }
        if ((size_t)(end - p) == length && strncmp(p, word, length) == 0) {
            return true;
        }
        p = end;
    }
    return false;
}

static size_t count_class(const document_t *doc, const char *word)
{
    size_t count = 0;
    for (size_t i = 0; i < doc->count; i++) {
        count += has_class(&doc->elements[i], word);
    }
    return count;
}

static const element_t *find_class(const document_t *doc, const char *word)
{
    for (size_t i = 0; i < doc->count; i++) {
        if (has_class(&doc->elements[i], word)) {
            return &doc->elements[i];
        }
    }
    return NULL;
}

/* Parse `svg` or fail the test with the reader's complaint. */
static void parse_svg(document_t *doc, const char *svg)
{
    if (!xml_parse(doc, svg)) {
        fail_msg("not well-formed XML: %s", doc->error);
    }
    const element_t *root = &doc->elements[0];
    assert_string_equal(root->name, "svg");
    assert_non_null(attribute(root, "xmlns"));
    assert_string_equal(attribute(root, "xmlns"), "http://www.w3.org/2000/svg");
}

/* Coordinates are plain decimal numbers whatever the locale. */
static void assert_numbers_plain(const document_t *doc)
{
    static const char *const names[] = {"x", "y", "width", "height", "x1", "y1", "x2", "y2"};
    for (size_t i = 0; i < doc->count; i++) {
        for (size_t n = 0; n < COUNT(names); n++) {
            const char *value = attribute(&doc->elements[i], names[n]);
            if (!value) {
                continue;
            }
            char *end;
            strtod(value, &end);
            if (*value == '\0' || *end != '\0' || strchr(value, ',')) {
                fail_msg("%s=\"%s\" of <%s> is not a plain number", names[n], value,
                         doc->elements[i].name);
            }
        }
    }
}

/* The reader itself: it must reject what it is here to catch. */
static void xml_reader_rejects_malformed_documents(void **state)
{
    (void)state;
    static const char *const good[] = {
        "<?xml version=\"1.0\"?>\n<svg a=\"1\" b='2'><g><rect/></g><!-- c "
        "--><t>&amp;&lt;&#65;</t></svg>\n",
    };
    static const char *const bad[] = {
        "<svg></svg>",                                         /* no declaration */
        "<?xml version=\"1.0\"?><svg><g></svg></g>",           /* crossed tags */
        "<?xml version=\"1.0\"?><svg><g></svg>",               /* unclosed */
        "<?xml version=\"1.0\"?><svg a=1></svg>",              /* unquoted */
        "<?xml version=\"1.0\"?><svg a=\"1\" a=\"2\"></svg>",  /* duplicate */
        "<?xml version=\"1.0\"?><svg a=\"x<y\"></svg>",        /* raw < */
        "<?xml version=\"1.0\"?><svg>A & B</svg>",             /* raw & */
        "<?xml version=\"1.0\"?><svg>&nbsp;</svg>",            /* unknown entity */
        "<?xml version=\"1.0\"?><svg a=\"1\"b=\"2\"></svg>",   /* no space */
        "<?xml version=\"1.0\"?><svg></svg><svg></svg>",       /* two roots */
        "<?xml version=\"1.0\"?><svg>\x01</svg>",              /* control byte */
        "<?xml version=\"1.0\"?><svg></svg>text",              /* text after root */
        "<?xml version=\"1.0\"?><svg><!-- a -- b --></svg>",   /* bad comment */
        "<?xml version=\"1.0\"?><svg a=\"unterminated></svg>", /* unterminated */
    };
    document_t doc;
    for (size_t i = 0; i < COUNT(good); i++) {
        if (!xml_parse(&doc, good[i])) {
            fail_msg("rejected good document %zu: %s", i, doc.error);
        }
        assert_int_equal(doc.count, 4);
        assert_string_equal(doc.elements[3].text, "&<A");
        document_free(&doc);
    }
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (xml_parse(&doc, bad[i])) {
            fail_msg("accepted bad document %zu: %s", i, bad[i]);
        }
        document_free(&doc);
    }
}

/* ---- output to memory ---------------------------------------------------- */

static char *map_text(const heap_svg_map_options_t *options)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    assert_non_null(out);
    assert_true(heap_svg_write_map(out, options));
    assert_int_equal(fclose(out), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), length);
    return text;
}

static char *plot_text(const heap_series_t *series, size_t series_count, const uint64_t *failures,
                       size_t failure_count, const char *title)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    assert_non_null(out);
    assert_true(heap_svg_write_plot(out, series, series_count, failures, failure_count, title));
    assert_int_equal(fclose(out), 0);
    assert_non_null(text);
    return text;
}

/* ---- the walk the map must show ------------------------------------------ */

typedef struct {
    uintptr_t ptr;
    size_t size;
    bool used;
} walk_block_t;

typedef struct {
    uintptr_t start, end;
    walk_block_t *blocks;
    size_t count;
} walk_heap_t;

typedef struct {
    walk_heap_t heaps[64];
    size_t count;
} walk_t;

static bool walk_collect(walker_heap_into_t heap_info, walker_block_info_t block, void *user)
{
    walk_t *walk = user;
    if (walk->count == 0 || walk->heaps[walk->count - 1].start != (uintptr_t)heap_info.start) {
        assert_true(walk->count < COUNT(walk->heaps));
        walk->heaps[walk->count++] =
            (walk_heap_t){(uintptr_t)heap_info.start, (uintptr_t)heap_info.end, NULL, 0};
    }
    walk_heap_t *heap = &walk->heaps[walk->count - 1];
    heap->blocks = realloc(heap->blocks, (heap->count + 1) * sizeof(walk_block_t));
    assert_non_null(heap->blocks);
    heap->blocks[heap->count++] = (walk_block_t){(uintptr_t)block.ptr, block.size, block.used};
    return true;
}

static int heap_order(const void *a, const void *b)
{
    const walk_heap_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Every heap and block, heaps in address order (the map's order). */
static void walk_heaps(walk_t *walk)
{
    memset(walk, 0, sizeof(*walk));
    heap_caps_walk_all(walk_collect, walk);
    qsort(walk->heaps, walk->count, sizeof(walk_heap_t), heap_order);
}

static void walk_free(walk_t *walk)
{
    for (size_t i = 0; i < walk->count; i++) {
        free(walk->heaps[i].blocks);
    }
}

static const walk_block_t *block_holding(const walk_t *walk, const void *p)
{
    for (size_t h = 0; h < walk->count; h++) {
        for (size_t b = 0; b < walk->heaps[h].count; b++) {
            const walk_block_t *block = &walk->heaps[h].blocks[b];
            if ((uintptr_t)p >= block->ptr && (uintptr_t)p < block->ptr + block->size) {
                return block;
            }
        }
    }
    return NULL;
}

static char *chip_text(char buffer[24], uint64_t chip)
{
    snprintf(buffer, 24, "0x%08llx", (unsigned long long)chip);
    return buffer;
}

static uint64_t chip_of(uintptr_t host)
{
    uint32_t chip = heapcaps_emu_chip_address((const void *)host);
    assert_int_not_equal(chip, 0);
    return chip;
}

static unsigned long long number(const element_t *e, const char *name)
{
    const char *value = attribute(e, name);
    if (!value) {
        fail_msg("<%s class=\"%s\"> has no %s", e->name, attribute(e, "class"), name);
    }
    char *end;
    unsigned long long n = strtoull(value, &end, 0);
    assert_true(*value && *end == '\0');
    return n;
}

/* The heap group an element is in, or SIZE_MAX. */
static size_t heap_group_of(const document_t *doc, size_t index)
{
    for (size_t p = doc->elements[index].parent; p != SIZE_MAX; p = doc->elements[p].parent) {
        if (has_class(&doc->elements[p], "heap")) {
            return p;
        }
    }
    return SIZE_MAX;
}

/* The type name of the layout region holding a chip address ("heap" if none). */
static const char *type_name_at(uint64_t chip)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    assert_non_null(layout);
    for (size_t i = 0; i < layout->region_count; i++) {
        if (chip - (uint64_t)layout->regions[i].start < layout->regions[i].size) {
            return layout->types[layout->regions[i].type].name;
        }
    }
    return "heap";
}

/* The map's heaps, blocks and overhead are exactly the walk's: per heap one
 * group with the right range and type, its block rects the walk's blocks in
 * order, blocks plus overhead the whole heap. */
static void assert_map_matches_walk(const document_t *doc, const walk_t *walk)
{
    size_t heap = 0, block = 0;
    size_t group = SIZE_MAX;
    unsigned long long covered = 0;
    char expected[24];
    for (size_t i = 0; i <= doc->count; i++) {
        const element_t *e = i < doc->count ? &doc->elements[i] : NULL;
        if (!e || has_class(e, "heap")) {
            if (group != SIZE_MAX) { /* the previous heap is complete */
                const walk_heap_t *done = &walk->heaps[heap - 1];
                assert_int_equal(block, done->count);
                assert_int_equal(covered, done->end - done->start);
            }
            if (!e) {
                break;
            }
            assert_true(heap < walk->count);
            const walk_heap_t *current = &walk->heaps[heap++];
            uint64_t start = chip_of(current->start);
            assert_string_equal(attribute(e, "data-start"), chip_text(expected, start));
            assert_string_equal(attribute(e, "data-end"),
                                chip_text(expected, start + (current->end - current->start)));
            assert_int_equal(number(e, "data-size"), current->end - current->start);
            assert_string_equal(attribute(e, "data-name"), type_name_at(start));
            assert_non_null(attribute(e, "data-caps"));
            group = i;
            block = 0;
            covered = 0;
            continue;
        }
        bool is_block = has_class(e, "block") && strcmp(e->name, "rect") == 0;
        if (is_block || has_class(e, "overhead")) {
            assert_int_equal(heap_group_of(doc, i), group);
            covered += number(e, "data-size");
        }
        if (!is_block) {
            continue;
        }
        const walk_heap_t *current = &walk->heaps[heap - 1];
        assert_true(block < current->count);
        const walk_block_t *expect = &current->blocks[block++];
        assert_string_equal(attribute(e, "data-address"),
                            chip_text(expected, chip_of(expect->ptr)));
        assert_int_equal(number(e, "data-size"), expect->size);
        assert_true(has_class(e, expect->used ? "used" : "free"));
        assert_false(has_class(e, expect->used ? "free" : "used"));
    }
    assert_int_equal(heap, walk->count);
    assert_int_equal(count_class(doc, "heap"), walk->count);
}

/* Each heap's data-caps has a class exactly when heap_caps_walk(class) visits it. */
typedef struct {
    uintptr_t starts[64];
    size_t count;
} start_set_t;

static bool note_start(walker_heap_into_t heap_info, walker_block_info_t block, void *user)
{
    (void)block;
    start_set_t *set = user;
    assert_true(set->count < COUNT(set->starts));
    set->starts[set->count++] = (uintptr_t)heap_info.start;
    return false;
}

static bool in_set(const start_set_t *set, uintptr_t start)
{
    for (size_t i = 0; i < set->count; i++) {
        if (set->starts[i] == start) {
            return true;
        }
    }
    return false;
}

static bool caps_word(const char *caps, const char *word)
{
    size_t length = strlen(word);
    for (const char *p = caps; (p = strstr(p, word)) != NULL; p += length) {
        if ((p == caps || p[-1] == ' ') && (p[length] == '\0' || p[length] == ' ')) {
            return true;
        }
    }
    return false;
}

static void assert_caps_match_walks(const document_t *doc, const walk_t *walk)
{
    static const struct {
        const char *name;
        uint32_t caps;
    } classes[] = {
        {"DEFAULT", MALLOC_CAP_DEFAULT}, {"INTERNAL", MALLOC_CAP_INTERNAL},
        {"DMA", MALLOC_CAP_DMA},         {"SPIRAM", MALLOC_CAP_SPIRAM},
        {"EXEC", MALLOC_CAP_EXEC},       {"RTCRAM", MALLOC_CAP_RTCRAM},
    };
    start_set_t byte_heaps = {{0}, 0}, word_heaps = {{0}, 0};
    heap_caps_walk(MALLOC_CAP_8BIT, note_start, &byte_heaps);
    heap_caps_walk(MALLOC_CAP_32BIT, note_start, &word_heaps);
    size_t heap = 0;
    for (size_t i = 0; i < doc->count; i++) {
        const element_t *e = &doc->elements[i];
        if (!has_class(e, "heap")) {
            continue;
        }
        uintptr_t start = walk->heaps[heap++].start;
        const char *caps = attribute(e, "data-caps");
        for (size_t c = 0; c < COUNT(classes); c++) {
            start_set_t set = {{0}, 0};
            heap_caps_walk(classes[c].caps, note_start, &set);
            if (caps_word(caps, classes[c].name) != in_set(&set, start)) {
                fail_msg("heap %s: data-caps \"%s\" and the %s walk disagree",
                         attribute(e, "data-start"), caps, classes[c].name);
            }
        }
        bool word_only = in_set(&word_heaps, start) && !in_set(&byte_heaps, start);
        assert_int_equal(caps_word(caps, "32BIT-ONLY"), word_only);
    }
}

/* ---- the map -------------------------------------------------------------- */

static heapcaps_emu_options_t quiet_options(void)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    return options;
}

static int shutdown_after(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    return 0;
}

/* Allocations of varied sizes with every third freed: holes between live blocks. */
static void make_holes(void **kept, size_t count, uint32_t caps)
{
    for (size_t i = 0; i < count; i++) {
        kept[i] = heap_caps_malloc(48 + (i * 211) % 1500, caps);
        assert_non_null(kept[i]);
    }
    for (size_t i = 0; i < count; i += 3) {
        heap_caps_free(kept[i]);
        kept[i] = NULL;
    }
}

static void free_all(void **kept, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        heap_caps_free(kept[i]);
    }
}

static void esp32_map_matches_the_walk_with_marks_and_title(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
    void *kept[40];
    make_holes(kept, COUNT(kept), MALLOC_CAP_DEFAULT);
    void *dma = heap_caps_malloc(3000, MALLOC_CAP_DMA);
    void *iram = heap_caps_malloc(2000, MALLOC_CAP_32BIT | MALLOC_CAP_EXEC);
    assert_non_null(dma);
    assert_non_null(iram);
    int on_the_stack = 0;
    heap_svg_mark_t marks[] = {
        {kept[4], "splits <the> largest hole & 'more'"},
        {(char *)dma + 100, NULL}, /* inside the block; no label: its address */
        {&on_the_stack, "not in any heap"},
    };
    heap_svg_map_options_t map_options = {"esp32, after operation 1234 (worst \"moment\")", marks,
                                          COUNT(marks)};
    char *svg = map_text(&map_options);
    walk_t walk;
    walk_heaps(&walk);

    document_t doc;
    parse_svg(&doc, svg);
    assert_numbers_plain(&doc);
    assert_map_matches_walk(&doc, &walk);
    assert_caps_match_walks(&doc, &walk);

    /* The title, escaped and read back. */
    const element_t *title = find_class(&doc, "title");
    assert_non_null(title);
    assert_string_equal(title->text, "esp32, after operation 1234 (worst \"moment\")");

    /* ESP32: one 32-bit-only heap, the IRAM one, which is not DEFAULT. */
    size_t word_only = 0;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "heap") && caps_word(attribute(e, "data-caps"), "32BIT-ONLY")) {
            word_only++;
            assert_string_equal(attribute(e, "data-name"), "IRAM");
            assert_false(caps_word(attribute(e, "data-caps"), "DEFAULT"));
        }
    }
    assert_int_equal(word_only, 1);

    /* Marks: outline on the block holding the pointer, its label under the
     * bar; the one in no heap is listed as missing. */
    assert_int_equal(count_class(&doc, "mark"), 2);
    assert_int_equal(count_class(&doc, "mark-label"), 2);
    assert_int_equal(count_class(&doc, "mark-missing"), 1);
    char expected[24];
    const walk_block_t *marked = block_holding(&walk, kept[4]);
    const walk_block_t *marked_dma = block_holding(&walk, dma);
    assert_non_null(marked);
    assert_non_null(marked_dma);
    bool seen_label = false, seen_address = false;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "mark")) {
            assert_int_not_equal(heap_group_of(&doc, i), SIZE_MAX);
            const walk_block_t *block =
                strcmp(attribute(e, "data-label"), marks[0].label) == 0 ? marked : marked_dma;
            assert_string_equal(attribute(e, "data-address"),
                                chip_text(expected, chip_of(block->ptr)));
            assert_int_equal(number(e, "data-size"), block->size);
            seen_label |= block == marked;
            seen_address |=
                block == marked_dma &&
                strcmp(attribute(e, "data-label"), chip_text(expected, chip_of(block->ptr))) == 0;
        }
        if (has_class(e, "mark-label") && strncmp(e->text, "splits", 6) == 0) {
            assert_string_equal(e->text, marks[0].label);
        }
        if (has_class(e, "mark-missing")) {
            assert_non_null(strstr(e->text, "not in any heap"));
        }
    }
    assert_true(seen_label);
    assert_true(seen_address);

    /* Per-heap figures are the heap's. */
    multi_heap_info_t info;
    heap_caps_get_info(&info, MALLOC_CAP_DEFAULT);
    const element_t *line = NULL;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "class") && strcmp(attribute(e, "data-class"), "DEFAULT") == 0) {
            line = e;
        }
    }
    assert_non_null(line);
    assert_int_equal(number(line, "data-free"), info.total_free_bytes);
    assert_int_equal(number(line, "data-largest-free"), info.largest_free_block);

    document_free(&doc);
    walk_free(&walk);
    free(svg);
    free_all(kept, COUNT(kept));
    heap_caps_free(dma);
    heap_caps_free(iram);
}

static void esp32s3_with_psram_map_matches_the_walk(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    options.psram_size = 2 * 1024 * 1024;
    assert_int_equal(heapcaps_emu_boot("esp32s3", &options), ESP_OK);
    void *internal[30], *external[60];
    make_holes(internal, COUNT(internal), MALLOC_CAP_INTERNAL);
    make_holes(external, COUNT(external), MALLOC_CAP_SPIRAM);
    void *big = heap_caps_malloc(300 * 1024, MALLOC_CAP_SPIRAM);
    assert_non_null(big);
    /* ESP-IDF's internal reserve pool is a heap made from a block of the
     * main internal heap: a mark in it belongs to the inner heap. */
    walk_t walk;
    walk_heaps(&walk);
    const walk_heap_t *inner = NULL;
    for (size_t i = 0; i < walk.count && !inner; i++) {
        for (size_t o = 0; o < walk.count; o++) {
            if (o != i && walk.heaps[o].start < walk.heaps[i].start &&
                walk.heaps[i].end <= walk.heaps[o].end) {
                inner = &walk.heaps[i];
            }
        }
    }
    assert_non_null(inner);
    heap_svg_mark_t marks[] = {{big, "big"}, {(void *)inner->blocks[0].ptr, "pool"}};
    uint64_t inner_start = chip_of(inner->start);
    walk_free(&walk);
    heap_svg_map_options_t map_options = {"esp32s3", marks, COUNT(marks)};
    char *svg = map_text(&map_options);
    walk_heaps(&walk);

    document_t doc;
    parse_svg(&doc, svg);
    assert_numbers_plain(&doc);
    assert_map_matches_walk(&doc, &walk);
    assert_caps_match_walks(&doc, &walk);
    bool spiram = false, rtc = false;
    char expected[24];
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "heap")) {
            spiram |= caps_word(attribute(e, "data-caps"), "SPIRAM");
            rtc |= caps_word(attribute(e, "data-caps"), "RTCRAM");
        }
        if (has_class(e, "mark")) {
            const element_t *group = &doc.elements[heap_group_of(&doc, i)];
            if (strcmp(attribute(e, "data-label"), "big") == 0) {
                assert_true(caps_word(attribute(group, "data-caps"), "SPIRAM"));
            } else {
                assert_string_equal(attribute(group, "data-start"),
                                    chip_text(expected, inner_start));
            }
        }
    }
    assert_true(spiram);
    assert_true(rtc);
    assert_int_equal(count_class(&doc, "mark"), 2);

    document_free(&doc);
    walk_free(&walk);
    free(svg);
    free_all(internal, COUNT(internal));
    free_all(external, COUNT(external));
    heap_caps_free(big);
}

static void map_without_options_is_well_formed(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    assert_int_equal(heapcaps_emu_boot("esp32c3", &options), ESP_OK);
    char *svg = map_text(NULL);
    walk_t walk;
    walk_heaps(&walk);
    document_t doc;
    parse_svg(&doc, svg);
    assert_map_matches_walk(&doc, &walk);
    assert_int_equal(count_class(&doc, "mark"), 0);
    document_free(&doc);
    walk_free(&walk);
    free(svg);
}

/* ---- the plot ------------------------------------------------------------- */

/* The y coordinates in a polyline's points, and their count. */
static size_t polyline_points(const element_t *e, double *xs, double *ys, size_t room)
{
    const char *p = attribute(e, "points");
    assert_non_null(p);
    size_t count = 0;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p) {
            break;
        }
        assert_int_equal(*end, ',');
        double y = strtod(end + 1, &end);
        if (count < room) {
            xs[count] = x;
            ys[count] = y;
        }
        count++;
        p = end;
        while (*p == ' ') {
            p++;
        }
    }
    return count;
}

static const element_t *series_line(const document_t *doc, const char *kind, const char *name)
{
    for (size_t i = 0; i < doc->count; i++) {
        const element_t *e = &doc->elements[i];
        if (has_class(e, "series") && has_class(e, kind) &&
            strcmp(attribute(e, "data-class"), name) == 0) {
            return e;
        }
    }
    fail_msg("no %s line for %s", kind, name);
    return NULL;
}

static void plot_lines_markers_and_axes_match_the_series(void **state)
{
    (void)state;
    heap_sample_t a[] = {
        {0, 1000, 1000},  /* 0 % */
        {10, 1000, 500},  /* 50 % */
        {20, 800, 0},     /* 100 % */
        {30, 0, 0},       /* nothing free: 0 % */
        {45, 4000, 1000}, /* 75 % */
    };
    heap_sample_t b[] = {{5, 200, 100}, {25, 300, 300}, {40, 100, 25}};
    heap_series_t series[] = {
        {"DEFAULT", MALLOC_CAP_DEFAULT, 5000, a, COUNT(a)},
        {"<odd & \"name\">", MALLOC_CAP_DMA, 400, b, COUNT(b)},
        {"EMPTY", MALLOC_CAP_SPIRAM, 0, NULL, 0},
    };
    uint64_t failures[] = {12, 33, 44};
    /* Markup characters are escaped, a control character (not allowed in
     * XML) becomes '?'. */
    char *svg = plot_text(series, COUNT(series), failures, COUNT(failures), "replay\x01 <1> & 'x'");
    document_t doc;
    parse_svg(&doc, svg);
    assert_numbers_plain(&doc);
    assert_string_equal(find_class(&doc, "title")->text, "replay? <1> & 'x'");

    /* One line of each kind per class, with every sample as a point. */
    static const char *const kinds[] = {"fragmentation", "free", "largest"};
    for (size_t s = 0; s < COUNT(series); s++) {
        for (size_t k = 0; k < COUNT(kinds); k++) {
            const element_t *line = series_line(&doc, kinds[k], series[s].name);
            double xs[8], ys[8];
            assert_int_equal(number(line, "data-points"), series[s].count);
            assert_int_equal(polyline_points(line, xs, ys, COUNT(xs)), series[s].count);
            for (size_t i = 1; i < series[s].count; i++) {
                assert_true(xs[i] > xs[i - 1]); /* operations increase to the right */
            }
        }
    }
    assert_int_equal(count_class(&doc, "series"), 3 * COUNT(series));

    /* The fragmentation axis is 0-100 %, and the line reaches both ends. */
    const element_t *axis = NULL;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "axis") && has_class(e, "fragmentation")) {
            axis = e;
        }
    }
    assert_non_null(axis);
    assert_string_equal(attribute(axis, "data-min"), "0");
    assert_string_equal(attribute(axis, "data-max"), "100");
    bool tick_0 = false, tick_100 = false;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "tick") && e->parent != SIZE_MAX && &doc.elements[e->parent] == axis) {
            tick_0 |= strcmp(e->text, "0 %") == 0;
            tick_100 |= strcmp(e->text, "100 %") == 0;
        }
    }
    assert_true(tick_0);
    assert_true(tick_100);
    const element_t *panel = NULL;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "panel") && has_class(e, "fragmentation")) {
            panel = e;
        }
    }
    assert_non_null(panel);
    double top = strtod(attribute(panel, "y"), NULL);
    double bottom = top + strtod(attribute(panel, "height"), NULL);
    double xs[8], ys[8];
    polyline_points(series_line(&doc, "fragmentation", "DEFAULT"), xs, ys, COUNT(xs));
    assert_float_equal(ys[0], bottom, 0.01);
    assert_float_equal(ys[1], (top + bottom) / 2, 0.01);
    assert_float_equal(ys[2], top, 0.01);
    assert_float_equal(ys[3], bottom, 0.01);
    assert_float_equal(ys[4], top + (bottom - top) * 0.25, 0.01);
    double left = strtod(attribute(panel, "x"), NULL);
    double right = left + strtod(attribute(panel, "width"), NULL);
    for (size_t i = 0; i < COUNT(a); i++) {
        assert_true(xs[i] >= left - 0.01 && xs[i] <= right + 0.01);
    }

    /* The bytes axis covers the most free bytes. */
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "axis") && has_class(e, "bytes")) {
            assert_true(number(e, "data-max") >= 4000);
        }
    }

    /* A marker per failure, at its operation. */
    assert_int_equal(count_class(&doc, "failure"), COUNT(failures));
    size_t failure = 0;
    for (size_t i = 0; i < doc.count; i++) {
        const element_t *e = &doc.elements[i];
        if (has_class(e, "failure")) {
            assert_int_equal(number(e, "data-op"), failures[failure++]);
        }
    }
    document_free(&doc);
    free(svg);
}

static void plot_of_nothing_is_well_formed(void **state)
{
    (void)state;
    char *svg = plot_text(NULL, 0, NULL, 0, NULL);
    document_t doc;
    parse_svg(&doc, svg);
    assert_int_equal(count_class(&doc, "series"), 0);
    assert_int_equal(count_class(&doc, "failure"), 0);
    document_free(&doc);
    free(svg);

    heap_sample_t one = {7, 100, 40};
    heap_series_t series = {"DEFAULT", MALLOC_CAP_DEFAULT, 100, &one, 1};
    uint64_t failure = 7;
    svg = plot_text(&series, 1, &failure, 1, "one sample");
    parse_svg(&doc, svg);
    assert_int_equal(number(series_line(&doc, "free", "DEFAULT"), "data-points"), 1);
    assert_int_equal(count_class(&doc, "failure"), 1);
    document_free(&doc);
    free(svg);
}

/* ---- write errors ---------------------------------------------------------- */

static void writes_to_a_full_stream_return_false(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = quiet_options();
    assert_int_equal(heapcaps_emu_boot("esp32", &options), ESP_OK);
    char buffer[256];
    FILE *out = fmemopen(buffer, sizeof(buffer), "w");
    assert_non_null(out);
    assert_false(heap_svg_write_map(out, NULL));
    fclose(out);

    heap_sample_t samples[] = {{0, 100, 100}, {1, 50, 10}};
    heap_series_t series = {"DEFAULT", MALLOC_CAP_DEFAULT, 100, samples, COUNT(samples)};
    out = fmemopen(buffer, sizeof(buffer), "w");
    assert_non_null(out);
    assert_false(heap_svg_write_plot(out, &series, 1, NULL, 0, "full"));
    fclose(out);

    /* A stream opened for reading only cannot be written at all. */
    out = fmemopen(buffer, sizeof(buffer), "r");
    assert_non_null(out);
    assert_false(heap_svg_write_plot(out, &series, 1, NULL, 0, "read only"));
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xml_reader_rejects_malformed_documents),
        cmocka_unit_test_teardown(esp32_map_matches_the_walk_with_marks_and_title, shutdown_after),
        cmocka_unit_test_teardown(esp32s3_with_psram_map_matches_the_walk, shutdown_after),
        cmocka_unit_test_teardown(map_without_options_is_well_formed, shutdown_after),
        cmocka_unit_test(plot_lines_markers_and_axes_match_the_series),
        cmocka_unit_test(plot_of_nothing_is_well_formed),
        cmocka_unit_test_teardown(writes_to_a_full_stream_return_false, shutdown_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
