"""shared.long_runs: stored runs load only for the code that made them, and the repository's runs are current."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import torch

from shared import long_runs
from shared.long_runs import LongRunError, code_cells, long_run, prefix_digest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*/*.ipynb") if "long_run(" in p.read_text(encoding="utf-8"))


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """Runs stored in tmp_path/runs, the course cache in tmp_path/cache, full budgets, auto mode."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_QUICK", "0")
    monkeypatch.delenv(long_runs.MODE_ENV, raising=False)
    cell = {"source": "run = long_run(...)  # the cell"}
    monkeypatch.setattr(long_runs, "_current_cell", lambda: cell["source"])
    return tmp_path / "runs", cell


def keras_model(seed: int = 0, units: int = 3) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(units), keras.layers.BatchNormalization(),
                             keras.layers.Dense(1)])


class Trainer:
    """A train() that counts its calls and moves the weights, returning a result of every supported kind."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self):
        self.calls += 1
        self.model.set_weights([w + 1.0 for w in self.model.get_weights()])
        return {"history": np.arange(6.0).reshape(3, 2), "seconds": 1.5, "snapshots": {100: np.ones((2, 2))},
                "tags": ("a", None, True), "per_epoch": [0.5, 0.25]}


def test_stores_then_loads_weights_and_result(env):
    folder, _ = env
    m1 = keras_model()
    t1 = Trainer(m1)
    r1 = long_run("test/a", [m1], t1, folder=folder)  # auto mode, nothing stored: trains, keeps in the cache
    assert t1.calls == 1
    m2 = keras_model(seed=5)
    t2 = Trainer(m2)
    r2 = long_run("test/a", [m2], t2, folder=folder)
    assert t2.calls == 0, "a matching stored run must be loaded, not trained again"
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(r2["history"], r1["history"])
    assert r2["seconds"] == 1.5 and r2["tags"] == ("a", None, True) and r2["per_epoch"] == [0.5, 0.25]
    assert list(r2["snapshots"]) == [100] and r2["snapshots"][100].shape == (2, 2)


def test_names_with_dots_keep_their_own_files(env):
    folder, _ = env
    for name in ("test/beta=0.5", "test/beta=0.25"):
        m = keras_model()
        long_run(name, [m], Trainer(m), folder=folder)
    assert sorted(p.name for p in (long_runs._cache_dir() / "test").iterdir()) == [
        "beta=0.25.json", "beta=0.25.npz", "beta=0.5.json", "beta=0.5.npz"]


def test_train_mode_writes_to_the_folder_and_require_mode_loads_it(env, monkeypatch):
    folder, _ = env
    monkeypatch.setenv(long_runs.MODE_ENV, "train")
    m1 = keras_model()
    long_run("test/b", [m1], Trainer(m1), folder=folder)
    manifest = json.loads((folder / "test" / "b.json").read_text())
    assert manifest["cell_sha256"] == long_runs.cell_digest("run = long_run(...)  # the cell")
    t = Trainer(m1)
    long_run("test/b", [m1], t, folder=folder)  # train mode trains even when a run is stored
    assert t.calls == 1
    monkeypatch.setenv(long_runs.MODE_ENV, "require")
    m2 = keras_model(seed=3)
    t2 = Trainer(m2)
    long_run("test/b", [m2], t2, folder=folder)
    assert t2.calls == 0
    np.testing.assert_array_equal(m2.get_weights()[0], m1.get_weights()[0])


@pytest.mark.parametrize("change", ["cell", "shapes", "settings"])
def test_other_code_trains_again(env, monkeypatch, change):
    folder, cell = env
    monkeypatch.setenv(long_runs.MODE_ENV, "train")
    m1 = keras_model()
    long_run("test/c", [m1], Trainer(m1), settings={"epochs": 5}, folder=folder)
    monkeypatch.setenv(long_runs.MODE_ENV, "auto")
    settings = {"epochs": 5}
    m2 = keras_model()
    if change == "cell":
        cell["source"] = "run = long_run(...)  # the cell, edited by the reader"
    elif change == "shapes":
        m2 = keras_model(units=4)
    else:
        settings = {"epochs": 6}
    t2 = Trainer(m2)
    long_run("test/c", [m2], t2, settings=settings, folder=folder)
    assert t2.calls == 1
    monkeypatch.setenv(long_runs.MODE_ENV, "require")
    with pytest.raises(LongRunError, match="make long-runs"):
        long_run("test/c", [keras_model(units=5)], Trainer(keras_model(units=5)), folder=folder)


def test_quick_budgets_are_not_cached(env, monkeypatch):
    folder, _ = env
    monkeypatch.setenv("COURSE_QUICK", "1")
    m = keras_model()
    long_run("test/d", [m], Trainer(m), folder=folder)
    t = Trainer(m)
    long_run("test/d", [m], t, folder=folder)
    assert t.calls == 1


def test_torch_modules(env):
    folder, _ = env
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))

    def train():
        with torch.no_grad():
            for p in net.parameters():
                p.add_(1.0)
        return {"loss": 0.1}

    long_run("test/torch", [net], train, folder=folder)
    torch.manual_seed(1)
    other = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert long_run("test/torch", [other], lambda: pytest.fail("trained again"), folder=folder) == {"loss": 0.1}
    for a, b in zip(net.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)


def test_bad_input_says_what_to_do(env, monkeypatch):
    folder, _ = env
    m = keras_model()
    with pytest.raises(ValueError, match="run name"):
        long_run("GAN DCGAN", [m], Trainer(m), folder=folder)
    with pytest.raises(ValueError, match="pass the models"):
        long_run("test/e", [], Trainer(m), folder=folder)
    with pytest.raises(TypeError, match="pass models in `models`"):
        long_run("test/e", [m], lambda: (m, 1.0), folder=folder)
    monkeypatch.setenv(long_runs.MODE_ENV, "sometimes")
    with pytest.raises(ValueError, match="COURSE_LONG_RUNS"):
        long_run("test/e", [m], Trainer(m), folder=folder)


def test_prefix_digest_ignores_the_setup_cell_and_trailing_spaces(tmp_path):
    def notebook(setup: str, code: str) -> Path:
        cells = [{"cell_type": "code", "source": setup, "metadata": {}},
                 {"cell_type": "markdown", "source": "prose", "metadata": {}},
                 {"cell_type": "code", "source": code, "metadata": {}}]
        path = tmp_path / f"{abs(hash((setup, code)))}.ipynb"
        path.write_text(json.dumps({"cells": cells}), encoding="utf-8")
        return path

    a = code_cells(notebook("# Setup: clone https://github.com/a/b", "x = 1\n"))
    b = code_cells(notebook("# Setup: clone https://github.com/fork/b", "x = 1   \n\n"))
    c = code_cells(notebook("# Setup: clone https://github.com/a/b", "x = 2\n"))
    assert a == ["x = 1\n"]
    assert prefix_digest(a, 0) == prefix_digest(b, 0) != prefix_digest(c, 0)


# -- the repository's stored runs ------------------------------------------------------------------------------


def test_chapters_with_long_runs_exist():
    assert {p.stem for p in CHAPTERS} >= {"gan", "vae"}


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_runs_match_the_chapter_code(notebook):
    """Every stored run of a chapter was made by the chapter's current code up to its cell.

    (A chapter cell without its stored run fails in the website's builds, which load runs in ``require`` mode.)
    """
    key = long_runs.notebook_key(notebook)
    sources = code_cells(notebook)
    digests = [long_runs.cell_digest(s) for s in sources]
    stored = [(p, m) for p, m in long_runs.manifests() if m.get("notebook") == key]
    assert stored, f"no stored runs for {key}: run `make long-runs`"
    for path, manifest in stored:
        assert manifest["cell_sha256"] in digests, f"{path.name}: made by a cell that is no longer in {key}"
        index = digests.index(manifest["cell_sha256"])
        assert manifest["prefix_sha256"] == prefix_digest(sources, index), (
            f"{path.relative_to(ROOT)} was made by older code of {notebook.relative_to(ROOT)} (a code cell up to "
            f"the one starting {sources[index].splitlines()[0]!r} changed): run `make long-runs`")
        with np.load(path.with_suffix(".npz")) as arrays:
            shapes = [[list(arrays[f"model{i}/{j}"].shape) for j in range(len(s))]
                      for i, s in enumerate(manifest["weight_shapes"])]
        assert shapes == manifest["weight_shapes"]
