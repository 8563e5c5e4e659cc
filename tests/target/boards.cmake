# Test programs on emulated boards (cross builds with the bare-metal port).
# SPDX-License-Identifier: Apache-2.0
#
# The toolchain file names the board in HEAPCAPS_TEST_BOARD and the QEMU
# command in CMAKE_CROSSCOMPILING_EMULATOR (ctest runs every test program
# through it, and QEMU's exit status is the program's). This file adds the
# board's start-up code, linker script and console:
#   mps2-an385, mps2-an386  Cortex-M3 / M4 (newlib, ARM semihosting)
#   riscv-virt              rv32 on QEMU's virt machine (picolibc, semihosting)
#   xtensa-sim              lx106 on QEMU's sim machine (picolibc, simcall)
# heapcaps_target_support is an object library: its objects (vectors and
# the hooks' constructor) are always linked, although nothing names them.
set(board_dir ${CMAKE_CURRENT_LIST_DIR})
if(HEAPCAPS_TEST_BOARD STREQUAL "xtensa-sim")
  enable_language(ASM)
endif()
add_library(heapcaps_target_support OBJECT ${board_dir}/target_support.c)
target_include_directories(heapcaps_target_support PUBLIC ${board_dir})
target_link_libraries(heapcaps_target_support PRIVATE heapcaps heapcaps_warnings)
target_compile_definitions(heapcaps_target_support PUBLIC HEAPCAPS_TEST_TARGET=1)

if(HEAPCAPS_TEST_BOARD MATCHES "^mps2-an38[56]$")
  target_sources(heapcaps_target_support PRIVATE ${board_dir}/arm/vectors.c)
  target_link_options(heapcaps_target_support PUBLIC --specs=rdimon.specs
                      -T${board_dir}/arm/mps2.ld)
elseif(HEAPCAPS_TEST_BOARD STREQUAL "riscv-virt")
  # virt's RAM: 128 MiB at 0x80000000; code in the first 4 MiB.
  target_link_options(heapcaps_target_support PUBLIC
    --oslib=semihost --crt0=semihost
    -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x400000
    -Wl,--defsym=__ram=0x80400000 -Wl,--defsym=__ram_size=0x7C00000
    -Wl,--defsym=__stack_size=0x20000)
elseif(HEAPCAPS_TEST_BOARD STREQUAL "xtensa-sim")
  target_sources(heapcaps_target_support PRIVATE ${board_dir}/xtensa/start.S
                 ${board_dir}/xtensa/sim_io.c ${board_dir}/xtensa/division.c
                 ${board_dir}/xtensa/float_zero.c)
  # One RAM holds code and data on this board: its segment is RWX on purpose.
  target_link_options(heapcaps_target_support PUBLIC -nostartfiles
                      -T${board_dir}/xtensa/sim.ld -Wl,--no-warn-rwx-segments)
else()
  message(FATAL_ERROR "heapcaps: cross-compiled tests need a board: set HEAPCAPS_TEST_BOARD "
                      "(mps2-an385, mps2-an386, riscv-virt or xtensa-sim) in the toolchain "
                      "file, as cmake/toolchains/*.cmake do, or build with "
                      "-DHEAPCAPS_BUILD_TESTS=OFF")
endif()
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  message(FATAL_ERROR "heapcaps: cross-compiled tests need CMAKE_CROSSCOMPILING_EMULATOR "
                      "(the QEMU command; see cmake/toolchains/*.cmake)")
endif()

# heapcaps_board_failure_test(NAME HOW): a program that must fail (see
# test_board_failures.c).
function(heapcaps_board_failure_test name how)
  add_executable(${name} ${board_dir}/test_board_failures.c)
  target_compile_definitions(${name} PRIVATE FAIL_BY=FAIL_BY_${how})
  target_link_libraries(${name} PRIVATE heapcaps heapcaps_cmocka heapcaps_target_support
                                        heapcaps_warnings)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES WILL_FAIL TRUE TIMEOUT 60
                                          LABELS "board;${HEAPCAPS_TEST_BOARD}")
endfunction()
