#!/usr/bin/env bash
# Graph build time and peak memory for growing N (default up to 1,000,000 processes).
# O(n log n) shows as a flat "ns per n*log2(n)" column.
set -euo pipefail
BIN="${BIN:-$(dirname "$0")/../build/bench/graph_bench}"
OUT="${OUT:-/tmp/treeline-graph-bench}"
mkdir -p "$OUT"
for n in ${SIZES:-125000 250000 500000 1000000}; do
  "$BIN" generate "$n" "$OUT/case-$n.db"
  "$BIN" build "$OUT/case-$n.db"
  rm -f "$OUT/case-$n.db"
done
