#!/usr/bin/env bash
# Timeline CSV of a whole case: `treeline timeline -o` against Python's sqlite3 + csv writing the
# bare events_v view of the same case (the rows without their process, parent, logon and finding
# joins), same case, same run. Prints rows/s and peak memory of each.
#   usage: bench/timeline_bench.sh [RECORDS]   (default 1000000: a busy server's Security log)
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${1:-1000000}"
OUT=bench/out
mkdir -p "$OUT"
LOG="$OUT/bulk-$RECORDS.evtx"
CASE="$OUT/timeline-$RECORDS.db"
[ -f "$LOG" ] || build/tools/gen/treeline-gen --bulk --events "$RECORDS" -o "$LOG"
[ -f "$CASE" ] || build/src/cli/treeline ingest -q "$CASE" "$LOG" >/dev/null
build/src/cli/treeline hunt "$CASE" >/dev/null 2>&1
processes=$(build/src/cli/treeline query "$CASE" "SELECT count(*) FROM processes" --format csv | tail -1 | tr -d '\r')
echo "case: $RECORDS records, $processes processes"
run() {  # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >/dev/null 2>&1
  read -r secs kb < "$OUT/time.txt"
  python3 - "$name" "$secs" "$kb" "$RECORDS" <<'PY'
import sys
name, secs, kb, rows = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{name:<28} {secs:7.2f} s  {rows / secs:>10,.0f} rows/s  peak {kb // 1024} MB")
PY
}
run "treeline timeline -o CSV" build/src/cli/treeline timeline "$CASE" -o "$OUT/timeline.csv"
run "  the same, --threads 1" build/src/cli/treeline timeline "$CASE" --threads 1 -o "$OUT/timeline-1.csv"
run "python sqlite3 events_v CSV" python3 -c "
import csv, sqlite3, sys
db = sqlite3.connect('file:$CASE?mode=ro', uri=True)
w = csv.writer(open('$OUT/events_v.csv', 'w', newline=''))
for row in db.execute('SELECT * FROM events_v ORDER BY time_ft'): w.writerow(row)
"
echo "rows written: $(($(wc -l < "$OUT/timeline.csv") - 1))"
cmp -s "$OUT/timeline.csv" "$OUT/timeline-1.csv" && echo "threads 1 and default: the same bytes" || echo "threads 1 and default DIFFER"
