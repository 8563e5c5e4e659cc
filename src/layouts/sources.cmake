# Sources of the chip layouts and of the layout handling (included by src/CMakeLists.txt).
# SPDX-License-Identifier: Apache-2.0
target_sources(heapcaps PRIVATE
)
