"""Formula.depends_on: which unknown scores can still move the result, given the known ones.

The scoring engine skips a judge on a row when the reward cannot depend on it, so this must never
drop a variable that matters (soundness, checked by a property test), and must drop the masked ones.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rftkit_nb.core.formula import parse_formula
from rftkit_nb.errors import FormulaEvaluationError

NORMALISED = "(0.2 * fmt + m_a * 1 * a + m_c * 0.5 * c) / max(0.2 + m_a * 1 + m_c * 0.5, 0.000001)"


@pytest.mark.parametrize(
    ("text", "known", "expected"),
    [
        pytest.param(NORMALISED, {"fmt": 1.0, "m_a": 1.0, "m_c": 0.0}, {"a"}, id="masked-rubric-drops"),
        pytest.param(NORMALISED, {"fmt": 1.0, "m_a": 0.0, "m_c": 0.0}, set(), id="nothing-applies"),
        pytest.param(NORMALISED, {"fmt": 1.0, "m_a": 1.0, "m_c": 1.0}, {"a", "c"}, id="all-apply"),
        pytest.param("a * m", {"m": 0.0}, set(), id="zero-factor-on-the-right"),
        pytest.param("a * b * (1 - b)", {}, {"a", "b"}, id="nonlinear-keeps-both"),
        pytest.param("min(x, a)", {"x": 0.0}, {"a"}, id="min-is-not-shortcut"),
        pytest.param("a / m", {"m": 0.0}, {"a"}, id="division-by-known-zero-stays-conservative"),
        pytest.param("0 / a", {}, {"a"}, id="zero-over-unknown-depends-on-it"),
        pytest.param("-m * a", {"m": 0.0}, set(), id="negative-zero-is-zero"),
        pytest.param("m ^ a", {"m": 0.0}, {"a"}, id="power-keeps-exponent"),
    ],
)
def test_depends_on_when_some_scores_known_then_exactly_the_movable_unknowns(text, known, expected):
    assert parse_formula(text).depends_on(known) == expected


NAMES = ("a", "b", "m")
leaves = st.one_of(st.sampled_from(NAMES), st.sampled_from(["0", "1", "0.5", "2"]))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    calls = st.tuples(st.sampled_from(["min", "max"]), children, children).map(
        lambda t: f"{t[0]}({t[1]}, {t[2]})"
    )
    unary = st.tuples(st.sampled_from(["abs", "floor", "exp"]), children).map(lambda t: f"{t[0]}({t[1]})")
    return st.one_of(binary, calls, unary)


formulas = st.recursive(leaves, _combine, max_leaves=8)
values = st.sampled_from([0.0, 0.25, 1.0, 3.0])


def _value(text: str, scores: dict[str, float]) -> float | None:
    try:
        return parse_formula(text).evaluate(scores)
    except FormulaEvaluationError:
        return None


@settings(max_examples=300, deadline=None)
@given(formulas, st.dictionaries(st.sampled_from(NAMES), values), st.lists(values, min_size=2, max_size=2))
def test_depends_on_when_variable_dropped_then_it_never_changes_the_result(text, known, probes):
    formula = parse_formula(text)
    movable = formula.depends_on(known)
    for name in formula.variables - set(known) - movable:
        others = {n: 0.5 for n in formula.variables - set(known) - {name}}
        first = _value(text, {**known, **others, name: probes[0]})
        second = _value(text, {**known, **others, name: probes[1]})
        # (A dropped variable may still decide whether the formula errors, e.g. 0 * (1 / a) at a = 0;
        # the reward's value never depends on it.)
        if first is not None and second is not None:
            assert math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-12), (text, known, name)
