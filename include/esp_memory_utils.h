/*
 * esp_memory_utils.h — where a pointer lies on the chip: ESP-IDF's esp_ptr_*
 * helpers, answering for the installed layout (heapcaps/layout.h). On an
 * emulated chip they take the host pointers the emulator hands out.
 * Without an installed layout (or with a layout without SoC facts) every
 * range is empty.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ESP_MEMORY_UTILS_H
#define ESP_MEMORY_UTILS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

bool esp_dram_match_iram(void);
bool esp_rtc_dram_match_rtc_iram(void);
bool esp_ptr_in_iram(const void *p);
bool esp_ptr_in_dram(const void *p);
bool esp_ptr_in_diram_dram(const void *p);
bool esp_ptr_in_diram_iram(const void *p);
bool esp_ptr_in_rtc_iram_fast(const void *p);
bool esp_ptr_in_rtc_dram_fast(const void *p);
bool esp_ptr_in_rtc_slow(const void *p);
bool esp_ptr_in_spm(const void *p);
bool esp_ptr_dma_capable(const void *p);
bool esp_ptr_dma_ext_capable(const void *p);
bool esp_ptr_word_aligned(const void *p);
bool esp_ptr_executable(const void *p);
bool esp_ptr_byte_accessible(const void *p);
bool esp_ptr_internal(const void *p);
bool esp_ptr_external_ram(const void *p);
void *esp_ptr_diram_dram_to_iram(const void *p);
void *esp_ptr_diram_iram_to_dram(const void *p);
void *esp_ptr_rtc_dram_to_iram(const void *p);

#ifdef __cplusplus
}
#endif

#endif /* ESP_MEMORY_UTILS_H */
