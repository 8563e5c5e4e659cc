#!/usr/bin/env bash
# make_seeds.sh — (re)generate the committed seed corpora fuzz/corpus/<harness>/.
#
#   fuzz/make_seeds.sh [--build-dir DIR] [--runs N] [--keep N] [harness...]
#
# For each harness (default: every fuzz/fuzz_*.c that defines LLVMFuzzerTestOneInput):
#   1. raw seeds: pseudo-random byte strings from a fixed linear congruential
#      generator (bash arithmetic: the same bytes on every machine), one per
#      first byte 0..11 (the harness's set-up choice: chip configuration or
#      heap count) and of lengths 512 to 4096 bytes (every byte string is a
#      valid program of operations);
#   2. a short libFuzzer run from them with the fixed seed 1 (--runs, default
#      5000), then -merge=1 of what it found into a scratch directory;
#   3. the corpus: the --keep (default 20) largest merged inputs (the longest
#      programs: most operations and coverage), replacing fuzz/corpus/<harness>/.
# The harnesses are built in DIR (default build/fuzz-seeds) with clang,
# ASan and UBSan, as fuzz/run.sh builds them.
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me=make_seeds.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=$root/build/fuzz-seeds
runs=5000
keep=20
harnesses=()

die() { echo "$me: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --build-dir) [[ $# -ge 2 ]] || die "--build-dir needs a directory"; build=$2; shift 2 ;;
    --runs) [[ $# -ge 2 ]] || die "--runs needs a number"; runs=$2; shift 2 ;;
    --keep) [[ $# -ge 2 ]] || die "--keep needs a number"; keep=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; exit 0 ;;
    -*) echo "$me: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number, not '$runs'"
[[ $keep =~ ^[1-9][0-9]*$ ]] || die "--keep needs a positive number, not '$keep'"
if [[ ${#harnesses[@]} -eq 0 ]]; then
    for source in "$root"/fuzz/fuzz_*.c; do
        if grep -q LLVMFuzzerTestOneInput -- "$source"; then
            harnesses+=("$(basename -- "$source" .c)")
        fi
    done
fi

# raw_seed FILE FIRST LENGTH STATE: LENGTH bytes, the first FIRST, the rest
# from the generator started at STATE.
raw_seed() {
    local file=$1 first=$2 length=$3 x=$4 i chunk=""
    chunk=$(printf '\\%03o' "$first")
    for ((i = 1; i < length; i++)); do
        x=$(((x * 1103515245 + 12345) & 0x7fffffff))
        chunk+=$(printf '\\%03o' $(((x >> 16) & 0xff)))
    done
    printf '%b' "$chunk" >"$file"
}

echo "$me: building the harnesses in $build"
CC=clang cmake -S "$root" -B "$build" --log-level=WARNING -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEAPCAPS_FUZZ=ON -DHEAPCAPS_SANITIZE=ON -DHEAPCAPS_BUILD_TESTS=OFF \
    -DHEAPCAPS_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --parallel 2 --target "${harnesses[@]}" >/dev/null

for harness in "${harnesses[@]}"; do
    program=$build/fuzz/$harness
    [[ -x $program ]] || die "no harness $program"
    work=$build/seeds/$harness
    rm -rf -- "$work"
    mkdir -p -- "$work/raw" "$work/found" "$work/merged"
    for first in $(seq 0 11); do
        raw_seed "$work/raw/seed-$first" "$first" $((512 + first * 325)) $((first * 7919 + 17))
    done
    echo "$me: $harness: fuzzing $runs runs from 12 raw seeds"
    "$program" -seed=1 -runs="$runs" -max_len=4096 -artifact_prefix="$work/" \
        "$work/found" "$work/raw" >"$work/fuzz.log" 2>&1 ||
        die "$harness failed while making seeds (see $work/fuzz.log)"
    "$program" -merge=1 "$work/merged" "$work/found" "$work/raw" >"$work/merge.log" 2>&1 ||
        die "$harness: merge failed (see $work/merge.log)"
    corpus=$root/fuzz/corpus/$harness
    rm -rf -- "$corpus"
    mkdir -p -- "$corpus"
    # The largest inputs: the longest programs.
    mapfile -t names < <(ls -S -- "$work/merged")
    for name in "${names[@]:0:$keep}"; do
        cp -- "$work/merged/$name" "$corpus/$name"
    done
    echo "$me: $harness: $(find "$corpus" -type f | wc -l) seeds," \
        "$(cat -- "$corpus"/* | wc -c) bytes in fuzz/corpus/$harness"
done
