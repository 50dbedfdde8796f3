"""What a run produces per sub-grader and row, and the rules every part of scoring reads it by.

An :class:`Outcome` is one sub-grader's result on one row: a score, or a state saying why there is none
(``not_applicable``: masked for the row's cluster; ``error``: with OpenAI's error category; ``skipped``:
no judge configured). :func:`reward_input` is the one place that says what an outcome counts for in the
formula, and :class:`JudgeCalls` what a run asked of the judge.

Example::

    >>> from rftkit_nb.errors import ErrorCategory
    >>> failed = Outcome.failed(ErrorCategory.PYTHON_RUNTIME, "ZeroDivisionError")
    >>> failed.state, reward_input(failed)
    ('error', 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.errors import GradingError

__all__ = [
    "ERROR",
    "NOT_APPLICABLE",
    "SCORED",
    "SKIPPED",
    "STATES",
    "JudgeCalls",
    "Outcome",
    "reward_input",
]

SCORED, NOT_APPLICABLE, ERROR, SKIPPED = "scored", "not_applicable", "error", "skipped"
STATES = (SCORED, NOT_APPLICABLE, ERROR, SKIPPED)


@dataclass
class Outcome:
    """What one sub-grader gave one row."""

    score: float | None
    state: str = SCORED
    error: str | None = None  # OpenAI's error category (an ErrorCategory)
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)  # judge steps, python stdout, approximation notes

    @classmethod
    def failed(cls, error: GradingError | str, detail: str = "") -> Outcome:
        """An ``error`` outcome from a GradingError (its category and detail) or a category and detail."""
        if isinstance(error, GradingError):
            return cls(None, ERROR, error.category, error.detail or str(error))
        return cls(None, ERROR, error, detail)


def reward_input(outcome: Outcome | None) -> float:
    """The value an outcome contributes to the formula.

    As on the hosted service, a sub-grader that errored (or gave no score) counts 0; the row is flagged
    elsewhere, so this zero is never silent.

    >>> reward_input(Outcome(0.75)), reward_input(None)
    (0.75, 0.0)
    """
    if outcome is not None and outcome.state == SCORED and outcome.score is not None:
        return outcome.score
    return 0.0


@dataclass(frozen=True)
class JudgeCalls:
    """Judge requests of a run: ``needed`` locally (masked rows excluded), of which ``sent`` to the
    endpoint, answered from the ``cached`` answers, or ``shared`` with an identical request; ``hosted``
    is what the service would make (every judge on every row).

    >>> JudgeCalls(needed=3, sent=2, cached=1, hosted=10).sent
    2
    """

    needed: int = 0
    sent: int = 0
    cached: int = 0
    shared: int = 0
    hosted: int = 0

    def __str__(self) -> str:
        return (
            f"{self.needed} needed locally ({self.sent} sent, {self.cached} from the cache, {self.shared} "
            f"shared with an identical request); the hosted service would make {self.hosted} "
            "(it runs every judge on every row, masked or not)"
        )
