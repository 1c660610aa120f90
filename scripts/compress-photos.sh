#!/usr/bin/env bash
# Compresses a folder of photos (any sizes, colour or grey) into an archive folder holding
# model.h5 (the decoder) and codes.h5 (6-bit codes of 8x8 tiles, with names and sizes), and
# prints the archive's bits per pixel and every photo's PSNR and SSIM.
#
# Usage: bash scripts/compress-photos.sh PHOTOS_DIR ARCHIVE_DIR [--ranks N] [--config FILE]
#   --ranks N      MPI ranks for every stage (default 2)
#   --config FILE  stage options (default configs/photo-archive.ini)
# Decompress with scripts/decompress-photos.sh ARCHIVE_DIR OUTPUT_DIR.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { echo "usage: $0 PHOTOS_DIR ARCHIVE_DIR [--ranks N] [--config FILE]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
photos=$1 archive=$2
shift 2
ranks=2 config=$root/configs/photo-archive.ini
while [[ $# -gt 0 ]]; do
  case $1 in
    --ranks) ranks=${2:?}; shift 2 ;;
    --config) config=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[[ -d $photos ]] || { echo "compress-photos: $photos is not a folder" >&2; exit 2; }
source "$root/scripts/mpi-env.sh"
aepipe=${AEPIPE:-${AEPIPE_BUILD_DIR:-$root/build}/aepipe}
run() { mpirun -np "$ranks" --oversubscribe "$aepipe" "$@"; }

mkdir -p "$archive"
tiles=$archive/tiles.h5  # the originals as tiles: needed to train and to measure, then removed
trap 'rm -f "$tiles"' EXIT
run ingest --config "$config" --quiet --force --input "$photos" --output "$tiles"
run train --config "$config" --quiet --force --input "$tiles" --output "$archive/model.h5"
run encode --config "$config" --quiet --force --input "$tiles" --model "$archive/model.h5" \
  --output "$archive/codes.h5"
run evaluate --codes "$archive/codes.h5" --model "$archive/model.h5" --input "$tiles" \
  --per-image --metrics "$archive/compression.jsonl"
