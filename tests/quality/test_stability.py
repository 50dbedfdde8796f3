"""stability(): k re-scores with the cache off and a seed each; figures checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from rftkit_nb import AggregatorGrader
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.stability import stability
from rftkit_nb.testing.openai_server import FakeOpenAI

from .conftest import rubric, scripted, wobbly_scorer

SCORES = [0.1, 0.3, 0.5, 0.8, 0.9, 0.2]


@pytest.fixture
def wobbly():
    with FakeOpenAI(scorer=wobbly_scorer) as s:
        yield s


@pytest.fixture
def result(wobbly):
    grader = AggregatorGrader(name="reward", graders=[rubric("wobbly"), rubric("steady")])
    rows = [scripted(f"a{i}", s) for i, s in enumerate(SCORES)]
    return stability(grader, rows, k=4, base_url=wobbly.base_url, api_key="sk-test", threshold=0.5), wobbly


def test_stability_when_rescored_then_every_run_reaches_the_judge_with_its_own_seed(result):
    _, server = result
    seeds = sorted({r.body.get("seed") for r in server.requests if r.endpoint == "chat"})
    assert seeds == [0, 1, 2, 3]
    assert server.count("chat") == 4 * 2 * len(SCORES)  # cache off: nothing answered twice from a cache


def test_stability_when_judge_flips_on_odd_seeds_then_hand_computed_figures(result):
    report, _ = result
    wobbly = report.frame.loc["wobbly"]
    s = np.array(SCORES)
    # each row scores s, 1-s, s, 1-s: population std |2s-1|/2; runs of equal parity correlate +1,
    # of different parity -1: (2*1 + 4*-1)/6; every row but s=0.5 has a run on each side of 0.5
    assert wobbly["std"] == pytest.approx(np.mean(np.abs(2 * s - 1) / 2))
    assert wobbly["variance"] == pytest.approx(np.mean((2 * s - 1) ** 2 / 4))
    assert wobbly["retest"] == pytest.approx(-1 / 3)
    assert wobbly["crossing"] == pytest.approx(5 / 6)


def test_stability_when_judge_is_steady_then_zero_variance_and_perfect_retest(result):
    report, _ = result
    steady = report.frame.loc["steady"]
    assert (steady["std"], steady["retest"], steady["crossing"]) == (0.0, pytest.approx(1.0), 0.0)
    levels = dict((text.split(":")[0], level) for level, text in report.verdicts)
    assert levels == {"wobbly": "error", "steady": "ok", "reward": levels["reward"]}
    assert "UNSTABLE" in repr(report)
    assert "UNSTABLE" in report._repr_html_()


def test_stability_when_temperature_on_a_reasoning_model_then_seeds_only_with_a_note(wobbly):
    from rftkit_nb import ScoreModelGrader

    judge = ScoreModelGrader(
        name="r", model="o3-mini", input=[{"role": "user", "content": "{{ sample.output_text }}"}]
    )
    report = stability(
        judge, [scripted("x", 0.4)], k=2, base_url=wobbly.base_url, api_key="sk-t", temperature=0.7
    )
    assert any("takes no temperature" in n for n in report.notes)
    assert all("temperature" not in r.body for r in wobbly.requests)


def test_stability_when_given_a_cached_judge_then_refused(wobbly):
    from rftkit_nb.scoring.judge import Judge

    with pytest.raises(ConfigError, match="without a cache"):
        stability(
            rubric("x"),
            [scripted("x", 0.4)],
            client=Judge(base_url=wobbly.base_url, api_key="k", cache=False),
        )


def test_stability_when_k_is_one_then_one_line_error():
    with pytest.raises(ConfigError, match="k >= 2"):
        stability(rubric("x"), [], k=1)
