"""Fixtures of the core tests: graders run in a child interpreter, and a Workbench on a project file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rftkit_nb.core.graders import StringCheckGrader
from rftkit_nb.core.workbench import Workbench

_RUNNER = """\
import json, sys
results = []
for case in json.load(sys.stdin):
    namespace = {}
    exec(compile(case["source"], "<grader>", "exec"), namespace)
    results.append(namespace["grade"](case["sample"], case["item"]))
print(json.dumps(results))
"""


def _grade_in_subprocess(cases: list[tuple[str, dict, dict]], cwd: Path) -> list[float]:
    """``grade(sample, item)`` of each ``(source, sample, item)``, run in one fresh interpreter in ``cwd``."""
    payload = json.dumps([{"source": s, "sample": sa, "item": it} for s, sa, it in cases])
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER], input=payload, capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def grade_in_subprocess() -> Callable[[list[tuple[str, dict, dict]], Path], list[float]]:
    """Run generated or user grader sources in a child interpreter: never in the test process."""
    return _grade_in_subprocess


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Where the ``wb`` fixture autosaves: a project file that does not exist yet."""
    return tmp_path / "rftkit.json"


@pytest.fixture
def wb(project: Path) -> Workbench:
    return Workbench(project)


def _design(wb: Workbench) -> Workbench:
    wb.set_formatting(name="fmt", required_fields=["answer"], weight=0.1)
    wb.add_rubric("tone", "1 = polite", weight=2, clusters=["chat"])
    wb.add_rubric("accuracy", "1 = correct", clusters=["chat", "math"])
    exact = StringCheckGrader(
        name="exact", input="{{ sample.output_text }}", reference="{{ item.a }}", operation="eq"
    )
    wb.add_grader(exact, weight=0.5)
    return wb


@pytest.fixture(scope="session")
def design() -> Callable[[Workbench], Workbench]:
    """``design(wb)``: a formatting grader, two clustered rubrics (chat, math) and a string_check, added to ``wb``."""
    return _design
