"""Answer key of the VAE chapter's graded questions (teacher's side only).

Reference implementations (NumPy, float64), the inputs of every question, and
the expected results the checks compare against: reference values, analytic
gradients with respect to every input that carries parameters, and the
values of known wrong answers with their messages. See
:mod:`shared.checks.vae` for the questions.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.special import expit, log_expit, log_softmax, logsumexp, softmax
from scipy.stats import norm

from shared.checks.core import Arrays, pack_variants
from shared.checks.vae import (LOG_2PI, Q1_PARAMS, Q2_MC_DRAWS, Q3_K, Q3_L, Q3_N, Q3_S, Q3_TRUE_DRAWS,
                               Q4_CONFIDENT, Q4_H, Q4_L, Q4_N, Q4_W, Q5_H, Q5_W, Q6_TARGET)
from shared.key.core import QuestionKey, choice_key

Variants = list[tuple[Any, str, str]]


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


def ref_decode_grid(decoder: Callable[[np.ndarray], np.ndarray], n: int,
                    p_lo: float = 0.05, p_hi: float = 0.95) -> np.ndarray:
    """Decode :func:`ref_latent_grid` and tile the (h, w) images into (n*h, n*w)."""
    z = ref_latent_grid(n, p_lo, p_hi).reshape(n * n, 2)
    images = np.asarray(decoder(z))
    return tile(images.reshape(n, n, *images.shape[1:]))


# ---------------------------------------------------------------------------
# Q1. TensorFlow: reparameterisation
# ---------------------------------------------------------------------------

Q1_N, Q1_L = 24, 3


def make_q1(rng: np.random.Generator) -> Arrays:
    n, l = Q1_N, Q1_L
    return {"mu": rng.normal(0.0, 1.5, (n, l)).astype(np.float32),
            "log_var": rng.uniform(-3.0, 2.0, (n, l)).astype(np.float32),
            "eps": rng.normal(0.0, 1.0, (n, l)).astype(np.float32),
            # weights of the objective sum(z * w) that the check differentiates
            "w": rng.normal(0.0, 1.0, (n, l)).astype(np.float32)}


def q1_variants(mu, log_var, eps) -> Variants:
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
         "devolviste μ: falta el término de ruido σ · ε (sin él, el VAE es un autocodificador común)."),
        (mu * np.exp(0.5 * log_var) + eps,
         "μ and ε are swapped: z = μ + σ · ε.",
         "μ y ε están intercambiados: z = μ + σ · ε."),
    ]


def ref_q1_grads(mu, log_var, eps, w) -> dict[str, np.ndarray]:
    """Gradients of sum(z * w): dz/dmu = 1, dz/dlog_var = sigma * eps / 2."""
    sigma = np.exp(0.5 * np.asarray(log_var, dtype=np.float64))
    return {"mu": np.asarray(w, dtype=np.float64), "log_var": w * 0.5 * sigma * eps}


def expect_q1(inputs: Arrays) -> Arrays:
    mu, log_var, eps, w = (np.asarray(inputs[k], dtype=np.float64) for k in ("mu", "log_var", "eps", "w"))
    grads = ref_q1_grads(mu, log_var, eps, w)
    return {"z": ref_reparameterize(mu, log_var, eps), "sigma": np.exp(0.5 * log_var),
            **{f"grad_{k}": grads[k] for k in Q1_PARAMS},
            **pack_variants(q1_variants(mu, log_var, eps))}


# ---------------------------------------------------------------------------
# Q2. NumPy: closed-form KL to N(0, I)
# ---------------------------------------------------------------------------

Q2_N, Q2_L = 30, 4


def make_q2(rng: np.random.Generator) -> Arrays:
    n, l = Q2_N, Q2_L
    return {"mu": rng.normal(0.0, 1.5, (n, l)), "log_var": rng.uniform(-4.0, 2.0, (n, l)),
            # directions of the finite differences that check the derivatives
            "dir_mu": rng.normal(0.0, 1.0, (n, l)), "dir_log_var": rng.normal(0.0, 1.0, (n, l))}


def q2_variants(mu, log_var) -> Variants:
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
         "esa es KL(N(0, I) ‖ q), la otra dirección: la ELBO necesita KL(q(z|x) ‖ p(z))."),
    ]


def expect_q2(inputs: Arrays) -> Arrays:
    mu, log_var = np.asarray(inputs["mu"], dtype=np.float64), np.asarray(inputs["log_var"], dtype=np.float64)
    mc, se = mc_kl_standard_normal(mu, log_var)
    # directional derivatives: dKL/dmu = mu, dKL/dlog_var = (sigma^2 - 1) / 2
    return {"kl": ref_kl_standard_normal(mu, log_var), "mc": mc, "mc_se": se,
            "dkl_mu": np.sum(inputs["dir_mu"] * mu, axis=1),
            "dkl_log_var": np.sum(inputs["dir_log_var"] * 0.5 * (np.exp(log_var) - 1.0), axis=1),
            **pack_variants(q2_variants(mu, log_var))}


# ---------------------------------------------------------------------------
# Q3. TensorFlow Probability: Monte-Carlo KL to any prior
# ---------------------------------------------------------------------------

def make_q3(rng: np.random.Generator) -> Arrays:
    n, l, s, k = Q3_N, Q3_L, Q3_S, Q3_K
    return {"mu": rng.normal(0.0, 1.2, (n, l)).astype(np.float32),
            "log_var": rng.uniform(-2.5, 0.5, (n, l)).astype(np.float32),
            "eps": rng.normal(0.0, 1.0, (s, n, l)).astype(np.float32),
            "mix_logits": rng.normal(0.0, 1.0, k).astype(np.float32),
            "mix_loc": rng.normal(0.0, 2.0, (k, l)).astype(np.float32),
            "mix_scale": rng.uniform(0.4, 1.2, (k, l)).astype(np.float32),
            "laplace_scale": np.full(l, rng.uniform(0.5, 1.5), dtype=np.float32),
            # weights of the objective sum(kl * w) that the check differentiates
            "w": rng.normal(0.0, 1.0, n).astype(np.float32)}


def prior_logpdfs(inputs: Arrays) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """NumPy log-densities of the two priors of Q3, keyed like :data:`PRIORS`."""
    logits, loc, scale = (np.asarray(inputs[k], dtype=np.float64) for k in ("mix_logits", "mix_loc", "mix_scale"))
    b = np.asarray(inputs["laplace_scale"], dtype=np.float64)
    return {"mixture": lambda z: mog_logpdf(z, logits, loc, scale),
            "laplace": lambda z: laplace_logpdf(z, b)}


def prior_log_grads(prior: str, z: np.ndarray, inputs: Arrays) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gradients of log p(z) for z of shape (..., L): w.r.t. z (..., L) and w.r.t. each
    parameter of the prior (each of shape (..., *parameter shape))."""
    if prior == "mixture":
        logits, loc, scale = (np.asarray(inputs[k], dtype=np.float64)
                              for k in ("mix_logits", "mix_loc", "mix_scale"))
        log_w = log_softmax(logits)
        comp = diag_normal_logpdf(z[..., None, :], loc, scale)        # (..., K)
        r = softmax(log_w + comp, axis=-1)                            # responsibilities (..., K)
        diff = z[..., None, :] - loc                                  # (..., K, L)
        d_loc = r[..., None] * diff / scale ** 2                      # d log p / d loc
        return -np.sum(d_loc, axis=-2), {
            "mix_logits": r - np.exp(log_w),
            "mix_loc": d_loc,
            "mix_scale": r[..., None] * (diff ** 2 / scale ** 3 - 1.0 / scale)}
    b = np.asarray(inputs["laplace_scale"], dtype=np.float64)
    return -np.sign(z) / b, {"laplace_scale": -1.0 / b + np.abs(z) / b ** 2}


def ref_q3_grads(prior: str, inputs: Arrays) -> dict[str, np.ndarray]:
    """Gradients of sum_n w_n KL_n (the Monte-Carlo KL with the given eps) w.r.t. every input with parameters.

    With z = mu + sigma * eps, log q(z | mu, sigma) = sum_j [-eps_j^2 / 2 - log sigma_j] - const, so
    dKL/dmu = -mean_s dlog p/dz and dKL/dlog_var = mean_s [-1/2 - dlog p/dz * sigma * eps / 2];
    the prior's parameters: dKL/dtheta = -mean_s dlog p/dtheta.
    """
    mu, log_var, eps, w = (np.asarray(inputs[k], dtype=np.float64) for k in ("mu", "log_var", "eps", "w"))
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * eps                                              # (S, N, L)
    g, dtheta = prior_log_grads(prior, z, inputs)
    grads = {"mu": w[:, None] * np.mean(-g, axis=0),
             "log_var": w[:, None] * np.mean(-0.5 - 0.5 * g * sigma * eps, axis=0)}
    for k, d in dtheta.items():   # d: (S, N, *shape)
        per_example = np.mean(d, axis=0)
        grads[k] = -np.tensordot(w, per_example, axes=(0, 0))
    return grads


def q3_variants(inputs: Arrays, prior_logpdf) -> Variants:
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


def expect_q3(inputs: Arrays) -> Arrays:
    out: Arrays = {}
    for prior, logpdf in prior_logpdfs(inputs).items():
        true_kl, se = q3_reference_spread(inputs, logpdf)
        part = {"kl": ref_mc_kl(inputs["mu"], inputs["log_var"], inputs["eps"], logpdf),
                "true_kl": true_kl, "se": se,
                **{f"grad_{k}": v for k, v in ref_q3_grads(prior, inputs).items()},
                **pack_variants(q3_variants(inputs, logpdf))}
        out.update({f"{prior}/{k}": v for k, v in part.items()})
    return out


# ---------------------------------------------------------------------------
# Q4. TensorFlow: negative ELBO of a batch
# ---------------------------------------------------------------------------

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


def keras_bce_on_probabilities(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """What Keras computes with ``from_logits=False`` (float32, clipped to [1e-7, 1 - 1e-7])."""
    eps = np.float32(1e-7)
    p = np.clip(p.astype(np.float32), eps, np.float32(1.0) - eps)
    x = x.astype(np.float32)
    return -(x * np.log(p) + (np.float32(1.0) - x) * np.log(np.float32(1.0) - p)).astype(np.float64)


def q4_variants(inputs: Arrays) -> Variants:
    x, logits, mu, log_var = (np.asarray(inputs[k], dtype=np.float64) for k in ("x", "logits", "mu", "log_var"))
    axes = tuple(range(1, x.ndim))
    pixels = int(np.prod(x.shape[1:]))
    l = mu.shape[1]
    rec = np.sum(bce_with_logits(x, logits), axis=axes)
    kl = ref_kl_standard_normal(mu, log_var)
    want = float(np.mean(rec + kl))
    p = expit(logits)
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
         "el signo está invertido: eso es la ELBO; la pérdida es su negativo."),
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


def ref_q4_grads(x, logits, mu, log_var) -> dict[str, np.ndarray]:
    """Gradients of the mean negative ELBO: (sigmoid(l) - x) / N, mu / N and (sigma^2 - 1) / (2 N)."""
    n = x.shape[0]
    return {"logits": (expit(logits) - x) / n, "mu": mu / n, "log_var": 0.5 * (np.exp(log_var) - 1.0) / n}


def expect_q4(inputs: Arrays) -> Arrays:
    x, logits, mu, log_var = (np.asarray(inputs[k], dtype=np.float64) for k in ("x", "logits", "mu", "log_var"))
    grads = ref_q4_grads(x, logits, mu, log_var)
    return {"value": np.array(ref_negative_elbo(x, logits, mu, log_var)),
            # float32 keeps the public case small; the check's tolerance is far above float32 round-off
            "grad_logits": grads["logits"].astype(np.float32),
            "grad_mu": grads["mu"], "grad_log_var": grads["log_var"],
            **pack_variants(q4_variants(inputs))}


# ---------------------------------------------------------------------------
# Q5. NumPy/SciPy: decoding a latent grid with the inverse CDF
# ---------------------------------------------------------------------------

def make_q5(rng: np.random.Generator) -> Arrays:
    h, w = Q5_H, Q5_W
    return {"n_default": np.array(int(rng.integers(5, 8))),
            "n_custom": np.array(int(rng.integers(8, 11))),
            "p_lo": np.array(rng.uniform(0.001, 0.02)),
            "p_hi": np.array(rng.uniform(0.98, 0.999)),
            "A": rng.normal(0.0, 1.0, (h, w)),
            "B": rng.normal(0.0, 1.0, (h, w)),
            "C": rng.normal(0.0, 1.0, (h, w))}


def q5_layout_variants(n: int, g: np.ndarray) -> Variants:
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


def q5_grid_expected(n: int, p_lo: float, p_hi: float, ignored: tuple[float, float] | None) -> Arrays:
    """What the check of one grid needs: the right z of every tile and those of known mistakes."""
    g = norm.ppf(np.linspace(p_lo, p_hi, n))
    out: Arrays = {"z": ref_latent_grid(n, p_lo, p_hi),
                   # sorted z1 values of a grid evenly spaced in z, and of one made of the probabilities
                   "evenly_in_z": np.sort(np.repeat(np.linspace(g[0], g[-1], n), n)),
                   "probabilities": np.sort(np.repeat(np.linspace(p_lo, p_hi, n), n)),
                   **pack_variants(q5_layout_variants(n, g))}
    if ignored is not None:
        out["ignored"] = ref_latent_grid(n, *ignored)
    return out


def expect_q5(inputs: Arrays) -> Arrays:
    default = q5_grid_expected(int(inputs["n_default"]), 0.05, 0.95, None)
    custom = q5_grid_expected(int(inputs["n_custom"]), float(inputs["p_lo"]), float(inputs["p_hi"]),
                              (0.05, 0.95))
    return {**{f"default/{k}": v for k, v in default.items()}, **{f"custom/{k}": v for k, v in custom.items()}}


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice): the letter and the hints
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
          "eso ocurre en el límite contrario, cuando el peso de la KL es muy GRANDE (colapso de la distribución "
          "a posteriori). Piensa en qué impide el término KL."),
    "D": ("the KL term depends on μ(x) and σ(x), so it depends on the encoder's weights and shapes "
          "its gradients: it is not a constant.",
          "el término KL depende de μ(x) y σ(x), o sea, de los pesos del codificador, y aporta gradientes: "
          "no es una constante."),
}


KEYS = {k.qid: k for k in [
    QuestionKey("vae.q1", make_q1, expect_q1),
    QuestionKey("vae.q2", make_q2, expect_q2),
    QuestionKey("vae.q3", make_q3, expect_q3),
    QuestionKey("vae.q4", make_q4, expect_q4),
    QuestionKey("vae.q5", make_q5, expect_q5),
    choice_key(
        "vae.q6", Q6_TARGET, correct="A",
        right=("correct! Without the KL the VAE becomes a plain autoencoder: good reconstructions, "
               "but z ~ N(0, I) lands where no code lies.",
               "¡correcto! sin la KL el VAE se convierte en un autocodificador común: buenas reconstrucciones, "
               "pero z ~ N(0, I) cae donde no hay ningún código."),
        hints=Q6_HINTS),
]}
