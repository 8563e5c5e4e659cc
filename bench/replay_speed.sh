#!/usr/bin/env bash
# replay_speed.sh — how fast `heapcaps replay` reads and replays a CSV trace
# (docs/replay.md, "Speed"): generates a trace of N operations with
# bench/trace_input_bench.c (a busy application's mix of malloc, calloc,
# aligned, realloc and free, up to 4096 live blocks), then replays it on an
# emulated ESP32-S3 with 8 MiB PSRAM and prints the replay's own rate and
# the whole command's (reading, two replays: the run and the run up to the
# worst moment, the report).
#
#   bench/replay_speed.sh [--ops N] [--build DIR]
#
# DIR: a build tree with tools/heapcaps (default build/bench-replay, built
# here at RelWithDebInfo).
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
ops=5000000
build=$root/build/bench-replay
while [[ $# -gt 0 ]]; do
    case $1 in
    --ops) ops=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h | --help) sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; exit 0 ;;
    *) echo "replay_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[[ $ops =~ ^[1-9][0-9]*$ ]] || { echo "replay_speed.sh: --ops needs a positive number" >&2; exit 2; }

if [[ ! -x $build/tools/heapcaps ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEAPCAPS_BUILD_TESTS=OFF >/dev/null
    cmake --build "$build" --parallel 2 --target heapcaps_cli >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cc -O2 -std=c11 -I"$root/tools" "$root/bench/trace_input_bench.c" "$root/tools/trace_input.c" \
    -o "$work/trace_input_bench"
"$work/trace_input_bench" --ops "$ops" --file "$work/trace.csv" | grep -E '^trace_read'
start=$(date +%s.%N)
"$build/tools/heapcaps" replay "$work/trace.csv" --target esp32s3 --psram 8M --no-progress |
    sed -n '1,3p'
end=$(date +%s.%N)
awk -v ops="$ops" -v s="$start" -v e="$end" \
    'BEGIN { printf "whole command: %.2f s, %.2f million operations/s\n", e - s, ops / (e - s) / 1e6 }'
