#!/usr/bin/python3
"""aepipe ingest of HDF5 datasets: re-ingesting aepipe data files, float [0, 1] and integer
datasets written with h5py, sibling labels/names, and out-of-range values."""

import os
import shutil
import sys
import tempfile

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aepipe_e2e as e2e  # noqa: E402


def setUpModule():
    global SHARED, PNG_H5, T10K_H5, PNG_DATA, T10K_DATA
    SHARED = tempfile.mkdtemp(prefix="aepipe-e2e-hdf5-")
    png = e2e.make_images(os.path.join(SHARED, "png"), "--classes", 3, "--per-class", 7,
                          "--size", "12x10", "--channels", 3, "--seed", 9)
    PNG_H5 = os.path.join(SHARED, "png.h5")
    T10K_H5 = os.path.join(SHARED, "t10k.h5")
    for args, out in ((["--input", png], PNG_H5),
                      (["--input", e2e.T10K_IMAGES, e2e.T10K_LABELS], T10K_H5)):
        result = e2e.run_aepipe(["ingest"] + args + ["--output", out, "--quiet"], ranks=2)
        if result.returncode != 0:
            raise RuntimeError("could not make the input files\n" + result.describe())
    PNG_DATA = e2e.read_data_file(PNG_H5)
    T10K_DATA = e2e.read_data_file(T10K_H5)


def tearDownModule():
    shutil.rmtree(SHARED, True)


def to_bytes(values):
    """What [0, 1] floats must become: round(v * 255), halves away from zero."""
    return np.floor(np.asarray(values, np.float64) * 255.0 + 0.5).astype(np.uint8)


class ReIngest(e2e.E2ETestCase):
    def check_same(self, original, data, source):
        self.assertSameData(original, data, keys=("images", "labels", "names"))
        for key in ("height", "width", "channels", "rows"):
            self.assertEqual(data["attrs"][key], original["attrs"][key], key)
        self.assertEqual(data["attrs"]["source"], source)

    def test_png_data_file_at_1_and_3_ranks(self):
        one = self.ingest(["--input", PNG_H5], ranks=1, output=self.path("1.h5"))
        self.check_same(PNG_DATA, one, PNG_H5 + ":/images")
        three = self.ingest(["--input", PNG_H5 + ":/images", "--batch", "2"], ranks=3,
                            output=self.path("3.h5"))
        self.check_same(PNG_DATA, three, PNG_H5 + ":/images")
        self.assertEqual(PNG_DATA["labels"].tolist(), [0] * 7 + [1] * 7 + [2] * 7)

    def test_t10k_data_file(self):
        data = self.ingest(["--input", T10K_H5 + ":images", "--batch", "1000"], ranks=3)
        self.check_same(T10K_DATA, data, T10K_H5 + ":/images")
        self.assertArrayEqual(data["images"][..., 0], e2e.read_idx(e2e.T10K_IMAGES), "pixels")
        self.assertEqual(data["names"][9999], "t10k-images-idx3-ubyte.gz:9999")

    def test_two_files_concatenate(self):
        data = self.ingest(["--input", PNG_H5, PNG_H5 + ":/images", "--batch", "5"], ranks=2)
        self.assertArrayEqual(data["images"], np.concatenate([PNG_DATA["images"]] * 2))
        self.assertArrayEqual(data["labels"], np.concatenate([PNG_DATA["labels"]] * 2))
        self.assertEqual(data["names"], PNG_DATA["names"] * 2)

    def test_grayscale_of_colour_dataset(self):
        data = self.ingest(["--input", PNG_H5, "--grayscale", "--batch", "4"], ranks=2)
        self.assertDataAttributes(data, 12, 10, 1, 21)
        luma = np.rint(PNG_DATA["images"].astype(float) @ [0.299, 0.587, 0.114])
        self.assertLessEqual(np.abs(data["images"][..., 0] - luma).max(), 2.0,
                             "grey = 0.299 R + 0.587 G + 0.114 B")
        # The same conversion as for the PNG files themselves.
        folder = self.ingest(["--input", os.path.join(SHARED, "png"), "--grayscale"], ranks=1,
                             output=self.path("folder.h5"))
        self.assertArrayEqual(data["images"], folder["images"], "grey from HDF5 vs from PNG")

    def test_grayscale_and_tiles_of_data_file(self):
        data = self.ingest(["--input", PNG_H5, "--grayscale", "--tile", 8], ranks=2)
        self.assertEqual(int(data["attrs"]["channels"]), 1)
        self.assertEqual(len(data["sources"]), 21)
        self.assertEqual(data["sources"][0], (PNG_DATA["names"][0], 12, 10))
        self.assertEqual(len(data["tiles"]), 21 * 4)


class H5pyDatasets(e2e.E2ETestCase):
    def test_float_dataset_with_siblings(self):
        rng = np.random.default_rng(12)
        values = rng.random((17, 6, 5, 3)).astype(np.float32)
        values[0] = 0.0
        values[1] = 1.0
        values[2, 0, 0, 0] = 0.5 / 255  # exactly half a step: rounds up
        labels = rng.integers(-3, 40, size=17).astype(np.int64)
        names = ["img-%02d" % i for i in range(17)]
        path = self.path("floats.h5")
        with h5py.File(path, "w") as f:
            g = f.create_group("set")
            g["x"] = values
            g["labels"] = labels
            g["names"] = np.array(names, dtype=h5py.string_dtype())
            f["labels"] = np.zeros(17, np.int32)  # not a sibling of /set/x: must be ignored
        data = self.ingest(["--input", path + ":/set/x", "--batch", "3"], ranks=3)
        self.assertDataAttributes(data, 6, 5, 3, 17)
        self.assertArrayEqual(data["images"], to_bytes(values), "scaled floats")
        self.assertEqual(int(data["images"][1].min()), 255)
        self.assertEqual(int(data["images"][0].max()), 0)
        self.assertArrayEqual(data["labels"], labels.astype(np.int32), "/labels")
        self.assertEqual(data["names"], names)

    def test_float64_without_siblings(self):
        rng = np.random.default_rng(13)
        values = rng.random((10, 4, 7))
        path = self.path("f64.h5")
        with h5py.File(path, "w") as f:
            f["pixels"] = values
        data = self.ingest(["--input", path + ":/pixels", "--batch", "2"], ranks=2)
        self.assertDataAttributes(data, 4, 7, 1, 10)
        self.assertArrayEqual(data["images"][..., 0], to_bytes(values), "scaled floats")
        self.assertIsNone(data["labels"], "no labels dataset: no /labels")
        self.assertEqual(len(set(data["names"])), 10)
        for i, name in enumerate(data["names"]):
            self.assertTrue(name.endswith("[%d]" % i), name)

    def test_integer_dataset(self):
        rng = np.random.default_rng(14)
        values = rng.integers(0, 256, size=(9, 3, 4, 3)).astype(np.int16)
        values[0, 0, 0, 0] = 255
        values[0, 0, 0, 1] = 0
        path = self.path("ints.h5")
        with h5py.File(path, "w") as f:
            f["images"] = values
        data = self.ingest(["--input", path, "--batch", "4"], ranks=2)
        self.assertArrayEqual(data["images"], values.astype(np.uint8), "int16 pixels")

    def test_fixed_length_names_and_uint8_labels(self):
        rng = np.random.default_rng(15)
        values = rng.integers(0, 256, size=(6, 4, 5, 1), dtype=np.uint8)
        path = self.path("fixed.h5")
        with h5py.File(path, "w") as f:
            f["a/images"] = values
            f["a/names"] = np.array([b"n%d" % i for i in range(6)], dtype="S8")
            f["a/labels"] = np.arange(6, dtype=np.uint8) * 40
        data = self.ingest(["--input", path + ":/a/images", "--batch", "2"], ranks=2)
        self.assertDataAttributes(data, 4, 5, 1, 6)
        self.assertArrayEqual(data["images"], values)
        self.assertEqual(data["names"], ["n%d" % i for i in range(6)])
        self.assertEqual(data["labels"].tolist(), [0, 40, 80, 120, 160, 200])

    def fail_on(self, values, dataset, row, ranks=3, batch=2):
        path = self.path("bad.h5")
        with h5py.File(path, "w") as f:
            f[dataset] = values
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", path + ":" + dataset, "--output", out,
                              "--batch", batch], ranks=ranks, timeout=60)
        return self.assertFailed(result, 1, mentions=["row %d" % row, dataset], output=out,
                                 max_seconds=30)

    def test_float_above_one_names_the_row(self):
        values = np.random.default_rng(1).random((12, 4, 4)).astype(np.float32)
        values[7, 2, 3] = 1.5
        self.fail_on(values, "/images", 7)

    def test_negative_float_names_the_row(self):
        values = np.random.default_rng(2).random((12, 4, 4))
        values[10, 0, 0] = -0.25
        self.fail_on(values, "/images", 10)

    def test_nan_names_the_row(self):
        values = np.random.default_rng(3).random((12, 4, 4))
        values[3, 1, 1] = np.nan
        self.fail_on(values, "/data", 3)

    def test_infinity_names_the_row(self):
        values = np.random.default_rng(4).random((12, 4, 4)).astype(np.float32)
        values[0, 0, 0] = np.inf
        self.fail_on(values, "/data", 0)

    def test_integer_out_of_range_names_the_row(self):
        values = np.full((12, 4, 4), 7, np.int32)
        values[5, 3, 3] = 256
        self.fail_on(values, "/images", 5)
        values[5, 3, 3] = -1
        os.remove(self.path("bad.h5"))
        self.fail_on(values, "/images", 5)

    def test_missing_dataset(self):
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", PNG_H5 + ":/nothing", "--output", out],
                             ranks=2)
        self.assertFailed(result, 1, mentions=["/nothing"], output=out)

    def test_unsupported_shapes(self):
        path = self.path("shapes.h5")
        with h5py.File(path, "w") as f:
            f["flat"] = np.zeros((5, 6), np.uint8)
            f["two"] = np.zeros((5, 4, 4, 2), np.uint8)
            f["text"] = np.array(["a", "b"], dtype=h5py.string_dtype())
        datasets = ("/flat", "/two", "/text")
        outs = [self.path("out%d.h5" % i) for i in range(len(datasets))]
        results = self.aepipe_many([(["ingest", "--input", path + ":" + dataset, "--output", out],
                                     2) for dataset, out in zip(datasets, outs)])
        for dataset, out, result in zip(datasets, outs, results):
            self.assertFailed(result, 1, mentions=[dataset], output=out)

    def test_output_equal_to_input_dataset_spec(self):
        """Regression: --input F.h5:/images --output F.h5 --force is refused, F.h5 intact."""
        # `--input F.h5:/images --output F.h5 --force` must be refused like
        # `--input F.h5 --output F.h5 --force`: the input would be replaced by the output.
        path = self.path("own.h5")
        shutil.copy(PNG_H5, path)
        with h5py.File(path, "a") as f:
            f["keep"] = np.arange(5)
        before = e2e.sha256(path)
        for spec in (path, path + ":/images"):
            result = self.aepipe(["ingest", "--input", spec, "--output", path, "--force",
                                  "--tile", 4], ranks=2)
            self.assertFailed(result, 1, mentions=["also an input"])
            self.assertEqual(e2e.sha256(path), before, "input %s was overwritten" % spec)
            self.assertNoLeftovers(self.tmp)


if __name__ == "__main__":
    e2e.main()
