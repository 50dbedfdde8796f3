"""Every report of the quality lab: a readable __repr__ with its verdict lines, and HTML in which data
(here a hostile rubric name) is escaped."""

from __future__ import annotations

import pytest

from rftkit_nb import score
from rftkit_nb.quality.agreement import agreement
from rftkit_nb.quality.bias import bias
from rftkit_nb.quality.cost import cost
from rftkit_nb.quality.labels import Labels
from rftkit_nb.quality.preflight import preflight
from rftkit_nb.quality.prices import PRICES
from rftkit_nb.quality.stability import stability

from .conftest import rubric, scripted

HOSTILE = "<script>alert(1)</script>"


def rows():
    return [scripted(f"answer {i}.", [0.0, 0.5, 1.0][i % 3], question=f"q{i}") for i in range(6)]


@pytest.fixture
def reports(server, judge):
    grader = rubric(HOSTILE)
    report = score(grader, rows(), judge=judge, progress=False)
    labels = Labels()
    for i, row in enumerate(rows()):
        labels.set(HOSTILE, row, [0.0, 0.5, 1.0][i % 3])
    return {
        "agreement": agreement(report, labels, min_labels=3),
        "stability": stability(grader, rows(), k=2, base_url=server.base_url, api_key="sk-t"),
        "bias": bias(grader, rows(), judge=judge),
        "preflight": preflight(grader, rows(), judge=judge, probes=["empty"]),
        "cost": cost(grader, rows(), epochs=1, samples_per_prompt=2, tokens={HOSTILE: (100, 10)}),
        "prices": PRICES,
        "labels": labels,
    }


@pytest.mark.parametrize("name", ["agreement", "stability", "bias", "preflight", "cost", "prices", "labels"])
def test_report_when_displayed_then_html_escapes_data_and_repr_reads(reports, name):
    shown = reports[name]
    html = shown._repr_html_()
    assert "<script>" not in html
    text = repr(shown)
    assert text.strip()
    assert "object at 0x" not in text
    if name not in ("prices", "labels"):
        assert "&lt;script&gt;" in html  # the rubric's name is there, as text
