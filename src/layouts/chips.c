/*
 * chips.c — the known chips, and turning one chip's data plus an
 * application's options into the layout heap_caps_init() consumes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "layouts/chip.h"

#include <string.h>

#include "esp_heap_caps.h"

extern const heapcaps_chip_t heapcaps_chip_esp32;
extern const heapcaps_chip_t heapcaps_chip_esp32s2;
extern const heapcaps_chip_t heapcaps_chip_esp32s3;
extern const heapcaps_chip_t heapcaps_chip_esp32c3;
extern const heapcaps_chip_t heapcaps_chip_esp32c6;
extern const heapcaps_chip_t heapcaps_chip_esp32h2;
extern const heapcaps_chip_t heapcaps_chip_esp32p4;

const heapcaps_chip_t *const heapcaps_chips[] = {
    &heapcaps_chip_esp32,   &heapcaps_chip_esp32s2, &heapcaps_chip_esp32s3, &heapcaps_chip_esp32c3,
    &heapcaps_chip_esp32c6, &heapcaps_chip_esp32h2, &heapcaps_chip_esp32p4, NULL,
};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* strcmp() == 0, without libc (the library stays freestanding). */
static bool names_equal(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const heapcaps_chip_t *heapcaps_chip_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; heapcaps_chips[i] != NULL; i++) {
        if (names_equal(heapcaps_chips[i]->name, name)) {
            return heapcaps_chips[i];
        }
    }
    return NULL;
}

static bool region_exists(uint32_t when, const heapcaps_chip_options_t *options)
{
    if ((when & HEAPCAPS_REGION_IF_RTC_HEAP) && !options->rtc_heap) {
        return false;
    }
    if ((when & HEAPCAPS_REGION_IF_NO_MEMPROT) && options->memprot) {
        return false;
    }
    if ((when & HEAPCAPS_REGION_IF_PSRAM) && !options->psram) {
        return false;
    }
    return true;
}

/* Chip addresses are 32-bit; 64-bit arithmetic cannot overflow with them. */
typedef struct {
    uint64_t start, end;
} span_t;

static span_t span_of_region(const soc_memory_region_t *region)
{
    span_t span = {(uint64_t)(uintptr_t)region->start,
                   (uint64_t)(uintptr_t)region->start + region->size};
    return span;
}

/* [start, end) lies in internal RAM of the chip's table: a chain of
 * adjacent regions (any condition except PSRAM) covers it. Static RAM
 * outside the table would be memory the chip does not have. */
static bool span_in_region_table(const heapcaps_chip_t *chip, span_t wanted)
{
    uint64_t covered_to = wanted.start;
    while (covered_to < wanted.end) {
        bool advanced = false;
        for (size_t i = 0; i < chip->region_count; i++) {
            span_t region = span_of_region(&chip->regions[i].region);
            if (!(chip->regions[i].when & HEAPCAPS_REGION_IF_PSRAM) && region.start <= covered_to &&
                covered_to < region.end) {
                covered_to = region.end;
                advanced = true;
                break;
            }
        }
        if (!advanced) {
            return false;
        }
    }
    return true;
}

static bool reserved_ranges_disjoint(const soc_reserved_region_t *reserved, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        for (size_t j = i + 1; j < count; j++) {
            if (reserved[i].start < reserved[j].end && reserved[j].start < reserved[i].end) {
                return false;
            }
        }
    }
    return true;
}

/* Append the application's static range [start, start + size); empty
 * ranges are left out. */
static bool add_static_range(const heapcaps_chip_t *chip, uint32_t start, uint32_t size,
                             heapcaps_chip_layout_t *out, size_t *count)
{
    if (size == 0) {
        return true;
    }
    span_t span = {start, (uint64_t)start + size};
    if (!span_in_region_table(chip, span) || *count == COUNT_OF(out->reserved)) {
        return false;
    }
    out->reserved[*count].start = (intptr_t)span.start;
    out->reserved[*count].end = (intptr_t)span.end;
    (*count)++;
    return true;
}

esp_err_t heapcaps_chip_build_layout(const heapcaps_chip_t *chip,
                                     const heapcaps_chip_options_t *options,
                                     heapcaps_chip_layout_t *out)
{
    if (chip == NULL || options == NULL || out == NULL || chip->type_count > COUNT_OF(out->types) ||
        chip->reserved_count > COUNT_OF(out->reserved) ||
        (options->psram && chip->max_psram == 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));

    /* Types: with memory protection no heap may hold code. */
    for (size_t t = 0; t < chip->type_count; t++) {
        out->types[t] = chip->types[t];
        if (options->memprot) {
            for (size_t prio = 0; prio < SOC_MEMORY_TYPE_NO_PRIOS; prio++) {
                out->types[t].caps[prio] &= ~(uint32_t)MALLOC_CAP_EXEC;
            }
        }
    }

    size_t region_count = 0;
    for (size_t r = 0; r < chip->region_count; r++) {
        if (!region_exists(chip->regions[r].when, options)) {
            continue;
        }
        if (region_count == COUNT_OF(out->regions)) {
            return ESP_ERR_INVALID_ARG;
        }
        out->regions[region_count++] = chip->regions[r].region;
    }

    size_t reserved_count = chip->reserved_count;
    if (reserved_count > 0) {
        memcpy(out->reserved, chip->reserved, reserved_count * sizeof(out->reserved[0]));
    }
    uint32_t static_dram = options->static_dram ? options->static_dram : chip->default_static_dram;
    if (!add_static_range(chip, chip->static_dram_start, static_dram, out, &reserved_count)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (chip->iram_code_start != 0) {
        uint32_t iram_code = options->iram_code ? options->iram_code : chip->default_iram_code;
        if (!add_static_range(chip, chip->iram_code_start, iram_code, out, &reserved_count)) {
            return ESP_ERR_INVALID_ARG;
        }
    }
    if (options->psram) {
        /* The whole window, as ESP-IDF does: esp_psram adds the PSRAM that
         * is really there with heap_caps_add_region() later. */
        if (reserved_count == COUNT_OF(out->reserved)) {
            return ESP_ERR_INVALID_ARG;
        }
        out->reserved[reserved_count].start = (intptr_t)chip->soc.extram_low;
        out->reserved[reserved_count].end = (intptr_t)chip->soc.extram_high;
        reserved_count++;
    }
    /* Static RAM running into ROM data or the other static range is an
     * application the linker would not have produced. */
    if (!reserved_ranges_disjoint(out->reserved, reserved_count)) {
        return ESP_ERR_INVALID_ARG;
    }

    out->layout.name = chip->name;
    out->layout.soc = &chip->soc;
    out->layout.types = out->types;
    out->layout.type_count = chip->type_count;
    out->layout.regions = out->regions;
    out->layout.region_count = region_count;
    out->layout.reserved = out->reserved;
    out->layout.reserved_count = reserved_count;
    out->layout.address_offset = 0;
    out->layout.psram_size = 0;
    out->layout.memprot = options->memprot;
    return ESP_OK;
}
