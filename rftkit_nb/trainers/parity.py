"""check_parity: run an exported reward the way its trainer calls it, and ``score()``, on the same rows.

A reward here is only worth training with if it is the reward you designed. ``check_parity`` feeds the
rows to the reward exactly as the trainer would (TRL: one batch of keyword lists; verl: one
``compute_score`` call per row, from several threads at once; verifiers: the ``@vf.reward`` method with
the row as task data and a trace whose ``last_reply`` is the output), scores the same rows with
``score()`` through the reward's own judge (same endpoint, same cache), and lists every difference in the
reward or a sub-grader's score. Python graders, string checks, the formula and masking must match
exactly; so must judges, since both go through one judge and cache. With ``to_trl(..., split=True)``
TRL adds the weighted functions itself, so that total is compared to within 1e-12.

Example::

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> from rftkit_nb.trainers import to_trl
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> check_parity(to_trl(g), g, [{"answer": "4", "output_text": "4"}]).ok
    True
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers._batch import BatchScorer, apply_policy, as_grader

__all__ = ["Difference", "ParityReport", "check_parity"]

_SPLIT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Difference:
    """One value that differs: row (by position), what (``reward`` or a sub-grader key), both values."""

    row: int
    what: str
    expected: float | None
    got: float | None


@dataclass
class ParityReport:
    """What :func:`check_parity` found; ``ok`` when nothing differs."""

    trainer: str
    rows: int
    compared: list[str]
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def assert_ok(self) -> ParityReport:
        """Raise ``AssertionError`` listing the first differences unless ``ok``; returns self."""
        if not self.ok:
            shown = "; ".join(f"row {d.row} {d.what}: score() {d.expected!r}, reward {d.got!r}"
                              for d in self.differences[:5])  # fmt: skip
            raise AssertionError(
                f"{self.trainer} reward differs from score() in {len(self.differences)} value(s): {shown}"
            )
        return self

    def __repr__(self) -> str:
        verdict = "parity" if self.ok else f"{len(self.differences)} difference(s)"
        return f"ParityReport({self.trainer}: {verdict} over {self.rows} rows, compared {', '.join(self.compared)})"

    def _repr_html_(self) -> str:
        head = h.badge(
            "parity" if self.ok else f"{len(self.differences)} differences", "ok" if self.ok else "error"
        )
        rows = [(d.row, d.what, d.expected, d.got) for d in self.differences[:50]]
        table = h.table(["row", "value", "score()", "reward"], rows) if rows else ""
        return (f"<div><b>{h.esc(self.trainer)} reward vs score()</b> {head} "
                f"<span>{self.rows} rows; compared {h.esc(', '.join(self.compared))}</span>{table}</div>")  # fmt: skip


def check_parity(
    reward: Any, grader: Any, rows: Sequence[Mapping[str, Any]], *, output: str = "output_text"
) -> ParityReport:
    """Compare ``reward`` (from :func:`to_trl`, :func:`to_verl`, :func:`to_verifiers`, or an exported
    module's object) with ``score(grader, rows)``; rows are ``score()``'s rows (item fields plus
    ``output``)."""
    rows = [dict(r) for r in rows]
    if not rows:
        raise ConfigError("check_parity needs at least one row")
    missing = [i for i, r in enumerate(rows) if output not in r]
    if missing:
        raise ConfigError(f"row {missing[0]} has no {output!r} column (the model output to grade)")
    items = [{k: v for k, v in r.items() if k != output} for r in rows]
    outputs = ["" if r[output] is None else str(r[output]) for r in rows]
    kind, scorer, got = _call_like_trainer(reward, items, outputs)
    expected = _reference(scorer, grader, rows, output)
    report = ParityReport(kind, len(rows), ["reward"])
    tolerance = _SPLIT_TOLERANCE if kind == "trl (split)" else 0.0
    for i, (want, have) in enumerate(zip(expected["values"], got["values"], strict=True)):
        if not _same(want, have, tolerance):
            report.differences.append(Difference(i, "reward", want, have))
    for key, scores in got["scores"].items():
        report.compared.append(key)
        wanted = expected["scores"][key]
        if kind == "trl (split)":  # a split function returns its sub-grader's score, an error counted 0
            wanted = [0.0 if w is None else w for w in wanted]
        for i, (want, have) in enumerate(zip(wanted, scores, strict=True)):
            if not _same(want, have, 0.0):
                report.differences.append(Difference(i, key, want, have))
    return report


def _same(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b if tolerance == 0.0 else abs(a - b) <= tolerance * max(1.0, abs(a))


def _reference(scorer: BatchScorer, grader: Any, rows: list[dict], output: str) -> dict[str, Any]:
    from rftkit_nb.scoring.engine import score

    mapped = as_grader(grader, scorer.model_map)
    report = score(mapped, rows, output=output, judge=scorer.judge if scorer.judge is not None else False,
                   progress=False, timeout=scorer.timeout)  # fmt: skip
    values, scores = [], {}
    for i, reward in enumerate(report.rewards):
        states = [outs[i].state for outs in report.outcomes.values() if outs[i] is not None]
        values.append(apply_policy(reward, reward is None or "error" in states, scorer.on_error))
    for key, outs in report.outcomes.items():
        scores[key] = [o.score if o is not None and o.state == "scored" else None for o in outs]
    return {"values": values, "scores": scores}


def _call_like_trainer(reward: Any, items: list[dict], outputs: list[str]) -> tuple[str, BatchScorer, dict]:
    from rftkit_nb.trainers.trl import TrlReward
    from rftkit_nb.trainers.verl import VerlReward

    if isinstance(reward, tuple) and len(reward) == 2 and all(isinstance(f, TrlReward) for f in reward[0]):
        funcs, weights = reward
        parts = [_trl_batch(f, items, outputs)[0] for f in funcs]
        values = [None if any(p[i] is None for p in parts) else sum(w * p[i] for w, p in zip(weights, parts, strict=True))
                  for i in range(len(items))]  # fmt: skip
        # each function's value is its sub-grader's score (under the error policy); compare those too
        scores = {f.leaf: part for f, part in zip(funcs, parts, strict=True) if f.leaf is not None}
        return "trl (split)", funcs[0].scorer, {"values": values, "scores": scores}
    if isinstance(reward, TrlReward):
        values, extras = _trl_batch(reward, items, outputs)
        return (
            "trl",
            reward.scorer,
            {"values": values, "scores": {k: extras[k] for k in reward.scorer.leaves}},
        )
    if isinstance(reward, VerlReward):
        with ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="verl-worker"
        ) as pool:  # as verl's workers do
            dicts = list(pool.map(lambda io: _verl_call(reward, *io), zip(items, outputs, strict=True)))
        scores = {k: [None if math.isnan(d[k]) else d[k] for d in dicts] for k in reward.scorer.leaves}
        return "verl", reward.scorer, {"values": [d["score"] for d in dicts], "scores": scores}
    scorer = getattr(reward, "rftkit_scorer", None)
    if isinstance(scorer, BatchScorer):
        return "verifiers", scorer, _verifiers_calls(reward, items, outputs)
    raise ConfigError(f"check_parity cannot call a {type(reward).__name__}: pass what to_trl, to_verl or "
                      "to_verifiers returned (or the object an exported module defines)")  # fmt: skip


def _trl_batch(
    reward: Any, items: list[dict], outputs: list[str]
) -> tuple[list[float | None], dict[str, list]]:
    """The values, and the per-row sub-grader scores the reward logs through TRL's ``log_extra``."""
    keys = list(dict.fromkeys(k for item in items for k in item))
    columns = {k: [item.get(k) for item in items] for k in keys}
    extras: dict[str, list] = {}
    values = _run(lambda: reward(prompts=[""] * len(items), completions=outputs, completion_ids=[[] for _ in items],
                                 trainer_state=None, log_extra=lambda c, v: extras.setdefault(c, []).extend(v),
                                 log_metric=lambda name, value: None, **columns))  # fmt: skip
    return values, extras


def _run(make: Any) -> Any:
    """Run a coroutine to completion, also from a notebook cell (where a loop is already running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rftkit-parity") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _verl_call(reward: Any, item: dict, output: str) -> dict[str, float]:
    field_name = reward.ground_truth_field
    extra = {k: v for k, v in item.items() if k != field_name}
    return reward("rftkit_parity", output, item.get(field_name), extra)


@dataclass
class _Trace:
    """What a verifiers reward reads from a rollout: the reply, and where metrics are recorded."""

    last_reply: str
    metrics: dict[str, float] = field(default_factory=dict)

    def record_metrics(self, values: Mapping[str, float]) -> None:
        self.metrics.update(values)


def _verifiers_calls(mixin: type, items: list[dict], outputs: list[str]) -> dict[str, Any]:
    # As verifiers does: find the methods marked as rewards on the task class, call each with the
    # arguments it names (task, trace), and weigh the results; all rollouts at once.
    task = type("ParityTask", (mixin,), {})()
    methods = [getattr(task, n) for n in dir(type(task)) if callable(getattr(type(task), n)) and
               getattr(getattr(type(task), n), "reward", False) is True]  # fmt: skip
    traces = [_Trace(o) for o in outputs]

    async def run() -> list[list[Any]]:
        async def one(method: Any, item: dict, trace: _Trace) -> float | None:
            try:
                return await method(task=item, trace=trace) * method._vf_weight
            except Exception:  # an errored rollout, as verifiers records it
                return None

        return [
            await asyncio.gather(*(one(m, i, t) for i, t in zip(items, traces, strict=True))) for m in methods
        ]

    per_method = _run(run)
    values = [None if any(p[i] is None for p in per_method) else sum(p[i] for p in per_method)
              for i in range(len(items))]  # fmt: skip
    scorer: BatchScorer = mixin.rftkit_scorer  # type: ignore[attr-defined]
    scores = {k: [t.metrics.get(k) for t in traces] for k in scorer.leaves}
    return {"values": values, "scores": scores}
