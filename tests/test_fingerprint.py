"""shared.projects.fingerprint: the course's stored weights are recognised in any axis order; honest models are not."""

from __future__ import annotations

import numpy as np

from shared.projects import fingerprint as F

ROOT = F.ROOT


def stored_dcgan() -> list[np.ndarray]:
    with np.load(ROOT / "long_runs" / "gan" / "dcgan.npz") as stored:
        return [stored[k] for k in sorted(stored.files, key=lambda k: int(k.split("/")[1])) if k.startswith("model0/")]


def as_submitted(arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    """What the grader's kernel returns for a model with these arrays."""
    return F.submission_sketches(arrays, set(F.targets()))


def test_the_stored_dcgan_is_recognised_as_stored():
    assert F.course_match(as_submitted(stored_dcgan())) == "gan/dcgan#0"


def test_in_pytorch_layout_and_with_noise_too():
    # Keras Dense (in, out) -> torch Linear (out, in); Conv2DTranspose (kh, kw, out, in) -> torch (in, out, kh, kw)
    torch_layout = [a.T if a.ndim == 2 else np.transpose(a, (3, 2, 0, 1)) if a.ndim == 4 else a for a in stored_dcgan()]
    assert F.course_match(as_submitted(torch_layout)) == "gan/dcgan#0"
    rng = np.random.default_rng(1)
    noisy = [a + 0.1 * a.std() * rng.standard_normal(a.shape).astype(a.dtype) for a in stored_dcgan()]
    assert F.course_match(as_submitted(noisy)) == "gan/dcgan#0"


def test_the_stored_vae_model_is_recognised():
    import h5py

    found: list[np.ndarray] = []
    with h5py.File(ROOT / "long_runs" / "models" / "vae-z2-v1.weights.h5", "r") as f:
        f.visititems(lambda _, item: found.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    assert F.course_match(as_submitted(found[::-1])) == "vae-z2-v1"  # order does not matter


def test_independent_weights_of_the_same_shapes_are_not_matched():
    # same architecture, other values (an honest model of the same shapes): nothing in common
    rng = np.random.default_rng(2)
    other = [rng.normal(0, a.std() or 1.0, a.shape).astype(np.float32) for a in stored_dcgan()]
    assert as_submitted(other), "the shapes are compared"
    assert F.course_match(as_submitted(other)) is None


def test_a_few_copied_arrays_are_not_enough():
    # one stored array among independent ones covers less than half of the stored model's parameters
    arrays = stored_dcgan()
    rng = np.random.default_rng(3)
    mixed = [a if a.ndim == 4 else rng.normal(0, a.std() or 1.0, a.shape).astype(np.float32) for a in arrays]
    assert sum(a.size for a in arrays if a.ndim == 4) < F.SHARE * sum(a.size for a in arrays if a.size >= F.MIN_SIZE)
    assert F.course_match(as_submitted(mixed)) is None


def test_sketches_are_the_same_in_every_process_and_skip_small_or_unwanted_arrays():
    a = np.random.default_rng(4).standard_normal((40, 50)).astype(np.float32)
    np.testing.assert_allclose(F.sketch(a), F.sketch(a.copy()))
    assert np.linalg.norm(F.sketch(a) - F.sketch(3 * a)) < 1e-4, "a rescaled array is the same array"
    got = F.submission_sketches([np.ones(10), a], {"50x40"})  # the small array is skipped; a only transposed
    assert set(got) == {"1:50x40:10"}
    np.testing.assert_allclose(got["1:50x40:10"], F.sketch(a.T))
    assert F.submission_sketches([a], {"7x7"}) == {}
    assert not np.any(F.sketch(np.zeros((40, 50))))
