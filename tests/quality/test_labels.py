"""Human labels: keyed by row content, saved atomically beside the project, back after a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from rftkit_nb import Workbench
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.labels import Labels, key_of, labels_path

ROWS = [
    {"question": "2+2?", "output_text": "4", "label.correct": 1},
    {"question": "3+3?", "output_text": "7", "label.correct": 0},
    {"question": "capital of France?", "output_text": "Paris", "label.correct": None},
]


def test_labels_when_rows_are_reordered_then_each_label_stays_on_its_row():
    labels = Labels()
    assert labels.attach(pd.DataFrame(ROWS)) == 2
    shuffled = pd.DataFrame(ROWS[::-1]).drop(columns="label.correct").reset_index(drop=True)
    found = [labels.get("correct", row) for row in shuffled.to_dict("records")]
    assert found == [None, 0.0, 1.0]


def test_labels_when_item_key_order_or_nan_differs_then_the_key_is_the_same():
    assert key_of({"b": 1, "a": float("nan"), "output_text": "x"}) == key_of(
        {"a": None, "b": 1, "output_text": "x"}
    )
    assert key_of({"q": "a", "output_text": "x"}) != key_of({"q": "a", "output_text": "y"})


def test_labels_when_workbench_has_a_project_then_the_sidecar_sits_beside_it(tmp_path):
    wb = Workbench(tmp_path / "rftkit.json")
    assert labels_path(wb) == tmp_path / "rftkit.labels.json"
    assert Labels.for_project(Workbench(path=None)).path is None


def test_labels_when_set_then_saved_atomically_and_read_by_a_fresh_process(tmp_path):
    labels = Labels.for_project(tmp_path / "rftkit.json")
    labels.set("tone", {"q": "hi", "output_text": "Hello!"}, 0.75)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # no temp file left behind
    data = json.loads((tmp_path / "rftkit.labels.json").read_text())
    assert data["format"] == "rftkit_nb-labels"
    code = (
        "from rftkit_nb.quality.labels import Labels; import sys; "
        "l = Labels.for_project(sys.argv[1]); print(l.get('tone', {'q': 'hi', 'output_text': 'Hello!'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "rftkit.json")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert out.stdout.strip() == "0.75"


def test_labels_when_removed_then_the_rubric_disappears_from_the_file(tmp_path):
    labels = Labels(tmp_path / "l.json")
    row = {"q": "hi", "output_text": "x"}
    labels.set("tone", row, 1)
    labels.set("tone", row, None)
    assert Labels(tmp_path / "l.json").rubrics == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("high", "finite number", id="text"),
        pytest.param(float("nan"), "finite number", id="nan"),
        pytest.param(True, "finite number", id="bool"),
    ],
)
def test_labels_when_value_is_not_a_number_then_config_error_and_nothing_saved(tmp_path, value, message):
    labels = Labels(tmp_path / "l.json")
    with pytest.raises(ConfigError, match=message):
        labels.set("tone", {"output_text": "x"}, value)
    assert not (tmp_path / "l.json").exists()


def test_labels_when_file_is_not_a_labels_file_then_refused_and_left_alone(tmp_path):
    path = tmp_path / "l.json"
    path.write_text('{"format": "something-else"}')
    with pytest.raises(ConfigError, match="not a labels file"):
        Labels(path)
    assert path.read_text() == '{"format": "something-else"}'


def test_labels_when_jsonl_has_label_columns_then_attached(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS[:2]) + "\n")
    labels = Labels()
    labels.attach(path, {"correct": "label.correct"})
    assert labels.get("correct", {"question": "3+3?", "output_text": "7"}) == 0.0


def test_labels_when_no_label_columns_then_one_line_error():
    with pytest.raises(ConfigError, match="no label columns"):
        Labels().attach([{"q": 1, "output_text": "x"}])


def test_labels_when_shown_then_repr_and_escaped_html():
    labels = Labels()
    labels.set("<tone>", {"output_text": "x"}, 1)
    assert "1 labels (<tone>: 1)" in repr(labels)
    assert "&lt;tone&gt;" in labels._repr_html_()
    assert "<tone>" not in labels._repr_html_()
