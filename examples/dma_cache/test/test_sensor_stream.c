/*
 * test_sensor_stream.c — unit tests of the sensor_stream component on an
 * emulated ESP32-S3 with 2 MiB of PSRAM: where its buffers land, its
 * fallback when PSRAM is full, its out-of-memory path, and that it leaves the
 * heap as it found it.
 *
 * Each test boots a fresh chip (setup) and shuts it down (teardown), so no
 * test sees another's allocations.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esp_heap_caps.h"
#include "esp_memory_utils.h"
#include "heapcaps/emu.h"
#include "sensor_stream.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* ------------------------------------------------------------ fixtures */

static int boot_esp32s3_with_psram(void **state)
{
    (void)state;
    heapcaps_emu_options_t options = {
        .psram_size = 2 * MIB,
        .quiet = true,
    };
    return heapcaps_emu_boot("esp32s3", &options) == ESP_OK ? 0 : -1;
}

static int shut_down(void **state)
{
    (void)state;
    heapcaps_emu_shutdown();
    return 0;
}

/* ------------------------------------------------------------ helpers */

/* Free bytes of the kinds of memory the component uses. */
typedef struct {
    size_t internal;
    size_t dma;
    size_t psram;
    size_t everything;
} free_memory_t;

static free_memory_t free_memory(void)
{
    free_memory_t snapshot = {
        .internal = heap_caps_get_free_size(MALLOC_CAP_INTERNAL),
        .dma = heap_caps_get_free_size(MALLOC_CAP_DMA),
        .psram = heap_caps_get_free_size(MALLOC_CAP_SPIRAM),
        .everything = heap_caps_get_free_size(MALLOC_CAP_8BIT),
    };
    return snapshot;
}

/* Nothing leaked, and every heap is intact. */
static void assert_heap_as_before(const free_memory_t *before)
{
    free_memory_t now = free_memory();
    assert_int_equal(now.internal, before->internal);
    assert_int_equal(now.dma, before->dma);
    assert_int_equal(now.psram, before->psram);
    assert_int_equal(now.everything, before->everything);
    assert_true(heap_caps_check_integrity_all(true));
}

/* Blocks taken to use up memory with some caps (kept in host memory: the
 * test harness is not firmware). */
typedef struct {
    void *blocks[4096];
    size_t count;
} hog_t;

/* Allocate blocks with `caps` until less than `left` bytes remain in one
 * piece. */
static void hog_memory(hog_t *hog, uint32_t caps, size_t left)
{
    size_t largest;
    while ((largest = heap_caps_get_largest_free_block(caps)) >= left && largest > 0) {
        assert_true(hog->count < sizeof(hog->blocks) / sizeof(hog->blocks[0]));
        void *block = heap_caps_malloc(largest, caps);
        assert_non_null(block);
        hog->blocks[hog->count++] = block;
    }
}

static void release_hog(hog_t *hog)
{
    while (hog->count > 0) {
        heap_caps_free(hog->blocks[--hog->count]);
    }
}

static const sensor_stream_config_t typical_config = {
    .ring_count = 4,
    .ring_size = 4 * KIB,
    .cache_size = 256 * KIB,
};

/* ------------------------------------------------------------ tests */

static void test_rings_are_dma_capable_internal_memory(void **state)
{
    (void)state;
    sensor_stream_t *stream = NULL;
    assert_int_equal(sensor_stream_create(&typical_config, &stream), ESP_OK);
    for (size_t i = 0; i < typical_config.ring_count; i++) {
        uint8_t *ring = sensor_stream_ring(stream, i);
        assert_non_null(ring);
        assert_true(esp_ptr_dma_capable(ring));
        assert_true(esp_ptr_dma_capable(ring + typical_config.ring_size - 1));
        assert_false(esp_ptr_external_ram(ring));
        assert_true(heap_caps_get_allocated_size(ring) >= typical_config.ring_size);
    }
    assert_null(sensor_stream_ring(stream, typical_config.ring_count));
    sensor_stream_destroy(stream);
}

static void test_cache_is_in_psram(void **state)
{
    (void)state;
    sensor_stream_t *stream = NULL;
    assert_int_equal(sensor_stream_create(&typical_config, &stream), ESP_OK);
    assert_true(sensor_stream_cache_in_psram(stream));
    assert_true(esp_ptr_external_ram(sensor_stream_cache(stream)));
    assert_false(esp_ptr_dma_capable(sensor_stream_cache(stream)));
    sensor_stream_destroy(stream);
}

static void test_cache_falls_back_to_internal_ram_when_psram_is_full(void **state)
{
    (void)state;
    hog_t *hog = calloc(1, sizeof(*hog));
    assert_non_null(hog);
    hog_memory(hog, MALLOC_CAP_SPIRAM, 64);
    sensor_stream_config_t config = typical_config;
    config.cache_size = 64 * KIB;
    free_memory_t before = free_memory();

    sensor_stream_t *stream = NULL;
    assert_int_equal(sensor_stream_create(&config, &stream), ESP_OK);
    assert_false(sensor_stream_cache_in_psram(stream));
    assert_false(esp_ptr_external_ram(sensor_stream_cache(stream)));
    assert_true(esp_ptr_internal(sensor_stream_cache(stream)));
    sensor_stream_destroy(stream);

    assert_heap_as_before(&before);
    release_hog(hog);
    free(hog);
}

static void test_no_dma_memory_gives_no_mem_and_keeps_nothing(void **state)
{
    (void)state;
    hog_t *hog = calloc(1, sizeof(*hog));
    assert_non_null(hog);
    hog_memory(hog, MALLOC_CAP_DMA, typical_config.ring_size);
    free_memory_t before = free_memory();

    static char not_a_stream;
    sensor_stream_t *stream = (sensor_stream_t *)&not_a_stream; /* must become NULL */
    assert_int_equal(sensor_stream_create(&typical_config, &stream), ESP_ERR_NO_MEM);
    assert_null(stream);
    assert_heap_as_before(&before);

    release_hog(hog);
    free(hog);
}

static void test_running_out_midway_releases_the_rings_already_taken(void **state)
{
    (void)state;
    /* Some 64 KiB rings fit, but not sixteen of them (1 MiB of DMA memory). */
    sensor_stream_config_t config = {
        .ring_count = 16, .ring_size = 64 * KIB, .cache_size = 64 * KIB};
    assert_true(heap_caps_get_largest_free_block(MALLOC_CAP_DMA) >= config.ring_size);
    assert_true(heap_caps_get_free_size(MALLOC_CAP_DMA) < config.ring_count * config.ring_size);
    free_memory_t before = free_memory();

    sensor_stream_t *stream = NULL;
    assert_int_equal(sensor_stream_create(&config, &stream), ESP_ERR_NO_MEM);
    assert_null(stream);
    assert_heap_as_before(&before);
}

static void test_cache_fitting_nowhere_releases_the_rings(void **state)
{
    (void)state;
    sensor_stream_config_t config = typical_config;
    config.cache_size = 3 * MIB; /* more than PSRAM and internal RAM together */
    free_memory_t before = free_memory();

    sensor_stream_t *stream = NULL;
    assert_int_equal(sensor_stream_create(&config, &stream), ESP_ERR_NO_MEM);
    assert_null(stream);
    assert_heap_as_before(&before);
}

static void test_bad_config_is_rejected(void **state)
{
    (void)state;
    sensor_stream_t *stream = NULL;
    sensor_stream_config_t no_rings = {.ring_count = 0, .ring_size = 64, .cache_size = 64};
    sensor_stream_config_t small_cache = {.ring_count = 1, .ring_size = 64, .cache_size = 32};
    assert_int_equal(sensor_stream_create(NULL, &stream), ESP_ERR_INVALID_ARG);
    assert_int_equal(sensor_stream_create(&no_rings, &stream), ESP_ERR_INVALID_ARG);
    assert_int_equal(sensor_stream_create(&small_cache, &stream), ESP_ERR_INVALID_ARG);
    assert_int_equal(sensor_stream_create(&typical_config, NULL), ESP_ERR_INVALID_ARG);
    assert_null(stream);
}

static void test_completed_transfers_are_appended_and_wrap(void **state)
{
    (void)state;
    sensor_stream_config_t config = {.ring_count = 2, .ring_size = 96, .cache_size = 160};
    sensor_stream_t *stream = NULL;
    assert_int_equal(sensor_stream_create(&config, &stream), ESP_OK);

    memset(sensor_stream_ring(stream, 0), 0xA0, 96); /* "DMA" fills ring 0 */
    assert_int_equal(sensor_stream_on_dma_done(stream, 0, 96), ESP_OK);
    memset(sensor_stream_ring(stream, 1), 0xB1, 96);
    assert_int_equal(sensor_stream_on_dma_done(stream, 1, 96), ESP_OK);

    const uint8_t *cache = sensor_stream_cache(stream);
    assert_int_equal(sensor_stream_cache_position(stream), (96 + 96) % 160);
    assert_int_equal(cache[0], 0xB1); /* the wrapped end of the second transfer */
    assert_int_equal(cache[31], 0xB1);
    assert_int_equal(cache[32], 0xA0);
    assert_int_equal(cache[95], 0xA0);
    assert_int_equal(cache[96], 0xB1);
    assert_int_equal(cache[159], 0xB1);

    assert_int_equal(sensor_stream_on_dma_done(stream, 2, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(sensor_stream_on_dma_done(stream, 0, 97), ESP_ERR_INVALID_ARG);
    sensor_stream_destroy(stream);
}

static void test_create_destroy_cycles_leak_nothing(void **state)
{
    (void)state;
    free_memory_t before = free_memory();
    for (int cycle = 0; cycle < 50; cycle++) {
        sensor_stream_t *stream = NULL;
        assert_int_equal(sensor_stream_create(&typical_config, &stream), ESP_OK);
        sensor_stream_destroy(stream);
    }
    assert_heap_as_before(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rings_are_dma_capable_internal_memory,
                                        boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_cache_is_in_psram, boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_cache_falls_back_to_internal_ram_when_psram_is_full,
                                        boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_no_dma_memory_gives_no_mem_and_keeps_nothing,
                                        boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_running_out_midway_releases_the_rings_already_taken,
                                        boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_cache_fitting_nowhere_releases_the_rings,
                                        boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_bad_config_is_rejected, boot_esp32s3_with_psram,
                                        shut_down),
        cmocka_unit_test_setup_teardown(test_completed_transfers_are_appended_and_wrap,
                                        boot_esp32s3_with_psram, shut_down),
        cmocka_unit_test_setup_teardown(test_create_destroy_cycles_leak_nothing,
                                        boot_esp32s3_with_psram, shut_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
