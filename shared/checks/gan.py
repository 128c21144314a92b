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

``make_inputs`` and ``evaluate`` are pure NumPy/SciPy (they run in the
grader's process). ``run`` runs in the student's kernel: it imports
TensorFlow/Keras lazily, calls the student's object and returns NumPy arrays.

The reference implementations are public functions of this module
(``ref_gan_losses``, ``ref_train_step``, ``ref_optimal_discriminator``,
``ref_frechet_distance``...). For Q2 the grader never sees the student's
models: it rebuilds, in NumPy and float64, what one SGD step of each network
must do to the weights it sent, and compares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from scipy.special import expit, log_expit

from shared.checks.core import (Arrays, choice_question, Feedback, Question, array_problem, close_problem, fail, is_close, ok,
                                result_problem, say, scalar_problem, scalar_value, to_numpy)

LOG_2PI = float(np.log(2.0 * np.pi))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x), stable for any x (float64)."""
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


# ---------------------------------------------------------------------------
# Q1. Losses from logits (TensorFlow)
# ---------------------------------------------------------------------------

Q1_N_REAL, Q1_N_FAKE, Q1_EXTREME = 40, 56, 6


def ref_gan_losses(real_logits: np.ndarray, fake_logits: np.ndarray) -> tuple[float, float]:
    """(D loss, non-saturating G loss) from the discriminator's logits.

    D loss = mean softplus(-real) + mean softplus(fake)
           = -E[log D(x)] - E[log(1 - D(G(z)))];
    G loss = mean softplus(-fake) = -E[log D(G(z))].
    """
    r = np.asarray(real_logits, dtype=np.float64)
    f = np.asarray(fake_logits, dtype=np.float64)
    return float(np.mean(softplus(-r)) + np.mean(softplus(f))), float(np.mean(softplus(-f)))


def ref_gan_loss_grads(real_logits: np.ndarray, fake_logits: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of the two losses w.r.t. the logits (same shapes as the logits)."""
    r = np.asarray(real_logits, dtype=np.float64)
    f = np.asarray(fake_logits, dtype=np.float64)
    return {"d_grad_real": -expit(-r) / r.size, "d_grad_fake": expit(f) / f.size,
            "g_grad_fake": -expit(-f) / f.size}


def make_q1(rng: np.random.Generator) -> Arrays:
    real = rng.normal(1.0, 2.5, (Q1_N_REAL, 1))
    fake = rng.normal(-1.0, 2.5, (Q1_N_FAKE, 1))
    # a few very confident logits: sigmoid() rounds to exactly 0 or 1 in float32
    # (wrong side for the real ones, both sides for the fakes: D fooled, D confidently right)
    real[rng.choice(Q1_N_REAL, Q1_EXTREME // 2, replace=False), 0] = -rng.uniform(110, 140, Q1_EXTREME // 2)
    idx = rng.choice(Q1_N_FAKE, Q1_EXTREME, replace=False)
    fake[idx, 0] = np.repeat([1.0, -1.0], Q1_EXTREME // 2) * rng.uniform(110, 140, Q1_EXTREME)
    return {"real_logits": real.astype(np.float32), "fake_logits": fake.astype(np.float32)}


def _tensor_note(tf: Any, value: Any, grads: list) -> str:
    if not isinstance(value, (tf.Tensor, tf.Variable)):
        return "not_tensor"
    if any(g is None for g in grads):
        return "no_grad"
    return "ok"


def run_q1(f: Any, inputs: Arrays) -> Arrays:
    import tensorflow as tf

    real = tf.constant(inputs["real_logits"], dtype=tf.float32)
    fake = tf.constant(inputs["fake_logits"], dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(real)
        tape.watch(fake)
        out = f(real, fake)
    if not isinstance(out, (tuple, list)):
        return {"pair": np.array(f"not a pair: {type(out).__name__}")}
    if len(out) != 2:
        return {"pair": np.array(f"a sequence of length {len(out)}")}
    d_loss, g_loss = out
    result: Arrays = {"d_loss": to_numpy(d_loss), "g_loss": to_numpy(g_loss)}
    nan_real = np.full(inputs["real_logits"].shape, np.nan, dtype=np.float32)
    nan_fake = np.full(inputs["fake_logits"].shape, np.nan, dtype=np.float32)
    for name, loss, sources in (("d", d_loss, (real, fake)), ("g", g_loss, (fake,))):
        try:
            grads = tape.gradient(loss, list(sources)) if isinstance(loss, (tf.Tensor, tf.Variable)) else [None]
        except Exception:  # a loss that is not differentiable in any way
            grads = [None]
        note = _tensor_note(tf, loss, grads)
        result[f"{name}_note"] = np.array(note)
        if name == "d":
            ok_grads = note == "ok"
            result["d_grad_real"] = grads[0].numpy() if ok_grads else nan_real
            result["d_grad_fake"] = grads[1].numpy() if ok_grads else nan_fake
        else:
            result["g_grad_fake"] = grads[0].numpy() if note == "ok" else nan_fake
    del tape
    return result


def _clipped_probs(x: np.ndarray) -> np.ndarray:
    """Logits wrongly used as probabilities, clipped as Keras does (float32, epsilon 1e-7)."""
    eps = np.float32(1e-7)
    return np.clip(np.asarray(x, dtype=np.float32), eps, np.float32(1) - eps)


def _log32(x: np.ndarray) -> np.ndarray:
    return np.log(np.asarray(x, dtype=np.float32)).astype(np.float64)


def q1_d_variants(r: np.ndarray, f: np.ndarray) -> list[tuple[float, str, str]]:
    pr, pf = _clipped_probs(r), _clipped_probs(f)
    d_ref, _ = ref_gan_losses(r, f)
    return [
        ((softplus(-r).sum() + softplus(f).sum()) / (r.size + f.size),
         "you averaged over the real and fake logits together; the D loss here is the SUM of two "
         "means, mean over the reals + mean over the fakes (the batches have different sizes).",
         "promediaste los logits reales y falsos juntos; aquí la pérdida de D es la SUMA de dos "
         "promedios, promedio sobre los reales + promedio sobre los falsos (los lotes tienen tamaños "
         "distintos)."),
        (np.mean(softplus(r)) + np.mean(softplus(-f)),
         "the labels are swapped: real images get label 1 and fakes label 0.",
         "las etiquetas están invertidas: las imágenes reales llevan etiqueta 1 y las falsas 0."),
        (-d_ref,
         "the sign is flipped: the loss is the NEGATIVE log-likelihood of the right labels.",
         "el signo está invertido: la pérdida es el NEGATIVO de la log-verosimilitud de las etiquetas correctas."),
        (np.mean(softplus(-expit(r))) + np.mean(softplus(expit(f))),
         "you applied a sigmoid and then a loss that expects logits: pass the logits themselves "
         "(`from_logits=True`, no sigmoid).",
         "aplicaste una sigmoide y luego una pérdida que espera logits: pasa los logits tal cual "
         "(`from_logits=True`, sin sigmoide)."),
        (-np.mean(_log32(pr)) - np.mean(_log32(np.float32(1) - pf)),
         "you treated the logits as probabilities: use `from_logits=True` (or softplus).",
         "trataste los logits como probabilidades: usa `from_logits=True` (o softplus)."),
        (np.mean(softplus(-r)),
         "only the real-image term is there; add the fake-image term −E[log(1 − D(G(z)))].",
         "solo está el término de las imágenes reales; suma el de las falsas −E[log(1 − D(G(z)))]."),
        (np.mean(softplus(f)),
         "only the fake-image term is there; add the real-image term −E[log D(x)].",
         "solo está el término de las imágenes falsas; suma el de las reales −E[log D(x)]."),
    ]


def q1_g_variants(r: np.ndarray, f: np.ndarray) -> list[tuple[float, str, str]]:
    pf = _clipped_probs(f)
    return [
        (-np.mean(softplus(f)),
         "that is the SATURATING loss E[log(1 − D(G(z)))] of the minimax game: its gradient vanishes "
         "when D confidently rejects the fakes, early in training. Use the non-saturating loss "
         "−E[log D(G(z))]: label the fakes as real (1).",
         "esa es la pérdida SATURANTE E[log(1 − D(G(z)))] del juego minimax: su gradiente se anula "
         "cuando D rechaza las falsas con seguridad, al principio del entrenamiento. Usa la pérdida "
         "no saturante −E[log D(G(z))]: etiqueta las falsas como reales (1)."),
        (np.mean(softplus(f)),
         "you labelled the fakes 0 as in the D loss: G wants D to call its fakes real, label 1.",
         "etiquetaste las falsas con 0 como en la pérdida de D: G quiere que D las llame reales, etiqueta 1."),
        (-np.mean(softplus(-f)),
         "the sign is flipped: G minimises −E[log D(G(z))].",
         "el signo está invertido: G minimiza −E[log D(G(z))]."),
        (np.mean(softplus(-expit(f))),
         "you applied a sigmoid and then a loss that expects logits: pass the logits themselves.",
         "aplicaste una sigmoide y luego una pérdida que espera logits: pasa los logits tal cual."),
        (-np.mean(_log32(pf)),
         "you treated the logits as probabilities: use `from_logits=True` (or softplus).",
         "trataste los logits como probabilidades: usa `from_logits=True` (o softplus)."),
        (np.mean(softplus(-r)),
         "you used the REAL logits; G's loss depends only on D's logits for the fakes.",
         "usaste los logits REALES; la pérdida de G depende solo de los logits de D para las falsas."),
    ]


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


def evaluate_q1(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    if "pair" in outputs:
        return fail(say(f"`gan_losses` must return the pair `(d_loss, g_loss)`; it returned {outputs['pair']}.",
                        f"`gan_losses` debe devolver el par `(d_loss, g_loss)`; devolvió {outputs['pair']}.",
                        lang))
    r, f = (np.asarray(inputs[k], dtype=np.float64) for k in ("real_logits", "fake_logits"))
    want = dict(zip(("d_loss", "g_loss"), ref_gan_losses(r, f)))
    variants = {"d_loss": q1_d_variants(r, f), "g_loss": q1_g_variants(r, f)}
    for name in ("d_loss", "g_loss"):
        value = np.asarray(outputs[name])
        problem = scalar_problem(name, value, r.shape[0], lang)
        if problem:
            return fail(problem)
        got = scalar_value(value)
        if not np.isfinite(got):
            return fail(_unstable_message(name, got, lang))
        if not is_close(got, want[name], rtol=1e-4, atol=1e-4):
            for alt, en, es in variants[name]:
                if is_close(got, alt, rtol=1e-4, atol=1e-4):
                    return fail(say(f"`{name}` is wrong ({got:.5g}): {en}", f"`{name}` es incorrecto ({got:.5g}): {es}",
                                    lang))
            return fail(close_problem(name, got, want[name], lang, rtol=1e-4, atol=1e-4))
    grads = ref_gan_loss_grads(r, f)
    for name, note_key, keys in (("d_loss", "d_note", ("d_grad_real", "d_grad_fake")),
                                 ("g_loss", "g_note", ("g_grad_fake",))):
        note = str(outputs[note_key])
        if note == "not_tensor":
            return fail(say(
                f"the values are right, but `{name}` must be a TensorFlow tensor (no `.numpy()`, "
                "`float()` or NumPy) so that `tf.GradientTape` can differentiate it.",
                f"los valores son correctos, pero `{name}` debe ser un tensor de TensorFlow (sin "
                "`.numpy()`, `float()` ni NumPy) para que `tf.GradientTape` pueda derivarlo.", lang))
        if note != "ok":
            return fail(say(
                f"the values are right, but `{name}` is not connected to the logits in the gradient tape: "
                "use TensorFlow operations on the inputs (no `tf.stop_gradient`, no new constants).",
                f"los valores son correctos, pero `{name}` no está conectado con los logits en la cinta de "
                "gradientes: usa operaciones de TensorFlow sobre las entradas (sin `tf.stop_gradient` ni "
                "constantes nuevas).", lang))
        for key in keys:
            got_grad = np.asarray(outputs[key])
            problem = array_problem(f"d {name} / d logits", got_grad, grads[key].shape, lang)
            if problem:
                return fail(say(
                    f"the values are right, but the gradient is not usable: {problem} "
                    "Gradients of log(sigmoid(·)) are NaN where sigmoid rounds to 0: use softplus.",
                    f"los valores son correctos, pero el gradiente no sirve: {problem} "
                    "El gradiente de log(sigmoid(·)) es NaN donde la sigmoide se redondea a 0: usa softplus.",
                    lang))
            problem = close_problem(f"d {name} / d logits", got_grad, grads[key], lang, rtol=1e-3, atol=1e-6)
            if problem:
                return fail(say(f"the values are right, but the gradient is not: {problem}",
                                f"los valores son correctos, pero el gradiente no: {problem}", lang))
    return ok(lang, f"correct! D loss = {want['d_loss']:.4f}, G loss = {want['g_loss']:.4f}, finite "
                    "values and gradients even for |logit| > 100.",
              f"¡correcto! pérdida de D = {want['d_loss']:.4f}, pérdida de G = {want['g_loss']:.4f}, "
              "valores y gradientes finitos incluso con |logit| > 100.")


Q1 = Question(
    qid="gan.q1", points=2, target="gan_losses",
    title={"en": "GAN losses from logits (TensorFlow)", "es": "Pérdidas de la GAN a partir de logits (TensorFlow)"},
    make_inputs=make_q1, run=run_q1, evaluate=evaluate_q1)


# ---------------------------------------------------------------------------
# Q2. One training step (Keras 3 models, TensorFlow tape), checked in NumPy
# ---------------------------------------------------------------------------

Q2_BATCH, Q2_LATENT, Q2_HIDDEN, Q2_DATA = 16, 3, 8, 2
D_KEYS = ("d_w1", "d_b1", "d_w2", "d_b2")
G_KEYS = ("g_w1", "g_b1", "g_w2", "g_b2")


def make_q2(rng: np.random.Generator) -> Arrays:
    h, k, d = Q2_HIDDEN, Q2_LATENT, Q2_DATA
    arrays = {
        "g_w1": rng.normal(0, 0.8, (k, h)), "g_b1": rng.normal(0, 0.1, h),
        "g_w2": rng.normal(0, 0.6, (h, d)), "g_b2": rng.normal(0, 0.1, d),
        "d_w1": rng.normal(0, 0.8, (d, h)), "d_b1": rng.normal(0, 0.1, h),
        "d_w2": rng.normal(0, 0.6, (h, 1)), "d_b2": rng.normal(0, 0.1, 1),
        "real": rng.normal([2.0, -1.0], 0.5, (Q2_BATCH, d)),
        "z": rng.normal(0, 1, (Q2_BATCH, k)),
        "learning_rate": np.array(0.1),
    }
    return {name: np.asarray(a, dtype=np.float32) for name, a in arrays.items()}


def _mlp_forward(w1, b1, w2, b2, x):
    h = np.tanh(x @ w1 + b1)
    return h @ w2 + b2, h


def _mlp_backward(w1, w2, x, h, dout):
    """Gradients of a tanh MLP given d loss / d output; also d loss / d input."""
    da = (dout @ w2.T) * (1.0 - h ** 2)
    return [x.T @ da, da.sum(0), h.T @ dout, dout.sum(0)], da @ w1.T


def _loss_parts(D, G, real, z):
    fake, hg = _mlp_forward(*G, z)
    lr_, hr = _mlp_forward(*D, real)
    lf, hf = _mlp_forward(*D, fake)
    return fake, hg, lr_, hr, lf, hf


def ref_losses_np(D, G, real, z) -> dict[str, float]:
    """D loss, non-saturating G loss and saturating G loss (as minimised) for weights D, G."""
    _, _, lr_, _, lf, _ = _loss_parts(D, G, real, z)
    return {"d": float(softplus(-lr_).mean() + softplus(lf).mean()),
            "g": float(softplus(-lf).mean()), "g_sat": float(-softplus(lf).mean())}


def grad_d_of_d_loss(D, G, real, z, swapped: bool = False):
    """Gradient of the D loss w.r.t. D's weights (``swapped``: labels real 0, fake 1)."""
    fake, _, lr_, hr, lf, hf = _loss_parts(D, G, real, z)
    s = -1.0 if swapped else 1.0
    g_real, _ = _mlp_backward(D[0], D[2], real, hr, -s * expit(-s * lr_) / lr_.size)
    g_fake, _ = _mlp_backward(D[0], D[2], fake, hf, s * expit(s * lf) / lf.size)
    return [a + b for a, b in zip(g_real, g_fake)]


def _g_loss_dlogits(lf: np.ndarray, kind: str) -> np.ndarray:
    if kind == "ns":
        return -expit(-lf) / lf.size
    if kind == "sat":
        return -expit(lf) / lf.size
    if kind == "d":  # the D loss's fake term, seen by G
        return expit(lf) / lf.size
    raise ValueError(kind)


def grad_g(D, G, real, z, kind: str = "ns"):
    """Gradient w.r.t. G's weights of the G loss (``ns``/``sat``) or of the D loss (``d``)."""
    fake, hg, _, _, lf, hf = _loss_parts(D, G, real, z)
    _, dfake = _mlp_backward(D[0], D[2], fake, hf, _g_loss_dlogits(lf, kind))
    grads, _ = _mlp_backward(G[0], G[2], z, hg, dfake)
    return grads


def grad_d_of_g_loss(D, G, real, z):
    fake, _, _, _, lf, hf = _loss_parts(D, G, real, z)
    grads, _ = _mlp_backward(D[0], D[2], fake, hf, _g_loss_dlogits(lf, "ns"))
    return grads


def _step(params, grads, lr, scale=1.0):
    return [p - lr * scale * g for p, g in zip(params, grads)]


def ref_train_step(inputs: Arrays, *, d_scale: float = 1.0, g_sees_new_d: bool = True,
                   g_kind: str = "ns", d_in_g_step: bool = False,
                   g_in_d_step: bool = False, d_swapped: bool = False) -> tuple[list, list]:
    """Weights (D, G) after one SGD step of D then one of G, in float64.

    The keyword arguments describe the accepted alternatives (``d_scale=0.5``:
    D loss averaged over the 2B logits; ``g_sees_new_d=False``: simultaneous
    updates) and the mistakes the check recognises.
    """
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    D0, G0 = [f64[k] for k in D_KEYS], [f64[k] for k in G_KEYS]
    real, z, lr = f64["real"], f64["z"], float(f64["learning_rate"])
    D1 = _step(D0, grad_d_of_d_loss(D0, G0, real, z, d_swapped), lr, d_scale)
    G_mid = _step(G0, grad_g(D0, G0, real, z, "d"), lr, d_scale) if g_in_d_step else G0
    D_for_g = D1 if g_sees_new_d else D0
    G1 = _step(G_mid, grad_g(D_for_g, G_mid, real, z, g_kind), lr)
    D_final = _step(D1, grad_d_of_g_loss(D_for_g, G_mid, real, z), lr) if d_in_g_step else D1
    return D_final, G1


def run_q2(f: Any, inputs: Arrays) -> Arrays:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((Q2_LATENT,)), keras.layers.Dense(Q2_HIDDEN, activation="tanh"),
                                  keras.layers.Dense(Q2_DATA)], name="tiny_generator")
    discriminator = keras.Sequential([keras.Input((Q2_DATA,)), keras.layers.Dense(Q2_HIDDEN, activation="tanh"),
                                      keras.layers.Dense(1)], name="tiny_discriminator")
    generator.set_weights([inputs[k] for k in G_KEYS])
    discriminator.set_weights([inputs[k] for k in D_KEYS])
    lr = float(inputs["learning_rate"])
    g_opt = keras.optimizers.SGD(learning_rate=lr)
    d_opt = keras.optimizers.SGD(learning_rate=lr)
    out = f(generator, discriminator, g_opt, d_opt, tf.constant(inputs["real"]), tf.constant(inputs["z"]))
    result: Arrays = {k: np.asarray(w) for k, w in zip(G_KEYS, generator.get_weights())}
    result.update({k: np.asarray(w) for k, w in zip(D_KEYS, discriminator.get_weights())})
    if isinstance(out, (tuple, list)) and len(out) == 2:
        result["d_loss"], result["g_loss"] = to_numpy(out[0]), to_numpy(out[1])
    else:
        result["returned"] = np.array(type(out).__name__ if not isinstance(out, (tuple, list))
                                      else f"a sequence of length {len(out)}")
    return result


def _same(got: list, want: list) -> bool:
    scale = max(float(np.max(np.abs(w))) for w in want)
    return all(is_close(g, w, rtol=1e-4, atol=2e-5 * max(scale, 1.0)) for g, w in zip(got, want))


def evaluate_q2(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    D0, G0 = [f64[k] for k in D_KEYS], [f64[k] for k in G_KEYS]
    real, z = f64["real"], f64["z"]
    for k in D_KEYS + G_KEYS:
        problem = array_problem(k, np.asarray(outputs[k]), inputs[k].shape, lang)
        if problem:
            return fail(say(f"after your step the weights are not usable: {problem}",
                            f"después de tu paso los pesos no sirven: {problem}", lang))
    D, G = [np.asarray(outputs[k], dtype=np.float64) for k in D_KEYS], \
        [np.asarray(outputs[k], dtype=np.float64) for k in G_KEYS]
    d_moved, g_moved = not _same(D, D0), not _same(G, G0)
    if not d_moved and not g_moved:
        return fail(say("neither network changed: apply the gradients with "
                        "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`.",
                        "ninguna de las dos redes cambió: aplica los gradientes con "
                        "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`.", lang))
    accepted = [dict(d_scale=s, g_sees_new_d=n) for n in (True, False) for s in (1.0, 0.5)]
    for opts in accepted:
        D_want, G_want = ref_train_step(inputs, **opts)
        if _same(D, D_want) and _same(G, G_want):
            return _q2_losses(inputs, outputs, opts, lang)
    mistakes = [
        (dict(g_kind="sat"),
         "G took a step on the SATURATING loss E[log(1 − D(G(z)))]; use the non-saturating "
         "−E[log D(G(z))] (your `gan_losses` from Q1).",
         "G dio un paso con la pérdida SATURANTE E[log(1 − D(G(z)))]; usa la no saturante "
         "−E[log D(G(z))] (tu `gan_losses` de la P1)."),
        (dict(d_in_g_step=True),
         "D's weights also changed during the G step: in the G step take the gradients with respect to "
         "`generator.trainable_variables` only and apply them with the generator's optimizer.",
         "los pesos de D también cambiaron durante el paso de G: en el paso de G calcula los gradientes "
         "solo respecto de `generator.trainable_variables` y aplícalos con el optimizador del generador."),
        (dict(g_in_d_step=True),
         "G's weights also changed during the D step (the D loss pushed G to make worse fakes): in the "
         "D step take the gradients with respect to `discriminator.trainable_variables` only.",
         "los pesos de G también cambiaron durante el paso de D (la pérdida de D empujó a G a hacer peores "
         "falsificaciones): en el paso de D calcula los gradientes solo respecto de "
         "`discriminator.trainable_variables`."),
    ]
    mistakes.append((
        dict(d_swapped=True),
        "D took a step with the labels swapped: real images must get label 1 and fakes label 0.",
        "D dio un paso con las etiquetas invertidas: las imágenes reales llevan etiqueta 1 y las falsas 0."))
    for opts_mistake, en, es in mistakes:
        for base in accepted:
            D_want, G_want = ref_train_step(inputs, **{**base, **opts_mistake})
            if _same(D, D_want) and _same(G, G_want):
                return fail(say(en, es, lang))
    if d_moved and not g_moved:
        return fail(say(
            "D took a step but G did not move: in the G step the gradient must flow from D's logits back "
            "through the fakes into G. Compute `generator(z)` inside the tape of the G step and do not wrap "
            "it in `tf.stop_gradient`.",
            "D dio un paso pero G no se movió: en el paso de G el gradiente debe fluir desde los logits de D, "
            "a través de las falsificaciones, hasta G. Calcula `generator(z)` dentro de la cinta del paso de "
            "G y no lo envuelvas en `tf.stop_gradient`.", lang))
    if g_moved and not d_moved:
        return fail(say("G took a step but D did not move: the step must first update D on its own loss.",
                        "G dio un paso pero D no se movió: el paso primero debe actualizar D con su propia "
                        "pérdida.", lang))
    before = ref_losses_np(D0, G0, real, z)
    after_d = ref_losses_np(D, G0, real, z)
    if after_d["d"] >= before["d"]:
        return fail(say(
            f"D's loss on this batch went UP after your step ({before['d']:.4f} → {after_d['d']:.4f}, with G "
            "fixed): check the labels (reals 1, fakes 0) and that you apply the gradient of the D loss.",
            f"la pérdida de D en este lote SUBIÓ después de tu paso ({before['d']:.4f} → {after_d['d']:.4f}, "
            "con G fijo): revisa las etiquetas (reales 1, falsas 0) y que apliques el gradiente de la "
            "pérdida de D.", lang))
    g_before, g_after = ref_losses_np(D, G0, real, z)["g"], ref_losses_np(D, G, real, z)["g"]
    if g_after >= g_before:
        return fail(say(
            f"G's non-saturating loss went UP after your step ({g_before:.4f} → {g_after:.4f}, with the new D "
            "fixed): G must minimise −E[log D(G(z))].",
            f"la pérdida no saturante de G SUBIÓ después de tu paso ({g_before:.4f} → {g_after:.4f}, con el "
            "nuevo D fijo): G debe minimizar −E[log D(G(z))].", lang))
    D_want, G_want = ref_train_step(inputs)
    where = "D" if not _same(D, D_want) else "G"
    return fail(say(
        f"both losses went down, but {where}'s new weights are not those of one plain gradient step "
        "on the losses of Q1 (use the optimizers you receive, once each, and the codes `z` you receive "
        "for both steps).",
        f"las dos pérdidas bajaron, pero los nuevos pesos de {where} no son los de un paso de gradiente "
        "con las pérdidas de la P1 (usa los optimizadores que recibes, una vez cada uno, y los códigos "
        "`z` que recibes en los dos pasos).", lang))


def _q2_losses(inputs: Arrays, outputs: Arrays, opts: dict, lang: str) -> Feedback:
    if "returned" in outputs:
        return fail(say(f"the weights are right, but `train_step` must return the pair `(d_loss, g_loss)`; "
                        f"it returned {outputs['returned']}.",
                        f"los pesos son correctos, pero `train_step` debe devolver el par `(d_loss, g_loss)`; "
                        f"devolvió {outputs['returned']}.", lang))
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    D0, G0 = [f64[k] for k in D_KEYS], [f64[k] for k in G_KEYS]
    real, z = f64["real"], f64["z"]
    D1, _ = ref_train_step(inputs, **opts)
    want_d = ref_losses_np(D0, G0, real, z)["d"] * opts["d_scale"]
    want_g = [ref_losses_np(D, G0, real, z)["g"] for D in (D1, D0)]
    for name in ("d_loss", "g_loss"):
        value = np.asarray(outputs[name])
        problem = scalar_problem(name, value, Q2_BATCH, lang)
        if problem:
            return fail(say(f"the weights are right, but: {problem}", f"los pesos son correctos, pero: {problem}",
                            lang))
    d_got, g_got = scalar_value(outputs["d_loss"]), scalar_value(outputs["g_loss"])
    if not is_close(d_got, want_d, rtol=1e-4, atol=1e-5) or \
            not any(is_close(g_got, w, rtol=1e-4, atol=1e-5) for w in want_g):
        return fail(say(
            f"the weights are right, but the returned losses ({d_got:.5g}, {g_got:.5g}) are not the D loss and "
            f"the G loss computed in the two steps ({want_d:.5g}, {want_g[0 if opts['g_sees_new_d'] else 1]:.5g}).",
            f"los pesos son correctos, pero las pérdidas devueltas ({d_got:.5g}, {g_got:.5g}) no son la pérdida "
            f"de D y la de G calculadas en los dos pasos ({want_d:.5g}, "
            f"{want_g[0 if opts['g_sees_new_d'] else 1]:.5g}).", lang))
    D_final = [np.asarray(outputs[k], dtype=np.float64) for k in D_KEYS]
    G_final = [np.asarray(outputs[k], dtype=np.float64) for k in G_KEYS]
    d_after = ref_losses_np(D_final, G0, real, z)["d"]
    g_after = ref_losses_np(D_final, G_final, real, z)["g"]
    g_before = ref_losses_np(D_final, G0, real, z)["g"]
    return ok(lang,
              f"correct! D's loss on the batch {want_d / opts['d_scale']:.4f} → {d_after:.4f}; G's "
              f"non-saturating loss {g_before:.4f} → {g_after:.4f}; D untouched by the G step.",
              f"¡correcto! pérdida de D en el lote {want_d / opts['d_scale']:.4f} → {d_after:.4f}; pérdida no "
              f"saturante de G {g_before:.4f} → {g_after:.4f}; el paso de G no tocó a D.")


Q2 = Question(
    qid="gan.q2", points=2, target="train_step",
    title={"en": "One adversarial training step (Keras 3)", "es": "Un paso de entrenamiento adversario (Keras 3)"},
    make_inputs=make_q2, run=run_q2, evaluate=evaluate_q2)


# ---------------------------------------------------------------------------
# Q3. The optimal discriminator of a 1-D toy
# ---------------------------------------------------------------------------

Q3_N, Q3_FAR = 60, 6


def normal_logpdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    z = (np.asarray(x, dtype=np.float64) - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - 0.5 * LOG_2PI


def ref_optimal_discriminator(x, mu_data, sigma_data, mu_g, sigma_g) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) = sigmoid(log p_data − log p_g), for two 1-D Gaussians."""
    return expit(normal_logpdf(x, mu_data, sigma_data) - normal_logpdf(x, mu_g, sigma_g))


def make_q3(rng: np.random.Generator) -> Arrays:
    mu_data, mu_g = rng.uniform(-1.5, 0.0), rng.uniform(0.5, 2.0)
    sigma_data, sigma_g = rng.uniform(0.5, 0.9), rng.uniform(1.1, 1.8)
    x = np.sort(rng.uniform(-5, 6, Q3_N))
    far = rng.choice(Q3_N, Q3_FAR, replace=False)
    x[far] = rng.choice([-1.0, 1.0], Q3_FAR) * rng.uniform(90, 150, Q3_FAR)
    return {"x": x, "params": np.array([mu_data, sigma_data, mu_g, sigma_g])}


def run_q3(f: Any, inputs: Arrays) -> Arrays:
    mu_data, sigma_data, mu_g, sigma_g = (float(v) for v in inputs["params"])
    return {"d": to_numpy(f(inputs["x"], mu_data, sigma_data, mu_g, sigma_g))}


def evaluate_q3(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "optimal_discriminator"
    x = inputs["x"]
    mu_data, sigma_data, mu_g, sigma_g = (float(v) for v in inputs["params"])
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
    want = ref_optimal_discriminator(x, mu_data, sigma_data, mu_g, sigma_g)
    if is_close(got, want, rtol=1e-5, atol=1e-7):
        return ok(lang, "correct! D*(x) = 1/2 exactly where the two densities cross.",
                  "¡correcto! D*(x) = 1/2 exactamente donde las dos densidades se cruzan.")
    log_ratio = normal_logpdf(x, mu_data, sigma_data) - normal_logpdf(x, mu_g, sigma_g)
    no_norm = expit(log_ratio + np.log(sigma_data) - np.log(sigma_g))
    variants = [
        (1.0 - want, "that is p_g / (p_data + p_g), the probability of being FAKE: D* is the probability "
                     "of being real.",
         "eso es p_g / (p_data + p_g), la probabilidad de ser FALSO: D* es la probabilidad de ser real."),
        (np.full_like(want, 0.5), "D* = 1/2 only when p_g = p_data; here the two Gaussians differ.",
         "D* = 1/2 solo cuando p_g = p_data; aquí las dos gaussianas son distintas."),
        (ref_optimal_discriminator(x, mu_data, sigma_data ** 2, mu_g, sigma_g ** 2),
         "you used σ² where σ goes: the parameters are standard deviations.",
         "usaste σ² donde va σ: los parámetros son desviaciones estándar."),
        (no_norm, "the 1/σ factors of the two densities are missing: they do not cancel when σ_data ≠ σ_g.",
         "faltan los factores 1/σ de las dos densidades: no se cancelan cuando σ_data ≠ σ_g."),
    ]
    for alt, en, es in variants:
        if is_close(got, alt, rtol=1e-5, atol=1e-7):
            return fail(say(f"not quite: {en}", f"no exactamente: {es}", lang))
    with np.errstate(over="ignore"):
        ratio = np.exp(log_ratio)
    if np.all(got >= 0) and is_close(got[np.abs(x) < 6], ratio[np.abs(x) < 6], rtol=1e-4, atol=1e-7):
        return fail(say("that is the density ratio p_data / p_g; D* divides by p_data + p_g and lies in [0, 1].",
                        "eso es el cociente de densidades p_data / p_g; D* divide entre p_data + p_g y está en "
                        "[0, 1].", lang))
    if np.any(got < 0) or np.any(got > 1):
        return fail(say(f"`{name}` must be a probability, in [0, 1]; got values in [{got.min():.3g}, {got.max():.3g}].",
                        f"`{name}` debe ser una probabilidad, en [0, 1]; sus valores están en "
                        f"[{got.min():.3g}, {got.max():.3g}].", lang))
    return fail(close_problem(name, got, want, lang, rtol=1e-5, atol=1e-7))


Q3 = Question(
    qid="gan.q3", points=2, target="optimal_discriminator",
    title={"en": "The optimal discriminator of a 1-D toy", "es": "El discriminador óptimo de un ejemplo 1-D"},
    make_inputs=make_q3, run=run_q3, evaluate=evaluate_q3)


# ---------------------------------------------------------------------------
# Q4. Latent codes: normal or uniform on [-1, 1]
# ---------------------------------------------------------------------------

Q4_N, Q4_DIM = 4000, 5
#: smallest Kolmogorov-Smirnov p-value accepted (a correct sampler fails once in a million)
Q4_P_MIN = 1e-6


def make_q4(rng: np.random.Generator) -> Arrays:
    return {"seeds": rng.integers(0, 2 ** 31 - 1, 2), "shape": np.array([Q4_N, Q4_DIM])}


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


def evaluate_q4(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
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
        if not np.array_equal(a, outputs[f"{kind}_b"]) or np.array_equal(a, outputs[f"{kind}_c"]):
            return fail(say(f'`{name}(..., "{kind}", rng)` is not reproducible: the same seed must give the same '
                            "codes. Draw every number from `rng` (not `np.random.*`, `tf.random.*`).",
                            f'`{name}(..., "{kind}", rng)` no es reproducible: la misma semilla debe dar los '
                            "mismos códigos. Toma todos los números de `rng` (no de `np.random.*` ni "
                            "`tf.random.*`).", lang))
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
              "¡correcto! Códigos float32 reproducibles con las distribuciones correctas.")


Q4 = Question(
    qid="gan.q4", points=1, target="sample_latent",
    title={"en": "Swapping the latent distribution", "es": "Cambiar la distribución latente"},
    make_inputs=make_q4, run=run_q4, evaluate=evaluate_q4)


# ---------------------------------------------------------------------------
# Q5. Fréchet distance between two Gaussians
# ---------------------------------------------------------------------------

Q5_DIM = 6


def psd_sqrt(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (eigenvalues clipped at 0)."""
    a = (np.asarray(a, dtype=np.float64) + np.asarray(a, dtype=np.float64).T) / 2
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def ref_frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 − mu2||² + Tr(cov1 + cov2 − 2 (cov1 cov2)^{1/2}), computed stably.

    Tr((cov1 cov2)^{1/2}) = Tr((s cov2 s)^{1/2}) with s = cov1^{1/2}, and
    s cov2 s is symmetric PSD, so only symmetric eigendecompositions are used.
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    s = psd_sqrt(cov1)
    m = s @ np.asarray(cov2, dtype=np.float64) @ s
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_sqrt)


def _random_cov(rng: np.random.Generator, d: int, rank: int, scale: float) -> np.ndarray:
    a = rng.normal(0, 1, (d, rank))
    return scale * (a @ a.T) / rank


def make_q5(rng: np.random.Generator) -> Arrays:
    d = Q5_DIM
    mu1 = rng.normal(0, 1, (5, d))
    mu2 = mu1 + rng.normal(0, 0.7, (5, d))
    base = _random_cov(rng, d, d + 4, 1.0)
    cov1 = np.stack([_random_cov(rng, d, d + 4, 1.0), base,
                     _random_cov(rng, d, 3, 1.0),                      # rank-deficient (few samples)
                     np.diag(rng.uniform(0.2, 2.0, d)),
                     _random_cov(rng, d, d + 4, 50.0)])
    cov2 = np.stack([_random_cov(rng, d, d + 4, 1.5), base,
                     _random_cov(rng, d, 3, 1.0),
                     np.diag(rng.uniform(0.2, 2.0, d)),
                     _random_cov(rng, d, d + 4, 80.0)])
    mu2[1] = mu1[1]  # pair 1: two identical Gaussians
    return {"mu1": mu1, "cov1": cov1, "mu2": mu2, "cov2": cov2}


def run_q5(f: Any, inputs: Arrays) -> Arrays:
    p = len(inputs["mu1"])
    fwd = [to_numpy(f(inputs["mu1"][i], inputs["cov1"][i], inputs["mu2"][i], inputs["cov2"][i])) for i in range(p)]
    bwd = [to_numpy(f(inputs["mu2"][i], inputs["cov2"][i], inputs["mu1"][i], inputs["cov1"][i])) for i in range(p)]
    return {f"fwd_{i}": v for i, v in enumerate(fwd)} | {f"bwd_{i}": v for i, v in enumerate(bwd)}


def q5_variants(mu1, cov1, mu2, cov2) -> list[tuple[float, str, str]]:
    from scipy.linalg import sqrtm

    diff2 = float(np.sum((mu1 - mu2) ** 2))
    trs = float(np.trace(cov1) + np.trace(cov2))
    tr_sqrt = (trs + diff2 - ref_frechet_distance(mu1, cov1, mu2, cov2)) / 2
    with np.errstate(invalid="ignore"):
        elementwise = float(np.trace(np.sqrt(cov1 @ cov2)))
    return [
        (diff2 + trs - 2 * float(np.trace(cov1 @ cov2)),
         "the matrix square root is missing: the trace term is Tr((Σ1 Σ2)^{1/2}), not Tr(Σ1 Σ2).",
         "falta la raíz cuadrada matricial: el término de la traza es Tr((Σ1 Σ2)^{1/2}), no Tr(Σ1 Σ2)."),
        (diff2 + trs - 2 * elementwise,
         "`np.sqrt` takes the square root of each ENTRY, not the matrix square root (a matrix M^{1/2} with "
         "M^{1/2} M^{1/2} = M): use the symmetric form (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} with `np.linalg.eigh`, "
         "or `scipy.linalg.sqrtm`.",
         "`np.sqrt` saca la raíz de cada ENTRADA, no la raíz cuadrada matricial (una matriz M^{1/2} con "
         "M^{1/2} M^{1/2} = M): usa la forma simétrica (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} con `np.linalg.eigh`, "
         "o `scipy.linalg.sqrtm`."),
        (diff2 + trs - 2 * float(np.trace(np.real(sqrtm(cov1)) @ np.real(sqrtm(cov2)))),
         "Tr(Σ1^{1/2} Σ2^{1/2}) equals Tr((Σ1 Σ2)^{1/2}) only when the two covariances commute; take the "
         "square root of the product (symmetric form: (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}).",
         "Tr(Σ1^{1/2} Σ2^{1/2}) es igual a Tr((Σ1 Σ2)^{1/2}) solo cuando las dos covarianzas conmutan; saca "
         "la raíz del producto (forma simétrica: (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2})."),
        (diff2 + trs - tr_sqrt,
         "the factor 2 in front of Tr((Σ1 Σ2)^{1/2}) is missing.",
         "falta el factor 2 delante de Tr((Σ1 Σ2)^{1/2})."),
        (np.sqrt(diff2) + trs - 2 * tr_sqrt,
         "the mean term is the SQUARED distance ||μ1 − μ2||².",
         "el término de las medias es la distancia AL CUADRADO ||μ1 − μ2||²."),
        (trs - 2 * tr_sqrt,
         "the mean term ||μ1 − μ2||² is missing.",
         "falta el término de las medias ||μ1 − μ2||²."),
    ]


def evaluate_q5(inputs: Arrays, outputs: Arrays, lang: str) -> Feedback:
    name = "frechet_distance"
    p = len(inputs["mu1"])
    labels_en = ["a general pair", "two identical Gaussians", "a pair of rank-deficient covariances",
                 "a pair of diagonal covariances", "a pair with large variances"]
    labels_es = ["un par general", "dos gaussianas idénticas", "un par de covarianzas de rango incompleto",
                 "un par de covarianzas diagonales", "un par con varianzas grandes"]
    for i in range(p):
        mu1, cov1, mu2, cov2 = (np.asarray(inputs[k][i], dtype=np.float64) for k in ("mu1", "cov1", "mu2", "cov2"))
        want = ref_frechet_distance(mu1, cov1, mu2, cov2)
        scale = float(np.trace(cov1) + np.trace(cov2) + np.sum((mu1 - mu2) ** 2))
        where_en, where_es = labels_en[i], labels_es[i]
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
                variants = q5_variants(mu1, cov1, mu2, cov2)
                return fail(say(f"for {where_en} `{name}` returned {got}. {variants[1][1]}",
                                f"para {where_es} `{name}` devolvió {got}. {variants[1][2]}", lang))
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
            for alt, en, es in q5_variants(mu1, cov1, mu2, cov2):
                if np.isfinite(alt) and is_close(got, alt, **tol):
                    return fail(say(f"for {where_en} you got {got:.5g} instead of {want:.5g}: {en}",
                                    f"para {where_es} obtuviste {got:.5g} en vez de {want:.5g}: {es}", lang))
            if got < -1e-6 * scale:
                return fail(say(f"for {where_en} you got a negative distance ({got:.5g}); expected {want:.5g}.",
                                f"para {where_es} obtuviste una distancia negativa ({got:.5g}); se esperaba "
                                f"{want:.5g}.", lang))
            return fail(say(f"for {where_en}: ", f"para {where_es}: ", lang)
                        + close_problem(name, got, want, lang, **tol))
    return ok(lang, "correct! Zero for identical Gaussians, symmetric, and stable with rank-deficient covariances.",
              "¡correcto! Cero para gaussianas idénticas, simétrica y estable con covarianzas de rango incompleto.")


Q5 = Question(
    qid="gan.q5", points=2, target="frechet_distance",
    title={"en": "Fréchet distance between two Gaussians", "es": "Distancia de Fréchet entre dos gaussianas"},
    make_inputs=make_q5, run=run_q5, evaluate=evaluate_q5)


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice)
# ---------------------------------------------------------------------------

Q6_HINTS = {
    "A": ("plug D* into V(D, G) and rewrite both expectations as divergences from the MIXTURE "
          "(p_data + p_g)/2: which divergence is symmetric in p_data and p_g?",
          "sustituye D* en V(D, G) y reescribe las dos esperanzas como divergencias respecto de la MEZCLA "
          "(p_data + p_g)/2: ¿qué divergencia es simétrica en p_data y p_g?"),
    "C": ("check the value at the optimum: when p_g = p_data, what is D*(x), and what is V(D*, G) then? "
          "Can D* output 1 on the real images when fakes and reals have the same distribution?",
          "revisa el valor en el óptimo: cuando p_g = p_data, ¿cuánto vale D*(x) y cuánto vale entonces "
          "V(D*, G)? ¿Puede D* dar 1 en las imágenes reales si las falsas y las reales tienen la misma "
          "distribución?"),
    "D": ("the non-saturating loss changes the gradients G receives, not the game's equilibrium; and what does "
          "D*(x) equal at the optimum, where D cannot tell reals from fakes?",
          "la pérdida no saturante cambia los gradientes que recibe G, no el equilibrio del juego; y ¿cuánto vale "
          "D*(x) en el óptimo, donde D no puede distinguir reales de falsas?"),
}


Q6 = choice_question(
    qid="gan.q6", points=1, target="answer_q6",
    title={"en": "What does G minimise against D*?", "es": "¿Qué minimiza G frente a D*?"},
    correct="B",
    right=("correct! V(D*, G) = 2 JS(p_data ‖ p_g) − log 4, minimised only by p_g = p_data, "
           "where D* = 1/2.",
           "¡correcto! V(D*, G) = 2 JS(p_data ‖ p_g) − log 4, que solo se minimiza con p_g = p_data, "
           "donde D* = 1/2."),
    hints=Q6_HINTS)


QUESTIONS = [Q1, Q2, Q3, Q4, Q5, Q6]

__all__ = ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "QUESTIONS",
           "ref_gan_losses", "ref_gan_loss_grads", "ref_train_step", "ref_optimal_discriminator",
           "ref_frechet_distance", "psd_sqrt"]
