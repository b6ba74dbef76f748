#!/usr/bin/env bash
# Installs the Debian packages treeline builds, tests and benchmarks with. Safe to run again:
# it only calls apt-get when something is missing.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config
  libevtx-dev libbfio-dev          # EVTX through libevtx (its header needs libbfio's)
  libsqlite3-dev                   # the case database
  libboost-graph-dev               # the process graph
  libcli11-dev libfmt-dev          # command line and formatting
  nlohmann-json3-dev               # JSON output (and SIEM JSON input)
  libpugixml-dev                   # event XML, where libevtx has no API for a field
  libssl-dev                       # SHA-256 of every source (OpenSSL EVP)
  zlib1g-dev                       # CRC32 in the fixture generator
  libyaml-cpp-dev                  # rule files
  libarchive-dev                   # .zip/.gz/.tar.gz collections, read in place
  libre2-dev                       # regular expressions in linear time (rules, parsers)
  libmimalloc-dev                  # the binary's allocator (many short strings across threads)
  libhyperscan-dev                 # benchmark only: bench/prefilter_bench compares it with RE2::Set
  catch2                           # tests
  libevtx-utils python3 python3-evtx  # independent parsers for checks and benchmarks
  util-linux                       # setpriv, for the read-only case test when run as root
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "treeline: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
