/*
 * emu.c — booting an emulated chip (heapcaps/emu.h): options to a chip
 * layout, its RAM mapped into the process, the heaps brought up in the order
 * an ESP-IDF application's startup does (heap init, PSRAM, startup-stack
 * heaps, DMA/internal reserve pool), and shutdown.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* sysconf() and _SC_PAGESIZE under -std=c11 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "emu_himem.h"
#include "emu_memory.h"
#include "esp_heap_caps.h"
#include "esp_heap_caps_init.h"
#include "heap_caps_private.h"
#include "heapcaps/emu.h"
#include "heapcaps/layout.h"
#include "heapcaps/log.h"
#include "layouts/chip.h"
#include "port/port.h"

/* ESP-IDF's Kconfig defaults (CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL,
 * CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL, CONFIG_SPIRAM_BANKSWITCH_RESERVE
 * and its range). */
#define DEFAULT_PSRAM_ALWAYS_INTERNAL  16384
#define DEFAULT_PSRAM_RESERVE_INTERNAL 32768
#define DEFAULT_HIMEM_RESERVE          8
#define MAX_HIMEM_RESERVE              62

enum { PSRAM_USE_MALLOC = 0, PSRAM_USE_CAPS_ALLOC = 1, PSRAM_USE_MEMMAP = 2 };

/* Everything a booted chip owns; the layout tables must outlive the install. */
static struct {
    bool booted;
    const heapcaps_chip_t *chip;
    heapcaps_chip_layout_t built;
    emu_memory_t memory;
    bool himem; /* himem's window reserved and himem started */
} emu;

static const heapcaps_emu_options_t default_options = {0};

/* A size option: 0 = ESP-IDF's default, HEAPCAPS_EMU_NONE = zero bytes. */
static size_t size_option(long value, size_t esp_idf_default)
{
    return value == 0 ? esp_idf_default : value == HEAPCAPS_EMU_NONE ? 0 : (size_t)value;
}

static bool resolve_switch(heapcaps_emu_switch_t value, bool chip_default)
{
    return value == HEAPCAPS_EMU_DEFAULT ? chip_default : value == HEAPCAPS_EMU_ON;
}

static bool valid_switch(heapcaps_emu_switch_t value)
{
    return value == HEAPCAPS_EMU_DEFAULT || value == HEAPCAPS_EMU_ON || value == HEAPCAPS_EMU_OFF;
}

static size_t max_physical_psram(const heapcaps_chip_t *chip)
{
    return chip->max_physical_psram ? chip->max_physical_psram : chip->max_psram;
}

/* Himem in use: asked for, or by default when PSRAM goes beyond the window
 * (the rest is reachable only through himem). */
static bool himem_in_use(const heapcaps_chip_t *chip, const heapcaps_emu_options_t *options)
{
    bool beyond = chip->max_physical_psram != 0 && options->psram_size > chip->max_psram;
    return resolve_switch(options->himem, beyond);
}

static esp_err_t check_options(const heapcaps_chip_t *chip, const heapcaps_emu_options_t *options)
{
    if (!valid_switch(options->memprot) || !valid_switch(options->rtc_heap) ||
        !valid_switch(options->himem) || options->psram_use < PSRAM_USE_MALLOC ||
        options->psram_use > PSRAM_USE_MEMMAP || options->psram_always_internal < -1 ||
        options->psram_reserve_internal < -1 || options->himem_reserve < 0 ||
        options->himem_reserve > MAX_HIMEM_RESERVE) {
        return ESP_ERR_INVALID_ARG;
    }
    if (himem_in_use(chip, options) && chip->max_physical_psram == 0) {
        return ESP_ERR_INVALID_ARG; /* no himem on this chip */
    }
    if (options->static_dram > UINT32_MAX || options->iram_code > UINT32_MAX ||
        options->psram_size > max_physical_psram(chip) ||
        (himem_in_use(chip, options) && options->psram_size < chip->max_psram)) {
        return ESP_ERR_INVALID_SIZE; /* also PSRAM on a chip without (max_psram 0), and a
                                        himem window beyond the PSRAM there is */
    }
    return ESP_OK;
}

static intptr_t host_address(uint32_t chip_address)
{
    return (intptr_t)((uintptr_t)chip_address + (uintptr_t)emu.memory.address_offset);
}

/* esp_psram's startup: the mapped PSRAM becomes a heap with the caps of the
 * layout's SPIRAM region. */
static esp_err_t add_psram_heap(size_t window_size)
{
    heapcaps_port_log('I', "esp_psram", "Adding pool of %dK of PSRAM memory to heap allocator",
                      (int)(window_size / 1024));
    /* esp_psram registers PSRAM with caps of its own, not the SPIRAM memory
     * type's: DEFAULT at the highest priority, so that heap_caps_malloc(n,
     * MALLOC_CAP_DEFAULT) prefers PSRAM (the list head) while malloc() does not. */
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {
        MALLOC_CAP_SPIRAM | MALLOC_CAP_DEFAULT,
        0,
        MALLOC_CAP_8BIT | MALLOC_CAP_32BIT | MALLOC_CAP_SIMD,
    };
    intptr_t start = host_address(emu.chip->soc.extram_low);
    return heap_caps_add_region_with_caps(caps, start, start + (intptr_t)window_size);
}

/*
 * CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL as ESP-IDF's main task applies it:
 * take the largest DMA-capable internal block (up to what is still missing)
 * and register it again as a heap only DMA/internal requests reach first.
 * The end passed is start + size - 1, as ESP-IDF does (one byte unused).
 */
static esp_err_t reserve_internal_pool(size_t size)
{
    const uint32_t caps[SOC_MEMORY_TYPE_NO_PRIOS] = {
        0,
        MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL,
        MALLOC_CAP_DEFAULT | MALLOC_CAP_8BIT | MALLOC_CAP_32BIT,
    };
    heapcaps_port_log('I', "esp_psram",
                      "Reserving pool of %dK of internal memory for DMA/internal allocations",
                      (int)(size / 1024));
    while (size > 0) {
        size_t block_size = heap_caps_get_largest_free_block(MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL);
        if (block_size > size) {
            block_size = size;
        }
        void *block = heap_caps_malloc(block_size, MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL);
        if (!block || block_size == 0) {
            return ESP_ERR_NO_MEM;
        }
        esp_err_t err = heap_caps_add_region_with_caps(caps, (intptr_t)block,
                                                       (intptr_t)block + (intptr_t)block_size - 1);
        if (err != ESP_OK) {
            return err;
        }
        size -= block_size;
    }
    return ESP_OK;
}

/* Himem's window: the last pages of the PSRAM address window; its banks: the
 * physical PSRAM from the window's own pages on (emu_himem.h). */
static emu_himem_setup_t himem_setup(const heapcaps_emu_options_t *options, size_t psram_window)
{
    size_t pages = options->himem_reserve ? (size_t)options->himem_reserve : DEFAULT_HIMEM_RESERVE;
    size_t window_bytes = pages * EMU_HIMEM_PAGE;
    return (emu_himem_setup_t){
        .window_chip = emu.chip->soc.extram_low + (uint32_t)(psram_window - window_bytes),
        .window_blocks = pages,
        .physical_start = psram_window - window_bytes,
        .physical_size = options->psram_size,
    };
}

/* The heap part of an application's startup, on the installed layout. */
static esp_err_t start_heaps(const heapcaps_emu_options_t *options, size_t psram_window)
{
    heap_caps_init();
    esp_err_t err = ESP_OK;
    emu_himem_setup_t himem = {0};
    if (emu.himem) {
        /* esp_psram leaves himem's window out of the PSRAM heap. */
        himem = himem_setup(options, psram_window);
        psram_window -= himem.window_blocks * EMU_HIMEM_PAGE;
    }
    if (psram_window > 0 && options->psram_use != PSRAM_USE_MEMMAP) {
        err = add_psram_heap(psram_window);
        if (err != ESP_OK) {
            return err;
        }
        if (options->psram_use == PSRAM_USE_MALLOC) {
            heap_caps_malloc_extmem_enable(
                size_option(options->psram_always_internal, DEFAULT_PSRAM_ALWAYS_INTERNAL));
        }
    }
    heap_caps_enable_nonos_stack_heaps();
    if (psram_window > 0 && options->psram_use == PSRAM_USE_MALLOC) {
        size_t size = size_option(options->psram_reserve_internal, DEFAULT_PSRAM_RESERVE_INTERNAL);
        if (size > 0) {
            err = reserve_internal_pool(size);
            if (err != ESP_OK) {
                /* ESP-IDF aborts here; a host program gets the error instead. */
                heapcaps_port_log('E', "app_start",
                                  "Could not reserve internal/DMA pool (error 0x%x)", err);
                return err;
            }
        }
    }
    if (emu.himem) {
        emu_himem_start(&himem); /* a constructor, on the device: after the heaps */
    }
    return err;
}

esp_err_t heapcaps_emu_boot(const char *target, const heapcaps_emu_options_t *options)
{
    if (emu.booted || heapcaps_layout_installed()) {
        return ESP_ERR_INVALID_STATE;
    }
    const heapcaps_chip_t *chip = heapcaps_chip_find(target ? target : "esp32");
    if (!chip) {
        return ESP_ERR_NOT_FOUND;
    }
    if (!options) {
        options = &default_options;
    }
    esp_err_t err = check_options(chip, options);
    if (err != ESP_OK) {
        return err;
    }

    bool memprot = resolve_switch(options->memprot, chip->default_memprot);
    heapcaps_chip_options_t chip_options = {
        .memprot = memprot,
        .rtc_heap = resolve_switch(options->rtc_heap, chip->default_rtc_heap),
        .psram = options->psram_size > 0,
        .static_dram = (uint32_t)options->static_dram,
        .iram_code = (uint32_t)options->iram_code,
    };
    err = heapcaps_chip_build_layout(chip, &chip_options, &emu.built);
    if (err != ESP_OK) {
        return err == ESP_ERR_INVALID_ARG ? ESP_ERR_INVALID_SIZE : err;
    }

    /* Physical PSRAM and its mapped window are separate sizes: only the
     * window's worth is reachable by address (the rest is for himem). */
    size_t psram_window =
        options->psram_size < chip->max_psram ? options->psram_size : chip->max_psram;
    emu_plan_request_t request = {
        .layout = &emu.built.layout,
        .memprot = memprot,
        .psram_physical_size = options->psram_size,
        .psram_window_size = psram_window,
        .page_size = (size_t)sysconf(_SC_PAGESIZE),
    };
    static emu_plan_t plan; /* large; boot is not reentrant anyway */
    err = emu_plan_build(&request, &plan);
    if (err != ESP_OK) {
        return err;
    }
    err = emu_memory_map(&plan, chip->name, &emu.memory);
    if (err != ESP_OK) {
        return err;
    }
    emu.built.layout.address_offset = emu.memory.address_offset;
    emu.built.layout.psram_size = psram_window;
    err = heapcaps_layout_install(&emu.built.layout);
    if (err != ESP_OK) {
        emu_memory_unmap(&emu.memory);
        return err;
    }
    emu.chip = chip;
    emu.booted = true;
    emu.himem = himem_in_use(chip, options) && options->psram_size > 0;

    heapcaps_registry_reset(); /* a boot starts from no heaps, whatever ran before */
    bool log_was_enabled = true;
    if (options->quiet) {
        log_was_enabled = heapcaps_log_set_enabled(false);
    }
    heapcaps_log_reset_clock();
    err = start_heaps(options, psram_window);
    if (options->quiet) {
        heapcaps_log_set_enabled(log_was_enabled);
    }
    if (err != ESP_OK) {
        heapcaps_emu_shutdown();
    }
    return err;
}

void heapcaps_emu_shutdown(void)
{
    if (!emu.booted) {
        return;
    }
    emu_himem_stop();
    heapcaps_registry_reset();
    heapcaps_layout_uninstall();
    emu_memory_unmap(&emu.memory);
    emu.chip = NULL;
    emu.booted = false;
    emu.himem = false;
}

esp_err_t emu_himem_set_bank(uint32_t window_chip, uint64_t physical)
{
    if (!emu.himem) {
        return ESP_ERR_INVALID_STATE;
    }
    return emu_memory_remap(&emu.memory, window_chip, EMU_HIMEM_PAGE, EMU_OBJECT_PSRAM, physical);
}

const char *heapcaps_emu_target(void)
{
    return emu.booted ? emu.chip->name : NULL;
}

bool heapcaps_emu_real_addresses(void)
{
    return emu.booted && emu.memory.real_addresses;
}

void *heapcaps_emu_host_ptr(uint32_t chip_address)
{
    return emu.booted ? (void *)host_address(chip_address) : NULL;
}

uint32_t heapcaps_emu_chip_address(const void *host_ptr)
{
    uintptr_t host = (uintptr_t)host_ptr;
    if (!emu.booted || !emu_memory_contains(&emu.memory, host)) {
        return 0;
    }
    return (uint32_t)(host - (uintptr_t)emu.memory.address_offset);
}

const char *const *heapcaps_emu_targets(void)
{
    /* Built from the chip table on first use; the table is constant data. */
    static const char *names[32];
    if (!names[0]) {
        size_t count = 0;
        for (size_t i = 0; heapcaps_chips[i] && count + 1 < sizeof(names) / sizeof(names[0]); i++) {
            names[count++] = heapcaps_chips[i]->name;
        }
        names[count] = NULL;
    }
    return names;
}
