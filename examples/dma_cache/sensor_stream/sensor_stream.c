/*
 * sensor_stream.c — DMA ring buffers and a PSRAM history cache
 * (sensor_stream.h). Firmware code: it allocates as it would on the chip, its
 * descriptor with calloc() and its buffers with heap_caps_malloc(). In the
 * host tests, CMakeLists.txt force-includes heapcaps/firmware_malloc.h, so
 * that calloc() and free() are the emulated chip's too.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "sensor_stream.h"

#include <stdlib.h>
#include <string.h>

#include "esp_heap_caps.h"

struct sensor_stream {
    sensor_stream_config_t config;
    uint8_t **rings; /* config.ring_count DMA-capable buffers */
    uint8_t *cache;  /* config.cache_size bytes */
    bool cache_in_psram;
    size_t cache_position; /* where the next transfer goes */
};

static bool config_is_valid(const sensor_stream_config_t *config)
{
    return config && config->ring_count > 0 && config->ring_size > 0 &&
           config->cache_size >= config->ring_size;
}

/* PSRAM first: it is large and the cache is not touched by DMA. Internal
 * RAM when the chip has no PSRAM or it is full. */
static uint8_t *allocate_cache(size_t size, bool *in_psram)
{
    uint8_t *cache = heap_caps_malloc(size, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
    *in_psram = cache != NULL;
    if (!cache) {
        cache = heap_caps_malloc(size, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    }
    return cache;
}

esp_err_t sensor_stream_create(const sensor_stream_config_t *config, sensor_stream_t **stream_out)
{
    if (!stream_out) {
        return ESP_ERR_INVALID_ARG;
    }
    *stream_out = NULL;
    if (!config_is_valid(config)) {
        return ESP_ERR_INVALID_ARG;
    }
    sensor_stream_t *stream = calloc(1, sizeof(*stream));
    if (!stream) {
        return ESP_ERR_NO_MEM;
    }
    stream->config = *config;
    stream->rings = calloc(config->ring_count, sizeof(stream->rings[0]));
    if (!stream->rings) {
        sensor_stream_destroy(stream);
        return ESP_ERR_NO_MEM;
    }
    for (size_t i = 0; i < config->ring_count; i++) {
        stream->rings[i] = heap_caps_malloc(config->ring_size, MALLOC_CAP_DMA);
        if (!stream->rings[i]) {
            sensor_stream_destroy(stream); /* frees the rings taken so far */
            return ESP_ERR_NO_MEM;
        }
    }
    stream->cache = allocate_cache(config->cache_size, &stream->cache_in_psram);
    if (!stream->cache) {
        sensor_stream_destroy(stream);
        return ESP_ERR_NO_MEM;
    }
    *stream_out = stream;
    return ESP_OK;
}

void sensor_stream_destroy(sensor_stream_t *stream)
{
    if (!stream) {
        return;
    }
    if (stream->rings) {
        for (size_t i = 0; i < stream->config.ring_count; i++) {
            heap_caps_free(stream->rings[i]);
        }
        free(stream->rings);
    }
    heap_caps_free(stream->cache);
    free(stream);
}

uint8_t *sensor_stream_ring(const sensor_stream_t *stream, size_t index)
{
    return index < stream->config.ring_count ? stream->rings[index] : NULL;
}

const uint8_t *sensor_stream_cache(const sensor_stream_t *stream)
{
    return stream->cache;
}

bool sensor_stream_cache_in_psram(const sensor_stream_t *stream)
{
    return stream->cache_in_psram;
}

size_t sensor_stream_cache_position(const sensor_stream_t *stream)
{
    return stream->cache_position;
}

esp_err_t sensor_stream_on_dma_done(sensor_stream_t *stream, size_t index, size_t length)
{
    if (index >= stream->config.ring_count || length > stream->config.ring_size) {
        return ESP_ERR_INVALID_ARG;
    }
    const uint8_t *received = stream->rings[index];
    size_t cache_size = stream->config.cache_size;
    size_t first_part = cache_size - stream->cache_position;
    if (first_part > length) {
        first_part = length;
    }
    memcpy(stream->cache + stream->cache_position, received, first_part);
    memcpy(stream->cache, received + first_part, length - first_part); /* wrapped part */
    stream->cache_position = (stream->cache_position + length) % cache_size;
    return ESP_OK;
}
