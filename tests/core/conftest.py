"""Fixtures of the core tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

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
