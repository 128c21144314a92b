"""The two-link planar arm: an inverse problem with two branches (the MDN project).

A robot arm has a shoulder at the origin, an upper arm of length ``L1`` and a
forearm of length ``L2``. Its joint angles ``theta = (theta1, theta2)`` (radians;
``theta1`` of the upper arm from the x axis, ``theta2`` of the forearm relative
to the upper arm) put the hand at

    hand = (L1 cos θ1 + L2 cos(θ1 + θ2),  L1 sin θ1 + L2 sin(θ1 + θ2)).

The *inverse* problem -- which joint angles put the hand at a given point --
has two solutions for every reachable point away from the workspace's edge:
**elbow up** (``theta2 < 0``) and **elbow down** (``theta2 > 0``).

The data process of the project (:func:`sample_arm`):

1. the hand position is drawn uniformly in the sector of the annulus
   ``R_MIN <= r <= R_MAX``, ``|angle| <= PHI_MAX`` (area-uniform);
2. the robot picks the elbow-up posture with probability
   :func:`elbow_up_probability` (it prefers elbow up when reaching up);
3. the recorded joint angles are that posture's exact angles plus Gaussian
   sensor noise of standard deviation ``NOISE`` radians on each joint.

So ``p(theta | hand)`` is *exactly* a mixture of two Gaussians with diagonal
covariance ``NOISE**2 I`` -- the Bayes-optimal negative log-likelihood
(:func:`bayes_nll`) is known in closed form, and a Mixture Density Network
with two or more components can, in principle, reach it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from shared.toy import check_n

#: Lengths of the upper arm and of the forearm.
L1, L2 = 1.0, 0.7
#: The hand's distance to the shoulder is in [R_MIN, R_MAX]: away from the
#: folded (r = L1 - L2) and stretched (r = L1 + L2) singular postures, where the
#: two branches would meet.
R_MIN, R_MAX = 0.5, 1.6
#: The hand's angle from the x axis is in [-PHI_MAX, PHI_MAX] (radians).
PHI_MAX = 1.5
#: Standard deviation of the sensor noise on each recorded joint angle (radians).
NOISE = 0.1
#: Names of the two branches, in the order used by :func:`inverse_kinematics`.
BRANCHES = ("elbow up", "elbow down")


class ArmData(NamedTuple):
    """Hand positions ``inputs`` (n, 2) and recorded joint angles ``targets`` (n, 2), float32."""

    inputs: np.ndarray
    targets: np.ndarray


def forward_kinematics(theta: np.ndarray) -> np.ndarray:
    """Hand positions of joint angles.

    Parameters
    ----------
    theta : array, shape (..., 2)
        ``(theta1, theta2)`` in radians.

    Returns
    -------
    array, shape (..., 2)
        ``(x, y)`` of the hand.
    """
    theta = np.asarray(theta, dtype=np.float64)
    t1, t12 = theta[..., 0], theta[..., 0] + theta[..., 1]
    return np.stack([L1 * np.cos(t1) + L2 * np.cos(t12), L1 * np.sin(t1) + L2 * np.sin(t12)], axis=-1)


def _check_hands(hand: np.ndarray) -> np.ndarray:
    hand = np.asarray(hand, dtype=np.float64)
    if hand.ndim != 2 or hand.shape[1] != 2:
        raise ValueError(f"hand positions must have shape (n, 2), got {hand.shape}")
    r = np.hypot(hand[:, 0], hand[:, 1])
    if np.any(r > L1 + L2) or np.any(r < abs(L1 - L2)):
        raise ValueError(f"some hand positions are out of the arm's reach ({abs(L1 - L2):.2f} <= r <= {L1 + L2:.2f})")
    return hand


def inverse_kinematics(hand: np.ndarray) -> np.ndarray:
    """Both joint-angle solutions of each hand position.

    Parameters
    ----------
    hand : array, shape (n, 2)
        Reachable hand positions.

    Returns
    -------
    array, shape (n, 2, 2)
        ``[:, 0]`` the elbow-up angles (``theta2 < 0``), ``[:, 1]`` the
        elbow-down angles (``theta2 > 0``); each row ``(theta1, theta2)``.
    """
    hand = _check_hands(hand)
    r2 = np.sum(hand ** 2, axis=1)
    cos2 = np.clip((r2 - L1 ** 2 - L2 ** 2) / (2 * L1 * L2), -1.0, 1.0)
    down = np.arccos(cos2)                                       # theta2 > 0
    phi = np.arctan2(hand[:, 1], hand[:, 0])
    alpha = np.arctan2(L2 * np.sin(down), L1 + L2 * np.cos(down))
    elbow_down = np.stack([phi - alpha, down], axis=1)
    elbow_up = np.stack([phi + alpha, -down], axis=1)
    return np.stack([elbow_up, elbow_down], axis=1)


def elbow_up_probability(hand: np.ndarray) -> np.ndarray:
    """P(elbow up | hand), shape (n,): ``sigmoid(2 phi)`` with ``phi`` the hand's angle."""
    hand = np.asarray(hand, dtype=np.float64)
    phi = np.arctan2(hand[:, 1], hand[:, 0])
    return 1.0 / (1.0 + np.exp(-2.0 * phi))


def sample_hands(n: int, rng: np.random.Generator) -> np.ndarray:
    """Hand positions drawn uniformly (by area) in the workspace sector, shape (n, 2)."""
    r = np.sqrt(rng.uniform(R_MIN ** 2, R_MAX ** 2, n))
    phi = rng.uniform(-PHI_MAX, PHI_MAX, n)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)


def sample_arm(n: int, seed: int = 0) -> ArmData:
    """Draw ``n`` (hand position, recorded joint angles) pairs of the data process.

    Parameters
    ----------
    n : int
        Number of pairs.
    seed : int
        Seed of the random generator (the same seed gives the same data).

    Returns
    -------
    ArmData
        ``inputs`` (n, 2) hand positions, ``targets`` (n, 2) joint angles, float32.
    """
    rng = np.random.default_rng(seed)
    hand = sample_hands(check_n(n), rng)
    branch = (rng.uniform(size=len(hand)) >= elbow_up_probability(hand)).astype(int)  # 0 up, 1 down
    theta = inverse_kinematics(hand)[np.arange(len(hand)), branch]
    theta = theta + NOISE * rng.standard_normal(theta.shape)
    return ArmData(hand.astype(np.float32), theta.astype(np.float32))


def true_mixture(hand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact ``p(theta | hand)`` as mixture parameters.

    Returns
    -------
    weights : (n, 2)
    means : (n, 2, 2)
    sigmas : (n, 2, 2)
        Each component ``k`` has weight ``weights[:, k]``, mean ``means[:, k]``
        and per-joint standard deviations ``sigmas[:, k]`` (all ``NOISE``).
    """
    up = elbow_up_probability(hand)
    means = inverse_kinematics(hand)
    return np.stack([up, 1 - up], axis=1), means, np.full_like(means, NOISE)


def bayes_nll(hand: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``-log p(theta | hand)`` under the true process, per pair, shape (n,).

    Its mean over fresh pairs is the Bayes-optimal NLL: no model of
    ``p(theta | hand)`` has a lower expected value.
    """
    weights, means, sigmas = true_mixture(hand)
    return gaussian_mixture_nll(np.log(weights), means, np.log(sigmas), theta)


def gaussian_mixture_nll(log_weights: np.ndarray, means: np.ndarray, log_sigmas: np.ndarray,
                         theta: np.ndarray) -> np.ndarray:
    """``-log sum_k w_k N(theta | mu_k, diag(sigma_k^2))`` per row, shape (n,), float64.

    Parameters
    ----------
    log_weights : (n, K)
        Log mixture weights (normalised: ``logsumexp`` over K is 0).
    means, log_sigmas : (n, K, D)
    theta : (n, D)
    """
    theta = np.asarray(theta, dtype=np.float64)[:, None, :]
    z = (theta - means) / np.exp(log_sigmas)
    log_normal = np.sum(-0.5 * z ** 2 - log_sigmas - 0.5 * np.log(2 * np.pi), axis=2)   # (n, K)
    a = log_weights + log_normal
    top = np.max(a, axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.sum(np.exp(a - top), axis=1)))


__all__ = ["ArmData", "BRANCHES", "L1", "L2", "NOISE", "PHI_MAX", "R_MAX", "R_MIN", "bayes_nll",
           "elbow_up_probability", "forward_kinematics", "gaussian_mixture_nll", "inverse_kinematics",
           "sample_arm", "sample_hands", "true_mixture"]
