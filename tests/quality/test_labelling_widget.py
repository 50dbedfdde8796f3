"""The labelling widget, headless: its state driven exactly as the front end drives it (``set_state``, which
is what a comm update from the browser calls), the labels checked in the store and on disk."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from rftkit_nb.notebook.widgets.labelling import STATIC, LabellingWidget, label_steps
from rftkit_nb.quality.labels import Labels

ROWS = pd.DataFrame([{"question": f"q{i}", "output_text": f"<b>answer {i}</b>"} for i in range(4)])


@pytest.fixture
def store(tmp_path):
    return Labels.for_project(tmp_path / "rftkit.json")


def click(widget: LabellingWidget, value: float | None) -> None:
    """What the front end sends for a score button (or 'clear'): the new labels, the next row."""
    key = widget.rows[widget.index]["key"]
    labels = {**widget.labels, key: value}
    widget.set_state({"labels": labels, "index": min(widget.index + 1, len(widget.rows) - 1)})


def test_widget_when_scores_clicked_then_each_is_on_disk_before_the_next_row(store, tmp_path):
    w = LabellingWidget(ROWS, "tone", store, choices=[0, 0.5, 1])
    click(w, 1.0)
    click(w, 0.5)
    on_disk = json.loads((tmp_path / "rftkit.labels.json").read_text())["labels"]["tone"]
    assert sorted(on_disk.values()) == [0.5, 1.0]
    assert w.index == 2
    assert w.progress == "2 of 4 labelled"
    assert w.notice == "saved row 2 = 0.5: 2 of 4 labelled"


def test_widget_when_reopened_after_a_restart_then_labels_shown_and_starts_at_the_first_open_row(
    store, tmp_path
):
    w = LabellingWidget(ROWS, "tone", store)
    click(w, 1.0)
    again = LabellingWidget(ROWS.iloc[::-1], "tone", Labels.for_project(tmp_path / "rftkit.json"))
    assert list(again.labels.values()) == [1.0]
    assert again.index == 0  # reversed: q3 comes first and is not labelled
    labelled_row = next(r for r in again.rows if r["key"] in again.labels)
    assert dict(labelled_row["fields"])["question"] == "q0"


def test_widget_when_skip_and_back_then_only_the_index_moves(store):
    w = LabellingWidget(ROWS, "tone", store)
    w.set_state({"index": 3})
    w.set_state({"index": 2})
    assert (w.index, w.labels, len(store)) == (2, {}, 0)


def test_widget_when_cleared_then_the_label_leaves_the_store_and_the_trait(store):
    w = LabellingWidget(ROWS, "tone", store)
    click(w, 1.0)
    w.set_state({"index": 0})
    click(w, None)
    assert (w.labels, len(store)) == ({}, 0)


def test_widget_when_the_front_end_sends_a_non_number_then_notice_and_springs_back(store, tmp_path):
    w = LabellingWidget(ROWS, "tone", store)
    click(w, 1.0)
    before = (tmp_path / "rftkit.labels.json").read_text()
    w.set_state({"labels": {**w.labels, w.rows[1]["key"]: "great"}})
    assert "must be a finite number" in w.notice
    assert list(w.labels.values()) == [1.0]
    assert (tmp_path / "rftkit.labels.json").read_text() == before


def test_widget_when_rows_hold_markup_then_it_is_sent_as_data_and_the_js_only_sets_text():
    w = LabellingWidget(ROWS, "tone", Labels())
    assert w.rows[0]["output"] == "<b>answer 0</b>"  # data, not markup: the front end sets textContent
    source = (STATIC / "labelling.js").read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source)
    assert "textContent" in source
    assert "export default { render }" in source
    assert "export default { render }" in str(w._esm)  # anywidget loaded the module from static/
    assert "--jp-" in (STATIC / "labelling.css").read_text()


@pytest.mark.parametrize(
    ("low", "high", "step", "expected"),
    [
        pytest.param(0, 1, None, [0.0, 0.25, 0.5, 0.75, 1.0], id="unit-range-quarters"),
        pytest.param(1, 5, None, [1.0, 2.0, 3.0, 4.0, 5.0], id="likert"),
        pytest.param(0, 1, 0.5, [0.0, 0.5, 1.0], id="given-step"),
        pytest.param(0, 100, 1, [float(i) for i in range(11)], id="capped-at-eleven"),
    ],
)
def test_label_steps_when_range_given_then_buttons(low, high, step, expected):
    assert label_steps(low, high, step) == expected
