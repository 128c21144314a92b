"""Helpers shared by the graded projects' end-to-end tests (tests/test_projects*.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: ``make test-projects`` sets ``COURSE_PROJECTS_FULL=1``: the projects' solutions then train at their full
#: budget (several minutes each on 2 cores for the GAN and the VAE) and must earn full marks. In ``make test``
#: they train at the quick budget and must be *graded* (every part measured, none refused), which keeps CI
#: within its 20 minutes.
FULL_PROJECTS = os.environ.get("COURSE_PROJECTS_FULL") == "1"


def run_notebook(path: Path, cwd: Path, quick: bool) -> None:
    """Execute ``path`` in a fresh kernel with its working directory ``cwd``; save it there."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    before = {k: os.environ.get(k) for k in ("COURSE_QUICK", "PYTHONPATH")}
    os.environ.update(COURSE_QUICK="1" if quick else "0", PYTHONPATH=str(ROOT))   # the kernel inherits them
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nbformat.write(nb, cwd / path.name)


def make_folders(base: Path, stem: str, names: list[str]) -> dict[str, Path]:
    """One submission folder per name; every one but ``solution`` holds the blank exercise notebook."""
    blank = ROOT / "exercises" / "en" / f"{stem}.ipynb"
    folders = {}
    for name in names:
        folders[name] = base / name
        folders[name].mkdir()
        if name != "solution":
            (folders[name] / f"{stem}.ipynb").write_bytes(blank.read_bytes())
    return folders


def grade(folders: list[Path], out: Path) -> dict[str, dict]:
    """Grade the folders with the CLI (``-j 2``, seed 11); results by folder name."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "shared.grading", *map(str, folders), "--seed", "11",
                             "-j", "2", "--result-dir", str(out)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    results = [json.loads(f.read_text()) for f in out.glob("*.result.json")]
    return {Path(r["submission"]).parent.name: r for r in results}


def part(result: dict, qid: str) -> dict:
    """The score row of part ``qid`` in one submission's result."""
    return next(s for s in result["scores"] if s["qid"] == qid)


def stored_images(n: int = 1000, seed: int = 0) -> np.ndarray:
    """``n`` Fashion-MNIST training images as (n, 784) floats in [0, 1]."""
    from shared.data import load_fashion_mnist

    x = load_fashion_mnist(validation=0).x_train
    rows = np.random.default_rng(seed).choice(len(x), n, replace=False)
    return x[rows].reshape(n, 784).astype(np.float32) / 255


def keras_lookup(table: np.ndarray, latent_dim: int, seed: int = 0):
    """A Keras model of Keras's own layers that returns a row of ``table`` picked by its input.

    ``z`` (n, latent_dim) -> a random projection -> a softmax sharp enough to be one-hot ->
    that row of ``table`` (n, table.shape[1]): the "generator" that stores data.
    """
    import keras

    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,))
    pick = keras.layers.Softmax()(keras.layers.Rescaling(1000.0)(keras.layers.Dense(len(table))(z)))
    rows = keras.layers.Dense(table.shape[1], use_bias=False)
    model = keras.Model(z, rows(pick))
    rows.set_weights([table.astype(np.float32)])
    return model
