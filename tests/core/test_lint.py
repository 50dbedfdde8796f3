"""Specification of lint (rftkit_nb.core.lint): findings on deliberately broken graders.

Every case asserts the complete list of findings (level and field path), so a rule that fires too often
fails as surely as one that does not fire.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rftkit_nb.core.graders import (
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    grader_from_config,
)
from rftkit_nb.core.lint import Finding, LintReport, lint
from rftkit_nb.core.rubrics import AggregatorGrader, FormattingGrader, IndicatorGrader, RubricGrader

MODEL = "gpt-4.1-2025-04-14"
OUTPUT = "{{ sample.output_text }}"
SCRIPT = "def grade(sample, item):\n    return 1.0\n"
HOSTILE = "<script>alert(1)</script>"
USER_LAST = [{"role": "developer", "content": "Answer."}, {"role": "user", "content": "2 + 2?"}]


def _exact(**overrides: object) -> StringCheckGrader:
    fields = {"name": "exact", "input": OUTPUT, "reference": "{{ item.answer }}", "operation": "eq"}
    return StringCheckGrader(**{**fields, **overrides})


def _unchecked_exact(**overrides: object) -> StringCheckGrader:
    """A string_check grader built past validation, as a malformed one can only be built now."""
    fields = {"type": "string_check", "name": "exact", "input": OUTPUT, "reference": "{{ item.answer }}"}
    return StringCheckGrader.model_construct(**{**fields, "operation": "eq", **overrides})


def _python(source: str = SCRIPT, **overrides: object) -> PythonGrader:
    return PythonGrader(name="py", source=source, **overrides)


def _judge(**overrides: object) -> ScoreModelGrader:
    return ScoreModelGrader(**{"name": "judge", "model": MODEL, "input": "Rate " + OUTPUT, **overrides})


BROKEN = [
    pytest.param(
        lambda: LabelModelGrader(
            name="lbl", model=MODEL, input=OUTPUT, labels=["y", "n"], passing_labels=["y"]
        ),
        {},
        [("error", "lbl", "label_model is an evals grader")],
        id="label_model-top-level",
    ),
    pytest.param(
        lambda: TextSimilarityGrader(name="sim", input=OUTPUT, reference="r", evaluation_metric="cosine"),
        {},
        [("error", "sim.evaluation_metric", "cosine is evals-only")],
        id="cosine-for-rft",
    ),
    pytest.param(
        lambda: TextSimilarityGrader(
            name="sim", input=OUTPUT, reference="r", evaluation_metric="bleu", pass_threshold=0.5
        ),
        {},
        [("warning", "sim.pass_threshold", "evals-only")],
        id="pass_threshold-text_similarity",
    ),
    pytest.param(
        lambda: _judge(pass_threshold=0.5),
        {},
        [("warning", "judge.pass_threshold", "evals-only")],
        id="pass_threshold-score_model",
    ),
    pytest.param(
        lambda: _python(pass_threshold=0.5),
        {},
        [("warning", "py.pass_threshold", "evals-only")],
        id="pass_threshold-python",
    ),
    pytest.param(
        lambda: _judge(model="o3-2025-04-16", sampling_params={"temperature": 0.3}),
        {},
        [("warning", "judge.sampling_params.temperature", "reasoning model")],
        id="reasoning-model-with-temperature",
    ),
    pytest.param(
        lambda: _judge(model="o3-2025-04-16", sampling_params={"temperature": 0.3}),
        {"strict_sampling": True},
        [("error", "judge.sampling_params.temperature", "reasoning model")],
        id="reasoning-model-with-temperature-strict",
    ),
    pytest.param(
        lambda: _judge(sampling_params={"reasoning_effort": "high"}),
        {},
        [("warning", "judge.sampling_params.reasoning_effort", "not a reasoning model")],
        id="non-reasoning-model-with-effort",
    ),
    pytest.param(
        lambda: _judge(model="gpt-7-ultra"),
        {},
        [("warning", "judge.model", "not in OpenAI's documented grader-model list")],
        id="unknown-model",
    ),
    pytest.param(
        lambda: _judge(range=(0, 10)),
        {},
        [("warning", "judge.range", "leaves [0, 1]")],
        id="top-level-range-outside-0-1",
    ),
    pytest.param(
        lambda: _python("import requests\n\n" + SCRIPT),
        {},
        [("warning", "py.source", "imports requests: python graders have no network access")],
        id="imports-requests",
    ),
    pytest.param(
        lambda: _python("from socket import create_connection\n\n" + SCRIPT),
        {},
        [("warning", "py.source", "imports socket")],
        id="imports-socket",
    ),
    pytest.param(
        lambda: _python("import leftpad_plus\n\n" + SCRIPT),
        {},
        [("warning", "py.source", "does not list")],
        id="imports-unlisted-package",
    ),
    pytest.param(
        lambda: _python(SCRIPT + "#" * (256 * 1024 - len(SCRIPT))),
        {},
        [("error", "py.source", "the service takes less than 262,144")],
        id="source-of-exactly-256-kB",
    ),
    pytest.param(
        lambda: _python(image_tag="alpha"),
        {},
        [("warning", "py.image_tag", "undocumented")],
        id="unknown-image_tag",
    ),
    pytest.param(
        lambda: MultiGrader(name="m", graders={"a": _exact(), "b": _exact(name="b")}, calculate_output="a"),
        {},
        [("warning", "m.graders", "['b'] are not used")],
        id="unused-multi-key",
    ),
    pytest.param(
        lambda: MultiGrader(name="m", graders={"a": _exact()}, calculate_output="1 + -a"),
        {},
        [("warning", "m.calculate_output", "unary minus")],
        id="unary-minus",
    ),
    pytest.param(
        lambda: MultiGrader(
            name="m",
            graders={"j": _judge(model="o1-2024-12-17", sampling_params={"temperature": 1.0})},
            calculate_output="j",
        ),
        {},
        [("warning", "m.graders.j.sampling_params.temperature", "reasoning model")],
        id="sub-grader-findings-name-their-key",
    ),
    pytest.param(
        lambda: MultiGrader(
            name="m",
            graders={
                "lbl": LabelModelGrader(
                    name="l", model=MODEL, input=OUTPUT, labels=["y"], passing_labels=["y"]
                )
            },
            calculate_output="lbl",
        ),
        {},
        [("warning", "m.graders.lbl", "RFT support is unconfirmed")],
        id="label_model-inside-multi",
    ),
    pytest.param(
        lambda: _unchecked_exact(input="{{ answer.text }}"),
        {},
        [("error", "exact.input", "namespace 'answer'")],
        id="bad-template-namespace",
    ),
    pytest.param(
        lambda: _unchecked_exact(input="{{ sample.output }}"),
        {},
        [("error", "exact.input", "does not exist")],
        id="unknown-sample-variable",
    ),
    pytest.param(
        lambda: _exact(input="{{ sample.output_json.answer }}"),
        {},
        [("info", "exact.input", "response_format")],
        id="sample-output_json",
    ),
    pytest.param(
        lambda: grader_from_config({"type": "future_grader", "name": "ep", "url": "https://example.com"}),
        {},
        [("warning", "ep", "not one of OpenAI's RFT grader types")],
        id="unknown-type",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": USER_LAST}, {"messages": USER_LAST}]},
        [("error", "exact.reference", "absent in 1 of 2 rows")],
        id="dataset-row-missing-an-item-field",
    ),
    pytest.param(
        _exact,
        {"dataset": pd.DataFrame([{"answer": "4", "messages": USER_LAST}, {"messages": USER_LAST}])},
        [("error", "exact.reference", "absent in 1 of 2 rows")],
        id="dataframe-row-missing-an-item-field",
    ),
    pytest.param(
        _exact,
        {
            "dataset": pd.DataFrame(
                {"answer": pd.to_datetime(["2025-01-01", None]), "messages": [USER_LAST] * 2}
            )
        },
        [("error", "exact.reference", "absent in 1 of 2 rows (rows 1...)")],
        id="dataframe-nat-cell-is-missing",
    ),
    pytest.param(
        _exact,
        {
            "dataset": pd.DataFrame(
                {"answer": pd.array([4, None], dtype="Int64"), "messages": [USER_LAST] * 2}
            )
        },
        [("error", "exact.reference", "absent in 1 of 2 rows (rows 1...)")],
        id="dataframe-na-cell-is-missing",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": [*USER_LAST, {"role": "assistant", "content": "4"}]}]},
        [("warning", "dataset.messages", "last message is not a user turn")],
        id="last-message-not-user",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": [{"role": "system", "content": "x"}, USER_LAST[1]]}]},
        [("error", "dataset.messages", "['system'] are not allowed")],
        id="system-role-in-rows",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": USER_LAST}, {"answer": "5"}]},
        [("error", "dataset.messages", "1 rows have no messages")],
        id="row-without-messages",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4"}, {"answer": "5"}]},
        [("warning", "dataset.messages", "RFT rows need messages")],
        id="no-row-has-messages",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": USER_LAST}, {"answer": "5", "messages": "2 + 2?"}]},
        [("error", "dataset.messages", "1 rows have malformed messages (first: row 1: messages is str")],
        id="messages-is-a-string",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": USER_LAST}, {"answer": "5", "messages": ["2 + 2?", 4]}]},
        [("error", "dataset.messages", "(first: row 1: messages[0] is str, not a {role, content} object)")],
        id="a-message-is-a-string",
    ),
    pytest.param(
        _exact,
        {"dataset": [{"answer": "4", "messages": USER_LAST}, "a row that is text"]},
        [("error", "exact.reference", "absent in 1 of 2 rows"), ("error", "dataset", "row 1")],
        id="a-row-is-not-an-object",
    ),
    pytest.param(
        lambda: _exact(name="exact match"),
        {},
        [("error", "exact match.name", "'exact match' is not an identifier")],
        id="name-not-an-identifier",
    ),
    pytest.param(
        lambda: MultiGrader(name="m", graders={"a": _exact(), "b": _exact()}, calculate_output="(a + b) / 2"),
        {},
        [("error", "m.graders.b.name", "'exact' is also the name of m.graders.a")],
        id="sub-grader-names-repeat",
    ),
    pytest.param(
        lambda: MultiGrader(name="m", graders={"a": _exact(name="m")}, calculate_output="a"),
        {},
        [("error", "m.graders.a.name", "'m' is also the name of m;")],
        id="sub-grader-named-like-the-multi",
    ),
    pytest.param(
        lambda: FormattingGrader(name="fmt"),
        {},
        [("info", "fmt", "checks only that the output is a JSON object")],
        id="formatting-that-checks-nothing",
    ),
    pytest.param(
        lambda: _judge(input="Rate the answer to {{ item.question }}"),
        {},
        [("warning", "judge.input", "the judge never sees the model's output: add {{ sample.output_text }}")],
        id="score_model-reads-no-sample",
    ),
    pytest.param(
        lambda: _judge(
            input=[
                {"role": "developer", "content": "Rate it."},
                {"role": "user", "content": [{"type": "input_text", "text": "{{ item.question }}"}]},
            ]
        ),
        {},
        [("warning", "judge.input", "never sees the model's output")],
        id="score_model-messages-read-no-sample",
    ),
    pytest.param(
        lambda: LabelModelGrader(
            name="lbl",
            model=MODEL,
            input="Is {{ item.question }} polite?",
            labels=["y"],
            passing_labels=["y"],
        ),
        {"for_rft": False},
        [("warning", "lbl.input", "never sees the model's output")],
        id="label_model-reads-no-sample",
    ),
    pytest.param(
        lambda: MultiGrader(
            name="m", graders={"j": _judge(input="Rate {{ item.question }}")}, calculate_output="j"
        ),
        {},
        [("warning", "m.graders.j.input", "never sees the model's output")],
        id="sub-judge-reads-no-sample",
    ),
    pytest.param(
        lambda: _exact(input="{{ item.answer }}", reference="4"),
        {},
        [("warning", "exact", "neither input nor reference reads the model's output")],
        id="string_check-reads-no-sample",
    ),
    pytest.param(
        lambda: TextSimilarityGrader(
            name="sim", input="{{ item.reference }}", reference="r", evaluation_metric="bleu"
        ),
        {},
        [("warning", "sim", "put {{ sample.output_text }} in one of them")],
        id="text_similarity-reads-no-sample",
    ),
    pytest.param(
        lambda: _unchecked_exact(reference="{{ item.answer"),
        {},
        [("error", "exact.reference", "template variable at position 0 ('{{ item.answer') is never closed")],
        id="template-never-closed",
    ),
    pytest.param(
        lambda: _python("def grade(sample, item):\n    return helper(sample) * LIMIT\n"),
        {},
        [("error", "py.source", "uses LIMIT, helper, which the source neither defines nor imports")],
        id="python-uses-undefined-names",
    ),
    pytest.param(
        lambda: _python("import math\n\ndef grade(sample, item):\n    return floor(math.pi)\n"),
        {},
        [("error", "py.source", "uses floor, which")],
        id="python-uses-a-name-it-did-not-import",
    ),
    pytest.param(
        lambda: _python("from math import *\n\ndef grade(sample, item):\n    return floor(pi)\n"),
        {},
        [("warning", "py.source", "uses floor, pi, which the source defines nowhere (unless its `import *`")],
        id="python-star-import",
    ),
    pytest.param(
        lambda: _python("nonlocal x\n\n" + SCRIPT),
        {},
        [("error", "py.source", "source does not compile: nonlocal declaration not allowed at module level")],
        id="python-parses-but-does-not-compile",
    ),
]


@pytest.mark.parametrize(("build", "options", "expected"), BROKEN)
def test_lint_when_grader_is_broken_reports_exactly_the_expected_findings(build, options, expected):
    report = lint(build(), **options)
    assert [(f.level, f.where) for f in report] == [(level, where) for level, where, _ in expected]
    for finding, (_, _, words) in zip(report, expected, strict=True):
        assert words in finding.message


CLEAN = [
    pytest.param(_exact, id="string_check"),
    pytest.param(
        lambda: _judge(range=(0, 1), sampling_params={"temperature": 0.0, "seed": 3}), id="score_model"
    ),
    pytest.param(
        lambda: _python("import json\nimport numpy as np\n\n" + SCRIPT, image_tag="2025-05-08"), id="python"
    ),
    pytest.param(
        lambda: MultiGrader(
            name="m",
            graders={
                "a": _exact(),
                "j": _judge(model="o4-mini-2025-04-16", sampling_params={"reasoning_effort": "low"}),
            },
            calculate_output="0.5 * a + 0.5 * j",
        ),
        id="multi",
    ),
    pytest.param(
        lambda: AggregatorGrader(
            name="agg",
            graders=[
                FormattingGrader(name="fmt", required_fields=["answer"]),
                RubricGrader(name="acc", rubric="Right?"),
            ],
            formatting_grader_name="fmt",
        ),
        id="seed-aggregator",
    ),
    pytest.param(
        lambda: _exact(input="{{ item.answer }}", reference="{{ sample.output_text }}"),
        id="string_check-sample-in-reference",
    ),
    pytest.param(
        lambda: _judge(
            input=[{"role": "developer", "content": "Rate."}, {"role": "user", "content": OUTPUT}]
        ),
        id="score_model-sample-in-one-message",
    ),
    pytest.param(
        lambda: _python(
            "import math as m\nfrom json import loads\ntry:\n    import numpy\nexcept ImportError:\n"
            "    numpy = None\n\nclass Box:\n    k = 2\n\ndef _set():\n    global SEEN\n    SEEN = 1\n\n"
            "def grade(sample, item):\n    _set()\n    xs = [len(w) for w in loads('[]')]\n"
            "    return float(m.pi * Box.k * SEEN * len(xs) * (numpy is None) * __name__.count('x'))\n"
        ),
        id="python-defines-or-imports-every-name",
    ),
    pytest.param(
        lambda: IndicatorGrader(
            name="ind", rubric_name="accuracy", cluster_map={"math": ["accuracy"], "chat": ["tone"]}
        ),
        id="generated-indicator",
    ),
]


@pytest.mark.parametrize("build", CLEAN)
def test_lint_when_grader_is_clean_reports_no_findings(build):
    report = lint(build(), dataset=[{"answer": "4", "messages": USER_LAST}])
    assert report == []
    assert report.ok
    assert repr(report) == "lint: no findings"


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda: LabelModelGrader(
                name="lbl", model=MODEL, input=OUTPUT, labels=["y"], passing_labels=["y"]
            ),
            id="label_model",
        ),
        pytest.param(
            lambda: TextSimilarityGrader(name="sim", input=OUTPUT, reference="r", evaluation_metric="cosine"),
            id="cosine",
        ),
    ],
)
def test_lint_when_not_for_rft_accepts_evals_only_graders(build):
    assert lint(build(), for_rft=False) == []


def test_lint_when_rows_lack_messages_but_not_for_rft_accepts_them_as_items():
    assert lint(_exact(), dataset=[{"answer": "4"}, {"answer": "5"}], for_rft=False) == []


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"required_fields": ["answer"]}, id="required-fields"),
        pytest.param({"json_schema": {"type": "object"}}, id="json-schema"),
        pytest.param({"source": SCRIPT}, id="own-source"),
    ],
)
def test_lint_when_formatting_grader_checks_something_reports_nothing(options):
    assert lint(FormattingGrader(name="fmt", **options)) == []


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: _judge(pass_threshold=0.5), id="score_model"),
        pytest.param(lambda: _python(pass_threshold=0.5), id="python"),
        pytest.param(
            lambda: TextSimilarityGrader(
                name="sim", input=OUTPUT, reference="r", evaluation_metric="bleu", pass_threshold=0.5
            ),
            id="text_similarity",
        ),
    ],
)
def test_lint_when_pass_threshold_is_set_anywhere_says_the_same_thing(build):
    (finding,) = lint(build())
    assert finding.message == "pass_threshold is evals-only; RFT ignores it (leave it out)"


def test_lint_when_multi_is_nested_despite_validation_reports_an_error():
    inner = MultiGrader(name="inner", graders={"a": _exact()}, calculate_output="a")
    outer = MultiGrader.model_construct(
        type="multi", name="outer", graders={"i": inner}, calculate_output="i"
    )
    assert [(f.level, f.where) for f in lint(outer)] == [("error", "outer.graders.i")]


# ------------------------------------------------------------------------------------------- report


def test_lint_report_when_it_has_findings_filters_errors_and_warnings():
    report = LintReport(
        [Finding("error", "a", "broken"), Finding("warning", "b", "odd"), Finding("info", "c", "fyi")]
    )
    assert [f.where for f in report.errors] == ["a"]
    assert [f.where for f in report.warnings] == ["b"]
    assert not report.ok
    assert repr(report).splitlines() == [
        "lint: 1 error(s), 1 warning(s)",
        "error   a: broken",
        "warning b: odd",
        "info    c: fyi",
    ]


def test_lint_report_repr_html_when_text_is_hostile_escapes_it():
    report = lint(_judge(name=HOSTILE, model=HOSTILE))
    assert report  # the unknown model is reported, with the hostile text in it
    html = report._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_lint_report_repr_html_when_empty_says_no_findings():
    assert "none" in LintReport()._repr_html_()
