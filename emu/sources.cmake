# Sources of the host chip emulator (included by src/CMakeLists.txt for the host port).
# SPDX-License-Identifier: Apache-2.0
target_sources(heapcaps PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/emu.c
  ${CMAKE_CURRENT_LIST_DIR}/emu_plan.c
  ${CMAKE_CURRENT_LIST_DIR}/emu_map.c
)
