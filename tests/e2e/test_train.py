#!/usr/bin/env python3
"""End-to-end tests of `aepipe train` and `aepipe evaluate`: results recomputed with numpy
from the model file, equal parameters across rank counts, signal-and-resume, bad inputs."""

import os
import signal
import subprocess
import time
import unittest

import h5py
import numpy as np

from aepipe_e2e import (AEPIPE, MPIEXEC, T10K_IMAGES, T10K_LABELS, E2ETestCase, _mpi_env,
                        json_lines, launcher_flags, leftovers, main, make_images, run_aepipe,
                        signal_ranks_from_start)

SMALL_NET = ["--arch", "784-64-16", "--batch", "100", "--threads", "1"]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {"sigmoid": sigmoid, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
               "linear": lambda z: z}


def numpy_forward(model_path, pixels):
    """Reconstructions [N, D] in [0, 1] pixel units from the model file alone."""
    with h5py.File(model_path, "r") as f:
        spec = f.attrs["architecture"]
        spec = spec.decode() if isinstance(spec, bytes) else spec
        layers = [part.split(":") for part in spec.split("-")[1:]]
        out_act = f.attrs["output_activation"]
        out_act = out_act.decode() if isinstance(out_act, bytes) else out_act
        mean = f["normalisation/mean"][:].astype(np.float64)
        scale = f["normalisation/scale"][:].astype(np.float64)
        x = pixels.reshape(len(pixels), -1).astype(np.float64) / 255.0
        x = (x - mean) * scale
        n = len(layers)
        for i in range(n):
            x = ACTIVATIONS[layers[i][1]](x @ f["encoder/%d/W" % i][:].T + f["encoder/%d/b" % i][:])
        code = x
        for i in range(n):
            act = out_act if i == n - 1 else layers[n - 2 - i][1]
            x = ACTIVATIONS[act](x @ f["decoder/%d/W" % i][:].T + f["decoder/%d/b" % i][:])
        return x / scale + mean, code


def parameters(model_path):
    with h5py.File(model_path, "r") as f:
        arrays = []
        f.visititems(lambda name, obj: arrays.append((name, obj[:]))
                     if isinstance(obj, h5py.Dataset) and name.split("/")[0] in ("encoder", "decoder")
                     else None)
    return dict(arrays)


class TrainTests(E2ETestCase):

    def setUp(self):
        super().setUp()
        self.data = self.path("t10k.h5")
        self.assertSucceeded(self.aepipe(["ingest", "-q", "--input", T10K_IMAGES, T10K_LABELS,
                                          "--output", self.data], ranks=2))
        with h5py.File(self.data, "r") as f:
            self.pixels = f["images"][:]

    def train(self, output, extra, ranks=1, **kwargs):
        result = self.aepipe(["train", "-q", "--input", self.data, "--output", output] + extra,
                             ranks=ranks, **kwargs)
        return result

    def test_pca_matches_numpy_and_evaluate_matches_a_numpy_forward_pass(self):
        model = self.path("pca.h5")
        self.assertSucceeded(self.train(model, ["--arch", "pca:20", "--validation", "0"], ranks=2))
        x = self.pixels.reshape(len(self.pixels), -1).astype(np.float64) / 255.0
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        reference = centred @ vt[:20].T @ vt[:20] + x.mean(axis=0)
        reconstruction, _ = numpy_forward(model, self.pixels)
        sse_numpy = ((reference - x) ** 2).sum(axis=1).mean()
        sse_model = ((reconstruction - x) ** 2).sum(axis=1).mean()
        self.assertAlmostEqual(sse_model / sse_numpy, 1.0, delta=1e-3)
        metrics = self.path("metrics.jsonl")
        result = self.aepipe(["evaluate", "--model", model, "--input", self.data, "--metrics",
                              metrics], ranks=2)
        self.assertSucceeded(result)
        event = json_lines(metrics)[-1]
        self.assertEqual(event["stage"], "evaluate")
        self.assertAlmostEqual(event["sse_per_image"] / sse_model, 1.0, delta=1e-4)
        psnr = 10 * np.log10(1.0 / (sse_model / x.shape[1]))
        self.assertAlmostEqual(event["psnr"], psnr, delta=1e-3)

    def test_parameters_do_not_depend_on_the_rank_count(self):
        models = {}
        for ranks in (1, 2, 4):
            models[ranks] = self.path("model%d.h5" % ranks)
            self.assertSucceeded(self.train(models[ranks], SMALL_NET + [
                "--epochs", "1", "--sparsity", "l1", "--beta", "0.01", "--noise", "mask:0.2"],
                ranks=ranks, timeout=240))
        reference = parameters(models[1])
        largest = max(np.abs(v).max() for v in reference.values())
        for ranks in (2, 4):
            other = parameters(models[ranks])
            difference = max(np.abs(other[k] - reference[k]).max() for k in reference)
            self.assertLess(difference / largest, 1e-4, "%d ranks vs 1" % ranks)

    def test_pretrained_parameters_are_identical_for_1_2_and_4_ranks(self):
        # Layer 2's input (layer 1's codes) was computed over each rank's whole slice at once:
        # oneDNN's low bits depend on a column's place in the matrix, so 1 and 2 ranks
        # differed after pretraining. Now transformed micro-batch by micro-batch.
        self.assertIdenticalAt124Ranks("pretrained", SMALL_NET + [
            "--epochs", "1", "--pretrain-epochs", "1", "--noise", "mask:0.2"])

    def assertIdenticalAt124Ranks(self, stem, options):
        """Trains with OPTIONS at 1, 2 and 4 ranks: the parameters must be equal bit for bit."""
        models = {}
        for ranks in (1, 2, 4):
            models[ranks] = self.path("%s%d.h5" % (stem, ranks))
            self.assertSucceeded(self.train(models[ranks], options, ranks=ranks, timeout=240))
        reference = parameters(models[1])
        for ranks in (2, 4):
            other = parameters(models[ranks])
            for key in reference:
                self.assertTrue(np.array_equal(reference[key], other[key]),
                                "%s differs at %d ranks" % (key, ranks))

    def test_node_shared_step_gives_the_bits_of_the_message_rings(self):
        """Ranks on one node exchange the step through shared memory; AEPIPE_SHARED_STEP=0
        keeps the MPI rings. Same parameters from both and from one rank, on the float path
        (two pieces in all: micro-batch 50) and the exact one (four: 25), with weight decay
        (added to each rank's own slice) and the KL term (its rho^ read before the update)."""
        options = SMALL_NET + ["--epochs", "1", "--code-activation", "sigmoid", "--sparsity",
                               "kl", "--rho", "0.1", "--beta", "0.5", "--weight-decay", "1e-3"]
        for micro, ranks in (("50", 2), ("25", 4)):
            runs = {"1 rank": (1, None), "shared": (ranks, "1"), "rings": (ranks, "0")}
            models = {}
            exchange = {"1 rank": "none", "shared": "node shared memory", "rings": "mpi messages"}
            for name, (count, shared) in runs.items():
                models[name] = self.path("%s-%s.h5" % (name.replace(" ", ""), micro))
                metrics = self.path("%s-%s.jsonl" % (name.replace(" ", ""), micro))
                result = run_aepipe(
                    ["train", "-q", "--input", self.data, "--output", models[name],
                     "--micro-batch", micro, "--metrics", metrics] + options, ranks=count,
                    timeout=240, env=None if shared is None else {"AEPIPE_SHARED_STEP": shared})
                self.assertSucceeded(result)
                epoch = [e for e in json_lines(metrics) if e.get("event") == "epoch"][-1]
                self.assertEqual(epoch["step_exchange"], exchange[name])
            reference = parameters(models["1 rank"])
            for name in ("shared", "rings"):
                other = parameters(models[name])
                for key in reference:
                    self.assertTrue(np.array_equal(reference[key], other[key]),
                                    "%s differs: %s at %d ranks, micro-batch %s" %
                                    (key, name, ranks, micro))

    def start_train(self, output, extra, ranks):
        """`aepipe train` under mpiexec in the background (for signals), its own session."""
        command = [MPIEXEC, "-n", str(ranks)] + launcher_flags()
        if ranks > (os.cpu_count() or 1):
            command.append("--oversubscribe")
        command += [AEPIPE, "train", "-q", "--input", self.data, "--output", output] + extra
        return subprocess.Popen(command, env=_mpi_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)

    def wait_for(self, condition, what, seconds=60):
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(condition(), "%s never happened" % what)

    def stop_and_resume_matches_an_uninterrupted_run(self, ranks):
        # Once crashed intermittently with heap corruption (in H5Fclose of the stop
        # checkpoint, or free() in dnnl_sgemm): the signal handler ran on the computing thread
        # while oneDNN's JIT sgemm had its stack pointer in the heap (util/stop_signal.cpp).
        # tests/unit/test_stop_signal.cpp reproduces that deterministically.
        straight = self.path("straight.h5")
        self.assertSucceeded(self.train(straight, SMALL_NET + ["--epochs", "3"], ranks=ranks,
                                        timeout=240))
        output = self.path("resumed.h5")
        process = self.start_train(output, ["--epochs", "3", "--checkpoint-every", "10"]
                                   + SMALL_NET, ranks)
        checkpoint = output + ".checkpoint"
        self.wait_for(lambda: os.path.exists(checkpoint), "a checkpoint")
        process.send_signal(signal.SIGUSR1)  # mpirun forwards SIGUSR1 to every rank
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(process.returncode, 75, stderr.decode())
        self.assertIn("--resume", stderr.decode())
        self.assertFalse(os.path.exists(output))
        result = self.train(output, SMALL_NET + ["--epochs", "3", "--checkpoint-every", "10",
                                                 "--resume"], ranks=ranks, timeout=240)
        self.assertSucceeded(result)
        self.assertFalse(os.path.exists(checkpoint), "checkpoint left after completion")
        a, b = parameters(straight), parameters(output)
        for key in a:
            self.assertTrue(np.array_equal(a[key], b[key]), key)
        with h5py.File(output, "r") as f:
            self.assertEqual(len(f["history/validation_loss"]), 3)

    def test_sigusr1_checkpoints_exits_75_and_resume_matches_an_uninterrupted_run(self):
        self.stop_and_resume_matches_an_uninterrupted_run(ranks=2)

    def test_sigusr1_at_4_ranks_checkpoints_exits_75_and_resume_matches(self):
        self.stop_and_resume_matches_an_uninterrupted_run(ranks=4)

    def test_sigusr1_during_pretraining_stops_with_75_and_resume_continues_it(self):
        # The handlers used to be installed only before fine-tuning: a signal while the input
        # was read, the normalisation fitted or layers pretrained killed the ranks (exit 138).
        # Then pretraining had no checkpoint and started again from layer 1 on --resume.
        options = SMALL_NET + ["--epochs", "1", "--pretrain-epochs", "4",
                               "--checkpoint-every", "20"]
        straight = self.path("straight.h5")
        self.assertSucceeded(self.train(straight, options, ranks=2, timeout=240))
        output = self.path("pretrained.h5")
        metrics = self.path("metrics.jsonl")
        process = self.start_train(output, options + ["--metrics", metrics], ranks=2)
        self.wait_for(lambda: os.path.exists(metrics) and any(
            event.get("phase", "").startswith("pretrain") for event in json_lines(metrics)),
            "a pretraining epoch")
        process.send_signal(signal.SIGUSR1)
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(process.returncode, 75, stderr.decode())
        self.assertIn("pretraining", stderr.decode())
        self.assertIn("--resume", stderr.decode())
        self.assertFalse(os.path.exists(output))
        self.assertEqual(leftovers(self.tmp), [])
        checkpoints = [name for name in os.listdir(self.tmp) if ".pretrain-" in name]
        self.assertTrue(checkpoints, "no pretraining checkpoint")
        done_before = [e for e in json_lines(metrics) if e.get("event") == "epoch"]

        result = self.train(output, options + ["--resume", "--metrics", metrics], ranks=2,
                            timeout=240)
        self.assertSucceeded(result)
        self.assertEqual([name for name in os.listdir(self.tmp) if "checkpoint" in name], [],
                         "checkpoints left after completion")
        a, b = parameters(straight), parameters(output)
        for key in a:
            self.assertTrue(np.array_equal(a[key], b[key]), key)
        # Epochs finished before the stop are not trained again: 2 layers x 4 + 1 in all.
        done_after = [e for e in json_lines(metrics) if e.get("event") == "epoch"]
        self.assertEqual(len(done_after), 2 * 4 + 1, done_after)
        self.assertGreater(len(done_before), 0)

    def test_sigusr1_during_mpi_start_up_stops_with_75_and_resume_matches(self):
        # The signal used to kill the ranks (exit 138) until the input was being read; now
        # `train` takes it from main()'s first line (before MPI starts) and stops at its first
        # step with a checkpoint.
        options = SMALL_NET + ["--epochs", "2"]
        straight = self.path("straight.h5")
        self.assertSucceeded(self.train(straight, options, ranks=2, timeout=240))
        output = self.path("early.h5")
        process = self.start_train(output, options, ranks=2)
        sender = signal_ranks_from_start(process, signal.SIGUSR1)
        _, stderr = process.communicate(timeout=120)
        sender.join()
        self.assertEqual(process.returncode, 75, stderr.decode())
        self.assertIn("--resume", stderr.decode())
        self.assertTrue(os.path.exists(output + ".checkpoint"))
        self.assertSucceeded(self.train(output, options + ["--resume"], ranks=2, timeout=240))
        a, b = parameters(straight), parameters(output)
        for key in a:
            self.assertTrue(np.array_equal(a[key], b[key]), key)

    def test_resume_with_other_options_is_refused(self):
        output = self.path("m.h5")
        command = [MPIEXEC, "-n", "1"] + launcher_flags() + [
            AEPIPE, "train", "-q", "--input", self.data, "--output", output, "--epochs", "2"] + SMALL_NET
        process = subprocess.Popen(command, env=_mpi_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(output + ".checkpoint") and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGUSR1)
        process.communicate(timeout=60)
        result = self.train(output, SMALL_NET + ["--epochs", "2", "--lr", "0.01", "--resume"])
        self.assertFailed(result, code=2, mentions=["--resume", "other options"])

    def test_bad_inputs_fail_clearly(self):
        output = self.path("bad.h5")
        self.assertFailed(self.train(output, ["--arch", "100-10"], ranks=2), code=2,
                          mentions=["100", "784"], output=output)
        self.assertFailed(self.train(output, ["--arch", "784-x-10"]), code=2, mentions=["784-x-10"],
                          output=output)
        self.assertFailed(self.train(output, ["--arch", "784-10", "--sparsity", "kl"]), code=2,
                          mentions=["sigmoid"], output=output)
        not_data = self.path("model.h5")
        self.assertSucceeded(self.train(not_data, ["--arch", "pca:3"]))
        result = self.aepipe(["train", "-q", "--input", not_data, "--output", output, "--arch",
                              "784-10"], ranks=2)
        self.assertFailed(result, mentions=["'model'", "'data'"], output=output)
        result = self.aepipe(["evaluate", "--model", self.data, "--input", self.data], ranks=2)
        self.assertFailed(result, mentions=["'data'", "'model'"])

    def test_bf16_deep_model_is_within_2_percent_of_fp32(self):
        # The quality bar, on the deep Fashion-MNIST model (t10k: 8,000 training rows,
        # 2,000 validation rows, 2 epochs); the final validation figures are measured in fp32
        # (as encode and decode use the model), so they compare the two models. Training is
        # chaotic: two runs that differ only in rounding end apart by up to ~1% in loss and
        # ~3% in SSE either way this early (seeds 1-3 here: loss ratios 0.993-1.007, SSE
        # 0.967-1.031). So the objective (validation loss) must be within 2% and the SSE at
        # most 5% worse; bench/bf16_quality.sh measures the 20-epoch test SSE.
        native = bool(set(open("/proc/cpuinfo").read().split()) & {"avx512_bf16", "amx_bf16"})
        done = {}
        for precision in ("fp32", "bf16"):
            metrics = self.path(precision + ".jsonl")
            result = self.train(self.path(precision + ".h5"), [
                "--arch", "784-1000-500-250-30", "--epochs", "2", "--validation", "0.2",
                "--precision", precision, "--metrics", metrics], ranks=2, timeout=300)
            self.assertSucceeded(result)
            done[precision] = [e for e in json_lines(metrics) if e.get("event") == "done"][-1]
            if precision == "bf16" and not native:
                self.assertTrue(any("emulated" in line for line in result.warning_lines()),
                                result.describe())
        self.assertEqual(done["fp32"]["precision"], "fp32")
        self.assertEqual(done["bf16"]["precision"], "bf16")
        self.assertEqual(done["bf16"]["bf16_kernel"], "native" if native else "emulated")
        a, b = parameters(self.path("fp32.h5")), parameters(self.path("bf16.h5"))
        self.assertFalse(all(np.array_equal(a[key], b[key]) for key in a), "bf16 changed nothing")
        loss = done["bf16"]["validation_loss"] / done["fp32"]["validation_loss"]
        self.assertLess(abs(loss - 1.0), 0.02, done)
        sse = (done["bf16"]["validation_sse_per_image"] /
               done["fp32"]["validation_sse_per_image"])
        self.assertLess(sse, 1.05, done)

    def test_bf16_parameters_do_not_depend_on_the_rank_count(self):
        self.assertIdenticalAt124Ranks("bf16-", SMALL_NET + ["--epochs", "1", "--precision", "bf16"])

    def test_precision_auto_follows_the_cpu_and_others_are_refused(self):
        native = bool(set(open("/proc/cpuinfo").read().split()) & {"avx512_bf16", "amx_bf16"})
        metrics = self.path("auto.jsonl")
        self.assertSucceeded(self.train(self.path("auto.h5"), SMALL_NET + [
            "--epochs", "1", "--precision", "auto", "--metrics", metrics]))
        done = [e for e in json_lines(metrics) if e.get("event") == "done"][-1]
        self.assertEqual(done["precision"], "bf16" if native else "fp32")
        self.assertFailed(self.train(self.path("fp16.h5"), SMALL_NET + ["--precision", "fp16"]),
                          code=2, mentions=["--precision", "fp16"], output=self.path("fp16.h5"))

    def test_divergence_stops_naming_the_step(self):
        output = self.path("diverged.h5")
        result = self.train(output, SMALL_NET + ["--optimizer", "sgd", "--lr", "1e6",
                                                 "--loss", "mse", "--output-activation", "linear",
                                                 "--warmup", "0"], ranks=2)
        message = self.assertFailed(result, mentions=["diverged", "step"], output=output)
        self.assertIn("epoch 1", message)

    def test_kl_sparse_patches_reach_rho(self):
        photos = make_images(self.path("photos"), "--classes", "1", "--per-class", "6",
                             "--mixed", "40-80", "--flat")
        patches = self.path("patches.h5")
        self.assertSucceeded(self.aepipe(["ingest", "-q", "--input", photos, "--patches", "8",
                                          "--per-image", "500", "--output", patches], ranks=2))
        model = self.path("sparse.h5")
        result = self.aepipe(["train", "-q", "--input", patches, "--output", model, "--arch",
                              "64-25", "--activation", "sigmoid", "--code-activation", "sigmoid",
                              "--output-activation", "sigmoid", "--loss", "mse", "--sparsity",
                              "kl", "--rho", "0.05", "--beta", "3", "--weight-decay", "1e-4",
                              "--normalise", "patch", "--lr", "0.02", "--batch", "256",
                              "--epochs", "30", "--threads", "1"], ranks=2, timeout=240)
        self.assertSucceeded(result)
        with h5py.File(patches, "r") as f:
            pixels = f["images"][:]
        with h5py.File(model, "r") as f:
            limit = f["normalisation/scale"][0]
        x = pixels.reshape(len(pixels), -1).astype(np.float64) / 255.0
        x = x - x.mean(axis=1, keepdims=True)
        x = (np.clip(x, -limit, limit) / limit + 1) * 0.4 + 0.1
        with h5py.File(model, "r") as f:
            code = sigmoid(x @ f["encoder/0/W"][:].T + f["encoder/0/b"][:])
        self.assertLess(abs(code.mean() - 0.05) / 0.05, 0.25, code.mean())


if __name__ == "__main__":
    main()
