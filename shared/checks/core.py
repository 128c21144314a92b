"""The machinery shared by every chapter's exercise checks (no answer key here).

A graded exercise is a :class:`Question`: how to call the student's object
(``run``) and how to compare its outputs with the expected results
(``evaluate``). What the expected results *are* is the answer key
(:mod:`shared.key`): the inputs of every question and the reference
implementations that compute its answers. The key is not part of the student
edition and the grading kernel cannot import or read it.

* **Immediate feedback** in the student's notebook: ``check(question, obj)``
  calls the student's function on a stored *public* case (inputs and the key's
  expected results, known wrong answers included, in
  ``shared/checks/fixtures/<chapter>.npz``) and prints a specific message
  (shape, dtype, NaN, wrong value, "forgot the max shift"...).
* **Grading** by :mod:`shared.grading`: the grader draws fresh inputs with a
  secret seed and runs the key *in its own process*, lets the student's kernel
  compute only the outputs (:func:`probe`), and evaluates those outputs *in its
  own process* again. Nothing the notebook prints, and no function it
  redefines or monkeypatches, can change a grade: only the numbers that the
  student's code computes for the grader's inputs count.

Inputs and outputs are dictionaries of NumPy arrays so that they cross the
process boundary as plain data (``.npz`` files read with
``allow_pickle=False``), never as code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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
    """Result of evaluating one answer.

    ``pending`` marks an answer that the notebook only records (its format is
    right) and that only the teacher's grader scores (multiple choice).
    """

    passed: bool
    message: str
    pending: bool = False


class Unanswered(Exception):
    """Raised by a question's ``run`` when the answer is still a placeholder."""


class Placeholder(NotImplementedError):
    """What the body of a generated exercise raises until the student writes the answer.

    It is the only exception reported as "not answered yet"; any other error,
    including a library's own :class:`NotImplementedError`, is reported as
    what it is.
    """

    # TensorFlow's AutoGraph re-raises an exception from traced code as its own type only
    # when that type's __init__ is Exception's (else as a StagingError): keep it so, so that
    # a placeholder reached inside tf.function is still a Placeholder.
    __init__ = Exception.__init__


#: Message of the placeholder that older generated exercises raised as a plain NotImplementedError.
LEGACY_PLACEHOLDER_MESSAGE = "Exercise: replace this line with your code."


@dataclass(frozen=True)
class Question:
    """One graded exercise, as the student's notebook sees it (no answer key).

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
    run : callable
        ``run(obj, inputs) -> Arrays``: calls the student's object on the
        inputs and returns its outputs as NumPy arrays. Runs in the student's
        kernel. Raises :class:`Unanswered` for a placeholder answer.
    evaluate : callable
        ``evaluate(inputs, expected, outputs, lang) -> Feedback``. Compares the
        outputs with ``expected``, the results that the answer key
        (:mod:`shared.key`) computed for these inputs. Pure NumPy/SciPy.
    choice : bool
        A multiple-choice question: the notebook only checks the format and
        records the answer; only the grader, which holds the key, scores it.

    The inputs and the expected results come from the answer key, which is not
    part of the student edition: the notebook's :func:`check` reads stored
    public cases (``shared/checks/fixtures/<chapter>.npz``); the grader draws
    fresh secret inputs and runs the key in its own process.
    """

    qid: str
    points: float
    target: str
    title: dict[str, str]
    run: Callable[[Any, Arrays], Arrays]
    evaluate: Callable[[Arrays, Arrays, Arrays, str], Feedback]
    choice: bool = field(default=False)

    @property
    def chapter(self) -> str:
        """The chapter of the question (``"mdn"`` for ``"mdn.q1"``)."""
        return self.qid.split(".", 1)[0]


def is_placeholder(obj: Any) -> bool:
    """``True`` for the placeholders that generated exercises use (``...``, ``None``)."""
    return obj is Ellipsis or obj is None


def is_placeholder_error(exc: BaseException) -> bool:
    """``True`` for the exception that a generated exercise's body raises."""
    if isinstance(exc, Placeholder):
        return True
    return type(exc) is NotImplementedError and str(exc) == LEGACY_PLACEHOLDER_MESSAGE


def error_origin(exc: BaseException) -> str:
    """Top-level package of the innermost frame that raised ``exc`` (``""`` for the notebook)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    filename = frames[-1].filename.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in filename:
            return filename.split(marker, 1)[1].split("/", 1)[0]
    if "/lib/python" in filename:
        return "the Python standard library"
    return ""


def describe_error(exc: BaseException) -> str:
    """``"TypeError: ..."``, plus where it came from when a library raised it."""
    text = f"{type(exc).__name__}: {exc}"
    origin = error_origin(exc)
    return f"{text} [raised inside {origin}]" if origin else text


def compute_outputs(question: Question, obj: Any, inputs: Arrays) -> Arrays:
    """Run the student's object on a copy of the inputs; never raises.

    A placeholder (``...``, ``None``, :class:`Placeholder`) becomes an outputs
    dictionary holding only :data:`ERROR_KEY` = ``"unanswered"``; any other
    exception (a library's :class:`NotImplementedError` included) becomes
    :data:`ERROR_KEY` = its type, message and origin.
    """
    copies = {k: np.array(v, copy=True) for k, v in inputs.items()}
    try:
        if is_placeholder(obj):
            raise Unanswered()
        outputs = question.run(obj, copies)
    except Unanswered:
        return {ERROR_KEY: np.array("unanswered")}
    except Exception as exc:  # the student's code may raise anything
        if is_placeholder_error(exc):
            return {ERROR_KEY: np.array("unanswered")}
        return {ERROR_KEY: np.array(describe_error(exc))}
    return {k: np.asarray(v) for k, v in outputs.items()}


def error_feedback(question: Question, outputs: Arrays, lang: str) -> Feedback | None:
    """The feedback for an outputs dictionary that carries :data:`ERROR_KEY`, else ``None``."""
    if ERROR_KEY not in outputs:
        return None
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


def grade_outputs(question: Question, inputs: Arrays, expected: Arrays, outputs: Arrays,
                  lang: str) -> Feedback:
    """Evaluate outputs (as produced by :func:`compute_outputs`) against ``expected``; never raises."""
    fb = error_feedback(question, outputs, lang)
    if fb is not None:
        return fb
    try:
        return question.evaluate(inputs, expected, outputs, lang)
    except Exception as exc:  # malformed outputs (missing keys, wrong types...)
        return Feedback(False, say(
            f"could not evaluate the result of `{question.target}` ({type(exc).__name__}: {exc}).",
            f"no se pudo evaluar el resultado de `{question.target}` ({type(exc).__name__}: {exc}).",
            lang))


# ---------------------------------------------------------------------------
# Public cases: the inputs and expected results that the notebooks' checks use
# ---------------------------------------------------------------------------

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
_public_cache: dict[str, dict[str, tuple[Arrays, Arrays]]] = {}


def fixture_path(chapter: str) -> Path:
    """``shared/checks/fixtures/<chapter>.npz``."""
    return FIXTURES_DIR / f"{chapter}.npz"


def pack_cases(cases: dict[str, tuple[Arrays, Arrays]]) -> Arrays:
    """``{qid: (inputs, expected)}`` -> flat ``{"<qid>/inputs/<name>": array, ...}``."""
    flat: Arrays = {}
    for qid, (inputs, expected) in cases.items():
        for part, arrays in (("inputs", inputs), ("expected", expected)):
            for name, value in arrays.items():
                flat[f"{qid}/{part}/{name}"] = np.asarray(value)
        flat[f"{qid}/present"] = np.array(True)
    return flat


def unpack_cases(flat: Arrays) -> dict[str, tuple[Arrays, Arrays]]:
    """Inverse of :func:`pack_cases`."""
    cases: dict[str, tuple[Arrays, Arrays]] = {}
    for key, value in flat.items():
        qid, part, *rest = key.split("/", 2)
        inputs, expected = cases.setdefault(qid, ({}, {}))
        if part == "inputs":
            inputs[rest[0]] = value
        elif part == "expected":
            expected[rest[0]] = value
    return cases


def public_case(question: Question) -> tuple[Arrays, Arrays]:
    """The stored public ``(inputs, expected)`` of a question (for :func:`check`).

    Raises
    ------
    FileNotFoundError
        With the command that regenerates the file when it is missing.
    """
    chapter = question.chapter
    if chapter not in _public_cache:
        path = fixture_path(chapter)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: the course files are incomplete. Regenerate it with "
                "`python -m shared.key.fixtures` (teacher's repository) or clone the course again.")
        with np.load(path, allow_pickle=False) as f:
            _public_cache[chapter] = unpack_cases({k: f[k] for k in f.files})
    cases = _public_cache[chapter]
    if question.qid not in cases:
        raise KeyError(f"no public case for {question.qid} in {fixture_path(chapter)}; "
                       "regenerate it with `python -m shared.key.fixtures`.")
    inputs, expected = cases[question.qid]
    return dict(inputs), dict(expected)


def check(question: Question, obj: Any) -> Feedback:
    """Immediate feedback in a notebook: evaluate ``obj`` on the public case and print the verdict.

    Parameters
    ----------
    question : Question
        The exercise to check.
    obj : any
        The student's function or answer.

    Returns
    -------
    Feedback
        ``passed`` and the message that was printed. The grader uses other,
        secret inputs: passing here is necessary, not sufficient.
    """
    lang = _language
    inputs, expected = public_case(question)
    outputs = compute_outputs(question, obj, inputs)
    fb = grade_outputs(question, inputs, expected, outputs, lang)
    title = question.title.get(lang, question.qid)
    mark = "📝" if fb.pending else ("✅" if fb.passed else "❌")
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
                       f"`{name}` devolvió forma {got.shape}, una pérdida para cada ejemplo: "
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
# Known wrong answers ("variants"): computed by the key, read by the checks
# ---------------------------------------------------------------------------

Variant = tuple[Any, str, str]


def pack_variants(variants: list[Variant], prefix: str = "variant") -> Arrays:
    """``[(value, en, es), ...]`` -> ``{"<prefix>/<i>/value": ..., ".../en": ..., ".../es": ...}``."""
    out: Arrays = {f"{prefix}/count": np.array(len(variants))}
    for i, (value, en, es) in enumerate(variants):
        out[f"{prefix}/{i}/value"] = np.asarray(value)
        out[f"{prefix}/{i}/en"] = np.array(en)
        out[f"{prefix}/{i}/es"] = np.array(es)
    return out


def unpack_variants(expected: Arrays, prefix: str = "variant") -> list[Variant]:
    """Inverse of :func:`pack_variants` (values as arrays, messages as ``str``)."""
    n = int(expected[f"{prefix}/count"])
    return [(np.asarray(expected[f"{prefix}/{i}/value"]), str(expected[f"{prefix}/{i}/en"]),
             str(expected[f"{prefix}/{i}/es"])) for i in range(n)]


# ---------------------------------------------------------------------------
# Multiple-choice questions
# ---------------------------------------------------------------------------

CHOICES = ("A", "B", "C", "D")


def _run_choice(value: Any, inputs: Arrays) -> Arrays:
    if isinstance(value, str):
        return {"answer": np.array(value)}
    return {"answer_type": np.array(type(value).__name__)}


def choice_letter(outputs: Arrays, target: str, lang: str) -> str | Feedback:
    """The letter of a multiple-choice answer, or the :class:`Feedback` on its format."""
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
    return letter


def choice_question(qid: str, points: float, target: str, title: dict[str, str]) -> Question:
    """A multiple-choice :class:`Question` (answers ``"A"``..``"D"``).

    The notebook's check only validates the format and says that the answer is
    recorded: which letter is right lives in the answer key
    (:func:`shared.key.core.choice_key`), so calling :func:`check` with every
    letter reveals nothing.
    """

    def evaluate(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
        letter = choice_letter(outputs, target, lang)
        if isinstance(letter, Feedback):
            return letter
        return Feedback(False, say(
            f'answer "{letter}" recorded. Only your teacher\'s grader scores this question; '
            "re-read the options and your reasoning before you hand in.",
            f'respuesta "{letter}" registrada. Solo el corrector de tu docente califica esta '
            "pregunta; relee las opciones y tu razonamiento antes de entregar.", lang), pending=True)

    return Question(qid=qid, points=points, target=target, title=title,
                    run=_run_choice, evaluate=evaluate, choice=True)
