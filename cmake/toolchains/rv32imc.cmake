# Cross build for RISC-V rv32imc, the core of ESP32-C3 (riscv64-unknown-elf-gcc
# with picolibc's rv32 multilibs): Debian's gcc-riscv64-unknown-elf and
# picolibc-riscv64-unknown-elf. picolibc has no rv32imc multilib; code built
# for rv32imc links against the rv32im one.
#   cmake -S . -B build/rv32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/rv32imc.cmake -DHEAPCAPS_PORT=baremetal
# SPDX-License-Identifier: Apache-2.0
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "-march=rv32imc -mabi=ilp32 -mcmodel=medany --specs=picolibc.specs")
# The test programs (-DHEAPCAPS_BUILD_TESTS=ON) are linked for this QEMU board
# (tests/target/boards.cmake) and ctest runs them through QEMU (Debian: qemu-system-misc).
set(HEAPCAPS_TEST_BOARD riscv-virt)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-system-riscv32;-M;virt;-bios;none;-nographic;-monitor;none;-semihosting-config;enable=on,target=native;-kernel)
