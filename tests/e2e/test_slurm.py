#!/usr/bin/env python3
"""End-to-end tests of the sbatch templates on a real single-node Slurm (slurm/local-cluster.sh,
started here when it is down and stopped afterwards; the tests are skipped, with the reason,
only where Slurm cannot start).

- slurm/job.sbatch runs the default job (configs/fashion-mnist.ini, shortened by --set) with
  srun --mpi=pmix;
- slurm/compress-array.sbatch compresses three archives of mixed-size photos as a job array;
- a training job whose time limit forces the pre-timeout signal (--signal=B:USR1@N) stops
  with a checkpoint, requeues itself, resumes, and ends with the model of an uninterrupted
  run."""

import os
import unittest

import h5py
import numpy as np

import slurm_cluster
from aepipe_e2e import (AEPIPE, REPO, E2ETestCase, json_lines, main, make_images, read_idx,
                        run_aepipe, write_idx)
from test_train import parameters

FASHION_TRAIN = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
FASHION_LABELS = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"
DEFAULT_STAGES = ["ingest", "ingest:test", "train", "evaluate:model", "encode", "encode:test",
                  "evaluate:codes", "index", "query", "evaluate:neighbours"]

# Training long enough to meet the pre-timeout signal: epochs are chosen from a measured
# epoch so the uninterrupted run takes about this long (the signal comes 2-30 s in).
TRAINING_SECONDS = 45
TRAIN_JOB = """
[job]
stages = ingest, train

[ingest]
input = images.idx
input = labels.idx
output = out/train.h5

[train]
input = out/train.h5
output = out/model.h5
arch = 784-128-32
batch = 100
epochs = {epochs}
checkpoint-every = 20
"""


def setUpModule():
    global ENV
    ENV = slurm_cluster.ensure_cluster()
    ENV["AEPIPE"] = AEPIPE
    ENV["AEPIPE_HOME"] = REPO


def tearDownModule():
    slurm_cluster.stop_cluster()


class SlurmTests(E2ETestCase):

    def submit(self, script, args, options=(), timeout=600, release=False):
        job = slurm_cluster.submit(os.path.join(REPO, "slurm", script), args, ENV,
                                   ["--output", self.path("job-%A_%a.log" if "--array" in
                                                          " ".join(options) else "job-%j.log")]
                                   + list(options), cwd=self.tmp)
        info = slurm_cluster.wait_job(job, timeout=timeout, env=ENV, release_begin_time=release)
        return job, info

    def assertCompleted(self, info):
        for task in info["tasks"]:
            self.assertEqual((task["JobState"], task["ExitCode"]), ("COMPLETED", "0:0"),
                             slurm_cluster.log_tail(info, 60))

    def log(self, info, task=0):
        with open(info["tasks"][task]["StdOut"], errors="replace") as f:
            return f.read()

    def test_the_default_job_runs_under_sbatch_with_srun(self):
        config = os.path.join(REPO, "configs", "fashion-mnist.ini")
        _, info = self.submit("job.sbatch", [config, "--set", "train.epochs=1", "--set",
                                             "train.arch=784-64-30"])
        self.assertCompleted(info)
        log = self.log(info)
        self.assertIn("2 ranks", log)
        for stage in DEFAULT_STAGES:
            self.assertRegex(log, r"\n  %s +ran " % stage, log)
        self.assertRegex(log, r"recall_at_10 [0-9.]+, precision_at_10 [0-9.]+")
        self.assertNotIn("\r", log)  # a batch log gets plain lines, no terminal redraws
        self.assertNotIn("\x1b", log)
        with h5py.File(self.path("out", "fashion-mnist", "neighbours.h5"), "r") as f:
            self.assertEqual(f["ids"].shape, (10000, 10))
        events = json_lines(self.path("out", "fashion-mnist", "metrics.jsonl"))
        self.assertEqual(events[-1]["stage"], "run")
        self.assertEqual(events[-1]["ranks"], 2)

    def test_a_job_array_compresses_every_listed_archive(self):
        names = ["harbour", "garden", "street"]
        for i, name in enumerate(names):
            make_images(self.path("photos", name), "--classes", "1", "--per-class", "3",
                        "--mixed", "20-60", "--channels", "3", "--seed", str(i + 1), "--flat")
        with open(self.path("archives.txt"), "w") as f:
            f.write("# one folder of photos per line\n\n")
            f.write("".join("photos/%s\n" % name for name in names))
        config = self.path("photo.ini")
        with open(os.path.join(REPO, "configs", "photo-archive.ini")) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text.replace("epochs = 30", "epochs = 3"))
        _, info = self.submit("compress-array.sbatch", ["archives.txt", "compressed", config],
                              ["--array=1-3"])
        self.assertEqual(len(info["tasks"]), 3)
        self.assertCompleted(info)
        for name in names:
            archive = self.path("compressed", name)
            self.assertEqual(sorted(os.listdir(archive)),
                             ["codes.h5", "compression.jsonl", "model.h5"], name)
            with h5py.File(os.path.join(archive, "codes.h5"), "r") as f:
                self.assertEqual(f.attrs["aepipe_format"], "codes")
                self.assertEqual(len(f["sources"]), 3)
            figures = [e for e in json_lines(os.path.join(archive, "compression.jsonl"))
                       if "psnr" in e]
            self.assertTrue(figures and figures[-1]["psnr"] > 10, figures)
        # Every archive decompresses to its photos at their sizes.
        out = self.path("decoded")
        result = run_aepipe(["decode", "-q", "--input", self.path("compressed", "garden",
                                                                 "codes.h5"),
                             "--png", out], ranks=2)
        self.assertSucceeded(result)
        self.assertEqual(sorted(os.listdir(out)), sorted(os.listdir(self.path("photos",
                                                                              "garden"))))

    def test_the_pre_timeout_signal_checkpoints_requeues_and_resumes(self):
        images, labels = read_idx(FASHION_TRAIN), read_idx(FASHION_LABELS)
        write_idx(self.path("images.idx"), images[:20000])
        write_idx(self.path("labels.idx"), labels[:20000])
        straight = self.path("straight")
        os.makedirs(straight)
        for name in ("images.idx", "labels.idx"):
            os.link(self.path(name), os.path.join(straight, name))

        # An epoch measured, then the uninterrupted reference (2 ranks, 1 thread each, as the
        # template runs it).
        with open(os.path.join(straight, "job.ini"), "w") as f:
            f.write(TRAIN_JOB.format(epochs=1))
        self.assertSucceeded(run_aepipe(["run", "-q", "--config", "job.ini", "--threads", "1",
                                         "--metrics", "epoch.jsonl"], ranks=2, cwd=straight,
                                        timeout=300))
        epoch = [e for e in json_lines(os.path.join(straight, "epoch.jsonl"))
                 if e["stage"] == "train" and e.get("event") == "done"][0]["seconds"]
        epochs = max(3, round(TRAINING_SECONDS / epoch))
        for name in ("job.ini", self.path("job.ini")):
            with open(os.path.join(straight, name), "w") as f:
                f.write(TRAIN_JOB.format(epochs=epochs))
        self.assertSucceeded(run_aepipe(["run", "-q", "--config", "job.ini", "--threads", "1",
                                         "--from", "train"], ranks=2, cwd=straight,
                                        timeout=600))

        # A 1-minute limit with the signal due 58 s before it: the ranks checkpoint and stop,
        # the script requeues, and the next allocation skips ingest and resumes training.
        _, info = self.submit("job.sbatch", ["job.ini"], ["--time=1", "--signal=B:USR1@58"],
                              timeout=900, release=True)
        self.assertCompleted(info)
        log = self.log(info)
        self.assertGreaterEqual(int(info["Restarts"]), 1, log)
        self.assertIn("SIGUSR1: asking the ranks to checkpoint", log)
        self.assertIn("requeueing job", log)
        self.assertIn("resuming from", log)
        self.assertRegex(log, r"\n  ingest +skipped ")
        self.assertFalse(os.path.exists(self.path("out", "model.h5.checkpoint")))
        a = parameters(os.path.join(straight, "out", "model.h5"))
        b = parameters(self.path("out", "model.h5"))
        for key in a:
            self.assertTrue(np.array_equal(a[key], b[key]), key)


if __name__ == "__main__":
    main()
