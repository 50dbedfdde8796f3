"""How the quality lab calls the scoring engine: only through ``score()`` and the ScoreReport it returns.

Example::

    >>> from rftkit_nb import RubricGrader
    >>> leaf_ranges(RubricGrader(name="tone", rubric="1 = polite", range=[0, 5]))
    {'tone': (0.0, 5.0)}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rftkit_nb.core.graders import BaseGrader, MultiGrader

__all__ = ["as_grader", "judge_keys", "leaf_ranges", "leaves", "rescore", "score_columns"]

JUDGE_TYPES = ("score_model", "label_model")


def as_grader(grader: Any) -> tuple[BaseGrader, str | None]:
    """The grader to run (as ``score()`` resolves it) and the cluster field a Workbench names."""
    from rftkit_nb.scoring.engine import as_grader as resolve

    return resolve(grader), getattr(grader, "cluster_field", None)


def leaves(grader: BaseGrader) -> dict[str, BaseGrader]:
    """The sub-graders the report has columns for (a multi grader's graders, or the grader itself)."""
    return dict(grader.graders) if isinstance(grader, MultiGrader) else {grader.name: grader}


def judge_keys(grader: BaseGrader) -> list[str]:
    return [k for k, g in leaves(grader).items() if g.type in JUDGE_TYPES]


def leaf_ranges(grader: BaseGrader) -> dict[str, tuple[float, float]]:
    """Each scoring sub-grader's possible range: a judge's ``range``, [0, 1] for the others.

    Indicator (mask) graders are left out: they are 0 or 1 by construction, not a criterion.
    """
    out = {}
    for key, g in leaves(grader).items():
        if key.startswith("applies_"):  # the Workbench's cluster indicators
            continue
        low, high = g.config.get("range") or (0.0, 1.0)
        out[key] = (float(low), float(high))
    return out


def rescore(grader: BaseGrader, rows: Any, *, judge: Any = None, output: str = "output_text", cache: Any = None,
            cluster_field: str | None = None, limit: int | None = None) -> Any:  # fmt: skip
    """``score()`` without a progress bar (the lab runs several scorings per call).

    ``cache`` applies to a judge score() builds (None: score()'s default); a Judge keeps its own.
    """
    from rftkit_nb.scoring.engine import score

    options = {} if cache is None else {"cache": cache}
    return score(grader, rows, judge=judge, output=output, progress=False, cluster_field=cluster_field,
                 limit=limit, **options)  # fmt: skip


def score_columns(report: Any) -> pd.DataFrame:
    """One float column per scoring sub-grader (masks left out); NaN where it did not score."""
    frame = report.frame
    keys = leaf_ranges(report.grader)
    columns = {}
    for key in keys:
        values = frame[f"{key}.score"].astype("float64")
        columns[key] = values.where(frame[f"{key}.state"] == "scored")
    return pd.DataFrame(columns, index=frame.index)
