#!/usr/bin/env bash
# Ingest throughput on Fashion-MNIST train (60,000 images, 47 MB of pixels), each figure next
# to its peers measured in the same run:
#   aepipe ingest at 1 and 2 ranks, deflate 1 (default) and 0 (stored);
#   h5py writing the same uint8 array [60000, 28, 28, 1] chunked the same way (deflate 1, 0);
#   dd of the same number of bytes with fdatasync: the disk's limit.
# The gzip'd input makes aepipe's rows above pay for decompression that dd does not; so the
# same images also go in as an uncompressed IDX file repeated SCALE times (default 4: 240,000
# images, 188 MB, so process start-up weighs less), ingested with deflate 0 at 1 and 2 ranks
# against dd of that file with fdatasync (the disk's limit) and without (the page cache's:
# aepipe does not fsync its outputs, so this is the like-for-like copy).
# Each is run REPEAT times (default 5) interleaved, and the median is printed with peak RSS.
# Usage: bash bench/ingest_throughput.sh   (after scripts/build.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/mpi-env.sh"
aepipe=${AEPIPE_BUILD_DIR:-$root/build}/aepipe
data=/usr/share/datasets/fashion-mnist
repeat=${REPEAT:-5}
scale=${SCALE:-4}
work=$(mktemp -d "${TMPDIR:-/tmp}/aepipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The raw pixels for the peers.
/usr/bin/python3 - "$data/train-images-idx3-ubyte.gz" "$work/pixels.npy" <<'PY'
import gzip, sys, numpy as np
raw = gzip.open(sys.argv[1]).read()
np.save(sys.argv[2], np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28, 1))
PY
# The uncompressed IDX input: the header with SCALE times the count, then the pixels SCALE times.
/usr/bin/python3 - "$data/train-images-idx3-ubyte.gz" "$work/raw.idx" "$scale" <<'PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
scale = int(sys.argv[3])
count = struct.unpack(">I", raw[4:8])[0]
with open(sys.argv[2], "wb") as f:
    f.write(raw[:4] + struct.pack(">I", count * scale) + raw[8:16])
    for _ in range(scale):
        f.write(raw[16:])
PY
cat > "$work/h5py_write.py" <<'PY'
import sys, h5py, numpy as np
pixels = np.load(sys.argv[1])
level = int(sys.argv[3])
with h5py.File(sys.argv[2], "w") as f:
    f.create_dataset("images", data=pixels, chunks=(1337, 28, 28, 1),
                     compression="gzip" if level else None,
                     compression_opts=level if level else None)
PY

declare -A seconds memory
run() {  # name, command...
  local name=$1; shift
  local stats
  /usr/bin/time -o "$work/time.txt" -f "%e %M" "$@" >/dev/null 2>&1
  stats=$(tail -1 "$work/time.txt")
  seconds[$name]+="${stats% *} "
  memory[$name]+="${stats#* } "
  rm -f "$work/out.h5" "$work/dd.bin"
}

names=("aepipe 1 rank, deflate 1" "aepipe 2 ranks, deflate 1" "aepipe 1 rank, deflate 0"
       "aepipe 2 ranks, deflate 0" "h5py, deflate 1" "h5py, deflate 0" "dd + fdatasync"
       "raw IDX x$scale: aepipe 1 rank" "raw IDX x$scale: aepipe 2 ranks" "raw IDX x$scale: dd"
       "raw IDX x$scale: dd, no sync")
for ((i = 0; i < repeat; i++)); do
  for level in 1 0; do
    for ranks in 1 2; do
      run "aepipe $ranks rank$([[ $ranks -gt 1 ]] && echo s), deflate $level" \
        mpirun -np $ranks "$aepipe" ingest -q --deflate $level \
        --input "$data/train-images-idx3-ubyte.gz" --output "$work/out.h5"
    done
    run "h5py, deflate $level" /usr/bin/python3 "$work/h5py_write.py" "$work/pixels.npy" "$work/out.h5" $level
  done
  run "dd + fdatasync" dd if="$work/pixels.npy" of="$work/dd.bin" bs=4M conv=fdatasync
  for ranks in 1 2; do
    run "raw IDX x$scale: aepipe $ranks rank$([[ $ranks -gt 1 ]] && echo s)" \
      mpirun -np $ranks "$aepipe" ingest -q --deflate 0 --input "$work/raw.idx" --output "$work/out.h5"
  done
  run "raw IDX x$scale: dd" dd if="$work/raw.idx" of="$work/dd.bin" bs=4M conv=fdatasync
  run "raw IDX x$scale: dd, no sync" dd if="$work/raw.idx" of="$work/dd.bin" bs=4M
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "%-32s %10s %12s %14s %12s\n" "what" "seconds" "images/s" "MB/s (pixels)" "peak RSS MB"
for name in "${names[@]}"; do
  s=$(echo "${seconds[$name]}" | median)
  m=$(echo "${memory[$name]}" | median)
  images=60000
  [[ $name == raw* ]] && images=$((60000 * scale))
  awk -v n="$name" -v s="$s" -v m="$m" -v im="$images" 'BEGIN {
    printf "%-32s %10.2f %12.0f %14.1f %12.0f\n", n, s, im / s, im * 784 / 1e6 / s, m / 1024 }'
done
awk -v a="$(echo "${seconds["raw IDX x$scale: aepipe 1 rank"]}" | median)" \
  -v d="$(echo "${seconds["raw IDX x$scale: dd"]}" | median)" \
  -v n="$(echo "${seconds["raw IDX x$scale: dd, no sync"]}" | median)" \
  'BEGIN { printf "raw IDX: aepipe 1 rank at %.0f%% of dd'"'"'s MB/s with fdatasync (target 80%%), %.0f%% without (aepipe does not fsync its outputs)\n", 100 * d / a, 100 * n / a }'
echo "(median of $repeat; times include process start-up: mpirun ~0.3 s, python ~0.2 s)"
