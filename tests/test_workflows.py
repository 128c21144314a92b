"""The GitHub Actions workflow (.github/workflows/) is valid and publishes what `make book` builds.

Validated offline against GitHub's workflow schema (check-jsonschema's vendored copy);
`actionlint`, when it is on the PATH, checks it too (expressions, job dependencies, shell).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHECK = Path(sys.executable).with_name("check-jsonschema")


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_there_is_a_workflow_and_it_is_valid():
    assert WORKFLOWS, "no workflow in .github/workflows"
    for path in WORKFLOWS:
        result = validate(path)
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"


def test_an_invalid_workflow_is_refused(tmp_path):
    broken = yaml.safe_load(WORKFLOWS[0].read_text(encoding="utf-8"))
    broken["jobs"]["test"]["runs-on"] = {"not": "a runner"}
    broken["jobs"]["test"]["timeout-minutes"] = "ninety"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert validate(path).returncode != 0


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not on the PATH")
def test_actionlint_finds_nothing():
    result = subprocess.run(["actionlint", *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_tests_builds_and_deploys_the_site_of_make_book():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text(encoding="utf-8"))
    triggers = workflow[True] if True in workflow else workflow["on"]   # YAML 1.1 reads `on` as true
    assert "main" in triggers["push"]["branches"] and "pull_request" in triggers
    runs = {name: [step.get("run", "") for step in job.get("steps", [])] for name, job in workflow["jobs"].items()}
    assert any("bash .ci/run" in r for r in runs["test"]), "the test job runs .ci/run (make test)"
    assert any(r.strip() == "make book" for r in runs["build"]), "the build job runs make book"
    assert workflow["jobs"]["build"]["needs"] == "test" and workflow["jobs"]["deploy"]["needs"] == "build"
    upload = [s for s in workflow["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html", "the deployed folder is make book's website"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
