"""Measurements of the projects' models, and the refusals of models that did not earn a score.

Every function takes the *outputs* of a model (NumPy arrays) and measures them
in the caller's process: the grader runs these after the sandboxed kernel has
computed the outputs, the notebooks' self-check runs them on public data.

A model whose outputs must not be scored raises :class:`Refused`, with the
reason in English and Spanish (NaN, values outside the data's range, a model
that ignores its input, copies of the data...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared import arm
from shared.projects import bands
from shared.projects.models import MAX_LATENT


class Refused(Exception):
    """Outputs that score 0 for a part; ``why`` holds the reason in ``en`` and ``es``."""

    def __init__(self, en: str, es: str):
        super().__init__(en)
        self.why = {"en": en, "es": es}


#: The model's outputs, as named in the refusals (English, Spanish).
OUTPUT_NAMES = {"parameters": ("parameters", "los parámetros"), "encoder": ("encoder outputs",
                "las salidas del codificador"), "logits": ("decoder logits", "los logits del decodificador"),
                "images": ("images", "las imágenes")}


def finite(what: str, array: np.ndarray) -> np.ndarray:
    """``array`` as float64 if every value is finite, else :class:`Refused` (``what``: a key of OUTPUT_NAMES)."""
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        en, es = OUTPUT_NAMES[what]
        raise Refused(f"the model's {en} contain NaN or infinite values ({bad} of {array.size}).",
                      f"{es} del modelo contienen valores NaN o infinitos ({bad} de {array.size}).")
    return array


# ---------------------------------------------------------------------------
# Inputs that change: a model must depend on them
# ---------------------------------------------------------------------------

def check_depends_on_input(outputs: np.ndarray, what_en: str, what_es: str) -> None:
    """Refuse outputs that are the same for every input row (a model that ignores its input)."""
    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    spread = float(np.max(np.abs(outputs - outputs[:1])))
    if spread <= 1e-6 * (1.0 + float(np.max(np.abs(outputs)))):
        raise Refused(f"the model gives the same output for every {what_en}: it ignores its input.",
                      f"el modelo da la misma salida para cualquier {what_es}: ignora su entrada.")


def check_repeatable(first: np.ndarray, again: np.ndarray) -> None:
    """Refuse a model whose outputs for the same inputs change from call to call (rows reordered)."""
    first, again = np.asarray(first, np.float64), np.asarray(again, np.float64)
    if first.shape != again.shape or not np.allclose(first, again, rtol=1e-3, atol=1e-3):
        raise Refused("the model's outputs for the same inputs change between calls (or depend on the other "
                      "rows of the batch): it must be a function of its input (evaluation mode, no random "
                      "numbers inside, no batch statistics).",
                      "las salidas del modelo para las mismas entradas cambian de una llamada a otra (o dependen "
                      "de las demás filas del lote): debe ser una función de su entrada (modo de evaluación, "
                      "sin números aleatorios dentro, sin estadísticas del lote).")


# ---------------------------------------------------------------------------
# MDN project
# ---------------------------------------------------------------------------

@dataclass
class Mixture:
    """Gaussian mixtures with diagonal covariance: ``log_w`` (n, K), ``mu`` and ``log_sigma`` (n, K, 2)."""

    log_w: np.ndarray
    mu: np.ndarray
    log_sigma: np.ndarray


def split_mdn_params(params: np.ndarray, n: int) -> Mixture:
    """Read ``[logits (K) | means (K x 2) | log-sigmas (K x 2)]`` rows; refuse malformed ones."""
    params = np.asarray(params)
    if params.ndim != 2 or params.shape[0] != n or params.shape[1] % 5 or params.shape[1] == 0:
        raise Refused(f"the MDN must output an array of shape (n, 5K) = [logits | means | log-sigmas]; "
                      f"got {params.shape} for n = {n}.",
                      f"la MDN debe producir un arreglo de forma (n, 5K) = [logits | medias | log-sigmas]; "
                      f"produjo {params.shape} para n = {n}.")
    k = params.shape[1] // 5
    if k > bands.MDN.max_components:
        raise Refused(f"the MDN has {k} components; at most {bands.MDN.max_components} are allowed.",
                      f"la MDN tiene {k} componentes; se permiten a lo sumo {bands.MDN.max_components}.")
    params = finite("parameters", params)
    logits = params[:, :k]
    log_w = logits - np.max(logits, axis=1, keepdims=True)
    log_w = log_w - np.log(np.sum(np.exp(log_w), axis=1, keepdims=True))
    mu = params[:, k:3 * k].reshape(n, k, 2)
    log_sigma = params[:, 3 * k:].reshape(n, k, 2)
    if np.any(log_sigma < bands.MDN.min_log_sigma):
        raise Refused(f"some standard deviations are below exp({bands.MDN.min_log_sigma}): clip log-sigma "
                      "from below (a density that narrow is not a measurement of the data).",
                      f"algunas desviaciones estándar son menores que exp({bands.MDN.min_log_sigma}): acota "
                      "log-sigma por debajo (una densidad tan estrecha no describe los datos).")
    return Mixture(log_w, mu, log_sigma)


def mdn_nll(mixture: Mixture, theta: np.ndarray) -> float:
    """Mean ``-log p(theta | hand)`` of the model's mixtures, nats."""
    return float(np.mean(arm.gaussian_mixture_nll(mixture.log_w, mixture.mu, mixture.log_sigma, theta)))


def sample_mixture(mixture: Mixture, per_row: int, rng: np.random.Generator) -> np.ndarray:
    """``per_row`` samples of each row's mixture, shape (n, per_row, 2)."""
    n, k = mixture.log_w.shape
    w = np.exp(mixture.log_w)
    u = rng.uniform(size=(n, per_row, 1))
    comp = np.minimum((u > np.cumsum(w, axis=1)[:, None, :]).sum(axis=2), k - 1)   # (n, per_row)
    rows = np.arange(n)[:, None]
    mu, sigma = mixture.mu[rows, comp], np.exp(mixture.log_sigma[rows, comp])
    return mu + sigma * rng.standard_normal(mu.shape)


@dataclass
class Coverage:
    """How the model's samples cover the two branches (elbow up, elbow down)."""

    share_error: float      #: mean |model's share of elbow up - true probability|
    missed: float           #: fraction of hands whose branch of weight >= 0.2 gets < 5 % of the samples
    off: float              #: fraction of samples near neither branch
    passed: bool

    def describe(self, lang: str) -> str:
        if lang == "es":
            return (f"error de proporción {self.share_error:.3f} (máx. {bands.MDN.max_share_error}), "
                    f"ramas no cubiertas en {100 * self.missed:.1f} % de las manos (máx. "
                    f"{100 * bands.MDN.max_missed:g} %), muestras lejos de toda rama {100 * self.off:.1f} % "
                    f"(máx. {100 * bands.MDN.max_off:g} %)")
        return (f"share error {self.share_error:.3f} (max {bands.MDN.max_share_error}), branches missed at "
                f"{100 * self.missed:.1f} % of the hands (max {100 * bands.MDN.max_missed:g} %), samples near "
                f"no branch {100 * self.off:.1f} % (max {100 * bands.MDN.max_off:g} %)")


def branch_coverage(mixture: Mixture, hands: np.ndarray, rng: np.random.Generator) -> Coverage:
    """Sample the model at every hand and count the samples near each true branch.

    A sample belongs to the nearer branch (Euclidean distance in joint-angle
    space) if it is within ``bands.MDN.near`` radians of it, else it is "off".
    """
    samples = sample_mixture(mixture, bands.MDN.samples_per_hand, rng)         # (n, S, 2)
    branches = arm.inverse_kinematics(hands)                                     # (n, 2, 2)
    dist = np.linalg.norm(samples[:, :, None, :] - branches[:, None, :, :], axis=3)   # (n, S, 2)
    nearest = np.argmin(dist, axis=2)
    near = np.min(dist, axis=2) <= bands.MDN.near
    share = np.stack([np.mean(near & (nearest == b), axis=1) for b in (0, 1)], axis=1)   # (n, 2)
    truth = np.stack([arm.elbow_up_probability(hands), 1 - arm.elbow_up_probability(hands)], axis=1)
    missed = np.any((truth >= 0.2) & (share < 0.05), axis=1)
    cov = Coverage(share_error=float(np.mean(np.abs(share[:, 0] - truth[:, 0]))),
                   missed=float(np.mean(missed)), off=float(1 - np.mean(near)), passed=False)
    cov.passed = (cov.share_error <= bands.MDN.max_share_error and cov.missed <= bands.MDN.max_missed
                  and cov.off <= bands.MDN.max_off)
    return cov


# ---------------------------------------------------------------------------
# VAE project
# ---------------------------------------------------------------------------

def bernoulli_nll(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """``-log p(x | z)`` of Bernoulli pixels with targets in [0, 1], summed per row, shape (n,)."""
    return np.sum(np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))), axis=1)


def gaussian_kl(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """``KL(N(mu, diag(exp(log_var))) || N(0, I))`` per row, shape (n,)."""
    return 0.5 * np.sum(np.exp(log_var) + mu ** 2 - 1.0 - log_var, axis=1)


def check_encoder(mu: np.ndarray, log_var: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Finite ``(n, d)`` encoder outputs, or :class:`Refused`."""
    mu, log_var = np.asarray(mu), np.asarray(log_var)
    if mu.shape != log_var.shape or mu.ndim != 2 or len(mu) != n:
        raise Refused(f"the encoder must return (mu, log_var) of shape (n, d) each; got {mu.shape} and "
                      f"{log_var.shape}.",
                      f"el codificador debe devolver (mu, log_var), cada uno de forma (n, d); devolvió "
                      f"{mu.shape} y {log_var.shape}.")
    if mu.shape[1] > MAX_LATENT:
        raise Refused(f"the encoder's codes have {mu.shape[1]} dimensions; at most {MAX_LATENT} are allowed.",
                      f"los códigos del codificador tienen {mu.shape[1]} dimensiones; se permiten a lo sumo "
                      f"{MAX_LATENT}.")
    mu, log_var = finite("encoder", mu), finite("encoder", log_var)
    if np.any(np.abs(log_var) > 30):
        raise Refused("the encoder's log-variances leave [-30, 30]: clip them (exp(log_var) would overflow).",
                      "las log-varianzas del codificador salen de [-30, 30]: acótalas (exp(log_var) se desbordaría).")
    return mu, log_var


def negative_elbo(x: np.ndarray, mu: np.ndarray, log_var: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """One-sample ``-ELBO`` per image, nats: ``-log p(x | z) + KL(q(z | x) || N(0, I))``, shape (n,).

    ``logits`` are the decoder's outputs at ``z = mu + exp(log_var / 2) * eps``.
    """
    logits = finite("logits", np.asarray(logits).reshape(len(x), -1))
    if logits.shape[1] != 784:
        raise Refused(f"the decoder must output 784 logits per image, got {logits.shape[1]}.",
                      f"el decodificador debe producir 784 logits por imagen; produjo {logits.shape[1]}.")
    return bernoulli_nll(x.reshape(len(x), -1).astype(np.float64), logits) + gaussian_kl(mu, log_var)


def check_decoder_ignores_images(logits: np.ndarray, logits_other_images: np.ndarray) -> None:
    """Refuse a VAE whose decoder output changes with the images passed beside ``z`` (it must use only ``z``)."""
    a, b = np.asarray(logits, np.float64), np.asarray(logits_other_images, np.float64)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-3, atol=1e-3):
        raise Refused("the decoder's logits for the same codes z change with the images passed beside them: a "
                      "decoder must compute its output from z alone.",
                      "los logits del decodificador para los mismos códigos z cambian con las imágenes que los "
                      "acompañan: un decodificador debe calcular su salida solo a partir de z.")


def check_generalizes(test_nelbo: float, train_nelbo: float) -> None:
    """Refuse a -ELBO on test images far better than on training images (a memorized test set)."""
    if test_nelbo < train_nelbo - bands.VAE.max_test_advantage:
        raise Refused(f"-ELBO is {test_nelbo:.1f} nats on test images but {train_nelbo:.1f} on training images: "
                      "a model that learned the data does about as well on both; this one has stored the test "
                      "images.",
                      f"la -ELBO es {test_nelbo:.1f} nats en imágenes de prueba pero {train_nelbo:.1f} en imágenes "
                      "de entrenamiento: un modelo que aprendió los datos rinde parecido en ambas; este guardó "
                      "las imágenes de prueba.")


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Bernoulli means of logits (the VAE's images)."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


# ---------------------------------------------------------------------------
# Images: range, copies of the data, class coverage
# ---------------------------------------------------------------------------

def check_images(images: np.ndarray, n: int) -> np.ndarray:
    """Images ``(n, 784)`` with pixels in [0, 1], or :class:`Refused`; returns them as (n, 28, 28) float32."""
    images = np.asarray(images)
    if images.ndim != 2 or images.shape != (n, 784):
        raise Refused(f"the generator must output n images of 28x28 pixels; got shape {images.shape} for n = {n}.",
                      f"el generador debe producir n imágenes de 28x28 píxeles; produjo la forma {images.shape} "
                      f"para n = {n}.")
    images = finite("images", images)
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        tanh_en = " They look like tanh outputs: end the model with (x + 1) / 2." if lo >= -1.001 else ""
        tanh_es = " Parecen salidas de tanh: termina el modelo con (x + 1) / 2." if lo >= -1.001 else ""
        raise Refused(f"pixels must be in [0, 1]; the model's are in [{lo:.3g}, {hi:.3g}].{tanh_en}",
                      f"los píxeles deben estar en [0, 1]; los del modelo están en [{lo:.3g}, {hi:.3g}].{tanh_es}")
    return np.clip(images, 0, 1).astype(np.float32).reshape(n, 28, 28)


def pooled(images: np.ndarray) -> np.ndarray:
    """2x2 average pooling: (n, 28, 28) -> (n, 196) float32 (robust to pixel noise)."""
    x = np.asarray(images, dtype=np.float32).reshape(-1, 14, 2, 14, 2)
    return x.mean(axis=(2, 4)).reshape(len(x), 196)


def unit_pooled(images: np.ndarray) -> np.ndarray:
    """:func:`pooled` rows scaled to unit length, (n, 196): the same for an image at any brightness."""
    x = pooled(images)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)


def reference_set(images: np.ndarray) -> np.ndarray:
    """The data images ``(m, 28, 28)`` in [0, 1] as the reference of :func:`nearest_distances`, (m, 196)."""
    return unit_pooled(images)


def _variants(images: np.ndarray) -> list[np.ndarray]:
    """The images and their mirror images, each shifted by one pixel in each of the 8 directions (18)."""
    out = []
    for x in (images, images[:, :, ::-1]):
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        out += [padded[:, 1 + dy:29 + dy, 1 + dx:29 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return out


def _chord(similarity: np.ndarray) -> np.ndarray:
    """Distance between unit vectors from their dot product."""
    return np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0))


def nearest_distances(images: np.ndarray, reference: np.ndarray, block: int = 10_000) -> np.ndarray:
    """Distance of each image to its nearest reference image, whatever its brightness, mirror or 1-pixel shift.

    Parameters
    ----------
    images : (n, 28, 28)
    reference : (m, 196)
        :func:`reference_set` of the data images (the training and test images).

    Returns
    -------
    (n,) float
        Euclidean distances between unit-length 2x2-pooled images (0 to 2), minimum over the
        image, its left-right mirror image and their 1-pixel shifts (18 variants).
    """
    queries = [unit_pooled(v) for v in _variants(np.ascontiguousarray(images))]
    best = np.full(len(images), -np.inf)
    for start in range(0, len(reference), block):
        ref = reference[start:start + block]
        for q in queries:
            best = np.maximum(best, np.max(q @ ref.T, axis=1))
    return _chord(best)


def check_not_copies(images: np.ndarray, reference: np.ndarray) -> float:
    """Refuse samples of which too many are (mirrored, rescaled, shifted, noisy) copies of data images.

    Returns the fraction of samples closer than ``bands.COPIES.distance`` to a data image.
    """
    fraction = float(np.mean(nearest_distances(images, reference) < bands.COPIES.distance))
    if fraction > bands.COPIES.max_fraction:
        raise Refused(f"{100 * fraction:.0f} % of the samples are copies (or near copies) of Fashion-MNIST "
                      f"images (at most {100 * bands.COPIES.max_fraction:g} % allowed): a generative model must "
                      "make new images, not return stored ones.",
                      f"el {100 * fraction:.0f} % de las muestras son copias (o casi copias) de imágenes de "
                      f"Fashion-MNIST (se permite a lo sumo un {100 * bands.COPIES.max_fraction:g} %): un modelo "
                      "generativo debe crear imágenes nuevas, no devolver imágenes guardadas.")
    return fraction


def check_distinct(images: np.ndarray) -> float:
    """Refuse a generator whose samples repeat: the same image for different codes (stored images).

    Returns the fraction of samples that have another sample closer than
    ``bands.COPIES.duplicate_distance`` (unit-length pooled images).
    """
    x = unit_pooled(images)
    nearest = np.full(len(x), -np.inf)
    for start in range(0, len(x), 1000):
        sim = x[start:start + 1000] @ x.T
        sim[np.arange(len(sim)), start + np.arange(len(sim))] = -np.inf   # not itself
        nearest[start:start + 1000] = sim.max(axis=1)
    fraction = float(np.mean(_chord(nearest) < bands.COPIES.duplicate_distance))
    if fraction > bands.COPIES.max_fraction:
        raise Refused(f"{100 * fraction:.0f} % of the samples repeat another sample for a different code: a "
                      "generator makes a new image for every code; this one returns stored images.",
                      f"el {100 * fraction:.0f} % de las muestras repite otra muestra para un código distinto: un "
                      "generador crea una imagen nueva para cada código; este devuelve imágenes guardadas.")
    return fraction


def jump_share(path_images: np.ndarray) -> float:
    """Median over paths of the largest step's share of the path length; ``(paths, steps + 1, 784)``."""
    steps = np.linalg.norm(np.diff(np.asarray(path_images, np.float64), axis=1), axis=2)
    return float(np.median(steps.max(axis=1) / np.maximum(steps.sum(axis=1), 1e-12)))


def check_smooth(path_images: np.ndarray) -> float:
    """Refuse a generator that jumps between a few images along straight paths in z (stored images).

    ``path_images``: ``(paths, steps + 1, 784)`` images along each path. Returns the median share
    of the largest step in each path's length (``bands.COPIES.max_jump_share`` at most).
    """
    x = np.asarray(path_images, np.float64)
    share = jump_share(x)
    if share > bands.COPIES.max_jump_share:
        raise Refused(f"along straight paths between two codes the images jump (the largest of "
                      f"{x.shape[1] - 1} equal steps is {100 * share:.0f} % of the way, median): a generator "
                      "changes its image gradually with z; this one switches between stored images.",
                      f"a lo largo de caminos rectos entre dos códigos las imágenes saltan (el mayor de "
                      f"{x.shape[1] - 1} pasos iguales es el {100 * share:.0f} % del recorrido, mediana): un "
                      "generador cambia su imagen gradualmente con z; este alterna entre imágenes guardadas.")
    return share


def kl_to_uniform(histogram: np.ndarray) -> float:
    """``KL(h || uniform)`` of a class histogram, nats (0: balanced; log 10 = 2.30: one class)."""
    h = np.asarray(histogram, dtype=np.float64)
    h = h[h > 0]
    return float(np.sum(h * np.log(h * 10)))


def band_fraction(value: float, table: tuple[tuple[float, float], ...]) -> float:
    """Fraction of the points earned: the first ``(threshold, fraction)`` with ``value <= threshold``, else 0."""
    for threshold, fraction in table:
        if value <= threshold:
            return fraction
    return 0.0


__all__ = ["Coverage", "Mixture", "OUTPUT_NAMES", "Refused", "band_fraction", "bernoulli_nll",
           "branch_coverage", "check_decoder_ignores_images", "check_depends_on_input", "check_distinct",
           "check_encoder", "check_generalizes", "check_images", "check_not_copies", "check_repeatable",
           "check_smooth", "finite", "gaussian_kl", "jump_share", "kl_to_uniform", "mdn_nll",
           "nearest_distances", "negative_elbo", "pooled", "reference_set", "sample_mixture", "sigmoid",
           "split_mdn_params", "unit_pooled"]
