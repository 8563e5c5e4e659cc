# report.sh — the step reporting scripts/test.sh and scripts/stress.sh share:
# a banner per step, one summary line per step, and a failure that prints
# the summary and stops. Sourced; the script sets `me` (its name) and may set
# `report_width` (the step-name column, default 22) first.
#
# SPDX-License-Identifier: Apache-2.0

summary=()
t_start=$EPOCHREALTIME

elapsed() { # elapsed START: seconds since START, one decimal
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
banner() { printf '\n==== %s: %s\n' "$me" "$*"; }
record() { summary+=("$(printf "  %-${report_width:-22}s %s" "$1" "$2")"); }

print_summary() {
    banner "summary"
    local line
    for line in "${summary[@]}"; do
        printf '%s\n' "$line"
    done
}

# fail NAME WHAT: record the failure, print the summary, stop.
fail() {
    record "$1" "FAILED: $2"
    print_summary
    printf '\n%s: FAILED at %s: %s (total %ss)\n' "$me" "$1" "$2" "$(elapsed "$t_start")" >&2
    exit 1
}
