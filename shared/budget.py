"""Quick/full training budgets.

Every notebook reads its training budget in one visible line::

    EPOCHS = budget(full=200, quick=5)

The *quick* budget is used by the test-suite and CI; the *full* budget by the
website build and by students. The switch is the environment variable
``COURSE_QUICK``:

* ``COURSE_QUICK=1`` (or ``true``/``yes``/``on``) selects quick budgets;
* ``COURSE_QUICK=0`` (or ``false``/``no``/``off``) selects full budgets;
* when ``COURSE_QUICK`` is unset, quick budgets are used iff ``CI`` is set
  (CI services set ``CI=true``).
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

QUICK_ENV = "COURSE_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def is_quick() -> bool:
    """Return ``True`` when quick (test) budgets are selected.

    Raises
    ------
    ValueError
        If ``COURSE_QUICK`` holds something that is neither true nor false.
    """
    value = os.environ.get(QUICK_ENV)
    if value is None:
        return bool(os.environ.get("CI"))
    norm = value.strip().lower()
    if norm in _TRUE:
        return True
    if norm in _FALSE:
        return False
    raise ValueError(
        f"{QUICK_ENV}={value!r} is not understood: set it to 1 (quick budgets, "
        f"for tests) or 0 (full budgets), or unset it."
    )


def budget(full: T, quick: T) -> T:
    """Pick the full or the quick value of a training budget.

    Parameters
    ----------
    full : any
        Value used for the website and by students (e.g. number of epochs).
    quick : any
        Small value used by tests and CI.

    Returns
    -------
    any
        ``quick`` if :func:`is_quick` else ``full``.
    """
    return quick if is_quick() else full
