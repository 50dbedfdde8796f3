"""Specification of OpenAI's grader format as pydantic models (rftkit_nb.core.graders).

The fact sheet (/work/shared/reference/openai-graders.md, section 2) is the source of truth for every
key asserted here.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import re
import statistics as stats
import typing
from math import floor as round_down
from pathlib import Path

import pytest

from rftkit_nb.core.graders import (
    BaseGrader,
    EndpointGrader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    UnknownGrader,
    config_with_secrets,
    grader_from_config,
    is_reasoning_model,
)
from rftkit_nb.core.pysource import free_globals
from rftkit_nb.errors import ConfigError

CONFIGS = Path(__file__).parent / "configs"
SCRIPT = "def grade(sample, item):\n    return 1.0\n"
SAMPLE = "{{ sample.output_text }}"
HOSTILE = "<script>alert(1)</script>"


def _string_check(**overrides: object) -> StringCheckGrader:
    fields = {"name": "exact", "input": SAMPLE, "reference": "{{ item.answer }}", "operation": "eq"}
    return StringCheckGrader(**{**fields, **overrides})


# --------------------------------------------------------------------------------- config shape per type

SHAPES = [
    pytest.param(
        _string_check,
        {"type", "name", "input", "reference", "operation"},
        id="string_check",
    ),
    pytest.param(
        lambda: TextSimilarityGrader(
            name="sim", input=SAMPLE, reference="{{ item.answer }}", evaluation_metric="fuzzy_match"
        ),
        {"type", "name", "input", "reference", "evaluation_metric"},
        id="text_similarity",
    ),
    pytest.param(
        lambda: ScoreModelGrader(name="judge", model="gpt-4.1-2025-04-14", input="Rate " + SAMPLE),
        {"type", "name", "model", "input"},
        id="score_model-minimal",
    ),
    pytest.param(
        lambda: ScoreModelGrader(
            name="judge",
            model="gpt-4.1-2025-04-14",
            input="Rate " + SAMPLE,
            range=(0, 10),
            sampling_params={"temperature": 0.0},
        ),
        {"type", "name", "model", "input", "range", "sampling_params"},
        id="score_model-with-range-and-sampling",
    ),
    pytest.param(
        lambda: LabelModelGrader(
            name="lbl", model="gpt-4.1-2025-04-14", input=SAMPLE, labels=["a", "b"], passing_labels=["a"]
        ),
        {"type", "name", "model", "input", "labels", "passing_labels"},
        id="label_model",
    ),
    pytest.param(lambda: PythonGrader(name="py", source=SCRIPT), {"type", "name", "source"}, id="python"),
    pytest.param(
        lambda: PythonGrader(name="py", source=SCRIPT, image_tag="2025-05-08"),
        {"type", "name", "source", "image_tag"},
        id="python-with-image_tag",
    ),
    pytest.param(
        lambda: MultiGrader(name="m", graders={"a": _string_check()}, calculate_output="a"),
        {"type", "name", "graders", "calculate_output"},
        id="multi",
    ),
]


@pytest.mark.parametrize(("build", "keys"), SHAPES)
def test_config_when_built_from_python_has_exactly_the_documented_keys(build, keys):
    config = build()
    assert set(config.config) == keys
    assert json.loads(json.dumps(config.config)) == config.config  # plain JSON, nothing else


def test_string_check_config_when_built_equals_the_documented_object():
    assert _string_check(operation="ne").config == {
        "type": "string_check",
        "name": "exact",
        "input": SAMPLE,
        "reference": "{{ item.answer }}",
        "operation": "ne",
    }


def test_string_check_when_operation_is_neq_raises_config_error_suggesting_ne():
    with pytest.raises(ConfigError, match=r"operation.*'neq'.*use 'ne'"):
        _string_check(operation="neq")


@pytest.mark.parametrize("operation", ["eq", "ne", "like", "ilike"])
def test_string_check_when_operation_is_documented_keeps_it(operation):
    assert _string_check(operation=operation).config["operation"] == operation


def test_text_similarity_when_metric_is_unknown_raises_config_error_naming_the_field():
    with pytest.raises(ConfigError, match="evaluation_metric"):
        TextSimilarityGrader(name="s", input="a", reference="b", evaluation_metric="jaccard")


def test_score_model_when_max_completion_tokens_is_misspelled_raises_config_error_naming_the_spelling():
    with pytest.raises(ConfigError, match=r"sampling_params.*max_completions_tokens"):
        ScoreModelGrader(name="j", model="m", input="x", sampling_params={"max_completion_tokens": 10})


def test_score_model_when_sampling_params_are_set_emits_them_with_the_api_spelling():
    grader = ScoreModelGrader(
        name="j",
        model="gpt-4.1-2025-04-14",
        input="x",
        sampling_params={"seed": 7, "top_p": 0.9, "max_completions_tokens": 512},
    )
    assert grader.config["sampling_params"] == {"seed": 7, "top_p": 0.9, "max_completions_tokens": 512}


def test_score_model_when_range_is_unset_omits_it_but_reports_the_api_default():
    grader = ScoreModelGrader(name="j", model="gpt-4.1-2025-04-14", input="x")
    assert "range" not in grader.config
    assert grader.score_range == (0.0, 1.0)


def test_score_model_when_range_is_set_emits_it_as_a_two_number_list():
    grader = ScoreModelGrader(name="j", model="gpt-4.1-2025-04-14", input="x", range=(1, 7))
    assert grader.config["range"] == [1, 7]


def test_score_model_when_range_is_reversed_raises_config_error_naming_range():
    with pytest.raises(ConfigError, match="range"):
        ScoreModelGrader(name="j", model="m", input="x", range=(1, 0))


def test_score_model_when_input_is_a_bare_string_sends_one_user_message():
    grader = ScoreModelGrader(name="j", model="m", input="Rate " + SAMPLE)
    assert grader.config["input"] == [{"role": "user", "content": "Rate " + SAMPLE}]


def test_score_model_when_content_has_every_part_type_emits_each_part_as_documented():
    parts = [
        {"type": "input_text", "text": "Compare"},
        {"type": "output_text", "text": SAMPLE},
        {"type": "input_image", "image_url": "{{ item.url }}", "detail": "high"},
        {"type": "input_audio", "input_audio": {"data": "{{ item.audio }}", "format": "mp3"}},
    ]
    grader = ScoreModelGrader(name="j", model="m", input=[{"role": "user", "content": parts}])
    assert grader.config["input"] == [{"role": "user", "content": parts}]


@pytest.mark.parametrize(
    "part",
    [
        pytest.param({"type": "input_image", "image_url": "u", "detail": "medium"}, id="image-detail"),
        pytest.param({"type": "input_audio", "input_audio": {"data": "d"}}, id="audio-without-format"),
        pytest.param({"type": "input_video", "url": "u"}, id="unknown-part-type"),
    ],
)
def test_score_model_when_a_content_part_is_malformed_raises_config_error_naming_input(part):
    with pytest.raises(ConfigError, match="input"):
        ScoreModelGrader(name="j", model="m", input=[{"role": "user", "content": [part]}])


def test_score_model_when_role_is_unknown_raises_config_error_naming_role():
    with pytest.raises(ConfigError, match="role"):
        ScoreModelGrader(name="j", model="m", input=[{"role": "judge", "content": "x"}])


def test_label_model_when_passing_label_is_not_a_label_raises_config_error():
    with pytest.raises(ConfigError, match="passing_labels"):
        LabelModelGrader(name="l", model="m", input="x", labels=["a"], passing_labels=["b"])


def test_python_when_image_tag_is_unset_omits_it():
    assert "image_tag" not in PythonGrader(name="p", source=SCRIPT).config


@pytest.mark.parametrize(
    "graders",
    [
        pytest.param(_string_check(), id="a-bare-grader-object"),
        pytest.param(_string_check().config, id="a-bare-grader-dict"),
    ],
)
def test_multi_when_graders_is_a_single_grader_raises_config_error_asking_for_a_dict(graders):
    with pytest.raises(ConfigError, match="graders must be an object mapping"):
        MultiGrader(name="m", graders=graders, calculate_output="exact")


def test_multi_config_when_built_keys_graders_by_formula_variable_not_by_name():
    multi = MultiGrader(
        name="m",
        graders={"first": _string_check(name="n1"), "second": _string_check(name="n2")},
        calculate_output="(first + second) / 2",
    )
    assert list(multi.config["graders"]) == ["first", "second"]
    assert multi.config["graders"]["first"]["name"] == "n1"


@pytest.mark.parametrize(
    ("graders", "formula", "problem"),
    [
        pytest.param({"a-b": _string_check()}, "1", "not an identifier", id="key-not-identifier"),
        pytest.param({"a": _string_check()}, "a + b", r"\['b'\]", id="formula-uses-unknown-key"),
        pytest.param({"a": _string_check()}, "a +", "formula error", id="formula-does-not-parse"),
        pytest.param({}, "1", "graders", id="no-graders"),
    ],
)
def test_multi_when_keys_or_formula_are_wrong_raises_config_error_naming_the_problem(
    graders, formula, problem
):
    with pytest.raises(ConfigError, match=problem):
        MultiGrader(name="m", graders=graders, calculate_output=formula)


@pytest.mark.parametrize("as_dict", [False, True], ids=["object", "dict"])
def test_multi_when_a_sub_grader_is_multi_raises_config_error_about_nesting(as_dict):
    inner = MultiGrader(name="inner", graders={"a": _string_check()}, calculate_output="a")
    with pytest.raises(ConfigError, match="nesting"):
        MultiGrader(name="outer", graders={"i": inner.config if as_dict else inner}, calculate_output="i")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(lambda: _string_check(name=""), "name", id="empty-name"),
        pytest.param(lambda: _string_check(extra_field=1), "extra_field", id="unknown-field"),
        pytest.param(lambda: ScoreModelGrader(name="j", model="m", input=[]), "input", id="no-messages"),
    ],
)
def test_grader_when_invalid_raises_one_line_config_error_naming_the_field(build, field):
    with pytest.raises(ConfigError) as caught:
        build()
    assert field in str(caught.value)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------------------------- round trip

CORPUS = sorted(CONFIGS.glob("*.json"))


def test_corpus_when_listed_covers_every_documented_type_and_an_unknown_one():
    types = {json.loads(p.read_text())["type"] for p in CORPUS}
    assert types >= {"string_check", "text_similarity", "score_model", "label_model", "python", "multi"}
    assert "endpoint" in types


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_grader_from_config_when_config_is_valid_round_trips_both_ways(path):
    config = json.loads(path.read_text())
    grader = grader_from_config(config)
    assert config_with_secrets(grader) == config  # .config itself, except endpoint header values (masked)
    assert grader_from_config(grader.config) == grader
    assert json.dumps(grader.config, sort_keys=True) == json.dumps(
        grader_from_config(grader.config).config, sort_keys=True
    )


@pytest.mark.parametrize(("build", "_keys"), SHAPES)
def test_grader_from_config_when_given_a_built_grader_config_rebuilds_an_equal_grader(build, _keys):
    grader = build()
    rebuilt = grader_from_config(grader.config)
    assert rebuilt == grader
    assert type(rebuilt) is type(grader)


def test_grader_from_config_when_type_is_unknown_keeps_every_field_intact():
    config = json.loads((CONFIGS / "unknown_future_type.json").read_text())
    grader = grader_from_config(config)
    assert isinstance(grader, UnknownGrader)
    assert grader.config == config


def test_grader_from_config_when_multi_holds_an_endpoint_grader_keeps_it_intact():
    config = json.loads((CONFIGS / "multi_with_endpoint.json").read_text())
    multi = grader_from_config(config)
    assert isinstance(multi, MultiGrader)
    assert isinstance(multi.graders["remote"], EndpointGrader)
    assert multi.config["graders"]["remote"] == config["graders"]["remote"]


def test_grader_from_config_when_name_is_missing_fills_it_and_reports_it_in_notes():
    notes: list[str] = []
    grader = grader_from_config({"type": "python", "source": SCRIPT}, notes=notes)
    assert grader.name == "python"
    assert grader.config["name"] == "python"
    assert notes == ["python grader had no name; named it 'python'"]


def test_grader_from_config_when_multi_sub_graders_are_nameless_names_them_by_key_and_notes_each():
    notes: list[str] = []
    config = {
        "type": "multi",
        "graders": {"exact": {"type": "python", "source": SCRIPT}},
        "calculate_output": "exact",
    }
    multi = grader_from_config(config, notes=notes)
    assert multi.name == "multi"
    assert multi.graders["exact"].name == "exact"
    assert len(notes) == 2
    assert any("'exact'" in note for note in notes)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        pytest.param({"name": "x"}, "no 'type'", id="no-type"),
        pytest.param(["string_check"], "JSON object", id="not-an-object"),
        pytest.param({"type": "string_check", "name": "x", "input": "a"}, "reference", id="missing-field"),
        pytest.param(
            {
                "type": "multi",
                "name": "m",
                "graders": {"a": {"type": "python", "source": "x = ("}},
                "calculate_output": "a",
            },
            "compile",
            id="bad-sub-grader",
        ),
    ],
)
def test_grader_from_config_when_config_is_invalid_raises_config_error_naming_the_problem(config, problem):
    with pytest.raises(ConfigError, match=problem):
        grader_from_config(config)


def test_graders_when_configs_are_equal_compare_equal_whatever_the_class():
    judge = ScoreModelGrader(name="j", model="gpt-4.1-2025-04-14", input="x")
    assert grader_from_config(judge.config) == judge
    assert judge != ScoreModelGrader(name="j", model="gpt-4.1-2025-04-14", input="y")
    assert judge != judge.config  # a dict is not a grader


# ------------------------------------------------------------------------------- python grader sources


def test_python_when_given_text_ships_it_unchanged():
    assert PythonGrader(name="p", source=SCRIPT).config["source"] == SCRIPT


def grade(sample, item):
    return float(math.isclose(float(sample["output_text"]), item["answer"]))


def uses_module_aliases_and_imported_names(sample, item):
    words = re.findall(r"\w+", sample["output_text"])
    ratio = difflib.SequenceMatcher(None, sample["output_text"], item["answer"]).ratio()
    return stats.mean([ratio, float(bool(words))])


def test_python_when_given_a_function_named_grade_ships_its_source_and_imports():
    source = PythonGrader(name="p", source=grade).config["source"]
    assert source.startswith("import math\n")
    assert "def grade(sample, item):" in source
    assert "grade = " not in source


def test_python_when_function_is_not_named_grade_adds_an_alias_and_every_import_it_uses():
    source = PythonGrader(name="p", source=uses_module_aliases_and_imported_names).config["source"]
    lines = source.splitlines()
    assert "import re" in lines
    assert "import statistics as stats" in lines
    assert "import difflib" in lines
    assert "grade = uses_module_aliases_and_imported_names" in lines


def test_python_when_built_from_a_function_ships_source_that_runs_on_its_own(tmp_path, grade_in_subprocess):
    source = PythonGrader(name="p", source=uses_module_aliases_and_imported_names).source
    score = grade_in_subprocess(
        [(source, {"output_text": "same words"}, {"answer": "same words"})], tmp_path
    )[0]
    assert score == 1.0


def floors(sample, item):
    return round_down(float(sample["output_text"]))


def test_python_when_function_uses_a_name_imported_from_a_module_ships_the_from_import(
    tmp_path, grade_in_subprocess
):
    source = PythonGrader(name="p", source=floors).source
    assert "from math import floor as round_down" in source.splitlines()
    assert grade_in_subprocess([(source, {"output_text": "1.9"}, {})], tmp_path)[0] == 1.0


def test_python_when_given_a_lambda_raises_config_error_asking_for_def():
    with pytest.raises(ConfigError, match="lambda"):
        PythonGrader(name="p", source=lambda sample, item: 1.0)


@pytest.mark.parametrize("source", [42, len], ids=["int", "builtin"])
def test_python_when_source_is_neither_text_function_nor_module_raises_config_error(source):
    with pytest.raises(ConfigError, match="source must be text, a function or a module"):
        PythonGrader(name="p", source=source)


def _import_file(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the test's own fixture module, written just above
    return module


def test_python_when_given_a_module_ships_its_file_text(tmp_path):
    text = "import json\n\n\ndef grade(sample, item):\n    return float(json.loads('1'))\n"
    path = tmp_path / "my_grader_module.py"
    path.write_text(text)
    assert PythonGrader(name="p", source=_import_file(path)).config["source"] == text


def test_python_config_when_module_file_changes_after_construction_is_unchanged(tmp_path):
    text = "def grade(sample, item):\n    return 1.0\n"
    path = tmp_path / "changing_grader.py"
    path.write_text(text)
    grader = PythonGrader(name="p", source=_import_file(path))
    path.write_text("def grade(sample, item):\n    return 0.0  # edited on disk afterwards\n")
    assert grader.config["source"] == text
    assert grader.config["source"] == text  # and every later call too


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        pytest.param("def grade(sample, item)\n    return 1\n", "does not compile", id="syntax-error"),
        pytest.param(
            "def score(sample, item):\n    return 1\n", "no top-level function grade", id="no-grade"
        ),
        pytest.param("def grade(sample):\n    return 1\n", "exactly two positional", id="one-parameter"),
        pytest.param("def grade(a, b, c):\n    return 1\n", "exactly two positional", id="three-parameters"),
        pytest.param(
            "def grade(a, b, *, c):\n    return 1\n", "exactly two positional", id="required-kwonly"
        ),
        pytest.param("async def grade(a, b):\n    return 1\n", "not async", id="async"),
        pytest.param("", "no top-level function grade", id="empty"),
    ],
)
def test_python_when_source_is_bad_raises_config_error_naming_the_problem(source, problem):
    with pytest.raises(ConfigError, match=problem):
        PythonGrader(name="p", source=source)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("def grade(sample, item, extra=None):\n    return 1.0\n", id="optional-third"),
        pytest.param("def grade(*args):\n    return 1.0\n", id="varargs"),
        pytest.param("def _impl(s, i):\n    return 1.0\n\ngrade = _impl\n", id="assigned-alias"),
    ],
)
def test_python_when_grade_accepts_two_positional_arguments_is_valid(source):
    assert PythonGrader(name="p", source=source).source == source


# ---------------------------------------------------------------------------------------------- display

DISPLAYED = [
    pytest.param(lambda: _string_check(name=HOSTILE, input=HOSTILE, reference=HOSTILE), id="string_check"),
    pytest.param(
        lambda: TextSimilarityGrader(name=HOSTILE, input=HOSTILE, reference="r", evaluation_metric="bleu"),
        id="text_similarity",
    ),
    pytest.param(lambda: ScoreModelGrader(name=HOSTILE, model="m", input=HOSTILE), id="score_model"),
    pytest.param(
        lambda: LabelModelGrader(
            name=HOSTILE, model="m", input=HOSTILE, labels=[HOSTILE], passing_labels=[HOSTILE]
        ),
        id="label_model",
    ),
    pytest.param(
        lambda: PythonGrader(name=HOSTILE, source=f"def grade(s, i):\n    return len('{HOSTILE}')\n"),
        id="python",
    ),
    pytest.param(
        lambda: MultiGrader(name=HOSTILE, graders={"a": _string_check(name=HOSTILE)}, calculate_output="a"),
        id="multi",
    ),
    pytest.param(
        lambda: grader_from_config({"type": "future_grader", "name": HOSTILE, "url": HOSTILE}), id="unknown"
    ),
]


@pytest.mark.parametrize("build", DISPLAYED)
def test_repr_html_when_text_is_hostile_escapes_it(build):
    html = build()._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("build", DISPLAYED)
def test_repr_when_called_names_the_class_and_the_grader(build):
    grader: BaseGrader = build()
    text = repr(grader)
    assert text.startswith(f"{type(grader).__name__}(name=")
    assert HOSTILE in text
    assert "\n" not in text


def test_repr_when_prompt_is_long_is_shortened_to_one_line():
    grader = ScoreModelGrader(name="j", model="m", input="word\n" * 200)
    assert len(repr(grader)) < 200
    assert "\n" not in repr(grader)


# ------------------------------------------------------------------ templates are checked when built

MALFORMED_TEMPLATES = [
    pytest.param(
        lambda: _string_check(input="{{ answer.text }}"), "input", "namespace 'answer'", id="namespace"
    ),
    pytest.param(
        lambda: _string_check(reference="{{ sample.output }}"),
        "reference",
        "does not exist",
        id="sample-root",
    ),
    pytest.param(
        lambda: TextSimilarityGrader(
            name="s", input="{{ item.a..b }}", reference="x", evaluation_metric="bleu"
        ),
        "input",
        "malformed path",
        id="text_similarity-path",
    ),
    pytest.param(
        lambda: ScoreModelGrader(name="j", model="m", input="Rate {{ sample }}"),
        "input[0].content",
        "names no key",
        id="score_model-prompt",
    ),
    pytest.param(
        lambda: ScoreModelGrader(
            name="j",
            model="m",
            input=[{"role": "user", "content": [{"type": "input_image", "image_url": "{{ url }}"}]}],
        ),
        "input[0].content[0].image_url",
        "namespace 'url'",
        id="score_model-image-part",
    ),
    pytest.param(
        lambda: LabelModelGrader(
            name="l", model="m", input="Polite? {{ item. }}", labels=["a"], passing_labels=["a"]
        ),
        "input[0].content",
        "malformed",
        id="label_model",
    ),
    pytest.param(
        lambda: MultiGrader(
            name="m",
            graders={"a": {"type": "string_check", "input": "{{ x }}", "reference": "r", "operation": "eq"}},
            calculate_output="a",
        ),
        "input",
        "namespace 'x'",
        id="multi-sub-grader",
    ),
]


@pytest.mark.parametrize(("build", "field", "problem"), MALFORMED_TEMPLATES)
def test_grader_when_a_template_is_malformed_raises_one_line_config_error_naming_the_field(
    build, field, problem
):
    with pytest.raises(ConfigError) as caught:
        build()
    message = str(caught.value)
    assert f"{field}: template variable" in message
    assert problem in message
    assert "\n" not in message


def test_grader_from_config_when_type_is_unknown_checks_no_template():
    config = {"type": "future_grader", "name": "ep", "url": "https://example.com/{{ not a template }}"}
    assert grader_from_config(config).config == config


# ----------------------------------------------------------------------------- assignment is validated


@pytest.mark.parametrize(
    ("build", "field", "value", "problem"),
    [
        pytest.param(_string_check, "input", "{{ answer }}", "input: template variable", id="bad-template"),
        pytest.param(_string_check, "operation", "neq", "operation: operation 'neq'", id="neq"),
        pytest.param(_string_check, "name", "", "name:", id="empty-name"),
        pytest.param(
            lambda: ScoreModelGrader(name="j", model="m", input="x"),
            "range",
            (0, math.inf),
            "range: range must be two finite numbers",
            id="infinite-range",
        ),
    ],
)
def test_grader_when_an_assignment_is_invalid_raises_one_line_config_error_and_changes_nothing(
    build, field, value, problem
):
    grader = build()
    before = grader.config
    with pytest.raises(ConfigError) as caught:
        setattr(grader, field, value)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)
    assert grader.config == before


@pytest.mark.parametrize(
    "score_range",
    [
        pytest.param((0, math.inf), id="inf"),
        pytest.param((-math.inf, 1), id="minus-inf"),
        pytest.param((0, math.nan), id="nan"),
    ],
)
def test_score_model_when_range_is_not_finite_raises_config_error_asking_for_finite_numbers(score_range):
    with pytest.raises(ConfigError, match=r"range: range must be two finite numbers \[min, max\]"):
        ScoreModelGrader(name="j", model="m", input="x", range=score_range)


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        pytest.param("o3-2025-04-16", True, id="o3"),
        pytest.param("o4-mini", True, id="o4-mini"),
        pytest.param("gpt-5", True, id="gpt-5"),
        pytest.param("gpt-5-mini", True, id="gpt-5-mini"),
        pytest.param("gpt-5-chat-latest", False, id="gpt-5-chat-latest"),
        pytest.param("gpt-5-chat", False, id="gpt-5-chat"),
        pytest.param("gpt-4.1-2025-04-14", False, id="gpt-4.1"),
        pytest.param("gpt-4o-mini", False, id="gpt-4o-mini"),
    ],
)
def test_is_reasoning_model_when_asked_answers_by_prefix_except_the_chat_models(model, reasoning):
    assert is_reasoning_model(model) is reasoning


# ---------------------------------------------------------------------- multi keys that look like fields


@pytest.mark.parametrize("as_dict", [False, True], ids=["objects", "dicts"])
def test_multi_when_sub_graders_are_keyed_type_and_name_accepts_them(as_dict):
    subs = {"type": _string_check(name="t"), "name": _string_check(name="n")}
    graders = {k: g.config for k, g in subs.items()} if as_dict else subs
    multi = MultiGrader(name="m", graders=graders, calculate_output="(type + name) / 2")
    assert list(multi.config["graders"]) == ["type", "name"]
    assert multi.config["graders"]["name"]["name"] == "n"
    assert grader_from_config(multi.config) == multi


def test_text_similarity_metrics_when_listed_once_are_exactly_what_the_grader_accepts():
    from rftkit_nb.core.graders import SIMILARITY_METRICS, SimilarityMetric

    assert typing.get_args(SimilarityMetric) == SIMILARITY_METRICS
    for metric in SIMILARITY_METRICS:
        grader = TextSimilarityGrader(name="s", input=SAMPLE, reference="r", evaluation_metric=metric)
        assert grader.config["evaluation_metric"] == metric


# ------------------------------------------------------------ python functions that use outside names

THRESHOLD = 3


def _word_count(text):
    return len(text.split())


def uses_outside_names(sample, item):
    return float(_word_count(sample["output_text"]) >= THRESHOLD)


def _closure_grader(limit):
    def within_limit(sample, item):
        return float(len(sample["output_text"]) <= limit)

    return within_limit


def calls_itself_and_a_module(sample, item, depth=0):
    if depth:
        return float(math.isfinite(depth))
    return calls_itself_and_a_module(sample, item, depth=1)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        pytest.param(
            uses_outside_names,
            "uses_outside_names() uses THRESHOLD and _word_count, which are defined outside it; "
            "pass a module or source text that includes them",
            id="constant-and-helper",
        ),
        pytest.param(
            _closure_grader(5),
            "within_limit() uses limit, which is defined outside it; "
            "pass a module or source text that includes it",
            id="closure-variable",
        ),
    ],
)
def test_python_when_function_uses_names_defined_outside_it_raises_config_error_naming_them(
    function, message
):
    with pytest.raises(ConfigError) as caught:
        PythonGrader(name="p", source=function)
    assert str(caught.value) == f"invalid python grader 'p': source: {message}"


def test_python_when_function_uses_only_itself_builtins_and_modules_ships_them(tmp_path, grade_in_subprocess):
    source = PythonGrader(name="p", source=calls_itself_and_a_module).source
    assert source.startswith("import math\n")
    assert grade_in_subprocess([(source, {}, {})], tmp_path)[0] == 1.0


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("def grade(s, i):\n    return len(s)\n", [], id="builtins-only"),
        pytest.param("import json as j\ndef grade(s, i):\n    return j.dumps(X)\n", ["X"], id="constant"),
        pytest.param("def grade(s, i):\n    return [helper(x) for x in s]\n", ["helper"], id="comprehension"),
        pytest.param(
            "def grade(s, i):\n    global N\n    N = 1\n    return N\n", [], id="defined-through-global"
        ),
        pytest.param(
            "@cache\ndef grade(s, i: Row) -> float:\n    return 1.0\n",
            ["Row", "cache"],
            id="decorator-and-annotation",
        ),
    ],
)
def test_free_globals_when_read_lists_names_the_source_does_not_define(source, expected):
    assert free_globals(source) == expected
