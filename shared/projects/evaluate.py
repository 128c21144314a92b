"""The projects' parts: the inputs the grader draws, and the scoring of the model's outputs.

Used by the grader (:mod:`shared.grading.projects`, with a secret seed, on
outputs computed in its sandbox) and by the notebooks' self-check
(:mod:`shared.projects.selfcheck`, with a public seed, in the notebook). So
a student sees exactly how the model is measured; only the grader's seed
-- which pairs, images and codes -- is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from shared import arm
from shared.projects import bands, measure
from shared.projects.models import MAX_LATENT

#: Title of each part, by project, in both languages.
PARTS: dict[str, list[tuple[str, float, dict[str, str]]]] = {
    "mdn-project": [("nll", bands.MDN.points_nll, {"en": "Held-out NLL", "es": "NLL en datos nuevos"}),
                    ("coverage", bands.MDN.points_coverage, {"en": "Both branches covered",
                                                             "es": "Ambas ramas cubiertas"})],
    "vae-project": [("elbo", bands.VAE.points_elbo, {"en": "Test -ELBO", "es": "-ELBO de prueba"}),
                    ("fid", bands.VAE.points_fid, {"en": "FID of samples", "es": "FID de las muestras"})],
    "gan-project": [("fid", bands.GAN.points_fid, {"en": "FID of samples", "es": "FID de las muestras"}),
                    ("coverage", bands.GAN.points_coverage, {"en": "Class coverage",
                                                             "es": "Cobertura de clases"})],
}


@dataclass
class Part:
    """The score of one part of a project; feedback and title in both languages."""

    qid: str
    points: float
    max_points: float
    feedback: dict[str, str] = field(default_factory=dict)
    title: dict[str, str] = field(default_factory=dict)
    #: The measurements behind the score (e.g. ``{"gap": 0.02}``), for benchmarks and reports.
    values: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points - 1e-9


# ---------------------------------------------------------------------------
# Data (the grader's process; the self-check's notebook)
# ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _fashion() -> Any:
    from shared.data import load_fashion_mnist

    return load_fashion_mnist(validation=0)


@lru_cache(maxsize=1)
def _reference() -> np.ndarray:
    data = _fashion()
    images = np.concatenate([data.x_train, data.x_test]).reshape(-1, 28, 28)
    return measure.reference_set(images.astype(np.float32) / 255.0)


def _unit_rows(images: np.ndarray) -> np.ndarray:
    return (np.asarray(images, dtype=np.float32).reshape(len(images), 784) /
            (255.0 if images.dtype == np.uint8 else 1.0))


@lru_cache(maxsize=4)
def _test_statistics(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    from shared.quality import gaussian_statistics, load_classifier

    x = _fashion().x_test
    rows = np.random.default_rng([seed, 7]).choice(len(x), n, replace=False)
    return gaussian_statistics(load_classifier(verbose=False).features(x[rows].reshape(-1, 28, 28)))


def fid_to_test(images: np.ndarray, seed: int, n: int) -> float:
    """FID of ``images`` (n, 28, 28) against ``n`` test images chosen by the seed."""
    from shared.quality import frechet_distance, gaussian_statistics, load_classifier

    stats = gaussian_statistics(load_classifier(verbose=False).features(images))
    return frechet_distance(*stats, *_test_statistics(seed, n))


# ---------------------------------------------------------------------------
# Inputs of each project
# ---------------------------------------------------------------------------

def mdn_inputs(rng: np.random.Generator) -> dict[str, Any]:
    """Fresh pairs for the NLL and hands for coverage (the grader's secret draw)."""
    data = arm.sample_arm(bands.MDN.n_pairs, seed=int(rng.integers(2 ** 63)))
    hands = arm.sample_hands(bands.MDN.n_hands, rng).astype(np.float32)
    return {"pairs": data, "hands": hands,
            "phase_a": {"test": data.inputs, "cov": hands, "again": hands[::-1].copy()}}


def vae_inputs(rng: np.random.Generator) -> dict[str, Any]:
    data = _fashion()
    n = bands.VAE.n_images
    test = _unit_rows(data.x_test[rng.choice(len(data.x_test), n, replace=False)])
    train = _unit_rows(data.x_train[rng.choice(len(data.x_train), n, replace=False)])
    # images passed beside z to the decoder: unrelated to the codes (the decoder must use z alone)
    decoys = _unit_rows(data.x_train[rng.choice(len(data.x_train), bands.VAE.n_fid, replace=False)])
    return {"test": test, "train": train, "decoys": decoys, "z_path": path_codes(rng),
            "eps_test": rng.standard_normal((n, MAX_LATENT)).astype(np.float32),
            "eps_train": rng.standard_normal((n, MAX_LATENT)).astype(np.float32),
            "z_prior": rng.standard_normal((bands.VAE.n_fid, MAX_LATENT)).astype(np.float32),
            "phase_enc": {"x_test": test, "x_train": train}}


def path_codes(rng: np.random.Generator) -> np.ndarray:
    """Codes along straight paths between two random codes, ``(paths * (steps + 1), MAX_LATENT)``."""
    paths, steps = bands.COPIES.n_paths, bands.COPIES.path_steps
    a, b = (rng.standard_normal((paths, 1, MAX_LATENT)) for _ in range(2))
    t = np.linspace(0.0, 1.0, steps + 1)[None, :, None]
    return ((1 - t) * a + t * b).reshape(-1, MAX_LATENT).astype(np.float32)


def _path_images(images: np.ndarray) -> np.ndarray:
    return np.asarray(images).reshape(bands.COPIES.n_paths, bands.COPIES.path_steps + 1, -1)


def gan_inputs(rng: np.random.Generator) -> dict[str, Any]:
    z = rng.standard_normal((bands.GAN.n_fid, MAX_LATENT)).astype(np.float32)
    other = rng.standard_normal((500, MAX_LATENT)).astype(np.float32)
    return {"phase_a": {"main": z, "again": z[:500][::-1].copy(), "other": other, "path": path_codes(rng)}}


# ---------------------------------------------------------------------------
# Measuring the outputs
# ---------------------------------------------------------------------------

def _part(qid: str, project: str, points: float, feedback: dict[str, str],
          values: dict[str, float] | None = None) -> Part:
    title = next(t for q, _, t in PARTS[project] if q == qid)
    maximum = next(p for q, p, _ in PARTS[project] if q == qid)
    return Part(qid, round(points, 2), maximum, dict(feedback), dict(title), dict(values or {}))


def zero_parts(project: str, reason: dict[str, str]) -> list[Part]:
    """Every part of ``project`` at 0 with the same reason."""
    return [_part(qid, project, 0.0, reason) for qid, _, _ in PARTS[project]]


def _banded(value: float, table: tuple[tuple[float, float], ...], maximum: float,
            en: str, es: str) -> tuple[float, dict[str, str]]:
    fraction = measure.band_fraction(value, table)
    limits = ", ".join(f"<= {t:g}: {100 * f:g} %" for t, f in table)
    return maximum * fraction, {"en": f"{en}; bands {limits}; {maximum * fraction:g}/{maximum:g}",
                                "es": f"{es}; bandas {limits}; {maximum * fraction:g}/{maximum:g}"}


def evaluate_mdn(outputs: dict[str, np.ndarray], inputs: dict[str, Any], rng: np.random.Generator, project: str = "mdn-project") -> list[Part]:
    pairs, hands = inputs["pairs"], inputs["hands"]
    try:
        mix = measure.split_mdn_params(outputs["test"], len(pairs.inputs))
        cov_mix = measure.split_mdn_params(outputs["cov"], len(hands))
        measure.check_depends_on_input(outputs["cov"], "hand position", "posición de la mano")
        measure.check_repeatable(outputs["cov"], outputs["again"][::-1])
    except measure.Refused as why:
        return zero_parts(project, why.why)
    nll = measure.mdn_nll(mix, pairs.targets)
    bayes = float(np.mean(arm.bayes_nll(pairs.inputs, pairs.targets)))
    gap = nll - bayes
    points, fb = _banded(gap, bands.MDN.nll_gap_bands, bands.MDN.points_nll,
                         f"NLL {nll:.3f} nats on {len(pairs.inputs):,} fresh pairs; Bayes-optimal {bayes:.3f}; "
                         f"gap {gap:.3f}",
                         f"NLL {nll:.3f} nats en {len(pairs.inputs):,} pares nuevos; óptimo de Bayes {bayes:.3f}; "
                         f"brecha {gap:.3f}")
    scores = [_part("nll", project, points, fb, {"nll": nll, "bayes": bayes, "gap": gap})]
    cov = measure.branch_coverage(cov_mix, hands, rng)
    verdict = {"en": ("covered: " if cov.passed else "not covered: ") + cov.describe("en"),
               "es": ("cubiertas: " if cov.passed else "no cubiertas: ") + cov.describe("es")}
    scores.append(_part("coverage", project, bands.MDN.points_coverage if cov.passed else 0.0, verdict,
                        {"share_error": cov.share_error, "missed": cov.missed, "off": cov.off}))
    return scores


def vae_decoder_inputs(enc: dict[str, np.ndarray], inputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Phase 2 of the VAE: the decoder at z = mu + sigma * eps drawn here, and at codes of the prior.

    The images passed beside z are decoys, unrelated to the codes; ``x_swap`` repeats the first
    500 test codes with blank images, so that a decoder that reads the images is caught;
    ``z_path`` are codes along straight paths (the smoothness check).
    """
    out, decoys = {}, inputs["decoys"]
    for i, name in enumerate(("test", "train")):
        mu, log_var = measure.check_encoder(enc[f"mu_{name}"], enc[f"logvar_{name}"], len(inputs[name]))
        d = mu.shape[1]
        z = mu + np.exp(0.5 * log_var) * inputs[f"eps_{name}"][:, :d]
        out[f"x_{name}"] = decoys[i * len(z):(i + 1) * len(z)]
        out[f"z_{name}"] = z.astype(np.float32)
    out["x_prior"], out["z_prior"] = decoys[::-1].copy(), inputs["z_prior"]
    out["x_swap"], out["z_swap"] = np.zeros((500, 784), np.float32), out["z_test"][:500].copy()
    # and the first 500 test images again, reversed: the encoder must give the same codes as in phase 1
    out["x_again"] = inputs["test"][:500][::-1].copy()
    out["z_again"] = np.zeros((500, MAX_LATENT), np.float32)
    out["z_path"] = inputs["z_path"]
    out["x_path"] = np.resize(decoys, (len(out["z_path"]), 784)).astype(np.float32)
    return out


def _copy_rows(n: int, seed: int) -> np.ndarray:
    """Which of ``n`` samples the copy check looks at: a random subset (not the first ones)."""
    return np.random.default_rng([seed, 3]).choice(n, min(n, bands.COPIES.n_samples), replace=False)


def evaluate_vae(enc: dict[str, np.ndarray], dec: dict[str, np.ndarray], inputs: dict[str, Any],
                 seed: int, project: str = "vae-project") -> list[Part]:
    try:
        nelbo = {}
        for name in ("test", "train"):
            mu, log_var = measure.check_encoder(enc[f"mu_{name}"], enc[f"logvar_{name}"], len(inputs[name]))
            nelbo[name] = float(np.mean(measure.negative_elbo(inputs[name], mu, log_var, dec[f"logits_{name}"])))
        measure.check_depends_on_input(enc["mu_test"], "image", "imagen")
        measure.check_repeatable(enc["mu_test"][:500], dec["mu_again"][::-1])
        measure.check_decoder_ignores_images(dec["logits_swap"], dec["logits_test"][:500])
        measure.check_generalizes(nelbo["test"], nelbo["train"])
    except measure.Refused as why:
        return zero_parts(project, why.why)
    points, fb = _banded(nelbo["test"], bands.VAE.elbo_bands, bands.VAE.points_elbo,
                         f"-ELBO {nelbo['test']:.1f} nats/image on {len(inputs['test']):,} secret test images "
                         f"(training images: {nelbo['train']:.1f})",
                         f"-ELBO {nelbo['test']:.1f} nats/imagen en {len(inputs['test']):,} imágenes de prueba "
                         f"secretas (imágenes de entrenamiento: {nelbo['train']:.1f})")
    scores = [_part("elbo", project, points, fb, {"test": nelbo["test"], "train": nelbo["train"]})]
    try:
        logits = measure.finite("logits", dec["logits_prior"])
        images = measure.check_images(measure.sigmoid(logits), len(inputs["z_prior"]))
        measure.check_depends_on_input(images[:500], "code z", "código z")
        measure.check_not_copies(images[_copy_rows(len(images), seed)], _reference())
        measure.check_smooth(_path_images(measure.sigmoid(measure.finite("logits", dec["logits_path"]))))
    except measure.Refused as why:
        scores.append(_part("fid", project, 0.0, why.why))
        return scores
    value = fid_to_test(images, seed, bands.VAE.n_fid)
    points, fb = _banded(value, bands.VAE.fid_bands, bands.VAE.points_fid,
                         f"FID {value:.1f} ({len(images):,} samples of the prior)",
                         f"FID {value:.1f} ({len(images):,} muestras de la distribución a priori)")
    scores.append(_part("fid", project, points, fb, {"fid": value}))
    return scores


def evaluate_gan(outputs: dict[str, np.ndarray], seed: int,
                 project: str = "gan-project") -> list[Part]:
    from shared.quality import class_histogram, load_classifier

    try:
        images = measure.check_images(outputs["main"], bands.GAN.n_fid)
        other = measure.check_images(outputs["other"], 500)
        measure.check_depends_on_input(other, "code z", "código z")
        measure.check_repeatable(outputs["main"][:500], outputs["again"][::-1])
        measure.check_not_copies(images[_copy_rows(len(images), seed)], _reference())
        measure.check_distinct(images)
        measure.check_smooth(_path_images(measure.check_images(outputs["path"], len(outputs["path"]))))
    except measure.Refused as why:
        return zero_parts(project, why.why)
    value = fid_to_test(images, seed, bands.GAN.n_fid)
    points, fb = _banded(value, bands.GAN.fid_bands, bands.GAN.points_fid,
                         f"FID {value:.1f} ({len(images):,} samples)", f"FID {value:.1f} ({len(images):,} muestras)")
    scores = [_part("fid", project, points, fb, {"fid": value})]
    kl = measure.kl_to_uniform(class_histogram(images, load_classifier(verbose=False)))
    points, fb = _banded(kl, bands.GAN.kl_bands, bands.GAN.points_coverage,
                         f"KL(class histogram || uniform) = {kl:.3f} nats",
                         f"KL(histograma de clases || uniforme) = {kl:.3f} nats")
    scores.append(_part("coverage", project, points, fb, {"kl": kl}))
    return scores


INPUT_MAKERS = {"mdn": mdn_inputs, "vae": vae_inputs, "gan": gan_inputs}
PHASES = {"mdn": ["a"], "vae": ["enc", "dec"], "gan": ["a"]}


def first_phase_inputs(kind: str, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """What the model is called with first (``vae``: the encoder's images)."""
    return inputs["phase_enc"] if kind == "vae" else inputs["phase_a"]


def score(kind: str, project: str, outputs: dict[str, dict[str, np.ndarray]], inputs: dict[str, Any],
          seed: int, rng: np.random.Generator) -> list[Part]:
    """Score the outputs of every phase (a missing output array raises ``KeyError``)."""
    if kind == "mdn":
        return evaluate_mdn(outputs["a"], inputs, rng, project)
    if kind == "vae":
        return evaluate_vae(outputs["enc"], outputs["dec"], inputs, seed, project)
    return evaluate_gan(outputs["a"], seed, project)


__all__ = ["INPUT_MAKERS", "PARTS", "PHASES", "Part", "evaluate_gan", "evaluate_mdn", "evaluate_vae",
           "fid_to_test", "first_phase_inputs", "gan_inputs", "mdn_inputs", "score", "vae_decoder_inputs",
           "vae_inputs", "zero_parts"]
