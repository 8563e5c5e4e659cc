/*
 * heap_svg.c — the heap map and the fragmentation plot as SVG (heap_svg.h,
 * docs/heap_map.md).
 *
 * Public API only: the heaps come from heap_caps_walk_all() (blocks) and
 * heap_caps_walk(caps) (which heaps serve a class), their figures from
 * multi_heap_get_info() on the heap's handle (multi_heap.h: the handle is
 * the heap's start, which the walk reports), names from the installed layout.
 *
 * Numbers are formatted with integer arithmetic, never %f: printf's decimal
 * point follows LC_NUMERIC and SVG wants '.'.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "heap_svg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "heapcaps/emu.h"
#include "heapcaps/layout.h"
#include "multi_heap.h"

/* ---- writing ------------------------------------------------------------ */

#define NUMBER_RING 32

typedef struct {
    FILE *out;
    bool ok;
    char numbers[NUMBER_RING][40]; /* num() results, several per printf */
    unsigned next_number;
} svg_t;

static void put(svg_t *svg, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    if (vfprintf(svg->out, format, args) < 0) {
        svg->ok = false;
    }
    va_end(args);
}

/* Text as XML character data or attribute value. Control characters XML 1.0
 * forbids become '?'. */
static void put_text(svg_t *svg, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *entity = NULL;
        switch (c) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&apos;";
            break;
        default:
            break;
        }
        if (entity) {
            put(svg, "%s", entity);
        } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            put(svg, "?");
        } else if (putc(c, svg->out) == EOF) {
            svg->ok = false;
        }
    }
}

/* `value` with at most `decimals` (0-3) decimals, trailing zeros dropped. */
static const char *num_decimals(svg_t *svg, double value, int decimals)
{
    char *text = svg->numbers[svg->next_number++ % NUMBER_RING];
    unsigned long long scale = 1;
    for (int i = 0; i < decimals; i++) {
        scale *= 10;
    }
    if (!(value == value) || value > 1e15 || value < -1e15) {
        value = 0; /* NaN or absurd: never print "nan" into a coordinate */
    }
    bool negative = value < 0;
    double magnitude = negative ? -value : value;
    unsigned long long scaled = (unsigned long long)(magnitude * (double)scale + 0.5);
    unsigned long long whole = scaled / scale, fraction = scaled % scale;
    int digits = decimals;
    while (digits > 0 && fraction % 10 == 0) {
        fraction /= 10;
        digits--;
    }
    const char *sign = negative && scaled ? "-" : "";
    if (digits == 0) {
        snprintf(text, sizeof(svg->numbers[0]), "%s%llu", sign, whole);
    } else {
        snprintf(text, sizeof(svg->numbers[0]), "%s%llu.%0*llu", sign, whole, digits, fraction);
    }
    return text;
}

/* A coordinate: two decimals are finer than any screen. */
static const char *num(svg_t *svg, double value)
{
    return num_decimals(svg, value, 2);
}

/* Bytes for people: "512 B", "180.3 KiB", "3.94 MiB". */
static const char *size_text(svg_t *svg, size_t bytes)
{
    char *text = svg->numbers[svg->next_number++ % NUMBER_RING];
    if (bytes < 1024) {
        snprintf(text, sizeof(svg->numbers[0]), "%zu B", bytes);
    } else if (bytes < 1024 * 1024) {
        snprintf(text, sizeof(svg->numbers[0]), "%s KiB",
                 num_decimals(svg, (double)bytes / 1024.0, 1));
    } else {
        snprintf(text, sizeof(svg->numbers[0]), "%s MiB",
                 num_decimals(svg, (double)bytes / (1024.0 * 1024.0), 2));
    }
    return text;
}

static const char *address_text(svg_t *svg, uint64_t address)
{
    char *text = svg->numbers[svg->next_number++ % NUMBER_RING];
    snprintf(text, sizeof(svg->numbers[0]), "0x%08" PRIx64, address);
    return text;
}

static void put_header(svg_t *svg, double width, double height, const char *kind)
{
    put(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    put(svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" class=\"%s\" width=\"%s\" "
        "height=\"%s\" viewBox=\"0 0 %s %s\" font-family=\"DejaVu Sans, Verdana, Arial, "
        "sans-serif\">\n",
        kind, num(svg, width), num(svg, height), num(svg, width), num(svg, height));
    put(svg,
        "<rect class=\"background\" x=\"0\" y=\"0\" width=\"%s\" height=\"%s\" "
        "fill=\"#ffffff\"/>\n",
        num(svg, width), num(svg, height));
}

static bool finish(svg_t *svg)
{
    put(svg, "</svg>\n");
    if (fflush(svg->out) != 0 || ferror(svg->out)) {
        svg->ok = false;
    }
    return svg->ok;
}

/* A rough width of `text` in a proportional font: enough to keep labels
 * from running into each other, not to measure them. */
static double text_width(const char *text, double font_size)
{
    return (double)strlen(text ? text : "") * font_size * 0.6;
}

/* ---- the map: collecting the heaps ------------------------------------- */

/* The classes shown per heap. 32BIT-ONLY: 32-bit access only (IRAM), i.e.
 * MALLOC_CAP_32BIT without MALLOC_CAP_8BIT. */
static const struct {
    const char *name;
    uint32_t caps;
    uint32_t without;
} map_classes[] = {
    {"DEFAULT", MALLOC_CAP_DEFAULT, 0}, {"INTERNAL", MALLOC_CAP_INTERNAL, 0},
    {"DMA", MALLOC_CAP_DMA, 0},         {"SPIRAM", MALLOC_CAP_SPIRAM, 0},
    {"EXEC", MALLOC_CAP_EXEC, 0},       {"32BIT-ONLY", MALLOC_CAP_32BIT, MALLOC_CAP_8BIT},
    {"RTCRAM", MALLOC_CAP_RTCRAM, 0},
};
#define MAP_CLASS_COUNT (sizeof(map_classes) / sizeof(map_classes[0]))

typedef struct {
    uintptr_t ptr;
    size_t size;
    bool used;
} map_block_t;

typedef struct {
    uintptr_t start, end; /* host addresses, [start, end) */
    size_t first, count;  /* its blocks in map_t.blocks */
    unsigned classes;     /* bit i: map_classes[i] */
    unsigned excluded;    /* bit i: has map_classes[i].without */
    multi_heap_info_t info;
    size_t used_bytes, overhead_bytes; /* from the blocks */
    size_t used_blocks, free_blocks;
    double y; /* top of its section */
    int mark_rows;
} map_heap_t;

typedef struct {
    size_t heap, block; /* where the mark is; heap == SIZE_MAX: in no block */
    int row;
    double x;       /* where its leader line meets the bar */
    double label_x; /* the label's anchor */
    bool anchor_end;
} map_mark_t;

typedef struct {
    map_block_t *blocks;
    size_t block_count, block_room;
    map_heap_t *heaps;
    size_t heap_count, heap_room;
    bool no_memory;
} map_t;

static bool grow(void **array, size_t *room, size_t needed, size_t element)
{
    if (needed <= *room) {
        return true;
    }
    size_t new_room = *room ? *room * 2 : 64;
    while (new_room < needed) {
        new_room *= 2;
    }
    void *grown = realloc(*array, new_room * element);
    if (!grown) {
        return false;
    }
    *array = grown;
    *room = new_room;
    return true;
}

static bool collect_block(walker_heap_into_t heap_info, walker_block_info_t block, void *user)
{
    map_t *map = user;
    if (map->no_memory) {
        return false;
    }
    uintptr_t start = (uintptr_t)heap_info.start;
    if (map->heap_count == 0 || map->heaps[map->heap_count - 1].start != start) {
        if (!grow((void **)&map->heaps, &map->heap_room, map->heap_count + 1, sizeof(map_heap_t))) {
            map->no_memory = true;
            return false;
        }
        map_heap_t *heap = &map->heaps[map->heap_count++];
        memset(heap, 0, sizeof(*heap));
        heap->start = start;
        heap->end = (uintptr_t)heap_info.end;
        heap->first = map->block_count;
    }
    if (!grow((void **)&map->blocks, &map->block_room, map->block_count + 1, sizeof(map_block_t))) {
        map->no_memory = true;
        return false;
    }
    map->blocks[map->block_count++] = (map_block_t){(uintptr_t)block.ptr, block.size, block.used};
    map->heaps[map->heap_count - 1].count++;
    return true;
}

typedef struct {
    map_t *map;
    unsigned bit;
    bool excluded; /* mark `excluded` instead of `classes` */
} classify_t;

/* One block per heap is enough to learn that the heap has the caps. */
static bool classify_heap(walker_heap_into_t heap_info, walker_block_info_t block, void *user)
{
    (void)block;
    classify_t *classify = user;
    for (size_t i = 0; i < classify->map->heap_count; i++) {
        map_heap_t *heap = &classify->map->heaps[i];
        if (heap->start == (uintptr_t)heap_info.start) {
            if (classify->excluded) {
                heap->excluded |= classify->bit;
            } else {
                heap->classes |= classify->bit;
            }
        }
    }
    return false;
}

static int by_start(const void *a, const void *b)
{
    const map_heap_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static bool collect_map(map_t *map)
{
    heap_caps_walk_all(collect_block, map);
    if (map->no_memory) {
        return false;
    }
    for (size_t c = 0; c < MAP_CLASS_COUNT; c++) {
        classify_t classify = {map, 1u << c, false};
        heap_caps_walk(map_classes[c].caps, classify_heap, &classify);
        if (map_classes[c].without) {
            classify.excluded = true;
            heap_caps_walk(map_classes[c].without, classify_heap, &classify);
        }
    }
    for (size_t i = 0; i < map->heap_count; i++) {
        map_heap_t *heap = &map->heaps[i];
        heap->classes &= ~heap->excluded;
        /* multi_heap.h: a heap's handle is its start address. */
        multi_heap_get_info((multi_heap_handle_t)heap->start, &heap->info);
        uintptr_t at = heap->start;
        for (size_t b = heap->first; b < heap->first + heap->count; b++) {
            const map_block_t *block = &map->blocks[b];
            if (block->ptr > at) {
                heap->overhead_bytes += block->ptr - at;
            }
            if (block->used) {
                heap->used_bytes += block->size;
                heap->used_blocks++;
            } else {
                heap->free_blocks++;
            }
            at = block->ptr + block->size;
        }
        if (heap->end > at) {
            heap->overhead_bytes += heap->end - at;
        }
    }
    /* Blocks stay where they are: each heap keeps its first/count. */
    qsort(map->heaps, map->heap_count, sizeof(map_heap_t), by_start);
    return true;
}

/* Chip address of a host address: the emulator's mapping when it holds the
 * address, else the installed layout's offset. */
static uint64_t chip_address(uintptr_t host)
{
    if (heapcaps_emu_target()) {
        uint32_t chip = heapcaps_emu_chip_address((const void *)host);
        if (chip) {
            return chip;
        }
    }
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    return layout ? (uint64_t)(host - (uintptr_t)layout->address_offset) : (uint64_t)host;
}

/* The memory type of the region holding the heap's start (heaps added at
 * run time outside every region: "heap"). */
static const char *heap_type_name(uint64_t chip_start)
{
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    for (size_t i = 0; layout && i < layout->region_count; i++) {
        const soc_memory_region_t *region = &layout->regions[i];
        if (chip_start - (uint64_t)region->start < region->size &&
            region->type < layout->type_count && layout->types[region->type].name) {
            return layout->types[region->type].name;
        }
    }
    return "heap";
}

/* ---- the map: drawing --------------------------------------------------- */

/* Every bar spans the full width with its own scale: heaps range from 2 KiB
 * (RTC) to 4 MiB (PSRAM), and on a common scale the small ones would be a
 * few pixels wide with their blocks invisible. Each bar is labelled with its
 * size, and a thin "size" bar under it, on a scale common to all heaps,
 * shows how big the heap is next to the others. */
#define MAP_WIDTH     1200.0
#define MAP_MARGIN    24.0
#define BAR_X         MAP_MARGIN
#define BAR_WIDTH     (MAP_WIDTH - 2 * MAP_MARGIN)
#define BAR_HEIGHT    26.0
#define SIZE_BAR      4.0
#define HAIRLINE      1.0 /* the narrowest block drawn: tiny blocks stay visible */
#define TICK          5.0 /* how far a free block under a pixel sticks out above */
#define SEPARATOR     0.6 /* gap before a block wide enough to spare it */
#define MARK_ROW      15.0
#define MAX_MARK_ROWS 6

#define COLOUR_USED      "#3f6fb5"
#define COLOUR_FREE      "#a6dba0"
#define COLOUR_FREE_TICK "#359a35" /* free blocks under a pixel */
#define COLOUR_OVERHEAD  "#5b5b5b"
#define COLOUR_MARK      "#e0007a"
#define COLOUR_TEXT      "#1a1a1a"
#define COLOUR_MUTED     "#5f5f5f"

/* Heap section: heading, figures line, bar, size bar, mark label rows. */
#define HEAP_HEADING 16.0
#define HEAP_FIGURES 32.0
#define HEAP_BAR     45.0
#define HEAP_GAP     22.0

static double section_height(const map_heap_t *heap)
{
    return HEAP_BAR + BAR_HEIGHT + 3 + SIZE_BAR + heap->mark_rows * MARK_ROW + HEAP_GAP;
}

static double bar_x(const map_heap_t *heap, uintptr_t address)
{
    double span = (double)(heap->end - heap->start);
    return BAR_X + BAR_WIDTH * (double)(address - heap->start) / (span > 0 ? span : 1);
}

static const char *mark_label(svg_t *svg, const heap_svg_mark_t *mark, uint64_t chip)
{
    return mark->label ? mark->label : address_text(svg, chip);
}

/* Place the marks: find their blocks, then put the labels of each heap in
 * rows under its bar, left to right, a new row where one would overlap. */
static void place_marks(svg_t *svg, map_t *map, const heap_svg_map_options_t *options,
                        map_mark_t *placed)
{
    for (size_t m = 0; m < options->mark_count; m++) {
        uintptr_t p = (uintptr_t)options->marks[m].ptr;
        placed[m] = (map_mark_t){SIZE_MAX, 0, 0, 0, 0, false};
        /* The innermost heap: a heap made from a block of another (the
         * internal reserve pool) holds the mark in a block of its own. */
        for (size_t h = 0; h < map->heap_count; h++) {
            const map_heap_t *heap = &map->heaps[h];
            if (p < heap->start || p >= heap->end ||
                (placed[m].heap != SIZE_MAX &&
                 map->heaps[placed[m].heap].end - map->heaps[placed[m].heap].start <=
                     heap->end - heap->start)) {
                continue;
            }
            for (size_t b = heap->first; b < heap->first + heap->count; b++) {
                const map_block_t *block = &map->blocks[b];
                if (p >= block->ptr && p - block->ptr < (block->size ? block->size : 1)) {
                    placed[m].heap = h;
                    placed[m].block = b;
                    break;
                }
            }
        }
    }
    for (size_t h = 0; h < map->heap_count; h++) {
        double row_end[MAX_MARK_ROWS];
        int rows = 0;
        /* Left to right by address, so that rows fill in order. */
        for (;;) {
            size_t next = SIZE_MAX;
            for (size_t m = 0; m < options->mark_count; m++) {
                if (placed[m].heap == h && placed[m].row == 0 &&
                    (next == SIZE_MAX || placed[m].block < placed[next].block)) {
                    next = m;
                }
            }
            if (next == SIZE_MAX) {
                break;
            }
            map_heap_t *heap = &map->heaps[h];
            const map_block_t *block = &map->blocks[placed[next].block];
            double x0 = bar_x(heap, block->ptr), x1 = bar_x(heap, block->ptr + block->size);
            double x = (x0 + x1) / 2;
            const heap_svg_mark_t *mark = &options->marks[next];
            char figures[64];
            snprintf(figures, sizeof(figures), " (%s)", size_text(svg, block->size));
            double width = text_width(mark_label(svg, mark, chip_address(block->ptr)), 11) +
                           text_width(figures, 11) + 6;
            bool anchor_end = x + width > MAP_WIDTH - MAP_MARGIN;
            double left = anchor_end ? x - width : x;
            double right = anchor_end ? x : x + width;
            int row = 0;
            while (row < rows && row_end[row] > left) {
                row++;
            }
            if (row == MAX_MARK_ROWS) {
                row = MAX_MARK_ROWS - 1; /* crowded: overlap in the last row */
            } else if (row == rows) {
                rows++;
            }
            row_end[row] = right + 8;
            placed[next].row = row + 1; /* 0 = not placed yet */
            placed[next].x = x;
            placed[next].label_x = anchor_end ? x - 3 : x + 3;
            placed[next].anchor_end = anchor_end;
        }
        map->heaps[h].mark_rows = rows;
    }
}

static void put_rect(svg_t *svg, const char *class_name, uint64_t chip, size_t size, double x,
                     double y, double width, double height, const char *fill)
{
    put(svg,
        "<rect class=\"%s\" data-address=\"%s\" data-size=\"%zu\" x=\"%s\" y=\"%s\" width=\"%s\" "
        "height=\"%s\" fill=\"%s\">",
        class_name, address_text(svg, chip), size, num(svg, x), num(svg, y), num(svg, width),
        num(svg, height), fill);
}

static void put_caps(svg_t *svg, unsigned classes)
{
    bool first = true;
    for (size_t c = 0; c < MAP_CLASS_COUNT; c++) {
        if (classes & (1u << c)) {
            put(svg, "%s%s", first ? "" : " ", map_classes[c].name);
            first = false;
        }
    }
}

static const char *percent_text(svg_t *svg, double fraction)
{
    char *text = svg->numbers[svg->next_number++ % NUMBER_RING];
    snprintf(text, sizeof(svg->numbers[0]), "%s %%", num_decimals(svg, fraction * 100.0, 1));
    return text;
}

static double heap_fragmentation(const map_heap_t *heap)
{
    size_t free_bytes = heap->info.total_free_bytes;
    return free_bytes ? 1.0 - (double)heap->info.largest_free_block / (double)free_bytes : 0.0;
}

static void draw_heap(svg_t *svg, const map_t *map, size_t index, size_t largest_heap,
                      const heap_svg_map_options_t *options, const map_mark_t *placed)
{
    const map_heap_t *heap = &map->heaps[index];
    uint64_t chip_start = chip_address(heap->start);
    uint64_t chip_end = chip_start + (heap->end - heap->start);
    size_t size = heap->end - heap->start;
    const char *name = heap_type_name(chip_start);
    double y = heap->y;

    put(svg, "<g class=\"heap\" data-start=\"%s\" data-end=\"%s\" data-size=\"%zu\" data-name=\"",
        address_text(svg, chip_start), address_text(svg, chip_end), size);
    put_text(svg, name);
    put(svg, "\" data-caps=\"");
    put_caps(svg, heap->classes);
    put(svg,
        "\" data-free=\"%zu\" data-largest-free=\"%zu\" data-used-blocks=\"%zu\" "
        "data-free-blocks=\"%zu\" data-overhead=\"%zu\">\n",
        heap->info.total_free_bytes, heap->info.largest_free_block, heap->used_blocks,
        heap->free_blocks, heap->overhead_bytes);

    /* Heading: type and classes on the left, size on the right. */
    put(svg, "<text class=\"label heap-name\" x=\"%s\" y=\"%s\" font-size=\"14\" fill=\"%s\">",
        num(svg, BAR_X), num(svg, y + HEAP_HEADING), COLOUR_TEXT);
    put(svg, "<tspan font-weight=\"bold\">");
    put_text(svg, name);
    put(svg, "</tspan><tspan fill=\"%s\" font-size=\"12\" dx=\"10\">", COLOUR_MUTED);
    if (heap->classes) {
        put_caps(svg, heap->classes);
    } else {
        put(svg, "(no class shown here)");
    }
    /* A heap made from a block of another (the internal reserve pool): say
     * so, or the outer heap's big used block looks like a leak. */
    for (size_t h = 0; h < map->heap_count; h++) {
        const map_heap_t *outer = &map->heaps[h];
        if (h != index && outer->start <= heap->start && heap->end <= outer->end &&
            outer->end - outer->start > heap->end - heap->start) {
            put(svg, "  \xc2\xb7  in a block of the heap at %s",
                address_text(svg, chip_address(outer->start)));
            break;
        }
    }
    put(svg, "</tspan></text>\n");
    put(svg,
        "<text class=\"label heap-size\" x=\"%s\" y=\"%s\" font-size=\"14\" font-weight=\"bold\" "
        "text-anchor=\"end\" fill=\"%s\">%s</text>\n",
        num(svg, BAR_X + BAR_WIDTH), num(svg, y + HEAP_HEADING), COLOUR_TEXT, size_text(svg, size));
    put(svg,
        "<text class=\"label heap-figures\" x=\"%s\" y=\"%s\" font-size=\"11.5\" fill=\"%s\">"
        "<tspan font-family=\"DejaVu Sans Mono, monospace\">%s\xe2\x80\x93%s</tspan>"
        "  \xc2\xb7  used %s in %zu block%s  \xc2\xb7  free %s in %zu block%s, largest %s"
        "  \xc2\xb7  overhead %s  \xc2\xb7  fragmentation %s</text>\n",
        num(svg, BAR_X), num(svg, y + HEAP_FIGURES), COLOUR_MUTED, address_text(svg, chip_start),
        address_text(svg, chip_end), size_text(svg, heap->used_bytes), heap->used_blocks,
        heap->used_blocks == 1 ? "" : "s", size_text(svg, heap->info.total_free_bytes),
        heap->free_blocks, heap->free_blocks == 1 ? "" : "s",
        size_text(svg, heap->info.largest_free_block), size_text(svg, heap->overhead_bytes),
        percent_text(svg, heap_fragmentation(heap)));

    /* The bar: its background is overhead's colour, so that the headers
     * between blocks show as thin dark lines. */
    double bar_y = y + HEAP_BAR;
    put(svg, "<rect class=\"bar\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"/>\n",
        num(svg, BAR_X), num(svg, bar_y), num(svg, BAR_WIDTH), num(svg, BAR_HEIGHT),
        COLOUR_OVERHEAD);
    uintptr_t at = heap->start;
    for (size_t b = heap->first; b <= heap->first + heap->count; b++) {
        bool last = b == heap->first + heap->count;
        uintptr_t next = last ? heap->end : map->blocks[b].ptr;
        if (next > at) {
            double x0 = bar_x(heap, at), x1 = bar_x(heap, next);
            put_rect(svg, "overhead", chip_address(at), next - at, x0, bar_y, x1 - x0, BAR_HEIGHT,
                     COLOUR_OVERHEAD);
            put(svg, "<title>overhead: %s at %s</title></rect>\n", size_text(svg, next - at),
                address_text(svg, chip_address(at)));
        }
        if (last) {
            break;
        }
        const map_block_t *block = &map->blocks[b];
        double x0 = bar_x(heap, block->ptr), x1 = bar_x(heap, block->ptr + block->size);
        double width = x1 - x0 >= 3 ? x1 - x0 - SEPARATOR : x1 - x0;
        bool tick = false;
        if (width < HAIRLINE) {
            width = HAIRLINE;
            /* The next block, drawn later, covers most of a hairline; a small
             * hole, the stuff fragmentation is made of, must stay visible: it
             * sticks out above the bar, in a darker green. */
            tick = !block->used;
        }
        const char *fill = block->used ? COLOUR_USED : tick ? COLOUR_FREE_TICK : COLOUR_FREE;
        put_rect(svg, block->used ? "block used" : "block free", chip_address(block->ptr),
                 block->size, x0, tick ? bar_y - TICK : bar_y, width,
                 tick ? BAR_HEIGHT + TICK : BAR_HEIGHT, fill);
        put(svg, "<title>%s: %zu bytes at %s</title></rect>\n", block->used ? "used" : "free",
            block->size, address_text(svg, chip_address(block->ptr)));
        at = block->ptr + block->size;
    }

    /* The size bar: this heap next to the largest one. */
    double size_y = bar_y + BAR_HEIGHT + 3;
    double size_width = BAR_WIDTH * (double)size / (double)(largest_heap ? largest_heap : 1);
    put(svg,
        "<rect class=\"size-track\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" "
        "fill=\"#e6e6e6\"/>\n",
        num(svg, BAR_X), num(svg, size_y), num(svg, BAR_WIDTH), num(svg, SIZE_BAR));
    put(svg,
        "<rect class=\"size\" data-size=\"%zu\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" "
        "fill=\"#8a8a8a\"/>\n",
        size, num(svg, BAR_X), num(svg, size_y), num(svg, size_width < 1 ? 1 : size_width),
        num(svg, SIZE_BAR));

    /* Marks: an outline around the block, a leader line, the label. */
    for (size_t m = 0; options && m < options->mark_count; m++) {
        if (placed[m].heap != index) {
            continue;
        }
        const map_block_t *block = &map->blocks[placed[m].block];
        const heap_svg_mark_t *mark = &options->marks[m];
        uint64_t chip = chip_address(block->ptr);
        double x0 = bar_x(heap, block->ptr), x1 = bar_x(heap, block->ptr + block->size);
        double width = x1 - x0 < HAIRLINE ? HAIRLINE : x1 - x0;
        put(svg, "<rect class=\"mark\" data-address=\"%s\" data-size=\"%zu\" data-label=\"",
            address_text(svg, chip), block->size);
        put_text(svg, mark_label(svg, mark, chip));
        put(svg,
            "\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n",
            num(svg, x0 - 1.5), num(svg, bar_y - 3), num(svg, width + 3), num(svg, BAR_HEIGHT + 6),
            COLOUR_MARK);
        double label_y = size_y + SIZE_BAR + placed[m].row * MARK_ROW;
        put(svg,
            "<line class=\"mark-leader\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1\"/>\n",
            num(svg, placed[m].x), num(svg, bar_y + BAR_HEIGHT + 3), num(svg, placed[m].x),
            num(svg, label_y - 2), COLOUR_MARK);
        put(svg, "<text class=\"mark-label\" x=\"%s\" y=\"%s\" font-size=\"11\" fill=\"%s\"%s>",
            num(svg, placed[m].label_x), num(svg, label_y), COLOUR_MARK,
            placed[m].anchor_end ? " text-anchor=\"end\"" : "");
        put_text(svg, mark_label(svg, mark, chip));
        put(svg, "<tspan fill=\"%s\" dx=\"4\">(%s)</tspan></text>\n", COLOUR_MUTED,
            size_text(svg, block->size));
    }
    put(svg, "</g>\n");
}

static void draw_swatch(svg_t *svg, double x, double y, const char *fill, const char *stroke,
                        const char *text)
{
    put(svg,
        "<rect x=\"%s\" y=\"%s\" width=\"22\" height=\"12\" fill=\"%s\" stroke=\"%s\" "
        "stroke-width=\"%s\"/>",
        num(svg, x), num(svg, y - 10), fill, stroke ? stroke : "none", stroke ? "2" : "0");
    put(svg, "<text x=\"%s\" y=\"%s\" font-size=\"12\" fill=\"%s\">", num(svg, x + 28), num(svg, y),
        COLOUR_TEXT);
    put_text(svg, text);
    put(svg, "</text>\n");
}

bool heap_svg_write_map(FILE *out, const heap_svg_map_options_t *options)
{
    static const heap_svg_map_options_t no_options = {NULL, NULL, 0};
    if (!options) {
        options = &no_options;
    }
    heap_svg_map_options_t checked = *options;
    if (!checked.marks) {
        checked.mark_count = 0;
    }
    options = &checked;
    svg_t *svg = calloc(1, sizeof(*svg));
    map_t map = {0};
    map_mark_t *placed = options->mark_count ? calloc(options->mark_count, sizeof(*placed)) : NULL;
    if (!svg || (options->mark_count && !placed) || !collect_map(&map)) {
        free(svg);
        free(placed);
        free(map.blocks);
        free(map.heaps);
        return false;
    }
    svg->out = out;
    svg->ok = true;
    if (options->mark_count) {
        place_marks(svg, &map, options, placed);
    }

    const char *target = heapcaps_emu_target();
    const heapcaps_layout_t *layout = heapcaps_layout_installed();
    const char *chip = target ? target : layout && layout->name ? layout->name : "heaps";

    /* Layout: title, chip line, one line per class present, legend, heaps. */
    double y = 34;
    size_t class_lines = 0;
    for (size_t c = 0; c < MAP_CLASS_COUNT; c++) {
        class_lines += !map_classes[c].without && heap_caps_get_total_size(map_classes[c].caps);
    }
    double classes_y = y + 24;
    double legend_y = classes_y + 8 + 16.0 * (double)class_lines + 26;
    y = legend_y + 18;
    size_t largest_heap = 0;
    size_t missing = 0;
    for (size_t h = 0; h < map.heap_count; h++) {
        map.heaps[h].y = y;
        y += section_height(&map.heaps[h]);
        size_t size = map.heaps[h].end - map.heaps[h].start;
        largest_heap = size > largest_heap ? size : largest_heap;
    }
    for (size_t m = 0; m < options->mark_count; m++) {
        missing += placed[m].heap == SIZE_MAX;
    }
    double height = y + (double)missing * 16 + 8;

    put_header(svg, MAP_WIDTH, height, "heap-map");
    put(svg, "<title>");
    put_text(svg, options->title ? options->title : chip);
    put(svg, "</title>\n");
    put(svg,
        "<text class=\"title\" x=\"%s\" y=\"%s\" font-size=\"20\" font-weight=\"bold\" "
        "fill=\"%s\">",
        num(svg, MAP_MARGIN), num(svg, 34), COLOUR_TEXT);
    put_text(svg, options->title ? options->title : chip);
    put(svg, "</text>\n");
    size_t total = 0;
    for (size_t h = 0; h < map.heap_count; h++) {
        total += map.heaps[h].end - map.heaps[h].start;
    }
    put(svg, "<text class=\"label chip\" x=\"%s\" y=\"%s\" font-size=\"12\" fill=\"%s\">",
        num(svg, MAP_MARGIN), num(svg, classes_y), COLOUR_MUTED);
    put_text(svg, chip);
    put(svg,
        ": %zu heap%s, %s in all, in address order (chip addresses); each bar is one heap "
        "at its own scale, the thin bar under it its size next to the largest heap</text>\n",
        map.heap_count, map.heap_count == 1 ? "" : "s", size_text(svg, total));

    /* The class figures, as heap_caps_get_info() gives them. */
    double line_y = classes_y + 8;
    for (size_t c = 0; c < MAP_CLASS_COUNT; c++) {
        size_t class_total = heap_caps_get_total_size(map_classes[c].caps);
        if (map_classes[c].without || !class_total) {
            continue;
        }
        multi_heap_info_t info;
        heap_caps_get_info(&info, map_classes[c].caps);
        line_y += 16;
        double fragmentation = info.total_free_bytes ? 1.0 - (double)info.largest_free_block /
                                                                 (double)info.total_free_bytes
                                                     : 0.0;
        put(svg,
            "<text class=\"label class\" data-class=\"%s\" data-total=\"%zu\" data-free=\"%zu\" "
            "data-largest-free=\"%zu\" x=\"%s\" y=\"%s\" font-size=\"12\" fill=\"%s\">"
            "<tspan font-weight=\"bold\">%s</tspan><tspan x=\"%s\">free %s of %s"
            "  \xc2\xb7  largest free block %s  \xc2\xb7  fragmentation %s</tspan></text>\n",
            map_classes[c].name, class_total, info.total_free_bytes, info.largest_free_block,
            num(svg, MAP_MARGIN), num(svg, line_y), COLOUR_TEXT, map_classes[c].name,
            num(svg, MAP_MARGIN + 80), size_text(svg, info.total_free_bytes),
            size_text(svg, class_total), size_text(svg, info.largest_free_block),
            percent_text(svg, fragmentation));
    }

    put(svg, "<g class=\"legend\">\n");
    draw_swatch(svg, MAP_MARGIN, legend_y, COLOUR_USED, NULL, "allocated block");
    draw_swatch(svg, MAP_MARGIN + 160, legend_y, COLOUR_FREE, NULL, "free block");
    draw_swatch(svg, MAP_MARGIN + 290, legend_y, COLOUR_OVERHEAD, NULL,
                "overhead (heap control, block headers)");
    if (options->mark_count) {
        draw_swatch(svg, MAP_MARGIN + 590, legend_y, "none", COLOUR_MARK, "marked block");
    }
    put(svg,
        "<rect x=\"%s\" y=\"%s\" width=\"22\" height=\"12\" fill=\"%s\"/><rect x=\"%s\" "
        "y=\"%s\" width=\"2\" height=\"16\" fill=\"%s\"/><text x=\"%s\" y=\"%s\" "
        "font-size=\"12\" fill=\"%s\">free block under 1 px</text>\n",
        num(svg, MAP_MARGIN + 740), num(svg, legend_y - 10), COLOUR_USED,
        num(svg, MAP_MARGIN + 750), num(svg, legend_y - 14), COLOUR_FREE_TICK,
        num(svg, MAP_MARGIN + 768), num(svg, legend_y), COLOUR_TEXT);
    put(svg,
        "<text x=\"%s\" y=\"%s\" font-size=\"11\" fill=\"%s\" text-anchor=\"end\">blocks under "
        "1 px: drawn 1 px wide</text>\n",
        num(svg, MAP_WIDTH - MAP_MARGIN), num(svg, legend_y), COLOUR_MUTED);
    put(svg, "</g>\n");

    for (size_t h = 0; h < map.heap_count; h++) {
        draw_heap(svg, &map, h, largest_heap, options, placed);
    }
    double missing_y = y;
    for (size_t m = 0; m < options->mark_count; m++) {
        if (placed[m].heap != SIZE_MAX) {
            continue;
        }
        put(svg,
            "<text class=\"mark-missing\" x=\"%s\" y=\"%s\" font-size=\"12\" fill=\"%s\">"
            "not on the map (in no block): ",
            num(svg, MAP_MARGIN), num(svg, missing_y), COLOUR_MARK);
        put_text(svg, options->marks[m].label ? options->marks[m].label : "mark");
        put(svg, " at %s</text>\n",
            address_text(svg, chip_address((uintptr_t)options->marks[m].ptr)));
        missing_y += 16;
    }
    bool ok = finish(svg);
    free(svg);
    free(placed);
    free(map.blocks);
    free(map.heaps);
    return ok;
}

/* ---- the plot ----------------------------------------------------------- */

#define PLOT_WIDTH   1200.0
#define PLOT_LEFT    96.0
#define PLOT_RIGHT   32.0
#define PLOT_INNER   (PLOT_WIDTH - PLOT_LEFT - PLOT_RIGHT)
#define PANEL_HEIGHT 240.0
#define PANEL_GAP    56.0

#define COLOUR_FAILURE "#d62728"
#define COLOUR_GRID    "#e3e3e3"
#define COLOUR_AXIS    "#7a7a7a"

/* Series colours (no red: red is for failures). */
static const char *const plot_colours[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
};
#define PLOT_COLOURS (sizeof(plot_colours) / sizeof(plot_colours[0]))

/* A 1, 2 or 5 times a power of ten step giving about `count` ticks. */
static double nice_step(double range, int count)
{
    double rough = range / count;
    double power = 1;
    while (power * 10 <= rough) {
        power *= 10;
    }
    while (power > rough && power > 1e-9) {
        power /= 10;
    }
    double fraction = rough / power;
    double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
    return nice * power;
}

typedef struct {
    double x0, x1; /* operation range */
    double bytes;  /* top of the bytes axis */
    double unit;   /* 1, KiB or MiB for its labels */
    const char *unit_name;
    double top1, top2; /* panel tops */
} plot_frame_t;

static double plot_x(const plot_frame_t *frame, double op)
{
    return PLOT_LEFT + PLOT_INNER * (op - frame->x0) / (frame->x1 - frame->x0);
}

static double frag_y(const plot_frame_t *frame, double fraction)
{
    return frame->top1 + PANEL_HEIGHT * (1 - fraction);
}

static double bytes_y(const plot_frame_t *frame, double bytes)
{
    return frame->top2 + PANEL_HEIGHT * (1 - bytes / frame->bytes);
}

static void put_series(svg_t *svg, const plot_frame_t *frame, const heap_series_t *series,
                       const char *colour, int which)
{
    static const char *const kinds[] = {"fragmentation", "free", "largest"};
    put(svg, "<polyline class=\"series %s\" data-class=\"", kinds[which]);
    put_text(svg, series->name);
    put(svg, "\" data-points=\"%zu\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
        series->count, colour, which == 2 ? "1.5" : "1.8",
        which == 2 ? " stroke-dasharray=\"6 3\"" : "");
    for (size_t i = 0; i < series->count; i++) {
        const heap_sample_t *sample = &series->samples[i];
        double y = which == 0   ? frag_y(frame, heap_sample_fragmentation(sample))
                   : which == 1 ? bytes_y(frame, (double)sample->free)
                                : bytes_y(frame, (double)sample->largest);
        put(svg, "%s%s,%s", i ? " " : "", num(svg, plot_x(frame, (double)sample->op)), num(svg, y));
    }
    put(svg, "\"/>\n");
    if (series->count == 1) { /* one point draws no line */
        const heap_sample_t *sample = &series->samples[0];
        double y = which == 0   ? frag_y(frame, heap_sample_fragmentation(sample))
                   : which == 1 ? bytes_y(frame, (double)sample->free)
                                : bytes_y(frame, (double)sample->largest);
        put(svg, "<circle cx=\"%s\" cy=\"%s\" r=\"2.5\" fill=\"%s\"/>\n",
            num(svg, plot_x(frame, (double)sample->op)), num(svg, y), colour);
    }
}

/* A panel with its y axis from 0 to max_value (data-max), a grid line and a
 * tick label every `step`, labels in units of label_unit. */
static void put_panel(svg_t *svg, double top, const char *kind, const char *heading,
                      const char *axis_title, double max_value, double step, double label_unit,
                      const char *suffix)
{
    put(svg,
        "<text class=\"panel-heading\" x=\"%s\" y=\"%s\" font-size=\"13\" font-weight=\"bold\" "
        "fill=\"%s\">",
        num(svg, PLOT_LEFT), num(svg, top - 8), COLOUR_TEXT);
    put_text(svg, heading);
    put(svg, "</text>\n");
    put(svg,
        "<rect class=\"panel %s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"#fbfbfb\" "
        "stroke=\"%s\" stroke-width=\"1\"/>\n",
        kind, num(svg, PLOT_LEFT), num(svg, top), num(svg, PLOT_INNER), num(svg, PANEL_HEIGHT),
        COLOUR_AXIS);
    put(svg, "<g class=\"axis %s\" data-min=\"0\" data-max=\"%s\" font-size=\"11\" fill=\"%s\">\n",
        kind, num_decimals(svg, max_value, 0), COLOUR_TEXT);
    for (int tick = 0; tick * step <= max_value * (1 + 1e-9); tick++) {
        double value = tick * step;
        double y = top + PANEL_HEIGHT * (1 - value / max_value);
        put(svg,
            "<line class=\"grid\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1\"/>",
            num(svg, PLOT_LEFT), num(svg, y), num(svg, PLOT_LEFT + PLOT_INNER), num(svg, y),
            COLOUR_GRID);
        put(svg, "<text class=\"tick\" x=\"%s\" y=\"%s\" text-anchor=\"end\">%s%s</text>\n",
            num(svg, PLOT_LEFT - 6), num(svg, y + 4), num_decimals(svg, value / label_unit, 2),
            suffix);
    }
    put(svg,
        "<text class=\"axis-title\" x=\"%s\" y=\"%s\" font-size=\"12\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 %s %s)\">",
        num(svg, 22), num(svg, top + PANEL_HEIGHT / 2), num(svg, 22),
        num(svg, top + PANEL_HEIGHT / 2));
    put_text(svg, axis_title);
    put(svg, "</text>\n</g>\n");
}

bool heap_svg_write_plot(FILE *out, const heap_series_t *series, size_t series_count,
                         const uint64_t *failures, size_t failure_count, const char *title)
{
    svg_t *svg = calloc(1, sizeof(*svg));
    if (!svg) {
        return false;
    }
    svg->out = out;
    svg->ok = true;

    /* Ranges: every sample and failure on the x axis, free bytes on the y. */
    bool any = false;
    uint64_t first = 0, last = 0;
    size_t max_free = 0;
    for (size_t s = 0; s < series_count; s++) {
        for (size_t i = 0; i < series[s].count; i++) {
            const heap_sample_t *sample = &series[s].samples[i];
            first = !any || sample->op < first ? sample->op : first;
            last = !any || sample->op > last ? sample->op : last;
            any = true;
            max_free = sample->free > max_free ? sample->free : max_free;
            max_free = sample->largest > max_free ? sample->largest : max_free;
        }
    }
    for (size_t i = 0; i < failure_count; i++) {
        first = !any || failures[i] < first ? failures[i] : first;
        last = !any || failures[i] > last ? failures[i] : last;
        any = true;
    }
    plot_frame_t frame;
    double x_step = nice_step(last > first ? (double)(last - first) : 1.0, 10);
    if (x_step < 1) {
        x_step = 1;
    }
    frame.x0 = (double)(uint64_t)((double)first / x_step) * x_step;
    frame.x1 = frame.x0;
    while (frame.x1 < (double)last || frame.x1 == frame.x0) {
        frame.x1 += x_step;
    }
    frame.unit = max_free >= 10 * 1024 * 1024 ? 1024.0 * 1024.0 : max_free >= 10 * 1024 ? 1024 : 1;
    frame.unit_name = frame.unit > 1024 ? " MiB" : frame.unit > 1 ? " KiB" : " B";
    double in_units = (double)(max_free ? max_free : 1) / frame.unit;
    double y_step = nice_step(in_units, 5);
    if (frame.unit == 1 && y_step < 1) {
        y_step = 1;
    }
    double y_top = y_step;
    while (y_top < in_units * (1 - 1e-12)) {
        y_top += y_step;
    }
    frame.bytes = y_top * frame.unit;

    /* Legend rows: class swatches, then line styles. */
    double legend_y = 62;
    frame.top1 = legend_y + 40;
    frame.top2 = frame.top1 + PANEL_HEIGHT + PANEL_GAP;
    double height = frame.top2 + PANEL_HEIGHT + 56;

    put_header(svg, PLOT_WIDTH, height, "heap-plot");
    put(svg, "<title>");
    put_text(svg, title ? title : "heap fragmentation");
    put(svg, "</title>\n");
    put(svg,
        "<text class=\"title\" x=\"%s\" y=\"%s\" font-size=\"20\" font-weight=\"bold\" "
        "fill=\"%s\">",
        num(svg, 24), num(svg, 32), COLOUR_TEXT);
    put_text(svg, title ? title : "heap fragmentation");
    put(svg, "</text>\n");

    put(svg, "<g class=\"legend\" font-size=\"12\" fill=\"%s\">\n", COLOUR_TEXT);
    double x = PLOT_LEFT;
    for (size_t s = 0; s < series_count; s++) {
        const char *colour = plot_colours[s % PLOT_COLOURS];
        put(svg,
            "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"3\"/>"
            "<text x=\"%s\" y=\"%s\">",
            num(svg, x), num(svg, legend_y - 4), num(svg, x + 20), num(svg, legend_y - 4), colour,
            num(svg, x + 26), num(svg, legend_y));
        put_text(svg, series[s].name);
        put(svg, "</text>\n");
        x += 26 + text_width(series[s].name, 12) + 22;
    }
    x += 12;
    put(svg,
        "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"1.8\"/>"
        "<text x=\"%s\" y=\"%s\">free bytes</text>\n",
        num(svg, x), num(svg, legend_y - 4), num(svg, x + 24), num(svg, legend_y - 4), COLOUR_TEXT,
        num(svg, x + 30), num(svg, legend_y));
    x += 30 + text_width("free bytes", 12) + 18;
    put(svg,
        "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"6 3\"/><text x=\"%s\" y=\"%s\">largest free block</text>\n",
        num(svg, x), num(svg, legend_y - 4), num(svg, x + 24), num(svg, legend_y - 4), COLOUR_TEXT,
        num(svg, x + 30), num(svg, legend_y));
    x += 30 + text_width("largest free block", 12) + 18;
    put(svg,
        "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>"
        "<text x=\"%s\" y=\"%s\">failed allocation (%zu)</text>\n",
        num(svg, x + 6), num(svg, legend_y - 12), num(svg, x + 6), num(svg, legend_y + 2),
        COLOUR_FAILURE, num(svg, x + 14), num(svg, legend_y), failure_count);
    put(svg, "</g>\n");

    put_panel(svg, frame.top1, "fragmentation",
              "Fragmentation: 1 \xe2\x88\x92 largest free block / free bytes", "fragmentation", 100,
              20, 1, " %");
    char bytes_title[40];
    snprintf(bytes_title, sizeof(bytes_title), "bytes (%s)", frame.unit_name + 1);
    put_panel(svg, frame.top2, "bytes", "Free bytes (solid) and largest free block (dashed)",
              bytes_title, frame.bytes, y_step * frame.unit, frame.unit, "");

    /* The x axis: vertical grid lines through both panels, labels below. */
    put(svg,
        "<g class=\"axis operation\" data-min=\"%s\" data-max=\"%s\" font-size=\"11\" "
        "fill=\"%s\">\n",
        num_decimals(svg, frame.x0, 0), num_decimals(svg, frame.x1, 0), COLOUR_TEXT);
    for (int tick = 0; frame.x0 + tick * x_step <= frame.x1 + x_step * 1e-9; tick++) {
        double op = frame.x0 + tick * x_step;
        double px = plot_x(&frame, op);
        for (int panel = 0; panel < 2; panel++) {
            double top = panel ? frame.top2 : frame.top1;
            put(svg,
                "<line class=\"grid\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" "
                "stroke-width=\"1\"/>",
                num(svg, px), num(svg, top), num(svg, px), num(svg, top + PANEL_HEIGHT),
                COLOUR_GRID);
            put(svg, "<text class=\"tick\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n",
                num(svg, px), num(svg, top + PANEL_HEIGHT + 16), num_decimals(svg, op, 0));
        }
    }
    put(svg,
        "<text class=\"axis-title\" x=\"%s\" y=\"%s\" font-size=\"12\" "
        "text-anchor=\"middle\">operation</text>\n</g>\n",
        num(svg, PLOT_LEFT + PLOT_INNER / 2), num(svg, frame.top2 + PANEL_HEIGHT + 38));

    for (size_t i = 0; i < failure_count; i++) {
        double px = plot_x(&frame, (double)failures[i]);
        /* One element per failure: a line through each panel (not across the
         * tick labels between them) and a small triangle on top. */
        put(svg,
            "<path class=\"failure\" data-op=\"%" PRIu64
            "\" d=\"M%s %sV%sM%s %sV%sM%s %sh8l-4 7z\" "
            "stroke=\"%s\" stroke-width=\"1\" stroke-opacity=\"0.7\" fill=\"%s\"/>\n",
            failures[i], num(svg, px), num(svg, frame.top1), num(svg, frame.top1 + PANEL_HEIGHT),
            num(svg, px), num(svg, frame.top2), num(svg, frame.top2 + PANEL_HEIGHT),
            num(svg, px - 4), num(svg, frame.top1), COLOUR_FAILURE, COLOUR_FAILURE);
    }
    for (size_t s = 0; s < series_count; s++) {
        const char *colour = plot_colours[s % PLOT_COLOURS];
        put_series(svg, &frame, &series[s], colour, 0);
        put_series(svg, &frame, &series[s], colour, 1);
        put_series(svg, &frame, &series[s], colour, 2);
    }
    bool ok = finish(svg);
    free(svg);
    return ok;
}

/* ---- into files ---------------------------------------------------------- */

static FILE *open_output(const char *command, const char *path)
{
    FILE *file = fopen(path, "w");
    if (!file) {
        fprintf(stderr, "%s: cannot write %s: %s\n", command, path, strerror(errno));
    }
    return file;
}

/* Close `file` after a write that returned `written`; report a failure. */
static bool close_output(const char *command, const char *path, FILE *file, bool written)
{
    int saved = errno;
    bool closed = fclose(file) == 0;
    if (!written || !closed) {
        fprintf(stderr, "%s: cannot write %s: %s\n", command, path,
                strerror(closed ? saved : errno));
    }
    return written && closed;
}

bool heap_svg_save_map(const char *command, const char *path, const heap_svg_map_options_t *options)
{
    FILE *file = open_output(command, path);
    return file && close_output(command, path, file, heap_svg_write_map(file, options));
}

bool heap_svg_save_plot(const char *command, const char *path, const heap_series_t *series,
                        size_t series_count, const uint64_t *failures, size_t failure_count,
                        const char *title)
{
    FILE *file = open_output(command, path);
    return file && close_output(command, path, file,
                                heap_svg_write_plot(file, series, series_count, failures,
                                                    failure_count, title));
}
