"""LabellingWidget: an expert scores rows one at a time, by click or number key; labels save at once.

It shows one row: the rubric text, the model output and the item fields, score buttons for the rubric's
label steps, skip / back, and progress. State lives in synced traits only: the front end writes
``labels`` (``{row key: score}``, None to clear) and ``index``; every change of ``labels`` goes into the
:class:`~rftkit_nb.quality.labels.Labels` store, which writes its file atomically, so a label is on disk
before the next row shows. A refused value sets ``notice`` and puts ``labels`` back.

Example::

    >>> from rftkit_nb.quality.labels import Labels
    >>> w = LabellingWidget([{"q": "2+2?", "output_text": "4"}], "correct", Labels(), choices=[0, 1])
    >>> w.set_state({"labels": {w.rows[0]["key"]: 1.0}, "index": 1})  # what a click on "1" sends
    >>> w.progress
    '1 of 1 labelled'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from rftkit_nb.errors import RftkitError
from rftkit_nb.quality.labels import Labels, row_key
from rftkit_nb.scoring.rows import load_rows

__all__ = ["LabellingWidget", "label_steps"]

STATIC = Path(__file__).parent / "static"
MAX_CHOICES = 11  # number keys 1-9 and 0 reach the first ten; more is a continuous scale


def label_steps(low: float, high: float, step: float | None = None) -> list[float]:
    """The score buttons for a range: integer steps for an integer range up to 10 wide, else quarters.

    >>> label_steps(0, 1), label_steps(1, 5), label_steps(0, 10, step=5)
    ([0.0, 0.25, 0.5, 0.75, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 5.0, 10.0])
    """
    if step is None:
        whole = float(low).is_integer() and float(high).is_integer() and 1 < high - low <= 10
        step = 1.0 if whole else (high - low) / 4
    count = round((high - low) / step)
    return [round(float(low) + i * step, 9) for i in range(min(count, MAX_CHOICES - 1) + 1)]


class LabellingWidget(anywidget.AnyWidget):
    """Label ``rows`` (a DataFrame, dicts or a JSONL path; the first ``limit``) for ``rubric`` into the
    ``labels`` store. ``choices`` are the score buttons (see :func:`label_steps`)."""

    _esm = STATIC / "labelling.js"
    _css = STATIC / "labelling.css"

    rubric = t.Unicode().tag(sync=True)
    rubric_text = t.Unicode().tag(sync=True)
    choices = t.List(t.Float()).tag(sync=True)
    rows = t.List(t.Dict()).tag(sync=True)  # [{"key", "output", "fields": [[name, text], ...]}]
    index = t.Int(0).tag(sync=True)
    labels = t.Dict().tag(sync=True)  # row key -> score, for this rubric and these rows
    notice = t.Unicode("").tag(sync=True)

    def __init__(self, rows: Any, rubric: str, store: Labels, *, rubric_text: str = "",
                 choices: list[float] | None = None, output: str = "output_text", limit: int | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        sample_rows = load_rows(rows, output=output, limit=limit)
        shown = [_shown(r) for r in sample_rows]
        mine = store.for_rubric(rubric)
        current = {r["key"]: mine[r["key"]] for r in shown if r["key"] in mine}
        first_open = next((i for i, r in enumerate(shown) if r["key"] not in current), 0)
        self._store = store
        super().__init__(rubric=rubric, rubric_text=rubric_text, choices=choices or label_steps(0, 1),
                         rows=shown, labels=current, index=first_open, **kwargs)  # fmt: skip
        self.observe(self._on_labels, names="labels")

    @property
    def progress(self) -> str:
        return f"{len(self.labels)} of {len(self.rows)} labelled"

    def _on_labels(self, change: dict[str, Any]) -> None:
        new = change["new"]
        keys = {r["key"] for r in self.rows}
        saved = self._store.for_rubric(self.rubric)
        # Compared with the store, not the previous trait value: putting the trait back is then no edit.
        edits = {k: new.get(k) for k in keys if saved.get(k) != new.get(k)}
        if not edits:
            return
        try:
            self._store.update({self.rubric: edits})
        except RftkitError as e:
            self.labels = {
                k: v for k, v in saved.items() if k in keys
            }  # springs back: the store holds the truth
            self.notice = " ".join(str(e).split())
            return
        cleaned = {k: v for k, v in new.items() if v is not None and k in keys}
        if cleaned != new:
            self.labels = cleaned  # a cleared label (None) leaves the trait too
        self.notice = f"saved {self._what(edits)}: {self.progress}"

    def _what(self, edits: dict[str, Any]) -> str:
        # Which row got which score: the expert sees the write confirmed, and each notice differs from
        # the last, so the front end (and a browser test) can tell this save's answer from an earlier one.
        if len(edits) != 1:
            return f"{len(edits)} labels"
        ((key, value),) = edits.items()
        row = next(i for i, r in enumerate(self.rows) if r["key"] == key) + 1
        return f"row {row} " + ("cleared" if value is None else f"= {value:g}")

    def __repr__(self) -> str:
        return f"LabellingWidget({self.rubric!r}): {self.progress}; row {self.index + 1} of {len(self.rows)}"


def _shown(row: Any) -> dict[str, Any]:
    fields = [[str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)]
              for k, v in row.item.items() if not str(k).startswith("label.")]  # fmt: skip
    return {
        "key": row_key(row.item, row.sample["output_text"]),
        "output": row.sample["output_text"],
        "fields": fields,
    }
