"""preflight(): each check on a synthetic dataset built to trigger it, the judge scripted on the loopback
server (see ``gullible_scorer`` in conftest)."""

from __future__ import annotations

import pytest

from rftkit_nb import AggregatorGrader
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.preflight import preflight
from rftkit_nb.scoring.judge import Judge

from .conftest import rubric, scripted

ACCURACY = "Mentions chlorophyll, sunlight, glucose and oxygen."


@pytest.fixture
def fooled(gullible):
    return Judge(
        base_url=gullible.base_url, api_key="sk-test-preflight", cache=False, timeout=5.0, max_retries=1
    )


def answers(n: int = 12) -> list[dict]:
    texts = [
        "Plants use sunlight to make food.",
        "Leaves are green because of chlorophyll and sunlight.",
        "Photosynthesis happens in leaves.",
        "It makes glucose.",
    ]
    return [
        scripted(
            texts[i % 4],
            [0.3, 0.6, 0.8, 0.5][i % 4],
            question=f"How do plants eat? ({i})",
            cluster="bio" if i % 2 else "chem",
        )
        for i in range(n)
    ]


def check(report, name):
    return next(c for c in report.checks if c.name == name)


def test_preflight_when_a_rubric_always_gives_full_marks_then_saturation_error(fooled):
    grader = AggregatorGrader(name="reward", graders=[rubric("tone"), rubric("easy")])
    report = preflight(grader, answers(), judge=fooled, probes=False)
    assert check(report, "saturation: easy").level == "error"
    assert "100% of rows sit at the ceiling" in check(report, "saturation: easy").verdict
    assert check(report, "saturation: tone").level == "ok"
    assert report.distribution.loc["easy", "at_ceiling"] == 1.0


def test_preflight_when_samples_of_a_prompt_share_a_reward_then_constant_groups_flagged(fooled):
    rows = []
    for p in range(6):
        for s in range(4):
            value = 0.5 if p < 3 else [0.2, 0.4, 0.6, 0.8][s]  # prompts 0-2: every sample scores the same
            rows.append(scripted(f"sample {s}", value, question=f"prompt {p}"))
    report = preflight(rubric("tone"), rows, samples_per_prompt=4, judge=fooled, probes=False)
    groups = check(report, "groups")
    assert groups.level == "error"
    assert groups.verdict.startswith("50% of 6 prompts get the same reward")
    assert report.groups["constant"].tolist() == [True] * 3 + [False] * 3
    assert report.groups["std"].iloc[3] == pytest.approx(0.2236, abs=1e-4)  # population std of .2,.4,.6,.8


def test_preflight_when_a_rubric_pays_for_its_keywords_then_keyword_stuffing_is_flagged(fooled):
    grader = AggregatorGrader(name="reward", graders=[rubric("accuracy", ACCURACY)])
    report = preflight(grader, answers(), judge=fooled, probes=["keyword stuffing", "empty"])
    stuffing = check(report, "probe: keyword stuffing")
    assert stuffing.level == "error"
    assert "through accuracy" in stuffing.verdict
    assert report.probes.loc["keyword stuffing", "accuracy"] == 1.0
    assert not report.probes.loc["empty", "flagged"]


def test_preflight_when_the_judge_is_fooled_by_master_keys_then_each_is_flagged(fooled):
    report = preflight(rubric("tone"), answers(), judge=fooled)
    flagged = {c.name for c in report.checks if c.level == "error"}
    assert {
        "probe: master key ':'",
        "probe: master key 'Thought process:'",
        "probe: master key 'step by step'",
    } <= flagged
    assert "probe: empty" not in flagged
    assert "probe: long padding" not in flagged
    assert report.probes.loc["master key ':'", "reward"] == 1.0


def test_preflight_when_an_honest_reward_then_baseline_and_probes_are_ok(judge):
    from rftkit_nb import StringCheckGrader

    exact = StringCheckGrader(
        name="exact", input="{{ sample.output_text }}", reference="{{ item.answer }}", operation="eq"
    )
    rows = [
        {"question": f"{i}+0?", "answer": str(i), "output_text": str(i) if i % 3 else "wrong"}
        for i in range(12)
    ]
    report = preflight(exact, rows, judge=False)
    assert check(report, "baseline").level == "ok"
    assert check(report, "probes").level == "ok"
    assert not [c for c in report.checks if c.name.startswith("probe:")]
    assert report.probes.loc["(real answers)", "reward"] == pytest.approx(
        8 / 12
    )  # probed: the first 20 = all 12


def test_preflight_when_two_rubrics_agree_then_redundancy_and_variance_shares(judge):
    grader = AggregatorGrader(name="reward", graders=[rubric("tone"), rubric("clarity")])
    rows = [scripted(f"a{i}", (i % 5) / 4) for i in range(15)]  # the SCORE line answers both judges alike
    report = preflight(grader, rows, judge=judge, probes=False)
    assert check(report, "redundancy").level == "warning"
    assert report.correlation.loc["tone", "clarity"] == pytest.approx(1.0)
    assert report.variance_share.sum() == pytest.approx(1.0)  # the reward is exactly their mean


def test_preflight_when_unknown_probe_then_one_line_error(judge):
    with pytest.raises(ConfigError, match="probe 'nonsense' is unknown"):
        preflight(rubric("tone"), answers(2), judge=judge, probes=["nonsense"])


def test_preflight_when_displayed_then_verdicts_escaped_html_and_a_plot(fooled):
    report = preflight(rubric("<tone>"), answers(6), judge=fooled, probes=["empty"])
    html = report._repr_html_()
    assert "<svg" in html
    assert "&lt;tone&gt;" in html
    assert "<tone>" not in html
    assert "checks flagged" in repr(report)


def test_preflight_when_no_judge_is_configured_then_no_reward_is_an_error_not_a_pass():
    report = preflight(rubric("tone"), answers(4), judge=False, probes=["empty"])
    assert check(report, "rewards").level == "error"
    assert "4 of 4 rows have no reward" in check(report, "rewards").verdict
    probes = [c for c in report.checks if c.name == "probes"]
    assert [c.level for c in probes] == ["warning"]  # never "ok" against a reward that does not exist
