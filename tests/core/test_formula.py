"""Specification of the calculate_output formula language (rftkit_nb.core.formula)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rftkit_nb.core.formula import FUNCTIONS, Formula, check_formula, evaluate_formula, parse_formula
from rftkit_nb.errors import ConfigError, FormulaError, FormulaEvaluationError, GradingError

# ----------------------------------------------------------------------------------------- valid formulas

VALID = [
    pytest.param("0.5 * a + 0.5 * b", {"a": 1.0, "b": 0.5}, 0.75, id="weighted-sum"),
    pytest.param("(name + email) / 2", {"name": 1.0, "email": 0.0}, 0.5, id="mean-of-two"),
    pytest.param("min(a, b)", {"a": 0.2, "b": 0.7}, 0.2, id="min"),
    pytest.param("max(a, b, c)", {"a": 0.2, "b": 0.9, "c": 0.4}, 0.9, id="max-of-three"),
    pytest.param("min(a, b, c, 0.1)", {"a": 0.2, "b": 0.9, "c": 0.4}, 0.1, id="min-of-four-with-literal"),
    pytest.param("2 ^ 3 ^ 2", {}, 512.0, id="power-right-assoc"),
    pytest.param("(2 ^ 3) ^ 2", {}, 64.0, id="power-parenthesised"),
    pytest.param("2 * 3 ^ 2", {}, 18.0, id="power-binds-tighter-than-times"),
    pytest.param("-2 ^ 2", {}, -4.0, id="power-binds-tighter-than-unary-minus"),
    pytest.param("2 ^ -1", {}, 0.5, id="negative-exponent"),
    pytest.param("-a", {"a": 0.25}, -0.25, id="unary-minus"),
    pytest.param("- -a", {"a": 0.25}, 0.25, id="double-unary-minus"),
    pytest.param("a - -b", {"a": 1.0, "b": 2.0}, 3.0, id="minus-unary-minus"),
    pytest.param("1 - 2 - 3", {}, -4.0, id="minus-left-assoc"),
    pytest.param("8 / 4 / 2", {}, 1.0, id="divide-left-assoc"),
    pytest.param("2 + 3 * 4", {}, 14.0, id="times-before-plus"),
    pytest.param("(2 + 3) * 4", {}, 20.0, id="parentheses"),
    pytest.param("abs(a - b)", {"a": 0.2, "b": 0.7}, 0.5, id="abs"),
    pytest.param("floor(2.7) + ceil(2.1)", {}, 5.0, id="floor-ceil"),
    pytest.param("exp(0) + log(1) + sqrt(9)", {}, 4.0, id="exp-log-sqrt"),
    pytest.param("log(exp(2))", {}, 2.0, id="log-is-natural"),
    pytest.param("1e-6 * 1e6", {}, 1.0, id="exponent-literals"),
    pytest.param("1.5E+2", {}, 150.0, id="exponent-upper-plus"),
    pytest.param(".5 + 5.", {}, 5.5, id="bare-decimal-points"),
    pytest.param("  a\n+\tb  ", {"a": 1.0, "b": 2.0}, 3.0, id="any-whitespace"),
    pytest.param("score_1 * w_2", {"score_1": 0.5, "w_2": 4}, 2.0, id="identifiers-and-int-scores"),
    pytest.param("a", {"a": True}, 1.0, id="bool-score-is-number"),
    pytest.param("+".join(["a"] * 1000), {"a": 0.001}, 1.0, id="long-sum-stays-flat"),
]


@pytest.mark.parametrize(("text", "scores", "expected"), VALID)
def test_evaluate_when_formula_is_valid_returns_hand_computed_value(text, scores, expected):
    assert math.isclose(parse_formula(text).evaluate(scores), expected, rel_tol=1e-12)
    assert math.isclose(evaluate_formula(text, scores), expected, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("text", "undocumented"),
    [
        pytest.param("-a", ("unary minus",), id="unary-minus"),
        pytest.param("2 ^ -x + -y", ("unary minus",), id="unary-minus-once"),
        pytest.param("+a", ("unary plus",), id="unary-plus"),
        pytest.param("a - b", (), id="binary-minus-is-documented"),
        pytest.param("min(a, b) ^ 2", (), id="documented-only"),
    ],
)
def test_parse_when_formula_uses_undocumented_syntax_records_it(text, undocumented):
    assert parse_formula(text).undocumented == undocumented


def test_parse_when_formula_calls_functions_variables_exclude_function_names():
    formula = parse_formula("min(a, b) + log(c_1) * sqrt(a)")
    assert formula.variables == frozenset({"a", "b", "c_1"})
    assert formula.text == "min(a, b) + log(c_1) * sqrt(a)"


def test_functions_when_listed_are_the_documented_eight():
    assert frozenset({"min", "max", "abs", "floor", "ceil", "exp", "sqrt", "log"}) == FUNCTIONS


def test_formula_when_parsed_twice_is_equal_and_immutable():
    first, second = parse_formula("a + b"), parse_formula("a + b")
    assert first == second
    assert hash(first) == hash(second)
    assert isinstance(first, Formula)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.text = "c"  # type: ignore[misc]


def test_evaluate_when_called_many_times_gives_the_same_result_per_row():
    formula = parse_formula("(w * a + b) / (w + 1)")
    rows = [{"w": float(i), "a": 1.0, "b": 0.0} for i in range(50)]
    assert [formula.evaluate(r) for r in rows] == [i / (i + 1) for i in range(50)]


# --------------------------------------------------------------------------------------- invalid formulas

INVALID = [
    pytest.param("", 0, "empty", id="empty"),
    pytest.param("   ", 3, "empty", id="blank"),
    pytest.param("(a + b)) / 2", 7, "unexpected ')'", id="stray-close-paren"),
    pytest.param("a ** 2", 2, "use '^'", id="double-star"),
    pytest.param("a > b", 2, "comparisons", id="greater-than"),
    pytest.param("a == b", 2, "comparisons", id="equals"),
    pytest.param("a <= b", 2, "comparisons", id="less-equal"),
    pytest.param("round(a)", 0, "unknown function 'round'", id="round"),
    pytest.param("0.5 * foo(a)", 6, "unknown function 'foo'", id="unknown-function"),
    pytest.param("MIN(a, b)", 0, "did you mean 'min'", id="uppercase-function"),
    pytest.param("a +", 3, "unexpected end", id="dangling-operator"),
    pytest.param("(a + b", 6, "missing ')'", id="unclosed-paren"),
    pytest.param("min(a)", 0, "2 or more arguments", id="min-one-arg"),
    pytest.param("max()", 4, "unexpected ')'", id="max-no-args"),
    pytest.param("abs(a, b)", 0, "exactly 1 argument", id="abs-two-args"),
    pytest.param("a b", 2, "unexpected 'b'", id="trailing-name"),
    pytest.param("a + b 3", 6, "unexpected '3'", id="trailing-number"),
    pytest.param("2 ^ ", 4, "unexpected end", id="dangling-power"),
    pytest.param("a & b", 2, "unexpected character '&'", id="ampersand"),
    pytest.param("a % b", 2, "unexpected character '%'", id="modulo"),
    pytest.param("log", 0, "is a function", id="function-as-variable"),
    pytest.param("1.2.3", 0, "malformed number", id="two-decimal-points"),
    pytest.param("2a", 0, "malformed number", id="implicit-product"),
    pytest.param("1e", 0, "malformed number", id="exponent-without-digits"),
    pytest.param("min(a,)", 6, "unexpected ')'", id="trailing-comma"),
    pytest.param("a, b", 1, "unexpected ','", id="top-level-comma"),
    pytest.param("()", 1, "unexpected ')'", id="empty-parens"),
    pytest.param("max(a b)", 6, "expected an operator or ')'", id="missing-comma"),
    pytest.param("a * / b", 4, "unexpected '/'", id="two-operators"),
    pytest.param("1e999", 0, "too large", id="literal-overflow"),
    pytest.param("-" * 300 + "a", 101, "nests deeper than 200", id="deep-unary"),
]


@pytest.mark.parametrize(("text", "position", "problem"), INVALID)
def test_parse_when_formula_is_invalid_raises_formula_error_at_position(text, position, problem):
    with pytest.raises(FormulaError) as caught:
        parse_formula(text)
    assert caught.value.position == position
    assert problem in caught.value.problem
    assert f"at position {position}" in str(caught.value)
    assert caught.value.formula == text


def test_parse_when_close_paren_is_stray_message_names_position_and_problem():
    with pytest.raises(FormulaError) as caught:
        parse_formula("(a + b)) / 2")
    assert str(caught.value) == "formula error at position 7 in '(a + b)) / 2': unexpected ')'"
    assert isinstance(caught.value, ConfigError)


def test_parse_when_parentheses_nest_past_the_recursion_limit_raises_formula_error():
    with pytest.raises(FormulaError, match="nests too deeply"):
        parse_formula("(" * 2000 + "a" + ")" * 2000)


def test_parse_when_text_is_not_a_string_raises_formula_error():
    with pytest.raises(FormulaError, match="must be a string"):
        parse_formula(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- evaluation errors

EVALUATION_ERRORS = [
    pytest.param(
        "a + c", {"a": 1.0, "b": 2.0}, "the score 'c' is missing (scores given: a, b)", id="missing"
    ),
    pytest.param("a / (b - 1)", {"a": 1.0, "b": 1.0}, "division by zero: '(b - 1)' is 0", id="div-zero"),
    pytest.param("1 + a / b - 2", {"a": 1.0, "b": 0}, "division by zero: 'b' is 0", id="div-zero-chain"),
    pytest.param("log(a)", {"a": 0.0}, "log of a number <= 0: 'a' is 0.0", id="log-zero"),
    pytest.param("log(a - 2)", {"a": 1.0}, "log of a number <= 0: 'a - 2' is -1.0", id="log-negative"),
    pytest.param("sqrt(a)", {"a": -1.0}, "sqrt of a negative number", id="sqrt-negative"),
    pytest.param("a * 1e300 * 1e300", {"a": 1.0}, "overflow", id="overflow-times"),
    pytest.param("a * 1e300", {"a": 1e300}, "overflow", id="overflow-binary"),
    pytest.param("a + 1e308", {"a": 1e308}, "overflow", id="overflow-plus"),
    pytest.param("a / 1e-300", {"a": 1e300}, "overflow", id="overflow-divide"),
    pytest.param("exp(a)", {"a": 1000.0}, "overflow: exp(a)", id="overflow-exp"),
    pytest.param("10 ^ a", {"a": 400.0}, "overflow", id="overflow-power"),
    pytest.param("0 ^ a", {"a": -1.0}, "0 raised to a negative power", id="zero-negative-power"),
    pytest.param("a ^ 0.5", {"a": -8.0}, "negative number raised to a fractional power", id="complex-power"),
    pytest.param("a", {"a": float("nan")}, "not a finite number", id="nan-score"),
    pytest.param("a", {"a": float("inf")}, "not a finite number", id="inf-score"),
    pytest.param("a", {"a": None}, "is None, not a number", id="none-score"),
    pytest.param("a", {"a": "0.5"}, "not a number", id="string-score"),
]


@pytest.mark.parametrize(("text", "scores", "problem"), EVALUATION_ERRORS)
def test_evaluate_when_row_cannot_be_computed_raises_evaluation_error_naming_problem(text, scores, problem):
    with pytest.raises(FormulaEvaluationError) as caught:
        parse_formula(text).evaluate(scores)
    assert problem in str(caught.value)
    assert repr(text) in str(caught.value)
    assert isinstance(caught.value, GradingError)
    assert caught.value.category == "other_error"


def test_evaluate_when_scores_are_missing_lists_at_most_eight_keys():
    scores = {f"k{i}": 0.0 for i in range(12)}
    with pytest.raises(FormulaEvaluationError, match=r"k7, \.\.\. \(4 more\)"):
        evaluate_formula("zzz", scores)


# ---------------------------------------------------------------------------------------- check_formula


@pytest.mark.parametrize(
    ("text", "keys", "unknown", "unused"),
    [
        pytest.param("(a + c) / 2", ["a", "b"], {"c"}, {"b"}, id="both"),
        pytest.param("(a + b) / 2", ["a", "b"], set(), set(), id="exact"),
        pytest.param("min(a, b)", ("a", "b", "tone"), set(), {"tone"}, id="unused-only"),
        pytest.param("x * 2", [], {"x"}, set(), id="no-keys"),
        pytest.param("1", iter(["a"]), set(), {"a"}, id="iterator-keys"),
    ],
)
def test_check_formula_when_keys_differ_returns_unknown_and_unused(text, keys, unknown, unused):
    assert check_formula(text, keys) == (unknown, unused)


def test_check_formula_when_formula_does_not_parse_raises_formula_error():
    with pytest.raises(FormulaError, match="position 4"):
        check_formula("a + ", ["a"])


def test_evaluate_formula_when_formula_does_not_parse_raises_formula_error_each_time():
    for _ in range(2):
        with pytest.raises(FormulaError, match="unknown function 'round'"):
            evaluate_formula("round(a)", {"a": 1.0})


# --------------------------------------------------------------------------- property tests on trees

_VARIABLES = ("a", "b", "c_1", "score")
_ADDITIVE = {"+": 1, "-": 1, "*": 2, "/": 2}
_numbers = st.one_of(
    st.integers(0, 100).map(float),
    st.floats(0, 1e3, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 0.5, 1e-6, 1e300]),
)
_leaves = st.one_of(
    st.tuples(st.just("num"), _numbers), st.tuples(st.just("var"), st.sampled_from(_VARIABLES))
)


def _extend(children):
    unary_fns = st.sampled_from(sorted(FUNCTIONS - {"min", "max"}))
    return st.one_of(
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("bin"), st.sampled_from([*_ADDITIVE, "^"]), children, children),
        st.tuples(st.just("call"), unary_fns, st.lists(children, min_size=1, max_size=1)),
        st.tuples(
            st.just("call"), st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=4)
        ),
    )


_trees = st.recursive(_leaves, _extend, max_leaves=12)
_scores = st.fixed_dictionaries(
    {
        name: st.one_of(
            st.floats(-10, 10, allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, 1.0, -1.0, 1e300]),
        )
        for name in _VARIABLES
    }
)


class _Undefined(Exception):
    """The reference computation has no real, finite value for this tree."""


def _checked(value: float | complex) -> float:
    if isinstance(value, complex) or not math.isfinite(value):
        raise _Undefined
    return value


def _reference(tree, scores) -> float:
    """Evaluate the tree directly with Python arithmetic, independently of the parser."""
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return scores[tree[1]]
    if kind == "neg":
        return -_reference(tree[1], scores)
    if kind == "bin":
        left, right = _reference(tree[2], scores), _reference(tree[3], scores)
        try:
            return _checked(_apply(tree[1], left, right))
        except (ZeroDivisionError, OverflowError) as e:
            raise _Undefined from e
    args = [_reference(child, scores) for child in tree[2]]
    return _call(tree[1], args)


def _apply(op: str, left: float, right: float) -> float | complex:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    return left**right


def _call(name: str, args: list[float]) -> float:
    if name in ("min", "max"):
        return min(args) if name == "min" else max(args)
    (x,) = args
    if (name == "log" and x <= 0) or (name == "sqrt" and x < 0):
        raise _Undefined
    table = {
        "abs": abs,
        "floor": math.floor,
        "ceil": math.ceil,
        "exp": math.exp,
        "sqrt": math.sqrt,
        "log": math.log,
    }
    try:
        return _checked(float(table[name](x)))
    except OverflowError as e:
        raise _Undefined from e


def _precedence(tree) -> int:
    if tree[0] == "bin":
        return _ADDITIVE.get(tree[1], 4)
    return 3 if tree[0] == "neg" else 5


def _show(tree, minimal: bool) -> str:
    """Print a tree as formula text: with as few parentheses as precedence allows, or fully wrapped."""

    def wrap(child, needs: bool) -> str:
        text = _show(child, minimal)
        return f"({text})" if needs or not minimal else text

    kind = tree[0]
    if kind == "num":
        return repr(tree[1])
    if kind == "var":
        return tree[1]
    if kind == "neg":
        return "-" + wrap(tree[1], _precedence(tree[1]) < 3)
    if kind == "call":
        return f"{tree[1]}({', '.join(_show(c, minimal) for c in tree[2])})"
    op, left, right = tree[1], tree[2], tree[3]
    if op == "^":  # the base is a primary; the exponent may be a unary minus
        return f"{wrap(left, _precedence(left) < 5)} ^ {wrap(right, _precedence(right) < 3)}"
    level = _ADDITIVE[op]
    return f"{wrap(left, _precedence(left) < level)} {op} {wrap(right, _precedence(right) <= level)}"


def _nodes(tree):
    yield tree
    if tree[0] in ("neg", "bin", "call"):
        children = tree[2] if tree[0] == "call" else [c for c in tree[1:] if isinstance(c, tuple)]
        for child in children:
            yield from _nodes(child)


@settings(max_examples=400, deadline=None)
@given(tree=_trees, scores=_scores, minimal=st.booleans())
def test_evaluate_when_tree_is_printed_matches_reference_or_raises_exactly_when_undefined(
    tree, scores, minimal
):
    formula = parse_formula(_show(tree, minimal))
    try:
        expected = _reference(tree, scores)
    except _Undefined:
        with pytest.raises(FormulaEvaluationError):
            formula.evaluate(scores)
        return
    assert math.isclose(formula.evaluate(scores), expected, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(tree=_trees, minimal=st.booleans())
def test_parse_when_tree_is_printed_round_trips_variables(tree, minimal):
    text = _show(tree, minimal)
    formula = parse_formula(text)
    assert formula.variables == {node[1] for node in _nodes(tree) if node[0] == "var"}
    has_negation = any(node[0] == "neg" for node in _nodes(tree))
    assert formula.undocumented == (("unary minus",) if has_negation else ())
