"""validate(): local lint first, then the platform; its field paths mapped back to the grader's."""

from __future__ import annotations

from datetime import date

import pytest

from rftkit_nb.core.graders import ScoreModelGrader
from rftkit_nb.errors import RemoteError
from rftkit_nb.remote.validate import grader_field, validate
from tests.remote.conftest import exact_grader, reward_grader


def test_validate_when_grader_valid_then_platform_accepts_it(client, server) -> None:
    report = validate(reward_grader(), client=client)
    assert report.ok
    assert report.hosted == "accepted"
    assert server.counts["graders.validate"] == 1


def test_validate_when_local_error_then_platform_not_asked(client, server) -> None:
    judge = ScoreModelGrader(name="tone", model="gpt-4.1-2025-04-14", input="Rate {{ sample.output_text }}")
    report = validate(judge, client=client, today=date(2027, 3, 1))
    if report.target.startswith("OpenAI"):
        assert not report.ok
        assert "2027-01-14" in report.findings.errors[0].message
        assert "not asked" in report.hosted
        assert server.counts["graders.validate"] == 0
    else:  # the same judge lives on Azure until 2027-04-14
        assert report.ok


def test_validate_when_platform_rejects_a_field_then_finding_names_the_grader_field(client, server) -> None:
    server.inject("invalid_field", route="graders.validate", param="grader.graders.tone.model")
    report = validate(reward_grader(), client=client)
    assert not report.ok
    assert report.hosted == "rejected"
    (error,) = report.findings.errors
    assert error.where == "reward.graders.tone.model"
    assert "rejects it" in error.message


def test_validate_when_platform_refuses_a_model_then_mapped_from_its_param(client, server) -> None:
    server.platform.grader_models.discard("gpt-4.1-mini-2025-04-14")
    report = validate(reward_grader(), client=client)
    assert [f.where for f in report.findings.errors] == ["reward.graders.tone.model"]


def test_validate_when_server_fails_then_remote_error(client, server) -> None:
    server.inject("unauthorized", route="graders")
    with pytest.raises(RemoteError, match=r"HTTP 401.*check the API key"):
        validate(exact_grader(), client=client)


@pytest.mark.parametrize(
    ("param", "message", "expected"),
    [
        pytest.param("grader.operation", "", "exact.operation", id="param"),
        pytest.param(None, "Invalid value for 'grader.reference': x", "exact.reference", id="from-message"),
        pytest.param(None, "something broke", "exact", id="nothing-named"),
        pytest.param("model", "", "model", id="not-a-grader-field"),
    ],
)
def test_grader_field_when_platform_names_a_path_then_rooted_at_grader_name(param, message, expected) -> None:
    assert grader_field(param, exact_grader(), message) == expected


def test_validation_report_when_displayed_then_escaped(client, server) -> None:
    server.inject("invalid_field", route="graders.validate", param="grader.<script>x</script>")
    report = validate(exact_grader(), client=client)
    assert "<script>" not in report._repr_html_()
    assert "&lt;script&gt;" in report._repr_html_()
    assert "NOT ok" in repr(report)
