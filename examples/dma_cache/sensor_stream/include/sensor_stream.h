/*
 * sensor_stream.h — a small firmware component: a sensor's DMA transfers
 * land in DMA-capable ring buffers in internal RAM, and every completed
 * transfer is appended to a large history cache, kept in PSRAM when the chip
 * has some free and in internal RAM otherwise.
 *
 *     sensor_stream_config_t config = {.ring_count = 4, .ring_size = 4096,
 *                                      .cache_size = 256 * 1024};
 *     sensor_stream_t *stream;
 *     if (sensor_stream_create(&config, &stream) != ESP_OK) { ... }
 *     // start DMA into sensor_stream_ring(stream, i); when transfer i is done:
 *     sensor_stream_on_dma_done(stream, i, bytes_received);
 *     ...
 *     sensor_stream_destroy(stream);
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef SENSOR_STREAM_H
#define SENSOR_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t ring_count; /**< DMA ring buffers (at least 1) */
    size_t ring_size;  /**< bytes of each ring buffer (at least 1) */
    size_t cache_size; /**< bytes of history (at least ring_size) */
} sensor_stream_config_t;

typedef struct sensor_stream sensor_stream_t;

/**
 * Allocate the ring buffers (MALLOC_CAP_DMA) and the cache (PSRAM, else
 * internal RAM).
 * @return ESP_OK and *stream_out set; ESP_ERR_INVALID_ARG for a bad config;
 *         ESP_ERR_NO_MEM when something does not fit — then nothing stays
 *         allocated and *stream_out is NULL.
 */
esp_err_t sensor_stream_create(const sensor_stream_config_t *config, sensor_stream_t **stream_out);

/** Free everything the stream holds; NULL is a no-op. */
void sensor_stream_destroy(sensor_stream_t *stream);

/** Ring buffer `index` (a DMA target), NULL for an index out of range. */
uint8_t *sensor_stream_ring(const sensor_stream_t *stream, size_t index);

/** The history cache. */
const uint8_t *sensor_stream_cache(const sensor_stream_t *stream);

/** True when the cache is in PSRAM, false when it fell back to internal RAM. */
bool sensor_stream_cache_in_psram(const sensor_stream_t *stream);

/**
 * A transfer of `length` bytes into ring `index` completed: append them to
 * the cache, which wraps around when full.
 * @return ESP_OK; ESP_ERR_INVALID_ARG for a bad index or length > ring_size.
 */
esp_err_t sensor_stream_on_dma_done(sensor_stream_t *stream, size_t index, size_t length);

/** Offset in the cache where the next transfer is appended. */
size_t sensor_stream_cache_position(const sensor_stream_t *stream);

#ifdef __cplusplus
}
#endif

#endif /* SENSOR_STREAM_H */
