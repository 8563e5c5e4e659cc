#!/usr/bin/env bash
# run.sh — build heapcaps_bench (x86-64 and i386), run every workload and print Markdown tables.
# SPDX-License-Identifier: Apache-2.0
#
# Usage: bench/run.sh [--quick] [--m32 | --m64] [options]
#
# For every workload (W1..W5, Fill; see /work/shared/bench-workloads.md) x arena (256 KiB,
# 4 MiB) x ABI x allocator (heapcaps = multi_heap on a static arena, glibc = malloc/free/realloc)
# it runs bench/heapcaps_bench and prints, on stdout, Markdown tables ready for README.md:
#   - instructions per malloc / free / realloc (mean / max), failed calls separately,
#     failed allocations, largest request, arena bytes per allocation;
#   - W5 figures, Fill bytes per allocation, and a check that both counting methods agree.
#
# How instructions are counted (x86 user-mode instructions executed inside one call, minus
# the cost of an empty adapter of the same shape):
#   means  valgrind --tool=callgrind: inclusive Ir of the per-kind adapter functions
#          (hc_malloc, hc_malloc_failed, glibc_free, ...) divided by their call counts,
#          minus the empty adapters' per-call Ir. Calls that fail are routed to *_failed
#          adapters using a pre-pass on an identical fresh heap.
#   max    single-stepping with the x86 trap flag (heapcaps_bench --step), one SIGTRAP per
#          instruction, 5-10 us each: full runs step a 1-in-K sample of the calls of the full
#          workload, plus every failing call (K chosen so that about --step-budget
#          instructions are stepped; the heap evolves exactly as in the full run); --quick
#          steps every call of a shortened run.
#   check  the sampled calls go through their own adapters (hc_sampled_malloc, ...) in the
#          callgrind run too, so both methods' means over the same calls are compared.
# Single-stepped runs get GLIBC_TUNABLES with the cache sizes and copy thresholds glibc
# picks under valgrind, so memcpy (used by realloc) takes the same code path in both.
#
# Options:
#   --quick              shortened runs (W1-W4: first 2000 steps/calls; W5, Fill: maxima of
#                        the first 2000 calls), about 3 minutes on 2 cores; default: full runs,
#                        about 20 minutes on 2 cores.
#   --m32 / --m64        only the i386 / only the x86-64 build (default: both).
#   --jobs N             runs in parallel (default: number of CPUs).
#   --step-budget N      full runs: instructions to single-step per run (default 4000000;
#                        the run time grows in proportion).
#   --quick-steps N      the --quick length (default 2000).
#   --workloads "W1 W5"  --arenas "262144"  --allocs "heapcaps"   subsets.
#   --out DIR            keep raw outputs there (default: a new directory under /tmp).
#   --build-prefix P     build directories P-m32 and P-m64 (default: <repo>/build-bench).
#   --allocator-sources "a.c;b.c"   build bench/ alone against these sources instead of the
#                        project's heapcaps library (to test the harness with a stand-in).
#   --poisoning LEVEL    build the library with -DHEAPCAPS_POISONING=LEVEL (basic, light,
#                        comprehensive; default basic) to measure a corruption-detection level;
#                        use with its own --build-prefix.
#   --no-build           reuse existing build directories.
#   --report DIR         only print the tables again from the raw outputs in DIR.
# Needs: cmake, gcc with -m32 support, valgrind (callgrind_annotate), readelf, bash >= 4.3.
set -euo pipefail
{ # The whole script is one block: bash parses it before running it, so editing mid-run is safe.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

QUICK=0
ABIS=()
JOBS=$(nproc 2>/dev/null || echo 2)
STEP_BUDGET=4000000
QUICK_STEPS=2000
WORKLOADS="W1 W2 W3 W4 W5 Fill"
ARENAS="262144 4194304"
ALLOCS="heapcaps glibc"
OUT=""
BUILD_PREFIX="$ROOT/build-bench"
ALLOCATOR_SOURCES=""
BUILD=1
REPORT=0
POISONING=basic

die() { echo "run.sh: $*" >&2; exit 2; }
log() { echo "run.sh: $*" >&2; }

while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --m32) ABIS+=(32) ;;
    --m64) ABIS+=(64) ;;
    --jobs) JOBS=$2; shift ;;
    --step-budget) STEP_BUDGET=$2; shift ;;
    --quick-steps) QUICK_STEPS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --arenas) ARENAS=$2; shift ;;
    --allocs) ALLOCS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --build-prefix) BUILD_PREFIX=$2; shift ;;
    --allocator-sources) ALLOCATOR_SOURCES=$2; shift ;;
    --poisoning) POISONING=$2; shift ;;
    --no-build) BUILD=0 ;;
    --report) REPORT=1; OUT=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
((${#ABIS[@]})) || ABIS=(64 32)

for tool in cmake valgrind callgrind_annotate readelf awk; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
if [[ -z $OUT ]]; then
  OUT=$(mktemp -d /tmp/heapcaps-bench.XXXXXX)
fi
mkdir -p "$OUT"

# ---------------------------------------------------------------------------------------
# Build

declare -A BIN TUNABLES

build_abi() {
  local abi=$1 src
  local dir="$BUILD_PREFIX-m$abi"
  local -a extra=()
  if [[ -n $ALLOCATOR_SOURCES ]]; then
    src=$BENCH_DIR
    extra=("-DHEAPCAPS_BENCH_ALLOCATOR_SOURCES=$ALLOCATOR_SOURCES")
  elif grep -qs 'add_subdirectory(bench)' "$ROOT/CMakeLists.txt"; then
    src=$ROOT
    extra=(-DHEAPCAPS_BUILD_BENCH=ON -DHEAPCAPS_BUILD_TESTS=OFF -DHEAPCAPS_BUILD_TOOLS=OFF
           -DHEAPCAPS_INSTALL=OFF "-DHEAPCAPS_POISONING=$POISONING")
  else
    src=$BENCH_DIR # standalone: bench/CMakeLists.txt adds the parent project itself
  fi
  if ((BUILD)); then
    log "building m$abi in $dir"
    cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=-m$abi" \
      "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" "${extra[@]}" >"$OUT/build-m$abi.log" 2>&1 \
      || { cat "$OUT/build-m$abi.log" >&2; die "configure failed (m$abi)"; }
    cmake --build "$dir" --target heapcaps_bench -j "$JOBS" >>"$OUT/build-m$abi.log" 2>&1 \
      || { cat "$OUT/build-m$abi.log" >&2; die "build failed (m$abi)"; }
  fi
  local bin
  bin=$(find "$dir" -name heapcaps_bench -type f -perm -u+x -print -quit 2>/dev/null || true)
  [[ -n $bin ]] || die "no heapcaps_bench under $dir"
  BIN[$abi]=$bin
}

# glibc's view of the CPU under valgrind (cache sizes, copy thresholds), as GLIBC_TUNABLES
# for the native single-stepped runs.
valgrind_tunables() {
  local bin=$1 interp key value tunables=""
  interp=$(readelf -l "$bin" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
  while IFS='=' read -r key value; do
    tunables+="${tunables:+:}glibc.cpu.x86_${key#x86.cpu_features.}=$((value))"
  done < <(valgrind --tool=none "$interp" --list-diagnostics 2>/dev/null |
           grep -E '^x86\.cpu_features\.(data_cache_size|shared_cache_size|non_temporal_threshold|rep_movsb_threshold|rep_stosb_threshold)=' || true)
  echo "$tunables"
}

if ((REPORT)); then
  # shellcheck source=/dev/null
  source "$OUT/settings" # QUICK, QUICK_STEPS, STEP_BUDGET of that run
else
  printf 'QUICK=%s\nQUICK_STEPS=%s\nSTEP_BUDGET=%s\n' "$QUICK" "$QUICK_STEPS" "$STEP_BUDGET" \
    >"$OUT/settings"
  for abi in "${ABIS[@]}"; do
    build_abi "$abi"
    TUNABLES[$abi]=$(valgrind_tunables "${BIN[$abi]}")
    echo "m$abi ${BIN[$abi]} GLIBC_TUNABLES=${TUNABLES[$abi]}" >>"$OUT/setup.txt"
  done
fi

# ---------------------------------------------------------------------------------------
# Runs: one job per workload x arena x ABI x allocator, each a few processes in sequence.

callgrind_run() { # output-stem binary args...
  local stem=$1 bin=$2
  shift 2
  valgrind --tool=callgrind --callgrind-out-file="$stem.cg" --dump-instr=no --dump-line=no \
    "$bin" --mode callgrind "$@" >"$stem.txt" 2>"$stem.err"
  callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$stem.cg" >"$stem.ann"
  rm -f "$stem.cg"
}

field() { # file tag key: value of key= on the first line starting with tag
  awk -v tag="$2" -v key="$3" '$1 == tag { for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit } }' "$1"
}

run_combo() { # abi alloc arena workload
  local abi=$1 alloc=$2 arena=$3 workload=$4
  local stem="$OUT/$workload-$arena-m$abi-$alloc" bin=${BIN[$abi]}
  local -a args=(--workload "$workload" --arena "$arena" --alloc "$alloc") measure
  local started=$SECONDS
  # Memory figures and call counts: the full workload, natively (a second or less).
  "$bin" "${args[@]}" --mode plain >"$stem.plain.txt" 2>"$stem.plain.err"
  if ((QUICK)); then
    measure=(--steps "$QUICK_STEPS")
  else
    # Single-step a 1-in-K sample worth about STEP_BUDGET instructions, estimated from the
    # call counts (~100 instructions per malloc or free, ~1000 per copying realloc).
    local estimate
    estimate=$(awk '$1 == "kind" { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^calls=/) n = substr($i, 7)
                                   sum += ($2 ~ /realloc/ ? 1000 : 100) * n }
                    END { printf "%.0f\n", sum }' "$stem.plain.txt")
    measure=(--sample $(((estimate + STEP_BUDGET - 1) / STEP_BUDGET)))
  fi
  # One callgrind run: means over every call, and over the sampled calls on their own.
  callgrind_run "$stem.cg" "$bin" "${args[@]}" "${measure[@]}"
  GLIBC_TUNABLES=${TUNABLES[$abi]} "$bin" "${args[@]}" --step "${measure[@]}" \
    >"$stem.step.txt" 2>"$stem.step.err"
  log "done $workload S=$arena m$abi $alloc ($((SECONDS - started)) s)"
}

combos=()
for arena in $ARENAS; do
  for workload in W4 W1 W2 W3 Fill W5; do # roughly longest first, for the job pool
    [[ " $WORKLOADS " == *" $workload "* ]] || continue
    for abi in "${ABIS[@]}"; do
      for alloc in $ALLOCS; do
        combos+=("$abi $alloc $arena $workload")
      done
    done
  done
done
# 4 MiB runs are the longest: start them first.
mapfile -t combos < <(printf '%s\n' "${combos[@]}" | sort -k3,3nr -s)

if ((!REPORT)); then
  log "${#combos[@]} runs, $JOBS at a time, raw output in $OUT"
  failed=0
  running=0
  for combo in "${combos[@]}"; do
    # shellcheck disable=SC2086
    run_combo $combo &
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
  ((failed == 0)) || die "some runs failed; see $OUT/*.err"
fi

# ---------------------------------------------------------------------------------------
# Tables

# Summarise the runs of one combination into "key=value" lines:
#   calls_<kind>, figures_*, fill_*, main_*   the full workload (.plain run)
#   cg_<kind>_mean      callgrind, every call (adapter + sampled adapter)
#   ver_<kind>_n/_mean  callgrind, the sampled calls only
#   st_<kind>_n/_mean/_max   single-stepping of the sampled calls
summarize() { # stem
  local stem=$1
  awk -v annotation="$stem.cg.ann" '
    FILENAME == annotation {
      # "  1,234 (12.3%)  file:function [object]"
      if ($0 !~ /%\) .*\[/) next
      line = $0; sub(/ \[[^]]*\]$/, "", line)
      name = line; sub(/.*:/, "", name)
      value = $1; gsub(/,/, "", value)
      ir[name] = value
      next
    }
    { run = FILENAME; sub(/\.txt$/, "", run); sub(/.*\./, "", run) } # plain, cg or step
    function kv(key,    i) {
      for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) return substr($i, length(key) + 2)
      return ""
    }
    $1 == "kind" {
      k = kv("name"); kinds[k] = 1
      calls[run, k] = kv("calls"); other[run, k] = kv("measured"); sampled[run, k] = kv("sampled")
      adapter[k] = kv("adapter"); sampled_adapter[k] = kv("sampled_adapter")
      step_sum[run, k] = kv("step_sum"); step_max[run, k] = kv("step_max")
    }
    $1 == "empty" && run == "cg" { empty_adapter[kv("sig")] = kv("adapter"); empty_calls[kv("sig")] = kv("calls") }
    ($1 == "figures" || $1 == "fill" || $1 == "main") && run == "plain" {
      for (i = 2; i <= NF; i++) print $1 "_" $i
    }
    function empty_cost(k,    s) {
      s = k ~ /realloc/ ? "realloc" : (k ~ /malloc/ ? "malloc" : "free")
      return empty_calls[s] > 0 ? ir[empty_adapter[s]] / empty_calls[s] : 0
    }
    function mean(total_ir, n) { return n > 0 ? sprintf("%.1f", total_ir / n) : "" }
    END {
      for (k in kinds) {
        n_all = other["cg", k] + sampled["cg", k]
        n_sample = sampled["cg", k] + 0
        print "calls_" k "=" calls["plain", k]
        print "cg_" k "_mean=" mean(ir[adapter[k]] + ir[sampled_adapter[k]] - n_all * empty_cost(k), n_all)
        print "ver_" k "_n=" n_sample
        print "ver_" k "_mean=" mean(ir[sampled_adapter[k]] - n_sample * empty_cost(k), n_sample)
        n = sampled["step", k] + 0
        print "st_" k "_n=" n
        print "st_" k "_mean=" mean(step_sum["step", k], n)
        print "st_" k "_max=" (n > 0 ? step_max["step", k] : "")
      }
    }' "$stem.cg.ann" "$stem.plain.txt" "$stem.cg.txt" "$stem.step.txt"
}

for combo in "${combos[@]}"; do
  read -r abi alloc arena workload <<<"$combo"
  stem="$OUT/$workload-$arena-m$abi-$alloc"
  [[ -f $stem.step.txt ]] || continue
  {
    echo "abi=$abi"; echo "alloc=$alloc"; echo "arena=$arena"; echo "workload=$workload"
    echo "sample=$(field "$stem.step.txt" check sample_every)"
    summarize "$stem"
  } >"$stem.sum"
done

# One awk program prints all tables from the .sum files, in a fixed order.
sums=()
for workload in W1 W2 W3 W4 W5 Fill; do
  for arena in $ARENAS; do
    for abi in "${ABIS[@]}"; do
      for alloc in $ALLOCS; do
        f="$OUT/$workload-$arena-m$abi-$alloc.sum"
        [[ -f $f ]] && sums+=("$f")
      done
    done
  done
done

if ((QUICK)); then
  how_max="single-stepping every call of the shortened run"
  scope="Quick run: W1/W2 main loops cut to $QUICK_STEPS steps and W3/W4 to $QUICK_STEPS calls (means and maxima over those); W5 and Fill in full, maxima over their first $QUICK_STEPS calls (\"unsampled\": no such call among them). Failure counts and memory figures: full workloads."
else
  how_max="single-stepping a 1-in-K sample of the calls of the full workload (about $STEP_BUDGET instructions per run; K in the last table), so it is the max of that sample"
  scope="Full workloads."
fi

awk -v quick="$QUICK" -v how_max="$how_max" -v scope="$scope" '
  function fmt_int(v,    s, out) {  # 1234567 -> 1 234 567
    if (v == "" || v == "n/a") return v
    s = v ""; out = ""
    while (length(s) > 3) { out = " " substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
  }
  function get(f, k) { return (f SUBSEP k) in val ? val[f, k] : "" }
  function cell(f, k,    n, mean, max) {
    n = get(f, "calls_" k) + 0
    if (n == 0) return "–"
    mean = get(f, "cg_" k "_mean"); max = get(f, "st_" k "_max")
    if (mean == "" && max == "") return "unmeasured"
    if (mean == "") mean = "unmeasured"
    if (max == "") max = "unsampled"
    return mean " / " max
  }
  function failed_cell(f, k,    n) {
    n = get(f, "calls_" k) + 0
    if (n == 0) return "0"
    return fmt_int(n) ": " cell(f, k)
  }
  function arena_name(a) { a += 0; return a >= 1048576 ? (a / 1048576) " MiB" : (a / 1024) " KiB" }
  function abi_name(a) { return a == 64 ? "x86-64" : "i386" }
  {
    split($0, kvp, "=")
    key = kvp[1]; value = substr($0, length(key) + 2)
    if (!(FILENAME in seen)) { seen[FILENAME] = 1; order[++nfiles] = FILENAME }
    val[FILENAME, key] = value
  }
  END {
    print "### Instructions per call and memory figures"
    print ""
    print scope " Instructions: x86 user-mode instructions executed inside the call, minus an empty adapter call. Mean: callgrind; max: " how_max ". Cells: mean / max; failed calls separately (count: mean / max)."
    print ""
    print "| Workload | S | ABI | Allocator | malloc | free | realloc | failed malloc | failed realloc | largest request | bytes / allocation |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nfiles; i++) {
      f = order[i]; w = get(f, "workload"); hc = get(f, "alloc") == "heapcaps"
      if (w == "W5") {
        largest = fmt_int(get(f, "figures_largest_fresh")) " / " fmt_int(get(f, "figures_largest_fragmented")) " / " fmt_int(get(f, "figures_largest_final"))
      } else if (w == "Fill") {
        largest = "–"
      } else {
        largest = fmt_int(get(f, "figures_largest_end")) " / " fmt_int(get(f, "figures_largest_empty"))
      }
      if (!hc) largest = "n/a"
      bytes = w == "Fill" ? (hc ? "Fill table" : "n/a") : "–"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, arena_name(get(f, "arena")), abi_name(get(f, "abi")), get(f, "alloc"), cell(f, "malloc_ok"), cell(f, "free"), cell(f, "realloc_ok"), failed_cell(f, "malloc_failed"), failed_cell(f, "realloc_failed"), largest, bytes
    }
    print ""
    print "Largest request (bytes): W1–W4 largest_free_block from multi_heap_get_info() when the main loop ends / after everything is freed; W5 binary search on a fresh heap / after freeing every other block / after freeing everything. glibc has no arena: n/a (its W5 and Fill stop at S bytes of glibc chunks instead of at a failure). W5 and Fill fail by design: every fill ends with a failed call, and the binary searches probe sizes that fail."

    nw5 = 0
    for (i = 1; i <= nfiles; i++) if (get(order[i], "workload") == "W5" && get(order[i], "alloc") == "heapcaps") w5[++nw5] = order[i]
    if (nw5 > 0) {
      print ""
      print "### W5 fragmentation (heapcaps)"
      print ""
      print "| S | ABI | fill blocks | largest fresh | largest after freeing odd blocks | 256-byte blocks that fit | refill blocks | largest after freeing all | get_info agrees |"
      print "|---|---|---|---|---|---|---|---|---|"
      for (i = 1; i <= nw5; i++) {
        f = w5[i]
        agree = (get(f, "figures_info_fresh") == get(f, "figures_largest_fresh") && get(f, "figures_info_fragmented") == get(f, "figures_largest_fragmented") && get(f, "figures_info_final") == get(f, "figures_largest_final")) ? "yes" : ("no: " get(f, "figures_info_fresh") " / " get(f, "figures_info_fragmented") " / " get(f, "figures_info_final"))
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", arena_name(get(f, "arena")), abi_name(get(f, "abi")), fmt_int(get(f, "figures_fill_blocks")), fmt_int(get(f, "figures_largest_fresh")), fmt_int(get(f, "figures_largest_fragmented")), fmt_int(get(f, "figures_blocks_256")), fmt_int(get(f, "figures_refill_blocks")), fmt_int(get(f, "figures_largest_final")), agree
      }
    }

    nfill = 0
    for (i = 1; i <= nfiles; i++) if (get(order[i], "workload") == "Fill" && get(order[i], "alloc") == "heapcaps") fills[++nfill] = order[i]
    if (nfill > 0) {
      split("1 8 12 16 24 32 48 64 100 128 256 512 1024 4096", sizes, " ")
      print ""
      print "### Fill: arena bytes per allocation (S / count), heapcaps"
      print ""
      header = "| S | ABI |"; rule = "|---|---|"
      for (s = 1; s <= 14; s++) { header = header " " sizes[s] " B |"; rule = rule "---|" }
      print header; print rule
      for (i = 1; i <= nfill; i++) {
        f = fills[i]; line = "| " arena_name(get(f, "arena")) " | " abi_name(get(f, "abi")) " |"
        for (s = 1; s <= 14; s++) {
          c = get(f, "fill_" sizes[s]) + 0
          line = line " " (c > 0 ? sprintf("%.1f", get(f, "arena") / c) : "–") " |"
        }
        print line
      }
    }

    print ""
    print "### Check: callgrind mean = single-stepping mean, on the same calls"
    print ""
    print "| Workload | S | ABI | Allocator | calls stepped (1 in K) | malloc | free | realloc | failed malloc | failed realloc | agree |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    split("malloc_ok free realloc_ok malloc_failed realloc_failed", ks, " ")
    for (i = 1; i <= nfiles; i++) {
      f = order[i]; total = 0; agree = "yes"; line = ""
      for (j = 1; j <= 5; j++) {
        k = ks[j]; n = get(f, "st_" k "_n") + 0; total += n
        a = get(f, "ver_" k "_mean"); b = get(f, "st_" k "_mean")
        if (n == 0 && a == "") { line = line " – |"; continue }
        line = line " " a " / " b " |"
        if (a == "" || b == "" || get(f, "ver_" k "_n") + 0 != n) { agree = "NO: calls differ"; continue }
        diff = a - b; if (diff < 0) diff = -diff
        if (diff > 1 && diff > 0.002 * b) agree = "NO"
        else if (diff > 0 && agree == "yes") agree = "≈"
      }
      sample = get(f, "sample")
      printf "| %s | %s | %s | %s | %s (K = %s) |%s %s |\n", get(f, "workload"), arena_name(get(f, "arena")), abi_name(get(f, "abi")), get(f, "alloc"), fmt_int(total), sample, line, agree
    }
    print ""
    print "Cells: callgrind mean / single-stepping mean over the same calls (a REP string instruction counts as iterations + 1 in both). \"≈\": they differ by less than an instruction per call; known cause: a system call inside the call (glibc growing or trimming its heap) takes a few more instructions natively on i386 (through the vDSO) than under valgrind."
  }' "${sums[@]}" | tee "$OUT/results.md"
log "tables saved in $OUT/results.md"
exit 0
}
