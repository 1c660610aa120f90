#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/{idx,image,hdf5}: tiny valid inputs (a few KB
# each, < 100 KB in all) from which libFuzzer mutates. The checked-in seeds are what this
# wrote; rerun it only when a file layout changes. Crash inputs (crash-*) are regressions:
# this script never touches them.
#   fuzz/make-seeds.sh [path/to/aepipe]     (default build/aepipe; needs /usr/bin/python3
#                                            with PIL and numpy for the IDX and image seeds)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
aepipe=$(realpath "${1:-$root/build/aepipe}")
corpus=$root/fuzz/corpus
mkdir -p "$corpus/idx" "$corpus/image" "$corpus/hdf5"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# IDX: images [N, H, W] and [N, H, W, 3], labels of each integer type, plain and gzip'd.
# Images: one small file per format; the harness reads the last byte as (extension, channels).
/usr/bin/python3 - "$corpus" "$scratch" <<'PY'
import gzip, io, struct, sys
import numpy as np
from PIL import Image

corpus, scratch = sys.argv[1], sys.argv[2]

def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

rng = np.random.default_rng(7)
seeds = {
    "images-u8.idx": idx(0x08, [3, 4, 4], rng.integers(0, 256, 48, dtype=np.uint8).tobytes()),
    "images-rgb.idx": idx(0x08, [2, 2, 3, 3], rng.integers(0, 256, 36, dtype=np.uint8).tobytes()),
    "labels-u8.idx": idx(0x08, [3], bytes([1, 7, 2])),
    "labels-i8.idx": idx(0x09, [2], bytes([0xff, 3])),
    "labels-i16.idx": idx(0x0B, [2], struct.pack(">hh", -2, 300)),
    "labels-i32.idx": idx(0x0C, [2], struct.pack(">ii", 5, -70000)),
    "values-f32.idx": idx(0x0D, [2, 2], struct.pack(">4f", 0.5, 1, 2, 3)),
    "values-f64.idx": idx(0x0E, [1, 2], struct.pack(">2d", 0.25, -1)),
}
seeds["images-u8.idx.gz"] = gzip.compress(seeds["images-u8.idx"], mtime=0)
seeds["labels-u8.idx.gz"] = gzip.compress(seeds["labels-u8.idx"], mtime=0)
for name, data in seeds.items():
    open(f"{corpus}/idx/{name}", "wb").write(data)

# Image seeds: (name, PIL format, mode, size, trailing choice byte = extension + 8 * channels).
extension = {"png": 0, "jpg": 1, "pgm": 2, "bmp": 3, "tga": 4, "gif": 5, "ppm": 6}
gradient = np.add.outer(np.arange(6) * 40, np.arange(5) * 9).astype(np.uint8)
colour = np.stack([gradient, gradient[::-1], 255 - gradient], axis=-1)
images = [("grey.png", "PNG", gradient, "png", 0), ("rgb.png", "PNG", colour, "png", 1),
          ("rgba.png", "PNG", np.dstack([colour, gradient]), "png", 2),
          ("grey.jpg", "JPEG", gradient, "jpg", 2), ("rgb.jpg", "JPEG", colour, "jpg", 1),
          ("grey.pgm", "PPM", gradient, "pgm", 0), ("rgb.ppm", "PPM", colour, "ppm", 1),
          ("rgb.bmp", "BMP", colour, "bmp", 0), ("rgb.tga", "TGA", colour, "tga", 2),
          ("rle.tga", "TGA", colour, "tga", 0), ("grey.gif", "GIF", gradient, "gif", 0)]
for name, fmt, pixels, ext, channels in images:
    out = io.BytesIO()
    options = {"compression": "tga_rle"} if name == "rle.tga" else {}
    Image.fromarray(pixels).save(out, fmt, **options)
    choice = extension[ext] + 8 * channels
    open(f"{corpus}/image/{name}", "wb").write(out.getvalue() + bytes([choice]))

# Inputs for the HDF5 seeds: a tiny IDX archive and a folder of two odd-sized photos.
open(f"{scratch}/images.idx", "wb").write(
    idx(0x08, [8, 4, 4], rng.integers(0, 256, 128, dtype=np.uint8).tobytes()))
open(f"{scratch}/labels.idx", "wb").write(idx(0x08, [8], bytes(range(8))))
import os
os.makedirs(f"{scratch}/photos", exist_ok=True)
Image.fromarray(colour).save(f"{scratch}/photos/a.png")
Image.fromarray(colour[:5, :4]).save(f"{scratch}/photos/b.png")
PY

# HDF5: one file of each kind the readers validate, written by aepipe itself.
run() { "$aepipe" "$@" --quiet --force --threads 1 >/dev/null; }
cd "$scratch"
run ingest --input images.idx --labels labels.idx --output data.h5 --deflate 9
run ingest --input photos --output tiles.h5 --tile 4 --deflate 9
run train --input data.h5 --output model.h5 --arch 16-2 --epochs 1 --batch 4
run encode --input data.h5 --model model.h5 --output codes.h5
run encode --input data.h5 --model model.h5 --output codes-8bit.h5 --bits 8
run index --input codes.h5 --output flat.h5 --type flat
run index --input codes.h5 --output ivf.h5 --type ivf:2
run index --input codes.h5 --output hash.h5 --type hash:8
run query --index flat.h5 --input codes.h5 --output neighbours.h5 --k 2
# aepipe's own layout (chunked, deflate) for the data file; the others repacked contiguous,
# which halves them (HDF5's chunk indexes dominate files this small) and keeps the corpus
# under 100 KB. The readers accept both layouts.
cp data.h5 "$corpus/hdf5/data.h5"
for kind in tiles model codes-8bit ivf hash neighbours; do
  h5repack -l CONTI "$kind.h5" "$corpus/hdf5/$kind.h5"
done
du -sh "$corpus"
