"""Answer key of the GAN chapter's graded questions (teacher's side only).

Reference implementations (NumPy, float64), the inputs of every question, and
the expected results the checks compare against: reference values and
gradients, the weights after a reference training step (and after the known
wrong steps), the values of known wrong answers with their messages. See
:mod:`shared.checks.gan` for the questions.

For Q2 the grader never sees the student's models: this module rebuilds, in
NumPy and float64, what one SGD step of each network must do to the weights
it sent (:func:`ref_train_step`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import expit

from shared.checks.core import Arrays, pack_variants
from shared.checks.gan import D_KEYS, G_KEYS, Q2_DATA, Q2_HIDDEN, Q2_LATENT, Q5_ENTRYWISE, Q6_TARGET
from shared.key.core import QuestionKey, choice_key, nothing_expected

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


def expect_q1(inputs: Arrays) -> Arrays:
    r, f = (np.asarray(inputs[k], dtype=np.float64) for k in ("real_logits", "fake_logits"))
    d_loss, g_loss = ref_gan_losses(r, f)
    return {"d_loss": np.array(d_loss), "g_loss": np.array(g_loss), **ref_gan_loss_grads(r, f),
            **pack_variants(q1_d_variants(r, f), prefix="d_variant"),
            **pack_variants(q1_g_variants(r, f), prefix="g_variant")}


# ---------------------------------------------------------------------------
# Q2. One training step (Keras 3 models, TensorFlow tape), rebuilt in NumPy
# ---------------------------------------------------------------------------

Q2_BATCH = 16


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


def grad_d_of_d_loss(D, G, real, z, swapped: bool = False, terms: str = "both"):
    """Gradient of the D loss w.r.t. D's weights.

    ``swapped``: labels real 0, fake 1; ``terms``: ``"real"`` or ``"fake"`` keeps only that
    term's gradient (the other one cut off from the graph).
    """
    fake, _, lr_, hr, lf, hf = _loss_parts(D, G, real, z)
    s = -1.0 if swapped else 1.0
    g_real, _ = _mlp_backward(D[0], D[2], real, hr, -s * expit(-s * lr_) / lr_.size)
    g_fake, _ = _mlp_backward(D[0], D[2], fake, hf, s * expit(s * lf) / lf.size)
    if terms == "real":
        return g_real
    if terms == "fake":
        return g_fake
    return [a + b for a, b in zip(g_real, g_fake)]


def _g_loss_dlogits(lf: np.ndarray, kind: str) -> np.ndarray:
    if kind == "ns":
        return -expit(-lf) / lf.size
    if kind == "sat":
        return -expit(lf) / lf.size
    if kind == "d":  # the D loss's fake term, seen by G (fakes labelled 0)
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


def _weights(inputs: Arrays) -> tuple[list, list, np.ndarray, np.ndarray, float]:
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    return ([f64[k] for k in D_KEYS], [f64[k] for k in G_KEYS], f64["real"], f64["z"],
            float(f64["learning_rate"]))


def ref_train_step(inputs: Arrays, *, d_scale: float = 1.0, g_scale: float = 1.0, g_sees_new_d: bool = True,
                   g_kind: str = "ns", d_in_g_step: bool = False, g_in_d_step: bool = False,
                   d_swapped: bool = False, d_terms: str = "both", g_first: bool = False) -> tuple[list, list]:
    """Weights (D, G) after one SGD step of D then one of G, in float64.

    The keyword arguments describe the accepted alternatives (``d_scale=0.5``:
    D loss averaged over the 2B logits; ``g_sees_new_d=False``: simultaneous
    updates) and the mistakes the check recognises (``g_first``: G's step
    first, then D's on the new fakes).
    """
    D0, G0, real, z, lr = _weights(inputs)
    if g_first:
        G1 = _step(G0, grad_g(D0, G0, real, z, g_kind), lr, g_scale)
        D1 = _step(D0, grad_d_of_d_loss(D0, G1, real, z, d_swapped, d_terms), lr, d_scale)
        return D1, G1
    D1 = _step(D0, grad_d_of_d_loss(D0, G0, real, z, d_swapped, d_terms), lr, d_scale)
    G_mid = _step(G0, grad_g(D0, G0, real, z, "d"), lr, d_scale) if g_in_d_step else G0
    D_for_g = D1 if g_sees_new_d else D0
    G1 = _step(G_mid, grad_g(D_for_g, G_mid, real, z, g_kind), lr, g_scale)
    D_final = _step(D1, grad_d_of_g_loss(D_for_g, G_mid, real, z), lr, g_scale) if d_in_g_step else D1
    return D_final, G1


#: the accepted ways to take the step: D loss as the sum of two means or the mean over 2B logits;
#: G's step through the updated D (alternating) or through the old one (simultaneous)
Q2_ACCEPTED = [dict(d_scale=s, g_sees_new_d=n) for n in (True, False) for s in (1.0, 0.5)]

#: known wrong steps: (options given the accepted base, en, es)
Q2_MISTAKES: list[tuple[Callable[[dict], dict], str, str]] = [
    (lambda base: dict(g_kind="sat"),
     "G took a step on the SATURATING loss E[log(1 − D(G(z)))]; use the non-saturating "
     "−E[log D(G(z))] (your `gan_losses` from Q1).",
     "G dio un paso con la pérdida SATURANTE E[log(1 − D(G(z)))]; usa la no saturante "
     "−E[log D(G(z))] (tu `gan_losses` de la P1)."),
    (lambda base: dict(g_kind="d"),
     "in the G step the fakes were labelled 0, as in the D loss, so G learnt to make its fakes EASIER to "
     "reject: G's loss labels the fakes as real (1), −E[log D(G(z))].",
     "en el paso de G las falsas llevaron la etiqueta 0, como en la pérdida de D, así que G aprendió a hacer "
     "falsificaciones MÁS fáciles de rechazar: la pérdida de G etiqueta las falsas como reales (1), "
     "−E[log D(G(z))]."),
    (lambda base: dict(d_in_g_step=True),
     "D's weights also changed during the G step: in the G step take the gradients with respect to "
     "`generator.trainable_variables` only and apply them with the generator's optimizer.",
     "los pesos de D también cambiaron durante el paso de G: en el paso de G calcula los gradientes "
     "solo respecto de `generator.trainable_variables` y aplícalos con el optimizador del generador."),
    (lambda base: dict(g_in_d_step=True),
     "G's weights also changed during the D step (the D loss pushed G to make worse fakes): in the "
     "D step take the gradients with respect to `discriminator.trainable_variables` only.",
     "los pesos de G también cambiaron durante el paso de D (la pérdida de D empujó a G a hacer peores "
     "falsificaciones): en el paso de D calcula los gradientes solo respecto de "
     "`discriminator.trainable_variables`."),
    (lambda base: dict(d_swapped=True),
     "D took a step with the labels swapped: real images must get label 1 and fakes label 0.",
     "D dio un paso con las etiquetas invertidas: las imágenes reales llevan etiqueta 1 y las falsas 0."),
    (lambda base: dict(d_terms="real"),
     "in the D step only the real-image term reached D's weights: the fake-image term −E[log(1 − D(G(z)))] "
     "is cut off from the graph (`tf.stop_gradient` on it or on D's fake logits, or computed through NumPy). "
     "Only the fakes themselves may be detached in the D step, not D's logits for them.",
     "en el paso de D solo el término de las imágenes reales llegó a los pesos de D: el término de las falsas "
     "−E[log(1 − D(G(z)))] está separado del grafo (`tf.stop_gradient` sobre él o sobre los logits de D para "
     "las falsas, o calculado con NumPy). En el paso de D solo se pueden separar las falsificaciones mismas, "
     "no los logits de D para ellas."),
    (lambda base: dict(d_terms="fake"),
     "in the D step only the fake-image term reached D's weights: the real-image term −E[log D(x)] is cut "
     "off from the graph (`tf.stop_gradient` on it or on D's real logits, or computed through NumPy).",
     "en el paso de D solo el término de las imágenes falsas llegó a los pesos de D: el término de las reales "
     "−E[log D(x)] está separado del grafo (`tf.stop_gradient` sobre él o sobre los logits reales de D, o "
     "calculado con NumPy)."),
    (lambda base: dict(d_scale=-base["d_scale"]),
     "D's loss on this batch went UP: D took a step of gradient ASCENT (minus the gradient); "
     "`apply_gradients` already subtracts the learning rate times the gradient you give it.",
     "la pérdida de D en este lote SUBIÓ: D dio un paso de ASCENSO del gradiente (menos el gradiente); "
     "`apply_gradients` ya resta la tasa de aprendizaje por el gradiente que le pasas."),
    (lambda base: dict(g_scale=-1.0),
     "G's non-saturating loss went UP: G took a step of gradient ASCENT (minus the gradient); "
     "`apply_gradients` already subtracts the learning rate times the gradient you give it.",
     "la pérdida no saturante de G SUBIÓ: G dio un paso de ASCENSO del gradiente (menos el gradiente); "
     "`apply_gradients` ya resta la tasa de aprendizaje por el gradiente que le pasas."),
    (lambda base: dict(d_scale=float(Q2_BATCH)),
     "D's step is as large as with the SUM over the batch, not the mean: average each term "
     "(`tf.reduce_mean`, or Keras's default reduction).",
     "el paso de D es tan grande como con la SUMA sobre el lote, no el promedio: promedia cada término "
     "(`tf.reduce_mean`, o la reducción por defecto de Keras)."),
    (lambda base: dict(g_scale=float(Q2_BATCH)),
     "G's step is as large as with the SUM over the batch, not the mean: average the G loss "
     "(`tf.reduce_mean`).",
     "el paso de G es tan grande como con la SUMA sobre el lote, no el promedio: promedia la pérdida de G "
     "(`tf.reduce_mean`)."),
    (lambda base: dict(d_scale=float(Q2_BATCH), g_scale=float(Q2_BATCH)),
     "both steps are as large as with the SUM over the batch, not the mean: average each term "
     "(`tf.reduce_mean`, or Keras's default reduction).",
     "los dos pasos son tan grandes como con la SUMA sobre el lote, no el promedio: promedia cada término "
     "(`tf.reduce_mean`, o la reducción por defecto de Keras)."),
    (lambda base: dict(g_first=True),
     "you updated G first and then D on the new fakes: take the D step first, then the G step through "
     "the updated D.",
     "actualizaste primero G y luego D con las nuevas falsificaciones: da primero el paso de D y luego el "
     "de G a través del D actualizado."),
]


def _flat(ws: list) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in ws])


def expect_q2(inputs: Arrays) -> Arrays:
    D0, G0, real, z, _ = _weights(inputs)
    before = ref_losses_np(D0, G0, real, z)
    weights, d_losses, g_losses, g_main, summary = [], [], [], [], []
    for opts in Q2_ACCEPTED:
        D, G = ref_train_step(inputs, **opts)
        D1, _ = ref_train_step(inputs, d_scale=opts["d_scale"])  # D after its own step
        weights.append(_flat(D + G))
        d_losses.append(before["d"] * opts["d_scale"])
        g_new_d = ref_losses_np(D1, G0, real, z)["g"]
        g_losses.append([g_new_d, before["g"]])
        g_main.append(g_new_d if opts["g_sees_new_d"] else before["g"])
        summary.append([before["d"], ref_losses_np(D, G0, real, z)["d"], ref_losses_np(D, G0, real, z)["g"],
                        ref_losses_np(D, G, real, z)["g"]])
    mistakes = []
    for options, en, es in Q2_MISTAKES:
        for base in Q2_ACCEPTED:
            D, G = ref_train_step(inputs, **{**base, **options(base)})
            mistakes.append((_flat(D + G), en, es))
    D1, _ = ref_train_step(inputs)
    return {
        "accepted/weights": np.array(weights), "accepted/d_loss": np.array(d_losses),
        "accepted/g_loss": np.array(g_losses), "accepted/g_loss_main": np.array(g_main),
        "accepted/summary": np.array(summary),
        # descent directions, to say which loss a wrong step made go up (first order)
        "grad_d": _flat(grad_d_of_d_loss(D0, G0, real, z)),
        "grad_g": _flat(grad_g(D1, G0, real, z, "ns")),
        **pack_variants(mistakes, prefix="mistake"),
    }


# ---------------------------------------------------------------------------
# Q3. The optimal discriminator of a 1-D toy
# ---------------------------------------------------------------------------

Q3_N, Q3_FAR = 60, 6
#: the density-ratio mistake is recognised where the ratio does not overflow
Q3_RATIO_RANGE = 6.0


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


def q3_variants(x, mu_data, sigma_data, mu_g, sigma_g) -> list[tuple[np.ndarray, str, str]]:
    want = ref_optimal_discriminator(x, mu_data, sigma_data, mu_g, sigma_g)
    log_ratio = normal_logpdf(x, mu_data, sigma_data) - normal_logpdf(x, mu_g, sigma_g)
    no_norm = expit(log_ratio + np.log(sigma_data) - np.log(sigma_g))
    return [
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


def expect_q3(inputs: Arrays) -> Arrays:
    x = np.asarray(inputs["x"], dtype=np.float64)
    params = [float(v) for v in inputs["params"]]
    log_ratio = normal_logpdf(x, params[0], params[1]) - normal_logpdf(x, params[2], params[3])
    inside = np.abs(x) < Q3_RATIO_RANGE
    return {"d": ref_optimal_discriminator(x, *params),
            # p_data / p_g where it does not overflow (NaN elsewhere: not compared)
            "ratio": np.where(inside, np.exp(np.where(inside, log_ratio, 0.0)), np.nan),
            **pack_variants(q3_variants(x, *params))}


# ---------------------------------------------------------------------------
# Q4. Latent codes: the evaluation is statistical, nothing expected
# ---------------------------------------------------------------------------

Q4_N, Q4_DIM = 4000, 5


def make_q4(rng: np.random.Generator) -> Arrays:
    return {"seeds": rng.integers(0, 2 ** 31 - 1, 2), "shape": np.array([Q4_N, Q4_DIM])}


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
        (diff2 + trs - 2 * elementwise, *Q5_ENTRYWISE),
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


def expect_q5(inputs: Arrays) -> Arrays:
    pairs = [tuple(np.asarray(inputs[k][i], dtype=np.float64) for k in ("mu1", "cov1", "mu2", "cov2"))
             for i in range(len(inputs["mu1"]))]
    per_pair = [q5_variants(*p) for p in pairs]
    variants = [(np.array([v[j][0] for v in per_pair]), per_pair[0][j][1], per_pair[0][j][2])
                for j in range(len(per_pair[0]))]
    return {"value": np.array([ref_frechet_distance(*p) for p in pairs]), **pack_variants(variants)}


# ---------------------------------------------------------------------------
# Q6. Interpretation (multiple choice): the letter and the hints
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


KEYS = {k.qid: k for k in [
    QuestionKey("gan.q1", make_q1, expect_q1),
    QuestionKey("gan.q2", make_q2, expect_q2),
    QuestionKey("gan.q3", make_q3, expect_q3),
    QuestionKey("gan.q4", make_q4, nothing_expected),
    QuestionKey("gan.q5", make_q5, expect_q5),
    choice_key(
        "gan.q6", Q6_TARGET, correct="B",
        right=("correct! V(D*, G) = 2 JS(p_data ‖ p_g) − log 4, minimised only by p_g = p_data, "
               "where D* = 1/2.",
               "¡correcto! V(D*, G) = 2 JS(p_data ‖ p_g) − log 4, que solo se minimiza con p_g = p_data, "
               "donde D* = 1/2."),
        hints=Q6_HINTS),
]}

__all__ = ["KEYS", "ref_gan_losses", "ref_gan_loss_grads", "ref_train_step", "ref_losses_np",
           "ref_optimal_discriminator", "ref_frechet_distance", "psd_sqrt"]
