# Sources of the host chip emulator (included by src/CMakeLists.txt for the host port).
# SPDX-License-Identifier: Apache-2.0
target_sources(heapcaps PRIVATE
)
