"""VAE benchmark: the chapter's model beside the USM assignment's architecture, and custom train_step vs plain fit.

Prints, in one run, on Fashion-MNIST ([0, 1] pixels, Bernoulli likelihood
summed over the 784 pixels, validation -ELBO in nats per image, single-sample
estimate on the 5 000 validation images (the test images are left for the
chapter's final figures), batch 128):

1. ``USM assignment`` (seed 003): the assignment's exact architecture (filters 32, 3x3 kernels,
   conv, conv, conv stride 2 with 64 filters, dense 128, latent 2; decoder
   its mirror), trained with the chapter's custom ``train_step`` and Adam
   1e-3 (the issue's reference recipe): seconds per epoch (wall clock and
   process CPU time) and validation -ELBO after every epoch;
2. ``chapter d=2`` and ``chapter d=20``: ``shared.vae.VAE`` (the code shown in
   ``book/*/vae.ipynb``) with the chapter's recipe (``train_vae``'s Adam 2e-3),
   the same per-epoch numbers;
3. ``train_step vs fit``: the same encoder/decoder trained (a) by the VAE's
   custom ``train_step`` through ``fit`` and (b) as a standard functional
   model ``x -> [logits, mu, log_var]`` whose loss (the same -ELBO) is passed
   to ``compile(loss=...)``. Both go through ``Model.fit`` with the same
   batch size, optimiser and ``jit_compile=False``; the epochs alternate
   (a, b, a, b, ...) so that load changes on a shared machine hit both alike;
4. FID (``shared.quality``, N samples against N validation images) of every model's
   samples, with the FID between two sets of real images as a floor;
5. ratios: time per epoch, and wall-clock time to reach the reference's final
   validation -ELBO.

Usage: ``python benchmarks/vae.py`` (full budget; about 10-15 minutes on 2
idle cores, most of it for the reference), ``--quick`` for a smoke run, or
``--epochs/--ref-epochs/--fit-epochs`` to choose the budgets.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

from shared.data import load_fashion_mnist  # noqa: E402
from shared.quality import fid, load_classifier  # noqa: E402
from shared.vae import VAE, bernoulli_nll, kl_to_standard_normal, negative_elbo, reparameterize  # noqa: E402


def seed003_encoder(latent_dim: int = 2) -> keras.Model:
    """Seed 003's encoder: 32 -> 32 -> 64 (stride 2) 3x3 convolutions, dense 128."""
    x = keras.Input(shape=(28, 28, 1))
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)  # 14x14x64
    h = keras.layers.Dense(128, activation="relu")(keras.layers.Flatten()(h))
    return keras.Model(x, [keras.layers.Dense(latent_dim)(h), keras.layers.Dense(latent_dim)(h)], name="encoder")


def seed003_decoder(latent_dim: int = 2) -> keras.Model:
    """Seed 003's decoder: dense 128, dense 14*14*64, transposed convs 32 (stride 2), 32, 1 (logits)."""
    z = keras.Input(shape=(latent_dim,))
    h = keras.layers.Dense(128, activation="relu")(z)
    h = keras.layers.Dense(14 * 14 * 64, activation="relu")(h)
    h = keras.layers.Reshape((14, 14, 64))(h)
    h = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Conv2DTranspose(32, 3, padding="same", activation="relu")(h)
    logits = keras.layers.Conv2DTranspose(1, 3, padding="same")(h)
    return keras.Model(z, logits, name="decoder")


class _Sampling(keras.layers.Layer):
    def call(self, mu, log_var):
        return reparameterize(mu, log_var)


def plain_fit_model(encoder: keras.Model, decoder: keras.Model) -> keras.Model:
    """Functional model x -> concat(flat logits, mu, log_var), for a loss passed to compile."""
    x = keras.Input(shape=(28, 28, 1))
    mu, log_var = encoder(x)
    logits = decoder(_Sampling()(mu, log_var))
    return keras.Model(x, keras.layers.Concatenate()([keras.layers.Flatten()(logits), mu, log_var]))


def neg_elbo_loss(latent_dim: int):
    """-ELBO per image from the packed output of :func:`plain_fit_model` (Keras averages it)."""
    def loss(x, packed):
        logits = keras.ops.reshape(packed[:, :784], (-1, 28, 28, 1))
        mu, log_var = packed[:, 784:784 + latent_dim], packed[:, 784 + latent_dim:]
        return bernoulli_nll(keras.ops.reshape(x, (-1, 28, 28, 1)), logits) + kl_to_standard_normal(mu, log_var)
    return loss


def timed_epoch(model: keras.Model, x: np.ndarray, y=None, batch_size: int = 128) -> tuple[float, float]:
    """One epoch of ``fit``; returns (wall seconds, process CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)
    return time.perf_counter() - wall, time.process_time() - cpu


def run(name, model, x_train, x_valid, epochs, lr, log):
    """Train epoch by epoch; record wall/CPU seconds and validation -ELBO after each epoch."""
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), jit_compile=False)
    rows, wall_total = [], 0.0
    for epoch in range(1, epochs + 1):
        wall, cpu = timed_epoch(model, x_train)
        wall_total += wall
        nelbo = negative_elbo(model, x_valid)
        rows.append((epoch, wall, cpu, wall_total, nelbo))
        log(f"{name:<14} epoch {epoch:>2}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, "
            f"cumulative {wall_total:7.1f} s, validation -ELBO {nelbo:7.2f} nats")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the chapter's models (default 8)")
    parser.add_argument("--ref-epochs", type=int, default=4, help="epochs of the USM assignment's model (default 4)")
    parser.add_argument("--fit-epochs", type=int, default=3,
                        help="epochs of each side of train_step vs fit (default 3; the first, with tracing, is not counted)")
    parser.add_argument("--n-fid", type=int, default=5000, help="samples per FID (default 5000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2000 training images, 1 epoch each, N_FID 500")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = args.ref_epochs = args.fit_epochs = 1
        args.n_fid = 500
    if min(args.epochs, args.ref_epochs, args.fit_epochs, args.n_fid) < 1:
        parser.error("epochs and --n-fid must be >= 1")

    data = load_fashion_mnist()
    x_train = data.x_train[..., None].astype("float32") / 255.0
    x_valid = data.x_valid[..., None].astype("float32") / 255.0
    if args.quick:
        x_train, x_valid = x_train[:2000], x_valid[:2000]
    print(f"Fashion-MNIST: {len(x_train)} training, {len(x_valid)} validation images; batch 128; "
          f"Bernoulli likelihood, -ELBO in nats per image (summed over 784 pixels)")
    log = lambda s: print(s, flush=True)  # noqa: E731

    results = {}
    ref = VAE(2, encoder=seed003_encoder(2), decoder=seed003_decoder(2))
    results["USM assignment"] = (ref, run("USM assignment", ref, x_train, x_valid, args.ref_epochs, 1e-3, log))
    for d in (2, 20):
        model = VAE(d)
        results[f"chapter d={d}"] = (model, run(f"chapter d={d}", model, x_train, x_valid, args.epochs, 2e-3, log))

    # custom train_step vs standard compile(loss=...) + fit, same layers and math, alternating epochs
    keras.utils.set_random_seed(1)
    custom = VAE(2)
    custom.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3), jit_compile=False)
    keras.utils.set_random_seed(1)
    plain = plain_fit_model(keras.models.clone_model(custom.encoder), keras.models.clone_model(custom.decoder))
    plain.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3), loss=neg_elbo_loss(2), jit_compile=False)
    times = {"train_step": [], "compile(loss)": []}
    for epoch in range(1, args.fit_epochs + 1):
        times["train_step"].append(timed_epoch(custom, x_train))
        times["compile(loss)"].append(timed_epoch(plain, x_train, x_train))
        log(f"train_step vs fit, epoch {epoch}: custom train_step {times['train_step'][-1][0]:.1f} s, "
            f"compile(loss) {times['compile(loss)'][-1][0]:.1f} s (wall)")
    plain_nelbo = float(np.mean(plain.evaluate(x_valid, x_valid, batch_size=1000, verbose=0)))

    clf = load_classifier(verbose=False)
    n = min(args.n_fid, len(x_valid))
    floor = fid(data.x_test[:n], x_valid[:n], clf)
    fids = {name: fid(model.sample(n, seed=1), x_valid[:n], clf) for name, (model, _) in results.items()}

    print("\n=== Per epoch (after the first epoch, which includes tracing) ===")
    print(f"{'model':<14}{'epochs':>7}{'s/epoch wall':>14}{'s/epoch CPU':>13}{'final -ELBO':>13}{'FID':>8}")
    for name, (_, rows) in results.items():
        steady = rows[1:] or rows
        print(f"{name:<14}{len(rows):>7}{np.median([r[1] for r in steady]):>14.1f}"
              f"{np.median([r[2] for r in steady]):>13.1f}{rows[-1][4]:>13.2f}{fids[name]:>8.2f}")
    print(f"FID floor ({n} test vs {n} validation real images): {floor:.2f}")

    ref_rows, ch_rows = results["USM assignment"][1], results["chapter d=2"][1]
    target = ref_rows[-1][4]
    ref_time = ref_rows[-1][3]
    reach = next((r for r in ch_rows if r[4] <= target), None)
    ref_epoch = np.median([r[1] for r in (ref_rows[1:] or ref_rows)])
    ch_epoch = np.median([r[1] for r in (ch_rows[1:] or ch_rows)])
    print("\n=== Ratios ===")
    print(f"s/epoch, USM assignment / chapter d=2 (wall, median): {ref_epoch / ch_epoch:.2f}")
    if reach is None:
        print(f"chapter d=2 did NOT reach the USM assignment's final -ELBO {target:.2f} in {len(ch_rows)} epochs")
    else:
        print(f"time to reach the USM assignment's final -ELBO {target:.2f}: USM assignment {ref_time:.0f} s "
              f"({len(ref_rows)} epochs), chapter d=2 {reach[3]:.0f} s (epoch {reach[0]}); "
              f"ratio chapter / USM assignment = {reach[3] / ref_time:.2f}")
    steady = {k: (v[1:] or v) for k, v in times.items()}
    a = np.median([t[0] for t in steady["train_step"]])
    b = np.median([t[0] for t in steady["compile(loss)"]])
    ca = np.median([t[1] for t in steady["train_step"]])
    cb = np.median([t[1] for t in steady["compile(loss)"]])
    print(f"custom train_step vs compile(loss)+fit, s/epoch (median of epochs 2..{args.fit_epochs}): "
          f"{a:.1f} vs {b:.1f} wall (ratio {a / b:.2f}), {ca:.1f} vs {cb:.1f} CPU (ratio {ca / cb:.2f}); "
          f"compile(loss) model validation -ELBO after {args.fit_epochs} epochs: {plain_nelbo:.2f}")
    print("(timings on a shared 2-core machine: expect noise; CPU seconds are less sensitive to other load)")


if __name__ == "__main__":
    main()
