"""ScoreReport: the reward of every row, every sub-grader's score and state, and why.

``.frame`` has one row per sample: ``reward``, ``flagged`` (any sub-grader errored, or the reward could
not be computed), ``note``, the row's ``cluster`` when the items have one, and per sub-grader
``<key>.score``, ``<key>.state`` (scored / not_applicable / error / skipped) and ``<key>.error``
(OpenAI's category). ``report.row(i)`` explains one row in full.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rftkit_nb.core import html as h
from rftkit_nb.core.clusters import cluster_name, read_path
from rftkit_nb.core.files import atomic_write
from rftkit_nb.core.graders import BaseGrader
from rftkit_nb.core.templates import template_fields
from rftkit_nb.core.values import is_missing
from rftkit_nb.scoring.outcomes import ERROR, NOT_APPLICABLE, SCORED, SKIPPED, STATES, JudgeCalls, Outcome
from rftkit_nb.scoring.rows import SampleRow

__all__ = ["JudgeCalls", "RowExplanation", "ScoreReport", "ScoreSummary"]


@dataclass
class ScoreReport:
    """What :func:`~rftkit_nb.scoring.engine.score` found. Display it, or read ``.frame``."""

    grader: BaseGrader
    rows: list[SampleRow]
    leaves: dict[str, BaseGrader]
    outcomes: dict[str, list[Outcome | None]]
    rewards: list[float | None]
    reward_notes: list[str]
    interrupted: bool = False
    judge_calls: JudgeCalls = field(default_factory=JudgeCalls)
    cluster_field: str = "cluster"
    notes: list[str] = field(default_factory=list)  # about the whole run: approximations, skips, cache
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per sample (index = the input's index)."""
        if self._frame is None:
            self._frame = self._build_frame()
        return self._frame

    def _build_frame(self) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        clusters = [cluster_name(read_path(r.item, self.cluster_field)) for r in self.rows]
        if any(c is not None for c in clusters):
            columns["cluster"] = clusters  # named as the indicator graders name them (1.0 -> "1")
        columns["reward"] = pd.array(self.rewards, dtype="Float64")
        columns["flagged"] = [
            bool(n) for n in self.reward_notes
        ]  # an error, a skipped judge, a failed formula
        columns["note"] = self.reward_notes
        for key, outs in self.outcomes.items():
            columns[f"{key}.score"] = pd.array([o.score if o else None for o in outs], dtype="Float64")
            columns[f"{key}.state"] = [o.state if o else "unfinished" for o in outs]
            columns[f"{key}.error"] = [o.error if o else None for o in outs]
            columns[f"{key}.detail"] = [(o.detail or None) if o else None for o in outs]
        return pd.DataFrame(columns, index=pd.Index([r.index for r in self.rows]))

    def __len__(self) -> int:
        return len(self.rows)

    # --- one row ---------------------------------------------------------------------------------

    def row(self, i: int) -> RowExplanation:
        """Everything behind row ``i`` (by position): rendered templates, judge steps, python output."""
        if not -len(self.rows) <= i < len(self.rows):
            raise IndexError(f"row {i} is out of range: the report has {len(self.rows)} rows")
        row = self.rows[i]
        graders = []
        for key, g in self.leaves.items():
            outcome = self.outcomes[key][i]
            graders.append({"key": key, "type": g.type, "rendered": _rendered(g, row), "outcome": outcome})
        return RowExplanation(row.index, row.item, row.sample["output_text"], self.rewards[i],
                              self.reward_notes[i], graders)  # fmt: skip

    # --- aggregates ------------------------------------------------------------------------------

    def summary(self) -> ScoreSummary:
        """Reward statistics overall and per cluster; states and error rates per sub-grader."""
        frame = self.frame
        reward = frame["reward"].astype("float64")
        groups = {"(all)": reward}
        if "cluster" in frame:
            for cluster, part in frame.groupby("cluster", dropna=False)["reward"]:
                groups[str(cluster)] = part.astype("float64")
        stats = pd.DataFrame({name: _stats(s) for name, s in groups.items()}).T
        per_grader = []
        for key, g in self.leaves.items():
            states = frame[f"{key}.state"].value_counts()
            n = len(frame)
            row = {"grader": key, "type": g.type, **{s: int(states.get(s, 0)) for s in STATES}}
            row["error_rate"] = row[ERROR] / n if n else 0.0
            row["mean_score"] = frame[f"{key}.score"].astype("float64").mean()
            per_grader.append(row)
        return ScoreSummary(stats, pd.DataFrame(per_grader).set_index("grader"), self.judge_calls,
                            self.interrupted)  # fmt: skip

    def to_jsonl(self, path: str | Path | None = None) -> str:
        """One JSON line per row: index, reward, note and each sub-grader's score/state/error/detail."""
        lines = []
        for i, row in enumerate(self.rows):
            graders = {
                k: None if (o := outs[i]) is None else
                {"score": o.score, "state": o.state, "error": o.error, "detail": o.detail or None}
                for k, outs in self.outcomes.items()
            }  # fmt: skip
            record = {
                "index": _jsonable(row.index),
                "reward": self.rewards[i],
                "note": self.reward_notes[i],
                "graders": graders,
            }
            lines.append(json.dumps(record, ensure_ascii=False))
        text = "\n".join(lines) + ("\n" if lines else "")
        if path is not None:
            atomic_write(Path(path), text)
        return text

    # --- display ---------------------------------------------------------------------------------

    def explore(self, *, baseline: ScoreReport | None = None, rows: Sequence[int] | None = None) -> Any:
        """This report in a :class:`~rftkit_nb.notebook.widgets.ScoreExplorer` (needs anywidget).

        ``baseline``, an earlier report of the same rows, turns on compare mode; ``rows`` (positions)
        opens it on just those rows, in that order, the first selected. This is the one place
        the scoring layer reaches up to the notebook layer, and only by name at call time, so scoring
        imports no widget code (the layers contract holds: nothing is imported statically).

        Example::

            report.explore(baseline=before)
            report.explore(rows=[7, 2])
        """
        widgets = importlib.import_module("rftkit_nb.notebook.widgets")
        return widgets.ScoreExplorer(self, baseline=baseline, rows=rows)

    def _headline(self) -> str:
        done = [r for r in self.rewards if r is not None]
        mean = f"mean reward {sum(done) / len(done):.3f}" if done else "no rewards computed"
        flagged = int(self.frame["flagged"].sum())
        extra = ", interrupted" if self.interrupted else ""
        return f"{len(self.rows)} rows, {mean}, {flagged} flagged{extra}"

    def __repr__(self) -> str:
        lines = [
            f"ScoreReport({self.grader.name!r}): {self._headline()}",
            *(f"note: {n}" for n in self.notes),
        ]
        shown = self.frame.head(10)
        lines.append(shown.to_string(max_colwidth=40))
        if len(self.frame) > 10:
            lines.append(f"... {len(self.frame) - 10} more rows; see .frame")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        shown = min(len(self.rows), 20)
        has_cluster = "cluster" in self.frame
        headers = ["row", *(["cluster"] if has_cluster else []), "reward", *self.outcomes, "note"]
        rows = []
        for i in range(shown):
            cluster = [self.frame["cluster"].iloc[i]] if has_cluster else []
            reward = h.Markup(f"<b>{h.esc(_cell(self.rewards[i]))}</b>")
            cells = [_outcome_cell(outs[i]) for outs in self.outcomes.values()]
            rows.append([self.rows[i].index, *cluster, reward, *cells, self.reward_notes[i] or ""])
        more = (
            f"<div>… {len(self.rows) - shown} more rows in <code>.frame</code></div>"
            if len(self.rows) > shown
            else ""
        )
        hint = "<div style='opacity:.7'><code>.row(i)</code> explains a row; <code>.summary()</code> aggregates</div>"
        hint = "".join(f"<div>{h.badge('note', 'info')} {h.esc(n)}</div>" for n in self.notes) + hint
        return h.card(f"score report: {self.grader.name}", self._headline(),
                      body_html=h.table(headers, rows) + more + hint)  # fmt: skip


def _outcome_cell(outcome: Outcome | None) -> h.Markup:
    """One sub-grader's result in the report table: its score, or a badge saying why there is none."""
    if outcome is None:
        return h.Markup(h.badge("unfinished", "warning"))
    if outcome.state == SCORED:
        return h.Markup(h.esc(_cell(outcome.score)))
    if outcome.state == ERROR:
        return h.Markup(h.badge(outcome.error or "error", "error"))
    level = "warning" if outcome.state == SKIPPED else None
    return h.Markup(h.badge("n/a" if outcome.state == NOT_APPLICABLE else outcome.state, level))


@dataclass
class ScoreSummary:
    """``reward``: count/mean/std/quantiles overall and per cluster; ``graders``: states per sub-grader."""

    reward: pd.DataFrame
    graders: pd.DataFrame
    judge_calls: JudgeCalls
    interrupted: bool = False

    def _caveat(self) -> str:
        return "interrupted: these figures cover only the rows that finished\n\n" if self.interrupted else ""

    def __repr__(self) -> str:
        return (
            f"{self._caveat()}reward\n{self.reward.to_string()}\n\ngraders\n{self.graders.to_string()}\n\n"
            f"judge requests: {self.judge_calls}"
        )

    def _repr_html_(self) -> str:
        reward = h.table(
            ["group", *self.reward.columns], [[i, *map(_cell, r)] for i, r in self.reward.iterrows()]
        )
        graders = h.table(
            ["grader", *self.graders.columns], [[i, *map(_cell, r)] for i, r in self.graders.iterrows()]
        )
        calls = [("judge requests", str(self.judge_calls))]
        if self.interrupted:
            calls.insert(0, ("interrupted", "these figures cover only the rows that finished"))
        return h.card("score summary", "reward", calls, body_html=reward + "<br>" + graders)


@dataclass
class RowExplanation:
    """Why one row got its reward."""

    index: Any
    item: Mapping[str, Any]
    output_text: str
    reward: float | None
    note: str
    graders: list[dict[str, Any]]

    def __repr__(self) -> str:
        lines = [f"row {self.index}: reward {_cell(self.reward)}{' (' + self.note + ')' if self.note else ''}",
                 f"  output: {h.shorten(self.output_text, 100)}"]  # fmt: skip
        for g in self.graders:
            o: Outcome | None = g["outcome"]
            state = "unfinished" if o is None else o.state
            value = "" if o is None or o.score is None else f" {o.score:.4g}"
            lines.append(f"  {g['key']} ({g['type']}): {state}{value}")
            for where, text in _worth_showing(g, o):
                lines.append(f"    {where}: {h.shorten(text, 200)}")
            if o is not None and (o.error or o.detail):
                lines.append(f"    {o.error + ': ' if o.error else ''}{h.shorten(o.detail, 300)}")
            for step in (o.info.get("steps") if o else None) or []:
                lines.append(f"    - {step.get('description', '')} -> {step.get('conclusion', '')}")
            if o is not None and o.info.get("stdout"):
                lines.append(f"    stdout: {h.shorten(o.info['stdout'], 200)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = []
        for g in self.graders:
            o: Outcome | None = g["outcome"]
            level = (
                None
                if o is None
                else {"scored": "ok", "error": "error", "skipped": "warning"}.get(o.state, "info")
            )
            head = f"<b>{h.esc(g['key'])}</b> {h.badge(g['type'])} {h.badge('unfinished' if o is None else o.state, level)}"
            score = "" if o is None or o.score is None else f" score <b>{h.esc(f'{o.score:.4g}')}</b>"
            body = "".join(f"<div><i>{h.esc(f)}</i><pre style='white-space:pre-wrap;margin:2px 0'>{h.esc(t)}</pre></div>"
                           for f, t in g["rendered"])  # fmt: skip
            if o is not None and o.error:
                body += f"<div>{h.badge(o.error, 'error')}<pre style='white-space:pre-wrap'>{h.esc(o.detail)}</pre></div>"
            elif o is not None and o.detail:
                body += f"<div style='opacity:.8'>{h.esc(o.detail)}</div>"

            steps = (o.info.get("steps") if o else None) or []
            body += "".join(
                f"<li>{h.esc(s.get('description', ''))} → {h.esc(s.get('conclusion', ''))}</li>"
                for s in steps
            )
            if o is not None and o.info.get("stdout"):
                body += f"<div><i>stdout</i><pre>{h.esc(o.info['stdout'])}</pre></div>"
            parts.append(f"<details><summary>{head}{score}</summary>{body}</details>")
        rows = [
            ("reward", _cell(self.reward)),
            ("note", self.note or "—"),
            ("output", h.shorten(self.output_text, 300)),
        ]
        return h.card(f"row {self.index}", "explanation", rows, body_html="".join(parts))


def _worth_showing(entry: Mapping[str, Any], outcome: Outcome | None) -> list[tuple[str, str]]:
    """The rendered templates for the text view: none for a masked or skipped grader; for a judge only its
    last message (the instructions before it are the same on every row; the HTML view has them all)."""
    if outcome is None or outcome.state in (NOT_APPLICABLE, SKIPPED):
        return []
    rendered = entry["rendered"]
    return rendered[-1:] if entry["type"] in ("score_model", "label_model") else rendered


def _rendered(grader: BaseGrader, row: SampleRow) -> list[tuple[str, str]]:
    from rftkit_nb.core.templates import render
    from rftkit_nb.errors import GradingError

    out = []
    for where, text in template_fields(grader.config):
        try:
            out.append((where, render(text, item=row.item, sample=row.sample)))
        except GradingError as e:
            out.append((where, f"[cannot render: {e}]"))
    return out


def _stats(series: pd.Series) -> dict[str, float]:
    s = series.dropna()
    return {"count": float(len(s)), "mean": s.mean(), "std": s.std(), "min": s.min(),
            "p25": s.quantile(0.25), "p50": s.median(), "p75": s.quantile(0.75), "max": s.max()}  # fmt: skip


def _cell(value: Any) -> str:
    if is_missing(value):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
