"""parity(): the same rows through the hosted ``graders/run`` and the local engine, side by side.

This is how a user learns whether the local approximations (text metrics, judges) can be trusted before
paying for a job. Where ``graders/run`` is gone (by the availability table, or a 404), parity says so and
stops; the local :func:`~rftkit_nb.score` keeps working.

Example::

    >>> import openai
    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> from rftkit_nb.testing import FakeOpenAI
    >>> exact = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                           reference="{{ item.answer }}", operation="eq")
    >>> rows = [{"answer": "4", "output_text": "4"}, {"answer": "6", "output_text": "5"}]
    >>> with FakeOpenAI() as server:
    ...     azure = openai.OpenAI(base_url=server.azure_v1_base_url, api_key="demo")
    ...     report = parity(exact, rows, client=azure)
    >>> report.verdict
    'parity: all 2 rows agree within 0.01 (hosted vs local reward)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.core.graders import MultiGrader, config_with_secrets
from rftkit_nb.errors import RemoteError
from rftkit_nb.remote.availability import lint_target
from rftkit_nb.remote.calls import call
from rftkit_nb.remote.jobs import as_data
from rftkit_nb.remote.submit import as_grader, header_secrets
from rftkit_nb.remote.targets import resolve_target

__all__ = ["ParityReport", "ParityRow", "parity"]


@dataclass(frozen=True)
class ParityRow:
    """One row: the hosted and local reward, and each sub-grader's pair ``{key: (hosted, local)}``."""

    index: Any
    hosted: float | None
    local: float | None
    graders: dict[str, tuple[float | None, float | None]]
    hosted_errors: tuple[str, ...] = ()

    def difference(self) -> float | None:
        if self.hosted is None or self.local is None:
            return None
        return abs(self.hosted - self.local)


@dataclass
class ParityReport:
    """Rows side by side, the verdict line, and (when it stopped) why."""

    grader: str
    target: str
    rows: list[ParityRow] = field(default_factory=list)
    tolerance: float = 0.01
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def differing(self) -> list[ParityRow]:
        return [r for r in self.rows if (d := r.difference()) is None or d > self.tolerance]

    @property
    def verdict(self) -> str:
        if self.stopped:
            return f"parity not checked: {self.stopped}"
        n = len(self.rows)
        if not self.differing:
            return f"parity: all {n} rows agree within {self.tolerance:g} (hosted vs local reward)"
        worst = max((d for r in self.rows if (d := r.difference()) is not None), default=math.nan)
        keys = sorted(
            {k for r in self.differing for k, (a, b) in r.graders.items() if _differs(a, b, self.tolerance)}
        )
        blame = f"; they differ in {', '.join(keys)}" if keys else ""
        return (f"parity: {len(self.differing)} of {n} rows differ by more than {self.tolerance:g} (largest "
                f"{worst:.3f}){blame}: check those graders before trusting local scores")  # fmt: skip

    @property
    def frame(self) -> Any:
        """The table as a DataFrame: reward pair and difference, then each sub-grader's pair."""
        import pandas as pd

        records = []
        for r in self.rows:
            record: dict[str, Any] = {
                "row": r.index,
                "hosted": r.hosted,
                "local": r.local,
                "difference": r.difference(),
            }
            for key, (a, b) in r.graders.items():
                record[f"{key}.hosted"], record[f"{key}.local"] = a, b
            records.append(record)
        return pd.DataFrame(records)

    def __repr__(self) -> str:
        lines = [f"ParityReport({self.grader!r} on {self.target}): {self.verdict}"]
        lines += [f"note: {n}" for n in self.notes]
        for r in self.rows[:20]:
            flag = " <-" if r in self.differing else ""
            lines.append(f"  row {r.index}: hosted {_fmt(r.hosted)}  local {_fmt(r.local)}{flag}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        keys = list(self.rows[0].graders) if self.rows else []
        headers = ["row", "hosted", "local", "difference", *[f"{k} (hosted / local)" for k in keys]]
        body = []
        for r in self.rows:
            mark = r in self.differing
            cells: list[object] = [r.index, _fmt(r.hosted), _fmt(r.local)]
            diff = _fmt(r.difference())
            cells.append(h.Markup(h.badge(diff, "warning")) if mark else diff)
            for k in keys:
                a, b = r.graders.get(k, (None, None))
                text = f"{_fmt(a)} / {_fmt(b)}"
                cells.append(h.Markup(h.badge(text, "warning")) if _differs(a, b, self.tolerance) else text)
            body.append(cells)
        notes = "".join(f"<div>{h.badge('note', 'info')} {h.esc(n)}</div>" for n in self.notes)
        table = h.table(headers, body) if body else ""
        return h.card(
            f"parity: {self.grader}", self.target, [("verdict", self.verdict)], body_html=table + notes
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _differs(a: float | None, b: float | None, tolerance: float) -> bool:
    return a is None or b is None or abs(a - b) > tolerance


def _hosted_sub(sub_rewards: Any, key: str, name: str) -> float | None:
    """A sub-grader's hosted score; the key scheme is unconfirmed, so try the key, the name, name-<uuid>."""
    if not isinstance(sub_rewards, dict):
        return None
    for candidate in (key, name):
        if isinstance(sub_rewards.get(candidate), int | float):
            return float(sub_rewards[candidate])
    for k, v in sub_rewards.items():
        if str(k).startswith(f"{name}-") and isinstance(v, int | float):
            return float(v)
    return None


def parity(
    grader: Any,
    rows: Any,
    *,
    client: Any = None,
    n: int = 20,
    judge: Any = None,
    output: str = "output_text",
    tolerance: float = 0.01,
    today: date | None = None,
) -> ParityReport:
    """Score the first ``n`` rows locally (``judge`` as in :func:`~rftkit_nb.score`) and with the hosted
    ``graders/run``; a :class:`ParityReport` with the verdict."""
    from rftkit_nb.scoring.engine import score  # the scoring engine's public API (pandas: loaded on use)

    target = resolve_target(client)
    g = as_grader(grader)
    report = ParityReport(g.name, str(target), tolerance=tolerance)
    gone = lint_target(None, target.platform, apis=("graders.run",), today=today)
    if gone.errors or any("shut down" in f.message for f in gone):
        report.stopped = f"graders/run is gone on {target.name} ({gone[0].message.split('; ')[0]})"
        return report
    local = score(g, rows, judge=judge, limit=n, output=output, progress=False)
    hosted_config, secrets = config_with_secrets(g), header_secrets(g)
    for i, row in enumerate(local.rows):
        try:
            answer = call(target, f"run grader {g.name!r} on row {row.index}",
                          lambda c: c.fine_tuning.alpha.graders.run(grader=hosted_config,
                                                                    model_sample=row.sample["output_text"],  # noqa: B023
                                                                    item=row.item),  # noqa: B023
                          safe=True, secrets=secrets)  # fmt: skip
        except RemoteError as e:
            if getattr(e, "status", None) == 404:
                report.stopped = f"graders/run is not served by {target.name} at {target.endpoint} (HTTP 404)"
                report.rows.clear()
                return report
            raise
        report.rows.append(_side_by_side(g, as_data(answer), local, i))
    report.notes.extend(local.notes)
    if any(r.hosted_errors for r in report.rows):
        report.notes.append("the hosted run reported errors on some rows: " + ", ".join(
            sorted({e for r in report.rows for e in r.hosted_errors})))  # fmt: skip
    return report


def _side_by_side(g: Any, data: dict[str, Any], local: Any, i: int) -> ParityRow:
    """Row ``i``: the hosted answer ``data`` next to the local report's reward and sub-grader scores."""
    leaves = dict(g.graders) if isinstance(g, MultiGrader) else {g.name: g}
    errors = tuple(k for k, v in ((data.get("metadata") or {}).get("errors") or {}).items() if v is True)
    pairs = {}
    for key, sub in leaves.items():
        multi = isinstance(g, MultiGrader)
        hosted = _hosted_sub(data.get("sub_rewards"), key, sub.name) if multi else data.get("reward")
        value = local.frame[f"{key}.score"].iloc[i]
        pairs[key] = (None if hosted is None else float(hosted), None if _missing(value) else float(value))
    reward = data.get("reward")
    return ParityRow(
        local.rows[i].index, None if reward is None else float(reward), local.rewards[i], pairs, errors
    )


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)  # NaN and pandas NA
    except TypeError:
        return True
