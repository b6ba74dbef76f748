#!/usr/bin/env bash
# Command B: install what is missing, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
# CI builds with warnings as errors.
bash tools/build.sh -DTREELINE_WERROR=ON
cd build
ctest -j2 --output-on-failure
