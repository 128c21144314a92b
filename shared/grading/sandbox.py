"""The grader's side of the sandbox: limits, the kernel's environment and files, a watchdog.

Each submission runs on its own Jupyter kernel, started through
:mod:`shared.grading.launch` with a configuration written here:

* **what the kernel sees**: the course checkout (with its answer key,
  solutions and reference implementations), the grader's home, ``/tmp`` and
  the submissions' folders are hidden; the kernel gets its own working folder
  (a copy of the submission), the Python environment (read-only) and a
  *runtime copy* of the course package that holds only what exercise
  notebooks import (:data:`RUNTIME_FILES`: checks without key, setup, seeds,
  budgets, plots), read-only;
* **who it is**: when the grader runs as root, an unprivileged uid/gid of its
  own (:data:`BASE_UID` + slot); otherwise, an unprivileged user namespace
  without capabilities;
* **its environment**: an allow-list (:data:`PASSED_ENV`) plus the variables
  the kernel needs; ``HOME`` and ``TMPDIR`` inside its working folder; the
  grader's other variables (tokens, credentials) are not passed;
* **limits** (:class:`Limits`): wall time, memory (proportional set size of all its
  processes), processes, output size, file size; the :class:`Watchdog` kills
  every process of a submission that breaches one and says which.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LAUNCHER = Path(__file__).resolve().parent / "launch.py"

#: The course files a grading kernel may import (relative to the repository root).
RUNTIME_FILES = ("shared/__init__.py", "shared/budget.py", "shared/seed.py", "shared/setup.py",
                 "shared/plotting.py", "shared/checks", "shared/projects/__init__.py",
                 "shared/projects/models.py", "shared/projects/fingerprint.py")

#: Variables of the grader's environment that the kernel inherits (nothing else is passed).
PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ",
              "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS")

#: The uids/gids of submissions when the grader runs as root: one per running submission,
#: leased with a lock file so that parallel graders on one machine never share one.
BASE_UID = 61000
UID_COUNT = 1000
LEASE_DIR = Path("/run/lock/course-grading") if Path("/run/lock").is_dir() else Path("/tmp/.course-grading")


class UidLease:
    """An exclusive lease on one submission uid (``flock`` on ``LEASE_DIR/<uid>``)."""

    def __init__(self) -> None:
        self.uid: int | None = None
        self._file = None

    def __enter__(self) -> "UidLease":
        import fcntl

        LEASE_DIR.mkdir(parents=True, exist_ok=True)
        for uid in range(BASE_UID, BASE_UID + UID_COUNT):
            f = open(LEASE_DIR / str(uid), "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            if any(_proc_status(p).get("Uid", "").split("\t")[:1] == [str(uid)]
                   for p in os.listdir("/proc") if p.isdigit()):
                f.close()  # leftovers of a grader that was killed: skip this uid
                continue
            self.uid, self._file = uid, f
            return self
        raise RuntimeError(f"no free submission uid in {BASE_UID}..{BASE_UID + UID_COUNT - 1}")

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()


@dataclass(frozen=True)
class Limits:
    """Per-submission limits (``None`` or 0: no limit)."""

    wall_seconds: float = 900.0
    cell_seconds: int = 600
    memory_mb: int = 4096
    processes: int = 64
    threads: int = 2048
    output_mb: float = 20.0
    file_mb: int = 512

    def launcher_limits(self) -> dict:
        return {"file_bytes": int(self.file_mb) * 2 ** 20 if self.file_mb else 0,
                "threads": int(self.threads) if self.threads else 0}


def namespaces_available() -> tuple[bool, str]:
    """Whether this machine can run the sandbox (Linux mount namespaces), and why not."""
    if not sys.platform.startswith("linux"):
        return False, f"the sandbox needs Linux namespaces; this is {sys.platform}"
    import subprocess

    probe = subprocess.run([sys.executable, str(LAUNCHER), "--probe"], capture_output=True, text=True)
    if probe.returncode == 0:
        return True, ""
    return False, (probe.stderr.strip().splitlines() or ["unknown error"])[-1]


def build_runtime(folder: Path, extra_modules: list[Path] | None = None) -> Path:
    """Copy the keyless course runtime to ``folder`` (read-only to everybody); return it."""
    for rel in RUNTIME_FILES:
        src, dst = REPO_ROOT / rel, folder / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(src, dst)
    for module in extra_modules or []:
        shutil.copyfile(module, folder / module.name)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)
    return folder


def kernel_env(workdir: Path, runtime: Path, full: bool, passed: tuple[str, ...] = PASSED_ENV) -> dict[str, str]:
    """The kernel's whole environment: the allow-list plus what the kernel needs."""
    home = workdir / "home"
    env = {k: os.environ[k] for k in passed if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update({
        "HOME": str(home), "TMPDIR": str(home / "tmp"), "XDG_CACHE_HOME": str(home / ".cache"),
        "MPLCONFIGDIR": str(home / ".matplotlib"), "IPYTHONDIR": str(home / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".jupyter-data"),
        "PYTHONPATH": str(runtime), "PYTHONDONTWRITEBYTECODE": "1",
        "COURSE_QUICK": "0" if full else "1", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    })
    return env


def hidden_paths(extra: list[Path]) -> list[str]:
    """Folders the kernel must not see (those that exist)."""
    candidates = [REPO_ROOT, Path.home(), Path("/root"), Path("/home"), Path("/tmp"), Path("/var/tmp"),
                  Path("/dev/shm"), Path("/run/user"), Path.cwd(), *extra]
    out = []
    for p in candidates:
        p = Path(p).resolve()
        if p.is_dir() and str(p) not in ("/", "/usr", "/bin", "/lib", "/lib64", "/etc", "/proc", "/dev", "/sys"):
            out.append(str(p))
    return sorted(set(out))


def write_kernel_spec(folder: Path, config: dict, name: str = "course-sandbox") -> Path:
    """A kernel spec whose command is the launcher; returns the kernels folder."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "sandbox.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    config_path.chmod(0o644)
    spec_dir = folder / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, str(LAUNCHER), str(config_path), "--", sys.executable, "-m",
                     "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Grading sandbox", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return folder / "kernels"


def chown_tree(path: Path, uid: int, gid: int) -> None:
    """``chown -R`` (only as root)."""
    if os.geteuid() != 0:
        return
    os.chown(path, uid, gid)
    for p in path.rglob("*"):
        os.lchown(p, uid, gid)


# ---------------------------------------------------------------------------
# Watchdog
# ---------------------------------------------------------------------------

def _proc_status(pid: str) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


@dataclass
class Watchdog:
    """Polls the submission's processes; kills them all on a breach and remembers why.

    With a dedicated uid (grader as root) the submission's processes are all
    processes of that uid, wherever they were reparented; otherwise the
    kernel's process tree.
    """

    limits: Limits
    uid: int | None
    interval: float = 0.2
    reason: str | None = None
    peak_rss_mb: float = 0.0
    peak_processes: int = 0
    kernel_pid: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _start: float = 0.0

    def pids(self) -> list[int]:
        if self.uid is not None:
            out = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    status = _proc_status(entry)
                    if status.get("Uid", "").split("\t")[:1] == [str(self.uid)]:
                        out.append(int(entry))
            return out
        if self.kernel_pid is None:
            return []
        seen, todo = [], [self.kernel_pid]
        while todo:
            pid = todo.pop()
            if pid not in seen and os.path.exists(f"/proc/{pid}"):
                seen.append(pid)
                todo += _children(pid)
        return seen

    def memory_mb(self, pids: list[int]) -> float:
        """Proportional set size (shared pages split between the processes that share them)
        of all the submission's processes, MB: forked children are not counted twice."""
        total = 0.0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    kb = next((line.split()[1] for line in f if line.startswith("Pss:")), "0")
            except OSError:
                kb = _proc_status(str(pid)).get("VmRSS", "0 kB").split()[0]
            total += int(kb) / 1024 if kb.isdigit() else 0.0
        return total

    def kill_all(self, reason: str | None = None) -> None:
        """SIGKILL every process of the submission (repeatedly, for fork bombs)."""
        if reason and self.reason is None:
            self.reason = reason
        for _ in range(50):
            pids = [p for p in self.pids() if p != os.getpid()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)

    def _run(self) -> None:
        lim = self.limits
        while not self._stop.wait(self.interval):
            pids = self.pids()
            if not pids:
                continue
            self.peak_processes = max(self.peak_processes, len(pids))
            if lim.processes and len(pids) > lim.processes:
                self.kill_all(f"processes:{lim.processes}")
                continue
            memory = self.memory_mb(pids)
            self.peak_rss_mb = max(self.peak_rss_mb, memory)
            if lim.memory_mb and memory > lim.memory_mb:
                self.kill_all(f"memory:{lim.memory_mb}")
            elif lim.wall_seconds and time.monotonic() - self._start > lim.wall_seconds:
                self.kill_all(self._time_reason())

    def _time_reason(self) -> str:
        """Why the submission is stopped at its time limit: its processes, if it has too many now.

        A fork bomb can starve this thread of CPU: a scan of ``/proc`` that began before it
        may end after the time limit with a stale, small count. Counting again before the
        kill names the breach the student can act on.
        """
        lim = self.limits
        count = len(self.pids())
        self.peak_processes = max(self.peak_processes, count)
        if lim.processes and count > lim.processes:
            return f"processes:{lim.processes}"
        return f"time:{lim.wall_seconds:g}"

    def start(self) -> None:
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
