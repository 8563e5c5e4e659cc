#!/usr/bin/env bash
# dispatch.sh — instructions heap_caps_malloc/heap_caps_free add on top of the
# multi_heap_malloc/multi_heap_free they end in, on an emulated ESP32, with
# and without 64 extra heaps (callgrind, exclusive costs per call).
#
#   bench/dispatch.sh [--m32|--m64]     (default --m32)
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
abi=-m32
[[ ${1:-} == --m64 ]] && abi=-m64
dir=$root/build/bench-dispatch$abi
cmake -S "$root" -B "$dir" --log-level=WARNING -DHEAPCAPS_BUILD_BENCH=ON -DHEAPCAPS_BUILD_TESTS=OFF \
    -DHEAPCAPS_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=$abi" \
    "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" >/dev/null
cmake --build "$dir" --target dispatch_bench --parallel 2 >/dev/null
bin=$dir/bench/dispatch_bench

# self COST_FILE FUNCTION: exclusive instructions of FUNCTION and its call count.
self() {
    callgrind_annotate --threshold=100 "$1" 2>/dev/null |
        awk -v f="$2" '$0 ~ (":" f " ") { gsub(",", "", $1); print $1; exit }'
}
calls() {
    # calls to FUNCTION: from the cfn/calls lines of the raw callgrind output
    awk -v f="$2" '
        /^fn=/ { current = $0 }
        /^cfn=/ { target = $0 }
        /^calls=/ { if (target ~ ("[=) ]" f "$")) { split($1, a, "="); n += a[2] } }
        END { print n + 0 }' "$1"
}
measure() { # measure OUT ARGS...: run under callgrind
    local out=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out" --compress-strings=no \
        --compress-pos=no "$bin" "$@" >/dev/null 2>&1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
measure "$tmp/multi" multi
mm=$(self "$tmp/multi" multi_heap_malloc) mmn=$(calls "$tmp/multi" multi_heap_malloc)
mf=$(self "$tmp/multi" multi_heap_free) mfn=$(calls "$tmp/multi" multi_heap_free)
printf '| heaps | heap_caps_malloc − multi_heap_malloc | heap_caps_free − multi_heap_free | heaps tried per malloc |\n|---|---|---|---|\n'
for extra in 0 64; do
    measure "$tmp/caps$extra" caps --extra-heaps "$extra"
    hm=$(self "$tmp/caps$extra" heap_caps_malloc) hmn=$(calls "$tmp/caps$extra" heap_caps_malloc)
    hf=$(self "$tmp/caps$extra" heap_caps_free) hfn=$(calls "$tmp/caps$extra" heap_caps_free)
    tries=$(calls "$tmp/caps$extra" heapcaps_mh_malloc_locked)
    awk -v e="$extra" -v hm="$hm" -v hmn="$hmn" -v mm="$mm" -v mmn="$mmn" \
        -v hf="$hf" -v hfn="$hfn" -v mf="$mf" -v mfn="$mfn" -v abi="$abi" -v t="$tries" 'BEGIN {
        printf "| ESP32 layout%s (%s) | %+.1f | %+.1f | %.3f |\n",
            (e > 0 ? " + " e " extra" : ""), abi, hm / hmn - mm / mmn, hf / hfn - mf / mfn, t / hmn }'
done
