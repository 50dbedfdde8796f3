"""Specification of the name rule (rftkit_nb.core.names): which names can be reward-formula variables."""

from __future__ import annotations

import pytest

from rftkit_nb.core.graders import MultiGrader, PythonGrader
from rftkit_nb.core.lint import lint
from rftkit_nb.core.names import check_identifier, identifier_problem, is_identifier
from rftkit_nb.core.rubrics import AggregatorGrader
from rftkit_nb.errors import ConfigError

GRADE = "def grade(sample, item):\n    return 1.0\n"
NOT_IDENTIFIER = "not an identifier usable in the reward formula"

NAMES = [
    pytest.param("tone", None, id="plain"),
    pytest.param("tone_2", None, id="digit-inside"),
    pytest.param("_private", None, id="underscore-first"),
    pytest.param("max", None, id="formula-function-is-still-an-identifier"),
    pytest.param("2nd", NOT_IDENTIFIER, id="digit-first"),
    pytest.param("tone-2", NOT_IDENTIFIER, id="dash"),
    pytest.param("my reward", NOT_IDENTIFIER, id="space"),
    pytest.param("", NOT_IDENTIFIER, id="empty"),
    pytest.param("ton\u00e9", NOT_IDENTIFIER, id="non-ascii"),
    pytest.param(3, NOT_IDENTIFIER, id="not-a-string"),
    pytest.param("class", "a Python keyword; pick another name, e.g. 'class_score'", id="keyword"),
]


@pytest.mark.parametrize(("name", "problem"), NAMES)
def test_identifier_problem_when_asked_names_the_reason_or_none(name, problem):
    found = identifier_problem(name)
    assert found is None if problem is None else found.startswith(problem)
    if isinstance(name, str):
        assert is_identifier(name) is (problem is None)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        pytest.param("max", r"'max' is a function of the reward formula \(abs, ceil", id="formula-function"),
        pytest.param("class", "'class' is a Python keyword", id="keyword"),
        pytest.param("2nd", f"'2nd' is {NOT_IDENTIFIER}", id="digit-first"),
    ],
)
def test_check_identifier_when_refused_says_what_and_why(name, says):
    with pytest.raises(ConfigError, match=rf"^rubric name {says}"):
        check_identifier(name, "rubric name")


@pytest.mark.parametrize("name", ["lambda", "tone-2"], ids=["keyword", "dash"])
def test_every_caller_when_a_name_is_refused_gives_the_rules_reason(name):
    reason = identifier_problem(name)
    assert reason is not None
    grader = PythonGrader(name=name, source=GRADE)
    with pytest.raises(ConfigError) as multi:
        MultiGrader(name="m", graders={name: grader}, calculate_output="1")
    with pytest.raises(ConfigError) as aggregator:
        AggregatorGrader(name="agg", graders=[grader])
    found = [f.message for f in lint(grader) if f.where == f"{name}.name"]
    assert reason in str(multi.value)
    assert reason in str(aggregator.value)
    assert found == [f"name {name!r} is {reason}"]
