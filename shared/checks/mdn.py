"""Graded questions of the Mixture Density Network (MDN) chapter.

Six questions (10 points):

====  ======  ==========================================================
Q1    2 pts   PyTorch: stable mixture negative log-likelihood (+ gradients)
Q2    2 pts   NumPy: responsibilities gamma, computed stably
Q3    2 pts   NumPy: one sample per row of a Gaussian mixture
Q4    2 pts   Keras / TensorFlow Probability: MDN loss with MixtureSameFamily
Q5    1 pt    NumPy: slice of the conditional density p(t | x0)
Q6    1 pt    Interpretation (multiple choice): what does an MSE network predict?
====  ======  ==========================================================

This module holds no answer key: ``run`` calls the student's object in the
student's kernel (importing PyTorch or TensorFlow lazily) and returns NumPy
arrays; ``evaluate`` compares them with the ``expected`` results that the key
(:mod:`shared.key.mdn`, teacher's side only) computed for the same inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shared.checks.core import (Arrays, Feedback, Question, array_problem, choice_question, close_problem, fail,
                                is_close, ok, result_problem, say, scalar_problem, scalar_value, to_numpy,
                                unpack_variants)

LOG_2PI = float(np.log(2.0 * np.pi))

#: the inputs that carry a network's parameters, whose gradients Q1 checks
Q1_PARAMS = ("logits", "mu", "log_sigma")
#: what each parameter controls, for the messages (en, es)
Q1_ROLE = {"logits": ("π", "π"), "mu": ("μ", "μ"), "log_sigma": ("σ", "σ")}


# ---------------------------------------------------------------------------
# Q1. PyTorch: stable mixture NLL
# ---------------------------------------------------------------------------

def run_q1(f: Any, inputs: Arrays) -> Arrays:
    import torch

    params = {k: torch.tensor(inputs[k], dtype=torch.float32, requires_grad=True) for k in Q1_PARAMS}
    t = torch.tensor(inputs["t"], dtype=torch.float32)
    out = f(params["logits"], params["mu"], params["log_sigma"], t)
    result: Arrays = {"value": to_numpy(out)}
    if not isinstance(out, torch.Tensor):
        note = "not_tensor"
    elif out.numel() != 1:
        note = "not_scalar"
    elif not out.requires_grad:
        note = "detached"
    else:
        try:
            out.reshape(()).backward()
            note = "ok"
            for k, p in params.items():
                if p.grad is not None:
                    result[f"grad_{k}"] = p.grad.detach().cpu().numpy()
        except Exception as exc:  # the graph may be broken in many ways
            note = f"backward_failed: {type(exc).__name__}: {exc}"
    result["grad_note"] = np.array(note)
    return result


def gradient_feedback(name: str, outputs: Arrays, expected: Arrays, params: tuple[str, ...],
                      roles: dict[str, tuple[str, str]], lang: str, tensor_kind: str) -> Feedback | None:
    """Messages for a loss whose value is right: the graph must reach every parameter input."""
    note = str(outputs["grad_note"])
    if note == "not_tensor":
        return fail(say(
            f"the value is right, but `{name}` must return a {tensor_kind} tensor (no `.item()`, "
            "`float()` or NumPy): a NumPy number is not differentiable, so training could not use it.",
            f"el valor es correcto, pero `{name}` debe devolver un tensor de {tensor_kind} (sin `.item()`, "
            "`float()` ni NumPy): un número de NumPy no es diferenciable y el entrenamiento no podría usarlo.",
            lang))
    if note == "detached":
        return fail(say(
            "the value is right, but the result is not connected to the inputs in the autograd graph: "
            "use torch operations only (no `.detach()`, `.numpy()` or new tensors from numbers).",
            "el valor es correcto, pero el resultado no está conectado con las entradas en el grafo de "
            "autograd: usa solo operaciones de torch (sin `.detach()`, `.numpy()` ni tensores nuevos "
            "creados a partir de números).", lang))
    if note != "ok":
        return fail(say(f"the value is right, but computing the gradients failed ({note}).",
                        f"el valor es correcto, pero el cálculo de los gradientes falló ({note}).", lang))
    for k in params:
        if f"grad_{k}" not in outputs:
            role_en, role_es = roles[k]
            return fail(say(
                f"the value is right, but the loss does not depend on `{k}` in the graph, so {role_en} "
                f"would never train: did you detach it (`.detach()`, `stop_gradient`, a NumPy round trip)?",
                f"el valor es correcto, pero en el grafo la pérdida no depende de `{k}`, así que {role_es} "
                "nunca se entrenaría: ¿lo separaste del grafo (`.detach()`, `stop_gradient`, un paso por "
                "NumPy)?", lang))
    for k in params:
        grad, want = np.asarray(outputs[f"grad_{k}"]), np.asarray(expected[f"grad_{k}"])
        problem = array_problem(f"grad[{k}]", grad, want.shape, lang)
        if problem:
            return fail(say(
                f"the value is right, but the gradient is not usable: {problem} Differentiating through "
                "exp(...) that underflows gives NaN: stay in log space (logsumexp).",
                f"el valor es correcto, pero el gradiente no sirve: {problem} Derivar a través de un "
                "exp(...) que se redondea a 0 da NaN: trabaja en espacio logarítmico (logsumexp).", lang))
        scale = float(np.max(np.abs(want)))
        problem = close_problem(f"grad[{k}]", grad, want, lang, rtol=1e-3, atol=1e-4 * scale + 1e-7)
        if problem:
            role_en, role_es = roles[k]
            return fail(say(
                f"the value is right, but the gradient with respect to `{k}` is not: {problem} "
                f"Is part of the term in {role_en} cut off from the graph (detached or recomputed from numbers)?",
                f"el valor es correcto, pero el gradiente respecto de `{k}` no: {problem} "
                f"¿Hay una parte del término en {role_es} separada del grafo (detach o recalculada con números)?",
                lang))
    return None


def evaluate_q1(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
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
    want = float(expected["value"])
    if not is_close(got, want, rtol=1e-4, atol=1e-4):
        for alt, en, es in unpack_variants(expected):
            if is_close(got, alt, rtol=1e-4, atol=1e-4):
                return fail(say(f"wrong value ({got:.5g}): {en}", f"valor incorrecto ({got:.5g}): {es}", lang))
        return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-4))
    fb = gradient_feedback(name, outputs, expected, Q1_PARAMS, Q1_ROLE, lang, "torch")
    if fb is not None:
        return fb
    return ok(lang, f"correct! mean NLL = {got:.4f} nats, finite gradients for π, μ and σ even for far targets.",
              f"¡correcto! NLL promedio = {got:.4f} nats, gradientes finitos para π, μ y σ incluso para "
              "objetivos lejanos.")


Q1 = Question(
    qid="mdn.q1", points=2, target="mixture_nll",
    title={"en": "Stable mixture NLL (PyTorch)", "es": "NLL estable de la mezcla (PyTorch)"},
    run=run_q1, evaluate=evaluate_q1)


# ---------------------------------------------------------------------------
# Q2. NumPy: responsibilities
# ---------------------------------------------------------------------------

def run_q2(f: Any, inputs: Arrays) -> Arrays:
    return {"gamma": to_numpy(f(inputs["pi"], inputs["mu"], inputs["sigma"], inputs["t"]))}


def evaluate_q2(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
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
    want = expected["gamma"]
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
    no_pi = expected["no_pi"]
    if is_close(gamma, no_pi, rtol=1e-4, atol=1e-6):
        return fail(say("the rows sum to 1 but π is missing: γ_nk ∝ π_nk N(t_n | μ_nk, σ_nk).",
                        "las filas suman 1 pero falta π: γ_nk ∝ π_nk N(t_n | μ_nk, σ_nk).", lang))
    var_scale = expected["var_scale"]
    if is_close(gamma, var_scale, rtol=1e-4, atol=1e-6):
        return fail(say("you used σ² where σ goes: `sigma` is the standard deviation.",
                        "usaste σ² donde va σ: `sigma` es la desviación estándar.", lang))
    return fail(close_problem(name, gamma, want, lang, rtol=1e-4, atol=1e-6))


Q2 = Question(
    qid="mdn.q2", points=2, target="responsibilities",
    title={"en": "Responsibilities (NumPy)", "es": "Responsabilidades (NumPy)"},
    run=run_q2, evaluate=evaluate_q2)




# ---------------------------------------------------------------------------
# Q3. NumPy: sampling a mixture
# ---------------------------------------------------------------------------

Q3_K = 3
#: z-score tolerance of the statistical checks (a correct sampler fails < 1e-5 of the time)
Q3_Z = 5.0
#: block B: a sample is "from its component" when within this many sigmas of its mean
Q3_B_WIDTH = 6.5


def run_q3(f: Any, inputs: Arrays) -> Arrays:
    seed = int(inputs["seed"])
    first = to_numpy(f(inputs["pi"].copy(), inputs["mu"].copy(), inputs["sigma"].copy(),
                       np.random.default_rng(seed)))
    again = to_numpy(f(inputs["pi"].copy(), inputs["mu"].copy(), inputs["sigma"].copy(),
                       np.random.default_rng(seed)))
    return {"samples": first, "samples_again": again}


def evaluate_q3(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
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
            f"{100 * frac[j]:.1f} % de las muestras; se esperaba cerca del {100 * pa[j]:.1f} %.{extra_es}",
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
    run=run_q3, evaluate=evaluate_q3)




# ---------------------------------------------------------------------------
# Q4. Keras / TensorFlow Probability loss
# ---------------------------------------------------------------------------

def run_q4(f: Any, inputs: Arrays) -> Arrays:
    """Call the loss as Keras's ``fit`` does: in a ``tf.function``, with the gradient
    with respect to ``params`` (the network's output, through which its weights train)
    of the loss averaged over the batch, as ``fit`` averages a per-example loss."""
    import tensorflow as tf

    t = tf.constant(inputs["t"], dtype=tf.float32)
    params = tf.constant(inputs["params"], dtype=tf.float32)
    out = f(t, params)
    result: Arrays = {"value": to_numpy(out)}
    if not tf.is_tensor(out):
        result["grad_note"] = np.array("not_tensor")
        return result

    @tf.function
    def value_and_grad(t, params):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = tf.reduce_mean(tf.convert_to_tensor(f(t, params)))
        return loss, tape.gradient(loss, params)

    try:
        _, grad = value_and_grad(t, params)
    except Exception as exc:  # works eagerly but not when traced, as in fit()
        result["grad_note"] = np.array(f"graph_failed: {type(exc).__name__}: {str(exc)[:300]}")
        return result
    result["grad_note"] = np.array("ok")
    if grad is not None:  # None: not differentiable with respect to params (evaluate says so)
        result["grad_params"] = grad.numpy()
    return result


def evaluate_q4(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "mdn_loss"
    value = np.asarray(outputs["value"])
    n = inputs["t"].shape[0]
    if value.dtype.kind in "iuf" and value.shape == (n, n):
        return fail(say(
            f"`{name}` returned shape {value.shape}: t has shape (N, 1), so log_prob broadcasts to (N, N). "
            "Squeeze t to (N,): the loss is then one value per example, shape (N,), as a Keras loss returns.",
            f"`{name}` devolvió forma {value.shape}: t tiene forma (N, 1), así que log_prob se expande a "
            "(N, N). Deja t con forma (N,): así la pérdida da un valor para cada ejemplo, de forma (N,), "
            "como corresponde a una pérdida de Keras.", lang))
    per_example = value.dtype.kind in "iuf" and value.shape in ((n,), (n, 1))
    if per_example:  # a Keras loss may return one value per example: fit averages them
        rows, want_rows = value.reshape(n).astype(np.float64), np.asarray(expected["per_example"])
        if np.all(np.isfinite(rows)) and not is_close(rows, want_rows, rtol=1e-4, atol=1e-4) \
                and is_close(float(np.mean(rows)), float(expected["value"]), rtol=1e-4, atol=1e-4):
            return fail(say(
                f"`{name}` returned one value per example whose mean is right but whose values are not the "
                "NLL of each example under its own row's mixture.",
                f"`{name}` devolvió un valor para cada ejemplo cuyo promedio es correcto, pero los valores no son la "
                "NLL de cada ejemplo con la mezcla de su propia fila.", lang))
        value = np.array(np.mean(rows))
    elif value.dtype.kind in "iuf" and value.size != 1:  # neither per example nor a scalar
        return fail(say(
            f"`{name}` returned shape {value.shape}: a Keras loss returns one value per example, shape ({n},), "
            "which `fit` averages over the batch (their mean, a scalar, is accepted too).",
            f"`{name}` devolvió forma {value.shape}: una pérdida de Keras devuelve un valor para cada ejemplo, "
            f"de forma ({n},), que `fit` promedia sobre el lote (también se acepta su promedio, un escalar).",
            lang))
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
    want = float(expected["value"])
    if not is_close(got, want, rtol=1e-4, atol=1e-4):
        if is_close(got, expected["neg"], rtol=1e-4, atol=1e-4):
            return fail(say("the sign is flipped: the loss is the NEGATIVE log-likelihood of each example.",
                            "el signo está invertido: la pérdida es el NEGATIVO de la log-verosimilitud de cada "
                            "ejemplo.", lang))
        if is_close(got, -float(expected["sum"]), rtol=1e-4, atol=1e-4):
            return fail(say("the sign is flipped, and you returned the sum over the batch: the loss is the NEGATIVE "
                            "log-likelihood of each example, one value per example (or their mean).",
                            "el signo está invertido, y devolviste la suma sobre el lote: la pérdida es el NEGATIVO "
                            "de la log-verosimilitud de cada ejemplo, un valor para cada ejemplo (o su promedio).",
                            lang))
        if is_close(got, expected["sum"], rtol=1e-4, atol=1e-4):
            return fail(say(
                "you returned the sum over the batch: a Keras loss returns one value per example, shape (N,), "
                "and `fit` averages them (so a sum would make the loss, and its gradient, grow with the batch "
                "size); return the per-example values, or their mean.",
                "devolviste la suma sobre el lote: una pérdida de Keras devuelve un valor para cada ejemplo, de "
                "forma (N,), y `fit` los promedia (una suma haría crecer la pérdida, y su gradiente, con el "
                "tamaño del lote); devuelve los valores de cada ejemplo, o su promedio.", lang))
        for alt, en, es in unpack_variants(expected):
            if is_close(got, alt, rtol=1e-4, atol=1e-4):
                return fail(say(f"wrong value ({got:.5g}): {en}", f"valor incorrecto ({got:.5g}): {es}", lang))
        return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-4) + say(
            " Check: `tfd.Categorical(logits=...)` (not `probs=`), the order [logits | mu | log_sigma], "
            "and t squeezed to (N,).",
            " Revisa: `tfd.Categorical(logits=...)` (no `probs=`), el orden [logits | mu | log_sigma] "
            "y t con forma (N,).", lang))
    note = str(outputs["grad_note"])
    if note == "not_tensor":
        return fail(say(
            f"the value is right, but `{name}` must return a TensorFlow tensor (no `.numpy()`, `float()` "
            "or NumPy functions): Keras differentiates the loss to train the network, and a NumPy number "
            "has no gradient (`fit` would fail).",
            f"el valor es correcto, pero `{name}` debe devolver un tensor de TensorFlow (sin `.numpy()`, "
            "`float()` ni funciones de NumPy): Keras deriva la pérdida para entrenar la red, y un número de "
            "NumPy no tiene gradiente (`fit` fallaría).", lang))
    if note.startswith("graph_failed"):
        return fail(say(
            f"the value is right eagerly, but `{name}` fails inside `tf.function`, which is how Keras's "
            f"`fit` calls a loss ({note[len('graph_failed: '):]}). Use TensorFlow operations only.",
            f"el valor es correcto en modo inmediato, pero `{name}` falla dentro de `tf.function`, que es "
            f"como `fit` de Keras llama a la pérdida ({note[len('graph_failed: '):]}). Usa solo operaciones "
            "de TensorFlow.", lang))
    if "grad_params" not in outputs:
        return fail(say(
            f"the value is right, but `{name}` is not differentiable with respect to `params` (the "
            "network's output): the network would never train. Did you use `tf.stop_gradient` or "
            "rebuild a tensor from NumPy values?",
            f"el valor es correcto, pero `{name}` no es diferenciable respecto de `params` (la salida de "
            "la red): la red nunca se entrenaría. ¿Usaste `tf.stop_gradient` o reconstruiste un tensor a "
            "partir de valores de NumPy?", lang))
    grad, want_grad = np.asarray(outputs["grad_params"]), np.asarray(expected["grad_params"])
    problem = array_problem("grad[params]", grad, want_grad.shape, lang)
    scale = float(np.max(np.abs(want_grad)))
    problem = problem or close_problem("grad[params]", grad, want_grad, lang, rtol=1e-3, atol=1e-4 * scale + 1e-7)
    if problem:
        k = want_grad.shape[1] // 3
        bad = np.abs(grad - want_grad).max(axis=0) if grad.shape == want_grad.shape else np.ones(3 * k)
        block = ("logits", "mu", "log_sigma")[int(np.argmax([bad[:k].max(), bad[k:2 * k].max(), bad[2 * k:].max()]))]
        return fail(say(
            f"the value is right, but its gradient is not ({problem}); the worst block is `{block}`: "
            "is part of the loss cut off from the graph (`tf.stop_gradient`, NumPy)?",
            f"el valor es correcto, pero su gradiente no ({problem}); el bloque con más error es `{block}`: "
            "¿hay una parte de la pérdida separada del grafo (`tf.stop_gradient`, NumPy)?", lang))
    shape = "one NLL per example (Keras averages them)" if per_example else "the mean NLL"
    shape_es = "una NLL para cada ejemplo (Keras las promedia)" if per_example else "la NLL promedio"
    return ok(lang, f"correct! {shape}; mean NLL = {got:.4f} nats, differentiable inside tf.function.",
              f"¡correcto! {shape_es}; NLL promedio = {got:.4f} nats, diferenciable dentro de tf.function.")


Q4 = Question(
    qid="mdn.q4", points=2, target="mdn_loss",
    title={"en": "MDN loss with TensorFlow Probability", "es": "Pérdida de la MDN con TensorFlow Probability"},
    run=run_q4, evaluate=evaluate_q4)


# ---------------------------------------------------------------------------
# Q5. NumPy: slice of the conditional density
# ---------------------------------------------------------------------------

def run_q5(f: Any, inputs: Arrays) -> Arrays:
    out = f(inputs["pi"], inputs["mu"], inputs["sigma"], inputs["t_grid"])
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return {"not_pair": np.array(type(out).__name__ if not isinstance(out, (tuple, list))
                                     else f"{type(out).__name__} of length {len(out)}")}
    return {"density": to_numpy(out[0]), "contributions": to_numpy(out[1])}


def evaluate_q5(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    pi, mu, sigma, grid = (inputs[k] for k in ("pi", "mu", "sigma", "t_grid"))
    k, t = pi.shape[0], grid.shape[0]
    if "not_pair" in outputs:
        kind = str(outputs["not_pair"])
        return fail(say(f"`density_slice` must return a pair `(density, contributions)`; it returned: {kind}.",
                        f"`density_slice` debe devolver un par `(density, contributions)`; devolvió: {kind}.",
                        lang))
    density, contributions = np.asarray(outputs["density"]), np.asarray(outputs["contributions"])
    want_d, want_c = expected["density"], expected["contributions"]
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
        no_pi, var_scale = expected["no_pi"], expected["var_scale"]
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
    run=run_q5, evaluate=evaluate_q5)



# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice; the letter is in the key)
# ---------------------------------------------------------------------------

Q6_TARGET = "answer_q6"

Q6 = choice_question(
    qid="mdn.q6", points=1, target=Q6_TARGET,
    title={"en": "What does an MSE network predict?", "es": "¿Qué predice una red entrenada con MSE?"})


QUESTIONS = [Q1, Q2, Q3, Q4, Q5, Q6]

__all__ = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "QUESTIONS"]
