# Cross build for Xtensa lx106 (xtensa-lx106-elf-gcc, picolibc): Debian's
# gcc-xtensa-lx106 and picolibc-xtensa-lx106-elf.
#   cmake -S . -B build/lx106 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/xtensa-lx106.cmake -DHEAPCAPS_PORT=baremetal
# SPDX-License-Identifier: Apache-2.0
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR xtensa)
set(CMAKE_C_COMPILER xtensa-lx106-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "-mlongcalls --specs=/usr/lib/xtensa-lx106-elf/picolibc.specs")
set(CMAKE_ASM_COMPILER xtensa-lx106-elf-gcc)
set(CMAKE_ASM_FLAGS_INIT "-mlongcalls")
# The test programs (-DHEAPCAPS_BUILD_TESTS=ON) are linked for this QEMU board
# (tests/target/boards.cmake) and ctest runs them through QEMU (Debian: qemu-system-misc).
set(HEAPCAPS_TEST_BOARD xtensa-sim)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-system-xtensa;-M;sim;-cpu;lx106;-nographic;-monitor;none;-semihosting;-kernel)
