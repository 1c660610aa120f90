#!/usr/bin/env python3
"""End-to-end tests of the codec: `aepipe encode`, `aepipe decode`, `aepipe evaluate --codes`.

Codes and decoded images must not depend on the rank count; float codes must equal a numpy
forward pass of the model file; PSNR and SSIM are recomputed with numpy and scikit-image; tiled
colour photos of mixed sizes come back at their original sizes; damaged codes files fail with
one clear line on every rank count."""

import os
import shutil
import tempfile
import unittest

import h5py
import numpy as np

from aepipe_e2e import (AEPIPE, REPO, T10K_IMAGES, T10K_LABELS, E2ETestCase, json_lines, main,
                        make_images, read_data_file, run_aepipe, run_command, truth_images)
from test_train import numpy_forward, parameters


def ssim_reference(a, b):
    from skimage.metrics import structural_similarity
    channel_axis = 2 if a.ndim == 3 and a.shape[2] > 1 else None
    if channel_axis is None:
        a, b = a.reshape(a.shape[:2]), b.reshape(b.shape[:2])
    return structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=255,
                                 gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 channel_axis=channel_axis)


def datasets(path):
    with h5py.File(path, "r") as f:
        found = {}
        f.visititems(lambda name, obj: found.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        return found, dict(f.attrs)


class CodecTests(E2ETestCase):
    """Fixtures shared by the class: the Fashion-MNIST test images, a small dense model and a
    top-k model trained on them (one epoch: the codec, not the model, is under test)."""

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="aepipe-e2e-codec-")
        cls.data = os.path.join(cls.shared, "t10k.h5")
        cls.small = os.path.join(cls.shared, "small.h5")
        cls.model = os.path.join(cls.shared, "model.h5")
        cls.topk = os.path.join(cls.shared, "topk.h5")

        def ok(result):
            if result.returncode != 0:
                raise RuntimeError(result.describe())

        ok(run_aepipe(["ingest", "-q", "--input", T10K_IMAGES, T10K_LABELS, "--output",
                       cls.data], ranks=2))
        with h5py.File(cls.data, "r") as f:
            images, labels = f["images"][:], f["labels"][:]
        ok(run_aepipe(["train", "-q", "--input", cls.data, "--output", cls.model, "--arch",
                       "784-64-16", "--loss", "mse", "--epochs", "1", "--batch", "100",
                       "--threads", "1"], ranks=2))
        ok(run_aepipe(["train", "-q", "--input", cls.data, "--output", cls.topk, "--arch",
                       "784-48", "--sparsity", "topk", "--k", "6", "--epochs", "1", "--batch",
                       "100", "--threads", "1"], ranks=2))
        # The same images in small chunks, so encode deals many chunks to the ranks.
        ok(run_aepipe(["ingest", "-q", "--input", cls.data, "--output", cls.small,
                       "--chunk-kb", "100"], ranks=1))
        with h5py.File(cls.small, "r") as f:
            cls.small_rows = f["images"].shape[0]
        cls.pixels, cls.labels = images, labels

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, True)

    def encode(self, output, extra=(), ranks=1, model=None, data=None):
        result = self.aepipe(["encode", "-q", "--input", data or self.small, "--model",
                              model or self.model, "--output", output] + list(extra), ranks=ranks)
        self.assertSucceeded(result)
        self.assertNoLeftovers(os.path.dirname(output))
        return datasets(output)

    def decode(self, codes, output, extra=(), ranks=1):
        result = self.aepipe(["decode", "-q", "--input", codes, "--output", output] + list(extra),
                             ranks=ranks)
        self.assertSucceeded(result)
        return read_data_file(output)

    def test_codes_and_decoded_images_do_not_depend_on_the_rank_count(self):
        for bits in ("0", "8", "4"):
            one, attrs = self.encode(self.path("c1.h5"), ["--bits", bits], ranks=1)
            three, _ = self.encode(self.path("c3.h5"), ["--bits", bits], ranks=3)
            self.assertEqual(sorted(one), sorted(three))
            for key in one:
                self.assertArrayEqual(three[key], one[key], "bits %s /%s" % (bits, key))
            self.assertEqual(attrs["aepipe_format"], "codes")
            self.assertEqual(int(attrs["bits"]), int(bits))
            # The small file's 77 chunks are written in groups of whole chunks (at least 16
            # groups), one chunk of codes per group: no rank rewrites another's chunk.
            with h5py.File(self.path("c3.h5"), "r") as f, h5py.File(self.small, "r") as d:
                code_rows, data_rows = f["codes"].chunks[0], d["images"].chunks[0]
            self.assertEqual(code_rows % data_rows, 0, "bits %s" % bits)
            self.assertGreaterEqual(code_rows // data_rows, 2, "bits %s" % bits)
            self.assertGreaterEqual(-(-self.small_rows // code_rows), 16, "bits %s" % bits)
            a = self.decode(self.path("c1.h5"), self.path("d1.h5"), ranks=1)
            b = self.decode(self.path("c3.h5"), self.path("d2.h5"), ranks=2)
            self.assertSameData(a, b, keys=("images", "labels", "names"), what="bits " + bits)
            for name in ("c1.h5", "c3.h5", "d1.h5", "d2.h5"):
                os.remove(self.path(name))

    def test_metrics_time_the_forward_pass_over_every_encoded_row(self):
        # forward_images_per_s * forward_seconds counts the rows run through the encoder:
        # every row once, plus the quantiser's samples when it samples with a stride.
        stride = -(-self.small_rows // 1000)
        sampled = -(-self.small_rows // stride)
        for extra, encoded in (([], self.small_rows), (["--bits", "8"], self.small_rows),
                               (["--bits", "8", "--sample-rows", "1000"],
                                self.small_rows + sampled)):
            metrics = self.path("m.jsonl")
            self.encode(self.path("c.h5"), extra + ["--metrics", metrics, "--force"], ranks=2)
            event = json_lines(metrics)[-1]
            self.assertEqual(event["stage"], "encode")
            self.assertGreater(event["forward_seconds"], 0, extra)
            self.assertLessEqual(event["forward_seconds"], event["seconds"], extra)
            self.assertAlmostEqual(event["forward_images_per_s"] * event["forward_seconds"],
                                   encoded, delta=1e-6 * encoded, msg=extra)
            os.remove(metrics)

    def test_float_codes_equal_numpy_and_levels_follow_scale_and_offset(self):
        codes, attrs = self.encode(self.path("f.h5"))
        _, expected = numpy_forward(self.model, self.pixels[:self.small_rows])
        self.assertEqual(codes["codes"].dtype, np.float32)
        np.testing.assert_allclose(codes["codes"], expected, rtol=1e-4, atol=1e-4)
        self.assertArrayEqual(codes["labels"], self.labels[:self.small_rows], "labels")
        self.assertEqual(len(codes["names"]), self.small_rows)
        self.assertEqual(int(attrs["code_size"]), 16)
        self.assertEqual(attrs["model"], self.model)

        for bits, dtype in ((6, np.uint8), (12, np.uint16)):
            quantised, _ = self.encode(self.path("q%d.h5" % bits), ["--bits", bits])
            levels = quantised["codes"]
            self.assertEqual(levels.dtype, dtype)
            self.assertLessEqual(int(levels.max()), 2 ** bits - 1)
            scale, offset = quantised["scale"], quantised["offset"]
            values = offset + scale * levels
            # Inside its range a value is off by at most half a step; clipped values are
            # rare (the range drops at most 3% at each end, only where that helps).
            inside = (expected >= offset - 1e-6) & (expected <= offset + scale * (2 ** bits - 1))
            self.assertGreater(inside.mean(), 0.9)
            err = np.abs(values - expected)[inside]
            self.assertTrue(np.all(err <= np.broadcast_to(scale / 2 + 1e-4, expected.shape)[inside]))

    def test_psnr_ssim_and_bytes_match_an_independent_computation(self):
        codes_path = self.path("c.h5")
        self.encode(codes_path, ["--bits", "6"], ranks=2)
        decoded = self.decode(codes_path, self.path("d.h5"), ranks=2)["images"]
        metrics = self.path("m.jsonl")
        result = self.aepipe(["evaluate", "--codes", codes_path, "--metrics", metrics], ranks=3)
        self.assertSucceeded(result)
        event = json_lines(metrics)[-1]
        original = self.pixels[:self.small_rows].astype(np.float64)
        mse = np.mean((decoded.astype(np.float64) - original) ** 2)
        self.assertAlmostEqual(event["psnr"], 10 * np.log10(255 ** 2 / mse), places=6)
        per_image = np.mean((decoded.astype(np.float64) - original) ** 2, axis=(1, 2, 3))
        self.assertAlmostEqual(event["psnr_mean_image"],
                               np.mean(10 * np.log10(255 ** 2 / per_image)), places=6)
        ssim = np.mean([ssim_reference(original[i], decoded[i]) for i in range(len(decoded))])
        self.assertAlmostEqual(event["ssim"], ssim, places=6)
        with h5py.File(codes_path, "r") as f:
            stored = f["codes"].id.get_storage_size()
        self.assertAlmostEqual(event["bytes_per_image"], stored / self.small_rows, places=6)
        self.assertAlmostEqual(event["bits_per_pixel"], 8 * stored / (self.small_rows * 784),
                               places=9)
        self.assertGreater(event["bits_per_pixel_with_model"], event["bits_per_pixel"])
        self.assertIn("PSNR", result.stdout)

    def test_top_k_codes_are_stored_sparsely_and_decode_like_dense_ones(self):
        sparse, attrs = self.encode(self.path("s.h5"), model=self.topk)
        dense, _ = self.encode(self.path("d.h5"), ["--dense"], model=self.topk)
        self.assertEqual(attrs["storage"], "sparse")
        self.assertEqual(int(attrs["kept"]), 6)
        indices, values = sparse["indices"], sparse["values"]
        self.assertEqual(indices.shape, (self.small_rows, 6))
        self.assertTrue(np.all(np.diff(indices.astype(np.int64), axis=1) > 0), "indices ascend")
        rebuilt = np.zeros_like(dense["codes"])
        np.put_along_axis(rebuilt, indices.astype(np.int64), values, axis=1)
        self.assertArrayEqual(rebuilt, dense["codes"], "sparse codes scattered")
        self.assertTrue(np.all(np.count_nonzero(dense["codes"], axis=1) <= 6))
        a = self.decode(self.path("s.h5"), self.path("ds.h5"), ranks=2)
        b = self.decode(self.path("d.h5"), self.path("dd.h5"), ranks=1)
        self.assertArrayEqual(a["images"], b["images"], "decoded sparse vs dense")
        # Quantised sparse values: rank-independent too.
        q1, _ = self.encode(self.path("q1.h5"), ["--bits", "5"], model=self.topk, ranks=1)
        q4, _ = self.encode(self.path("q4.h5"), ["--bits", "5"], model=self.topk, ranks=4)
        for key in q1:
            self.assertArrayEqual(q4[key], q1[key], "sparse 5-bit /" + key)

    def test_training_with_code_noise_does_not_depend_on_the_rank_count(self):
        models = []
        for ranks in (1, 3):
            model = self.path("noisy%d.h5" % ranks)
            self.assertSucceeded(self.aepipe(
                ["train", "-q", "--input", self.small, "--output", model, "--arch", "784-32",
                 "--code-activation", "sigmoid", "--code-noise", "0.0667", "--loss", "mse",
                 "--epochs", "1", "--batch", "200", "--micro-batch", "50", "--threads", "1"],
                ranks=ranks))
            models.append(parameters(model))
        clean = self.path("clean.h5")
        self.assertSucceeded(self.aepipe(
            ["train", "-q", "--input", self.small, "--output", clean, "--arch", "784-32",
             "--code-activation", "sigmoid", "--loss", "mse", "--epochs", "1", "--batch", "200",
             "--micro-batch", "50", "--threads", "1"], ranks=1))
        for name in models[0]:
            self.assertArrayEqual(models[1][name], models[0][name], "code noise, 3 ranks /" + name)
        # The noise is really there: the same run without it ends elsewhere.
        self.assertFalse(np.array_equal(parameters(clean)["decoder/0/W"],
                                        models[0]["decoder/0/W"]))

    def test_png_output_has_one_file_per_image(self):
        codes_path = self.path("c.h5")
        self.encode(codes_path, ["--bits", "8"])
        pngs = self.path("png")
        data = self.decode(codes_path, self.path("d.h5"), ["--png", pngs], ranks=3)
        files = sorted(os.listdir(pngs))
        self.assertEqual(len(files), self.small_rows)
        from PIL import Image
        for i in (0, self.small_rows // 2, self.small_rows - 1):
            image = np.array(Image.open(os.path.join(pngs, files[i])))
            self.assertArrayEqual(image, data["images"][i, :, :, 0], files[i])

    def test_tiled_colour_photos_come_back_at_their_original_sizes(self):
        photos, truth = self.path("photos"), self.path("truth")
        make_images(photos, "--classes", "1", "--per-class", "5", "--mixed", "20-70",
                    "--channels", "3", "--truth", truth, "--flat")
        tiles = self.path("tiles.h5")
        self.assertSucceeded(self.aepipe(["ingest", "-q", "--input", photos, "--tile", "8",
                                          "--output", tiles], ranks=2))
        model = self.path("m.h5")
        self.assertSucceeded(self.aepipe(["train", "-q", "--input", tiles, "--output", model,
                                          "--arch", "192-32", "--loss", "mse", "--epochs", "3",
                                          "--batch", "32", "--threads", "1"], ranks=1))
        codes = self.path("codes.h5")
        self.encode(codes, ["--bits", "6"], model=model, data=tiles, ranks=2)
        codes3 = self.path("codes3.h5")
        self.encode(codes3, ["--bits", "6"], model=model, data=tiles, ranks=3)
        one, _ = datasets(codes)
        for key, value in datasets(codes3)[0].items():
            self.assertArrayEqual(value, one[key], "tiled codes /" + key)
        out = self.path("out")
        data = self.decode(codes, self.path("decoded.h5"), ["--png", out], ranks=3)
        # Tiles, sources and tile names as the ingested file has them (codes files of tiled
        # archives carry no /names: decode spells them out again).
        self.assertSameData(data, read_data_file(tiles), keys=("tiles", "sources", "names"))
        with h5py.File(codes, "r") as f:
            self.assertNotIn("names", f)
        metrics = self.path("m.jsonl")
        result = self.aepipe(["evaluate", "--codes", codes, "--metrics", metrics], ranks=2)
        self.assertSucceeded(result)
        from PIL import Image
        originals = truth_images(truth)
        stem = lambda name: os.path.splitext(os.path.basename(name))[0]
        self.assertEqual(sorted(os.listdir(out)), sorted(stem(n) + ".png" for n in originals))
        total, values, psnrs = 0.0, 0, []
        for name, pixels in originals.items():
            decoded = np.array(Image.open(os.path.join(out, stem(name) + ".png")))
            self.assertEqual(decoded.shape, pixels.shape, name)
            err = np.sum((decoded.astype(np.float64) - pixels) ** 2)
            total, values = total + err, values + pixels.size
            psnr = 10 * np.log10(255 ** 2 / (err / pixels.size))
            psnrs.append(psnr)
            # Every image has its own line: name, size, PSNR.
            line = [l for l in result.stdout.splitlines() if l.startswith(name + " ")]
            self.assertEqual(len(line), 1, result.stdout)
            self.assertIn("%dx%d" % pixels.shape[:2], line[0])
            self.assertAlmostEqual(float(line[0].split()[2]), psnr, places=2)
        event = json_lines(metrics)[-1]
        self.assertAlmostEqual(event["psnr"], 10 * np.log10(255 ** 2 / (total / values)), places=6)
        self.assertAlmostEqual(event["psnr_mean_image"], np.mean(psnrs), places=6)
        self.assertEqual(event["images"], len(originals))

    def test_compress_and_decompress_scripts_rebuild_every_photo(self):
        photos, truth = self.path("photos"), self.path("truth")
        make_images(photos, "--classes", "1", "--per-class", "3", "--mixed", "17-60",
                    "--channels", "3", "--truth", truth, "--flat", "--seed", "5")
        config = self.path("quick.ini")
        with open(os.path.join(REPO, "configs", "photo-archive.ini")) as f:
            text = f.read().replace("epochs = 30", "epochs = 2")
        with open(config, "w") as f:
            f.write(text)
        archive, out = self.path("archive"), self.path("out")
        env = {"AEPIPE": AEPIPE}
        result = run_command(["bash", os.path.join(REPO, "scripts", "compress-photos.sh"), photos,
                              archive, "--ranks", "2", "--config", config], timeout=300, env=env)
        self.assertSucceeded(result)
        self.assertEqual(sorted(os.listdir(archive)),
                         ["codes.h5", "compression.jsonl", "model.h5"])
        self.assertIn("bits per pixel", result.stdout)
        result = run_command(["bash", os.path.join(REPO, "scripts", "decompress-photos.sh"),
                              archive, out, "--ranks", "3"], timeout=120, env=env)
        self.assertSucceeded(result)
        from PIL import Image
        for name, pixels in truth_images(truth).items():
            stem = os.path.splitext(os.path.basename(name))[0]
            decoded = np.array(Image.open(os.path.join(out, stem + ".png")))
            self.assertEqual(decoded.shape, pixels.shape, name)

    def test_damaged_codes_files_fail_with_one_clear_line(self):
        good = self.path("good.h5")
        self.encode(good, ["--bits", "4"])
        float_codes = self.path("float.h5")
        self.encode(float_codes)
        sparse = self.path("sparse.h5")
        self.encode(sparse, model=self.topk)

        def damaged(source, name, change):
            path = self.path(name)
            shutil.copy(source, path)
            with h5py.File(path, "r+") as f:
                change(f)
            return path

        def set_level(f):
            levels = f["codes"][:]
            levels[7, 3] = 200
            f["codes"][...] = levels

        def set_nan(f):
            codes = f["codes"][:]
            codes[11, 0] = np.nan
            f["codes"][...] = codes

        def set_index(f):
            indices = f["indices"][:]
            indices[5, -1] = 60000
            f["indices"][...] = indices

        truncated = self.path("truncated.h5")
        with open(good, "rb") as f:
            content = f.read()
        with open(truncated, "wb") as f:
            f.write(content[:len(content) // 2])
        cases = [
            (damaged(good, "level.h5", set_level), ["level 200", "row 7", "/codes"]),
            (damaged(float_codes, "nan.h5", set_nan), ["row 11", "not a finite number"]),
            (damaged(sparse, "index.h5", set_index), ["/indices", "row 5", "60000"]),
            (damaged(good, "noscale.h5", lambda f: f.__delitem__("scale")), ["scale"]),
            (damaged(good, "version.h5", lambda f: f.attrs.__setitem__("aepipe_version", 99)),
             ["version 99"]),
            (damaged(good, "shape.h5", lambda f: f.attrs.__setitem__("code_size", 17)),
             ["/codes", "shape"]),
            (self.data, ["'data'", "'codes'"]),
            (truncated, ["truncated.h5"]),
        ]
        runs, expected = [], []
        for i, (path, mentions) in enumerate(cases):
            for ranks in (1, 4):
                output = self.path("out%d-%d.h5" % (i, ranks))
                runs.append((["decode", "--input", path, "--output", output], ranks))
                expected.append((mentions, output))
        for result, (mentions, output) in zip(self.aepipe_many(runs, timeout=60), expected):
            self.assertFailed(result, 1, mentions, output=output, max_seconds=30)
        # A model that does not fit the codes, and a missing file.
        other = self.path("other.h5")
        self.assertSucceeded(self.aepipe(["train", "-q", "--input", self.small, "--output", other,
                                          "--arch", "pca:8"]))
        result = self.aepipe(["decode", "--input", good, "--model", other, "--output",
                              self.path("o.h5")], ranks=2)
        self.assertFailed(result, 1, [other, "8", "16"], output=self.path("o.h5"))
        result = self.aepipe(["evaluate", "--codes", self.path("missing.h5")], ranks=2)
        self.assertFailed(result, 1, ["missing.h5"])

    def test_usage_errors_exit_2(self):
        cases = [
            (["encode", "--input", self.small, "--model", self.model, "--output",
              self.path("c.h5"), "--bits", "17"], "--bits"),
            (["encode", "--input", self.small, "--output", self.path("c.h5")], "--model"),
            (["decode", "--input", self.path("c.h5")], "--output"),
        ]
        for args, mention in cases:
            self.assertFailed(self.aepipe(args, ranks=2), 2, [mention])


if __name__ == "__main__":
    main()
