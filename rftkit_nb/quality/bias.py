"""bias(): is the judge moved by things that should not matter? Length, section order, and length overall.

Each real answer is scored again padded with neutral filler (the same content, about three times as
long) and with its sections (paragraphs, or sentences) in reverse order; the report gives each judged
rubric's mean change and the share of rows that moved by more than ``tolerance``. Across the real rows,
the Spearman correlation of each score with the output's length shows a reward that pays for length.

Example::

    >>> pad("Paris.").startswith("Paris.")
    True
    >>> reorder("First part.\\n\\nSecond part.")
    'Second part.\\n\\nFirst part.'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rftkit_nb.core import html as h
from rftkit_nb.quality.runs import as_grader, judge_keys, rescore

__all__ = ["BiasReport", "bias", "pad", "reorder"]

_FILLER = " To restate the answer above in other words, without adding anything new:"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def pad(text: str) -> str:
    """The same answer about three times as long: restated twice after a neutral lead-in."""
    return f"{text}\n\n{_FILLER.strip()}\n{text}\n\n{_FILLER.strip()}\n{text}"


def reorder(text: str) -> str | None:
    """The answer's paragraphs (else sentences) in reverse order; None when there is only one."""
    parts = [p for p in text.split("\n\n") if p.strip()]
    joiner = "\n\n"
    if len(parts) < 2:
        parts, joiner = [p for p in _SENTENCE.split(text) if p.strip()], " "
    return joiner.join(reversed(parts)) if len(parts) >= 2 else None


@dataclass
class BiasReport:
    """Per judged rubric: mean change when padded / reordered, share moved, Spearman with length."""

    frame: pd.DataFrame
    tolerance: float

    @property
    def verdicts(self) -> list[tuple[str, str]]:
        out = []
        for name, r in self.frame.iterrows():
            for probe in ("padded", "reordered"):
                moved = r[f"{probe}_moved"]
                if not pd.isna(moved) and moved > 0.2:
                    out.append(("warning", f"{name}: {moved:.0%} of rows move by more than {self.tolerance:g} when "
                                f"{probe} (mean change {r[f'{probe}_change']:+.3g})"))  # fmt: skip
            rho = r["length_spearman"]
            if not pd.isna(rho) and abs(rho) > 0.5:
                out.append(
                    (
                        "warning",
                        f"{name}: score follows output length (Spearman {rho:.2f}): it may pay for length",
                    )
                )
        return out or [("ok", "no judge moved with padding, section order or length")]

    def __repr__(self) -> str:
        lines = ["BiasReport:", *(f"  [{level}] {text}" for level, text in self.verdicts)]
        return "\n".join([*lines, self.frame.to_string(float_format=lambda x: f"{x:.3g}")])

    def _repr_html_(self) -> str:
        body = "".join(f"<div>{h.badge(level, level)} {h.esc(text)}</div>" for level, text in self.verdicts)
        rows = [[i, *(f"{v:.3g}" if isinstance(v, float) and not math.isnan(v) else v for v in r)]
                for i, r in self.frame.iterrows()]  # fmt: skip
        return h.card(
            "judge bias probes", "length and order", body_html=body + h.table(["", *self.frame.columns], rows)
        )


def bias(grader: Any, rows: Any, *, judge: Any = None, limit: int = 20, tolerance: float = 0.1,
         output: str = "output_text", cache: Any = None) -> BiasReport:  # fmt: skip
    """Score the real rows, the first ``limit`` padded and reordered, and compare per judged rubric."""
    composed, cluster_field = as_grader(grader)
    real = rescore(composed, rows, judge=judge, output=output, cache=cache, cluster_field=cluster_field)
    base = real.rows[:limit]
    records = [{**r.item, "output_text": r.sample["output_text"]} for r in base]
    padded = [{**r, "output_text": pad(r["output_text"])} for r in records]
    order = [(i, reorder(r["output_text"])) for i, r in enumerate(records)]
    order = [(i, text) for i, text in order if text is not None]
    reordered = [{**records[i], "output_text": text} for i, text in order]
    probed = rescore(composed, padded + reordered, judge=judge, cache=cache, cluster_field=cluster_field)
    lengths = pd.Series([len(r.sample["output_text"]) for r in real.rows], index=real.frame.index)
    table = {}
    for key in [*judge_keys(composed), "reward"]:
        column = "reward" if key == "reward" else f"{key}.score"
        original = real.frame[column].astype("float64").to_numpy()
        changed = probed.frame[column].astype("float64").to_numpy()
        pad_delta = changed[: len(base)] - original[: len(base)]
        order_delta = changed[len(base) :] - original[[i for i, _ in order]]
        table[key] = {**_moves("padded", pad_delta, tolerance), **_moves("reordered", order_delta, tolerance),
                      "length_spearman": _spearman(real.frame[column].astype("float64"), lengths)}  # fmt: skip
    return BiasReport(pd.DataFrame(table).T, tolerance)


def _moves(name: str, delta: Any, tolerance: float) -> dict[str, float]:
    d = pd.Series(delta, dtype="float64").dropna()
    if not len(d):
        return {f"{name}_change": math.nan, f"{name}_moved": math.nan}
    return {f"{name}_change": float(d.mean()), f"{name}_moved": float((d.abs() > tolerance).mean())}


def _spearman(scores: pd.Series, lengths: pd.Series) -> float:
    both = pd.DataFrame({"s": scores, "n": lengths}).dropna()
    if len(both) < 3 or both["s"].nunique() < 2 or both["n"].nunique() < 2:
        return math.nan
    return float(both["s"].corr(both["n"], method="spearman"))
