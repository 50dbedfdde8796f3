"""What a value means, decided once: a missing cell, a usable weight. Stdlib only (and errors).

:func:`is_missing` is the one rule for "this cell holds nothing": the dataset lint, the cluster map and the
scoring engine's row cleaning all ask it, so a gap in a DataFrame reads the same everywhere. pandas'
markers are recognised by their type names, so nothing here imports pandas.

:func:`weight_problem` is the one rule for a grader's weight in the reward formula; :func:`finite_weight`
(the Workbench and the project file), ``Weight`` (the pydantic field type of ``RubricGrader`` and
``FormattingGrader``, in :mod:`rftkit_nb.core.generated`) and ``AggregatorGrader``'s weights all apply it.

Example::

    >>> is_missing(None), is_missing(float("nan")), is_missing(0.0), is_missing("")
    (True, True, False, False)
    >>> weight_problem(0.5) is None, weight_problem(-1)
    (True, 'weight must be >= 0, got -1')
"""

from __future__ import annotations

import math

from rftkit_nb.errors import ConfigError

__all__ = ["MAX_WEIGHT", "finite_weight", "is_missing", "weight_problem"]

MAX_WEIGHT = 1e6

# pandas' missing-value markers (pd.NA, pd.NaT), named rather than imported: core does not import pandas.
_MISSING_TYPES = frozenset({"NAType", "NaTType"})


def is_missing(value: object) -> bool:
    """True for a cell that holds nothing: None, a float NaN, pandas' ``NA`` or ``NaT``.

    Example::

        >>> import datetime
        >>> is_missing(datetime.date(2025, 1, 1)), is_missing([None])
        (False, False)
    """
    if value is None or type(value).__name__ in _MISSING_TYPES:
        return True
    return isinstance(value, float) and math.isnan(value)


def weight_problem(weight: object) -> str | None:
    """Why ``weight`` cannot weigh a grader in the reward formula, or None when it can.

    A weight is a finite number >= 0; a bool is not a number here (``True`` is a typo, not 1).

    Example::

        >>> weight_problem(True), weight_problem(float("inf"))
        ('weight must be a finite number >= 0, got True', 'weight must be a finite number >= 0, got inf')
    """
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
        return f"weight must be a finite number >= 0, got {weight!r}"
    if weight < 0:
        return f"weight must be >= 0, got {weight!r}"
    if weight > MAX_WEIGHT:  # sums of such weights overflow to inf, and every reward with them
        return f"weight must be at most {MAX_WEIGHT:,.0f} (weights are relative), got {weight!r}"
    return None


def finite_weight(weight: object, owner: str) -> float:
    """``weight`` as a float, or a :class:`ConfigError` naming ``owner`` (see :func:`weight_problem`).

    Example::

        >>> finite_weight(2, "rubric 'tone'")
        2.0
    """
    problem = weight_problem(weight)
    if problem is not None:
        raise ConfigError(f"{owner}: {problem}")
    return float(weight)  # type: ignore[arg-type]  # weight_problem admitted only int and float
