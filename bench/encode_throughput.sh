#!/usr/bin/env bash
# Encoding throughput: `aepipe encode` (1 rank, 1 thread, float32 codes, its 256-row network
# calls) against the PyTorch inference of the same encoder (bench/pytorch_autoencoder.py
# --mode encode: torch.inference_mode, batch 256, one thread, with jemalloc and with glibc's
# allocator) over the same 60,000 Fashion-MNIST training images, interleaved, REPEAT (default
# 3) rounds, medians, with peak RSS.
# The model is the 784-1000-500-250-30 autoencoder trained here for 1 epoch on the 10,000 test
# images (its weights do not change the work). aepipe's images/s is its encode metric: the
# whole stage (reading and decompressing the data file, the forward pass, writing the codes);
# PyTorch's is the forward pass over images already in memory (uint8 -> float included).
# Prints a markdown table (TABLE_ROWS_ONLY=1: rows only, for run_all.sh).
# Takes about 1-2 minutes on 2 idle cores (ingest + training ~30 s, then ~15 s per round).
# Usage: bash bench/encode_throughput.sh   (after scripts/build.sh; AEPIPE_BUILD_DIR as there)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/mpi-env.sh"
source "$root/bench/lib.sh"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
repeat=${REPEAT:-3}
batch=256  # pipeline/codec/batch_coding.hpp: kCodingBlock
data=/usr/share/datasets/fashion-mnist
[[ -x $aepipe ]] || { echo "encode_throughput.sh: no $aepipe; run scripts/build.sh first" >&2; exit 1; }
bench_install_pytorch
work=$(mktemp -d "${TMPDIR:-/tmp}/aepipe-encode-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

"${CLEAN_ENV[@]}" mpirun -np 1 "$aepipe" ingest -q --input "$data/train-images-idx3-ubyte.gz" \
  --output "$work/train.h5"
"${CLEAN_ENV[@]}" mpirun -np 1 "$aepipe" ingest -q --input "$data/t10k-images-idx3-ubyte.gz" \
  --output "$work/test.h5"
"${CLEAN_ENV[@]}" OMP_NUM_THREADS=1 mpirun -np 1 "$aepipe" train -q --input "$work/test.h5" \
  --output "$work/model.h5" --arch 784-1000-500-250-30 --epochs 1 --threads 1
images=$(/usr/bin/python3 -c "import h5py, sys; print(h5py.File(sys.argv[1])['images'].shape[0])" "$work/train.h5")

declare -A result memory share
# Peak RSS and CPU share ((user + sys) / elapsed) of a run from /usr/bin/time's "%M %e %U %S".
note_time() {
  memory[$1]+="$(tail -1 "$work/rss" | cut -d' ' -f1) "
  share[$1]+="$(tail -1 "$work/rss" | awk '$2 > 0 { printf "%.0f", 100 * ($3 + $4) / $2 }') "
}
aepipe_encode() {
  rm -f "$work/codes.h5" "$work/metrics.jsonl"
  if ! "${CLEAN_ENV[@]}" OMP_NUM_THREADS=1 /usr/bin/time -f "%M %e %U %S" -o "$work/rss" \
    mpirun -np 1 "$aepipe" encode -q --force --threads 1 --input "$work/train.h5" \
    --model "$work/model.h5" --output "$work/codes.h5" --metrics "$work/metrics.jsonl" \
    >"$work/log" 2>&1; then
    echo "encode_throughput.sh: aepipe encode failed:" >&2
    cat "$work/log" >&2
    return
  fi
  result[aepipe]+="$(grep -o '"images_per_s":[-0-9.e+]*' "$work/metrics.jsonl" | tail -1 | cut -d: -f2) "
  note_time aepipe
}
# /usr/bin/time around mpirun measures the largest of mpirun and its one rank: the rank.
pytorch_encode() {  # allocator
  local preload=()
  [[ $1 == jemalloc ]] && preload=(LD_PRELOAD="$JEMALLOC")
  if ! "${CLEAN_ENV[@]}" "${preload[@]}" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    /usr/bin/time -f "%M %e %U %S" -o "$work/rss" /usr/bin/python3 "$root/bench/pytorch_autoencoder.py" \
    --mode encode --data "$work/train.h5" --batch $batch --threads 1 --passes 1 \
    >"$work/log" 2>&1; then
    echo "encode_throughput.sh: PyTorch ($1) failed:" >&2
    cat "$work/log" >&2
    return
  fi
  grep '^#' "$work/log" >"$work/pytorch-config.txt"
  result[$1]+="$(grep -o 'images_per_s=[0-9.]*' "$work/log" | head -1 | cut -d= -f2) "
  note_time "$1"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= repeat; round++)); do
  echo "encode_throughput.sh: round $round/$repeat" >&2
  aepipe_encode
  pytorch_encode jemalloc
  pytorch_encode glibc
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

m() { echo "${result[$1]-}" | median; }
mb() { echo "${memory[$1]-}" | median | awk '{ if ($1 == "-") print "-"; else printf "%.0f", $1 / 1024 }'; }
header() {
  echo "### Encoding throughput: $images Fashion-MNIST images, batch $batch, 1 thread, median of $repeat interleaved rounds"
  echo
  echo "Load average before / after: $load_before / $load_after (2 cores; noisy: compare within a row)."
  echo "PyTorch: $(head -1 "$work/pytorch-config.txt" 2>/dev/null | sed 's/^# //')"
  echo
}
table_start header
for allocator in jemalloc glibc; do
  label="PyTorch + jemalloc"
  [[ $allocator == glibc ]] && label="PyTorch, glibc malloc"
  table_row "encode, 1 rank 1 thread, batch $batch" "$(fmt "$(m aepipe)") images/s" \
    "$label inference: $(fmt "$(m $allocator)") images/s" "$(ratio "$(m aepipe)" "$(m $allocator)")" \
    "$(mb aepipe); $(mb $allocator)" \
    "aepipe: whole stage incl. file read and code write; PyTorch: forward over images in memory; target 2x; CPU share $(echo "${share[aepipe]}" | median)% vs $(echo "${share[$allocator]}" | median)%"
done
