"""Hyperparameters checked against the documented ranges, and the cost drivers shown before a job starts.

Example::

    >>> check_hyperparameters({"n_epochs": 3, "reasoning_effort": "low"})
    {'n_epochs': 3, 'reasoning_effort': 'low'}
    >>> check_hyperparameters({"n_epochs": 0})  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    rftkit_nb.errors.ConfigError: hyperparameters.n_epochs: 0 is outside 1..50 (or "auto")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.core.graders import BaseGrader, LabelModelGrader, MultiGrader, ScoreModelGrader, UnknownGrader
from rftkit_nb.core.rubrics import IndicatorGrader
from rftkit_nb.errors import ConfigError

__all__ = ["HYPERPARAMETER_RANGES", "CostDrivers", "check_hyperparameters", "cost_drivers"]

#: name -> (type, low, high, low is exclusive); every one also takes "auto" except reasoning_effort.
HYPERPARAMETER_RANGES: dict[str, tuple[type, float, float, bool]] = {
    "n_epochs": (int, 1, 50, False),
    "batch_size": (int, 1, 256, False),
    "learning_rate_multiplier": (float, 0, float("inf"), True),
    "eval_interval": (int, 1, float("inf"), False),
    "eval_samples": (int, 1, float("inf"), False),
    "compute_multiplier": (float, 1e-5, 10, False),
}
REASONING_EFFORTS = ("default", "low", "medium", "high")
TRAINING_DOLLARS_PER_HOUR = 100  # o4-mini core training time, OpenAI and Azure alike
AZURE_AUTO_PAUSE_DOLLARS = 5_000


def check_hyperparameters(hyperparameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The hyperparameters, or a one-line :class:`ConfigError` naming the first one out of range."""
    out = dict(hyperparameters or {})
    for name, value in out.items():
        where = f"hyperparameters.{name}"
        if name == "reasoning_effort":
            if value not in REASONING_EFFORTS:
                raise ConfigError(f"{where}: {value!r} is not one of {', '.join(REASONING_EFFORTS)}")
            continue
        if name not in HYPERPARAMETER_RANGES:
            known = ", ".join([*HYPERPARAMETER_RANGES, "reasoning_effort"])
            raise ConfigError(f"{where}: not an RFT hyperparameter; use one of {known}")
        if value == "auto":
            continue
        kind, low, high, exclusive = HYPERPARAMETER_RANGES[name]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is int and not float(value).is_integer()):
            raise ConfigError(
                f'{where}: {value!r} is not {"an integer" if kind is int else "a number"} (or "auto")'
            )
        inside = (value > low if exclusive else value >= low) and value <= high
        if not inside:
            span = (
                f"> {low:g}" if exclusive else f"{low:g}..{high:g}" if high != float("inf") else f">= {low:g}"
            )
            raise ConfigError(f'{where}: {value!r} is outside {span} (or "auto")')
    return out


@dataclass(frozen=True)
class CostDrivers:
    """What a job will cost depends on; shown before it is created. ``lines`` are the facts, in order."""

    judges: int
    masked_judges: int
    train_rows: int
    valid_rows: int
    n_epochs: int | None
    lines: list[str] = field(default_factory=list)

    @property
    def judge_calls_per_epoch(self) -> int:
        """Judge calls per training pass: every judge on every sampled answer (masked or not)."""
        return self.judges * self.train_rows

    def __repr__(self) -> str:
        return "cost drivers:\n" + "\n".join(f"  - {line}" for line in self.lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{h.esc(line)}</li>" for line in self.lines)
        return h.card("cost drivers", "before submitting", body_html=f"<ul style='margin:4px 0'>{items}</ul>")


def _judge_keys(grader: BaseGrader) -> tuple[list[str], list[str]]:
    subs = grader.graders if isinstance(grader, MultiGrader) else {grader.name: grader}
    judges = [k for k, g in subs.items() if isinstance(g, ScoreModelGrader | LabelModelGrader)
              or (isinstance(g, UnknownGrader) and g.type == "endpoint")]  # fmt: skip
    masked_rubrics = {g.rubric_name for g in subs.values() if isinstance(g, IndicatorGrader)}
    masked = [k for k in judges if k in masked_rubrics or subs[k].name in masked_rubrics]
    return judges, masked


def cost_drivers(
    grader: BaseGrader, *, train_rows: int, valid_rows: int, hyperparameters: Mapping[str, Any], platform: str,
    model: str,
) -> CostDrivers:  # fmt: skip
    """The figures a job's bill depends on, for ``grader`` on ``train_rows`` / ``valid_rows``."""
    judges, masked = _judge_keys(grader)
    epochs = hyperparameters.get("n_epochs")
    n_epochs = epochs if isinstance(epochs, int) else None
    lines = [f"training time is billed at ${TRAINING_DOLLARS_PER_HOUR} per hour of core training (o4-mini); "
             f"compute_multiplier {hyperparameters.get('compute_multiplier', 'auto')} and n_epochs "
             f"{epochs or 'auto'} scale it"]  # fmt: skip
    if judges:
        per_epoch = len(judges) * train_rows
        total = f" x {n_epochs} epochs = {per_epoch * n_epochs:,}" if n_epochs else " x n_epochs (auto)"
        lines.append(f"judge calls: {len(judges)} per sampled answer x {train_rows:,} training rows = "
                     f"{per_epoch:,} per epoch{total}, billed as grader tokens after training")  # fmt: skip
        if masked:
            lines.append(f"{len(masked)} of them ({', '.join(masked)}) are masked for some rows, but the hosted "
                         "grader runs every judge on every sample, so they are billed on every row")  # fmt: skip
        lines.append(f"validation: {valid_rows:,} rows x eval_samples {hyperparameters.get('eval_samples', 'auto')}"
                     f" every eval_interval {hyperparameters.get('eval_interval', 'auto')} steps, judged too")  # fmt: skip
    else:
        lines.append("no model judges: string_check, text_similarity and python graders add no fee beyond "
                     "their share of training time")  # fmt: skip
    if platform == "azure":
        if model.startswith("gpt-5"):
            lines.append("gpt-5 RFT is a free private preview on Azure (no auto-pause, no user pause/resume)")
        else:
            lines.append(f"Azure pauses the job automatically at ${AZURE_AUTO_PAUSE_DOLLARS:,} of training + "
                         "grading (a deployable checkpoint is kept); after a resume there is no cap")  # fmt: skip
    return CostDrivers(len(judges), len(masked), train_rows, valid_rows, n_epochs, lines)
