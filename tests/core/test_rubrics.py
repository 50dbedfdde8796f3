"""Specification of the seed API (rftkit_nb.core.rubrics): each seed defect in
/work/shared/reference/seed-review.md has a test here that the seed would fail.

Generated python sources are only ever run in a child interpreter (the ``grade_in_subprocess`` fixture), never in the
test process.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.formula import evaluate_formula, parse_formula
from rftkit_nb.core.graders import (
    GRADER_MODELS,
    MultiGrader,
    ScoreModelGrader,
    StringCheckGrader,
    grader_from_config,
    is_reasoning_model,
)
from rftkit_nb.core.lint import lint
from rftkit_nb.core.rubrics import (
    DEFAULT_JUDGE_MODEL,
    AggregatorGrader,
    FormattingGrader,
    IndicatorGrader,
    RubricGrader,
    RubricItem,
    compose_formula,
)
from rftkit_nb.errors import ConfigError

HOSTILE = "<script>alert(1)</script>"


def _quick_start() -> AggregatorGrader:
    """The seed README's Quick Start, verbatim apart from the import line."""
    format_grader = FormattingGrader(name="format_validator", weight=0.2)
    rubric = RubricItem(
        id=1, content="Accuracy: How correct and precise the output is. 0.0 = incorrect, 1.0 = perfect"
    )
    rubric_grader = RubricGrader(name="rubric_accuracy", rubric=rubric, weight=1.0)
    indicator = IndicatorGrader(name="indicator_accuracy", rubric_name="accuracy")
    return AggregatorGrader(
        name="final_score",
        graders=[format_grader, rubric_grader, indicator],
        rubric_to_indicator_map={"rubric_accuracy": "indicator_accuracy"},
        formatting_grader_name="format_validator",
    )


# ------------------------------------------------------------------------------------------ Quick Start


def test_quick_start_when_run_unchanged_yields_a_valid_multi_grader_that_round_trips():
    config = _quick_start().config
    assert config["type"] == "multi"
    assert set(config["graders"]) == {"format_validator", "rubric_accuracy", "indicator_accuracy"}
    assert [g["type"] for g in config["graders"].values()] == ["python", "score_model", "python"]
    rebuilt = grader_from_config(config)
    assert isinstance(rebuilt, MultiGrader)
    assert rebuilt.config == config
    assert rebuilt == _quick_start()
    assert parse_formula(config["calculate_output"]).variables == set(config["graders"])


def test_quick_start_config_when_dumped_holds_no_seed_only_fields():
    text = json.dumps(_quick_start().config)
    for private in (
        "weight",
        "rubric_to_indicator_map",
        "formatting_grader_name",
        "normalize",
        "rubric_name",
    ):
        assert f'"{private}"' not in text


def test_rubric_grader_when_rebuilt_from_its_json_equals_the_score_model_grader():
    grader = RubricGrader(name="acc", rubric="Is it accurate?", weight=3.0)
    rebuilt = grader_from_config(grader.config)
    assert type(rebuilt) is ScoreModelGrader
    assert rebuilt == grader
    assert grader == rebuilt


# ------------------------------------------------------------------- defect 1: the reward is normalised

_SCORES = {"fmt": 0.5, "accuracy": 0.8, "clarity": 0.4, "depth": 1.0}
_WEIGHTS = {"fmt": 0.2, "accuracy": 1.0, "clarity": 2.0, "depth": 0.5}
_CLUSTERS = {"math": ["accuracy"], "essay": ["accuracy", "clarity", "depth"], "chat": []}


def _clustered_aggregator(*, normalize: bool = True, fmt_weight: float = 0.2) -> AggregatorGrader:
    cluster_map = ClusterMap.from_dict(_CLUSTERS)
    graders = [FormattingGrader(name="fmt", weight=fmt_weight)]
    pairs = {}
    for rubric in ("accuracy", "clarity", "depth"):
        graders.append(RubricGrader(name=f"rubric_{rubric}", rubric=rubric.title(), weight=_WEIGHTS[rubric]))
        graders.append(IndicatorGrader(name=f"ind_{rubric}", rubric_name=rubric, cluster_map=cluster_map))
        pairs[f"rubric_{rubric}"] = f"ind_{rubric}"
    return AggregatorGrader(
        name="reward",
        graders=graders,
        rubric_to_indicator_map=pairs,
        formatting_grader_name="fmt",
        normalize=normalize,
    )


def _formula_scores(cluster: str | None, scores: dict[str, float]) -> dict[str, float]:
    applies = _CLUSTERS.get(cluster, []) if cluster else []
    out = {"fmt": scores["fmt"]}
    for rubric in ("accuracy", "clarity", "depth"):
        out[f"rubric_{rubric}"] = scores[rubric]
        out[f"ind_{rubric}"] = 1.0 if rubric in applies else 0.0
    return out


def _hand_normalised(cluster: str | None, scores: dict[str, float], fmt_weight: float = 0.2) -> float:
    applies = _CLUSTERS.get(cluster, []) if cluster else []
    num = fmt_weight * scores["fmt"] + sum(_WEIGHTS[r] * scores[r] for r in applies)
    den = fmt_weight + sum(_WEIGHTS[r] for r in applies)
    return num / den if den else 0.0


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        pytest.param("math", 0.9 / 1.2, id="one-rubric"),
        pytest.param("essay", 2.2 / 3.7, id="three-rubrics"),
        pytest.param("chat", 0.5, id="no-rubric-formatting-only"),
        pytest.param(None, 0.5, id="cluster-missing"),
    ],
)
def test_aggregator_formula_when_normalised_matches_the_hand_computation(cluster, expected):
    formula = _clustered_aggregator().calculate_output
    value = evaluate_formula(formula, _formula_scores(cluster, _SCORES))
    assert math.isclose(value, expected, rel_tol=1e-9)
    assert math.isclose(value, _hand_normalised(cluster, _SCORES), rel_tol=1e-9)


@pytest.mark.parametrize("cluster", ["math", "essay", "chat"])
def test_aggregator_formula_when_every_score_is_perfect_gives_1_whatever_the_rubric_count(cluster):
    perfect = dict.fromkeys(_SCORES, 1.0)
    formula = _clustered_aggregator().calculate_output
    assert math.isclose(evaluate_formula(formula, _formula_scores(cluster, perfect)), 1.0)


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [pytest.param("math", 1.2, id="one-rubric"), pytest.param("essay", 3.7, id="three-rubrics")],
)
def test_aggregator_formula_when_normalize_is_false_gives_the_seeds_raw_weighted_sum(cluster, expected):
    perfect = dict.fromkeys(_SCORES, 1.0)
    formula = _clustered_aggregator(normalize=False).calculate_output
    assert "/" not in formula
    assert math.isclose(evaluate_formula(formula, _formula_scores(cluster, perfect)), expected)


@pytest.mark.parametrize("cluster", ["chat", None])
def test_aggregator_formula_when_nothing_applies_and_formatting_weighs_0_gives_0_not_a_division_error(
    cluster,
):
    formula = _clustered_aggregator(fmt_weight=0.0).calculate_output
    assert evaluate_formula(formula, _formula_scores(cluster, _SCORES)) == 0.0


def test_aggregator_when_only_a_formatting_grader_is_given_emits_a_formula_that_parses():
    aggregator = AggregatorGrader(
        name="only_format",
        graders=[FormattingGrader(name="fmt", weight=0.2)],
        formatting_grader_name="fmt",
    )
    assert evaluate_formula(aggregator.calculate_output, {"fmt": 0.5}) == 0.5


def test_aggregator_when_given_no_graders_raises_config_error():
    with pytest.raises(ConfigError, match="nothing to combine"):
        AggregatorGrader(name="empty", graders=[])


_WEIGHT = st.integers(0, 1000).map(lambda n: n / 100)  # exact in the formula's 6-decimal literals
_SCORE = st.floats(0.0, 1.0, allow_nan=False)
_TERM = st.tuples(_WEIGHT, _SCORE, st.sampled_from([None, 0.0, 1.0]))  # (weight, score, mask or unmasked)


@settings(max_examples=200, deadline=None)
@given(fmt=st.tuples(_WEIGHT, _SCORE), terms=st.lists(_TERM, min_size=0, max_size=6))
def test_compose_formula_when_normalised_stays_in_0_1_and_equals_the_reference(fmt, terms):
    keyed = [("fmt", fmt[0], None)] + [
        (f"r{i}", w, f"m{i}" if m is not None else None) for i, (w, _, m) in enumerate(terms)
    ]
    scores = {"fmt": fmt[1]}
    for i, (_, s, m) in enumerate(terms):
        scores[f"r{i}"] = s
        if m is not None:
            scores[f"m{i}"] = m
    value = evaluate_formula(compose_formula(keyed), scores)
    num = fmt[0] * fmt[1] + sum(w * s * (1.0 if m is None else m) for w, s, m in terms)
    den = fmt[0] + sum(w * (1.0 if m is None else m) for w, _, m in terms)
    assert -1e-12 <= value <= 1.0 + 1e-12
    assert math.isclose(value, num / den if den else 0.0, rel_tol=1e-9, abs_tol=1e-12)


# ------------------------------------------- defect 2: the cluster is read from the item, not the output


def test_indicator_when_output_claims_another_cluster_reads_the_cluster_from_the_item(
    tmp_path, grade_in_subprocess
):
    cluster_map = ClusterMap.from_dict({"math": ["accuracy"], "essay": ["clarity"]})
    clarity = IndicatorGrader(name="ind", rubric_name="clarity", cluster_map=cluster_map).config["source"]
    claims_essay = {"output_text": '{"cluster": "essay"}', "output_json": {"cluster": "essay"}}
    scores = grade_in_subprocess(
        [
            (clarity, claims_essay, {"cluster": "math"}),
            (clarity, {"output_text": "", "output_json": None}, {"cluster": "essay"}),
            (clarity, claims_essay, {}),
        ],
        tmp_path,
    )
    assert scores == [0.0, 1.0, 0.0]


def test_indicator_when_cluster_field_is_a_dotted_path_reads_it_from_the_item(tmp_path, grade_in_subprocess):
    cluster_map = ClusterMap.from_dict({"math": ["accuracy"], "essay": ["clarity"]}, field="meta.kind")
    source = IndicatorGrader(name="ind", rubric_name="clarity", cluster_map=cluster_map).source
    scores = grade_in_subprocess(
        [
            (source, {}, {"meta": {"kind": "essay"}, "cluster": "math"}),
            (source, {}, {"meta": {"kind": "math"}, "cluster": "essay"}),
            (source, {}, {"meta": "essay"}),
        ],
        tmp_path,
    )
    assert scores == [1.0, 0.0, 0.0]


def test_indicator_when_no_cluster_map_is_given_applies_to_every_row(tmp_path, grade_in_subprocess):
    source = IndicatorGrader(name="ind", rubric_name="accuracy").source
    assert grade_in_subprocess([(source, {}, {}), (source, {}, {"cluster": "x"})], tmp_path) == [1.0, 1.0]


# --------------------------------------------------------------- defect 3: no code injection via names

_INJECTIONS = [
    pytest.param('x" + __import__("os").system("touch PWNED_dq") + "', id="double-quote"),
    pytest.param("x' + __import__('os').system('touch PWNED_sq') + '", id="single-quote"),
    pytest.param("x''' + __import__('os').system('touch PWNED_tsq') + '''", id="triple-single-quote"),
    pytest.param('x"""\n__import__("os").system("touch PWNED_tdq")\n"""', id="triple-double-quote"),
    pytest.param("x\n__import__('os').system('touch PWNED_nl')\n", id="newline"),
    pytest.param("x\\' + __import__('os').system('touch PWNED_bs') + '", id="backslash"),
    pytest.param("x{rubric}{clusters}{field}", id="format-braces"),
]


@pytest.mark.parametrize("name", _INJECTIONS)
def test_indicator_when_rubric_and_cluster_names_are_hostile_embeds_them_as_inert_literals(
    name, tmp_path, grade_in_subprocess
):
    cluster_map = ClusterMap.from_dict({name: [name], "plain": ["x"]})
    source = IndicatorGrader(name="ind", rubric_name=name, cluster_map=cluster_map).source
    compile(source, "<indicator>", "exec")  # compiles only; it runs in the child below
    scores = grade_in_subprocess(
        [(source, {}, {"cluster": name}), (source, {}, {"cluster": "plain"}), (source, {}, {"cluster": "x"})],
        tmp_path,
    )
    assert scores == [1.0, 0.0, 0.0]  # matched literally: 'x', a prefix of the name, never counts
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", _INJECTIONS)
def test_formatting_when_required_field_names_are_hostile_embeds_them_as_inert_literals(
    name, tmp_path, grade_in_subprocess
):
    source = FormattingGrader(name="fmt", required_fields=[name]).source
    compile(source, "<formatting>", "exec")
    present: object = "present"
    for part in reversed(name.split(".")):  # required fields are dotted paths, hostile or not
        present = {part: present}
    with_field = {"output_text": json.dumps(present)}
    scores = grade_in_subprocess([(source, with_field, {}), (source, {"output_text": "{}"}, {})], tmp_path)
    assert scores == [1.0, 0.0]
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- defect 4: no hard-coded cluster map


def test_indicator_when_cluster_maps_differ_generates_different_sources_holding_each_map():
    first = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map={"math": ["accuracy"]}).source
    second = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map={"legal": ["accuracy"]}).source
    assert first != second
    assert "math" in first
    assert "legal" not in first
    assert "legal" in second


def test_indicator_config_when_its_cluster_map_is_edited_follows_the_edit(tmp_path, grade_in_subprocess):
    cluster_map = ClusterMap.from_dict({"math": ["accuracy"]})
    indicator = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map=cluster_map)
    cluster_map.add_cluster("physics", ["accuracy"])
    source = indicator.config["source"]
    assert grade_in_subprocess([(source, {}, {"cluster": "physics"})], tmp_path) == [1.0]


# ------------------------------------------------------------ defect 5: names, uniqueness, nesting


@pytest.mark.parametrize(
    ("graders", "problem"),
    [
        pytest.param(
            lambda: [RubricGrader(name="rubric-accuracy", rubric="r")],
            "cannot be a formula variable",
            id="dash",
        ),
        pytest.param(
            lambda: [RubricGrader(name="2nd", rubric="r")], "cannot be a formula variable", id="digit"
        ),
        pytest.param(
            lambda: [RubricGrader(name="lambda", rubric="r")], "cannot be a formula variable", id="keyword"
        ),
        pytest.param(
            lambda: [RubricGrader(name="acc", rubric="a"), RubricGrader(name="acc", rubric="b")],
            "named 'acc'; names must be unique",
            id="duplicate",
        ),
        pytest.param(lambda: [_quick_start()], "nesting", id="nested-multi"),
        pytest.param(lambda: ["not a grader"], "grader objects", id="not-a-grader"),
    ],
)
def test_aggregator_when_names_are_bad_raises_config_error_naming_the_problem(graders, problem):
    with pytest.raises(ConfigError, match=problem):
        AggregatorGrader(name="agg", graders=graders())


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        pytest.param({"rubric_to_indicator_map": {"acc": "missing"}}, "'missing'", id="unknown-indicator"),
        pytest.param(
            {"formatting_grader_name": "fmt"}, "formatting_grader_name 'fmt'", id="unknown-formatting"
        ),
    ],
)
def test_aggregator_when_a_map_names_an_absent_grader_raises_config_error_naming_it(kwargs, problem):
    with pytest.raises(ConfigError, match=problem):
        AggregatorGrader(name="agg", graders=[RubricGrader(name="acc", rubric="r")], **kwargs)


# ------------------------------------------------------------------- defects 6 and 7: the judge prompt


def test_rubric_grader_when_input_messages_are_given_keeps_them_exactly():
    messages = [
        {"role": "system", "content": "My own judge. Reply with result and steps."},
        {"role": "user", "content": "Q: {{ item.question }}\nA: {{ sample.output_text }}"},
    ]
    grader = RubricGrader(name="acc", rubric="Accurate?", input=messages)
    assert grader.config["input"] == messages


def test_rubric_grader_when_input_is_a_prompt_string_sends_it_as_the_only_user_message():
    grader = RubricGrader(name="acc", rubric="Accurate?", input="Grade {{ sample.output_text }}")
    assert grader.config["input"] == [{"role": "user", "content": "Grade {{ sample.output_text }}"}]


def test_rubric_grader_default_prompt_names_result_steps_the_range_and_the_item_fields():
    grader = RubricGrader(
        name="acc", rubric="Accuracy of the answer", range=(0, 10), item_fields=["question", "meta.source"]
    )
    text = "\n".join(m.text() for m in grader.input)
    assert "`result`" in text
    assert "`steps`" in text
    assert "from 0 " in text
    assert "to 10 " in text
    assert "{{ item.question }}" in text
    assert "{{ item.meta.source }}" in text
    assert "{{ sample.output_text }}" in text
    assert "Accuracy of the answer" in text
    assert "ONLY the numeric score" not in text
    assert grader.config["range"] == [0, 10]


def test_rubric_grader_default_prompt_when_no_item_fields_are_listed_reads_no_item_field():
    grader = RubricGrader(name="acc", rubric="Accuracy")
    text = json.dumps(grader.config["input"])
    assert "item." not in text  # the seed hard-coded {{ item.reference_answer }}
    assert grader.config["range"] == [0.0, 1.0]


def test_rubric_grader_default_model_is_a_documented_grader_model():
    grader = RubricGrader(name="acc", rubric="Accuracy")
    assert grader.config["model"] == DEFAULT_JUDGE_MODEL
    assert DEFAULT_JUDGE_MODEL in GRADER_MODELS


@pytest.mark.parametrize(
    ("model", "sampling", "problem"),
    [
        pytest.param(
            "o3-2025-04-16", {"temperature": 0.2}, "not temperature", id="reasoning-with-temperature"
        ),
        pytest.param("gpt-5-mini", {"temperature": 1.0}, "not temperature", id="gpt-5-with-temperature"),
        pytest.param(
            DEFAULT_JUDGE_MODEL, {"reasoning_effort": "low"}, "not reasoning_effort", id="gpt-4.1-effort"
        ),
    ],
)
def test_rubric_grader_when_sampling_params_do_not_suit_the_model_raises_config_error(
    model, sampling, problem
):
    with pytest.raises(ConfigError, match=problem):
        RubricGrader(name="acc", rubric="r", model=model, sampling_params=sampling)


@pytest.mark.parametrize(
    ("model", "sampling", "field"),
    [
        pytest.param("o3-2025-04-16", {"temperature": 0.2}, "temperature", id="reasoning-with-temperature"),
        pytest.param(
            DEFAULT_JUDGE_MODEL, {"reasoning_effort": "low"}, "reasoning_effort", id="gpt-4.1-effort"
        ),
    ],
)
def test_rubric_grader_and_lint_when_sampling_does_not_suit_the_model_say_the_same(model, sampling, field):
    # One rule (messages.sampling_problems): the grader refuses with the sentence lint reports.
    judge = ScoreModelGrader(name="acc", model=model, input="Rate {{ sample.output_text }}",
                             sampling_params=sampling)  # fmt: skip
    [finding] = [f for f in lint(judge) if f.where.startswith("acc.sampling_params")]
    assert finding.where == f"acc.sampling_params.{field}"
    with pytest.raises(ConfigError) as refused:
        RubricGrader(name="acc", rubric="r", model=model, sampling_params=sampling)
    assert finding.message in str(refused.value)


@pytest.mark.parametrize(
    ("model", "sampling"),
    [
        pytest.param("o4-mini-2025-04-16", {"reasoning_effort": "medium"}, id="reasoning-with-effort"),
        pytest.param(DEFAULT_JUDGE_MODEL, {"temperature": 0.0, "seed": 1}, id="gpt-4.1-with-temperature"),
    ],
)
def test_rubric_grader_when_sampling_params_suit_the_model_emits_them(model, sampling):
    grader = RubricGrader(name="acc", rubric="r", model=model, sampling_params=sampling)
    assert grader.config["sampling_params"] == sampling
    assert is_reasoning_model(model) == ("reasoning_effort" in sampling)


# ------------------------------------------------------ defect 8: formatting really checks the output

_REQUIRED = ("answer", "meta.source")
_FORMATTING = [
    pytest.param({}, {"output_text": "{}"}, 0.0, id="empty-object-scores-0"),
    pytest.param({}, {}, 0.0, id="no-output-scores-0"),
    pytest.param({}, {"output_text": "not json"}, 0.0, id="not-json-scores-0"),
    pytest.param({}, {"output_text": "[1, 2]"}, 0.0, id="json-array-scores-0"),
    pytest.param({}, {"output_text": '{"answer": 4}'}, 0.5, id="half-present-partial-credit"),
    pytest.param(
        {}, {"output_text": '{"answer": "", "meta": {"source": "x"}}'}, 0.5, id="empty-string-is-missing"
    ),
    pytest.param({}, {"output_text": '{"answer": 4, "meta": {"source": "x"}}'}, 1.0, id="all-present"),
    pytest.param(
        {}, {"output_text": "", "output_json": {"answer": 4, "meta": {"source": "x"}}}, 1.0, id="output-json"
    ),
    pytest.param(
        {"partial_credit": False}, {"output_text": '{"answer": 4}'}, 0.0, id="no-partial-credit-missing"
    ),
    pytest.param(
        {"partial_credit": False},
        {"output_text": '{"answer": 4, "meta": {"source": "x"}}'},
        1.0,
        id="no-partial-credit-all",
    ),
    pytest.param({"required_fields": ()}, {"output_text": "{}"}, 1.0, id="nothing-required-any-object"),
    pytest.param(
        {
            "required_fields": (),
            "json_schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
        },
        {"output_text": '{"n": "four"}'},
        0.0,
        id="schema-invalid",
    ),
    pytest.param(
        {
            "required_fields": (),
            "json_schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
        },
        {"output_text": '{"n": 4}'},
        1.0,
        id="schema-valid",
    ),
]


@pytest.fixture(scope="module")
def formatting_scores(tmp_path_factory, grade_in_subprocess) -> dict[str, float]:
    """Every formatting case graded in one child interpreter, keyed by case id."""
    cases = []
    for case in _FORMATTING:
        options, sample, _ = case.values
        grader = FormattingGrader(name="fmt", **{"required_fields": _REQUIRED, **options})
        cases.append((grader.config["source"], sample, {}))
    scores = grade_in_subprocess(cases, tmp_path_factory.mktemp("formatting"))
    return {case.id: score for case, score in zip(_FORMATTING, scores, strict=True)}


@pytest.mark.parametrize(("options", "sample", "expected"), _FORMATTING)
def test_formatting_when_graded_scores_as_documented(formatting_scores, request, options, sample, expected):
    case_id = request.node.callspec.id
    assert formatting_scores[case_id] == expected


def test_formatting_when_weight_is_set_keeps_it_out_of_the_config():
    config = FormattingGrader(name="fmt", weight=0.3, required_fields=["a"]).config
    assert set(config) == {"type", "name", "source"}


# --------------------------------------------------------------------------------------------- display

_DISPLAYED = [
    pytest.param(lambda: RubricGrader(name=HOSTILE, rubric=HOSTILE), id="rubric"),
    pytest.param(lambda: FormattingGrader(name=HOSTILE, required_fields=[HOSTILE]), id="formatting"),
    pytest.param(
        lambda: IndicatorGrader(name=HOSTILE, rubric_name=HOSTILE, cluster_map={HOSTILE: [HOSTILE]}),
        id="indicator",
    ),
    pytest.param(
        lambda: AggregatorGrader(name=HOSTILE, graders=[RubricGrader(name="acc", rubric=HOSTILE)]),
        id="aggregator",
    ),
]


@pytest.mark.parametrize("build", _DISPLAYED)
def test_seed_grader_repr_html_when_text_is_hostile_escapes_it(build):
    html = build()._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("build", _DISPLAYED)
def test_seed_grader_repr_when_called_is_one_readable_line(build):
    grader = build()
    assert repr(grader).startswith(f"{type(grader).__name__}(name=")
    assert "\n" not in repr(grader)


def test_aggregator_repr_when_called_lists_its_graders_and_formula():
    text = repr(_quick_start())
    assert "format_validator (python)" in text
    assert "formula=" in text


def test_string_check_in_an_aggregator_when_unweighted_counts_with_weight_1():
    exact = StringCheckGrader(name="exact", input="{{ sample.output_text }}", reference="4", operation="eq")
    aggregator = AggregatorGrader(name="agg", graders=[exact, FormattingGrader(name="fmt", weight=1.0)])
    assert evaluate_formula(aggregator.calculate_output, {"exact": 1.0, "fmt": 0.0}) == 0.5


# ------------------------------------------------------------- judge ranges other than [0, 1] and weights

_RANGES = [
    pytest.param((0.0, 10.0), id="0-10"),
    pytest.param((1.0, 5.0), id="1-5"),
    pytest.param((-5.0, 5.0), id="minus-5-5"),
    pytest.param((-10.0, 0.0), id="minus-10-0"),
]


@pytest.mark.parametrize("score_range", _RANGES)
def test_aggregator_when_a_judge_range_is_not_0_1_rescales_it_so_the_reward_stays_in_0_1(score_range):
    lo, hi = score_range
    judge = RubricGrader(name="acc", rubric="Accurate?", range=score_range)
    aggregator = AggregatorGrader(
        name="agg", graders=[FormattingGrader(name="fmt", weight=0.2), judge], formatting_grader_name="fmt"
    )
    formula = aggregator.config["calculate_output"]
    assert math.isclose(evaluate_formula(formula, {"fmt": 1.0, "acc": hi}), 1.0)
    assert evaluate_formula(formula, {"fmt": 0.0, "acc": lo}) == 0.0
    assert math.isclose(evaluate_formula(formula, {"fmt": 0.0, "acc": (lo + hi) / 2}), 0.5 / 1.2)
    assert not parse_formula(formula).undocumented  # never a unary minus for a negative bound


def test_aggregator_when_every_range_is_0_1_keeps_the_readable_formula():
    judge = ScoreModelGrader(name="acc", model=DEFAULT_JUDGE_MODEL, input="Rate", range=(0, 1))
    aggregator = AggregatorGrader(name="agg", graders=[judge])
    assert aggregator.calculate_output == "(1 * acc) / max(1, 0.000001)"


def test_aggregator_when_not_normalised_keeps_raw_judge_scores():
    judge = RubricGrader(name="acc", rubric="Accurate?", range=(0, 10))
    aggregator = AggregatorGrader(name="agg", graders=[judge], normalize=False)
    assert aggregator.calculate_output == "1 * acc"


@pytest.mark.parametrize(
    ("bounds", "scaled"),
    [
        pytest.param((-5.0, -1.0), "((a + 5) / 4)", id="both-negative"),
        pytest.param((-10.0, 0.0), "((a + 10) / 10)", id="negative-to-0"),
        pytest.param((-5.0, 5.0), "((a + 5) / 10)", id="across-0"),
        pytest.param((0.0, 10.0), "(a / 10)", id="from-0"),
        pytest.param((2.0, 10.0), "((a - 2) / 8)", id="both-positive"),
        pytest.param((-0.5, -0.25), "((a + 0.5) / 0.25)", id="negative-fractions"),
        pytest.param((-1e-7, -0.0), "((a + 0.0000001) / 0.0000001)", id="tiny-negative-to-minus-0"),
    ],
)
def test_compose_formula_when_a_range_is_not_0_1_writes_one_positive_span_and_no_unary_minus(bounds, scaled):
    lo, hi = bounds
    formula = compose_formula([("a", 1.0, None)], ranges={"a": bounds})
    assert formula == f"(1 * {scaled}) / max(1, 0.000001)"
    assert parse_formula(formula).undocumented == ()
    assert evaluate_formula(formula, {"a": lo}) == 0.0
    assert evaluate_formula(formula, {"a": hi}) == 1.0


_BOUND = st.integers(-100, 100).map(float)


@settings(max_examples=200, deadline=None)
@given(
    bounds=st.tuples(_BOUND, _BOUND).filter(lambda b: b[0] < b[1]),
    weights=st.tuples(st.floats(1e-9, 1e6), st.floats(0.0, 1e6)),
    position=st.floats(0.0, 1.0),
)
def test_compose_formula_when_a_range_is_given_stays_in_0_1_for_every_score_in_it(bounds, weights, position):
    lo, hi = bounds
    formula = compose_formula([("a", weights[0], None), ("b", weights[1], "m")], ranges={"a": bounds})
    value = evaluate_formula(formula, {"a": lo + position * (hi - lo), "b": 1.0, "m": 1.0})
    assert -1e-9 <= value <= 1.0 + 1e-9
    reference = (weights[0] * position + weights[1]) / (weights[0] + weights[1])
    assert math.isclose(value, reference, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize(
    ("weight", "literal", "floor"),
    [
        pytest.param(1e-7, "0.0000001", "0.0000001", id="tiny"),
        pytest.param(0.1234567891, "0.1234567891", "0.000001", id="many-digits"),
        pytest.param(1e20, "100000000000000000000", "0.000001", id="huge"),
        pytest.param(2.0, "2", "0.000001", id="whole"),
    ],
)
def test_compose_formula_when_a_weight_is_tiny_or_long_writes_every_digit_and_still_normalises(
    weight, literal, floor
):
    formula = compose_formula([("a", weight, None), ("b", 0.0, None)])
    assert formula == f"({literal} * a + 0 * b) / max({literal} + 0, {floor})"
    assert math.isclose(evaluate_formula(formula, {"a": 1.0, "b": 0.0}), 1.0)
    assert evaluate_formula(compose_formula([("a", weight, None)], normalize=False), {"a": 1.0}) == weight


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        pytest.param(
            {"acc": math.inf}, "weights['acc']: grader 'acc' needs a finite weight >= 0, got inf", id="inf"
        ),
        pytest.param({"acc": math.nan}, "grader 'acc' needs a finite weight >= 0, got nan", id="nan"),
        pytest.param({"acc": -1.0}, "grader 'acc' needs a finite weight >= 0, got -1.0", id="negative"),
        pytest.param({"acc": "2"}, "grader 'acc' needs a finite weight >= 0, got '2'", id="text"),
        pytest.param({"acc": True}, "grader 'acc' needs a finite weight >= 0, got True", id="bool"),
        pytest.param(
            {"acc_typo": 1.0}, "weights names ['acc_typo'], which are not among graders", id="unknown"
        ),
    ],
)
def test_aggregator_when_a_weight_is_invalid_raises_config_error_naming_the_grader(weights, problem):
    with pytest.raises(ConfigError) as caught:
        AggregatorGrader(name="agg", graders=[RubricGrader(name="acc", rubric="r")], weights=weights)
    assert problem in str(caught.value)


@pytest.mark.parametrize("weight", [math.inf, -0.5], ids=["inf", "negative"])
def test_seed_graders_when_weight_is_not_finite_and_non_negative_raise_config_error_naming_weight(weight):
    for build in (lambda: RubricGrader(name="acc", rubric="r", weight=weight),
                  lambda: FormattingGrader(name="fmt", weight=weight)):  # fmt: skip
        with pytest.raises(ConfigError, match="weight"):
            build()


# --------------------------------------------------------------------- the rubric text is never a template


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("Compare with {{ item.reference }}", id="valid-variable"),
        pytest.param("Answer as {{ x }}", id="unknown-namespace"),
        pytest.param('Output {"a": {{b}}}', id="json-around-braces"),
    ],
)
def test_rubric_grader_when_rubric_text_holds_double_braces_raises_config_error_saying_there_is_no_escape(
    content,
):
    with pytest.raises(ConfigError) as caught:
        RubricGrader(name="acc", rubric=content)
    message = str(caught.value)
    assert message.startswith("invalid score_model grader 'acc': rubric: content contains '{{")
    assert "templates have no escape for literal braces" in message
    assert "\n" not in message


def test_rubric_grader_when_rubric_text_opens_a_variable_it_never_closes_raises_config_error_naming_rubric():
    with pytest.raises(ConfigError) as caught:
        RubricGrader(name="acc", rubric="Compare with {{ item.reference and be strict")
    message = str(caught.value)
    assert message.startswith(
        "invalid score_model grader 'acc': rubric: content: template variable at position 13 "
        "('{{ item.reference and be stric'...) is never closed"
    )
    assert "rubric text is literal" in message


def test_rubric_grader_when_rubric_text_holds_single_braces_keeps_them():
    grader = RubricGrader(name="acc", rubric='Answer as {"score": n}')
    assert '{"score": n}' in grader.config["input"][0]["content"]


# ------------------------------------------------------------------ derived config follows every change


def _fresh_rubric(**fields) -> RubricGrader:
    return RubricGrader(**{"name": "acc", "rubric": "Accurate?", **fields})


@pytest.mark.parametrize(
    ("field", "value", "fresh"),
    [
        pytest.param("rubric", "Concise?", {"rubric": "Concise?"}, id="rubric-text"),
        pytest.param("rubric", RubricItem(id=2, content="Kind?"), {"rubric": "Kind?"}, id="rubric-item"),
        pytest.param("item_fields", ("question",), {"item_fields": ("question",)}, id="item_fields"),
        pytest.param("range", (0, 10), {"range": (0, 10)}, id="range"),
    ],
)
def test_rubric_grader_when_a_prompt_input_is_assigned_regenerates_the_default_prompt(field, value, fresh):
    grader = _fresh_rubric()
    setattr(grader, field, value)
    assert grader.config == _fresh_rubric(**fresh).config


def test_rubric_grader_when_its_own_prompt_was_given_keeps_it_after_edits():
    grader = _fresh_rubric(input="Grade {{ sample.output_text }}")
    grader.rubric = "Concise?"
    assert grader.config["input"] == [{"role": "user", "content": "Grade {{ sample.output_text }}"}]


def test_rubric_grader_when_an_assignment_fails_keeps_the_prompt_following_later_edits():
    grader = _fresh_rubric()
    with pytest.raises(ConfigError, match="rubric: content contains"):
        grader.rubric = "Use {{ braces }}"
    grader.range = (0, 10)
    assert grader.config == _fresh_rubric(range=(0, 10)).config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("required_fields", ("answer", "meta.source"), id="required_fields"),
        pytest.param("json_schema", {"type": "object", "required": ["n"]}, id="json_schema"),
        pytest.param("partial_credit", False, id="partial_credit"),
    ],
)
def test_formatting_when_an_option_is_assigned_regenerates_the_source(field, value):
    grader = FormattingGrader(name="fmt", required_fields=["answer"])
    setattr(grader, field, value)
    expected = FormattingGrader(**{"name": "fmt", "required_fields": ["answer"], field: value})
    assert grader.source == expected.source
    assert grader.config == expected.config


def test_formatting_when_its_own_source_was_given_keeps_it_after_edits():
    own = "def grade(sample, item):\n    return 1.0\n"
    grader = FormattingGrader(name="fmt", source=own)
    grader.required_fields = ("answer",)
    assert grader.config["source"] == own


def test_formatting_when_rebuilt_from_its_saved_fields_still_follows_edits():
    saved = FormattingGrader(name="fmt", required_fields=["a"])
    reloaded = FormattingGrader(name="fmt", required_fields=["a"], source=saved.source)
    reloaded.required_fields = ("b",)
    assert reloaded.source == FormattingGrader(name="fmt", required_fields=["b"]).source


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param({"type": "objekt"}, id="unknown-type"),
        pytest.param({"required": "answer"}, id="required-not-a-list"),
    ],
)
def test_formatting_when_json_schema_is_invalid_raises_config_error_naming_json_schema(schema):
    with pytest.raises(ConfigError, match=r"json_schema: not a valid JSON Schema \(draft 2020-12\)"):
        FormattingGrader(name="fmt", json_schema=schema)


def test_indicator_when_its_cluster_map_is_edited_updates_its_source_at_once():
    cluster_map = ClusterMap.from_dict({"math": ["accuracy"]})
    indicator = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map=cluster_map)
    cluster_map.add_cluster("physics", ["accuracy"])
    assert (
        indicator.source == IndicatorGrader(name="i", rubric_name="accuracy", cluster_map=cluster_map).source
    )
    assert "physics" in indicator.source


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("rubric_name", "clarity", id="rubric_name"),
        pytest.param("cluster_map", {"essay": ["clarity"]}, id="cluster_map"),
        pytest.param("cluster_map", None, id="no-cluster_map"),
    ],
)
def test_indicator_when_a_field_is_assigned_regenerates_the_source(field, value):
    indicator = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map={"math": ["accuracy"]})
    setattr(indicator, field, value)
    fields = {"name": "i", "rubric_name": "accuracy", "cluster_map": {"math": ["accuracy"]}, field: value}
    assert indicator.source == IndicatorGrader(**fields).source


def test_indicator_when_given_another_map_stops_following_the_old_one():
    old = ClusterMap.from_dict({"math": ["accuracy"]})
    indicator = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map=old)
    indicator.cluster_map = ClusterMap.from_dict({"essay": ["accuracy"]})
    old.add_cluster("physics", ["accuracy"])
    assert "physics" not in indicator.source


def test_indicator_config_when_read_changes_nothing():
    cluster_map = ClusterMap.from_dict({"math": ["accuracy"]})
    indicator = IndicatorGrader(name="i", rubric_name="accuracy", cluster_map=cluster_map)
    cluster_map.clusters["essay"] = ["accuracy"]  # behind the map's back: no observer hears of it
    before = dict(indicator.__dict__)
    assert indicator.config["source"] == before["source"]
    assert indicator.__dict__ == before


# -------------------------------------------------- cluster values a number column with gaps produces

_CLUSTER_VALUES = [
    pytest.param(1.0, "1", id="integral-float"),
    pytest.param(1, "1", id="int"),
    pytest.param("1", "1", id="text"),
    pytest.param(2.5, "2.5", id="fractional-float"),
    pytest.param(-0.0, "0", id="negative-zero"),
    pytest.param(math.nan, None, id="nan"),
    pytest.param(None, None, id="null"),
    pytest.param(True, "True", id="bool"),
    pytest.param("1.0", "1.0", id="text-with-point"),
]


def test_indicator_when_cluster_values_are_numbers_matches_cluster_of_exactly(tmp_path, grade_in_subprocess):
    values = [p.values[0] for p in _CLUSTER_VALUES]
    expected = [p.values[1] for p in _CLUSTER_VALUES]
    cluster_map = ClusterMap.from_dict({name: ["acc"] for name in ("1", "2.5", "0", "True")})
    assert [cluster_map.cluster_of({"cluster": v}) for v in values] == expected
    source = IndicatorGrader(name="i", rubric_name="acc", cluster_map=cluster_map).source
    scores = grade_in_subprocess([(source, {}, {"cluster": v}) for v in values], tmp_path)
    assert scores == [1.0 if name in cluster_map.clusters else 0.0 for name in expected]


# ------------------------------------------------------------------------ reasoning models and sampling


def test_rubric_grader_when_sampling_does_not_suit_the_model_says_how_to_fix_it():
    with pytest.raises(ConfigError) as caught:
        RubricGrader(name="acc", rubric="r", model="o3-2025-04-16", sampling_params={"temperature": 0.2})
    assert "remove sampling_params.temperature" in str(caught.value)
    assert DEFAULT_JUDGE_MODEL in str(caught.value)


def test_rubric_grader_when_model_is_gpt_5_chat_accepts_temperature():
    grader = RubricGrader(
        name="acc", rubric="r", model="gpt-5-chat-latest", sampling_params={"temperature": 0}
    )
    assert grader.config["sampling_params"] == {"temperature": 0.0}


@pytest.mark.parametrize(
    ("lo", "hi", "scaled"),
    [
        pytest.param(0.1, 0.3, "((s - 0.1) / 0.2)", id="0.1-0.3"),
        pytest.param(-0.3, -0.1, "((s + 0.3) / 0.2)", id="minus-0.3-minus-0.1"),
        pytest.param(0.7, 1.1, "((s - 0.7) / 0.4)", id="0.7-1.1"),
        pytest.param(0.0, 0.3, "(s / 0.3)", id="0-0.3"),
        pytest.param(1.1, 2.2, "((s - 1.1) / 1.1)", id="1.1-2.2"),
        pytest.param(0.0000001, 0.0000003, "((s - 0.0000001) / 0.0000002)", id="tiny"),
    ],
)
def test_compose_formula_when_a_range_has_decimal_bounds_writes_clean_literals_mapping_lo_0_hi_1(
    lo, hi, scaled
):
    formula = compose_formula([("s", 1.0, None)], ranges={"s": (lo, hi)})
    assert formula == f"(1 * {scaled}) / max(1, 0.000001)"
    parsed = parse_formula(formula)
    assert parsed.evaluate({"s": lo}) == pytest.approx(0.0, abs=1e-12)
    assert parsed.evaluate({"s": hi}) == pytest.approx(1.0, abs=1e-12)
