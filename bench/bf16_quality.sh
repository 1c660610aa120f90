#!/usr/bin/env bash
# bf16 against fp32 training of the deep Fashion-MNIST autoencoder (784-1000-500-250-30, the
# default job's model and options): both train on the 60,000 training images with the same
# seed and options but --precision, then `aepipe evaluate` measures each model on the 10,000
# test images (in fp32, as encode and decode use it). Prints test SSE/image, PSNR, samples/s
# and the kernel bf16 ran on (native: oneDNN's bf16 matmul on a CPU with AVX512_BF16/AMX;
# emulated elsewhere: the numbers of bf16, slower than fp32). The issue's quality bar: bf16's
# test error within 2% of fp32's.
# EPOCHS (default 20, as the default job), RANKS (default 2), PRECISIONS (default "fp32 bf16").
# Takes about 7 minutes per fp32 run at 20 epochs on 2 idle cores; emulated bf16 about 1.5x that.
# Usage: bash bench/bf16_quality.sh   (after scripts/build.sh; AEPIPE_BUILD_DIR as there)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/mpi-env.sh"
source "$root/bench/lib.sh"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
epochs=${EPOCHS:-20}
ranks=${RANKS:-2}
precisions=${PRECISIONS:-fp32 bf16}
data=/usr/share/datasets/fashion-mnist
[[ -x $aepipe ]] || { echo "bf16_quality.sh: no $aepipe; run scripts/build.sh first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aepipe-bf16-quality.XXXXXX")
trap 'rm -rf "$work"' EXIT

"${CLEAN_ENV[@]}" mpirun -np "$ranks" "$aepipe" ingest -q --input "$data/train-images-idx3-ubyte.gz" \
  --output "$work/train.h5"
"${CLEAN_ENV[@]}" mpirun -np "$ranks" "$aepipe" ingest -q --input "$data/t10k-images-idx3-ubyte.gz" \
  --output "$work/test.h5"

echo "### bf16 vs fp32 training: 784-1000-500-250-30, $epochs epochs, $ranks ranks, test SSE on 10,000 images"
echo
echo "| precision | kernel | test SSE/image | PSNR dB | train samples/s (median epoch) | test SSE / fp32's |"
echo "| --- | --- | --- | --- | --- | --- |"
reference=""
for precision in $precisions; do
  "${CLEAN_ENV[@]}" mpirun -np "$ranks" "$aepipe" train -q --input "$work/train.h5" \
    --output "$work/$precision.h5" --arch 784-1000-500-250-30 --epochs "$epochs" \
    --precision "$precision" --metrics "$work/$precision-train.jsonl"
  "${CLEAN_ENV[@]}" mpirun -np "$ranks" "$aepipe" evaluate -q --model "$work/$precision.h5" \
    --input "$work/test.h5" --metrics "$work/$precision-eval.jsonl" --no-baseline >/dev/null
  sse=$(grep -o '"sse_per_image":[-0-9.e+]*' "$work/$precision-eval.jsonl" | tail -1 | cut -d: -f2)
  psnr=$(grep -o '"psnr":[-0-9.e+]*' "$work/$precision-eval.jsonl" | tail -1 | cut -d: -f2)
  kernel=$(grep -o '"bf16_kernel":"[a-z]*"' "$work/$precision-train.jsonl" | tail -1 | cut -d'"' -f4)
  speed=$(grep '"event":"epoch"' "$work/$precision-train.jsonl" |
    grep -o '"samples_per_s":[-0-9.e+]*' | cut -d: -f2 | median)
  [[ -z $reference ]] && reference=$sse
  relative=$(awk -v a="$sse" -v b="$reference" 'BEGIN { printf "%.4f", a / b }')
  echo "| $precision | ${kernel:-none} | $sse | $psnr | $speed | $relative |"
done
echo
isa=$(grep -o '"cpu_isa":"[a-z0-9_]*"' "$work/fp32-train.jsonl" "$work/bf16-train.jsonl" 2>/dev/null |
  tail -1 | cut -d'"' -f4)
echo "oneDNN ISA: ${isa:-unknown}. CPU flags: $(grep -o -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
