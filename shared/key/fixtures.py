"""Write (or check) the public cases that the notebooks' checks read.

For every question of every chapter, the answer key draws the inputs with the
public seed :data:`shared.key.PUBLIC_SEED` and computes the expected results;
they are stored in ``shared/checks/fixtures/<chapter>.npz``. These files are
the only trace of the key in the student edition: they answer one fixed set
of inputs, while the grader always draws fresh secret ones.

Command line (from the repository root)::

    python -m shared.key.fixtures            # rewrite the fixture files
    python -m shared.key.fixtures --check    # exit 1 if a stored file is stale
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import shared.checks
from shared.checks.core import Arrays, fixture_path, pack_cases, unpack_cases
from shared.key import PUBLIC_SEED, draw_case, keys_for


def public_cases(chapter: str) -> Arrays:
    """The flat arrays of ``fixtures/<chapter>.npz``, computed from the key."""
    keys = keys_for(chapter)
    cases = {}
    for question in shared.checks.questions_for(chapter):
        rng = np.random.default_rng([PUBLIC_SEED, int(question.qid.rsplit("q", 1)[1])])
        cases[question.qid] = draw_case(keys[question.qid], rng)
    return pack_cases(cases)


def same_cases(a: Arrays, b: Arrays) -> bool:
    """Equal keys; numbers equal to float32 round-off, strings identical."""
    if set(a) != set(b):
        return False
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape or (x.dtype.kind in "US") != (y.dtype.kind in "US"):
            return False
        if x.dtype.kind in "US":
            if not np.array_equal(x, y):
                return False
        elif not np.allclose(x.astype(np.float64), y.astype(np.float64), rtol=1e-6, atol=1e-9, equal_nan=True):
            return False
    return True


def stored_cases(chapter: str) -> Arrays | None:
    """The flat arrays stored for ``chapter``, or ``None`` when the file is missing."""
    path = fixture_path(chapter)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def write(chapter: str) -> None:
    """(Re)write ``fixtures/<chapter>.npz``."""
    path = fixture_path(chapter)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **public_cases(chapter))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.key.fixtures", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a stored file is stale")
    args = parser.parse_args(argv)
    stale = []
    for chapter in shared.checks.CHAPTERS:
        if args.check:
            stored = stored_cases(chapter)
            if stored is None or not same_cases(stored, public_cases(chapter)):
                stale.append(chapter)
        else:
            write(chapter)
            print(f"wrote {fixture_path(chapter)} ({len(unpack_cases(stored_cases(chapter) or {}))} questions)")
    if stale:
        print(f"stale public cases: {', '.join(stale)}; run `python -m shared.key.fixtures`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
