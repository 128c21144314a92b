"""Tests of the VAE chapter's graded questions (:mod:`shared.checks.vae`).

For every question: the solution (taken from the solution notebook's code
cells) passes, the exercise placeholder fails with the "not answered" message,
plausible wrong answers fail with a specific message in both languages, and
malformed results never make a check raise. Two tests grade the real notebooks
on fresh kernels (solution: full marks; generated exercise: zero); both
gradings run in parallel threads to keep the file fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from shared.checks import vae

from checks_support import (UNANSWERED, assert_fails, assert_full_marks, assert_unanswered, grade,  # tests/
                            grade_real_notebooks, not_implemented, notebook_namespace)

REPO = Path(__file__).resolve().parent.parent
SOLUTION_EN = REPO / "solutions" / "en" / "vae.ipynb"
SOLUTION_ES = REPO / "solutions" / "es" / "vae.ipynb"
EXERCISE_ES = REPO / "exercises" / "es" / "vae.ipynb"

tf = pytest.importorskip("tensorflow")
tfp = pytest.importorskip("tensorflow_probability")
tfd = tfp.distributions


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def namespace() -> dict:
    """What the answer cells may use without importing it."""
    return {"np": np, "tf": tf, "tfp": tfp, "tfd": tfd, "norm": norm}


SOLUTION = notebook_namespace(SOLUTION_EN, namespace())
EXERCISE = notebook_namespace(EXERCISE_ES, namespace())


# ---------------------------------------------------------------------------
# Every question: solution passes, placeholder is "not answered"
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("question", vae.QUESTIONS, ids=lambda q: q.qid)
def test_solution_passes(question):
    for seed, lang in ((0, "en"), (1, "es"), (12345, "en")):
        fb = grade(question, SOLUTION[question.target], seed=seed, lang=lang)
        assert fb.passed, (seed, fb.message)


@pytest.mark.parametrize("question", vae.QUESTIONS, ids=lambda q: q.qid)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_placeholder_is_unanswered(question, lang):
    placeholders = [EXERCISE[question.target], ...]
    if question.qid != "vae.q6":  # functions: the generated body raises NotImplementedError
        placeholders.append(not_implemented)
    for obj in placeholders:
        fb = grade(question, obj, lang=lang)
        assert not fb.passed
        assert UNANSWERED[lang] in fb.message, fb.message


def test_questions_metadata():
    assert [q.qid for q in vae.QUESTIONS] == [f"vae.q{i}" for i in range(1, 7)]
    assert [q.points for q in vae.QUESTIONS] == [2, 2, 2, 2, 1, 1]
    assert sum(q.points for q in vae.QUESTIONS) == 10
    for q in vae.QUESTIONS:
        assert q.title["en"] and q.title["es"]


def test_solution_notebooks_answer_the_same_in_both_languages():
    es = notebook_namespace(SOLUTION_ES, namespace())
    for q in vae.QUESTIONS:
        assert grade(q, es[q.target], seed=7, lang="es").passed


def test_reference_implementations_agree_with_tfp_and_monte_carlo():
    rng = np.random.default_rng(5)
    mu, log_var = rng.normal(size=(6, 3)), rng.uniform(-2, 1, (6, 3))
    q = tfd.MultivariateNormalDiag(loc=mu, scale_diag=np.exp(0.5 * log_var))
    p = tfd.MultivariateNormalDiag(loc=np.zeros(3), scale_diag=np.ones(3))
    assert np.allclose(vae.ref_kl_standard_normal(mu, log_var), tfd.kl_divergence(q, p).numpy(), rtol=1e-10)
    mc, se = vae.mc_kl_standard_normal(mu, log_var, draws=20000)
    assert np.all(np.abs(mc - vae.ref_kl_standard_normal(mu, log_var)) < 5 * se)
    # the NumPy log-densities of Q3's priors agree with TensorFlow Probability
    inputs = vae.Q3.make_inputs(np.random.default_rng(2))
    z = rng.normal(0, 2, (7, 5, 2))
    mixture = tfd.MixtureSameFamily(tfd.Categorical(logits=inputs["mix_logits"].astype(np.float64)),
                                    tfd.MultivariateNormalDiag(inputs["mix_loc"].astype(np.float64),
                                                               inputs["mix_scale"].astype(np.float64)))
    laplace = tfd.Independent(tfd.Laplace(np.zeros(2), inputs["laplace_scale"].astype(np.float64)), 1)
    logpdfs = vae.prior_logpdfs(inputs)
    assert np.allclose(logpdfs["mixture"](z), mixture.log_prob(z).numpy(), rtol=1e-6)
    assert np.allclose(logpdfs["laplace"](z), laplace.log_prob(z).numpy(), rtol=1e-6)
    # the stable BCE equals the textbook formula where the latter is finite
    x, logits = rng.random((4, 5)), rng.normal(0, 2, (4, 5))
    p_on = 1 / (1 + np.exp(-logits))
    assert np.allclose(vae.bce_with_logits(x, logits), -(x * np.log(p_on) + (1 - x) * np.log(1 - p_on)))


# ---------------------------------------------------------------------------
# Q1: reparameterisation (TensorFlow)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, fragment, es_fragment", [
    (lambda m, lv, e: m + tf.exp(lv) * e, "exp(log_var) = σ²", "exp(log_var) = σ²"),
    (lambda m, lv, e: m + tf.sqrt(tf.exp(lv)) ** 2 * e, "σ² as the scale", "σ² como escala"),
    (lambda m, lv, e: m + lv * e, "log_var itself as the scale", "el propio log_var"),
    (lambda m, lv, e: m + tf.exp(-0.5 * lv) * e, "1/σ", "1/σ"),
    (lambda m, lv, e: m + e, "σ is missing", "falta σ"),
    (lambda m, lv, e: m * 1.0, "returned μ", "devolviste μ"),
    (lambda m, lv, e: m * tf.exp(0.5 * lv) + e, "swapped", "intercambiados"),
    (lambda m, lv, e: m + tf.sqrt(lv) * e, "square root", "raíz cuadrada"),
    (lambda m, lv, e: m + tf.exp(0.5 * lv) * tf.random.normal(tf.shape(m)), "use `eps`", "usa `eps`"),
], ids=["var-scale", "sqrt-missing", "logvar-scale", "inverse", "no-sigma", "no-noise", "swapped", "sqrt",
        "fresh-noise"])
def test_q1_wrong_answers(wrong, fragment, es_fragment):
    assert_fails(vae.Q1, wrong, fragment, es_fragments=(es_fragment,))


def test_q1_right_value_but_no_gradient():
    q = vae.Q1
    assert_fails(q, lambda m, lv, e: (m + tf.exp(0.5 * lv) * e).numpy(), "TensorFlow tensor",
                 es_fragments=("tensor de TensorFlow",))
    assert_fails(q, lambda m, lv, e: m + np.exp(0.5 * lv.numpy()) * e, "no gradient reaches log σ²",
                 es_fragments=("ningún gradiente llega a log σ²",))
    assert_fails(q, lambda m, lv, e: tf.stop_gradient(m) + tf.exp(0.5 * lv) * e, "no gradient reaches μ")
    assert_fails(q, lambda m, lv, e: m + tf.stop_gradient(tf.exp(0.5 * lv)) * e, "no gradient reaches log σ²")
    # a wrong-gradient construction with the right value: sigma through a detached path plus a fake term
    assert_fails(q, lambda m, lv, e: m + tf.stop_gradient(tf.exp(0.5 * lv)) * e + 0.0 * lv,
                 "½ · σ · ε", es_fragments=("½ · σ · ε",))


def test_q1_keras_ops_are_fine():
    import keras

    fb = grade(vae.Q1, lambda m, lv, e: keras.ops.add(m, keras.ops.exp(0.5 * lv) * e))
    assert fb.passed, fb.message
    fb = grade(vae.Q1, lambda m, lv, e: m + tf.sqrt(tf.exp(lv)) * e)  # also correct
    assert fb.passed, fb.message


def test_q1_bad_results_never_raise():
    q = vae.Q1
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda m, lv, e: (m + tf.exp(0.5 * lv) * e)[:, :1], "shape")
    assert_fails(q, lambda m, lv, e: tf.reduce_sum(m + tf.exp(0.5 * lv) * e), "shape")
    assert_fails(q, lambda *a: "z", "array of numbers")
    assert_fails(q, lambda m, lv, e: m / 0.0 + e, "NaN/inf")
    assert_fails(q, lambda m, lv, e: 1 / 0, "ZeroDivisionError")


# ---------------------------------------------------------------------------
# Q2: closed-form KL (NumPy)
# ---------------------------------------------------------------------------

def kl_terms(mu, lv):
    return mu ** 2 + np.exp(lv) - 1.0 - lv


@pytest.mark.parametrize("wrong, fragment, es_fragment", [
    (lambda m, lv: np.sum(kl_terms(m, lv), axis=1), "factor ½", "factor ½"),
    (lambda m, lv: 0.5 * np.mean(kl_terms(m, lv), axis=1), "SUM", "SUMA"),
    (lambda m, lv: -0.5 * np.sum(kl_terms(m, lv), axis=1), "sign", "signo"),
    (lambda m, lv: 0.5 * np.sum(m ** 2 + np.exp(lv) - lv, axis=1), "−1", "−1"),
    (lambda m, lv: 0.5 * np.sum(np.exp(lv) - 1 - lv, axis=1), "μ²", "μ²"),
    (lambda m, lv: 0.5 * np.sum(m ** 2 + np.exp(2 * lv) - 1 - 2 * lv, axis=1), "log σ;", "log σ;"),
    (lambda m, lv: 0.5 * np.sum(m ** 2 + np.exp(0.5 * lv) - 1 - lv, axis=1), "σ = exp(½ · log_var)",
     "σ = exp(½ · log_var)"),
    (lambda m, lv: 0.5 * np.sum((1 + m ** 2) / np.exp(lv) - 1 + lv, axis=1), "other direction",
     "otra dirección"),
], ids=["no-half", "mean-dims", "sign", "no-minus-one", "no-mu2", "logvar-as-logsigma", "sigma-for-var",
        "reverse-kl"])
def test_q2_wrong_answers(wrong, fragment, es_fragment):
    assert_fails(vae.Q2, wrong, fragment, es_fragments=(es_fragment,))


def test_q2_shapes_and_unrecognised_values():
    q = vae.Q2
    sol = SOLUTION["kl_to_standard_normal"]
    assert_fails(q, lambda m, lv: sol(m, lv).mean(), "one number", es_fragments=("un solo número",))
    assert_fails(q, lambda m, lv: 0.5 * kl_terms(m, lv), "one term per latent dimension",
                 es_fragments=("un término por dimensión latente",))
    assert_fails(q, lambda m, lv: sol(m, lv)[:, None], "shape")
    # an unrecognised mistake: the message shows the closed form and a Monte-Carlo estimate
    assert_fails(q, lambda m, lv: sol(m, lv) + 0.1 * np.abs(m[:, 0]), "closed form", "Monte-Carlo",
                 es_fragments=("forma cerrada", "Monte Carlo"))


def test_q2_bad_results_never_raise():
    q = vae.Q2
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: {"kl": 1.0})
    assert_fails(q, lambda m, lv: np.full(len(m), np.nan), "NaN")
    assert_fails(q, lambda m, lv: (m > 0).any(axis=1), "booleans")
    assert_fails(q, lambda m, lv: m @ "x", "raised")
    fb = grade(q, lambda m, lv: tf.constant(SOLUTION["kl_to_standard_normal"](m, lv)))  # a tensor is fine
    assert fb.passed, fb.message


# ---------------------------------------------------------------------------
# Q3: Monte-Carlo KL to any prior (TensorFlow Probability)
# ---------------------------------------------------------------------------

def mc_parts(mu, log_var, eps, prior, *, scale="sigma", log_q=True, sign=1.0, prior_override=None,
             axis=0, sum_q=True):
    sigma = tf.exp(0.5 * log_var) if scale == "sigma" else tf.exp(log_var)
    z = mu + sigma * eps
    p = prior_override if prior_override is not None else prior
    if sum_q:
        lq = tfd.MultivariateNormalDiag(loc=mu, scale_diag=sigma).log_prob(z)
    else:
        lq = tfd.Normal(loc=mu, scale=sigma).log_prob(z)
    terms = (lq if log_q else 0.0) - p.log_prob(z)
    return sign * tf.reduce_mean(terms, axis=axis)


STANDARD_NORMAL = tfd.MultivariateNormalDiag(loc=tf.zeros(2), scale_diag=tf.ones(2))


@pytest.mark.parametrize("wrong, fragment, es_fragment", [
    (lambda *a: mc_parts(*a, log_q=False), "cross-entropy", "entropía cruzada"),
    (lambda *a: mc_parts(*a, sign=-1.0), "sign", "signo"),
    (lambda *a: mc_parts(*a, scale="var"), "exp(log_var) = σ²", "exp(log_var) = σ²"),
    (lambda *a: mc_parts(*a, prior_override=STANDARD_NORMAL), "under N(0, I)", "con N(0, I)"),
    (lambda m, lv, e, p: 0.5 * tf.reduce_sum(m ** 2 + tf.exp(lv) - 1 - lv, axis=1), "closed-form KL to N(0, I)",
     "forma cerrada respecto de N(0, I)"),
    (lambda *a: mc_parts(*a, axis=1), "averaged over the examples", "promediaste sobre los ejemplos"),
    (lambda *a: mc_parts(*a, sum_q=False), "raised", "se produjo el error"),
], ids=["cross-entropy", "sign", "var-scale", "standard-normal-prior", "closed-form", "mean-over-batch",
        "normal-not-summed"])
def test_q3_wrong_answers(wrong, fragment, es_fragment):
    assert_fails(vae.Q3, wrong, fragment, es_fragments=(es_fragment,))


def test_q3_fresh_noise_is_detected():
    def fresh(mu, log_var, eps, prior):
        return mc_parts(mu, log_var, tf.random.normal(tf.shape(eps), seed=None), prior)

    for seed in (0, 3):
        assert_fails(vae.Q3, fresh, "does not use the `eps`", seed=seed,
                     es_fragments=("no usa el `eps`",))


def test_q3_other_correct_forms_pass():
    def with_independent(mu, log_var, eps, prior):
        sigma = tf.exp(0.5 * log_var)
        z = mu + sigma * eps
        q = tfd.Independent(tfd.Normal(mu, sigma), reinterpreted_batch_ndims=1)
        return tf.reduce_mean(q.log_prob(z) - prior.log_prob(z), axis=0)

    def with_reparameterize(mu, log_var, eps, prior):
        z = SOLUTION["reparameterize"](mu, log_var, eps)
        log_q = tf.reduce_sum(tfd.Normal(mu, tf.exp(0.5 * log_var)).log_prob(z), axis=-1)
        return tf.reduce_mean(log_q - prior.log_prob(z), axis=0)

    for f in (with_independent, with_reparameterize):
        fb = grade(vae.Q3, f, seed=4)
        assert fb.passed, fb.message


def test_q3_bad_results_never_raise():
    q = vae.Q3
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: mc_parts(*a)[:3], "shape")
    assert_fails(q, lambda m, lv, e, p: mc_parts(m, lv, e, p) * np.nan, "NaN")
    assert_fails(q, lambda *a: "kl", "array of numbers")
    assert_fails(q, lambda m, lv, e, p: tf.reduce_mean(mc_parts(m, lv, e, p)), "shape")


# ---------------------------------------------------------------------------
# Q4: negative ELBO (TensorFlow)
# ---------------------------------------------------------------------------

def kl_tf(mu, log_var):
    return 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(log_var) - 1.0 - log_var, axis=1)


def elbo_parts(x, logits, mu, log_var, *, rec="sum", kl_weight=1.0, reduce="mean"):
    import keras

    if rec == "sum":
        r = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3])
    elif rec == "keras-mean":  # keras averages over the last axis, then everything is averaged
        r = tf.reduce_mean(keras.losses.binary_crossentropy(x, logits, from_logits=True), axis=[1, 2])
    elif rec == "probabilities":
        r = tf.reduce_sum(keras.losses.binary_crossentropy(x, logits), axis=[1, 2])
    elif rec == "double-sigmoid":
        r = tf.reduce_sum(keras.losses.binary_crossentropy(x, tf.sigmoid(logits), from_logits=True), axis=[1, 2])
    elif rec == "mse":
        r = tf.reduce_sum(tf.square(x - tf.sigmoid(logits)), axis=[1, 2, 3])
    elif rec == "naive":
        p = tf.sigmoid(logits)
        r = -tf.reduce_sum(x * tf.math.log(p) + (1 - x) * tf.math.log(1 - p), axis=[1, 2, 3])
    total = r + kl_weight * kl_tf(mu, log_var)
    return {"mean": tf.reduce_mean, "sum": tf.reduce_sum, "none": lambda t: t}[reduce](total)


@pytest.mark.parametrize("wrong, fragment, es_fragment", [
    (lambda *a: elbo_parts(*a, rec="keras-mean"), "averaged over the pixels", "promediado sobre los píxeles"),
    (lambda *a: elbo_parts(*a, kl_weight=0.0), "KL term is missing", "falta el término KL"),
    (lambda *a: elbo_parts(*a, kl_weight=-1.0), "subtracted", "restada"),
    (lambda *a: elbo_parts(*a, kl_weight=2.0), "factor ½", "factor ½"),
    (lambda *a: elbo_parts(*a, reduce="sum"), "SUM over the batch", "SUMA sobre el lote"),
    (lambda *a: -elbo_parts(*a), "sign", "signo"),
    (lambda *a: elbo_parts(*a, rec="probabilities"), "treated them as probabilities", "como probabilidades"),
    (lambda *a: elbo_parts(*a, rec="double-sigmoid"), "sigmoid twice", "sigmoide dos veces"),
    (lambda *a: elbo_parts(*a, rec="mse"), "Gaussian likelihood", "verosimilitud gaussiana"),
    (lambda *a: elbo_parts(*a, rec="naive"), "inf", "sigmoid_cross_entropy_with_logits"),
    (lambda x, l, m, lv: elbo_parts(x, l, m, lv, rec="sum", kl_weight=0.0)
     + tf.reduce_mean(kl_tf(m, lv)) / 3.0, "averaged over the latent", "promediada sobre las dimensiones"),
], ids=["pixel-mean", "no-kl", "kl-sign", "kl-no-half", "batch-sum", "sign", "probabilities",
        "double-sigmoid", "mse", "naive-inf", "kl-mean"])
def test_q4_wrong_answers(wrong, fragment, es_fragment):
    assert_fails(vae.Q4, wrong, fragment, es_fragments=(es_fragment,))


def test_q4_shapes_and_other_correct_forms():
    import keras

    q = vae.Q4
    assert_fails(q, lambda *a: elbo_parts(*a, reduce="none"), "one loss per example",
                 es_fragments=("una pérdida por ejemplo",))

    def with_keras(x, logits, mu, log_var):  # keras' BCE over the last axis (size 1) then a sum: correct
        r = tf.reduce_sum(keras.losses.binary_crossentropy(x, logits, from_logits=True), axis=[1, 2])
        return tf.reduce_mean(r + kl_tf(mu, log_var))

    assert grade(q, with_keras).passed
    assert grade(q, lambda *a: elbo_parts(*a).numpy()).passed


def test_q4_bad_results_never_raise():
    q = vae.Q4
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: "loss", "array of numbers")
    assert_fails(q, lambda *a: tf.constant(float("nan")), "nan")
    assert_fails(q, lambda x, *a: x @ x, "raised")
    assert_fails(q, lambda *a: elbo_parts(*a) + 1.0, "off by")


# ---------------------------------------------------------------------------
# Q5: decoding a latent grid (NumPy/SciPy)
# ---------------------------------------------------------------------------

def grid_with(decoder, n, p_lo=0.05, p_hi=0.95, *, values="ppf", layout="right", placement="blocks"):
    if values == "ppf":
        g = norm.ppf(np.linspace(p_lo, p_hi, n))
    elif values == "linspace-z":
        g = np.linspace(norm.ppf(p_lo), norm.ppf(p_hi), n)
    else:  # the probabilities themselves
        g = np.linspace(p_lo, p_hi, n)
    rows = []
    for i in range(n):
        for j in range(n):
            rows.append({"right": (g[j], g[n - 1 - i]), "down": (g[j], g[i]),
                         "transposed": (g[i], g[n - 1 - j]), "seed": (g[i], g[j]),
                         "left": (g[n - 1 - j], g[n - 1 - i])}[layout])
    images = np.asarray(decoder(np.array(rows)))
    h, w = images.shape[1:]
    if placement == "reshape":
        return images.reshape(n * h, n * w)
    if placement == "stack":
        return images.reshape(n, n, h, w)
    return images.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)


def test_q5_loop_and_seed_style_solutions():
    def loop(decoder, n, p_lo=0.05, p_hi=0.95):  # one decoder call per tile, like the seed's loop
        g = norm.ppf(np.linspace(p_lo, p_hi, n))
        figure = None
        for i, z2 in enumerate(g[::-1]):
            for j, z1 in enumerate(g):
                img = decoder(np.array([[z1, z2]]))[0]
                h, w = img.shape
                if figure is None:
                    figure = np.zeros((n * h, n * w))
                figure[i * h:(i + 1) * h, j * w:(j + 1) * w] = img
        return figure

    def keras_style(decoder, n, p_lo=0.05, p_hi=0.95):
        g = norm.ppf(np.linspace(p_lo, p_hi, n))
        codes = np.array([[z1, z2] for z2 in g[::-1] for z1 in g], "float32")
        images = decoder.predict(codes, verbose=0)
        h, w = images.shape[1:]
        return images.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)

    for seed in range(4):
        for f in (loop, keras_style):
            fb = grade(vae.Q5, f, seed=seed)
            assert fb.passed, fb.message


@pytest.mark.parametrize("kwargs, fragment, es_fragment", [
    ({"values": "linspace-z"}, "evenly spaced in z", "equiespaciados en z"),
    ({"values": "probabilities"}, "probabilities themselves", "probabilidades mismas"),
    ({"layout": "down"}, "z2 grows downwards", "z2 crece hacia abajo"),
    ({"layout": "transposed"}, "transposed", "traspuestos"),
    ({"layout": "seed"}, "transposed", "traspuestos"),
    ({"placement": "reshape"}, "not whole decoded images", "no son imágenes decodificadas completas"),
    ({"placement": "stack"}, "ONE image", "UNA sola imagen"),
], ids=["linspace-z", "probabilities", "z2-down", "transposed", "seed-order", "plain-reshape", "not-tiled"])
def test_q5_wrong_answers(kwargs, fragment, es_fragment):
    assert_fails(vae.Q5, lambda d, n, p_lo=0.05, p_hi=0.95: grid_with(d, n, p_lo, p_hi, **kwargs),
                 fragment, es_fragments=(es_fragment,))


def test_q5_ignored_arguments_and_flipped_axes():
    q = vae.Q5
    assert_fails(q, lambda d, n, p_lo=0.05, p_hi=0.95: grid_with(d, n), "ignored `p_lo`/`p_hi`",
                 es_fragments=("ignoraste",))
    assert_fails(q, lambda d, n, p_lo=0.1, p_hi=0.9: grid_with(d, n, p_lo, p_hi), "default",
                 es_fragments=("por omisión",))
    assert_fails(q, lambda d, n, p_lo=0.05, p_hi=0.95: grid_with(d, n, p_lo, p_hi, layout="left"),
                 "z1 grows to the left", es_fragments=("z1 crece hacia la izquierda",))
    assert_fails(q, lambda d, n, p_lo=0.05, p_hi=0.95: grid_with(d, n, p_lo, p_hi).T, "transposed")


def test_q5_bad_results_never_raise():
    q = vae.Q5
    assert_fails(q, lambda *a, **k: None, "None")
    assert_fails(q, lambda d, n, **k: d(np.zeros((n * n, 3))), "raised")
    assert_fails(q, lambda d, n, **k: np.zeros((n, n)), "shape")
    assert_fails(q, lambda d, n, **k: np.full((n * vae.Q5_H, n * vae.Q5_W), np.nan), "NaN")
    assert_fails(q, lambda d, n, **k: np.zeros((n * vae.Q5_H, n * vae.Q5_W)), "not whole decoded images")


# ---------------------------------------------------------------------------
# Q6: multiple choice
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["A", "a", "  A\n", "A)"])
def test_q6_accepts_spelling_variants(answer):
    assert grade(vae.Q6, answer).passed


@pytest.mark.parametrize("answer", ["B", "c", " d "])
def test_q6_wrong_letters_get_a_hint_without_the_answer(answer):
    for lang in ("en", "es"):
        fb = grade(vae.Q6, answer, lang=lang)
        assert not fb.passed
        assert "plain autoencoder" not in fb.message and "autoencoder común" not in fb.message, fb.message


# ---------------------------------------------------------------------------
# Grading the real notebooks (one kernel each, run in parallel)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradings():
    return grade_real_notebooks("vae", SOLUTION_EN, EXERCISE_ES)


@pytest.mark.xdist_group("kernels")
def test_grading_solution_scores_full_marks(gradings):
    assert_full_marks(gradings["solution-en"], vae.QUESTIONS)


@pytest.mark.xdist_group("kernels")
def test_grading_exercise_scores_zero(gradings):
    assert_unanswered(gradings["exercise-es"], "es")
