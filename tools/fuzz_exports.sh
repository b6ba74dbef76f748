#!/usr/bin/env bash
# Builds the JSON and XML export readers' libFuzzer harnesses with ASan and UBSan (clang from
# Debian) and runs each for SECONDS (default 60), seeded with the real exports in ../shared/data
# (by link, nothing copied) and the generated ones. Crashes go to build/fuzz/{json,xml}/crash-*.
#   usage: tools/fuzz_exports.sh [SECONDS] [json|xml|both]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
WHICH="${2:-both}"
command -v clang++ >/dev/null || { echo "fuzz: clang++ is not installed (apt-get install clang)" >&2; exit 77; }
SRC=(tools/fuzz/fuzz_exports.cpp src/ingest/json_reader.cpp src/ingest/json_values.cpp src/ingest/xml_reader.cpp src/ingest/event_xml.cpp
     src/ingest/record_builder.cpp src/ingest/event_data.cpp src/core/event_catalog.cpp src/core/text.cpp
     src/core/time.cpp src/core/regex.cpp)
for kind in json xml; do
  [ "$WHICH" = both ] || [ "$WHICH" = "$kind" ] || continue
  OUT=build/fuzz/$kind
  mkdir -p "$OUT/corpus" "$OUT/seeds"
  BIN="$OUT/fuzz_$kind"
  if [ ! -x "$BIN" ] || [ -n "$(find "${SRC[@]}" src/ingest/*.hpp src/core/*.hpp -newer "$BIN")" ]; then
    clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      "-DFUZZ_${kind^^}" -Isrc "${SRC[@]}" -lfmt -lpugixml -lre2 -lpthread -o "$BIN"
  fi
  # Seeds: the start of each real and generated export (the fuzzer's inputs are short), in build/.
  n=0
  pattern="*.$kind"
  [ "$kind" = json ] && pattern="*.json*"
  while IFS= read -r -d '' f; do
    head -c 65536 "$f" > "$OUT/seeds/$n.$kind"
    n=$((n + 1))
    [ "$n" -lt 200 ] || break
  done < <(find ../shared/data build/fixtures-exports -name "$pattern" -print0 2>/dev/null | sort -z)
  echo "fuzz_$kind: $n seeds"
  BIN="$(readlink -f "$BIN")"
  (cd "$OUT" && "$BIN" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -max_total_time="$SECONDS_TO_RUN" \
    -print_final_stats=1 corpus seeds 2>&1 | tail -n 12)
done
