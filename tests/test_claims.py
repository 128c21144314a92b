"""shared.claims: tables shown by cells, claims in the prose, and their evaluation.

The chapters' own claims are checked on the website's quick build, in
tests/test_site.py (they need its executed notebooks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from shared import claims

ROOT = Path(__file__).resolve().parent.parent


def shown(name, rows, budget="quick"):
    """A code cell as an executed notebook stores a :func:`claims.show` output."""
    encoded = {k: claims._encode(v) for k, v in rows.items()}
    return {"cell_type": "code", "source": "", "outputs": [
        {"output_type": "display_data", "data": {"text/plain": "..."},
         "metadata": {claims.METADATA_KEY: {"name": name, "rows": encoded, "budget": budget}}}]}


def md(text):
    return {"cell_type": "markdown", "source": text}


def results(cells, full=None):
    return [(c.expression, c.holds, c.error) for c in claims.check_notebook(cells, full=full)]


def test_a_claim_reads_the_tables_shown_above_it():
    cells = [shown("fid", {"DCGAN": 50.0, "MLP GAN": 90.0}),
             md("The DCGAN is better. <!-- claim: fid[\"DCGAN\"] < fid[\"MLP GAN\"] -->\n"
                "And not by a hair. <!-- claim: fid[\"DCGAN\"] < 0.5 * fid[\"MLP GAN\"] -->")]
    (first, ok1, _), (second, ok2, _) = results(cells)
    assert ok1 is True and ok2 is False


def test_a_claim_before_its_table_fails_and_says_why():
    cells = [md("Better. <!-- claim: fid[\"DCGAN\"] < 1 -->"), shown("fid", {"DCGAN": 0.5})]
    [(_, holds, error)] = results(cells)
    assert holds is False and "no table 'fid' shown above" in error


def test_a_later_table_of_the_same_name_replaces_the_earlier_one():
    cells = [shown("nll", {"x": 1.0}), md("<!-- claim: nll[\"x\"] == 1 -->"),
             shown("nll", {"x": 2.0}), md("<!-- claim: nll[\"x\"] == 2 -->")]
    assert [holds for _, holds, _ in results(cells)] == [True, True]


def test_rows_of_several_seeds_nan_and_infinity():
    cells = [shown("study", {"a": [1.0, 2.0, 3.0], "b": [10.0, 11.0, 12.0]}),
             shown("nll", {"float32": float("inf"), "loss": float("nan"), "ok": 1.5}),
             md("<!-- claim: max(study[\"a\"]) < min(study[\"b\"]) -->"
                "<!-- claim: mean(study[\"a\"]) == 2 and std(study[\"a\"]) == 1 -->"
                "<!-- claim: not isfinite(nll[\"float32\"]) and isnan(nll[\"loss\"]) -->"
                "<!-- claim: isfinite(nll[\"ok\"]) and abs(nll[\"ok\"] - 1.33) < 0.2 -->"
                "<!-- claim: study[\"a\"] < study[\"b\"] -->"
                "<!-- claim: study[\"a\"] > 2 -->")]
    assert [holds for _, holds, _ in results(cells)] == [True, True, True, True, True, False]


def test_full_only_claims_are_checked_only_at_full_budgets():
    quick = [shown("fid", {"a": 2.0}, "quick"), md("<!-- claim[full]: fid[\"a\"] < 1 -->")]
    full = [shown("fid", {"a": 2.0}, "full"), md("<!-- claim[full]: fid[\"a\"] < 1 -->")]
    assert results(quick) == [("fid[\"a\"] < 1", None, "")]
    assert results(full)[0][1] is False
    assert results(quick, full=True)[0][1] is False


@pytest.mark.parametrize("expression, message", [
    ("fid[\"a\"] <", "not an expression"),
    ("__import__('os').system('true')", "only"),
    ("fid[\"a\"].real > 0", "Attribute is not allowed"),
    ("fid[\"zzz\"] > 0", "has no row 'zzz'"),
    ("fid > 0", "read a row of 'fid'"),
    ("x > 0", "unknown name 'x'"),
    ("[v for v in (1, 2)]", "ListComp is not allowed"),
    ("fid[0] > 0", "has no row 0"),
])
def test_what_is_not_a_claim_is_refused_with_a_reason(expression, message):
    [(_, holds, error)] = results([shown("fid", {"a": 1.0}), md(f"<!-- claim: {expression} -->")])
    assert holds is False and message in error, error


def test_the_sentence_of_a_claim_is_the_one_before_it():
    cells = [shown("fid", {"a": 1.0}),
             md("First sentence. The DCGAN's FID is lower\nthan the MLP's. <!-- claim: fid[\"a\"] > 5 --> Then more.")]
    [claim] = claims.check_notebook(cells)
    assert claim.sentence == "The DCGAN's FID is lower than the MLP's."
    text = claim.describe("book/en/gan.ipynb")
    assert "book/en/gan.ipynb cell 1: FAILS" in text and "fid['a'] = 1" in text and claim.sentence in text


def test_format_table():
    text = claims.format_table({"floor": 1.234, "seeds": [1.0, 3.0]}, title="FID", digits=1)
    assert text.splitlines() == ["FID", "  floor  1.2", "  seeds  2.0 ± 1.4  [1.0, 3.0]"]
    with pytest.raises(ValueError, match="identifier"):
        claims.show("not a name", {"a": 1.0})


def test_show_in_a_kernel_records_the_values_and_the_budget(tmp_path):
    """End to end: a real kernel runs show(); the CLI checks the executed notebook."""
    from nbclient import NotebookClient

    nb = new_notebook(cells=[
        new_code_cell("from shared.claims import show\n"
                      "show('nll', {'float32': float('inf'), 'MDN': 1.4, 'seeds': [1, 2]}, title='NLL (nats)')"),
        new_markdown_cell("The float32 density overflows. <!-- claim: not isfinite(nll[\"float32\"]) -->\n"
                          "Below two nats. <!-- claim: nll[\"MDN\"] < 2 -->\n"
                          "Full only. <!-- claim[full]: nll[\"MDN\"] > 2 -->")])
    env = dict(os.environ, PYTHONPATH=str(ROOT), COURSE_QUICK="1")
    NotebookClient(nb, timeout=120, kernel_name="python3", env=env).execute(env=env)
    output = nb.cells[0].outputs[0]
    assert output["data"]["text/plain"].startswith("NLL (nats)\n  float32  inf")
    assert output["metadata"][claims.METADATA_KEY]["budget"] == "quick"
    nbformat.write(nb, tmp_path / "run.ipynb")
    cli = subprocess.run([sys.executable, "-m", "shared.claims", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "claims: 2 hold, 0 fail" in cli.stdout and "not checked (full budgets only)" in cli.stdout
    cells = json.loads((tmp_path / "run.ipynb").read_text(encoding="utf-8"))["cells"]
    assert [c.holds for c in claims.check_notebook(cells, full=True)] == [True, True, False]
