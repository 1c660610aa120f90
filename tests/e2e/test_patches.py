#!/usr/bin/python3
"""aepipe ingest --patches N --per-image M: random windows that depend only on --seed and the
image's index, never on the rank count or --batch, and equal the source pixels."""

import os
import re
import shutil
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aepipe_e2e as e2e  # noqa: E402

SIZE = 16
PER_IMAGE = 3
NAME = re.compile(r"^(?P<source>.+)@(?P<row>\d+),(?P<col>\d+)$")


def setUpModule():
    global SHARED, PHOTOS, TRUTH
    SHARED = tempfile.mkdtemp(prefix="aepipe-e2e-patches-")
    PHOTOS = os.path.join(SHARED, "photos")
    e2e.make_images(PHOTOS, "--classes", 3, "--per-class", 5, "--mixed", "16-64",
                    "--channels", 3, "--seed", 31, "--truth", os.path.join(SHARED, "truth"))
    TRUTH = e2e.truth_images(os.path.join(SHARED, "truth"))


def tearDownModule():
    shutil.rmtree(SHARED, True)


class Patches(e2e.E2ETestCase):
    def patches(self, seed, ranks, batch=None, output=None, extra=()):
        args = ["--input", PHOTOS, "--patches", SIZE, "--per-image", PER_IMAGE]
        if seed is not None:
            args += ["--seed", seed]
        if batch is not None:
            args += ["--batch", batch]
        return self.ingest(args + list(extra), ranks=ranks,
                           output=output or self.path("p-%s-%d-%s.h5" % (seed, ranks, batch)))

    def check_patches(self, data, truth=None, size=SIZE, per_image=PER_IMAGE, skipped=0):
        truth = TRUTH if truth is None else truth
        sources = sorted(truth)
        classes = sorted({n.split("/")[0] for n in sources})
        self.assertDataAttributes(data, size, size, 3, len(sources) * per_image, skipped=skipped)
        self.assertIsNone(data["tiles"], "patches have no /tiles")
        self.assertEqual(data["classes"], classes)
        positions = []
        for row, name in enumerate(data["names"]):
            m = NAME.match(name)
            self.assertIsNotNone(m, "name %r is not <source>@<row>,<col>" % name)
            source, top, left = m.group("source"), int(m.group("row")), int(m.group("col"))
            # Patches come per image, in image order.
            self.assertEqual(source, sources[row // per_image], "row %d" % row)
            image = truth[source]
            self.assertLessEqual(top + size, image.shape[0], name)
            self.assertLessEqual(left + size, image.shape[1], name)
            self.assertArrayEqual(data["images"][row], image[top:top + size, left:left + size],
                                  "patch " + name)
            self.assertEqual(int(data["labels"][row]), classes.index(source.split("/")[0]), name)
            positions.append((top, left))
        # Drawn positions, not a fixed corner.
        self.assertGreater(len(set(positions)), len(positions) // 2, "positions barely vary")
        return positions

    def test_same_seed_same_patches_at_1_and_3_ranks(self):
        one = self.patches(5, ranks=1)
        three = self.patches(5, ranks=3, batch=2)
        self.check_patches(one)
        self.check_patches(three)
        self.assertSameData(one, three)

    def test_batch_does_not_move_patches(self):
        a = self.patches(5, ranks=2, batch=1)
        b = self.patches(5, ranks=4, batch=4)
        self.check_patches(a)
        self.assertSameData(a, b)

    def test_other_seed_other_patches(self):
        five = self.patches(5, ranks=2)
        six = self.patches(6, ranks=2)
        self.check_patches(six)
        differ = sum(x != y for x, y in zip(five["names"], six["names"]))
        self.assertGreater(differ, len(five["names"]) // 2, "seed 6 draws mostly like seed 5")
        self.assertFalse(np.array_equal(five["images"], six["images"]))

    def test_default_seed_is_1(self):
        default = self.patches(None, ranks=2)
        one = self.patches(1, ranks=1)
        self.assertSameData(default, one)

    def test_patch_as_large_as_image(self):
        folder = self.path("one")
        e2e.make_images(folder, "--classes", 1, "--per-class", 2, "--size", "16x16",
                        "--channels", 3, "--truth", self.path("one.truth"))
        data = self.ingest(["--input", folder, "--patches", 16, "--per-image", 2], ranks=2)
        self.assertEqual(data["names"], ["class_0/000.png@0,0", "class_0/000.png@0,0",
                                         "class_0/001.png@0,0", "class_0/001.png@0,0"])

    def test_image_smaller_than_patch(self):
        folder = self.path("photos")
        shutil.copytree(PHOTOS, folder)
        small = self.path("small")
        e2e.make_images(small, "--classes", 1, "--per-class", 1, "--size", "20x10",
                        "--channels", 3, "--flat")
        shutil.copy(os.path.join(small, "c0_000.png"), os.path.join(folder, "class_1", "002x.png"))
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", folder, "--output", out, "--patches", SIZE,
                              "--per-image", PER_IMAGE, "--batch", "2"], ranks=3, timeout=60)
        self.assertFailed(result, 1, mentions=["class_1/002x.png"], output=out, max_seconds=30)
        data = self.ingest(["--input", folder, "--patches", SIZE, "--per-image", PER_IMAGE,
                            "--batch", "2", "--skip-bad", "--seed", 5], ranks=3, quiet=False)
        self.assertEqual(int(data["attrs"]["skipped_inputs"]), 1)
        self.assertEqual(len(data["result"].warning_lines()), 1)
        sources = {NAME.match(n).group("source") for n in data["names"]}
        self.assertEqual(sources, set(TRUTH))
        self.assertEqual(len(data["names"]), len(TRUTH) * PER_IMAGE)
        self.check_patches(data, skipped=1)
        # Positions depend on the image's index among all inputs: with a decodable image in
        # place of the skipped one, every other image keeps exactly the same patches.
        large = self.path("large")
        e2e.make_images(large, "--classes", 1, "--per-class", 1, "--size", "40x40",
                        "--channels", 3, "--flat")
        shutil.copy(os.path.join(large, "c0_000.png"), os.path.join(folder, "class_1", "002x.png"))
        full = self.ingest(["--input", folder, "--patches", SIZE, "--per-image", PER_IMAGE,
                            "--seed", 5], ranks=1, output=self.path("full.h5"))
        keep = [i for i, n in enumerate(full["names"]) if not n.startswith("class_1/002x.png@")]
        self.assertEqual(len(keep), len(data["names"]))
        self.assertEqual([full["names"][i] for i in keep], data["names"])
        self.assertArrayEqual(full["images"][keep], data["images"], "patches around a skip")

if __name__ == "__main__":
    e2e.main()
