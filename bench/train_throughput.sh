#!/usr/bin/env bash
# Training throughput of the deep autoencoder (784-1000-500-250-30, mirrored decoder, aepipe's
# defaults: ReLU, linear code, sigmoid output, cross-entropy, Adam) on Fashion-MNIST images,
# each figure next to its peer measured in the same run:
#   - aepipe train, 1 rank 1 thread, batch 256 as one exactly-summed piece (--micro-batch 256)
#     and with the default --micro-batch 64, and batch 32 (--micro-batch 32), against
#     bench/pytorch_autoencoder.py (Debian's python3-torch over OpenBLAS, one thread) at the
#     same batch with jemalloc (its best) and with glibc's allocator;
#   - the same figures as a fraction of the single-thread fp32 sgemm peak measured in the same
#     run by bench/gemm_peak.cpp (oneDNN's dnnl_sgemm, CPU time): at 2048^2 and over all the
#     GEMMs of one training step at that batch (15.43 MFLOP per sample, checked below);
#   - --precision bf16 at batch 256 against the same PyTorch fp32 runs (the kernel it ran on:
#     native where the CPU has bf16 arithmetic, emulated elsewhere);
#   - scaling at batch 256, micro-batch 128: 2 ranks x 1 thread and 1 rank x 2 threads against
#     1 rank x 1 thread (and PyTorch with 2 threads, jemalloc, OMP_WAIT_POLICY=PASSIVE); the 2
#     ranks both ways of exchanging the step (node-shared memory, the default on one node,
#     and MPI messages with AEPIPE_SHARED_STEP=0);
#   - peak RSS per rank of every run (/usr/bin/time around each rank) and the CPU share each
#     run got ((user + sys) / elapsed: below 100% per thread, other processes took the cores),
#     and the share of step
#     time in allreduce if aepipe's metrics report one (a key naming "allreduce").
# aepipe's samples/s is its epoch metric (--metrics; training steps only, wall clock). It
# trains 1 epoch on the first ROWS (default 12,800) training images (ingested into a subset
# file; 95% are training rows, the rest validation), PyTorch runs as many samples after
# 10 warm-up steps on the same images. Runs are interleaved, REPEAT (default 3) rounds, and
# medians are printed. Prints a markdown table (TABLE_ROWS_ONLY=1: rows only, for run_all.sh).
# Takes about 3-5 minutes per round on 2 idle cores (12 runs of 5-20 s + start-up).
# Usage: bash bench/train_throughput.sh   (after scripts/build.sh; AEPIPE_BUILD_DIR as there)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/mpi-env.sh"
source "$root/bench/lib.sh"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
repeat=${REPEAT:-3}
rows=${ROWS:-12800}
arch=784-1000-500-250-30
images=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[[ -x $aepipe ]] || { echo "train_throughput.sh: no $aepipe; run scripts/build.sh first" >&2; exit 1; }
bench_install_pytorch
work=$(mktemp -d "${TMPDIR:-/tmp}/aepipe-train-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

g++ -O2 -std=c++17 "$root/bench/gemm_peak.cpp" -o "$work/gemm_peak" -ldnnl

# The subset: the first ROWS training images, ingested by aepipe (PyTorch reads the same file).
/usr/bin/python3 - "$images" "$work/subset.h5" "$rows" <<'PY'
import gzip, sys, h5py, numpy as np
raw = gzip.open(sys.argv[1]).read()
pixels = np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)[: int(sys.argv[3])]
with h5py.File(sys.argv[2], "w") as f:
    f["images"] = pixels
PY
"${CLEAN_ENV[@]}" mpirun -np 1 "$aepipe" ingest -q --input "$work/subset.h5:/images" \
  --output "$work/train.h5"
train_rows=$(awk -v n="$rows" 'BEGIN { printf "%d", n - int(n * 0.05 + 0.5) }')

# The work per sample: forward, weight gradient and input gradient of every layer, except the
# input gradient of the first layer (nothing consumes it); 2 flops per multiply-add.
mflop=$(awk -v arch="$arch" 'BEGIN {
  n = split(arch, w, "-"); for (i = 1; i < n; i++) macs += w[i] * w[i + 1]   # encoder
  macs *= 2                                                                   # + mirrored decoder
  printf "%.3f", (3 * macs - w[1] * w[2]) * 2 / 1e6 }')

declare -A result memory extra share
record() {  # name value rss-list
  result[$1]+="$2 "
  memory[$1]+="$3;"
  # CPU share of the first rank: (user + sys) / elapsed, to tell how much of a core it got.
  share[$1]+="$(tail -1 "$work/rss.0" | awk '$2 > 0 { printf "%.0f", 100 * ($3 + $4) / $2 }') "
  rm -f "$work"/rss.*
}
# Peak RSS in MB of the ranks, "a / b" for 2 ranks (median over rounds per rank).
memory_cell() {
  local name=$1 rank cells=()
  local ranks
  ranks=$(echo "${memory[$name]-}" | tr ';' '\n' | { grep -v '^$' || true; } | head -1 | wc -w)
  ((ranks)) || { echo "-"; return; }
  for ((rank = 1; rank <= ranks; rank++)); do
    cells+=("$(echo "${memory[$name]}" | tr ';' '\n' | grep -v '^$' | awk -v r=$rank '{print $r}' |
      median | awk '{printf "%.0f", $1 / 1024}')")
  done
  local IFS=/
  echo "${cells[*]}" | sed 's|/| / |g'
}
# Peak RSS in KB of each rank (/usr/bin/time files rss.RANK: "%M %e %U %S").
rss_of() { local f; for f in "$work"/rss.*; do tail -1 "$f" | awk '{ printf "%s ", $1 }'; done; }

aepipe_train() {  # name ranks threads batch micro-batch [precision [shared-step 1|0]]
  local name=$1 ranks=$2 threads=$3 batch=$4 micro=$5 precision=${6:-fp32} shared=${7:-1}
  rm -f "$work"/model.h5* "$work/metrics.jsonl" "$work"/rss.*
  # shellcheck disable=SC2016
  # Open MPI binds a rank to one core by default: a rank's threads need --bind-to none.
  local binding=()
  ((threads > 1)) && binding=(--bind-to none)
  if ! "${CLEAN_ENV[@]}" OMP_NUM_THREADS="$threads" AEPIPE_SHARED_STEP="$shared" \
    mpirun -np "$ranks" "${binding[@]}" \
    sh -c 'exec /usr/bin/time -f "%M %e %U %S" -o "$0.${OMPI_COMM_WORLD_RANK:-0}" "$@"' "$work/rss" \
    "$aepipe" train -q --force --input "$work/train.h5" --output "$work/model.h5" \
    --arch "$arch" --epochs 1 --batch "$batch" --micro-batch "$micro" --threads "$threads" \
    --precision "$precision" --metrics "$work/metrics.jsonl" >"$work/log" 2>&1; then
    echo "train_throughput.sh: $name failed:" >&2
    cat "$work/log" >&2
    return
  fi
  local line
  line=$(grep '"event":"epoch"' "$work/metrics.jsonl" | tail -1)
  record "$name" "$(echo "$line" | grep -o '"samples_per_s":[-0-9.e+]*' | cut -d: -f2)" "$(rss_of)"
  local allreduce
  allreduce=$(echo "$line" | grep -o '"[a-z_]*allreduce[a-z_]*":[-0-9.e+]*' | head -1 || true)
  [[ -n $allreduce ]] && extra[$name]+="${allreduce#*:} "
  extra[${name}_key]=${allreduce%%:*}
  extra[${name}_kernel]=$(grep -o '"bf16_kernel":"[a-z]*"' "$work/metrics.jsonl" | tail -1 | cut -d'"' -f4)
  extra[${name}_isa]=$(grep -o '"cpu_isa":"[a-z0-9_]*"' "$work/metrics.jsonl" | tail -1 | cut -d'"' -f4)
  return 0
}

pytorch_train() {  # name batch threads allocator(jemalloc|glibc)
  local name=$1 batch=$2 threads=$3 allocator=$4
  local steps=$(((train_rows + batch - 1) / batch))
  local preload=() wait=()
  [[ $allocator == jemalloc ]] && preload=(LD_PRELOAD="$JEMALLOC")
  ((threads > 1)) && wait=(OMP_WAIT_POLICY=PASSIVE)
  rm -f "$work"/rss.*
  if ! "${CLEAN_ENV[@]}" "${preload[@]}" "${wait[@]}" OMP_NUM_THREADS="$threads" \
    OPENBLAS_NUM_THREADS="$threads" /usr/bin/time -f "%M %e %U %S" -o "$work/rss.0" \
    /usr/bin/python3 "$root/bench/pytorch_autoencoder.py" --mode train --data "$work/train.h5" \
    --batch "$batch" --threads "$threads" --warmup 10 --steps "$steps" >"$work/log" 2>&1; then
    echo "train_throughput.sh: $name failed:" >&2
    cat "$work/log" >&2
    return
  fi
  grep '^#' "$work/log" >"$work/pytorch-config.txt"
  record "$name" "$(grep -o 'samples_per_s=[0-9.]*' "$work/log" | head -1 | cut -d= -f2)" "$(rss_of)"
}

gemm_peak() {
  OMP_NUM_THREADS=1 "${CLEAN_ENV[@]}" "$work/gemm_peak" 5 >"$work/gemm.txt"
  local name
  for name in square2048 layer1_b256 step_b256 layer1_b32 step_b32; do
    result[gemm_$name]+="$(awk -v n=$name '$1 == n {print $5}' "$work/gemm.txt") "
    result[gemm_wall_$name]+="$(awk -v n=$name '$1 == n {print $6}' "$work/gemm.txt") "
  done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= repeat; round++)); do
  echo "train_throughput.sh: round $round/$repeat" >&2
  gemm_peak
  aepipe_train a256 1 1 256 256
  pytorch_train p256je 256 1 jemalloc
  aepipe_train b256 1 1 256 256 bf16
  aepipe_train a256m64 1 1 256 64
  pytorch_train p256gl 256 1 glibc
  aepipe_train a32 1 1 32 32
  pytorch_train p32je 32 1 jemalloc
  pytorch_train p32gl 32 1 glibc
  aepipe_train s1x1 1 1 256 128
  aepipe_train s2x1 2 1 256 128
  aepipe_train s2x1m 2 1 256 128 fp32 0
  aepipe_train s1x2 1 2 256 128
  pytorch_train p256je2 256 2 jemalloc
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

m() { echo "${result[$1]-}" | median; }
cpu_share() { echo "${share[$1]-}" | median | sed 's/$/%/'; }
peak=$(m gemm_square2048)
gflops() {  # samples/s -> GFLOP/s
  awk -v s="$1" -v f="$mflop" 'BEGIN { if (s == "-") print "-"; else printf "%.1f", s * f / 1000 }'
}
# A training row: label, aepipe name, peer name, peer label, step-GEMM bound name.
train_row() {
  local label=$1 a=$2 p=$3 peer_label=$4 bound=$5
  local av pv
  av=$(m "$a")
  pv=$(m "$p")
  table_row "$label" "$(fmt "$av") samples/s" "$peer_label: $(fmt "$pv") samples/s" \
    "$(ratio "$av" "$pv")" "$(memory_cell "$a"); $(memory_cell "$p")" \
    "$(gflops "$av") GFLOP/s = $(percent "$(gflops "$av")" "$peak") of sgemm 2048², $(percent "$(gflops "$av")" "$(m "gemm_$bound")") of the step's GEMMs alone; peer $(percent "$(gflops "$pv")" "$peak"); CPU share $(cpu_share "$a") vs $(cpu_share "$p")"
}

header() {
  echo "### Training throughput: $arch, Fashion-MNIST ($rows images, 1 epoch), median of $repeat interleaved rounds"
  echo
  echo "Load average before / after: $load_before / $load_after (2 cores; other processes make the figures noisy: compare within a row)."
  echo "$(head -1 "$work/gemm.txt" | sed 's/^# //'); PyTorch: $(head -1 "$work/pytorch-config.txt" 2>/dev/null | sed 's/^# //')"
  echo "PyTorch's $(grep -h 'BLAS:' "$work/pytorch-config.txt" 2>/dev/null | sed 's/^#  *//')"
  echo
}
table_start header
table_row "sgemm peak, 1 thread (oneDNN dnnl_sgemm, CPU time)" \
  "$(m gemm_square2048) GFLOP/s at 2048²; $(m gemm_layer1_b256) at 256x784x1000; $(m gemm_layer1_b32) at 32x784x1000" \
  "-" "-" "-" "all GEMMs of one step: $(m gemm_step_b256) (batch 256), $(m gemm_step_b32) (batch 32); wall clock 2048²: $(m gemm_wall_square2048); $mflop MFLOP per sample (from the layer sizes)"
train_row "train, batch 256, 1 rank 1 thread, --micro-batch 256" a256 p256je "PyTorch + jemalloc" step_b256
train_row "train, batch 256, 1 rank 1 thread, --micro-batch 256" a256 p256gl "PyTorch, glibc malloc" step_b256
train_row "train, batch 256, 1 rank 1 thread, --micro-batch 64 (default)" a256m64 p256je "PyTorch + jemalloc" step_b256
train_row "train bf16, batch 256, 1 rank 1 thread, --micro-batch 256" b256 p256je "PyTorch + jemalloc (fp32)" step_b256
table_row "bf16 kernel of the row above" "${extra[b256_kernel]:-?} (oneDNN ISA ${extra[b256_isa]:-?})" "-" \
  "$(ratio "$(m b256)" "$(m a256)") of aepipe fp32" "-" \
  "target 1.8x PyTorch's best fp32; native needs AVX512_BF16/AMX, emulated (any other CPU) gives bf16's numbers below fp32's speed"
train_row "train, batch 32, 1 rank 1 thread, --micro-batch 32" a32 p32je "PyTorch + jemalloc" step_b32
train_row "train, batch 32, 1 rank 1 thread, --micro-batch 32" a32 p32gl "PyTorch, glibc malloc" step_b32
s11=$(m s1x1)
table_row "scaling: batch 256 (micro 128), 1 rank x 1 thread" "$(fmt "$s11") samples/s" "-" "1.00x" \
  "$(memory_cell s1x1)" "the base of the two rows below; CPU share $(cpu_share s1x1)"
table_row "scaling: 2 ranks x 1 thread" "$(fmt "$(m s2x1)") samples/s" \
  "aepipe 1 rank x 1 thread: $(fmt "$s11")" "$(ratio "$(m s2x1)" "$s11")" "$(memory_cell s2x1)" \
  "target 1.8x; CPU share of rank 0 $(cpu_share s2x1)"
table_row "scaling: 2 ranks x 1 thread, MPI messages (AEPIPE_SHARED_STEP=0)" "$(fmt "$(m s2x1m)") samples/s" \
  "aepipe 1 rank x 1 thread: $(fmt "$s11")" "$(ratio "$(m s2x1m)" "$s11")" "$(memory_cell s2x1m)" \
  "the row above exchanges the step through node-shared memory: $(ratio "$(m s2x1)" "$(m s2x1m)") of this"
table_row "scaling: 1 rank x 2 threads" "$(fmt "$(m s1x2)") samples/s" \
  "aepipe 1 rank x 1 thread: $(fmt "$s11")" "$(ratio "$(m s1x2)" "$s11")" "$(memory_cell s1x2)" "CPU share $(cpu_share s1x2) (of 200%)"
table_row "scaling: 1 rank x 2 threads vs PyTorch 2 threads" "$(fmt "$(m s1x2)") samples/s" \
  "PyTorch + jemalloc, 2 threads, OMP_WAIT_POLICY=PASSIVE: $(fmt "$(m p256je2)")" \
  "$(ratio "$(m s1x2)" "$(m p256je2)")" "$(memory_cell s1x2); $(memory_cell p256je2)" "CPU share $(cpu_share s1x2) vs $(cpu_share p256je2) (of 200%)"
key=${extra[s2x1_key]-}
if [[ -n $key ]]; then
  table_row "share of step time in allreduce, 2 ranks" "$(echo "${extra[s2x1]}" | median) ($key)" \
    "-" "-" "-" "from aepipe's epoch metrics"
else
  table_row "share of step time in allreduce, 2 ranks" "not measured" "-" "-" "-" \
    "aepipe's metrics report no allreduce time"
fi
