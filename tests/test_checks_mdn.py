"""Tests of the MDN chapter's graded questions (:mod:`shared.checks.mdn`).

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
from scipy.special import log_softmax, logsumexp

from shared.checks import Placeholder, mdn
from shared.key import mdn as key

from checks_support import (UNANSWERED, assert_fails, assert_full_marks, assert_unanswered, grade,  # tests/
                            grade_real_notebooks, not_implemented, notebook_namespace)

REPO = Path(__file__).resolve().parent.parent
SOLUTION_EN = REPO / "solutions" / "en" / "mdn.ipynb"
EXERCISE_ES = REPO / "exercises" / "es" / "mdn.ipynb"

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
tfp = pytest.importorskip("tensorflow_probability")
tfd = tfp.distributions


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

SOLUTION = notebook_namespace(SOLUTION_EN, {"np": np, "torch": torch, "tf": tf, "tfp": tfp, "tfd": tfd, "logsumexp": logsumexp, "Placeholder": Placeholder})
EXERCISE = notebook_namespace(EXERCISE_ES, {"np": np, "torch": torch, "tf": tf, "tfp": tfp, "tfd": tfd, "logsumexp": logsumexp,
                                            "Placeholder": Placeholder})
TARGETS = {q.qid: q.target for q in mdn.QUESTIONS}


# ---------------------------------------------------------------------------
# Every question: solution passes, placeholder is "not answered"
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("question", mdn.QUESTIONS, ids=lambda q: q.qid)
def test_solution_passes(question):
    for seed, lang in ((0, "en"), (1, "es"), (12345, "en")):
        fb = grade(question, SOLUTION[question.target], seed=seed, lang=lang)
        assert fb.passed, (seed, fb.message)


@pytest.mark.parametrize("question", mdn.QUESTIONS, ids=lambda q: q.qid)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_placeholder_is_unanswered(question, lang):
    placeholders = [EXERCISE[question.target], ...]
    if question.qid != "mdn.q6":  # functions: the generated body raises NotImplementedError
        placeholders.append(not_implemented)
    for obj in placeholders:
        fb = grade(question, obj, lang=lang)
        assert not fb.passed
        assert UNANSWERED[lang] in fb.message, fb.message


def test_questions_metadata():
    assert [q.qid for q in mdn.QUESTIONS] == [f"mdn.q{i}" for i in range(1, 7)]
    assert [q.points for q in mdn.QUESTIONS] == [2, 2, 2, 2, 1, 1]
    assert mdn.QUESTIONS == [mdn.Q1, mdn.Q2, mdn.Q3, mdn.Q4, mdn.Q5, mdn.Q6]
    for q in mdn.QUESTIONS:
        assert q.title["en"] and q.title["es"]


def test_reference_implementations_agree_with_solution():
    inputs = key.make_q1(np.random.default_rng(3))
    args = [torch.tensor(inputs[k]) for k in ("logits", "mu", "log_sigma", "t")]
    assert np.isclose(float(SOLUTION["mixture_nll"](*args)),
                      key.ref_mixture_nll(*(inputs[k] for k in ("logits", "mu", "log_sigma", "t"))),
                      rtol=1e-5)


# ---------------------------------------------------------------------------
# Q1: PyTorch NLL
# ---------------------------------------------------------------------------

LOG_2PI = float(np.log(2 * np.pi))


def nll_naive(logits, mu, log_sigma, t):
    pi, sigma = torch.softmax(logits, 1), torch.exp(log_sigma)
    dens = torch.exp(-0.5 * ((t - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return -torch.log((pi * dens).sum(1)).mean()


def nll_parts(logits, mu, log_sigma, t, *, log_pi=True, with_log_sigma=True, with_const=True,
              reduce="mean", detach=()):
    if "logits" in detach:
        logits = logits.detach()
    if "log_sigma" in detach:
        log_sigma = log_sigma.detach()
    lp = torch.log_softmax(logits, 1) if log_pi else logits
    scale = torch.exp(log_sigma.detach() if "scale_term" in detach else log_sigma)
    ln = -0.5 * ((t - mu) / scale) ** 2
    if with_log_sigma:
        ln = ln - log_sigma
    if with_const:
        ln = ln - 0.5 * LOG_2PI
    rows = -torch.logsumexp(lp + ln, 1)
    return rows.mean() if reduce == "mean" else rows.sum() if reduce == "sum" else rows


def test_q1_wrong_answers():
    q = mdn.Q1
    assert_fails(q, nll_naive, "inf", "logsumexp")
    assert_fails(q, lambda *a: nll_parts(*a, log_pi=False), "log_softmax")
    assert_fails(q, lambda *a: nll_parts(*a, reduce="sum"), "SUM", "mean")
    assert_fails(q, lambda *a: nll_parts(*a, with_log_sigma=False), "log σ")
    assert_fails(q, lambda *a: nll_parts(*a, with_const=False), "2π")
    assert_fails(q, lambda *a: -nll_parts(*a), "sign")
    assert_fails(q, lambda *a: nll_parts(*a, reduce="none"), "return the mean, a scalar")


def test_q1_right_value_but_no_graph():
    q = mdn.Q1
    assert_fails(q, lambda *a: nll_parts(*a).item(), "torch tensor")
    assert_fails(q, lambda *a: nll_parts(*a).detach(), "autograd")
    assert_fails(q, lambda *a: torch.tensor(nll_parts(*a).item()), "autograd")


def test_q1_detached_parameters_fail():
    """A loss whose value is right but through which π or σ would not train."""
    q = mdn.Q1
    assert_fails(q, lambda *a: nll_parts(*a, detach=("logits",)), "`logits`", "π would never train",
                 es_fragments=("`logits`", "π nunca se entrenaría"))
    assert_fails(q, lambda *a: nll_parts(*a, detach=("log_sigma",)), "`log_sigma`", "σ would never train")
    # only the scale inside the squared error is cut off: the gradient value gives it away
    assert_fails(q, lambda *a: nll_parts(*a, detach=("scale_term",)), "gradient with respect to `log_sigma`")


def test_q1_numpy_round_trip_fails():
    def via_numpy(logits, mu, log_sigma, t):
        lp = torch.log_softmax(logits, 1).detach().numpy()
        rest = -0.5 * ((t - mu) / torch.exp(log_sigma)) ** 2 - log_sigma - 0.5 * LOG_2PI
        return -torch.logsumexp(torch.from_numpy(lp) + rest, 1).mean()
    assert_fails(mdn.Q1, via_numpy, "`logits`", "NumPy round trip")


def test_q1_bad_results_never_raise():
    q = mdn.Q1
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: "loss", "array of numbers")
    assert_fails(q, lambda *a: torch.full((3, 3), float("nan"), requires_grad=True).sum() * 0 + torch.nan)
    assert_fails(q, lambda *a: {"loss": 1.0})
    assert_fails(q, lambda *a: 1 / 0, "ZeroDivisionError")
    assert_fails(q, lambda l, m, s, t: (m * 0).sum() + float("inf"))


# ---------------------------------------------------------------------------
# Q2: responsibilities
# ---------------------------------------------------------------------------

def normal_pdf(t, mu, sigma):
    return np.exp(-0.5 * ((t - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def test_q2_wrong_answers():
    q = mdn.Q2
    assert_fails(q, lambda pi, mu, s, t: pi * normal_pdf(t, mu, s), "not normalised")

    def ignore_pi(pi, mu, s, t):
        lw = -0.5 * ((t - mu) / s) ** 2 - np.log(s)
        return np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
    assert_fails(q, ignore_pi, "π is missing")

    def naive(pi, mu, s, t):
        w = pi * normal_pdf(t, mu, s)
        with np.errstate(all="ignore"):
            return w / w.sum(axis=1, keepdims=True)
    assert_fails(q, naive, "NaN", "0/0", "logsumexp")

    def var_scale(pi, mu, s, t):
        lw = np.log(pi) - 0.5 * ((t - mu) / s ** 2) ** 2 - np.log(s ** 2)
        return np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
    assert_fails(q, var_scale, "σ²")


def test_q2_bad_results_never_raise():
    q = mdn.Q2
    sol = SOLUTION["responsibilities"]
    assert_fails(q, lambda *a: sol(*a).T, "shape")
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: sol(*a)[:, :1], "shape")
    assert_fails(q, lambda *a: sol(*a).astype(str), "array of numbers")
    assert_fails(q, lambda *a: sol(*a) > 0.5, "booleans")
    assert_fails(q, lambda *a: [sol(*a), sol(*a)[:2]])
    # a torch tensor that requires grad is converted, not an error
    fb = grade(q, lambda *a: torch.tensor(sol(*a), requires_grad=True) * 1.0)
    assert fb.passed, fb.message


# ---------------------------------------------------------------------------
# Q3: sampling
# ---------------------------------------------------------------------------

def pick_components(pi, rng):
    u = rng.random((pi.shape[0], 1))
    return np.minimum((u > np.cumsum(pi, axis=1)).sum(axis=1), pi.shape[1] - 1)


def sample_argmax(pi, mu, s, rng):
    k, rows = pi.argmax(1), np.arange(len(pi))
    return rng.normal(mu[rows, k], s[rows, k])


def sample_mean(pi, mu, s, rng):
    return (pi * mu).sum(1)


def sample_uniform(pi, mu, s, rng):
    k, rows = rng.integers(0, pi.shape[1], len(pi)), np.arange(len(pi))
    return rng.normal(mu[rows, k], s[rows, k])


def sample_var_scale(pi, mu, s, rng):
    k, rows = pick_components(pi, rng), np.arange(len(pi))
    return rng.normal(mu[rows, k], s[rows, k] ** 2)


def sample_row0_pi(pi, mu, s, rng):
    k = rng.choice(pi.shape[1], size=len(pi), p=pi[0])
    rows = np.arange(len(pi))
    return rng.normal(mu[rows, k], s[rows, k])


def sample_global_rng(pi, mu, s, rng):
    k, rows = pick_components(pi, np.random.default_rng()), np.arange(len(pi))
    return np.random.default_rng().normal(mu[rows, k], s[rows, k])


def test_q3_correct_samplers_pass_across_seeds():
    sol = SOLUTION["sample_mixture"]

    def with_choice(pi, mu, s, rng):  # another correct way (loop over rows, rng.choice)
        k = np.array([rng.choice(pi.shape[1], p=p) for p in pi])
        rows = np.arange(len(pi))
        return mu[rows, k] + s[rows, k] * rng.standard_normal(len(pi))

    for seed in range(25):
        fb = grade(mdn.Q3, sol, seed=seed)
        assert fb.passed, (seed, fb.message)
    for seed in range(3):
        assert grade(mdn.Q3, key.ref_sample_mixture, seed=seed).passed
        assert grade(mdn.Q3, with_choice, seed=seed).passed


@pytest.mark.parametrize("wrong, fragment", [
    (sample_argmax, "argmax"),
    (sample_mean, "mixture mean"),
    (sample_uniform, "equally likely"),
    (sample_var_scale, "σ² as scale"),
    (sample_row0_pi, "its own π"),
    (sample_global_rng, "`rng`"),
], ids=["argmax", "mixture-mean", "uniform", "var-as-scale", "row0-pi", "global-rng"])
def test_q3_wrong_answers(wrong, fragment):
    for seed in (0, 7):
        assert_fails(mdn.Q3, wrong, fragment, seed=seed)


def test_q3_bad_results_never_raise():
    q = mdn.Q3
    sol = SOLUTION["sample_mixture"]
    assert_fails(q, lambda *a: sol(*a)[:, None], "flat")
    assert_fails(q, lambda *a: sol(*a)[:10], "shape")
    assert_fails(q, lambda *a: None, "None")
    assert_fails(q, lambda *a: np.full(len(a[0]), np.nan), "NaN")
    assert_fails(q, lambda *a: torch.tensor(sol(*a), requires_grad=True) * np.inf)


# ---------------------------------------------------------------------------
# Q4: Keras / TFP loss
# ---------------------------------------------------------------------------

def tfp_loss(t, params, *, order=(0, 1, 2), probs=False, squeeze=True, reduce=True):
    k = params.shape[1] // 3
    blocks = [params[:, i * k:(i + 1) * k] for i in order]
    logits, mu, log_sigma = blocks
    cat = tfd.Categorical(probs=logits) if probs else tfd.Categorical(logits=logits)
    mix = tfd.MixtureSameFamily(cat, tfd.Normal(loc=mu, scale=tf.exp(log_sigma)))
    lp = mix.log_prob(tf.squeeze(t, -1) if squeeze else t)
    return -tf.reduce_mean(lp) if reduce else -lp


def test_q4_wrong_answers():
    q = mdn.Q4
    assert_fails(q, lambda t, p: tfp_loss(t, p, probs=True), "logits=")
    assert_fails(q, lambda t, p: tfp_loss(t, p, order=(1, 0, 2)), "order")
    assert_fails(q, lambda t, p: tfp_loss(t, p, order=(0, 2, 1)), "order")
    assert_fails(q, lambda t, p: tfp_loss(t, p, squeeze=False), "(N, N)", "squeeze")
    assert_fails(q, lambda t, p: tfp_loss(t, p, squeeze=False, reduce=False), "(N, N)")
    assert_fails(q, lambda t, p: -tfp_loss(t, p), "sign")
    assert_fails(q, lambda t, p: -tfp_loss(t, p, reduce=False), "sign")
    # one value per example, right mean, but not each example's own NLL
    assert_fails(q, lambda t, p: tf.sort(tfp_loss(t, p, reduce=False)), "one value per example",
                 es_fragments=("un valor para cada ejemplo",))
    # the sum over the batch instead of one value per example (or their mean): fit would not average it
    assert_fails(q, lambda t, p: tf.reduce_sum(tfp_loss(t, p, reduce=False)), "sum over the batch",
                 "one value per example", es_fragments=("suma sobre el lote",))
    assert_fails(q, lambda t, p: -tf.reduce_sum(tfp_loss(t, p, reduce=False)), "sign")  # sum, sign flipped
    # one value per component, (N, K): the Normals' log-densities without the mixture
    def per_component(t, params):
        k = params.shape[1] // 3
        return -tfd.Normal(loc=params[:, k:2 * k], scale=tf.exp(params[:, 2 * k:])).log_prob(t)
    assert_fails(q, per_component, "one value per example", es_fragments=("un valor para cada ejemplo",))


def test_q4_accepts_the_chapters_per_example_loss_and_the_mean():
    # a Keras loss may return one value per example (fit averages it), as the chapter's mdn_loss does
    for seed in (0, 3):
        assert grade(mdn.Q4, lambda t, p: tfp_loss(t, p, reduce=False), seed=seed).passed
        assert grade(mdn.Q4, lambda t, p: tfp_loss(t, p, reduce=False)[:, None], seed=seed).passed
        assert grade(mdn.Q4, tfp_loss, seed=seed).passed


def test_q4_bad_results_never_raise():
    q = mdn.Q4
    assert_fails(q, lambda t, p: None, "None")
    assert_fails(q, lambda t, p: tf.constant(float("nan")), "nan")
    assert_fails(q, lambda t, p: tf.Variable([[1.0, 2.0]]), "scalar")
    assert_fails(q, lambda t, p: p[:, :1] @ "x", "raised")


def test_q4_must_be_a_differentiable_tensorflow_loss():
    q = mdn.Q4
    # a NumPy number: right value, but Keras could not differentiate it
    assert_fails(q, lambda t, p: tfp_loss(t, p).numpy(), "TensorFlow tensor", "gradient",
                 es_fragments=("tensor de TensorFlow",))
    assert_fails(q, lambda t, p: float(tfp_loss(t, p)), "TensorFlow tensor")
    # a tensor rebuilt from NumPy: fine eagerly, fails when traced as fit() does
    assert_fails(q, lambda t, p: tf.constant(tfp_loss(t, p).numpy()), "tf.function")
    # stop_gradient on the network's output: no gradient at all
    assert_fails(q, lambda t, p: tfp_loss(t, tf.stop_gradient(p)), "not differentiable")

    def scale_stopped(t, params):  # stop_gradient on one term: the gradient is wrong
        k = params.shape[1] // 3
        logits, mu, log_sigma = params[:, :k], params[:, k:2 * k], params[:, 2 * k:]
        mix = tfd.MixtureSameFamily(tfd.Categorical(logits=logits),
                                    tfd.Normal(loc=mu, scale=tf.exp(tf.stop_gradient(log_sigma))))
        return -tf.reduce_mean(mix.log_prob(tf.squeeze(t, -1)))
    assert_fails(q, scale_stopped, "gradient", "`log_sigma`")


# ---------------------------------------------------------------------------
# Q5: density slice
# ---------------------------------------------------------------------------

def test_q5_wrong_answers():
    q = mdn.Q5

    def no_pi(pi, mu, s, grid):
        c = normal_pdf(grid[None, :], mu[:, None], s[:, None])
        return c.sum(0), c
    assert_fails(q, no_pi, "mixing coefficient")

    def var_scale(pi, mu, s, grid):
        c = pi[:, None] * normal_pdf(grid[None, :], mu[:, None], s[:, None] ** 2)
        return c.sum(0), c
    assert_fails(q, var_scale, "σ² as scale")

    sol = SOLUTION["density_slice"]
    assert_fails(q, lambda *a: (sol(*a)[0], sol(*a)[1].T), "(K, T)", "transpose")
    assert_fails(q, lambda *a: (sol(*a)[1].mean(0), sol(*a)[1]), "SUM")
    assert_fails(q, lambda *a: sol(*a)[::-1], "wrong order")


def test_q5_bad_results_never_raise():
    q = mdn.Q5
    sol = SOLUTION["density_slice"]
    assert_fails(q, lambda *a: sol(*a)[0], "pair")
    assert_fails(q, lambda *a: None, "pair")
    assert_fails(q, lambda *a: (None, sol(*a)[1]), "None")
    assert_fails(q, lambda *a: (sol(*a)[0], sol(*a)[1] * np.nan), "NaN")
    assert_fails(q, lambda *a: (1, 2, 3), "length 3")
    fb = grade(q, lambda *a: [torch.tensor(x, requires_grad=True) for x in sol(*a)])
    assert fb.passed, fb.message


# ---------------------------------------------------------------------------
# Q6: multiple choice
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["B", "b", "  B\n", "B)"])
def test_q6_accepts_spelling_variants(answer):
    assert grade(mdn.Q6, answer).passed


@pytest.mark.parametrize("answer", ["A", "c", " d "])
def test_q6_wrong_letters_get_a_hint_without_the_answer(answer):
    for lang in ("en", "es"):
        fb = grade(mdn.Q6, answer, lang=lang)
        assert not fb.passed
        assert "B" not in fb.message and "media condicional" not in fb.message, fb.message
        assert "conditional mean" not in fb.message, fb.message


def test_choice_key_needs_a_hint_for_every_wrong_letter():
    from shared.key.core import choice_key
    hints = {"A": ("a", "a"), "C": ("c", "c")}  # "D" forgotten
    with pytest.raises(ValueError, match="wrong letters"):
        choice_key("x.q1", "answer", "B", ("ok", "ok"), hints)


# ---------------------------------------------------------------------------
# Grading the real notebooks (one kernel each, run in parallel)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradings():
    return grade_real_notebooks("mdn", SOLUTION_EN, EXERCISE_ES)


@pytest.mark.xdist_group("kernels")
def test_grading_solution_scores_full_marks(gradings):
    assert_full_marks(gradings["solution-en"], mdn.QUESTIONS)


@pytest.mark.xdist_group("kernels")
def test_grading_exercise_scores_zero(gradings):
    assert_unanswered(gradings["exercise-es"], "es")
