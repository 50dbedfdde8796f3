"""ScoreExplorer: a score report as a sortable, filterable table with histograms and a per-row detail pane.

The score matrix (rewards, sub-grader scores, states, error categories, clusters) is shipped once, as one
binary buffer; the browser draws only the rows in view. The front end writes ``sort`` and ``filters``;
Python answers with ``order`` (the kept rows' positions, sorted), the histograms of those rows and the
summary bar. Selecting a row sets ``selected``; its full explanation (item fields, output, rendered judge
messages, steps, python output, the formula with the row's values) is sent as a message then, never up
front. With ``baseline=`` (an earlier report of the same rows) each row also has its reward delta.

Example::

    >>> from rftkit_nb.scoring.report import ScoreReport
    >>> empty = ScoreReport(grader=None, rows=[], leaves={}, outcomes={}, rewards=[], reward_notes=[])
    >>> ScoreExplorer(empty).count
    0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anywidget
import traitlets as t

from rftkit_nb.notebook.widgets.cluster_matrix import STATIC
from rftkit_nb.notebook.widgets.explorer_data import STATES, ReportColumns, formula_with_values, pack

__all__ = ["ScoreExplorer"]


class ScoreExplorer(anywidget.AnyWidget):
    """Explore ``report`` (a :class:`ScoreReport`); ``baseline``, an earlier report of the same rows,
    turns on compare mode. ``rows``, a list of row positions, opens on just those rows, in that order,
    with the first selected (the front end's "chosen rows" chip clears it). ``explorer.selected`` is the
    selected row's position (or None) and ``explorer.filtered`` the rows the filters keep, in the table's
    order, as a DataFrame."""

    _esm = STATIC / "score_explorer.js"
    _css = STATIC / "widgets.css"

    schema = t.Dict().tag(sync=True)  # how to read `matrix`, the graders, clusters, states, errors
    matrix = t.Bytes().tag(sync=True)  # every column back to back, shipped once
    sort = t.Dict().tag(sync=True)  # {"column": name or None, "descending": bool}
    filters = t.Dict().tag(sync=True)  # see ReportColumns.mask
    show_indicators = t.Bool(False).tag(sync=True)
    order = t.Bytes().tag(sync=True)  # uint32 positions of the kept rows, in table order
    count = t.Int(0).tag(sync=True)
    histograms = t.List(t.Dict()).tag(sync=True)
    stats = t.Dict().tag(sync=True)
    selected = t.Int(None, allow_none=True).tag(sync=True)

    def __init__(self, report: Any, *, baseline: Any = None, rows: Any = None, **kwargs: Any) -> None:
        self.report = report
        self._cols = ReportColumns(report, baseline)
        if rows is not None:
            checked = self._cols.chosen({"rows": rows})  # checked here: a bad list fails at once
            chosen = [] if checked is None else checked.tolist()
            kwargs["filters"] = {**kwargs.get("filters", {}), "rows": chosen}
            kwargs.setdefault("selected", chosen[0] if chosen else None)
        self._indicators = _indicator_keys(report)
        matrix, layout = pack(self._cols)
        schema = {
            "n": self._cols.n, "layout": layout, "graders": self._cols.keys,
            "types": {k: getattr(g, "type", "") for k, g in report.leaves.items()},
            "indicators": self._indicators, "clusters": self._cols.cluster_names, "states": STATES,
            "errors": self._cols.errors, "compare": baseline is not None,
            "name": getattr(report.grader, "name", ""), "notes": list(getattr(report, "notes", [])),
        }  # fmt: skip
        super().__init__(schema=schema, matrix=matrix, **kwargs)
        self._refresh()
        self.observe(lambda _change: self._refresh(), names=["sort", "filters", "show_indicators"])
        self.observe(self._on_selected, names="selected")
        self.on_msg(self._on_message)

    # --- what Python reads back ------------------------------------------------------------------

    @property
    def shown_graders(self) -> list[str]:
        """The sub-graders shown as columns (the Workbench's cluster indicators only when asked)."""
        hidden = set() if self.show_indicators else set(self._indicators)
        return [k for k in self._cols.keys if k not in hidden]

    @property
    def positions(self) -> list[int]:
        """The kept rows' positions in the report, in the table's order."""
        return self._view.tolist()

    @property
    def filtered(self) -> Any:
        """The rows the filters keep, in the table's order: ``report.frame`` rows (plus ``delta``)."""
        frame = self.report.frame.iloc[self._view]
        cols = self._cols
        if cols.delta is not None and cols.baseline is not None:
            frame = frame.assign(baseline_reward=cols.baseline[self._view], delta=cols.delta[self._view])
        return frame

    def detail(self, position: int) -> dict[str, Any]:
        """Everything behind one row, as plain JSON data (what the detail pane shows)."""
        why = self.report.row(position)
        graders, values = [], {}
        for entry in why.graders:
            o = entry["outcome"]
            values[entry["key"]] = None if o is None else o.score
            info = {} if o is None else o.info
            graders.append({
                "key": entry["key"], "type": entry["type"], "state": "unfinished" if o is None else o.state,
                "score": None if o is None else o.score, "error": None if o is None else o.error,
                "detail": "" if o is None else o.detail, "indicator": entry["key"] in self._indicators,
                "rendered": [[str(w), str(text)] for w, text in entry["rendered"]],
                "steps": [{"description": str(s.get("description", "")), "conclusion": str(s.get("conclusion", ""))}
                          for s in info.get("steps") or [] if isinstance(s, Mapping)],
                "stdout": str(info.get("stdout") or ""),
            })  # fmt: skip
        formula = str(getattr(self.report.grader, "calculate_output", "") or "")
        out = {
            "position": position, "index": _plain(why.index), "item": _plain(why.item),
            "output": why.output_text, "reward": why.reward, "note": why.note, "graders": graders,
            "formula": formula, "formula_values": formula_with_values(formula, values) if formula else "",
        }  # fmt: skip
        if self._cols.delta is not None and self._cols.baseline is not None:
            out["baseline_reward"] = _number(self._cols.baseline[position])
            out["delta"] = _number(self._cols.delta[position])
        return out

    # --- the front end's requests ----------------------------------------------------------------

    def _refresh(self) -> None:
        keys = self.shown_graders
        self._view = self._cols.view(self.filters, self.sort, keys)
        with self.hold_sync():
            self.order = self._view.tobytes()
            self.count = len(self._view)
            self.histograms = self._cols.histograms(self._view, keys)
            self.stats = self._cols.stats(self._view)

    def _on_selected(self, change: dict[str, Any]) -> None:
        position = change["new"]
        if position is not None and not 0 <= position < self._cols.n:
            self.selected = None
            return
        self._send_detail(position)

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, Mapping) and content.get("op") == "detail":
            self._send_detail(content.get("row"))

    def _send_detail(self, position: Any) -> None:
        if position is None:
            self.send({"kind": "detail", "row": None})
            return
        try:
            detail = self.detail(int(position))
        except (IndexError, TypeError, ValueError) as e:
            self.send({"kind": "detail", "row": position, "error": str(e)})
            return
        self.send({"kind": "detail", "row": int(position), "detail": detail})

    # --- where widgets do not render -------------------------------------------------------------

    def __repr__(self) -> str:
        compare = ", compare mode" if self._cols.delta is not None else ""
        return f"ScoreExplorer: {self.count} of {self._cols.n} rows shown{compare}\n{self.report!r}"

    def _repr_html_(self) -> str:
        return str(self.report._repr_html_())


def _indicator_keys(report: Any) -> list[str]:
    """The Workbench's cluster indicators (``applies_<rubric>``): shown as their rubric's n/a cells."""
    pairs = getattr(report.grader, "rubric_to_indicator_map", None) or {}
    return [k for k in report.outcomes if k in set(pairs.values())]


def _number(value: Any) -> float | None:
    return None if value != value else float(value)


def _plain(value: Any) -> Any:
    """``value`` as JSON data (numpy numbers, timestamps and the like become text)."""
    return json.loads(json.dumps(value, default=str, allow_nan=False)) if _json_safe(value) else str(value)


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, default=str, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
