# Sources of the chip layouts and of the layout handling, added to ${target}
# (included by heapcaps_library() in src/CMakeLists.txt).
# SPDX-License-Identifier: Apache-2.0
target_sources(${target} PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/esp32.c
  ${CMAKE_CURRENT_LIST_DIR}/esp32s2.c
  ${CMAKE_CURRENT_LIST_DIR}/esp32s3.c
  ${CMAKE_CURRENT_LIST_DIR}/esp32c3.c
  ${CMAKE_CURRENT_LIST_DIR}/esp32c6.c
  ${CMAKE_CURRENT_LIST_DIR}/esp32h2.c
  ${CMAKE_CURRENT_LIST_DIR}/esp32p4.c
  ${CMAKE_CURRENT_LIST_DIR}/chips.c
  ${CMAKE_CURRENT_LIST_DIR}/../memory_layout.c
)
