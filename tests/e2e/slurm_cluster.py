"""A real single-node Slurm for the end-to-end tests (standard library only).

    env = slurm_cluster.ensure_cluster()          # or unittest.SkipTest with the reason
    job = slurm_cluster.submit("slurm/ingest.sbatch", ["--input", path], env,
                               ["--chdir", REPO, "--output", log])
    info = slurm_cluster.wait_job(job, timeout=120, env=env)
    assert info["JobState"] == "COMPLETED", slurm_cluster.log_tail(info)
    slurm_cluster.stop_cluster()                  # e.g. in tearDownModule

The cluster is slurm/local-cluster.sh (state under $AEPIPE_SLURM_DIR, default
/var/lib/aepipe-slurm). ensure_cluster() starts it when it is down; stop_cluster() stops it
only when a process using this module started it and no other process using this module (a
parallel ctest, say) still has it in use. A cluster that was up before is never stopped.

wait_job() returns the job's `scontrol show job -o` fields as a dict of strings (JobState,
ExitCode, Restarts, Reason, StdOut, StdErr, BatchFlag, ArrayJobId, ArrayTaskId, ...) plus
"tasks": the records of every task of an array job (a list of one record for a plain job).
"""

import fcntl
import os
import re
import subprocess
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "slurm", "local-cluster.sh")
STATE_DIR = os.environ.get("AEPIPE_SLURM_DIR") or "/var/lib/aepipe-slurm"
START_TIMEOUT = float(os.environ.get("AEPIPE_SLURM_START_TIMEOUT_TOTAL", "600"))

TERMINAL_STATES = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
    "BOOT_FAIL", "DEADLINE",
})

REQUEUE_RELEASE_DELAY = 2.0  # seconds a requeued job is seen pending before it is released

_USERS_DIR = os.path.join(STATE_DIR, "helper-users")   # one file per process using the cluster
_STARTED_MARK = os.path.join(STATE_DIR, "helper-started")  # a helper started it
_registered = False


def _run(cmd, env=None, timeout=60):
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, check=False)


class _Lock:
    """Serialises the helper's bookkeeping between processes."""

    def __enter__(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        self._file = open(os.path.join(STATE_DIR, "helper.lock"), "w")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


def _live_users():
    users = []
    for name in os.listdir(_USERS_DIR) if os.path.isdir(_USERS_DIR) else []:
        if name.isdigit() and os.path.exists(f"/proc/{name}"):
            users.append(int(name))
        else:
            os.unlink(os.path.join(_USERS_DIR, name))  # a process that ended without stopping
    return users


def cluster_env(base=None):
    """The environment for Slurm clients: base (default os.environ) plus SLURM_CONF, and the
    Open MPI run-as-root switches when running as root (jobs inherit the environment)."""
    env = dict(os.environ if base is None else base)
    env["SLURM_CONF"] = os.path.join(STATE_DIR, "etc", "slurm.conf")
    if os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


def ensure_cluster():
    """Starts the local cluster when it is down; returns the client environment
    (see cluster_env). Raises unittest.SkipTest with the reason when Slurm cannot run."""
    global _registered
    if os.geteuid() != 0:
        raise unittest.SkipTest("local Slurm cluster needs root (slurm/local-cluster.sh)")
    if not os.access(SCRIPT, os.X_OK):
        raise unittest.SkipTest(f"{SCRIPT} missing or not executable")
    with _Lock():
        status = _run([SCRIPT, "status"])
        if status.returncode != 0:
            try:
                start = _run([SCRIPT, "start"], timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise unittest.SkipTest(
                    f"local Slurm cluster: start took over {START_TIMEOUT:.0f}s") from None
            if start.returncode != 0:
                lines = (start.stderr or start.stdout).strip().splitlines()
                reason = lines[-1] if lines else f"exit status {start.returncode}"
                detail = "\n".join(lines[-20:-1])
                raise unittest.SkipTest(f"local Slurm cluster cannot start: {reason}"
                                        + (f"\n{detail}" if detail else ""))
            if not _live_users():
                open(_STARTED_MARK, "w").close()
        if not _registered:
            os.makedirs(_USERS_DIR, exist_ok=True)
            open(os.path.join(_USERS_DIR, str(os.getpid())), "w").close()
            _registered = True
    return cluster_env()


def stop_cluster():
    """Stops the cluster if a helper process started it and no other one still uses it."""
    global _registered
    if not _registered:
        return
    with _Lock():
        try:
            os.unlink(os.path.join(_USERS_DIR, str(os.getpid())))
        except FileNotFoundError:
            pass
        _registered = False
        if _live_users() or not os.path.exists(_STARTED_MARK):
            return
        result = _run([SCRIPT, "stop"], timeout=180)
        if result.returncode != 0:
            raise AssertionError(f"slurm/local-cluster.sh stop failed:\n{result.stderr}")
        os.unlink(_STARTED_MARK)


def submit(script, args=(), env=None, sbatch_options=(), cwd=None):
    """sbatch [sbatch_options] script [args] -> the job id (a string, e.g. "12").
    script=None submits no file (give --wrap=COMMAND in sbatch_options). cwd is where sbatch
    runs: the job's SLURM_SUBMIT_DIR (--chdir sets only the job's working directory)."""
    cmd = ["sbatch", "--parsable", *sbatch_options]
    if script is not None:
        cmd += [str(script), *map(str, args)]
    result = subprocess.run(cmd, env=env if env is not None else cluster_env(), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=60, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    job_id = result.stdout.strip().splitlines()[-1].split(";")[0] if result.stdout.strip() else ""
    if not re.fullmatch(r"\d+(_\d+)?", job_id):
        raise AssertionError(f"sbatch printed no job id: {result.stdout!r} {result.stderr!r}")
    return job_id


_FIELD_START = re.compile(r"\s+(?=[A-Za-z][\w:/]*=)")


def parse_record(line):
    """One `scontrol show job -o` line -> {field: value}. Values may contain '=' (TRES=...)."""
    record = {}
    for item in _FIELD_START.split(line.strip()):
        key, sep, value = item.partition("=")
        if sep:
            record[key] = value
    return record


def show_job(job_id, env=None):
    """The records of `scontrol show job -o job_id` (one per array task), [] if unknown."""
    result = _run(["scontrol", "show", "job", "-o", str(job_id)],
                  env=env if env is not None else cluster_env())
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:
            return []
        raise AssertionError(f"scontrol show job {job_id} failed:\n{result.stderr}")
    return [parse_record(line) for line in result.stdout.splitlines() if line.strip()]


def _state(record):
    return record.get("JobState", "").split("+")[0]


def _task_key(record):
    task = record.get("ArrayTaskId", "")
    return (int(task) if task.isdigit() else -1, record.get("JobId", ""))


def _tail(path, lines):
    try:
        with open(path, errors="replace") as file:
            return "".join(file.readlines()[-lines:])
    except OSError as error:
        return f"({error.strerror}: {path})\n"


def log_tail(info, lines=30):
    """The last lines of the job's StdOut (and StdErr when separate), for every task."""
    parts = []
    for record in info.get("tasks") or [info]:
        for key in ("StdOut", "StdErr"):
            path = record.get(key)
            if not path or (key == "StdErr" and path == record.get("StdOut")):
                continue
            parts.append(f"---- {key} of job {record.get('JobId')} ({path}):\n"
                         + _tail(path, lines))
    return "".join(parts)


def wait_job(job_id, timeout=300, env=None, release_begin_time=False, poll=0.5):
    """Waits until the job, or every task of an array job, is in a terminal state; returns the
    fields of job_id's record plus "tasks" (all records, by array task). With
    release_begin_time, a requeued job (Restarts > 0) pending with Reason=BeginTime is started
    early (`scontrol update JobId=J StartTime=now`, 2 s after it is first seen pending: a
    relaunch within the second of the requeue fails). Without it, the local cluster restarts
    a requeued job after about 12 s (AuthInfo=cred_expire=10). Raises AssertionError with the log tail
    on timeout, or when the job is unknown to slurmctld."""
    env = env if env is not None else cluster_env()
    deadline = time.monotonic() + timeout
    released = set()
    pending_since = {}
    records = []
    while True:
        records = show_job(job_id, env)
        if not records:
            raise AssertionError(f"job {job_id} is unknown to slurmctld (never existed or purged)")
        if all(_state(record) in TERMINAL_STATES for record in records):
            break
        if release_begin_time:
            now = time.monotonic()
            for record in records:
                key = (record.get("JobId"), record.get("Restarts"))
                if (_state(record) != "PENDING" or record.get("Reason") != "BeginTime"
                        or record.get("Restarts", "0") == "0" or key in released):
                    continue
                # Not at once: slurmd refuses ("Job credential revoked") and the job FAILS
                # when the relaunch comes within the same second as the requeue.
                if now - pending_since.setdefault(key, now) >= REQUEUE_RELEASE_DELAY:
                    _run(["scontrol", "update", f"JobId={record['JobId']}", "StartTime=now"],
                         env=env)
                    released.add(key)
        if time.monotonic() > deadline:
            info = _summary(job_id, records)
            states = ", ".join(f"{r.get('JobId')}={r.get('JobState')}({r.get('Reason')})"
                               for r in info["tasks"])
            raise AssertionError(f"job {job_id} not finished after {timeout}s: {states}\n"
                                 + log_tail(info))
        time.sleep(poll)
    return _summary(job_id, records)


def _summary(job_id, records):
    records = sorted(records, key=_task_key)
    main = next((r for r in records if r.get("JobId") == str(job_id)), records[0])
    info = dict(main)
    info["tasks"] = records
    return info
