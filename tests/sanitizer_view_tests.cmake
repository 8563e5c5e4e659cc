# Tests of the sanitizer view of the emulated heaps (HEAPCAPS_SANITIZER_VIEW,
# docs/sanitizer_view.md); included by tests/CMakeLists.txt when it is on.
# SPDX-License-Identifier: Apache-2.0
#
# One source, test_sanitizer_view.c, built for what the build can check:
# - with HEAPCAPS_SANITIZE (AddressSanitizer): test_sanitizer_view — overruns
#   and uses after free in an emulated heap stop a forked child with ASan's
#   report and the view's block description; a legitimate workload is clean.
# - without it: test_sanitizer_view runs the workload with no tool watching,
#   and, when valgrind is installed, test_sanitizer_view_valgrind runs the
#   scenarios under memcheck (an ASan program cannot run under valgrind).

heapcaps_add_test(test_sanitizer_view SOURCES test_sanitizer_view.c
                  LABELS "sanitizer_view;host_only")

if(HEAPCAPS_SANITIZE)
  # The reports must name functions: ASan needs a symbolizer, llvm-symbolizer
  # (Debian: llvm-14) or else binutils' addr2line.
  string(REGEX MATCH "^[0-9]+" _heapcaps_cc_major "${CMAKE_C_COMPILER_VERSION}")
  find_program(HEAPCAPS_LLVM_SYMBOLIZER
               NAMES llvm-symbolizer llvm-symbolizer-${_heapcaps_cc_major}
               HINTS /usr/lib/llvm-${_heapcaps_cc_major}/bin)
  find_program(HEAPCAPS_ADDR2LINE NAMES addr2line HINTS ${CMAKE_ADDR2LINE})
  if(HEAPCAPS_LLVM_SYMBOLIZER)
    set(_heapcaps_symbolizer ${HEAPCAPS_LLVM_SYMBOLIZER})
  elseif(HEAPCAPS_ADDR2LINE)
    set(_heapcaps_symbolizer ${HEAPCAPS_ADDR2LINE})
  endif()
  if(_heapcaps_symbolizer)
    set_tests_properties(test_sanitizer_view PROPERTIES
                         ENVIRONMENT "ASAN_SYMBOLIZER_PATH=${_heapcaps_symbolizer}")
  else()
    message(WARNING "heapcaps: neither llvm-symbolizer nor addr2line found: test_sanitizer_view "
                    "will fail, ASan cannot name the functions in its reports")
  endif()
  message(STATUS "heapcaps: the Valgrind tests of the sanitizer view are not built in an ASan "
                 "build (configure without HEAPCAPS_SANITIZE for them)")
else()
  find_program(HEAPCAPS_VALGRIND valgrind)
  if(HEAPCAPS_VALGRIND AND HEAPCAPS_VALGRIND_INCLUDE_DIR)
    heapcaps_add_test(test_sanitizer_view_valgrind SOURCES test_sanitizer_view.c
                      LABELS "sanitizer_view;host_only")
    target_compile_definitions(test_sanitizer_view_valgrind PRIVATE
      HEAPCAPS_TEST_VALGRIND="${HEAPCAPS_VALGRIND}"
      HEAPCAPS_TEST_VALGRIND_SUPP="${PROJECT_SOURCE_DIR}/tools/valgrind/heapcaps.supp")
    if(CMAKE_C_COMPILER_ID MATCHES "Clang")
      # Valgrind before 3.20 (Debian 12 has 3.19) cannot read clang's DWARF 5.
      target_compile_options(test_sanitizer_view_valgrind PRIVATE -gdwarf-4)
    endif()
  else()
    message(STATUS "heapcaps: valgrind (program and valgrind/memcheck.h) not found: the Valgrind "
                   "tests of the sanitizer view are not built (Debian: apt-get install valgrind)")
  endif()
endif()
