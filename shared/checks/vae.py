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

This module holds no answer key: ``run`` calls the student's object in the
student's kernel (importing TensorFlow / TensorFlow Probability lazily) and
returns NumPy arrays; ``evaluate`` compares them with the ``expected``
results that the key (:mod:`shared.key.vae`, teacher's side only) computed
for the same inputs: reference values, reference gradients and the values of
known wrong answers.

The TensorFlow answers (Q1, Q3, Q4) are what a VAE trains through, so they are
called as training calls them: under a ``tf.GradientTape`` (the gradient with
respect to every input that carries a network's parameters is compared with
the key's) and traced in a ``tf.function`` (as Keras runs ``train_step`` and
layers). Q2 is NumPy: its derivatives are checked by finite differences.

Notation: the encoder returns ``mu`` and ``log_var`` = log sigma^2, arrays of
shape ``(N, L)`` (N examples, L latent dimensions).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from shared.checks.core import (Arrays, Feedback, Question, array_problem, choice_question, close_problem,
                                describe_error, fail, is_close, is_placeholder_error, ok, result_problem, say,
                                scalar_problem, scalar_value, to_numpy, unpack_variants)

LOG_2PI = float(np.log(2.0 * np.pi))

#: (en, es) label of a parameter input and (en, es) name of what would not train without its gradient
Role = tuple[str, str, str, str]


# ---------------------------------------------------------------------------
# Helpers: messages
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
# Helpers: calling a TensorFlow answer as training does (student's kernel)
# ---------------------------------------------------------------------------

def short_error(exc: BaseException, width: int = 300) -> str:
    """``"Type: message"`` on one line; for an error raised while tracing, the student's line, not
    TensorFlow's "in user code:" traceback."""
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "in user code:" in text and lines:
        detail = lines[-1]
    else:
        detail = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return detail if len(detail) <= width else detail[:width] + "..."


def _objective(out: Any, weight: Any) -> Any:
    import tensorflow as tf

    out = tf.cast(tf.convert_to_tensor(out), tf.float32)
    return tf.reduce_sum(out) if weight is None else tf.reduce_sum(out * weight)


def tf_answer(f: Any, build: Callable[[dict[str, Any]], list[Any]], inputs: Arrays, params: tuple[str, ...],
              shape: tuple[int, ...], weight: str | None = None) -> Arrays:
    """Call a TensorFlow answer eagerly under a tape, then traced in a ``tf.function``.

    ``f(*build(tensors))`` is the student's function called on arguments built
    from a dict of tensors made from ``inputs`` (``build`` is not converted by
    AutoGraph; ``f`` is, as Keras converts a ``train_step``). The objective
    differentiated is the sum of the result (times ``inputs[weight]`` when
    given). Returns ``value`` (eager result), ``note`` (``"ok"``,
    ``"not_tensor"``, ``"shape"`` when its size is not that of ``shape``,
    ``"gradient_failed: ..."``), ``grad_<k>`` for each parameter the result
    depends on, and the same from the traced call (``graph_note``,
    ``graph_value``, ``graph_grad_<k>``).

    An exception of the eager call (the student's error) propagates; nothing
    else raises.
    """
    import tensorflow as tf

    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    w = None if weight is None else tensors[weight]
    build = tf.autograph.experimental.do_not_convert(build)
    result: Arrays = {}
    with tf.GradientTape() as tape:
        for k in params:
            tape.watch(tensors[k])
        out = f(*build(tensors))
        result["value"] = to_numpy(out)
        if not tf.is_tensor(out):
            result["note"] = np.array("not_tensor")
            return result
        try:
            wrong_size = int(np.prod(out.shape)) != int(np.prod(shape))
        except Exception:  # e.g. a ragged tensor, whose shape has unknown dimensions
            wrong_size = True
        if wrong_size:
            result["note"] = np.array("shape")
            return result
        try:
            objective = _objective(out, w)
        except Exception as exc:  # e.g. a string tensor
            result["note"] = np.array(f"gradient_failed: {short_error(exc)}")
            return result
    try:
        grads = tape.gradient(objective, [tensors[k] for k in params])
        for k, g in zip(params, grads):
            if g is not None:
                result[f"grad_{k}"] = tf.convert_to_tensor(g).numpy()
        result["note"] = np.array("ok")
    except Exception as exc:  # the graph may be broken in many ways
        result["note"] = np.array(f"gradient_failed: {short_error(exc)}")
        return result

    @tf.function
    def traced(tensors):
        with tf.GradientTape() as tape:
            for k in params:
                tape.watch(tensors[k])
            out = tf.convert_to_tensor(f(*build(tensors)))
            objective = _objective(out, None if weight is None else tensors[weight])
        grads = tape.gradient(objective, [tensors[k] for k in params])
        return out, {k: tf.convert_to_tensor(g) for k, g in zip(params, grads) if g is not None}

    try:
        value, grads = traced(tensors)
        result["graph_value"] = value.numpy()
        for k, g in grads.items():
            result[f"graph_grad_{k}"] = g.numpy()
        result["graph_note"] = np.array("ok")
    except Exception as exc:  # works eagerly but not when traced, as in fit()
        result["graph_note"] = np.array(f"graph_failed: {short_error(exc)}")
    return result


def prefixed(prefix: str, arrays: Arrays) -> Arrays:
    return {f"{prefix}{k}": v for k, v in arrays.items()}


def unprefixed(prefix: str, arrays: Arrays) -> Arrays:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def tf_gradient_feedback(name: str, outputs: Arrays, expected: Arrays, params: tuple[str, ...],
                         roles: dict[str, Role], hints: dict[str, tuple[str, str]], lang: str,
                         prefix: str = "") -> str | None:
    """Message for a TensorFlow answer whose value is right but which training could not use.

    Checks, in order: a TensorFlow tensor was returned; the gradient reaches every
    parameter input and equals the key's (``expected["grad_<k>"]``); the answer
    traces in ``tf.function`` and gives there the same value and gradients.
    ``prefix`` is put in front of the message (e.g. "with a Laplace prior: ").
    """
    note = str(outputs.get("note", "missing"))
    if note == "not_tensor":
        return prefix + say(
            f"the value is right, but `{name}` must return a TensorFlow tensor (no `.numpy()`, `float()` or "
            "NumPy functions): a NumPy number is not differentiable, so training could not use it (no gradient "
            "would reach the network's weights).",
            f"el valor es correcto, pero `{name}` debe devolver un tensor de TensorFlow (sin `.numpy()`, "
            "`float()` ni funciones de NumPy): un número de NumPy no es diferenciable y el entrenamiento no "
            "podría usarlo (ningún gradiente llegaría a los pesos de la red).", lang)
    if note != "ok":
        return prefix + say(f"the value is right, but the gradient could not be computed ({note}).",
                            f"el valor es correcto, pero no se pudo calcular el gradiente ({note}).", lang)
    for k in params:
        if f"grad_{k}" not in outputs:
            label_en, label_es, who_en, who_es = roles[k]
            return prefix + say(
                f"the value is right, but no gradient reaches {label_en} (`{k}`), so {who_en} would never "
                "train: use TensorFlow operations only (no `.numpy()`, NumPy functions or `tf.stop_gradient`).",
                f"el valor es correcto, pero ningún gradiente llega a {label_es} (`{k}`), así que {who_es} nunca "
                "se entrenaría: usa solo operaciones de TensorFlow (sin `.numpy()`, funciones de NumPy ni "
                "`tf.stop_gradient`).", lang)
    for k in params:
        label_en, label_es, _, _ = roles[k]
        grad, want = np.asarray(outputs[f"grad_{k}"]), np.asarray(expected[f"grad_{k}"])
        problem = array_problem(f"grad[{k}]", grad, want.shape, lang)
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        problem = problem or close_problem(f"grad[{k}]", grad, want, lang, rtol=1e-3, atol=1e-4 * scale + 1e-6)
        if problem:
            hint_en, hint_es = hints.get(k, ("", ""))
            return prefix + say(
                f"the value is right, but the gradient with respect to {label_en} (`{k}`) is wrong{hint_en} "
                + problem,
                f"el valor es correcto, pero el gradiente respecto de {label_es} (`{k}`) es incorrecto{hint_es} "
                + problem, lang)
    graph_note = str(outputs.get("graph_note", "missing"))
    if graph_note != "ok":
        detail = graph_note[len("graph_failed: "):] if graph_note.startswith("graph_failed: ") else graph_note
        return prefix + say(
            f"the value and gradients are right eagerly, but `{name}` fails inside `tf.function`, which is how "
            f"Keras runs `train_step` and layers during `fit` ({detail}). Use TensorFlow operations only "
            "(no `.numpy()`, `float()` or Python `if` on tensor values).",
            f"el valor y los gradientes son correctos en modo inmediato, pero `{name}` falla dentro de "
            f"`tf.function`, que es como Keras ejecuta `train_step` y las capas durante `fit` ({detail}). Usa "
            "solo operaciones de TensorFlow (sin `.numpy()`, `float()` ni `if` de Python sobre valores de "
            "tensores).", lang)
    pairs = [("value", "graph_value")] + [(f"grad_{k}", f"graph_grad_{k}") for k in params]
    for eager_key, graph_key in pairs:
        eager = np.asarray(outputs[eager_key], dtype=np.float64)
        scale = float(np.max(np.abs(eager))) if eager.size else 0.0
        if graph_key not in outputs or not is_close(outputs[graph_key], eager, rtol=1e-4,
                                                    atol=1e-5 * scale + 1e-6):
            what_en = "value" if eager_key == "value" else f"gradient with respect to `{eager_key[5:]}`"
            what_es = "valor" if eager_key == "value" else f"gradiente respecto de `{eager_key[5:]}`"
            return prefix + say(
                f"`{name}` is right eagerly, but inside `tf.function` (how Keras trains) its {what_en} is "
                "different or missing: do not let the result depend on eager execution (`.numpy()`, "
                "`tf.executing_eagerly()`, Python side effects).",
                f"`{name}` es correcto en modo inmediato, pero dentro de `tf.function` (como entrena Keras) su "
                f"{what_es} es distinto o no existe: no hagas que el resultado dependa del modo inmediato "
                "(`.numpy()`, `tf.executing_eagerly()`, efectos secundarios de Python).", lang)
    return None


# ---------------------------------------------------------------------------
# Q1. TensorFlow: reparameterisation
# ---------------------------------------------------------------------------

#: the inputs that carry the encoder's parameters, whose gradients Q1 checks
Q1_PARAMS = ("mu", "log_var")
Q1_ROLES: dict[str, Role] = {
    "mu": ("μ", "μ", "the encoder's mean", "la media del codificador"),
    "log_var": ("log σ²", "log σ²", "the encoder's variance", "la varianza del codificador"),
}
Q1_HINTS = {
    "mu": (": ∂z/∂μ should be 1 per coordinate. Is μ cut off from part of the graph?",
           ": ∂z/∂μ debería ser 1 en cada coordenada. ¿Separaste μ de una parte del grafo?"),
    "log_var": (": ∂z/∂log σ² should be ½ · σ · ε. Was σ computed outside the graph (`tf.stop_gradient`, a "
                "constant)?",
                ": ∂z/∂log σ² debería ser ½ · σ · ε. ¿Calculaste σ fuera del grafo (`tf.stop_gradient`, una "
                "constante)?"),
}


def run_q1(f: Any, inputs: Arrays) -> Arrays:
    """``z = f(mu, log_var, eps)``; the gradients of ``sum(z * w)`` w.r.t. ``mu`` and ``log_var``."""
    return tf_answer(f, lambda t: [t["mu"], t["log_var"], t["eps"]], inputs, Q1_PARAMS,
                     shape=inputs["mu"].shape, weight="w")


def evaluate_q1(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "reparameterize"
    mu, eps = (np.asarray(inputs[k], dtype=np.float64) for k in ("mu", "eps"))
    z = np.asarray(outputs["value"])
    if z.dtype.kind == "f" and z.shape == mu.shape and np.isnan(z).any():
        return fail(say(
            f"`{name}` returned NaN: did you take the square root (or log) of log_var? log_var is often "
            "negative; σ = exp(½ · log_var) is always positive.",
            f"`{name}` devolvió NaN: ¿sacaste la raíz cuadrada (o el logaritmo) de log_var? log_var suele ser "
            "negativo; σ = exp(½ · log_var) siempre es positivo.", lang))
    problem = result_problem(name, z, mu.shape, lang)
    if problem:
        return fail(problem)
    want = expected["z"]
    if not is_close(z, want, rtol=1e-5, atol=1e-5):
        message = first_match(z, unpack_variants(expected), lang, rtol=1e-5, atol=1e-5)
        if message:
            return fail(message)
        r = (z.astype(np.float64) - mu) / expected["sigma"]
        if abs(np.mean(r)) < 0.6 and 0.6 < np.std(r) < 1.5 and np.corrcoef(r.ravel(), eps.ravel())[0, 1] < 0.5:
            return fail(say(
                "(z − μ)/σ looks like standard normal noise, but it is not the `eps` you were given: "
                "do not draw new noise inside the function, use `eps`.",
                "(z − μ)/σ parece ruido normal estándar, pero no es el `eps` que recibiste: no generes "
                "ruido nuevo dentro de la función, usa `eps`.", lang))
        return fail(close_problem("z", z, want, lang, rtol=1e-5, atol=1e-5))
    message = tf_gradient_feedback(name, outputs, expected, Q1_PARAMS, Q1_ROLES, Q1_HINTS, lang)
    if message:
        return fail(message)
    return ok(lang, "correct! z = μ + σ · ε, and the gradients reach μ (∂z/∂μ = 1) and log σ² "
                    "(∂z/∂log σ² = ½ · σ · ε), also inside tf.function.",
              "¡correcto! z = μ + σ · ε, y los gradientes llegan a μ (∂z/∂μ = 1) y a log σ² "
              "(∂z/∂log σ² = ½ · σ · ε), también dentro de tf.function.")


Q1 = Question(
    qid="vae.q1", points=2, target="reparameterize",
    title={"en": "The reparameterisation trick (TensorFlow)",
           "es": "El truco de reparametrización (TensorFlow)"},
    run=run_q1, evaluate=evaluate_q1)


# ---------------------------------------------------------------------------
# Q2. NumPy: closed-form KL to N(0, I)
# ---------------------------------------------------------------------------

#: Monte-Carlo draws per example of the estimate shown next to the closed form (key side)
Q2_MC_DRAWS = 4000
#: step of the central finite differences that check the derivatives of the NumPy answer
Q2_FD_STEP = 1e-3
#: the directions along which the derivatives are checked, per parameter input
Q2_FD = {"mu": "dir_mu", "log_var": "dir_log_var"}


def run_q2(f: Any, inputs: Arrays) -> Arrays:
    """The KL, and the KL at inputs moved by ± step along a direction (finite differences)."""
    mu, log_var = inputs["mu"], inputs["log_var"]
    result: Arrays = {"kl": to_numpy(f(mu.copy(), log_var.copy()))}
    try:
        for k, direction in Q2_FD.items():
            for sign, label in ((1.0, "plus"), (-1.0, "minus")):
                moved = {"mu": mu.copy(), "log_var": log_var.copy()}
                moved[k] = moved[k] + sign * Q2_FD_STEP * inputs[direction]
                result[f"fd_{k}_{label}"] = to_numpy(f(moved["mu"], moved["log_var"]))
        result["fd_note"] = np.array("ok")
    except Exception as exc:  # the first call worked; report, do not raise
        result["fd_note"] = np.array(describe_error(exc))
    return result


def evaluate_q2(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "kl_to_standard_normal"
    n, l = inputs["mu"].shape
    kl = np.asarray(outputs["kl"])
    ref = expected["kl"]
    if kl.dtype.kind in "iuf" and kl.size == 1:
        return fail(say(f"`{name}` returned one number; return one KL per example, shape ({n},): "
                        "sum over the latent axis only (`axis=1`).",
                        f"`{name}` devolvió un solo número; devuelve una KL para cada ejemplo, forma ({n},): "
                        "suma solo sobre el eje latente (`axis=1`).", lang))
    if kl.dtype.kind in "iuf" and kl.shape == (n, l):
        return fail(say(f"`{name}` returned shape {kl.shape}, one term per latent dimension: sum them "
                        "(`axis=1`) to get one KL per example.",
                        f"`{name}` devolvió forma {kl.shape}, un término por dimensión latente: súmalos "
                        "(`axis=1`) para obtener una KL para cada ejemplo.", lang))
    problem = result_problem(name, kl, (n,), lang)
    if problem:
        return fail(problem)
    mc, se = expected["mc"], expected["mc_se"]
    if not is_close(kl, ref, rtol=1e-6, atol=1e-6):
        message = first_match(kl, unpack_variants(expected), lang, rtol=1e-6, atol=1e-6)
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
    message = fd_problem(name, outputs, expected, n, lang)
    if message:
        return fail(message)
    return ok(lang,
              f"correct! e.g. example 0: KL = {kl[0]:.4f} nats; a Monte-Carlo estimate E_q[log q − log p] "
              f"with {Q2_MC_DRAWS} draws gives {mc[0]:.3f} ± {2 * se[0]:.3f}.",
              f"¡correcto! p. ej. en el ejemplo 0: KL = {kl[0]:.4f} nats; una estimación de Monte Carlo "
              f"E_q[log q − log p] con {Q2_MC_DRAWS} muestras da {mc[0]:.3f} ± {2 * se[0]:.3f}.")


def fd_problem(name: str, outputs: Arrays, expected: Arrays, n: int, lang: str) -> str | None:
    """Message when the derivatives of the NumPy KL (finite differences) differ from the key's."""
    note = str(outputs.get("fd_note", "missing"))
    if note != "ok":
        return say(f"the values are right, but calling `{name}` again with slightly moved inputs raised {note}.",
                   f"los valores son correctos, pero al llamar otra vez a `{name}` con entradas apenas movidas "
                   f"se produjo el error {note}.", lang)
    labels = {"mu": ("μ", "μ", "∂KL/∂μ = μ"), "log_var": ("log σ²", "log σ²", "∂KL/∂log σ² = ½ (σ² − 1)")}
    for k in Q2_FD:
        plus, minus = np.asarray(outputs[f"fd_{k}_plus"]), np.asarray(outputs[f"fd_{k}_minus"])
        label_en, label_es, formula = labels[k]
        problem = result_problem(name, plus, (n,), lang) or result_problem(name, minus, (n,), lang)
        want = np.asarray(expected[f"dkl_{k}"])
        if problem is None:
            slope = (plus.astype(np.float64) - minus.astype(np.float64)) / (2.0 * Q2_FD_STEP)
            if np.allclose(slope, want, rtol=1e-3, atol=1e-2):
                continue
            problem = close_problem(f"∂{name}/∂{k}", slope, want, lang, rtol=1e-3, atol=1e-2)
        return say(
            f"the values are right at these inputs, but the KL does not change with {label_en} as it should "
            f"({formula}): with {label_en} moved slightly, {problem} Compute it from the arguments every time "
            "(no stored or cached results).",
            f"los valores son correctos en estas entradas, pero la KL no cambia con {label_es} como debería "
            f"({formula}): con {label_es} apenas movido, {problem} Calcúlala a partir de los argumentos cada vez "
            "(sin resultados guardados).", lang)
    return None


Q2 = Question(
    qid="vae.q2", points=2, target="kl_to_standard_normal",
    title={"en": "Closed-form KL to N(0, I) (NumPy)", "es": "KL en forma cerrada respecto de N(0, I) (NumPy)"},
    run=run_q2, evaluate=evaluate_q2)


# ---------------------------------------------------------------------------
# Q3. TensorFlow Probability: Monte-Carlo KL to any prior
# ---------------------------------------------------------------------------

Q3_N, Q3_L, Q3_S, Q3_K = 12, 2, 64, 3
#: draws per example of the (fixed-seed) high-precision estimate used to diagnose fresh noise (key side)
Q3_TRUE_DRAWS = 20000
PRIORS = ("mixture", "laplace")
#: the inputs that carry parameters (encoder; a learnt prior), per prior
Q3_PARAMS = {"mixture": ("mu", "log_var", "mix_logits", "mix_loc", "mix_scale"),
             "laplace": ("mu", "log_var", "laplace_scale")}
Q3_LABELS = {"mixture": ("a mixture-of-Gaussians prior", "una distribución a priori de mezcla de gaussianas"),
             "laplace": ("a Laplace prior", "una distribución a priori de Laplace")}
_PRIOR_WHO = ("a learnt prior", "una distribución a priori aprendida")
Q3_ROLES: dict[str, Role] = {
    "mu": ("μ", "μ", "the encoder's mean", "la media del codificador"),
    "log_var": ("log σ²", "log σ²", "the encoder's variance", "la varianza del codificador"),
    "mix_logits": ("the prior's mixture logits", "los logits de la mezcla a priori", *_PRIOR_WHO),
    "mix_loc": ("the prior's component means", "las medias de las componentes a priori", *_PRIOR_WHO),
    "mix_scale": ("the prior's component scales", "las escalas de las componentes a priori", *_PRIOR_WHO),
    "laplace_scale": ("the Laplace prior's scale", "la escala de la Laplace a priori", *_PRIOR_WHO),
}
_Q3_ENCODER_HINT = (
    ": are the samples z = μ + σ · eps still connected to μ and σ? With `tf.stop_gradient(z)` (or z rebuilt "
    "from NumPy) the reparameterisation gradient is lost, and q(z|x) would be pushed by log q alone.",
    ": ¿siguen conectadas las muestras z = μ + σ · eps con μ y σ? Con `tf.stop_gradient(z)` (o z reconstruida "
    "desde NumPy) se pierde el gradiente de la reparametrización, y q(z|x) solo se movería por log q.")
_Q3_PRIOR_HINT = (": is `prior.log_prob(z)` cut off from the graph?",
                  ": ¿está `prior.log_prob(z)` separado del grafo?")
Q3_HINTS = {"mu": _Q3_ENCODER_HINT, "log_var": _Q3_ENCODER_HINT, "mix_logits": _Q3_PRIOR_HINT,
            "mix_loc": _Q3_PRIOR_HINT, "mix_scale": _Q3_PRIOR_HINT, "laplace_scale": _Q3_PRIOR_HINT}


def q3_prior(prior: str, t: dict[str, Any]) -> Any:
    """The TFP prior of Q3 (``"mixture"`` or ``"laplace"``) built from the tensors ``t``."""
    import tensorflow as tf
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    if prior == "mixture":
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=t["mix_logits"]),
            components_distribution=tfd.MultivariateNormalDiag(loc=t["mix_loc"], scale_diag=t["mix_scale"]))
    return tfd.Independent(tfd.Laplace(loc=tf.zeros_like(t["laplace_scale"]), scale=t["laplace_scale"]),
                           reinterpreted_batch_ndims=1)


def run_q3(f: Any, inputs: Arrays) -> Arrays:
    """For each prior: the KL per example and the gradients of ``sum(kl * w)``, eagerly and traced."""
    outputs: Arrays = {}
    n = inputs["mu"].shape[0]
    for prior in PRIORS:
        try:
            result = tf_answer(f, lambda t, prior=prior: [t["mu"], t["log_var"], t["eps"], q3_prior(prior, t)],
                               inputs, Q3_PARAMS[prior], shape=(n,), weight="w")
        except Exception as exc:  # reported per prior, with a hint; a placeholder is "not answered"
            if is_placeholder_error(exc):
                raise
            result = {"error": np.array(describe_error(exc)), "error_type": np.array(type(exc).__name__)}
        outputs.update(prefixed(f"{prior}/", result))
    return outputs


def evaluate_q3(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "mc_kl"
    n, l = inputs["mu"].shape
    s = inputs["eps"].shape[0]
    values = {}
    for prior in PRIORS:
        en_label, es_label = Q3_LABELS[prior]
        prefix = say(f"with {en_label}: ", f"con {es_label}: ", lang)
        got_all, want_all = unprefixed(f"{prior}/", outputs), unprefixed(f"{prior}/", expected)
        if "error" in got_all:
            err = str(got_all["error"])
            if str(got_all["error_type"]) == "NotImplementedError":
                return fail(say(
                    f"with {en_label}, calling `{name}` raised {err}. That is the library telling you that it "
                    "has no closed form for this pair of distributions (`tfd.kl_divergence` only knows a few "
                    "pairs, e.g. two Gaussians): estimate the KL with the samples instead, the mean over s of "
                    "log q(z_s|x) − log p(z_s) with z_s = μ + σ · eps_s.",
                    f"con {es_label}, al llamar a `{name}` se produjo el error {err}. Es la biblioteca diciéndote "
                    "que no tiene una forma cerrada para este par de distribuciones (`tfd.kl_divergence` solo "
                    "conoce algunos pares, p. ej. dos gaussianas): estima la KL con las muestras, el promedio "
                    "sobre s de log q(z_s|x) − log p(z_s) con z_s = μ + σ · eps_s.", lang))
            return fail(say(f"with {en_label}, calling `{name}` raised {err}. Hint: `log_prob` of a "
                            "distribution over z (event shape (L,)) sums over the latent axis.",
                            f"con {es_label}, al llamar a `{name}` se produjo el error {err}. Pista: el "
                            "`log_prob` de una distribución sobre z (event shape (L,)) ya suma sobre el eje "
                            "latente.", lang))
        got = np.asarray(got_all["value"])
        if got.dtype.kind in "iuf" and got.shape == (s,):
            return fail(say(f"`{name}` returned shape {got.shape}: you averaged over the examples; average "
                            f"over the Monte-Carlo samples (axis 0 of eps) to get one KL per example, "
                            f"shape ({n},).",
                            f"`{name}` devolvió forma {got.shape}: promediaste sobre los ejemplos; promedia "
                            f"sobre las muestras de Monte Carlo (eje 0 de eps) para obtener una KL para cada ejemplo, "
                            f"forma ({n},).", lang))
        if got.dtype.kind in "iuf" and got.shape in ((s, n), (n, l)):
            return fail(say(f"`{name}` returned shape {got.shape}; expected ({n},): average over the samples "
                            "(axis 0) and make sure log q(z|x) sums over the latent dimensions "
                            "(`tfd.MultivariateNormalDiag`, or `tfd.Independent(tfd.Normal(...), 1)`).",
                            f"`{name}` devolvió forma {got.shape}; se esperaba ({n},): promedia sobre las "
                            "muestras (eje 0) y asegúrate de que log q(z|x) sume sobre las dimensiones latentes "
                            "(`tfd.MultivariateNormalDiag`, o `tfd.Independent(tfd.Normal(...), 1)`).", lang))
        problem = result_problem(name, got, (n,), lang)
        if problem:
            return fail(problem)
        want = want_all["kl"]
        if not is_close(got, want, rtol=1e-4, atol=2e-4):
            message = first_match(got, unpack_variants(want_all), lang, rtol=1e-4, atol=2e-4)
            if message:
                return fail(prefix + message)
            true_kl, se = want_all["true_kl"], want_all["se"]
            if np.all(np.abs(got - true_kl) < 5 * se + 1e-3):
                return fail(prefix + say(
                    "your estimate is plausible but it does not use the `eps` you were given: compute "
                    "z = μ + σ · eps with those draws (no new random numbers), so that the result is "
                    "reproducible.",
                    "tu estimación es plausible, pero no usa el `eps` que recibiste: calcula z = μ + σ · eps con "
                    "esas muestras (sin números aleatorios nuevos) para que el resultado sea reproducible.", lang))
            return fail(prefix + close_problem(name, got, want, lang, rtol=1e-4, atol=2e-4))
        message = tf_gradient_feedback(name, got_all, want_all, Q3_PARAMS[prior], Q3_ROLES, Q3_HINTS, lang,
                                       prefix=prefix)
        if message:
            return fail(message)
        values[prior] = float(got[0])
    return ok(lang, f"correct! e.g. example 0: KL ≈ {values['mixture']:.3f} nats to the mixture prior and "
                    f"≈ {values['laplace']:.3f} nats to the Laplace prior ({s} samples); the gradients reach "
                    "μ, log σ² and the prior's parameters.",
              f"¡correcto! p. ej. en el ejemplo 0: KL ≈ {values['mixture']:.3f} nats respecto de la mezcla y "
              f"≈ {values['laplace']:.3f} nats respecto de la Laplace ({s} muestras); los gradientes llegan a "
              "μ, a log σ² y a los parámetros de la distribución a priori.")


Q3 = Question(
    qid="vae.q3", points=2, target="mc_kl",
    title={"en": "Monte-Carlo KL to any prior (TensorFlow Probability)",
           "es": "KL de Monte Carlo respecto de cualquier distribución a priori (TensorFlow Probability)"},
    run=run_q3, evaluate=evaluate_q3)


# ---------------------------------------------------------------------------
# Q4. TensorFlow: negative ELBO of a batch
# ---------------------------------------------------------------------------

Q4_N, Q4_H, Q4_W, Q4_L = 16, 28, 28, 3
#: pixels per image where the decoder is confidently wrong (|logit| = 40)
Q4_CONFIDENT = 3
#: the inputs that carry parameters: the decoder's output and the encoder's
Q4_PARAMS = ("logits", "mu", "log_var")
Q4_ROLES: dict[str, Role] = {
    "logits": ("the decoder's logits", "los logits del decodificador", "the decoder", "el decodificador"),
    "mu": ("μ", "μ", "the encoder's mean", "la media del codificador"),
    "log_var": ("log σ²", "log σ²", "the encoder's variance", "la varianza del codificador"),
}
_Q4_KL_HINT = (": is part of the KL term cut off from the graph (`tf.stop_gradient`, NumPy)?",
               ": ¿hay una parte del término KL separada del grafo (`tf.stop_gradient`, NumPy)?")
Q4_HINTS = {"logits": (": is part of the reconstruction term cut off from the graph (`tf.stop_gradient`, NumPy)?",
                       ": ¿hay una parte del término de reconstrucción separada del grafo (`tf.stop_gradient`, "
                       "NumPy)?"),
            "mu": _Q4_KL_HINT, "log_var": _Q4_KL_HINT}


def run_q4(f: Any, inputs: Arrays) -> Arrays:
    """The loss, and its gradients w.r.t. logits, mu and log_var, eagerly and traced (as ``fit`` does)."""
    return tf_answer(f, lambda t: [t["x"], t["logits"], t["mu"], t["log_var"]], inputs, Q4_PARAMS, shape=())


def evaluate_q4(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
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
    want = float(expected["value"])
    if not is_close(got, want, rtol=1e-4, atol=1e-3):
        message = first_match(got, unpack_variants(expected), lang, rtol=1e-4, atol=1e-3)
        if message:
            return wrong_value(got, message, message, lang)
        return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-3) + say(
            " Check: binary cross-entropy from the logits summed over all pixels of each image, plus "
            "½ Σ (μ² + σ² − 1 − log σ²) summed over the latent dimensions, averaged over the batch.",
            " Revisa: entropía cruzada binaria a partir de los logits sumada sobre todos los píxeles de cada "
            "imagen, más ½ Σ (μ² + σ² − 1 − log σ²) sumada sobre las dimensiones latentes, promediado sobre "
            "el lote.", lang))
    message = tf_gradient_feedback(name, outputs, expected, Q4_PARAMS, Q4_ROLES, Q4_HINTS, lang)
    if message:
        return fail(message)
    return ok(lang, f"correct! −ELBO = {got:.2f} nats per image on this batch, differentiable with respect to "
                    "the logits, μ and log σ², also inside tf.function.",
              f"¡correcto! −ELBO = {got:.2f} nats por imagen en este lote, diferenciable respecto de los logits, "
              "μ y log σ², también dentro de tf.function.")


Q4 = Question(
    qid="vae.q4", points=2, target="negative_elbo",
    title={"en": "The negative ELBO of a batch (TensorFlow)", "es": "La ELBO negativa de un lote (TensorFlow)"},
    run=run_q4, evaluate=evaluate_q4)


# ---------------------------------------------------------------------------
# Q5. NumPy/SciPy: decoding a latent grid with the inverse CDF
# ---------------------------------------------------------------------------

Q5_H, Q5_W = 5, 4


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


def untile(image: np.ndarray, n: int, h: int, w: int) -> np.ndarray:
    """(n*h, n*w) -> (n, n, h, w): the tile in rows i*h.., columns j*w.. becomes [i, j]."""
    return image.reshape(n, h, n, w).transpose(0, 2, 1, 3)


def read_back_z(image: np.ndarray, n: int, inputs: Arrays) -> tuple[np.ndarray, float]:
    """The z of every tile of a (n*h, n*w) image made by the toy decoder, and the fit's residual."""
    a, b, c = (np.asarray(inputs[k], dtype=np.float64) for k in ("A", "B", "C"))
    tiles = untile(np.asarray(image, dtype=np.float64), n, Q5_H, Q5_W).reshape(n * n, -1) - c.ravel()
    basis = np.stack([a.ravel(), b.ravel()], axis=1)
    z, *_ = np.linalg.lstsq(basis, tiles.T, rcond=None)
    residual = float(np.max(np.abs(basis @ z - tiles.T)))
    return z.T.reshape(n, n, 2), residual


def grid_feedback(label: tuple[str, str], image: np.ndarray, n: int, p_lo: float, p_hi: float,
                  inputs: Arrays, expected: Arrays, lang: str) -> str | None:
    """Message for a wrong grid image (None when right); ``expected`` holds this grid's part of the key."""
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
    want = expected["z"]
    if is_close(z, want, rtol=1e-6, atol=1e-6):
        return None
    if "ignored" in expected and is_close(z, expected["ignored"], rtol=1e-6, atol=1e-6):
        return prefix + say(
            f"you ignored `p_lo`/`p_hi` (asked for {p_lo:.4g} and {p_hi:.4g}).",
            f"ignoraste `p_lo`/`p_hi` (se pidió {p_lo:.4g} y {p_hi:.4g}).", lang)
    z1_values = np.sort(z[..., 0].ravel())
    if is_close(z1_values, expected["evenly_in_z"], rtol=1e-5, atol=1e-5):
        return prefix + say(
            "the z values are evenly spaced in z: space them evenly in PROBABILITY and map them with the "
            "inverse CDF, `norm.ppf(np.linspace(p_lo, p_hi, n))`.",
            "los valores de z están equiespaciados en z: equiespácialos en PROBABILIDAD y transfórmalos con la "
            "inversa de la función de distribución, `norm.ppf(np.linspace(p_lo, p_hi, n))`.", lang)
    if is_close(z1_values, expected["probabilities"], rtol=1e-5, atol=1e-5):
        return prefix + say(
            "you decoded the probabilities themselves; map them to z with `norm.ppf` first.",
            "decodificaste las probabilidades mismas; primero transfórmalas en z con `norm.ppf`.", lang)
    message = first_match(z, unpack_variants(expected), lang, rtol=1e-6, atol=1e-6)
    if message:
        return prefix + message
    k = np.unravel_index(int(np.argmax(np.abs(z - want).sum(-1))), (n, n))
    return prefix + say(
        f"tile (row {k[0]}, column {k[1]}) shows z = ({z[k][0]:.3f}, {z[k][1]:.3f}); expected "
        f"({want[k][0]:.3f}, {want[k][1]:.3f}). With g = norm.ppf(linspace(p_lo, p_hi, n)), tile (i, j) shows "
        "z = (g[j], g[n−1−i]).",
        f"la imagen (fila {k[0]}, columna {k[1]}) muestra z = ({z[k][0]:.3f}, {z[k][1]:.3f}); se esperaba "
        f"({want[k][0]:.3f}, {want[k][1]:.3f}). Con g = norm.ppf(linspace(p_lo, p_hi, n)), la imagen (i, j) "
        "muestra z = (g[j], g[n−1−i]).", lang)


def evaluate_q5(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    p_lo, p_hi = float(inputs["p_lo"]), float(inputs["p_hi"])
    message = grid_feedback(("with the default p_lo, p_hi", "con los p_lo, p_hi por defecto"),
                            outputs["default"], int(inputs["n_default"]), 0.05, 0.95, inputs,
                            unprefixed("default/", expected), lang)
    if message is None:
        message = grid_feedback((f"with p_lo={p_lo:.4g}, p_hi={p_hi:.4g}", f"con p_lo={p_lo:.4g}, p_hi={p_hi:.4g}"),
                                outputs["custom"], int(inputs["n_custom"]), p_lo, p_hi, inputs,
                                unprefixed("custom/", expected), lang)
    if message is not None:
        return fail(message)
    return ok(lang, "correct! z1 grows to the right, z2 upwards, and the points are equally spaced in "
                    "probability under N(0, 1).",
              "¡correcto! z1 crece hacia la derecha, z2 hacia arriba, y los puntos están equiespaciados en "
              "probabilidad bajo N(0, 1).")


Q5 = Question(
    qid="vae.q5", points=1, target="decode_grid",
    title={"en": "Decoding a latent grid (inverse CDF)",
           "es": "Decodificar una cuadrícula latente (inversa de la función de distribución)"},
    run=run_q5, evaluate=evaluate_q5)


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice; the letter is in the key)
# ---------------------------------------------------------------------------

Q6_TARGET = "answer_q6"

Q6 = choice_question(
    qid="vae.q6", points=1, target=Q6_TARGET,
    title={"en": "What if the KL weight goes to 0?", "es": "¿Qué pasa si el peso de la KL tiende a 0?"})


QUESTIONS = [Q1, Q2, Q3, Q4, Q5, Q6]

__all__ = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "QUESTIONS"]
