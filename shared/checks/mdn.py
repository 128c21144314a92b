"""Graded questions of the Mixture Density Network (MDN) chapter.

Six questions (10 points):

====  ======  ==========================================================
Q1    2 pts   PyTorch: stable mixture negative log-likelihood (+ gradient)
Q2    2 pts   NumPy: responsibilities gamma, computed stably
Q3    2 pts   NumPy: one sample per row of a Gaussian mixture
Q4    2 pts   Keras / TensorFlow Probability: MDN loss with MixtureSameFamily
Q5    1 pt    NumPy: slice of the conditional density p(t | x0)
Q6    1 pt    Interpretation (multiple choice): what does an MSE network predict?
====  ======  ==========================================================

``make_inputs`` and ``evaluate`` are pure NumPy/SciPy (they run in the
grader's process). ``run`` runs in the student's kernel: it imports PyTorch or
TensorFlow lazily, calls the student's object and returns NumPy arrays.

The reference implementations (float64, log space) are public functions of
this module (``ref_mixture_nll``, ``ref_responsibilities``...).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.special import log_softmax, logsumexp

from shared.checks.core import (Arrays, choice_question, Feedback, Question, array_problem, close_problem, fail, is_close, ok,
                                result_problem, say, scalar_problem, scalar_value, to_numpy)

LOG_2PI = float(np.log(2.0 * np.pi))

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


def ref_grad_mu(logits, mu, log_sigma, t) -> np.ndarray:
    """d(mean NLL)/d mu = -(1/N) gamma_nk (t_n - mu_nk) / sigma_nk^2."""
    logits, mu, log_sigma, t = (np.asarray(a, dtype=np.float64) for a in (logits, mu, log_sigma, t))
    sigma = np.exp(log_sigma)
    gamma = ref_responsibilities(np.exp(log_softmax(logits, axis=1)), mu, sigma, t)
    return -gamma * (t - mu) / sigma ** 2 / mu.shape[0]


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


def run_q1(f: Any, inputs: Arrays) -> Arrays:
    import torch

    logits = torch.tensor(inputs["logits"], dtype=torch.float32)
    mu = torch.tensor(inputs["mu"], dtype=torch.float32, requires_grad=True)
    log_sigma = torch.tensor(inputs["log_sigma"], dtype=torch.float32)
    t = torch.tensor(inputs["t"], dtype=torch.float32)
    out = f(logits, mu, log_sigma, t)
    value = to_numpy(out)
    grad = np.full(inputs["mu"].shape, np.nan, dtype=np.float32)
    if not isinstance(out, torch.Tensor):
        note = "not_tensor"
    elif out.numel() != 1:
        note = "not_scalar"
    elif not out.requires_grad:
        note = "detached"
    else:
        try:
            out.reshape(()).backward()
            note = "ok" if mu.grad is not None else "no_grad"
            if mu.grad is not None:
                grad = mu.grad.detach().cpu().numpy()
        except Exception as exc:  # the graph may be broken in many ways
            note = f"backward_failed: {type(exc).__name__}: {exc}"
    return {"value": value, "grad_mu": grad, "grad_note": np.array(note)}


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


def evaluate_q1(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "mixture_nll"
    value = np.asarray(outputs["value"])
    problem = scalar_problem(name, value, inputs["t"].shape[0], lang)
    if problem:
        return fail(problem)
    got = scalar_value(value)
    if not np.isfinite(got):
        return fail(say(
            f"`{name}` returned {got}: some targets lie far from every component, so N(t | μ, σ²) "
            "underflows to 0 and log 0 = −inf. Stay in log space: "
            "`torch.logsumexp(log_softmax(logits) + log N, dim=1)`.",
            f"`{name}` devolvió {got}: algunos objetivos están lejos de todas las componentes, así que "
            "N(t | μ, σ²) se redondea a 0 y log 0 = −inf. Trabaja en espacio logarítmico: "
            "`torch.logsumexp(log_softmax(logits) + log N, dim=1)`.", lang))
    want = ref_mixture_nll(inputs["logits"], inputs["mu"], inputs["log_sigma"], inputs["t"])
    if not is_close(got, want, rtol=1e-4, atol=1e-4):
        for alt, en, es in q1_variants(inputs):
            if is_close(got, alt, rtol=1e-4, atol=1e-4):
                return fail(say(f"wrong value ({got:.5g}): {en}", f"valor incorrecto ({got:.5g}): {es}", lang))
        return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-4))
    note = str(outputs["grad_note"])
    if note == "not_tensor":
        return fail(say(
            f"the value is right, but `{name}` must return a torch tensor (no `.item()`, "
            "`float()` or NumPy), so that `.backward()` works.",
            f"el valor es correcto, pero `{name}` debe devolver un tensor de torch (sin `.item()`, "
            "`float()` ni NumPy) para que `.backward()` funcione.", lang))
    if note in ("detached", "no_grad"):
        return fail(say(
            "the value is right, but the result is not connected to `mu` in the autograd graph: "
            "use torch operations only (no `.detach()`, `.numpy()` or new tensors from numbers).",
            "el valor es correcto, pero el resultado no está conectado con `mu` en el grafo de autograd: "
            "usa solo operaciones de torch (sin `.detach()`, `.numpy()` ni tensores nuevos creados "
            "a partir de números).", lang))
    if note != "ok":
        return fail(say(f"the value is right, but `.backward()` failed ({note}).",
                        f"el valor es correcto, pero `.backward()` falló ({note}).", lang))
    grad = np.asarray(outputs["grad_mu"])
    problem = array_problem("mu.grad", grad, inputs["mu"].shape, lang)
    if problem:
        return fail(say(
            f"the value is right, but the gradient is not usable: {problem} Differentiating through "
            "exp(...) that underflows gives NaN: use `torch.logsumexp`.",
            f"el valor es correcto, pero el gradiente no sirve: {problem} Derivar a través de un "
            "exp(...) que se redondea a 0 da NaN: usa `torch.logsumexp`.", lang))
    want_grad = ref_grad_mu(inputs["logits"], inputs["mu"], inputs["log_sigma"], inputs["t"])
    scale = float(np.max(np.abs(want_grad)))
    problem = close_problem("mu.grad", grad, want_grad, lang, rtol=1e-3, atol=1e-4 * scale + 1e-7)
    if problem:
        return fail(say(f"the value is right, but the gradient is not: {problem}",
                        f"el valor es correcto, pero el gradiente no: {problem}", lang))
    return ok(lang, f"correct! mean NLL = {got:.4f} nats, finite gradients even for far targets.",
              f"¡correcto! NLL promedio = {got:.4f} nats, gradientes finitos incluso para objetivos lejanos.")


Q1 = Question(
    qid="mdn.q1", points=2, target="mixture_nll",
    title={"en": "Stable mixture NLL (PyTorch)", "es": "NLL estable de la mezcla (PyTorch)"},
    make_inputs=make_q1, run=run_q1, evaluate=evaluate_q1)


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


def run_q2(f: Any, inputs: Arrays) -> Arrays:
    return {"gamma": to_numpy(f(inputs["pi"], inputs["mu"], inputs["sigma"], inputs["t"]))}


def evaluate_q2(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "responsibilities"
    pi, mu, sigma, t = (inputs[k] for k in ("pi", "mu", "sigma", "t"))
    gamma = np.asarray(outputs["gamma"])
    shape = pi.shape
    if gamma.dtype.kind in "iuf" and gamma.shape == shape and not np.all(np.isfinite(gamma)):
        bad_rows = np.flatnonzero(~np.all(np.isfinite(gamma), axis=1))
        return fail(say(
            f"`{name}` has NaN/inf in {bad_rows.size} row(s) (e.g. row {bad_rows[0]}): there t is far "
            "from every component, every π_k N(t | μ_k, σ_k) underflows to 0 and you get 0/0. "
            "Work with log π_k + log N and subtract the row maximum before `np.exp` "
            "(or use `scipy.special.logsumexp`).",
            f"`{name}` tiene NaN/inf en {bad_rows.size} fila(s) (p. ej. la fila {bad_rows[0]}): ahí t está "
            "lejos de todas las componentes, cada π_k N(t | μ_k, σ_k) se redondea a 0 y obtienes 0/0. "
            "Trabaja con log π_k + log N y resta el máximo de cada fila antes de `np.exp` "
            "(o usa `scipy.special.logsumexp`).", lang))
    problem = result_problem(name, gamma, shape, lang)
    if problem:
        return fail(problem)
    want = ref_responsibilities(pi, mu, sigma, t)
    if is_close(gamma, want, rtol=1e-4, atol=1e-6):
        return ok(lang, "correct! every row sums to 1, even for targets far from all components.",
                  "¡correcto! cada fila suma 1, incluso para objetivos lejos de todas las componentes.")
    sums = gamma.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        i = int(np.argmax(np.abs(sums - 1.0)))
        return fail(say(
            f"not normalised: row {i} sums to {sums[i]:.4g}, but responsibilities are probabilities "
            "over k; divide by Σ_j π_j N(t | μ_j, σ_j).",
            f"no está normalizado: la fila {i} suma {sums[i]:.4g}, pero las responsabilidades son "
            "probabilidades sobre k; divide entre Σ_j π_j N(t | μ_j, σ_j).", lang))
    no_pi = ref_responsibilities(np.ones_like(pi), mu, sigma, t)
    if is_close(gamma, no_pi, rtol=1e-4, atol=1e-6):
        return fail(say("the rows sum to 1 but π is missing: γ_nk ∝ π_nk N(t_n | μ_nk, σ_nk).",
                        "las filas suman 1 pero falta π: γ_nk ∝ π_nk N(t_n | μ_nk, σ_nk).", lang))
    var_scale = ref_responsibilities(pi, mu, sigma ** 2, t)
    if is_close(gamma, var_scale, rtol=1e-4, atol=1e-6):
        return fail(say("you used σ² where σ goes: `sigma` is the standard deviation.",
                        "usaste σ² donde va σ: `sigma` es la desviación estándar.", lang))
    return fail(close_problem(name, gamma, want, lang, rtol=1e-4, atol=1e-6))


Q2 = Question(
    qid="mdn.q2", points=2, target="responsibilities",
    title={"en": "Responsibilities (NumPy)", "es": "Responsabilidades (NumPy)"},
    make_inputs=make_q2, run=run_q2, evaluate=evaluate_q2)


# ---------------------------------------------------------------------------
# Q3. NumPy: sampling a mixture
# ---------------------------------------------------------------------------

Q3_NA, Q3_NB, Q3_K = 6000, 300, 3
#: z-score tolerance of the statistical checks (a correct sampler fails < 1e-5 of the time)
Q3_Z = 5.0
#: block B: a sample is "from its component" when within this many sigmas of its mean
Q3_B_WIDTH = 6.5


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


def run_q3(f: Any, inputs: Arrays) -> Arrays:
    seed = int(inputs["seed"])
    first = to_numpy(f(inputs["pi"].copy(), inputs["mu"].copy(), inputs["sigma"].copy(),
                       np.random.default_rng(seed)))
    again = to_numpy(f(inputs["pi"].copy(), inputs["mu"].copy(), inputs["sigma"].copy(),
                       np.random.default_rng(seed)))
    return {"samples": first, "samples_again": again}


def evaluate_q3(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "sample_mixture"
    pi, mu, sigma = inputs["pi"], inputs["mu"], inputs["sigma"]
    n, k = pi.shape
    na = int(inputs["n_a"])
    s = np.asarray(outputs["samples"])
    if s.dtype.kind in "iuf" and s.shape in ((n, 1), (1, n)):
        return fail(say(f"`{name}` returned shape {s.shape}: return one draw per row as a flat "
                        f"array of shape ({n},) (e.g. with `.ravel()`).",
                        f"`{name}` devolvió forma {s.shape}: devuelve una muestra por fila como un "
                        f"arreglo plano de forma ({n},) (p. ej. con `.ravel()`).", lang))
    problem = result_problem(name, s, (n,), lang)
    if problem:
        return fail(problem)
    s = s.astype(np.float64)

    # --- block A: shared mixture -------------------------------------------
    pa, ma, sa = pi[0], mu[0], sigma[0]
    xa = s[:na]
    if np.std(xa) < 1e-9 * (1 + abs(np.mean(xa))) or np.unique(xa).size < na // 2:
        mean_mix = float(pa @ ma)
        hint_en = (" (they equal Σ π_k μ_k, the mixture mean)" if np.allclose(xa, mean_mix, atol=1e-6)
                   else "")
        hint_es = (" (coinciden con Σ π_k μ_k, la media de la mezcla)" if hint_en else "")
        return fail(say(
            f"many rows share the same mixture, yet your draws for them are (almost) all equal{hint_en}. "
            "Sample: pick a component k with probabilities π, then draw t ~ N(μ_k, σ_k²) with `rng`.",
            f"muchas filas comparten la misma mezcla, pero tus muestras para ellas son (casi) todas "
            f"iguales{hint_es}. Para muestrear: elige una componente k con probabilidades π y luego "
            "genera t ~ N(μ_k, σ_k²) con `rng`.", lang))
    comp = np.argmin(np.abs(xa[:, None] - ma[None, :]) / sa[None, :], axis=1)
    frac = np.bincount(comp, minlength=k) / na
    se = np.sqrt(pa * (1 - pa) / na)
    bad = np.abs(frac - pa) > Q3_Z * se
    if np.any(bad):
        j = int(np.argmax(np.abs(frac - pa) / se))
        if np.isclose(frac.max(), 1.0):
            extra_en, extra_es = (" Every draw comes from one component: do not take the argmax of π, "
                                  "draw k at random.",
                                  " Todas las muestras vienen de una sola componente: no tomes el argmax "
                                  "de π, elige k al azar.")
        elif np.allclose(frac, 1.0 / k, atol=Q3_Z * np.sqrt(1.0 / k / na) + 1e-3):
            extra_en, extra_es = (" The components look equally likely: use π as the probabilities.",
                                  " Las componentes parecen equiprobables: usa π como probabilidades.")
        else:
            extra_en, extra_es = "", ""
        return fail(say(
            f"on rows sharing π = {np.round(pa, 3).tolist()}, component {j} was chosen in "
            f"{100 * frac[j]:.1f}% of the draws, expected about {100 * pa[j]:.1f}%.{extra_en}",
            f"en filas que comparten π = {np.round(pa, 3).tolist()}, la componente {j} salió en el "
            f"{100 * frac[j]:.1f}% de las muestras; se esperaba cerca del {100 * pa[j]:.1f}%.{extra_es}",
            lang))
    for j in range(k):
        xj = xa[comp == j]
        m, sd = float(np.mean(xj)), float(np.std(xj, ddof=1))
        if abs(m - ma[j]) > Q3_Z * sa[j] / np.sqrt(xj.size):
            return fail(say(
                f"draws from component {j} have mean {m:.4g}, expected μ = {ma[j]:.4g}.",
                f"las muestras de la componente {j} tienen media {m:.4g}; se esperaba μ = {ma[j]:.4g}.",
                lang))
        if abs(sd - sa[j]) > Q3_Z * sa[j] / np.sqrt(2.0 * (xj.size - 1)):
            if abs(sd - sa[j] ** 2) < 0.1 * sa[j] ** 2:
                return fail(say(
                    f"draws from component {j} have standard deviation {sd:.3g} ≈ σ² = {sa[j] ** 2:.3g}: "
                    "you used σ² as scale; `rng.normal(loc, scale)` takes the standard deviation σ.",
                    f"las muestras de la componente {j} tienen desviación estándar {sd:.3g} ≈ σ² = "
                    f"{sa[j] ** 2:.3g}: usaste σ² como escala; `rng.normal(loc, scale)` recibe la "
                    "desviación estándar σ.", lang))
            return fail(say(
                f"draws from component {j} have standard deviation {sd:.3g}, expected σ = {sa[j]:.3g}.",
                f"las muestras de la componente {j} tienen desviación estándar {sd:.3g}; se esperaba "
                f"σ = {sa[j]:.3g}.", lang))

    # --- block B: one-hot pi, different per row ------------------------------
    rows = np.arange(na, n)
    kb = np.argmax(pi[na:], axis=1)
    mb, sb = mu[rows, kb], sigma[rows, kb]
    z = (s[na:] - mb) / sb
    off = np.flatnonzero(np.abs(z) > Q3_B_WIDTH)
    if off.size:
        i = int(off[0])
        return fail(say(
            f"row {na + i} has π = {pi[na + i].round(3).tolist()} (only component {kb[i]}, μ = {mb[i]:.3g}), "
            f"but your draw is {s[na + i]:.4g}: each row must use its own π, μ and σ "
            f"({off.size} of {rows.size} such rows are wrong).",
            f"la fila {na + i} tiene π = {pi[na + i].round(3).tolist()} (solo la componente {kb[i]}, "
            f"μ = {mb[i]:.3g}), pero tu muestra es {s[na + i]:.4g}: cada fila debe usar sus propios π, μ y σ "
            f"({off.size} de {rows.size} filas así están mal).", lang))
    nb = rows.size
    if abs(np.mean(z)) > Q3_Z / np.sqrt(nb) or abs(np.std(z, ddof=1) - 1.0) > Q3_Z / np.sqrt(2.0 * (nb - 1)):
        return fail(say(
            f"on rows with a single active component, (t − μ)/σ has mean {np.mean(z):.3g} and standard "
            f"deviation {np.std(z, ddof=1):.3g}; expected 0 and 1. Draw t = μ_k + σ_k · ε with ε ~ N(0, 1).",
            f"en filas con una sola componente activa, (t − μ)/σ tiene media {np.mean(z):.3g} y desviación "
            f"estándar {np.std(z, ddof=1):.3g}; se esperaba 0 y 1. Genera t = μ_k + σ_k · ε con ε ~ N(0, 1).",
            lang))

    again = np.asarray(outputs.get("samples_again", np.array(np.nan)))
    if again.shape != s.shape or not np.array_equal(again.astype(np.float64), s):
        return fail(say(
            "the draws look right, but two calls with generators built from the same seed gave different "
            "samples: draw every random number from `rng` (not `np.random.*` nor a new generator).",
            "las muestras se ven bien, pero dos llamadas con generadores creados con la misma semilla dieron "
            "resultados distintos: toma todos los números aleatorios de `rng` (no de `np.random.*` ni de "
            "un generador nuevo).", lang))
    return ok(lang, "correct! component frequencies, means and spreads match the mixture.",
              "¡correcto! las frecuencias de las componentes, sus medias y dispersiones coinciden con la mezcla.")


Q3 = Question(
    qid="mdn.q3", points=2, target="sample_mixture",
    title={"en": "Sampling the mixture (NumPy)", "es": "Muestreo de la mezcla (NumPy)"},
    make_inputs=make_q3, run=run_q3, evaluate=evaluate_q3)


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


def run_q4(f: Any, inputs: Arrays) -> Arrays:
    import tensorflow as tf

    t = tf.constant(inputs["t"], dtype=tf.float32)
    params = tf.constant(inputs["params"], dtype=tf.float32)
    return {"value": to_numpy(f(t, params))}


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


def evaluate_q4(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "mdn_loss"
    value = np.asarray(outputs["value"])
    n = inputs["t"].shape[0]
    if value.dtype.kind in "iuf" and value.shape == (n, n):
        return fail(say(
            f"`{name}` returned shape {value.shape}: t has shape (N, 1), so log_prob broadcasts to (N, N). "
            "Squeeze t to (N,) and return the mean, a scalar.",
            f"`{name}` devolvió forma {value.shape}: t tiene forma (N, 1), así que log_prob se expande a "
            "(N, N). Deja t con forma (N,) y devuelve el promedio, un escalar.", lang))
    problem = scalar_problem(name, value, n, lang)
    if problem:
        return fail(problem)
    got = scalar_value(value)
    if not np.isfinite(got):
        return fail(say(
            f"`{name}` returned {got}. The first block holds logits (any real number, even negative), "
            "not probabilities: use `tfd.Categorical(logits=...)`, not `probs=`; and the scale must be "
            "σ = exp(log_sigma) > 0.",
            f"`{name}` devolvió {got}. El primer bloque contiene logits (cualquier número real, incluso "
            "negativo), no probabilidades: usa `tfd.Categorical(logits=...)`, no `probs=`; y la escala debe "
            "ser σ = exp(log_sigma) > 0.", lang))
    want = ref_mdn_loss(inputs["t"], inputs["params"])
    if is_close(got, want, rtol=1e-4, atol=1e-4):
        return ok(lang, f"correct! mean NLL = {got:.4f} nats.", f"¡correcto! NLL promedio = {got:.4f} nats.")
    if is_close(got, -want, rtol=1e-4, atol=1e-4):
        return fail(say("the sign is flipped: the loss is the NEGATIVE mean log-likelihood.",
                        "el signo está invertido: la pérdida es el NEGATIVO de la log-verosimilitud promedio.",
                        lang))
    if is_close(got, n * want, rtol=1e-4, atol=1e-4):
        return fail(say("you returned the sum over the batch: return the mean (`tf.reduce_mean`).",
                        "devolviste la suma sobre el lote: devuelve el promedio (`tf.reduce_mean`).", lang))
    for alt, en, es in q4_variants(inputs):
        if is_close(got, alt, rtol=1e-4, atol=1e-4):
            return fail(say(f"wrong value ({got:.5g}): {en}", f"valor incorrecto ({got:.5g}): {es}", lang))
    return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-4) + say(
        " Check: `tfd.Categorical(logits=...)` (not `probs=`), the order [logits | mu | log_sigma], "
        "and t squeezed to (N,).",
        " Revisa: `tfd.Categorical(logits=...)` (no `probs=`), el orden [logits | mu | log_sigma] "
        "y t con forma (N,).", lang))


Q4 = Question(
    qid="mdn.q4", points=2, target="mdn_loss",
    title={"en": "MDN loss with TensorFlow Probability", "es": "Pérdida de la MDN con TensorFlow Probability"},
    make_inputs=make_q4, run=run_q4, evaluate=evaluate_q4)


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


def run_q5(f: Any, inputs: Arrays) -> Arrays:
    out = f(inputs["pi"], inputs["mu"], inputs["sigma"], inputs["t_grid"])
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return {"not_pair": np.array(type(out).__name__ if not isinstance(out, (tuple, list))
                                     else f"{type(out).__name__} of length {len(out)}")}
    return {"density": to_numpy(out[0]), "contributions": to_numpy(out[1])}


def evaluate_q5(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    pi, mu, sigma, grid = (inputs[k] for k in ("pi", "mu", "sigma", "t_grid"))
    k, t = pi.shape[0], grid.shape[0]
    if "not_pair" in outputs:
        kind = str(outputs["not_pair"])
        return fail(say(f"`density_slice` must return a pair `(density, contributions)`; it returned: {kind}.",
                        f"`density_slice` debe devolver un par `(density, contributions)`; devolvió: {kind}.",
                        lang))
    density, contributions = np.asarray(outputs["density"]), np.asarray(outputs["contributions"])
    want_d, want_c = ref_density_slice(pi, mu, sigma, grid)
    if density.shape in ((k, t), (t, k)) and contributions.shape == (t,):
        return fail(say("the pair is in the wrong order: return `(density, contributions)`, density first.",
                        "el par está en el orden incorrecto: devuelve `(density, contributions)`, primero "
                        "la densidad.", lang))
    if contributions.dtype.kind in "iuf" and contributions.shape == (t, k):
        return fail(say(f"`contributions` has shape {contributions.shape} = (T, K); expected (K, T) = ({k}, {t}): "
                        "one row per component (transpose it).",
                        f"`contributions` tiene forma {contributions.shape} = (T, K); se esperaba (K, T) = "
                        f"({k}, {t}): una fila por componente (transponla).", lang))
    problem = (result_problem("contributions", contributions, (k, t), lang)
               or result_problem("density", density, (t,), lang))
    if problem:
        return fail(problem)
    if not is_close(contributions, want_c, rtol=1e-5, atol=1e-8):
        _, no_pi = ref_density_slice(np.ones_like(pi), mu, sigma, grid)
        _, var_scale = ref_density_slice(pi, mu, sigma ** 2, grid)
        if is_close(contributions, no_pi, rtol=1e-5, atol=1e-8):
            return fail(say("each contribution must be weighted by its mixing coefficient: π_k N(t | μ_k, σ_k).",
                            "cada contribución debe ir multiplicada por su coeficiente de mezcla: "
                            "π_k N(t | μ_k, σ_k).", lang))
        if is_close(contributions, var_scale, rtol=1e-5, atol=1e-8):
            return fail(say("you used σ² as scale: `sigma` is the standard deviation "
                            "(`scipy.stats.norm.pdf(t, loc, scale)` takes σ).",
                            "usaste σ² como escala: `sigma` es la desviación estándar "
                            "(`scipy.stats.norm.pdf(t, loc, scale)` recibe σ).", lang))
        return fail(close_problem("contributions", contributions, want_c, lang, rtol=1e-5, atol=1e-8))
    if not is_close(density, want_d, rtol=1e-5, atol=1e-8):
        if is_close(density, contributions.mean(axis=0), rtol=1e-5, atol=1e-8):
            return fail(say("`density` is the mean of the contributions; it is their SUM over k.",
                            "`density` es el promedio de las contribuciones; debe ser su SUMA sobre k.", lang))
        return fail(say("`contributions` is right, but `density` should be its sum over the components (axis 0). "
                        + close_problem("density", density, want_d, "en", rtol=1e-5, atol=1e-8),
                        "`contributions` está bien, pero `density` debe ser su suma sobre las componentes "
                        "(eje 0). " + close_problem("density", density, want_d, "es", rtol=1e-5, atol=1e-8),
                        lang))
    area = float(np.sum(want_d) * (grid[1] - grid[0]))
    return ok(lang, f"correct! (the density integrates to {area:.3f} on this grid)",
              f"¡correcto! (la densidad integra {area:.3f} en esta malla)")


Q5 = Question(
    qid="mdn.q5", points=1, target="density_slice",
    title={"en": "Slice of p(t | x0) (NumPy)", "es": "Corte de p(t | x0) (NumPy)"},
    make_inputs=make_q5, run=run_q5, evaluate=evaluate_q5)


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice)
# ---------------------------------------------------------------------------

Q6_HINTS = {
    "A": ("the mode would at least lie on one branch, but squared error does not lead to the mode. "
          "Which single number y minimises E[(t − y)² | x]?",
          "la moda al menos estaría sobre una rama, pero el error cuadrático no conduce a la moda. "
          "¿Qué número y minimiza E[(t − y)² | x]?"),
    "C": ("once trained, the network is a deterministic function of x: the same x always gives the same "
          "output. Which quantity minimises the average squared error?",
          "una vez entrenada, la red es una función determinista de x: la misma x siempre da la misma "
          "salida. ¿Qué cantidad minimiza el error cuadrático promedio?"),
    "D": ("the median minimises the absolute error |t − y|, not the squared error, and it is not robust "
          "to multimodality either.",
          "la mediana minimiza el error absoluto |t − y|, no el cuadrático, y tampoco es robusta a la "
          "multimodalidad."),
}


Q6 = choice_question(
    qid="mdn.q6", points=1, target="answer_q6",
    title={"en": "What does an MSE network predict?", "es": "¿Qué predice una red entrenada con MSE?"},
    correct="B",
    right=("correct! Squared error is minimised by the conditional mean, which can fall "
           "where p(t|x) ≈ 0.",
           "¡correcto! El error cuadrático se minimiza con la media condicional, que puede caer "
           "donde p(t|x) ≈ 0."),
    hints=Q6_HINTS)


QUESTIONS = [Q1, Q2, Q3, Q4, Q5, Q6]

__all__ = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "QUESTIONS",
           "ref_mixture_nll", "ref_responsibilities", "ref_sample_mixture", "ref_mdn_loss",
           "ref_density_slice", "ref_grad_mu"]
