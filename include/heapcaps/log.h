/*
 * heapcaps/log.h — control of the log lines heapcaps prints as a device
 * would (e.g. "I (12) heap_init: At 3FFAE6E0 len 00001920 (6 KiB): DRAM").
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_LOG_H
#define HEAPCAPS_LOG_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Print log lines (the default) or drop them. Returns the previous setting. */
bool heapcaps_log_set_enabled(bool enabled);

/** Restart the log's millisecond clock at 0 (a "boot"). */
void heapcaps_log_reset_clock(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPCAPS_LOG_H */
