#!/usr/bin/python3
"""The aepipe command line: help/version, usage errors (exit 2), --config files, output
safety (--force, missing folders, output = input), --quiet, and `aepipe inspect`."""

import json
import os
import re
import shutil
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aepipe_e2e as e2e  # noqa: E402

ROWS = 23


def setUpModule():
    global SHARED, IMAGES, LABELS, IMAGES2, LABELS2, PIXELS, LABEL_VALUES, FOLDER
    SHARED = tempfile.mkdtemp(prefix="aepipe-e2e-cli-")
    rng = np.random.default_rng(77)
    PIXELS = rng.integers(0, 256, size=(ROWS, 12, 10), dtype=np.uint8)
    LABEL_VALUES = rng.integers(0, 5, size=ROWS, dtype=np.uint8)
    IMAGES = e2e.write_idx(os.path.join(SHARED, "a-images.gz"), PIXELS, compress=True)
    LABELS = e2e.write_idx(os.path.join(SHARED, "a-labels.gz"), LABEL_VALUES, compress=True)
    IMAGES2 = e2e.write_idx(os.path.join(SHARED, "b-images"), PIXELS[:5] // 2)
    LABELS2 = e2e.write_idx(os.path.join(SHARED, "b-labels"), LABEL_VALUES[:5])
    FOLDER = e2e.make_images(os.path.join(SHARED, "png"), "--classes", 3, "--per-class", 4,
                             "--size", "8x8", "--channels", 3)


def tearDownModule():
    shutil.rmtree(SHARED, True)


INGEST_OPTIONS = ["--input", "--output", "--grayscale", "--resize", "--tile", "--patches",
                  "--per-image", "--skip-bad", "--batch", "--buffer-mb", "--deflate",
                  "--chunk-kb", "--force", "--seed", "--quiet", "--metrics", "--config"]


class HelpAndVersion(e2e.E2ETestCase):
    def test_tool_help(self):
        flags = ("--help", "-h", "help")
        for flag, result in zip(flags, self.aepipe_many([([flag], 0) for flag in flags])):
            self.assertSucceeded(result)
            self.assertIn("usage", result.stdout)
            self.assertIn("ingest", result.stdout)
            self.assertIn("inspect", result.stdout)

    def test_help_under_mpirun_prints_once(self):
        result = self.aepipe(["--help"], ranks=2)
        self.assertSucceeded(result)
        self.assertEqual(result.stdout.count("commands:"), 1, result.describe())

    def test_ingest_help_lists_every_option(self):
        result = self.aepipe(["ingest", "--help"], ranks=0)
        self.assertSucceeded(result)
        for option in INGEST_OPTIONS:
            self.assertRegex(result.stdout, re.escape(option) + r"\b", option)

    def test_inspect_help(self):
        result = self.aepipe(["inspect", "--help"], ranks=0)
        self.assertSucceeded(result)
        self.assertIn("--json", result.stdout)

    def test_version(self):
        result = self.aepipe(["--version"], ranks=0)
        self.assertSucceeded(result)
        self.assertRegex(result.stdout.strip(), r"^aepipe \d+\.\d+\.\d+")
        data = self.ingest(["--input", IMAGES2], ranks=0)
        self.assertEqual(data["attrs"]["created_by"], result.stdout.strip())

    def test_no_arguments_is_a_usage_error(self):
        result = self.aepipe([], ranks=0)
        self.assertEqual(result.returncode, 2, result.describe())
        self.assertIn("usage", result.stdout + result.stderr)


class UsageErrors(e2e.E2ETestCase):
    def usage_errors(self, cases):
        """CASES: [(args, mentions, ranks)]; each must exit 2 with one error line mentioning
        every string of MENTIONS, and write nothing. Run at once."""
        out = self.path("out.h5")
        results = self.aepipe_many([(args, ranks) for args, _, ranks in cases])
        for (args, mentions, ranks), result in zip(cases, results):
            with self.subTest(args=" ".join(map(str, args)), ranks=ranks):
                self.assertFailed(result, 2, mentions=mentions, output=out)

    def ingest_case(self, extra, mentions, ranks=0):
        return (["ingest", "--input", IMAGES, LABELS, "--output", self.path("out.h5")] + extra,
                mentions, ranks)

    def test_unknown_command(self):
        self.usage_errors([(["frobnicate", "--input", IMAGES], ["frobnicate"], 0),
                           (["frobnicate"], ["frobnicate"], 2)])

    def test_unknown_option(self):
        self.usage_errors([self.ingest_case(["--bogus"], ["--bogus"]),
                           self.ingest_case(["--bogus", "3"], ["--bogus"], ranks=2),
                           # Abbreviations are not guessed.
                           self.ingest_case(["--til", "4"], ["--til"])])

    def test_bad_values(self):
        self.usage_errors([self.ingest_case(["--tile", "abc"], ["--tile", "abc"]),
                           self.ingest_case(["--tile", "-4"], ["--tile"]),
                           self.ingest_case(["--deflate", "12"], ["--deflate"]),
                           self.ingest_case(["--resize", "10"], ["--resize", "10"]),
                           self.ingest_case(["--resize", "0x5"], ["--resize"]),
                           self.ingest_case(["--batch", "-1"], ["--batch"]),
                           self.ingest_case(["--buffer-mb", "0"], ["--buffer-mb"]),
                           self.ingest_case(["--chunk-kb", "0"], ["--chunk-kb"]),
                           self.ingest_case(["--seed", "x"], ["--seed"], ranks=2)])

    def test_inconsistent_options(self):
        self.usage_errors([
            self.ingest_case(["--tile", "4", "--patches", "4", "--per-image", "1"],
                             ["--tile", "--patches"]),
            self.ingest_case(["--patches", "4"], ["--per-image"]),
            self.ingest_case(["--per-image", "4"], ["--patches"]),
            self.ingest_case(["--input", FOLDER], [FOLDER], ranks=2)])  # mixed input kinds

    def test_missing_input_or_output(self):
        self.usage_errors([(["ingest", "--output", self.path("out.h5")], ["--input"], 0),
                           (["ingest", "--input", IMAGES], ["--output"], 0),
                           (["ingest", "--input", IMAGES, "--output"], ["--output"], 2)])


class Config(e2e.E2ETestCase):
    def config(self, text, name="job.ini"):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_config_inputs_and_options(self):
        out = self.path("from-config.h5")
        config = self.config("[ingest]\ninput = %s\ninput = %s\noutput = %s\ntile = 4\n"
                             "deflate = 0\nquiet = true\n" % (IMAGES, LABELS, out))
        result = self.aepipe(["ingest", "--config", config], ranks=2)
        self.assertSucceeded(result)
        self.assertEqual(result.stderr, "", "quiet = true in the config")
        data = e2e.read_data_file(out)
        self.assertEqual(data["images"].shape, (ROWS * 9, 4, 4, 1), "tile = 4 from the config")
        self.assertIsNone(data["datasets"]["images"]["compression"], "deflate = 0")
        self.assertEqual(data["labels"].tolist(), np.repeat(LABEL_VALUES, 9).tolist())
        self.assertEqual([s[0] for s in data["sources"]], ["a-images.gz:%d" % i
                                                           for i in range(ROWS)])

    def test_command_line_overrides_config(self):
        config_out = self.path("config-out.h5")
        config = self.config("[ingest]\ninput = %s\ninput = %s\noutput = %s\ntile = 4\n"
                             "seed = 3\n" % (IMAGES, LABELS, config_out))
        out = self.path("cli-out.h5")
        result = self.aepipe(["ingest", "--config", config, "--tile", "5", "--output", out,
                              "--input", IMAGES2, LABELS2, "--quiet"], ranks=2)
        self.assertSucceeded(result)
        self.assertFalse(os.path.exists(config_out), "the config's output was used")
        data = e2e.read_data_file(out)
        self.assertEqual(int(data["attrs"]["height"]), 5, "--tile 5 overrides tile = 4")
        self.assertEqual(len(data["sources"]), 5, "--input overrides the config's inputs")
        self.assertEqual(data["sources"][0][0], "b-images:0")

    def test_other_commands_sections_are_allowed(self):
        out = self.path("out.h5")
        config = self.config("[inspect]\njson = true\n[ingest]\ninput = %s\noutput = %s\n"
                             % (IMAGES2, out))
        self.assertSucceeded(self.aepipe(["ingest", "--config", config, "--quiet"], ranks=0))
        self.assertArrayEqual(e2e.read_data_file(out)["images"][..., 0], PIXELS[:5] // 2)

    def config_error(self, text, mentions):
        config = self.config(text)
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--config", config, "--input", IMAGES, "--output", out],
                             ranks=2)
        return self.assertFailed(result, 2, mentions=mentions, output=out)

    def test_unknown_key(self):
        self.config_error("[ingest]\ntyle = 4\n", ["tyle"])

    def test_unknown_section(self):
        self.config_error("[ingets]\ntile = 4\n", ["ingets"])

    def test_bad_value(self):
        self.config_error("[ingest]\ntile = abc\n", ["tile", "abc"])
        self.config_error("[ingest]\ndeflate = 11\n", ["deflate"])

    def test_config_cannot_name_a_config(self):
        self.config_error("[ingest]\nconfig = other.ini\n", ["config"])

    def test_missing_config_file(self):
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--config", self.path("nope.ini"), "--input", IMAGES,
                              "--output", out], ranks=0)
        self.assertFailed(result, 2, mentions=["nope.ini"], output=out)


class OutputSafety(e2e.E2ETestCase):
    def test_existing_output_needs_force(self):
        out = self.path("out.h5")
        first = self.ingest(["--input", IMAGES, LABELS], ranks=2, output=out)
        before = e2e.sha256(out)
        result = self.aepipe(["ingest", "--input", IMAGES2, LABELS2, "--output", out], ranks=2)
        self.assertFailed(result, 1, mentions=[out, "--force"])
        self.assertEqual(e2e.sha256(out), before, "existing output changed without --force")
        self.assertNoLeftovers(self.tmp)
        replaced = self.ingest(["--input", IMAGES2, LABELS2, "--force"], ranks=2, output=out)
        self.assertEqual(first["images"].shape[0], ROWS)
        self.assertArrayEqual(replaced["images"][..., 0], PIXELS[:5] // 2, "replaced content")
        self.assertNotEqual(e2e.sha256(out), before)

    def test_failed_run_with_force_keeps_existing_output(self):
        out = self.path("out.h5")
        self.ingest(["--input", IMAGES, LABELS], ranks=1, output=out)
        before = e2e.sha256(out)
        folder = self.path("png")
        shutil.copytree(FOLDER, folder)
        with open(os.path.join(folder, "class_2", "003.png"), "r+b") as f:
            f.truncate(60)
        result = self.aepipe(["ingest", "--input", folder, "--output", out, "--force"], ranks=3)
        self.assertFailed(result, 1, mentions=["class_2/003.png"])
        self.assertEqual(e2e.sha256(out), before, "a failed --force run changed the output")
        self.assertNoLeftovers(self.tmp)

    def test_unwritable_metrics_file(self):
        """Regression: an unwritable --metrics fails before any work and leaves no output."""
        # The metrics line is written after the output is committed. Either outcome below
        # keeps the contract "no file under the output name after a failure".
        out = self.path("out.h5")
        with open(self.path("a-file"), "w"):
            pass
        metrics = self.path("a-file", "metrics.jsonl")  # its folder cannot be made
        result = self.aepipe(["ingest", "--input", IMAGES, LABELS, "--output", out,
                              "--metrics", metrics, "--quiet"], ranks=2)
        if result.returncode == 0:
            self.assertIn(metrics, "\n".join(result.warning_lines()), result.describe())
            self.assertEqual(int(e2e.read_data_file(out)["attrs"]["rows"]), ROWS)
        else:
            self.assertFailed(result, 1, mentions=[metrics], output=out)

    def test_metrics_folder_is_made(self):
        metrics = self.path("logs", "run", "metrics.jsonl")
        self.assertSucceeded(self.aepipe(["ingest", "--input", IMAGES, LABELS, "--output",
                                          self.path("out.h5"), "--metrics", metrics, "-q"],
                                         ranks=2))
        self.assertEqual(e2e.json_lines(metrics)[-1]["stage"], "ingest")

    def test_truncated_hdf5_input(self):
        data_file = self.path("data.h5")
        self.ingest(["--input", IMAGES, LABELS], ranks=0, output=data_file)
        damaged = self.path("damaged.h5")
        with open(data_file, "rb") as f:
            head = f.read(3000)
        with open(damaged, "wb") as f:
            f.write(head)
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", damaged, "--output", out], ranks=2)
        self.assertFailed(result, 1, mentions=[damaged], output=out)
        result = self.aepipe(["inspect", damaged, "--json"], ranks=0)
        self.assertFailed(result, 1, mentions=[damaged])

    def test_missing_input(self):
        out = self.path("out.h5")
        missing = self.path("no-such-file.gz")
        result = self.aepipe(["ingest", "--input", missing, "--output", out], ranks=2)
        self.assertFailed(result, 1, mentions=[missing], output=out)

    def test_unrecognised_input(self):
        text = self.path("notes.txt")
        with open(text, "w") as f:
            f.write("hello\n")
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", text, "--output", out], ranks=0)
        self.assertFailed(result, 1, mentions=[text], output=out)

    def test_output_folder_missing(self):
        out = self.path("missing", "out.h5")
        result = self.aepipe(["ingest", "--input", IMAGES, "--output", out], ranks=2)
        self.assertFailed(result, 1, mentions=[self.path("missing")])
        self.assertFalse(os.path.exists(self.path("missing")))

    def test_output_is_a_folder(self):
        os.makedirs(self.path("dir.h5"))
        result = self.aepipe(["ingest", "--input", IMAGES, "--output", self.path("dir.h5"),
                              "--force"], ranks=0)
        self.assertFailed(result, 1, mentions=[self.path("dir.h5")])
        self.assertEqual(os.listdir(self.path("dir.h5")), [])

    def test_output_equal_to_input(self):
        images = self.path("images")
        shutil.copy(IMAGES2, images)
        before = e2e.sha256(images)
        for out in (images, self.path(".", "images")):
            result = self.aepipe(["ingest", "--input", images, LABELS2, "--output", out,
                                  "--force"], ranks=2)
            self.assertFailed(result, 1, mentions=["also an input"])
            self.assertEqual(e2e.sha256(images), before)
        data_file = self.path("data.h5")
        self.ingest(["--input", IMAGES2], ranks=0, output=data_file)
        before = e2e.sha256(data_file)
        result = self.aepipe(["ingest", "--input", data_file, "--output", data_file, "--force"],
                             ranks=2)
        self.assertFailed(result, 1, mentions=["also an input"])
        self.assertEqual(e2e.sha256(data_file), before)
        self.assertNoLeftovers(self.tmp)

    def test_relative_output_in_working_folder(self):
        result = self.aepipe(["ingest", "--input", IMAGES2, "--output", "rel.h5", "--quiet"],
                             ranks=2, cwd=self.tmp)
        self.assertSucceeded(result)
        self.assertArrayEqual(e2e.read_data_file(self.path("rel.h5"))["images"][..., 0],
                              PIXELS[:5] // 2)
        self.assertNoLeftovers(self.tmp)


class Messages(e2e.E2ETestCase):
    def test_summary_line_and_quiet(self):
        out = self.path("out.h5")
        loud = self.aepipe(["ingest", "--input", IMAGES, LABELS, "--output", out], ranks=2)
        self.assertSucceeded(loud)
        summary = [l for l in loud.stderr.splitlines() if l.startswith("ingest:")]
        self.assertEqual(len(summary), 1, loud.describe())
        self.assertIn("%d rows" % ROWS, summary[0])
        quiet = self.aepipe(["ingest", "--input", IMAGES, LABELS, "--output", out, "--force",
                             "-q"], ranks=2)
        self.assertSucceeded(quiet)
        self.assertEqual(quiet.stderr, "")
        self.assertEqual(quiet.stdout, "")

    def test_one_error_line_from_many_ranks(self):
        out = self.path("out.h5")
        result = self.aepipe(["ingest", "--input", self.path("absent"), "--output", out],
                             ranks=4)
        self.assertFailed(result, 1, mentions=[self.path("absent")], output=out)
        self.assertEqual(len(result.aepipe_lines()), 1, result.describe())


class Inspect(e2e.E2ETestCase):
    def test_json_of_a_folder_file(self):
        out = self.path("png.h5")
        data = self.ingest(["--input", FOLDER, "--deflate", "6"], ranks=2, output=out)
        result = self.aepipe(["inspect", out, "--json"], ranks=2)
        self.assertSucceeded(result)
        summary = json.loads(result.stdout)
        self.assertEqual(summary["file"], out)
        self.assertIs(summary["complete"], True)
        self.assertEqual(summary["format"], "data")
        self.assertEqual(summary["version"], 1)
        for key in ("height", "width", "channels", "rows", "skipped_inputs", "aepipe_version"):
            self.assertEqual(summary["attributes"][key], int(data["attrs"][key]), key)
        for key in ("aepipe_format", "source", "created_by"):
            self.assertEqual(summary["attributes"][key], data["attrs"][key], key)
        datasets = {d["name"]: d for d in summary["datasets"]}
        self.assertEqual(set(datasets), {"/images", "/labels", "/names", "/classes"})
        images = datasets["/images"]
        self.assertEqual(images["type"], "uint8")
        self.assertEqual(images["shape"], [12, 8, 8, 3])
        self.assertEqual(images["chunks"][1:], [8, 8, 3])
        self.assertIn("deflate 6", images["filters"])
        self.assertEqual(datasets["/labels"]["type"], "int32")
        self.assertEqual(datasets["/labels"]["shape"], [12])
        self.assertEqual(summary["labels"]["count"], 12)
        self.assertEqual(summary["labels"]["histogram"], {"0": 4, "1": 4, "2": 4})
        self.assertEqual(summary["labels"]["classes"], ["class_0", "class_1", "class_2"])

    def test_json_histogram_matches_labels(self):
        out = self.path("idx.h5")
        self.ingest(["--input", IMAGES, LABELS], ranks=1, output=out)
        summary = json.loads(self.aepipe(["inspect", "--json", out], ranks=0).stdout)
        counts = np.bincount(LABEL_VALUES)
        self.assertEqual(summary["labels"]["histogram"],
                         {str(k): int(c) for k, c in enumerate(counts) if c})
        self.assertEqual(summary["labels"]["count"], ROWS)
        self.assertNotIn("classes", summary["labels"])

    def test_json_of_a_tiles_file(self):
        out = self.path("tiles.h5")
        self.ingest(["--input", FOLDER, "--tile", 3], ranks=2, output=out)
        summary = json.loads(self.aepipe(["inspect", out, "--json"], ranks=0).stdout)
        datasets = {d["name"]: d for d in summary["datasets"]}
        self.assertEqual(datasets["/tiles"]["type"], "int64")
        self.assertEqual(datasets["/tiles"]["shape"], [12 * 9, 4])
        self.assertEqual(datasets["/sources"]["shape"], [12])
        for field in ("name", "height", "width"):
            self.assertIn(field, datasets["/sources"]["type"])

    def test_text(self):
        out = self.path("png.h5")
        self.ingest(["--input", FOLDER], ranks=1, output=out)
        result = self.aepipe(["inspect", out], ranks=0)
        self.assertSucceeded(result)
        self.assertIn("/images", result.stdout)
        self.assertIn("[12, 8, 8, 3]", result.stdout)
        self.assertIn("class_2", result.stdout)

    def test_temporary_name_is_incomplete(self):
        out = self.path("png.h5")
        self.ingest(["--input", FOLDER], ranks=1, output=out)
        temporary = self.path(".png.h5.aepipe-tmp-123-456")
        shutil.copy(out, temporary)
        summary = json.loads(self.aepipe(["inspect", temporary, "--json"], ranks=0).stdout)
        self.assertIs(summary["complete"], False)

    def test_plain_hdf5_file(self):
        import h5py
        path = self.path("plain.h5")
        with h5py.File(path, "w") as f:
            f["x"] = np.zeros((3, 2), np.float32)
        result = self.aepipe(["inspect", path, "--json"], ranks=0)
        self.assertSucceeded(result)
        summary = json.loads(result.stdout)
        self.assertIsNone(summary["format"])
        self.assertEqual(summary["datasets"][0]["name"], "/x")
        self.assertEqual(summary["datasets"][0]["type"], "float32")

    def test_not_hdf5(self):
        result = self.aepipe(["inspect", IMAGES2, "--json"], ranks=2)
        self.assertFailed(result, 1, mentions=[IMAGES2])
        self.assertEqual(result.stdout, "")

    def test_missing_file(self):
        result = self.aepipe(["inspect", self.path("nope.h5")], ranks=0)
        self.assertFailed(result, 1, mentions=[self.path("nope.h5")])

    def test_no_file(self):
        self.assertFailed(self.aepipe(["inspect"], ranks=0), 2)


if __name__ == "__main__":
    e2e.main()
