#!/usr/bin/env bash
# Command B: install what is missing, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
# CI builds with warnings as errors, and without debug information (the same -O2 code, a
# shorter compile and link: CI has ten minutes).
bash tools/build.sh -DTREELINE_WERROR=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG"
cd build
ctest -j2 --output-on-failure
