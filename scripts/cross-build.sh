#!/usr/bin/env bash
# cross-build.sh — build the library freestanding (bare-metal port) for every
# cross target with -Wall -Wextra -Werror, in the default configuration and
# with every debugging feature, and check what it needs from a C library.
#
#   scripts/cross-build.sh [--target NAME]... [--jobs N]
#
# Targets (toolchain files in cmake/toolchains/): cortex-m3, cortex-m4f,
# rv32imc, xtensa-lx106. A target whose compiler is not installed fails with
# the Debian package to install.
#
# The check: every undefined symbol of the library's objects must be one of
# defined by the library itself, memcpy, memset, memmove, the user's weak
# allocation hooks, or a helper of the compiler's own runtime (libgcc: division, shifts, bit counts). The only
# exception is heap_task_tracking.c's print functions, whose API takes a stdio
# FILE (they use fprintf).
#
# Build trees: build/cross-<target>-<config>.
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me=cross-build.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
jobs=2
targets=()

die() { echo "$me: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --target) [[ $# -ge 2 ]] || die "--target needs a name"; targets+=("$2"); shift 2 ;;
    --jobs) [[ $# -ge 2 ]] || die "--jobs needs a number"; jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; exit 0 ;;
    *) echo "$me: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(cortex-m3 cortex-m4f rv32imc xtensa-lx106)

declare -A compiler=(
    [cortex-m3]=arm-none-eabi [cortex-m4f]=arm-none-eabi
    [rv32imc]=riscv64-unknown-elf [xtensa-lx106]=xtensa-lx106-elf
)
declare -A packages=(
    [cortex-m3]="gcc-arm-none-eabi libnewlib-arm-none-eabi"
    [cortex-m4f]="gcc-arm-none-eabi libnewlib-arm-none-eabi"
    [rv32imc]="gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"
    [xtensa-lx106]="gcc-xtensa-lx106 picolibc-xtensa-lx106-elf"
)

# What the library may leave undefined. (__atomic_* calls, on cores without
# atomic instructions, are served by the port's src/port/baremetal/atomic_fallback.c.)
allowed='^(memcpy|memset|memmove|__(aeabi|udiv|div|umod|mod|mul|ashl|ashr|lshr|clz|ctz|popcount|ffs|bswap|cmp|ucmp|neg)[a-z0-9_]*)$'
# heap_task_tracking.c prints on the FILE its API is given.
allowed_stdio='^(fprintf|fputs|fputc|_impure_ptr|stdout|__stdout|_impure_data)$'

check_symbols() { # check_symbols TARGET BUILD_DIR
    local nm=${compiler[$1]}-nm archive=$2/src/libheapcaps.a bad=0 object symbol
    [[ -f $archive ]] || die "$1: $archive was not built"
    local -A defined=()
    while read -r symbol; do
        defined[$symbol]=1
    done < <("$nm" --defined-only "$archive" | awk 'NF == 3 { print $3 }')
    while read -r object symbol; do
        if [[ -n ${defined[$symbol]:-} || $symbol =~ $allowed || $symbol == esp_heap_trace_*_hook ]]; then
            continue
        fi
        if [[ $object == heap_task_tracking.c.obj && $symbol =~ $allowed_stdio ]]; then
            continue
        fi
        echo "$me: $1: $object needs '$symbol' from outside the library" >&2
        bad=1
    done < <("$nm" -u -A "$archive" | sed -E 's/^[^:]*:([^:]*):[[:space:]]*[Uw][[:space:]]+/\1 /')
    return $bad
}

for target in "${targets[@]}"; do
    [[ -n ${compiler[$target]:-} ]] || die "unknown target '$target'"
    command -v "${compiler[$target]}-gcc" >/dev/null ||
        die "$target: ${compiler[$target]}-gcc not found (Debian: apt-get install ${packages[$target]})"
    for config in default all-features; do
        dir=$root/build/cross-$target-$config
        args=()
        [[ $config == all-features ]] && args=(-DHEAPCAPS_ALL_FEATURES=ON)
        echo "==== $me: $target, $config"
        cmake -S "$root" -B "$dir" --log-level=WARNING \
            "-DCMAKE_TOOLCHAIN_FILE=$root/cmake/toolchains/$target.cmake" \
            -DHEAPCAPS_PORT=baremetal -DCMAKE_BUILD_TYPE=MinSizeRel -DHEAPCAPS_WERROR=ON \
            "${args[@]}" >/dev/null || die "$target $config: configure failed (build dir $dir)"
        cmake --build "$dir" --parallel "$jobs" >/dev/null ||
            die "$target $config: build failed (run: cmake --build $dir)"
        check_symbols "$target" "$dir" || die "$target $config: needs more than memcpy/memset/memmove"
        echo "$target $config: ok ($("${compiler[$target]}-size" -t "$dir/src/libheapcaps.a" |
            awk 'END { print $1 + $2 " bytes of code and data" }'))"
    done
done
echo "$me: all targets built freestanding"
