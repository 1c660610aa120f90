#!/usr/bin/env python3
"""JPEG without per-file header overhead, for rate-distortion comparisons: every image of a
data file is tiled into one mosaic (a square-ish grid), the mosaic is compressed once per
quality with libjpeg-turbo (through Pillow), decoded and cut back into images.

Prints one JSON object per quality: bits per pixel (compressed bytes * 8 / pixels of the
images, the mosaic's padding excluded), PSNR over all pixels (10 log10(255^2 / MSE)), the mean
of per-image PSNR, and the lossless PNG of the same mosaic as a reference.

Usage: /usr/bin/python3 bench/jpeg_mosaic.py DATA.h5 [QUALITY...]"""

import io
import json
import math
import sys

import h5py
import numpy as np
from PIL import Image, features


def mosaic(images):
    n, h, w, c = images.shape
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.zeros((rows * h, columns * w, c), np.uint8)
    for i in range(n):
        r, q = divmod(i, columns)
        canvas[r * h:(r + 1) * h, q * w:(q + 1) * w] = images[i]
    return canvas, columns


def cut(canvas, n, h, w, columns):
    return np.stack([canvas[(i // columns) * h:(i // columns + 1) * h,
                            (i % columns) * w:(i % columns + 1) * w] for i in range(n)])


def main():
    path = sys.argv[1]
    qualities = [int(q) for q in sys.argv[2:]] or [5, 10, 15, 20, 30, 50, 75, 90]
    with h5py.File(path, "r") as f:
        images = f["images"][:]
    n, h, w, c = images.shape
    canvas, columns = mosaic(images)
    picture = Image.fromarray(canvas[:, :, 0] if c == 1 else canvas)
    pixels = n * h * w
    original = images.astype(np.float64)
    for quality in qualities:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality)
        decoded = np.array(Image.open(io.BytesIO(buffer.getvalue())))
        decoded = decoded.reshape(decoded.shape[0], decoded.shape[1], c)
        tiles = cut(decoded, n, h, w, columns).astype(np.float64)
        per_image = ((tiles - original) ** 2).reshape(n, -1).mean(axis=1)
        print(json.dumps({
            "codec": "jpeg", "quality": quality,
            "bits_per_pixel": 8 * len(buffer.getvalue()) / pixels,
            "psnr": 10 * math.log10(255 ** 2 / per_image.mean()),
            "psnr_mean_image": float(np.mean(10 * np.log10(255 ** 2 / np.maximum(per_image, 1e-12)))),
            "libjpeg_turbo": bool(features.check_feature("libjpeg_turbo"))}))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    print(json.dumps({"codec": "png", "bits_per_pixel": 8 * len(buffer.getvalue()) / pixels,
                      "psnr": None}))  # lossless


if __name__ == "__main__":
    main()
