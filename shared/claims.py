"""Numbers the prose talks about, and the claims it makes about them, checked.

A chapter's prose compares numbers that its cells compute (an FID below another,
a loss that is finite or ``nan``), and those numbers change from run to run. So:

* a code cell prints the numbers the prose talks about with :func:`show`, a small
  table that also stores them, named, in the output's metadata
  (``course_values``); the reader sees only the table;
* the prose states each comparative claim next to its sentence, as an HTML
  comment (invisible on the website, in Colab and in Jupyter)::

      The DCGAN's FID is well below the MLP GAN's.
      <!-- claim: fid["DCGAN"] < 0.8 * fid["MLP GAN"] -->

  ``claim[full]:`` marks a claim that only the full training budgets support: it
  is checked on the website's full build (``make book``), not on the quick one;
* :func:`check_notebook` evaluates every claim of an executed notebook on the
  values that the cells *above it* showed, and names the cell and the sentence
  of each claim that does not hold.

A claim is a Python expression over the shown tables (``name["row"]``; a row of
several seeds is an array), with numbers, arithmetic, comparisons, ``and``/``or``/
``not`` and the functions of :data:`FUNCTIONS`; nothing else is evaluated.

``python -m shared.claims FOLDER`` checks a folder of executed notebooks (each
knows the budget it ran at) and prints every claim with the values it read. For
the website's builds, ``_ext/build_site.py`` reads the executions from the
build's cache instead (myst-nb's ``jupyter_execute/`` copies of cached pages
have no outputs) and writes ``_build/claims.txt``.
"""

from __future__ import annotations

import argparse
import ast
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.budget import is_quick

#: The key of the values in a displayed output's metadata.
METADATA_KEY = "course_values"
#: ``<!-- claim: EXPR -->`` or ``<!-- claim[full]: EXPR -->`` in a markdown cell.
CLAIM_RE = re.compile(r"<!--\s*claim(\[full\])?:\s*(.*?)\s*-->", re.S)
#: The functions a claim may call.
FUNCTIONS = {"abs": abs, "min": min, "max": max, "len": len, "all": all, "any": any,
             "mean": lambda a: float(np.mean(a)), "std": lambda a: float(np.std(a, ddof=1)),
             "isfinite": lambda a: bool(np.all(np.isfinite(a))), "isnan": lambda a: bool(np.any(np.isnan(a))),
             "log": math.log, "sqrt": math.sqrt}

Number = float | int
Row = Number | Sequence[Number]


# ---------------------------------------------------------------------------
# In the notebook: show a table and record its values
# ---------------------------------------------------------------------------

def _encode(value: Any) -> Any:
    """JSON-safe: ``nan`` and infinities as strings, arrays as lists."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_encode(v) for v in np.asarray(value, dtype=float).ravel().tolist()]
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return np.array([_decode(v) for v in value], dtype=float)
    return float(value)


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        values = np.asarray(value, dtype=float).ravel()
        spread = f" ± {np.std(values, ddof=1):.{digits}f}" if values.size > 1 else ""
        return f"{np.mean(values):.{digits}f}{spread}  [{', '.join(f'{v:.{digits}f}' for v in values)}]"
    return f"{float(value):.{digits}f}"


def format_table(rows: Mapping[str, Row], title: str = "", digits: int = 2) -> str:
    """The text of :func:`show`: an optional title, then one aligned line per row.

    A row of several values (one per seed) shows their mean ± standard deviation
    and each value in brackets.
    """
    width = max((len(str(k)) for k in rows), default=0)
    lines = [title] if title else []
    lines += [f"  {str(k):<{width}}  {_cell(v, digits)}" for k, v in rows.items()]
    return "\n".join(lines)


def show(name: str, rows: Mapping[str, Row], title: str = "", digits: int = 2) -> None:
    """Print a table of named numbers and record them as ``name`` for the prose's claims.

    Parameters
    ----------
    name : str
        The table's name in the claims (``name["row"]``): a Python identifier.
    rows : mapping of str to float or sequence of float
        The numbers, one row each; a sequence (e.g. one value per seed) is shown
        as mean ± sd and recorded whole.
    title : str
        A first line, e.g. what the numbers are and their unit.
    digits : int
        Decimals shown (the recorded values are not rounded).
    """
    if not name.isidentifier():
        raise ValueError(f"show: the table's name must be a Python identifier, not {name!r}")
    text = format_table(rows, title, digits)
    values = {str(k): _encode(v) for k, v in rows.items()}
    metadata = {METADATA_KEY: {"name": name, "rows": values, "budget": "quick" if is_quick() else "full"}}
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: just print
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display({"text/plain": text}, raw=True, metadata=metadata)


# ---------------------------------------------------------------------------
# After the run: evaluate the claims of an executed notebook
# ---------------------------------------------------------------------------

@dataclass
class Claim:
    """One claim of a notebook, and what its evaluation gave."""

    cell: int
    expression: str
    full_only: bool
    sentence: str
    holds: bool | None = None  # None: not evaluated (a full-only claim on a quick run)
    values: str = ""
    error: str = ""

    def describe(self, path: str) -> str:
        state = {True: "holds", False: "FAILS", None: "not checked (full budgets only)"}[self.holds]
        text = f"{path} cell {self.cell}: {state}: {self.expression}"
        if self.values:
            text += f"   [{self.values}]"
        if self.error:
            text += f"   ({self.error})"
        return text + f"\n    “{self.sentence}”"


class ClaimError(ValueError):
    """A claim that cannot be evaluated (syntax, unknown table or row, forbidden construct)."""


_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
            ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Compare, ast.Lt, ast.LtE, ast.Gt,
            ast.GtE, ast.Eq, ast.NotEq, ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Call,
            ast.Tuple, ast.List)


def evaluate(expression: str, tables: Mapping[str, Mapping[str, Any]]) -> tuple[bool, str]:
    """Evaluate a claim on the shown tables; return whether it holds and the values it read.

    Raises
    ------
    ClaimError
        If the expression is not a claim (syntax, a construct or function not allowed,
        a table or row that was not shown above it).
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ClaimError(f"not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ClaimError(f"{type(node).__name__} is not allowed in a claim")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise ClaimError(f"only {sorted(FUNCTIONS)} may be called")
        if isinstance(node, ast.Subscript) and not (isinstance(node.value, ast.Name)
                                                    and isinstance(node.slice, ast.Constant)):
            raise ClaimError("a value is read as table[\"row\"]")
    read: dict[str, Any] = {}

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Subscript):
            table, row = node.value.id, node.slice.value
            if table not in tables:
                raise ClaimError(f"no table {table!r} shown above this claim (shown: {sorted(tables)})")
            if row not in tables[table]:
                raise ClaimError(f"table {table!r} has no row {row!r} (rows: {sorted(tables[table])})")
            read[f"{table}[{row!r}]"] = tables[table][row]
            return tables[table][row]
        if isinstance(node, ast.Name):
            if node.id in tables:
                raise ClaimError(f"read a row of {node.id!r}: {node.id}[\"row\"]")
            raise ClaimError(f"unknown name {node.id!r}")
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*[value(a) for a in node.args])
        if isinstance(node, (ast.Tuple, ast.List)):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp):
            operand = value(node.operand)
            return not operand if isinstance(node.op, ast.Not) else (-operand if isinstance(node.op, ast.USub)
                                                                     else +operand)
        if isinstance(node, ast.BinOp):
            a, b = value(node.left), value(node.right)
            ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                   ast.Pow: np.power}
            return ops[type(node.op)](a, b)
        if isinstance(node, ast.BoolOp):
            results = [bool(value(v)) for v in node.values]
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare):
            left = value(node.left)
            for op, comparator in zip(node.ops, node.comparators):
                right = value(comparator)
                ops = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
                       ast.Eq: np.equal, ast.NotEq: np.not_equal}
                if not bool(np.all(ops[type(op)](left, right))):
                    return False
                left = right
            return True
        raise ClaimError(f"{type(node).__name__} is not allowed in a claim")  # pragma: no cover

    with np.errstate(all="ignore"):
        holds = bool(value(tree.body))
    shown = ", ".join(f"{k} = {_cell(v, 4) if isinstance(v, np.ndarray) else f'{v:.4g}'}" for k, v in read.items())
    return holds, shown


def _sentence(source: str, start: int) -> str:
    """The sentence a claim stands after: the text before the comment, from the last sentence end."""
    before = CLAIM_RE.sub("", source[:start]).rstrip()
    before = re.sub(r"\s+", " ", before)
    parts = re.split(r"(?<=[.!?:])\s+(?=[A-Z¿¡*(\-])", before)
    return (parts[-1] if parts else before)[-300:]


def claims_of(cells: Sequence[Mapping[str, Any]]) -> list[Claim]:
    """Every claim of a notebook's markdown cells, in order."""
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for match in CLAIM_RE.finditer(source):
            found.append(Claim(index, match.group(2), bool(match.group(1)), _sentence(source, match.start())))
    return found


def tables_of(cell: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """The tables a code cell showed: ``(name, rows, budget)``."""
    out = []
    for output in cell.get("outputs", []):
        record = output.get("metadata", {}).get(METADATA_KEY)
        if record:
            out.append((record["name"], {k: _decode(v) for k, v in record["rows"].items()}, record["budget"]))
    return out


def check_notebook(cells: Sequence[Mapping[str, Any]], full: bool | None = None) -> list[Claim]:
    """Evaluate every claim of an executed notebook on the tables shown above it.

    ``full``: whether the notebook ran at full budgets (``claim[full]`` claims are
    checked only then); ``None`` reads it from the shown tables.
    """
    claims = claims_of(cells)
    tables: dict[str, dict[str, Any]] = {}
    budgets = set()
    by_cell: dict[int, list[Claim]] = {}
    for claim in claims:
        by_cell.setdefault(claim.cell, []).append(claim)
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            for name, rows, budget in tables_of(cell):
                tables[name] = rows
                budgets.add(budget)
        for claim in by_cell.get(index, []):
            ran_full = full if full is not None else budgets == {"full"}
            if claim.full_only and not ran_full:
                continue
            try:
                claim.holds, claim.values = evaluate(claim.expression, tables)
            except ClaimError as exc:
                claim.holds, claim.error = False, str(exc)
            except Exception as exc:  # e.g. comparing arrays of different lengths
                claim.holds, claim.error = False, f"{type(exc).__name__}: {exc}"
    return claims


def summarize(notebooks: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[list[str], int, int]:
    """Check the executed notebooks given as ``{path: cells}``: a description per claim, how many hold and fail."""
    lines, held, failed = [], 0, 0
    for path, cells in notebooks.items():
        for claim in check_notebook(cells):
            lines.append(claim.describe(path))
            held += claim.holds is True
            failed += claim.holds is False
    return lines + [f"claims: {held} hold, {failed} fail"], held, failed


def report(folder: Path, pattern: str = "**/*.ipynb") -> tuple[list[str], int, int]:
    """:func:`summarize` the executed notebooks ``folder/pattern``."""
    import json

    return summarize({path.relative_to(folder).as_posix(): json.loads(path.read_text(encoding="utf-8"))["cells"]
                      for path in sorted(folder.glob(pattern))})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the claims of a build's executed notebooks.")
    parser.add_argument("folder", type=Path, help="a folder of executed notebooks (searched recursively)")
    args = parser.parse_args(argv)
    lines, _, failed = report(args.folder)
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
