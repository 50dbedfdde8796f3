"""Specification of ScoreExplorer, driven headless as the front end drives it: ``set_state`` for sort,
filters and the selected row, custom messages for a row's detail, replies read from what it sends."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError
from rftkit_nb.notebook.widgets import ScoreExplorer
from rftkit_nb.notebook.widgets.explorer_data import STATES
from rftkit_nb.scoring.engine import score
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.scoring.report import ScoreReport
from rftkit_nb.testing import FakeOpenAI

XSS = "<img src=x onerror=alert(1)>"
ROWS = [
    {"cluster": "chat", "expect": "hi\nSCORE: 0.9", "output_text": "hi\nSCORE: 0.9"},
    {"cluster": "chat", "expect": "x", "output_text": "rude\nSCORE: 0.1"},
    {"cluster": "math", "expect": "4", "output_text": "4"},
    {"cluster": "math", "expect": "4", "output_text": "5"},
    {"cluster": "chat", "expect": "y", "output_text": f"{XSS}\nSCORE: 0.5"},
]


def workbench(tone_weight: float) -> Workbench:
    wb = Workbench(path=None)
    wb.add_rubric("tone", "1 = polite and warm", weight=tone_weight, clusters=["chat"])
    wb.add_grader({"type": "string_check", "name": "exact", "operation": "eq",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.expect }}"})  # fmt: skip
    return wb


def run(tone_weight: float) -> ScoreReport:
    with FakeOpenAI() as server:
        server.inject("bad_request", match="onerror")  # row 4's judge fails
        judge = Judge(base_url=server.base_url, api_key="sk-test", cache=False)
        return score(workbench(tone_weight), pd.DataFrame(ROWS), judge=judge, progress=False)


@pytest.fixture(scope="module")
def report() -> ScoreReport:
    return run(1.0)


@pytest.fixture(scope="module")
def edited() -> ScoreReport:
    return run(3.0)  # the same rows after a rubric edit


@pytest.fixture
def explorer(report: ScoreReport) -> ScoreExplorer:
    return ScoreExplorer(report)


@pytest.fixture
def sent(explorer: ScoreExplorer, monkeypatch: pytest.MonkeyPatch) -> list:
    """What the explorer sends the front end (its custom messages)."""
    messages: list = []
    monkeypatch.setattr(explorer, "send", lambda content, buffers=None: messages.append(content))
    return messages


def column(explorer: ScoreExplorer, name: str) -> np.ndarray:
    """Read one column out of the shipped buffer, as the front end does."""
    entry = next(c for c in explorer.schema["layout"] if c["name"] == name)
    return np.frombuffer(explorer.matrix, dtype="<" + entry["dtype"], count=explorer.schema["n"],
                         offset=entry["offset"])  # fmt: skip


def frame_order(report: ScoreReport, col: str, descending: bool) -> list[int]:
    values = report.frame[col].astype("float64").reset_index(drop=True)
    return values.sort_values(ascending=not descending, na_position="last", kind="stable").index.tolist()


def test_matrix_when_read_back_holds_the_reports_rewards_scores_and_states(explorer, report):
    frame = report.frame
    np.testing.assert_allclose(column(explorer, "reward"), frame["reward"].astype("float64"), rtol=1e-6)
    for key in report.outcomes:
        np.testing.assert_allclose(column(explorer, f"score:{key}"), frame[f"{key}.score"].astype("float64"),
                                   rtol=1e-6)  # fmt: skip
        assert [STATES[c] for c in column(explorer, f"state:{key}")] == frame[f"{key}.state"].tolist()
    names = explorer.schema["clusters"]
    assert [names[c - 1] for c in column(explorer, "cluster")] == frame["cluster"].tolist()
    assert explorer.schema["errors"] == frame["tone.error"].dropna().unique().tolist() != []


def test_explorer_when_opened_shows_every_row_and_hides_the_cluster_indicators(explorer):
    assert explorer.count == 5
    assert np.frombuffer(explorer.order, dtype="<u4").tolist() == [0, 1, 2, 3, 4]
    assert explorer.schema["indicators"] == ["applies_tone"]
    assert explorer.shown_graders == ["tone", "exact"]
    explorer.set_state({"show_indicators": True})
    assert explorer.shown_graders == ["tone", "applies_tone", "exact"]


@pytest.mark.parametrize(
    "descending", [pytest.param(True, id="descending"), pytest.param(False, id="ascending")]
)
@pytest.mark.parametrize(("name", "col"), [pytest.param("reward", "reward", id="reward"),
                                           pytest.param("tone", "tone.score", id="sub-grader")])  # fmt: skip
def test_sort_when_set_by_the_front_end_orders_rows_with_blanks_last(explorer, report, name, col, descending):
    explorer.set_state({"sort": {"column": name, "descending": descending}})
    assert explorer.positions == frame_order(report, col, descending)
    assert np.frombuffer(explorer.order, dtype="<u4").tolist() == explorer.positions


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        pytest.param({"cluster": "math"}, lambda f: f["cluster"] == "math", id="cluster"),
        pytest.param({"state": "error"}, lambda f: (f["tone.state"] == "error") | (f["exact.state"] == "error"),
                     id="state-any-grader"),
        pytest.param({"state": "not_applicable", "grader": "tone"}, lambda f: f["tone.state"] == "not_applicable",
                     id="state-of-one-grader"),
        pytest.param({"reward_min": 0.5}, lambda f: f["reward"].astype("float64") >= 0.5, id="reward-min"),
        pytest.param({"reward_max": 0.2}, lambda f: f["reward"].astype("float64") <= 0.2, id="reward-max"),
        pytest.param({"search": "ONERROR"}, lambda f: pd.Series([False, False, False, False, True], index=f.index),
                     id="search-output"),
        pytest.param({"search": '"expect": "4"'}, lambda f: f["cluster"] == "math", id="search-item"),
        pytest.param({"flagged": True}, lambda f: f["flagged"], id="flagged"),
        pytest.param({"cluster": "chat", "reward_min": 0.01}, lambda f: (f["cluster"] == "chat")
                     & (f["reward"].astype("float64") >= 0.01), id="combined"),
    ],
)  # fmt: skip
def test_filters_when_set_by_the_front_end_keep_the_matching_rows(explorer, report, filters, keep):
    explorer.set_state({"filters": filters})
    expected = [i for i, k in enumerate(keep(report.frame).fillna(False).tolist()) if k]
    assert explorer.positions == expected
    assert explorer.count == len(expected)
    assert explorer.stats["rows"] == len(expected)


def test_error_filter_when_set_keeps_the_rows_whose_judge_failed(explorer, report):
    category = report.frame["tone.error"].dropna().iloc[0]
    explorer.set_state({"filters": {"error": category}})
    assert explorer.positions == [4]


def test_histograms_when_filtered_count_only_the_kept_rows(explorer, report):
    explorer.set_state({"filters": {"cluster": "chat"}})
    hists = {h["title"]: h for h in explorer.histograms}
    kept = report.frame[report.frame["cluster"] == "chat"]["reward"].astype("float64").dropna()
    assert sum(hists["reward"]["counts"]) == hists["reward"]["n"] == len(kept)
    assert "reward, cluster chat" in hists
    assert "reward, cluster math" not in hists
    assert set(hists) >= {"tone score", "exact score"}
    full = ScoreExplorer(report).histograms[0]
    assert hists["reward"]["edges"] == full["edges"]  # the same bins, so filtered and whole compare


def test_detail_when_requested_by_message_is_sent_for_that_row_only(explorer, sent, report):
    explorer._handle_custom_msg({"op": "detail", "row": 0}, [])
    (reply,) = sent
    detail = reply["detail"]
    assert reply["kind"] == "detail"
    assert reply["row"] == 0
    assert detail["item"] == {"cluster": "chat", "expect": "hi\nSCORE: 0.9"}
    assert detail["output"] == "hi\nSCORE: 0.9"
    tone = next(g for g in detail["graders"] if g["key"] == "tone")
    assert tone["state"] == "scored"
    assert tone["score"] == pytest.approx(0.9)
    assert any("polite and warm" in text for _where, text in tone["rendered"])  # the judge's messages
    assert "0.9" in detail["formula_values"]
    assert "tone" not in detail["formula_values"]
    assert detail["formula"] == report.grader.calculate_output


def test_selected_when_set_by_the_front_end_is_read_in_python_and_sends_the_detail(explorer, sent):
    explorer.set_state({"selected": 4})
    assert explorer.selected == 4
    detail = sent[-1]["detail"]
    assert detail["output"].startswith(XSS)  # data, shown as text by the front end
    tone = next(g for g in detail["graders"] if g["key"] == "tone")
    assert tone["state"] == "error"
    assert tone["error"]


@pytest.mark.parametrize("row", [pytest.param(99, id="past-the-end"), pytest.param(-1, id="negative")])
def test_selected_when_out_of_range_is_cleared(explorer, sent, row):
    explorer.set_state({"selected": row})
    assert explorer.selected is None
    assert sent[-1] == {"kind": "detail", "row": None}


def test_detail_message_when_row_is_bad_answers_with_an_error(explorer, sent):
    explorer._handle_custom_msg({"op": "detail", "row": 50}, [])
    assert "out of range" in sent[-1]["error"]


def test_filtered_when_read_is_the_kept_rows_in_table_order(explorer, report):
    explorer.set_state({"filters": {"cluster": "chat"}, "sort": {"column": "reward", "descending": True}})
    pd.testing.assert_frame_equal(explorer.filtered, report.frame.iloc[explorer.positions])


def test_compare_mode_when_given_a_baseline_shows_per_row_deltas(report, edited):
    explorer = ScoreExplorer(edited, baseline=report)
    before, after = report.frame["reward"].astype("float64"), edited.frame["reward"].astype("float64")
    np.testing.assert_allclose(column(explorer, "delta"), (after - before).to_numpy(), rtol=1e-6)
    explorer.set_state({"sort": {"column": "delta", "descending": True}})
    delta = (after - before).reset_index(drop=True)
    assert (
        explorer.positions
        == delta.sort_values(ascending=False, na_position="last", kind="stable").index.tolist()
    )
    assert explorer.histograms[1]["title"].startswith("reward delta")
    assert explorer.stats["changed"] == int((delta.abs() > 1e-9).sum())
    assert "delta" in explorer.filtered
    assert explorer.schema["compare"] is True


def test_compare_mode_when_baseline_has_other_rows_raises_config_error(report):
    other = run(1.0)
    other.rows.pop()
    with pytest.raises(ConfigError, match="same rows"):
        ScoreExplorer(report, baseline=other)


def test_report_explore_when_called_opens_an_explorer(report, edited):
    explorer = edited.explore(baseline=report)
    assert isinstance(explorer, ScoreExplorer)
    assert explorer.schema["compare"] is True


@pytest.mark.parametrize(
    ("rows", "sort", "expected"),
    [
        pytest.param([3, 0, 4], {}, [3, 0, 4], id="unsorted-keeps-the-given-order"),
        pytest.param([3, 0, 3, 4], {}, [3, 0, 4], id="repeats-dropped"),
        pytest.param([3, 0, 4], {"column": "row", "descending": False}, [0, 3, 4], id="a-sort-wins"),
        pytest.param([], {}, [], id="none"),
    ],
)  # fmt: skip
def test_rows_filter_when_given_keeps_only_those_rows(explorer, rows, sort, expected):
    explorer.set_state({"filters": {"rows": rows}, "sort": sort})
    assert explorer.positions == expected
    assert explorer.stats["rows"] == len(expected)


def test_rows_filter_when_combined_with_a_cluster_keeps_both_conditions_in_the_given_order(explorer):
    explorer.set_state({"filters": {"rows": [4, 2, 1], "cluster": "chat"}})
    assert explorer.positions == [4, 1]


def test_explorer_when_opened_on_rows_filters_to_them_and_selects_the_first(report, monkeypatch):
    explorer = report.explore(rows=[np.int64(4), 1])  # positions as numpy hands them out are fine
    assert explorer.positions == [4, 1]
    assert explorer.filters == {"rows": [4, 1]}
    assert explorer.selected == 4
    messages: list = []
    monkeypatch.setattr(explorer, "send", lambda content, buffers=None: messages.append(content))
    explorer._handle_custom_msg({"op": "detail", "row": explorer.selected}, [])  # what render() asks
    assert messages[-1]["detail"]["output"].startswith(XSS)
    explorer.set_state({"filters": {}})  # the front end's "chosen rows" chip clears it
    assert explorer.positions == [0, 1, 2, 3, 4]


def test_explorer_when_opened_on_no_rows_selects_nothing(report):
    explorer = ScoreExplorer(report, rows=[])
    assert (explorer.positions, explorer.selected) == ([], None)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param([0, 5], "names row 5, but the report has 5 rows", id="past-the-end"),
        pytest.param([-1], "names row -1", id="negative"),
        pytest.param("0,1", "must be a list of row positions", id="a-string"),
        pytest.param([0.5], "must be a list of row positions", id="not-integers"),
    ],
)  # fmt: skip
def test_explorer_when_opened_on_bad_rows_raises_config_error(report, rows, message):
    with pytest.raises(ConfigError, match=message):
        ScoreExplorer(report, rows=rows)


def test_matrix_when_shipped_is_a_few_bytes_per_cell(report):
    explorer = ScoreExplorer(report)
    graders, n = len(report.outcomes), len(report.rows)
    assert len(explorer.matrix) <= n * (4 * (1 + graders) + 2 + 2 * graders + 1) + 8
    assert math.isnan(column(explorer, "score:tone")[2])  # masked: no score, not a zero


def test_rft_score_when_displayed_is_the_explorer_and_when_assigned_the_report(shell, monkeypatch):
    shell.cell("%%rubric tone --clusters chat\n1.0 = polite")
    shell.ip.user_ns["df"] = pd.DataFrame(ROWS[:3])
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        report = shell.cell("report = %rft score df\nreport")
    assert isinstance(report, ScoreReport)
    assert shell.ip.user_ns["report"] is report
    data, _metadata = report._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"] == report._repr_html_()  # where widgets do not render
    assert data["text/plain"].startswith("ScoreReport(")


def test_explorable_report_when_shown_twice_shows_the_same_explorer(report):
    from rftkit_nb.notebook.widgets.explorable import explorable

    shown = explorable(report)
    first, _ = shown._repr_mimebundle_()
    second, _ = shown._repr_mimebundle_()
    widget = "application/vnd.jupyter.widget-view+json"
    assert first[widget]["model_id"] == second[widget]["model_id"]
    assert shown.rows is report.rows  # the same report's data, not a copy
