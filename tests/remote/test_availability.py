"""The availability table: dates drive lint per platform, and the table is editable in one place."""

from __future__ import annotations

from datetime import date

import pytest

from rftkit_nb.core.graders import ScoreModelGrader
from rftkit_nb.remote.availability import AVAILABILITY, lint_target
from tests.remote.conftest import reward_grader


def judge(model: str) -> ScoreModelGrader:
    return ScoreModelGrader(name="tone", model=model, input="Rate {{ sample.output_text }}")


def test_lint_target_when_judge_retired_on_openai_then_error_names_date_and_live_model() -> None:
    (finding,) = lint_target(judge("gpt-4.1-2025-04-14"), "openai", today=date(2027, 2, 1))
    assert finding.level == "error"
    assert finding.where == "tone.model"
    assert "2027-01-14" in finding.message
    assert "Azure OpenAI" in finding.message  # nothing lives on OpenAI any more: the suggestion is Azure


def test_lint_target_when_same_judge_on_azure_then_no_finding() -> None:
    assert list(lint_target(judge("gpt-4.1-2025-04-14"), "azure", today=date(2027, 2, 1))) == []


def test_lint_target_when_judge_retired_but_others_live_then_suggests_a_live_one() -> None:
    (finding,) = lint_target(judge("o3-2025-04-16"), "openai", today=date(2026, 12, 20))
    assert "2026-12-11" in finding.message
    assert "gpt-4o-2024-08-06" in finding.message  # the first model still live on OpenAI that day


def test_lint_target_when_before_shutdown_then_today_matters() -> None:
    assert list(lint_target(judge("o3-2025-04-16"), "openai", today=date(2026, 6, 1))) == []
    (soon,) = lint_target(judge("o3-2025-04-16"), "openai", today=date(2026, 11, 20))
    assert soon.level == "warning"
    assert "in 21 days" in soon.message


@pytest.mark.parametrize(
    ("platform", "model", "today", "level"),
    [
        pytest.param(
            "openai", "o4-mini-2025-04-16", date(2026, 10, 23), "error", id="openai-base-shut-that-day"
        ),
        pytest.param("openai", "o4-mini", date(2026, 11, 1), "error", id="openai-alias-too"),
        pytest.param("azure", "o4-mini-2025-04-16", date(2026, 12, 4), None, id="azure-base-live"),
        pytest.param("azure", "o4-mini", date(2027, 5, 1), "warning", id="azure-past-its-promise"),
        pytest.param("azure", "gpt-9", date(2026, 12, 4), "warning", id="unknown-model"),
    ],
)
def test_lint_target_when_base_model_checked_then_level_follows_table(platform, model, today, level) -> None:
    found = lint_target(None, platform, model=model, today=today)
    assert [f.level for f in found] == ([level] if level else [])


def test_lint_target_when_date_is_inferred_then_only_a_warning() -> None:
    (finding,) = lint_target(judge("o3-mini-2025-01-31"), "azure", today=date(2026, 12, 4))
    assert finding.level == "warning"
    assert "unconfirmed" in finding.message


def test_lint_target_when_multi_then_each_judge_named_by_its_path() -> None:
    (finding,) = lint_target(reward_grader("gpt-5-mini"), "openai", today=date(2026, 12, 20))
    assert finding.where == "reward.graders.tone.model"


def test_availability_when_user_edits_a_date_then_lint_follows_and_reset_restores() -> None:
    AVAILABILITY.set("openai", "grader", "gpt-4.1-2025-04-14", shutdown=date(2026, 1, 1))
    assert lint_target(judge("gpt-4.1"), "openai", today=date(2026, 6, 1)).errors
    AVAILABILITY.reset()
    assert not lint_target(judge("gpt-4.1"), "openai", today=date(2026, 6, 1)).errors


def test_availability_when_row_added_then_a_new_model_is_known() -> None:
    AVAILABILITY.set("azure", "grader", "gpt-6-mini", note="announced")
    assert list(lint_target(judge("gpt-6-mini"), "azure", today=date(2026, 12, 4))) == []


def test_platform_dates_when_searched_then_only_the_table_holds_them() -> None:
    import re
    from pathlib import Path

    import rftkit_nb

    root = Path(rftkit_nb.__file__).parent
    dated = re.compile(r"20(2[6-9])-\d\d-\d\d|date\(20(2[6-9])")
    holders = {p.relative_to(root).as_posix() for p in root.rglob("*.py") if dated.search(p.read_text())}
    # Platform dates live in the availability table only; the price table (quality/prices.py) carries
    # the one date its prices were read on, as the quality lab's dated, editable price table.
    assert holders <= {"remote/availability.py", "quality/prices.py"}, holders
    prices = (root / "quality/prices.py").read_text()
    assert len(set(dated.findall(prices))) == 1
