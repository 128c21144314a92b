"""Plotting helpers shared by the chapters.

Labels are left to the caller and should be language-neutral (math notation),
so that the same code cell serves the English and the Spanish notebook.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm


def plot_curves(curves: Mapping[str, Sequence[float]], ax: Axes | None = None,
                xlabel: str | None = None, ylabel: str | None = None, logy: bool = False) -> Axes:
    """Plot training curves, one line per entry of ``curves``.

    Parameters
    ----------
    curves : mapping of str to sequence of float
        E.g. ``{"train": [...], "valid": [...]}`` (one value per epoch/step).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when omitted.
    xlabel, ylabel : str, optional
        Axis labels (keep them language-neutral, e.g. math notation).
    logy : bool
        Logarithmic vertical axis.

    Returns
    -------
    matplotlib Axes
    """
    if not curves:
        raise ValueError("curves is empty: pass e.g. {'train': losses}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def density_contour(x_grid: np.ndarray, t_grid: np.ndarray, density: np.ndarray,
                    ax: Axes | None = None, data: tuple[np.ndarray, np.ndarray] | None = None,
                    levels: int = 30, cmap: str = "viridis", gamma: float = 0.5) -> Axes:
    """Filled contour of a conditional density ``p(t | x)`` over the plane.

    Parameters
    ----------
    x_grid : ndarray, shape (nx,)
        Input values (horizontal axis).
    t_grid : ndarray, shape (nt,)
        Target values (vertical axis).
    density : ndarray, shape (nt, nx)
        ``density[i, j] = p(t_grid[i] | x_grid[j])``.
    ax : matplotlib Axes, optional
    data : (x, t) pair of arrays, optional
        Observations drawn on top as small white dots.
    levels : int
        Number of contour levels.
    cmap : str
        Matplotlib colour map.
    gamma : float
        Exponent of the colour scale (``PowerNorm``): values below 1 make the
        low-density regions visible next to sharp peaks; 1 is linear.

    Returns
    -------
    matplotlib Axes
    """
    density = np.asarray(density)
    if density.shape != (len(t_grid), len(x_grid)):
        raise ValueError(f"density must have shape (len(t_grid), len(x_grid)) = "
                         f"{(len(t_grid), len(x_grid))}, got {density.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    filled = ax.contourf(x_grid, t_grid, density, levels=levels, cmap=cmap,
                         norm=PowerNorm(gamma=gamma, vmin=0.0, vmax=float(density.max())))
    plt.colorbar(filled, ax=ax, label="$p(t\\mid x)$")
    if data is not None:
        ax.plot(np.ravel(data[0]), np.ravel(data[1]), ".", color="white", ms=2, alpha=0.5)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$t$")
    return ax


def image_grid(images: np.ndarray, n_cols: int = 8, titles: Sequence[str] | None = None,
               cmap: str = "binary", scale: float = 1.2) -> plt.Figure:
    """Show a batch of grey-scale images in a grid.

    Parameters
    ----------
    images : ndarray, shape (n, h, w) or (n, h, w, 1)
        Pixel values (any range; each image is shown with its own min/max
        unless the values lie in [0, 1] or [0, 255]).
    n_cols : int
        Images per row.
    titles : sequence of str, optional
        One short title per image.
    cmap : str
        Colour map (``"binary"``: dark ink on white).
    scale : float
        Inches per image.

    Returns
    -------
    matplotlib Figure
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, 1), got {images.shape}")
    n = len(images)
    n_rows = max(1, -(-n // n_cols))
    vmax = 255 if images.max(initial=0) > 1 else 1
    vmin = -1 if images.min(initial=0) < 0 else 0
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * scale, n_rows * scale), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig
