#!/usr/bin/python3
"""aepipe ingest of image folders: class folders at several rank counts, every decoder,
--grayscale, --resize, mismatched sizes, and damaged image files (with and without
--skip-bad)."""

import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aepipe_e2e as e2e  # noqa: E402

CLASSES = ["class_0", "class_1", "class_2"]
PER_CLASS = 10
H, W = 20, 24
LUMA = np.array([0.299, 0.587, 0.114])


def setUpModule():
    global SHARED
    SHARED = tempfile.mkdtemp(prefix="aepipe-e2e-folders-")
    # Colour PNGs: the main set. Other formats: smaller sets.
    e2e.make_images(os.path.join(SHARED, "png"), "--classes", 3, "--per-class", PER_CLASS,
                    "--size", "%dx%d" % (H, W), "--channels", 3, "--seed", 11,
                    "--truth", os.path.join(SHARED, "png.truth"))
    for fmt, channels in (("png", 1), ("jpg", 3), ("jpg", 1), ("bmp", 3), ("tga", 3),
                          ("tga", 1), ("pgm", 3), ("pgm", 1)):
        name = "%s%d" % (fmt, channels)
        e2e.make_images(os.path.join(SHARED, name), "--classes", 2, "--per-class", 4,
                        "--size", "%dx%d" % (H, W), "--channels", channels, "--format", fmt,
                        "--seed", 5 + channels, "--truth", os.path.join(SHARED, name + ".truth"))
    e2e.make_images(os.path.join(SHARED, "odd"), "--classes", 1, "--per-class", 1,
                    "--size", "%dx%d" % (H, H), "--channels", 3, "--flat")


def tearDownModule():
    shutil.rmtree(SHARED, True)


def shared(*parts):
    return os.path.join(SHARED, *parts)


def write_grey_gif(path, pixels):
    """A GIF89a of a 2-D uint8 array with a grey palette (index i is (i, i, i)). LZW with a
    clear code every 200 pixels keeps every code at 9 bits."""
    h, w = pixels.shape
    codes = []
    flat = pixels.reshape(-1).tolist()
    for start in range(0, len(flat), 200):
        codes.append(256)  # clear
        codes.extend(flat[start:start + 200])
    codes.append(257)  # end of information
    bits = 0
    nbits = 0
    data = bytearray()
    for code in codes:
        bits |= code << nbits
        nbits += 9
        while nbits >= 8:
            data.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        data.append(bits & 0xFF)
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0))
    out += bytes(v for i in range(256) for v in (i, i, i))
    out += b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x08"
    for i in range(0, len(data), 255):
        block = data[i:i + 255]
        out += bytes([len(block)]) + block
    out += b"\x00\x3b"
    with open(path, "wb") as f:
        f.write(bytes(out))


def png_names():
    return ["%s/%03d.png" % (c, i) for c in CLASSES for i in range(PER_CLASS)]


class FolderTestCase(e2e.E2ETestCase):
    def copy_png_set(self):
        folder = self.path("png")
        shutil.copytree(shared("png"), folder)
        return folder

    def truth_stack(self, truth_dir, names):
        truth = e2e.truth_images(truth_dir)
        return np.stack([truth[n] for n in names])


class PngClassFolders(FolderTestCase):
    @classmethod
    def setUpClass(cls):
        cls.truth = e2e.truth_images(shared("png.truth"))

    def check_png_set(self, data, names=None, skipped=0):
        names = names or png_names()
        self.assertDataAttributes(data, H, W, 3, len(names), skipped=skipped)
        self.assertEqual(data["names"], names)
        self.assertEqual(data["classes"], CLASSES)
        self.assertArrayEqual(data["labels"],
                              np.array([CLASSES.index(n.split("/")[0]) for n in names], np.int32),
                              "/labels")
        self.assertArrayEqual(data["images"], np.stack([self.truth[n] for n in names]),
                              "/images (PNG is lossless)")

    def test_same_output_at_1_2_4_ranks(self):
        one = self.ingest(["--input", shared("png")], ranks=1, output=self.path("r1.h5"))
        self.check_png_set(one)
        self.assertEqual(one["attrs"]["source"], shared("png"))
        two = self.ingest(["--input", shared("png"), "--batch", "7"], ranks=2,
                          output=self.path("r2.h5"))
        four = self.ingest(["--input", shared("png"), "--batch", "3"], ranks=4,
                           output=self.path("r4.h5"))
        for data in (two, four):
            self.check_png_set(data)
            self.assertSameData(one, data)

    def test_hidden_and_other_files_are_ignored(self):
        folder = self.copy_png_set()
        with open(os.path.join(folder, "class_1", ".hidden.png"), "wb") as f:
            f.write(b"not an image")
        os.makedirs(os.path.join(folder, ".cache", "x"))
        shutil.copy(shared("odd", "c0_000.png"), os.path.join(folder, ".cache", "x", "a.png"))
        os.makedirs(os.path.join(folder, ".secret"))
        shutil.copy(shared("odd", "c0_000.png"), os.path.join(folder, ".secret", "b.png"))
        with open(os.path.join(folder, "class_0", "notes.txt"), "w") as f:
            f.write("ignored")
        with open(os.path.join(folder, "README"), "w") as f:
            f.write("ignored")
        data = self.ingest(["--input", folder, "--batch", "4"], ranks=2)
        self.check_png_set(data)

    def test_nested_files_take_first_level_class(self):
        folder = self.copy_png_set()
        os.makedirs(os.path.join(folder, "class_2", "deeper", "more"))
        shutil.move(os.path.join(folder, "class_2", "004.png"),
                    os.path.join(folder, "class_2", "deeper", "more", "x.png"))
        data = self.ingest(["--input", folder], ranks=2)
        names = sorted(png_names()[:24] + png_names()[25:] + ["class_2/deeper/more/x.png"])
        self.assertEqual(data["names"], names)
        self.assertEqual(data["classes"], CLASSES)
        i = names.index("class_2/deeper/more/x.png")
        self.assertEqual(int(data["labels"][i]), 2)
        self.assertArrayEqual(data["images"][i], self.truth["class_2/004.png"], "nested image")

    def test_uppercase_extension(self):
        folder = self.copy_png_set()
        os.rename(os.path.join(folder, "class_0", "003.png"),
                  os.path.join(folder, "class_0", "003.PNG"))
        data = self.ingest(["--input", folder], ranks=1)
        self.assertIn("class_0/003.PNG", data["names"])
        self.assertEqual(len(data["names"]), 30)

    def test_flat_folder_has_no_labels(self):
        folder = self.path("flat")
        e2e.make_images(folder, "--classes", 2, "--per-class", 3, "--size", "8x9",
                        "--channels", 3, "--flat", "--truth", self.path("flat.truth"))
        data = self.ingest(["--input", folder], ranks=2)
        names = sorted("c%d_%03d.png" % (k, i) for k in range(2) for i in range(3))
        self.assertDataAttributes(data, 8, 9, 3, 6)
        self.assertEqual(data["names"], names)
        self.assertIsNone(data["labels"], "no class folders: no /labels expected")
        self.assertIsNone(data["classes"])
        self.assertArrayEqual(data["images"], self.truth_stack(self.path("flat.truth"), names),
                              "/images")

    def test_root_files_beside_classes_are_unlabelled(self):
        folder = self.copy_png_set()
        shutil.copy(shared("png", "class_0", "000.png"), os.path.join(folder, "loose.png"))
        data = self.ingest(["--input", folder], ranks=2)
        self.assertEqual(data["names"][-1], "loose.png")
        self.assertEqual(int(data["labels"][-1]), -1)
        self.assertEqual(data["classes"], CLASSES)
        self.assertArrayEqual(data["labels"][:-1],
                              np.repeat(np.arange(3, dtype=np.int32), PER_CLASS), "/labels")
        result = self.aepipe(["inspect", self.path("out.h5"), "--json"], ranks=0)
        self.assertSucceeded(result)
        labels = json.loads(result.stdout)["labels"]
        self.assertEqual(labels["histogram"], {"-1": 1, "0": 10, "1": 10, "2": 10})
        self.assertEqual(labels["count"], 31)

    def test_two_roots_share_class_list(self):
        first = self.path("A")
        second = self.path("B")
        e2e.make_images(first, "--classes", 2, "--per-class", 2, "--size", "6x7",
                        "--channels", 3, "--seed", 1)
        e2e.make_images(second, "--classes", 4, "--per-class", 1, "--size", "6x7",
                        "--channels", 3, "--seed", 2)
        shutil.rmtree(os.path.join(second, "class_0"))
        data = self.ingest(["--input", first, second, "--batch", "2"], ranks=3)
        self.assertEqual(data["classes"], ["class_0", "class_1", "class_2", "class_3"])
        self.assertEqual(data["names"], ["A/class_0/000.png", "A/class_0/001.png",
                                         "A/class_1/000.png", "A/class_1/001.png",
                                         "B/class_1/000.png", "B/class_2/000.png",
                                         "B/class_3/000.png"])
        self.assertEqual(data["labels"].tolist(), [0, 0, 1, 1, 1, 2, 3])


    def test_utf8_names_and_classes(self):
        folder = self.path("utf8")
        e2e.make_images(folder, "--classes", 2, "--per-class", 2, "--size", "8x8",
                        "--channels", 3, "--truth", self.path("utf8.truth"))
        os.rename(os.path.join(folder, "class_0"), os.path.join(folder, "\u00e7lass"))
        os.rename(os.path.join(folder, "class_1", "000.png"),
                  os.path.join(folder, "class_1", "\u00f1ame \u00e9.png"))
        data = self.ingest(["--input", folder], ranks=2)
        # Sorted by bytes: "class_1" < "\u00e7lass" (0xC3 0xA7 in UTF-8).
        self.assertEqual(data["classes"], ["class_1", "\u00e7lass"])
        self.assertEqual(data["names"], ["class_1/001.png", "class_1/\u00f1ame \u00e9.png",
                                         "\u00e7lass/000.png", "\u00e7lass/001.png"])
        self.assertEqual(data["labels"].tolist(), [0, 0, 1, 1])
        truth = e2e.truth_images(self.path("utf8.truth"))
        self.assertArrayEqual(data["images"][1], truth["class_1/000.png"], "renamed file")
        self.assertArrayEqual(data["images"][2], truth["class_0/000.png"], "renamed class")

    def test_fewer_images_than_ranks(self):
        folder = self.path("two")
        e2e.make_images(folder, "--classes", 2, "--per-class", 1, "--size", "8x8",
                        "--channels", 3, "--truth", self.path("two.truth"))
        truth = self.truth_stack(self.path("two.truth"), ["class_0/000.png", "class_1/000.png"])
        for i, batch in enumerate(([], ["--batch", "1"], ["--batch", "5"])):
            out = self.path("two-%d.h5" % i)
            data = self.ingest(["--input", folder] + batch, ranks=4, output=out)
            self.assertDataAttributes(data, 8, 8, 3, 2)
            self.assertArrayEqual(data["images"], truth, "2 images on 4 ranks %s" % batch)
            self.assertEqual(data["labels"].tolist(), [0, 1])


class Decoders(FolderTestCase):
    def check_lossless(self, name, channels):
        data = self.ingest(["--input", shared(name), "--batch", "3"], ranks=2)
        self.assertDataAttributes(data, H, W, channels, 8)
        self.assertEqual(data["classes"], ["class_0", "class_1"])
        self.assertEqual(data["labels"].tolist(), [0] * 4 + [1] * 4)
        self.assertArrayEqual(data["images"], self.truth_stack(shared(name + ".truth"),
                                                               data["names"]), name)
        return data

    def test_grey_png(self):
        self.check_lossless("png1", 1)

    def test_bmp(self):
        data = self.check_lossless("bmp3", 3)
        self.assertTrue(all(n.endswith(".bmp") for n in data["names"]))

    def test_tga_colour_and_grey(self):
        self.check_lossless("tga3", 3)
        os.remove(self.path("out.h5"))
        self.check_lossless("tga1", 1)

    def test_ppm_and_pgm(self):
        data = self.check_lossless("pgm3", 3)
        self.assertTrue(all(n.endswith(".ppm") for n in data["names"]))
        os.remove(self.path("out.h5"))
        data = self.check_lossless("pgm1", 1)
        self.assertTrue(all(n.endswith(".pgm") for n in data["names"]))

    def test_gif(self):
        folder = self.path("gif")
        truth = {}
        rng = np.random.default_rng(5)
        for k in range(2):
            os.makedirs(os.path.join(folder, "c%d" % k))
            for i in range(3):
                pixels = rng.integers(0, 256, size=(H, W), dtype=np.uint8)
                truth["c%d/%d.gif" % (k, i)] = pixels
                write_grey_gif(os.path.join(folder, "c%d" % k, "%d.gif" % i), pixels)
        data = self.ingest(["--input", folder, "--batch", "2"], ranks=2)
        names = sorted(truth)
        self.assertEqual(data["names"], names)
        # GIF decodes as palette colour: 3 channels, here all equal to the grey value.
        self.assertDataAttributes(data, H, W, 3, 6)
        self.assertArrayEqual(data["images"],
                              np.stack([np.repeat(truth[n][..., None], 3, axis=2) for n in names]),
                              "GIF pixels")

    def test_gif_written_by_pillow_and_gifs_with_too_little_data(self):
        # Pillow writes real LZW (multi-pixel codes, a full table); aepipe must take every
        # such file and give Pillow's pixels. Its data cut short (the trailer kept), or a
        # 35-byte file declaring 16000 x 16000 pixels, used to decode into background.
        from PIL import Image
        folder = self.path("pillow")
        os.makedirs(os.path.join(folder, "a"))
        rng = np.random.default_rng(9)
        truth = {}
        for i, (h, w, levels) in enumerate([(28, 28, 256), (97, 131, 16), (300, 200, 256),
                                            (64, 64, 2)]):
            pixels = (rng.integers(0, levels, size=(h, w)) * (255 // (levels - 1))).astype(
                np.uint8)
            pixels[h // 3:, : w // 2] = pixels[0, 0]  # a flat area: long LZW codes
            name = "a/%d.gif" % i
            Image.fromarray(pixels, "L").save(os.path.join(folder, name))
            with Image.open(os.path.join(folder, name)) as image:
                truth[name] = np.asarray(image.convert("L").resize((28, 28), Image.NEAREST))
        data = self.ingest(["--input", folder, "--grayscale", "--resize", "28x28"], ranks=2)
        self.assertEqual(data["names"], sorted(truth))
        # Resized by aepipe's own filter: compare only the 28 x 28 one exactly.
        self.assertArrayEqual(data["images"][0][..., 0], truth["a/0.gif"], "GIF pixels")

        whole = open(os.path.join(folder, "a/2.gif"), "rb").read()
        cut = whole[:len(whole) // 2] + b"\x00\x3b"
        bomb = (b"GIF89a" + struct.pack("<HHBBB", 16000, 16000, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
                + b"," + struct.pack("<HHHHB", 0, 0, 16000, 16000, 0) + b"\x02\x02\x4c\x01\x00;")
        for name, content in (("cut.gif", cut), ("bomb.gif", bomb)):
            bad = self.path("bad-" + name[:-4])
            os.makedirs(os.path.join(bad, "a"))
            with open(os.path.join(bad, "a", name), "wb") as f:
                f.write(content)
            out = self.path("bad.h5")
            result = self.aepipe(["ingest", "--input", bad, "--output", out], ranks=2, timeout=60)
            self.assertFailed(result, 1, mentions=["a/" + name, "truncated"], output=out,
                              max_seconds=20)

    def test_other_extensions(self):
        folder = self.path("ext")
        os.makedirs(os.path.join(folder, "a"))
        sources = {"x.jpeg": ("jpg3", "class_0/000.jpg"), "y.jpe": ("jpg3", "class_0/001.jpg"),
                   "z.pnm": ("pgm3", "class_0/000.ppm"), "w.PPM": ("pgm3", "class_0/001.ppm")}
        for leaf, (name, relative) in sources.items():
            shutil.copy(shared(name, relative), os.path.join(folder, "a", leaf))
        data = self.ingest(["--input", folder], ranks=2)
        self.assertEqual(data["names"], sorted("a/" + leaf for leaf in sources))
        truth = e2e.truth_images(shared("pgm3.truth"))
        self.assertArrayEqual(data["images"][data["names"].index("a/z.pnm")],
                              truth["class_0/000.ppm"], "a/z.pnm")

    def test_jpeg(self):
        # stb writes every JPEG as 3-component YCbCr with 4:2:0 chroma: compare luma, which
        # quality 90 keeps to a few levels, and check each row is nearest its own source.
        for name in ("jpg3", "jpg1"):
            out = self.path(name + ".h5")
            data = self.ingest(["--input", shared(name), "--batch", "3"], ranks=3, output=out)
            self.assertDataAttributes(data, H, W, 3, 8)
            self.assertEqual(data["labels"].tolist(), [0] * 4 + [1] * 4)
            truth = self.truth_stack(shared(name + ".truth"), data["names"]).astype(float)
            truth_luma = truth @ LUMA if truth.shape[-1] == 3 else truth[..., 0]
            luma = data["images"].astype(float) @ LUMA
            for i in range(len(luma)):
                errors = np.abs(luma[i] - truth_luma).mean(axis=(1, 2))
                self.assertLess(errors[i], 6.0, "%s row %d: luma error" % (name, i))
                self.assertEqual(int(np.argmin(errors)), i, "%s row %d: nearest source" % (name, i))

    def test_jpegs_written_by_pillow_baseline_progressive_and_restarts(self):
        # Photos come as baseline and progressive JPEGs, Huffman tables optimised or not, with
        # restart markers: every such file must pass the structural checks (they follow which
        # Huffman tables each scan uses since a fuzzed file selected an undefined one) and
        # decode as Pillow (libjpeg) decodes it, up to the decoders' IDCT rounding.
        from PIL import Image
        rng = np.random.default_rng(11)
        variants = [("base", {}), ("optimised", {"optimize": True}),
                    ("progressive", {"progressive": True}),
                    ("progressive-optimised", {"progressive": True, "optimize": True}),
                    ("restarts", {"restart_marker_blocks": 2})]
        for mode, shape in (("L", (40, 56)), ("RGB", (40, 56, 3))):
            folder = self.path("pillow-" + mode)
            os.makedirs(os.path.join(folder, "a"))
            smooth = np.cumsum(rng.integers(-6, 7, size=shape), axis=1) + 128
            pixels = np.clip(smooth, 0, 255).astype(np.uint8)
            truth = {}
            for variant, options in variants:
                name = "a/%s.jpg" % variant
                Image.fromarray(pixels, mode).save(os.path.join(folder, name), quality=90,
                                                   subsampling=0, **options)
                with Image.open(os.path.join(folder, name)) as image:
                    truth[name] = np.asarray(image).reshape(shape[:2] + (-1,))
            data = self.ingest(["--input", folder], ranks=2, output=self.path(mode + ".h5"))
            self.assertEqual(data["names"], sorted(truth))
            for i, name in enumerate(data["names"]):
                difference = np.abs(data["images"][i].astype(int) - truth[name].astype(int))
                self.assertEqual(data["images"][i].shape, truth[name].shape, name)
                self.assertLess(difference.mean(), 1.0, "%s %s" % (mode, name))
                self.assertLessEqual(difference.max(), 8, "%s %s" % (mode, name))

class Conversions(FolderTestCase):
    def test_grayscale_on_colour(self):
        data = self.ingest(["--input", shared("png"), "--grayscale", "--batch", "5"], ranks=3)
        self.assertDataAttributes(data, H, W, 1, 30)
        truth = self.truth_stack(shared("png.truth"), png_names()).astype(float)
        expected = np.rint(truth @ LUMA)
        diff = np.abs(data["images"][..., 0].astype(float) - expected)
        self.assertLessEqual(diff.max(), 2.0, "grey = 0.299 R + 0.587 G + 0.114 B")
        self.assertArrayEqual(data["labels"], np.repeat(np.arange(3, dtype=np.int32), PER_CLASS))

    def test_grayscale_on_grey_is_identity(self):
        data = self.ingest(["--input", shared("png1"), "--grayscale"], ranks=2)
        self.assertArrayEqual(data["images"], self.truth_stack(shared("png1.truth"),
                                                               data["names"]), "grey")

    def test_resize_down(self):
        data = self.ingest(["--input", shared("png"), "--resize", "10x12", "--batch", "4"],
                           ranks=2)
        self.assertDataAttributes(data, 10, 12, 3, 30)
        truth = self.truth_stack(shared("png.truth"), png_names()).astype(float)
        box = truth.reshape(30, 10, 2, 12, 2, 3).mean(axis=(2, 4))
        got = data["images"].astype(float)
        for i in range(30):
            errors = np.abs(got[i] - box).mean(axis=(1, 2, 3))
            self.assertLess(errors[i], 12.0, "row %d far from a 2x2 box average" % i)
            self.assertEqual(int(np.argmin(errors)), i, "row %d: nearest source" % i)
            self.assertLess(abs(got[i].mean() - truth[i].mean()), 3.0, "row %d: brightness" % i)

    def test_resize_to_own_size_keeps_pixels(self):
        data = self.ingest(["--input", shared("png"), "--resize", "%dx%d" % (H, W)], ranks=2)
        self.assertArrayEqual(data["images"], self.truth_stack(shared("png.truth"), png_names()))

    def test_resize_accepts_mixed_sizes(self):
        folder = self.copy_png_set()
        shutil.copy(shared("odd", "c0_000.png"), os.path.join(folder, "class_1", "001x.png"))
        data = self.ingest(["--input", folder, "--resize", "16x16", "--grayscale"], ranks=2)
        self.assertDataAttributes(data, 16, 16, 1, 31)

    def test_mismatched_size_fails_naming_the_file(self):
        folder = self.copy_png_set()
        shutil.copy(shared("odd", "c0_000.png"), os.path.join(folder, "class_1", "001x.png"))
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out, "--batch", "3"],
                             ranks=4, timeout=60)
        message = self.assertFailed(result, 1, mentions=["class_1/001x.png"], output=out,
                                    max_seconds=30)
        self.assertIn("%dx%d" % (H, H), message)
        self.assertIn("%dx%d" % (H, W), message)

    def test_mismatched_size_skipped_with_skip_bad(self):
        folder = self.copy_png_set()
        shutil.copy(shared("odd", "c0_000.png"), os.path.join(folder, "class_1", "001x.png"))
        data = self.ingest(["--input", folder, "--skip-bad", "--batch", "3"], ranks=4,
                           quiet=False)
        self.check_rows(data, png_names(), skipped=1)
        warnings = data["result"].warning_lines()
        self.assertEqual(len(warnings), 1, data["result"].describe())
        self.assertIn("class_1/001x.png", warnings[0])

    def check_rows(self, data, names, skipped):
        truth = e2e.truth_images(shared("png.truth"))
        self.assertDataAttributes(data, H, W, 3, len(names), skipped=skipped)
        self.assertEqual(data["names"], names)
        self.assertArrayEqual(data["images"], np.stack([truth[n] for n in names]), "/images")
        self.assertEqual(data["labels"].tolist(), [CLASSES.index(n[:7]) for n in names])


# ---- damaged files -----------------------------------------------------------------------

def png_chunks(data):
    """[(type, offset of the chunk's length field, data length)]"""
    chunks, at = [], 8
    while at + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((kind.decode("latin-1"), at, length))
        at += 12 + length
    return chunks


def truncated(data):
    return data[:len(data) * 3 // 5]


def flipped_in_idat(data):
    kind, at, length = [c for c in png_chunks(data) if c[0] == "IDAT"][0]
    out = bytearray(data)
    out[at + 8 + length // 2] ^= 0x5A
    assert zlib.crc32(bytes(out[at + 4:at + 8 + length])) != struct.unpack(
        ">I", data[at + 8 + length:at + 12 + length])[0]
    return bytes(out)


def flipped_in_idat_crc_fixed(data):
    """A byte of the zlib stream changed and the chunk CRC recomputed (as when the data was
    damaged before the PNG writer computed the CRC): only the zlib stream's own Adler-32
    check (or the inflate itself) can notice."""
    kind, at, length = [c for c in png_chunks(data) if c[0] == "IDAT"][0]
    out = bytearray(data)
    out[at + 8 + length // 2] ^= 0x5A
    crc = zlib.crc32(bytes(out[at + 4:at + 8 + length]))
    out[at + 8 + length:at + 12 + length] = struct.pack(">I", crc)
    try:
        zlib.decompress(bytes(out[at + 8:at + 8 + length]))
        raise AssertionError("the damaged zlib stream still inflates")
    except zlib.error:
        pass
    return bytes(out)


def garbage(data):
    return np.random.default_rng(len(data)).integers(0, 256, size=700, dtype=np.uint8).tobytes()


def empty(data):
    return b""


def no_iend(data):
    kind, at, length = png_chunks(data)[-1]
    assert kind == "IEND"
    return data[:at]


def zero_width(data):
    """IHDR's width set to 0, its CRC recomputed: a well-formed file of no pixels."""
    out = bytearray(data)
    out[16:20] = b"\0\0\0\0"
    out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    return bytes(out)


DAMAGE = {"truncated": truncated, "zero_width": zero_width, "flipped_idat": flipped_in_idat,
          "flipped_idat_crc_fixed": flipped_in_idat_crc_fixed, "garbage": garbage,
          "zero_length": empty, "no_iend": no_iend}


class DamagedImages(FolderTestCase):
    RANKS = 4

    def damage(self, folder, relative, how):
        path = os.path.join(folder, relative)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(DAMAGE[how](data))

    def check_fails(self, how, relative="class_1/005.png"):
        folder = self.copy_png_set()
        self.damage(folder, relative, how)
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out, "--batch", "3"],
                             ranks=self.RANKS, timeout=60)
        self.assertFailed(result, 1, mentions=[relative], output=out, max_seconds=20)
        # The data and the damaged file are untouched.
        self.assertEqual(sorted(os.listdir(self.tmp)), ["png"])

    def check_skipped(self, how, relative="class_1/005.png"):
        folder = self.copy_png_set()
        self.damage(folder, relative, how)
        data = self.ingest(["--input", folder, "--skip-bad", "--batch", "3"], ranks=self.RANKS,
                           quiet=False, timeout=60)
        names = [n for n in png_names() if n != relative]
        Conversions.check_rows(self, data, names, skipped=1)
        self.assertEqual(data["classes"], CLASSES)
        warnings = data["result"].warning_lines()
        self.assertEqual(len(warnings), 1, data["result"].describe())
        self.assertIn(relative, warnings[0])

    def test_truncated_png_fails(self):
        self.check_fails("truncated")

    def test_flipped_idat_byte_fails(self):
        self.check_fails("flipped_idat")

    def test_flipped_idat_byte_with_valid_crc_fails(self):
        """Regression: a damaged zlib stream under a valid CRC is caught (Adler-32)."""
        # aepipe checks the chunk CRCs but not the zlib Adler-32, and stb_image does not
        # either, so this file decodes to wrong pixels with exit 0.
        self.check_fails("flipped_idat_crc_fixed")

    def test_zero_width_png_fails(self):
        self.check_fails("zero_width")

    def test_garbage_png_fails(self):
        self.check_fails("garbage")

    def test_zero_length_png_fails(self):
        self.check_fails("zero_length")

    def test_png_without_iend_fails(self):
        self.check_fails("no_iend")

    def test_damaged_first_file_fails(self):
        self.check_fails("truncated", "class_0/000.png")

    def test_damaged_last_file_fails(self):
        self.check_fails("flipped_idat", "class_2/009.png")

    def test_truncated_png_skipped(self):
        self.check_skipped("truncated")

    def test_flipped_idat_byte_skipped(self):
        self.check_skipped("flipped_idat")

    def test_garbage_png_skipped(self):
        self.check_skipped("garbage")

    def test_zero_length_png_skipped(self):
        self.check_skipped("zero_length")

    def test_damaged_first_file_skipped(self):
        # The shape then comes from the first image that decodes.
        self.check_skipped("garbage", "class_0/000.png")

    def test_all_damaged_fails_even_with_skip_bad(self):
        folder = self.path("bad")
        os.makedirs(os.path.join(folder, "a"))
        for i in range(3):
            with open(os.path.join(folder, "a", "%d.png" % i), "wb") as f:
                f.write(b"\x89PNG\r\n\x1a\n" + bytes(20 + i))
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out, "--skip-bad"],
                             ranks=2, timeout=60)
        self.assertFailed(result, 1, output=out, max_seconds=20)

    def test_truncated_jpeg(self):
        folder = self.path("jpg")
        shutil.copytree(shared("jpg3"), folder)
        relative = "class_1/002.jpg"
        path = os.path.join(folder, relative)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) * 2 // 3])
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out, "--batch", "1"],
                             ranks=self.RANKS, timeout=60)
        self.assertFailed(result, 1, mentions=[relative], output=out, max_seconds=20)
        data = self.ingest(["--input", folder, "--skip-bad", "--batch", "1"], ranks=self.RANKS)
        self.assertEqual(int(data["attrs"]["skipped_inputs"]), 1)
        self.assertEqual(data["names"], ["class_0/%03d.jpg" % i for i in range(4)] +
                         ["class_1/%03d.jpg" % i for i in (0, 1, 3)])

    def check_truncated_other_format(self, name, relative):
        # stb_image decodes a truncated BMP/TGA/PNM without complaint (missing rows read as
        # zeros, or leftover buffer contents for PNM); aepipe checks the size the header
        # promises first. Regression test for that bug.
        folder = self.path(name)
        shutil.copytree(shared(name), folder)
        path = os.path.join(folder, relative)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) * 2 // 3)
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out], ranks=2, timeout=60)
        self.assertFailed(result, 1, mentions=[relative], output=out, max_seconds=20)

    def test_truncated_bmp(self):
        """Regression: a truncated BMP is caught by its header size."""
        self.check_truncated_other_format("bmp3", "class_1/001.bmp")

    def test_truncated_tga(self):
        """Regression: a truncated TGA is caught by its header size or RLE walk."""
        self.check_truncated_other_format("tga3", "class_1/001.tga")

    def test_truncated_ppm(self):
        """Regression: a truncated PPM is caught by its header size."""
        self.check_truncated_other_format("pgm3", "class_1/001.ppm")

    def test_empty_folder_fails(self):
        folder = self.path("nothing")
        os.makedirs(os.path.join(folder, "class_0"))
        with open(os.path.join(folder, "class_0", "a.txt"), "w") as f:
            f.write("x")
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out], ranks=2)
        self.assertFailed(result, 1, mentions=[folder], output=out)


if __name__ == "__main__":
    e2e.main()
