"""The convolutional VAE of the VAE chapter, reusable by other chapters.

The chapter ``book/{en,es}/vae.ipynb`` shows this code in the open, cell by
cell (cells whose first line is ``#@save``); ``tests/test_vae.py`` checks that
those cells are textually identical to the source here, so they cannot drift.
Only :func:`train_vae`'s bookkeeping, :func:`negative_elbo` and the cache
(:func:`pretrained_vae`, :func:`save_pretrained`, :func:`store_pretrained`) are plumbing.

Conventions: images are float32 in ``[0, 1]`` with shape ``(n, 28, 28, 1)``;
the decoder outputs *logits* of independent Bernoulli pixels; losses are in
nats per image (summed over the 784 pixels, averaged over images).

Typical use from another chapter::

    from shared.vae import pretrained_vae
    vae, info = pretrained_vae(latent_dim=2)       # cached, stored with the course, or trained now
    images = vae.sample(64)                        # (64, 28, 28, 1) in [0, 1]
    print(info["train_seconds"], info["test_neg_elbo"])
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "VERSION",
    "build_encoder",
    "build_decoder",
    "reparameterize",
    "kl_to_standard_normal",
    "bernoulli_nll",
    "VAE",
    "to_images",
    "check_images",
    "train_vae",
    "negative_elbo",
    "pretrained_vae",
    "save_pretrained",
    "pretrained_path",
    "store_pretrained",
]

#: Bumped whenever the architecture or the training recipe changes, so that a
#: cached model of an older recipe is never loaded.
VERSION = "1"

IMAGE_SHAPE = (28, 28, 1)

#: The chapter's default training budget (its ``EPOCHS`` and ``N_TRAIN`` lines
#: use these values; ``tests/test_vae.py`` checks that they agree).
FULL_EPOCHS, QUICK_EPOCHS = 8, 1
QUICK_N_TRAIN = 5_000
#: Where the course stores the default model trained at the full budget (``python -m shared.vae store``).
STORED_DIR = Path(__file__).resolve().parent.parent / "long_runs" / "models"


#@save
def kl_to_standard_normal(mu, log_var):
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) per row: (n, d) -> (n,)."""
    return 0.5 * keras.ops.sum(keras.ops.exp(log_var) + keras.ops.square(mu) - 1.0 - log_var, axis=-1)


#@save
def reparameterize(mu, log_var):
    """z = mu + sigma * eps with sigma = exp(log_var / 2), eps ~ N(0, I)."""
    eps = keras.random.normal(keras.ops.shape(mu))
    return mu + keras.ops.exp(0.5 * log_var) * eps


#@save
def build_encoder(latent_dim: int = 2, filters: int = 16) -> keras.Model:
    """x (n, 28, 28, 1) -> (mu, log_var), each (n, latent_dim)."""
    x = keras.Input(shape=(28, 28, 1))
    h = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)      # 14x14
    h = keras.layers.Conv2D(2 * filters, 3, strides=2, padding="same", activation="relu")(h)  # 7x7
    h = keras.layers.Conv2D(2 * filters, 3, padding="same", activation="relu")(h)             # 7x7
    h = keras.layers.Dense(128, activation="relu")(keras.layers.Flatten()(h))
    mu = keras.layers.Dense(latent_dim, name="mu")(h)
    log_var = keras.layers.Dense(latent_dim, name="log_var")(h)
    return keras.Model(x, [mu, log_var], name="encoder")


#@save
def build_decoder(latent_dim: int = 2, filters: int = 16) -> keras.Model:
    """z (n, latent_dim) -> Bernoulli logits (n, 28, 28, 1)."""
    z = keras.Input(shape=(latent_dim,))
    h = keras.layers.Dense(128, activation="relu")(z)
    h = keras.layers.Dense(7 * 7 * 2 * filters, activation="relu")(h)
    h = keras.layers.Reshape((7, 7, 2 * filters))(h)
    h = keras.layers.Conv2DTranspose(2 * filters, 3, padding="same", activation="relu")(h)       # 7x7
    h = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(h)  # 14x14
    logits = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(h)                     # 28x28
    return keras.Model(z, logits, name="decoder")


#@save
def bernoulli_nll(x, logits):
    """-log p(x | z) for Bernoulli pixels, summed over pixels: (n, 28, 28, 1) -> (n,)."""
    # max(l, 0) - l*x + log(1 + exp(-|l|)): the numerically stable BCE on logits
    per_pixel = keras.ops.relu(logits) - logits * x + keras.ops.softplus(-keras.ops.abs(logits))
    return keras.ops.sum(per_pixel, axis=(1, 2, 3))


#@save
class VAE(keras.Model):
    """Encoder + decoder trained by maximising the ELBO (minimising -ELBO)."""

    def __init__(self, latent_dim=2, filters=16, encoder=None, decoder=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.filters = latent_dim, filters
        self.encoder = encoder if encoder is not None else build_encoder(latent_dim, filters)
        self.decoder = decoder if decoder is not None else build_decoder(latent_dim, filters)
        self.loss_tracker = keras.metrics.Mean(name="loss")  # -ELBO, nats per image
        self.rec_tracker = keras.metrics.Mean(name="rec")    # E_q[-log p(x|z)]
        self.kl_tracker = keras.metrics.Mean(name="kl")      # KL(q(z|x) || p(z))

    @property
    def metrics(self):
        return [self.loss_tracker, self.rec_tracker, self.kl_tracker]

    def call(self, x):
        mu, log_var = self.encoder(x)
        return self.decoder(reparameterize(mu, log_var))

    def reconstruction_nll(self, x, logits):
        return bernoulli_nll(x, logits)  # -log p(x|z), Bernoulli pixels

    def prior_kl(self, z, mu, log_var):
        return kl_to_standard_normal(mu, log_var)  # closed form for p(z) = N(0, I)

    def losses_on(self, x):
        mu, log_var = self.encoder(x)
        z = reparameterize(mu, log_var)
        rec = keras.ops.mean(self.reconstruction_nll(x, self.decoder(z)))
        kl = keras.ops.mean(self.prior_kl(z, mu, log_var))
        return rec + kl, rec, kl

    def update_metrics(self, loss, rec, kl):
        for tracker, value in zip(self.metrics, (loss, rec, kl)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, rec, kl = self.losses_on(data)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.update_metrics(loss, rec, kl)

    def test_step(self, data):
        return self.update_metrics(*self.losses_on(data))

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return to_images(self.decoder.predict(z, verbose=0))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters}


def to_images(logits: np.ndarray) -> np.ndarray:
    """Bernoulli logits -> pixel means in [0, 1] (same shape, float32)."""
    logits = np.asarray(logits, dtype=np.float32)
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)  # sigmoid, no overflow


def check_images(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Validate a batch of images in [0, 1] and return it as (n, 28, 28, 1) float32."""
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[1:] == (28, 28):
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{name} must have shape (n, 28, 28) or (n, 28, 28, 1), got {x.shape}")
    if x.dtype == np.uint8:
        raise ValueError(f"{name} is uint8 (0..255): scale it to [0, 1] first, e.g. {name} / 255.0")
    x = x.astype(np.float32)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(f"{name} must hold pixel values in [0, 1] (Bernoulli likelihood), "
                         f"got min {x.min():.3g}, max {x.max():.3g}")
    return x


#@save
def train_vae(x_train, x_valid=None, latent_dim=2, epochs=10, batch_size=128, learning_rate=2e-3,
              model=None, seed=0):
    """Train a VAE (or a given, uncompiled ``model``); return (model, history dict, seconds)."""
    x_train = check_images(x_train, "x_train")
    valid = None if x_valid is None else check_images(x_valid, "x_valid")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    keras.utils.set_random_seed(seed)
    model = model if model is not None else VAE(latent_dim)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), jit_compile=False)
    start = time.perf_counter()
    history = model.fit(x_train, epochs=epochs, batch_size=batch_size, shuffle=True,
                        validation_data=valid, verbose=0)
    return model, history.history, time.perf_counter() - start


def negative_elbo(model: VAE, x: np.ndarray, batch_size: int = 1000, seed: int = 0) -> float:
    """Single-sample estimate of the mean -ELBO on ``x``, in nats per image.

    Parameters
    ----------
    model : VAE
        A trained model (its ``losses_on`` defines the bound, so an alternative
        prior is evaluated with its own KL).
    x : np.ndarray, shape (n, 28, 28) or (n, 28, 28, 1), float in [0, 1]
    batch_size : int
    seed : int
        Seed of the reparameterisation noise (the estimate is random).

    Returns
    -------
    float
        Mean over images of ``-log p(x|z) + KL``, Bernoulli likelihood summed
        over the 784 pixels.
    """
    x = check_images(x)
    keras.utils.set_random_seed(seed)
    total = 0.0
    for i in range(0, len(x), batch_size):
        loss, _, _ = model.losses_on(x[i:i + batch_size])
        total += float(loss) * len(x[i:i + batch_size])
    return total / len(x)


# ---------------------------------------------------------------------------
# Cache of trained models (used by the GAN chapter)
# ---------------------------------------------------------------------------


def pretrained_path(latent_dim: int = 2, quick: bool | None = None, cache_dir: str | None = None) -> Path:
    """Where the trained default model is cached.

    The file name encodes the latent dimension, the budget mode (``quick`` or
    ``full``, see :mod:`shared.budget`) and :data:`VERSION`; a ``.json`` file
    with the same stem holds the training record.
    """
    from shared.budget import is_quick
    from shared.data import _course_cache_dir

    if not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    mode = "quick" if (is_quick() if quick is None else quick) else "full"
    return _course_cache_dir(cache_dir) / "models" / f"vae-z{int(latent_dim)}-{mode}-v{VERSION}.keras"


def _built(model: VAE) -> VAE:
    """``model``, called once on a blank image if it never was (a custom ``train_step`` never calls it).

    Saving a model, or loading weights into it, needs its weights to exist.
    """
    if not model.built:
        model(np.zeros((1, *IMAGE_SHAPE), "float32"))
    return model


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path`` (no half-written files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_pretrained(model: VAE, info: dict, quick: bool | None = None, cache_dir: str | None = None) -> Path:
    """Save a trained default VAE and its training record atomically.

    Parameters
    ----------
    model : VAE
        Trained model (default architecture).
    info : dict
        JSON-serialisable record, e.g. ``{"train_seconds": 61.2, "epochs": 10,
        "test_neg_elbo": 262.3}``; ``latent_dim`` and ``version`` are added.
    quick, cache_dir
        Budget mode (default: the current one) and cache folder (default: the
        course cache, see ``shared.data``).

    Returns
    -------
    Path
        The ``.keras`` file written.
    """
    # duck-typed: the chapter's notebook defines its own (identical) VAE class
    if type(model).__name__ != "VAE" or not all(hasattr(model, a) for a in ("encoder", "decoder", "latent_dim")):
        raise TypeError(f"model must be the chapter's VAE (default architecture), got {type(model).__name__}")
    path = pretrained_path(model.latent_dim, quick, cache_dir)
    record = {**info, "latent_dim": model.latent_dim, "version": VERSION}
    text = json.dumps(record, indent=1)  # fails before writing anything if not serialisable
    _built(model)
    _atomic_write(path, lambda tmp: model.save(tmp))
    _atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def stored_path(latent_dim: int = 2, folder: Path | None = None) -> Path:
    """The weights of the stored full-budget default model (its record: the ``.json`` beside it)."""
    return (STORED_DIR if folder is None else Path(folder)) / f"vae-z{int(latent_dim)}-v{VERSION}.weights.h5"


def _record_path(weights: Path) -> Path:
    return weights.with_name(weights.name.replace(".weights.h5", ".json"))


def _load_stored(latent_dim: int, folder: Path | None = None) -> tuple[VAE, dict] | None:
    """The stored model and its record, or None if absent or unreadable."""
    path = stored_path(latent_dim, folder)
    if not path.is_file() or not _record_path(path).is_file():
        return None
    try:
        model = _built(VAE(latent_dim))
        model.load_weights(path)
        info = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, json.JSONDecodeError) as err:
        print(f"shared.vae: ignoring unreadable stored model {path} ({err})")
        return None
    return model, info


def pretrained_vae(latent_dim: int = 2, cache: bool = True, cache_dir: str | None = None,
                   epochs: int | None = None, stored: bool = True) -> tuple[VAE, dict]:
    """The chapter's default VAE, trained on Fashion-MNIST: cached, else stored with the course, else trained now.

    The course cache holds the model the VAE chapter trained on this machine (``save_pretrained``).
    Without it, at the full budget, the copy stored with the course (``long_runs/models/``, made by
    ``make long-runs`` with this function's training code) is loaded, so that a chapter opened
    first (on Colab, in a new runtime) does not train the VAE chapter's model too.

    Parameters
    ----------
    latent_dim : int, default 2
    cache : bool, default True
        Load from / save to the course cache. ``False`` always trains and saves nothing.
    cache_dir : str, optional
        Course cache folder (default: see ``shared.data``).
    epochs : int, optional
        Training epochs when training is needed; default: the chapter's budget
        (``budget(full=FULL_EPOCHS, quick=QUICK_EPOCHS)``). Another value than the full
        budget skips the stored model.
    stored : bool, default True
        Whether the stored model may be loaded (full budget only; ``cache=False`` skips it too).

    Returns
    -------
    (VAE, dict)
        The model and its training record: ``train_seconds`` (wall-clock
        training time of the run that produced it), ``epochs``,
        ``test_neg_elbo`` (nats per image, Bernoulli likelihood, on the
        first ``n_test`` test images: all 10 000, or 2000 in quick mode), ``quick``,
        ``loaded`` (``True`` when it was not trained by this call) and ``source``
        (``"cache"``, ``"stored"`` or ``"trained"``).
    """
    from shared.budget import budget, is_quick
    from shared.data import load_fashion_mnist

    path = pretrained_path(latent_dim, cache_dir=cache_dir)
    if cache and path.is_file() and path.with_suffix(".json").is_file():
        try:
            model = keras.models.load_model(path, custom_objects={"VAE": VAE}, compile=False)
            info = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            return model, {**info, "loaded": True, "source": "cache"}
        except (OSError, ValueError, json.JSONDecodeError) as err:  # corrupt cache: retrain
            print(f"shared.vae: ignoring unreadable cached model {path} ({err}); training again")
    if cache and stored and not is_quick() and epochs in (None, FULL_EPOCHS):
        found = _load_stored(latent_dim)
        if found is not None:
            return found[0], {**found[1], "loaded": True, "source": "stored"}
    data = load_fashion_mnist()
    x_train = data.x_train.astype("float32")[..., None] / 255.0
    x_test = data.x_test.astype("float32")[..., None] / 255.0
    if epochs is None:
        epochs = budget(full=FULL_EPOCHS, quick=QUICK_EPOCHS)
    if is_quick():
        x_train, x_test = x_train[:QUICK_N_TRAIN], x_test[:2_000]
    model, _, seconds = train_vae(x_train, latent_dim=latent_dim, epochs=epochs)
    info = {"train_seconds": seconds, "epochs": epochs, "quick": is_quick(), "n_train": len(x_train),
            "test_neg_elbo": negative_elbo(model, x_test), "n_test": len(x_test)}
    if cache:
        save_pretrained(model, info, cache_dir=cache_dir)
    return model, {**info, "latent_dim": latent_dim, "version": VERSION, "loaded": False, "source": "trained"}


def store_pretrained(latent_dim: int = 2, folder: Path | None = None) -> tuple[Path, dict]:
    """Train the default model at the full budget and store it with the course (``make long-runs``).

    Returns the weights' path and the training record written beside them.
    """
    from shared.budget import is_quick

    if is_quick():
        raise RuntimeError("store_pretrained trains the full budget: unset COURSE_QUICK (or set it to 0)")
    model, info = pretrained_vae(latent_dim, cache=False)
    path = stored_path(latent_dim, folder)
    record = {k: v for k, v in info.items() if k not in ("loaded", "source")}
    text = json.dumps(record, indent=1)
    weights_only = _built(VAE(latent_dim))  # the networks' weights, without the optimizer's state (1/3 the size)
    weights_only.set_weights(_built(model).get_weights())
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:  # Keras wants the name to end in .weights.h5
        weights_only.save_weights(Path(tmp) / path.name)
        os.replace(Path(tmp) / path.name, path)
    _atomic_write(_record_path(path), lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
    return path, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.vae", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["store"],
                        help="store: train the default model (full budget) and write it into long_runs/models/")
    parser.add_argument("--latent-dim", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ["COURSE_QUICK"] = "0"  # the stored model is the full budget's
    path, record = store_pretrained(args.latent_dim)
    print(f"VAE (d = {args.latent_dim}): {record['epochs']} epochs in {record['train_seconds']:.0f} s, "
          f"test -ELBO {record['test_neg_elbo']:.1f} nats; stored in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
