"""Graded questions of the Variational Autoencoder (VAE) chapter.

Six questions (10 points):

====  ======  ==============================================================
Q1    2 pts   TensorFlow: the reparameterisation z = mu + exp(log_var / 2) * eps
Q2    2 pts   NumPy: closed-form KL(N(mu, diag sigma^2) || N(0, I)) per example
Q3    2 pts   TensorFlow Probability: Monte-Carlo KL to any prior (mixture, Laplace)
Q4    2 pts   TensorFlow: the negative ELBO of a batch (Bernoulli likelihood + KL)
Q5    1 pt    NumPy/SciPy: decoding a latent grid built with the inverse CDF
Q6    1 pt    Interpretation (multiple choice): what happens when the KL weight -> 0
====  ======  ==============================================================

``make_inputs`` and ``evaluate`` are pure NumPy/SciPy (they run in the
grader's process). ``run`` runs in the student's kernel: it imports
TensorFlow / TensorFlow Probability lazily, calls the student's object and
returns NumPy arrays.

Notation: the encoder returns ``mu`` and ``log_var`` = log sigma^2, arrays of
shape ``(N, L)`` (N examples, L latent dimensions). The reference
implementations (float64) are public functions of this module
(``ref_reparameterize``, ``ref_kl_standard_normal``, ``ref_mc_kl``,
``ref_negative_elbo``, ``ref_latent_grid``, ``ref_decode_grid``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.special import log_expit, logsumexp
from scipy.stats import norm

from shared.checks.core import (Arrays, choice_question, Feedback, Question, close_problem, fail, is_close, ok, result_problem,
                                say, scalar_problem, scalar_value, to_numpy)

LOG_2PI = float(np.log(2.0 * np.pi))


# ---------------------------------------------------------------------------
# Reference implementations (NumPy, float64)
# ---------------------------------------------------------------------------

def ref_reparameterize(mu: np.ndarray, log_var: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """z = mu + sigma * eps with sigma = exp(log_var / 2); any matching shapes."""
    mu, log_var, eps = (np.asarray(a, dtype=np.float64) for a in (mu, log_var, eps))
    return mu + np.exp(0.5 * log_var) * eps


def ref_kl_standard_normal(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """KL(N(mu, diag exp(log_var)) || N(0, I)) per row, shape (N,), in nats.

    ``0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)``.
    """
    mu, log_var = np.asarray(mu, dtype=np.float64), np.asarray(log_var, dtype=np.float64)
    return 0.5 * np.sum(mu ** 2 + np.exp(log_var) - 1.0 - log_var, axis=-1)


def diag_normal_logpdf(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log N(z | mu, diag sigma^2), summed over the last axis (broadcasting)."""
    u = (z - mu) / sigma
    return np.sum(-0.5 * u * u - np.log(sigma) - 0.5 * LOG_2PI, axis=-1)


def mog_logpdf(z: np.ndarray, logits: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log p(z) of a mixture of K diagonal Gaussians in L dimensions.

    z: (..., L); logits: (K,); loc, scale: (K, L). Returns shape (...).
    """
    log_w = logits - logsumexp(logits)
    comp = diag_normal_logpdf(z[..., None, :], loc, scale)  # (..., K)
    return logsumexp(log_w + comp, axis=-1)


def laplace_logpdf(z: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log p(z) of independent Laplace(0, scale) coordinates, summed over the last axis."""
    return np.sum(-np.log(2.0 * scale) - np.abs(z) / scale, axis=-1)


def ref_mc_kl(mu: np.ndarray, log_var: np.ndarray, eps: np.ndarray,
              prior_logpdf: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Monte-Carlo KL(q(z|x) || p(z)) per example, shape (N,).

    mu, log_var: (N, L); eps: (S, N, L). With z_s = mu + sigma * eps_s,
    returns mean_s [log q(z_s | x) - log p(z_s)].
    """
    mu, log_var, eps = (np.asarray(a, dtype=np.float64) for a in (mu, log_var, eps))
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * eps
    return np.mean(diag_normal_logpdf(z, mu, sigma) - prior_logpdf(z), axis=0)


def bce_with_logits(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Elementwise -[x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))], computed stably."""
    return -(x * log_expit(logits) + (1.0 - x) * log_expit(-logits))


def ref_negative_elbo_rows(x: np.ndarray, logits: np.ndarray, mu: np.ndarray,
                           log_var: np.ndarray) -> np.ndarray:
    """Per-example negative ELBO, shape (N,): BCE summed over pixels + closed-form KL."""
    x, logits = np.asarray(x, dtype=np.float64), np.asarray(logits, dtype=np.float64)
    axes = tuple(range(1, x.ndim))
    return np.sum(bce_with_logits(x, logits), axis=axes) + ref_kl_standard_normal(mu, log_var)


def ref_negative_elbo(x, logits, mu, log_var) -> float:
    """Mean over the batch of the negative ELBO (nats per image)."""
    return float(np.mean(ref_negative_elbo_rows(x, logits, mu, log_var)))


def ref_latent_grid(n: int, p_lo: float = 0.05, p_hi: float = 0.95) -> np.ndarray:
    """The (n, n, 2) grid of latent points shown by the tile in row i, column j.

    ``g = norm.ppf(linspace(p_lo, p_hi, n))``; tile (i, j) shows
    ``z = (g[j], g[n - 1 - i])``: z1 grows to the right, z2 grows upwards
    (row 0 is at the top), like the axes of a scatter plot.
    """
    g = norm.ppf(np.linspace(p_lo, p_hi, n))
    z1 = np.broadcast_to(g[None, :], (n, n))
    z2 = np.broadcast_to(g[::-1, None], (n, n))
    return np.stack([z1, z2], axis=-1)


def tile(images: np.ndarray) -> np.ndarray:
    """(n, n, h, w) images -> one (n*h, n*w) image, tile (i, j) at rows i*h.., columns j*w..."""
    n, m, h, w = images.shape
    return images.transpose(0, 2, 1, 3).reshape(n * h, m * w)


def untile(image: np.ndarray, n: int, h: int, w: int) -> np.ndarray:
    """Inverse of :func:`tile`: (n*h, n*w) -> (n, n, h, w)."""
    return image.reshape(n, h, n, w).transpose(0, 2, 1, 3)


def ref_decode_grid(decoder: Callable[[np.ndarray], np.ndarray], n: int,
                    p_lo: float = 0.05, p_hi: float = 0.95) -> np.ndarray:
    """Decode :func:`ref_latent_grid` and tile the (h, w) images into (n*h, n*w)."""
    z = ref_latent_grid(n, p_lo, p_hi).reshape(n * n, 2)
    images = np.asarray(decoder(z))
    return tile(images.reshape(n, n, *images.shape[1:]))


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def wrong_value(got: float, en: str, es: str, lang: str) -> Feedback:
    return fail(say(f"wrong value ({got:.5g}): {en}", f"valor incorrecto ({got:.5g}): {es}", lang))


def first_match(got: Any, variants: list[tuple[Any, str, str]], lang: str,
                rtol: float = 1e-4, atol: float = 1e-4) -> str | None:
    """Message of the first variant (value, en, es) that ``got`` matches, else ``None``."""
    for value, en, es in variants:
        with np.errstate(all="ignore"):
            if is_close(got, value, rtol=rtol, atol=atol):
                return say(en, es, lang)
    return None


# ---------------------------------------------------------------------------
# Q1. TensorFlow: reparameterisation
# ---------------------------------------------------------------------------

Q1_N, Q1_L = 24, 3


def make_q1(rng: np.random.Generator) -> Arrays:
    n, l = Q1_N, Q1_L
    return {"mu": rng.normal(0.0, 1.5, (n, l)).astype(np.float32),
            "log_var": rng.uniform(-3.0, 2.0, (n, l)).astype(np.float32),
            "eps": rng.normal(0.0, 1.0, (n, l)).astype(np.float32),
            "w": rng.normal(0.0, 1.0, (n, l)).astype(np.float32)}


def run_q1(f: Any, inputs: Arrays) -> Arrays:
    import tensorflow as tf

    mu, log_var = tf.constant(inputs["mu"]), tf.constant(inputs["log_var"])
    eps, w = tf.constant(inputs["eps"]), tf.constant(inputs["w"])
    nan = np.full(inputs["mu"].shape, np.nan, dtype=np.float32)
    grads: list[Any] = [None, None]
    with tf.GradientTape() as tape:
        tape.watch([mu, log_var])
        z = f(mu, log_var, eps)
        if not (tf.is_tensor(z) or isinstance(z, tf.Variable)):
            note = "not_tensor"
        elif tuple(z.shape) != tuple(inputs["mu"].shape):
            note = "shape"
        else:
            note = "ok"
            objective = tf.reduce_sum(tf.cast(z, tf.float32) * w)
    if note == "ok":
        try:
            grads = tape.gradient(objective, [mu, log_var])
        except Exception as exc:  # the graph may be broken in many ways
            note = f"gradient_failed: {type(exc).__name__}: {exc}"
    return {"z": to_numpy(z), "grad_note": np.array(note),
            "grad_mu": nan if grads[0] is None else grads[0].numpy(),
            "grad_log_var": nan if grads[1] is None else grads[1].numpy()}


def q1_variants(mu, log_var, eps) -> list[tuple[np.ndarray, str, str]]:
    return [
        (mu + np.exp(log_var) * eps,
         "you used exp(log_var) = σ² as the scale (the bug of the seed notebook). The standard deviation "
         "is σ = exp(½ · log σ²): `tf.exp(0.5 * log_var)`.",
         "usaste exp(log_var) = σ² como escala (el error del cuaderno original). La desviación estándar "
         "es σ = exp(½ · log σ²): `tf.exp(0.5 * log_var)`."),
        (mu + log_var * eps,
         "you used log_var itself as the scale; log_var is log σ², so σ = exp(½ · log_var).",
         "usaste el propio log_var como escala; log_var es log σ², así que σ = exp(½ · log_var)."),
        (mu + np.exp(-0.5 * log_var) * eps,
         "you multiplied ε by 1/σ: the exponent is +½ · log_var, not −½ · log_var.",
         "multiplicaste ε por 1/σ: el exponente es +½ · log_var, no −½ · log_var."),
        (mu + eps,
         "σ is missing: z = μ + σ · ε, with σ = exp(½ · log_var).",
         "falta σ: z = μ + σ · ε, con σ = exp(½ · log_var)."),
        (mu,
         "you returned μ: the noise term σ · ε is missing (without it the VAE is a plain autoencoder).",
         "devolviste μ: falta el término de ruido σ · ε (sin él, el VAE es un autoencoder común)."),
        (mu * np.exp(0.5 * log_var) + eps,
         "μ and ε are swapped: z = μ + σ · ε.",
         "μ y ε están intercambiados: z = μ + σ · ε."),
    ]


def evaluate_q1(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "reparameterize"
    mu, log_var, eps, w = (np.asarray(inputs[k], dtype=np.float64) for k in ("mu", "log_var", "eps", "w"))
    z = np.asarray(outputs["z"])
    if z.dtype.kind == "f" and z.shape == mu.shape and np.isnan(z).any():
        return fail(say(
            f"`{name}` returned NaN: did you take the square root (or log) of log_var? log_var is often "
            "negative; σ = exp(½ · log_var) is always positive.",
            f"`{name}` devolvió NaN: ¿sacaste la raíz cuadrada (o el logaritmo) de log_var? log_var suele ser "
            "negativo; σ = exp(½ · log_var) siempre es positivo.", lang))
    problem = result_problem(name, z, mu.shape, lang)
    if problem:
        return fail(problem)
    sigma = np.exp(0.5 * log_var)
    want = mu + sigma * eps
    if not is_close(z, want, rtol=1e-5, atol=1e-5):
        message = first_match(z, q1_variants(mu, log_var, eps), lang, rtol=1e-5, atol=1e-5)
        if message:
            return fail(message)
        r = (z.astype(np.float64) - mu) / sigma
        if abs(np.mean(r)) < 0.6 and 0.6 < np.std(r) < 1.5 and np.corrcoef(r.ravel(), eps.ravel())[0, 1] < 0.5:
            return fail(say(
                "(z − μ)/σ looks like standard normal noise, but it is not the `eps` you were given: "
                "do not draw new noise inside the function, use `eps`.",
                "(z − μ)/σ parece ruido normal estándar, pero no es el `eps` que recibiste: no generes "
                "ruido nuevo dentro de la función, usa `eps`.", lang))
        return fail(close_problem("z", z, want, lang, rtol=1e-5, atol=1e-5))
    note = str(outputs["grad_note"])
    if note == "not_tensor":
        return fail(say(
            f"the value is right, but `{name}` must return a TensorFlow tensor (no `.numpy()` nor NumPy "
            "functions), so that gradients reach μ and log σ².",
            f"el valor es correcto, pero `{name}` debe devolver un tensor de TensorFlow (sin `.numpy()` ni "
            "funciones de NumPy) para que los gradientes lleguen a μ y a log σ².", lang))
    if note != "ok":
        return fail(say(f"the value is right, but the gradient could not be computed ({note}).",
                        f"el valor es correcto, pero no se pudo calcular el gradiente ({note}).", lang))
    grad_mu, grad_lv = np.asarray(outputs["grad_mu"]), np.asarray(outputs["grad_log_var"])
    for label, grad in (("μ", grad_mu), ("log σ²", grad_lv)):
        if np.isnan(grad).all():
            return fail(say(
                f"the value is right, but no gradient reaches {label}: use TensorFlow operations only "
                "(no `.numpy()`, NumPy functions or `tf.stop_gradient`).",
                f"el valor es correcto, pero ningún gradiente llega a {label}: usa solo operaciones de "
                "TensorFlow (sin `.numpy()`, funciones de NumPy ni `tf.stop_gradient`).", lang))
    want_lv = w * 0.5 * sigma * eps
    if not is_close(grad_lv, want_lv, rtol=1e-4, atol=1e-5):
        return fail(say(
            "the value is right, but the gradient with respect to log σ² is not ½ · σ · ε: was σ computed "
            "outside the graph (`tf.stop_gradient`, a constant)? "
            + close_problem("grad log σ²", grad_lv, want_lv, "en", rtol=1e-4, atol=1e-5),
            "el valor es correcto, pero el gradiente respecto de log σ² no es ½ · σ · ε: ¿calculaste σ fuera "
            "del grafo (`tf.stop_gradient`, una constante)? "
            + close_problem("grad log σ²", grad_lv, want_lv, "es", rtol=1e-4, atol=1e-5), lang))
    if not is_close(grad_mu, w, rtol=1e-4, atol=1e-5):
        return fail(say("the value is right, but the gradient with respect to μ is not 1 per coordinate: "
                        + close_problem("grad μ", grad_mu, w, "en", rtol=1e-4, atol=1e-5),
                        "el valor es correcto, pero el gradiente respecto de μ no es 1 por coordenada: "
                        + close_problem("grad μ", grad_mu, w, "es", rtol=1e-4, atol=1e-5), lang))
    return ok(lang, "correct! z = μ + σ · ε, and the gradients reach μ (∂z/∂μ = 1) and log σ² "
                    "(∂z/∂log σ² = ½ · σ · ε).",
              "¡correcto! z = μ + σ · ε, y los gradientes llegan a μ (∂z/∂μ = 1) y a log σ² "
              "(∂z/∂log σ² = ½ · σ · ε).")


Q1 = Question(
    qid="vae.q1", points=2, target="reparameterize",
    title={"en": "The reparameterisation trick (TensorFlow)",
           "es": "El truco de reparametrización (TensorFlow)"},
    make_inputs=make_q1, run=run_q1, evaluate=evaluate_q1)


# ---------------------------------------------------------------------------
# Q2. NumPy: closed-form KL to N(0, I)
# ---------------------------------------------------------------------------

Q2_N, Q2_L = 30, 4
#: Monte-Carlo draws per example used by the check (fixed seed, grader side)
Q2_MC_DRAWS = 4000


def make_q2(rng: np.random.Generator) -> Arrays:
    n, l = Q2_N, Q2_L
    return {"mu": rng.normal(0.0, 1.5, (n, l)), "log_var": rng.uniform(-4.0, 2.0, (n, l))}


def run_q2(f: Any, inputs: Arrays) -> Arrays:
    return {"kl": to_numpy(f(inputs["mu"], inputs["log_var"]))}


def mc_kl_standard_normal(mu: np.ndarray, log_var: np.ndarray, draws: int = Q2_MC_DRAWS,
                          seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo estimate of KL(q || N(0, I)) per row and its standard error, both (N,)."""
    rng = np.random.default_rng(seed)
    sigma = np.exp(0.5 * log_var)
    eps = rng.standard_normal((draws, *mu.shape))
    z = mu + sigma * eps
    # log q(z) - log p(z), the constants cancel
    terms = np.sum(-0.5 * eps ** 2 - 0.5 * log_var + 0.5 * z ** 2, axis=-1)  # (S, N)
    return terms.mean(axis=0), terms.std(axis=0, ddof=1) / np.sqrt(draws)


def q2_variants(mu, log_var) -> list[tuple[np.ndarray, str, str]]:
    ref = ref_kl_standard_normal(mu, log_var)
    l = mu.shape[1]
    var = np.exp(log_var)
    return [
        (2 * ref, "the factor ½ is missing.", "falta el factor ½."),
        (ref / l,
         "you averaged over the latent dimensions; the KL of independent coordinates is their SUM.",
         "promediaste sobre las dimensiones latentes; la KL de coordenadas independientes es su SUMA."),
        (-ref, "the sign is flipped: a KL divergence is never negative.",
         "el signo está invertido: una divergencia KL nunca es negativa."),
        (ref + 0.5 * l, "the −1 inside the sum is missing (it makes KL = 0 when μ = 0 and σ² = 1).",
         "falta el −1 dentro de la suma (es el que hace KL = 0 cuando μ = 0 y σ² = 1)."),
        (ref - 0.5 * np.sum(mu ** 2, axis=1), "the μ² term is missing.", "falta el término μ²."),
        (0.5 * np.sum(mu ** 2 + np.exp(2 * log_var) - 1 - 2 * log_var, axis=1),
         "you treated log_var as log σ; it is log σ², so σ² = exp(log_var).",
         "trataste log_var como log σ; es log σ², así que σ² = exp(log_var)."),
        (0.5 * np.sum(mu ** 2 + np.exp(0.5 * log_var) - 1 - log_var, axis=1),
         "you used σ = exp(½ · log_var) where σ² = exp(log_var) goes.",
         "usaste σ = exp(½ · log_var) donde va σ² = exp(log_var)."),
        (0.5 * np.sum((1 + mu ** 2) / var - 1 + log_var, axis=1),
         "that is KL(N(0, I) ‖ q), the other direction: the ELBO needs KL(q(z|x) ‖ p(z)).",
         "esa es KL(N(0, I) ‖ q), la otra dirección: el ELBO necesita KL(q(z|x) ‖ p(z))."),
    ]


def evaluate_q2(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "kl_to_standard_normal"
    mu, log_var = np.asarray(inputs["mu"], dtype=np.float64), np.asarray(inputs["log_var"], dtype=np.float64)
    n, l = mu.shape
    kl = np.asarray(outputs["kl"])
    ref = ref_kl_standard_normal(mu, log_var)
    if kl.dtype.kind in "iuf" and kl.size == 1:
        return fail(say(f"`{name}` returned one number; return one KL per example, shape ({n},): "
                        "sum over the latent axis only (`axis=1`).",
                        f"`{name}` devolvió un solo número; devuelve una KL por ejemplo, forma ({n},): "
                        "suma solo sobre el eje latente (`axis=1`).", lang))
    if kl.dtype.kind in "iuf" and kl.shape == (n, l):
        return fail(say(f"`{name}` returned shape {kl.shape}, one term per latent dimension: sum them "
                        "(`axis=1`) to get one KL per example.",
                        f"`{name}` devolvió forma {kl.shape}, un término por dimensión latente: súmalos "
                        "(`axis=1`) para obtener una KL por ejemplo.", lang))
    problem = result_problem(name, kl, (n,), lang)
    if problem:
        return fail(problem)
    mc, se = mc_kl_standard_normal(mu, log_var)
    if is_close(kl, ref, rtol=1e-6, atol=1e-6):
        return ok(lang,
                  f"correct! e.g. example 0: KL = {kl[0]:.4f} nats; a Monte-Carlo estimate E_q[log q − log p] "
                  f"with {Q2_MC_DRAWS} draws gives {mc[0]:.3f} ± {2 * se[0]:.3f}.",
                  f"¡correcto! p. ej. en el ejemplo 0: KL = {kl[0]:.4f} nats; una estimación de Monte Carlo "
                  f"E_q[log q − log p] con {Q2_MC_DRAWS} muestras da {mc[0]:.3f} ± {2 * se[0]:.3f}.")
    message = first_match(kl, q2_variants(mu, log_var), lang, rtol=1e-6, atol=1e-6)
    if message:
        return fail(message)
    i = int(np.argmax(np.abs(kl - ref)))
    return fail(say(
        f"`{name}` is not the closed-form KL: example {i} gives {kl[i]:.5g}, the closed form "
        f"½ Σ (μ² + σ² − 1 − log σ²) gives {ref[i]:.5g}, and a Monte-Carlo estimate with {Q2_MC_DRAWS} "
        f"draws gives {mc[i]:.4g} ± {2 * se[i]:.2g}.",
        f"`{name}` no es la KL en forma cerrada: el ejemplo {i} da {kl[i]:.5g}, la forma cerrada "
        f"½ Σ (μ² + σ² − 1 − log σ²) da {ref[i]:.5g}, y una estimación de Monte Carlo con {Q2_MC_DRAWS} "
        f"muestras da {mc[i]:.4g} ± {2 * se[i]:.2g}.", lang))


Q2 = Question(
    qid="vae.q2", points=2, target="kl_to_standard_normal",
    title={"en": "Closed-form KL to N(0, I) (NumPy)", "es": "KL en forma cerrada respecto de N(0, I) (NumPy)"},
    make_inputs=make_q2, run=run_q2, evaluate=evaluate_q2)


# ---------------------------------------------------------------------------
# Q3. TensorFlow Probability: Monte-Carlo KL to any prior
# ---------------------------------------------------------------------------

Q3_N, Q3_L, Q3_S, Q3_K = 12, 2, 64, 3
#: draws per example of the (fixed-seed) high-precision estimate used to diagnose fresh noise
Q3_TRUE_DRAWS = 20000
PRIORS = ("mixture", "laplace")


def make_q3(rng: np.random.Generator) -> Arrays:
    n, l, s, k = Q3_N, Q3_L, Q3_S, Q3_K
    return {"mu": rng.normal(0.0, 1.2, (n, l)).astype(np.float32),
            "log_var": rng.uniform(-2.5, 0.5, (n, l)).astype(np.float32),
            "eps": rng.normal(0.0, 1.0, (s, n, l)).astype(np.float32),
            "mix_logits": rng.normal(0.0, 1.0, k).astype(np.float32),
            "mix_loc": rng.normal(0.0, 2.0, (k, l)).astype(np.float32),
            "mix_scale": rng.uniform(0.4, 1.2, (k, l)).astype(np.float32),
            "laplace_scale": np.full(l, rng.uniform(0.5, 1.5), dtype=np.float32)}


def prior_logpdfs(inputs: Arrays) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """NumPy log-densities of the two priors of Q3, keyed like :data:`PRIORS`."""
    logits, loc, scale = (np.asarray(inputs[k], dtype=np.float64) for k in ("mix_logits", "mix_loc", "mix_scale"))
    b = np.asarray(inputs["laplace_scale"], dtype=np.float64)
    return {"mixture": lambda z: mog_logpdf(z, logits, loc, scale),
            "laplace": lambda z: laplace_logpdf(z, b)}


def run_q3(f: Any, inputs: Arrays) -> Arrays:
    import tensorflow as tf
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    mixture = tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=tf.constant(inputs["mix_logits"])),
        components_distribution=tfd.MultivariateNormalDiag(
            loc=tf.constant(inputs["mix_loc"]), scale_diag=tf.constant(inputs["mix_scale"])))
    laplace = tfd.Independent(tfd.Laplace(loc=tf.zeros(Q3_L), scale=tf.constant(inputs["laplace_scale"])),
                              reinterpreted_batch_ndims=1)
    args = [tf.constant(inputs[k]) for k in ("mu", "log_var", "eps")]
    outputs = {}
    for key, prior in zip(PRIORS, (mixture, laplace)):
        try:
            outputs[key] = to_numpy(f(*args, prior))
        except NotImplementedError:
            raise
        except Exception as exc:  # reported with a hint about log_prob shapes
            outputs[key] = np.array(f"__raised__:{type(exc).__name__}: {exc}")
    return outputs


def q3_variants(inputs: Arrays, prior_logpdf) -> list[tuple[np.ndarray, str, str]]:
    mu, log_var, eps = (np.asarray(inputs[k], dtype=np.float64) for k in ("mu", "log_var", "eps"))
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * eps
    log_q = diag_normal_logpdf(z, mu, sigma)
    z_var = mu + sigma ** 2 * eps
    std_normal = lambda v: diag_normal_logpdf(v, 0.0, 1.0)  # noqa: E731
    return [
        (np.mean(-prior_logpdf(z), axis=0),
         "the log q(z|x) term is missing: you computed the cross-entropy −E_q[log p(z)], not the KL "
         "E_q[log q(z|x) − log p(z)].",
         "falta el término log q(z|x): calculaste la entropía cruzada −E_q[log p(z)], no la KL "
         "E_q[log q(z|x) − log p(z)]."),
        (-ref_mc_kl(mu, log_var, eps, prior_logpdf),
         "the sign is flipped: KL = E_q[log q(z|x) − log p(z)].",
         "el signo está invertido: KL = E_q[log q(z|x) − log p(z)]."),
        (np.mean(diag_normal_logpdf(z_var, mu, sigma ** 2) - prior_logpdf(z_var), axis=0),
         "you used exp(log_var) = σ² as the scale; σ = exp(½ · log_var), both in z = μ + σ · ε and in q.",
         "usaste exp(log_var) = σ² como escala; σ = exp(½ · log_var), tanto en z = μ + σ · ε como en q."),
        (np.mean(diag_normal_logpdf(z, mu, sigma ** 2) - prior_logpdf(z), axis=0),
         "q(z|x) is built with scale σ² = exp(log_var); its scale is σ = exp(½ · log_var).",
         "q(z|x) está construida con escala σ² = exp(log_var); su escala es σ = exp(½ · log_var)."),
        (np.mean(log_q - std_normal(z), axis=0),
         "you evaluated log p(z) under N(0, I): use the prior you are given, `prior.log_prob(z)`.",
         "evaluaste log p(z) con N(0, I): usa la distribución a priori que recibes, `prior.log_prob(z)`."),
        (ref_kl_standard_normal(mu, log_var),
         "that is the closed-form KL to N(0, I); here the prior is another distribution: estimate "
         "E_q[log q(z|x) − log prior(z)] with the samples z = μ + σ · ε.",
         "esa es la KL en forma cerrada respecto de N(0, I); aquí la distribución a priori es otra: estima "
         "E_q[log q(z|x) − log prior(z)] con las muestras z = μ + σ · ε."),
    ]


def q3_reference_spread(inputs: Arrays, prior_logpdf) -> tuple[np.ndarray, np.ndarray]:
    """High-precision KL per example and the standard error of an S-draw estimate (fixed seed)."""
    mu, log_var = (np.asarray(inputs[k], dtype=np.float64) for k in ("mu", "log_var"))
    rng = np.random.default_rng(2024)
    eps = rng.standard_normal((Q3_TRUE_DRAWS, *mu.shape))
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * eps
    terms = diag_normal_logpdf(z, mu, sigma) - prior_logpdf(z)
    return terms.mean(axis=0), terms.std(axis=0, ddof=1) / np.sqrt(Q3_S)


def evaluate_q3(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "mc_kl"
    n, s = inputs["mu"].shape[0], inputs["eps"].shape[0]
    labels = {"mixture": ("a mixture-of-Gaussians prior", "una distribución a priori de mezcla de gaussianas"),
              "laplace": ("a Laplace prior", "una distribución a priori de Laplace")}
    values = {}
    for key, logpdf in prior_logpdfs(inputs).items():
        en_label, es_label = labels[key]
        got = np.asarray(outputs[key])
        if got.dtype.kind == "U" and str(got).startswith("__raised__:"):
            err = str(got)[len("__raised__:"):]
            return fail(say(f"with {en_label}, calling `{name}` raised {err}. Hint: `log_prob` of a "
                            "distribution over z (event shape (L,)) sums over the latent axis.",
                            f"con {es_label}, al llamar a `{name}` se produjo el error {err}. Pista: el "
                            "`log_prob` de una distribución sobre z (event shape (L,)) ya suma sobre el eje "
                            "latente.", lang))
        if got.dtype.kind in "iuf" and got.shape == (s,):
            return fail(say(f"`{name}` returned shape {got.shape}: you averaged over the examples; average "
                            f"over the Monte-Carlo samples (axis 0 of eps) to get one KL per example, "
                            f"shape ({n},).",
                            f"`{name}` devolvió forma {got.shape}: promediaste sobre los ejemplos; promedia "
                            f"sobre las muestras de Monte Carlo (eje 0 de eps) para obtener una KL por ejemplo, "
                            f"forma ({n},).", lang))
        if got.dtype.kind in "iuf" and got.shape in ((s, n), (n, inputs["mu"].shape[1])):
            return fail(say(f"`{name}` returned shape {got.shape}; expected ({n},): average over the samples "
                            "(axis 0) and make sure log q(z|x) sums over the latent dimensions "
                            "(`tfd.MultivariateNormalDiag`, or `tfd.Independent(tfd.Normal(...), 1)`).",
                            f"`{name}` devolvió forma {got.shape}; se esperaba ({n},): promedia sobre las "
                            "muestras (eje 0) y asegúrate de que log q(z|x) sume sobre las dimensiones latentes "
                            "(`tfd.MultivariateNormalDiag`, o `tfd.Independent(tfd.Normal(...), 1)`).", lang))
        problem = result_problem(name, got, (n,), lang)
        if problem:
            return fail(problem)
        want = ref_mc_kl(inputs["mu"], inputs["log_var"], inputs["eps"], logpdf)
        if is_close(got, want, rtol=1e-4, atol=2e-4):
            values[key] = float(got[0])
            continue
        message = first_match(got, q3_variants(inputs, logpdf), lang, rtol=1e-4, atol=2e-4)
        prefix = say(f"with {en_label}: ", f"con {es_label}: ", lang)
        if message:
            return fail(prefix + message)
        true_kl, se = q3_reference_spread(inputs, logpdf)
        if np.all(np.abs(got - true_kl) < 5 * se + 1e-3):
            return fail(prefix + say(
                "your estimate is plausible but it does not use the `eps` you were given: compute "
                "z = μ + σ · eps with those draws (no new random numbers), so that the result is reproducible.",
                "tu estimación es plausible, pero no usa el `eps` que recibiste: calcula z = μ + σ · eps con "
                "esas muestras (sin números aleatorios nuevos) para que el resultado sea reproducible.", lang))
        return fail(prefix + close_problem(name, got, want, lang, rtol=1e-4, atol=2e-4))
    return ok(lang, f"correct! e.g. example 0: KL ≈ {values['mixture']:.3f} nats to the mixture prior and "
                    f"≈ {values['laplace']:.3f} nats to the Laplace prior ({s} samples).",
              f"¡correcto! p. ej. en el ejemplo 0: KL ≈ {values['mixture']:.3f} nats respecto de la mezcla y "
              f"≈ {values['laplace']:.3f} nats respecto de la Laplace ({s} muestras).")


Q3 = Question(
    qid="vae.q3", points=2, target="mc_kl",
    title={"en": "Monte-Carlo KL to any prior (TensorFlow Probability)",
           "es": "KL de Monte Carlo respecto de cualquier distribución a priori (TensorFlow Probability)"},
    make_inputs=make_q3, run=run_q3, evaluate=evaluate_q3)


# ---------------------------------------------------------------------------
# Q4. TensorFlow: negative ELBO of a batch
# ---------------------------------------------------------------------------

Q4_N, Q4_H, Q4_W, Q4_L = 16, 28, 28, 3
#: pixels per image where the decoder is confidently wrong (|logit| = 40)
Q4_CONFIDENT = 3


def make_q4(rng: np.random.Generator) -> Arrays:
    n, h, w, l = Q4_N, Q4_H, Q4_W, Q4_L
    u = rng.random((n, h, w, 1))
    x = np.where(u < 0.4, 0.0, np.where(u > 0.9, 1.0, rng.random((n, h, w, 1))))
    logits = rng.normal(0.0, 3.0, (n, h, w, 1))
    flat_x, flat_l = x.reshape(n, -1), logits.reshape(n, -1)
    for i in range(n):  # a few pixels where sigmoid(logit) rounds to exactly 0 or 1 in float32
        zeros = np.flatnonzero(flat_x[i] == 0.0)
        for j in rng.choice(zeros, Q4_CONFIDENT, replace=False):
            flat_l[i, j] = 40.0
    return {"x": x.astype(np.float32), "logits": logits.astype(np.float32),
            "mu": rng.normal(0.0, 2.0, (n, l)).astype(np.float32),
            "log_var": rng.uniform(-4.0, 1.5, (n, l)).astype(np.float32)}


def run_q4(f: Any, inputs: Arrays) -> Arrays:
    import tensorflow as tf

    args = [tf.constant(inputs[k]) for k in ("x", "logits", "mu", "log_var")]
    return {"value": to_numpy(f(*args))}


def keras_bce_on_probabilities(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """What Keras computes with ``from_logits=False`` (float32, clipped to [1e-7, 1 - 1e-7])."""
    eps = np.float32(1e-7)
    p = np.clip(p.astype(np.float32), eps, np.float32(1.0) - eps)
    x = x.astype(np.float32)
    return -(x * np.log(p) + (np.float32(1.0) - x) * np.log(np.float32(1.0) - p)).astype(np.float64)


def q4_variants(inputs: Arrays) -> list[tuple[float, str, str]]:
    x, logits, mu, log_var = (np.asarray(inputs[k], dtype=np.float64) for k in ("x", "logits", "mu", "log_var"))
    axes = tuple(range(1, x.ndim))
    pixels = int(np.prod(x.shape[1:]))
    l = mu.shape[1]
    rec = np.sum(bce_with_logits(x, logits), axis=axes)
    kl = ref_kl_standard_normal(mu, log_var)
    want = float(np.mean(rec + kl))
    p = 1.0 / (1.0 + np.exp(-logits))
    return [
        (float(np.mean(rec / pixels + kl)),
         "the reconstruction term is averaged over the pixels; −log p(x|z) is the SUM over the pixels "
         "(the mean makes it 784 times too weak next to the KL).",
         "el término de reconstrucción está promediado sobre los píxeles; −log p(x|z) es la SUMA sobre los "
         "píxeles (el promedio lo hace 784 veces más débil que la KL)."),
        (float(np.mean(rec / pixels + kl / l)),
         "both terms are averaged (over pixels and over latent dimensions): sum each one over its axes, then "
         "average over the batch only.",
         "ambos términos están promediados (sobre píxeles y sobre dimensiones latentes): suma cada uno sobre sus "
         "ejes y promedia solo sobre el lote."),
        (float(np.mean(rec)),
         "the KL term is missing: −ELBO = reconstruction + KL(q(z|x) ‖ N(0, I)).",
         "falta el término KL: −ELBO = reconstrucción + KL(q(z|x) ‖ N(0, I))."),
        (float(np.mean(rec - kl)),
         "the KL is subtracted: −ELBO = reconstruction + KL.",
         "la KL está restada: −ELBO = reconstrucción + KL."),
        (float(np.mean(rec + 2 * kl)), "the factor ½ of the KL is missing.", "falta el factor ½ de la KL."),
        (float(np.mean(rec + kl / l)),
         "the KL is averaged over the latent dimensions; sum it.",
         "la KL está promediada sobre las dimensiones latentes; súmala."),
        (float(np.sum(rec + kl)),
         "you returned the SUM over the batch; return the mean (nats per image).",
         "devolviste la SUMA sobre el lote; devuelve el promedio (nats por imagen)."),
        (-want, "the sign is flipped: that is the ELBO; the loss is its negative.",
         "el signo está invertido: eso es el ELBO; la pérdida es su negativo."),
        (float(np.mean(np.sum(keras_bce_on_probabilities(x, logits), axis=axes) + kl)),
         "the decoder outputs logits, but you treated them as probabilities: use "
         "`from_logits=True` (or `tf.nn.sigmoid_cross_entropy_with_logits`).",
         "el decodificador entrega logits, pero los trataste como probabilidades: usa `from_logits=True` "
         "(o `tf.nn.sigmoid_cross_entropy_with_logits`)."),
        (float(np.mean(np.sum(bce_with_logits(x, p), axis=axes) + kl)),
         "you applied the sigmoid twice: with `from_logits=True` (or "
         "`tf.nn.sigmoid_cross_entropy_with_logits`) pass the logits themselves.",
         "aplicaste la sigmoide dos veces: con `from_logits=True` (o "
         "`tf.nn.sigmoid_cross_entropy_with_logits`) pasa los logits tal cual."),
        (float(np.mean(np.sum((x - p) ** 2, axis=axes) + kl)),
         "you used the squared error (a Gaussian likelihood); this question asks for the Bernoulli "
         "likelihood: binary cross-entropy summed over the pixels.",
         "usaste el error cuadrático (una verosimilitud gaussiana); esta pregunta pide la verosimilitud de "
         "Bernoulli: la entropía cruzada binaria sumada sobre los píxeles."),
    ]


def evaluate_q4(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "negative_elbo"
    value = np.asarray(outputs["value"])
    n = inputs["x"].shape[0]
    problem = scalar_problem(name, value, n, lang)
    if problem:
        return fail(problem)
    got = scalar_value(value)
    if not np.isfinite(got):
        return fail(say(
            f"`{name}` returned {got}: for some pixels the decoder is confidently wrong (logit 40 where "
            "x = 0), sigmoid(40) rounds to 1.0 in float32 and log(1 − 1) = −inf. Compute the cross-entropy "
            "from the logits: `tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)`.",
            f"`{name}` devolvió {got}: en algunos píxeles el decodificador se equivoca con total seguridad "
            "(logit 40 donde x = 0), sigmoid(40) se redondea a 1.0 en float32 y log(1 − 1) = −inf. Calcula "
            "la entropía cruzada a partir de los logits: "
            "`tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)`.", lang))
    want = ref_negative_elbo(inputs["x"], inputs["logits"], inputs["mu"], inputs["log_var"])
    if is_close(got, want, rtol=1e-4, atol=1e-3):
        return ok(lang, f"correct! −ELBO = {got:.2f} nats per image on this batch.",
                  f"¡correcto! −ELBO = {got:.2f} nats por imagen en este lote.")
    message = first_match(got, q4_variants(inputs), lang, rtol=1e-4, atol=1e-3)
    if message:
        return wrong_value(got, message, message, lang)
    return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-3) + say(
        " Check: binary cross-entropy from the logits summed over all pixels of each image, plus "
        "½ Σ (μ² + σ² − 1 − log σ²) summed over the latent dimensions, averaged over the batch.",
        " Revisa: entropía cruzada binaria a partir de los logits sumada sobre todos los píxeles de cada "
        "imagen, más ½ Σ (μ² + σ² − 1 − log σ²) sumada sobre las dimensiones latentes, promediado sobre "
        "el lote.", lang))


Q4 = Question(
    qid="vae.q4", points=2, target="negative_elbo",
    title={"en": "The negative ELBO of a batch (TensorFlow)", "es": "El ELBO negativo de un lote (TensorFlow)"},
    make_inputs=make_q4, run=run_q4, evaluate=evaluate_q4)


# ---------------------------------------------------------------------------
# Q5. NumPy/SciPy: decoding a latent grid with the inverse CDF
# ---------------------------------------------------------------------------

Q5_H, Q5_W = 5, 4


def make_q5(rng: np.random.Generator) -> Arrays:
    h, w = Q5_H, Q5_W
    return {"n_default": np.array(int(rng.integers(5, 8))),
            "n_custom": np.array(int(rng.integers(8, 11))),
            "p_lo": np.array(rng.uniform(0.001, 0.02)),
            "p_hi": np.array(rng.uniform(0.98, 0.999)),
            "A": rng.normal(0.0, 1.0, (h, w)),
            "B": rng.normal(0.0, 1.0, (h, w)),
            "C": rng.normal(0.0, 1.0, (h, w))}


def toy_decoder(inputs: Arrays) -> Callable[[Any], np.ndarray]:
    """A linear 'decoder' z -> z1 * A + z2 * B + C, images of shape (h, w).

    It accepts an array-like of shape (M, 2) (or (2,)) and returns (M, h, w);
    ``decoder.predict(z)`` works too, like a Keras model. Being linear, it lets
    the grader read back the z of every tile.
    """
    a, b, c = (np.asarray(inputs[k], dtype=np.float64) for k in ("A", "B", "C"))

    def decoder(z: Any) -> np.ndarray:
        if hasattr(z, "numpy"):
            z = z.numpy()
        z = np.asarray(z, dtype=np.float64)
        if z.ndim == 1:
            z = z[None, :]
        if z.ndim != 2 or z.shape[1] != 2:
            raise ValueError(f"decoder expects latent points of shape (M, 2), got {z.shape}")
        return z[:, 0, None, None] * a + z[:, 1, None, None] * b + c

    decoder.predict = lambda z, **kwargs: decoder(z)  # type: ignore[attr-defined]  # Keras-style call
    return decoder


def run_q5(f: Any, inputs: Arrays) -> Arrays:
    decoder = toy_decoder(inputs)
    default = to_numpy(f(decoder, int(inputs["n_default"])))
    custom = to_numpy(f(decoder, int(inputs["n_custom"]), p_lo=float(inputs["p_lo"]),
                        p_hi=float(inputs["p_hi"])))
    return {"default": default, "custom": custom}


def read_back_z(image: np.ndarray, n: int, inputs: Arrays) -> tuple[np.ndarray, float]:
    """The z of every tile of a (n*h, n*w) image made by the toy decoder, and the fit's residual."""
    a, b, c = (np.asarray(inputs[k], dtype=np.float64) for k in ("A", "B", "C"))
    tiles = untile(np.asarray(image, dtype=np.float64), n, Q5_H, Q5_W).reshape(n * n, -1) - c.ravel()
    basis = np.stack([a.ravel(), b.ravel()], axis=1)
    z, *_ = np.linalg.lstsq(basis, tiles.T, rcond=None)
    residual = float(np.max(np.abs(basis @ z - tiles.T)))
    return z.T.reshape(n, n, 2), residual


def q5_layout_variants(n: int, g: np.ndarray) -> list[tuple[np.ndarray, str, str]]:
    """The other seven ways of laying out the right z values, with their messages."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    transposed = ("the axes are transposed: z1 must change along a row (left → right) and z2 along a "
                  "column (bottom → top).",
                  "los ejes están traspuestos: z1 debe cambiar a lo largo de una fila (de izquierda a derecha) "
                  "y z2 a lo largo de una columna (de abajo hacia arriba).")
    z2_down = ("z2 grows downwards: row 0 (the top row) must hold the LARGEST z2, like the y axis of a plot "
               "(reverse the order of the rows).",
               "z2 crece hacia abajo: la fila 0 (la de arriba) debe tener el MAYOR z2, como el eje y de un "
               "gráfico (invierte el orden de las filas).")
    z1_left = ("z1 grows to the left: column 0 (the left one) must hold the SMALLEST z1.",
               "z1 crece hacia la izquierda: la columna 0 (la de la izquierda) debe tener el MENOR z1.")
    both = ("both axes are reversed: z1 must grow to the right and z2 upwards (row 0, at the top, holds the "
            "largest z2).",
            "ambos ejes están invertidos: z1 debe crecer hacia la derecha y z2 hacia arriba (la fila 0, arriba, "
            "tiene el mayor z2).")
    out = [(np.stack([g[j], g[i]], -1), *z2_down),
           (np.stack([g[n - 1 - j], g[n - 1 - i]], -1), *z1_left),
           (np.stack([g[n - 1 - j], g[i]], -1), *both)]
    for a in (i, n - 1 - i):
        for b in (j, n - 1 - j):
            out.append((np.stack([g[a], g[b]], -1), *transposed))
    return out


def grid_feedback(label: tuple[str, str], image: np.ndarray, n: int, p_lo: float, p_hi: float,
                  inputs: Arrays, lang: str, other_p: tuple[float, float] | None) -> str | None:
    """Message for a wrong grid image (None when right)."""
    name = "decode_grid"
    h, w = Q5_H, Q5_W
    en_label, es_label = label
    prefix = say(f"{en_label}: ", f"{es_label}: ", lang)
    image = np.asarray(image)
    if image.dtype.kind in "iuf" and image.shape in ((n, n, h, w), (n * n, h, w)):
        return prefix + say(
            f"`{name}` returned shape {image.shape}: tile the images into ONE image of shape "
            f"(n·h, n·w) = ({n * h}, {n * w}), tile (i, j) in rows i·h…(i+1)·h and columns j·w…(j+1)·w.",
            f"`{name}` devolvió forma {image.shape}: junta las imágenes en UNA sola imagen de forma "
            f"(n·h, n·w) = ({n * h}, {n * w}); la imagen (i, j) va en las filas i·h…(i+1)·h y las columnas "
            f"j·w…(j+1)·w.", lang)
    if image.dtype.kind in "iuf" and image.shape == (n * w, n * h):
        return prefix + say(
            f"`{name}` returned shape {image.shape}; expected (n·h, n·w) = ({n * h}, {n * w}): the image is "
            "transposed (each decoded image has h rows and w columns).",
            f"`{name}` devolvió forma {image.shape}; se esperaba (n·h, n·w) = ({n * h}, {n * w}): la imagen "
            "está traspuesta (cada imagen decodificada tiene h filas y w columnas).", lang)
    problem = result_problem(name, image, (n * h, n * w), lang)
    if problem:
        return prefix + problem
    z, residual = read_back_z(image, n, inputs)
    if residual > 1e-6:
        return prefix + say(
            "the blocks of the image are not whole decoded images: place each image returned by the decoder, "
            "unchanged, in `figure[i*h:(i+1)*h, j*w:(j+1)*w]` (a plain reshape of the (n*n, h, w) array mixes "
            "rows of different images).",
            "los bloques de la imagen no son imágenes decodificadas completas: pon cada imagen que devuelve el "
            "decodificador, sin cambios, en `figure[i*h:(i+1)*h, j*w:(j+1)*w]` (un simple reshape del arreglo "
            "(n*n, h, w) mezcla filas de imágenes distintas).", lang)
    want = ref_latent_grid(n, p_lo, p_hi)
    if is_close(z, want, rtol=1e-6, atol=1e-6):
        return None
    g = norm.ppf(np.linspace(p_lo, p_hi, n))
    if other_p is not None and is_close(z, ref_latent_grid(n, *other_p), rtol=1e-6, atol=1e-6):
        return prefix + say(
            f"you ignored `p_lo`/`p_hi` (asked for {p_lo:.4g} and {p_hi:.4g}).",
            f"ignoraste `p_lo`/`p_hi` (se pidió {p_lo:.4g} y {p_hi:.4g}).", lang)
    z1_values = np.sort(z[..., 0].ravel())
    if is_close(z1_values, np.sort(np.repeat(np.linspace(g[0], g[-1], n), n)), rtol=1e-5, atol=1e-5):
        return prefix + say(
            "the z values are evenly spaced in z: space them evenly in PROBABILITY and map them with the "
            "inverse CDF, `norm.ppf(np.linspace(p_lo, p_hi, n))`.",
            "los valores de z están equiespaciados en z: equiespácialos en PROBABILIDAD y transfórmalos con la "
            "inversa de la función de distribución, `norm.ppf(np.linspace(p_lo, p_hi, n))`.", lang)
    if is_close(z1_values, np.sort(np.repeat(np.linspace(p_lo, p_hi, n), n)), rtol=1e-5, atol=1e-5):
        return prefix + say(
            "you decoded the probabilities themselves; map them to z with `norm.ppf` first.",
            "decodificaste las probabilidades mismas; primero transfórmalas en z con `norm.ppf`.", lang)
    for alt, en, es in q5_layout_variants(n, g):
        if is_close(z, alt, rtol=1e-6, atol=1e-6):
            return prefix + say(en, es, lang)
    k = np.unravel_index(int(np.argmax(np.abs(z - want).sum(-1))), (n, n))
    return prefix + say(
        f"tile (row {k[0]}, column {k[1]}) shows z = ({z[k][0]:.3f}, {z[k][1]:.3f}); expected "
        f"({want[k][0]:.3f}, {want[k][1]:.3f}). With g = norm.ppf(linspace(p_lo, p_hi, n)), tile (i, j) shows "
        "z = (g[j], g[n−1−i]).",
        f"la imagen (fila {k[0]}, columna {k[1]}) muestra z = ({z[k][0]:.3f}, {z[k][1]:.3f}); se esperaba "
        f"({want[k][0]:.3f}, {want[k][1]:.3f}). Con g = norm.ppf(linspace(p_lo, p_hi, n)), la imagen (i, j) "
        "muestra z = (g[j], g[n−1−i]).", lang)


def evaluate_q5(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    p_lo, p_hi = float(inputs["p_lo"]), float(inputs["p_hi"])
    message = grid_feedback(("with the default p_lo, p_hi", "con los p_lo, p_hi por omisión"),
                            outputs["default"], int(inputs["n_default"]), 0.05, 0.95, inputs, lang, None)
    if message is None:
        message = grid_feedback((f"with p_lo={p_lo:.4g}, p_hi={p_hi:.4g}", f"con p_lo={p_lo:.4g}, p_hi={p_hi:.4g}"),
                                outputs["custom"], int(inputs["n_custom"]), p_lo, p_hi, inputs, lang,
                                (0.05, 0.95))
    if message is not None:
        return fail(message)
    return ok(lang, "correct! z1 grows to the right, z2 upwards, and the points are equally spaced in "
                    "probability under N(0, 1).",
              "¡correcto! z1 crece hacia la derecha, z2 hacia arriba, y los puntos están equiespaciados en "
              "probabilidad bajo N(0, 1).")


Q5 = Question(
    qid="vae.q5", points=1, target="decode_grid",
    title={"en": "Decoding a latent grid (inverse CDF)",
           "es": "Decodificar una malla latente (inversa de la función de distribución)"},
    make_inputs=make_q5, run=run_q5, evaluate=evaluate_q5)


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice)
# ---------------------------------------------------------------------------

Q6_HINTS = {
    "B": ("blur comes from the likelihood and from the noise in z, not from the KL weight; with less KL "
          "pressure the reconstructions get sharper, if anything. What happens to the codes when nothing "
          "pulls q(z|x) towards N(0, I)?",
          "lo borroso viene de la verosimilitud y del ruido en z, no del peso de la KL; con menos presión de "
          "la KL las reconstrucciones, en todo caso, mejoran. ¿Qué les pasa a los códigos cuando nada empuja "
          "q(z|x) hacia N(0, I)?"),
    "C": ("that is what happens in the opposite limit, when the KL weight is very LARGE (posterior "
          "collapse). Think about what the KL term prevents.",
          "eso ocurre en el límite contrario, cuando el peso de la KL es muy GRANDE (colapso del posterior). "
          "Piensa en qué impide el término KL."),
    "D": ("the KL term depends on μ(x) and σ(x), so it depends on the encoder's weights and shapes "
          "its gradients: it is not a constant.",
          "el término KL depende de μ(x) y σ(x), o sea, de los pesos del codificador, y aporta gradientes: "
          "no es una constante."),
}


Q6 = choice_question(
    qid="vae.q6", points=1, target="answer_q6",
    title={"en": "What if the KL weight goes to 0?", "es": "¿Qué pasa si el peso de la KL tiende a 0?"},
    correct="A",
    right=("correct! Without the KL the VAE becomes a plain autoencoder: good reconstructions, "
           "but z ~ N(0, I) lands where no code lies.",
           "¡correcto! Sin la KL el VAE se convierte en un autoencoder común: buenas reconstrucciones, "
           "pero z ~ N(0, I) cae donde no hay ningún código."),
    hints=Q6_HINTS)


QUESTIONS = [Q1, Q2, Q3, Q4, Q5, Q6]

__all__ = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "QUESTIONS",
           "ref_reparameterize", "ref_kl_standard_normal", "ref_mc_kl", "ref_negative_elbo",
           "ref_latent_grid", "ref_decode_grid", "mog_logpdf", "laplace_logpdf"]
