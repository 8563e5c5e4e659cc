#!/usr/bin/env bash
# metal.sh — instructions per multi_heap malloc / free / realloc on Cortex-M4, counted by QEMU
# (mps2-an386), for the benchmark workloads; prints a Markdown table.
# SPDX-License-Identifier: Apache-2.0
#
# Usage: bench/metal.sh [options]
#
# Builds bench/metal (metal_bench.elf: bench/workloads.c and bench/adapters.c, the library
# with -O2 -DNDEBUG, bare-metal port, no lock) for Cortex-M4F in build/metal, runs every
# workload (W1..W5, Fill; /work/shared/bench-workloads.md) at S = 256 KiB and 4 MiB, in full,
# under
#   qemu-system-arm -M mps2-an386 -cpu cortex-m4 -icount shift=7 ...
# and prints instructions per call (mean / max; failed calls separately) as a Markdown table,
# then the worst single malloc and free at each S against the target (<= 150 instructions).
# QEMU counts instructions, not cycles.
#
# How: with -icount shift=7 QEMU's virtual clock advances exactly 128 ns per executed
# instruction, and the board's CMSDK timer counts 25 MHz ticks of that clock. Every allocator
# call goes through one assembler routine (bench/metal/timed_call.S) that reads the timer
# before and after calling the adapter; ticks * 40 / 128, rounded, is the exact number of
# instructions in between (each read is off by less than a tick, an instruction is 3.2
# ticks). The same routine around the empty adapter gives the count to subtract, as on the
# host (bench/README.md): a figure is the instructions executed from multi_heap_*'s entry to
# its return, callees such as memcpy included, minus the do-nothing stand-in's 2 (malloc,
# realloc) or 1 (free). Each run starts with a self-test: assembler functions of known length
# (1 to 4097 instructions) must count exactly.
#
# Options:
#   --workloads "W1 W2"  --arenas "262144"   subsets (default: all six workloads, both S).
#   --steps N            cut W1/W2 to N steps and W3/W4 to N calls (default: full workloads).
#   --jobs N             QEMU runs in parallel (default: number of CPUs).
#   --out DIR            keep the raw outputs there (default: a new directory under /tmp).
#   --build-dir DIR      (default: <repo>/build/metal).
#   --no-build           reuse the build directory as it is.
#   --no-check           exit 0 even when a target is missed (default: exit status 1).
#   --validate           also: run everything a second time and require identical figures,
#                        and cross-check the counts with QEMU's own instruction trace
#                        (-singlestep -d exec,nochain: one log line per instruction) over
#                        every timed window of three reduced runs at S = 256 KiB (W1 3000
#                        steps, W4 2000 calls, W5 in full). About 70 s more.
#   --explain            also: single-step the worst malloc and the worst free at each S with
#                        gdb-multiarch (QEMU's gdb stub) and print the instructions each
#                        function executed in that call; listings saved in the --out directory.
# Runtime on 2 cores: about 30 s from an empty build directory (about 10 s of it building);
# --validate adds about 70 s, --explain a few seconds.
# Needs: cmake, qemu-system-arm (Debian: qemu-system-arm), arm-none-eabi-gcc and newlib
# (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi), awk; gdb-multiarch for --explain.
set -euo pipefail
{ # One block: bash parses the whole script before running it, so editing mid-run is safe.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

WORKLOADS="W1 W2 W3 W4 W5 Fill"
ARENAS="262144 4194304"
STEPS=""
JOBS=$(nproc 2>/dev/null || echo 2)
OUT=""
BUILD_DIR="$ROOT/build/metal"
BUILD=1
CHECK=1
VALIDATE=0
EXPLAIN=0
TARGET=150
ICOUNT_SHIFT=7 # must match bench/metal/metal_main.c

die() { echo "metal.sh: $*" >&2; exit 2; }
log() { echo "metal.sh: $*" >&2; }

while (($#)); do
  case "$1" in
    --workloads) WORKLOADS=$2; shift ;;
    --arenas) ARENAS=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --build-dir) BUILD_DIR=$2; shift ;;
    --no-build) BUILD=0 ;;
    --no-check) CHECK=0 ;;
    --validate) VALIDATE=1 ;;
    --explain) EXPLAIN=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number, not '$JOBS'"
[[ -z $STEPS || $STEPS =~ ^[1-9][0-9]*$ ]] || die "--steps needs a positive number"
for w in $WORKLOADS; do
  [[ " W1 W2 W3 W4 W5 Fill " == *" $w "* ]] || die "unknown workload $w"
done
for a in $ARENAS; do
  if ! [[ $a =~ ^[1-9][0-9]*$ ]] || ((a > 4194304)); then die "arena $a: 1 to 4194304 bytes"; fi
done

command -v cmake >/dev/null || die "cmake not found (Debian: apt-get install cmake)"
command -v qemu-system-arm >/dev/null ||
  die "qemu-system-arm not found (Debian: apt-get install qemu-system-arm)"
command -v arm-none-eabi-gcc >/dev/null ||
  die "arm-none-eabi-gcc not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
command -v arm-none-eabi-nm >/dev/null ||
  die "arm-none-eabi-nm not found (Debian: apt-get install binutils-arm-none-eabi)"
if ((EXPLAIN)); then
  command -v gdb-multiarch >/dev/null ||
    die "--explain: gdb-multiarch not found (Debian: apt-get install gdb-multiarch)"
fi

[[ -n $OUT ]] || OUT=$(mktemp -d /tmp/heapcaps-metal.XXXXXX)
mkdir -p "$OUT"
STARTED=$SECONDS

# ---------------------------------------------------------------------------------------
# Build

ELF="$BUILD_DIR/metal_bench.elf"
if ((BUILD)); then
  log "building in $BUILD_DIR"
  cmake -S "$BENCH_DIR/metal" -B "$BUILD_DIR" \
    "-DCMAKE_TOOLCHAIN_FILE=$ROOT/cmake/toolchains/cortex-m4f.cmake" \
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" >"$OUT/build.log" 2>&1 \
    || { cat "$OUT/build.log" >&2; die "configure failed"; }
  cmake --build "$BUILD_DIR" --target metal_bench -j "$JOBS" >>"$OUT/build.log" 2>&1 \
    || { cat "$OUT/build.log" >&2; die "build failed"; }
fi
[[ -f $ELF ]] || die "no $ELF (build first, without --no-build)"

arena_name() { # 262144 -> "256 KiB"
  if (($1 >= 1048576 && $1 % 1048576 == 0)); then echo "$(($1 / 1048576)) MiB"; else echo "$(($1 / 1024)) KiB"; fi
}

symbol() { # address of a symbol of the ELF, as QEMU's log prints it (8 hex digits)
  local address
  address=$(arm-none-eabi-nm "$ELF" | awk -v name="$1" '$3 == name { print $1; exit }')
  [[ -n $address ]] || die "no symbol $1 in $ELF"
  echo "$address"
}

# qemu_run OUTPUT [QEMU options...] -- [program arguments...]
qemu_run() {
  local output=$1 semi="enable=on,target=native,arg=metal_bench"
  shift
  local -a opts=()
  while (($#)) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  local arg
  for arg in "$@"; do semi+=",arg=$arg"; done
  qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none \
    -icount "shift=$ICOUNT_SHIFT" "${opts[@]}" -semihosting-config "$semi" -kernel "$ELF" \
    >"$output" 2>"$output.err"
}

# ---------------------------------------------------------------------------------------
# Runs

combos=()
for arena in $ARENAS; do
  for workload in Fill W4 W2 W1 W3 W5; do # roughly longest first, for the job pool
    [[ " $WORKLOADS " == *" $workload "* ]] && combos+=("$workload $arena")
  done
done

run_one() { # workload arena suffix
  local stem="$OUT/$1-$2$3"
  local -a args=(--workload "$1" --arena "$2")
  [[ -z $STEPS ]] || args+=(--steps "$STEPS")
  if ! qemu_run "$stem.txt" -- "${args[@]}"; then
    cat "$stem.txt.err" >&2
    log "run $1 S=$2 failed (exit status above; output in $stem.txt)"
    return 1
  fi
  grep -q '^selftest .* result=ok$' "$stem.txt" || { log "$1 S=$2: no self-test result"; return 1; }
}

run_all() { # suffix of the output files
  local running=0 failed=0 combo
  for combo in "${combos[@]}"; do
    # shellcheck disable=SC2086
    run_one $combo "$1" &
    running=$((running + 1))
    if ((running >= JOBS)); then
      wait -n || failed=1
      running=$((running - 1))
    fi
  done
  while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
  done
  ((failed == 0)) || die "some runs failed; raw output in $OUT"
}

log "${#combos[@]} runs, $JOBS at a time, raw output in $OUT"
run_all ""

# ---------------------------------------------------------------------------------------
# Table

files=()
for workload in W1 W2 W3 W4 W5 Fill; do
  for arena in $ARENAS; do
    [[ -f $OUT/$workload-$arena.txt && " $WORKLOADS " == *" $workload "* ]] &&
      files+=("$OUT/$workload-$arena.txt")
  done
done

if [[ -n $STEPS ]]; then
  scope="W1/W2 main loops cut to the first $STEPS steps, W3/W4 to the first $STEPS calls (then everything is freed); W5 and Fill in full."
else
  scope="Full workloads: every call of every run measured."
fi

# Per S: the worst single malloc (successful) and free over the workloads run, and where.
awk -v target="$TARGET" -v scope="$scope" '
  function arena_name(a) { a += 0; return a >= 1048576 ? (a / 1048576) " MiB" : (a / 1024) " KiB" }
  function fmt_int(v,    s, out) { s = v ""; out = ""
    while (length(s) > 3) { out = " " substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out }
  function kv(key,    i) { for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) return substr($i, length(key) + 2); return "" }
  FNR == 1 { order[++n] = FILENAME }
  $1 == "bench" { workload[FILENAME] = kv("workload"); arena[FILENAME] = kv("arena") }
  $1 == "kind" {
    k = kv("name"); calls[FILENAME, k] = kv("calls"); sum[FILENAME, k] = kv("sum")
    max[FILENAME, k] = kv("max"); at[FILENAME, k] = kv("max_call"); over[FILENAME, k] = kv("over_" target)
  }
  function cell(f, k) {
    if (calls[f, k] + 0 == 0) return "–"
    return sprintf("%.1f / %d", sum[f, k] / calls[f, k], max[f, k])
  }
  function failed(f, k) {
    if (calls[f, k] + 0 == 0) return "0"
    return fmt_int(calls[f, k]) ": " cell(f, k)
  }
  END {
    print "Instructions per call on Cortex-M4 (QEMU mps2-an386, `-icount`; QEMU counts instructions, not cycles), multi_heap built with -O2 -DNDEBUG, no lock. " scope " Cells: mean / max; failed calls separately (count: mean / max)."
    print ""
    print "| Workload | S | malloc | free | realloc | failed malloc | failed realloc | calls > " target " (malloc / free / realloc) |"
    print "|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) {
      f = order[i]
      printf "| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |\n", workload[f], arena_name(arena[f]), cell(f, "malloc_ok"), cell(f, "free"), cell(f, "realloc_ok"), failed(f, "malloc_failed"), failed(f, "realloc_failed"), fmt_int(over[f, "malloc_ok"] + over[f, "malloc_failed"]), fmt_int(over[f, "free"]), fmt_int(over[f, "realloc_ok"] + over[f, "realloc_failed"])
      a = arena[f]; arenas[a] = 1
      for (j = 1; j <= 3; j++) {
        k = j == 1 ? "malloc_ok" : (j == 2 ? "malloc_failed" : "free")
        sig = k == "free" ? "free" : "malloc"
        if (calls[f, k] + 0 > 0 && (!((a, sig) in worst) || max[f, k] + 0 > worst[a, sig])) {
          worst[a, sig] = max[f, k] + 0; where[a, sig] = workload[f] ", call index " at[f, k]
        }
      }
    }
    print ""
    print "```"
    for (a in arenas) list[++na] = a + 0
    for (i = 1; i <= na; i++) for (j = i + 1; j <= na; j++) if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
    for (i = 1; i <= na; i++) for (s = 1; s <= 2; s++) {
      sig = s == 1 ? "malloc" : "free"; a = list[i]
      if (!((a, sig) in worst)) continue
      verdict = worst[a, sig] <= target ? "met" : "NOT met"
      printf "Cortex-M4, S = %s: worst single %s %d instructions (%s); target <= %d: %s\n", arena_name(a), sig, worst[a, sig], where[a, sig], target, verdict
    }
    print "```"
  }' "${files[@]}" | tee "$OUT/results.md"
missed=0
grep -q 'NOT met$' "$OUT/results.md" && missed=1

# ---------------------------------------------------------------------------------------
# --explain: the worst malloc and free at each S, single-stepped with gdb

if ((EXPLAIN)); then
  start=$(symbol metal_timer_start)
  # worst "workload arena kind max call" per S and signature
  mapfile -t worst < <(awk '
    function kv(key,    i) { for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) return substr($i, length(key) + 2); return "" }
    $1 == "bench" { w = kv("workload"); a = kv("arena") }
    $1 == "kind" && kv("calls") + 0 > 0 && kv("name") ~ /^(malloc_ok|malloc_failed|free)$/ {
      sig = kv("name") == "free" ? "free" : "malloc"
      if (!((a, sig) in best) || kv("max") + 0 > best[a, sig]) { best[a, sig] = kv("max") + 0; line[a, sig] = w " " a " " sig " " kv("max") " " kv("max_call") }
    }
    END { for (key in line) print line[key] }' "${files[@]}" | sort -k2,2n -k3,3r)
  echo ""
  echo "Where the worst calls spend their instructions (single-stepped with gdb: instructions executed in each function between the adapter's call and its return; the figure is their sum minus the stand-in's 2 for malloc, 1 for free; call index counted from 0):"
  echo ""
  echo "| S | call | workload, call index | instructions | instructions per function |"
  echo "|---|---|---|---|---|"
  for entry in "${worst[@]}"; do
    read -r workload arena sig count index <<<"$entry"
    listing="$OUT/explain-$sig-$arena.txt"
    socket="${TMPDIR:-/tmp}/heapcaps-metal-$$-$sig-$arena.sock" # short: a socket path has a limit
    rm -f "$socket"
    args=(--workload "$workload" --arena "$arena" --stop-before "$index")
    [[ -z $STEPS ]] || args+=(--steps "$STEPS")
    qemu_run "$OUT/explain-$sig-$arena.qemu" -S -gdb "unix:$socket,server=on,wait=off" -- "${args[@]}" &
    qemu_pid=$!
    for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
    # Stop at the timer read before call $index, then step to the read after it.
    cat >"$OUT/explain.gdb" <<EOF
set pagination off
set confirm off
target remote $socket
break metal_before_call
continue
delete
tbreak *0x$start
continue
stepi
while \$pc != (unsigned)&metal_timer_end
  x/i \$pc
  stepi
end
x/i \$pc
kill
EOF
    gdb-multiarch -q -batch -nx -x "$OUT/explain.gdb" "$ELF" >"$listing" 2>&1 || true
    kill "$qemu_pid" 2>/dev/null || true # still waiting for gdb if gdb failed early
    wait "$qemu_pid" 2>/dev/null || true
    rm -f "$socket"
    # Lines "=> 0xADDR <function+offset>: insn": count per function, in order of first use,
    # leaving out the timing routine and the adapter (metal_timed_call, hc_*).
    breakdown=$(awk '/^=> 0x/ { f = $3; sub(/^</, "", f); sub(/[+>].*/, "", f)
                     if (f == "metal_timed_call" || f ~ /^hc_/) next
                     if (!(f in n)) order[++k] = f; n[f]++; total++ }
                     END { for (i = 1; i <= k; i++) printf "%s%s %d", (i > 1 ? ", " : ""), order[i], n[order[i]]
                           printf " (sum %d)\n", total }' "$listing")
    # The listing covers the whole timed window: it must hold as many instructions as the
    # timer counted for it (the figure plus the empty adapter's window).
    overhead=$(awk -v sig="$sig" '$1 == "empty" && $2 == "sig=" sig { sub(/.*=/, "", $3); print $3 }' \
      "$OUT/$workload-$arena.txt")
    stepped=$(grep -c '^=> 0x' "$listing" || true)
    if ((stepped != count + overhead)); then
      breakdown="gdb stepped $stepped instructions, the timer counted $((count + overhead)): see $listing"
    fi
    echo "| $(arena_name "$arena") | $sig | $workload, $index | $count | $breakdown |"
  done | tee -a "$OUT/results.md"
fi

# ---------------------------------------------------------------------------------------
# --validate: repeatability, and QEMU's instruction trace against the timer counts

if ((VALIDATE)); then
  log "validate: every run again"
  run_all ".again"
  for f in "${files[@]}"; do
    cmp -s <(grep -v '^#' "$f") <(grep -v '^#' "${f%.txt}.again.txt") ||
      die "validate: $(basename "$f") differs on a second run"
  done
  echo ""
  echo "- Repeatability: all ${#files[@]} runs gave identical output a second time."

  start=$(symbol metal_timer_start)
  stop=$(symbol metal_timer_end)
  # The trace: -singlestep makes every instruction its own translation block, and -d
  # exec,nochain logs a "Trace" line each time one starts. A block stopped before it ran
  # (the -icount budget ran out, or an I/O access rewound it) is logged again when it runs,
  # after a "Stopped execution of TB chain before" / "cpu_io_recompile: rewound" line; those
  # starts are not counted. Counted: the lines after the read before the call, up to and
  # including the read after it, the window the timer measures.
  trace_check() { # workload steps-or-empty what-the-steps-are
    local workload=$1 steps=$2 stem="$OUT/validate-$1"
    local -a args=(--workload "$workload" --arena 262144)
    [[ -z $steps ]] || args+=(--steps "$steps")
    qemu_run "$stem.dump" -- "${args[@]}" --dump || die "validate: $workload --dump run failed"
    rm -f "$stem.fifo"
    mkfifo "$stem.fifo"
    awk -v start="$start" -v stop="$stop" '
      $1 == "Trace" {
        if (pending) { print count; pending = 0 }
        split($4, f, "/"); counted = 0
        if (f[2] == start) { on = 1; n = 0; next }
        if (on) { n++; counted = 1; if (f[2] == stop) { on = 0; pending = 1; count = n } }
        next
      }
      /^Stopped execution of TB chain before|^cpu_io_recompile: rewound execution/ {
        if (pending) { pending = 0; on = 1; n-- } else if (counted) n--
        counted = 0
      }
      END { if (pending) print count }' "$stem.fifo" >"$stem.trace" &
    local parser=$!
    qemu_run "$stem.out" -singlestep -d exec,nochain -dfilter 0x0..0x3fffff -D "$stem.fifo" \
      -- "${args[@]}" || die "validate: $workload trace run failed"
    wait "$parser"
    rm -f "$stem.fifo"
    sed -n 's/^window raw=//p' "$stem.dump" >"$stem.timer"
    local windows calls
    windows=$(wc -l <"$stem.timer")
    calls=$(grep -c '^call ' "$stem.dump" || true)
    cmp -s "$stem.timer" "$stem.trace" ||
      die "validate: $workload: timer and trace counts differ (see $stem.timer, $stem.trace)"
    echo "- Trace cross-check, $workload S = 256 KiB${steps:+ (first $steps $3)}: $windows timed windows ($calls allocator calls, the rest self-test and calibration), timer and trace counts identical."
  }
  log "validate: trace cross-checks (W1, W4, W5 at 256 KiB)"
  trace_check W1 3000 steps &
  first=$!
  trace_check W4 2000 calls &
  second=$!
  wait "$first" || die "validate: trace cross-check failed"
  wait "$second" || die "validate: trace cross-check failed"
  trace_check W5 "" ""
fi

log "done in $((SECONDS - STARTED)) s; tables in $OUT/results.md"
if ((missed && CHECK)); then
  exit 1
fi
exit 0
}
