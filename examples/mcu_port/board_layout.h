/*
 * board_layout.h — the RAM of an STM32F7-class board (STM32F745/746/756:
 * Cortex-M7, DTCM, two SRAMs, SDRAM on the FMC) described for heapcaps, and
 * the capabilities firmware asks for:
 *
 *   heap   default address  size    caps (see board_layout.c for the priorities)
 *   DTCM   0x20000000       64 KiB  BOARD_CAP_FAST, INTERNAL, 8BIT, 32BIT   (no DMA)
 *   SRAM1  0x20010000      240 KiB  DEFAULT, INTERNAL, 8BIT, 32BIT, DMA
 *   SRAM2  0x2004C000       16 KiB  DMA first, INTERNAL, 8BIT, 32BIT       (the DMA pool)
 *   SDRAM  0xC0000000        8 MiB  SPIRAM, DEFAULT, 8BIT, 32BIT           (external, slow)
 *
 * Every address and size is a macro that a build may override (-D...), so
 * that the same file serves another part of the family, a board with more
 * SDRAM, or the test on QEMU's mps2 boards, which have no memory at
 * 0xC0000000 and get "SDRAM" at 0x20100000 instead. docs/porting.md walks
 * through the choices.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef BOARD_LAYOUT_H
#define BOARD_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_heap_caps.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the memory map (STM32F74x/F75x defaults) ------------------------------ */

#ifndef BOARD_DTCM_BASE
#define BOARD_DTCM_BASE 0x20000000u
#endif
#ifndef BOARD_DTCM_SIZE
#define BOARD_DTCM_SIZE 0x10000u /* 64 KiB */
#endif
#ifndef BOARD_SRAM1_BASE
#define BOARD_SRAM1_BASE 0x20010000u
#endif
#ifndef BOARD_SRAM1_SIZE
#define BOARD_SRAM1_SIZE 0x3C000u /* 240 KiB */
#endif
#ifndef BOARD_SRAM2_BASE
#define BOARD_SRAM2_BASE 0x2004C000u
#endif
#ifndef BOARD_SRAM2_SIZE
#define BOARD_SRAM2_SIZE 0x4000u /* 16 KiB */
#endif
/* SDRAM bank 1 of the FMC; 8 MiB as on the STM32F746G-DISCO. The FMC's
 * SDRAM controller must be set up (clocks, pins, mode registers) before
 * board_heap_init(): a heap writes its header into the region at once. */
#ifndef BOARD_SDRAM_BASE
#define BOARD_SDRAM_BASE 0xC0000000u
#endif
#ifndef BOARD_SDRAM_SIZE
#define BOARD_SDRAM_SIZE 0x800000u /* 8 MiB */
#endif

/* Line of the Cortex-M7's L1 data cache, which covers SRAM1, SRAM2 and the
 * SDRAM (not DTCM). DMA buffers are aligned and rounded to it, so that
 * cleaning or invalidating a buffer's lines never touches a neighbour. */
#ifndef BOARD_CACHE_LINE
#define BOARD_CACHE_LINE 32u
#endif

/* ---- the firmware's own RAM (reserved: no heap may use it) ------------------
 * By default the ranges come from the linker script's symbols, so they follow
 * the script: [BOARD_LD_STATIC_START, BOARD_LD_STATIC_END) holds .data and
 * .bss, and the main stack is the BOARD_MAIN_STACK_SIZE bytes below
 * BOARD_LD_STACK_TOP. The names are those of the usual STM32 linker scripts;
 * define them to your script's names if they differ.
 *
 * Defining BOARD_STATIC_RAM_SIZE instead reserves fixed ranges: that many
 * bytes at the start of SRAM1 for .data/.bss and the stack at the top of
 * DTCM. The tests use it: their program is linked elsewhere. */
#ifndef BOARD_LD_STATIC_START
#define BOARD_LD_STATIC_START _sdata
#endif
#ifndef BOARD_LD_STATIC_END
#define BOARD_LD_STATIC_END _ebss
#endif
#ifndef BOARD_LD_STACK_TOP
#define BOARD_LD_STACK_TOP _estack
#endif
#ifndef BOARD_MAIN_STACK_SIZE
#define BOARD_MAIN_STACK_SIZE 0x2000u /* 8 KiB */
#endif

/* ---- capabilities ------------------------------------------------------------
 * BOARD_CAP_FAST: memory the CPU reaches without wait states and without the
 * cache (DTCM). A bit of the application's own: ESP-IDF assigns bits 0-21
 * and 31 (MALLOC_CAP_INVALID) and adds new ones from the bottom up, so custom
 * bits are taken from the top down, starting at 30. */
#define BOARD_CAP_FAST (1u << 30)

/* malloc() (heap_caps_malloc_default) keeps requests up to this many bytes
 * in internal SRAM and serves larger ones from the SDRAM first; either falls
 * back to the other when it is full. ESP-IDF's default threshold for PSRAM. */
#ifndef BOARD_MALLOC_INTERNAL_LIMIT
#define BOARD_MALLOC_INTERNAL_LIMIT 16384u
#endif

/* The memory types, in the order of board_layout.c's table. */
enum { BOARD_MEM_DTCM, BOARD_MEM_SRAM1, BOARD_MEM_SRAM2, BOARD_MEM_SDRAM, BOARD_MEM_COUNT };

/**
 * Install the board's layout, create the heaps (printing the startup log
 * through the port's write hook) and enable the SDRAM for malloc(). Call it
 * once at start-up, after the bare-metal hooks are installed and the SDRAM
 * controller is running, before the first allocation.
 * @return ESP_OK; ESP_ERR_INVALID_ARG for a broken layout (overlapping
 *         regions); ESP_FAIL when no internal memory for malloc() is left
 *         (e.g. overlapping reserved ranges, reported in the log).
 */
esp_err_t board_heap_init(void);

/**
 * board_heap_init() for the board's RAM seen at another address: each chip
 * address plus `address_offset`. 0 on the board itself; a test on a host
 * maps the RAM into a buffer. Logs and heap_caps_print_heap_info() still
 * show the chip's addresses.
 */
esp_err_t board_heap_init_at(intptr_t address_offset);

/** Name of the memory `p` lies in ("DTCM", "SRAM1", "SRAM2", "SDRAM"), or
 *  "other" (NULL, the stack, static data, flash). */
const char *board_memory_name(const void *p);

/**
 * Memory for data the CPU works on hardest: DTCM while it has room, then
 * ordinary internal SRAM. A preference list: the first caps that succeed win.
 */
static inline void *board_malloc_fast(size_t size)
{
    return heap_caps_malloc_prefer(size, 2, (uint32_t)BOARD_CAP_FAST,
                                   (uint32_t)(MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL));
}

#ifdef __cplusplus
}
#endif

#endif /* BOARD_LAYOUT_H */
