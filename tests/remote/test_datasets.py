"""write_dataset: RFT files linted, split stably, written atomically; findings name rows."""

from __future__ import annotations

import json

import pytest

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import MultiGrader
from rftkit_nb.core.rubrics import IndicatorGrader
from rftkit_nb.errors import ConfigError
from rftkit_nb.remote.datasets import lint_rows, write_dataset
from tests.remote.conftest import exact_grader, rows_frame


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_write_dataset_when_dataframe_then_two_files_without_the_output_column(tmp_path) -> None:
    train, valid = write_dataset(
        rows_frame(20), tmp_path / "rft.jsonl", grader=exact_grader(), validation=0.25
    )
    assert (train.rows, valid.rows) == (15, 5)
    line = json.loads(train.path.read_text().splitlines()[0])
    assert set(line) == {"messages", "answer"}
    assert train.path.name == "rft.train.jsonl"


def test_write_dataset_when_rows_reordered_or_added_then_split_is_stable(tmp_path) -> None:
    rows = rows_frame(30).to_dict("records")
    _, first = write_dataset(rows, tmp_path / "a.jsonl", validation=3)
    _, shuffled = write_dataset(list(reversed(rows)), tmp_path / "b.jsonl", validation=3)
    assert sorted(first.path.read_text().splitlines()) == sorted(shuffled.path.read_text().splitlines())
    _, other_seed = write_dataset(rows, tmp_path / "c.jsonl", validation=3, seed=1)
    assert first.path.read_text() != other_seed.path.read_text()


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        pytest.param([{"messages": [{"role": "assistant", "content": "hi"}]}] * 3, "rows 0, 1, 2: the last message is from 'assistant'", id="last-not-user"),
        pytest.param([{"messages": []}, {"messages": user("q")}], "row 0: has no messages", id="empty-messages"),
        pytest.param([{"messages": [{"role": "system", "content": "x"}, *user("q")]}] * 2, "role 'system'", id="bad-role"),
        pytest.param([{"messages": [{"role": "user", "content": ""}]}] * 2, "empty content", id="empty-content"),
    ],
)  # fmt: skip
def test_write_dataset_when_rows_invalid_then_nothing_written_and_rows_named(tmp_path, rows, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        write_dataset(rows, tmp_path / "bad.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_lint_rows_when_template_field_missing_then_error_names_rows() -> None:
    rows = [{"messages": user("q"), "answer": "1"}, {"messages": user("q")}]
    (finding,) = lint_rows(rows, exact_grader())
    assert finding.level == "error"
    assert "item.answer" in finding.message
    assert "rows 1" in finding.message


def test_lint_rows_when_cluster_missing_or_unknown_then_errors() -> None:
    cmap = ClusterMap.from_dict({"math": ["exact"]})
    indicator = IndicatorGrader(name="applies_exact", rubric_name="exact", cluster_map=cmap)
    grader = MultiGrader(name="r", graders={"exact": exact_grader(), "applies_exact": indicator},
                         calculate_output="exact * applies_exact")  # fmt: skip
    rows = [{"messages": user("q"), "answer": "1", "cluster": "math"}, {"messages": user("q"), "answer": "1"},
            {"messages": user("q"), "answer": "1", "cluster": "poetry"}]  # fmt: skip
    messages = [f.message for f in lint_rows(rows, grader)]
    assert any("row 1: no 'cluster' field" in m for m in messages)
    assert any("row 2: clusters ['poetry'] are not in the cluster map" in m for m in messages)


@pytest.mark.parametrize("validation", [pytest.param(0, id="zero"), pytest.param(10, id="all-rows"),
                                        pytest.param(True, id="bool")])  # fmt: skip
def test_write_dataset_when_validation_unusable_then_error(tmp_path, validation) -> None:
    with pytest.raises(ConfigError, match=r"validation="):
        write_dataset(rows_frame(10), tmp_path / "x.jsonl", validation=validation)


def test_write_dataset_when_one_row_then_error_says_two_files_needed(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"at least 2 rows"):
        write_dataset(rows_frame(1), tmp_path / "x.jsonl")


def test_lint_rows_when_too_many_rows_then_error() -> None:
    (finding,) = lint_rows([{"messages": user("q")}] * 4, max_rows=3)
    assert "at most 3" in finding.message
