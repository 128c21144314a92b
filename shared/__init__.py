"""Helper package of the course *Deep Generative Models: MDNs, VAEs and GANs*.

Lessons import small, single-purpose helpers from here so that each notebook
can keep the model, the loss and the training step in the open and hide only
plumbing (data files, seeds, budgets, plots, exercise checks).
"""

from shared.budget import budget, is_quick
from shared.seed import set_seed

__all__ = ["budget", "is_quick", "set_seed"]
__version__ = "0.1.0"
