#!/usr/bin/env bash
# Builds the native EVTX reader's libFuzzer harness with ASan and UBSan (clang from Debian) and
# runs it for SECONDS (default 60), seeded with the real samples in ../shared/data and the
# generated fixtures. New inputs go to build/fuzz/corpus; crashes to build/fuzz/crash-*.
#   usage: tools/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
OUT=build/fuzz
mkdir -p "$OUT/corpus" "$OUT/seeds"
command -v clang++ >/dev/null || { echo "fuzz: clang++ is not installed (apt-get install clang)" >&2; exit 77; }
if [ -n "${FUZZ_BINARY:-}" ]; then
  # Built by CMake (the fuzz_native target).
  [ -x "$FUZZ_BINARY" ] || { echo "fuzz: $FUZZ_BINARY was not built" >&2; exit 77; }
  mkdir -p "$(dirname "$FUZZ_BINARY")"
fi
SRC=(tools/fuzz/fuzz_evtx_native.cpp src/ingest/evtx_native.cpp src/ingest/evtx_chunk.cpp src/ingest/evtx_carve.cpp src/ingest/binxml.cpp src/ingest/binxml_templates.cpp
     src/ingest/binxml_values.cpp src/ingest/event_data.cpp src/core/event_catalog.cpp src/core/text.cpp src/core/time.cpp)
if [ -z "${FUZZ_BINARY:-}" ] && { [ ! -x "$OUT/fuzz_evtx_native" ] || [ -n "$(find "${SRC[@]}" src/ingest/*.hpp src/core/*.hpp -newer "$OUT/fuzz_evtx_native")" ]; }; then
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc "${SRC[@]}" -lfmt -lz -lpthread -o "$OUT/fuzz_evtx_native"
fi
# Seeds: the real samples (read in place) and the fixtures, by link so nothing is copied.
for f in ../shared/data/evtx-rs/*.evtx build/fixtures/*/logs/*.evtx; do
  [ -e "$f" ] && ln -sf "$(readlink -f "$f")" "$OUT/seeds/$(basename "$f" | tr ' %' '__')"
done
for f in tests/fuzz-regressions/*; do [ -e "$f" ] && ln -sf "$(readlink -f "$f")" "$OUT/seeds/regression-$(basename "$f")"; done
BIN="$(readlink -f "${FUZZ_BINARY:-$OUT/fuzz_evtx_native}")"
cd "$OUT"
"$BIN" -max_len=200000 -timeout=10 -rss_limit_mb=2048 -max_total_time="$SECONDS_TO_RUN" \
  -print_final_stats=1 corpus seeds 2>&1 | tail -n 25
