"""The test run of a python grader on one example row, before it is kept.

``%%python_grader`` calls it when the notebook has an example row; Python users call it directly, so a
grader can be tried on a real row without scoring a dataset.

Example::

    >>> from rftkit_nb.core.graders import PythonGrader
    >>> g = PythonGrader(name="length", source="def grade(sample, item):\\n    return 1.0")
    >>> check_example(g, {"output_text": "hi"})
    'example row: length = 1'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rftkit_nb.core.graders import PythonGrader
from rftkit_nb.errors import ErrorCategory, SandboxError
from rftkit_nb.scoring.rows import load_rows
from rftkit_nb.scoring.sandbox.pool import Sandbox

__all__ = ["EXAMPLE_TIMEOUT", "check_example"]

EXAMPLE_TIMEOUT = 10.0  # seconds the example-row test run of a python grader may take


def check_example(grader: PythonGrader, row: Mapping[str, Any], *, timeout: float = EXAMPLE_TIMEOUT) -> str:
    """Run ``grader`` on ``row`` (item fields plus ``output_text``) in the sandbox; a one-line report.

    Raises :class:`~rftkit_nb.errors.SandboxError` when the grader itself fails on the row (it raised, hung
    past ``timeout`` or returned a non-float). When the sandbox could not run at all, the report says so
    instead, since the grader is not to blame.
    """
    (sample_row,) = load_rows([dict(row)])
    with Sandbox(workers=1, timeout=timeout) as box:
        (result,) = box.grade_many(grader.source, [(sample_row.sample, sample_row.item)])
    printed = f"; it printed: {result.stdout.strip()[:200]!r}" if result.stdout.strip() else ""
    if result.error == ErrorCategory.PYTHON_RUNTIME:
        reason = result.detail.strip().splitlines()
        raise SandboxError(f"python grader {grader.name!r} failed on the example row: "
                           f"{reason[-1] if reason else 'no detail'}{printed}")  # fmt: skip
    if result.error is not None:
        return f"could not test-run {grader.name!r} on the example row ({result.detail.strip()[:200]})"
    return f"example row: {grader.name} = {result.score:g}{printed}"
