#!/usr/bin/env bash
# Encoding throughput: `aepipe encode` (1 rank, 1 thread, float32 codes, its 256-row network
# calls) against PyTorch running the same encoder (bench/pytorch_autoencoder.py, batch 256,
# torch.inference_mode, one thread, with jemalloc and with glibc's allocator) over the same
# 60,000 Fashion-MNIST training images, interleaved, REPEAT (default 3) rounds, medians, with
# peak RSS. Two comparisons:
#  - the whole stage: aepipe's `images_per_s` metric (loading the model, opening the data
#    file, reading and inflating it, the forward pass, writing the deflated codes) against
#    --mode encode-file, which does the same with h5py (same chunks, shuffle + deflate 6)
#    but not its model's loading;
#  - the forward pass alone: aepipe's `forward_images_per_s` metric (normalisation and the
#    encoder, timed inside the stage) against --mode encode, the forward pass over images
#    already in memory (uint8 -> float included).
# The model is the 784-1000-500-250-30 autoencoder trained here for 1 epoch on the 10,000 test
# images (its weights do not change the work).
# Prints a markdown table (TABLE_ROWS_ONLY=1: rows only, for run_all.sh).
# Takes about 2-3 minutes on 2 idle cores (ingest + training ~30 s, then ~45 s per round).
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
# The single-thread fp32 sgemm peak (bench/gemm_peak.cpp: oneDNN's dnnl_sgemm at 2048², CPU
# time), to put the forward pass's GFLOP/s and the 2x target in proportion; measured in
# every round. (gemm_peak's single calls at the encoder's shapes ran slower than the forward
# passes of aepipe, whose calls are 256x256 tiles, and of PyTorch: no bound.)
g++ -O2 -std=c++17 "$root/bench/gemm_peak.cpp" -o "$work/gemm_peak" -ldnnl
# MFLOP per image of the 784-1000-500-250-30 encoder: 2 per weight.
mflop=$(awk 'BEGIN { n = split("784-1000-500-250-30", w, "-"); for (i = 1; i < n; ++i) f += 2 * w[i] * w[i + 1]; printf "%.3f", f / 1e6 }')
gflops() {  # images/s -> GFLOP/s
  awk -v s="$1" -v f="$mflop" 'BEGIN { if (s == "-") print "-"; else printf "%.1f", s * f / 1000 }'
}

"${CLEAN_ENV[@]}" mpirun -np 1 "$aepipe" ingest -q --input "$data/train-images-idx3-ubyte.gz" \
  --output "$work/train.h5"
"${CLEAN_ENV[@]}" mpirun -np 1 "$aepipe" ingest -q --input "$data/t10k-images-idx3-ubyte.gz" \
  --output "$work/test.h5"
"${CLEAN_ENV[@]}" OMP_NUM_THREADS=1 mpirun -np 1 "$aepipe" train -q --input "$work/test.h5" \
  --output "$work/model.h5" --arch 784-1000-500-250-30 --epochs 1 --threads 1
images=$(/usr/bin/python3 -c "import h5py, sys; print(h5py.File(sys.argv[1])['images'].shape[0])" "$work/train.h5")

declare -A result memory share
gemm_peak() {
  if ! OMP_NUM_THREADS=1 "${CLEAN_ENV[@]}" "$work/gemm_peak" 5 >"$work/gemm.txt"; then
    echo "encode_throughput.sh: gemm_peak failed" >&2
    return
  fi
  result[gemm_square2048]+="$(awk '$1 == "square2048" {print $5}' "$work/gemm.txt") "
}
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
  result[aepipe_forward]+="$(grep -o '"forward_images_per_s":[-0-9.e+]*' "$work/metrics.jsonl" | tail -1 | cut -d: -f2) "
  note_time aepipe
}
# /usr/bin/time around mpirun measures the largest of mpirun and its one rank: the rank.
pytorch_encode() {  # allocator mode (encode: forward only; encode-file: the whole stage)
  local preload=() name=$1-$2
  [[ $1 == jemalloc ]] && preload=(LD_PRELOAD="$JEMALLOC")
  rm -f "$work/pytorch-codes.h5"
  if ! "${CLEAN_ENV[@]}" "${preload[@]}" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    /usr/bin/time -f "%M %e %U %S" -o "$work/rss" /usr/bin/python3 "$root/bench/pytorch_autoencoder.py" \
    --mode "$2" --data "$work/train.h5" --model "$work/model.h5" \
    --output "$work/pytorch-codes.h5" --batch $batch \
    --threads 1 --passes 1 >"$work/log" 2>&1; then
    echo "encode_throughput.sh: PyTorch ($1, $2) failed:" >&2
    cat "$work/log" >&2
    return
  fi
  grep '^#' "$work/log" >"$work/pytorch-config.txt"
  result[$name]+="$(grep -o 'images_per_s=[0-9.]*' "$work/log" | head -1 | cut -d= -f2) "
  note_time "$name"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= repeat; round++)); do
  echo "encode_throughput.sh: round $round/$repeat" >&2
  gemm_peak
  aepipe_encode
  for mode in encode-file encode; do
    pytorch_encode jemalloc $mode
    pytorch_encode glibc $mode
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

m() { echo "${result[$1]-}" | median; }
peak=$(m gemm_square2048)
mb() { echo "${memory[$1]-}" | median | awk '{ if ($1 == "-") print "-"; else printf "%.0f", $1 / 1024 }'; }
header() {
  echo "### Encoding throughput: $images Fashion-MNIST images, batch $batch, 1 thread, median of $repeat interleaved rounds"
  echo
  echo "Load average before / after: $load_before / $load_after (2 cores; noisy: compare within a row)."
  echo "$(head -1 "$work/gemm.txt" | sed 's/^# //'); PyTorch: $(head -1 "$work/pytorch-config.txt" 2>/dev/null | sed 's/^# //')"
  echo
}
table_start header
for allocator in jemalloc glibc; do
  label="PyTorch + jemalloc"
  [[ $allocator == glibc ]] && label="PyTorch, glibc malloc"
  peer=$allocator-encode-file
  table_row "encode, whole stage, 1 rank 1 thread, batch $batch" "$(fmt "$(m aepipe)") images/s" \
    "$label, h5py in and out: $(fmt "$(m $peer)") images/s" "$(ratio "$(m aepipe)" "$(m $peer)")" \
    "$(mb aepipe); $(mb $peer)" \
    "data file to codes file (same chunks and filters); CPU share $(echo "${share[aepipe]-}" | median)% vs $(echo "${share[$peer]-}" | median)%"
done
for allocator in jemalloc glibc; do
  label="PyTorch + jemalloc"
  [[ $allocator == glibc ]] && label="PyTorch, glibc malloc"
  peer=$allocator-encode
  table_row "encode, forward pass only, 1 rank 1 thread, batch $batch" \
    "$(fmt "$(m aepipe_forward)") images/s" "$label inference: $(fmt "$(m $peer)") images/s" \
    "$(ratio "$(m aepipe_forward)" "$(m $peer)")" "-; $(mb $peer)" \
    "pixels in memory to codes; aepipe: its forward_images_per_s metric; $(gflops "$(m aepipe_forward)") GFLOP/s = $(percent "$(gflops "$(m aepipe_forward)")" "$peak") of the sgemm peak ($peak GFLOP/s at 2048²; $mflop MFLOP per image), peer $(percent "$(gflops "$(m $peer)")" "$peak"); target 2x: $(gflops "$(m $peer)" | awk '{ if ($1 == "-") print "-"; else printf "%.1f", 2 * $1 }') GFLOP/s, $(percent "$(gflops "$(m $peer)" | awk '{ if ($1 == "-") print "-"; else print 2 * $1 }')" "$peak") of the peak"
done
