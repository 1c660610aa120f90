#!/usr/bin/env python3
"""End-to-end tests of `aepipe report`: a small Fashion-MNIST job (ingest, 2 epochs of a tiny
autoencoder, encode, flat index, query, evaluate) and a natural-patch sparse autoencoder, then
the report at 1 and 2 ranks. The page must parse, reference only files in its folder and no
http(s) URL; every PNG must decode, vary and have the tile grid's size; the training charts
must have one point per epoch; the filter grid of the patch model must show structure; damaged
or missing inputs must fail with one line and leave no folder; and a headless Chromium must
render the page with every image loaded (skipped only if Chromium cannot be installed or
started). The codec chart's PCA and JPEG points, which the report measures itself, are checked
against numpy's PCA, against `aepipe evaluate` of a PCA model's codes and against Pillow's
JPEG of the same mosaic."""

import html.parser
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
from PIL import Image

from aepipe_e2e import (REPO, T10K_IMAGES, T10K_LABELS, E2ETestCase, json_lines, main, read_idx,
                        run_aepipe, run_command, write_idx)

SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = [os.path.join(SKIMAGE_DATA, name)
          for name in ("camera.png", "astronaut.png", "coffee.png", "brick.png", "grass.png")]
TRAIN_ROWS, TEST_ROWS = 2000, 400
EPOCHS = 2
SAMPLES = 16
HIDDEN, CODE = 32, 16  # 784-32-16: 32 first-layer filters


def zoom_for(height, width):
    """report/tile_grid.hpp's zoom: tiles about 56 pixels tall, 1..8 times."""
    return min(max(56 // max(height, width), 1), 8)


def grid_size(rows, cols, height, width, gap=1, border=0):
    """(height, width) of a tile grid: report/tile_grid.hpp's layout."""
    zoom = zoom_for(height, width)
    cell_h, cell_w = height * zoom + 2 * border, width * zoom + 2 * border
    return rows * cell_h + (rows + 1) * gap, cols * cell_w + (cols + 1) * gap


def square_grid(count, max_cols=40):
    cols = min(max(int(np.ceil(np.sqrt(count))), 1), max_cols)
    return (count + cols - 1) // cols, cols


class PageParser(html.parser.HTMLParser):
    """Collects what a page references and its SVG polylines."""

    def __init__(self):
        super().__init__()
        self.references = []  # (tag, attribute, value)
        self.images = []  # attribute dicts of <img>
        self.charts = {}  # data-chart -> [(series, point count)]
        self.sections = []
        self.chart = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "data", "poster", "srcset", "action"):
            if attrs.get(name) is not None:
                self.references.append((tag, name, attrs[name]))
        if tag == "img":
            self.images.append(attrs)
        elif tag == "svg":
            self.chart = attrs.get("data-chart")
            self.charts.setdefault(self.chart, [])
        elif tag == "polyline" and self.chart is not None:
            points = attrs.get("points", "").split()
            self.charts[self.chart].append((attrs.get("data-series"), len(points)))
        elif tag == "section":
            self.sections.append(attrs.get("id"))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "svg":
            self.chart = None


def ok(result):
    if result.returncode != 0:
        raise RuntimeError(result.describe())
    return result


class ReportTests(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="aepipe-e2e-report-")
        def s(*parts):
            return os.path.join(cls.shared, *parts)
        cls.s = staticmethod(s)
        images, labels = read_idx(T10K_IMAGES), read_idx(T10K_LABELS)
        end = TRAIN_ROWS + TEST_ROWS
        write_idx(s("train-images.idx"), images[:TRAIN_ROWS])
        write_idx(s("train-labels.idx"), labels[:TRAIN_ROWS])
        write_idx(s("test-images.idx"), images[TRAIN_ROWS:end])
        write_idx(s("test-labels.idx"), labels[TRAIN_ROWS:end])
        cls.metrics = s("metrics.jsonl")
        cls.job = s("job.ini")
        with open(cls.job, "w") as f:
            f.write("# the job <of this test> & its options\n[train]\narch = 784-%d-%d\n"
                    % (HIDDEN, CODE))
        m = ["--metrics", cls.metrics, "-q"]
        ok(run_aepipe(["ingest", "--input", s("train-images.idx"), s("train-labels.idx"),
                       "--output", s("train.h5")] + m, ranks=2))
        ok(run_aepipe(["ingest", "--input", s("test-images.idx"), s("test-labels.idx"),
                       "--output", s("test.h5")] + m, ranks=2))
        ok(run_aepipe(["train", "--input", s("train.h5"), "--output", s("model.h5"), "--arch",
                       "784-%d-%d" % (HIDDEN, CODE), "--epochs", EPOCHS, "--batch", 64,
                       "--threads", 1] + m, ranks=2, timeout=240))
        for data, codes in (("train.h5", "codes.h5"), ("test.h5", "test-codes.h5")):
            ok(run_aepipe(["encode", "--input", s(data), "--model", s("model.h5"), "--output",
                           s(codes), "--bits", 8] + m, ranks=2))
        ok(run_aepipe(["evaluate", "--codes", s("test-codes.h5")] + m, ranks=2))
        # PCA as a model, its test codes at 8 bits and float32, evaluated: the report's own
        # PCA points must match these (the same fit, quantiser and stored bytes).
        p = ["-q", "--metrics", s("pca-metrics.jsonl")]
        ok(run_aepipe(["train", "--input", s("train.h5"), "--output", s("pca.h5"), "--arch",
                       "pca:%d" % CODE, "--validation", 0] + p, ranks=2))
        for bits in (8, 0):
            codes = s("pca-codes-%d.h5" % bits)
            ok(run_aepipe(["encode", "--input", s("test.h5"), "--model", s("pca.h5"), "--output",
                           codes, "--bits", bits] + p, ranks=2))
            ok(run_aepipe(["evaluate", "--codes", codes] + p, ranks=2))
        ok(run_aepipe(["index", "--input", s("codes.h5"), "--output", s("index.h5"),
                       "--type", "flat"] + m, ranks=2))
        ok(run_aepipe(["query", "--index", s("index.h5"), "--input", s("test.h5"), "--model",
                       s("model.h5"), "--output", s("neighbours.h5"), "--k", 10] + m, ranks=2))
        # A rate-distortion table as bench/rate_distortion.sh prints it.
        with open(s("rd.txt"), "w") as f:
            f.write("%-44s %10s %9s %7s\n" % ("codec", "bits/pixel", "PSNR dB", "SSIM"))
            for name, bpp, psnr, ssim in (("PCA 16-d 8-bit", 0.21, 17.9, "0.6100"),
                                          ("JPEG q10", 0.85, 24.0, ""),
                                          ("PCA 32-d 8-bit", 0.38, 19.8, "0.7000"),
                                          ("JPEG q50", 1.90, 29.5, "")):
                f.write("%-44s %10.4f %9.3f %7s\n" % (name, bpp, psnr, ssim))
            f.write("%-44s %10.4f %9s %7s\n\nJPEG q10: 0.8500 bpp at 24.000 dB\n"
                    % ("PNG (lossless)", 3.1, "lossless", ""))
        # Natural-image patches and a UFLDL-style sparse autoencoder on them.
        ok(run_aepipe(["ingest", "-q", "--input"] + PHOTOS + [
            "--grayscale", "--patches", 8, "--per-image", 2000, "--output", s("patches.h5")],
            ranks=2))
        # One rank: tiny steps run faster without the allreduce; 50 epochs of Adam at 0.05
        # are enough for smooth, oriented filters (configs/natural-patches-sparse.ini trains
        # 200 epochs for cleaner ones).
        ok(run_aepipe(["train", "-q", "--input", s("patches.h5"), "--output", s("sparse.h5"),
                       "--arch", "64-25", "--activation", "sigmoid", "--code-activation",
                       "sigmoid", "--output-activation", "sigmoid", "--loss", "mse",
                       "--sparsity", "kl", "--rho", "0.01", "--beta", "3", "--weight-decay",
                       "1e-4", "--normalise", "patch", "--lr", "0.05", "--batch", 128,
                       "--epochs", 50, "--threads", 1], ranks=1, timeout=240))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, True)

    def full_args(self, output):
        s = self.s
        return ["report", "--output", output, "--model", s("model.h5"), "--input", s("test.h5"),
                "--codes", s("test-codes.h5"), "--neighbours", s("neighbours.h5"), "--job",
                self.job, "--metrics-input", self.metrics, "--rate-distortion", s("rd.txt"),
                "--samples", SAMPLES]

    # ---- checks of a written report ----
    def check_page(self, folder):
        """Parses DIR/index.html and checks every reference; returns the parser and text."""
        index = os.path.join(folder, "index.html")
        self.assertTrue(os.path.isfile(index), "no %s" % index)
        with open(index, encoding="utf-8") as f:
            text = f.read()
        parser = PageParser()
        parser.feed(text)
        parser.close()
        self.assertIsNone(re.search(r"https?:", text, re.IGNORECASE), "a URL in the page")
        self.assertNotIn("//", "".join(v for _, _, v in parser.references if not
                                       v.startswith("#")))
        files = set(os.listdir(folder))
        for tag, name, value in parser.references:
            if tag == "a" and value.startswith("#"):
                self.assertIn(value[1:], parser.sections, "dangling anchor %s" % value)
                continue
            self.assertIn(value, files, "%s %s=%r is not a file of %s" % (tag, name, value,
                                                                         folder))
        referenced = {v for t, n, v in parser.references if t == "img"}
        self.assertEqual(referenced, {f for f in files if f.endswith(".png")},
                         "PNGs and <img> tags differ")
        for image in parser.images:
            with Image.open(os.path.join(folder, image["src"])) as png:
                self.assertEqual(png.size, (int(image["width"]), int(image["height"])))
        return parser, text

    def png(self, folder, name):
        with Image.open(os.path.join(folder, name)) as image:
            image.load()
            pixels = np.asarray(image)
        self.assertGreater(pixels.std(), 1.0, "%s is (nearly) constant" % name)
        return pixels

    def check_full_report(self, folder):
        parser, text = self.check_page(folder)
        self.assertEqual(parser.sections,
                         ["filters", "reconstructions", "training", "codec", "retrieval", "run"])
        self.assertEqual(sorted(os.listdir(folder)),
                         ["filters.png", "index.html", "reconstructions.png", "retrieval.png"])
        pngs = {}
        rows, cols = square_grid(HIDDEN)
        pngs["filters"] = self.png(folder, "filters.png")
        self.assertEqual(pngs["filters"].shape, grid_size(rows, cols, 28, 28))
        pngs["reconstructions"] = self.png(folder, "reconstructions.png")
        self.assertEqual(pngs["reconstructions"].shape, grid_size(3, SAMPLES, 28, 28))
        pngs["retrieval"] = self.png(folder, "retrieval.png")
        self.assertEqual(pngs["retrieval"].shape,
                         grid_size(8, 11, 28, 28, gap=4, border=2) + (3,))
        # The originals' row holds the evenly spaced test rows, exactly.
        zoom = zoom_for(28, 28)
        with __import__("h5py").File(self.s("test.h5"), "r") as f:
            test = f["images"][:, :, :, 0]
        top = pngs["reconstructions"][1:1 + 28 * zoom]
        for i in range(SAMPLES):
            left = 1 + i * (28 * zoom + 1)
            tile = top[:, left:left + 28 * zoom][::zoom, ::zoom]
            self.assertArrayEqual(tile, test[i * TEST_ROWS // SAMPLES], "sample %d" % i)
        # Training charts: one point per epoch in every series.
        self.assertEqual(parser.charts["loss"], [("training", EPOCHS), ("validation", EPOCHS)])
        self.assertEqual(parser.charts["learning-rate"], [("learning rate", EPOCHS)])
        self.assertEqual(parser.charts["samples-per-s"], [("samples/s", EPOCHS)])
        self.assertIn("codec", parser.charts)
        for series in ("this model", "PCA %d-d" % CODE, "JPEG (stb, mosaic)", "PCA (table)",
                       "JPEG (table)"):
            self.assertIn('data-markers="%s' % series, text)
        self.assertNotIn("PNG (lossless)", text)
        self.assertRegex(text, r"<td>recall</td><td>[01]\.\d{4}</td>")
        self.assertRegex(text, r"<td>precision</td><td>[01]\.\d{4}</td>")
        # The run: the job file verbatim (escaped), machine, stage times from the metrics.
        self.assertIn("# the job &lt;of this test&gt; &amp; its options\n[train]", text)
        for stage in ("ingest", "train", "encode", "index", "query", "evaluate"):
            self.assertIn("<td>%s</td>" % stage, text)
        self.assertIn("<td>CPU</td>", text)
        return pngs

    # ---- tests ----
    def test_full_report_at_1_and_2_ranks(self):
        pngs = []
        for ranks in (1, 2):
            folder = self.path("report%d" % ranks)
            metrics = self.path("report%d.jsonl" % ranks)
            result = self.aepipe(self.full_args(folder) + ["--metrics", metrics], ranks=ranks,
                                 timeout=180)
            self.assertSucceeded(result)
            self.assertNoLeftovers(self.tmp)
            self.assertRegex(result.stderr, r"(?m)^report: wrote %s/index\.html \(3 images, 4 "
                             r"charts\) in \d+\.\d s$" % re.escape(folder))
            pngs.append(self.check_full_report(folder))
            event = json_lines(metrics)[-1]
            self.assertEqual((event["stage"], event["event"], event["images"], event["charts"],
                              event["ranks"]), ("report", "done", 3, 4, ranks))
        for name in pngs[0]:
            self.assertArrayEqual(pngs[1][name], pngs[0][name], "%s at 2 ranks" % name)

    def codec_rows(self, text):
        """The codec table's rows: {codec: (series, bits/pixel, PSNR dB, images)}."""
        section = text[text.index('<section id="codec">'):]
        section = section[:section.index("</section>")]
        rows = {}
        for cells in re.findall(r"<tr>((?:<td>[^<]*</td>)+)</tr>", section):
            series, codec, bpp, psnr, _ssim, images = re.findall(r"<td>([^<]*)</td>", cells)
            rows[codec] = (series, float(bpp), float(psnr), images)
        return rows

    def numpy_pca_psnr(self):
        """PSNR of the test images through PCA with CODE components fitted on the training
        images (pixels / 255, all rows), decoded to 8 bits as aepipe decodes."""
        import h5py
        with h5py.File(self.s("train.h5"), "r") as f:
            train = f["images"][:].reshape(TRAIN_ROWS, -1).astype(np.float64) / 255
        with h5py.File(self.s("test.h5"), "r") as f:
            test = f["images"][:].reshape(TEST_ROWS, -1)
        mean = train.mean(axis=0)
        centred = train - mean
        _, vectors = np.linalg.eigh(centred.T @ centred)
        basis = vectors[:, ::-1][:, :CODE]
        x = test.astype(np.float64) / 255
        decoded = np.floor(np.clip((x - mean) @ basis @ basis.T + mean, 0, 1) * 255 + 0.5)
        mse = ((decoded - test) ** 2).mean()
        return 10 * math.log10(255 ** 2 / mse)

    def pillow_jpeg(self, quality):
        """(bits per pixel, PSNR) of libjpeg-turbo (Pillow) on bench/jpeg_mosaic.py's mosaic."""
        import h5py
        with h5py.File(self.s("test.h5"), "r") as f:
            images = f["images"][:, :, :, 0]
        n, h, w = images.shape
        columns = math.ceil(math.sqrt(n))
        rows = math.ceil(n / columns)
        canvas = np.zeros((rows * h, columns * w), np.uint8)
        for i in range(n):
            canvas[i // columns * h:(i // columns + 1) * h,
                   i % columns * w:(i % columns + 1) * w] = images[i]
        buffer = io.BytesIO()
        Image.fromarray(canvas).save(buffer, "JPEG", quality=quality)
        decoded = np.array(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.float64)
        tiles = np.stack([decoded[i // columns * h:(i // columns + 1) * h,
                                  i % columns * w:(i % columns + 1) * w] for i in range(n)])
        mse = ((tiles - images) ** 2).mean()
        return 8 * len(buffer.getvalue()) / (n * h * w), 10 * math.log10(255 ** 2 / mse)

    def test_codec_chart_measures_pca_and_jpeg(self):
        folder = self.path("codec")
        self.assertSucceeded(self.aepipe(["report", "-q", "--output", folder, "--codes",
                                          self.s("test-codes.h5")], ranks=2))
        parser, text = self.check_page(folder)
        self.assertEqual(os.listdir(folder), ["index.html"])
        pca, jpeg = "PCA %d-d" % CODE, "JPEG (stb, mosaic)"
        charted = dict(parser.charts["codec"])
        self.assertEqual(charted[pca], 4)  # 4, 6, 8 bits (the codes' depth) and float32
        self.assertEqual(charted[jpeg], 5)
        rows = self.codec_rows(text)
        names = ["%s %d-bit" % (pca, b) for b in (4, 6, 8)] + ["%s float32" % pca]
        for name in names:
            self.assertEqual(rows[name][0], pca)
            self.assertEqual(rows[name][3], str(TEST_ROWS))
        # PCA's rate grows with the bit depth, and its PSNR (up to quantisation noise).
        rates = [rows[name][1] for name in names]
        psnrs = [rows[name][2] for name in names]
        self.assertEqual(rates, sorted(rates))
        self.assertEqual(len(set(rates)), 4)
        self.assertLess(psnrs[0], psnrs[1])
        self.assertLess(psnrs[1], psnrs[2] + 0.01)
        self.assertLess(psnrs[2], psnrs[3] + 0.01)
        self.assertAlmostEqual(psnrs[3], self.numpy_pca_psnr(), delta=0.05)
        # The same points as `aepipe evaluate --codes` of a PCA model's codes: the same
        # quantiser and the same stored bytes.
        evaluated = {e["bits"]: e for e in json_lines(self.s("pca-metrics.jsonl"))
                     if e["stage"] == "evaluate"}
        for bits, name in ((8, names[2]), (0, names[3])):
            self.assertAlmostEqual(rows[name][1], evaluated[bits]["bits_per_pixel"], places=4,
                                   msg=name)
            self.assertAlmostEqual(rows[name][2], evaluated[bits]["psnr"], delta=0.01, msg=name)
        # JPEG: falling quality, falling rate and PSNR; near libjpeg-turbo's figures for the
        # same mosaic (stb's encoder differs a little: on all 10,000 Fashion-MNIST test images
        # the PSNR agrees within 0.01 dB at q10-q75 and stb's files are 2-5% larger).
        qualities = [10, 20, 30, 50, 75]
        points = [rows["JPEG q%d" % q] for q in qualities]
        for point in points:
            self.assertEqual((point[0], point[3]), (jpeg, str(TEST_ROWS)))
        self.assertEqual([p[1] for p in points], sorted(p[1] for p in points))
        self.assertEqual(len({p[1] for p in points}), len(points))
        self.assertEqual([p[2] for p in points], sorted(p[2] for p in points))
        for quality, point in zip((10, 50), (points[0], points[3])):
            bpp, psnr = self.pillow_jpeg(quality)
            self.assertLess(abs(point[1] / bpp - 1), 0.12, "q%d: %s vs %.4f" % (quality, point,
                                                                                 bpp))
            self.assertLess(abs(point[2] - psnr), 0.2, "q%d: %s vs %.3f" % (quality, point, psnr))
        self.assertIn("stb_image_write", text)
        self.assertIn("all %d images of %s" % (TEST_ROWS, self.s("test.h5")), text)

    def test_sections_without_inputs_are_notes(self):
        folder = self.path("empty")
        result = self.aepipe(["report", "--output", folder], ranks=1)
        self.assertSucceeded(result)
        parser, text = self.check_page(folder)
        self.assertEqual(os.listdir(folder), ["index.html"])
        self.assertEqual(parser.charts, {})
        for note in ("No model given (--model).", "No codec figures",
                     "No neighbours file given (--neighbours).", "No metrics file given"):
            self.assertIn(note, text)
        # The metrics file alone gives codec points and stage times.
        folder = self.path("metrics-only")
        self.assertSucceeded(self.aepipe(["report", "-q", "--output", folder, "--metrics-input",
                                          self.metrics], ranks=2))
        parser, text = self.check_page(folder)
        self.assertEqual(list(parser.charts), ["codec"])
        self.assertIn('data-markers="this job (metrics)"', text)

    def test_natural_patch_filters_show_structure(self):
        folder = self.path("patches")
        self.assertSucceeded(self.aepipe(["report", "-q", "--output", folder, "--model",
                                          self.s("sparse.h5"), "--input", self.s("patches.h5")],
                                         ranks=2))
        self.check_page(folder)
        grid = self.png(folder, "filters.png")
        zoom = zoom_for(8, 8)
        rows, cols = square_grid(25)
        self.assertEqual(grid.shape, grid_size(rows, cols, 8, 8))
        tiles = np.array([grid[1 + r * (8 * zoom + 1):, 1 + c * (8 * zoom + 1):][:8 * zoom:zoom,
                                                                              :8 * zoom:zoom]
                          for r in range(rows) for c in range(cols)], dtype=np.float64)
        self.assertEqual(tiles.shape, (25, 8, 8))
        flat = tiles.reshape(25, -1)
        self.assertTrue(np.all(flat.std(axis=1) > 10), "a flat filter tile")
        self.assertGreater(len({t.tobytes() for t in tiles}), 20, "tiles repeat")
        # Filters differ in pattern, not just in scale: most pairs are far from collinear.
        centred = flat - flat.mean(axis=1, keepdims=True)
        centred /= np.linalg.norm(centred, axis=1, keepdims=True)
        correlation = np.abs(centred @ centred.T)[np.triu_indices(25, 1)]
        self.assertLess(np.median(correlation), 0.6)
        # Smooth structure, not pixel noise: neighbouring pixels agree (about 0 for the
        # random filters before training, 0.5-0.7 after).
        horizontal = np.corrcoef(tiles[:, :, :-1].ravel(), tiles[:, :, 1:].ravel())[0, 1]
        vertical = np.corrcoef(tiles[:, :-1, :].ravel(), tiles[:, 1:, :].ravel())[0, 1]
        self.assertGreater(min(horizontal, vertical), 0.4)
        # Oriented: the gradients of several filters share one direction (structure-tensor
        # coherence; below 0.3 for every random filter, 1 for a straight edge).
        coherence = []
        for tile in tiles:
            gy, gx = np.gradient(tile)
            xx, yy, xy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
            coherence.append(np.sqrt((xx - yy) ** 2 + 4 * xy ** 2) / (xx + yy))
        self.assertGreaterEqual(sum(c > 0.35 for c in coherence), 5, np.round(coherence, 2))

    def test_existing_output_needs_force_and_only_replaces_a_report(self):
        folder = self.path("r")
        self.assertSucceeded(self.aepipe(["report", "-q", "--output", folder], ranks=1))
        first = os.path.getmtime(os.path.join(folder, "index.html"))
        result = self.aepipe(["report", "-q", "--output", folder], ranks=2)
        self.assertFailed(result, mentions=[folder, "already exists", "--force"])
        self.assertSucceeded(self.aepipe(["report", "-q", "--force", "--output", folder + "/",
                                          "--model", self.s("model.h5")], ranks=2))
        self.assertEqual(sorted(os.listdir(folder)), ["filters.png", "index.html"])
        self.assertGreaterEqual(os.path.getmtime(os.path.join(folder, "index.html")), first)
        self.assertNoLeftovers(self.tmp)
        other = self.path("photos")
        os.mkdir(other)
        with open(os.path.join(other, "keep.txt"), "w") as f:
            f.write("mine")
        result = self.aepipe(["report", "-q", "--force", "--output", other], ranks=2)
        self.assertFailed(result, mentions=[other, "not replacing"])
        self.assertEqual(os.listdir(other), ["keep.txt"])
        result = self.aepipe(["report", "-q", "--force", "--output", self.shared, "--model",
                              self.s("model.h5")], ranks=1)
        self.assertFailed(result, mentions=["inside the output folder"])

    def test_damaged_or_missing_inputs_fail_with_one_line_and_leave_no_folder(self):
        s = self.s
        truncated = self.path("truncated.h5")
        with open(s("model.h5"), "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[:len(data) // 2])
        bad_metrics = self.path("bad.jsonl")
        shutil.copy(self.metrics, bad_metrics)
        with open(bad_metrics, "a") as f:
            f.write('{"stage":"train","seconds":\n')
        with open(bad_metrics) as f:
            lines = sum(1 for _ in f)
        garbage = self.path("rd.txt")
        with open(garbage, "w") as f:
            f.write("codec bits/pixel PSNR dB SSIM\nJPEG q10 fast\n")
        cases = [
            (["--model", self.path("absent.h5")], [self.path("absent.h5")]),
            (["--model", truncated], [truncated]),
            (["--model", s("model.h5"), "--input", s("patches.h5")], [s("patches.h5")]),
            (["--metrics-input", bad_metrics], [bad_metrics, "line %d" % lines]),
            (["--rate-distortion", garbage], [garbage, "line 2"]),
            (["--rate-distortion", self.path("absent.txt")], [self.path("absent.txt")]),
            (["--job", self.path("absent.ini")], [self.path("absent.ini")]),
            (["--codes", s("model.h5")], [s("model.h5")]),
            (["--neighbours", s("codes.h5")], [s("codes.h5")]),
            (["--model", s("model.h5"), "--input", s("test.h5"), "--baseline-data",
              s("patches.h5")], [s("patches.h5"), "8x8x1"]),
            (["--model", s("model.h5"), "--input", s("test.h5"), "--baseline-data",
              self.path("absent-train.h5")], [self.path("absent-train.h5")]),
        ]
        for number, (args, mentions) in enumerate(cases):
            folder = self.path("failed%d" % number)
            for ranks in (1, 2):
                result = self.aepipe(["report", "--output", folder] + args, ranks=ranks)
                self.assertFailed(result, code=1, mentions=mentions, output=folder)
        u = self.path("u")
        usage = [(["report"], "--output"),
                 (["report", "--output", u, "--samples", 0], "--samples"),
                 (["report", "--output", u, "--samples", 65], "--samples"),
                 (["report", "--output", u, "--input", s("test.h5")], "--model"),
                 (["report", "--output", u, "--metrics-in", self.metrics], "metrics-in")]
        for args, mention in usage:
            self.assertFailed(self.aepipe(args, ranks=2), code=2, mentions=[mention], output=u)

    def test_report_stage_of_a_job(self):
        folder = self.path("job-report")
        job, metrics = self.path("job.ini"), self.path("metrics.jsonl")
        shutil.copy(self.metrics, metrics)
        with open(job, "w") as f:
            f.write("metrics = %s\n[job]\nstages = report\n[report]\noutput = %s\nmodel = %s\n"
                    "samples = 4\ninput = %s\n" % (metrics, folder, self.s("model.h5"),
                                                   self.s("test.h5")))
        self.assertSucceeded(self.aepipe(["run", "--config", job, "-q"], ranks=2))
        parser, text = self.check_page(folder)
        # Defaults from the job: its config file and its metrics file.
        self.assertIn("[report]\noutput = %s" % folder, text)
        self.assertIn("<td>train</td>", text)
        self.assertEqual(self.png(folder, "reconstructions.png").shape, grid_size(3, 4, 28, 28))
        stages = [event["stage"] for event in json_lines(metrics)]
        self.assertEqual(stages[-3:], ["report", "run", "run"])

    def test_chromium_renders_every_image(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            self.skipTest("chromium is not installed (scripts/setup.sh installs Debian's)")
        # The default job's report, the job shortened (one epoch of a small network).
        job = self.path("default-job")
        os.makedirs(job)
        result = self.aepipe(["run", "-q", "--config", os.path.join(REPO, "configs",
                                                                    "fashion-mnist.ini"),
                              "--set", "train.epochs=1", "--set", "train.arch=784-64-30"],
                             ranks=2, cwd=job, timeout=300)
        self.assertSucceeded(result)
        self.assertRegex(result.stdout, r"\n  report +ran ")
        folder = os.path.join(job, "out", "fashion-mnist", "report")
        url = "file://" + os.path.abspath(os.path.join(folder, "index.html"))
        profile = tempfile.mkdtemp(prefix="aepipe-chromium-", dir=self.tmp)
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run",
                "--user-data-dir=" + profile, "--virtual-time-budget=5000"]
        shot = self.path("shot.png")
        result = run_command(base + ["--screenshot=" + shot, "--window-size=1280,4000", url],
                             timeout=120)
        if not os.path.isfile(shot):
            self.skipTest("chromium could not start: %s" % result.describe()[-600:])
        with Image.open(shot) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.float64)
        self.assertEqual(pixels.shape, (4000, 1280))
        self.assertGreater(pixels.std(), 10, "blank screenshot")
        self.assertGreater((pixels < 128).mean(), 0.01, "hardly anything drawn")
        result = run_command(base + ["--dump-dom", url], timeout=120)
        self.assertEqual(result.returncode, 0, result.describe())
        dom = result.stdout
        self.assertIn('data-loaded="true"', dom, "the page's load handler did not run")
        images = re.findall(r"<img [^>]*>", dom)
        self.assertEqual(len(images), 3)
        for tag in images:
            natural = re.search(r'data-natural="(\d+)x(\d+)"', tag)
            self.assertIsNotNone(natural, tag)
            width, height = int(natural.group(1)), int(natural.group(2))
            self.assertGreater(width * height, 0, "image not loaded: %s" % tag)
            self.assertIn('width="%d"' % width, tag)
            self.assertIn('height="%d"' % height, tag)
        self.assertEqual(len(re.findall(r"<svg ", dom)), 4)


if __name__ == "__main__":
    main()
