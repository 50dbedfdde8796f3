"""How a :class:`~rftkit_nb.core.workbench.Workbench` shows itself: plain text and escaped HTML.

Both show the same things: where the work is saved, the rubrics (weight, model, range, clusters, text), the
other graders, the cluster matrix, the composed formula and the lint findings, so a terminal IPython or a
CI log reads as well as JupyterLab. Every piece of user text goes through :func:`rftkit_nb.core.html.esc`.

Example::

    >>> from rftkit_nb.core.workbench import Workbench
    >>> "&lt;b&gt;" in render_html(Workbench(path=None)) or "empty" in render_text(Workbench(path=None))
    True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

from rftkit_nb.core import html as h
from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import BaseGrader
from rftkit_nb.core.lint import Finding, LintReport
from rftkit_nb.core.lint_dataset import records
from rftkit_nb.core.rubrics import AggregatorGrader, FormattingGrader, rubric_text_problem
from rftkit_nb.core.workbench.specs import RubricSpec
from rftkit_nb.errors import ConfigError

__all__ = ["Shown", "cluster_findings", "findings", "render_html", "render_text", "status"]

Row = tuple[str, ...]


class Shown(Protocol):
    """What the views read of a Workbench: only its public surface."""

    name: str

    @property
    def path(self) -> os.PathLike[str] | None: ...

    @property
    def blocked(self) -> Exception | None: ...

    @property
    def rubrics(self) -> Mapping[str, RubricSpec]: ...

    @property
    def graders(self) -> Mapping[str, tuple[BaseGrader, float]]: ...

    @property
    def formatting(self) -> FormattingGrader | None: ...

    @property
    def clusters(self) -> ClusterMap: ...

    def grader(self) -> AggregatorGrader: ...

    def lint(self, dataset: Any = None) -> LintReport: ...


def status(wb: Shown) -> str:
    """Where the work is saved, in one line (and why autosave is off, when it is)."""
    if wb.path is None:
        return "in memory (no project file)"
    if wb.blocked is not None:
        return f"autosave OFF: {wb.blocked}; save elsewhere to keep this work"
    return f"autosaved to {wb.path}"


def _formula(wb: Shown) -> str:
    try:
        return wb.grader().calculate_output
    except ConfigError as e:
        return f"(none: {e})"


def _rows(wb: Shown) -> tuple[list[Row], list[Row]]:
    """(rubric rows, other-grader rows) for the tables."""
    cmap = wb.clusters
    every = "-" if cmap.clusters else "all"
    rubrics: list[Row] = [
        (s.name, f"{s.weight:g}", s.model, f"{s.range[0]:g}..{s.range[1]:g}",
         ", ".join(cmap.clusters_for(s.name)) or every, h.shorten(s.text, 60))
        for s in wb.rubrics.values()
    ]  # fmt: skip
    fmt = wb.formatting
    others: list[Row] = [(fmt.name, "formatting", f"{fmt.weight:g}")] if fmt else []
    others += [(n, g.type, f"{w:g}") for n, (g, w) in wb.graders.items()]
    return rubrics, others


def render_text(wb: Shown) -> str:
    """The plain-text view (``repr``)."""
    rubrics, others = _rows(wb)
    head = f"Workbench {wb.name!r}: {len(rubrics)} rubric(s), {len(others)} other grader(s); {status(wb)}"
    lines = [head]
    lines += [f"  rubric  {' | '.join(r)}" for r in rubrics]
    lines += [f"  grader  {' | '.join(r)}" for r in others]
    if wb.clusters.clusters:
        lines += ["  " + line for line in repr(wb.clusters).splitlines()]
    lines.append(f"  formula: {_formula(wb)}")
    lines += ["  " + line for line in repr(wb.lint()).splitlines()]
    return "\n".join(lines)


def render_html(wb: Shown) -> str:
    """The HTML view (``_repr_html_``); every value is escaped."""
    rubrics, others = _rows(wb)
    parts = [h.table(["rubric", "weight", "model", "range", "clusters", "text"], rubrics)]
    if others:
        parts.append(h.table(["grader", "type", "weight"], others))
    if wb.clusters.clusters:
        parts.append(wb.clusters._repr_html_())
    parts.append(wb.lint()._repr_html_())
    return h.card(f"workbench: {wb.name}", status(wb), [("formula", _formula(wb))], body_html="".join(parts))


def findings(wb: Shown, dataset: Any = None) -> list[Finding]:
    """What ``lint()`` finds in a Workbench beyond its composed grader: old rubric text, the cluster map."""
    out = []
    for spec in wb.rubrics.values():  # text an older version took, kept when its file was read
        problem = rubric_text_problem(spec.text)
        if problem is not None:
            out.append(Finding("error", f"rubrics.{spec.name}", f"{problem}; the judge is shown "
                               "each {{ as { {: fix the text and re-run its %%rubric cell"))  # fmt: skip
    return out + cluster_findings(wb, dataset)


def cluster_findings(wb: Shown, dataset: Any = None) -> list[Finding]:
    """What the cluster map makes of the rubrics and, when given, of the dataset's rows."""
    cmap, out = wb.clusters, []
    if not cmap.clusters:
        return []
    for r in wb.rubrics:
        if not cmap.clusters_for(r):
            out.append(
                Finding("warning", f"clusters.{r}", f"rubric {r!r} is in no cluster, so it never counts")
            )
    for c in cmap.empty_clusters():
        out.append(Finding("info", f"clusters.{c}", f"rows of cluster {c!r} are graded without any rubric"))
    rows: list[Mapping[str, Any]] = [] if dataset is None else records(dataset)
    lost = [i for i, row in enumerate(rows) if cmap.cluster_of(row) not in cmap.clusters]
    if lost:
        message = (
            f"{len(lost)} of {len(rows)} rows have no known cluster at item.{cmap.field} "
            f"(first: row {lost[0]}); no rubric counts for them"
        )
        out.append(Finding("warning", f"dataset.{cmap.field}", message))
    return out
