"""Tests of shared.quality: Fréchet distance, image validation, the cached classifier, FID."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm

from shared import quality
from shared.quality import Classifier, as_unit_images, class_histogram, fid, frechet_distance

torch = pytest.importorskip("torch")


def random_psd(d: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


# ---------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------

def test_frechet_distance_of_1d_gaussians_is_the_closed_form():
    # W2^2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[0.25]]))
    assert value == pytest.approx(3.0 ** 2 + (2.0 - 0.5) ** 2)


def test_frechet_distance_matches_the_sqrtm_formula_and_is_symmetric():
    rng = np.random.default_rng(0)
    d = 12
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_psd(d, rng), random_psd(d, rng)
    reference = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(sqrtm(s1 @ s2)).real
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-8)
    assert frechet_distance(m2, s2, m1, s1) == pytest.approx(reference, rel=1e-8)


def test_frechet_distance_is_zero_for_equal_gaussians_and_real_for_singular_covariances():
    rng = np.random.default_rng(1)
    m, s = rng.normal(size=64), random_psd(64, rng, rank=5)  # singular, like features of few samples
    assert frechet_distance(m, s, m, s) == pytest.approx(0.0, abs=1e-8)
    value = frechet_distance(m, s, m + 1.0, random_psd(64, rng, rank=3))
    assert np.isfinite(value) and isinstance(value, float) and value > 64


@pytest.mark.parametrize("args, message", [
    ((np.zeros(3), np.eye(3), np.zeros(2), np.eye(2)), "one d"),
    ((np.zeros(3), np.eye(2), np.zeros(3), np.eye(3)), "one d"),
    ((np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2)), "NaN"),
])
def test_frechet_distance_rejects_bad_input_clearly(args, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(*args)


# ---------------------------------------------------------------------------
# Image validation
# ---------------------------------------------------------------------------

def test_images_in_every_layout_and_dtype_become_unit_floats():
    rng = np.random.default_rng(2)
    u8 = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    expected = u8.astype(np.float32) / 255
    for layout in (u8, u8[..., None], u8[:, None], torch.from_numpy(u8[:, None].copy())):
        out = as_unit_images(layout)
        assert out.shape == (5, 28, 28) and out.dtype == np.float32
        np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(as_unit_images(expected[..., None]), expected)


@pytest.mark.parametrize("images, message", [
    (np.zeros((5, 32, 32)), r"shape \(n, 28, 28\)"),
    (np.zeros((0, 28, 28)), "empty"),
    (np.full((2, 28, 28), np.nan), "NaN"),
    (np.linspace(-1, 1, 2 * 784).reshape(2, 28, 28), r"\(images \+ 1\) / 2"),
    (np.full((2, 28, 28), 255.0), "uint8"),
])
def test_bad_images_get_an_actionable_error(images, message):
    with pytest.raises(ValueError, match=message):
        as_unit_images(images)


# ---------------------------------------------------------------------------
# FID and class histogram with a small untrained network (fast, no data needed)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def untrained() -> Classifier:
    torch.manual_seed(0)
    return Classifier(quality._build_network().eval(), test_accuracy=0.0, train_seconds=0.0)


def test_features_and_predictions_have_the_documented_shapes(untrained):
    x = np.random.default_rng(3).random((7, 28, 28))
    assert untrained.features(x).shape == (7, quality.FEATURE_DIM)
    assert untrained.logits(x).shape == (7, 10)
    predictions = untrained.predict(x)
    assert predictions.shape == (7,) and predictions.min() >= 0 and predictions.max() <= 9
    # features are the input of the last layer: the logits are an affine map of them
    last = untrained.network[-1]
    logits = untrained.features(x) @ last.weight.detach().numpy().T.astype(float) + last.bias.detach().numpy()
    np.testing.assert_allclose(logits, untrained.logits(x), rtol=1e-4, atol=1e-5)


def test_fid_is_zero_on_identical_sets_and_grows_with_the_difference(untrained):
    rng = np.random.default_rng(4)
    a = rng.random((300, 28, 28)) * 0.5
    assert fid(a, a, untrained) == pytest.approx(0.0, abs=1e-6)
    near, far = np.clip(a + 0.05, 0, 1), np.clip(a + 0.4, 0, 1)
    assert 0 < fid(a, near, untrained) < fid(a, far, untrained)
    with pytest.raises(ValueError, match="at least 2"):
        fid(a[:1], a, untrained)


def test_class_histogram_is_a_distribution_over_ten_classes(untrained):
    h = class_histogram(np.random.default_rng(5).random((50, 28, 28)), untrained)
    assert h.shape == (10,) and np.all(h >= 0) and h.sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# Cache of the trained classifier (training replaced by a fast stand-in)
# ---------------------------------------------------------------------------

def test_classifier_is_trained_once_cached_and_retrained_when_corrupt(tmp_path, monkeypatch):
    calls = []

    def fake_train(seed: int = 0):
        calls.append(seed)
        torch.manual_seed(len(calls))
        return quality._build_network().eval(), 0.5 + len(calls) / 100, 1.0

    monkeypatch.setattr(quality, "_train", fake_train)
    monkeypatch.setattr(quality, "_loaded", {})
    monkeypatch.setattr(quality, "STORED_CLASSIFIER", tmp_path / "stored" / "absent.pt")
    first = quality.load_classifier(cache_dir=str(tmp_path), verbose=False)
    assert len(calls) == 1 and quality.classifier_path(str(tmp_path)).exists()
    assert first.test_accuracy == pytest.approx(0.51)

    monkeypatch.setattr(quality, "_loaded", {})  # a new process: reads the file, does not train
    again = quality.load_classifier(cache_dir=str(tmp_path), verbose=False)
    assert len(calls) == 1 and again.test_accuracy == pytest.approx(0.51)
    x = np.random.default_rng(6).random((4, 28, 28))
    np.testing.assert_allclose(again.features(x), first.features(x), rtol=1e-6)

    quality.classifier_path(str(tmp_path)).write_bytes(b"truncated")
    monkeypatch.setattr(quality, "_loaded", {})
    quality.load_classifier(cache_dir=str(tmp_path), verbose=False)
    assert len(calls) == 2

    quality.load_classifier(cache_dir=str(tmp_path), retrain=True, verbose=False)
    assert len(calls) == 3


def test_stored_classifier_comes_first_and_is_never_trained_again(tmp_path, monkeypatch):
    calls = []

    def fake_train(seed: int = 0):
        calls.append(seed)
        torch.manual_seed(7)
        return quality._build_network().eval(), 0.93, 2.0

    monkeypatch.setattr(quality, "_train", fake_train)
    monkeypatch.setattr(quality, "_loaded", {})
    stored = tmp_path / "stored" / "classifier.pt"
    made = quality.store(stored)
    assert calls == [0] and stored.is_file() and made.test_accuracy == pytest.approx(0.93)
    monkeypatch.setattr(quality, "STORED_CLASSIFIER", stored)
    monkeypatch.setattr(quality, "_loaded", {})
    loaded = quality.load_classifier(cache_dir=str(tmp_path / "cache"), verbose=False)
    assert calls == [0], "a stored classifier must be loaded, not trained"
    assert not quality.classifier_path(str(tmp_path / "cache")).exists(), "nothing to cache"
    x = np.random.default_rng(3).random((4, 28, 28))
    np.testing.assert_allclose(loaded.features(x), made.features(x), rtol=1e-6)
    stored.write_bytes(b"truncated")  # unreadable: the cache, then training, take over
    monkeypatch.setattr(quality, "_loaded", {})
    quality.load_classifier(cache_dir=str(tmp_path / "cache"), verbose=False)
    assert calls == [0, 0] and quality.classifier_path(str(tmp_path / "cache")).exists()


def test_the_course_stores_its_classifier():
    # made by `make long-runs` (python -m shared.quality store): every machine measures with these weights
    stored = quality._load_cached(quality.STORED_CLASSIFIER)
    assert stored is not None, "run `make long-runs` (or python -m shared.quality store)"
    assert stored.test_accuracy > 0.85 and f"v{quality.CLASSIFIER_VERSION}" in quality.STORED_CLASSIFIER.name


def test_classifier_never_trains_on_the_validation_or_test_images(monkeypatch):
    # FID floors compare validation with test images: the features must be held out for both
    data = pytest.importorskip("shared.data")
    try:
        seen = quality.training_split()
        full = data.load_fashion_mnist(validation=0)
    except data.DataError:
        pytest.skip("Fashion-MNIST is not available offline here")
    assert seen.x_train.shape == (55_000, 28, 28)
    np.testing.assert_array_equal(seen.x_train, full.x_train[:55_000])
    np.testing.assert_array_equal(seen.x_valid, full.x_train[55_000:])  # the validation split: unseen

    class Reached(Exception):
        pass

    def split():
        raise Reached
    monkeypatch.setattr(quality, "training_split", split)
    with pytest.raises(Reached):  # the training reads its images from training_split and nowhere else
        quality._train()


# ---------------------------------------------------------------------------
# The real classifier (trained once per machine and cached; shared with the notebooks)
# ---------------------------------------------------------------------------

def test_real_classifier_is_accurate_and_fid_is_calibrated():
    data = pytest.importorskip("shared.data")
    try:
        fashion = data.load_fashion_mnist()
    except data.DataError:
        pytest.skip("Fashion-MNIST is not available offline here")
    clf = quality.load_classifier()
    assert clf.test_accuracy > 0.85
    rng = np.random.default_rng(7)
    floor = fid(fashion.x_train[:2000], fashion.x_test[:2000], clf)
    noise = fid(rng.random((2000, 28, 28)), fashion.x_test[:2000], clf)
    one_class = fashion.x_train[fashion.y_train == 7][:2000]          # a collapsed "generator"
    collapsed = fid(one_class, fashion.x_test[:2000], clf)
    # real vs real is far below noise and below a one-class (mode-collapsed) sample
    assert floor < 0.01 * noise and floor < 0.01 * collapsed
    assert class_histogram(one_class, clf).argmax() == 7
    assert class_histogram(one_class, clf)[7] > 0.9
