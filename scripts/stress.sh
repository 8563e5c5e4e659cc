#!/usr/bin/env bash
# stress.sh — build and run the concurrency stress program (stress/,
# docs/stress.md): threads allocating, reallocating, handing blocks to each
# other and freeing them on shared heaps, with the accounting checked
# exactly at barriers, under race detectors.
#
#   scripts/stress.sh [--ci] [--seed S] [--stage NAME]... [--jobs N]
#
# Stages, in order, stopping at the first failure (non-zero exit status):
#   tsan      clang -fsanitize=thread (build/stress-tsan): both levels
#             (multi_heap, heap_caps on an emulated ESP32-S3 with 2 MiB PSRAM);
#             by default the full run, 8 threads x 10^6 operations each;
#             with --ci 4 threads x 20,000, and the heap_caps level on ESP32
#   helgrind  gcc build (build/stress-gcc) under valgrind --tool=helgrind
#             --error-exitcode=1: 4 threads x 20,000 (--ci: x 5,000); with
#             --warm-up and --locked-queries-only, as Helgrind does not see
#             the C11 atomics the caps routes are published with and the
#             free counters are read with (ThreadSanitizer covers those)
#   features  every debugging feature (HEAPCAPS_ALL_FEATURES: tracing, task
#             tracking, hooks, Light poisoning) under ThreadSanitizer
#             (build/stress-tsan-all): per-task statistics and leak records
#             checked against the threads' blocks; 8 threads x 250,000
#             (--ci: 4 x 20,000, and ESP32)
#
# Options:
#   --ci        the reduced runs (about 2 minutes with the builds, 2 CPUs)
#   --seed S    the random seed (default 1)
#   --stage S   only these stages (repeatable): tsan, helgrind, features
#   --jobs N    parallel build jobs (default 2)
#
# ThreadSanitizer needs its shadow memory where the kernel's address space
# randomisation may put the program (kernels with vm.mmap_rnd_bits above 28
# make clang 14's TSan stop with "unexpected memory mapping"): the script
# checks this first and then runs the program under `setarch -R` (no
# randomisation); if that is not allowed either, it says what to change.
# Logs: build/stress-logs/<stage>*.log.
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me=stress.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=$root/build
logs=$build/stress-logs
jobs=2
ci=0
seed=1
stages=()

usage() { sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; }
die() { echo "$me: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --ci) ci=1; shift ;;
    --seed) [[ $# -ge 2 ]] || die "--seed needs a number"; seed=$2; shift 2 ;;
    --stage)
        [[ $# -ge 2 ]] || die "--stage needs a name"
        [[ $2 =~ ^(tsan|helgrind|features)$ ]] || die "unknown stage '$2' (tsan, helgrind, features)"
        stages+=("$2"); shift 2 ;;
    --jobs | -j) [[ $# -ge 2 ]] || die "$1 needs a number"; jobs=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$me: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number, not '$jobs'"
[[ $seed =~ ^[0-9]+$ ]] || die "--seed needs a number, not '$seed'"
[[ ${#stages[@]} -gt 0 ]] || stages=(tsan helgrind features)

# Reports with both stacks; stop at the first one (the exit status says it).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}

# ------------------------------------------------------------------ reporting
report_width=26
# shellcheck source=scripts/report.sh
source "$root/scripts/report.sh"

# ------------------------------------------------------------------ steps
# configure NAME CC FLAGS CMAKE_ARGS...: build/stress-NAME with stress_heap.
configure() {
    local name=$1 cc=$2 flags=$3 dir=$build/stress-$1 t0=$EPOCHREALTIME
    shift 3
    command -v "$cc" >/dev/null || fail "build-$name" "$cc not found (Debian package $cc)"
    banner "build-$name: $cc $flags $*"
    CC=$cc cmake -S "$root" -B "$dir" --log-level=WARNING -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DHEAPCAPS_BUILD_STRESS=ON -DHEAPCAPS_BUILD_TESTS=OFF -DHEAPCAPS_BUILD_TOOLS=OFF \
        "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=$flags" "$@" ||
        fail "build-$name" "cmake configure failed (build dir $dir)"
    cmake --build "$dir" --parallel "$jobs" --target stress_heap ||
        fail "build-$name" "build failed (build dir $dir)"
    record "build-$name" "ok ($(elapsed "$t0")s)"
}

# The prefix that lets a TSan program start on this kernel (set by tsan_check).
tsan_prefix=()

# tsan_check EXE: ThreadSanitizer starts, else retry without address
# randomisation, else say which kernel setting to change.
tsan_check() {
    local exe=$1 err=$logs/tsan-probe.log
    "$exe" --help >/dev/null 2>"$err" && return 0
    if grep -q 'ThreadSanitizer' "$err"; then
        local arch
        arch=$(uname -m)
        if command -v setarch >/dev/null && setarch "$arch" -R "$exe" --help >/dev/null 2>"$err"; then
            echo "$me: ThreadSanitizer needs address randomisation off here" \
                "(vm.mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo '?')):" \
                "running under setarch $arch -R"
            tsan_prefix=(setarch "$arch" -R)
            return 0
        fi
        cat "$err" >&2
        fail tsan "ThreadSanitizer cannot start on this kernel: lower the address randomisation (as root: sysctl vm.mmap_rnd_bits=28) or allow setarch -R (personality)"
    fi
    cat "$err" >&2
    fail tsan "$exe --help failed"
}

# run_stress NAME PREFIX... -- ARGS...: run stress_heap, log, record its figures.
run_stress() {
    local name=$1 t0=$EPOCHREALTIME log=$logs/$1.log status=0
    shift
    local -a prefix=()
    while [[ $1 != -- ]]; do
        prefix+=("$1")
        shift
    done
    shift
    banner "$name: ${prefix[*]} $*"
    "${prefix[@]}" "$@" 2>&1 | tee "$log" || status=$?
    if [[ $status -ne 0 ]]; then
        fail "$name" "exit status $status; $(grep -m1 -E 'ThreadSanitizer:|stress_heap: [a-z_]+ (check|final)|ERROR SUMMARY' "$log" || echo "see $log")"
    fi
    local rates
    rates=$(sed -n 's/^\([a-z_]*\): .* in \([0-9.]*\) s (\([0-9]*\) ops\/s.*/\1 \2 s, \3 ops\/s/p' "$log" | paste -sd ';' -)
    record "$name" "ok ($(elapsed "$t0")s): ${rates//;/; }"
}

# ------------------------------------------------------------------ main
mkdir -p -- "$logs"
tsan_flags="-fsanitize=thread -fno-omit-frame-pointer"
if [[ $ci -eq 1 ]]; then
    tsan_args=(--threads 4 --ops 20000)
    helgrind_args=(--threads 4 --ops 5000)
    features_args=(--threads 4 --ops 20000)
else
    tsan_args=(--threads 8 --ops 1000000) # the issue's target
    helgrind_args=(--threads 4 --ops 20000)
    features_args=(--threads 8 --ops 250000)
fi

for stage in "${stages[@]}"; do
    case $stage in
    tsan)
        configure tsan clang "$tsan_flags"
        exe=$build/stress-tsan/stress/stress_heap
        tsan_check "$exe"
        run_stress tsan "${tsan_prefix[@]}" -- "$exe" "${tsan_args[@]}" --seed "$seed" --level both
        if [[ $ci -eq 1 ]]; then
            run_stress tsan-esp32 "${tsan_prefix[@]}" -- "$exe" "${tsan_args[@]}" --seed "$seed" \
                --level heap_caps --chip esp32
        fi
        ;;
    helgrind)
        command -v valgrind >/dev/null || fail helgrind "valgrind not found (Debian package valgrind)"
        configure gcc gcc ""
        run_stress helgrind valgrind --tool=helgrind --error-exitcode=1 --num-callers=20 -- \
            "$build/stress-gcc/stress/stress_heap" "${helgrind_args[@]}" --seed "$seed" \
            --level both --warm-up --locked-queries-only
        ;;
    features)
        configure tsan-all clang "$tsan_flags" -DHEAPCAPS_ALL_FEATURES=ON
        exe=$build/stress-tsan-all/stress/stress_heap
        tsan_check "$exe"
        run_stress features "${tsan_prefix[@]}" -- "$exe" "${features_args[@]}" --seed "$seed" \
            --level both
        if [[ $ci -eq 1 ]]; then
            run_stress features-esp32 "${tsan_prefix[@]}" -- "$exe" "${features_args[@]}" \
                --seed "$seed" --level heap_caps --chip esp32
        fi
        ;;
    esac
done

print_summary
printf '\n%s: all passed in %ss%s\n' "$me" "$(elapsed "$t_start")" "$([[ $ci -eq 1 ]] && echo ' (--ci: reduced runs)')"
