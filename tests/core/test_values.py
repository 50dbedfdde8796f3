"""Specification of the value rules (rftkit_nb.core.values): what a missing cell is, what a weight may be."""

from __future__ import annotations

import ast
import datetime
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rftkit_nb.core import files, values
from rftkit_nb.core.clusters import cluster_name
from rftkit_nb.core.generated import FormattingGrader
from rftkit_nb.core.rubrics import AggregatorGrader, RubricGrader
from rftkit_nb.core.values import finite_weight, is_missing, weight_problem
from rftkit_nb.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "missing"),
    [
        pytest.param(None, True, id="none"),
        pytest.param(float("nan"), True, id="nan"),
        pytest.param(np.float64("nan"), True, id="numpy-nan"),
        pytest.param(pd.NA, True, id="pandas-na"),
        pytest.param(pd.NaT, True, id="pandas-nat"),
        pytest.param(0.0, False, id="zero"),
        pytest.param(math.inf, False, id="inf"),
        pytest.param("", False, id="empty-text"),
        pytest.param("nan", False, id="the-text-nan"),
        pytest.param([], False, id="empty-list"),
        pytest.param(pd.Timestamp("2025-01-01"), False, id="timestamp"),
        pytest.param(datetime.date(2025, 1, 1), False, id="date"),
    ],
)
def test_is_missing_when_asked_answers_for_none_nan_na_and_nat_only(value, missing):
    assert is_missing(value) is missing


@pytest.mark.parametrize("value", [pd.NA, pd.NaT, float("nan"), None], ids=["na", "nat", "nan", "none"])
def test_cluster_name_when_the_cell_is_missing_is_none(value):
    assert cluster_name(value) is None


@pytest.mark.parametrize("module", [values, files], ids=["values", "files"])
def test_module_when_its_imports_are_read_needs_only_the_stdlib_and_rftkit_errors(module):
    # The scoring layer and the lowest core modules import these: they must stay light and pandas-free.
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    roots = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    outside = {r for r in roots if r.split(".")[0] not in sys.stdlib_module_names and r != "rftkit_nb.errors"}
    assert outside == set()


BAD_WEIGHTS = [
    pytest.param(-1, "weight must be >= 0, got -1", id="negative"),
    pytest.param(math.inf, "weight must be a finite number >= 0, got inf", id="inf"),
    pytest.param(math.nan, "weight must be a finite number >= 0, got nan", id="nan"),
    pytest.param(True, "weight must be a finite number >= 0, got True", id="bool"),
    pytest.param("2", "weight must be a finite number >= 0, got '2'", id="text"),
    pytest.param(None, "weight must be a finite number >= 0, got None", id="none"),
]


@pytest.mark.parametrize("weight", [0, 0.0, 2, 1e-9, 1e6], ids=["int-0", "float-0", "int", "tiny", "big"])
def test_weight_problem_when_finite_and_not_negative_is_none(weight):
    assert weight_problem(weight) is None
    assert finite_weight(weight, "grader 'x'") == float(weight)


@pytest.mark.parametrize(("weight", "problem"), BAD_WEIGHTS)
def test_finite_weight_when_not_a_weight_raises_config_error_naming_the_owner(weight, problem):
    assert weight_problem(weight) == problem
    with pytest.raises(ConfigError, match=f"^rubric 'tone': {problem}$"):
        finite_weight(weight, "rubric 'tone'")


@pytest.mark.parametrize(("weight", "problem"), BAD_WEIGHTS)
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda w: RubricGrader(name="tone", rubric="1 = polite", weight=w), id="rubric-grader"),
        pytest.param(lambda w: FormattingGrader(name="fmt", weight=w), id="formatting-grader"),
    ],
)
def test_grader_weight_field_when_not_a_weight_refuses_with_the_same_rule(build, weight, problem):
    with pytest.raises(ConfigError, match=f"weight: {problem}"):
        build(weight)


@pytest.mark.parametrize(("weight", "problem"), BAD_WEIGHTS)
def test_aggregator_weights_when_not_a_weight_refuse_by_the_same_rule(weight, problem):
    judge = RubricGrader(name="tone", rubric="1 = polite")
    with pytest.raises(ConfigError, match="needs a finite weight >= 0"):
        AggregatorGrader(name="agg", graders=[judge], weights={"tone": weight})
