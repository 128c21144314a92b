"""Graded questions of the GAN chapter.

Six questions (10 points):

====  ======  ==========================================================
Q1    2 pts   TensorFlow: discriminator loss and non-saturating generator
              loss from logits, numerically stable (+ gradients)
Q2    2 pts   Keras 3 / TensorFlow: one adversarial training step (a D step,
              then a G step) on tiny fixed models
Q3    2 pts   NumPy: the optimal discriminator D*(x) of a 1-D toy, stable
Q4    1 pt    NumPy: latent codes, standard normal or uniform on [-1, 1]
Q5    2 pts   NumPy/SciPy: Fréchet distance between two Gaussians (FID)
Q6    1 pt    Interpretation (multiple choice): what G minimises against D*
====  ======  ==========================================================

This module holds no answer key: ``run`` calls the student's object in the
student's kernel (importing TensorFlow/Keras lazily) and returns NumPy arrays;
``evaluate`` compares them with the ``expected`` results that the key
(:mod:`shared.key.gan`, teacher's side only) computed for the same inputs:
reference values and gradients, the weights after a reference training step
and after the known wrong steps, the values of known wrong answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from shared.checks.core import (Arrays, Feedback, Question, array_problem, choice_question, close_problem,
                                describe_error, fail, is_close, is_placeholder_error, ok, result_problem, say,
                                scalar_problem, scalar_value, to_numpy, unpack_variants)


def _short_error(exc: BaseException) -> str:
    """``"Type: message"`` with only the last line of a traced function's long error (TensorFlow
    prefixes it with the user code it was tracing)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    text = last if last.split(":", 1)[0].endswith(("Error", "Exception")) else f"{type(exc).__name__}: {last}"
    return text[:300]


def _is_tf_tensor(tf: Any, x: Any) -> bool:
    return isinstance(x, (tf.Tensor, tf.Variable)) or bool(tf.is_tensor(x))


# ---------------------------------------------------------------------------
# Q1. Losses from logits (TensorFlow)
# ---------------------------------------------------------------------------

#: the inputs each loss must be differentiable with respect to, and the output keys of their gradients
Q1_SOURCES = {"d": (("real_logits", "d_grad_real"), ("fake_logits", "d_grad_fake")),
              "g": (("fake_logits", "g_grad_fake"),)}


def run_q1(f: Any, inputs: Arrays) -> Arrays:
    """Call ``f`` eagerly under a tape (values and gradients w.r.t. the logits), then traced in
    ``tf.function``, as a ``train_step`` wrapped in ``tf.function`` calls it."""
    import tensorflow as tf

    logits = {k: tf.constant(inputs[k], dtype=tf.float32) for k in ("real_logits", "fake_logits")}
    with tf.GradientTape(persistent=True) as tape:
        for v in logits.values():
            tape.watch(v)
        out = f(logits["real_logits"], logits["fake_logits"])
    if not isinstance(out, (tuple, list)):
        return {"pair": np.array(f"not a pair: {type(out).__name__}")}
    if len(out) != 2:
        return {"pair": np.array(f"a sequence of length {len(out)}")}
    result: Arrays = {"d_loss": to_numpy(out[0]), "g_loss": to_numpy(out[1])}
    all_ok = True
    for name, loss in (("d", out[0]), ("g", out[1])):
        sources = Q1_SOURCES[name]
        if not _is_tf_tensor(tf, loss):
            note = "not_tensor"
        else:
            try:
                grads = tape.gradient(loss, [logits[k] for k, _ in sources])
            except Exception as exc:  # a loss that is not differentiable in some way
                note = f"gradient_failed: {_short_error(exc)}"
            else:
                missing = [k for (k, _), g in zip(sources, grads) if g is None]
                note = "no_grad:" + ",".join(missing) if missing else "ok"
                for (_, key), g in zip(sources, grads):
                    if g is not None:
                        result[key] = to_numpy(tf.convert_to_tensor(g))
        result[f"{name}_note"] = np.array(note)
        all_ok = all_ok and note == "ok"
    del tape
    if all_ok:
        @tf.function
        def traced(real, fake):
            with tf.GradientTape(persistent=True) as t:
                t.watch(real)
                t.watch(fake)
                d, g = f(real, fake)
                d, g = tf.convert_to_tensor(d), tf.convert_to_tensor(g)
            grads = [x for x in t.gradient(d, [real, fake]) + [t.gradient(g, fake)] if x is not None]
            return d, g, grads

        try:
            traced(logits["real_logits"], logits["fake_logits"])
            result["graph_note"] = np.array("ok")
        except Exception as exc:  # works eagerly but not when traced, as in tf.function(train_step)
            result["graph_note"] = np.array(f"graph_failed: {_short_error(exc)}")
    return result


def _unstable_message(name: str, got: float, lang: str) -> str:
    return say(
        f"`{name}` is {got}: a few logits are very confident (|logit| > 100), sigmoid() rounds to exactly "
        "0 or 1 in float32 and log(0) = −inf. Never take log(sigmoid(·)): use "
        "`tf.nn.softplus` (−log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l)) or "
        "`keras.losses.BinaryCrossentropy(from_logits=True)`.",
        f"`{name}` vale {got}: algunos logits son muy seguros (|logit| > 100), sigmoid() se redondea a "
        "exactamente 0 o 1 en float32 y log(0) = −inf. Nunca calcules log(sigmoid(·)): usa "
        "`tf.nn.softplus` (−log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l)) o "
        "`keras.losses.BinaryCrossentropy(from_logits=True)`.", lang)


#: what a loss's dependence on each input means, for the messages (en, es)
Q1_TERMS = {
    ("d_loss", "real_logits"): ("the real-image term −E[log D(x)]: D would not learn from the real images",
                                "el término de las imágenes reales −E[log D(x)]: D no aprendería de las "
                                "imágenes reales"),
    ("d_loss", "fake_logits"): ("the fake-image term −E[log(1 − D(G(z)))]: D would not learn to reject the fakes",
                                "el término de las falsas −E[log(1 − D(G(z)))]: D no aprendería a rechazar "
                                "las falsas"),
    ("g_loss", "fake_logits"): ("the whole G loss: no gradient would reach the generator",
                                "toda la pérdida de G: ningún gradiente llegaría al generador"),
}


def _q1_gradient_feedback(name: str, outputs: Arrays, expected: Arrays, lang: str) -> Feedback | None:
    note = str(outputs[f"{name[0]}_note"])
    if note == "not_tensor":
        return fail(say(
            f"the values are right, but `{name}` must be a TensorFlow tensor (no `.numpy()`, `float()`, "
            "`.item()` or NumPy functions): a NumPy or Python number is not differentiable, so "
            "`tf.GradientTape` could not train D and G with it.",
            f"los valores son correctos, pero `{name}` debe ser un tensor de TensorFlow (sin `.numpy()`, "
            "`float()`, `.item()` ni funciones de NumPy): un número de NumPy o de Python no es diferenciable, "
            "así que `tf.GradientTape` no podría entrenar a D y G con él.", lang))
    if note.startswith("gradient_failed"):
        detail = note[len("gradient_failed: "):]
        return fail(say(f"the values are right, but differentiating `{name}` failed ({detail}).",
                        f"los valores son correctos, pero derivar `{name}` falló ({detail}).", lang))
    if note.startswith("no_grad:"):
        missing = note[len("no_grad:"):].split(",")
        if len(missing) == len(Q1_SOURCES[name[0]]):
            return fail(say(
                f"the values are right, but `{name}` is not connected to the logits in the gradient tape, so it "
                "is not differentiable: use TensorFlow operations on the inputs (no `tf.stop_gradient`, no NumPy "
                "round trip, no new constants built from numbers).",
                f"los valores son correctos, pero `{name}` no está conectado con los logits en la cinta de "
                "gradientes, así que no es diferenciable: usa operaciones de TensorFlow sobre las entradas (sin "
                "`tf.stop_gradient`, sin pasar por NumPy ni constantes nuevas creadas a partir de números).",
                lang))
        k = missing[0]
        en, es = Q1_TERMS[(name, k)]
        return fail(say(
            f"the values are right, but in the gradient tape `{name}` does not depend on `{k}`: {en}. Part of "
            "the loss is cut off from the graph (`tf.stop_gradient`, a NumPy round trip or a new constant).",
            f"los valores son correctos, pero en la cinta de gradientes `{name}` no depende de `{k}`: {es}. Una "
            "parte de la pérdida está separada del grafo (`tf.stop_gradient`, un paso por NumPy o una "
            "constante nueva).", lang))
    for k, key in Q1_SOURCES[name[0]]:
        got, want = np.asarray(outputs[key]), np.asarray(expected[key])
        label = f"d {name} / d {k}"
        problem = array_problem(label, got, want.shape, lang)
        if problem:
            return fail(say(
                f"the values are right, but the gradient is not usable: {problem} "
                "Gradients of log(sigmoid(·)) are NaN where sigmoid rounds to 0: use softplus.",
                f"los valores son correctos, pero el gradiente no sirve: {problem} "
                "El gradiente de log(sigmoid(·)) es NaN donde la sigmoide se redondea a 0: usa softplus.",
                lang))
        problem = close_problem(label, got, want, lang, rtol=1e-3, atol=1e-6)
        if problem:
            return fail(say(
                f"the values are right, but the gradient of `{name}` with respect to `{k}` is not: {problem} "
                "Is part of the loss cut off from the graph (`tf.stop_gradient`, NumPy) or recomputed from "
                "numbers?",
                f"los valores son correctos, pero el gradiente de `{name}` respecto de `{k}` no: {problem} "
                "¿Hay una parte de la pérdida separada del grafo (`tf.stop_gradient`, NumPy) o recalculada a "
                "partir de números?", lang))
    return None


def evaluate_q1(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    if "pair" in outputs:
        return fail(say(f"`gan_losses` must return the pair `(d_loss, g_loss)`; it returned {outputs['pair']}.",
                        f"`gan_losses` debe devolver el par `(d_loss, g_loss)`; devolvió {outputs['pair']}.",
                        lang))
    n = inputs["real_logits"].shape[0]
    for name in ("d_loss", "g_loss"):
        value = np.asarray(outputs[name])
        problem = scalar_problem(name, value, n, lang)
        if problem:
            return fail(problem)
        got = scalar_value(value)
        if not np.isfinite(got):
            return fail(_unstable_message(name, got, lang))
        want = float(expected[name])
        if not is_close(got, want, rtol=1e-4, atol=1e-4):
            for alt, en, es in unpack_variants(expected, prefix=f"{name[0]}_variant"):
                if is_close(got, alt, rtol=1e-4, atol=1e-4):
                    return fail(say(f"`{name}` is wrong ({got:.5g}): {en}", f"`{name}` es incorrecto ({got:.5g}): {es}",
                                    lang))
            return fail(close_problem(name, got, want, lang, rtol=1e-4, atol=1e-4))
    for name in ("d_loss", "g_loss"):
        fb = _q1_gradient_feedback(name, outputs, expected, lang)
        if fb is not None:
            return fb
    note = str(outputs.get("graph_note", np.array("missing")))
    if note != "ok":
        detail = note.split(": ", 1)[-1]
        return fail(say(
            "the values and gradients are right eagerly, but `gan_losses` fails inside `tf.function`, which is "
            f"how the chapter runs your `train_step` ({detail}). Use TensorFlow operations only (no `.numpy()`, "
            "not even to print).",
            "los valores y los gradientes son correctos en modo inmediato, pero `gan_losses` falla dentro de "
            f"`tf.function`, que es como el capítulo ejecuta tu `train_step` ({detail}). Usa solo operaciones "
            "de TensorFlow (sin `.numpy()`, ni siquiera para imprimir).", lang))
    d, g = float(expected["d_loss"]), float(expected["g_loss"])
    return ok(lang, f"correct! D loss = {d:.4f}, G loss = {g:.4f}, finite values and gradients even for "
                    "|logit| > 100.",
              f"¡correcto! pérdida de D = {d:.4f}, pérdida de G = {g:.4f}, valores y gradientes finitos "
              "incluso con |logit| > 100.")


Q1 = Question(
    qid="gan.q1", points=2, target="gan_losses",
    title={"en": "GAN losses from logits (TensorFlow)", "es": "Pérdidas de la GAN a partir de logits (TensorFlow)"},
    run=run_q1, evaluate=evaluate_q1)


# ---------------------------------------------------------------------------
# Q2. One training step (Keras 3 models, TensorFlow tape)
# ---------------------------------------------------------------------------

#: the tiny models' architecture: latent size, hidden units (tanh), data size
Q2_LATENT, Q2_HIDDEN, Q2_DATA = 3, 8, 2
D_KEYS = ("d_w1", "d_b1", "d_w2", "d_b2")
G_KEYS = ("g_w1", "g_b1", "g_w2", "g_b2")


def _q2_models(inputs: Arrays) -> tuple[Any, Any, Any, Any]:
    import keras

    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((Q2_LATENT,)), keras.layers.Dense(Q2_HIDDEN, activation="tanh"),
                                  keras.layers.Dense(Q2_DATA)], name="tiny_generator")
    discriminator = keras.Sequential([keras.Input((Q2_DATA,)), keras.layers.Dense(Q2_HIDDEN, activation="tanh"),
                                      keras.layers.Dense(1)], name="tiny_discriminator")
    generator.set_weights([inputs[k] for k in G_KEYS])
    discriminator.set_weights([inputs[k] for k in D_KEYS])
    lr = float(inputs["learning_rate"])
    return generator, discriminator, keras.optimizers.SGD(learning_rate=lr), keras.optimizers.SGD(learning_rate=lr)


def _q2_weights(generator: Any, discriminator: Any) -> Arrays:
    out = {k: np.asarray(w) for k, w in zip(G_KEYS, generator.get_weights())}
    out.update({k: np.asarray(w) for k, w in zip(D_KEYS, discriminator.get_weights())})
    return out


def _innermost_function(exc: BaseException) -> str:
    """Name of the function whose frame raised ``exc`` (without AutoGraph's ``tf__`` prefix)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    name = frames[-1].name if frames else ""
    return name[len("tf__"):] if name.startswith("tf__") else name


def run_q2(f: Any, inputs: Arrays) -> Arrays:
    """Run the step eagerly on fresh tiny models, then again, on fresh copies, inside ``tf.function``
    (as the chapter does): the weights after each run, the returned losses, what went wrong."""
    import tensorflow as tf

    real, z = tf.constant(inputs["real"]), tf.constant(inputs["z"])
    generator, discriminator, g_opt, d_opt = _q2_models(inputs)
    try:
        out = f(generator, discriminator, g_opt, d_opt, real, z)
    except Exception as exc:
        if is_placeholder_error(exc):
            inner = _innermost_function(exc)
            if inner in ("", getattr(f, "__name__", "")):
                raise  # the exercise's own placeholder: not answered yet
            return {**_q2_weights(generator, discriminator), "raised": np.array(f"placeholder:{inner}")}
        # the weights as the error left them: they tell which step failed
        return {**_q2_weights(generator, discriminator), "raised": np.array(describe_error(exc))}
    result = _q2_weights(generator, discriminator)
    if isinstance(out, (tuple, list)) and len(out) == 2:
        result["d_loss"], result["g_loss"] = to_numpy(out[0]), to_numpy(out[1])
    else:
        result["returned"] = np.array(type(out).__name__ if not isinstance(out, (tuple, list))
                                      else f"a sequence of length {len(out)}")
    generator, discriminator, g_opt, d_opt = _q2_models(inputs)
    try:
        tf.function(f)(generator, discriminator, g_opt, d_opt, real, z)
    except Exception as exc:  # works eagerly, not as a graph: .numpy(), NumPy functions, Python floats...
        result["graph_note"] = np.array(f"graph_failed: {_short_error(exc)}")
        return result
    traced = _q2_weights(generator, discriminator)
    same = all(np.allclose(traced[k], result[k], rtol=1e-4, atol=1e-6, equal_nan=True) for k in traced)
    result["graph_note"] = np.array("ok" if same else "graph_differs")
    return result


def _same(got: list, want: list) -> bool:
    scale = max(float(np.max(np.abs(w))) for w in want)
    return all(is_close(g, w, rtol=1e-4, atol=2e-5 * max(scale, 1.0)) for g, w in zip(got, want))


def _q2_split(flat: np.ndarray, inputs: Arrays) -> tuple[list, list]:
    """A flat vector of weights (D's then G's, as the key packs them) -> (D list, G list)."""
    out, i = [], 0
    for k in D_KEYS + G_KEYS:
        size = int(np.prod(inputs[k].shape))
        out.append(np.asarray(flat[i:i + size], dtype=np.float64).reshape(inputs[k].shape))
        i += size
    return out[:len(D_KEYS)], out[len(D_KEYS):]


def _q2_after(inputs: Arrays, outputs: Arrays) -> tuple[list, list]:
    return ([np.asarray(outputs[k], dtype=np.float64) for k in D_KEYS],
            [np.asarray(outputs[k], dtype=np.float64) for k in G_KEYS])


def _q2_raised(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    err = str(outputs["raised"])
    if err.startswith("placeholder:"):
        inner = err[len("placeholder:"):]
        q_en, q_es = (" (Q1)", " (P1)") if inner == "gan_losses" else ("", "")
        return fail(say(f"`train_step` calls `{inner}`, which is not answered yet: answer it first{q_en}.",
                        f"`train_step` llama a `{inner}`, que todavía no tiene respuesta: respóndela primero{q_es}.",
                        lang))
    D0, G0 = _q2_after(inputs, inputs)
    D, G = _q2_after(inputs, outputs)
    d_right = any(_same(D, _q2_split(w, inputs)[0]) for w in expected["accepted/weights"])
    untouched = _same(D, D0) and _same(G, G0)
    if "No gradients provided" in err:
        if d_right and _same(G, G0):
            return fail(say(
                f"the D step is right, but the G step raised {err}: no gradient of the G loss reached G's "
                "weights. Compute `generator(z)` INSIDE the tape of the G step and keep the path to D's logits "
                "differentiable: no `tf.stop_gradient` on the fakes, no NumPy round trip (`.numpy()`, `np.*`), "
                "no fakes left over from the D step.",
                f"el paso de D es correcto, pero el paso de G produjo el error {err}: ningún gradiente de la "
                "pérdida de G llegó a los pesos de G. Calcula `generator(z)` DENTRO de la cinta del paso de G y "
                "mantén diferenciable el camino hasta los logits de D: sin `tf.stop_gradient` sobre las falsas, "
                "sin pasar por NumPy (`.numpy()`, `np.*`) ni reutilizar las falsas del paso de D.", lang))
        if untouched:
            return fail(say(
                f"the D step raised {err}: no gradient of the D loss reached D's weights. Compute D's logits "
                "and the loss with TensorFlow operations inside the tape (no NumPy round trip such as "
                "`.numpy()` or `float()`, no `tf.stop_gradient` on the loss).",
                f"el paso de D produjo el error {err}: ningún gradiente de la pérdida de D llegó a los pesos de "
                "D. Calcula los logits de D y la pérdida con operaciones de TensorFlow dentro de la cinta (sin "
                "pasar por NumPy con `.numpy()` o `float()`, sin `tf.stop_gradient` sobre la pérdida).", lang))
    built_with = "This optimizer can only be called for the variables it was originally built with"
    if built_with in err:
        return fail(say(
            f'calling `train_step` raised Keras\'s ValueError "Unknown variable ... {built_with}": one optimizer '
            "was used for both networks. Use each optimizer for its own network, `d_optimizer` for "
            "`discriminator.trainable_variables` and `g_optimizer` for `generator.trainable_variables`.",
            f'al llamar a `train_step` se produjo el ValueError de Keras "Unknown variable ... {built_with}": se '
            "usó un mismo optimizador para las dos redes. Usa cada optimizador para su propia red, "
            "`d_optimizer` para `discriminator.trainable_variables` y `g_optimizer` para "
            "`generator.trainable_variables`.", lang))
    return fail(say(f"calling `train_step` raised {err}",
                    f"al llamar a `train_step` se produjo el error {err}", lang))


def evaluate_q2(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    if "raised" in outputs:
        return _q2_raised(inputs, expected, outputs, lang)
    for k in D_KEYS + G_KEYS:
        problem = array_problem(k, np.asarray(outputs[k]), inputs[k].shape, lang)
        if problem:
            return fail(say(f"after your step the weights are not usable: {problem}",
                            f"después de tu paso los pesos no sirven: {problem}", lang))
    D0, G0 = _q2_after(inputs, inputs)
    D, G = _q2_after(inputs, outputs)
    d_moved, g_moved = not _same(D, D0), not _same(G, G0)
    if not d_moved and not g_moved:
        return fail(say("neither network changed: apply the gradients with "
                        "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`. If your gradients "
                        "are None, the losses are cut off from the weights (`tf.stop_gradient`, a NumPy round "
                        "trip, or computed outside the tape).",
                        "ninguna de las dos redes cambió: aplica los gradientes con "
                        "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`. Si tus gradientes "
                        "son None, las pérdidas están separadas de los pesos (`tf.stop_gradient`, un paso por "
                        "NumPy, o calculadas fuera de la cinta).", lang))
    accepted = [_q2_split(w, inputs) for w in expected["accepted/weights"]]
    for i, (D_want, G_want) in enumerate(accepted):
        if _same(D, D_want) and _same(G, G_want):
            return _q2_accepted(i, inputs, expected, outputs, lang)
    for flat, en, es in unpack_variants(expected, prefix="mistake"):
        D_want, G_want = _q2_split(flat, inputs)
        if _same(D, D_want) and _same(G, G_want):
            return fail(say(en, es, lang))
    d_right = any(_same(D, D_want) for D_want, _ in accepted)
    if d_right and not g_moved:
        return fail(say(
            "the D step is right, but G did not move: in the G step the gradient must flow from D's logits back "
            "through the fakes into G. Compute `generator(z)` inside the tape of the G step and do not wrap "
            "it in `tf.stop_gradient` or take it through NumPy (`.numpy()`).",
            "el paso de D es correcto, pero G no se movió: en el paso de G el gradiente debe fluir desde los "
            "logits de D, a través de las falsificaciones, hasta G. Calcula `generator(z)` dentro de la cinta "
            "del paso de G y no lo envuelvas en `tf.stop_gradient` ni lo pases por NumPy (`.numpy()`).", lang))
    if d_moved and not g_moved:
        return fail(say(
            "D took a step but G did not move: in the G step the gradient must flow from D's logits back "
            "through the fakes into G. Compute `generator(z)` inside the tape of the G step and do not wrap "
            "it in `tf.stop_gradient`.",
            "D dio un paso pero G no se movió: en el paso de G el gradiente debe fluir desde los logits de D, "
            "a través de las falsificaciones, hasta G. Calcula `generator(z)` dentro de la cinta del paso de "
            "G y no lo envuelvas en `tf.stop_gradient`.", lang))
    if g_moved and not d_moved:
        return fail(say("G took a step but D did not move: the step must first update D on its own loss. If "
                        "D's gradients are None, the D loss is cut off from D's weights (a NumPy round trip such "
                        "as `.numpy()` or `float()`, `tf.stop_gradient`, or computed outside the tape).",
                        "G dio un paso pero D no se movió: el paso primero debe actualizar D con su propia "
                        "pérdida. Si los gradientes de D son None, la pérdida de D está separada de los pesos de "
                        "D (un paso por NumPy como `.numpy()` o `float()`, `tf.stop_gradient`, o calculada fuera "
                        "de la cinta).", lang))
    # first order: a step along +gradient makes the loss go up
    step_d = np.concatenate([(a - b).ravel() for a, b in zip(D, D0)])
    step_g = np.concatenate([(a - b).ravel() for a, b in zip(G, G0)])
    if float(step_d @ expected["grad_d"]) >= 0:
        return fail(say(
            "your step makes D's loss on this batch go UP (D's weights moved along the gradient of the D loss, "
            "not against it): check the labels (reals 1, fakes 0) and that you apply the gradient of the D loss.",
            "tu paso hace SUBIR la pérdida de D en este lote (los pesos de D se movieron en la dirección del "
            "gradiente de la pérdida de D, no en contra): revisa las etiquetas (reales 1, falsas 0) y que "
            "apliques el gradiente de la pérdida de D.", lang))
    if float(step_g @ expected["grad_g"]) >= 0:
        return fail(say(
            "your step makes G's non-saturating loss go UP (G's weights moved along its gradient, not against "
            "it): G must minimise −E[log D(G(z))].",
            "tu paso hace SUBIR la pérdida no saturante de G (los pesos de G se movieron en la dirección de su "
            "gradiente, no en contra): G debe minimizar −E[log D(G(z))].", lang))
    where = "G" if d_right else "D"
    return fail(say(
        f"both losses go down, but {where}'s new weights are not those of one plain gradient step "
        "on the losses of Q1 (use the optimizers you receive, once each, and the codes `z` you receive "
        "for both steps).",
        f"las dos pérdidas bajan, pero los nuevos pesos de {where} no son los de un paso de gradiente "
        "con las pérdidas de la P1 (usa los optimizadores que recibes, una vez cada uno, y los códigos "
        "`z` que recibes en los dos pasos).", lang))


def _q2_accepted(i: int, inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    """The weights match accepted step ``i``: check the returned losses and the traced run."""
    if "returned" in outputs:
        return fail(say(f"the weights are right, but `train_step` must return the pair `(d_loss, g_loss)`; "
                        f"it returned {outputs['returned']}.",
                        f"los pesos son correctos, pero `train_step` debe devolver el par `(d_loss, g_loss)`; "
                        f"devolvió {outputs['returned']}.", lang))
    n = inputs["real"].shape[0]
    for name in ("d_loss", "g_loss"):
        problem = scalar_problem(name, np.asarray(outputs[name]), n, lang)
        if problem:
            return fail(say(f"the weights are right, but: {problem}", f"los pesos son correctos, pero: {problem}",
                            lang))
    want_d, want_g = float(expected["accepted/d_loss"][i]), expected["accepted/g_loss"][i]
    main_g = float(expected["accepted/g_loss_main"][i])
    d_got, g_got = scalar_value(outputs["d_loss"]), scalar_value(outputs["g_loss"])
    if not is_close(d_got, want_d, rtol=1e-4, atol=1e-5) or \
            not any(is_close(g_got, w, rtol=1e-4, atol=1e-5) for w in want_g):
        return fail(say(
            f"the weights are right, but the returned losses ({d_got:.5g}, {g_got:.5g}) are not the D loss and "
            f"the G loss computed in the two steps ({want_d:.5g}, {main_g:.5g}).",
            f"los pesos son correctos, pero las pérdidas devueltas ({d_got:.5g}, {g_got:.5g}) no son la pérdida "
            f"de D y la de G calculadas en los dos pasos ({want_d:.5g}, {main_g:.5g}).", lang))
    note = str(outputs.get("graph_note", np.array("missing")))
    if note.startswith("graph_failed"):
        return fail(say(
            "the step is right eagerly, but it fails inside `tf.function`, which is how the chapter runs it "
            f"(`tf.function(train_step)`): {note[len('graph_failed: '):]}. Keep the whole step in TensorFlow: "
            "no NumPy round trips (`.numpy()`, `np.*`, `float()`) on tensors.",
            "el paso es correcto en modo inmediato, pero falla dentro de `tf.function`, que es como lo ejecuta el "
            f"capítulo (`tf.function(train_step)`): {note[len('graph_failed: '):]}. Mantén todo el paso en "
            "TensorFlow: sin pasar los tensores por NumPy (`.numpy()`, `np.*`, `float()`).", lang))
    if note != "ok":
        return fail(say(
            "the step is right eagerly, but inside `tf.function` (as the chapter runs it) it gives other "
            "weights: do not rely on Python side effects or NumPy values computed from tensors.",
            "el paso es correcto en modo inmediato, pero dentro de `tf.function` (como lo ejecuta el capítulo) "
            "da otros pesos: no dependas de efectos secundarios de Python ni de valores de NumPy calculados a "
            "partir de tensores.", lang))
    d_before, d_after, g_before, g_after = (float(v) for v in expected["accepted/summary"][i])
    return ok(lang,
              f"correct! D's loss on the batch {d_before:.4f} → {d_after:.4f}; G's non-saturating loss "
              f"{g_before:.4f} → {g_after:.4f}; D untouched by the G step; works inside tf.function.",
              f"¡correcto! pérdida de D en el lote {d_before:.4f} → {d_after:.4f}; pérdida no saturante de G "
              f"{g_before:.4f} → {g_after:.4f}; el paso de G no tocó a D; funciona dentro de tf.function.")


Q2 = Question(
    qid="gan.q2", points=2, target="train_step",
    title={"en": "One adversarial training step (Keras 3)", "es": "Un paso de entrenamiento adversario (Keras 3)"},
    run=run_q2, evaluate=evaluate_q2)


# ---------------------------------------------------------------------------
# Q3. The optimal discriminator of a 1-D toy
# ---------------------------------------------------------------------------

def run_q3(f: Any, inputs: Arrays) -> Arrays:
    mu_data, sigma_data, mu_g, sigma_g = (float(v) for v in inputs["params"])
    return {"d": to_numpy(f(inputs["x"], mu_data, sigma_data, mu_g, sigma_g))}


def evaluate_q3(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "optimal_discriminator"
    x = inputs["x"]
    got = np.asarray(outputs["d"])
    if got.dtype.kind in "iuf" and got.shape == x.shape and not np.all(np.isfinite(got)):
        bad = np.flatnonzero(~np.isfinite(got))
        return fail(say(
            f"`{name}` is NaN/inf at {bad.size} point(s), e.g. x = {x[bad[0]]:.1f}: far from both Gaussians "
            "both densities round to 0 and you get 0/0. Write D* = 1 / (1 + p_g/p_data) = "
            "sigmoid(log p_data − log p_g) and compute the log-densities directly "
            "(`scipy.special.expit` is a stable sigmoid).",
            f"`{name}` es NaN/inf en {bad.size} punto(s), p. ej. x = {x[bad[0]]:.1f}: lejos de las dos "
            "gaussianas ambas densidades se redondean a 0 y obtienes 0/0. Escribe D* = 1 / (1 + p_g/p_data) = "
            "sigmoid(log p_data − log p_g) y calcula directamente las log-densidades "
            "(`scipy.special.expit` es una sigmoide estable).", lang))
    problem = result_problem(name, got, x.shape, lang)
    if problem:
        return fail(problem)
    if is_close(got, expected["d"], rtol=1e-5, atol=1e-7):
        return ok(lang, "correct! D*(x) = 1/2 exactly where the two densities cross.",
                  "¡correcto! D*(x) = 1/2 exactamente donde las dos densidades se cruzan.")
    for alt, en, es in unpack_variants(expected):
        if is_close(got, alt, rtol=1e-5, atol=1e-7):
            return fail(say(f"not quite: {en}", f"no exactamente: {es}", lang))
    ratio = np.asarray(expected["ratio"], dtype=np.float64)
    inside = np.isfinite(ratio)
    if np.all(got >= 0) and is_close(got[inside], ratio[inside], rtol=1e-4, atol=1e-7):
        return fail(say("that is the density ratio p_data / p_g; D* divides by p_data + p_g and lies in [0, 1].",
                        "eso es el cociente de densidades p_data / p_g; D* divide entre p_data + p_g y está en "
                        "[0, 1].", lang))
    if np.any(got < 0) or np.any(got > 1):
        return fail(say(f"`{name}` must be a probability, in [0, 1]; got values in [{got.min():.3g}, {got.max():.3g}].",
                        f"`{name}` debe ser una probabilidad, en [0, 1]; sus valores están en "
                        f"[{got.min():.3g}, {got.max():.3g}].", lang))
    return fail(close_problem(name, got, expected["d"], lang, rtol=1e-5, atol=1e-7))


Q3 = Question(
    qid="gan.q3", points=2, target="optimal_discriminator",
    title={"en": "The optimal discriminator of a 1-D toy", "es": "El discriminador óptimo de un ejemplo 1-D"},
    run=run_q3, evaluate=evaluate_q3)


# ---------------------------------------------------------------------------
# Q4. Latent codes: normal or uniform on [-1, 1] (statistical checks, nothing expected)
# ---------------------------------------------------------------------------

#: smallest Kolmogorov-Smirnov p-value accepted (a correct sampler fails once in a million)
Q4_P_MIN = 1e-6


def run_q4(f: Any, inputs: Arrays) -> Arrays:
    n, dim = (int(v) for v in inputs["shape"])
    s0, s1 = (int(s) for s in inputs["seeds"])
    out: Arrays = {}
    for kind in ("normal", "uniform"):
        out[f"{kind}_a"] = to_numpy(f(n, dim, kind, np.random.default_rng(s0)))
        out[f"{kind}_b"] = to_numpy(f(n, dim, kind, np.random.default_rng(s0)))
        out[f"{kind}_c"] = to_numpy(f(n, dim, kind, np.random.default_rng(s1)))
        out[f"{kind}_dtype"] = np.array(str(np.asarray(out[f"{kind}_a"]).dtype))
    try:
        f(n, dim, "gaussian", np.random.default_rng(s0))
        out["unknown_kind"] = np.array("accepted")
    except ValueError:
        out["unknown_kind"] = np.array("ValueError")
    except Exception as exc:
        out["unknown_kind"] = np.array(type(exc).__name__)
    return out


def evaluate_q4(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "sample_latent"
    shape = tuple(int(v) for v in inputs["shape"])
    for kind in ("normal", "uniform"):
        a = np.asarray(outputs[f"{kind}_a"])
        if a.dtype.kind in "iuf" and a.shape == shape[::-1] and shape[0] != shape[1]:
            return fail(say(f'`{name}(n, dim, "{kind}", rng)` has shape {a.shape}: one ROW per code, (n, dim).',
                            f'`{name}(n, dim, "{kind}", rng)` tiene forma {a.shape}: una FILA por código, '
                            "(n, dim).", lang))
        problem = result_problem(f'{name}(n, dim, "{kind}", rng)', a, shape, lang)
        if problem:
            return fail(problem)
        if str(outputs[f"{kind}_dtype"]) != "float32":
            return fail(say(f'`{name}(..., "{kind}", ...)` has dtype {outputs[f"{kind}_dtype"]}; Keras layers work '
                            "in float32: add `.astype(np.float32)`.",
                            f'`{name}(..., "{kind}", ...)` tiene dtype {outputs[f"{kind}_dtype"]}; las capas de '
                            "Keras trabajan en float32: agrega `.astype(np.float32)`.", lang))
        b, c = np.asarray(outputs[f"{kind}_b"]), np.asarray(outputs[f"{kind}_c"])
        if not np.array_equal(a, b):
            return fail(say(f'`{name}(..., "{kind}", rng)` is not reproducible: the same seed must give the same '
                            "codes. Draw every number from `rng` (not `np.random.*`, `tf.random.*`).",
                            f'`{name}(..., "{kind}", rng)` no es reproducible: la misma semilla debe dar los '
                            "mismos códigos. Toma todos los números de `rng` (no de `np.random.*` ni "
                            "`tf.random.*`).", lang))
        problem = result_problem(f'{name}(n, dim, "{kind}", rng)', c, shape, lang)
        if problem:
            return fail(problem)
        if np.array_equal(a, c):
            return fail(say(f'`{name}(..., "{kind}", rng)` gives the same codes for generators built from two '
                            "different seeds: the codes must be drawn from `rng`, not fixed or stored in advance.",
                            f'`{name}(..., "{kind}", rng)` da los mismos códigos con generadores creados a partir '
                            "de dos semillas distintas: los códigos deben tomarse de `rng`, no estar fijos ni "
                            "guardados de antemano.", lang))
        distinct = min(np.unique(a[:, j]).size for j in range(shape[1]))
        if distinct < 0.9 * shape[0]:
            return fail(say(f'`{name}(..., "{kind}", rng)` repeats values: a column of {shape[0]} codes holds only '
                            f"{distinct} distinct numbers, but draws from a continuous distribution do not repeat "
                            "(did you round them, or pick them from a small set?).",
                            f'`{name}(..., "{kind}", rng)` repite valores: una columna de {shape[0]} códigos '
                            f"tiene solo {distinct} números distintos, pero las muestras de una distribución "
                            "continua no se repiten (¿las redondeaste o las elegiste de un conjunto pequeño?).",
                            lang))
        reused = float(np.isin(c.ravel(), a.ravel()).mean())
        if reused > 0.5:
            return fail(say(f'`{name}(..., "{kind}", rng)` gives, for two different seeds, mostly the same numbers '
                            f"({100 * reused:.0f}% of them) in another order: draw fresh numbers from `rng` "
                            "instead of shuffling a stored array.",
                            f'`{name}(..., "{kind}", rng)` da, para dos semillas distintas, casi los mismos '
                            f"números ({100 * reused:.0f} % de ellos) en otro orden: toma números nuevos de `rng` "
                            "en vez de barajar un arreglo guardado.", lang))
    a = np.asarray(outputs["uniform_a"], dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    if lo < -1 or hi > 1:
        extra = say(" (that looks like a normal distribution)", " (parece una distribución normal)", lang) \
            if stats.kstest(a.ravel(), "norm").pvalue > Q4_P_MIN else ""
        return fail(say(f'`"uniform"` codes must lie in [−1, 1]; got values in [{lo:.3g}, {hi:.3g}]{extra}.',
                        f'los códigos `"uniform"` deben estar en [−1, 1]; sus valores están en '
                        f"[{lo:.3g}, {hi:.3g}]{extra}.", lang))
    if lo >= 0:
        return fail(say('`"uniform"` codes are all ≥ 0: `rng.random` draws from [0, 1); the interval is [−1, 1] '
                        "(`rng.uniform(-1, 1, size)`).",
                        'los códigos `"uniform"` son todos ≥ 0: `rng.random` muestrea en [0, 1); el intervalo es '
                        "[−1, 1] (`rng.uniform(-1, 1, size)`).", lang))
    for j in range(shape[1]):
        p = stats.kstest(a[:, j], "uniform", args=(-1, 2)).pvalue
        if p < Q4_P_MIN:
            return fail(say(f'column {j} of the `"uniform"` codes is not uniform on [−1, 1] '
                            f"(Kolmogorov-Smirnov p = {p:.2g}; mean {a[:, j].mean():.3f}, variance "
                            f"{a[:, j].var():.3f}, expected 0 and 1/3).",
                            f'la columna {j} de los códigos `"uniform"` no es uniforme en [−1, 1] '
                            f"(Kolmogorov-Smirnov p = {p:.2g}; media {a[:, j].mean():.3f}, varianza "
                            f"{a[:, j].var():.3f}, se esperaba 0 y 1/3).", lang))
    b = np.asarray(outputs["normal_a"], dtype=np.float64)
    if b.min() >= -1 and b.max() <= 1:
        return fail(say('the `"normal"` codes all lie in [−1, 1]: did you swap the two kinds?',
                        'los códigos `"normal"` están todos en [−1, 1]: ¿intercambiaste los dos tipos?', lang))
    for j in range(shape[1]):
        p = stats.kstest(b[:, j], "norm").pvalue
        if p < Q4_P_MIN:
            return fail(say(f'column {j} of the `"normal"` codes is not standard normal (Kolmogorov-Smirnov '
                            f"p = {p:.2g}; mean {b[:, j].mean():.3f}, variance {b[:, j].var():.3f}, expected "
                            "0 and 1).",
                            f'la columna {j} de los códigos `"normal"` no es normal estándar '
                            f"(Kolmogorov-Smirnov p = {p:.2g}; media {b[:, j].mean():.3f}, varianza "
                            f"{b[:, j].var():.3f}, se esperaba 0 y 1).", lang))
    corr = np.corrcoef(np.concatenate([a, b], axis=1), rowvar=False)
    off = np.abs(corr - np.eye(len(corr))).max()
    if off > 0.15:
        return fail(say(f"the coordinates of a code should be independent, but two of them have correlation "
                        f"{off:.2f}.",
                        f"las coordenadas de un código deberían ser independientes, pero dos de ellas tienen "
                        f"correlación {off:.2f}.", lang))
    if str(outputs["unknown_kind"]) != "ValueError":
        return fail(say('both samplers are right, but an unknown `kind` (e.g. "gaussian") must raise a '
                        f"ValueError that names the valid kinds (got: {outputs['unknown_kind']}).",
                        'los dos muestreadores son correctos, pero un `kind` desconocido (p. ej. "gaussian") '
                        f"debe lanzar un ValueError que nombre los tipos válidos (se obtuvo: "
                        f"{outputs['unknown_kind']}).", lang))
    return ok(lang, "correct! Reproducible float32 codes with the right distributions.",
              "¡correcto! códigos float32 reproducibles con las distribuciones correctas.")


Q4 = Question(
    qid="gan.q4", points=1, target="sample_latent",
    title={"en": "Swapping the latent distribution", "es": "Cambiar la distribución latente"},
    run=run_q4, evaluate=evaluate_q4)


# ---------------------------------------------------------------------------
# Q5. Fréchet distance between two Gaussians
# ---------------------------------------------------------------------------

#: the message of an entrywise square root (also what a NaN result most likely comes from), (en, es)
Q5_ENTRYWISE = (
    "`np.sqrt` takes the square root of each ENTRY, not the matrix square root (a matrix M^{1/2} with "
    "M^{1/2} M^{1/2} = M): use the symmetric form (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} with `np.linalg.eigh`, "
    "or `scipy.linalg.sqrtm`.",
    "`np.sqrt` saca la raíz de cada ENTRADA, no la raíz cuadrada matricial (una matriz M^{1/2} con "
    "M^{1/2} M^{1/2} = M): usa la forma simétrica (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} con `np.linalg.eigh`, "
    "o `scipy.linalg.sqrtm`.")

Q5_LABELS = {
    "en": ["a general pair", "two identical Gaussians", "a pair of rank-deficient covariances",
           "a pair of diagonal covariances", "a pair with large variances"],
    "es": ["un par general", "dos gaussianas idénticas", "un par de covarianzas de rango incompleto",
           "un par de covarianzas diagonales", "un par con varianzas grandes"],
}


def run_q5(f: Any, inputs: Arrays) -> Arrays:
    p = len(inputs["mu1"])
    fwd = [to_numpy(f(inputs["mu1"][i], inputs["cov1"][i], inputs["mu2"][i], inputs["cov2"][i])) for i in range(p)]
    bwd = [to_numpy(f(inputs["mu2"][i], inputs["cov2"][i], inputs["mu1"][i], inputs["cov1"][i])) for i in range(p)]
    return {f"fwd_{i}": v for i, v in enumerate(fwd)} | {f"bwd_{i}": v for i, v in enumerate(bwd)}


def evaluate_q5(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "frechet_distance"
    p = len(inputs["mu1"])
    variants = unpack_variants(expected)
    for i in range(p):
        mu1, cov1, mu2, cov2 = (np.asarray(inputs[k][i], dtype=np.float64) for k in ("mu1", "cov1", "mu2", "cov2"))
        want = float(expected["value"][i])
        scale = float(np.trace(cov1) + np.trace(cov2) + np.sum((mu1 - mu2) ** 2))
        where_en, where_es = Q5_LABELS["en"][i % 5], Q5_LABELS["es"][i % 5]
        for key in (f"fwd_{i}", f"bwd_{i}"):
            value = np.asarray(outputs[key])
            if value.dtype.kind == "c":
                return fail(say(
                    f"for {where_en} `{name}` returned a complex number ({complex(value.reshape(-1)[0]):.4g}): "
                    "`scipy.linalg.sqrtm` of the non-symmetric product Σ1 Σ2 can return tiny imaginary parts. "
                    "Keep the real part, or better use the symmetric PSD form (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}.",
                    f"para {where_es} `{name}` devolvió un número complejo ({complex(value.reshape(-1)[0]):.4g}): "
                    "`scipy.linalg.sqrtm` del producto no simétrico Σ1 Σ2 puede devolver partes imaginarias "
                    "diminutas. Quédate con la parte real o, mejor, usa la forma simétrica y semidefinida "
                    "positiva (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}.", lang))
            problem = scalar_problem(name, value, 0, lang)
            if problem:
                return fail(problem)
            got = scalar_value(value)
            if not np.isfinite(got):
                return fail(say(f"for {where_en} `{name}` returned {got}. {Q5_ENTRYWISE[0]}",
                                f"para {where_es} `{name}` devolvió {got}. {Q5_ENTRYWISE[1]}", lang))
            tol = dict(rtol=1e-5, atol=1e-6 * scale)
            if is_close(got, want, **tol):
                continue
            if key.startswith("bwd") and is_close(scalar_value(outputs[f"fwd_{i}"]), want, **tol):
                return fail(say(f"for {where_en}, swapping the two Gaussians changes your result "
                                f"({scalar_value(outputs[f'fwd_{i}']):.5g} vs {got:.5g}), but the Fréchet distance is "
                                "symmetric.",
                                f"para {where_es}, intercambiar las dos gaussianas cambia tu resultado "
                                f"({scalar_value(outputs[f'fwd_{i}']):.5g} frente a {got:.5g}), pero la distancia de "
                                "Fréchet es simétrica.", lang))
            for alt, en, es in variants:
                alt_i = float(np.asarray(alt).reshape(-1)[i])
                if np.isfinite(alt_i) and is_close(got, alt_i, **tol):
                    return fail(say(f"for {where_en} you got {got:.5g} instead of {want:.5g}: {en}",
                                    f"para {where_es} obtuviste {got:.5g} en vez de {want:.5g}: {es}", lang))
            if got < -1e-6 * scale:
                return fail(say(f"for {where_en} you got a negative distance ({got:.5g}); expected {want:.5g}.",
                                f"para {where_es} obtuviste una distancia negativa ({got:.5g}); se esperaba "
                                f"{want:.5g}.", lang))
            return fail(say(f"for {where_en}: ", f"para {where_es}: ", lang)
                        + close_problem(name, got, want, lang, **tol))
    return ok(lang, "correct! Zero for identical Gaussians, symmetric, and stable with rank-deficient covariances.",
              "¡correcto! cero para gaussianas idénticas, simétrica y estable con covarianzas de rango incompleto.")


Q5 = Question(
    qid="gan.q5", points=2, target="frechet_distance",
    title={"en": "Fréchet distance between two Gaussians", "es": "Distancia de Fréchet entre dos gaussianas"},
    run=run_q5, evaluate=evaluate_q5)


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice; the letter is in the key)
# ---------------------------------------------------------------------------

Q6_TARGET = "answer_q6"

Q6 = choice_question(
    qid="gan.q6", points=1, target=Q6_TARGET,
    title={"en": "What does G minimise against D*?", "es": "¿Qué minimiza G frente a D*?"})


QUESTIONS = [Q1, Q2, Q3, Q4, Q5, Q6]

__all__ = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "QUESTIONS"]
