"""bias(): a judge that pays for length, and one that pays for what comes first, are caught."""

from __future__ import annotations

import pytest

from rftkit_nb import AggregatorGrader
from rftkit_nb.quality.bias import bias, pad, reorder
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.testing.openai_server import FakeOpenAI

from .conftest import length_loving_scorer, rubric, scripted


@pytest.fixture
def biased():
    with FakeOpenAI(scorer=length_loving_scorer) as s:
        yield Judge(base_url=s.base_url, api_key="sk-test", cache=False)


def rows():
    return [
        scripted("Correct: the sky is blue." + " Because of scattering." * (i % 4) + "\n\nIt is day.", 0.6)
        for i in range(8)
    ]


def test_bias_when_the_judge_pays_for_length_then_padding_and_length_correlation_flagged(biased):
    report = bias(
        AggregatorGrader(name="r", graders=[rubric("verbose"), rubric("steady")]), rows(), judge=biased
    )
    verbose, steady = report.frame.loc["verbose"], report.frame.loc["steady"]
    assert verbose["padded_moved"] == 1.0
    assert verbose["padded_change"] > 0.1
    assert verbose["length_spearman"] == pytest.approx(1.0)
    assert steady["padded_moved"] == 0.0  # the SCORE line is still there, restated
    assert any("verbose: score follows output length" in text for _, text in report.verdicts)


def test_bias_when_the_judge_pays_for_the_first_section_then_reordering_flagged(biased):
    report = bias(rubric("first"), rows(), judge=biased)
    first = report.frame.loc["first"]
    assert first["reordered_change"] == pytest.approx(-1.0)
    assert first["reordered_moved"] == 1.0
    assert any("when reordered" in text for _, text in report.verdicts)
    assert "judge bias probes" in report._repr_html_()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A.\n\nB.", "B.\n\nA.", id="paragraphs"),
        pytest.param("One. Two! Three?", "Three? Two! One.", id="sentences"),
        pytest.param("Only one", None, id="single-section"),
    ],
)
def test_reorder_when_sections_then_reversed(text, expected):
    assert reorder(text) == expected


def test_pad_when_applied_then_the_answer_is_kept_and_about_three_times_longer():
    padded = pad("Paris is the capital.")
    assert padded.count("Paris is the capital.") == 3
