#!/usr/bin/env bash
# --reader auto (native plus carving) against --reader native (live records only) on a log whose
# chunks hold old records in their free space: a real one (evtx-rs's RemoteConnectionManager from a
# volume shadow copy), its chunks repeated to about 35 MB. Paired runs (bench/paired.py), ratios quoted.
#   usage: bench/carving_bench.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${1:-60000}"
SRC="../shared/data/evtx-rs/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
OUT=bench/out
mkdir -p "$OUT"
[ -f "$OUT/slack-$RECORDS.evtx" ] || python3 tools/make_big_evtx.py "$SRC" "$OUT/slack-$RECORDS.evtx" --records "$RECORDS"
BIN=build/src/cli/treeline
python3 bench/paired.py -n 5 \
  --a "rm -f $OUT/auto.db; $BIN ingest -q --no-graph --reader auto $OUT/auto.db $OUT/slack-$RECORDS.evtx" \
  --b "rm -f $OUT/native.db; $BIN ingest -q --no-graph --reader native $OUT/native.db $OUT/slack-$RECORDS.evtx"
for db in native auto; do
  echo "$db: $($BIN query --format csv "$OUT/$db.db" 'SELECT records_read, records_recovered, records_new FROM sources' | tail -1) (read, recovered, new)"
done
