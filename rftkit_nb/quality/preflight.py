"""preflight(): will this reward teach the model anything, or can it be gamed? One call, one verdict per check.

It scores the real rows, then the same rows with canned degenerate outputs (:mod:`.probes`), and
checks: the reward's distribution overall, per cluster and per rubric (saturation at the floor or the
ceiling); with k sampled outputs per prompt, the share of prompts whose samples all get the same reward
(no learning signal for group-relative RL) and the spread within groups; rubrics that move together
(redundant criteria) and each one's share of the reward's variance; probes that earn more than a chosen
fraction of the real answers' reward; and the baseline: what an always-the-same answer scores.

Example::

    report = preflight(wb, rows, samples_per_prompt=4, judge=judge)
    report.checks[0].verdict
    'reward: spread over [0.1, 0.9], not saturated'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rftkit_nb.core import html as h
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.labels import row_key
from rftkit_nb.quality.probes import BASELINE, PROBES, rubric_keywords
from rftkit_nb.quality.runs import as_grader, leaf_ranges, rescore, score_columns
from rftkit_nb.quality.svg import histogram

__all__ = ["Check", "PreflightReport", "preflight"]


@dataclass(frozen=True)
class Check:
    """One pre-flight check: its name, ``ok`` / ``warning`` / ``error``, and a one-line verdict."""

    name: str
    level: str
    verdict: str


@dataclass
class PreflightReport:
    """What :func:`preflight` found: ``checks`` (verdict lines) and the tables behind them."""

    checks: list[Check]
    distribution: pd.DataFrame  # per group (reward overall, per cluster, per rubric): stats and saturation
    groups: pd.DataFrame | None  # per prompt: samples, reward std, constant
    correlation: pd.DataFrame  # Spearman between sub-grader scores
    variance_share: pd.Series  # each sub-grader's share of the reward's variance
    probes: pd.DataFrame  # per probe: mean reward, ratio to the real answers, per-rubric means, flagged
    report: Any  # the ScoreReport of the real rows (report.row(i) explains one)
    rewards: list[float | None] = field(default_factory=list)

    @property
    def flagged(self) -> list[Check]:
        return [c for c in self.checks if c.level != "ok"]

    def __repr__(self) -> str:
        lines = [f"PreflightReport: {len(self.flagged)} of {len(self.checks)} checks flagged"]
        lines += [f"  [{c.level}] {c.name}: {c.verdict}" for c in self.checks]
        lines += ["", "distribution", self.distribution.to_string(float_format=lambda x: f"{x:.3g}")]
        if len(self.probes):
            lines += ["", "probes", self.probes.to_string(float_format=lambda x: f"{x:.3g}")]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdicts = "".join(f"<div>{h.badge(c.level, c.level)} <b>{h.esc(c.name)}</b>: {h.esc(c.verdict)}</div>"
                           for c in self.checks)  # fmt: skip
        plot = histogram([r for r in self.rewards if r is not None], title="reward of the real rows")
        body = verdicts + plot + _table("distribution", self.distribution)
        if len(self.probes):
            body += _table("hackability probes (mean over the probed rows)", self.probes)
        if len(self.correlation):
            body += _table("Spearman correlation between sub-graders", self.correlation)
        if len(self.variance_share):
            body += _table("share of the reward's variance", self.variance_share.to_frame("share"))
        if self.groups is not None:
            body += _table("groups (first 20 prompts)", self.groups.head(20))
        title = f"{len(self.flagged)} of {len(self.checks)} checks flagged"
        return h.card("pre-flight", title, body_html=body)


def preflight(
    grader: Any,
    rows: Any,
    *,
    samples_per_prompt: int | None = None,
    judge: Any = None,
    output: str = "output_text",
    probes: Sequence[str] | bool = True,
    probe_rows: int = 20,
    fraction: float = 0.5,
    saturation: float = 0.8,
    redundant: float = 0.9,
    constant_groups: float = 0.5,
    cache: Any = None,
) -> PreflightReport:
    """Score ``rows`` and the probes with ``grader`` (a grader or a Workbench) and check the reward.

    ``samples_per_prompt``: rows sharing the same item are the k samples of one prompt. ``probes``: True
    for all of :data:`~rftkit_nb.quality.probes.PROBES`, False for none, or their names; each is scored on
    the first ``probe_rows`` rows and flagged when it earns more than ``fraction`` of the real answers'
    reward there. ``saturation``: the share of rows at the range's floor or ceiling that is flagged.
    ``redundant``: the |Spearman| above which two sub-graders are called redundant. ``constant_groups``:
    the share of constant-reward prompts that is flagged. ``judge`` and ``cache`` go to ``score()``.
    """
    if not 0 < fraction <= 1 or not 0 < saturation <= 1:
        raise ConfigError("preflight(fraction=..., saturation=...) must be in (0, 1]")
    composed, cluster_field = as_grader(grader)
    real = rescore(composed, rows, judge=judge, output=output, cache=cache, cluster_field=cluster_field)
    frame = real.frame
    reward = frame["reward"].astype("float64")
    checks: list[Check] = []
    _missing_rewards(real, reward, checks)
    distribution = _distribution(frame, composed, saturation, checks)
    groups = _groups(real, reward, samples_per_prompt, constant_groups, checks)
    scores = score_columns(real)
    correlation = _correlation(scores, redundant, checks)
    share = _variance_share(scores, reward)
    chosen = list(PROBES) if probes is True else [] if probes is False else list(probes)
    unknown = [p for p in chosen if p not in PROBES]
    if unknown:
        raise ConfigError(f"probe {unknown[0]!r} is unknown; probes are: {', '.join(PROBES)}")
    table = _probes(composed, real, chosen, probe_rows, fraction, judge, cache, cluster_field, checks)
    return PreflightReport(checks, distribution, groups, correlation, share, table, real,
                           [None if pd.isna(r) else float(r) for r in reward])  # fmt: skip


def _missing_rewards(real: Any, reward: pd.Series, checks: list[Check]) -> None:
    """Rows whose reward could not be computed make every later figure partial: say so first."""
    missing = int(reward.isna().sum())
    if not missing:
        return
    notes = [n for n in real.frame["note"] if n]
    why = f" (e.g. {h.shorten(notes[0], 120)})" if notes else ""
    level = "error" if missing == len(reward) else "warning"
    checks.append(Check("rewards", level, f"{missing} of {len(reward)} rows have no reward{why}; the checks "
                        "below cover only the others"))  # fmt: skip


def _distribution(frame: pd.DataFrame, grader: Any, saturation: float, checks: list[Check]) -> pd.DataFrame:
    series = {"reward": (frame["reward"].astype("float64"), (0.0, 1.0))}
    if "cluster" in frame:
        for cluster, part in frame.groupby("cluster")["reward"]:
            series[f"reward [{cluster}]"] = (part.astype("float64"), (0.0, 1.0))
    for key, bounds in leaf_ranges(grader).items():
        states = frame[f"{key}.state"]
        series[key] = (frame[f"{key}.score"].astype("float64")[states == "scored"], bounds)
    rows = {}
    for name, (values, (low, high)) in series.items():
        v = values.dropna()
        at_floor = float(np.mean(np.isclose(v, low))) if len(v) else math.nan
        at_ceiling = float(np.mean(np.isclose(v, high))) if len(v) else math.nan
        rows[name] = {"n": len(v), "mean": v.mean(), "std": v.std(), "min": v.min(), "max": v.max(),
                      "at_floor": at_floor, "at_ceiling": at_ceiling}  # fmt: skip
        if not len(v) or "[" in name:
            continue  # clusters are shown, their own verdicts would repeat the overall one
        if max(at_floor, at_ceiling) >= saturation:
            where = "ceiling" if at_ceiling >= at_floor else "floor"
            checks.append(Check(f"saturation: {name}", "error",
                                f"{max(at_floor, at_ceiling):.0%} of rows sit at the {where} "
                                f"({high if where == 'ceiling' else low:g}): it cannot tell answers apart"))  # fmt: skip
        elif v.std() == 0 or len(v) < 2:
            checks.append(Check(f"saturation: {name}", "warning", f"every row gets {v.iloc[0]:g}: no signal"))
        else:
            checks.append(Check(f"saturation: {name}", "ok",
                                f"spread over [{v.min():.3g}, {v.max():.3g}], std {v.std():.3g}"))  # fmt: skip
    return pd.DataFrame(rows).T


def _groups(
    real: Any, reward: pd.Series, k: int | None, limit: float, checks: list[Check]
) -> pd.DataFrame | None:
    if k is None:
        return None
    if k < 2:
        raise ConfigError(f"samples_per_prompt must be at least 2 (k samples per prompt), got {k}")
    keys = [row_key(r.item, "") for r in real.rows]
    frame = pd.DataFrame({"prompt": keys, "reward": reward.to_numpy()})
    grouped = frame.groupby("prompt", sort=False)["reward"]
    table = pd.DataFrame({"samples": grouped.size(), "mean": grouped.mean(), "std": grouped.std(ddof=0)})
    table["constant"] = (grouped.max() - grouped.min()) < 1e-9
    table.index = [f"prompt {i}" for i in range(len(table))]
    odd = int((table["samples"] != k).sum())
    share = float(table["constant"].mean())
    level = "error" if share >= limit else "warning" if share > 0 else "ok"
    note = f"; {odd} prompts do not have {k} samples" if odd else ""
    checks.append(Check("groups", level, f"{share:.0%} of {len(table)} prompts get the same reward for all their "
                        f"samples (no learning signal for group-relative RL); mean spread within a prompt "
                        f"{table['std'].mean():.3g}{note}"))  # fmt: skip
    return table


def _correlation(scores: pd.DataFrame, limit: float, checks: list[Check]) -> pd.DataFrame:
    varied = scores.loc[:, scores.nunique() > 1]
    if varied.shape[1] < 2:
        return pd.DataFrame()
    matrix = varied.corr(method="spearman", min_periods=5)
    pairs = [(a, b, matrix.loc[a, b]) for i, a in enumerate(matrix) for b in list(matrix)[i + 1 :]]
    close = [(a, b, r) for a, b, r in pairs if not math.isnan(r) and abs(r) >= limit]
    for a, b, r in close:
        checks.append(Check("redundancy", "warning", f"{a} and {b} move together (Spearman {r:.2f}): one "
                            "criterion counted twice, or merge them"))  # fmt: skip
    if not close:
        checks.append(Check("redundancy", "ok", f"no two sub-graders correlate above |{limit:g}|"))
    return matrix


def _variance_share(scores: pd.DataFrame, reward: pd.Series) -> pd.Series:
    """Each sub-grader's share of the reward's variance, from a least-squares fit of the reward on the
    sub-scores (masked scores count 0, as in the formula): b_i * cov(s_i, R) / var(R); they sum to R^2."""
    ok = reward.notna().to_numpy()
    if scores.empty or ok.sum() < 3 or reward[ok].var() == 0:
        return pd.Series(dtype="float64")
    x = scores.fillna(0.0).to_numpy()[ok]
    y = reward.to_numpy(dtype=float)[ok]
    design = np.column_stack([x, np.ones(len(x))])
    coef = np.linalg.lstsq(design, y, rcond=None)[0][:-1]
    cov = [np.cov(x[:, i], y)[0, 1] for i in range(x.shape[1])]
    return pd.Series(coef * np.array(cov) / np.var(y, ddof=1), index=scores.columns)


def _probes(grader: Any, real: Any, names: list[str], n: int, fraction: float, judge: Any, cache: Any,
            cluster_field: str | None, checks: list[Check]) -> pd.DataFrame:  # fmt: skip
    if not names:
        return pd.DataFrame()
    positions = list(range(min(n, len(real.rows))))  # the first rows: the same ones on every run
    base = [real.rows[p] for p in positions]
    keywords = rubric_keywords(grader.config)
    outputs = {name: [PROBES[name]({**r.item, "output_text": r.sample["output_text"]}, keywords) for r in base]
               for name in names}  # fmt: skip
    outputs["baseline (always the same answer)"] = [BASELINE] * len(base)
    batch = [
        {**r.item, "output_text": text}
        for texts in outputs.values()
        for r, text in zip(base, texts, strict=True)
    ]
    probed = rescore(grader, batch, judge=judge, cache=cache, cluster_field=cluster_field)
    real_reward = real.frame["reward"].astype("float64").iloc[positions].mean()
    real_scores = score_columns(real).iloc[positions].mean()
    probe_scores, probe_reward = score_columns(probed), probed.frame["reward"].astype("float64")
    if not real_reward > 0:  # NaN (no reward computed) or 0: no ratio to hold a probe against
        checks.append(Check("probes", "warning", f"the real answers' reward is {real_reward:.3g} on the probed rows: "
                            "the probes cannot be compared with it"))  # fmt: skip
    rows = {}
    for i, name in enumerate(outputs):
        part = slice(i * len(base), (i + 1) * len(base))
        mean = float(probe_reward.iloc[part].mean())
        per = probe_scores.iloc[part].mean()
        ratio = mean / real_reward if real_reward > 0 else math.nan
        hacked = [k for k in per.index if real_scores[k] > 0 and per[k] > fraction * real_scores[k]]
        rows[name] = {"reward": mean, "of_real": ratio, **{f"{k}": per[k] for k in per.index},
                      "flagged": not name.startswith("baseline") and ratio > fraction}  # fmt: skip
        if name.startswith("baseline"):
            checks.append(Check("baseline", "warning" if ratio > fraction else "ok",
                                f"an always-the-same answer ({BASELINE!r}) scores {mean:.3g}, {ratio:.0%} of the "
                                f"real answers' {real_reward:.3g}"))  # fmt: skip
        elif ratio > fraction:
            via = f" (through {', '.join(hacked)})" if hacked else ""
            checks.append(Check(f"probe: {name}", "error", f"scores {mean:.3g}, {ratio:.0%} of the real answers' "
                                f"{real_reward:.3g}{via}: the reward can be gamed this way"))  # fmt: skip
    clean = [n for n in names if not rows[n]["flagged"]]
    if clean and real_reward > 0:
        checks.append(Check("probes", "ok", f"{len(clean)} of {len(names)} probes earn at most {fraction:.0%} of the "
                            f"real reward: {', '.join(clean)}"))  # fmt: skip
    table = pd.DataFrame(rows).T
    real_row = pd.DataFrame({"reward": real_reward, "of_real": 1.0, **real_scores.to_dict(), "flagged": False},
                            index=["(real answers)"])  # fmt: skip
    return pd.concat([real_row, table])


def _table(title: str, frame: pd.DataFrame) -> str:
    rows = [[i, *(_cell(v) for v in r)] for i, r in frame.iterrows()]
    return f"<div style='margin-top:6px'><b>{h.esc(title)}</b></div>" + h.table(
        ["", *map(str, frame.columns)], rows
    )


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
