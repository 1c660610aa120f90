#!/usr/bin/python3
"""aepipe ingest --tile N: mixed-size colour photos cut into tiles, reassembled exactly from
/tiles and /sources, edge tiles padded by repeating the last row/column."""

import os
import shutil
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aepipe_e2e as e2e  # noqa: E402

TILE = 16


def setUpModule():
    global SHARED, PHOTOS, TRUTH
    SHARED = tempfile.mkdtemp(prefix="aepipe-e2e-tiles-")
    PHOTOS = os.path.join(SHARED, "photos")
    truth_dir = os.path.join(SHARED, "truth")
    e2e.make_images(PHOTOS, "--classes", 3, "--per-class", 4, "--mixed", "9-70",
                    "--channels", 3, "--seed", 21, "--truth", truth_dir)
    # Two shapes random sizes may miss: exact multiples of the tile, and smaller than a tile.
    for name, size, target in (("exact", "32x48", "class_1/zz_exact.png"),
                               ("small", "7x12", "class_0/zz_small.png")):
        extra = os.path.join(SHARED, name)
        e2e.make_images(extra, "--classes", 1, "--per-class", 1, "--size", size, "--channels",
                        3, "--flat", "--seed", 5, "--truth", extra + ".truth")
        shutil.copy(os.path.join(extra, "c0_000.png"), os.path.join(PHOTOS, target))
        shutil.copy(os.path.join(extra + ".truth", "c0_000.png.raw"),
                    os.path.join(truth_dir, target + ".raw"))
    TRUTH = e2e.truth_images(truth_dir)
    shapes = [t.shape[:2] for t in TRUTH.values()]
    assert any(h % TILE and w % TILE for h, w in shapes), "no image needs padding"
    assert len({s for s in shapes}) > 5, "sizes are not mixed"


def tearDownModule():
    shutil.rmtree(SHARED, True)


def expected_tiles(image, size):
    """Row-major tiles of IMAGE, padded at the bottom/right by repeating the edge pixels."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % size), (0, -w % size), (0, 0)), mode="edge")
    origins, tiles = [], []
    for top in range(0, h, size):
        for left in range(0, w, size):
            origins.append((top, left))
            tiles.append(padded[top:top + size, left:left + size])
    return origins, tiles


class Tiles(e2e.E2ETestCase):
    def check_tiles(self, data, truth, size, channels=3):
        names = sorted(truth)
        classes = sorted({n.split("/")[0] for n in names})
        self.assertEqual(data["classes"], classes)
        self.assertEqual(data["sources"],
                         [(n, truth[n].shape[0], truth[n].shape[1]) for n in names], "/sources")
        rows_tiles, rows_names, rows_labels, rows_pixels = [], [], [], []
        for s, name in enumerate(names):
            origins, tiles = expected_tiles(truth[name], size)
            rows_tiles += [(s, top, left, 0) for top, left in origins]
            rows_names += ["%s@%d,%d" % (name, top, left) for top, left in origins]
            rows_labels += [classes.index(name.split("/")[0])] * len(origins)
            rows_pixels += tiles
        self.assertDataAttributes(data, size, size, channels, len(rows_tiles))
        self.assertEqual(data["datasets"]["tiles"]["dtype"], np.int64)
        self.assertArrayEqual(data["tiles"], np.array(rows_tiles, np.int64), "/tiles")
        self.assertEqual(data["names"], rows_names)
        self.assertArrayEqual(data["labels"], np.array(rows_labels, np.int32), "/labels")
        self.assertArrayEqual(data["images"], np.stack(rows_pixels), "/images (padded tiles)")

    def reassemble(self, data):
        """Each source image rebuilt from its tiles using only /tiles and /sources."""
        images = []
        size = data["images"].shape[1]
        for s, (name, h, w) in enumerate(data["sources"]):
            rows = np.nonzero(data["tiles"][:, 0] == s)[0]
            canvas = np.zeros((h + size, w + size, data["images"].shape[3]), np.uint8)
            covered = np.zeros((h + size, w + size), bool)
            for r in rows:
                _, top, left, zero = data["tiles"][r]
                self.assertEqual(zero, 0)
                canvas[top:top + size, left:left + size] = data["images"][r]
                covered[top:top + size, left:left + size] = True
            self.assertTrue(covered[:h, :w].all(), "%s: tiles leave a gap" % name)
            images.append((name, canvas[:h, :w]))
        return images

    def test_tiles_at_1_and_3_ranks(self):
        one = self.ingest(["--input", PHOTOS, "--tile", TILE], ranks=1, output=self.path("1.h5"))
        self.check_tiles(one, TRUTH, TILE)
        three = self.ingest(["--input", PHOTOS, "--tile", TILE, "--batch", "2"], ranks=3,
                            output=self.path("3.h5"))
        self.check_tiles(three, TRUTH, TILE)
        self.assertSameData(one, three)
        self.assertEqual(three["datasets"]["sources"]["dtype"].names, ("name", "height", "width"))
        rebuilt = self.reassemble(three)
        self.assertEqual(len(rebuilt), len(TRUTH))
        for name, image in rebuilt:
            self.assertArrayEqual(image, TRUTH[name], "reassembled " + name)

    def test_padding_repeats_edge_pixels(self):
        data = self.ingest(["--input", PHOTOS, "--tile", TILE], ranks=2)
        checked = 0
        for r, (s, top, left, _) in enumerate(data["tiles"]):
            name, h, w = data["sources"][s]
            tile = data["images"][r]
            inside_h, inside_w = min(TILE, h - top), min(TILE, w - left)
            if inside_h < TILE:
                # Every padded row repeats the last real row.
                for k in range(inside_h, TILE):
                    self.assertArrayEqual(tile[k], tile[inside_h - 1], "%s@%d,%d row %d"
                                          % (name, top, left, k))
                checked += 1
            if inside_w < TILE:
                for k in range(inside_w, TILE):
                    self.assertArrayEqual(tile[:, k], tile[:, inside_w - 1], "%s@%d,%d col %d"
                                          % (name, top, left, k))
                checked += 1
            self.assertArrayEqual(tile[:inside_h, :inside_w],
                                  TRUTH[name][top:top + inside_h, left:left + inside_w],
                                  "%s@%d,%d inside" % (name, top, left))
        self.assertGreater(checked, 10)

    def test_exact_and_small_images(self):
        data = self.ingest(["--input", PHOTOS, "--tile", TILE], ranks=2)
        sources = {name: s for s, (name, _, _) in enumerate(data["sources"])}
        exact = data["tiles"][data["tiles"][:, 0] == sources["class_1/zz_exact.png"]]
        self.assertEqual(len(exact), 2 * 3, "32x48 is 2x3 tiles, none padded")
        small = np.nonzero(data["tiles"][:, 0] == sources["class_0/zz_small.png"])[0]
        self.assertEqual(len(small), 1, "7x12 fits one padded tile")
        tile = data["images"][small[0]]
        truth = TRUTH["class_0/zz_small.png"]
        self.assertArrayEqual(tile[6:, 11:], np.broadcast_to(truth[6, 11], (10, 5, 3)),
                              "corner padding repeats the corner pixel")

    def test_tile_larger_than_every_image(self):
        data = self.ingest(["--input", PHOTOS, "--tile", 80, "--batch", "3"], ranks=3)
        self.check_tiles(data, TRUTH, 80)
        self.assertEqual(len(data["tiles"]), len(TRUTH))

    def test_grayscale_tiles(self):
        data = self.ingest(["--input", PHOTOS, "--tile", TILE, "--grayscale"], ranks=2)
        luma = {n: np.rint(t.astype(float) @ [0.299, 0.587, 0.114]) for n, t in TRUTH.items()}
        self.assertEqual(int(data["attrs"]["channels"]), 1)
        for name, image in self.reassemble(data):
            self.assertLessEqual(np.abs(image[..., 0] - luma[name]).max(), 2.0, name)

    def test_resize_then_tile(self):
        data = self.ingest(["--input", PHOTOS, "--tile", TILE, "--resize", "40x40"], ranks=2)
        self.assertEqual([s[1:] for s in data["sources"]], [(40, 40)] * len(TRUTH))
        self.assertEqual(len(data["tiles"]), 9 * len(TRUTH))
        self.assertEqual(data["tiles"][:9, 1:3].tolist(),
                         [[t, l] for t in (0, 16, 32) for l in (0, 16, 32)])

    def test_skip_bad_keeps_sources_and_tiles_consistent(self):
        # Three damaged files, two of them the whole batch of one rank in one round.
        folder = self.path("photos")
        shutil.copytree(PHOTOS, folder)
        bad = ["class_0/002.png", "class_0/003.png", "class_2/000.png"]
        for name in bad:
            with open(os.path.join(folder, name), "r+b") as f:
                f.truncate(100)
        data = self.ingest(["--input", folder, "--tile", TILE, "--skip-bad", "--batch", "2"],
                           ranks=3)
        truth = {n: t for n, t in TRUTH.items() if n not in bad}
        self.assertEqual(int(data["attrs"]["skipped_inputs"]), 3)
        data["attrs"]["skipped_inputs"] = 0  # check_tiles checks the rest
        self.check_tiles(data, truth, TILE)
        for name, image in self.reassemble(data):
            self.assertArrayEqual(image, truth[name], "reassembled " + name)

    def test_tiles_of_idx_images(self):
        rng = np.random.default_rng(8)
        images = rng.integers(0, 256, size=(5, 28, 20), dtype=np.uint8)
        e2e.write_idx(self.path("imgs"), images)
        e2e.write_idx(self.path("labs"), np.arange(5, dtype=np.uint8))
        data = self.ingest(["--input", self.path("imgs"), self.path("labs"), "--tile", 10,
                            "--batch", "1"], ranks=3)
        truth = {"imgs:%d" % i: images[i][..., None] for i in range(5)}
        self.assertEqual(data["sources"], [("imgs:%d" % i, 28, 20) for i in range(5)])
        self.assertEqual(data["labels"].tolist(), [i for i in range(5) for _ in range(6)])
        for name, image in self.reassemble(data):
            self.assertArrayEqual(image, truth[name], name)


if __name__ == "__main__":
    e2e.main()
