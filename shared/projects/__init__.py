"""Graded projects: the student builds and trains a model; the grader measures it.

One project per chapter (``mdn-project``, ``vae-project``, ``gan-project``). The
notebook trains a model in Keras or PyTorch and saves it with
:func:`shared.projects.models.save_model`; the grader loads that file (it never
re-runs the notebook), feeds it inputs only the grader knows, and measures
the outputs in its own process.

* :mod:`shared.projects.models` -- saving, loading and calling saved models
  (the only module of this package that runs in the grader's sandboxed kernel);
* :mod:`shared.projects.measure` -- the measurements (NLL, -ELBO, FID, coverage,
  copies of the data) and the refusals of models that did not earn a score;
* :mod:`shared.projects.bands` -- budgets, limits, scoring bands and the
  measurements that calibrated them (one place per project);
* :mod:`shared.projects.selfcheck` -- the notebooks' immediate self-check on
  public data.
"""

from __future__ import annotations

#: Project name -> what the saved model file must contain (see shared.projects.models).
PROJECTS = {"mdn-project": "mdn", "vae-project": "vae", "gan-project": "gan"}
