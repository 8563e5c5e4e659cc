#!/usr/bin/env bash
# test.sh — build heapcaps in every configuration the project supports and run
# all its tests. This is the project's test command (README, .ci/run).
#
#   scripts/test.sh [--quick] [--jobs N]
#
# In order, stopping at the first failure (non-zero exit status):
#   gcc64        gcc, 64-bit, RelWithDebInfo (assertions on): build + ctest,
#                at each corruption-detection level: gcc64 (Basic, ESP-IDF's
#                default configuration), gcc64-light and gcc64-comprehensive
#                (with every other debugging feature on: HEAPCAPS_ALL_FEATURES)
#   cmocka-m32   cmocka for -m32, built once by scripts/build-cmocka.sh
#   gcc32*       gcc -m32 against that cmocka, the three levels
#   clang-asan*  clang with AddressSanitizer + UBSan, the three levels
#   view-asan    the sanitizer view (HEAPCAPS_SANITIZER_VIEW) under ASan: the
#                sanitizer_view tests (other suites damage heaps on purpose)
#   view-valgrind  its Valgrind part: the sanitizer_view tests, gcc build
#   stress       scripts/stress.sh --ci: the concurrency stress program
#                (docs/stress.md) under ThreadSanitizer and Helgrind, and
#                with every debugging feature under ThreadSanitizer
#   fuzz         fuzz/run.sh --ci: the libFuzzer harnesses (docs/fuzzing.md),
#                crash inputs replayed, then a short fixed-seed run of each,
#                at Basic and with Comprehensive poisoning
#   install      cmake --install of the gcc64 build into build/install
#   consumer-*   tests/consumer built against it with find_package and with
#                pkg-config, and against the source tree with
#                add_subdirectory; each program is run
#   example-*    examples/dma_cache built against build/install; its tests run
#   cross        scripts/cross-build.sh: the library freestanding (bare-metal
#                port) for Cortex-M3, Cortex-M4F, rv32imc and Xtensa lx106,
#                -Werror, and what it needs from a C library
#   core-size    scripts/core-size.sh (Cortex-M4 code size of the core)
#   board-*      the portable suites cross-built with the bare-metal port at
#                -Os (MinSizeRel: what firmware ships, and the size build's
#                own code paths) and run by ctest under QEMU (tests/target/),
#                at the three levels:
#                board-cortex-m3 (mps2-an385), board-cortex-m4f (mps2-an386),
#                board-rv32imc (riscv32 virt), board-xtensa-lx106 (sim);
#                cmocka for each is built once (build/cmocka-<target>). QEMU
#                and the cross toolchains are installed with apt-get when
#                missing (as root, or with sudo without a password).
#   format       the C sources are as clang-format writes them
#   coverage     scripts/coverage.sh --ci: line and branch coverage of src/
#                (gcc --coverage, gcovr), at least 95 % of lines and 85 % of
#                branches (docs/coverage.md)
# Build trees are build/test-<name> and are reused (incremental builds).
#
# Options:
#   --quick    only the gcc64 (Basic) build and its tests
#   --jobs N   parallel jobs for builds and ctest (default 2)
#
# Adding a configuration is one line in main(): run_build NAME [VAR=VALUE...]
# [CMAKE_ARGS...].
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me=test.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=$root/build
jobs=2
quick=0

usage() { sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) quick=1; shift ;;
    --jobs | -j)
        [[ $# -ge 2 ]] || { echo "$me: $1 needs a number" >&2; exit 2; }
        jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$me: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "$me: --jobs needs a positive number, not '$jobs'" >&2; exit 2; }

# Sanitizer reports: stack traces, and stop at the first one.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1}

# ------------------------------------------------------------------ reporting
# shellcheck source=scripts/report.sh
source "$root/scripts/report.sh"

# ------------------------------------------------------------------ steps
# Extra ctest arguments for the next run_build (e.g. a label); reset after it.
ctest_args=()

# run_build NAME [VAR=VALUE...] [CMAKE_ARGS...]: configure build/test-NAME
# (RelWithDebInfo unless CMAKE_ARGS say otherwise), build it, run ctest.
# Leading VAR=VALUE words are environment settings for cmake (e.g. CC=clang).
run_build() {
    local name=$1
    shift
    local -a envs=()
    while [[ $# -gt 0 && $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
        envs+=("$1")
        shift
    done
    local dir=$build/test-$name t0=$EPOCHREALTIME log
    banner "$name: configure ${envs[*]} $*"
    env "${envs[@]}" cmake -S "$root" -B "$dir" --log-level=WARNING \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" ||
        fail "$name" "cmake configure failed (build dir $dir)"
    banner "$name: build"
    env "${envs[@]}" cmake --build "$dir" --parallel "$jobs" ||
        fail "$name" "build failed (build dir $dir)"
    banner "$name: ctest"
    log=$dir/ctest-summary.log
    if ! (cd "$dir" && env "${envs[@]}" ctest --output-on-failure --no-tests=error -j "$jobs" \
        "${ctest_args[@]}") |
        tee "$log"; then
        fail "$name" "ctest: $(grep -E 'tests passed|tests failed' "$log" | tail -n 1 | sed 's/^ *//');$(
            sed -n 's/^[[:space:]]*[0-9]* - \(.*\)$/ \1/p' "$log" | tr -d '\n') (build dir $dir)"
    fi
    record "$name" "ok: $(grep -E 'tests passed' "$log" | tail -n 1 | sed 's/^ *//') ($(elapsed "$t0")s)"
    ctest_args=()
}

# cmocka_for NAME CFLAGS...: make sure build/cmocka-NAME holds a cmocka
# built with CFLAGS (built once, then reused).
cmocka_for() {
    local name=$1 t0=$EPOCHREALTIME
    shift
    banner "cmocka-$name: scripts/build-cmocka.sh build/cmocka-$name $*"
    "$root/scripts/build-cmocka.sh" "$build/cmocka-$name" "$@" ||
        fail "cmocka-$name" "scripts/build-cmocka.sh build/cmocka-$name $* failed"
    record "cmocka-$name" "ok ($(elapsed "$t0")s)"
}

# cmocka_for_target TARGET: build/cmocka-TARGET, cross-built with the
# target's toolchain file from the cmocka source already fetched for -m32.
cmocka_for_target() {
    local target=$1 t0=$EPOCHREALTIME source=$build/cmocka-m32/.work/cmocka
    banner "cmocka-$target: scripts/build-cmocka.sh build/cmocka-$target (toolchain $target)"
    [[ -d $source ]] || source=""
    CMOCKA_SOURCE_DIR=$source CMOCKA_TOOLCHAIN_FILE=$root/cmake/toolchains/$target.cmake \
        "$root/scripts/build-cmocka.sh" "$build/cmocka-$target" ||
        fail "cmocka-$target" "scripts/build-cmocka.sh build/cmocka-$target failed"
    record "cmocka-$target" "ok ($(elapsed "$t0")s)"
}

# board_tools: QEMU and the cross toolchains, installed when missing.
board_tools() {
    local -A wanted=(
        [qemu-system-arm]=qemu-system-arm [qemu-system-riscv32]=qemu-system-misc
        [qemu-system-xtensa]=qemu-system-misc [arm-none-eabi-gcc]="gcc-arm-none-eabi libnewlib-arm-none-eabi"
        [riscv64-unknown-elf-gcc]="gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"
        [xtensa-lx106-elf-gcc]="gcc-xtensa-lx106 picolibc-xtensa-lx106-elf"
    )
    local tool package missing=() sudo=()
    local -A seen=()
    for tool in "${!wanted[@]}"; do
        command -v "$tool" >/dev/null 2>&1 && continue
        for package in ${wanted[$tool]}; do
            [[ -n ${seen[$package]:-} ]] || missing+=("$package")
            seen[$package]=1
        done
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -ne 0 ]]; then
        sudo -n true 2>/dev/null ||
            fail board-tools "missing: run 'apt-get install ${missing[*]}' as root"
        sudo=(sudo -n)
    fi
    banner "board-tools: apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
        fail board-tools "apt-get install ${missing[*]} failed"
}

# install_build NAME: cmake --install build/test-NAME into a fresh build/install.
install_build() {
    local name=$1 t0=$EPOCHREALTIME
    banner "install: cmake --install build/test-$name --prefix build/install"
    rm -rf -- "$build/install"
    cmake --install "$build/test-$name" --prefix "$build/install" ||
        fail install "cmake --install of build/test-$name failed"
    record install "ok: build/test-$name -> build/install ($(elapsed "$t0")s)"
}

# run_consumer NAME PROGRAM: run a consumer program, expect exit status 0.
run_consumer() {
    "$2" || fail "consumer-$1" "$2 exited with status $?"
}

consumer_cmake() { # consumer_cmake NAME CMAKE_ARGS...
    local name=$1 t0=$EPOCHREALTIME dir=$build/consumer-$1
    shift
    banner "consumer-$name: tests/consumer with $*"
    rm -rf -- "$dir"
    cmake -S "$root/tests/consumer" -B "$dir" "$@" ||
        fail "consumer-$name" "configuring tests/consumer failed"
    cmake --build "$dir" --parallel "$jobs" ||
        fail "consumer-$name" "building tests/consumer failed"
    run_consumer "$name" "$dir/consumer"
    record "consumer-$name" "ok ($(elapsed "$t0")s)"
}

consumer_pkgconfig() { # the consumer built with a plain cc command line
    local name=pkgconfig t0=$EPOCHREALTIME dir=$build/consumer-pkgconfig pcdir flags
    banner "consumer-$name: cc tests/consumer/main.c \$(pkg-config --cflags --libs heapcaps)"
    command -v pkg-config >/dev/null ||
        fail "consumer-$name" "pkg-config not found (Debian package pkg-config)"
    pcdir=$(dirname -- "$(find "$build/install" -name heapcaps.pc -print -quit)")
    [[ -f $pcdir/heapcaps.pc ]] || fail "consumer-$name" "build/install has no heapcaps.pc"
    rm -rf -- "$dir"
    mkdir -p -- "$dir"
    flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs heapcaps) ||
        fail "consumer-$name" "pkg-config --cflags --libs heapcaps failed (PKG_CONFIG_PATH=$pcdir)"
    echo "pkg-config: $flags"
    # shellcheck disable=SC2086 # $flags is a list of words
    "${CC:-cc}" -std=c11 -Wall -Wextra -Werror '-DCONSUMER_HOW="pkg-config"' \
        "$root/tests/consumer/main.c" $flags -o "$dir/consumer" ||
        fail "consumer-$name" "compiling tests/consumer/main.c with pkg-config's flags failed"
    run_consumer "$name" "$dir/consumer"
    record "consumer-$name" "ok ($(elapsed "$t0")s)"
}

# example_cmake NAME: examples/NAME built against build/install, then its ctest.
example_cmake() {
    local name=$1 t0=$EPOCHREALTIME dir=$build/example-$1
    banner "example-$name: examples/$name against build/install"
    rm -rf -- "$dir"
    cmake -S "$root/examples/$name" -B "$dir" "-DCMAKE_PREFIX_PATH=$build/install" ||
        fail "example-$name" "configuring examples/$name failed"
    cmake --build "$dir" --parallel "$jobs" ||
        fail "example-$name" "building examples/$name failed"
    (cd "$dir" && ctest --output-on-failure --no-tests=error) ||
        fail "example-$name" "ctest of examples/$name failed (build dir $dir)"
    record "example-$name" "ok ($(elapsed "$t0")s)"
}

# format: every tracked C file is as clang-format (.clang-format) writes it.
format_check() {
    local t0=$EPOCHREALTIME
    banner "format: clang-format --dry-run --Werror"
    command -v clang-format >/dev/null ||
        fail format "clang-format not found (Debian package clang-format)"
    (cd "$root" && git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror) ||
        fail format "files differ from clang-format's output: run clang-format -i on them"
    record format "ok ($(elapsed "$t0")s)"
}

# stress: scripts/stress.sh --ci (build trees build/stress-*, logs build/stress-logs).
stress_ci() {
    local t0=$EPOCHREALTIME
    banner "stress: scripts/stress.sh --ci --jobs $jobs"
    "$root/scripts/stress.sh" --ci --jobs "$jobs" ||
        fail stress "scripts/stress.sh --ci failed (logs: build/stress-logs)"
    record stress "ok: TSan, Helgrind, all features under TSan ($(elapsed "$t0")s)"
}

# fuzz: fuzz/run.sh --ci: the committed crash inputs replayed, then each
# libFuzzer harness from its committed seeds with seed 1 (docs/fuzzing.md):
# 30 s each at Basic, 15 s each with Comprehensive poisoning.
fuzz_ci() {
    local t0=$EPOCHREALTIME level seconds out ops=()
    for level in basic comprehensive; do
        seconds=30
        [[ $level == comprehensive ]] && seconds=15
        banner "fuzz: fuzz/run.sh --ci --poisoning $level --time $seconds"
        out=$("$root/fuzz/run.sh" --ci --poisoning "$level" --time "$seconds" 2>&1) || {
            printf '%s\n' "$out"
            fail fuzz "fuzz/run.sh --ci --poisoning $level failed"
        }
        printf '%s\n' "$out"
        ops+=("$level $(printf '%s\n' "$out" | awk '$1 == "total" { print $2 }')")
    done
    record fuzz "ok: operations fuzzed: ${ops[*]} ($(elapsed "$t0")s)"
}

# cross: the library freestanding for every cross target (scripts/cross-build.sh).
cross_build() {
    local t0=$EPOCHREALTIME
    banner "cross: scripts/cross-build.sh"
    "$root/scripts/cross-build.sh" --jobs "$jobs" || fail cross "scripts/cross-build.sh failed"
    record cross "ok: cortex-m3, cortex-m4f, rv32imc, xtensa-lx106 ($(elapsed "$t0")s)"
}

# coverage: line and branch coverage of src/ (scripts/coverage.sh --ci).
coverage_check() {
    local t0=$EPOCHREALTIME out
    banner "coverage: scripts/coverage.sh --ci --min-lines 95 --min-branches 85"
    out=$("$root/scripts/coverage.sh" --ci --jobs "$jobs" --min-lines 95 --min-branches 85 2>&1) || {
        printf '%s\n' "$out"
        fail coverage "$(printf '%s\n' "$out" | grep -E 'below|failed' | tail -n 1)"
    }
    printf '%s\n' "$out"
    record coverage "ok: $(printf '%s\n' "$out" | awk '/^src\/ \(total\)/ { print "lines " $3 " %, branches " $6 " %" }') ($(elapsed "$t0")s)"
}

core_size() {
    local t0=$EPOCHREALTIME out
    banner "core-size: scripts/core-size.sh"
    out=$("$root/scripts/core-size.sh" 2>&1) || {
        printf '%s\n' "$out"
        fail core-size "$(printf '%s\n' "$out" | grep '^core size' || echo 'scripts/core-size.sh failed')"
    }
    printf '%s\n' "$out"
    record core-size "ok: $(printf '%s\n' "$out" | grep '^core size' | sed 's/^core size //') ($(elapsed "$t0")s)"
}

# ------------------------------------------------------------------ main
main() {
    mkdir -p -- "$build"

    # Corruption-detection levels: Basic is ESP-IDF's default configuration
    # (no debugging feature); Light and Comprehensive are built with every
    # other debugging feature on too (tracing, hooks, task tracking).
    local -A level_args=(
        [basic]=""
        [light]="-DHEAPCAPS_ALL_FEATURES=ON"
        [comprehensive]="-DHEAPCAPS_ALL_FEATURES=ON -DHEAPCAPS_POISONING=comprehensive"
    )
    local levels=(basic light comprehensive) level suffix
    [[ $quick -eq 1 ]] && levels=(basic)
    for level in "${levels[@]}"; do
        suffix=${level/#basic/}
        suffix=${suffix:+-$suffix}
        # shellcheck disable=SC2086 # level_args holds lists of words
        run_build "gcc64$suffix" CC=gcc ${level_args[$level]}
    done
    if [[ $quick -eq 0 ]]; then
        cmocka_for m32 -m32
        for level in "${levels[@]}"; do
            suffix=${level/#basic/}
            suffix=${suffix:+-$suffix}
            # shellcheck disable=SC2086
            run_build "gcc32$suffix" CC=gcc -DCMAKE_C_FLAGS=-m32 \
                "-DHEAPCAPS_CMOCKA_PREFIX=$build/cmocka-m32" ${level_args[$level]}
            # shellcheck disable=SC2086
            run_build "clang-asan$suffix" CC=clang -DHEAPCAPS_SANITIZE=ON ${level_args[$level]}
        done

        # The sanitizer view: AddressSanitizer, and Valgrind memcheck. Only
        # its own suite: other suites damage heap internals on purpose, which
        # the view reports (the whole suite ran in the builds above).
        ctest_args=(-L sanitizer_view)
        run_build view-asan CC=clang -DHEAPCAPS_SANITIZE=ON -DHEAPCAPS_SANITIZER_VIEW=ON
        ctest_args=(-L sanitizer_view)
        run_build view-valgrind CC=gcc -DHEAPCAPS_SANITIZER_VIEW=ON
        stress_ci
        fuzz_ci

        install_build gcc64
        consumer_cmake package -DHEAPCAPS_CONSUMER_MODE=package "-DCMAKE_PREFIX_PATH=$build/install"
        consumer_pkgconfig
        consumer_cmake subdirectory -DHEAPCAPS_CONSUMER_MODE=subdirectory
        example_cmake dma_cache

        cross_build
        core_size

        # The portable suites on emulated boards, at the three levels.
        board_tools
        local target
        for target in cortex-m3 cortex-m4f rv32imc xtensa-lx106; do
            cmocka_for_target "$target"
            for level in "${levels[@]}"; do
                suffix=${level/#basic/}
                suffix=${suffix:+-$suffix}
                # shellcheck disable=SC2086
                run_build "board-$target$suffix" -DCMAKE_BUILD_TYPE=MinSizeRel \
                    -DHEAPCAPS_PORT=baremetal -DHEAPCAPS_BUILD_TESTS=ON \
                    "-DCMAKE_TOOLCHAIN_FILE=$root/cmake/toolchains/$target.cmake" \
                    "-DHEAPCAPS_CMOCKA_PREFIX=$build/cmocka-$target" ${level_args[$level]}
            done
        done
        format_check
        coverage_check
    fi

    print_summary
    printf '\n%s: all passed in %ss%s\n' "$me" "$(elapsed "$t_start")" "$([[ $quick -eq 1 ]] && echo ' (--quick: gcc64 only)')"
}

main
