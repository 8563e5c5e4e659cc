/*
 * esp_system.h — the heap figures of ESP-IDF's esp_system API.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP_SYSTEM_H
#define ESP_SYSTEM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** heap_caps_get_free_size(MALLOC_CAP_DEFAULT). */
uint32_t esp_get_free_heap_size(void);

/** heap_caps_get_free_size(MALLOC_CAP_8BIT | MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL). */
uint32_t esp_get_free_internal_heap_size(void);

/** heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT). */
uint32_t esp_get_minimum_free_heap_size(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_SYSTEM_H */
