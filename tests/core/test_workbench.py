"""The Workbench facade: composing the grader, validating every change (a bad one changes nothing),
editing rubrics, graders and settings."""

from __future__ import annotations

import json

import pytest

from rftkit_nb.core.formula import evaluate_formula
from rftkit_nb.core.graders import PythonGrader, StringCheckGrader
from rftkit_nb.core.rubrics import IndicatorGrader, RubricGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError

GRADE = "def grade(sample, item):\n    return 1.0\n"
EXACT = StringCheckGrader(
    name="exact", input="{{ sample.output_text }}", reference="{{ item.a }}", operation="eq"
)
HOSTILE = '<img src=x onerror="alert(1)">'


# --- composing ------------------------------------------------------------------------------------


def test_grader_when_no_clusters_leaves_rubrics_unmasked():
    wb = Workbench(None)
    wb.add_rubric("tone", "1 = polite", weight=2)
    wb.add_grader(EXACT)

    g = wb.grader()
    assert sorted(g.graders) == ["exact", "tone"]
    assert g.calculate_output == "(2 * tone + 1 * exact) / max(2 + 1, 0.000001)"


def test_grader_when_clusters_exist_masks_each_rubric_with_an_indicator(design):
    g = design(Workbench(None)).grader()

    assert list(g.graders) == ["fmt", "tone", "applies_tone", "accuracy", "applies_accuracy", "exact"]
    assert isinstance(g.graders["applies_tone"], IndicatorGrader)
    assert g.formatting_grader_name == "fmt"
    scores = {
        "fmt": 1.0,
        "tone": 0.5,
        "accuracy": 1.0,
        "exact": 0.0,
        "applies_tone": 0.0,
        "applies_accuracy": 1.0,
    }
    # a math row: tone is masked out; (0.1 * 1 + 1 * 1 + 0.5 * 0) / (0.1 + 1 + 0.5)
    assert evaluate_formula(g.calculate_output, scores) == pytest.approx(1.1 / 1.6)


def test_grader_when_normalize_is_off_uses_the_raw_weighted_sum():
    wb = Workbench(None)
    wb.add_rubric("tone", "1 = polite", weight=2)
    wb.configure(normalize=False, name="final")
    assert wb.grader().name == "final"
    assert wb.grader().calculate_output == "2 * tone"


def test_grader_when_empty_raises_config_error_naming_the_fix():
    with pytest.raises(ConfigError, match="workbench is empty"):
        Workbench(None).grader()


def test_add_rubric_with_input_template_keeps_the_rubric_as_instructions():
    judge = Workbench(None).add_rubric("tone", "Be polite.", input="Reply: {{ sample.output_text }}")
    assert isinstance(judge, RubricGrader)
    assert "Be polite." in judge.config["input"][0]["content"]
    assert judge.config["input"][1] == {"role": "user", "content": "Reply: {{ sample.output_text }}"}


@pytest.mark.parametrize(
    ("template", "fields", "says"),
    [
        pytest.param(
            "Q: {{ item.question }} ({{ item.meta.kind }}) A: {{ sample.output_text }} {{ item.question }}",
            (),
            "It also reads these fields of the dataset row: question, meta.kind.",
            id="reads-item-fields",
        ),
        pytest.param(
            "Reply: {{ sample.output_text }}", (), "It reads no fields of the dataset row.", id="reads-none"
        ),
        pytest.param(
            "Pick: {{ item.choices[0] }} A: {{ sample.output_text }}",
            (),
            "It also reads these fields of the dataset row: choices[0].",
            id="indexed-field",
        ),
    ],
)
def test_add_rubric_with_input_template_names_the_row_fields_the_template_reads(template, fields, says):
    judge = Workbench(None).add_rubric("tone", "Be polite.", input=template, item_fields=fields)

    system, user = judge.config["input"]
    assert system["content"].endswith(f"Grade only what the rubric asks. {says}")
    assert user == {"role": "user", "content": template}  # the template, nothing added


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda wb: wb.add_rubric("tone", "t", input="A: {{ sample.output_text }}", item_fields=["q"]),
            id="add-both",
        ),
        pytest.param(lambda wb: wb.update("style", input="A: {{ sample.output_text }}"), id="update-input"),
        pytest.param(lambda wb: wb.update("plain", item_fields=["q"]), id="update-fields"),
    ],
)
def test_add_rubric_when_input_and_item_fields_are_both_given_refuses_naming_the_fix(change):
    wb = Workbench(None)
    wb.add_rubric("style", "s", item_fields=["question"])
    wb.add_rubric("plain", "p", input="A: {{ sample.output_text }}")
    before = wb.to_dict()

    with pytest.raises(ConfigError, match=r"with an input template, show them in it \(\{\{ item\.FIELD"):
        change(wb)
    assert wb.to_dict() == before


# --- validation: bad input changes nothing --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(lambda wb: wb.add_rubric("1x", "t"), "not an identifier", id="rubric-bad-name"),
        pytest.param(lambda wb: wb.add_rubric(HOSTILE, "t"), "not an identifier", id="rubric-hostile-name"),
        pytest.param(lambda wb: wb.add_rubric("exact", "t"), "already a grader", id="rubric-name-of-grader"),
        pytest.param(
            lambda wb: wb.add_rubric("fmt", "t"), "already a formatting grader", id="rubric-name-of-fmt"
        ),
        pytest.param(lambda wb: wb.add_rubric("x", " "), "text is empty", id="rubric-empty"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", weight=float("inf")), "finite", id="weight-inf"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", weight=True), "finite", id="weight-bool"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", range=(1, 0)), "min < max", id="range-reversed"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", range=(0,)), "two finite", id="range-short"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", model=""), "model", id="model-empty"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", clusters=[""]), "non-empty", id="cluster-empty-name"),
        pytest.param(lambda wb: wb.add_rubric("x", "t", item_fields="ab"), "list of field", id="fields-str"),
        pytest.param(
            lambda wb: wb.add_grader(PythonGrader(name="tone", source=GRADE)),
            "already a rubric",
            id="grader-name-of-rubric",
        ),
        pytest.param(
            lambda wb: wb.add_grader({"type": "python", "name": "applies_tone", "source": GRADE}),
            "indicator",
            id="grader-name-of-indicator",
        ),
        pytest.param(
            lambda wb: wb.add_grader(
                {"type": "multi", "name": "m", "graders": {"e": EXACT.config}, "calculate_output": "e"}
            ),
            "multi",
            id="grader-multi",
        ),
        pytest.param(
            lambda wb: wb.add_grader(PythonGrader(name="big", source=GRADE + "#" * 300_000)),
            "256 kB",
            id="grader-too-big",
        ),
        pytest.param(lambda wb: wb.add_grader(EXACT, weight=-1), ">= 0", id="grader-negative-weight"),
        pytest.param(lambda wb: wb.set_formatting(name="tone"), "already a rubric", id="fmt-name-of-rubric"),
        pytest.param(
            lambda wb: wb.set_formatting(name="f2", partial_credit="maybe"),
            "partial_credit",
            id="fmt-bad-option",
        ),
        pytest.param(
            lambda wb: wb.remove("nobody"), "no rubric or grader named 'nobody'", id="remove-unknown"
        ),
        pytest.param(lambda wb: wb.remove("applies_tone"), "no rubric or grader", id="remove-indicator"),
        pytest.param(lambda wb: wb.update("tone", colour="red"), "cannot update", id="update-unknown-field"),
        pytest.param(lambda wb: wb.update("exact", text="x"), "only its weight", id="update-grader-text"),
        pytest.param(
            lambda wb: wb.set_cluster("chat", "ghost"), "no rubric 'ghost'", id="cluster-unknown-rubric"
        ),
        pytest.param(lambda wb: wb.configure(cluster_field="a..b"), "dotted path", id="cluster-field-bad"),
        pytest.param(lambda wb: wb.configure(name=""), "not an identifier", id="name-empty"),
        pytest.param(
            lambda wb: wb.configure(name="my reward"), "not an identifier", id="name-not-identifier"
        ),
        pytest.param(lambda wb: wb.configure(name="tone"), "already a rubric", id="name-of-rubric"),
        pytest.param(lambda wb: wb.configure(name="exact"), "already a grader", id="name-of-grader"),
        pytest.param(lambda wb: wb.configure(name="fmt"), "already a formatting", id="name-of-formatting"),
        pytest.param(lambda wb: wb.configure(name="applies_tone"), "indicator", id="name-of-indicator"),
        pytest.param(lambda wb: wb.configure(name="max"), "function of the reward formula", id="name-max"),
        pytest.param(lambda wb: wb.configure(name="lambda"), "Python keyword", id="name-keyword"),
        pytest.param(
            lambda wb: wb.add_rubric("reward", "t"),
            "'reward' is the composed grader's name",
            id="rubric-reward",
        ),
        pytest.param(
            lambda wb: wb.add_grader(EXACT.model_copy(update={"name": "reward"})),
            "composed grader's name",
            id="grader-reward",
        ),
        pytest.param(
            lambda wb: wb.set_formatting(name="reward"), "composed grader's name", id="formatting-reward"
        ),
        pytest.param(lambda wb: wb.rename("tone", "reward"), "composed grader's name", id="rename-to-reward"),
        *[
            pytest.param(
                lambda wb, f=f: wb.add_rubric(f, "t"),
                rf"rubric name '{f}' is a function of the reward formula \(abs, ceil, exp, floor, log, max",
                id=f"rubric-{f}",
            )
            for f in ("min", "max", "abs", "floor", "ceil", "exp", "sqrt", "log")
        ],
        pytest.param(
            lambda wb: wb.add_grader(EXACT.model_copy(update={"name": "sqrt"})), "function", id="grader-sqrt"
        ),
        pytest.param(lambda wb: wb.rename("exact", "log"), "function", id="rename-to-log"),
        pytest.param(
            lambda wb: wb.add_rubric("class", "t"), "'class' is a Python keyword", id="rubric-keyword"
        ),
        pytest.param(lambda wb: wb.rename("tone", "None"), "Python keyword", id="rename-to-keyword"),
        pytest.param(
            lambda wb: wb.add_grader(
                PythonGrader(name="p", source="def grade(s, i):\n    return helper(s, LIMIT)\n")
            ),
            r"python grader 'p': it uses LIMIT, helper, defined outside its source",
            id="python-uses-outside-names",
        ),
        pytest.param(
            lambda wb: wb.add_grader({"type": "string_check", "name": "s"}),
            "input",
            id="grader-invalid-config",
        ),
    ],
)
def test_change_when_input_is_bad_raises_config_error_and_changes_nothing(wb, project, change, match, design):
    design(wb)
    events: list[str] = []
    wb.observe(events.append)
    before, file_before = wb.to_dict(), project.read_bytes()

    with pytest.raises(ConfigError, match=match):
        change(wb)
    assert wb.to_dict() == before
    assert project.read_bytes() == file_before
    assert events == []


def test_add_rubric_when_its_indicator_would_take_the_composed_grader_name_refuses():
    wb = Workbench(None)
    wb.configure(name="applies_style")

    with pytest.raises(ConfigError, match="'applies_style' is the composed grader's name"):
        wb.add_rubric("style", "s", clusters=["chat"])
    assert wb.rubrics == {}


def test_configure_name_when_a_free_identifier_names_the_composed_grader(wb, project, design):
    design(wb)
    wb.configure(name="total_reward")

    assert wb.grader().name == "total_reward"
    assert json.loads(project.read_text())["name"] == "total_reward"
    wb.add_rubric("reward", "r", clusters=["chat"])  # the default name is free again
    assert "reward" in wb.rubrics


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import math\nLIMIT = 2\ndef grade(s, i):\n    return min(math.pi, LIMIT)\n", id="own"),
        pytest.param("from math import *\ndef grade(s, i):\n    return floor(pi)\n", id="star-import"),
        pytest.param("def grade(s, i):\n    global seen\n    seen = 1\n    return seen\n", id="global"),
    ],
)
def test_add_grader_when_python_source_defines_or_imports_every_name_accepts(source):
    g = Workbench(None).add_grader(PythonGrader(name="p", source=source))
    assert g.source == source


def test_set_example_when_not_plain_json_raises_config_error():
    wb = Workbench(None)
    wb.set_example({"a": 1, "output_text": "x"})
    assert wb.example == {"a": 1, "output_text": "x"}
    with pytest.raises(ConfigError, match="plain JSON"):
        wb.set_example({"a": {1, 2}})
    with pytest.raises(ConfigError, match="dict of column"):
        wb.set_example([1, 2])  # type: ignore[arg-type]
    assert wb.example == {"a": 1, "output_text": "x"}


# --- edits ----------------------------------------------------------------------------------------


def test_add_rubric_when_name_exists_replaces_it_in_place():
    wb = Workbench(None)
    wb.add_rubric("a", "first", clusters=["c1", "c2"])
    wb.add_rubric("b", "second")
    wb.add_rubric("a", "changed", weight=3, clusters=["c2"])

    assert list(wb.rubrics) == ["a", "b"]
    assert wb.rubrics["a"].text == "changed"
    assert wb.clusters.clusters_for("a") == ["c2"]


def test_update_changes_only_the_given_fields(design):
    wb = design(Workbench(None))
    wb.update("tone", weight=5)
    wb.update("exact", weight=0.25)
    wb.update("fmt", weight=0.3)

    assert wb.rubrics["tone"].weight == 5
    assert wb.rubrics["tone"].text == "1 = polite"
    assert wb.graders["exact"][1] == 0.25
    assert wb.formatting.weight == 0.3
    assert wb.formatting.required_fields == ("answer",)


def test_remove_rubric_drops_it_from_the_cluster_map(design):
    wb = design(Workbench(None))
    assert wb.remove("tone") == "rubric"
    assert "tone" not in wb.clusters.rubrics
    assert wb.clusters.to_dict() == {"chat": ["accuracy"], "math": ["accuracy"]}
    assert wb.remove("fmt") == "formatting"
    assert wb.formatting is None


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        pytest.param("exact", "exact_match", "grader", id="grader"),
        pytest.param("fmt", "shape", "formatting", id="formatting"),
        pytest.param("accuracy", "accuracy", "rubric", id="same-name"),
    ],
)
def test_rename_keeps_everything_but_the_name(wb, project, old, new, kind, design):
    design(wb)
    formula = wb.grader().calculate_output

    assert wb.rename(old, new) == kind
    assert wb.kind_of(new) == kind
    assert wb.grader().calculate_output == formula.replace(old, new)
    assert Workbench(project).to_dict() == wb.to_dict()


def test_summary_lists_names_and_settings(wb, design):
    design(wb)
    s = wb.summary()
    assert s["rubrics"] == ["tone", "accuracy"]
    assert s["graders"] == ["exact"]
    assert s["formatting"] == "fmt"
    assert s["autosave"] is True
