/*
 * himem.c — the ESP32 himem API (esp32/himem.h) on the emulated chip:
 * physical PSRAM blocks of 32 KiB beyond the mapped window, a window of
 * pages at the top of the PSRAM address range, and mapping that switches
 * which physical block a window page shows (emu_himem_set_bank()).
 *
 * The bookkeeping follows the device: one record per physical block and per
 * window block, allocated from the chip's heap when himem starts; handles
 * from the chip's heap too (calloc on the device). Checks come in the
 * device's order, with its messages. Differences (NULL handles, unmapping
 * a block that is not mapped, sizes when himem is not available) are in
 * docs/himem.md.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "emu_himem.h"
#include "esp32/himem.h"
#include "heapcaps/emu.h"
#include "heapcaps/esp_libc.h"
#include "heapcaps/lock.h"
#include "port/port.h"

static const char TAG[] = "esp_himem";

/* A physical block: claimed by a handle, shown in the window. */
typedef struct {
    bool claimed;
    bool mapped;
} ram_block_t;

/* A window block: claimed by a range handle, showing physical block `shows`. */
typedef struct {
    bool claimed;
    bool mapped;
    uint16_t shows;
} window_block_t;

struct esp_himem_ramdata_t {
    size_t block_count;
    uint16_t *block; /* physical block of each of the handle's blocks */
};

struct esp_himem_rangedata_t {
    size_t block_count;
    size_t first; /* window block of the range's first block */
};

static struct {
    bool ready;
    emu_himem_setup_t setup;
    size_t ram_count;
    ram_block_t *ram;
    window_block_t *window;
    heapcaps_lock_t lock;
} himem;

/* ESP_RETURN_ON_FALSE's form: "<function>(<line>): <message>". */
#define RETURN_UNLESS(condition, error, message)                                                   \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            heapcaps_port_log('E', TAG, "%s(%d): %s", __func__, __LINE__, message);                \
            return error;                                                                          \
        }                                                                                          \
    } while (0)

/* Checks that need the lock released on the way out. */
#define RETURN_UNLOCKING_UNLESS(condition, error, message)                                         \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            heapcaps_port_unlock(&himem.lock);                                                     \
            heapcaps_port_log('E', TAG, "%s(%d): %s", __func__, __LINE__, message);                \
            return error;                                                                          \
        }                                                                                          \
    } while (0)

void emu_himem_start(const emu_himem_setup_t *setup)
{
    if (himem.ready) {
        heapcaps_port_log('E', TAG, "%s: already initialized", __func__);
        return;
    }
    size_t ram_count = (size_t)((setup->physical_size - setup->physical_start) / EMU_HIMEM_PAGE);
    himem.ram = heapcaps_libc_calloc(ram_count ? ram_count : 1, sizeof(ram_block_t));
    himem.window = heapcaps_libc_calloc(setup->window_blocks, sizeof(window_block_t));
    if (!himem.ram || !himem.window) {
        heapcaps_port_log('E', TAG, "Cannot allocate memory for meta info. Not initializing!");
        heapcaps_libc_free(himem.ram);
        heapcaps_libc_free(himem.window);
        himem.ram = NULL;
        himem.window = NULL;
        return;
    }
    himem.setup = *setup;
    himem.ram_count = ram_count;
    heapcaps_lock_init(&himem.lock);
    himem.ready = true;
    heapcaps_port_log('I', TAG,
                      "Initialized. Using last %d 32KB address blocks for bank switching on %d KB "
                      "of physical memory.",
                      (int)setup->window_blocks, (int)(esp_himem_get_phys_size() / 1024));
}

void emu_himem_stop(void)
{
    if (himem.ready) {
        heapcaps_lock_destroy(&himem.lock);
    }
    /* The descriptors were in the chip's heap, which goes with the chip. */
    memset(&himem, 0, sizeof(himem));
}

size_t esp_himem_get_phys_size(void)
{
    return himem.ready ? himem.ram_count * ESP_HIMEM_BLKSZ : 0;
}

size_t esp_himem_get_free_size(void)
{
    if (!himem.ready) {
        return 0;
    }
    heapcaps_port_lock(&himem.lock);
    size_t free_blocks = 0;
    for (size_t i = 0; i < himem.ram_count; i++) {
        free_blocks += !himem.ram[i].claimed;
    }
    heapcaps_port_unlock(&himem.lock);
    return free_blocks * ESP_HIMEM_BLKSZ;
}

size_t esp_himem_reserved_area_size(void)
{
    return himem.ready ? himem.setup.window_blocks * ESP_HIMEM_BLKSZ : 0;
}

esp_err_t esp_himem_alloc(size_t size, esp_himem_handle_t *handle_out)
{
    if (size % ESP_HIMEM_BLKSZ != 0) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (!handle_out) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t blocks = size / ESP_HIMEM_BLKSZ;
    esp_himem_handle_t handle = heapcaps_libc_calloc(1, sizeof(*handle));
    /* No blocks: no array, ESP_ERR_NO_MEM (calloc of none is NULL on the device). */
    uint16_t *block = handle && blocks ? heapcaps_libc_calloc(blocks, sizeof(uint16_t)) : NULL;
    if (!block || !himem.ready) {
        heapcaps_libc_free(block);
        heapcaps_libc_free(handle);
        return ESP_ERR_NO_MEM;
    }
    heapcaps_port_lock(&himem.lock);
    size_t found = 0;
    for (size_t i = 0; i < himem.ram_count && found < blocks; i++) {
        if (!himem.ram[i].claimed) {
            block[found++] = (uint16_t)i;
        }
    }
    if (found < blocks) {
        heapcaps_port_unlock(&himem.lock);
        heapcaps_libc_free(block);
        heapcaps_libc_free(handle);
        return ESP_ERR_NO_MEM;
    }
    for (size_t i = 0; i < blocks; i++) {
        himem.ram[block[i]].claimed = true;
    }
    heapcaps_port_unlock(&himem.lock);
    handle->block_count = blocks;
    handle->block = block;
    *handle_out = handle;
    return ESP_OK;
}

esp_err_t esp_himem_alloc_map_range(size_t size, esp_himem_rangehandle_t *handle_out)
{
    RETURN_UNLESS(himem.ready, ESP_ERR_INVALID_STATE, "Himem not available!");
    RETURN_UNLESS(size % ESP_HIMEM_BLKSZ == 0, ESP_ERR_INVALID_SIZE,
                  "requested size not aligned to blocksize");
    if (!handle_out) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t blocks = size / ESP_HIMEM_BLKSZ;
    esp_himem_rangehandle_t range = heapcaps_libc_calloc(1, sizeof(*range));
    if (!range) {
        return ESP_ERR_NO_MEM;
    }
    heapcaps_port_lock(&himem.lock);
    /* The lowest run of `blocks` free window blocks. */
    bool found = false;
    size_t run_start = 0;
    for (size_t i = 0; blocks > 0 && i < himem.setup.window_blocks; i++) {
        if (himem.window[i].claimed) {
            run_start = i + 1;
        } else if (i + 1 - run_start == blocks) {
            found = true;
            break;
        }
    }
    if (!found) {
        heapcaps_port_unlock(&himem.lock);
        heapcaps_libc_free(range);
        return ESP_ERR_NO_MEM;
    }
    for (size_t i = 0; i < blocks; i++) {
        himem.window[run_start + i].claimed = true;
    }
    heapcaps_port_unlock(&himem.lock);
    range->block_count = blocks;
    range->first = run_start;
    *handle_out = range;
    return ESP_OK;
}

/* Host address of window block `index`. */
static char *window_address(size_t index)
{
    return heapcaps_emu_host_ptr(himem.setup.window_chip + (uint32_t)(index * ESP_HIMEM_BLKSZ));
}

esp_err_t esp_himem_map(esp_himem_handle_t handle, esp_himem_rangehandle_t range, size_t ram_offset,
                        size_t range_offset, size_t len, int flags, void **out_ptr)
{
    (void)flags; /* ESP_HIMEM_MAPFLAG_RO: ignored, as on the device */
    RETURN_UNLESS(himem.ready, ESP_ERR_INVALID_STATE, "Himem not available!");
    RETURN_UNLESS(ram_offset % ESP_HIMEM_BLKSZ == 0, ESP_ERR_INVALID_ARG,
                  "ram offset not aligned to blocksize");
    RETURN_UNLESS(range_offset % ESP_HIMEM_BLKSZ == 0, ESP_ERR_INVALID_ARG,
                  "range not aligned to blocksize");
    RETURN_UNLESS(len % ESP_HIMEM_BLKSZ == 0, ESP_ERR_INVALID_ARG,
                  "length not aligned to blocksize");
    if (!handle || !range || !out_ptr) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t ram_block = ram_offset / ESP_HIMEM_BLKSZ;
    size_t range_block = range_offset / ESP_HIMEM_BLKSZ;
    size_t count = len / ESP_HIMEM_BLKSZ;
    RETURN_UNLESS(ram_block <= handle->block_count && count <= handle->block_count - ram_block,
                  ESP_ERR_INVALID_SIZE, "args not in range of phys ram handle");
    RETURN_UNLESS(range_block <= range->block_count && count <= range->block_count - range_block,
                  ESP_ERR_INVALID_SIZE, "args not in range of range handle");

    /* Checked and marked under one lock: two tasks cannot both map a block. */
    heapcaps_port_lock(&himem.lock);
    for (size_t i = 0; i < count; i++) {
        RETURN_UNLOCKING_UNLESS(!himem.ram[handle->block[ram_block + i]].mapped,
                                ESP_ERR_INVALID_STATE, "ram already mapped");
        RETURN_UNLOCKING_UNLESS(!himem.window[range->first + range_block + i].mapped,
                                ESP_ERR_INVALID_STATE, "range already mapped");
    }
    for (size_t i = 0; i < count; i++) {
        uint16_t physical = handle->block[ram_block + i];
        window_block_t *window = &himem.window[range->first + range_block + i];
        himem.ram[physical].mapped = true;
        window->mapped = true;
        window->shows = physical;
    }
    heapcaps_port_unlock(&himem.lock);
    /* The MMU entries, outside the lock as on the device. */
    for (size_t i = 0; i < count; i++) {
        size_t index = range->first + range_block + i;
        uint64_t physical =
            himem.setup.physical_start + (uint64_t)handle->block[ram_block + i] * ESP_HIMEM_BLKSZ;
        esp_err_t err = emu_himem_set_bank(
            himem.setup.window_chip + (uint32_t)(index * ESP_HIMEM_BLKSZ), physical);
        if (err != ESP_OK) {
            heapcaps_port_log('E', TAG, "%s: the host refused to map a bank (0x%x)", __func__, err);
            return err;
        }
    }
    *out_ptr = window_address(range->first + range_block);
    return ESP_OK;
}

esp_err_t esp_himem_unmap(esp_himem_rangehandle_t range, void *ptr, size_t len)
{
    if (!himem.ready || !range) {
        return ESP_ERR_INVALID_ARG;
    }
    uintptr_t window = (uintptr_t)window_address(0);
    size_t window_offset = (size_t)((uintptr_t)ptr - window);
    RETURN_UNLESS(window_offset % ESP_HIMEM_BLKSZ == 0, ESP_ERR_INVALID_ARG,
                  "range offset not block-aligned");
    RETURN_UNLESS(len % ESP_HIMEM_BLKSZ == 0, ESP_ERR_INVALID_ARG, "map length not block-aligned");
    size_t count = len / ESP_HIMEM_BLKSZ;
    size_t index = window_offset / ESP_HIMEM_BLKSZ; /* huge below the window: out of bounds */
    RETURN_UNLESS(index >= range->first && index - range->first <= range->block_count &&
                      count <= range->block_count - (index - range->first),
                  ESP_ERR_INVALID_ARG, "range out of bounds for handle");
    heapcaps_port_lock(&himem.lock);
    for (size_t i = 0; i < count; i++) {
        window_block_t *block = &himem.window[index + i];
        if (block->mapped) { /* a block not mapped leaves every physical block alone */
            himem.ram[block->shows].mapped = false;
            block->mapped = false;
        }
    }
    heapcaps_port_unlock(&himem.lock);
    return ESP_OK;
}

esp_err_t esp_himem_free(esp_himem_handle_t handle)
{
    if (!handle || !himem.ready) {
        return ESP_ERR_INVALID_ARG;
    }
    heapcaps_port_lock(&himem.lock);
    for (size_t i = 0; i < handle->block_count; i++) {
        RETURN_UNLOCKING_UNLESS(!himem.ram[handle->block[i]].mapped, ESP_ERR_INVALID_ARG,
                                "block in range still mapped");
    }
    for (size_t i = 0; i < handle->block_count; i++) {
        himem.ram[handle->block[i]].claimed = false;
    }
    heapcaps_port_unlock(&himem.lock);
    heapcaps_libc_free(handle->block);
    heapcaps_libc_free(handle);
    return ESP_OK;
}

esp_err_t esp_himem_free_map_range(esp_himem_rangehandle_t handle)
{
    if (!handle || !himem.ready) {
        return ESP_ERR_INVALID_ARG;
    }
    heapcaps_port_lock(&himem.lock);
    for (size_t i = 0; i < handle->block_count; i++) {
        RETURN_UNLOCKING_UNLESS(!himem.window[handle->first + i].mapped, ESP_ERR_INVALID_ARG,
                                "memory still mapped to range");
    }
    for (size_t i = 0; i < handle->block_count; i++) {
        himem.window[handle->first + i].claimed = false;
    }
    heapcaps_port_unlock(&himem.lock);
    heapcaps_libc_free(handle);
    return ESP_OK;
}
