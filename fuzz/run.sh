#!/usr/bin/env bash
# A longer libFuzzer campaign over aepipe's input readers (fuzz/*_fuzzer.cpp):
#   idx    the IDX reader as ingest uses it (plain and gzip'd, images and labels)
#   image  ingest's image decode path: integrity checks, stb_image, grey/resize/tiles
#   hdf5   opening data/model/codes/index/neighbours files and validating their contract
#
#   fuzz/run.sh [SECONDS] [HARNESS...]     default: 600 s each, all three, one after another
#
# Builds the harnesses first (clang, ASan+UBSan, in $AEPIPE_FUZZ_BUILD_DIR, default
# build-fuzz). Each harness starts from its checked-in seeds (fuzz/corpus/<harness>) and the
# corpus earlier runs grew (build-fuzz/fuzz/work/<harness>/corpus), so campaigns add up.
# A crash stops that harness (hdf5: see below) and leaves its input in
# build-fuzz/fuzz/work/<harness>/artifacts, listed at the end with the frame it failed in;
# replay it with `build-fuzz/fuzz/fuzz_<harness> <file>`. Once fixed, copy the input into
# fuzz/corpus/<harness>/ as crash-<what>: ctest's fuzz_<harness>_replay then runs it for good.
# The test suite runs each harness for 20 s (ctest -L fuzz in the fuzz build).
# fuzz/libhdf5-known/ keeps two damaged files that libhdf5 1.10.8 itself cannot survive (it
# spins in H5C_protect, or dies of SIGSEGV in H5HG_read): not replayed here, since the
# harness has no guards; aepipe's library guards turn both into errors (e2e_reliability).
# FUZZ_JOBS=2 runs two harnesses at once (one per core).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LSAN_OPTIONS=suppressions=$root/fuzz/lsan.supp
seconds=${1:-600}
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(idx image hdf5)
build=${AEPIPE_FUZZ_BUILD_DIR:-$root/build-fuzz}

if [[ -z ${AEPIPE_FUZZ_SKIP_BUILD:-} ]]; then  # set by ctest, which has built them
  if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAEPIPE_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  fi
  cmake --build "$build" -j "$(nproc)" --target aepipe_fuzzers
fi

campaign() {
  local harness=$1
  local work=$build/fuzz/work/$harness
  mkdir -p "$work/corpus" "$work/artifacts"
  echo "fuzz: $harness for ${seconds}s (log: $work/run.log)"
  # libhdf5's own crashes and hangs on damaged metadata would stop the hdf5 campaign within
  # seconds: it runs in fork mode, going on past them (each is left in the artifacts).
  local options=()
  [[ $harness == hdf5 ]] && options=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  local status=0
  touch "$work/started"
  "$build/fuzz/fuzz_$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${options[@]}" \
    "$work/corpus" "$root/fuzz/corpus/$harness" >"$work/run.log" 2>&1 || status=$?
  # The last status line (cov, ft, corpus, exec/s) and the final stats.
  grep -E '^#[0-9]+' "$work/run.log" | tail -1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/run.log" || true
  # hdf5: libFuzzer's exit code is that of its last job; what counts is where each input
  # found failed. One failing outside libhdf5 (in aepipe, HDF5-wrapping code included) fails.
  if [[ $harness == hdf5 ]]; then
    status=0
    triage "$harness" | tee "$work/triage.txt"
    if grep -v 'libhdf5' "$work/triage.txt" | grep -q .; then status=1; fi
  else
    triage "$harness"
  fi
  if ((status != 0)); then
    echo "fuzz: $harness FOUND A CRASH (exit $status): see $work/run.log and $work/artifacts/"
    return 1
  fi
}

# Each input this campaign left in the artifacts folder, with the innermost frame it fails
# in: aepipe's code is ours to fix, a frame in libhdf5 or stb is reported upstream.
triage() {
  local harness=$1 artifact frame
  for artifact in "$build/fuzz/work/$harness/artifacts"/*; do
    [[ -f $artifact && $artifact -nt $build/fuzz/work/$harness/started ]] || continue
    frame=$(timeout 120 "$build/fuzz/fuzz_$harness" -timeout=5 "$artifact" 2>&1 |
      grep -E '^ +#[0-9]+ ' |
      grep -vE '__sanitizer|__asan|__ubsan|__interceptor|fuzzer::|libc\.so|sysdeps|malloc|free|operator new' |
      head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ //' | cut -c1-160) || true
    echo "  $(basename "$artifact"): ${frame:-no crash on replay}"
  done
}

failed=0
jobs=${FUZZ_JOBS:-1}
for harness in "${harnesses[@]}"; do
  if ((jobs > 1)); then
    campaign "$harness" &
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || failed=1; done
  else
    campaign "$harness" || failed=1
  fi
done
while (($(jobs -rp | wc -l) > 0)); do wait -n || failed=1; done
exit $failed
