"""Sample quality for Fashion-MNIST: a course classifier, FID and class histograms.

Generative models are compared with one yardstick in this course:

* :func:`fid` -- the Fréchet distance between Gaussians fitted to the
  classifier's penultimate-layer features of two image sets (the idea of the
  Fréchet Inception Distance, with a small Fashion-MNIST classifier in place
  of Inception). Lower is better; 0 means identical feature statistics.
* :func:`class_histogram` -- the fraction of samples the classifier assigns to
  each class, which shows mode collapse at a glance.

The classifier is a small PyTorch CNN trained by the course on the training
split of Fashion-MNIST only: the first 55 000 of the 60 000 training images
(one to two minutes on two CPU cores). The last 5 000, the validation split of
:func:`shared.data.load_fashion_mnist`, and the test images are never seen by
it, so they can serve as FID references (e.g. the floor FID(validation, test)). The course
stores its trained weights in the repository (``long_runs/models/``, made by
``make long-runs``, that is ``python -m shared.quality store``), so every
chapter, self-check and grader measures with the same network and no reader
waits for its training (on Colab, every new runtime would). Without that file
(a version bump, a copy of ``shared`` alone), it is trained and cached in the
course cache folder (``~/.cache/deep-generative-course`` or
``$XDG_CACHE_HOME/deep-generative-course``), and retrained when the cache is
absent or unreadable. Images go in and NumPy arrays come out, so the
functions work with Keras, TensorFlow, PyTorch or NumPy models alike.

FID values depend on the feature extractor: they are comparable with each
other inside this course (same classifier, same number of samples), not with
published Inception FIDs.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.data import _course_cache_dir, load_fashion_mnist

#: Names of the ten Fashion-MNIST classes, by label.
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

#: Bump when the architecture or the training recipe changes: old caches are then ignored.
#: (v4: trained on the 55 000 training images only, not the validation images; 3 epochs, not 2.)
CLASSIFIER_VERSION = 4
FEATURE_DIM = 128
_EPOCHS = 3
_BATCH = 256
_SEED = 0
#: The classifier stored with the course (``python -m shared.quality store``), loaded before any cache.
STORED_CLASSIFIER = (Path(__file__).resolve().parent.parent / "long_runs" / "models"
                     / f"fashion-classifier-v{CLASSIFIER_VERSION}.pt")


def _torch() -> Any:
    import torch  # imported lazily: NumPy-only callers (frechet_distance) do not pay for it

    return torch


def _build_network() -> Any:
    """The classifier: two conv blocks, a 128-unit feature layer, 10 logits."""
    nn = _torch().nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 16 x 14 x 14
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 7 x 7
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, FEATURE_DIM), nn.ReLU(),                 # features
        nn.Dropout(0.3),
        nn.Linear(FEATURE_DIM, 10),                                    # logits
    )


def as_unit_images(images: Any, name: str = "images") -> np.ndarray:
    """Validate images and return them as float32 in [0, 1] with shape (n, 28, 28).

    Parameters
    ----------
    images : array-like
        ``(n, 28, 28)`` or ``(n, 28, 28, 1)`` (Keras) or ``(n, 1, 28, 28)``
        (PyTorch); uint8 in [0, 255] or float in [0, 1]. NumPy arrays, TF
        tensors and (CPU) torch tensors are accepted.
    name : str
        How to call the argument in error messages.

    Raises
    ------
    ValueError
        With what was wrong and what to do (wrong shape, NaN, values outside
        [0, 1] such as tanh outputs in [-1, 1]).
    """
    if hasattr(images, "detach"):  # torch tensor
        images = images.detach().cpu().numpy()
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{name} must have shape (n, 28, 28), (n, 28, 28, 1) or (n, 1, 28, 28); "
                         f"got {np.shape(images)}. Pass a batch of 28x28 grey images.")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: pass at least one image.")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{name} must be numbers (uint8 or float), got dtype {x.dtype}.")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values: check the model that produced them.")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        hint = (" They look like tanh outputs in [-1, 1]: pass (images + 1) / 2."
                if lo >= -1 - 1e-3 and hi <= 1 + 1e-3 else
                " uint8 images in [0, 255] must keep dtype uint8 (or be divided by 255).")
        raise ValueError(f"{name} must be in [0, 1] (float) or [0, 255] (uint8); "
                         f"got values in [{lo:.3g}, {hi:.3g}].{hint}")
    return np.clip(x, 0.0, 1.0)


@dataclass
class Classifier:
    """The course's Fashion-MNIST classifier (a trained PyTorch network).

    Attributes
    ----------
    network : torch.nn.Sequential
        The network, in evaluation mode.
    test_accuracy : float
        Accuracy on the 10 000 Fashion-MNIST test images.
    train_seconds : float
        How long training took when the cached weights were made.
    """

    network: Any
    test_accuracy: float
    train_seconds: float

    def _run(self, images: Any, upto: int | None, batch: int = 1000) -> np.ndarray:
        torch = _torch()
        x = as_unit_images(images)
        layers = self.network if upto is None else self.network[:upto]
        out = []
        with torch.no_grad():
            for i in range(0, len(x), batch):
                xb = torch.from_numpy(x[i:i + batch, None])
                out.append(layers(xb).numpy())
        return np.concatenate(out).astype(np.float64)

    def features(self, images: Any) -> np.ndarray:
        """Penultimate-layer features, shape (n, 128), of images as in :func:`as_unit_images`."""
        return self._run(images, upto=9)

    def logits(self, images: Any) -> np.ndarray:
        """Class logits, shape (n, 10)."""
        return self._run(images, upto=None)

    def predict(self, images: Any) -> np.ndarray:
        """Predicted class labels, shape (n,), integers in 0..9."""
        return self.logits(images).argmax(axis=1)


def training_split() -> Any:
    """Fashion-MNIST as the classifier sees it: trained on ``x_train`` (55 000 images) only.

    The validation images (the last 5 000 of the 60 000) and the test images
    stay unseen, so that FIDs against them are measured on held-out features.
    """
    return load_fashion_mnist(validation=5000)


def _train(seed: int = _SEED) -> tuple[Any, float, float]:
    """Train the classifier on Fashion-MNIST's training split; return (network, test accuracy, seconds)."""
    torch = _torch()
    data = training_split()
    x = torch.from_numpy(data.x_train[:, None].astype(np.float32) / 255.0)
    y = torch.from_numpy(data.y_train.astype(np.int64))
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = _build_network()
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    start = time.perf_counter()
    network.train()
    for _ in range(_EPOCHS):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), _BATCH):
            idx = order[i:i + _BATCH]
            loss = torch.nn.functional.cross_entropy(network(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    network.eval()
    classifier = Classifier(network, 0.0, seconds)
    accuracy = float(np.mean(classifier.predict(data.x_test) == data.y_test))
    return network, accuracy, seconds


def classifier_path(cache_dir: str | None = None) -> Path:
    """Where the trained classifier is cached."""
    return _course_cache_dir(cache_dir) / f"fashion-classifier-v{CLASSIFIER_VERSION}.pt"


def _load_cached(path: Path) -> Classifier | None:
    torch = _torch()
    try:
        saved = torch.load(path, weights_only=True)
        network = _build_network()
        network.load_state_dict(saved["state_dict"])
    except Exception:  # absent, truncated, from another version: retrain
        return None
    network.eval()
    return Classifier(network, float(saved["test_accuracy"]), float(saved["train_seconds"]))


_loaded: dict[str, Classifier] = {}


def load_classifier(retrain: bool = False, cache_dir: str | None = None, verbose: bool = True) -> Classifier:
    """Return the course's Fashion-MNIST classifier: the stored one, else the cached one, else trained now.

    The classifier stored with the course (:data:`STORED_CLASSIFIER`) comes first, so that every
    machine measures with the same weights; then the course cache; then it is trained and cached.

    Parameters
    ----------
    retrain : bool
        Train again even if a stored or cached classifier exists (and overwrite the cached one).
    cache_dir : str, optional
        Cache folder; default: the course cache folder.
    verbose : bool
        Print a line when training (one to two minutes on two CPU cores).

    Notes
    -----
    Several processes may ask at once (parallel tests): a file lock makes one
    of them train while the others wait and then read its result; the file
    is written atomically.
    """
    path = classifier_path(cache_dir)
    key = str(path)
    if not retrain and key in _loaded:
        return _loaded[key]
    classifier = None if retrain else _load_cached(STORED_CLASSIFIER)
    if classifier is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            classifier = None if retrain else _load_cached(path)
            if classifier is None:
                if verbose:
                    print("Training the course's Fashion-MNIST classifier (1-2 min, once)...")
                network, accuracy, seconds = _train()
                _save(network, accuracy, seconds, path)
                classifier = Classifier(network, accuracy, seconds)
                if verbose:
                    print(f"  test accuracy {accuracy:.3f}, {seconds:.0f} s; cached in {path}")
    _loaded[key] = classifier
    return classifier


def _save(network: Any, accuracy: float, seconds: float, path: Path) -> None:
    """Write the classifier's weights and record to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    _torch().save({"state_dict": network.state_dict(), "test_accuracy": accuracy, "train_seconds": seconds}, tmp)
    os.replace(tmp, path)


def store(path: Path | None = None) -> Classifier:
    """Train the classifier and write it where :func:`load_classifier` looks first (``make long-runs``)."""
    path = STORED_CLASSIFIER if path is None else Path(path)
    network, accuracy, seconds = _train()
    _save(network, accuracy, seconds, path)
    _loaded.clear()
    return Classifier(network, accuracy, seconds)


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) of features (n, d), n >= 2."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must have shape (n, d) with n >= 2, got {f.shape}.")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues < 0 clipped)."""
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    r"""Fréchet (2-Wasserstein squared) distance between N(mu1, sigma1) and N(mu2, sigma2).

    .. math::
        \|\mu_1-\mu_2\|^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
        - 2\operatorname{tr}\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2}

    The trace of the square root is computed from the eigenvalues of the
    symmetric PSD matrix :math:`\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}` (which has
    the same eigenvalues as :math:`\Sigma_1\Sigma_2`), so the result is real and
    stable even for singular covariances, unlike ``scipy.linalg.sqrtm`` of the
    non-symmetric product.

    Parameters
    ----------
    mu1, mu2 : ndarray, shape (d,)
    sigma1, sigma2 : ndarray, shape (d, d)
        Symmetric positive semi-definite covariances.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, float)), np.atleast_2d(np.asarray(sigma2, float))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"expected means (d,) and covariances (d, d) of one d; got {mu1.shape}, "
                         f"{sigma1.shape}, {mu2.shape}, {sigma2.shape}.")
    for name, a in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)
    return max(value, 0.0)


def fid(images_a: Any, images_b: Any, clf: Classifier | None = None) -> float:
    """FID between two image sets on the course classifier's features.

    Parameters
    ----------
    images_a, images_b : array-like
        Images as in :func:`as_unit_images` (n >= 2 each; use the same n for
        every comparison: FID is biased upwards for small n, so compare values
        computed with equal sample sizes -- the course uses 5 000 or 10 000).
    clf : Classifier, optional
        Default: :func:`load_classifier`.
    """
    clf = clf or load_classifier()
    a = as_unit_images(images_a, "images_a")
    b = as_unit_images(images_b, "images_b")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FID needs at least 2 images per set (got {len(a)} and {len(b)}); "
                         "use thousands for a meaningful value.")
    return frechet_distance(*gaussian_statistics(clf.features(a)), *gaussian_statistics(clf.features(b)))


def class_histogram(images: Any, clf: Classifier | None = None) -> np.ndarray:
    """Fraction of images per predicted class, shape (10,), summing to 1.

    A generator that covers the data evenly gives about 0.1 everywhere
    (Fashion-MNIST is balanced); mode collapse shows as a few tall bars.
    """
    clf = clf or load_classifier()
    predictions = clf.predict(images)
    return np.bincount(predictions, minlength=10) / len(predictions)


__all__ = ["CLASS_NAMES", "Classifier", "as_unit_images", "class_histogram", "classifier_path",
           "fid", "frechet_distance", "gaussian_statistics", "load_classifier"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["store"],
                        help=f"store: train the classifier and write {STORED_CLASSIFIER.name} into long_runs/models/")
    parser.parse_args(argv)
    classifier = store()
    print(f"Classifier v{CLASSIFIER_VERSION}: test accuracy {classifier.test_accuracy:.4f}, trained in "
          f"{classifier.train_seconds:.0f} s, stored in {STORED_CLASSIFIER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
