"""Seeded toy data sets for the Mixture Density Network chapter.

Two classic one-dimensional problems whose *inverse* is multimodal:

* Bishop's toy (Bishop 1994; PRML §5.6): ``t = x + 0.3 sin(2πx) + U(-0.1, 0.1)``
  with ``x ~ U(0, 1)``.
* The sine problem: ``x = 7 sin(0.75 y) + 0.5 y + ε`` with ``y ~ U(-10, 10)``
  and ``ε ~ N(0, 1)``.

All generators return ``float32`` column vectors of shape ``(n, 1)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Pairs(NamedTuple):
    """Inputs and targets of a regression data set, both of shape ``(n, 1)``."""

    inputs: np.ndarray
    targets: np.ndarray


def check_n(n: int) -> int:
    """``n`` as an int, or ValueError if it is not a positive integer."""
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"the number of points must be a positive integer, got {n!r}")
    return int(n)


def bishop_forward(n: int, seed: int = 0) -> Pairs:
    """Bishop's forward problem: ``t = x + 0.3 sin(2πx) + U(-0.1, 0.1)``.

    Parameters
    ----------
    n : int
        Number of points.
    seed : int
        Seed of the generator (same seed, same data).

    Returns
    -------
    Pairs
        ``inputs`` = x in [0, 1], ``targets`` = t; both ``(n, 1)`` float32.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(check_n(n), 1))
    t = x + 0.3 * np.sin(2 * np.pi * x) + rng.uniform(-0.1, 0.1, size=x.shape)
    return Pairs(x.astype(np.float32), t.astype(np.float32))


def bishop_inverse(n: int, seed: int = 0) -> Pairs:
    """Bishop's inverse problem: the forward data with the roles swapped.

    Returns
    -------
    Pairs
        ``inputs`` = t, ``targets`` = x; both ``(n, 1)`` float32.
    """
    fwd = bishop_forward(n, seed)
    return Pairs(fwd.targets, fwd.inputs)


SINE_RANGE = (-10.0, 10.0)
SINE_NOISE = 1.0


def sine_inverse(n: int, seed: int = 0) -> Pairs:
    """The sine inverse problem: predict ``y`` from ``x = 7 sin(0.75 y) + 0.5 y + ε``.

    ``y ~ U(-10, 10)`` and ``ε ~ N(0, 1)``.

    Returns
    -------
    Pairs
        ``inputs`` = x (the noisy observation), ``targets`` = y; both
        ``(n, 1)`` float32.
    """
    rng = np.random.default_rng(seed)
    y = rng.uniform(*SINE_RANGE, size=(check_n(n), 1))
    x = 7.0 * np.sin(0.75 * y) + 0.5 * y + rng.normal(0.0, SINE_NOISE, size=y.shape)
    return Pairs(x.astype(np.float32), y.astype(np.float32))


def split(pairs: Pairs, fractions: tuple[float, ...], seed: int = 0) -> list[Pairs]:
    """Shuffle and split a data set into consecutive parts.

    Parameters
    ----------
    pairs : Pairs
        Data of length ``n``.
    fractions : tuple of float
        Fractions of each part; they must be positive and sum to 1
        (e.g. ``(0.8, 0.1, 0.1)``).
    seed : int
        Seed of the shuffle.

    Returns
    -------
    list of Pairs
        One ``Pairs`` per fraction.
    """
    if any(f <= 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be positive and sum to 1, got {fractions}")
    n = len(pairs.inputs)
    order = np.random.default_rng(seed).permutation(n)
    cuts = np.round(np.cumsum(fractions)[:-1] * n).astype(int)
    return [Pairs(pairs.inputs[idx], pairs.targets[idx]) for idx in np.split(order, cuts)]
