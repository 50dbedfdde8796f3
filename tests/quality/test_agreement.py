"""agreement(): judge vs human per rubric and cluster, on a real score() run against the loopback judge."""

from __future__ import annotations

import pandas as pd
import pytest

from rftkit_nb import score
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.agreement import agreement
from rftkit_nb.quality.labels import Labels
from rftkit_nb.quality.stats import compare

from .conftest import scripted, two_rubrics

LEVELS = [0.0, 0.25, 0.5, 0.75, 1.0]


def dataset(n: int = 60) -> pd.DataFrame:
    rows = []
    for i in range(n):
        judged = LEVELS[i % 5]
        rows.append(
            {
                **scripted(f"answer {i}", judged, q=f"question {i}", cluster="math" if i % 2 else "chat"),
                "label.tone": judged if i % 6 else LEVELS[(i + 2) % 5],  # mostly agrees
                "label.clarity": LEVELS[(i * 3 + 1) % 5],
            }
        )  # unrelated to the judge
    return pd.DataFrame(rows)


@pytest.fixture
def scored(judge):
    df = dataset()
    labels = Labels()
    labels.attach(df)
    report = score(
        two_rubrics(), df.drop(columns=["label.tone", "label.clarity"]), judge=judge, progress=False
    )
    return df, labels, report


def test_agreement_when_labels_attached_then_figures_equal_compare_on_the_pairs(scored):
    df, labels, report = scored
    result = agreement(report, labels, min_labels=50)
    tone = result.rubrics["tone"].overall
    expected = compare(report.frame["tone.score"].astype(float), df["label.tone"])
    assert tone.n == 60
    assert tone.kappa == pytest.approx(expected.kappa)
    assert tone.exact == pytest.approx(50 / 60)
    assert set(result.rubrics["tone"].clusters) == {"math", "chat"}


def test_agreement_when_a_judge_is_unrelated_to_the_experts_then_below_floor_verdict(scored):
    _, labels, report = scored
    result = agreement(report, labels, floor=0.6)
    assert result.rubrics["tone"].level == "ok"
    assert result.rubrics["clarity"].level == "error"
    assert "clarity: BELOW FLOOR 0.6" in repr(result)
    assert "base rate" in result.rubrics["clarity"].verdict
    assert "constant answer" in result.rubrics["clarity"].verdict


def test_agreement_when_fewer_labels_than_the_minimum_then_warns(judge):
    df = dataset(12)
    labels = Labels()
    labels.attach(df, {"tone": "label.tone"})
    report = score(
        two_rubrics(), df.drop(columns=["label.tone", "label.clarity"]), judge=judge, progress=False
    )
    result = agreement(report, labels, min_labels=50)
    assert "only 12 labels, below the minimum of 50" in result.rubrics["tone"].verdict
    assert result.rubrics["tone"].level in ("warning", "error")
    assert result.unlabelled == ["clarity"]
    assert "clarity: no human labels" in repr(result)


def test_agreement_when_rows_reordered_after_labelling_then_same_figures(scored, judge):
    df, labels, report = scored
    shuffled = df.sample(frac=1, random_state=3).drop(columns=["label.tone", "label.clarity"])
    again = score(two_rubrics(), shuffled, judge=judge, progress=False)
    assert agreement(again, labels).rubrics["tone"].overall.kappa == pytest.approx(
        agreement(report, labels).rubrics["tone"].overall.kappa
    )


def test_agreement_when_worst_rows_listed_then_they_point_at_report_rows(scored):
    _, labels, report = scored
    worst = agreement(report, labels, worst=3).rubrics["tone"].worst
    assert len(worst) == 3
    human = [labels.get("tone", r) for r in df_rows(report)]
    gaps = sorted(
        (abs(j - hu) for j, hu in zip(report.frame["tone.score"], human, strict=True)), reverse=True
    )
    for i, row in worst.iterrows():
        assert report.frame["tone.score"].iloc[i] == pytest.approx(row["judge"])
        assert human[i] == pytest.approx(row["human"])
    assert [abs(r["judge"] - r["human"]) for _, r in worst.iterrows()] == pytest.approx(gaps[:3])


def test_agreement_explore_when_a_rubric_is_named_opens_its_worst_rows_worst_first(scored):
    _, labels, report = scored
    result = agreement(report, labels, worst=4)
    explorer = result.explore("clarity")
    worst = result.rubrics["clarity"].worst
    assert explorer.positions == worst.index.tolist()
    assert len(explorer.positions) == 4
    assert explorer.selected == worst.index[0]
    assert explorer.report is report
    assert ".explore('clarity')" in repr(result)


def test_agreement_explore_when_the_rubric_is_left_out_and_several_disagree_then_one_line_error(scored):
    _, labels, report = scored
    with pytest.raises(ConfigError, match="rubrics with disagreements: tone, clarity"):
        agreement(report, labels).explore()
    with pytest.raises(ConfigError, match="'style' has no agreement figures here"):
        agreement(report, labels).explore("style")


def test_agreement_explore_when_one_rubric_is_compared_then_it_needs_no_name(scored):
    _, labels, report = scored
    result = agreement(report, labels, rubrics=["tone"], worst=2)
    assert result.explore().positions == result.rubrics["tone"].worst.index.tolist()


def df_rows(report):
    return [report.rows[i] for i in range(len(report))]


def test_agreement_when_unknown_rubric_then_one_line_error(scored):
    _, labels, report = scored
    with pytest.raises(ConfigError, match="'style' is not a sub-grader"):
        agreement(report, labels, rubrics=["style"])


def test_agreement_when_displayed_then_html_escaped_with_verdicts_and_confusion(scored):
    _, labels, report = scored
    html = agreement(report, labels)._repr_html_()
    assert "BELOW FLOOR" in html
    assert "confusion matrix" in html
    assert "kappa_quadratic" in html
    assert "<script" not in html
