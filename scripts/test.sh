#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds aepipe and runs every test (unit, MPI at 1/2/4
# ranks, end-to-end). Then, each in a build folder of its own:
#   build-sanitize  the unit and MPI tests again, built with AddressSanitizer and
#                   UndefinedBehaviorSanitizer (g++, AEPIPE_SANITIZE; only their targets)
#   build-fuzz      the fuzz harnesses (clang, libFuzzer): every checked-in input replayed and a
#                   short campaign per harness (fuzz/run.sh runs a long one)
# Arguments go to the first ctest only. AEPIPE_SANITIZE_TESTS=0 or AEPIPE_FUZZ_TESTS=0 skips
# the second or third part. Exit code 0 only if all pass.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
source "$root/scripts/mpi-env.sh"
status=0
# -j: tests that need both cores say so (PROCESSORS 2: the end-to-end tests, 4 ranks), the
# rest run two at a time.
jobs=$(nproc)
(cd "${AEPIPE_BUILD_DIR:-$root/build}" && ctest --output-on-failure --timeout 600 -j "$jobs" "$@") ||
  status=1

if [[ ${AEPIPE_SANITIZE_TESTS:-1} != 0 ]]; then
  start=$SECONDS
  build=${AEPIPE_SANITIZE_BUILD_DIR:-$root/build-sanitize}
  # -O1: the usual optimisation for ASan (readable stacks, tests still fast); -g1: line
  # tables for the reports without full debug information, which doubles compile times.
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DAEPIPE_SANITIZE="address;undefined" >/dev/null
  # The executables of the tests labelled unit or mpi (tests/, tests/index/, fuzz/).
  cmake --build "$build" -j "$(nproc)" --target aepipe_unit_tests aepipe_stop_signal_tests \
    aepipe_library_guard_tests aepipe_mpi_tests aepipe_index_tests aepipe_index_mpi_tests fuzz_idx_replay \
    fuzz_image_replay fuzz_hdf5_replay
  built=$SECONDS
  (cd "$build" && ctest --output-on-failure --timeout 600 -j "$jobs" -L 'unit|mpi') || status=1
  echo "test: sanitisers: build $((built - start)) s, tests $((SECONDS - built)) s"
fi

if [[ ${AEPIPE_FUZZ_TESTS:-1} != 0 ]]; then
  start=$SECONDS
  build=${AEPIPE_FUZZ_BUILD_DIR:-$root/build-fuzz}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAEPIPE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$build" -j "$(nproc)" --target aepipe_fuzzers
  built=$SECONDS
  (cd "$build" && ctest --output-on-failure --timeout 600 -j "$jobs" -L fuzz) || status=1
  echo "test: fuzzing: build $((built - start)) s, tests $((SECONDS - built)) s"
fi
exit $status
