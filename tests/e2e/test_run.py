#!/usr/bin/env python3
"""End-to-end tests of `aepipe run`: a job runs its stages in order in one MPI job, skips the
ones already done (so a stopped or requeued job continues), reruns from --from, takes --set
overrides, stops with exit 75 on SIGUSR1 and resumes training from its checkpoint, and
refuses mistakes in the job file before any stage runs."""

import os
import signal
import subprocess
import time
import unittest

import h5py
import numpy as np

from aepipe_e2e import (AEPIPE, MPIEXEC, REPO, T10K_IMAGES, T10K_LABELS, E2ETestCase, _mpi_env,
                        json_lines, launcher_flags, main, read_idx, sha256,
                        signal_ranks_from_start, write_idx)
from test_train import parameters

STAGES = ["ingest", "ingest:test", "train", "encode", "encode:test", "evaluate:codes", "index",
          "query", "evaluate:neighbours"]

# Paths relative to the job's folder (the tests run aepipe there).
JOB = """
metrics = metrics.jsonl

[job]
stages = ingest, ingest:test, train, encode,
stages = encode:test, evaluate:codes, index, query, evaluate:neighbours

[ingest]
input = train-images.idx
input = train-labels.idx
output = out/train.h5

[ingest:test]
input = test-images.idx
input = test-labels.idx
output = out/test.h5

[train]
input = out/train.h5
output = out/model.h5
arch = 784-64-16
batch = 100
epochs = {epochs}
checkpoint-every = 5
threads = 1

[encode]
input = out/train.h5
model = out/model.h5
output = out/codes.h5
bits = 8

[encode:test]
input = out/test.h5
output = out/test-codes.h5

[evaluate:codes]
codes = out/test-codes.h5

[index]
input = out/codes.h5
output = out/index.h5
type = ivf:8

[query]
index = out/index.h5
input = out/test-codes.h5
output = out/neighbours.h5
k = 5

[evaluate:neighbours]
neighbours = out/neighbours.h5
"""

OUTPUTS = ["train.h5", "test.h5", "model.h5", "codes.h5", "test-codes.h5", "index.h5",
           "neighbours.h5"]



def children_of(pid):
    """The process ids whose parent is `pid` (from /proc)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return children

class RunTests(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        images, labels = read_idx(T10K_IMAGES), read_idx(T10K_LABELS)
        cls.images, cls.labels = images[:1500], labels[:1500]

    def make_job(self, folder=None, epochs=2, text=JOB):
        folder = folder or self.tmp
        os.makedirs(folder, exist_ok=True)
        write_idx(os.path.join(folder, "train-images.idx"), self.images[:1200])
        write_idx(os.path.join(folder, "train-labels.idx"), self.labels[:1200])
        write_idx(os.path.join(folder, "test-images.idx"), self.images[1200:])
        write_idx(os.path.join(folder, "test-labels.idx"), self.labels[1200:])
        with open(os.path.join(folder, "job.ini"), "w") as f:
            f.write(text.format(epochs=epochs))
        return folder

    def run_job(self, args=(), ranks=2, folder=None, timeout=180):
        return self.aepipe(["run", "--config", "job.ini"] + list(args), ranks=ranks,
                           cwd=folder or self.tmp, timeout=timeout)

    def out(self, name, folder=None):
        return os.path.join(folder or self.tmp, "out", name)

    def modified(self, folder=None):
        return {name: os.stat(self.out(name, folder)).st_mtime_ns for name in OUTPUTS}

    def summary(self, result):
        """{stage: 'ran' | 'skipped'} from the summary printed at the end."""
        rows = {}
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in STAGES and parts[1] in ("ran", "skipped"):
                rows[parts[0]] = parts[1]
        return rows

    def test_a_job_runs_every_stage_and_running_it_again_skips_what_is_done(self):
        self.make_job()
        first = self.run_job()
        self.assertSucceeded(first)
        self.assertEqual(self.summary(first), {stage: "ran" for stage in STAGES}, first.stdout)
        self.assertIn("run: job job.ini on 2 ranks", first.stdout)
        self.assertRegex(first.stdout, r"evaluate:codes +ran .*bits_per_pixel [0-9.]+, psnr")
        self.assertRegex(first.stdout, r"evaluate:neighbours +ran .*recall_at_5 [0-9.]+")
        for name, kind in zip(OUTPUTS, ["data", "data", "model", "codes", "codes", "index",
                                        "neighbours"]):
            with h5py.File(self.out(name), "r") as f:
                self.assertEqual(f.attrs["aepipe_format"], kind, name)
        with h5py.File(self.out("test.h5"), "r") as f:  # [ingest:test] kept [ingest]'s rest
            self.assertEqual(len(f["images"]), 300)
        events = [e for e in json_lines(self.path("metrics.jsonl")) if e["stage"] == "run"]
        self.assertEqual([e["name"] for e in events if e["event"] == "stage"], STAGES)
        self.assertEqual(events[-1]["event"], "done")
        self.assertNoLeftovers(self.path("out"))

        before = self.modified()
        again = self.run_job()
        self.assertSucceeded(again)
        ran = {stage for stage, what in self.summary(again).items() if what == "ran"}
        self.assertEqual(ran, {"evaluate:codes", "evaluate:neighbours"}, again.stdout)
        self.assertEqual(self.modified(), before, "a skipped stage rewrote its output")
        self.assertIn("skipped: out/model.h5 is complete", again.stderr)

        # --from reruns that stage and every later one; earlier outputs stay untouched.
        rerun = self.run_job(["--from", "encode:test"])
        self.assertSucceeded(rerun)
        after = self.modified()
        for name in ("train.h5", "test.h5", "model.h5", "codes.h5"):
            self.assertEqual(after[name], before[name], name)
        for name in ("test-codes.h5", "index.h5", "neighbours.h5"):
            self.assertGreater(after[name], before[name], name)

        # An output removed by hand: that stage and the stages reading it run again.
        os.remove(self.out("codes.h5"))
        again = self.run_job(["--dry-run"], ranks=1)
        self.assertSucceeded(again)
        planned = dict(line.split()[:2] for line in again.stdout.splitlines())
        self.assertEqual(planned, {"ingest": "skip", "ingest:test": "skip", "train": "skip",
                                   "encode": "run", "encode:test": "skip",
                                   "evaluate:codes": "run", "index": "rerun", "query": "rerun",
                                   "evaluate:neighbours": "run"}, again.stdout)

    def test_a_job_computes_what_its_stages_run_by_hand_compute(self):
        self.make_job()
        job = self.run_job(["--set", "job.stages=ingest,ingest:test,train,encode:test",
                            "--set", "train.epochs=1", "--seed", "7"], ranks=2)
        self.assertSucceeded(job)
        self.assertEqual(set(self.summary(job)), {"ingest", "ingest:test", "train",
                                                  "encode:test"})
        self.assertFalse(os.path.exists(self.out("codes.h5")))
        by_hand = self.path("hand")
        os.makedirs(by_hand)
        steps = [
            ["ingest", "--input", "train-images.idx", "train-labels.idx", "--output",
             "hand/train.h5"],
            ["train", "--input", "hand/train.h5", "--output", "hand/model.h5", "--arch",
             "784-64-16", "--batch", "100", "--epochs", "1", "--checkpoint-every", "5",
             "--threads", "1", "--seed", "7"],
            ["ingest", "--input", "test-images.idx", "test-labels.idx", "--output",
             "hand/test.h5"],
            ["encode", "--input", "hand/test.h5", "--model", "hand/model.h5", "--output",
             "hand/test-codes.h5", "--bits", "8"]]
        for step in steps:
            self.assertSucceeded(self.aepipe(step + ["-q"], ranks=2, cwd=self.tmp))
        a, b = parameters(self.out("model.h5")), parameters(os.path.join(by_hand, "model.h5"))
        for key in a:
            self.assertTrue(np.array_equal(a[key], b[key]), key)
        with h5py.File(self.out("test-codes.h5"), "r") as x, \
                h5py.File(os.path.join(by_hand, "test-codes.h5"), "r") as y:
            self.assertTrue(np.array_equal(x["codes"][()], y["codes"][()]))
            self.assertTrue(np.array_equal(x["labels"][()], y["labels"][()]))

    def start_ingest_and_train(self, folder):
        """`aepipe run` of the job's ingest and train stages on 2 ranks in the background (for
        signals), in its own session."""
        command = [MPIEXEC, "-n", "2"] + launcher_flags() + [
            AEPIPE, "run", "--config", "job.ini", "--set", "job.stages=ingest,train", "-q"]
        return subprocess.Popen(command, cwd=folder, env=_mpi_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)

    def test_sigusr1_stops_the_job_with_75_and_running_it_again_resumes_training(self):
        straight = self.make_job(self.path("straight"), epochs=6)
        self.assertSucceeded(self.run_job(["--set", "job.stages=ingest,train", "-q"],
                                          folder=straight))
        stopped = self.make_job(self.path("stopped"), epochs=6)
        process = self.start_ingest_and_train(stopped)
        checkpoint = self.out("model.h5.checkpoint", stopped)
        deadline = time.monotonic() + 60
        while not os.path.exists(checkpoint) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(checkpoint), "no checkpoint appeared")
        process.send_signal(signal.SIGUSR1)  # mpirun forwards SIGUSR1 to every rank
        _, stderr = process.communicate(timeout=60)
        stderr = stderr.decode()
        self.assertEqual(process.returncode, 75, stderr)
        self.assertIn("running the job again continues it", stderr)
        self.assertFalse(os.path.exists(self.out("model.h5", stopped)))

        resumed = self.run_job(["--set", "job.stages=ingest,train"], folder=stopped)
        self.assertSucceeded(resumed)
        self.assertIn("resuming", resumed.stderr.lower())
        self.assertEqual(self.summary(resumed), {"ingest": "skipped", "train": "ran"})
        self.assertFalse(os.path.exists(checkpoint), "checkpoint left after completion")
        a = parameters(self.out("model.h5", straight))
        b = parameters(self.out("model.h5", stopped))
        for key in a:
            self.assertTrue(np.array_equal(a[key], b[key]), key)

    def test_a_stop_signal_during_mpi_start_up_stops_the_job_after_its_first_stage(self):
        # Slurm's pre-timeout signal once arrived in a job's first second, before the ranks
        # had installed their stop handlers (then only once the job was planned, after MPI
        # start-up): SIGUSR1's default action killed both ranks (exit 138) and the job failed
        # instead of stopping. Now `run` and `train` take the signals from main()'s first line.
        folder = self.make_job(self.path("early"), epochs=2)
        process = self.start_ingest_and_train(folder)
        sender = signal_ranks_from_start(process, signal.SIGUSR1)
        _, stderr = process.communicate(timeout=120)
        sender.join()
        stderr = stderr.decode()
        self.assertEqual(process.returncode, 75, stderr)
        self.assertIn("stopped on request after stage ingest", stderr)
        self.assertTrue(os.path.exists(self.out("train.h5", folder)))
        self.assertFalse(os.path.exists(self.out("model.h5", folder)))
        resumed = self.run_job(["--set", "job.stages=ingest,train", "-q"], folder=folder)
        self.assertSucceeded(resumed)
        self.assertEqual(self.summary(resumed), {"ingest": "skipped", "train": "ran"})

    def test_the_batch_script_holds_a_signal_sent_at_launch_until_the_ranks_are_up(self):
        # slurm/aepipe-job.sh outside Slurm, with mpiexec as the launcher. Slurm sent its
        # pre-timeout signal in the job's first second, while srun was still starting the
        # ranks: forwarded at once, it killed them before their main() could take it (exit
        # 138 in e2e_slurm). The script now holds a signal that comes within
        # AEPIPE_SIGNAL_HOLD seconds of the launch.
        folder = self.make_job(self.path("held"), epochs=400)
        script = ('source "$AEPIPE_HOME/slurm/aepipe-job.sh" && aepipe_job_setup && '
                  'aepipe_job_run run --config job.ini --set job.stages=ingest,train -q')
        env = _mpi_env({"AEPIPE": AEPIPE, "AEPIPE_HOME": REPO, "SLURM_SUBMIT_DIR": folder,
                        "SLURM_JOB_ID": "0", "AEPIPE_NO_REQUEUE": "1", "AEPIPE_SIGNAL_HOLD": "2",
                        "AEPIPE_LAUNCHER": " ".join([MPIEXEC, "-n", "2"] + launcher_flags())})
        process = subprocess.Popen(["bash", "-c", script], cwd=folder, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        # The signal goes to the shell as soon as it has started the launcher.
        deadline = time.monotonic() + 30
        while not children_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        process.send_signal(signal.SIGUSR1)
        stdout, stderr = process.communicate(timeout=120)
        stdout, stderr = stdout.decode(), stderr.decode()
        self.assertEqual(process.returncode, 75, stdout + stderr)
        self.assertIn("holding it", stdout)
        self.assertIn("SIGUSR1: asking the ranks to checkpoint and stop", stdout)
        self.assertIn("aepipe exited with 75", stdout)

    def test_mistakes_in_the_job_fail_before_any_stage_runs(self):
        cases = [
            (JOB.replace("k = 5", "k = 5\nnprob = 3"), [], ["nprob", "[query]"]),
            (JOB.replace("ivf:8", "ivf:8\n[evaluate:x y]\nk = 3"), [], ["evaluate:x y"]),
            (JOB.replace("evaluate:neighbours\n", "evaluate:neighbours, trian\n", 1), [],
             ["trian"]),
            (JOB.replace("stages = ingest, ingest:test", "stages = ingest, ingest"), [],
             ["'ingest' twice"]),
            (JOB.replace("stages = ingest,", "stage = ingest,"), [], ["stage", "[job]"]),
            (JOB, ["--from", "decode"], ["--from decode", "evaluate:neighbours"]),
            (JOB, ["--set", "decode.png=x"], ["decode"]),
            (JOB, ["--set", "train.epochs=many"], ["many", "epochs"]),
            (JOB, ["--set", "train.epochs"], ["train.epochs"]),
            (JOB.replace("stages = ingest,", "stages = run, ingest,"), [], ["'run'"]),
        ]
        for text, args, mentions in cases:
            with self.subTest(mentions=mentions):
                folder = self.make_job(self.path("job%d" % len(os.listdir(self.tmp))),
                                       text=text)
                result = self.run_job(args, ranks=2, folder=folder)
                self.assertFailed(result, code=2, mentions=mentions)
                self.assertFalse(os.path.exists(os.path.join(folder, "out")),
                                 "a stage ran before the mistake was reported")

    def test_a_failing_stage_ends_the_job_and_the_rerun_starts_there(self):
        folder = self.make_job(epochs=1, text=JOB.replace("bits = 8", "bits = 99"))
        result = self.run_job(["-q"], ranks=2)  # parses; encode refuses 99 bits when it runs
        self.assertFailed(result, code=2, mentions=["99"])
        self.assertTrue(os.path.exists(self.out("model.h5")))
        self.assertFalse(os.path.exists(self.out("codes.h5")))
        self.assertFalse(os.path.exists(self.out("index.h5")))
        model = os.stat(self.out("model.h5")).st_mtime_ns
        self.make_job(folder, epochs=1)  # the job file fixed
        result = self.run_job(ranks=2)
        self.assertSucceeded(result)
        summary = self.summary(result)
        self.assertEqual(summary["train"], "skipped")
        self.assertEqual(summary["encode"], "ran")
        self.assertEqual(os.stat(self.out("model.h5")).st_mtime_ns, model)

    def test_a_damaged_output_under_a_final_name_is_reported_and_left_alone(self):
        self.make_job()
        os.makedirs(self.path("out"))
        with open(self.out("train.h5"), "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 500)  # an HDF5 signature and nothing else
        checksum = sha256(self.out("train.h5"))
        for ranks in (1, 4):
            result = self.run_job(ranks=ranks)
            self.assertFailed(result, code=1, mentions=["out/train.h5", "stage ingest",
                                                        "not a complete aepipe file"])
            self.assertEqual(sha256(self.out("train.h5")), checksum)
            self.assertFalse(os.path.exists(self.out("test.h5")))


if __name__ == "__main__":
    main()
