"""The projects' immediate self-check: the grader's measurements, on public inputs, in the notebook.

``self_check("mdn-project", "mdn-project.keras")`` loads the saved file as the
grader does, draws inputs with a public seed (the grader uses a secret one:
other pairs, images and codes from the same distributions), and prints the
score each part would get with the bands of :mod:`shared.projects.bands`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from shared.checks.core import get_language
from shared.projects import PROJECTS, bands, fingerprint, measure
from shared.projects.evaluate import (INPUT_MAKERS, Part, first_phase_inputs, score, vae_decoder_inputs,
                                      zero_parts)
from shared.projects.models import ModelFileError, compute_phase, load_model

#: The self-check's seed (public; the grader draws its own, secret).
PUBLIC_SEED = 20_261_202

_WORDS = {"en": ("points", "total", "The grader measures other inputs drawn the same way: "
                 "expect a similar score."),
          "es": ("puntos", "total", "El corrector mide otras entradas sacadas de la misma forma: "
                 "espera un puntaje parecido.")}


def measure_file(project: str, path: str | os.PathLike, seed: int = PUBLIC_SEED) -> list[Part]:
    """Score the model saved at ``path`` on inputs drawn with ``seed`` (no printing).

    Raises
    ------
    ModelFileError
        If the file is missing, too large, not a model of the project, or
        has more parameters than allowed.
    """
    if project not in PROJECTS:
        raise ValueError(f"unknown project {project!r}; one of {sorted(PROJECTS)}")
    kind, path = PROJECTS[project], Path(path)
    if path.is_file() and path.stat().st_size > bands.LIMITS.file_mb * 2 ** 20:
        raise ModelFileError(f"{path.name} is {path.stat().st_size / 2 ** 20:.1f} MB; the limit is "
                             f"{bands.LIMITS.file_mb:g} MB: make the model smaller.")
    model = load_model(path, kind)
    if model.n_params > bands.LIMITS.max_params:
        raise ModelFileError(f"the model has {model.n_params:,} parameters; the limit is "
                             f"{bands.LIMITS.max_params:,}: make it smaller.")
    copied = fingerprint.course_match(fingerprint.submission_sketches(model.arrays(), set(fingerprint.targets())))
    if copied is not None:
        return zero_parts(project, fingerprint.refusal(copied))
    rng = np.random.default_rng([seed, sum(project.encode())])
    inputs = INPUT_MAKERS[kind](rng)
    phase = "enc" if kind == "vae" else "a"
    outputs = {phase: compute_phase(model, first_phase_inputs(kind, inputs))}
    if kind == "vae":
        try:
            outputs["dec"] = compute_phase(model, vae_decoder_inputs(outputs["enc"], inputs))
        except measure.Refused as why:
            return zero_parts(project, why.why)
    return score(kind, project, outputs, inputs, seed, rng)


def self_check(project: str, path: str | os.PathLike, lang: str | None = None) -> list[Part]:
    """Print the score the saved model would get, part by part, in the course language; return it."""
    lang = lang or get_language()
    points_w, total_w, note = _WORDS.get(lang, _WORDS["en"])
    try:
        parts = measure_file(project, path)
    except ModelFileError as exc:
        print(f"❌ {exc}")
        return []
    for p in parts:
        mark = "✅" if p.passed else ("🟡" if p.points > 0 else "❌")
        print(f"{mark} {p.title[lang]}: {p.points:g}/{p.max_points:g} {points_w}\n   {p.feedback[lang]}")
    print(f"{total_w}: {sum(p.points for p in parts):g}/{sum(p.max_points for p in parts):g}. {note}")
    return parts


__all__ = ["PUBLIC_SEED", "measure_file", "self_check"]
