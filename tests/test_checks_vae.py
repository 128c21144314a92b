"""Tests of the VAE chapter's graded questions (:mod:`shared.checks.vae`, key :mod:`shared.key.vae`).

For every question: the solution (taken from the solution notebook's code
cells) passes, the exercise placeholder fails with the "not answered" message,
plausible wrong answers fail with a specific message in both languages
(including answers whose value is right but through which training could not
work: detached parameters, NumPy round trips, ``tf.stop_gradient`` on one
term, code that breaks inside ``tf.function``), and malformed results never
make a check raise. The checks module holds no answer key, the public cases
are up to date, and the multiple-choice check reveals nothing. Two tests grade
the real notebooks on fresh kernels (solution: full marks; generated exercise:
zero); both gradings run in parallel threads to keep the file fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from shared.checks import vae
from shared.checks.core import Placeholder, check, get_language, public_case, set_language
from shared.key import vae as key

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
    """What the answer cells may use without importing it (the notebook's setup cell imports these)."""
    return {"np": np, "tf": tf, "tfp": tfp, "tfd": tfd, "norm": norm, "Placeholder": Placeholder}


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
    assert np.allclose(key.ref_kl_standard_normal(mu, log_var), tfd.kl_divergence(q, p).numpy(), rtol=1e-10)
    mc, se = key.mc_kl_standard_normal(mu, log_var, draws=20000)
    assert np.all(np.abs(mc - key.ref_kl_standard_normal(mu, log_var)) < 5 * se)
    # the NumPy log-densities of Q3's priors agree with TensorFlow Probability
    inputs = key.make_q3(np.random.default_rng(2))
    z = rng.normal(0, 2, (7, 5, 2))
    mixture = tfd.MixtureSameFamily(tfd.Categorical(logits=inputs["mix_logits"].astype(np.float64)),
                                    tfd.MultivariateNormalDiag(inputs["mix_loc"].astype(np.float64),
                                                               inputs["mix_scale"].astype(np.float64)))
    laplace = tfd.Independent(tfd.Laplace(np.zeros(2), inputs["laplace_scale"].astype(np.float64)), 1)
    logpdfs = key.prior_logpdfs(inputs)
    assert np.allclose(logpdfs["mixture"](z), mixture.log_prob(z).numpy(), rtol=1e-6)
    assert np.allclose(logpdfs["laplace"](z), laplace.log_prob(z).numpy(), rtol=1e-6)
    # the stable BCE equals the textbook formula where the latter is finite
    x, logits = rng.random((4, 5)), rng.normal(0, 2, (4, 5))
    p_on = 1 / (1 + np.exp(-logits))
    assert np.allclose(key.bce_with_logits(x, logits), -(x * np.log(p_on) + (1 - x) * np.log(1 - p_on)))


def numeric_gradient(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function of an array (float64)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (fun(x + step) - fun(x - step)) / (2 * h)
    return grad


def test_key_gradients_agree_with_finite_differences():
    """The analytic gradients the checks compare against are those of the reference functions."""
    rng = np.random.default_rng(11)
    # Q3: the weighted Monte-Carlo KL, w.r.t. mu, log_var and every parameter of both priors
    inputs = {k: np.asarray(v, dtype=np.float64) for k, v in key.make_q3(rng).items()}
    inputs["eps"] = inputs["eps"][:5, :4]                        # small enough for finite differences
    inputs["mu"], inputs["log_var"], inputs["w"] = inputs["mu"][:4], inputs["log_var"][:4], inputs["w"][:4]
    for prior in vae.PRIORS:
        grads = key.ref_q3_grads(prior, inputs)
        assert set(grads) == set(vae.Q3_PARAMS[prior])
        for name in vae.Q3_PARAMS[prior]:
            def objective(value, name=name):
                moved = dict(inputs, **{name: value})
                logpdf = key.prior_logpdfs(moved)[prior]
                return float(moved["w"] @ key.ref_mc_kl(moved["mu"], moved["log_var"], moved["eps"], logpdf))
            assert np.allclose(grads[name], numeric_gradient(objective, inputs[name]), rtol=1e-5, atol=1e-7), \
                (prior, name)
    # Q4: the mean negative ELBO w.r.t. logits, mu and log_var
    q4 = {k: np.asarray(v, dtype=np.float64) for k, v in key.make_q4(rng).items()}
    q4 = {"x": q4["x"][:2, :3, :3], "logits": q4["logits"][:2, :3, :3],
          "mu": q4["mu"][:2], "log_var": q4["log_var"][:2]}
    grads = key.ref_q4_grads(**q4)
    for name in vae.Q4_PARAMS:
        num = numeric_gradient(lambda v, name=name: key.ref_negative_elbo(**dict(q4, **{name: v})), q4[name])
        assert np.allclose(grads[name], num, rtol=1e-5, atol=1e-7), name
    # Q1: z = mu + sigma * eps, objective sum(z * w)
    q1 = {k: np.asarray(v, dtype=np.float64)[:3] for k, v in key.make_q1(rng).items()}
    grads = key.ref_q1_grads(**q1)
    for name in vae.Q1_PARAMS:
        def z_objective(v, name=name):
            moved = dict(q1, **{name: v})
            return float(np.sum(key.ref_reparameterize(moved["mu"], moved["log_var"], moved["eps"]) * moved["w"]))
        assert np.allclose(grads[name], numeric_gradient(z_objective, q1[name]), rtol=1e-5, atol=1e-7), name


def test_checks_module_holds_no_answer_key():
    import inspect

    source = inspect.getsource(vae)
    assert "from shared.key" not in source and "import shared.key" not in source and "scipy" not in source
    leaked = [n for n in dir(vae) if n.startswith(("ref_", "make_q", "expect_q", "mc_kl_standard"))
              or n.startswith("q") and n.endswith("_variants")
              or n in ("prior_logpdfs", "mog_logpdf", "laplace_logpdf", "bce_with_logits", "Q6_HINTS")]
    assert leaked == []
    assert public_case(vae.Q6) == ({}, {})   # nothing about the letter in the student edition


def test_public_cases_are_up_to_date():
    from shared.key.fixtures import public_cases, same_cases, stored_cases

    stored = stored_cases("vae")
    assert stored is not None, "run `python -m shared.key.fixtures`"
    assert same_cases(stored, public_cases("vae")), "stale: run `python -m shared.key.fixtures`"
    assert vae.Q1.chapter == "vae" and sum(v.nbytes for v in stored.values()) < 1_000_000


@pytest.mark.parametrize("lang", ["en", "es"])
def test_notebook_check_passes_the_solution_on_the_public_case(lang, capsys):
    previous = get_language()
    set_language(lang)
    try:
        for q in vae.QUESTIONS[:5]:
            fb = check(q, SOLUTION[q.target])
            assert fb.passed, (q.qid, fb.message)
        assert "✅" in capsys.readouterr().out
    finally:
        set_language(previous)


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


def test_q1_numpy_round_trip_is_not_differentiable():
    assert_fails(vae.Q1, lambda m, lv, e: (m + tf.exp(0.5 * lv) * e).numpy(), "not differentiable",
                 "training could not use it", es_fragments=("no es diferenciable",))
    # a tensor rebuilt from NumPy values: right value, no graph back to the encoder
    assert_fails(vae.Q1, lambda m, lv, e: tf.constant((m + tf.exp(0.5 * lv) * e).numpy()),
                 "no gradient reaches μ", "would never train", es_fragments=("nunca se entrenaría",))


def test_q1_detached_parameter_with_a_compensating_term():
    """Right value, both gradients present, but ∂z/∂μ is 2 instead of 1: only the gradient value shows it."""
    assert_fails(vae.Q1, lambda m, lv, e: 2.0 * m - tf.stop_gradient(m) + tf.exp(0.5 * lv) * e,
                 "gradient with respect to μ", "∂z/∂μ should be 1", es_fragments=("gradiente respecto de μ",))


def checks_with_numpy(mu, log_var, eps):
    if np.isnan(log_var.numpy()).any():  # `.numpy()` exists eagerly only, not in a traced train_step
        raise ValueError("NaN in log_var")
    return mu + tf.exp(0.5 * log_var) * eps


def differs_when_traced(mu, log_var, eps):
    if tf.executing_eagerly():
        return mu + tf.exp(0.5 * log_var) * eps
    return mu + tf.exp(log_var) * eps


def test_q1_must_work_inside_tf_function():
    assert_fails(vae.Q1, checks_with_numpy, "fails inside `tf.function`", "train_step", "numpy",
                 es_fragments=("falla dentro de `tf.function`",))
    assert_fails(vae.Q1, differs_when_traced, "inside `tf.function`", "value is different",
                 es_fragments=("valor es distinto",))


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


def test_q2_derivatives_are_checked_by_finite_differences():
    """Q2 is NumPy (no autograd): the check moves μ and log σ² a little and compares the change of the KL."""
    sol = SOLUTION["kl_to_standard_normal"]

    def remembers_first_answer():
        memo = {}

        def kl(mu, log_var):  # right on the first call, then ignores its arguments
            return memo.setdefault("kl", sol(mu, log_var))
        return kl

    assert_fails(vae.Q2, remembers_first_answer(), "does not change with μ", "∂KL/∂μ = μ",
                 es_fragments=("no cambia con μ",))

    def ignores_log_var_changes():
        memo = {}

        def kl(mu, log_var):  # recomputes the μ part, keeps the first σ part
            var_part = memo.setdefault("var", 0.5 * np.sum(np.exp(log_var) - 1.0 - log_var, axis=1))
            return 0.5 * np.sum(mu ** 2, axis=1) + var_part
        return kl

    assert_fails(vae.Q2, ignores_log_var_changes(), "does not change with log σ²", "½ (σ² − 1)")

    def fails_on_second_call():
        calls = []

        def kl(mu, log_var):
            calls.append(1)
            if len(calls) > 1:
                raise RuntimeError("called twice")
            return sol(mu, log_var)
        return kl

    assert_fails(vae.Q2, fails_on_second_call(), "slightly moved inputs", "RuntimeError")
    # float32 arithmetic is not penalised by the finite differences
    for seed in (0, 3):
        fb = grade(vae.Q2, lambda m, lv: sol(m.astype(np.float32), lv.astype(np.float32)), seed=seed)
        assert fb.passed, fb.message


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


def mc_kl_solution(mu, log_var, eps, prior, *, stop=()):
    """The solution, with ``tf.stop_gradient`` on the parts named in ``stop``."""
    sigma = tf.exp(0.5 * log_var)
    z = mu + sigma * eps
    if "z" in stop:
        z = tf.stop_gradient(z)
    q = tfd.MultivariateNormalDiag(loc=tf.stop_gradient(mu) if "q_loc" in stop else mu, scale_diag=sigma)
    log_p = prior.log_prob(tf.stop_gradient(z) if "z_in_prior" in stop else z)
    if "log_p" in stop:
        log_p = tf.stop_gradient(log_p)
    return tf.reduce_mean(q.log_prob(z) - log_p, axis=0)


def test_q3_right_value_but_training_could_not_use_it():
    q = vae.Q3
    # the samples detached: the reparameterisation gradient is lost
    assert_fails(q, lambda *a: mc_kl_solution(*a, stop=("z",)), "gradient with respect to μ",
                 "tf.stop_gradient(z)", es_fragments=("gradiente respecto de μ",))
    # only the prior's term sees detached samples: the gradient w.r.t. μ misses ∇ log p(z)
    assert_fails(q, lambda *a: mc_kl_solution(*a, stop=("z_in_prior",)), "gradient with respect to μ")
    # q's mean detached
    assert_fails(q, lambda *a: mc_kl_solution(*a, stop=("q_loc",)), "gradient with respect to μ")
    # the prior's log-density detached: a learnt prior would never train
    assert_fails(q, lambda *a: mc_kl_solution(*a, stop=("log_p",)), "no gradient reaches the prior's",
                 "a learnt prior would never train", es_fragments=("nunca se entrenaría",))
    # a NumPy round trip
    assert_fails(q, lambda *a: mc_kl_solution(*a).numpy(), "TensorFlow tensor", "not differentiable",
                 es_fragments=("tensor de TensorFlow",))
    assert_fails(q, lambda *a: tf.constant(mc_kl_solution(*a).numpy()), "no gradient reaches μ")


def test_q3_kl_divergence_on_the_mixture_is_reported_as_the_library_error():
    """tfd.kl_divergence has no closed form for a mixture prior: TFP's own NotImplementedError is
    an error to explain, not the exercise placeholder."""
    def with_kl_divergence(mu, log_var, eps, prior):
        q = tfd.MultivariateNormalDiag(loc=mu, scale_diag=tf.exp(0.5 * log_var))
        return tfd.kl_divergence(q, prior)

    for lang in ("en", "es"):
        fb = grade(vae.Q3, with_kl_divergence, lang=lang)
        assert not fb.passed
        assert "NotImplementedError" in fb.message and "tensorflow_probability" in fb.message, fb.message
        assert UNANSWERED[lang] not in fb.message, fb.message
    assert_fails(vae.Q3, with_kl_divergence, "mixture", "no closed form", "estimate the KL with the samples",
                 es_fragments=("no tiene una forma cerrada",))


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
                 es_fragments=("una pérdida para cada ejemplo",))

    def with_keras(x, logits, mu, log_var):  # keras' BCE over the last axis (size 1) then a sum: correct
        r = tf.reduce_sum(keras.losses.binary_crossentropy(x, logits, from_logits=True), axis=[1, 2])
        return tf.reduce_mean(r + kl_tf(mu, log_var))

    assert grade(q, with_keras).passed


def elbo_solution(x, logits, mu, log_var, *, stop=()):
    """The solution, with ``tf.stop_gradient`` on the parts named in ``stop``."""
    if "logits" in stop:
        logits = tf.stop_gradient(logits)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
    var = tf.exp(log_var)
    if "var" in stop:
        var = tf.stop_gradient(var)
    kl = 0.5 * tf.reduce_sum(tf.square(mu) + var - 1.0 - log_var, axis=1)
    if "kl" in stop:
        kl = tf.stop_gradient(kl)
    return tf.reduce_mean(tf.reduce_sum(bce, axis=[1, 2, 3]) + kl)


def test_q4_must_be_a_differentiable_tensorflow_loss():
    q = vae.Q4
    # a NumPy number or a Python float: right value, but no gradient could reach the network
    assert_fails(q, lambda *a: elbo_solution(*a).numpy(), "TensorFlow tensor", "not differentiable",
                 "training could not use it", es_fragments=("tensor de TensorFlow", "no es diferenciable"))
    assert_fails(q, lambda *a: float(elbo_solution(*a)), "TensorFlow tensor")
    # a tensor rebuilt from NumPy values
    assert_fails(q, lambda *a: tf.constant(elbo_solution(*a).numpy()), "no gradient reaches the decoder's logits",
                 "the decoder would never train", es_fragments=("el decodificador nunca se entrenaría",))
    # tf.stop_gradient on one term
    assert_fails(q, lambda *a: elbo_solution(*a, stop=("logits",)), "no gradient reaches the decoder's logits")
    assert_fails(q, lambda *a: elbo_solution(*a, stop=("kl",)), "no gradient reaches μ",
                 "the encoder's mean would never train")
    assert_fails(q, lambda *a: elbo_solution(*a, stop=("var",)), "gradient with respect to log σ²",
                 "KL term cut off", es_fragments=("término KL",))

    def reconstruction_via_numpy(x, logits, mu, log_var):
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits).numpy()
        kl = 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(log_var) - 1.0 - log_var, axis=1)
        return tf.reduce_mean(np.sum(bce, axis=(1, 2, 3)) + kl)

    assert_fails(q, reconstruction_via_numpy, "no gradient reaches the decoder's logits", "(`logits`)")


def test_q4_must_work_inside_tf_function():
    def numpy_inside(x, logits, mu, log_var):  # fine eagerly; in a traced train_step .numpy() does not exist
        scale = float(np.asarray(tf.reduce_max(tf.abs(logits))) > 0)
        return scale * elbo_solution(x, logits, mu, log_var)

    assert_fails(vae.Q4, numpy_inside, "fails inside `tf.function`", es_fragments=("falla dentro",))


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
                 es_fragments=("por defecto",))
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
        assert "plain autoencoder" not in fb.message and "autocodificador común" not in fb.message, fb.message


def test_q6_key_grades_the_right_letter_and_hints_the_wrong_ones():
    for lang in ("en", "es"):
        fb = grade(vae.Q6, "A", lang=lang)
        assert fb.passed and not fb.pending, fb.message
        for letter, (en, es) in key.Q6_HINTS.items():
            fb = grade(vae.Q6, letter, lang=lang)
            assert not fb.passed and not fb.pending
            assert (en if lang == "en" else es) in fb.message, fb.message
    assert set(key.Q6_HINTS) == {"B", "C", "D"}


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
