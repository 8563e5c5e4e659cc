/*
 * main.c — firmware start-up with heapcaps on an STM32F7-class board: the
 * bare-metal hooks, board_heap_init(), then the allocations a firmware makes
 * (a DMA buffer, filter state in DTCM, a frame buffer in SDRAM, ordinary
 * malloc() data), each checked against where the layout says it belongs.
 * Ends with "mcu_port demo: ok" when every check passed.
 *
 * Cortex-M only (PRIMASK, DWT). The console is the C library's write(): on
 * a board, the usual _write retargeted to a UART; on the QEMU test boards,
 * semihosting.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "board_layout.h"
#include "esp_heap_caps.h"
#include "heapcaps/port_baremetal.h"

/* ---- the hooks ----------------------------------------------------------- */

/* A critical section that nests: interrupts off at the outermost lock,
 * PRIMASK as it was at the outermost unlock. Enough for a single core, with
 * heap use from interrupt handlers too; under an RTOS use its critical
 * section instead. */
static unsigned lock_depth;
static uint32_t primask_before;

static void heap_lock(void *lock)
{
    (void)lock;
    uint32_t primask;
    __asm volatile("mrs %0, primask" : "=r"(primask));
    __asm volatile("cpsid i" ::: "memory");
    if (lock_depth++ == 0) {
        primask_before = primask;
    }
}

static void heap_unlock(void *lock)
{
    (void)lock;
    if (--lock_depth == 0) {
        __asm volatile("msr primask, %0" ::"r"(primask_before) : "memory");
    }
}

static void console_write(const char *text, size_t length)
{
    (void)write(STDOUT_FILENO, text, length);
}

/* A heap is damaged or a pointer was not from a heap: the message is out
 * already. A product would log it somewhere persistent and reset
 * (NVIC_SystemReset); here the program ends. */
static void heap_fatal(const char *message)
{
    (void)message;
    _exit(134);
}

/* DWT's cycle counter: time stamps in the log and in heap traces. */
#define DEMCR      (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL   (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR    (*(volatile uint32_t *)0xE0001FB0u)

static unsigned long cycles(void)
{
    return DWT_CYCCNT;
}

static const heapcaps_baremetal_hooks_t hooks = {
    .lock = heap_lock,
    .unlock = heap_unlock,
    .write = console_write,
    .abort = heap_fatal,
    .cycle_count = cycles,
};

/* ---- the demo ------------------------------------------------------------ */

static bool all_good = true;

/* Print where `p` landed and check it is where the layout puts it. */
static void *expect_in(void *p, const char *what, const char *expected)
{
    const char *got = p ? board_memory_name(p) : "nowhere (NULL)";
    bool good = strcmp(got, expected) == 0;
    printf("%-30s %p  %s%s\n", what, p, got, good ? "" : "  <- wrong");
    all_good = all_good && good;
    return p;
}

int main(void)
{
    DEMCR |= 1u << 24;     /* TRCENA: DWT on */
    DWT_LAR = 0xC5ACCE55u; /* unlock the DWT (Cortex-M7; ignored where there is no lock) */
    DWT_CTRL |= 1u;        /* CYCCNTENA */
    heapcaps_baremetal_set_hooks(&hooks);
    /* (the SDRAM controller would be set up here, before the heaps) */
    if (board_heap_init() != ESP_OK) {
        printf("mcu_port demo: board_heap_init failed\n");
        return 1;
    }

    /* A UART receive buffer for DMA: the SRAM2 pool, on a cache line. */
    uint8_t *rx = expect_in(heap_caps_malloc(512, MALLOC_CAP_DMA), "DMA rx buffer", "SRAM2");
    all_good = all_good && ((uintptr_t)rx % BOARD_CACHE_LINE) == 0;
    /* Filter state the control loop runs over: DTCM. */
    int32_t *taps = expect_in(heap_caps_malloc(64 * sizeof(int32_t), BOARD_CAP_FAST),
                              "filter taps (FAST)", "DTCM");
    /* Scratch that is better fast but may be ordinary. */
    char *scratch = expect_in(board_malloc_fast(2048), "scratch (FAST, else SRAM)", "DTCM");
    /* An RGB565 frame for the LCD controller: DMA-reachable external memory. */
    uint16_t *frame = expect_in(heap_caps_malloc(240 * 136 * 2, MALLOC_CAP_SPIRAM | MALLOC_CAP_DMA),
                                "frame buffer (SPIRAM|DMA)", "SDRAM");
    /* malloc(): small stays internal, large goes to the SDRAM. */
    char *note = expect_in(heap_caps_malloc_default(100), "malloc(100)", "SRAM1");
    char *log_buffer = expect_in(heap_caps_malloc_default(64 * 1024), "malloc(64 KiB)", "SDRAM");

    if (rx && taps && scratch && frame && note && log_buffer) {
        memset(rx, 0, 512);
        memset(taps, 0, 64 * sizeof(int32_t));
        memset(frame, 0xFF, 240 * 136 * 2);
        memset(log_buffer, 0, 64 * 1024);
        snprintf(note, 100, "free: fast %u, DMA %u, internal %u, SDRAM %u",
                 (unsigned)heap_caps_get_free_size(BOARD_CAP_FAST),
                 (unsigned)heap_caps_get_free_size(MALLOC_CAP_DMA),
                 (unsigned)heap_caps_get_free_size(MALLOC_CAP_INTERNAL),
                 (unsigned)heap_caps_get_free_size(MALLOC_CAP_SPIRAM));
        printf("%s\n", note);
    }
    heap_caps_print_heap_info(BOARD_CAP_FAST);

    all_good = all_good && heap_caps_check_integrity_all(true);
    heap_caps_free(log_buffer);
    heap_caps_free(note);
    heap_caps_free(frame);
    heap_caps_free(scratch);
    heap_caps_free(taps);
    heap_caps_free(rx);
    printf("mcu_port demo: %s\n", all_good ? "ok" : "FAILED");
    return all_good ? 0 : 1;
}
