#!/usr/bin/env bash
# Rebuilds every photo of an archive made by scripts/compress-photos.sh as a PNG at its
# original size (named after the original file).
#
# Usage: bash scripts/decompress-photos.sh ARCHIVE_DIR OUTPUT_DIR [--ranks N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { echo "usage: $0 ARCHIVE_DIR OUTPUT_DIR [--ranks N]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
archive=$1 output=$2
shift 2
ranks=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --ranks) ranks=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
source "$root/scripts/mpi-env.sh"
aepipe=${AEPIPE:-${AEPIPE_BUILD_DIR:-$root/build}/aepipe}
mpirun -np "$ranks" --oversubscribe "$aepipe" decode --quiet --input "$archive/codes.h5" \
  --model "$archive/model.h5" --png "$output"
echo "decompress-photos: $(find "$output" -maxdepth 1 -name '*.png' | wc -l) photos in $output"
