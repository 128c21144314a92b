"""The machinery shared by every chapter's exercise checks.

A graded exercise is a :class:`Question`. The *same* question object serves two
purposes:

* **immediate feedback** in the student's notebook: ``check(question, obj)``
  calls the student's function (or reads their answer) on fixed inputs and
  prints a specific message (shape, dtype, NaN, wrong value, ...);
* **grading** by :mod:`shared.grading`: the grader makes the inputs with a
  secret seed *in its own process*, lets the student's kernel compute only the
  outputs (:func:`probe`), and evaluates those outputs *in its own process*
  again. Nothing the notebook prints, and no function it redefines or
  monkeypatches, can change a grade: only the numbers that the student's code
  computes for the grader's inputs count.

Inputs and outputs are dictionaries of NumPy arrays so that they cross the
process boundary as plain data (``.npz`` files read with
``allow_pickle=False``), never as code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Arrays = dict[str, np.ndarray]

LANGUAGES = ("en", "es")
_language = "en"

#: Key of the outputs dictionary that carries an error message instead of results.
ERROR_KEY = "__error__"


def set_language(lang: str) -> None:
    """Choose the language of check messages (``"en"`` or ``"es"``)."""
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    _language = lang


def get_language() -> str:
    """Return the language of check messages."""
    return _language


def say(en: str, es: str, lang: str | None = None) -> str:
    """Return the message in the chosen language."""
    return es if (lang or _language) == "es" else en


@dataclass(frozen=True)
class Feedback:
    """Result of evaluating one answer."""

    passed: bool
    message: str


class Unanswered(Exception):
    """Raised by a question's ``run`` when the answer is still a placeholder."""


@dataclass(frozen=True)
class Question:
    """One graded exercise.

    Attributes
    ----------
    qid : str
        Unique id, ``"<chapter>.q<number>"`` (e.g. ``"mdn.q1"``).
    points : float
        Maximum score.
    target : str
        Name of the student's object in the notebook (function or variable).
    title : dict
        Short title per language, e.g. ``{"en": "...", "es": "..."}``.
    make_inputs : callable
        ``make_inputs(rng) -> Arrays``: test inputs as plain arrays.
    run : callable
        ``run(obj, inputs) -> Arrays``: calls the student's object on the
        inputs and returns its outputs as NumPy arrays. Runs in the student's
        kernel. Raises :class:`Unanswered` for a placeholder answer.
    evaluate : callable
        ``evaluate(inputs, outputs, lang) -> Feedback``. Pure NumPy/SciPy, runs
        in the grader's process.
    """

    qid: str
    points: float
    target: str
    title: dict[str, str]
    make_inputs: Callable[[np.random.Generator], Arrays]
    run: Callable[[Any, Arrays], Arrays]
    evaluate: Callable[[Arrays, Arrays, str], Feedback]
    feedback_seed: int = field(default=0)


def is_placeholder(obj: Any) -> bool:
    """``True`` for the placeholders that generated exercises use (``...``, ``None``)."""
    return obj is Ellipsis or obj is None


def compute_outputs(question: Question, obj: Any, inputs: Arrays) -> Arrays:
    """Run the student's object on a copy of the inputs; never raises.

    Exceptions (including :class:`NotImplementedError` from an unanswered
    exercise) are turned into an outputs dictionary holding only
    :data:`ERROR_KEY`.
    """
    copies = {k: np.array(v, copy=True) for k, v in inputs.items()}
    try:
        if is_placeholder(obj):
            raise Unanswered()
        outputs = question.run(obj, copies)
    except (Unanswered, NotImplementedError):
        return {ERROR_KEY: np.array("unanswered")}
    except Exception as exc:  # the student's code may raise anything
        return {ERROR_KEY: np.array(f"{type(exc).__name__}: {exc}")}
    return {k: np.asarray(v) for k, v in outputs.items()}


def grade_outputs(question: Question, inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    """Evaluate outputs (as produced by :func:`compute_outputs`); never raises."""
    if ERROR_KEY in outputs:
        err = str(outputs[ERROR_KEY])
        if err == "unanswered":
            return Feedback(False, say(
                f"`{question.target}` is not answered yet: replace the placeholder with your code.",
                f"`{question.target}` todavía no tiene respuesta: reemplaza el marcador por tu código.",
                lang))
        return Feedback(False, say(
            f"calling `{question.target}` raised {err}",
            f"al llamar a `{question.target}` se produjo el error {err}",
            lang))
    try:
        return question.evaluate(inputs, outputs, lang)
    except Exception as exc:  # malformed outputs (missing keys, wrong types...)
        return Feedback(False, say(
            f"could not evaluate the result of `{question.target}` ({type(exc).__name__}: {exc}).",
            f"no se pudo evaluar el resultado de `{question.target}` ({type(exc).__name__}: {exc}).",
            lang))


def check(question: Question, obj: Any) -> Feedback:
    """Immediate feedback in a notebook: evaluate ``obj`` and print the verdict.

    Parameters
    ----------
    question : Question
        The exercise to check.
    obj : any
        The student's function or answer.

    Returns
    -------
    Feedback
        ``passed`` and the message that was printed.
    """
    lang = _language
    inputs = question.make_inputs(np.random.default_rng(question.feedback_seed))
    outputs = compute_outputs(question, obj, inputs)
    fb = grade_outputs(question, inputs, outputs, lang)
    title = question.title.get(lang, question.qid)
    mark = "✅" if fb.passed else "❌"
    print(f"{mark} {question.qid} — {title}: {fb.message}")
    return fb


def probe(namespace: dict[str, Any], questions: list[Question], inputs_dir: str, outputs_dir: str) -> None:
    """Grader side, run inside the student's kernel: compute outputs only.

    For each question, reads ``<inputs_dir>/<qid>.npz``, calls the object named
    ``question.target`` in ``namespace`` and writes ``<outputs_dir>/<qid>.npz``.
    It never evaluates anything: the grader does, in its own process.
    """
    import os

    for q in questions:
        with np.load(os.path.join(inputs_dir, f"{q.qid}.npz"), allow_pickle=False) as f:
            inputs = {k: f[k] for k in f.files}
        if q.target not in namespace:
            outputs = {ERROR_KEY: np.array(f"NameError: `{q.target}` is not defined")}
        else:
            outputs = compute_outputs(q, namespace[q.target], inputs)
        try:
            np.savez(os.path.join(outputs_dir, f"{q.qid}.npz"), **outputs)
        except Exception as exc:  # e.g. object arrays that need pickling
            np.savez(os.path.join(outputs_dir, f"{q.qid}.npz"),
                     **{ERROR_KEY: np.array(f"unusable result: {exc}")})


# ---------------------------------------------------------------------------
# Small reusable evaluation helpers (return a message, or None when fine)
# ---------------------------------------------------------------------------

def array_problem(name: str, got: np.ndarray, expected_shape: tuple[int, ...], lang: str) -> str | None:
    """Shape/dtype/finite checks shared by many questions."""
    got = np.asarray(got)
    if got.dtype.kind not in "fiu":
        return say(f"`{name}` should hold numbers, got dtype {got.dtype}.",
                   f"`{name}` debería contener números, pero su dtype es {got.dtype}.", lang)
    if got.shape != tuple(expected_shape):
        return say(f"`{name}` has shape {got.shape}, expected {tuple(expected_shape)}.",
                   f"`{name}` tiene forma {got.shape}; se esperaba {tuple(expected_shape)}.", lang)
    if not np.all(np.isfinite(got)):
        bad = int(np.size(got) - np.isfinite(got).sum())
        return say(f"`{name}` contains {bad} NaN/inf value(s): is the computation numerically stable?",
                   f"`{name}` contiene {bad} valor(es) NaN/inf: ¿el cálculo es numéricamente estable?", lang)
    return None


def close_problem(name: str, got: np.ndarray, want: np.ndarray, lang: str,
                  rtol: float = 1e-4, atol: float = 1e-5) -> str | None:
    """Value comparison with a message that says how far off the answer is."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if np.allclose(got, want, rtol=rtol, atol=atol):
        return None
    err = float(np.max(np.abs(got - want)))
    i = int(np.argmax(np.abs(got - want)))
    return say(f"`{name}` is off by up to {err:.3g} (e.g. entry {i}: got {got.ravel()[i]:.5g}, "
               f"expected {want.ravel()[i]:.5g}).",
               f"`{name}` se aleja hasta {err:.3g} del valor correcto (p. ej. en la posición {i}: "
               f"obtuviste {got.ravel()[i]:.5g}, se esperaba {want.ravel()[i]:.5g}).", lang)


# ---------------------------------------------------------------------------
# Helpers for the chapters' questions: students' results to arrays, and messages
# ---------------------------------------------------------------------------

NONE_CODE = "__returned_none__"
TYPE_CODE = "__returned_type__:"


def to_numpy(x: Any) -> np.ndarray:
    """Student's result -> NumPy array (torch/TF tensors included); never raises.

    Results that are not numbers become a string code that :func:`result_problem`
    turns into a message (``None``, a dict, a list of tensors...).
    """
    if x is None:
        return np.array(NONE_CODE)
    module = type(x).__module__ or ""
    try:
        if module.startswith("torch"):
            x = x.detach().cpu().numpy()
        elif hasattr(x, "numpy") and module.startswith(("tensorflow", "tf_keras", "keras")):
            x = x.numpy()
        arr = np.asarray(x)
    except Exception:
        return np.array(TYPE_CODE + type(x).__name__)
    if arr.dtype.kind not in "biufc":
        kind = f"array of dtype {arr.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        return np.array(TYPE_CODE + kind)
    return arr


def result_problem(name: str, got: np.ndarray, shape: tuple[int, ...], lang: str) -> str | None:
    """Like :func:`array_problem`, plus ``None``/wrong-type results."""
    got = np.asarray(got)
    if got.dtype.kind == "U":
        text = str(got)
        if text == NONE_CODE:
            return say(f"`{name}` returned None: did you forget the `return`?",
                       f"`{name}` devolvió None: ¿olvidaste el `return`?", lang)
        kind = text[len(TYPE_CODE):] if text.startswith(TYPE_CODE) else text
        return say(f"`{name}` should return an array of numbers, got: {kind}.",
                   f"`{name}` debería devolver un arreglo de números, pero devolvió: {kind}.", lang)
    if got.dtype.kind == "c":
        return say(f"`{name}` holds complex numbers: check for the square root or log of a negative value.",
                   f"`{name}` contiene números complejos: revisa si hay una raíz o un logaritmo de un valor negativo.",
                   lang)
    if got.dtype.kind == "b":
        return say(f"`{name}` holds booleans; it should hold real numbers.",
                   f"`{name}` contiene booleanos; debería contener números reales.", lang)
    return array_problem(name, got, shape, lang)


def is_close(got: Any, want: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """``allclose`` that is ``False`` (never raises) on shape mismatch or NaN."""
    try:
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        return got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol))
    except Exception:
        return False


def scalar_value(got: np.ndarray) -> float | None:
    """The number held by a 0-d or size-1 numeric array, else ``None``."""
    got = np.asarray(got)
    if got.dtype.kind in "iuf" and got.size == 1:
        return float(got.reshape(()))
    return None


def scalar_problem(name: str, got: np.ndarray, n: int, lang: str) -> str | None:
    """Message when a loss is not a single number (per-example vector, (N, N) matrix...)."""
    got = np.asarray(got)
    problem = result_problem(name, got, got.shape, lang)
    if problem is not None and got.dtype.kind not in "iuf":
        return problem
    if got.size != 1:
        if got.shape in ((n,), (n, 1)):
            return say(f"`{name}` returned shape {got.shape}, one loss per example: "
                       "return the mean, a scalar.",
                       f"`{name}` devolvió forma {got.shape}, una pérdida por ejemplo: "
                       "devuelve el promedio, un escalar.", lang)
        return say(f"`{name}` returned shape {got.shape}; return the mean over the batch, a scalar.",
                   f"`{name}` devolvió forma {got.shape}; devuelve el promedio sobre el lote, "
                   "un escalar.", lang)
    return None


def ok(lang: str, en: str = "correct!", es: str = "¡correcto!") -> Feedback:
    return Feedback(True, say(en, es, lang))


def fail(message: str) -> Feedback:
    return Feedback(False, message)


# ---------------------------------------------------------------------------
# Multiple-choice questions
# ---------------------------------------------------------------------------

CHOICES = ("A", "B", "C", "D")


def _no_inputs(rng: np.random.Generator) -> Arrays:
    return {}


def _run_choice(value: Any, inputs: Arrays) -> Arrays:
    if isinstance(value, str):
        return {"answer": np.array(value)}
    return {"answer_type": np.array(type(value).__name__)}


def evaluate_choice(outputs: Arrays, target: str, correct: str, right: tuple[str, str],
                    hints: dict[str, tuple[str, str]], lang: str) -> Feedback:
    """Feedback on a one-letter answer: ``right`` (en, es) if it is ``correct``, else the
    letter's hint (en, es), which must help without giving the answer away."""
    if "answer" not in outputs:
        kind = str(outputs.get("answer_type", np.array("?")))
        return fail(say(f'`{target}` must be a string with one letter, e.g. "A" (with quotes); '
                        f"got an object of type {kind}.",
                        f'`{target}` debe ser un texto con una sola letra, p. ej. "A" (con comillas); '
                        f"es un objeto de tipo {kind}.", lang))
    letter = str(outputs["answer"]).strip().upper().strip(".)")
    if letter not in CHOICES:
        return fail(say('write only one letter: "A", "B", "C" or "D".',
                        'escribe solo una letra: "A", "B", "C" o "D".', lang))
    if letter == correct:
        return ok(lang, *right)
    en, es = hints[letter]
    return fail(say(f"not quite: {en}", f"no exactamente: {es}", lang))


def choice_question(qid: str, points: float, target: str, title: dict[str, str], correct: str,
                    right: tuple[str, str], hints: dict[str, tuple[str, str]]) -> Question:
    """A multiple-choice :class:`Question` (answers ``"A"``..``"D"``) with a hint per wrong letter.

    ``right`` is the (en, es) message for the correct letter, which must not be a
    key of ``hints``; ``hints`` maps every other letter to its (en, es) hint.
    """
    if correct not in CHOICES or set(hints) != set(CHOICES) - {correct}:
        raise ValueError(f"{qid}: give hints for exactly the wrong letters {sorted(set(CHOICES) - {correct})}")

    def evaluate(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
        return evaluate_choice(outputs, target, correct, right, hints, lang)

    return Question(qid=qid, points=points, target=target, title=title,
                    make_inputs=_no_inputs, run=_run_choice, evaluate=evaluate)
