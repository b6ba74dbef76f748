#!/usr/bin/env bash
# Sigma on a case: all of SigmaHQ's Windows rules with the built-in chain rules, over the bulk
# case and over everything in ../shared/data, with wall time, peak memory, hits and the rule
# evaluations left after the prefilters. The hunt is timed twice: with its rows written as CSV,
# and with none shown (--min-severity critical matches none here), which leaves the report out.
#   usage: bench/sigma_bench.sh [RECORDS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${1:-1000000}"
OUT=bench/out
RULES=../shared/data/sigma/rules/windows
mkdir -p "$OUT"
[ -d "$RULES" ] || { echo "skipped: $RULES is absent"; exit 0; }
LOG="$OUT/bulk-$RECORDS.evtx"
[ -f "$LOG" ] || build/tools/gen/treeline-gen --bulk --events "$RECORDS" -o "$LOG"
CASE="$OUT/sigma-bulk.db"
rm -f "$CASE"*
build/src/cli/treeline ingest -q "$CASE" "$LOG" >/dev/null
SHARED="$OUT/sigma-shared.db"
rm -f "$SHARED"*
build/src/cli/treeline ingest -q "$SHARED" ../shared/data >/dev/null 2>&1 || true  # exit 3: skipped records
for c in "$CASE" "$SHARED"; do
  for mode in rows none; do
    extra=()
    [ "$mode" = none ] && extra=(--min-severity critical)
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" build/src/cli/treeline hunt "$c" --sigma "$RULES" "${extra[@]}" \
      --format csv >"$OUT/hunt.csv" 2>"$OUT/hunt.err"
    read -r secs kb < "$OUT/time.txt"
    echo "$(basename "$c") ($mode shown): ${secs} s, peak $((kb / 1024)) MB; $(grep 'Sigma:' "$OUT/hunt.err" | sed 's/^treeline: //')"
  done
done
