"""Helpers for the aepipe end-to-end tests (standard library unittest + h5py/numpy).

Environment (all optional; the defaults fit a build in <repo>/build):
  AEPIPE              the aepipe binary
  AEPIPE_MAKE_IMAGES  the aepipe_make_images test tool
  MPIEXEC             mpiexec/mpirun (default: mpiexec on PATH)
  AEPIPE_E2E_TIMEOUT  default timeout of one aepipe run, seconds (default 120)

Runs under Open MPI as root need OMPI_ALLOW_RUN_AS_ROOT=1 and
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; they are set here when running as root and missing.
"""

import concurrent.futures
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build")

AEPIPE = os.environ.get("AEPIPE") or os.path.join(BUILD, "aepipe")
MAKE_IMAGES = os.environ.get("AEPIPE_MAKE_IMAGES") or os.path.join(
    BUILD, "tests", "tools", "aepipe_make_images")
MPIEXEC = os.environ.get("MPIEXEC") or shutil.which("mpiexec") or shutil.which("mpirun") or "mpiexec"
DEFAULT_TIMEOUT = float(os.environ.get("AEPIPE_E2E_TIMEOUT", "120"))

FASHION = "/usr/share/datasets/fashion-mnist"
T10K_IMAGES = os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")
T10K_LABELS = os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")

TEMP_MARKER = ".aepipe-tmp-"
LAUNCHER_NOISE = re.compile(r"^\[warn\] Epoll [A-Z]+\(\d+\) on fd \d+ failed")
ERROR_LINE = re.compile(r"^aepipe: error: (?P<message>.*) \(rank (?P<rank>\d+)\)$")


def _mpi_env(extra=None):
    env = dict(os.environ)
    if os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    if extra:
        env.update(extra)
    return env


class Result:
    """One finished run: returncode, stdout, stderr (text), seconds, the command."""

    def __init__(self, command, returncode, stdout, stderr, seconds, timed_out):
        self.command = command
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.timed_out = timed_out

    def own_stderr_lines(self):
        """Non-empty stderr lines outside mpiexec's dashed banner boxes, without the warnings
        mpiexec's event library (libevent) sometimes prints while it tears down a failed job
        ("[warn] Epoll MOD(1) on fd 27 failed. ...: Bad file descriptor")."""
        lines, in_banner = [], False
        for line in self.stderr.splitlines():
            if re.fullmatch(r"-{20,}", line.strip()):
                in_banner = not in_banner
            elif not in_banner and line.strip() and not LAUNCHER_NOISE.match(line):
                lines.append(line)
        return lines

    def aepipe_lines(self):
        """stderr lines written by aepipe itself (not mpirun's banners)."""
        return [line for line in self.stderr.splitlines() if line.startswith("aepipe:")]

    def error_lines(self):
        return [line for line in self.stderr.splitlines() if line.startswith("aepipe: error:")]

    def warning_lines(self):
        return [line for line in self.stderr.splitlines() if line.startswith("aepipe: warning:")]

    def describe(self):
        return ("command: %s\nexit: %s%s after %.1f s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.command), self.returncode,
                   " (TIMED OUT)" if self.timed_out else "", self.seconds,
                   self.stdout[-4000:], self.stderr[-4000:]))


def run_command(command, timeout=None, cwd=None, env=None):
    """Runs a command in its own process group; on timeout the whole group is killed."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=_mpi_env(env), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # SIGTERM first: mpiexec then takes its ranks down with it; SIGKILL what is left.
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                stdout, stderr = process.communicate(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    return Result(command, process.returncode, stdout.decode("utf-8", "replace"),
                  stderr.decode("utf-8", "replace"), time.monotonic() - start, timed_out)


_LAUNCHER_FLAGS = None


def launcher_flags():
    """Extra mpiexec flags. Open MPI's mpirun waits odls_base_sigkill_timeout (1 s) between
    SIGTERM and SIGKILL when any rank exits non-zero, even after every rank has exited;
    0 makes failing runs return at once (the SIGTERM itself is unchanged)."""
    global _LAUNCHER_FLAGS
    if _LAUNCHER_FLAGS is None:
        version = run_command([MPIEXEC, "--version"], timeout=30)
        _LAUNCHER_FLAGS = []
        text = version.stdout + version.stderr
        if "Open MPI" in text or "OpenRTE" in text:
            _LAUNCHER_FLAGS = ["--mca", "odls_base_sigkill_timeout", "0"]
    return _LAUNCHER_FLAGS


def run_aepipe(args, ranks=1, timeout=None, cwd=None, env=None):
    """aepipe ARGS under mpiexec with RANKS processes; ranks=0 runs the binary directly
    (an MPI singleton)."""
    args = [str(a) for a in args]
    if ranks == 0:
        command = [AEPIPE] + args
    else:
        command = [MPIEXEC, "-n", str(ranks)] + launcher_flags()
        if ranks > (os.cpu_count() or 1):
            command.append("--oversubscribe")
        command += [AEPIPE] + args
    return run_command(command, timeout=timeout, cwd=cwd, env=env)


def signal_ranks_from_start(launcher, sig, every=0.005, seconds=60):
    """Sends `sig` to every aepipe process of `launcher`'s session (start it with
    start_new_session=True) from the moment it runs a second thread - inside main() at the
    latest, as MPI start-up creates threads - and again every `every` seconds until it exits:
    a stop signal that lands during MPI start-up, as Slurm's pre-timeout signal can in a job's
    first second. The loader starts no thread, so the signal never lands before main()
    (where nothing could take it). Returns the thread doing it; join() it after the launcher
    exits."""
    import threading

    def aepipe_ranks():
        ranks = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
                if os.readlink("/proc/%s/exe" % entry) != os.path.realpath(AEPIPE):
                    continue
            except OSError:
                continue
            # Fields after the parenthesised name: state ppid pgrp session ...
            if int(stat.rsplit(")", 1)[1].split()[3]) == launcher.pid:
                ranks.append(int(entry))
        return ranks

    def threads(pid):
        try:
            return len(os.listdir("/proc/%d/task" % pid))
        except OSError:
            return 0

    def send():
        deadline = time.monotonic() + seconds
        while launcher.poll() is None and time.monotonic() < deadline:
            for pid in aepipe_ranks():
                if threads(pid) >= 2:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            time.sleep(every)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def make_images(folder, *options):
    """Runs aepipe_make_images FOLDER OPTIONS...; raises on failure."""
    result = run_command([MAKE_IMAGES, str(folder)] + [str(o) for o in options], timeout=120)
    if result.returncode != 0:
        raise RuntimeError("aepipe_make_images failed:\n" + result.describe())
    return folder


def read_truth(path):
    """A --truth .raw file: int32 height, width, channels then uint8 pixels [H, W, C]."""
    with open(path, "rb") as f:
        data = f.read()
    height, width, channels = struct.unpack("<3i", data[:12])
    pixels = np.frombuffer(data[12:], dtype=np.uint8)
    assert pixels.size == height * width * channels, path
    return pixels.reshape(height, width, channels)


def truth_images(truth_dir):
    """{relative image path: pixels} for every .raw under TRUTH_DIR."""
    found = {}
    for root, _, files in os.walk(truth_dir):
        for leaf in files:
            if leaf.endswith(".raw"):
                full = os.path.join(root, leaf)
                found[os.path.relpath(full, truth_dir)[:-4]] = read_truth(full)
    return found


# ---- IDX files ---------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C}


def parse_idx_bytes(data):
    """Independent IDX parser: returns a numpy array."""
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError("bad IDX magic")
    ndim = data[3]
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    body = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError("IDX size mismatch")
    return body.reshape(dims)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return parse_idx_bytes(data)


def idx_bytes(array):
    array = np.ascontiguousarray(array)
    dtype = array.dtype if array.dtype.itemsize == 1 else array.dtype.newbyteorder(">")
    code = _IDX_CODES[np.dtype(dtype)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(">%dI" % array.ndim, *array.shape)
    return header + array.astype(dtype).tobytes()


def write_idx(path, array, compress=False):
    data = idx_bytes(array)
    if compress:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---- data files --------------------------------------------------------------------------

def _strings(dataset):
    return [s.decode("utf-8") if isinstance(s, bytes) else s for s in dataset[()]]


def read_data_file(path):
    """Everything in an aepipe `data` file, as plain Python/numpy values."""
    out = {"datasets": {}}
    with h5py.File(path, "r") as f:
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        for name in f:
            d = f[name]
            out["datasets"][name] = {
                "dtype": d.dtype, "shape": d.shape, "chunks": d.chunks,
                "compression": d.compression, "compression_opts": d.compression_opts,
            }
        out["images"] = f["images"][()] if "images" in f else None
        out["labels"] = f["labels"][()] if "labels" in f else None
        out["names"] = _strings(f["names"]) if "names" in f else None
        out["classes"] = _strings(f["classes"]) if "classes" in f else None
        out["tiles"] = f["tiles"][()] if "tiles" in f else None
        if "sources" in f:
            s = f["sources"][()]
            out["sources"] = [((n.decode() if isinstance(n, bytes) else n), int(h), int(w))
                              for n, h, w in zip(s["name"], s["height"], s["width"])]
        else:
            out["sources"] = None
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def leftovers(folder):
    """aepipe temporary files left in FOLDER."""
    return sorted(leaf for leaf in os.listdir(folder) if TEMP_MARKER in leaf)


def parse_error_line(text):
    m = ERROR_LINE.match(text)
    return (m.group("message"), int(m.group("rank"))) if m else None


class E2ETestCase(unittest.TestCase):
    """A TestCase with a fresh temporary folder (self.tmp) and aepipe assertions."""

    maxDiff = 4000

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="aepipe-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    # ---- running ----
    def aepipe(self, args, ranks=1, timeout=None, cwd=None):
        return run_aepipe(args, ranks=ranks, timeout=timeout, cwd=cwd)

    def aepipe_many(self, runs, timeout=None, workers=4):
        """Runs several independent aepipe commands at once: [(args, ranks), ...] -> results
        in the same order. Start-up of MPI dominates short runs and overlaps well."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_aepipe, args, ranks=ranks, timeout=timeout)
                       for args, ranks in runs]
            return [f.result() for f in futures]

    def ingest(self, args, ranks=1, output=None, timeout=None, quiet=True):
        """Runs `aepipe ingest ARGS --output OUTPUT`, asserts success, returns the file's
        contents (read_data_file)."""
        output = output or self.path("out.h5")
        full = ["ingest"] + list(args) + ["--output", output] + (["--quiet"] if quiet else [])
        result = self.aepipe(full, ranks=ranks, timeout=timeout)
        self.assertSucceeded(result)
        self.assertTrue(os.path.isfile(output), "no output %s\n%s" % (output, result.describe()))
        self.assertNoLeftovers(os.path.dirname(os.path.abspath(output)))
        data = read_data_file(output)
        data["result"] = result
        return data

    # ---- assertions ----
    def assertSucceeded(self, result):
        self.assertFalse(result.timed_out, "timed out\n" + result.describe())
        self.assertEqual(result.returncode, 0, "aepipe failed\n" + result.describe())
        self.assertEqual(result.error_lines(), [], result.describe())

    def assertFailed(self, result, code=1, mentions=(), output=None, max_seconds=None):
        """Exit CODE, exactly one `aepipe: error: ... (rank r)` line mentioning every string of
        MENTIONS, no file at OUTPUT and no temporary files beside it. Returns the message."""
        self.assertFalse(result.timed_out, "timed out\n" + result.describe())
        self.assertEqual(result.returncode, code, "wrong exit code\n" + result.describe())
        errors = result.error_lines()
        self.assertEqual(len(errors), 1, "expected exactly one error line\n" + result.describe())
        # Nothing else but warnings (of --skip-bad), however many ranks.
        others = [l for l in result.own_stderr_lines()
                  if l != errors[0] and not l.startswith("aepipe: warning:")]
        self.assertEqual(others, [], "stray stderr lines\n" + result.describe())
        parsed = parse_error_line(errors[0])
        self.assertIsNotNone(parsed, "malformed error line %r" % errors[0])
        message = parsed[0]
        for text in ([mentions] if isinstance(mentions, str) else mentions):
            self.assertIn(str(text), message, "error does not mention %r\n%s"
                          % (text, result.describe()))
        if output is not None:
            self.assertFalse(os.path.exists(output), "output %s exists after a failure" % output)
            self.assertNoLeftovers(os.path.dirname(os.path.abspath(output)))
        if max_seconds is not None:
            self.assertLess(result.seconds, max_seconds, "too slow to fail\n" + result.describe())
        return message

    def assertNoLeftovers(self, folder):
        self.assertEqual(leftovers(folder), [], "temporary files left in %s" % folder)

    def assertArrayEqual(self, actual, expected, what=""):
        actual = np.asarray(actual)
        expected = np.asarray(expected)
        self.assertEqual(actual.shape, expected.shape, "%s: shape" % what)
        if not np.array_equal(actual, expected):
            bad = np.argwhere(actual != expected)
            self.fail("%s: %d elements differ, first at %s: %r != %r"
                      % (what, len(bad), tuple(bad[0]), actual[tuple(bad[0])],
                         expected[tuple(bad[0])]))

    def assertSameData(self, a, b, keys=("images", "labels", "names", "classes", "tiles",
                                          "sources"), what=""):
        for key in keys:
            if a[key] is None or b[key] is None:
                self.assertIs(a[key], b[key], "%s %s present in only one file" % (what, key))
            elif isinstance(a[key], np.ndarray):
                self.assertArrayEqual(a[key], b[key], "%s /%s" % (what, key))
            else:
                self.assertEqual(a[key], b[key], "%s /%s" % (what, key))

    def assertDataAttributes(self, data, height, width, channels, rows, skipped=0):
        attrs = data["attrs"]
        self.assertEqual(attrs["aepipe_format"], "data")
        self.assertEqual(int(attrs["aepipe_version"]), 1)
        self.assertEqual(int(attrs["height"]), height)
        self.assertEqual(int(attrs["width"]), width)
        self.assertEqual(int(attrs["channels"]), channels)
        self.assertEqual(int(attrs["rows"]), rows)
        self.assertEqual(int(attrs["skipped_inputs"]), skipped)
        self.assertTrue(str(attrs["created_by"]).startswith("aepipe "), attrs["created_by"])
        self.assertIsInstance(attrs["source"], str)
        images = data["datasets"]["images"]
        self.assertEqual(images["dtype"], np.uint8)
        self.assertEqual(images["shape"], (rows, height, width, channels))
        self.assertIsNotNone(images["chunks"], "/images is not chunked")
        self.assertEqual(len(data["names"]), rows)
        self.assertEqual(data["datasets"]["names"]["dtype"].kind, "O")
        if data["labels"] is not None:
            self.assertEqual(data["datasets"]["labels"]["dtype"], np.int32)
            self.assertEqual(data["labels"].shape, (rows,))


def main():
    require_tools()
    unittest.main(verbosity=2)


def json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def require_tools():
    missing = [p for p in (AEPIPE, MAKE_IMAGES) if not os.access(p, os.X_OK)]
    if missing:
        sys.exit("aepipe e2e: not built: %s (set AEPIPE / AEPIPE_MAKE_IMAGES)" % ", ".join(missing))
