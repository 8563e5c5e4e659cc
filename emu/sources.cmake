# Sources of the host chip emulator, added to ${target} (included by
# heapcaps_library() in src/CMakeLists.txt for the host port).
# SPDX-License-Identifier: Apache-2.0
target_sources(${target} PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/emu.c
  ${CMAKE_CURRENT_LIST_DIR}/emu_plan.c
  ${CMAKE_CURRENT_LIST_DIR}/emu_map.c
  ${CMAKE_CURRENT_LIST_DIR}/himem.c
)
