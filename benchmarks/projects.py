"""Calibration of the projects' bands: trains reference models and prints what the grader measures.

Run (about 2 minutes on 2 CPU cores)::

    PYTHONPATH=. python benchmarks/projects.py

MDN project: the solution notebook's recipe and two weaker variants, each saved
and measured with ``shared.projects.selfcheck.measure_file`` (the grader's
measurements on public inputs). Copy check: the nearest-neighbour distances
that ``shared.projects.bands.COPIES`` is set from.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def train_mdn(k: int, epochs: int, decay: bool, seed: int = 0):
    import keras
    import tensorflow as tf

    from shared.arm import sample_arm

    keras.utils.set_random_seed(seed)
    train, val = sample_arm(20_000, seed=0), sample_arm(5_000, seed=1)

    def mdn_nll(theta, params):
        mu = tf.reshape(params[:, k:3 * k], (-1, k, 2))
        log_sigma = tf.reshape(params[:, 3 * k:], (-1, k, 2))
        z = (theta[:, None, :] - mu) / tf.exp(log_sigma)
        log_normal = tf.reduce_sum(-0.5 * z ** 2 - log_sigma - 0.5 * np.log(2 * np.pi), axis=2)
        return -tf.reduce_logsumexp(tf.nn.log_softmax(params[:, :k]) + log_normal, axis=1)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="tanh"),
                              keras.layers.Dense(64, activation="tanh"), keras.layers.Dense(5 * k)])
    steps = epochs * -(-len(train.inputs) // 128)
    lr = keras.optimizers.schedules.CosineDecay(3e-3, steps) if decay else 3e-3
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=mdn_nll)
    start = time.perf_counter()
    model.fit(train.inputs, train.targets, validation_data=(val.inputs, val.targets), epochs=epochs,
              batch_size=128, verbose=0)
    return model, time.perf_counter() - start


def mdn_table() -> None:
    from shared.projects.models import save_model
    from shared.projects.selfcheck import measure_file

    print("MDN project (seed 0): gap = NLL - Bayes-optimal NLL on 20 000 fresh pairs")
    print(f"{'model':<38} {'train s':>8} {'gap':>7} {'share err':>9} {'missed':>7} {'off':>6} {'score':>6}")
    variants = [("solution: K=3, cosine decay, 100 epochs", 3, 100, True),
                ("K=3, constant lr, 60 epochs", 3, 60, False),
                ("K=1 (one Gaussian), 30 epochs", 1, 30, False)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, k, epochs, decay in variants:
            model, seconds = train_mdn(k, epochs, decay)
            path = save_model(model, Path(tmp) / f"k{k}-{epochs}.keras", "mdn")
            parts = measure_file("mdn-project", path)
            nll, cov = (p.values for p in parts)
            total = sum(p.points for p in parts)
            print(f"{name:<38} {seconds:>8.1f} {nll['gap']:>7.3f} {cov['share_error']:>9.3f} "
                  f"{100 * cov['missed']:>6.1f}% {100 * cov['off']:>5.1f}% {total:>6g}")


def copies_table() -> None:
    from shared.data import load_fashion_mnist
    from shared.projects import measure

    data = load_fashion_mnist(validation=0)
    reference = measure.pooled(data.x_train.astype(np.float32) / 255)
    rng = np.random.default_rng(0)
    test = data.x_test[:1000].astype(np.float32) / 255
    copies = data.x_train[rng.choice(len(data.x_train), 500, replace=False)].astype(np.float32) / 255
    print("\nCopy check: distance to the nearest training image (2x2-pooled, min over 1-pixel shifts)")
    print(f"{'images':<34} {'p0.5':>6} {'p1':>6} {'p50':>6}")
    rows = [("1 000 test images (honest)", test), ("training copies", copies),
            ("training copies shifted 1 px", np.roll(copies, 1, axis=2)),
            ("training copies + noise 0.02", np.clip(copies + rng.normal(0, 0.02, copies.shape), 0, 1)),
            ("training copies + noise 0.1", np.clip(copies + rng.normal(0, 0.1, copies.shape), 0, 1)),
            ("training copies shifted 2 px", np.roll(copies, 2, axis=2))]
    for name, images in rows:
        d = measure.nearest_distances(images.astype(np.float32), reference)
        p = np.percentile(d, [0.5, 1, 50])
        print(f"{name:<34} {p[0]:>6.2f} {p[1]:>6.2f} {p[2]:>6.2f}")


if __name__ == "__main__":
    mdn_table()
    copies_table()
