#!/usr/bin/env bash
# Command A: install what is missing, build, ingest a real sample, and show what it holds.
# The sample is the capattack T1003.001 (procdump) host: a whole winevt\Logs folder from
# ../shared/data (never copied into this repo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
bash tools/build.sh >/dev/null
SAMPLE="${1:-../shared/data/capattack/procdump_t1003.001_capattack/logs}"
if [ ! -e "$SAMPLE" ]; then
  echo "treeline demo: sample not found at $SAMPLE (clone treeline beside shared/, or pass a folder of .evtx)" >&2
  exit 1
fi
CASE=build/demo-case.db
rm -f "$CASE"
TL=build/src/cli/treeline
rc=0
"$TL" ingest --quiet "$CASE" "$SAMPLE" > build/demo-ingest.txt || rc=$?
head -n 1 build/demo-ingest.txt
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then exit "$rc"; fi
echo
"$TL" stats "$CASE"
echo
echo "## Processes found (Security 4688)"
"$TL" query "$CASE" --named process_creations
echo
echo "## Process trees"
"$TL" tree "$CASE"
echo
echo "## Findings"
"$TL" hunt "$CASE"
