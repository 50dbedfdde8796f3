"""plain_weights: which formulas TRL can add up itself (split=True), and why the others cannot."""

from __future__ import annotations

import pytest

from rftkit_nb.errors import ConfigError, FormulaError
from rftkit_nb.trainers.weights import plain_weights

KEYS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("formula", "weights"),
    [
        pytest.param("a", {"a": 1.0}, id="one"),
        pytest.param("0.7 * a + 0.3 * b", {"a": 0.7, "b": 0.3}, id="weighted"),
        pytest.param("(a + b) / 2", {"a": 0.5, "b": 0.5}, id="constant-mean"),
        pytest.param("a - 0.5 * b", {"a": 1.0, "b": -0.5}, id="penalty"),
        pytest.param("2 * (a + b) - a", {"a": 1.0, "b": 2.0}, id="collected"),
        pytest.param("-a + c * 3", {"a": -1.0, "c": 3.0}, id="unary-minus"),
        pytest.param("a + 0 * b", {"a": 1.0}, id="zero-weight-dropped"),
        pytest.param("(2 * a + b) / max(2 + 1, 0.000001)", {"a": 2 / 3, "b": 1 / 3}, id="workbench-unmasked"),
    ],
)
def test_plain_weights_when_linear_then_weights(formula, weights):
    assert plain_weights(formula, KEYS) == pytest.approx(weights)


@pytest.mark.parametrize(
    ("formula", "why"),
    [
        pytest.param("m * a", "multiplies sub-grader scores together", id="mask"),
        pytest.param("(a + b) / max(a + b, 1)", r"calls max\(\) on sub-grader scores", id="function"),
        pytest.param("(2 * a + b) / (a + b)", "divides by sub-grader scores", id="normalised-by-scores"),
        pytest.param("a ^ 2", "uses '\\^'", id="power"),
        pytest.param("a + 1", "constant term 1", id="constant"),
        pytest.param("a / 0", "divides by zero", id="division-by-zero"),
    ],
)
def test_plain_weights_when_not_linear_then_config_error_says_why(formula, why):
    with pytest.raises(ConfigError, match=why) as info:
        plain_weights(formula, [*KEYS, "m"])
    assert "split=False" in str(info.value)


def test_plain_weights_when_formula_does_not_parse_then_formula_error():
    with pytest.raises(FormulaError):
        plain_weights("a +", KEYS)
