"""Is a submitted model one of the models stored with the course? (weight fingerprints)

The course commits trained weights (``long_runs/``: the chapters' stored runs and
``long_runs/models/``). Loaded into a student's project model and saved, the GAN
chapter's stored DCGAN scored 10/10 in the GAN project with no training at all.
The grader refuses such a submission: a model whose weights are, for most of the
parameters of one stored model, that model's arrays.

The comparison works on **sketches**: an array, in some order of its axes,
flattened and scaled to unit length, then projected on :data:`PROBES` fixed
pseudo-random directions (drawn from its shape, so the grader's kernel and this
process draw the same ones). Equal arrays have equal sketches; an array with
noise of relative size e has a sketch about e away; two independent arrays are
about 1.4 apart. Every order of the axes is tried (a Keras kernel converted to
PyTorch's layout is the same array transposed). The kernel that loads the
submission (:class:`shared.projects.models.Prober`) computes the sketches of its
arrays, for the shapes this module asks for (:func:`targets`); this process
compares them with the stored arrays' (:func:`course_match`). The projects'
self-check (:mod:`shared.projects.selfcheck`) does both in the notebook, so a
student sees the refusal before handing in.

What it does not catch: stored weights whose hidden units were permuted, or that
were trained on long enough to move far from where they started. That is copying,
for the teacher to judge (``docs/teacher-grading.md``).
"""

from __future__ import annotations

import functools
import itertools
import json
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
#: Where the course's stored weights are (``make long-runs``).
STORED = ROOT / "long_runs"
#: Arrays smaller than this are ignored (biases, batch-norm scales: too few numbers to tell models apart).
MIN_SIZE = 1000
#: Directions per sketch.
PROBES = 8
#: Sketches closer than this (relative to the stored sketch's length) are the same array.
SAME_ARRAY = 0.25
#: A submission is refused when matched arrays hold at least this share of a stored model's large arrays.
SHARE = 0.5


def shape_key(shape: tuple[int, ...]) -> str:
    """``(5, 5, 64, 128)`` -> ``"5x5x64x128"``."""
    return "x".join(str(int(n)) for n in shape)


@functools.lru_cache(maxsize=64)
def _directions(key: str) -> np.ndarray:
    """The :data:`PROBES` unit directions of an array shape, shape (PROBES, size); the same in every process."""
    size = int(np.prod([int(n) for n in key.split("x")]))
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    directions = rng.standard_normal((PROBES, size)).astype(np.float32)
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def sketch(array: np.ndarray) -> np.ndarray:
    """The sketch of ``array`` in its own axis order, shape (PROBES,); zeros for an all-zero array."""
    x = np.asarray(array, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(x))
    if norm == 0.0 or not np.isfinite(norm):
        return np.zeros(PROBES, np.float32)
    return _directions(shape_key(array.shape)) @ (x / norm) * np.sqrt(x.size)


def submission_sketches(arrays: list[np.ndarray], wanted: set[str]) -> dict[str, np.ndarray]:
    """Sketches of a submission's arrays in every axis order whose shape is ``wanted``.

    Returns ``{"<array index>:<shape key>:<axis order>": sketch}``. Runs in the grader's kernel.
    """
    out = {}
    for index, array in enumerate(arrays):
        array = np.asarray(array)
        if array.size < MIN_SIZE or array.ndim > 4:
            continue
        for order in itertools.permutations(range(array.ndim)):
            key = shape_key(tuple(array.shape[i] for i in order))
            if key in wanted:
                out[f"{index}:{key}:{''.join(map(str, order))}"] = sketch(np.transpose(array, order))
    return out


def _stored_models() -> dict[str, list[np.ndarray]]:
    """Every stored model's arrays: ``{"gan/dcgan#0": [...], "vae-z2-v1": [...]}`` (the large ones)."""
    models: dict[str, list[np.ndarray]] = {}
    for manifest in sorted(STORED.rglob("*.json")):
        npz = manifest.with_suffix(".npz")
        if not npz.is_file():
            continue
        name = json.loads(manifest.read_text(encoding="utf-8")).get("name", manifest.stem)
        with np.load(npz, allow_pickle=False) as arrays:
            for key in arrays.files:
                if key.startswith("model"):
                    model, _ = key.split("/", 1)
                    models.setdefault(f"{name}#{model[len('model'):]}", []).append(arrays[key])
    for weights in sorted(STORED.rglob("*.weights.h5")):  # the VAE chapter's model (shared.vae.store_pretrained)
        import h5py

        with h5py.File(weights, "r") as f:
            found: list[np.ndarray] = []
            f.visititems(lambda _, item: found.append(item[()]) if isinstance(item, h5py.Dataset) else None)
        models[weights.name.replace(".weights.h5", "")] = found
    return {name: [a for a in arrays if a.size >= MIN_SIZE and a.ndim <= 4] for name, arrays in models.items()}


@functools.lru_cache(maxsize=1)
def _references() -> dict[str, list[tuple[str, np.ndarray, int]]]:
    """Per stored model: (shape key, sketch, size) of each large array."""
    return {name: [(shape_key(a.shape), sketch(a), int(a.size)) for a in arrays]
            for name, arrays in _stored_models().items() if arrays}


def targets() -> list[str]:
    """The shapes whose sketches the kernel must compute (those of the stored models' large arrays)."""
    return sorted({key for refs in _references().values() for key, _, _ in refs})


def refusal(name: str) -> dict[str, str]:
    """Why a model that reproduces the stored model ``name`` scores 0, in both languages."""
    return {"en": f"the model's weights are those of a model stored with the course ({name}), not trained by you; "
                  "every part scores 0. Train your own model",
            "es": f"los pesos del modelo son los de un modelo guardado con el curso ({name}), no entrenado por ti; "
                  "todas las partes valen 0. Entrena tu propio modelo"}


def course_match(sketches: dict[str, np.ndarray]) -> str | None:
    """The name of the stored model the submission reproduces, or None.

    A stored model is reproduced when submission arrays with the same sketch (within
    :data:`SAME_ARRAY`) cover at least :data:`SHARE` of its large arrays' parameters.
    """
    by_shape: dict[str, list[np.ndarray]] = {}
    for name, values in sketches.items():
        by_shape.setdefault(name.split(":")[1], []).append(np.asarray(values, np.float32))
    for model, refs in _references().items():
        total = sum(size for _, _, size in refs)
        matched = sum(size for key, ref, size in refs
                      if any(np.linalg.norm(s - ref) < SAME_ARRAY * np.linalg.norm(ref) for s in by_shape.get(key, [])))
        if total and matched >= SHARE * total:
            return model
    return None
