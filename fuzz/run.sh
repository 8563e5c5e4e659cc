#!/usr/bin/env bash
# run.sh — build the libFuzzer harnesses and run them (docs/fuzzing.md).
#
#   fuzz/run.sh [--time SECONDS] [--jobs N] [--seed S] [--poisoning LEVEL]
#               [--build-dir DIR] [--no-regressions] [harness...]
#   fuzz/run.sh --ci [--no-regressions]
#
# Long runs (the default mode): each harness named (default: all of them,
# fuzz_multi_heap and fuzz_heap_caps) fuzzes for --time seconds (default
# 600) with N libFuzzer processes (--jobs, default 1: -jobs=N -workers=N
# when N > 1), one harness after the other. Inputs found are kept in
# DIR/run/<harness>/corpus and reused by the next run, on top of the
# committed seeds in fuzz/corpus/<harness>/ (read only). At the end it
# prints, per harness and in total, the operations executed (each harness
# prints "<harness>: N operations in M inputs" at exit) and every crash
# input saved in DIR/run/<harness>/crashes/; the exit status is 1 when a
# harness found a crash or a model mismatch.
#
# --ci: the CI check: build in build/fuzz-ci (build/fuzz-ci-<poisoning>
# with --poisoning), replay the committed crash inputs
# (fuzz/regressions/<harness>/, with HEAPCAPS_FUZZ_KNOWN_BUGS=1), then fuzz
# each harness for 30 seconds (or --time) with the fixed seed 1 from its
# committed seed corpus only (about 70 s in all, plus the build).
#
# Options:
#   --time S          seconds per harness (long runs; default 600)
#   --jobs N          parallel libFuzzer processes per harness (default 1)
#   --seed S          libFuzzer's -seed (default: random, libFuzzer's choice)
#   --poisoning L     basic (default), light or comprehensive: the build's
#                     corruption detection (HEAPCAPS_POISONING)
#   --build-dir DIR   build directory (default build/fuzz-<poisoning>)
#   --no-regressions  do not replay fuzz/regressions/ (a known library bug
#                     there fails the run until it is fixed)
#
# Needs clang with libFuzzer and the sanitizer runtimes (Debian: clang
# libclang-rt-14-dev). The harnesses are built with ASan + UBSan.
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me=run.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
seconds=600
jobs=1
seed=""
poisoning=basic
build=""
ci=0
time_given=0
regressions=1
harnesses=()

die() { echo "$me: $*" >&2; exit 2; }
usage() { sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --time) [[ $# -ge 2 ]] || die "--time needs seconds"; seconds=$2; time_given=1; shift 2 ;;
    --jobs | -j) [[ $# -ge 2 ]] || die "--jobs needs a number"; jobs=$2; shift 2 ;;
    --seed) [[ $# -ge 2 ]] || die "--seed needs a number"; seed=$2; shift 2 ;;
    --poisoning) [[ $# -ge 2 ]] || die "--poisoning needs a level"; poisoning=$2; shift 2 ;;
    --build-dir) [[ $# -ge 2 ]] || die "--build-dir needs a directory"; build=$2; shift 2 ;;
    --no-regressions) regressions=0; shift ;;
    --ci) ci=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown argument '$1' (see --help)" ;;
    *) harnesses+=("$1"); shift ;;
    esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--time needs a positive number of seconds, not '$seconds'"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number, not '$jobs'"
[[ -z $seed || $seed =~ ^[0-9]+$ ]] || die "--seed needs a number, not '$seed'"
case $poisoning in basic | light | comprehensive) ;; *) die "--poisoning: basic, light or comprehensive" ;; esac
if [[ $ci -eq 1 ]]; then
    [[ $time_given -eq 1 ]] || seconds=30
    jobs=1
    seed=1
    suffix=${poisoning/#basic/}
    build=${build:-$root/build/fuzz-ci${suffix:+-$suffix}}
fi
build=${build:-$root/build/fuzz-$poisoning}
if [[ ${#harnesses[@]} -eq 0 ]]; then
    for source in "$root"/fuzz/fuzz_*.c; do
        if grep -q LLVMFuzzerTestOneInput -- "$source"; then
            harnesses+=("$(basename -- "$source" .c)")
        fi
    done
fi
for harness in "${harnesses[@]}"; do
    [[ -f $root/fuzz/$harness.c ]] || die "no harness '$harness' (fuzz/$harness.c)"
done

command -v clang >/dev/null || die "clang not found (Debian: apt-get install clang libclang-rt-14-dev)"

banner() { printf '\n==== %s: %s\n' "$me" "$*"; }

banner "build: $build (poisoning $poisoning)"
CC=clang cmake -S "$root" -B "$build" --log-level=WARNING -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEAPCAPS_FUZZ=ON -DHEAPCAPS_SANITIZE=ON -DHEAPCAPS_POISONING="$poisoning" \
    -DHEAPCAPS_BUILD_TESTS=OFF -DHEAPCAPS_BUILD_TOOLS=OFF >/dev/null ||
    die "cmake configure of $build failed"
cmake --build "$build" --parallel 2 --target "${harnesses[@]}" >/dev/null ||
    die "building ${harnesses[*]} in $build failed"

# Stack traces for sanitizer reports; libFuzzer handles the rest.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Inputs per harness: a longer program amortises the chip's boot.
max_len() { [[ $1 == fuzz_heap_caps ]] && echo 8192 || echo 4096; }

# operations LOG...: the operations the harness processes reported.
operations() {
    cat -- "$@" 2>/dev/null | sed -n 's/^fuzz_[a-z_]*: \([0-9][0-9]*\) operations in .*/\1/p' |
        awk '{ s += $1 } END { printf "%d", s }'
}

status=0
total=0
summary=()
for harness in "${harnesses[@]}"; do
    program=$build/fuzz/$harness
    work=$build/run/$harness
    seeds=$root/fuzz/corpus/$harness
    mkdir -p -- "$work/corpus" "$work/crashes" "$work/logs"
    [[ -d $seeds ]] || die "no seed corpus $seeds (fuzz/make_seeds.sh makes it)"

    replay=$root/fuzz/regressions/$harness
    if [[ $regressions -eq 1 ]] && compgen -G "$replay/crash-*" >/dev/null; then
        banner "$harness: replaying fuzz/regressions/$harness (HEAPCAPS_FUZZ_KNOWN_BUGS=1)"
        for input in "$replay"/crash-*; do
            rlog=$work/logs/regression-$(basename -- "$input").log
            if HEAPCAPS_FUZZ_KNOWN_BUGS=1 "$program" -timeout=60 \
                -artifact_prefix="$work/logs/regression-" "$input" >"$rlog" 2>&1; then
                echo "  passes: $input"
            else
                echo "  FAILS:  $input ($(grep -m1 -oE 'MODEL MISMATCH.*|SUMMARY: .*' "$rlog" || echo "see $rlog"))"
                status=1
            fi
        done
    fi

    stamp=$(date +%Y%m%d-%H%M%S)
    log=$work/logs/$stamp.log
    args=(-max_total_time="$seconds" -max_len="$(max_len "$harness")" -timeout=60
          -print_final_stats=1 -artifact_prefix="$work/crashes/")
    [[ -n $seed ]] && args+=(-seed="$seed")
    corpora=("$work/corpus" "$seeds")
    if [[ $ci -eq 1 ]]; then
        rm -rf -- "$work/corpus" && mkdir -p -- "$work/corpus" # from the committed seeds only
    fi
    banner "$harness: fuzzing ${seconds}s with $jobs process(es)${seed:+, seed $seed} (log $log)"
    declare -A seen=()
    while IFS= read -r name; do
        seen[$name]=1
    done < <(find "$work/crashes" -type f)
    t0=$(date +%s)
    if [[ $jobs -eq 1 ]]; then
        "$program" "${args[@]}" "${corpora[@]}" >"$log" 2>&1 || true
        logs=("$log")
    else
        # libFuzzer's -jobs writes one fuzz-<n>.log per job in the current directory.
        jobdir=$work/logs/$stamp.jobs
        mkdir -p -- "$jobdir"
        (cd -- "$jobdir" && "$program" "${args[@]}" -jobs="$jobs" -workers="$jobs" \
            "${corpora[@]}" >"$log" 2>&1) || true
        logs=("$log" "$jobdir"/fuzz-*.log)
    fi
    elapsed=$(($(date +%s) - t0))
    ops=$(operations "${logs[@]}")
    total=$((total + ops))
    runs=$(cat -- "${logs[@]}" | sed -n 's/^Done \([0-9]*\) runs.*/\1/p' | awk '{ s += $1 } END { printf "%d", s }')
    crashes=()
    while IFS= read -r name; do
        [[ -n ${seen[$name]:-} ]] || crashes+=("$name")
    done < <(find "$work/crashes" -type f)
    unset seen
    line=$(printf '%-16s %12s operations, %9s inputs in %ss (%s operations/s)' "$harness" "$ops" \
        "${runs:-0}" "$elapsed" "$((elapsed > 0 ? ops / elapsed : ops))")
    if [[ ${#crashes[@]} -gt 0 ]]; then
        status=1
        line+=", ${#crashes[@]} CRASH INPUT(S)"
        grep -E 'MODEL MISMATCH|ERROR: AddressSanitizer|ERROR: libFuzzer|runtime error' "${logs[@]}" |
            head -n 5 || true
        for crash in "${crashes[@]}"; do
            echo "  crash input: $crash"
            echo "  replay:      HEAPCAPS_FUZZ_TRACE=1 $program $crash"
        done
    elif ! grep -q '^Done [0-9]* runs' "${logs[@]}"; then
        status=1
        line+=", DID NOT FINISH (see $log)"
        tail -n 5 -- "$log"
    fi
    summary+=("$line")
done

banner "summary"
printf '  %s\n' "${summary[@]}"
printf '  %-16s %12s operations\n' total "$total"
exit "$status"
