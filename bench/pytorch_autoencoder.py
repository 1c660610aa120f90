#!/usr/bin/python3
"""PyTorch peer of `aepipe train` and `aepipe encode`, for bench/train_throughput.sh and
bench/encode_throughput.sh.

Network: the same as `aepipe train --arch 784-1000-500-250-30` with aepipe's defaults: ReLU
hidden layers, linear 30-d code, decoder mirrored (30-250-500-1000-784, untied), sigmoid
output, cross-entropy loss (`--loss xent`, aepipe's default: summed over the pixels of an
image, averaged over the batch; `--loss mse` is 0.5 * squared error the same way), Adam at
lr 0.002, inputs = pixels / 255 (aepipe's `--normalise none`). Initialisation is PyTorch's;
the work per sample is the same as aepipe's (15.4 MFLOP forward + backward).

Modes:
  train   shuffled batches of the images (uint8 -> float per batch, as aepipe streams them),
          WARMUP steps, then STEPS timed steps: prints samples/s (wall clock and process CPU).
  encode  encoder-only forward (torch.inference_mode) over all images in batches of BATCH,
          one warm-up pass, then PASSES timed passes: prints images/s.
  encode-file
          what `aepipe encode` does, the way a PyTorch user would write it: reads the aepipe
          data file --data with h5py two of its chunks at a time, runs the encoder over them in
          batches of BATCH and writes the codes to --output (/codes float32 [N, k] in chunks
          of those rows, shuffle + deflate level 6, and /labels when the data has labels: what
          aepipe encode chooses for data files of 32 chunks or more); one timed pass, from
          opening the input to closing the output (aepipe's figure also includes loading its
          model and checking its output path): prints images/s.
--model FILE.h5 gives both encode modes the encoder of an aepipe model file, so they compute
aepipe's codes (and deflate the same values).
Images: an aepipe data file (/images uint8 [N, H, W, C], read with h5py) or an IDX .gz file.

Threads: --threads N calls torch.set_num_threads(N); set OMP_NUM_THREADS=N as well (and
OMP_WAIT_POLICY=PASSIVE beside other busy processes). Allocator: run it with
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 for jemalloc (doubles PyTorch's
speed here); the output says which allocator was loaded.

The last line is machine-readable:
  RESULT mode=train batch=256 threads=1 allocator=jemalloc samples_per_s=... cpu_samples_per_s=... max_rss_mb=...
Run time: WARMUP + STEPS steps (train; ~5-15 s at batch 256 with defaults) or PASSES + 1
passes over the images (encode).

Usage: /usr/bin/python3 bench/pytorch_autoencoder.py --mode train --data FILE.h5 --batch 256
"""
import argparse
import gzip
import os
import resource
import sys
import time

import numpy as np

torch = F = None  # imported in main(), after the BLAS thread count is set


def load_images(path, rows):
    if path.endswith(".h5"):
        import h5py
        with h5py.File(path, "r") as f:
            images = f["images"]
            n = images.shape[0] if rows <= 0 else min(rows, images.shape[0])
            pixels = images[:n]
    else:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
        count, height, width = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
        pixels = np.frombuffer(raw[16:], np.uint8).reshape(count, height, width)
        if rows > 0:
            pixels = pixels[:rows]
    return torch.from_numpy(np.array(pixels).reshape(len(pixels), -1))


def build(widths):
    def stack(sizes, last_activation):
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
            elif last_activation is not None:
                layers.append(last_activation)
        return torch.nn.Sequential(*layers)
    encoder = stack(widths, None)  # linear code
    # Decoder ends in logits; the sigmoid is in the loss (xent) or applied below (mse).
    decoder = stack(widths[::-1], None)
    return encoder, decoder


def allocator():
    preload = os.environ.get("LD_PRELOAD", "")
    try:
        with open("/proc/self/maps") as maps:
            if "libjemalloc" in maps.read():
                return "jemalloc"
    except OSError:
        pass
    return "jemalloc?" if "jemalloc" in preload else "glibc"


def blas():
    """The BLAS PyTorch's fp32 GEMMs run on (Debian's torch calls libblas.so.3, BLAS_INFO=generic:
    the reference BLAS unless an optimised one such as libopenblas0 provides it)."""
    import ctypes
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "blas" in line.split()[-1] and ".so" in line})
    except OSError:
        paths = []
    for path in paths:
        try:
            library = ctypes.CDLL(path)
            library.openblas_get_config.restype = ctypes.c_char_p
            library.openblas_get_corename.restype = ctypes.c_char_p
            return (f"{path}: {library.openblas_get_config().decode()}, "
                    f"core {library.openblas_get_corename().decode()}")
        except (OSError, AttributeError):
            continue
    return ", ".join(paths) + " (not OpenBLAS: reference BLAS?)" if paths else "none found"


def describe(threads):
    config = torch.__config__.show()
    keep = [line.strip() for line in config.splitlines()
            if any(word in line for word in ("CPU capability", "BLAS_INFO", "LAPACK_INFO",
                                             "USE_MKLDNN", "USE_OPENMP", "USE_MKL", "OpenMP",
                                             "oneDNN", "MKL"))]
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()} (asked {threads}), "
          f"allocator {allocator()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}", flush=True)
    for line in keep:
        print("#   " + line[:200], flush=True)
    print("#   BLAS: " + blas(), flush=True)


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train(args, images, widths):
    torch.manual_seed(args.seed)
    encoder, decoder = build(widths)
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=args.lr)
    n = images.shape[0]
    generator = torch.Generator().manual_seed(args.seed)
    order, position = torch.randperm(n, generator=generator), 0

    def step():
        nonlocal order, position
        if position + args.batch > n:
            order, position = torch.randperm(n, generator=generator), 0
        index = order[position:position + args.batch]
        position += args.batch
        x = images.index_select(0, index).float().div_(255.0)
        logits = decoder(encoder(x))
        if args.loss == "xent":
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / args.batch
        else:
            loss = 0.5 * (torch.sigmoid(logits) - x).square().sum() / args.batch
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(args.warmup):
        step()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        loss = step()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    samples = args.steps * args.batch
    print(f"# {args.steps} steps of batch {args.batch} in {wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"last loss {float(loss):.2f}")
    print(f"RESULT mode=train batch={args.batch} threads={args.threads} allocator={allocator()} "
          f"samples_per_s={samples / wall:.1f} cpu_samples_per_s={samples / cpu:.1f} "
          f"max_rss_mb={max_rss_mb():.0f}")


def load_encoder(encoder, path):
    """Copies an aepipe model file's encoder (/encoder/<i>/W [out, in], /b [out]) into the
    Linear layers, so the peer computes the codes aepipe computes (pixels / 255 in)."""
    import h5py
    linear = [layer for layer in encoder if isinstance(layer, torch.nn.Linear)]
    with h5py.File(path, "r") as f, torch.no_grad():
        for i, layer in enumerate(linear):
            layer.weight.copy_(torch.from_numpy(f["encoder/%d/W" % i][:]))
            layer.bias.copy_(torch.from_numpy(f["encoder/%d/b" % i][:]))


def encoder_for(args, widths):
    torch.manual_seed(args.seed)
    encoder, _ = build(widths)
    if args.model:
        load_encoder(encoder, args.model)
    return encoder.eval()


def encode(args, images, widths):
    encoder = encoder_for(args, widths)
    n = images.shape[0]

    def one_pass():
        total = 0.0
        with torch.inference_mode():
            for first in range(0, n, args.batch):
                x = images[first:first + args.batch].float().div_(255.0)
                total += float(encoder(x)[0, 0])
        return total

    one_pass()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.passes):
        one_pass()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    count = args.passes * n
    print(f"# {args.passes} passes over {n} images in batches of {args.batch}: {wall:.2f} s wall")
    print(f"RESULT mode=encode batch={args.batch} threads={args.threads} allocator={allocator()} "
          f"images_per_s={count / wall:.1f} cpu_images_per_s={count / cpu:.1f} "
          f"max_rss_mb={max_rss_mb():.0f}")


def encode_file(args, widths):
    import h5py
    encoder = encoder_for(args, widths)
    with torch.inference_mode():  # warm-up: the first call's allocations and kernel choice
        encoder(torch.zeros(args.batch, widths[0]))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with h5py.File(args.data, "r") as source, h5py.File(args.output, "w") as target:
        images = source["images"]
        n = images.shape[0] if args.rows <= 0 else min(args.rows, images.shape[0])
        group = 2 * images.chunks[0]  # rows read, encoded and written at a time
        codes = target.create_dataset("codes", (n, widths[-1]), np.float32,
                                      chunks=(min(group, n), widths[-1]), shuffle=True,
                                      compression="gzip", compression_opts=6)
        if "labels" in source:
            target.create_dataset("labels", data=source["labels"][:n])
        with torch.inference_mode():
            for first in range(0, n, group):
                pixels = torch.from_numpy(images[first:first + group].reshape(-1, widths[0]))
                out = np.empty((pixels.shape[0], widths[-1]), np.float32)
                for b in range(0, pixels.shape[0], args.batch):
                    x = pixels[b:b + args.batch].float().div_(255.0)
                    out[b:b + args.batch] = encoder(x).numpy()
                codes[first:first + len(out)] = out
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"# {n} images from {args.data} to {args.output} in {wall:.2f} s wall")
    print(f"RESULT mode=encode-file batch={args.batch} threads={args.threads} "
          f"allocator={allocator()} images_per_s={n / wall:.1f} cpu_images_per_s={n / cpu:.1f} "
          f"max_rss_mb={max_rss_mb():.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("train", "encode", "encode-file"), default="train")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist/"
                        "train-images-idx3-ubyte.gz", help="aepipe data file (.h5) or IDX file")
    parser.add_argument("--rows", type=int, default=0, help="use the first ROWS images (0: all)")
    parser.add_argument("--arch", default="784-1000-500-250-30")
    parser.add_argument("--loss", choices=("xent", "mse"), default="xent")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=200, help="timed steps")
    parser.add_argument("--passes", type=int, default=3, help="encode: timed passes")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", help="encode-file: the codes file to write")
    parser.add_argument("--model", help="encode modes: the encoder's weights from this aepipe "
                        "model file (default: PyTorch's random initialisation)")
    args = parser.parse_args()
    if args.mode == "encode-file" and (not args.data.endswith(".h5") or not args.output):
        parser.error("--mode encode-file reads an aepipe data file (--data FILE.h5) and needs --output")

    # Debian's torch runs its fp32 GEMMs in libblas.so.3 (OpenBLAS when libopenblas0 is
    # installed), whose thread count is read when it loads: give it --threads unless set.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    global torch, F
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    describe(args.threads)
    widths = [int(w) for w in args.arch.split("-")]
    if args.mode == "encode-file":
        return encode_file(args, widths)
    images = load_images(args.data, args.rows)
    if images.shape[1] != widths[0]:
        sys.exit(f"pytorch_autoencoder: images have {images.shape[1]} pixels, arch wants {widths[0]}")
    (train if args.mode == "train" else encode)(args, images, widths)


if __name__ == "__main__":
    main()
