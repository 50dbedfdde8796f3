"""Judge-vs-human statistics for one rubric, computed by the reference libraries.

scipy (Spearman, Pearson, bootstrap), scikit-learn (quadratic-weighted Cohen's kappa, confusion matrix)
and ``krippendorff`` (alpha, interval and ordinal) do the work; this module only discretises the scores
onto the rubric's label steps and puts the figures side by side with the base rate and the agreement a
constant predictor would reach, because raw agreement alone hides how much is chance.

Example::

    >>> s = compare([0.0, 1.0, 1.0, 0.5], [0.0, 1.0, 0.5, 0.5])
    >>> s.n, round(s.exact, 2), s.step
    (4, 0.75, 0.5)
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rftkit_nb.errors import ConfigError

__all__ = ["Comparison", "compare", "infer_step", "require_statistics"]

BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Comparison:
    """Judge against human on ``n`` rows of one rubric (None where a figure is undefined)."""

    n: int
    step: float
    exact: float  # judge on the same label step as the human
    within_one: float  # at most one step apart
    base_rate: float  # share of the most common human label
    constant_exact: float  # exact agreement of always answering the most common human label
    constant_within_one: float
    spearman: float | None
    pearson: float | None
    kappa: float | None  # quadratic-weighted Cohen's kappa on the label steps
    alpha_interval: float | None
    alpha_ordinal: float | None
    bias: float  # mean of judge minus human
    bias_ci: tuple[float, float] | None  # 95% bootstrap interval of the bias
    levels: list[float] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)  # rows: human level, columns: judge level


def infer_step(values: Sequence[float] | np.ndarray) -> float:
    """The label step: the smallest gap between distinct labels (1.0 when there is only one label).

    >>> infer_step([0, 0.5, 1, 1])
    0.5
    """
    distinct = sorted(set(float(v) for v in values))
    gaps = [b - a for a, b in itertools.pairwise(distinct) if b - a > 1e-9]
    return round(min(gaps), 9) if gaps else 1.0


def compare(
    judge: Sequence[float], human: Sequence[float], *, step: float | None = None, seed: int = 0
) -> Comparison:
    """Every agreement figure for paired scores (same length, no missing values).

    ``step`` is the distance between label levels (inferred from the human labels when None); judge
    scores are rounded to the nearest level (from the lowest human label) for the discrete figures.
    """
    require_statistics()
    j, hu = np.asarray(judge, dtype=float), np.asarray(human, dtype=float)
    if j.shape != hu.shape or j.ndim != 1:
        raise ValueError("judge and human scores must be two sequences of the same length")
    n = len(j)
    step = step if step is not None else infer_step(hu)
    origin = float(hu.min()) if n else 0.0
    jl, hl = _level(j, origin, step), _level(hu, origin, step)
    levels = sorted(set(jl.tolist()) | set(hl.tolist()))
    mode = Counter(hl.tolist()).most_common(1)[0][0] if n else 0
    distance = np.abs(jl - hl)
    constant = np.abs(hl - mode)
    return Comparison(
        n=n,
        step=step,
        exact=_mean(distance == 0),
        within_one=_mean(distance <= 1),
        base_rate=_mean(hl == mode),
        constant_exact=_mean(constant == 0),
        constant_within_one=_mean(constant <= 1),
        spearman=_correlation("spearman", j, hu),
        pearson=_correlation("pearson", j, hu),
        kappa=_kappa(hl, jl, levels),
        alpha_interval=_alpha(j, hu, "interval"),
        alpha_ordinal=_alpha(jl.astype(float), hl.astype(float), "ordinal"),
        bias=float(np.mean(j - hu)) if n else math.nan,
        bias_ci=_bootstrap_mean(j - hu, seed),
        levels=[origin + lv * step for lv in levels],
        confusion=_confusion(hl, jl, levels),
    )


def require_statistics() -> None:
    """ConfigError naming the extra to install when scipy, scikit-learn or krippendorff is missing."""
    import importlib.util

    missing = [m for m in ("scipy", "sklearn", "krippendorff") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"the quality lab needs {', '.join(missing)}: pip install 'rftkit-nb[quality]'")


def _level(values: np.ndarray, origin: float, step: float) -> np.ndarray:
    return np.rint((values - origin) / step).astype(int)


def _mean(mask: np.ndarray) -> float:
    return float(np.mean(mask)) if len(mask) else math.nan


def _constant(*arrays: np.ndarray) -> bool:
    return any(len(a) < 2 or np.all(a == a[0]) for a in arrays)


def _correlation(kind: str, a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy import stats

    if _constant(a, b):
        return None  # undefined, not zero: a constant judge has no rank order to compare
    result = stats.spearmanr(a, b) if kind == "spearman" else stats.pearsonr(a, b)
    return float(result.statistic)


def _kappa(human: np.ndarray, judge: np.ndarray, levels: list[int]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(human) < 2 or len(levels) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when both raters are constant
        value = cohen_kappa_score(human, judge, labels=levels, weights="quadratic")
    return None if math.isnan(value) else float(value)


def _alpha(a: np.ndarray, b: np.ndarray, level: Literal["interval", "ordinal"]) -> float | None:
    import krippendorff

    values = np.concatenate([a, b])
    if len(a) < 2 or np.all(values == values[0]):
        return None  # no variation at all: alpha is 0/0
    domain = np.unique(values) if level == "ordinal" else None
    result = krippendorff.alpha(reliability_data=np.vstack([a, b]), level_of_measurement=level,
                                value_domain=domain)  # fmt: skip
    return None if math.isnan(result) else float(result)


def _bootstrap_mean(diff: np.ndarray, seed: int) -> tuple[float, float] | None:
    from scipy import stats

    if len(diff) < 2:
        return None
    if np.all(diff == diff[0]):
        return (float(diff[0]), float(diff[0]))
    result = stats.bootstrap((diff,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=0.95,
                             method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    ci = result.confidence_interval
    return (float(ci.low), float(ci.high))


def _confusion(human: np.ndarray, judge: np.ndarray, levels: list[int]) -> list[list[int]]:
    from sklearn.metrics import confusion_matrix

    if not len(human):
        return []
    if len(levels) == 1:  # sklearn warns on a single label; the matrix is then just the count
        return [[len(human)]]
    return confusion_matrix(human, judge, labels=levels).tolist()
