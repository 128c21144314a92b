"""Environment preparation called by the first code cell of every notebook.

On a fresh Google Colab runtime the first cell clones the repository (so that
``shared`` is importable) and then calls :func:`prepare`, which

* installs only the packages that are *missing* (Colab already has TensorFlow
  and PyTorch: they are never reinstalled), at the versions pinned in
  ``requirements.txt``;
* says so, in one line per package, when an installed version is outside the
  range the compatibility matrix tested (``shared/supported.json``, written by
  ``make test-compat``), and what to do;
* tells the reader whether a GPU is available and what to expect without one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys

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
    if notebook is not None:
        from shared import timings
        cpu_minutes = timings.estimate(notebook) or cpu_minutes
    if not has_gpu() and cpu_minutes is not None:
        print(f"No GPU: fine for this notebook, about {cpu_minutes:g} min on a 2-core CPU.")
