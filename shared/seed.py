"""Reproducibility: one call seeds every random number generator in use."""

from __future__ import annotations

import os
import random
import sys

import numpy as np


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy, TensorFlow/Keras and PyTorch.

    TensorFlow and PyTorch are seeded only if they are already imported, so
    that calling this function never pays the import cost of a framework the
    notebook does not use. Call it *after* importing the frameworks.

    Parameters
    ----------
    seed : int
        Non-negative integer seed.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``, for code that prefers explicit
        generators over NumPy's global state.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend
    elif "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.random.set_seed(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
    return np.random.default_rng(seed)
