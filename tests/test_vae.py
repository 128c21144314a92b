"""Tests of shared/vae.py: the chapter's VAE, its cache, and its sync with the notebooks."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
import tensorflow_probability as tfp

from shared import vae as V

ROOT = Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "shared" / "vae.py").read_text(encoding="utf-8")
NOTEBOOKS = ["book/en/vae.ipynb", "book/es/vae.ipynb"]


def saved_blocks(source: str) -> list[str]:
    """The ``#@save`` blocks of a module: from the marker to the next two blank lines."""
    return re.findall(r"^#@save\n.*?(?=\n\n\n|\Z)", source, re.S | re.M)


# ---------------------------------------------------------------------------
# The notebook shows exactly the code of shared/vae.py
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_save_cells_are_the_module_source(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("#@save")]
    blocks = saved_blocks(SOURCE)
    assert len(blocks) >= 7, "shared/vae.py lost its #@save blocks"
    assert cells == blocks, (
        f"{path}: the #@save cells must equal, in order, the #@save blocks of shared/vae.py "
        "(copy the changed block into the notebook, or vice versa)")


def test_saved_blocks_cover_the_model_loss_and_training_step():
    names = [re.match(r"#@save\n(?:def|class) (\w+)", b).group(1) for b in saved_blocks(SOURCE)]
    for name in ["build_encoder", "build_decoder", "reparameterize", "kl_to_standard_normal",
                 "bernoulli_nll", "VAE", "train_vae"]:
        assert name in names


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_budget_is_the_pretrained_budget(path):
    # the chapter saves its default model into the cache that pretrained_vae() reads:
    # both must use the same recipe
    text = "\n".join(c.source for c in nbformat.read(ROOT / path, as_version=4).cells if c.cell_type == "code")
    assert f"EPOCHS = budget(full={V.FULL_EPOCHS}, quick={V.QUICK_EPOCHS})" in text
    assert f"N_TRAIN = budget(full=55_000, quick={V.QUICK_N_TRAIN:_})" in text
    assert "train_vae(x_train, x_valid, latent_dim=2, epochs=EPOCHS)" in text
    assert "save_pretrained(vae," in text


# ---------------------------------------------------------------------------
# Behaviour
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("latent_dim", [2, 5])
def test_shapes(latent_dim):
    x = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype("float32")
    mu, log_var = V.build_encoder(latent_dim)(x)
    assert mu.shape == (3, latent_dim) and log_var.shape == (3, latent_dim)
    assert V.build_decoder(latent_dim)(mu).shape == (3, 28, 28, 1)
    model = V.VAE(latent_dim)
    assert model(x).shape == (3, 28, 28, 1)
    samples = model.sample(4, seed=0)
    assert samples.shape == (4, 28, 28, 1) and samples.min() >= 0 and samples.max() <= 1


def test_kl_closed_form_matches_tfp_and_monte_carlo():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(5, 3)).astype("float32")
    log_var = rng.normal(size=(5, 3)).astype("float32")
    closed = np.asarray(V.kl_to_standard_normal(mu, log_var))
    tfd = tfp.distributions
    q = tfd.MultivariateNormalDiag(loc=mu, scale_diag=np.exp(0.5 * log_var))
    p = tfd.MultivariateNormalDiag(loc=np.zeros(3, "float32"), scale_diag=np.ones(3, "float32"))
    np.testing.assert_allclose(closed, tfd.kl_divergence(q, p).numpy(), rtol=1e-5, atol=1e-5)
    # Monte Carlo in NumPy, independent of TF
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * rng.standard_normal((400_000, 5, 3))
    log_q = -0.5 * (np.log(2 * np.pi) + log_var + ((z - mu) / sigma) ** 2)
    log_p = -0.5 * (np.log(2 * np.pi) + z ** 2)
    np.testing.assert_allclose(closed, (log_q - log_p).sum(-1).mean(0), atol=0.02)
    assert np.allclose(np.asarray(V.kl_to_standard_normal(np.zeros((2, 4)), np.zeros((2, 4)))), 0.0)


def test_reparameterize_uses_the_standard_deviation():
    keras.utils.set_random_seed(0)
    mu = np.full((200_000, 2), [1.0, -2.0], "float32")
    log_var = np.full((200_000, 2), [np.log(4.0), np.log(0.25)], "float32")
    z = np.asarray(V.reparameterize(mu, log_var))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.02)
    # sigma = exp(log_var / 2) = [2, 0.5]; the exp(log_var) bug would give [4, 0.25]
    np.testing.assert_allclose(z.std(0), [2.0, 0.5], rtol=0.02)


def test_bernoulli_nll_is_summed_bce_and_stable():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(2, 28, 28, 1)).astype("float32")
    logits = rng.normal(scale=3.0, size=(2, 28, 28, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(np.asarray(V.bernoulli_nll(x, logits)), expected, rtol=1e-4)
    extreme = np.asarray(V.bernoulli_nll(np.ones((1, 28, 28, 1), "float32"), np.full((1, 28, 28, 1), -200.0, "float32")))
    np.testing.assert_allclose(extreme, [784 * 200.0], rtol=1e-5)  # finite, = 784 * |logit|


def tiny_batch(n: int = 64) -> np.ndarray:
    from shared.data import load_fashion_mnist

    return load_fashion_mnist().x_train[:n, ..., None].astype("float32") / 255.0


def test_losses_are_finite_and_one_train_step_lowers_the_loss():
    x = tiny_batch()
    keras.utils.set_random_seed(0)
    model = V.VAE(2)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3), jit_compile=False)
    loss, rec, kl = (float(t) for t in model.losses_on(x))
    assert np.isfinite([loss, rec, kl]).all() and kl >= 0
    assert loss == pytest.approx(rec + kl, rel=1e-5)
    before = V.negative_elbo(model, x, seed=3)  # same noise before and after
    model.fit(x, epochs=1, batch_size=len(x), verbose=0)  # exactly one step
    after = V.negative_elbo(model, x, seed=3)
    assert after < before


def test_train_vae_returns_history_and_time():
    x = tiny_batch(128)
    model, history, seconds = V.train_vae(x, x[:32], latent_dim=2, epochs=2, batch_size=64)
    assert set(history) >= {"loss", "rec", "kl", "val_loss", "val_rec", "val_kl"}
    assert len(history["loss"]) == 2 and seconds > 0
    assert history["loss"][1] < history["loss"][0]


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 28, 28, 1), np.uint8), "/ 255"),
    (np.zeros((4, 32, 32, 1), np.float32), "shape"),
    (np.full((4, 28, 28), 2.0, np.float32), r"\[0, 1\]"),
])
def test_bad_images_give_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        V.train_vae(bad, epochs=1)
    with pytest.raises(ValueError, match=message):
        V.negative_elbo(V.VAE(2), bad)


def test_bad_arguments_give_clear_errors(tmp_path):
    x = tiny_batch(8)
    with pytest.raises(ValueError, match="epochs"):
        V.train_vae(x, epochs=0)
    with pytest.raises(ValueError, match="latent_dim"):
        V.pretrained_path(0, cache_dir=str(tmp_path))
    with pytest.raises(TypeError, match="VAE"):
        V.save_pretrained(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), {}, cache_dir=str(tmp_path))


# ---------------------------------------------------------------------------
# The cache used by the GAN chapter
# ---------------------------------------------------------------------------


def test_pretrained_path_encodes_latent_dim_mode_and_version(tmp_path):
    full = V.pretrained_path(2, quick=False, cache_dir=str(tmp_path))
    quick = V.pretrained_path(2, quick=True, cache_dir=str(tmp_path))
    assert full != quick and full.suffix == ".keras"
    assert f"v{V.VERSION}" in full.name and "z2" in full.name and "z3" in V.pretrained_path(3, True, str(tmp_path)).name


def test_save_then_pretrained_vae_loads_the_same_model(tmp_path):
    x = tiny_batch(128)
    model, _, seconds = V.train_vae(x, epochs=1, batch_size=64)
    path = V.save_pretrained(model, {"train_seconds": seconds, "epochs": 1}, cache_dir=str(tmp_path))
    assert path.is_file() and path.with_suffix(".json").is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, path.with_suffix(".json").name]), \
        "temporary files left behind"
    loaded, info = V.pretrained_vae(2, cache_dir=str(tmp_path))
    assert info["loaded"] and info["train_seconds"] == pytest.approx(seconds) and info["version"] == V.VERSION
    z = np.random.default_rng(0).standard_normal((5, 2)).astype("float32")
    np.testing.assert_allclose(loaded.decoder.predict(z, verbose=0), model.decoder.predict(z, verbose=0), rtol=1e-5)


def fast_training(monkeypatch):
    """pretrained_vae's real training code, on 256 of its images (keeps the test fast)."""
    real = V.train_vae
    monkeypatch.setattr(V, "train_vae", lambda x, *args, **kwargs: real(x[:256], *args, **kwargs))


def test_pretrained_vae_trains_and_caches_when_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    fast_training(monkeypatch)
    model, info = V.pretrained_vae(2, cache_dir=str(tmp_path), epochs=1)
    assert not info["loaded"] and info["train_seconds"] > 0 and np.isfinite(info["test_neg_elbo"])
    assert info["n_train"] == V.QUICK_N_TRAIN and info["n_test"] == 2000
    assert V.pretrained_path(2, cache_dir=str(tmp_path)).is_file()
    again, info2 = V.pretrained_vae(2, cache_dir=str(tmp_path))
    assert info2["loaded"] and info2["train_seconds"] == pytest.approx(info["train_seconds"])
    assert model.sample(3, seed=0).shape == (3, 28, 28, 1) and again.sample(3, seed=0).shape == (3, 28, 28, 1)


def test_stored_model_is_loaded_when_nothing_is_cached_and_never_trained_again(tmp_path, monkeypatch):
    # a chapter opened first (a new Colab runtime) loads the copy stored with the course
    monkeypatch.setenv("COURSE_QUICK", "0")
    fast_training(monkeypatch)
    weights, record = V.store_pretrained(2, folder=tmp_path / "stored")
    assert weights.name.endswith(".weights.h5") and record["epochs"] == V.FULL_EPOCHS
    assert sorted(p.name for p in weights.parent.iterdir()) == sorted([weights.name, f"vae-z2-v{V.VERSION}.json"])
    monkeypatch.setattr(V, "STORED_DIR", tmp_path / "stored")

    def no_training(*args, **kwargs):
        raise AssertionError("pretrained_vae trained although a stored model exists")

    monkeypatch.setattr(V, "train_vae", no_training)
    model, info = V.pretrained_vae(2, cache_dir=str(tmp_path / "cache"))
    assert info["source"] == "stored" and info["loaded"] and info["epochs"] == V.FULL_EPOCHS
    assert info["train_seconds"] == pytest.approx(record["train_seconds"])
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.keras"))
    again, _ = V.pretrained_vae(2, cache_dir=str(tmp_path / "cache"))
    z = np.random.default_rng(1).standard_normal((4, 2)).astype("float32")
    np.testing.assert_allclose(again.decoder.predict(z, verbose=0), model.decoder.predict(z, verbose=0), rtol=1e-6)
    # another budget, the quick mode or stored=False skip it (and would train: here, the AssertionError)
    for kwargs in ({"epochs": 2}, {"stored": False}):
        with pytest.raises(AssertionError, match="trained although"):
            V.pretrained_vae(2, cache_dir=str(tmp_path / "cache"), **kwargs)
    monkeypatch.setenv("COURSE_QUICK", "1")
    with pytest.raises(AssertionError, match="trained although"):
        V.pretrained_vae(2, cache_dir=str(tmp_path / "cache"))


def test_cached_model_comes_before_the_stored_one(tmp_path, monkeypatch):
    # the reader's own VAE chapter run (saved in the cache) wins over the course's copy
    monkeypatch.setenv("COURSE_QUICK", "0")
    model, _, seconds = V.train_vae(tiny_batch(128), epochs=1, batch_size=64)
    V.save_pretrained(model, {"train_seconds": seconds, "epochs": 1}, cache_dir=str(tmp_path))
    assert V.pretrained_vae(2, cache_dir=str(tmp_path))[1]["source"] == "cache"


def test_unreadable_stored_model_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "STORED_DIR", tmp_path)
    V.stored_path(2).write_bytes(b"not hdf5")
    V.stored_path(2).with_name(f"vae-z2-v{V.VERSION}.json").write_text("{}")
    assert V._load_stored(2) is None


def test_store_pretrained_refuses_the_quick_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    with pytest.raises(RuntimeError, match="full budget"):
        V.store_pretrained(2, folder=tmp_path)


def test_the_course_stores_the_full_budget_default_model():
    # made by `make long-runs` (python -m shared.vae store); the GAN chapter loads it on a fresh machine
    weights = V.stored_path(2)
    assert weights.is_file(), "run `make long-runs` (or python -m shared.vae store)"
    model, info = V._load_stored(2)
    assert info["epochs"] == V.FULL_EPOCHS and info["n_train"] == 55_000 and not info["quick"]
    assert info["n_test"] == 10_000 and 230 < info["test_neg_elbo"] < 275
    assert model.sample(2, seed=0).shape == (2, 28, 28, 1)


def test_corrupt_cache_is_retrained(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    fast_training(monkeypatch)
    path = V.pretrained_path(2, cache_dir=str(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a keras file")
    path.with_suffix(".json").write_text("{}")
    _, info = V.pretrained_vae(2, cache_dir=str(tmp_path), epochs=1)
    assert not info["loaded"]
    assert V.pretrained_vae(2, cache_dir=str(tmp_path))[1]["loaded"]
