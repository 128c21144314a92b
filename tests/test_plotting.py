"""Unit tests of shared.plotting (headless)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from shared.plotting import density_contour, image_grid, plot_curves  # noqa: E402


def test_plot_curves_draws_one_line_per_curve():
    ax = plot_curves({"train": [3, 2, 1], "valid": [3.5, 2.5, 2.0]}, logy=True)
    assert [line.get_label() for line in ax.get_lines()] == ["train", "valid"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [3.5, 2.5, 2.0])
    assert ax.get_yscale() == "log"
    plt.close("all")
    with pytest.raises(ValueError):
        plot_curves({})


def test_density_contour_checks_shape_and_draws_data():
    x, t = np.linspace(0, 1, 5), np.linspace(0, 1, 4)
    dens = np.ones((4, 5))
    ax = density_contour(x, t, dens, data=(x, x))
    assert len(ax.get_lines()) == 1
    with pytest.raises(ValueError, match="shape"):
        density_contour(x, t, dens.T)
    plt.close("all")


def test_image_grid_layout():
    fig = image_grid(np.zeros((10, 28, 28, 1)), n_cols=4, titles=[str(i) for i in range(10)])
    assert len(fig.axes) == 12  # 3 rows x 4 columns
    assert sum(1 for ax in fig.axes if ax.images) == 10
    with pytest.raises(ValueError, match="shape"):
        image_grid(np.zeros((28, 28)))
    plt.close("all")
