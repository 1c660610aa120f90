#!/usr/bin/python3
"""aepipe ingest of IDX archives: the real Fashion-MNIST t10k files (gzip'd and plain) at
several rank counts, synthetic IDX pairs, and damaged IDX files."""

import gzip
import os
import shutil
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aepipe_e2e as e2e  # noqa: E402

IMAGES_GZ = e2e.T10K_IMAGES
LABELS_GZ = e2e.T10K_LABELS
IMAGES_LEAF = os.path.basename(IMAGES_GZ)


def setUpModule():
    global EXPECTED_IMAGES, EXPECTED_LABELS, SHARED, IMAGES_RAW, LABELS_RAW
    for path in (IMAGES_GZ, LABELS_GZ):
        if not os.path.isfile(path):
            raise RuntimeError("missing %s (Debian package dataset-fashion-mnist)" % path)
    EXPECTED_IMAGES = e2e.read_idx(IMAGES_GZ)
    EXPECTED_LABELS = e2e.read_idx(LABELS_GZ)
    assert EXPECTED_IMAGES.shape == (10000, 28, 28), EXPECTED_IMAGES.shape
    assert EXPECTED_LABELS.shape == (10000,), EXPECTED_LABELS.shape
    SHARED = tempfile.mkdtemp(prefix="aepipe-e2e-idx-")
    IMAGES_RAW = os.path.join(SHARED, IMAGES_LEAF[:-3])
    LABELS_RAW = os.path.join(SHARED, os.path.basename(LABELS_GZ)[:-3])
    for source, target in ((IMAGES_GZ, IMAGES_RAW), (LABELS_GZ, LABELS_RAW)):
        with gzip.open(source, "rb") as fin, open(target, "wb") as fout:
            shutil.copyfileobj(fin, fout)


def tearDownModule():
    shutil.rmtree(SHARED, True)


class FashionMnistT10k(e2e.E2ETestCase):
    def check_t10k(self, data, leaf=IMAGES_LEAF, chunk_rows=None):
        e2e_rows = EXPECTED_IMAGES.shape[0]
        self.assertDataAttributes(data, 28, 28, 1, e2e_rows)
        # Byte-identical pixels and labels, in file order.
        self.assertArrayEqual(data["images"], EXPECTED_IMAGES[..., None], "/images")
        self.assertArrayEqual(data["labels"], EXPECTED_LABELS.astype(np.int32), "/labels")
        self.assertEqual(data["names"], ["%s:%d" % (leaf, i) for i in range(e2e_rows)])
        self.assertIsNone(data["classes"], "IDX input has no /classes")
        self.assertIsNone(data["tiles"])
        self.assertIsNone(data["sources"])
        images = data["datasets"]["images"]
        self.assertEqual(images["compression"], "gzip", "default output must be deflated")
        self.assertIn(images["compression_opts"], range(1, 10))
        self.assertEqual(images["chunks"][1:], (28, 28, 1))
        if chunk_rows is not None:
            self.assertEqual(images["chunks"][0], chunk_rows)
        # Every label 0..9, 1000 each in t10k: guards against an all-zero /labels.
        self.assertEqual(np.bincount(data["labels"]).tolist(), [1000] * 10)

    def test_t10k_gz_1_rank(self):
        data = self.ingest(["--input", IMAGES_GZ, LABELS_GZ], ranks=1)
        self.check_t10k(data)
        self.assertIn(IMAGES_GZ, data["attrs"]["source"])
        self.assertIn(LABELS_GZ, data["attrs"]["source"])

    def test_t10k_gz_2_ranks(self):
        self.check_t10k(self.ingest(["--input", IMAGES_GZ, LABELS_GZ], ranks=2))

    def test_t10k_gz_3_ranks_small_batches(self):
        # 3 ranks, 100 per rank per round: 34 rounds, the last one uneven.
        self.check_t10k(self.ingest(["--input", IMAGES_GZ, LABELS_GZ, "--batch", "100"],
                                    ranks=3))

    def test_t10k_gz_4_ranks_batch_7(self):
        # 28 images a round: 358 rounds, the last with 4 images (ranks 1-3 idle). Chunks of
        # 83 rows straddle rounds, so partly written chunks are rewritten by later rounds.
        # (--chunk-kb 64: with the default 1 MiB chunks every round recompresses a whole
        # chunk, which takes ~30 s here.)
        data = self.ingest(["--input", IMAGES_GZ, LABELS_GZ, "--batch", "7", "--chunk-kb", "64"],
                           ranks=4, timeout=240)
        self.check_t10k(data, chunk_rows=83)

    def test_labels_option(self):
        data = self.ingest(["--input", IMAGES_GZ, "--labels", LABELS_GZ], ranks=2)
        self.check_t10k(data)

    def test_uncompressed_copy_gives_same_content(self):
        gz = self.ingest(["--input", IMAGES_GZ, LABELS_GZ], ranks=2, output=self.path("gz.h5"))
        raw = self.ingest(["--input", IMAGES_RAW, LABELS_RAW, "--batch", "333"], ranks=3,
                          output=self.path("raw.h5"))
        self.check_t10k(raw, leaf=os.path.basename(IMAGES_RAW))
        self.assertSameData(gz, raw, keys=("images", "labels", "classes"))
        # Names differ only by the file name.
        self.assertEqual([n.replace(IMAGES_LEAF, "X") for n in gz["names"]],
                         [n.replace(os.path.basename(IMAGES_RAW), "X") for n in raw["names"]])
        for key in ("height", "width", "channels", "rows", "skipped_inputs"):
            self.assertEqual(gz["attrs"][key], raw["attrs"][key], key)

    def test_images_without_labels(self):
        data = self.ingest(["--input", IMAGES_RAW, "--batch", "2500"], ranks=2)
        self.assertArrayEqual(data["images"], EXPECTED_IMAGES[..., None], "/images")
        self.assertIsNone(data["labels"], "no label file given: no /labels expected")

    def test_deflate_0_and_chunk_size(self):
        data = self.ingest(["--input", IMAGES_GZ, LABELS_GZ, "--deflate", "0",
                            "--chunk-kb", "64"], ranks=2)
        images = data["datasets"]["images"]
        self.assertIsNone(images["compression"], "--deflate 0 must store uncompressed")
        self.assertArrayEqual(data["images"], EXPECTED_IMAGES[..., None], "/images")
        rows = images["chunks"][0]
        self.assertLessEqual(rows * 784, 64 * 1024)
        self.assertGreater(rows * 784, 32 * 1024)
        # Level 9 on the first 2000 images is smaller than level 1.
        subset = e2e.write_idx(self.path("subset"), EXPECTED_IMAGES[:2000])
        sizes = {}
        for level in (1, 9):
            out = self.path("d%d.h5" % level)
            data = self.ingest(["--input", subset, "--deflate", level], ranks=2, output=out)
            self.assertEqual(data["datasets"]["images"]["compression_opts"], level)
            self.assertArrayEqual(data["images"][..., 0], EXPECTED_IMAGES[:2000], "level %d" % level)
            sizes[level] = os.path.getsize(out)
        self.assertLess(sizes[9], sizes[1])

    def test_metrics_lines_are_appended(self):
        metrics = self.path("metrics.jsonl")
        self.ingest(["--input", IMAGES_GZ, LABELS_GZ, "--metrics", metrics], ranks=2)
        self.ingest(["--input", IMAGES_GZ, LABELS_GZ, "--metrics", metrics, "--force"], ranks=3)
        lines = [l for l in e2e.json_lines(metrics) if l.get("stage") == "ingest"
                 and l.get("event") == "done"]
        self.assertEqual(len(lines), 2, "one 'done' line per run, appended")
        for line in lines:
            self.assertEqual(line["rows"], 10000)
            self.assertIsInstance(line["seconds"], (int, float))
            self.assertGreater(line["seconds"], 0)
        self.assertEqual([l.get("ranks") for l in lines], [2, 3])


class SyntheticIdx(e2e.E2ETestCase):
    def test_several_pairs_in_order(self):
        rng = np.random.default_rng(3)
        a = rng.integers(0, 256, size=(13, 9, 7), dtype=np.uint8)
        b = rng.integers(0, 256, size=(6, 9, 7), dtype=np.uint8)
        la = rng.integers(0, 10, size=13, dtype=np.uint8)
        lb = rng.integers(0, 10, size=6, dtype=np.uint8) + 100
        e2e.write_idx(self.path("a-images"), a, compress=True)
        e2e.write_idx(self.path("a-labels"), la)
        e2e.write_idx(self.path("b-images"), b)
        e2e.write_idx(self.path("b-labels"), lb, compress=True)
        data = self.ingest(["--input", self.path("a-images"), self.path("a-labels"),
                            self.path("b-images"), self.path("b-labels"), "--batch", "4"],
                           ranks=3)
        self.assertDataAttributes(data, 9, 7, 1, 19)
        self.assertArrayEqual(data["images"][..., 0], np.concatenate([a, b]), "/images")
        self.assertArrayEqual(data["labels"], np.concatenate([la, lb]).astype(np.int32),
                              "/labels")
        self.assertEqual(data["names"], ["a-images:%d" % i for i in range(13)] +
                         ["b-images:%d" % i for i in range(6)])

    def test_uncompressed_pieces_across_files_and_uneven_ranks(self):
        # --deflate 0 writes IDX rows in pieces of 2 MiB (42 rows of 128x128x3 here): pieces
        # that straddle files, ranks with more pieces than others and ranks with none in the
        # last round must still give the rows in order, as the deflated path does.
        rng = np.random.default_rng(5)
        parts = [rng.integers(0, 256, size=(n, 128, 128, 3), dtype=np.uint8) for n in (100, 61, 5)]
        labels = [rng.integers(0, 10, size=len(p), dtype=np.uint8) for p in parts]
        inputs = []
        for i, (images, label) in enumerate(zip(parts, labels)):
            inputs += [e2e.write_idx(self.path("p%d-images" % i), images, compress=(i == 1)),
                       e2e.write_idx(self.path("p%d-labels" % i), label)]
        expected = np.concatenate(parts)
        names = ["p%d-images:%d" % (i, r) for i, p in enumerate(parts) for r in range(len(p))]
        for ranks, deflate, batch in ((1, 0, 166), (3, 0, 130), (4, 0, 50), (3, 1, 130)):
            out = self.path("pieces-%d-%d.h5" % (ranks, deflate))
            data = self.ingest(["--input"] + inputs + ["--deflate", deflate, "--batch", batch],
                               ranks=ranks, output=out)
            what = "%d ranks, deflate %d" % (ranks, deflate)
            self.assertArrayEqual(data["images"], expected, "/images " + what)
            self.assertArrayEqual(data["labels"], np.concatenate(labels).astype(np.int32),
                                  "/labels " + what)
            self.assertEqual(data["names"], names, what)

    def test_colour_4d_idx_and_int32_labels(self):
        rng = np.random.default_rng(4)
        images = rng.integers(0, 256, size=(11, 5, 6, 3), dtype=np.uint8)
        labels = np.array([0, -1, 7, 70000, 3, 2, 1, 0, 9, -5, 4], dtype=">i4")
        e2e.write_idx(self.path("c-images"), images)
        e2e.write_idx(self.path("c-labels"), labels)
        data = self.ingest(["--input", self.path("c-images"), self.path("c-labels"),
                            "--batch", "2"], ranks=2)
        self.assertDataAttributes(data, 5, 6, 3, 11)
        self.assertArrayEqual(data["images"], images, "/images")
        self.assertArrayEqual(data["labels"], labels.astype(np.int32), "/labels")

    def test_label_count_mismatch(self):
        e2e.write_idx(self.path("i"), np.zeros((5, 4, 4), np.uint8))
        e2e.write_idx(self.path("l"), np.zeros(4, np.uint8))
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", self.path("i"), self.path("l"),
                              "--output", out], ranks=2)
        self.assertFailed(result, 1, mentions=[self.path("l")], output=out)


class DamagedIdx(e2e.E2ETestCase):
    """A damaged IDX file fails with exit 1 naming it, and leaves nothing behind."""

    def fail_with(self, images, labels=LABELS_GZ, ranks=3, mentions=None):
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", images, labels, "--output", out,
                              "--batch", "500"], ranks=ranks, timeout=60)
        return self.assertFailed(result, 1, mentions=[mentions or images], output=out,
                                 max_seconds=30)

    def test_truncated_gz(self):
        damaged = self.path("t10k-images-idx3-ubyte.gz")
        with open(IMAGES_GZ, "rb") as f:
            data = f.read()
        with open(damaged, "wb") as f:
            f.write(data[:len(data) // 2])
        message = self.fail_with(damaged)
        self.assertRegex(message, "truncated|unexpected end|corrupt")

    def test_gz_with_bad_crc(self):
        damaged = self.path("t10k-images-idx3-ubyte.gz")
        with open(IMAGES_GZ, "rb") as f:
            data = bytearray(f.read())
        data[-8] ^= 0xFF  # the gzip trailer's CRC-32
        with open(damaged, "wb") as f:
            f.write(bytes(data))
        self.fail_with(damaged)

    def test_truncated_raw(self):
        damaged = self.path("images-raw")
        with open(IMAGES_RAW, "rb") as f:
            data = f.read()
        with open(damaged, "wb") as f:
            f.write(data[:-100])
        message = self.fail_with(damaged, labels=LABELS_RAW)
        self.assertIn("truncated", message)

    def test_trailing_data_raw(self):
        damaged = self.path("images-raw")
        with open(IMAGES_RAW, "rb") as f:
            data = f.read()
        with open(damaged, "wb") as f:
            f.write(data + b"\0" * 10)
        self.fail_with(damaged, labels=LABELS_RAW)

    def test_bad_magic(self):
        damaged = self.path("images-raw")
        with open(IMAGES_RAW, "rb") as f:
            data = bytearray(f.read())
        data[0] = 0x12
        with open(damaged, "wb") as f:
            f.write(bytes(data))
        self.fail_with(damaged, labels=LABELS_RAW)

    def test_bad_magic_in_gz(self):
        damaged = self.path("images.gz")
        data = bytearray(e2e.idx_bytes(EXPECTED_IMAGES[:50]))
        data[2] = 0x42  # unknown element type
        with open(damaged, "wb") as f:
            f.write(gzip.compress(bytes(data)))
        labels = e2e.write_idx(self.path("labels"), EXPECTED_LABELS[:50])
        self.fail_with(damaged, labels=labels)

    def test_truncated_label_file(self):
        damaged = self.path("labels-raw")
        with open(LABELS_RAW, "rb") as f:
            data = f.read()
        with open(damaged, "wb") as f:
            f.write(data[:5000])
        self.fail_with(IMAGES_GZ, labels=damaged, mentions=damaged)


if __name__ == "__main__":
    e2e.main()
