"""stability(): does the judge give the same row the same score twice? Test-retest before agreement.

The rows are re-scored ``k`` times with the judge cache off, each run with another sampling ``seed``
(and, when asked, a temperature for models that take one), and each judged rubric gets: the mean
within-row variance and standard deviation, the test-retest correlation (mean Pearson over every pair of
runs), and the share of rows whose scores fall on both sides of a threshold. A judge whose verdict flips
from run to run cannot be calibrated, so this comes first.

Example::

    stability(wb, rows, k=5, base_url=server.base_url, api_key="sk-x")
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rftkit_nb.core import html as h
from rftkit_nb.core.graders import grader_from_config
from rftkit_nb.core.messages import is_reasoning_model
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.runs import JUDGE_TYPES, as_grader, judge_keys, rescore

__all__ = ["StabilityReport", "stability", "uncached_judge"]


@dataclass
class StabilityReport:
    """Per judged rubric (and the reward): variance across runs, test-retest correlation, crossings."""

    k: int
    threshold: float
    frame: pd.DataFrame  # index: rubric; columns: n, variance, std, retest, crossing
    runs: dict[str, np.ndarray]  # rubric -> rows x k scores (NaN where a run did not score)
    notes: list[str]

    @property
    def verdicts(self) -> list[tuple[str, str]]:
        out = []
        for name, r in self.frame.iterrows():
            retest = "undefined" if pd.isna(r["retest"]) else f"{r['retest']:.2f}"
            text = (f"{name}: test-retest {retest}, std {r['std']:.3g} across {self.k} runs, "
                    f"{r['crossing']:.0%} of rows cross {self.threshold:g}")  # fmt: skip
            if r["std"] == 0:
                out.append(("ok", f"{text}: the same score every time"))
            elif r["crossing"] > 0.1 or (not pd.isna(r["retest"]) and r["retest"] < 0.8):
                out.append(("error", f"{text}: UNSTABLE, fix the rubric or the judge before calibrating"))
            else:
                out.append(("ok", f"{text}: stable enough"))
        return out

    def __repr__(self) -> str:
        lines = [f"StabilityReport: {self.k} runs, cache off, threshold {self.threshold:g}"]
        lines += [f"  [{level}] {text}" for level, text in self.verdicts] + [
            f"  note: {n}" for n in self.notes
        ]
        return "\n".join([*lines, self.frame.to_string(float_format=lambda x: f"{x:.3g}")])

    def _repr_html_(self) -> str:
        body = "".join(f"<div>{h.badge(level, level)} {h.esc(text)}</div>" for level, text in self.verdicts)
        body += "".join(f"<div>{h.badge('note', 'info')} {h.esc(n)}</div>" for n in self.notes)
        rows = [[i, *(f"{v:.3g}" if isinstance(v, float) and not math.isnan(v) else v for v in r)]
                for i, r in self.frame.iterrows()]  # fmt: skip
        body += h.table(["", *self.frame.columns], rows)
        return h.card("judge stability", f"{self.k} runs, cache off", body_html=body)


def uncached_judge(client: Any = None, *, base_url: str | None = None, api_key: str | None = None) -> Any:
    """A Judge with its cache off (every request goes to the endpoint), from a client or base_url/api_key."""
    from rftkit_nb.scoring.judge import Judge

    if isinstance(client, Judge):
        raise ConfigError("stability re-scores need a judge without a cache: pass the openai client, or "
                          "base_url= and api_key=, instead of a Judge")  # fmt: skip
    return Judge(client, base_url=base_url, api_key=api_key, cache=False)


def stability(
    grader: Any,
    rows: Any,
    k: int = 5,
    *,
    client: Any = None,
    base_url: str | None = None,
    api_key: str | None = None,
    threshold: float = 0.5,
    temperature: float | None = None,
    limit: int | None = 50,
    output: str = "output_text",
) -> StabilityReport:
    """Re-score the first ``limit`` rows ``k`` times (seeds 0..k-1, cache off) and measure the judges.

    ``client`` / ``base_url`` / ``api_key`` configure the judge (the environment when all are None);
    ``threshold`` is the score whose crossing counts (e.g. a pass mark); ``temperature`` is sent to
    judges whose model accepts one (not reasoning models).
    """
    if k < 2:
        raise ConfigError(f"stability needs k >= 2 runs to compare, got {k}")
    composed, cluster_field = as_grader(grader)
    keys = judge_keys(composed)
    if not keys:
        raise ConfigError(f"grader {composed.name!r} has no score_model or label_model judge to re-score")
    judge = uncached_judge(client, base_url=base_url, api_key=api_key)
    notes: list[str] = []
    runs: dict[str, list[np.ndarray]] = {key: [] for key in [*keys, "reward"]}
    for seed in range(k):
        seeded = grader_from_config(_seeded(composed.config, seed, temperature, notes))
        report = rescore(seeded, rows, judge=judge, output=output, cluster_field=cluster_field, limit=limit)
        frame = report.frame
        for key in keys:
            scores = frame[f"{key}.score"].astype("float64")
            runs[key].append(scores.where(frame[f"{key}.state"] == "scored").to_numpy())
        runs["reward"].append(frame["reward"].astype("float64").to_numpy())
    matrices = {key: np.column_stack(columns) for key, columns in runs.items()}
    table = pd.DataFrame({key: _figures(m, threshold) for key, m in matrices.items()}).T
    return StabilityReport(k, threshold, table, matrices, sorted(set(notes)))


def _seeded(config: dict, seed: int, temperature: float | None, notes: list[str]) -> dict:
    """The grader config with every judge's sampling seed (and temperature, where allowed) set."""
    config = copy.deepcopy(config)
    judges = config["graders"].values() if config.get("type") == "multi" else [config]
    for judge in judges:
        if judge.get("type") not in JUDGE_TYPES:
            continue
        params = judge.setdefault("sampling_params", {})
        params["seed"] = seed
        if temperature is not None:
            if is_reasoning_model(judge.get("model", "")):
                notes.append(f"{judge.get('name')}: {judge.get('model')} takes no temperature; seeds only")
            else:
                params["temperature"] = temperature
    return config


def _figures(matrix: np.ndarray, threshold: float) -> dict[str, float]:
    """n rows scored in every run; mean within-row variance and std (population); mean pairwise Pearson
    between runs; share of rows with scores on both sides of ``threshold``."""
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    if not len(complete):
        return {"n": 0, "variance": math.nan, "std": math.nan, "retest": math.nan, "crossing": math.nan}
    correlations = []
    for a, b in itertools.combinations(range(complete.shape[1]), 2):
        x, y = complete[:, a], complete[:, b]
        if len(x) >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0:
            correlations.append(float(np.corrcoef(x, y)[0, 1]))
    above = complete >= threshold
    crossing = float(np.mean(above.any(axis=1) & ~above.all(axis=1)))
    return {"n": float(len(complete)), "variance": float(np.mean(np.var(complete, axis=1))),
            "std": float(np.mean(np.std(complete, axis=1))),
            "retest": float(np.mean(correlations)) if correlations else math.nan, "crossing": crossing}  # fmt: skip
