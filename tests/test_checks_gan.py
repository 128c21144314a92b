"""Tests of the GAN chapter's graded questions (:mod:`shared.checks.gan`, key in :mod:`shared.key.gan`).

For every question: the solution (taken from the solution notebook's code
cells) passes, the exercise placeholder fails with the "not answered" message,
plausible wrong answers fail with a specific message (detached terms, NumPy
round trips, ``tf.stop_gradient``...), answers stored in advance do not pass
on the grader's inputs, and malformed results never make a check raise. The
student-safe module holds no answer key. Two tests grade the real notebooks on
fresh kernels (solution: full marks; generated exercise: zero); both gradings
run in parallel threads to keep the file fast.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm

from shared.checks import gan
from shared.checks.core import Placeholder, compute_outputs, public_case
from shared.key import draw_case, gan as key, grade_case, key_for

from checks_support import (UNANSWERED, assert_fails, assert_full_marks, assert_unanswered, grade,  # tests/
                            grade_real_notebooks, not_implemented, notebook_namespace, npz_roundtrip)

REPO = Path(__file__).resolve().parent.parent
SOLUTION_EN = REPO / "solutions" / "en" / "gan.ipynb"
EXERCISE_ES = REPO / "exercises" / "es" / "gan.ipynb"

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

#: what the notebooks' setup cell imports and their answer cells use
SETUP = {"np": np, "tf": tf, "keras": keras, "expit": expit, "Placeholder": Placeholder}
SOLUTION = notebook_namespace(SOLUTION_EN, dict(SETUP))
EXERCISE = notebook_namespace(EXERCISE_ES, dict(SETUP))


def assert_fails_once(question, obj, *fragments: str, seed: int = 0, es_fragments: tuple[str, ...] = ()):
    """Like :func:`checks_support.assert_fails`, but runs the student's object only once (Q2 builds
    and trains models: the outputs are computed once and evaluated in both languages)."""
    k = key_for(question)
    inputs, expected = draw_case(k, np.random.default_rng(seed))
    outputs = npz_roundtrip(compute_outputs(question, obj, inputs))
    for lang, frags in (("en", fragments), ("es", es_fragments)):
        fb = grade_case(question, k, inputs, expected, outputs, lang)
        assert not fb.passed, (lang, fb.message)
        assert fb.message.strip(), lang
        assert "could not evaluate" not in fb.message and "no se pudo evaluar" not in fb.message, fb.message
        for fragment in frags:
            assert fragment in fb.message, (lang, fragment, fb.message)
    return fb


def public_expected(question):
    """What a student can read in the public fixture: an answer stored in advance."""
    return public_case(question)[1]


# ---------------------------------------------------------------------------
# Every question: solution passes, placeholder is "not answered"
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("question", gan.QUESTIONS, ids=lambda q: q.qid)
def test_solution_passes(question):
    for seed, lang in ((0, "en"), (1, "es"), (12345, "en"), (777, "es")):
        fb = grade(question, SOLUTION[question.target], seed=seed, lang=lang)
        assert fb.passed, (seed, fb.message)


@pytest.mark.parametrize("question", gan.QUESTIONS, ids=lambda q: q.qid)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_placeholder_is_unanswered(question, lang):
    placeholders = [EXERCISE[question.target], ...]
    if question.qid != "gan.q6":  # functions: the generated body raises Placeholder
        placeholders.append(not_implemented)
    for obj in placeholders:
        fb = grade(question, obj, lang=lang)
        assert not fb.passed
        assert UNANSWERED[lang] in fb.message, fb.message


def test_questions_metadata():
    assert [q.qid for q in gan.QUESTIONS] == [f"gan.q{i}" for i in range(1, 7)]
    assert [q.points for q in gan.QUESTIONS] == [2, 2, 2, 1, 2, 1]
    assert sum(q.points for q in gan.QUESTIONS) == 10
    assert gan.QUESTIONS == [gan.Q1, gan.Q2, gan.Q3, gan.Q4, gan.Q5, gan.Q6]
    assert set(key.KEYS) == {q.qid for q in gan.QUESTIONS}
    for q in gan.QUESTIONS:
        assert q.title["en"] and q.title["es"]
        assert not hasattr(q, "make_inputs")


def test_student_module_holds_no_answer_key():
    """No reference implementation, input maker, wrong-answer table or correct letter in the checks."""
    names = [n for n in vars(gan) if not n.startswith("__")]
    leaks = [n for n in names if re.match(r"(ref_|make_q|q\d_.*variants|psd_sqrt|softplus|normal_logpdf|grad_)", n)]
    assert leaks == [], leaks
    source = inspect.getsource(gan)
    for forbidden in ("np.linalg.eigh", "eigvalsh", "sqrtm(", "expit", "logaddexp", "import shared.key",
                      "from shared.key", 'correct="'):
        assert forbidden not in source.replace("`np.linalg.eigh`", "").replace("`scipy.linalg.sqrtm`", "") \
            .replace("`scipy.special.expit`", ""), forbidden
    assert not hasattr(gan, "Q6_HINTS")


def test_public_cases_are_stored_and_fresh():
    from shared.checks.core import fixture_path
    from shared.key.fixtures import public_cases, same_cases, stored_cases
    assert fixture_path("gan").stat().st_size < 1_000_000
    assert same_cases(stored_cases("gan"), public_cases("gan"))


def test_notebook_check_passes_the_solution(capsys):
    from shared.checks.core import check
    for q in gan.QUESTIONS[:5]:
        fb = check(q, SOLUTION[q.target])
        assert fb.passed, (q.qid, fb.message)
    assert capsys.readouterr().out.count("✅") == 5


def test_reference_implementations_agree_with_solution():
    inputs = key.make_q1(np.random.default_rng(3))
    d, g = SOLUTION["gan_losses"](tf.constant(inputs["real_logits"]), tf.constant(inputs["fake_logits"]))
    ref_d, ref_g = key.ref_gan_losses(inputs["real_logits"], inputs["fake_logits"])
    assert np.isclose(float(d), ref_d, rtol=1e-5) and np.isclose(float(g), ref_g, rtol=1e-5)
    # Keras' own binary cross-entropy (from logits) gives the same two losses
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    r, f = tf.constant(inputs["real_logits"]), tf.constant(inputs["fake_logits"])
    assert np.isclose(float(bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f)), ref_d, rtol=1e-5)
    assert np.isclose(float(bce(tf.ones_like(f), f)), ref_g, rtol=1e-5)
    # and TensorFlow's gradients agree with the key's closed forms
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(r)
        tape.watch(f)
        d, g = SOLUTION["gan_losses"](r, f)
    grads = key.ref_gan_loss_grads(inputs["real_logits"], inputs["fake_logits"])
    np.testing.assert_allclose(tape.gradient(d, r).numpy(), grads["d_grad_real"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(tape.gradient(d, f).numpy(), grads["d_grad_fake"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(tape.gradient(g, f).numpy(), grads["g_grad_fake"], rtol=1e-4, atol=1e-7)


def test_reference_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T
    mu = rng.normal(size=5)
    assert abs(key.ref_frechet_distance(mu, cov, mu, cov)) < 1e-9
    # diagonal covariances: sum (sqrt(a) - sqrt(b))^2 + ||mu1 - mu2||^2
    d1, d2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    want = np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2) + np.sum(mu ** 2)
    assert np.isclose(key.ref_frechet_distance(mu, np.diag(d1), 0 * mu, np.diag(d2)), want)
    # scalar case: (m1 - m2)^2 + (s1 - s2)^2
    assert np.isclose(key.ref_frechet_distance(np.array([1.0]), np.array([[4.0]]),
                                               np.array([-1.0]), np.array([[9.0]])), 4.0 + 1.0)


def test_reference_train_step_matches_keras_autodiff():
    """The NumPy reference of Q2 agrees with the solution run by TensorFlow, and the losses move."""
    inputs = key.make_q2(np.random.default_rng(5))
    out = gan.run_q2(SOLUTION["train_step"], {k: v.copy() for k, v in inputs.items()})
    assert str(out["graph_note"]) == "ok"
    D_want, G_want = key.ref_train_step(inputs)
    for k, w in zip(gan.D_KEYS + gan.G_KEYS, D_want + G_want):
        np.testing.assert_allclose(out[k], w, rtol=1e-4, atol=1e-5)
    f64 = {k: v.astype(np.float64) for k, v in inputs.items()}
    D0, G0 = [f64[k] for k in gan.D_KEYS], [f64[k] for k in gan.G_KEYS]
    before = key.ref_losses_np(D0, G0, f64["real"], f64["z"])
    after_d = key.ref_losses_np(D_want, G0, f64["real"], f64["z"])
    after_g = key.ref_losses_np(D_want, G_want, f64["real"], f64["z"])
    assert after_d["d"] < before["d"] and after_g["g"] < after_d["g"]


def test_key_expected_results_are_plain_arrays():
    for k in key.KEYS.values():
        inputs, expected = draw_case(k, np.random.default_rng(11))
        for name, v in {**inputs, **expected}.items():
            assert v.dtype.kind in "biufU", (k.qid, name, v.dtype)


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
    assert_fails(q, losses(D_OK, lambda r, f: -mean(sp(f))), "SATURATING", es_fragments=("SATURANTE",))
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


def test_q1_numpy_results_are_not_differentiable():
    q = gan.Q1
    assert_fails(q, losses(lambda r, f: D_OK(r, f).numpy(), G_OK), "TensorFlow tensor", "not differentiable",
                 es_fragments=("tensor de TensorFlow", "no es diferenciable"))
    assert_fails(q, losses(D_OK, lambda r, f: float(G_OK(r, f))), "TensorFlow tensor", "not differentiable")
    # NumPy functions on the tensors return NumPy numbers
    assert_fails(q, losses(lambda r, f: np.mean(np.logaddexp(0, -r)) + np.mean(np.logaddexp(0, f)), G_OK),
                 "not differentiable")
    # a tensor rebuilt from NumPy values is a constant: no gradient reaches the logits
    assert_fails(q, losses(D_OK, lambda r, f: tf.constant(G_OK(r, f).numpy())), "gradient tape",
                 "NumPy round trip")
    assert_fails(q, losses(lambda r, f: tf.stop_gradient(D_OK(r, f)), G_OK), "gradient tape", "not differentiable")


def test_q1_one_term_cut_off_from_the_graph():
    """Right values, but one of the D loss's two terms does not train D: each input's gradient is checked."""
    q = gan.Q1
    assert_fails(q, losses(lambda r, f: tf.stop_gradient(mean(sp(-r))) + mean(sp(f)), G_OK),
                 "`d_loss` does not depend on `real_logits`", "real images",
                 es_fragments=("no depende de `real_logits`",))
    assert_fails(q, losses(lambda r, f: mean(sp(-r)) + tf.stop_gradient(mean(sp(f))), G_OK),
                 "`d_loss` does not depend on `fake_logits`", "reject the fakes")
    # the same through a NumPy round trip of one term
    assert_fails(q, losses(lambda r, f: tf.constant(mean(sp(-r)).numpy()) + mean(sp(f)), G_OK),
                 "does not depend on `real_logits`", "NumPy round trip")
    assert_fails(q, losses(lambda r, f: mean(sp(-r)) + mean(sp(tf.constant(f.numpy()))), G_OK),
                 "does not depend on `fake_logits`")


def test_q1_right_values_with_wrong_gradients():
    """The value is recomputed from numbers on part of the loss: only the gradient gives it away."""
    q = gan.Q1

    def straight_through_fake(r, f):   # value of the right loss, gradient of mean(f) for the fake term
        return mean(sp(-r)) + mean(f) + tf.stop_gradient(mean(sp(f)) - mean(f))
    assert_fails(q, losses(straight_through_fake, G_OK), "gradient of `d_loss` with respect to `fake_logits`",
                 es_fragments=("gradiente de `d_loss` respecto de `fake_logits`",))

    def straight_through_real(r, f):
        return mean(-r) + tf.stop_gradient(mean(sp(-r)) + mean(r)) + mean(sp(f))
    assert_fails(q, losses(straight_through_real, G_OK), "with respect to `real_logits`")

    def g_scaled_gradient(r, f):       # right value, twice the gradient
        return 2 * G_OK(r, f) - tf.stop_gradient(G_OK(r, f))
    assert_fails(q, losses(D_OK, g_scaled_gradient), "gradient of `g_loss` with respect to `fake_logits`")


def test_q1_must_work_inside_tf_function():
    def debug_print(r, f):
        print("max real logit", r.numpy().max())   # fine eagerly, fails when traced
        return D_OK(r, f), G_OK(r, f)
    assert_fails(gan.Q1, debug_print, "tf.function", "numpy")


def test_q1_bad_results_never_raise():
    q = gan.Q1
    assert_fails(q, lambda r, f: None, "pair")
    assert_fails(q, lambda r, f: D_OK(r, f), "pair")
    assert_fails(q, lambda r, f: (D_OK(r, f), G_OK(r, f), 0.0), "length 3")
    assert_fails(q, lambda r, f: (None, G_OK(r, f)), "None")
    assert_fails(q, lambda r, f: (sp(-r), G_OK(r, f)), "one loss per example")
    assert_fails(q, lambda r, f: ("d", "g"), "array of numbers")
    assert_fails(q, lambda r, f: (D_OK(r, f) * np.nan, G_OK(r, f)), "nan")
    assert_fails(q, lambda r, f: tf.stack([D_OK(r, f), G_OK(r, f)]), "pair")
    assert_fails(q, lambda r, f: 1 / 0, "ZeroDivisionError")


def test_q1_stored_public_answer_fails():
    want = public_expected(gan.Q1)
    stored = lambda r, f: (tf.constant(float(want["d_loss"])) + 0 * mean(r) + 0 * mean(f),  # noqa: E731
                           tf.constant(float(want["g_loss"])) + 0 * mean(f))
    assert_fails(gan.Q1, stored, "d_loss", seed=3)


# ---------------------------------------------------------------------------
# Q2: one training step
# ---------------------------------------------------------------------------

def make_step(*, g_loss="ns", d_vars="d", g_vars="g", stop_fake_in_g=False, skip_none=True, d_label_real=1.0,
              d_ascent=False, g_ascent=False, simultaneous=False, concat_mean=False, reduce="mean",
              stop_term=None, numpy_fake_in_g=False, numpy_fake_in_d=False, numpy_d_loss=False,
              g_first=False, one_optimizer=False, returns="pair", tf_function=False):
    """A family of training steps: the right one and the usual mistakes."""
    red = {"mean": mean, "sum": tf.reduce_sum}[reduce]

    def d_loss_fn(lr_, lf):
        if concat_mean:
            return mean(tf.concat([sp(-lr_), sp(lf)], 0))
        if d_label_real == 0.0:
            return red(sp(lr_)) + red(sp(-lf))
        real_term, fake_term = red(sp(-lr_)), red(sp(lf))
        if stop_term == "real":
            real_term = tf.stop_gradient(real_term)
        if stop_term == "fake":
            fake_term = tf.stop_gradient(fake_term)
        return real_term + fake_term

    def g_loss_fn(lf):
        return {"ns": red(sp(-lf)), "sat": -red(sp(lf)), "zero": red(sp(lf))}[g_loss]

    def variables(which, G, D):
        return {"d": D.trainable_variables, "g": G.trainable_variables,
                "both": G.trainable_variables + D.trainable_variables}[which]

    def apply(opt, grads, variables_):
        pairs = [(g, v) for g, v in zip(grads, variables_) if g is not None or not skip_none]
        if pairs:
            opt.apply_gradients(pairs)

    def d_step(G, D, d_opt, real, z):
        with tf.GradientTape() as tape:
            fake = G(z, training=True)
            if numpy_fake_in_d:
                fake = fake.numpy()   # harmless eagerly (D's step needs no gradient into G), breaks tf.function
            d_loss = d_loss_fn(D(real, training=True), D(fake, training=True))
            if numpy_d_loss:
                d_loss = tf.constant(float(d_loss))
        dv = variables(d_vars, G, D)
        grads = tape.gradient(d_loss, dv)
        if d_ascent:
            grads = [-g for g in grads]
        apply(d_opt, grads, dv)
        return d_loss

    def g_step(G, D, g_opt, z):
        with tf.GradientTape() as tape:
            fake = G(z, training=True)
            if stop_fake_in_g:
                fake = tf.stop_gradient(fake)
            if numpy_fake_in_g:
                fake = tf.constant(fake.numpy())
            g_l = g_loss_fn(D(fake, training=True))
        gv = variables(g_vars, G, D)
        g_grads = tape.gradient(g_l, gv)
        if g_ascent:
            g_grads = [-g for g in g_grads]
        apply(g_opt, g_grads, gv)
        return g_l

    def step(G, D, g_opt, d_opt, real, z):
        if one_optimizer:
            g_opt = d_opt
        if simultaneous:
            with tf.GradientTape(persistent=True) as tape:
                fake = G(z, training=True)
                d_loss = d_loss_fn(D(real, training=True), D(fake, training=True))
                g_l = g_loss_fn(D(fake, training=True))
            dv, gv = variables(d_vars, G, D), variables(g_vars, G, D)
            grads, g_grads = tape.gradient(d_loss, dv), tape.gradient(g_l, gv)
            d_opt.apply_gradients(zip(grads, dv))
            g_opt.apply_gradients(zip(g_grads, gv))
        elif g_first:
            g_l = g_step(G, D, g_opt, z)
            d_loss = d_step(G, D, d_opt, real, z)
        else:
            d_loss = d_step(G, D, d_opt, real, z)
            g_l = g_step(G, D, g_opt, z)
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


def test_q2_keras_losses_and_notebook_gan_losses_pass():
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def keras_step(G, D, g_opt, d_opt, real, z):
        with tf.GradientTape() as tape:
            lr_, lf = D(real), D(tf.stop_gradient(G(z)))   # detaching the FAKES in the D step is fine
            d_loss = bce(tf.ones_like(lr_), lr_) + bce(tf.zeros_like(lf), lf)
        d_opt.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
        with tf.GradientTape() as tape:
            lf = D(G(z))
            g_loss = bce(tf.ones_like(lf), lf)
        g_opt.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        return d_loss, g_loss
    fb = grade(gan.Q2, keras_step, seed=2)
    assert fb.passed, fb.message


@pytest.mark.parametrize("kwargs, fragment", [
    ({"g_loss": "sat"}, "SATURATING"),
    ({"g_loss": "zero"}, "fakes were labelled 0"),
    ({"g_vars": "both"}, "D's weights also changed during the G step"),
    ({"d_vars": "both"}, "G's weights also changed during the D step"),
    ({"stop_fake_in_g": True}, "tf.stop_gradient"),
    ({"numpy_fake_in_g": True}, "NumPy"),
    ({"stop_term": "fake"}, "only the real-image term reached D's weights"),
    ({"stop_term": "real"}, "only the fake-image term reached D's weights"),
    ({"d_label_real": 0.0}, "labels swapped"),
    ({"d_ascent": True}, "went UP"),
    ({"g_ascent": True}, "G's non-saturating loss went UP"),
    ({"reduce": "sum"}, "SUM over the batch"),
    ({"g_first": True}, "updated G first"),
    ({"returns": "none"}, "pair"),
    ({"returns": "swapped"}, "returned losses"),
], ids=["saturating", "fakes-labelled-0", "D-moves-in-G-step", "G-moves-in-D-step", "stop-gradient-on-fakes",
        "numpy-fakes-in-G-step", "stop-gradient-on-fake-term", "stop-gradient-on-real-term", "swapped-labels",
        "D-gradient-ascent", "G-gradient-ascent", "summed-losses", "G-step-first", "returns-None", "swapped-returns"])
def test_q2_wrong_steps(kwargs, fragment):
    assert_fails_once(gan.Q2, make_step(**kwargs), fragment)


def test_q2_detached_fakes_without_skipping_none_gradients():
    """Keras raises on all-None gradients: the message says which step lost its gradient, and why."""
    fb = assert_fails_once(gan.Q2, make_step(stop_fake_in_g=True, skip_none=False),
                           "the D step is right, but the G step raised", "No gradients provided",
                           "tf.stop_gradient", es_fragments=("el paso de D es correcto",))
    assert "NumPy" in fb.message
    assert_fails_once(gan.Q2, make_step(numpy_fake_in_g=True, skip_none=False), "the G step raised", "NumPy")
    assert_fails_once(gan.Q2, make_step(numpy_d_loss=True, skip_none=False), "the D step raised",
                      "no gradient of the D loss reached D's weights", "NumPy")
    assert_fails_once(gan.Q2, make_step(numpy_d_loss=True), "D did not move", "NumPy round trip")


def test_q2_numpy_round_trip_that_breaks_tf_function():
    """Right weights eagerly, but the chapter runs the step with tf.function, where .numpy() fails."""
    assert_fails_once(gan.Q2, make_step(numpy_fake_in_d=True), "tf.function", "NumPy",
                      es_fragments=("tf.function",))


def test_q2_one_optimizer_for_both_networks():
    assert_fails_once(gan.Q2, make_step(one_optimizer=True), "Use each optimizer for its own network",
                      es_fragments=("Usa cada optimizador para su propia red",))


def test_q2_no_update_and_bad_results():
    q = gan.Q2
    assert_fails_once(q, lambda G, D, go, do, real, z: (tf.constant(1.0), tf.constant(1.0)), "neither network")

    def only_d(G, D, g_opt, d_opt, real, z):
        with tf.GradientTape() as tape:
            d_loss = mean(sp(-D(real))) + mean(sp(D(G(z))))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
        return d_loss, d_loss
    assert_fails_once(q, only_d, "G did not move")

    def nan_weights(G, D, g_opt, d_opt, real, z):
        for v in D.trainable_variables:
            v.assign(v * np.nan)
        return tf.constant(0.0), tf.constant(0.0)
    assert_fails_once(q, nan_weights, "NaN")
    assert_fails_once(q, lambda *a: 1 / 0, "ZeroDivisionError")


def test_q2_train_step_calling_an_unanswered_gan_losses():
    def gan_losses(real_logits, fake_logits):
        raise Placeholder("Exercise: replace this line with your code.")

    def step(G, D, g_opt, d_opt, real, z):
        with tf.GradientTape() as tape:
            d_loss, _ = gan_losses(D(real), D(G(z)))
        return d_loss, d_loss
    fb = assert_fails_once(gan.Q2, step, "calls `gan_losses`", "not answered yet", "(Q1)",
                           es_fragments=("llama a `gan_losses`",))
    assert not fb.message.startswith("`train_step` is not answered yet"), fb.message


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


def test_q3_constant_and_stored_answers_fail():
    q = gan.Q3
    assert_fails(q, lambda x, *p: np.full_like(x, 0.7), "off by")
    stored = public_expected(q)["d"]
    for seed in (1, 2):
        assert_fails(q, lambda *a: stored.copy(), "off by", seed=seed)


def test_q3_bad_results_never_raise():
    q = gan.Q3
    sol = SOLUTION["optimal_discriminator"]
    assert_fails(q, lambda *a: sol(*a)[:, None], "shape")
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: sol(*a) > 0.5, "booleans")
    assert_fails(q, lambda *a: 2 * sol(*a) - 0.5, "[0, 1]")
    assert_fails(q, lambda *a: "d*", "array of numbers")
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


#: a stored pool of genuine draws, as a student could keep one
POOL = np.random.default_rng(99).standard_normal((4000, 5)).astype(np.float32)
#: a perfect quantile grid of N(0, 1): fits too well, and is the same for every seed
GRID = norm.ppf((np.arange(4000 * 5) + 0.5) / (4000 * 5)).astype(np.float32)


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
    # gaming: constants, stored values, values that do not come from rng
    (sampler(normal=lambda rng, n, d: np.zeros((n, d))), "two different seeds"),
    (sampler(normal=lambda rng, n, d: POOL[:n, :d]), "two different seeds"),
    (sampler(normal=lambda rng, n, d: rng.permutation(POOL[:n, :d])), "mostly the same numbers"),
    (sampler(normal=lambda rng, n, d: rng.permutation(GRID.ravel())[:n * d].reshape(n, d)),
     "mostly the same numbers"),
    (sampler(normal=lambda rng, n, d: np.round(rng.standard_normal((n, d)), 1)), "repeats values"),
    (sampler(normal=lambda rng, n, d: np.tile(rng.standard_normal((1, d)), (n, 1))), "repeats values"),
], ids=["U[0,1)", "normal-for-uniform", "U[-.5,.5]", "sd-2", "uniform-for-both", "global-rng",
        "transposed", "float64", "correlated", "unknown-kind-accepted", "unknown-kind-KeyError",
        "constant", "stored-pool", "shuffled-stored-pool", "shuffled-quantile-grid", "rounded", "one-code-repeated"])
def test_q4_wrong_answers(wrong, fragment):
    for seed in (0, 7):
        assert_fails(gan.Q4, wrong, fragment, seed=seed)


def test_q4_bad_results_never_raise():
    assert_fails(gan.Q4, lambda *a: None, "None")
    assert_fails(gan.Q4, lambda n, d, k, rng: np.full((n, d), np.nan, np.float32), "NaN")
    assert_fails(gan.Q4, lambda n, d, k, rng: [[0.0]], "shape")
    assert_fails(gan.Q4, lambda n, d, k, rng: "z", "array of numbers")


# ---------------------------------------------------------------------------
# Q5: Fréchet distance
# ---------------------------------------------------------------------------

def fd_with(trace_term, mean_term=lambda m1, m2: np.sum((m1 - m2) ** 2), factor=2.0):
    return lambda m1, c1, m2, c2: float(mean_term(m1, m2) + np.trace(c1) + np.trace(c2) - factor * trace_term(c1, c2))


def good_trace(c1, c2):
    return (np.trace(c1) + np.trace(c2) - key.ref_frechet_distance(0, c1, 0, c2)) / 2


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
    assert_fails(q, fd_with(good_trace, factor=1.0), "factor 2")
    assert_fails(q, fd_with(good_trace, mean_term=lambda m1, m2: np.linalg.norm(m1 - m2)), "SQUARED")
    assert_fails(q, fd_with(good_trace, mean_term=lambda m1, m2: 0.0), "mean term")
    assert_fails(q, lambda m1, c1, m2, c2: complex(key.ref_frechet_distance(m1, c1, m2, c2), 1e-9), "complex")
    raw_sqrtm = lambda m1, c1, m2, c2: (np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2)  # noqa: E731
                                        - 2 * np.trace(sqrtm(c1 @ c2)))
    assert_fails(q, raw_sqrtm, "complex", "rank-deficient")

    def asymmetric(m1, c1, m2, c2):
        return key.ref_frechet_distance(m1, c1, m2, c2) + 0.1 * float(np.trace(c1) > np.trace(c2))
    assert_fails(q, asymmetric, "symmetric")


def test_q5_constant_and_stored_answers_fail():
    q = gan.Q5
    assert_fails(q, lambda *a: 0.0, "off by")
    stored = iter(np.tile(public_expected(q)["value"], 2))
    assert_fails(q, lambda *a: float(next(stored)), seed=4)


def test_q5_bad_results_never_raise():
    q = gan.Q5
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: np.zeros(3), "shape")
    assert_fails(q, lambda *a: float("nan"), "nan", "ENTRY")
    assert_fails(q, lambda *a: "fid", "array of numbers")
    fb = grade(q, lambda *a: tf.constant(key.ref_frechet_distance(*a)))
    assert fb.passed, fb.message


# ---------------------------------------------------------------------------
# Q6: multiple choice
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["B", "b", "  B\n", "B)"])
def test_q6_key_accepts_spelling_variants(answer):
    for lang in ("en", "es"):
        fb = grade(gan.Q6, answer, lang=lang)
        assert fb.passed and not fb.pending, fb.message


@pytest.mark.parametrize("answer", ["A", "c", " d "])
def test_q6_key_gives_wrong_letters_a_hint_without_the_answer(answer):
    letter = answer.strip().upper()
    for lang in ("en", "es"):
        fb = grade(gan.Q6, answer, lang=lang)
        assert not fb.passed
        assert "B" not in fb.message and "log 4" not in fb.message, fb.message
        hint = key.Q6_HINTS[letter][0 if lang == "en" else 1]
        assert hint in fb.message


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
