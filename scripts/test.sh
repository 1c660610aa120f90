#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds aepipe and runs every test (unit, MPI at 1/2/4
# ranks, end-to-end). Exit code 0 only if all pass.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
source "$root/scripts/mpi-env.sh"
cd "${AEPIPE_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 600 "$@"
