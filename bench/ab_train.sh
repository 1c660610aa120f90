#!/usr/bin/env bash
# A/B of two aepipe binaries on the training benchmark: the deep Fashion autoencoder
# (784-1000-500-250-30, as train_throughput.sh) on the first ROWS (default 12,800) training
# images, one epoch, the two binaries alternating for ROUNDS (default 5) rounds; prints each
# round's samples/s (the epoch metric) and the medians with their ratio. For a change to the
# training loop, measured side by side on a noisy machine: build the old binary first, e.g.
#   git stash && scripts/build.sh && cp build/aepipe /tmp/aepipe-before && git stash pop &&
#   scripts/build.sh && bash bench/ab_train.sh /tmp/aepipe-before build/aepipe
# Settings: RANKS (1), THREADS per rank (1; more than one runs mpirun --bind-to none), BATCH
# (256), MICRO (64, the default micro-batch), ROWS, ROUNDS.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/mpi-env.sh"
source "$root/bench/lib.sh"
[[ $# -eq 2 && -x $1 && -x $2 ]] || {
  echo "usage: bash bench/ab_train.sh OLD_AEPIPE NEW_AEPIPE (two executables)" >&2
  exit 2
}
a=$(realpath "$1") b=$(realpath "$2")
ranks=${RANKS:-1} threads=${THREADS:-1} batch=${BATCH:-256} micro=${MICRO:-64}
rows=${ROWS:-12800} rounds=${ROUNDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/aepipe-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
  "$work/subset.h5" "$rows" <<'PY'
import gzip, sys, h5py, numpy as np
raw = gzip.open(sys.argv[1]).read()
with h5py.File(sys.argv[2], "w") as f:
    f["images"] = np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)[: int(sys.argv[3])]
PY
"${CLEAN_ENV[@]}" mpirun -np 1 "$b" ingest -q --input "$work/subset.h5:/images" \
  --output "$work/train.h5"

binding=()
((threads > 1)) && binding=(--bind-to none)
run() {  # binary -> samples/s of its epoch
  rm -f "$work/metrics.jsonl"
  "${CLEAN_ENV[@]}" OMP_NUM_THREADS="$threads" mpirun -np "$ranks" "${binding[@]}" "$1" train -q \
    --force --input "$work/train.h5" --output "$work/model.h5" --arch 784-1000-500-250-30 \
    --epochs 1 --batch "$batch" --micro-batch "$micro" --threads "$threads" \
    --metrics "$work/metrics.jsonl" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  grep '"event":"epoch"' "$work/metrics.jsonl" | tail -1 | grep -o '"samples_per_s":[0-9.]*' |
    cut -d: -f2 | cut -d. -f1
}
echo "ab_train.sh: $ranks rank(s) x $threads thread(s), batch $batch, micro-batch $micro," \
  "$rows images, load average $(cut -d' ' -f1-3 /proc/loadavg)"
results_a=() results_b=()
for ((round = 1; round <= rounds; ++round)); do
  results_a+=("$(run "$a")")
  results_b+=("$(run "$b")")
  echo "round $round: A ${results_a[-1]}  B ${results_b[-1]} samples/s"
done
median_a=$(echo "${results_a[@]}" | median) median_b=$(echo "${results_b[@]}" | median)
echo "median: A $median_a  B $median_b samples/s  B/A $(ratio "$median_b" "$median_a")"
echo "A: $a"
echo "B: $b"
