"""Long training runs: made once by a script in the repository, loaded by the chapters.

Some lessons need more training than a chapter can spend in front of its reader
(Colab's free runtime has 2 CPU cores). Such a chapter trains a short budget
live, where the reader watches it, and then calls, for the longer run::

    run = long_run("gan/dcgan", [generator],
                   lambda: train_gan(generator, discriminator, x, steps=3000))

:func:`long_run` looks for a stored run with that name that *this cell's code*
made (the same cell source, the same weight shapes, the same ``settings``):

* found: the models get its weights and the call returns what ``train()``
  returned when the run was made (histories, seconds, snapshots);
* not found, e.g. because you edited the cell: it calls ``train()``, so the
  run trains here, and keeps the result in the course cache for the next time.

The stored runs (``long_runs/`` in the repository, which the setup cell clones
with the course) are made by ``make long-runs``, that is
``python -m shared.long_runs make book/en/gan.ipynb ...``: it executes each
notebook top to bottom with ``COURSE_LONG_RUNS=train``, where every
:func:`long_run` trains and writes its run. Nothing is downloaded that the
reader cannot make again with that command.

Each run's manifest (``<name>.json`` beside the weights ``<name>.npz``) records
the SHA-256 of its cell's code and of all the notebook's code cells up to that
cell (the setup cell excepted, so that a fork's repository URL changes
nothing). ``tests/test_long_runs.py`` fails when a notebook's code no longer
matches its stored runs: they must then be made again.

Modes, from the environment variable ``COURSE_LONG_RUNS``:

* unset or ``auto`` (readers): load the stored run, else train and cache;
* ``require`` (the website's builds): load the stored run, else raise an error
  that says how to make it (a build never trains a long run by surprise);
* ``train`` (``make long-runs``): always train, and store into ``long_runs/``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shared import timings
from shared.budget import is_quick
from shared.setup import machine_record

ROOT = Path(__file__).resolve().parent.parent
#: The stored runs of the repository.
RUNS_DIR = ROOT / "long_runs"
MODE_ENV = "COURSE_LONG_RUNS"
MODES = ("auto", "require", "train")
#: Set by ``make long-runs`` for the kernel it starts: the notebook whose runs are being made.
NOTEBOOK_ENV = "COURSE_LONG_RUNS_NOTEBOOK"
SETUP_CELL_PREFIX = "# Setup"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.=-]*(/[a-z0-9][a-z0-9_.=-]*)*$")

__all__ = ["long_run", "mode", "normalized", "code_cells", "cell_digest", "prefix_digest", "run_files",
           "RUNS_DIR", "MODE_ENV"]


class LongRunError(RuntimeError):
    """A stored run is missing, or was made by other code, where one is required."""


def mode() -> str:
    """The mode selected by ``COURSE_LONG_RUNS`` (``auto``, ``require`` or ``train``)."""
    value = os.environ.get(MODE_ENV, "").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{MODE_ENV}={value!r} is not understood: use one of {', '.join(MODES)} (or unset it).")
    return value


# -- the code a run belongs to ------------------------------------------------------------------------------


def normalized(source: str) -> str:
    """A cell's code as hashed: trailing spaces of each line and blank lines at both ends removed."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cell_digest(source: str) -> str:
    """SHA-256 of one cell's normalized code."""
    return _sha(normalized(source))


def code_cells(notebook: Path) -> list[str]:
    """The sources of a notebook's code cells, in order, without its setup cell."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells if c["cell_type"] == "code"]
    return [s for s in sources if not s.lstrip().startswith(SETUP_CELL_PREFIX)]


def prefix_digest(sources: Sequence[str], index: int) -> str:
    """SHA-256 of the code cells ``sources[0..index]`` (normalized, in order)."""
    return _sha("\n\x1e\n".join(normalized(s) for s in sources[: index + 1]))


def _current_cell() -> str | None:
    """The source of the notebook cell being executed, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    inputs = shell.user_ns.get("In")
    return inputs[-1] if inputs else None


# -- weights and results as arrays --------------------------------------------------------------------------


def _model_arrays(model: Any) -> list[np.ndarray]:
    """All the weights of a Keras model or layer (including batch-norm statistics), or a PyTorch module's state."""
    if hasattr(model, "get_weights"):
        return [np.asarray(w) for w in model.get_weights()]
    if hasattr(model, "state_dict"):
        return [t.detach().cpu().numpy() for t in model.state_dict().values()]
    raise TypeError(f"long_run stores Keras models or PyTorch modules, not {type(model).__name__}.")


def _set_model_arrays(model: Any, arrays: list[np.ndarray]) -> None:
    if hasattr(model, "set_weights"):
        model.set_weights(arrays)
        return
    import torch

    keys = list(model.state_dict().keys())
    model.load_state_dict({k: torch.from_numpy(np.array(a)) for k, a in zip(keys, arrays)})


def _encode(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """``obj`` as JSON, with its arrays moved into ``arrays`` (keys are paths)."""
    if obj is None or isinstance(obj, (bool, str)):
        return {"value": obj}
    if isinstance(obj, (int, float, np.integer, np.floating, np.bool_)):
        return {"value": obj.item() if isinstance(obj, np.generic) else obj}
    if isinstance(obj, dict):
        items = []
        for i, (key, value) in enumerate(obj.items()):
            if not isinstance(key, (str, int, np.integer)):
                raise TypeError(f"long_run: the result's keys must be strings or integers, not {key!r} at {path}")
            items.append([key if isinstance(key, str) else int(key), _encode(value, arrays, f"{path}/{i}")])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, np.ndarray) or hasattr(obj, "numpy"):
        arrays[path] = np.asarray(obj)
        return {"array": path}
    raise TypeError(f"long_run: train() returned a {type(obj).__name__} at {path or 'the top'}; it may return "
                    "numbers, strings, arrays, and lists, tuples and dicts of them (pass models in `models`).")


def _decode(node: dict, arrays: Any) -> Any:
    if "value" in node:
        return node["value"]
    if "array" in node:
        return arrays[node["array"]]
    if "dict" in node:
        return {key: _decode(value, arrays) for key, value in node["dict"]}
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    return tuple(_decode(v, arrays) for v in node["tuple"])


# -- files --------------------------------------------------------------------------------------------------


def run_files(name: str, folder: Path = RUNS_DIR) -> tuple[Path, Path]:
    """The manifest and the arrays of a run: ``folder/<name>.json`` and ``folder/<name>.npz``."""
    base = Path(folder) / name  # names may hold dots ("d=0.5"): append the suffixes, never replace one
    return base.parent / f"{base.name}.json", base.parent / f"{base.name}.npz"


def _cache_dir() -> Path:
    from shared.data import _course_cache_dir

    return _course_cache_dir(None) / "long_runs"


def _save(folder: Path, name: str, models: Sequence[Any], result: Any, cell: str | None, settings: Any,
          seconds: float) -> None:
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(result, arrays, "result")
    shapes = []
    for i, model in enumerate(models):
        weights = _model_arrays(model)
        shapes.append([list(w.shape) for w in weights])
        for j, w in enumerate(weights):
            arrays[f"model{i}/{j}"] = w
    manifest = {
        "name": name,
        "notebook": os.environ.get(NOTEBOOK_ENV),
        "cell_sha256": None if cell is None else cell_digest(cell),
        "prefix_sha256": None,  # written by `make long-runs` once the notebook has run
        "settings": settings,
        "weight_shapes": shapes,
        "result": structure,
        "seconds": round(seconds, 1),
        "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_record(),
    }
    json_path, npz_path = run_files(name, folder)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(npz_path, **arrays)
    json_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _matching(folder: Path, name: str, models: Sequence[Any], cell: str | None, settings: Any) -> dict | None:
    """The manifest of a stored run made by this cell, with these settings, for models of these shapes, else None."""
    json_path, npz_path = run_files(name, folder)
    if not (json_path.exists() and npz_path.exists()):
        return None
    manifest = json.loads(json_path.read_text(encoding="utf-8"))
    if cell is not None and manifest.get("cell_sha256") not in (None, cell_digest(cell)):
        return None
    if manifest.get("settings") != settings:
        return None
    shapes = [[list(w.shape) for w in _model_arrays(m)] for m in models]
    return manifest if manifest["weight_shapes"] == shapes else None


def _load(folder: Path, manifest: dict, models: Sequence[Any]) -> Any:
    _, npz_path = run_files(manifest["name"], folder)
    with np.load(npz_path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    for i, model in enumerate(models):
        _set_model_arrays(model, [arrays[f"model{i}/{j}"] for j in range(len(manifest["weight_shapes"][i]))])
    return _decode(manifest["result"], arrays)


# -- the function the chapters call --------------------------------------------------------------------------


def long_run(name: str, models: Sequence[Any], train: Callable[[], Any], settings: dict | None = None,
             folder: Path | None = None) -> Any:
    """Load a stored long run into ``models``, or make it by calling ``train()``.

    Parameters
    ----------
    name : str
        The run's name, unique in the course: lowercase path segments such as
        ``"gan/dcgan"`` or ``"vae/study/d=2/seed-0"``.
    models : sequence of keras.Model or torch.nn.Module
        The models whose weights the run stores; ``train()`` trains them in place.
        Build them (and seed) exactly as for training: their weights are replaced.
    train : callable
        Trains ``models`` and returns what the cell needs from training
        (numbers, strings, arrays, and lists, tuples and dicts of them).
    settings : dict, optional
        Settings the run depends on that are not written in the calling cell
        (e.g. a number of epochs set in a cell above): a stored run is loaded
        only if it was made with equal settings (numbers, strings, lists).
    folder : Path, optional
        Where the stored runs are (default: the repository's ``long_runs/``).

    Returns
    -------
    The stored result of ``train()``, or the new one if it trained here.

    Raises
    ------
    LongRunError
        In ``require`` mode (the website's builds), when no stored run matches.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"long_run: {name!r} is not a run name: use lowercase path segments of letters, digits "
                         "and . _ = -, e.g. 'gan/dcgan' or 'vae/study/d=2/seed-0'.")
    if not models:
        raise ValueError("long_run: pass the models whose weights the run stores, e.g. [generator].")
    folder = RUNS_DIR if folder is None else Path(folder)
    settings = None if settings is None else json.loads(json.dumps(settings))  # as stored
    cell, selected = _current_cell(), mode()
    if selected != "train":
        for place in (folder, _cache_dir()):
            manifest = _matching(place, name, models, cell, settings)
            if manifest is not None:
                return _load(place, manifest, models)
        if selected == "require":
            raise LongRunError(
                f"no stored run {name!r} matches this cell's code and models (looked in {folder}). Make the "
                "stored runs again with `make long-runs` (python -m shared.long_runs make NOTEBOOK).")
        print(f"long_run {name!r}: no stored run matches this cell's code, so it trains here.", flush=True)
    start = time.perf_counter()
    result = train()
    seconds = time.perf_counter() - start
    if selected == "train":
        _save(folder, name, models, result, cell, settings, seconds)
    elif not is_quick():  # a run of the quick (test) budgets is not worth keeping
        _save(_cache_dir(), name, models, result, cell, settings, seconds)
    return result


# -- make long-runs ------------------------------------------------------------------------------------------


def manifests(folder: Path = RUNS_DIR) -> list[tuple[Path, dict]]:
    """Every stored run's manifest (path, contents)."""
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(Path(folder).rglob("*.json"))]


def notebook_key(notebook: Path) -> str:
    """``book/en/gan.ipynb`` -> ``book/gan``: language twins share their runs (their code is identical)."""
    return timings.notebook_key(Path(notebook).resolve().relative_to(ROOT).as_posix())


def finish(notebook: Path, started: float, folder: Path = RUNS_DIR) -> list[str]:
    """After ``make long-runs`` executed ``notebook``: record each new run's code prefix, delete its old runs.

    Returns the names of the runs the notebook made.
    """
    key, sources = notebook_key(notebook), code_cells(notebook)
    digests = [cell_digest(s) for s in sources]
    made = []
    for path, manifest in manifests(folder):
        if manifest.get("notebook") != key:
            continue
        if path.stat().st_mtime < started:  # a run this execution did not make: the notebook no longer has it
            for stale in run_files(manifest["name"], folder):
                stale.unlink(missing_ok=True)
            continue
        if manifest["cell_sha256"] not in digests:
            raise LongRunError(f"run {manifest['name']!r} was made by a cell that is not in {notebook}")
        manifest["prefix_sha256"] = prefix_digest(sources, digests.index(manifest["cell_sha256"]))
        path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        made.append(manifest["name"])
    return made


def make(notebook: Path, timeout: int = 7200) -> list[str]:
    """Execute ``notebook`` with ``COURSE_LONG_RUNS=train`` (full budgets) and store its runs."""
    import nbclient
    import nbformat

    notebook = Path(notebook).resolve()
    env = {**os.environ, MODE_ENV: "train", NOTEBOOK_ENV: notebook_key(notebook), "COURSE_QUICK": "0"}
    started = time.time()
    nb = nbformat.read(notebook, as_version=4)
    try:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}}).execute(env=env)
    finally:  # the executed notebook, to read (or check its claims: python -m shared.claims _build/long-runs)
        executed = ROOT / "_build" / "long-runs" / notebook.name
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed)
    return finish(notebook, started)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.long_runs", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make_parser = sub.add_parser("make", help="execute notebooks and store their long runs in long_runs/")
    make_parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for notebook in args.notebooks:
        start = time.perf_counter()
        names = make(notebook)
        print(f"{notebook}: {len(names)} runs stored in {time.perf_counter() - start:.0f} s: {', '.join(names)}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
