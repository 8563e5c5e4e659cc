# Cross build for Cortex-M3 (arm-none-eabi-gcc, newlib): Debian's
# gcc-arm-none-eabi and libnewlib-arm-none-eabi.
#   cmake -S . -B build/cm3 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m3.cmake -DHEAPCAPS_PORT=baremetal
# SPDX-License-Identifier: Apache-2.0
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m3 -mthumb")
# The test programs (-DHEAPCAPS_BUILD_TESTS=ON) are linked for this QEMU board
# (tests/target/boards.cmake) and ctest runs them through QEMU (Debian: qemu-system-arm).
set(HEAPCAPS_TEST_BOARD mps2-an385)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-system-arm;-M;mps2-an385;-cpu;cortex-m3;-nographic;-monitor;none;-semihosting-config;enable=on,target=native;-kernel)
