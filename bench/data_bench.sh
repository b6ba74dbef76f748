#!/usr/bin/env bash
# Ingest with every event's data kept (events_v.data) against libevtx's `evtxexport -f xml`
# rendering the same log, same run: records/s, MB/s, case MB per source MB and peak memory.
# With OLD=path/to/treeline (a build from before data was kept, such as commit 6c50e26), that
# build's ingest runs in the same run, for the ratio.
#   usage: [OLD=BINARY] bench/data_bench.sh [RECORDS]   (default 1000000: the bulk Security log)
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${1:-1000000}"
OUT=bench/out
mkdir -p "$OUT"
LOG="$OUT/bulk-$RECORDS.evtx"
[ -f "$LOG" ] || build/tools/gen/treeline-gen --bulk --events "$RECORDS" -o "$LOG"
src_mb=$(python3 -c "import os; print(os.path.getsize('$LOG') / 1e6)")
run() {  # name, case-or-empty, command...
  local name=$1 case=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >/dev/null 2>&1
  read -r secs kb < "$OUT/time.txt"
  local case_mb=0
  [ -n "$case" ] && case_mb=$(python3 -c "import os; print(os.path.getsize('$case') / 1e6)")
  python3 - "$name" "$secs" "$kb" "$RECORDS" "$src_mb" "$case_mb" <<'PY'
import sys
name, secs, kb, n, src, case = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
ratio = f"  case {case / src:.2f} MB per source MB" if case else ""
print(f"{name:<34} {secs:7.2f} s {n / secs:>10,.0f} records/s {src / secs:7.1f} MB/s  peak {kb // 1024} MB{ratio}")
PY
}
rm -f "$OUT/data.db"
run "treeline ingest --no-graph" "$OUT/data.db" build/src/cli/treeline ingest -q --no-graph "$OUT/data.db" "$LOG"
echo "records with data: $(sqlite3 "$OUT/data.db" 'SELECT count(*) FROM event_data') of $(sqlite3 "$OUT/data.db" 'SELECT count(*) FROM events')"
if [ -n "${OLD:-}" ]; then
  rm -f "$OUT/data-old.db"
  run "the build before data (--no-graph)" "$OUT/data-old.db" "$OLD" ingest -q --no-graph "$OUT/data-old.db" "$LOG"
  rm -f "$OUT/data.db"
  run "treeline ingest --no-graph, again" "$OUT/data.db" build/src/cli/treeline ingest -q --no-graph "$OUT/data.db" "$LOG"
fi
if command -v evtxexport >/dev/null; then
  run "evtxexport -f xml (libevtx)" "" sh -c "evtxexport -f xml '$LOG' > /dev/null"
fi
