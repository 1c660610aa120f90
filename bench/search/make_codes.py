"""30-d PCA codes of Fashion-MNIST as two aepipe `codes` files in FOLDER:
database.h5 (the 60k training images) and queries.h5 (the 10k test images), each with
/codes float32 [N, 30] and /labels int32 [N]. The PCA (pixels / 255, centred) is fitted on
the training images. Usage: /usr/bin/python3 make_codes.py FOLDER"""
import gzip
import sys

import h5py
import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist/"


def images(name):
    with gzip.open(ROOT + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)


def labels(name):
    with gzip.open(ROOT + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int32)


def main(folder):
    train = images("train-images-idx3-ubyte.gz").astype(np.float64) / 255
    test = images("t10k-images-idx3-ubyte.gz").astype(np.float64) / 255
    mean = train.mean(0)
    _, vectors = np.linalg.eigh(np.cov(train - mean, rowvar=False))
    basis = vectors[:, ::-1][:, :30]
    for name, x, y in [("database", train, labels("train-labels-idx1-ubyte.gz")),
                       ("queries", test, labels("t10k-labels-idx1-ubyte.gz"))]:
        with h5py.File(f"{folder}/{name}.h5", "w") as f:
            f.attrs["aepipe_format"] = "codes"
            f.attrs["aepipe_version"] = 1
            f["codes"] = ((x - mean) @ basis).astype(np.float32)
            f["labels"] = y


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/index-bench")
