"""Answer key of the MDN chapter's graded questions (teacher's side only).

Reference implementations (NumPy, float64, log space), the inputs of every
question, and the expected results the checks compare against (including the
values of known wrong answers). See :mod:`shared.checks.mdn` for the questions.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.special import log_softmax, logsumexp

from shared.checks.core import Arrays, pack_variants
from shared.checks.mdn import LOG_2PI, Q3_K, Q6_TARGET
from shared.key.core import QuestionKey, choice_key, nothing_expected

#: distance (in units of sigma) of the "far" targets from every component
FAR = 60.0

# ---------------------------------------------------------------------------
# Reference implementations (NumPy, float64, log space)
# ---------------------------------------------------------------------------

def normal_logpdf(t: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log N(t | mu, sigma^2), broadcasting."""
    z = (t - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - 0.5 * LOG_2PI


def ref_mixture_nll_rows(logits: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray,
                         t: np.ndarray) -> np.ndarray:
    """Per-row NLL, shape (N,), of the mixture with pi = softmax(logits), sigma = exp(log_sigma)."""
    logits, mu, log_sigma, t = (np.asarray(a, dtype=np.float64) for a in (logits, mu, log_sigma, t))
    log_pi = log_softmax(logits, axis=1)
    return -logsumexp(log_pi + normal_logpdf(t, mu, np.exp(log_sigma)), axis=1)


def ref_mixture_nll(logits, mu, log_sigma, t) -> float:
    """Mean NLL (nats) over the batch."""
    return float(np.mean(ref_mixture_nll_rows(logits, mu, log_sigma, t)))


def ref_responsibilities(pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                         t: np.ndarray) -> np.ndarray:
    """gamma_nk = pi_k N(t_n | mu_k, sigma_k) / sum_j (...), computed in log space."""
    pi, mu, sigma, t = (np.asarray(a, dtype=np.float64) for a in (pi, mu, sigma, t))
    with np.errstate(divide="ignore"):
        log_w = np.log(pi) + normal_logpdf(t, mu, sigma)
    return np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True))


def ref_sample_mixture(pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """One draw per row: k ~ Categorical(pi_n), then t ~ N(mu_nk, sigma_nk^2)."""
    cdf = np.cumsum(pi, axis=1)
    u = rng.random((pi.shape[0], 1))
    k = np.minimum((u > cdf).sum(axis=1), pi.shape[1] - 1)
    rows = np.arange(pi.shape[0])
    return mu[rows, k] + sigma[rows, k] * rng.standard_normal(pi.shape[0])


def split_params(params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[logits | mu | log_sigma] along axis 1."""
    k = params.shape[1] // 3
    return params[:, :k], params[:, k:2 * k], params[:, 2 * k:3 * k]


def ref_mdn_loss(t: np.ndarray, params: np.ndarray) -> float:
    """Mean NLL of t (N, 1) under the mixtures described by params (N, 3K)."""
    logits, mu, log_sigma = split_params(np.asarray(params, dtype=np.float64))
    return ref_mixture_nll(logits, mu, log_sigma, t)


def ref_density_slice(pi, mu, sigma, t_grid) -> tuple[np.ndarray, np.ndarray]:
    """(density (T,), contributions (K, T)) with contributions = pi_k N(t | mu_k, sigma_k)."""
    pi, mu, sigma, t_grid = (np.asarray(a, dtype=np.float64) for a in (pi, mu, sigma, t_grid))
    contributions = pi[:, None] * np.exp(normal_logpdf(t_grid[None, :], mu[:, None], sigma[:, None]))
    return contributions.sum(axis=0), contributions


# ---------------------------------------------------------------------------
# Helpers shared by the questions
# ---------------------------------------------------------------------------

def far_targets(mu: np.ndarray, sigma: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Targets at least FAR sigmas away from every component of the given rows."""
    above = np.max(mu[rows] + FAR * sigma[rows], axis=1)
    below = np.min(mu[rows] - FAR * sigma[rows], axis=1)
    side = rng.random(rows.size) < 0.5
    return np.where(side, above + rng.uniform(0.5, 2.0, rows.size),
                    below - rng.uniform(0.5, 2.0, rows.size))


# ---------------------------------------------------------------------------
# Q1. PyTorch: stable mixture NLL
# ---------------------------------------------------------------------------

Q1_N, Q1_K, Q1_FAR = 48, 4, 4


def make_q1(rng: np.random.Generator) -> Arrays:
    n, k = Q1_N, Q1_K
    logits = rng.normal(0.0, 1.5, (n, k))
    mu = rng.normal(0.0, 2.0, (n, k))
    log_sigma = rng.uniform(-1.5, 0.7, (n, k))
    sigma = np.exp(log_sigma)
    comp = rng.integers(0, k, n)
    rows = np.arange(n)
    t = mu[rows, comp] + sigma[rows, comp] * rng.normal(size=n)
    far = rng.choice(n, Q1_FAR, replace=False)
    t[far] = far_targets(mu, sigma, far, rng)
    return {"logits": logits.astype(np.float32), "mu": mu.astype(np.float32),
            "log_sigma": log_sigma.astype(np.float32), "t": t[:, None].astype(np.float32)}


def q1_variants(inputs: Arrays) -> list[tuple[float, str, str]]:
    """Values of common mistakes, with their messages (en, es)."""
    logits, mu, log_sigma, t = (np.asarray(inputs[k], dtype=np.float64)
                                for k in ("logits", "mu", "log_sigma", "t"))
    sigma = np.exp(log_sigma)
    n = logits.shape[0]
    ref = ref_mixture_nll(logits, mu, log_sigma, t)
    z2 = ((t - mu) / sigma) ** 2
    log_pi = log_softmax(logits, axis=1)
    no_softmax = -np.mean(logsumexp(logits + normal_logpdf(t, mu, sigma), axis=1))
    no_log_sigma = -np.mean(logsumexp(log_pi - 0.5 * z2 - 0.5 * LOG_2PI, axis=1))
    var_as_scale = -np.mean(logsumexp(log_pi + normal_logpdf(t, mu, sigma ** 2), axis=1))
    return [
        (n * ref,
         "you returned the SUM over the batch; return the mean (`.mean()`).",
         "devolviste la SUMA sobre el lote; devuelve el promedio (`.mean()`)."),
        (-ref,
         "the sign is flipped: that is the log-likelihood; the loss is its negative.",
         "el signo está invertido: eso es la log-verosimilitud; la pérdida es su negativo."),
        (no_softmax,
         "you used the logits directly as log π: normalise them first with "
         "`torch.log_softmax(logits, dim=1)`.",
         "usaste los logits directamente como log π: primero normalízalos con "
         "`torch.log_softmax(logits, dim=1)`."),
        (no_log_sigma,
         "the −log σ term of log N(t | μ, σ²) is missing.",
         "falta el término −log σ de log N(t | μ, σ²)."),
        (ref - 0.5 * LOG_2PI,
         "the constant −½ log 2π of log N(t | μ, σ²) is missing.",
         "falta la constante −½ log 2π de log N(t | μ, σ²)."),
        (var_as_scale,
         "you used σ² where σ goes: σ = exp(log_sigma) is the standard deviation.",
         "usaste σ² donde va σ: σ = exp(log_sigma) es la desviación estándar."),
    ]



def ref_grads(logits, mu, log_sigma, t) -> dict[str, np.ndarray]:
    """Gradients of the mean NLL with respect to logits, mu and log_sigma, each (N, K).

    With gamma the responsibilities, z = (t - mu) / sigma and N the batch size:
    dL/dlogits = -(gamma - pi) / N, dL/dmu = -gamma (t - mu) / sigma^2 / N,
    dL/dlog_sigma = -gamma (z^2 - 1) / N.
    """
    logits, mu, log_sigma, t = (np.asarray(a, dtype=np.float64) for a in (logits, mu, log_sigma, t))
    n = mu.shape[0]
    sigma = np.exp(log_sigma)
    pi = np.exp(log_softmax(logits, axis=1))
    gamma = ref_responsibilities(pi, mu, sigma, t)
    z = (t - mu) / sigma
    return {"logits": -(gamma - pi) / n, "mu": -gamma * (t - mu) / sigma ** 2 / n,
            "log_sigma": -gamma * (z * z - 1.0) / n}


def expect_q1(inputs: Arrays) -> Arrays:
    args = [inputs[k] for k in ("logits", "mu", "log_sigma", "t")]
    grads = ref_grads(*args)
    return {"value": np.array(ref_mixture_nll(*args)),
            **{f"grad_{k}": v for k, v in grads.items()},
            **pack_variants(q1_variants(inputs))}


# ---------------------------------------------------------------------------
# Q2. NumPy: responsibilities
# ---------------------------------------------------------------------------

Q2_N, Q2_K, Q2_FAR = 40, 3, 5


def make_q2(rng: np.random.Generator) -> Arrays:
    n, k = Q2_N, Q2_K
    pi = rng.dirichlet(np.full(k, 2.0), n)
    mu = rng.normal(0.0, 2.0, (n, k))
    sigma = rng.uniform(0.3, 1.5, (n, k))
    comp = rng.integers(0, k, n)
    rows = np.arange(n)
    t = mu[rows, comp] + sigma[rows, comp] * rng.normal(size=n)
    far = rng.choice(n, Q2_FAR, replace=False)
    t[far] = far_targets(mu, sigma, far, rng)
    return {"pi": pi, "mu": mu, "sigma": sigma, "t": t[:, None]}


def expect_q2(inputs: Arrays) -> Arrays:
    pi, mu, sigma, t = (inputs[k] for k in ("pi", "mu", "sigma", "t"))
    return {"gamma": ref_responsibilities(pi, mu, sigma, t),
            "no_pi": ref_responsibilities(np.ones_like(pi), mu, sigma, t),
            "var_scale": ref_responsibilities(pi, mu, sigma ** 2, t)}


# ---------------------------------------------------------------------------
# Q3. NumPy: sampling a mixture (the evaluation is statistical: nothing expected)
# ---------------------------------------------------------------------------

Q3_NA, Q3_NB = 6000, 300


def make_q3(rng: np.random.Generator) -> Arrays:
    na, nb, k = Q3_NA, Q3_NB, Q3_K
    # block A: one well-separated mixture shared by na rows
    pi_a = rng.permutation(np.array([0.55, 0.28, 0.17]) + rng.uniform(-0.03, 0.03, 3))
    pi_a = pi_a / pi_a.sum()
    mu_a = rng.uniform(-5.0, 5.0) + np.array([-16.0, 0.0, 16.0]) + rng.uniform(-1.0, 1.0, 3)
    sigma_a = rng.uniform(0.3, 0.7, k)
    # block B: one-hot pi, different per row, components 20 apart
    onehot = rng.integers(0, k, nb)
    pi_b = np.eye(k)[onehot]
    mu_b = rng.uniform(-20.0, 20.0, (nb, 1)) + rng.permutation(np.array([-20.0, 0.0, 20.0]))
    mu_b = mu_b + rng.uniform(-1.0, 1.0, (nb, k))
    sigma_b = rng.uniform(0.3, 0.7, (nb, k))
    return {
        "pi": np.vstack([np.tile(pi_a, (na, 1)), pi_b]),
        "mu": np.vstack([np.tile(mu_a, (na, 1)), mu_b]),
        "sigma": np.vstack([np.tile(sigma_a, (na, 1)), sigma_b]),
        "n_a": np.array(na),
        "seed": np.array(int(rng.integers(0, 2 ** 31 - 1))),
    }



# ---------------------------------------------------------------------------
# Q4. Keras / TensorFlow Probability loss
# ---------------------------------------------------------------------------

Q4_N, Q4_K = 40, 3


def make_q4(rng: np.random.Generator) -> Arrays:
    n, k = Q4_N, Q4_K
    logits = rng.normal(0.0, 1.5, (n, k))
    mu = rng.normal(0.0, 2.0, (n, k))
    log_sigma = rng.uniform(-1.2, 0.5, (n, k))
    comp = rng.integers(0, k, n)
    rows = np.arange(n)
    t = mu[rows, comp] + np.exp(log_sigma[rows, comp]) * rng.normal(size=n)
    return {"t": t[:, None].astype(np.float32),
            "params": np.hstack([logits, mu, log_sigma]).astype(np.float32)}


def q4_variants(inputs: Arrays) -> list[tuple[Any, str, str]]:
    t = np.asarray(inputs["t"], dtype=np.float64)
    params = np.asarray(inputs["params"], dtype=np.float64)
    logits, mu, log_sigma = split_params(params)
    log_pi = log_softmax(logits, axis=1)
    sigma = np.exp(log_sigma)
    # t (N, 1) against N mixtures -> (N, N) log-probabilities
    cross = logsumexp(log_pi[None, :, :] + normal_logpdf(t[:, :, None], mu[None], sigma[None]), axis=2)
    out = [(-float(np.mean(cross)),
            "log_prob returned an (N, N) matrix: t has shape (N, 1) and broadcasts against the N mixtures. "
            "Squeeze it first: `tf.squeeze(t, axis=-1)`.",
            "log_prob devolvió una matriz (N, N): t tiene forma (N, 1) y se combina (broadcasting) con las "
            "N mezclas. Primero quítale el eje: `tf.squeeze(t, axis=-1)`.")]
    for perm in itertools.permutations(range(3)):
        if perm == (0, 1, 2):
            continue
        b = [params[:, i * logits.shape[1]:(i + 1) * logits.shape[1]] for i in perm]
        # the student reads block perm[0] as logits, perm[1] as mu, perm[2] as log_sigma
        with np.errstate(all="ignore"):
            value = ref_mixture_nll(b[0], b[1], b[2], t)
        out.append((value,
                    "the blocks are sliced in the wrong order: params = [logits | mu | log_sigma], "
                    "each of width K = params.shape[1] // 3.",
                    "los bloques están cortados en otro orden: params = [logits | mu | log_sigma], "
                    "cada uno de ancho K = params.shape[1] // 3."))
    out.append((ref_mixture_nll(logits, mu, 2 * log_sigma, t),
                "you used σ² as scale: `tfd.Normal(loc, scale)` takes σ = exp(log_sigma).",
                "usaste σ² como escala: `tfd.Normal(loc, scale)` recibe σ = exp(log_sigma)."))
    return out



def expect_q4(inputs: Arrays) -> Arrays:
    t, params = inputs["t"], inputs["params"]
    logits, mu, log_sigma = split_params(np.asarray(params, dtype=np.float64))
    value = ref_mdn_loss(t, params)
    grads = ref_grads(logits, mu, log_sigma, t)
    n = t.shape[0]
    return {"value": np.array(value), "neg": np.array(-value), "sum": np.array(n * value),
            "per_example": ref_mixture_nll_rows(logits, mu, log_sigma, t),
            "grad_params": np.hstack([grads["logits"], grads["mu"], grads["log_sigma"]]),
            **pack_variants(q4_variants(inputs))}


# ---------------------------------------------------------------------------
# Q5. NumPy: slice of the conditional density
# ---------------------------------------------------------------------------

Q5_K, Q5_T = 3, 241


def make_q5(rng: np.random.Generator) -> Arrays:
    k = Q5_K
    return {"pi": rng.dirichlet(np.full(k, 2.0)),
            "mu": np.sort(rng.normal(0.0, 2.0, k)),
            "sigma": rng.uniform(0.3, 0.7, k),
            "t_grid": np.linspace(-6.0, 6.0, Q5_T)}


def expect_q5(inputs: Arrays) -> Arrays:
    pi, mu, sigma, grid = (inputs[k] for k in ("pi", "mu", "sigma", "t_grid"))
    density, contributions = ref_density_slice(pi, mu, sigma, grid)
    return {"density": density, "contributions": contributions,
            "no_pi": ref_density_slice(np.ones_like(pi), mu, sigma, grid)[1],
            "var_scale": ref_density_slice(pi, mu, sigma ** 2, grid)[1]}


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice): the letter and the hints
# ---------------------------------------------------------------------------

Q6_HINTS = {
    "A": ("the mode would at least lie on one branch, but squared error does not lead to the mode. "
          "Which single number y minimises E[(t − y)² | x]?",
          "la moda al menos estaría sobre una rama, pero el error cuadrático no conduce a la moda. "
          "¿Qué valor de y minimiza E[(t − y)² | x]?"),
    "C": ("once trained, the network is a deterministic function of x: the same x always gives the same "
          "output. Which quantity minimises the average squared error?",
          "una vez entrenada, la red es una función determinista de x: la misma x siempre da la misma "
          "salida. ¿Qué cantidad minimiza el error cuadrático promedio?"),
    "D": ("the median minimises the absolute error |t − y|, not the squared error, and it is not robust "
          "to multimodality either.",
          "la mediana minimiza el error absoluto |t − y|, no el cuadrático, y tampoco es robusta a la "
          "multimodalidad."),
}


KEYS = {k.qid: k for k in [
    QuestionKey("mdn.q1", make_q1, expect_q1),
    QuestionKey("mdn.q2", make_q2, expect_q2),
    QuestionKey("mdn.q3", make_q3, nothing_expected),
    QuestionKey("mdn.q4", make_q4, expect_q4),
    QuestionKey("mdn.q5", make_q5, expect_q5),
    choice_key(
        "mdn.q6", Q6_TARGET, correct="B",
        right=("correct! Squared error is minimised by the conditional mean, which can fall "
               "where p(t|x) ≈ 0.",
               "¡correcto! el error cuadrático se minimiza con la media condicional, que puede caer "
               "donde p(t|x) ≈ 0."),
        hints=Q6_HINTS),
]}
