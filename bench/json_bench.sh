#!/usr/bin/env bash
# JSON ingest throughput on the largest OTRF campaign (an NXLog JSON-lines export in a zip),
# beside Python's json module merely parsing the same lines, in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
TL=build/src/cli/treeline
ZIP=$(ls -S ../shared/data/otrf/*.zip | head -1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "file: $ZIP"
/usr/bin/time -f "treeline ingest: %e s, peak %M KB" "$TL" ingest -q "$OUT/case.db" "$ZIP" > "$OUT/report.txt"
head -n 1 "$OUT/report.txt"
/usr/bin/time -f "python json.loads only: %e s, peak %M KB" python3 -c "
import json, sys, zipfile
n = 0
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        for line in z.open(name):
            json.loads(line); n += 1
print(n, 'lines parsed by python')" "$ZIP"
