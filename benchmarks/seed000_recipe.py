"""The IAI-UNSAM notebook's MLP GAN recipe, re-implemented as a *baseline* to measure against.

What it is for
--------------
The GAN chapter trains its GAN with an explicit adversarial step (a
``tf.GradientTape`` step inside ``tf.function`` or an overridden
``train_step``). To say how much faster and how much more correct that is,
the chapter's benchmark needs the classic recipe of the IAI-UNSAM notebook
(seed 000, after Géron's *Hands-On ML*, 2nd ed.) run side by side, on the same
machine and data. This module provides it, written from scratch:

* the same networks: codings 30; generator Dense 100 → 150 (SELU) → 784
  (sigmoid) → 28×28; discriminator Flatten → Dense 150 → 100 (SELU) → 1
  (sigmoid); batch 32; RMSprop with its default learning rate; binary
  cross-entropy on probabilities;
* the same training loop: compile the discriminator, set
  ``discriminator.trainable = False``, compile the stacked ``generator →
  discriminator`` model, then alternate ``discriminator.train_on_batch`` on
  ``[fakes; reals]`` with labels ``[0; 1]`` and ``gan.train_on_batch`` on
  fresh codes with labels 1, reading batches from a shuffled ``tf.data``
  pipeline, as the source does;
* :func:`run_seed000_recipe` runs it under **legacy Keras 2** (``tf_keras``),
  where the ``trainable`` flag is frozen into each model at compile time, so
  the recipe really trains both networks. This is the fair speed baseline.
* :func:`run_seed000_recipe_keras3` runs the *same code* under **Keras 3**,
  which reads ``trainable`` at every step: the discriminator, now
  non-trainable, silently stops learning (Keras only warns "The model does
  not have any trainable weights"). The returned ``d_weights_changed`` is a
  measurement of that (``False``), not a claim.

Both libraries coexist in one process (checked with TensorFlow 2.21, Keras
3.15 and tf_keras 2.21): ``import tf_keras`` next to ``import keras`` works,
so no subprocess is needed.

What is measured
----------------
``seconds_per_step`` is the wall time of one loop iteration (one
discriminator ``train_on_batch`` and, every ``d_steps_per_g_step``
iterations, one ``gan.train_on_batch``, plus drawing the batch), averaged
after ``warmup`` untimed iterations (tracing/compilation). The monitoring
(D's accuracy on a fixed set of fakes and reals, every ``eval_every`` steps)
is run outside the timed section. All timings depend on the machine and on
what else runs on it.

Usage::

    python benchmarks/seed000_recipe.py [--steps 300] [--keras3]

    from benchmarks.seed000_recipe import run_seed000_recipe
    result = run_seed000_recipe(x_train, steps=300)
    result["seconds_per_step"], result["d_weights_changed"], result["d_fake_accuracy"]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

#: the source notebook's hyperparameters
CODINGS_SIZE = 30
GENERATOR_UNITS = (100, 150)
DISCRIMINATOR_UNITS = (150, 100)
BATCH_SIZE = 32
SHUFFLE_BUFFER = 1000


def _images(x_train: Any) -> np.ndarray:
    """Validate and convert training images to float32 in [0, 1], shape (n, 28, 28)."""
    x = np.asarray(x_train)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"x_train must have shape (n, 28, 28) (or (n, 28, 28, 1)), got {x.shape}; "
                         "pass e.g. load_fashion_mnist().x_train")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if x.dtype.kind != "f":
        raise ValueError(f"x_train must be uint8 (0..255) or float in [0, 1], got dtype {x.dtype}")
    x = x.astype(np.float32)
    if x.size and (float(x.min()) < -1e-6 or float(x.max()) > 1 + 1e-6):
        raise ValueError(f"float x_train must lie in [0, 1] (the generator ends in a sigmoid), "
                         f"got values in [{x.min():.3g}, {x.max():.3g}]; divide uint8 images by 255")
    return x


def _check_args(steps: int, batch_size: int, d_steps_per_g_step: int, warmup: int,
                eval_every: int, n: int) -> None:
    for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1),
                             ("d_steps_per_g_step", d_steps_per_g_step, 1), ("warmup", warmup, 0),
                             ("eval_every", eval_every, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if n < batch_size:
        raise ValueError(f"x_train has {n} images, fewer than one batch of {batch_size}")


def build_seed000_models(K: Any, codings_size: int = CODINGS_SIZE) -> tuple[Any, Any, Any]:
    """Build and compile seed 000's generator, discriminator and stacked GAN.

    Parameters
    ----------
    K : module
        ``tf_keras`` (legacy Keras 2) or ``keras`` (Keras 3).
    codings_size : int
        Dimension of the latent codes.

    Returns
    -------
    generator, discriminator, gan
        ``generator``: (B, codings) -> (B, 28, 28) in [0, 1];
        ``discriminator``: (B, 28, 28) -> (B, 1) probability of "real";
        ``gan``: generator then discriminator, compiled *after*
        ``discriminator.trainable = False`` (the recipe under study).
    """
    generator = K.Sequential(
        [K.layers.Input(shape=(codings_size,))]
        + [K.layers.Dense(u, activation="selu") for u in GENERATOR_UNITS]
        + [K.layers.Dense(28 * 28, activation="sigmoid"), K.layers.Reshape((28, 28))],
        name="generator")
    discriminator = K.Sequential(
        [K.layers.Input(shape=(28, 28)), K.layers.Flatten()]
        + [K.layers.Dense(u, activation="selu") for u in DISCRIMINATOR_UNITS]
        + [K.layers.Dense(1, activation="sigmoid")],
        name="discriminator")
    gan = K.Sequential([generator, discriminator], name="gan")
    discriminator.compile(loss="binary_crossentropy", optimizer="rmsprop")
    discriminator.trainable = False
    gan.compile(loss="binary_crossentropy", optimizer="rmsprop")
    return generator, discriminator, gan


def _weights(model: Any) -> list[np.ndarray]:
    return [np.array(w, copy=True) for w in model.get_weights()]


def _changed(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def _max_abs_change(before: list[np.ndarray], after: list[np.ndarray]) -> float:
    return float(max(np.max(np.abs(a - b)) for a, b in zip(before, after)))


def _run(K: Any, x_train: Any, steps: int, batch_size: int, seed: int, d_steps_per_g_step: int,
         warmup: int, eval_every: int, n_eval: int = 256) -> dict[str, Any]:
    import tensorflow as tf

    x = _images(x_train)
    _check_args(steps, batch_size, d_steps_per_g_step, warmup, eval_every, len(x))
    K.utils.set_random_seed(seed)
    generator, discriminator, gan = build_seed000_models(K)

    dataset = tf.data.Dataset.from_tensor_slices(x).shuffle(SHUFFLE_BUFFER, seed=seed)
    dataset = dataset.batch(batch_size, drop_remainder=True).repeat().prefetch(1)
    batches = iter(dataset)
    y1 = tf.constant([[0.0]] * batch_size + [[1.0]] * batch_size)
    y2 = tf.constant([[1.0]] * batch_size)

    # fixed monitoring batch: codes and real images never used for training decisions
    rng = np.random.default_rng(seed)
    eval_codes = rng.standard_normal((n_eval, CODINGS_SIZE)).astype(np.float32)
    eval_real = x[rng.choice(len(x), n_eval, replace=False)]

    def monitor(step: int) -> None:
        p_fake = np.asarray(discriminator(generator(eval_codes, training=False), training=False))
        p_real = np.asarray(discriminator(eval_real, training=False))
        history["eval_step"].append(step)
        history["d_fake_accuracy"].append(float(np.mean(p_fake < 0.5)))
        history["d_real_accuracy"].append(float(np.mean(p_real >= 0.5)))

    history: dict[str, list] = {"eval_step": [], "d_fake_accuracy": [], "d_real_accuracy": [],
                                "d_loss": [], "g_loss": []}
    d_before, g_before = _weights(discriminator), _weights(generator)
    monitor(0)
    timed = 0.0
    n_timed = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(steps):
            start = time.perf_counter()
            x_batch = next(batches)
            codes = tf.random.normal(shape=[batch_size, CODINGS_SIZE])
            fakes = generator(codes)
            d_loss = discriminator.train_on_batch(tf.concat([fakes, x_batch], axis=0), y1)
            g_loss = None
            if (i + 1) % d_steps_per_g_step == 0:
                codes = tf.random.normal(shape=[batch_size, CODINGS_SIZE])
                g_loss = gan.train_on_batch(codes, y2)
            elapsed = time.perf_counter() - start
            if i >= warmup:
                timed += elapsed
                n_timed += 1
            history["d_loss"].append(float(np.ravel(d_loss)[0]))
            history["g_loss"].append(float("nan") if g_loss is None else float(np.ravel(g_loss)[0]))
            if (i + 1) % eval_every == 0 or i + 1 == steps:
                monitor(i + 1)
    d_after, g_after = _weights(discriminator), _weights(generator)
    seconds_per_step = timed / n_timed if n_timed else float("nan")
    messages = sorted({str(w.message) for w in caught})
    return {
        "keras": f"{K.__name__} {K.__version__}",
        "steps": steps,
        "timed_steps": n_timed,
        "batch_size": batch_size,
        "d_steps_per_g_step": d_steps_per_g_step,
        "seconds_per_step": seconds_per_step,
        "steps_per_second": 1.0 / seconds_per_step if n_timed else float("nan"),
        "d_weights_changed": _changed(d_before, d_after),
        "g_weights_changed": _changed(g_before, g_after),
        "d_max_abs_weight_change": _max_abs_change(d_before, d_after),
        "g_max_abs_weight_change": _max_abs_change(g_before, g_after),
        "eval_step": history["eval_step"],
        "d_fake_accuracy": history["d_fake_accuracy"],
        "d_real_accuracy": history["d_real_accuracy"],
        "d_loss": history["d_loss"],
        "g_loss": history["g_loss"],
        "any_nan_loss": bool(np.any(np.isnan(history["d_loss"]))
                             or np.any(np.isnan([v for k, v in enumerate(history["g_loss"])
                                                 if (k + 1) % d_steps_per_g_step == 0]))),
        "warnings": messages,
    }


def run_seed000_recipe(x_train: Any, steps: int, batch_size: int = BATCH_SIZE, seed: int = 0,
                       d_steps_per_g_step: int = 1, warmup: int = 10,
                       eval_every: int = 25) -> dict[str, Any]:
    """Run seed 000's GAN recipe under legacy Keras 2 (``tf_keras``), where it trains.

    Parameters
    ----------
    x_train : array, shape (n, 28, 28)
        Training images, ``uint8`` 0..255 or float in [0, 1] (e.g.
        ``load_fashion_mnist().x_train``).
    steps : int
        Loop iterations (discriminator steps).
    batch_size : int
        Real images per step (the discriminator sees ``2 * batch_size``).
    seed : int
        Seeds Keras/TF/NumPy, the shuffle and the monitoring batch.
    d_steps_per_g_step : int
        Discriminator steps per generator step (the source's
        ``discriminative_batches_per_generative_batch``).
    warmup : int
        Untimed first iterations (graph tracing).
    eval_every : int
        Steps between two measurements of D's accuracy (untimed).

    Returns
    -------
    dict
        ``seconds_per_step``, ``steps_per_second`` (timed after warm-up);
        ``d_weights_changed`` / ``g_weights_changed`` (bool) and the largest
        absolute weight change of each network; ``eval_step`` with
        ``d_fake_accuracy`` and ``d_real_accuracy`` (fraction of 256 fixed
        fakes/reals that D classifies correctly at each of those steps;
        step 0 is before training); per-step ``d_loss`` and ``g_loss``
        (``nan`` on steps without a generator update); ``any_nan_loss``;
        the Keras ``warnings`` seen during training.
    """
    import tf_keras

    return _run(tf_keras, x_train, steps, batch_size, seed, d_steps_per_g_step, warmup, eval_every)


def run_seed000_recipe_keras3(x_train: Any, steps: int, batch_size: int = BATCH_SIZE, seed: int = 0,
                              d_steps_per_g_step: int = 1, warmup: int = 10,
                              eval_every: int = 25) -> dict[str, Any]:
    """The same recipe, same code, under Keras 3: the discriminator silently stops learning.

    Keras 3 reads ``discriminator.trainable`` when each step runs, not when a
    model is compiled, so after ``discriminator.trainable = False`` the
    discriminator's own ``train_on_batch`` has no trainable weights. Expect
    ``d_weights_changed == False`` (and a Keras warning in ``warnings``) while
    the generator still trains against a frozen, random discriminator.

    Parameters and returned keys are those of :func:`run_seed000_recipe`.
    """
    import keras

    return _run(keras, x_train, steps, batch_size, seed, d_steps_per_g_step, warmup, eval_every)


def _summary(name: str, r: dict[str, Any]) -> list[str]:
    acc = ", ".join(f"{s}:{a:.2f}" for s, a in zip(r["eval_step"], r["d_fake_accuracy"]))
    return [
        f"{name}  ({r['keras']})",
        f"  {r['seconds_per_step'] * 1e3:.2f} ms/step   {r['steps_per_second']:.1f} steps/s   "
        f"({r['timed_steps']} timed steps after warm-up, batch {r['batch_size']})",
        f"  D weights changed: {r['d_weights_changed']} (max |Δw| {r['d_max_abs_weight_change']:.3g})   "
        f"G weights changed: {r['g_weights_changed']} (max |Δw| {r['g_max_abs_weight_change']:.3g})",
        f"  D accuracy on fixed fakes, step:acc  {acc}",
        f"  final D accuracy on reals {r['d_real_accuracy'][-1]:.2f}   NaN in losses: {r['any_nan_loss']}",
        *(f"  warning: {w}" for w in r["warnings"][:3]),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keras3", action="store_true",
                        help="also run the same recipe under Keras 3 (the discriminator does not learn)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from shared.data import load_fashion_mnist

    x_train = load_fashion_mnist().x_train
    legacy = run_seed000_recipe(x_train, steps=args.steps, seed=args.seed)
    lines = _summary("IAI-UNSAM recipe, legacy Keras 2", legacy)
    if args.keras3:
        k3 = run_seed000_recipe_keras3(x_train, steps=args.steps, seed=args.seed)
        lines += _summary("IAI-UNSAM recipe, Keras 3", k3)
        lines.append(f"  Keras 3 / legacy time per step: {k3['seconds_per_step'] / legacy['seconds_per_step']:.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
