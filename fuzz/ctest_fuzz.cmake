# ctest_fuzz.cmake — one fuzz ctest (fuzz/CMakeLists.txt):
#
#   cmake -DHARNESS=path -DMODE=seeds -DRUNS=n -DWORK=dir -DCORPUS=dir -P ctest_fuzz.cmake
#     fuzz for RUNS runs with the fixed seed 1 from the committed corpus
#     CORPUS (read only: new inputs go to WORK/corpus, crashes to WORK/artifacts)
#   cmake -DHARNESS=path -DMODE=regressions -DWORK=dir -DCORPUS=dir -P ctest_fuzz.cmake
#     run every committed crash input CORPUS/crash-* once, with
#     HEAPCAPS_FUZZ_KNOWN_BUGS=1
#
# SPDX-License-Identifier: Apache-2.0
cmake_minimum_required(VERSION 3.16)

foreach(var HARNESS MODE WORK CORPUS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "ctest_fuzz.cmake: -D${var}=... missing")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)

if(MODE STREQUAL "seeds")
  if(NOT IS_DIRECTORY ${CORPUS})
    message(FATAL_ERROR "no seed corpus ${CORPUS} (fuzz/make_seeds.sh makes it)")
  endif()
  set(command ${HARNESS} -seed=1 -runs=${RUNS} -max_len=4096 -timeout=60
              -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus ${CORPUS})
  string(REPLACE ";" " " shown "${command}")
  message(STATUS "running: ${shown}")
  execute_process(COMMAND ${command} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    file(GLOB crashes ${WORK}/artifacts/*)
    string(REPLACE ";" "\n  " crashes "${crashes}")
    message(FATAL_ERROR "${HARNESS} exited with status ${status}; input saved:\n  ${crashes}\n"
                        "replay it with HEAPCAPS_FUZZ_TRACE=1 ${HARNESS} <input>")
  endif()
elseif(MODE STREQUAL "regressions")
  file(GLOB inputs ${CORPUS}/crash-*)
  # Known library bugs are otherwise steered around (docs/fuzzing.md).
  set(ENV{HEAPCAPS_FUZZ_KNOWN_BUGS} 1)
  set(failed "")
  foreach(input IN LISTS inputs)
    message(STATUS "replaying ${input}")
    execute_process(COMMAND ${HARNESS} -timeout=60 -artifact_prefix=${WORK}/artifacts/ ${input}
                    RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      list(APPEND failed ${input})
    endif()
  endforeach()
  if(failed)
    string(REPLACE ";" "\n  " failed "${failed}")
    message(FATAL_ERROR "these committed inputs still fail (see fuzz/regressions/README.md):"
                        "\n  ${failed}")
  endif()
else()
  message(FATAL_ERROR "ctest_fuzz.cmake: MODE must be seeds or regressions, not '${MODE}'")
endif()
