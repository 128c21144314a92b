"""Environment preparation called by the first code cell of every notebook.

On a fresh Google Colab runtime the first cell clones the repository (so that
``shared`` is importable) and then calls :func:`prepare`, which

* installs only the packages that are *missing* (Colab already has TensorFlow
  and PyTorch: they are never reinstalled), at the versions pinned in
  ``requirements.txt``;
* says so, in one line per package, when an installed version is outside the
  range the compatibility matrix tested (``shared/supported.json``, written by
  ``make test-compat``), and what to do;
* starts TensorFlow with its C++ start-up lines filtered out (:func:`start_tensorflow`: CUDA
  look-ups and ``failed call to cuInit`` on a machine without a GPU, CPU-instruction and oneDNN
  notes, absl's "All log messages before absl::InitializeLog()"), which would otherwise fill the
  terminal of the Jupyter server and the notebook; every other line, and every Python exception,
  still shows. Unless the user set it, ``TF_CPP_MIN_LOG_LEVEL`` is 2: TensorFlow's own C++
  information and warnings are not printed, its errors are;
* tells the reader whether a GPU is available and what to expect without one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

#: import name -> distribution name in requirements.txt
PACKAGES: dict[str, str] = {
    "numpy": "numpy",
    "scipy": "scipy",
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
    "torch": "torch",
    "tensorflow": "tensorflow-cpu",
    "keras": "keras",
    "tensorflow_probability": "tensorflow-probability",
    "tf_keras": "tf-keras",
}

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pinned_versions(path: str | None = None) -> dict[str, str]:
    """Read ``name==version`` pins from ``requirements.txt``."""
    path = path or os.path.join(_ROOT, "requirements.txt")
    pins: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
            if m:
                pins[m.group(1).lower()] = m.group(2)
    return pins


def missing_modules(modules: list[str]) -> list[str]:
    """Return the modules of ``modules`` that cannot be imported."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def install_specs(modules: list[str], pins: dict[str, str]) -> list[str]:
    """pip requirement strings for the given (missing) modules.

    TensorFlow is requested as ``tensorflow`` on a machine that has none
    (the CPU-only wheel ``tensorflow-cpu`` is what the course pins locally).
    """
    specs = []
    for module in modules:
        if module not in PACKAGES:
            raise ValueError(f"unknown module {module!r}; known: {sorted(PACKAGES)}")
        dist = PACKAGES[module]
        version = pins.get(dist)
        name = install_name(dist)
        specs.append(f"{name}=={version}" if version else name)
    return specs


#: The range of versions the compatibility matrix passed (``make test-compat`` writes it).
SUPPORTED_FILE = os.path.join(_ROOT, "shared", "supported.json")
#: Not checked: the matrix runs one PyTorch only (the pinned CPU build; others pull GBs of CUDA packages).
UNCHECKED = ("torch",)


def install_name(dist: str) -> str:
    """The name to install ``dist`` by on any machine: ``tensorflow`` for the CPU-only ``tensorflow-cpu``."""
    return "tensorflow" if dist == "tensorflow-cpu" else dist


def installed_version(dist: str) -> str | None:
    """The installed version of ``dist`` (``tensorflow-cpu`` also answers for ``tensorflow``), or ``None``."""
    from importlib import metadata

    for name in dict.fromkeys((dist, install_name(dist))):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def machine_record() -> dict[str, str | int | None]:
    """What a stored result records about where it was made: Python, CPU count, the frameworks' versions."""
    import platform

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            **{name: installed_version(dist) for name, dist in
               (("numpy", "numpy"), ("tensorflow", "tensorflow-cpu"), ("keras", "keras"), ("torch", "torch"))}}


def _version_key(version: str) -> tuple:
    """``"2.19.0rc1"`` -> ``(2, 19, 0)``: numeric release parts, enough to compare releases."""
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0].split("rc")[0])[:3])


def version_warnings(installed: dict[str, str | None] | None = None,
                     supported: dict[str, dict[str, str]] | None = None) -> list[str]:
    """One line per installed package outside the range the compatibility matrix passed.

    Parameters
    ----------
    installed : dict, optional
        Distribution -> installed version (``None``: not installed); default: this environment's.
    supported : dict, optional
        Distribution -> ``{"min": ..., "max": ...}``; default: ``shared/supported.json``.
    """
    if supported is None:
        if not os.path.exists(SUPPORTED_FILE):
            return []
        import json

        with open(SUPPORTED_FILE, encoding="utf-8") as f:
            supported = json.load(f)["versions"]
    lines = []
    for dist, tested in supported.items():
        if dist in UNCHECKED:
            continue
        version = installed.get(dist) if installed is not None else installed_version(dist)
        if version is None:
            continue
        name = install_name(dist)
        low, high = tested["min"], tested["max"]
        span = f"{low}" if low == high else f"{low} to {high}"
        if _version_key(version) < _version_key(low):
            lines.append(f"Note: {name} {version} is older than the course has tested ({span}): if a cell fails, "
                         f"run `%pip install {name}=={low}` and restart the session.")
        elif _version_key(version) > _version_key(high):
            lines.append(f"Note: {name} {version} is newer than the course has tested ({span}): if a cell fails, "
                         f"run `%pip install {name}=={high}`, restart the session, and tell the course's authors.")
    return lines


#: A line TensorFlow's C++ code writes to stderr while it starts, in either of its log formats
#: (``I0000 00:00:1796539229.07 18696 cudart_stub.cc:31] ...`` or ``2026-12-06 08:14:08.81: I
#: external/.../cudart_stub.cc:32] ...``): the prefix, then the file and what it says.
_LOG_PREFIX = r"(?:[IWE]\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: [IWE] (?:\S+/)?)"
#: What :func:`start_tensorflow` does not pass on: said at every start on a machine without a GPU, or
#: by every start of some releases (plugins registered twice), and nothing to act on.
STARTUP_NOISE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
    rf"|{_LOG_PREFIX}(?:"
    r"cudart_stub\.cc:\d+\] (?:Could not find cuda drivers on your machine|Ignore above cudart dlerror)"
    r"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized to use available CPU instructions"
    r"|port\.cc:\d+\] oneDNN custom operations are on"
    r"|cuda_(?:dnn|fft|blas)\.cc:\d+\] Unable to register cu\w+ factory: Attempting to register factory"
    r"|computation_placer\.cc:\d+\] computation placer already registered"
    r"|dso_loader\.cc:\d+\] Could not load dynamic library '?lib(?:cuda|cudart|cublas|cudnn|nvinfer|cufft|cusparse)"
    r"|py_utils\.cc:\d+\] TF-TRT Warning: Could not find TensorRT"
    r").*)$")
#: The same on a machine without an NVIDIA GPU only: there, the look-up of a GPU is bound to fail.
NO_GPU_NOISE = re.compile(rf"^{_LOG_PREFIX}(?:cuda_(?:platform|driver)\.cc:\d+\] failed call to cuInit"
                          r"|cuda_diagnostics\.cc:\d+\] ).*$")
#: Modules whose import starts TensorFlow.
TENSORFLOW_MODULES = ("tensorflow", "keras", "tensorflow_probability", "tf_keras")


def nvidia_driver_present() -> bool:
    """``True`` when the machine has an NVIDIA driver (``nvidia-smi`` or its device files)."""
    return shutil.which("nvidia-smi") is not None or os.path.exists("/proc/driver/nvidia")


def is_startup_noise(line: str, gpu_machine: bool) -> bool:
    """``True`` for a line of TensorFlow's start-up that helps nobody (see :data:`STARTUP_NOISE`)."""
    line = line.rstrip("\r\n")
    return bool(STARTUP_NOISE.match(line) or (not gpu_machine and NO_GPU_NOISE.match(line)))


def _forward(read_fd: int, write_fd: int, gpu_machine: bool) -> None:
    """Copy the lines of ``read_fd`` to ``write_fd`` as they come, but TensorFlow's start-up noise."""
    pending = b""
    with os.fdopen(read_fd, "rb", buffering=0) as source:
        while True:
            chunk = source.read(65536)
            if chunk:
                *lines, pending = (pending + chunk).split(b"\n")
            else:  # the end: a last line without its newline, if any
                lines, pending = [pending] if pending else [], b""
            kept = b"".join(l + b"\n" for l in lines
                            if not is_startup_noise(l.decode("utf-8", "replace"), gpu_machine))
            try:
                if kept:
                    os.write(write_fd, kept)
            except OSError:
                pass
            if not chunk:
                return


@contextlib.contextmanager
def quiet_startup(gpu_machine: bool | None = None) -> Iterator[None]:
    """Within this block, what is written to this process's stderr (file descriptor 2, where C++ code
    writes) goes through a filter: the lines of TensorFlow's start-up (:func:`is_startup_noise`) are
    dropped, every other line is passed on as it comes (an error, a crash's last words). Python's own
    ``sys.stderr`` in a Jupyter kernel goes to the notebook, not to file descriptor 2: untouched.

    Parameters
    ----------
    gpu_machine : bool, optional
        Whether the machine has an NVIDIA driver (default: :func:`nvidia_driver_present`); on a machine
        that has one, a failed look-up of the GPU is an error to show.
    """
    gpu_machine = nvidia_driver_present() if gpu_machine is None else gpu_machine
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to filter (e.g. pythonw)
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_forward, args=(read_fd, saved, gpu_machine), daemon=True,
                              name="course-stderr-filter")
    thread.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the thread reads to the end, then stops
        thread.join(timeout=10)
        if not thread.is_alive():  # (a child process that kept the pipe open: leave the thread its fd)
            os.close(saved)


def start_tensorflow() -> None:
    """Import TensorFlow and let it look for a GPU, its start-up lines filtered (:func:`quiet_startup`).

    TensorFlow prints them when it is imported and when it first looks for devices; both happen here,
    once per process. Exceptions propagate as usual.
    """
    if "tensorflow" in sys.modules:
        return
    with quiet_startup():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


def has_gpu() -> bool:
    """``True`` when PyTorch or TensorFlow (if imported) sees a GPU."""
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            return True
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return True
    return shutil.which("nvidia-smi") is not None


def prepare(needs: list[str], cpu_minutes: float | None = None, notebook: str | None = None) -> None:
    """Install what is missing and report on the hardware.

    Parameters
    ----------
    needs : list of str
        Import names the notebook uses, e.g. ``["torch", "tensorflow_probability"]``.
    cpu_minutes : float, optional
        Approximate run time of the whole notebook on a 2-core CPU with the full
        budgets, printed when no GPU is found (a measured ``notebook`` estimate wins).
    notebook : str, optional
        The notebook's key in ``shared/timings.json`` (``"book/gan"`` for both
        language twins of the GAN chapter): its run time on a 2-core CPU with
        the full budgets, as the last full build measured it, is printed when no
        GPU is found.

    Nothing is returned, so that the notebook cell shows only the report.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow's C++ library loads
    missing = missing_modules(needs)
    specs = install_specs(missing, pinned_versions()) if missing else []
    if specs:
        print("Installing missing packages:", " ".join(specs))
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *specs], check=True)
        importlib.invalidate_caches()
    in_colab = "google.colab" in sys.modules
    where = "Colab" if in_colab else "local"
    print(f"Course setup OK ({where}; Python {sys.version.split()[0]}).")
    for line in version_warnings():
        print(line)
    if set(needs) & set(TENSORFLOW_MODULES):
        start_tensorflow()
    if notebook is not None:
        from shared import timings
        cpu_minutes = timings.estimate(notebook) or cpu_minutes
    if not has_gpu() and cpu_minutes is not None:
        print(f"No GPU: fine for this notebook, about {cpu_minutes:g} min on a 2-core CPU.")
