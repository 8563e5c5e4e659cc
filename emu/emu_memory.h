/*
 * emu_memory.h — the emulator's RAM (private to emu/): which chip address
 * ranges a booted chip needs backed by memory and with which pages
 * (emu_plan.c), and putting them into the process (emu_map.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_EMU_MEMORY_H
#define HEAPCAPS_EMU_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "heapcaps/layout.h"

/** Memory objects a span's pages come from. */
typedef enum {
    EMU_OBJECT_RAM = 0, /**< all internal RAM (one memfd; aliases share its pages) */
    EMU_OBJECT_PSRAM,   /**< the physical PSRAM (its own memfd, mapped at the window) */
    EMU_OBJECT_COUNT,
} emu_object_t;

/** Chip addresses [chip_low, chip_high), page aligned, backed by `object` from `offset` on. */
typedef struct {
    uint64_t chip_low;
    uint64_t chip_high;
    emu_object_t object;
    uint64_t offset;
} emu_span_t;

#define EMU_MAX_SPANS 96

/** Pages mapped over a span's own ones since the boot (himem's bank window). */
#define EMU_MAX_REMAPS 64

/** What to map for one boot (no system calls made yet). */
typedef struct {
    emu_span_t spans[EMU_MAX_SPANS]; /**< disjoint, ascending chip addresses */
    size_t span_count;
    uint64_t object_size[EMU_OBJECT_COUNT];
    /** Chip range every address the SoC facts name lies in (page aligned): a
     *  fallback window this wide keeps foreign host pointers out of them. */
    uint64_t facts_low, facts_high;
} emu_plan_t;

/** What the plan asks of the chip (from the boot options). */
typedef struct {
    const heapcaps_layout_t *layout; /**< built layout, chip addresses */
    bool memprot;                    /**< memory protection on: no IRAM aliases mapped */
    uint64_t psram_physical_size;    /**< bytes of PSRAM chips (the PSRAM object) */
    uint64_t psram_window_size;      /**< bytes of it mapped at soc->extram_low */
    size_t page_size;
} emu_plan_request_t;

/**
 * Compute the spans: every layout region except the PSRAM one (reserved
 * parts included: they are RAM too), the PSRAM window, and, with memory
 * protection off, the IRAM alias ranges (linear: the DRAM side's pages;
 * inverted, ESP32: pages of their own). Ranges are rounded out to pages and
 * merged. @return ESP_OK, ESP_ERR_INVALID_SIZE when ranges collide or the
 * tables overflow.
 */
esp_err_t emu_plan_build(const emu_plan_request_t *request, emu_plan_t *plan);

/** RAM of a booted chip in this process. */
typedef struct {
    int fd[EMU_OBJECT_COUNT]; /**< memfds, -1 when absent */
    uint64_t object_size[EMU_OBJECT_COUNT];
    bool real_addresses; /**< spans at the chip's own addresses */
    void *window;        /**< fallback: the PROT_NONE reservation */
    size_t window_size;
    uint64_t window_chip_low;        /**< chip address at `window` */
    intptr_t address_offset;         /**< host address - chip address */
    emu_span_t spans[EMU_MAX_SPANS]; /**< what is mapped (for lookups and unmapping) */
    size_t span_count;
    emu_span_t remaps[EMU_MAX_REMAPS]; /**< emu_memory_remap() calls in force, disjoint */
    size_t remap_count;
} emu_memory_t;

/**
 * Create the memory objects and map `plan`: at the chip's addresses when
 * all of them are free (MAP_FIXED_NOREPLACE), else inside one host-chosen
 * window (a notice on stderr, once per process). `name` labels the memfds.
 * A child forked while it is mapped gets its own copy of the memory, as with
 * private memory (the mappings are shared ones, for the aliases). `memory`
 * must stay where it is until emu_memory_unmap().
 * @return ESP_OK or ESP_ERR_NO_MEM (nothing left mapped).
 */
esp_err_t emu_memory_map(const emu_plan_t *plan, const char *name, emu_memory_t *memory);

/** Unmap everything and close the memory objects; `memory` is left empty. */
void emu_memory_unmap(emu_memory_t *memory);

/**
 * Show other pages of a memory object at chip addresses [chip_low,
 * chip_low + length) inside a mapped span, as a memory management unit
 * does: `object`'s bytes from `offset` on. Page aligned. A forked child
 * keeps the mapping. @return ESP_OK; ESP_ERR_INVALID_ARG for a range
 * outside the spans, beyond the object or not page aligned;
 * ESP_ERR_NO_MEM when the host refuses or the remap table is full.
 */
esp_err_t emu_memory_remap(emu_memory_t *memory, uint64_t chip_low, uint64_t length,
                           emu_object_t object, uint64_t offset);

/** True when host address `host` lies in a mapped span. */
bool emu_memory_contains(const emu_memory_t *memory, uintptr_t host);

#endif /* HEAPCAPS_EMU_MEMORY_H */
