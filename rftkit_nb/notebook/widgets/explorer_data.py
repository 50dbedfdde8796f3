"""The score explorer's data: a report as compact columns, and the filtered, sorted view of its rows.

:class:`ReportColumns` turns a :class:`~rftkit_nb.scoring.report.ScoreReport` (and, in compare mode, a
baseline report of the same rows) into numpy columns: rewards and scores as float32 (NaN where there is
none), states, error categories and clusters as small integer codes. :func:`pack` lays them back to back
in one little-endian buffer the browser reads as typed arrays, shipped once. Filtering, sorting and the
histograms of the filtered rows are computed here, in Python, so the browser only draws.

Example::

    >>> from rftkit_nb.scoring.report import ScoreReport
    >>> cols = ReportColumns(ScoreReport(grader=None, rows=[], leaves={}, outcomes={}, rewards=[],
    ...                                  reward_notes=[]))
    >>> cols.n, cols.view({}, {}).tolist()
    (0, [])
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from rftkit_nb.errors import ConfigError

__all__ = ["STATES", "ReportColumns", "formula_with_values", "pack"]

STATES = ["scored", "not_applicable", "error", "skipped", "unfinished"]
BINS = 20
MAX_CLUSTER_HISTOGRAMS = 8


class ReportColumns:
    """A report's rows as numpy columns (and a baseline's rewards, in compare mode)."""

    def __init__(self, report: Any, baseline: Any = None) -> None:
        self.report, self.n = report, len(report.rows)
        self.keys = list(report.outcomes)
        self.reward = _floats(report.rewards)
        self.flagged = np.fromiter((bool(note) for note in report.reward_notes), dtype=np.uint8, count=self.n)
        clusters = _cluster_names(report)
        self.cluster_names = sorted({c for c in clusters if c is not None})
        lookup: dict[str | None, int] = {c: i + 1 for i, c in enumerate(self.cluster_names)}  # 0: none
        self.cluster = np.fromiter((lookup.get(c, 0) for c in clusters), dtype=np.uint16, count=self.n)
        self.errors: list[str] = []
        self.scores, self.states, self.error_codes = {}, {}, {}
        for key, outs in report.outcomes.items():
            self.scores[key] = _floats([o.score if o else None for o in outs])
            self.states[key] = np.fromiter(
                (STATES.index(o.state) if o and o.state in STATES else 4 for o in outs), np.uint8, self.n
            )
            self.error_codes[key] = np.fromiter((self._error(o) for o in outs), np.uint8, self.n)
        self.delta = self.baseline = None
        if baseline is not None:
            self.baseline = _floats(_same_rows(report, baseline).rewards)
            self.delta = self.reward - self.baseline
        self._haystack: list[str] | None = None

    def _error(self, outcome: Any) -> int:
        if outcome is None or not outcome.error:
            return 0
        if outcome.error not in self.errors:
            self.errors.append(outcome.error)
        return min(self.errors.index(outcome.error) + 1, 255)

    # --- the view --------------------------------------------------------------------------------

    def mask(self, filters: Mapping[str, Any], keys: list[str] | None = None) -> np.ndarray:
        """Rows kept by ``filters``: cluster, state (of ``grader`` or any sub-grader), error, flagged,
        reward_min / reward_max, a case-insensitive search over item fields and output, and ``rows``
        (a list of positions: only those, e.g. the worst disagreements of an agreement report)."""
        keep = np.ones(self.n, dtype=bool)
        chosen = self.chosen(filters)
        if chosen is not None:
            keep[:] = False
            keep[chosen] = True
        shown = keys if keys is not None else self.keys
        if filters.get("cluster") not in (None, ""):
            wanted = filters["cluster"]
            code = self.cluster_names.index(wanted) + 1 if wanted in self.cluster_names else -1
            keep &= self.cluster == code
        graders = [filters["grader"]] if filters.get("grader") in self.states else shown
        if filters.get("state") in STATES:
            code = STATES.index(filters["state"])
            keep &= np.logical_or.reduce(
                [self.states[k] == code for k in graders] or [np.zeros(self.n, bool)]
            )
        if filters.get("error") not in (None, ""):
            code = self.errors.index(filters["error"]) + 1 if filters["error"] in self.errors else -1
            keep &= np.logical_or.reduce(
                [self.error_codes[k] == code for k in graders] or [np.zeros(self.n, bool)]
            )
        if filters.get("flagged"):
            keep &= self.flagged.astype(bool)
        for bound, compare in (("reward_min", np.greater_equal), ("reward_max", np.less_equal)):
            value = filters.get(bound)
            if isinstance(value, int | float) and math.isfinite(value):
                keep &= compare(self.reward, value)  # a row with no reward is outside any range
        query = str(filters.get("search") or "").strip().lower()
        if query:
            hay = self.haystack()
            keep &= np.fromiter((query in text for text in hay), dtype=bool, count=self.n)
        return keep

    def column(self, name: str) -> np.ndarray:
        """The values a sort by ``name`` orders: reward, delta, baseline, cluster, flagged, row or a key."""
        if name == "reward":
            return self.reward
        if name in ("delta", "baseline") and self.delta is not None:
            return self.delta if name == "delta" else self.baseline  # type: ignore[return-value]
        if name == "cluster":
            ranks = np.array([math.nan, *range(len(self.cluster_names))], dtype=np.float64)
            return ranks[self.cluster]
        if name == "flagged":
            return self.flagged.astype(np.float64)
        if name in self.scores:
            return self.scores[name]
        return np.arange(self.n, dtype=np.float64)

    def view(
        self, filters: Mapping[str, Any], sort: Mapping[str, Any], keys: list[str] | None = None
    ) -> np.ndarray:
        """Row positions kept by ``filters``, ordered by ``sort`` ({column, descending}); blanks last."""
        kept = self.mask(filters, keys)
        column = sort.get("column")
        chosen = self.chosen(filters)
        if not column and chosen is not None:  # unsorted, chosen rows keep the order they were given in
            return chosen[kept[chosen]].astype(np.uint32)
        positions = np.flatnonzero(kept)
        if not column:
            return positions.astype(np.uint32)
        values = self.column(str(column))[positions].astype(np.float64)
        if sort.get("descending"):
            values = -values
        return positions[np.argsort(values, kind="stable")].astype(np.uint32)  # NaN sorts last

    def chosen(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """The ``rows`` filter's positions, first occurrence kept, or None without one; a position that
        is not a row of the report is refused (the list came from another report)."""
        rows = filters.get("rows")
        if rows is None:
            return None
        try:
            if isinstance(rows, str | bytes):
                raise TypeError(rows)
            rows = [operator.index(p) for p in rows]
        except TypeError:
            raise ConfigError(
                f"filters['rows'] must be a list of row positions (integers), got {rows!r}"
            ) from None
        bad = [p for p in rows if not 0 <= p < self.n]
        if bad:
            raise ConfigError(f"filters['rows'] names row {bad[0]}, but the report has {self.n} rows "
                              "(positions 0 to n-1): pass positions of this report")  # fmt: skip
        return np.array(list(dict.fromkeys(rows)), dtype=np.int64)

    def haystack(self) -> list[str]:
        """Each row's item fields and output as one lower-case string (built on the first search)."""
        if self._haystack is None:
            self._haystack = [
                (json.dumps(row.item, ensure_ascii=False, default=str) + "\n"
                 + str(row.sample.get("output_text", ""))).lower()
                for row in self.report.rows
            ]  # fmt: skip
        return self._haystack

    # --- histograms ------------------------------------------------------------------------------

    def histograms(self, positions: np.ndarray, keys: list[str]) -> list[dict[str, Any]]:
        """Histograms of the rows at ``positions``: reward overall and per cluster, each shown sub-grader's
        score, and the reward delta in compare mode. Bins span the whole report, so filters compare."""
        out = [_histogram("reward", self.reward, positions, "reward")]
        if self.delta is not None:
            out.append(_histogram("reward delta (vs baseline)", self.delta, positions, "delta"))
        clusters = self.cluster[positions]
        for code, name in list(enumerate(self.cluster_names, start=1))[:MAX_CLUSTER_HISTOGRAMS]:
            part = positions[clusters == code]
            if len(part):
                out.append(
                    _histogram(f"reward, cluster {name}", self.reward, part, "reward", edges_of=self.reward)
                )
        for key in keys:
            out.append(_histogram(f"{key} score", self.scores[key], positions, "score"))
        return out

    def stats(self, positions: np.ndarray) -> dict[str, Any]:
        """The summary bar of the rows at ``positions``."""
        reward = self.reward[positions]
        done = reward[~np.isnan(reward)]
        calls = self.report.judge_calls
        out: dict[str, Any] = {
            "rows": len(positions), "of": self.n,
            "mean": float(done.mean()) if len(done) else None,
            "flagged_share": float(self.flagged[positions].mean()) if len(positions) else None,
            "judge_needed": calls.needed, "judge_sent": calls.sent, "judge_cached": calls.cached,
            "judge_saved_by_masking": max(calls.hosted - calls.needed, 0),
        }  # fmt: skip
        if self.delta is not None:
            delta = self.delta[positions]
            delta = delta[~np.isnan(delta)]
            out["mean_delta"] = float(delta.mean()) if len(delta) else None
            out["changed"] = int(np.count_nonzero(np.abs(delta) > 1e-9))
        return out


def pack(cols: ReportColumns) -> tuple[bytes, list[dict[str, Any]]]:
    """All columns in one buffer (float32 first, so every typed array starts aligned) and their layout."""
    floats: list[tuple[str, np.ndarray]] = [("reward", cols.reward)]
    if cols.delta is not None:
        floats += [("delta", cols.delta), ("baseline", cols.baseline)]  # type: ignore[list-item]
    floats += [(f"score:{k}", v) for k, v in cols.scores.items()]
    small: list[tuple[str, np.ndarray]] = [("cluster", cols.cluster)]
    small += [(f"state:{k}", v) for k, v in cols.states.items()]
    small += [(f"error:{k}", v) for k, v in cols.error_codes.items()]
    small.append(("flagged", cols.flagged))
    parts, layout, offset = [], [], 0
    for name, values in [*floats, *small]:
        dtype = {"f": "<f4", "u": f"<u{values.dtype.itemsize}"}[values.dtype.kind]
        data = np.ascontiguousarray(values, dtype=dtype).tobytes()
        pad = (-offset) % 4 if dtype == "<f4" or dtype == "<u2" else 0
        if pad:
            parts.append(b"\0" * pad)
            offset += pad
        layout.append({"name": name, "dtype": dtype[1:], "offset": offset})
        parts.append(data)
        offset += len(data)
    return b"".join(parts), layout


def formula_with_values(formula: str, values: Mapping[str, float | None]) -> str:
    """``calculate_output`` with each sub-grader's name replaced by the row's value (``None`` when absent).

    Example::

        >>> formula_with_values("(2 * tone + exact) / 3", {"tone": 0.5, "exact": None})
        '(2 * 0.5 + None) / 3'
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(0)
        if name not in values:
            return name
        v = values[name]
        return "None" if v is None else f"{v:.4g}"

    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", value, formula)


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def _cluster_names(report: Any) -> list[str | None]:
    frame = report.frame
    if "cluster" not in frame:
        return [None] * len(report.rows)
    return [None if c is None or c != c else str(c) for c in frame["cluster"].tolist()]


def _same_rows(report: Any, baseline: Any) -> Any:
    if not hasattr(baseline, "rewards") or not hasattr(baseline, "rows"):
        raise ConfigError(
            f"baseline must be an earlier ScoreReport of the same rows, not {type(baseline).__name__}"
        )
    if len(baseline.rows) != len(report.rows) or [r.index for r in baseline.rows] != [
        r.index for r in report.rows
    ]:
        raise ConfigError(
            f"baseline has {len(baseline.rows)} rows and this report {len(report.rows)} (or their indexes "
            "differ): compare reports of the same rows, e.g. before and after a rubric edit"
        )
    return baseline


def _histogram(title: str, values: np.ndarray, positions: np.ndarray, kind: str,
               edges_of: np.ndarray | None = None) -> dict[str, Any]:  # fmt: skip
    whole = values if edges_of is None else edges_of
    finite = whole[np.isfinite(whole)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    part = values[positions]
    part = part[np.isfinite(part)]
    counts, edges = np.histogram(part, bins=BINS, range=(lo, hi))
    return {"title": title, "kind": kind, "edges": [round(float(e), 6) for e in edges],
            "counts": counts.tolist(), "n": len(part)}  # fmt: skip
