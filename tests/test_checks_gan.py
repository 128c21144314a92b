"""Tests of the GAN chapter's graded questions (:mod:`shared.checks.gan`).

For every question: the solution (taken from the solution notebook's code
cells) passes, the exercise placeholder fails with the "not answered" message,
plausible wrong answers fail with a specific message, and malformed results
never make a check raise. Two tests grade the real notebooks on fresh kernels
(solution: full marks; generated exercise: zero); both gradings run in
parallel threads to keep the file fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from shared.checks import gan

from checks_support import (UNANSWERED, assert_fails, assert_full_marks, assert_unanswered, grade,  # tests/
                            grade_real_notebooks, not_implemented, notebook_namespace)

REPO = Path(__file__).resolve().parent.parent
SOLUTION_EN = REPO / "solutions" / "en" / "gan.ipynb"
EXERCISE_ES = REPO / "exercises" / "es" / "gan.ipynb"

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

SOLUTION = notebook_namespace(SOLUTION_EN, {"np": np, "tf": tf, "keras": keras, "expit": expit})
EXERCISE = notebook_namespace(EXERCISE_ES, {"np": np, "tf": tf, "keras": keras, "expit": expit})


# ---------------------------------------------------------------------------
# Every question: solution passes, placeholder is "not answered"
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("question", gan.QUESTIONS, ids=lambda q: q.qid)
def test_solution_passes(question):
    for seed, lang in ((0, "en"), (1, "es"), (12345, "en")):
        fb = grade(question, SOLUTION[question.target], seed=seed, lang=lang)
        assert fb.passed, (seed, fb.message)


@pytest.mark.parametrize("question", gan.QUESTIONS, ids=lambda q: q.qid)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_placeholder_is_unanswered(question, lang):
    placeholders = [EXERCISE[question.target], ...]
    if question.qid != "gan.q6":  # functions: the generated body raises NotImplementedError
        placeholders.append(not_implemented)
    for obj in placeholders:
        fb = grade(question, obj, lang=lang)
        assert not fb.passed
        assert UNANSWERED[lang] in fb.message, fb.message


def test_questions_metadata():
    assert [q.qid for q in gan.QUESTIONS] == [f"gan.q{i}" for i in range(1, 7)]
    assert [q.points for q in gan.QUESTIONS] == [2, 2, 2, 1, 2, 1]
    assert sum(q.points for q in gan.QUESTIONS) == 10
    for q in gan.QUESTIONS:
        assert q.title["en"] and q.title["es"]


def test_reference_implementations_agree_with_solution():
    inputs = gan.Q1.make_inputs(np.random.default_rng(3))
    d, g = SOLUTION["gan_losses"](tf.constant(inputs["real_logits"]), tf.constant(inputs["fake_logits"]))
    ref_d, ref_g = gan.ref_gan_losses(inputs["real_logits"], inputs["fake_logits"])
    assert np.isclose(float(d), ref_d, rtol=1e-5) and np.isclose(float(g), ref_g, rtol=1e-5)
    # Keras' own binary cross-entropy (from logits) gives the same two losses
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    r, f = tf.constant(inputs["real_logits"]), tf.constant(inputs["fake_logits"])
    assert np.isclose(float(bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f)), ref_d, rtol=1e-5)
    assert np.isclose(float(bce(tf.ones_like(f), f)), ref_g, rtol=1e-5)


def test_reference_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T
    mu = rng.normal(size=5)
    assert abs(gan.ref_frechet_distance(mu, cov, mu, cov)) < 1e-9
    # diagonal covariances: sum (sqrt(a) - sqrt(b))^2 + ||mu1 - mu2||^2
    d1, d2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    want = np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2) + np.sum(mu ** 2)
    assert np.isclose(gan.ref_frechet_distance(mu, np.diag(d1), 0 * mu, np.diag(d2)), want)
    # scalar case: (m1 - m2)^2 + (s1 - s2)^2
    assert np.isclose(gan.ref_frechet_distance(np.array([1.0]), np.array([[4.0]]),
                                               np.array([-1.0]), np.array([[9.0]])), 4.0 + 1.0)


def test_reference_train_step_matches_keras_autodiff():
    """The NumPy reference of Q2 agrees with the solution run by TensorFlow, and the losses move."""
    inputs = gan.Q2.make_inputs(np.random.default_rng(5))
    out = gan.run_q2(SOLUTION["train_step"], {k: v.copy() for k, v in inputs.items()})
    D_want, G_want = gan.ref_train_step(inputs)
    for k, w in zip(gan.D_KEYS + gan.G_KEYS, D_want + G_want):
        np.testing.assert_allclose(out[k], w, rtol=1e-4, atol=1e-5)
    f64 = {k: v.astype(np.float64) for k, v in inputs.items()}
    D0, G0 = [f64[k] for k in gan.D_KEYS], [f64[k] for k in gan.G_KEYS]
    before = gan.ref_losses_np(D0, G0, f64["real"], f64["z"])
    after_d = gan.ref_losses_np(D_want, G0, f64["real"], f64["z"])
    after_g = gan.ref_losses_np(D_want, G_want, f64["real"], f64["z"])
    assert after_d["d"] < before["d"] and after_g["g"] < after_d["g"]


# ---------------------------------------------------------------------------
# Q1: losses from logits
# ---------------------------------------------------------------------------

sp = tf.nn.softplus
mean = tf.reduce_mean


def losses(d, g):
    return lambda r, f: (d(r, f), g(r, f))


D_OK = lambda r, f: mean(sp(-r)) + mean(sp(f))  # noqa: E731
G_OK = lambda r, f: mean(sp(-f))  # noqa: E731


def test_q1_other_correct_forms_pass():
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    keras_form = losses(lambda r, f: bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f),
                        lambda r, f: bce(tf.ones_like(f), f))
    nn_form = losses(lambda r, f: mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(r), r))
                     + mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(f), f)),
                     lambda r, f: mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(f), f)))
    for form in (keras_form, nn_form):
        for seed in (0, 4):
            fb = grade(gan.Q1, form, seed=seed)
            assert fb.passed, fb.message


def test_q1_wrong_generator_losses():
    q = gan.Q1
    assert_fails(q, losses(D_OK, lambda r, f: -mean(sp(f))), "SATURATING")   # log(1 - D(G(z)))
    assert_fails(q, losses(D_OK, lambda r, f: mean(sp(f))), "labelled the fakes 0")
    assert_fails(q, losses(D_OK, lambda r, f: -mean(sp(-f))), "sign")
    assert_fails(q, losses(D_OK, lambda r, f: mean(sp(-tf.sigmoid(f)))), "sigmoid")
    assert_fails(q, losses(D_OK, lambda r, f: mean(sp(-r))), "REAL logits")
    bce = keras.losses.BinaryCrossentropy()  # from_logits=False: logits treated as probabilities
    assert_fails(q, losses(D_OK, lambda r, f: bce(tf.ones_like(f), f)), "logits as probabilities")


def test_q1_wrong_discriminator_losses():
    q = gan.Q1
    assert_fails(q, losses(lambda r, f: mean(tf.concat([sp(-r), sp(f)], 0)), G_OK), "SUM of two means")
    assert_fails(q, losses(lambda r, f: mean(sp(r)) + mean(sp(-f)), G_OK), "labels are swapped")
    assert_fails(q, losses(lambda r, f: -(mean(sp(-r)) + mean(sp(f))), G_OK), "sign")
    assert_fails(q, losses(lambda r, f: mean(sp(-tf.sigmoid(r))) + mean(sp(tf.sigmoid(f))), G_OK),
                 "sigmoid")
    assert_fails(q, losses(lambda r, f: mean(sp(-r)), G_OK), "fake-image term")
    assert_fails(q, losses(lambda r, f: mean(sp(f)), G_OK), "real-image term")
    bce = keras.losses.BinaryCrossentropy()  # from_logits=False: logits treated as probabilities
    assert_fails(q, losses(lambda r, f: bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f), G_OK),
                 "logits as probabilities")


def test_q1_naive_log_sigmoid_is_unstable():
    q = gan.Q1
    naive_d = lambda r, f: -mean(tf.math.log(tf.sigmoid(r))) - mean(tf.math.log(1 - tf.sigmoid(f)))  # noqa: E731
    naive_g = lambda r, f: -mean(tf.math.log(tf.sigmoid(f)))  # noqa: E731
    assert_fails(q, losses(naive_d, G_OK), "inf", "softplus")
    assert_fails(q, losses(D_OK, naive_g), "softplus")


def test_q1_right_values_but_no_gradient():
    q = gan.Q1
    assert_fails(q, losses(lambda r, f: D_OK(r, f).numpy(), G_OK), "TensorFlow tensor")
    assert_fails(q, losses(D_OK, lambda r, f: float(G_OK(r, f))), "TensorFlow tensor")
    assert_fails(q, losses(lambda r, f: tf.stop_gradient(D_OK(r, f)), G_OK), "gradient tape")
    assert_fails(q, losses(D_OK, lambda r, f: tf.constant(G_OK(r, f).numpy())), "gradient tape")


def test_q1_bad_results_never_raise():
    q = gan.Q1
    assert_fails(q, lambda r, f: None, "pair")
    assert_fails(q, lambda r, f: D_OK(r, f), "pair")
    assert_fails(q, lambda r, f: (D_OK(r, f), G_OK(r, f), 0.0), "length 3")
    assert_fails(q, lambda r, f: (None, G_OK(r, f)), "None")
    assert_fails(q, lambda r, f: (sp(-r), G_OK(r, f)), "one loss per example")
    assert_fails(q, lambda r, f: ("d", "g"), "array of numbers")
    assert_fails(q, lambda r, f: (D_OK(r, f) * np.nan, G_OK(r, f)), "nan")
    assert_fails(q, lambda r, f: 1 / 0, "ZeroDivisionError")


# ---------------------------------------------------------------------------
# Q2: one training step
# ---------------------------------------------------------------------------

def make_step(*, g_loss="ns", d_vars="d", g_vars="g", stop_fake_in_g=False, d_label_real=1.0,
              d_ascent=False, simultaneous=False, concat_mean=False, returns="pair", tf_function=False):
    """A family of training steps: the right one and the usual mistakes."""
    def d_loss_fn(lr_, lf):
        if concat_mean:
            return mean(tf.concat([sp(-lr_), sp(lf)], 0))
        if d_label_real == 0.0:
            return mean(sp(lr_)) + mean(sp(-lf))
        return mean(sp(-lr_)) + mean(sp(lf))

    def g_loss_fn(lf):
        return {"ns": mean(sp(-lf)), "sat": -mean(sp(lf))}[g_loss]

    def variables(which, G, D):
        return {"d": D.trainable_variables, "g": G.trainable_variables,
                "both": G.trainable_variables + D.trainable_variables}[which]

    def step(G, D, g_opt, d_opt, real, z):
        with tf.GradientTape(persistent=True) as tape:
            fake = G(z, training=True)
            d_loss = d_loss_fn(D(real, training=True), D(fake, training=True))
            if simultaneous:
                g_loss_sim = g_loss_fn(D(fake, training=True))
        dv = variables(d_vars, G, D)
        grads = tape.gradient(d_loss, dv)
        if d_ascent:
            grads = [-g for g in grads]
        if simultaneous:
            gv = variables(g_vars, G, D)
            g_grads = tape.gradient(g_loss_sim, gv)
            d_opt.apply_gradients(zip(grads, dv))
            g_opt.apply_gradients(zip(g_grads, gv))
            return d_loss, g_loss_sim
        d_opt.apply_gradients(zip(grads, dv))
        with tf.GradientTape() as tape:
            fake = G(z, training=True)
            if stop_fake_in_g:
                fake = tf.stop_gradient(fake)
            g_l = g_loss_fn(D(fake, training=True))
        gv = variables(g_vars, G, D)
        g_grads = tape.gradient(g_l, gv)
        if any(g is None for g in g_grads):
            return d_loss, g_l  # e.g. stop_gradient: nothing reaches G, G is not updated
        g_opt.apply_gradients(zip(g_grads, gv))
        if returns == "none":
            return None
        if returns == "swapped":
            return g_l, d_loss
        return d_loss, g_l

    return tf.function(step) if tf_function else step


@pytest.mark.parametrize("kwargs", [
    {}, {"simultaneous": True}, {"concat_mean": True}, {"tf_function": True},
], ids=["alternating", "simultaneous", "mean-over-2B", "tf.function"])
def test_q2_correct_variants_pass(kwargs):
    for seed in (0, 3):
        fb = grade(gan.Q2, make_step(**kwargs), seed=seed)
        assert fb.passed, (kwargs, fb.message)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"g_loss": "sat"}, "SATURATING"),
    ({"g_vars": "both"}, "D's weights also changed during the G step"),
    ({"d_vars": "both"}, "G's weights also changed during the D step"),
    ({"stop_fake_in_g": True}, "tf.stop_gradient"),
    ({"d_label_real": 0.0}, "labels swapped"),
    ({"d_ascent": True}, "went UP"),
    ({"returns": "none"}, "pair"),
    ({"returns": "swapped"}, "returned losses"),
], ids=["saturating", "D-moves-in-G-step", "G-moves-in-D-step", "stop-gradient-on-fakes",
        "swapped-labels", "gradient-ascent", "returns-None", "swapped-returns"])
def test_q2_wrong_steps(kwargs, fragment):
    assert_fails(gan.Q2, make_step(**kwargs), fragment)


def test_q2_no_update_and_bad_results():
    q = gan.Q2
    assert_fails(q, lambda G, D, go, do, real, z: (tf.constant(1.0), tf.constant(1.0)), "neither network")

    def only_d(G, D, g_opt, d_opt, real, z):
        with tf.GradientTape() as tape:
            d_loss = mean(sp(-D(real))) + mean(sp(D(G(z))))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
        return d_loss, d_loss
    assert_fails(q, only_d, "G did not move")

    def nan_weights(G, D, g_opt, d_opt, real, z):
        for v in D.trainable_variables:
            v.assign(v * np.nan)
        return tf.constant(0.0), tf.constant(0.0)
    assert_fails(q, nan_weights, "NaN")
    assert_fails(q, lambda *a: 1 / 0, "ZeroDivisionError")


# ---------------------------------------------------------------------------
# Q3: optimal discriminator
# ---------------------------------------------------------------------------

def normal_pdf(x, mu, s):
    return np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def log_normal(x, mu, s):
    return -0.5 * ((x - mu) / s) ** 2 - np.log(s)


def test_q3_wrong_answers():
    q = gan.Q3

    def naive(x, md, sd, mg, sg):
        with np.errstate(all="ignore"):
            a, b = normal_pdf(x, md, sd), normal_pdf(x, mg, sg)
            return a / (a + b)
    assert_fails(q, naive, "0/0", "sigmoid")
    assert_fails(q, lambda x, md, sd, mg, sg: expit(log_normal(x, mg, sg) - log_normal(x, md, sd)),
                 "probability of being FAKE")
    assert_fails(q, lambda x, md, sd, mg, sg: expit(log_normal(x, md, sd ** 2) - log_normal(x, mg, sg ** 2)),
                 "σ²")
    assert_fails(q, lambda x, md, sd, mg, sg: expit(-0.5 * ((x - md) / sd) ** 2 + 0.5 * ((x - mg) / sg) ** 2),
                 "1/σ")
    assert_fails(q, lambda x, md, sd, mg, sg: np.full_like(x, 0.5), "p_g = p_data")

    def ratio(x, md, sd, mg, sg):
        with np.errstate(all="ignore"):
            return np.exp(np.clip(log_normal(x, md, sd) - log_normal(x, mg, sg), -700, 700))
    assert_fails(q, ratio, "density ratio")


def test_q3_bad_results_never_raise():
    q = gan.Q3
    sol = SOLUTION["optimal_discriminator"]
    assert_fails(q, lambda *a: sol(*a)[:, None], "shape")
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: sol(*a) > 0.5, "booleans")
    assert_fails(q, lambda *a: 2 * sol(*a) - 0.5, "[0, 1]")
    fb = grade(q, lambda *a: tf.constant(sol(*a)))  # a TF tensor is converted
    assert fb.passed, fb.message


# ---------------------------------------------------------------------------
# Q4: latent sampler
# ---------------------------------------------------------------------------

def sampler(normal=None, uniform=None, on_unknown=ValueError, dtype=np.float32):
    def f(n, dim, kind, rng):
        if kind == "normal":
            z = (normal or (lambda rng, n, d: rng.standard_normal((n, d))))(rng, n, dim)
        elif kind == "uniform":
            z = (uniform or (lambda rng, n, d: rng.uniform(-1, 1, (n, d))))(rng, n, dim)
        elif on_unknown is None:
            z = rng.standard_normal((n, dim))
        else:
            raise on_unknown(f"unknown kind {kind!r}")
        return np.asarray(z).astype(dtype)
    return f


def test_q4_correct_samplers_pass_across_seeds():
    tf_like = sampler(normal=lambda rng, n, d: rng.normal(0.0, 1.0, (n, d)),
                      uniform=lambda rng, n, d: 2 * rng.random((n, d)) - 1)
    for seed in range(10):
        assert grade(gan.Q4, SOLUTION["sample_latent"], seed=seed).passed
        assert grade(gan.Q4, tf_like, seed=seed).passed


@pytest.mark.parametrize("wrong, fragment", [
    (sampler(uniform=lambda rng, n, d: rng.random((n, d))), "[0, 1)"),
    (sampler(uniform=lambda rng, n, d: rng.standard_normal((n, d))), "normal distribution"),
    (sampler(uniform=lambda rng, n, d: rng.uniform(-0.5, 0.5, (n, d))), "not uniform on [−1, 1]"),
    (sampler(normal=lambda rng, n, d: rng.normal(0, 2, (n, d))), "not standard normal"),
    (sampler(normal=lambda rng, n, d: rng.uniform(-1, 1, (n, d)),
             uniform=lambda rng, n, d: rng.uniform(-1, 1, (n, d))), "swap"),
    (sampler(normal=lambda rng, n, d: np.random.default_rng().standard_normal((n, d))), "reproducible"),
    (sampler(normal=lambda rng, n, d: rng.standard_normal((d, n))), "one ROW per code"),
    (sampler(dtype=np.float64), "float32"),
    (sampler(normal=lambda rng, n, d: np.repeat(rng.standard_normal((n, 1)), d, axis=1)), "independent"),
    (sampler(on_unknown=None), "ValueError"),
    (sampler(on_unknown=KeyError), "ValueError"),
], ids=["U[0,1)", "normal-for-uniform", "U[-.5,.5]", "sd-2", "uniform-for-both", "global-rng",
        "transposed", "float64", "correlated", "unknown-kind-accepted", "unknown-kind-KeyError"])
def test_q4_wrong_answers(wrong, fragment):
    for seed in (0, 7):
        assert_fails(gan.Q4, wrong, fragment, seed=seed)


def test_q4_bad_results_never_raise():
    assert_fails(gan.Q4, lambda *a: None, "None")
    assert_fails(gan.Q4, lambda n, d, k, rng: np.full((n, d), np.nan, np.float32), "NaN")
    assert_fails(gan.Q4, lambda n, d, k, rng: [[0.0]], "shape")


# ---------------------------------------------------------------------------
# Q5: Fréchet distance
# ---------------------------------------------------------------------------

def fd_with(trace_term, mean_term=lambda m1, m2: np.sum((m1 - m2) ** 2), factor=2.0):
    return lambda m1, c1, m2, c2: float(mean_term(m1, m2) + np.trace(c1) + np.trace(c2) - factor * trace_term(c1, c2))


def test_q5_scipy_sqrtm_real_part_passes():
    from scipy.linalg import sqrtm
    f = fd_with(lambda c1, c2: np.trace(sqrtm(c1 @ c2).real))
    for seed in range(5):
        fb = grade(gan.Q5, f, seed=seed)
        assert fb.passed, fb.message


def test_q5_wrong_answers():
    from scipy.linalg import sqrtm
    q = gan.Q5
    assert_fails(q, fd_with(lambda c1, c2: np.trace(c1 @ c2)), "square root is missing")

    def elementwise(c1, c2):
        with np.errstate(invalid="ignore"):
            return np.trace(np.sqrt(c1 @ c2))
    assert_fails(q, fd_with(elementwise), "ENTRY")
    assert_fails(q, fd_with(lambda c1, c2: np.trace(np.sqrt(np.abs(c1 @ c2)))))
    assert_fails(q, fd_with(lambda c1, c2: np.trace(sqrtm(c1).real @ sqrtm(c2).real)), "commute")
    good = lambda c1, c2: (np.trace(c1) + np.trace(c2) - gan.ref_frechet_distance(0, c1, 0, c2)) / 2  # noqa: E731
    assert_fails(q, fd_with(good, factor=1.0), "factor 2")
    assert_fails(q, fd_with(good, mean_term=lambda m1, m2: np.linalg.norm(m1 - m2)), "SQUARED")
    assert_fails(q, fd_with(good, mean_term=lambda m1, m2: 0.0), "mean term")
    assert_fails(q, lambda m1, c1, m2, c2: complex(gan.ref_frechet_distance(m1, c1, m2, c2), 1e-9), "complex")
    raw_sqrtm = lambda m1, c1, m2, c2: (np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2)  # noqa: E731
                                        - 2 * np.trace(sqrtm(c1 @ c2)))
    assert_fails(q, raw_sqrtm, "complex", "rank-deficient")

    def asymmetric(m1, c1, m2, c2):
        return gan.ref_frechet_distance(m1, c1, m2, c2) + 0.1 * float(np.trace(c1) > np.trace(c2))
    assert_fails(q, asymmetric)


def test_q5_bad_results_never_raise():
    q = gan.Q5
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: np.zeros(3), "shape")
    assert_fails(q, lambda *a: float("nan"), "nan")
    assert_fails(q, lambda *a: "fid", "array of numbers")
    fb = grade(q, lambda *a: tf.constant(gan.ref_frechet_distance(*a)))
    assert fb.passed, fb.message


# ---------------------------------------------------------------------------
# Q6: multiple choice
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["B", "b", "  B\n", "B)"])
def test_q6_accepts_spelling_variants(answer):
    assert grade(gan.Q6, answer).passed


@pytest.mark.parametrize("answer", ["A", "c", " d "])
def test_q6_wrong_letters_get_a_hint_without_the_answer(answer):
    for lang in ("en", "es"):
        fb = grade(gan.Q6, answer, lang=lang)
        assert not fb.passed
        assert "B" not in fb.message and "log 4" not in fb.message, fb.message


# ---------------------------------------------------------------------------
# Grading the real notebooks (one kernel each, run in parallel)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradings():
    return grade_real_notebooks("gan", SOLUTION_EN, EXERCISE_ES)


@pytest.mark.xdist_group("kernels")
def test_grading_solution_scores_full_marks(gradings):
    assert_full_marks(gradings["solution-en"], gan.QUESTIONS)


@pytest.mark.xdist_group("kernels")
def test_grading_exercise_scores_zero(gradings):
    assert_unanswered(gradings["exercise-es"], "es")
