#!/usr/bin/env bash
# ECS export documents/s, bytes per event and peak memory, and KQL query times, on a case
# (default: the 1M-record bulk case, bench/out/bulk1m.db; make it with bench/sigma_bench.sh).
# Usage: bench/ecs_bench.sh [CASE.db] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case_db=${1:-$here/out/bulk1m.db}
bin=${2:-$here/../build}/src/cli/treeline
out=$(mktemp -d)
"$bin" ingest -q "$case_db" --rebuild-graph >/dev/null 2>&1 || true  # upgrades an older case once
[ "$(sqlite3 "$case_db" "SELECT count(*) FROM findings")" -gt 0 ] || "$bin" hunt "$case_db" >/dev/null 2>&1
events=$(sqlite3 "$case_db" "SELECT count(*) FROM events")
/usr/bin/time -f "export: %e s, peak %M KB" "$bin" export "$case_db" -o "$out/case.ndjson" 2>&1 | tail -2
bytes=$(stat -c %s "$out/case.ndjson")
echo "events $events, bytes $bytes, bytes/event $((bytes / events))"
for q in 'event.code:4688 and winlog.event_data.CommandLine:*powershell*' \
         'winlog.channel:"Security" and event.code:4688 and message:(*lsass* or *MiniDump*)' \
         'event.kind:alert and event.action:masquerading_svchost' \
         'process.pid >= 100 and process.pid < 120'; do
  /usr/bin/time -f "kql: %e s, peak %M KB: $q" "$bin" query "$case_db" --kql "$q" --format csv 2>&1 >"$out/rows.csv" | tail -1
  echo "  rows $(($(wc -l < "$out/rows.csv") - 1))"
done
rm -rf "$out"
