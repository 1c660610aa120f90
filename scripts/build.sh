#!/usr/bin/env bash
# Configures and builds aepipe in build/ (or $AEPIPE_BUILD_DIR). Extra arguments go to CMake,
# e.g. scripts/build.sh -DAEPIPE_NATIVE=ON or -DAEPIPE_SANITIZE="address;undefined".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AEPIPE_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
