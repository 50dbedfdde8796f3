"""parity(): hosted graders/run and the local engine side by side, with a verdict."""

from __future__ import annotations

from datetime import date

import pytest

from rftkit_nb import Judge
from rftkit_nb.core.graders import MultiGrader, TextSimilarityGrader
from rftkit_nb.remote import parity
from tests.remote.conftest import exact_grader, make_client, reward_grader, rows_frame


@pytest.fixture
def judge(server):
    return Judge(base_url=server.base_url, api_key="judge-key", cache=False)


def test_parity_when_graders_agree_then_verdict_says_all_rows_agree(client, server, judge) -> None:
    report = parity(reward_grader(), rows_frame(6), client=client, judge=judge, n=4)
    assert len(report.rows) == 4
    assert report.verdict == "parity: all 4 rows agree within 0.01 (hosted vs local reward)"
    assert report.rows[0].graders["tone"] == (0.5, 0.5)
    assert server.counts["graders.run"] == 4
    assert list(report.frame.columns)[:4] == ["row", "hosted", "local", "difference"]


def test_parity_when_a_metric_is_approximated_then_differences_named(server, judge) -> None:
    similar = TextSimilarityGrader(name="close", input="{{ sample.output_text }}", reference="{{ item.answer }} apples",
                                   evaluation_metric="bleu")  # fmt: skip
    grader = MultiGrader(
        name="r", graders={"exact": exact_grader(), "close": similar}, calculate_output="(exact + close) / 2"
    )
    with make_client(server, "azure-v1") as client:
        report = parity(grader, rows_frame(5), client=client, judge=judge)
    assert report.differing
    assert "differ in close" in report.verdict
    html = report._repr_html_()
    assert "differ" in html
    assert "<script" not in html


def test_parity_when_graders_run_is_gone_by_the_table_then_says_so_and_stops(server, judge) -> None:
    with make_client(server, "openai") as client:
        report = parity(exact_grader(), rows_frame(3), client=client, judge=judge, today=date(2027, 2, 1))
    assert report.stopped is not None
    assert "graders/run is gone on OpenAI" in report.verdict
    assert server.counts["graders.run"] == 0
    assert report.rows == []


def test_parity_when_graders_run_answers_404_then_says_so_and_stops(client, server, judge) -> None:
    server.platform.gone.add("graders.run")
    report = parity(exact_grader(), rows_frame(3), client=client, judge=judge)
    assert "not served" in report.verdict
    assert "HTTP 404" in report.verdict
    assert report.rows == []
    assert "parity not checked" in repr(report)


def test_parity_when_hosted_run_reports_errors_then_noted(client, server, judge) -> None:
    broken = MultiGrader(name="r", graders={"exact": exact_grader().model_copy(update={"reference": "{{ item.nope }}"})},
                         calculate_output="exact")  # fmt: skip
    report = parity(broken, rows_frame(2), client=client, judge=judge)
    assert any("invalid_variable_error" in n for n in report.notes)
