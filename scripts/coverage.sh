#!/usr/bin/env bash
# coverage.sh — line and branch coverage of the library's sources (src/) by
# the test suites, measured with gcc --coverage and merged with gcovr over
# the configurations that together compile every part of src/.
#
#   scripts/coverage.sh [--ci] [--config NAME]... [--jobs N]
#                       [--min-lines P] [--min-branches P] [--cmake-arg ARG]...
#
# Configurations (gcc, -O0, --coverage; build trees build/coverage-NAME,
# reused by later runs):
#   basic          ESP-IDF's default configuration (no debugging feature)
#   light          every debugging feature (HEAPCAPS_ALL_FEATURES: tracing
#                  with hash map, hooks, task tracking), Light poisoning
#   comprehensive  every debugging feature, Comprehensive poisoning
#   lean           tracing, hooks and task tracking without the trace hash
#                  map, without the statistics of deleted tasks and with no
#                  recorded callers (the other side of those options)
#   view           the sanitizer view (HEAPCAPS_SANITIZER_VIEW) with its
#                  Valgrind part: the sanitizer_view tests only, as in
#                  scripts/test.sh (other suites damage heaps on purpose)
#   view-asan      the sanitizer view under AddressSanitizer (gcc's), with
#                  every debugging feature and Comprehensive poisoning (the
#                  view's own copy and fill loops): the sanitizer_view tests
# (the view configurations build no heapcaps program: its tests do not run
# there, and the copy of the library it would get is not the view's)
# The others run their whole ctest; the bare-metal port is measured through
# the host tests that compile src/port/baremetal/ into themselves
# (test_port_baremetal). A child process that a test forks and that ends
# with _exit(), abort() or an AddressSanitizer report saves its counters too
# (the programs are linked with -Wl,--wrap=_exit,--wrap=abort and a small
# object that calls __gcov_dump, also as ASan's death callback). The
# always-inline helpers of the core (TLSF_HOT) are compiled as ordinary
# functions (-Dalways_inline=unused), so that a branch in one counts once,
# not once per call site it would be inlined into.
#
# Report: only src/ (not tests/, emu/, tools/, bench/, examples/), branches
# with gcovr's --exclude-unreachable-branches (docs/coverage.md says why).
# Written under build/coverage/:
#   index.html       HTML report with annotated sources (index.*.html)
#   summary.json     gcovr's JSON summary (per file and total)
#   coverage.json    the merged coverage data (gcovr's JSON format)
#   lines.txt, branches.txt  gcovr's text reports (uncovered line numbers)
#   NAME.json        each configuration's own data
# and a table of line % and branch % per file and for src/ as a whole is
# printed.
#
# Options:
#   --ci              basic and comprehensive only (a few minutes), and a
#                     short summary (totals, files under 90 %)
#   --config NAME     only this configuration (repeatable)
#   --jobs N          parallel jobs for builds, ctest and gcov (default 2)
#   --min-lines P     exit status 1 when line coverage of src/ is below P %
#   --min-branches P  exit status 1 when branch coverage of src/ is below P %
#   --cmake-arg ARG   one more argument for every configuration's cmake
#                     (repeatable), e.g. -DHEAPCAPS_TRACE_HASH_MAP_SIZE=4
#
# Needs gcc, cmake, cmocka, gcovr (Debian package gcovr) and, for the
# view configuration's Valgrind part, valgrind.
#
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

me=coverage.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=$root/build
out=$build/coverage
jobs=2
ci=0
min_lines=""
min_branches=""
configs=()
extra_cmake=()

usage() { sed -n '2,/^# SPDX/{s/^# \{0,1\}//;/^SPDX/d;p}' "$0"; }
die() { echo "$me: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --ci) ci=1; shift ;;
    --config) [[ $# -ge 2 ]] || die "--config needs a name"; configs+=("$2"); shift 2 ;;
    --jobs | -j) [[ $# -ge 2 ]] || die "$1 needs a number"; jobs=$2; shift 2 ;;
    --min-lines) [[ $# -ge 2 ]] || die "--min-lines needs a percentage"; min_lines=$2; shift 2 ;;
    --min-branches) [[ $# -ge 2 ]] || die "--min-branches needs a percentage"; min_branches=$2; shift 2 ;;
    --cmake-arg) [[ $# -ge 2 ]] || die "--cmake-arg needs an argument"; extra_cmake+=("$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$me: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number, not '$jobs'"
for p in "$min_lines" "$min_branches"; do
    [[ -z $p || $p =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "a threshold is a percentage (0-100), not '$p'"
done

declare -A config_args=(
    [basic]=""
    [light]="-DHEAPCAPS_ALL_FEATURES=ON"
    [comprehensive]="-DHEAPCAPS_ALL_FEATURES=ON -DHEAPCAPS_POISONING=comprehensive"
    [lean]="-DHEAPCAPS_TRACING=ON -DHEAPCAPS_TRACE_HASH_MAP=OFF -DHEAPCAPS_TRACING_STACK_DEPTH=0 -DHEAPCAPS_HOOKS=ON -DHEAPCAPS_TASK_TRACKING=ON -DHEAPCAPS_TRACK_DELETED_TASKS=OFF"
    [view]="-DHEAPCAPS_SANITIZER_VIEW=ON -DHEAPCAPS_BUILD_TOOLS=OFF"
    [view-asan]="-DHEAPCAPS_SANITIZER_VIEW=ON -DHEAPCAPS_SANITIZE=ON -DHEAPCAPS_ALL_FEATURES=ON -DHEAPCAPS_POISONING=comprehensive -DHEAPCAPS_BUILD_TOOLS=OFF"
)
declare -A config_ctest=([view]="-L sanitizer_view" [view-asan]="-L sanitizer_view")
# Configurations compiled without UBSan's checks (HEAPCAPS_SANITIZE turns
# on both sanitizers; UBSan's checks are branches of the compiler's own,
# which would be counted on the source lines).
declare -A config_no_ubsan=([view-asan]=1)
all_configs=(basic light comprehensive lean view view-asan)
if [[ ${#configs[@]} -eq 0 ]]; then
    configs=("${all_configs[@]}")
    [[ $ci -eq 1 ]] && configs=(basic comprehensive)
fi
for c in "${configs[@]}"; do
    [[ -n ${config_args[$c]+set} ]] || die "unknown configuration '$c' (${all_configs[*]})"
done

command -v gcc >/dev/null || die "gcc not found"
command -v gcov >/dev/null || die "gcov not found (it comes with gcc)"
command -v gcovr >/dev/null || die "gcovr not found (Debian: apt-get install gcovr)"
# gcovr's own interpreter (the first python3 in PATH may lack the module).
gcovr_python=$(sed -n '1s/^#! *//p' "$(command -v gcovr)")
[[ $gcovr_python == */python* ]] || gcovr_python=python3
# shellcheck disable=SC2086 # the interpreter line may be "/usr/bin/env python3"
$gcovr_python -c 'import gcovr' 2>/dev/null ||
    die "cannot import gcovr with '$gcovr_python' (the interpreter of $(command -v gcovr))"

t_start=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
banner() { printf '\n==== %s: %s\n' "$me" "$*"; }
# Quiet in --ci mode: a step's output is shown only when it fails.
quietly() {
    if [[ $ci -eq 0 ]]; then
        "$@"
        return
    fi
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log"
        rm -f -- "$log"
        return 1
    fi
    rm -f -- "$log"
}

# gcovr arguments shared by every step: src/ only, from the project root.
gcovr_common=(--root "$root" --filter 'src/' --exclude-unreachable-branches)

# run_gcovr ARGS...: gcovr, from the project root. A function that two
# compilations of one file define at different lines (the alternatives of
# an #if: heapcaps_mh_malloc in multi_heap_ops.h, with and without
# poisoning) stops gcovr 5's merge; newer gcovr has an option for it
# (--merge-mode-functions), gcovr 5 gets the same setting in its module.
# Only function coverage depends on it, and it is not reported.
if gcovr --help | grep -q -- --merge-mode-functions; then
    run_gcovr() { (cd "$root" && gcovr --merge-mode-functions=merge-use-line-max "$@"); }
else
    run_gcovr() {
        # shellcheck disable=SC2086
        (cd "$root" && $gcovr_python -c '
import sys
import gcovr.merging
gcovr.merging.DEFAULT_MERGE_OPTIONS.ignore_function_lineno = True
from gcovr.__main__ import main
sys.argv[0] = "gcovr"
main()
' "$@")
    }
fi

rm -rf -- "$out"
mkdir -p -- "$out"

# The object every program is linked with: a forked child that ends with
# _exit() or abort() (death tests, guarded pieces) saves its counters first.
# (gcc replaces fork() in instrumented code by __gcov_fork, which zeroes the
# child's counters: nothing is counted twice.)
cat >"$out/gcov_flush.c" <<'EOF'
/* Save the coverage counters before _exit() and abort(). */
extern void __gcov_dump(void);
extern _Noreturn void __real__exit(int status);
extern _Noreturn void __real_abort(void);

_Noreturn void __wrap__exit(int status)
{
    __gcov_dump();
    __real__exit(status);
}

_Noreturn void __wrap_abort(void)
{
    __gcov_dump();
    __real_abort();
}

/* AddressSanitizer ends a program that it reports on without exit(): it
 * calls its death callback first. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

__attribute__((constructor)) static void gcov_flush_on_sanitizer_death(void)
{
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(__gcov_dump);
    }
}
EOF
gcc -std=c11 -O0 -c "$out/gcov_flush.c" -o "$out/gcov_flush.o" || die "compiling the counter flush failed"
# The compiler launcher of config_no_ubsan: its options come last and win.
printf '#!/bin/sh\nexec "$@" -fno-sanitize=undefined\n' >"$out/no-ubsan.sh"
chmod +x "$out/no-ubsan.sh"

# run_config NAME: configure, build and test build/coverage-NAME, then
# collect its coverage of src/ into build/coverage/NAME.json.
run_config() {
    local name=$1 dir=$build/coverage-$1 t0=$EPOCHREALTIME
    local -a args ctest_extra
    read -r -a args <<<"${config_args[$name]}"
    read -r -a ctest_extra <<<"${config_ctest[$name]:-}"
    if [[ -n ${config_no_ubsan[$name]:-} ]]; then
        args+=("-DCMAKE_C_COMPILER_LAUNCHER=$out/no-ubsan.sh")
    fi
    local -a cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O0 -g"
        -DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic -Dalways_inline=unused"
        -DCMAKE_EXE_LINKER_FLAGS="--coverage -Wl,--wrap=_exit -Wl,--wrap=abort $out/gcov_flush.o"
        -DHEAPCAPS_BUILD_TESTS=ON "${args[@]}" "${extra_cmake[@]}")
    # A tree configured otherwise before is built anew: make does not
    # notice a changed launcher or link object, and the objects (.gcno) of
    # targets that are gone would still be read.
    local stamp=$dir/coverage-config.txt
    [[ -f $stamp && $(<"$stamp") == "${cmake_args[*]}" ]] || rm -rf -- "$dir"
    banner "$name: configure and build (build/coverage-$name)"
    quietly env CC=gcc cmake -S "$root" -B "$dir" --log-level=WARNING "${cmake_args[@]}" ||
        die "$name: cmake configure failed (build dir $dir)"
    quietly cmake --build "$dir" --parallel "$jobs" ||
        die "$name: build failed (build dir $dir)"
    printf '%s' "${cmake_args[*]}" >"$stamp"
    # Counters of an earlier run must not add up with this one's.
    find "$dir" -name '*.gcda' -delete
    banner "$name: ctest ${ctest_extra[*]}"
    (cd "$dir" && quietly ctest --output-on-failure --no-tests=error -j "$jobs" "${ctest_extra[@]}") ||
        die "$name: ctest failed (build dir $dir)"
    banner "$name: gcovr"
    run_gcovr "${gcovr_common[@]}" -j "$jobs" --json "$out/$name.json" "$dir" ||
        die "$name: gcovr failed"
    timings+=("$(printf '  %-14s %ss' "$name" "$(elapsed "$t0")")")
}

timings=()
for c in "${configs[@]}"; do
    run_config "$c"
done

banner "merge: ${configs[*]}"
tracefiles=()
for c in "${configs[@]}"; do
    tracefiles+=(--add-tracefile "$out/$c.json")
done
run_gcovr "${gcovr_common[@]}" "${tracefiles[@]}" \
    --json "$out/coverage.json" \
    --json-summary-pretty --json-summary "$out/summary.json" \
    --txt "$out/lines.txt" \
    --html-details "$out/index.html" --html-title "heapcaps: coverage of src/" \
    --html-medium-threshold 75 --html-high-threshold 90 || die "gcovr merge failed"
run_gcovr "${gcovr_common[@]}" "${tracefiles[@]}" -b --txt "$out/branches.txt" ||
    die "gcovr branch report failed"

# The table, and the thresholds.
status=0
$gcovr_python - "$out/summary.json" "$ci" "${min_lines:--1}" "${min_branches:--1}" <<'EOF' || status=$?
import json, sys

summary = json.load(open(sys.argv[1]))
ci = sys.argv[2] == "1"
min_lines, min_branches = float(sys.argv[3]), float(sys.argv[4])

def pct(covered, total):
    return 100.0 * covered / total if total else 100.0

def row(name, f):
    lines = pct(f["line_covered"], f["line_total"])
    branches = pct(f["branch_covered"], f["branch_total"])
    return lines, branches, "%-36s %6.1f %% %9s   %6.1f %% %9s" % (
        name, lines, "%d/%d" % (f["line_covered"], f["line_total"]),
        branches, "%d/%d" % (f["branch_covered"], f["branch_total"]))

header = "%-36s %8s %9s   %8s %9s" % ("file", "lines", "", "branches", "")
rows = []
for f in sorted(summary["files"], key=lambda f: f["filename"]):
    lines, branches, text = row(f["filename"], f)
    if not ci or lines < 90.0 or branches < 90.0:
        rows.append(text)
total_lines, total_branches, total = row("src/ (total)", summary)
print()
if ci:
    print("files under 90 %:" if rows else "no file under 90 %")
print(header)
for text in rows:
    print(text)
print("-" * len(header))
print(total)

failed = False
if min_lines >= 0 and total_lines < min_lines:
    print("coverage.sh: line coverage %.1f %% is below --min-lines %g" % (total_lines, min_lines))
    failed = True
if min_branches >= 0 and total_branches < min_branches:
    print("coverage.sh: branch coverage %.1f %% is below --min-branches %g"
          % (total_branches, min_branches))
    failed = True
sys.exit(1 if failed else 0)
EOF

echo
printf '%s\n' "${timings[@]}"
echo "report: build/coverage/index.html (summary: build/coverage/summary.json)"
echo "$me: ${configs[*]} in $(elapsed "$t_start")s"
exit $status
