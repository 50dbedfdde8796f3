"""agreement(): does the judge agree with the experts? Per rubric and per cluster, with the baselines.

Every judge sub-grader of a :class:`~rftkit_nb.scoring.report.ScoreReport` that has human labels is
compared on the rows both scored: n, exact and within-one-step agreement next to the base rate and what a
constant predictor would get, Spearman and Pearson, quadratic-weighted kappa, Krippendorff's alpha, the
judge's mean bias with a bootstrap interval, a confusion matrix, and the worst disagreements. A verdict
line per rubric holds kappa against a floor the user sets, and warns when there are too few labels.

Example::

    from rftkit_nb import score
    report = score(wb, rows, judge=judge)
    agreement(report, Labels.for_project(wb), floor=0.6)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rftkit_nb.core import html as h
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.labels import Labels, row_key
from rftkit_nb.quality.stats import Comparison, compare

__all__ = ["DEFAULT_FLOOR", "MIN_LABELS", "AgreementReport", "agreement", "report_keys"]

MIN_LABELS = 50  # practitioners ask for at least 50 (some 200) labels before trusting a judge
DEFAULT_FLOOR = 0.6  # quadratic-weighted kappa a judge should reach before it may gate a reward
_JUDGE_TYPES = ("score_model", "label_model")


def report_keys(report: Any) -> list[str]:
    """The content key of every row of a ScoreReport, in order (as :mod:`.labels` keys rows)."""
    rows = getattr(report, "rows", None)
    if rows is not None:
        return [row_key(r.item, r.sample["output_text"]) for r in rows]
    return [row_key((e := report.row(i)).item, e.output_text) for i in range(len(report))]


@dataclass
class RubricAgreement:
    """One rubric's comparison overall, per cluster, and its worst disagreements."""

    rubric: str
    overall: Comparison
    clusters: dict[str, Comparison]
    worst: pd.DataFrame
    verdict: str
    level: str  # ok / warning / error


@dataclass
class AgreementReport:
    """What :func:`agreement` found; ``.frame`` holds one row per rubric (and per cluster)."""

    rubrics: dict[str, RubricAgreement]
    floor: float
    min_labels: int
    unlabelled: list[str] = field(default_factory=list)  # judge rubrics with no usable labels
    report: Any = field(default=None, repr=False)  # the ScoreReport compared, for explore()

    def explore(self, rubric: str | None = None) -> Any:
        """The report's ScoreExplorer on ``rubric``'s worst disagreements, worst first, the first selected
        (``rubric`` may be left out when one rubric has any).

        Example::

            agreement(report, labels).explore("tone")
        """
        if self.report is None or not hasattr(self.report, "explore"):
            raise ConfigError("this agreement report holds no ScoreReport to explore: build it with "
                              "agreement(report, labels) from a score() report")  # fmt: skip
        if rubric is None:
            with_rows = [name for name, r in self.rubrics.items() if len(r.worst)]
            if len(with_rows) != 1:
                raise ConfigError(
                    "explore(rubric=...) names the rubric whose disagreements to open; rubrics with "
                    f"disagreements: {', '.join(with_rows) or '(none)'}"
                )
            rubric = with_rows[0]
        if rubric not in self.rubrics:
            raise ConfigError(f"rubric {rubric!r} has no agreement figures here; compared rubrics are: "
                              f"{', '.join(self.rubrics) or '(none)'}")  # fmt: skip
        return self.report.explore(rows=[int(p) for p in self.rubrics[rubric].worst.index])

    @property
    def frame(self) -> pd.DataFrame:
        rows = []
        for name, r in self.rubrics.items():
            rows.append({"rubric": name, "cluster": "(all)", **_figures(r.overall)})
            rows.extend({"rubric": name, "cluster": c, **_figures(s)} for c, s in r.clusters.items())
        return pd.DataFrame(rows).set_index(["rubric", "cluster"]) if rows else pd.DataFrame()

    @property
    def verdicts(self) -> list[str]:
        lines = [r.verdict for r in self.rubrics.values()]
        return lines + [
            f"{name}: no human labels on these rows; label some with %rft label" for name in self.unlabelled
        ]

    def __repr__(self) -> str:
        lines = [f"AgreementReport: judge vs human, kappa floor {self.floor:g}, minimum {self.min_labels} labels",
                 *(f"  {v}" for v in self.verdicts)]  # fmt: skip
        if self.rubrics:
            lines.append(self.frame.to_string(float_format=lambda x: f"{x:.3g}"))
        for r in self.rubrics.values():
            if len(r.worst):
                lines.append(
                    f"worst disagreements for {r.rubric} (report.row(i) explains one; "
                    f".explore({r.rubric!r}) opens them in the explorer):"
                )
                lines.append(r.worst.to_string(max_colwidth=50))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdicts = "".join(
            f"<div>{h.badge(r.level, r.level)} {h.esc(r.verdict)}</div>" for r in self.rubrics.values()
        )
        verdicts += "".join(
            f"<div>{h.badge('no labels', 'warning')} {h.esc(n)}</div>" for n in self.unlabelled
        )
        body = verdicts
        if self.rubrics:
            frame = self.frame
            headers = ["rubric", "cluster", *frame.columns]
            body += h.table(headers, [[*i, *map(_cell, r)] for i, r in frame.iterrows()])
        for r in self.rubrics.values():
            body += _confusion_html(r)
            if len(r.worst):
                body += f"<div><b>worst disagreements: {h.esc(r.rubric)}</b> (<code>report.row(i)</code> explains one, <code>.explore({h.esc(repr(r.rubric))})</code> opens them in the explorer)</div>"
                body += h.table(
                    ["i", *r.worst.columns], [[i, *map(_cell, row)] for i, row in r.worst.iterrows()]
                )
        return h.card("judge vs human agreement", f"kappa floor {self.floor:g}", body_html=body)


def agreement(
    report: Any,
    labels: Labels | Mapping[str, Mapping[str, float]],
    *,
    rubrics: Sequence[str] | None = None,
    floor: float = DEFAULT_FLOOR,
    min_labels: int = MIN_LABELS,
    step: float | None = None,
    worst: int = 5,
    cluster_min: int = 5,
) -> AgreementReport:
    """Compare each judged rubric of ``report`` with the human ``labels`` (a :class:`Labels` store, a
    Workbench, whose labels sit beside its project file, or ``{rubric: {row key: score}}``) on the rows
    both scored.

    ``floor`` is the quadratic-weighted kappa a rubric must reach to pass; fewer than ``min_labels`` paired
    rows is a warning whatever kappa says. Clusters with fewer than ``cluster_min`` pairs are left out
    of the per-cluster figures. ``step`` is the label step (inferred from the labels when None).

    >>> agreement.__name__
    'agreement'
    """
    if not 0 <= floor <= 1:
        raise ConfigError(f"agreement(floor=...) must be between 0 and 1, got {floor}")
    if not isinstance(labels, Labels | Mapping) and hasattr(labels, "path"):
        labels = Labels.for_project(labels)  # a Workbench: the labels saved beside its project file
    store = labels.for_rubric if isinstance(labels, Labels) else (lambda r: dict(labels.get(r, {})))
    judged = [k for k, g in report.leaves.items() if g.type in _JUDGE_TYPES]
    chosen = list(rubrics) if rubrics is not None else judged
    unknown = [r for r in chosen if r not in report.leaves]
    if unknown:
        raise ConfigError(f"rubric {unknown[0]!r} is not a sub-grader of {report.grader.name!r}; "
                          f"judged rubrics are: {', '.join(judged) or '(none)'}")  # fmt: skip
    keys = report_keys(report)
    frame = report.frame
    found: dict[str, RubricAgreement] = {}
    missing = []
    for rubric in chosen:
        pairs = _pairs(frame, rubric, keys, store(rubric))
        if len(pairs) == 0:
            missing.append(rubric)
            continue
        found[rubric] = _rubric(rubric, pairs, report, floor=floor, min_labels=min_labels, step=step,
                                worst=worst, cluster_min=cluster_min)  # fmt: skip
    return AgreementReport(found, floor, min_labels, missing, report=report)


def _pairs(frame: pd.DataFrame, rubric: str, keys: list[str], human: Mapping[str, float]) -> pd.DataFrame:
    scores = frame[f"{rubric}.score"].astype("float64").to_numpy()
    states = frame[f"{rubric}.state"].tolist()
    clusters = frame["cluster"].tolist() if "cluster" in frame else [None] * len(keys)
    rows = [
        {"position": i, "cluster": clusters[i], "judge": scores[i], "human": human[k]}
        for i, k in enumerate(keys)
        if k in human and states[i] == "scored" and not math.isnan(scores[i])
    ]
    return pd.DataFrame(rows, columns=["position", "cluster", "judge", "human"])


def _rubric(rubric: str, pairs: pd.DataFrame, report: Any, *, floor: float, min_labels: int,
            step: float | None, worst: int, cluster_min: int) -> RubricAgreement:  # fmt: skip
    overall = compare(pairs["judge"], pairs["human"], step=step)
    clusters = {}
    if pairs["cluster"].notna().any():
        for cluster, part in pairs.groupby("cluster"):
            if len(part) >= cluster_min:
                clusters[str(cluster)] = compare(part["judge"], part["human"], step=overall.step)
    gap = (pairs["judge"] - pairs["human"]).abs()
    top = pairs.assign(gap=gap).sort_values("gap", ascending=False, kind="stable").head(worst)
    top = top[top["gap"] > 0]
    worst_frame = pd.DataFrame({
        "row": [report.rows[p].index if hasattr(report, "rows") else p for p in top["position"]],
        "cluster": top["cluster"].tolist(),
        "judge": top["judge"].tolist(),
        "human": top["human"].tolist(),
        "output": [h.shorten(report.row(int(p)).output_text, 60) for p in top["position"]],
    }, index=pd.Index([int(p) for p in top["position"]], name="i"))  # fmt: skip
    if worst_frame["cluster"].isna().all():
        worst_frame = worst_frame.drop(columns="cluster")
    verdict, level = _verdict(rubric, overall, floor, min_labels)
    return RubricAgreement(rubric, overall, clusters, worst_frame, verdict, level)


def _verdict(rubric: str, c: Comparison, floor: float, min_labels: int) -> tuple[str, str]:
    kappa = "undefined" if c.kappa is None else f"{c.kappa:.2f}"
    figures = (f"kappa {kappa}, exact {c.exact:.0%} vs {c.constant_exact:.0%} for a constant answer "
               f"(base rate {c.base_rate:.0%}), n={c.n}")  # fmt: skip
    few = (
        f"; only {c.n} labels, below the minimum of {min_labels}: label more before trusting this"
        if c.n < min_labels
        else ""
    )
    if c.kappa is None:
        return f"{rubric}: UNDECIDED, {figures} (kappa needs variation in both raters){few}", "warning"
    if c.kappa < floor:
        return (
            f"{rubric}: BELOW FLOOR {floor:g}, {figures}; do not let this judge gate a reward{few}",
            "error",
        )
    return f"{rubric}: {'PASS (provisional)' if few else 'PASS'}, {figures}{few}", "warning" if few else "ok"


def _figures(c: Comparison) -> dict[str, Any]:
    low, high = c.bias_ci if c.bias_ci else (None, None)
    return {"n": c.n, "exact": c.exact, "within_one": c.within_one, "base_rate": c.base_rate,
            "constant_exact": c.constant_exact, "constant_within_one": c.constant_within_one,
            "spearman": c.spearman, "pearson": c.pearson, "kappa_quadratic": c.kappa,
            "alpha_interval": c.alpha_interval, "alpha_ordinal": c.alpha_ordinal,
            "bias": c.bias, "bias_ci_low": low, "bias_ci_high": high}  # fmt: skip


def _confusion_html(r: RubricAgreement) -> str:
    c = r.overall
    if not c.confusion or len(c.levels) > 11:  # a continuous scale has no useful matrix
        return ""
    labels = [f"{v:g}" for v in c.levels]
    rows = [[f"human {labels[i]}", *row] for i, row in enumerate(c.confusion)]
    return (f"<details><summary>confusion matrix: {h.esc(r.rubric)} (rows human, columns judge)</summary>"
            f"{h.table(['', *(f'judge {x}' for x in labels)], rows)}</details>")  # fmt: skip


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
