"""Specs for the fidelity of local text metrics: published hosted scores, reproduced to the digit.

Each fixture in fixtures/hosted_metrics/ is a cited record of a hosted grader run (source, commit,
where the numbers are printed). Rows are paired with items by the fixture's pairing rule, which the
string_check runs in the same fixture prove from content alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rftkit_nb.errors import ConfigError
from rftkit_nb.scoring.similarity import (
    METRIC_FIDELITY,
    METRICS,
    Fidelity,
    fidelity_note,
    string_check,
    text_similarity,
)

FIXTURES = Path(__file__).parent / "fixtures" / "hosted_metrics"


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


AZURE_RUN = _load("azure_openai_graders_2025-06-26.json")


def _field(item: dict[str, str], template: str) -> str:
    # the fixtures' graders use plain "{{item.x}}" templates or literal text
    if template.startswith("{{item.") and template.endswith("}}"):
        return item[template[len("{{item.") : -2]]
    return template


def _local(grader: dict[str, Any], item: dict[str, str]) -> float:
    text, reference = _field(item, grader["input"]), _field(item, grader["reference"])
    if grader["type"] == "string_check":
        return string_check(grader["operation"], text, reference)
    return text_similarity(grader["evaluation_metric"], text, reference).value


def _paired(fixture: dict[str, Any], run: dict[str, Any], rule: str) -> list[tuple[dict[str, str], str]]:
    items, printed = fixture["items"], run["printed_scores"]
    assert len(items) == len(printed)
    if rule == "reversed":
        return [(items[len(items) - 1 - i], score) for i, score in enumerate(printed)]
    return list(zip(items, printed, strict=True))


def _cases() -> list[Any]:
    return [
        pytest.param(
            run,
            item,
            printed,
            id=f"{run['name']}-item{AZURE_RUN['items'].index(item)}",
        )
        for run in AZURE_RUN["runs"]
        for item, printed in _paired(AZURE_RUN, run, AZURE_RUN["pairing"]["rule"])
    ]


@pytest.mark.parametrize(("run", "item", "printed"), _cases())
def test_local_grader_when_given_a_published_hosted_row_reproduces_every_printed_digit(
    run: dict[str, Any], item: dict[str, str], printed: str
) -> None:
    # the printed value is Python's repr of the hosted float: equal floats print the same digits
    assert repr(_local(run["grader"], item)) == repr(float(printed))


def test_fixture_pairing_when_checked_on_string_check_runs_only_the_declared_rule_fits() -> None:
    # string_check outcomes depend on the item's text alone, so they fix the row order
    string_runs = [r for r in AZURE_RUN["runs"] if r["grader"]["type"] == "string_check"]
    assert string_runs
    for run in string_runs:
        for rule, should_fit in (("reversed", True), ("as-printed", False)):
            pairs = _paired(AZURE_RUN, run, rule)
            fits = all(_local(run["grader"], item) == float(score) for item, score in pairs)
            assert fits is should_fit, (run["name"], rule)


def test_fixture_when_read_cites_a_commit_and_where_each_number_is_printed() -> None:
    source = AZURE_RUN["source"]
    assert len(source["commit"]) == 40
    assert source["commit"] in source["url"]
    for run in AZURE_RUN["runs"]:
        assert len(run["ipynb_lines"]) == len(run["printed_scores"]) == len(AZURE_RUN["items"])


# --- METRIC_FIDELITY and fidelity_note --------------------------------------------------------


def test_metric_fidelity_when_listed_covers_every_metric_once() -> None:
    assert set(METRIC_FIDELITY) == set(METRICS)
    assert all(fidelity.metric == metric for metric, fidelity in METRIC_FIDELITY.items())


def test_metric_fidelity_when_read_only_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        METRIC_FIDELITY["bleu"] = METRIC_FIDELITY["gleu"]  # type: ignore[index]


def _published_rows(metric: str) -> int:
    return sum(
        len(run["printed_scores"])
        for run in AZURE_RUN["runs"]
        if run["grader"].get("evaluation_metric") == metric
    )


@pytest.mark.parametrize("metric", [m for m in METRICS if m != "cosine"])
def test_metric_fidelity_when_status_claimed_matches_the_published_evidence(metric: str) -> None:
    fidelity = METRIC_FIDELITY[metric]
    assert fidelity.rows == _published_rows(metric)
    if fidelity.rows:
        # every published row is reproduced by the test above, so the measured difference is 0
        assert (fidelity.status, fidelity.max_difference) == ("exact", 0.0)
        assert AZURE_RUN["source"]["commit"][:8] in fidelity.evidence
    else:
        assert (fidelity.status, fidelity.max_difference) == ("unconfirmed", None)
        assert "no published hosted score" in fidelity.evidence


@pytest.mark.parametrize("metric", METRICS)
def test_fidelity_note_when_metric_not_exact_is_one_line_naming_it_else_none(metric: str) -> None:
    note = fidelity_note(metric)
    if METRIC_FIDELITY[metric].status == "exact":
        assert note is None
    else:
        assert note is not None
        assert note.startswith(f"local {metric} ")
        assert "\n" not in note
        assert METRIC_FIDELITY[metric].implementation in note


@pytest.mark.parametrize("metric", ["rouge-l", "chrf", ""])
def test_fidelity_note_when_metric_unknown_raises_config_error_naming_the_field(metric: str) -> None:
    with pytest.raises(ConfigError, match="evaluation_metric"):
        fidelity_note(metric)


def test_fidelity_note_when_status_approximate_gives_the_measured_difference() -> None:
    fidelity = Fidelity("bleu", "approximate", "nltk sentence_bleu", "5 rows", rows=5, max_difference=0.0532)
    assert (
        fidelity.note()
        == "local bleu differs from published hosted scores by up to 0.0532 (nltk sentence_bleu)"
    )
