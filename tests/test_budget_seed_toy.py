"""Unit tests of shared.budget, shared.seed and shared.toy."""

import numpy as np
import pytest

from shared import budget, is_quick, set_seed
from shared.toy import SINE_RANGE, bishop_forward, bishop_inverse, sine_inverse, split


@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("YES", True), ("0", False), ("off", False)])
def test_course_quick_switch(monkeypatch, value, quick):
    monkeypatch.setenv("COURSE_QUICK", value)
    monkeypatch.delenv("CI", raising=False)
    assert is_quick() is quick
    assert budget(full=100, quick=2) == (2 if quick else 100)


def test_ci_turns_quick_on_unless_overridden(monkeypatch):
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    monkeypatch.setenv("CI", "true")
    assert budget(full=100, quick=2) == 2
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert budget(full=100, quick=2) == 100
    monkeypatch.delenv("CI")
    monkeypatch.delenv("COURSE_QUICK")
    assert budget(full=100, quick=2) == 100


def test_bad_switch_value_is_explained(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "maybe")
    with pytest.raises(ValueError, match="COURSE_QUICK"):
        is_quick()


def test_set_seed_makes_numpy_and_torch_repeatable():
    torch = pytest.importorskip("torch")
    set_seed(3)
    a = np.random.rand(3), torch.rand(3)
    gen_a = set_seed(3).normal(size=2)
    set_seed(3)
    b = np.random.rand(3), torch.rand(3)
    gen_b = set_seed(3).normal(size=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    np.testing.assert_array_equal(gen_a, gen_b)
    with pytest.raises(ValueError):
        set_seed(-1)


def test_bishop_data_follow_the_formula():
    fwd = bishop_forward(500, seed=4)
    assert fwd.inputs.shape == fwd.targets.shape == (500, 1)
    assert fwd.inputs.dtype == np.float32
    residual = fwd.targets - (fwd.inputs + 0.3 * np.sin(2 * np.pi * fwd.inputs))
    assert np.all(np.abs(residual) <= 0.1 + 1e-6)
    assert residual.std() > 0.04  # the uniform noise is really there
    inv = bishop_inverse(500, seed=4)
    np.testing.assert_array_equal(inv.inputs, fwd.targets)
    np.testing.assert_array_equal(inv.targets, fwd.inputs)


def test_sine_inverse_follows_the_formula_and_is_seeded():
    data = sine_inverse(4000, seed=5)
    y, x = data.targets[:, 0], data.inputs[:, 0]
    assert SINE_RANGE[0] <= y.min() and y.max() <= SINE_RANGE[1]
    noise = x - (7 * np.sin(0.75 * y) + 0.5 * y)
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1.0) < 0.05
    np.testing.assert_array_equal(sine_inverse(10, seed=5).inputs, sine_inverse(10, seed=5).inputs)
    assert not np.array_equal(sine_inverse(10, seed=5).inputs, sine_inverse(10, seed=6).inputs)
    with pytest.raises(ValueError, match="positive integer"):
        sine_inverse(0)


def test_split_partitions_without_loss():
    data = sine_inverse(101, seed=0)
    parts = split(data, (0.8, 0.1, 0.1), seed=1)
    assert [len(p.inputs) for p in parts] == [81, 10, 10]
    joined = np.sort(np.concatenate([p.inputs[:, 0] for p in parts]))
    np.testing.assert_array_equal(joined, np.sort(data.inputs[:, 0]))
    with pytest.raises(ValueError, match="sum to 1"):
        split(data, (0.5, 0.4))
