"""Workbench: composing, validating, undo, observers, and the project file (atomic, versioned, untouched when bad)."""

from __future__ import annotations

import copy
import json
import os
import pickle
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.formula import evaluate_formula
from rftkit_nb.core.graders import PythonGrader, StringCheckGrader, grader_from_config
from rftkit_nb.core.project import PROJECT_FORMAT, PROJECT_VERSION
from rftkit_nb.core.rubrics import FormattingGrader, IndicatorGrader, RubricGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError, ProjectFileError

GRADE = "def grade(sample, item):\n    return 1.0\n"
EXACT = StringCheckGrader(
    name="exact", input="{{ sample.output_text }}", reference="{{ item.a }}", operation="eq"
)
HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "rftkit.json"


@pytest.fixture
def wb(project: Path) -> Workbench:
    return Workbench(project)


def design(wb: Workbench) -> Workbench:
    wb.set_formatting(name="fmt", required_fields=["answer"], weight=0.1)
    wb.add_rubric("tone", "1 = polite", weight=2, clusters=["chat"])
    wb.add_rubric("accuracy", "1 = correct", clusters=["chat", "math"])
    wb.add_grader(EXACT, weight=0.5)
    return wb


# --- composing ------------------------------------------------------------------------------------


def test_grader_when_no_clusters_leaves_rubrics_unmasked():
    wb = Workbench(None)
    wb.add_rubric("tone", "1 = polite", weight=2)
    wb.add_grader(EXACT)

    g = wb.grader()
    assert sorted(g.graders) == ["exact", "tone"]
    assert g.calculate_output == "(2 * tone + 1 * exact) / max(2 + 1, 0.000001)"


def test_grader_when_clusters_exist_masks_each_rubric_with_an_indicator():
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


def test_export_writes_the_config_that_grader_from_config_reads_back_equal(wb, tmp_path):
    design(wb)
    path = wb.export(tmp_path / "grader.json")
    config = json.loads(path.read_text())
    assert config == wb.grader().config
    assert grader_from_config(config) == wb.grader()


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


# --- validation: bad input changes nothing ------------------------------------------------------------


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
def test_change_when_input_is_bad_raises_config_error_and_changes_nothing(wb, project, change, match):
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


def test_configure_name_when_a_free_identifier_names_the_composed_grader(wb, project):
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


def test_change_when_the_file_cannot_be_written_rolls_back(tmp_path):
    (tmp_path / "file").write_text("")
    wb = Workbench(tmp_path / "file" / "rftkit.json")  # its parent is a file: every write fails

    with pytest.raises(ProjectFileError, match="could not write"):
        wb.add_rubric("tone", "1 = polite")
    assert wb.rubrics == {}


# --- edits, undo, observers ----------------------------------------------------------------------------


def test_add_rubric_when_name_exists_replaces_it_in_place():
    wb = Workbench(None)
    wb.add_rubric("a", "first", clusters=["c1", "c2"])
    wb.add_rubric("b", "second")
    wb.add_rubric("a", "changed", weight=3, clusters=["c2"])

    assert list(wb.rubrics) == ["a", "b"]
    assert wb.rubrics["a"].text == "changed"
    assert wb.clusters.clusters_for("a") == ["c2"]


def test_update_changes_only_the_given_fields():
    wb = design(Workbench(None))
    wb.update("tone", weight=5)
    wb.update("exact", weight=0.25)
    wb.update("fmt", weight=0.3)

    assert wb.rubrics["tone"].weight == 5
    assert wb.rubrics["tone"].text == "1 = polite"
    assert wb.graders["exact"][1] == 0.25
    assert wb.formatting.weight == 0.3
    assert wb.formatting.required_fields == ("answer",)


def test_remove_rubric_drops_it_from_the_cluster_map():
    wb = design(Workbench(None))
    assert wb.remove("tone") == "rubric"
    assert "tone" not in wb.clusters.rubrics
    assert wb.clusters.to_dict() == {"chat": ["accuracy"], "math": ["accuracy"]}
    assert wb.remove("fmt") == "formatting"
    assert wb.formatting is None


def test_undo_steps_back_one_change_at_a_time_and_keeps_the_cluster_map_object():
    wb = Workbench(None)
    cmap = wb.clusters
    states = [wb.to_dict()]
    for step in (
        lambda: wb.add_rubric("tone", "1 = polite", clusters=["chat"]),
        lambda: wb.add_grader(EXACT),
        lambda: wb.set_cluster("math", "tone"),
        lambda: wb.remove("tone"),
    ):
        step()
        states.append(wb.to_dict())

    for expected in reversed(states[:-1]):
        wb.undo()
        assert wb.to_dict() == expected
    assert wb.clusters is cmap
    with pytest.raises(ConfigError, match="nothing to undo"):
        wb.undo()


def test_observers_hear_every_change_including_undo():
    wb = Workbench(None)
    events: list[str] = []
    wb.observe(events.append)
    wb.add_rubric("tone", "t")
    wb.add_rubric("tone", "t2")
    wb.add_rubric("tone", "t2")  # no change: no event
    wb.undo()
    wb.unobserve(events.append)
    wb.remove("tone")

    assert events == ["added rubric 'tone'", "updated rubric 'tone'", "undo: updated rubric 'tone'"]


def test_cluster_map_edited_directly_is_saved_announced_and_undoable(wb, project):
    wb.add_rubric("tone", "t")
    events: list[str] = []
    wb.observe(events.append)

    wb.clusters.set("chat", "tone")  # what the matrix widget does
    assert events == ["on: 'chat' x 'tone'"]
    assert json.loads(project.read_text())["clusters"]["clusters"] == {"chat": ["tone"]}

    wb.undo()
    assert wb.clusters.clusters == {}
    assert json.loads(project.read_text())["clusters"]["clusters"] == {}


def test_cluster_field_is_the_maps_field_and_read_only():
    wb = Workbench(None)
    assert wb.cluster_field == "cluster"
    wb.configure(cluster_field="meta.kind")
    assert wb.cluster_field == "meta.kind" == wb.clusters.field

    with pytest.raises(AttributeError):
        wb.cluster_field = "other"  # type: ignore[misc]
    assert wb.cluster_field == "meta.kind"


def test_cluster_map_field_assignment_is_a_saved_undoable_configure(wb, project):
    wb.add_rubric("tone", "t", clusters=["chat"])
    events: list[str] = []
    wb.observe(events.append)

    wb.clusters.field = "meta.kind"  # what a widget's field box does

    assert wb.cluster_field == "meta.kind" == wb.clusters.field
    assert json.loads(project.read_text())["clusters"]["field"] == "meta.kind"
    assert events == ["changed settings"]
    wb.undo()
    assert wb.clusters.field == "cluster"
    assert json.loads(project.read_text())["clusters"]["field"] == "cluster"


def test_cluster_map_field_assignment_when_invalid_raises_and_changes_nothing(wb, project):
    wb.add_rubric("tone", "t", clusters=["chat"])
    before, file_before = wb.to_dict(), project.read_bytes()

    with pytest.raises(ConfigError, match="dotted path"):
        wb.clusters.field = "a..b"
    assert wb.to_dict() == before
    assert project.read_bytes() == file_before


def _pop(x):
    return x.pop()


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda m: m.clusters["chat"].append("ghost"), id="append-to-a-cluster"),
        pytest.param(lambda m: m.clusters["chat"].remove("tone"), id="remove-from-a-cluster"),
        pytest.param(lambda m: m.clusters["chat"].__setitem__(0, "ghost"), id="set-an-item"),
        pytest.param(lambda m: m.clusters["chat"].__iadd__(["ghost"]), id="extend-in-place"),
        pytest.param(lambda m: m.clusters["chat"].clear(), id="clear-a-cluster"),
        pytest.param(lambda m: m.clusters.__setitem__("poetry", ["ghost"]), id="add-a-cluster-key"),
        pytest.param(lambda m: m.clusters.__delitem__("chat"), id="delete-a-cluster-key"),
        pytest.param(lambda m: m.clusters.setdefault("poetry", []), id="setdefault"),
        pytest.param(lambda m: m.clusters.update(poetry=["tone"]), id="update"),
        pytest.param(lambda m: _pop(m.clusters), id="dict-pop-without-key"),
        pytest.param(lambda m: m.clusters.__ior__({"poetry": []}), id="merge-in-place"),
        pytest.param(lambda m: m.rubrics.append("ghost"), id="append-a-rubric"),
        pytest.param(lambda m: _pop(m.rubrics), id="pop-a-rubric"),
        pytest.param(lambda m: m.rubrics.sort(), id="sort-the-rubrics"),
        pytest.param(lambda m: setattr(m, "clusters", {}), id="assign-clusters"),
        pytest.param(lambda m: setattr(m, "rubrics", []), id="assign-rubrics"),
    ],
)
def test_cluster_map_contents_when_mutated_in_place_raise_and_change_nothing(wb, project, mutate):
    wb.add_rubric("tone", "t", clusters=["chat"])
    wb.add_rubric("style", "s", clusters=["chat"])
    before, file_before = wb.to_dict(), project.read_bytes()

    with pytest.raises(AttributeError, match=r"edited through its methods \(set, add_cluster"):
        mutate(wb.clusters)
    assert wb.to_dict() == before
    assert wb.clusters.to_dict() == {"chat": ["tone", "style"]}
    assert project.read_bytes() == file_before


def test_cluster_map_when_read_or_copied_keeps_the_cluster_map_api_and_gives_plain_copies(wb):
    wb.add_rubric("tone", "t", clusters=["chat"])
    cmap = wb.clusters

    assert isinstance(cmap, ClusterMap)
    assert cmap.clusters == {"chat": ["tone"]}
    assert cmap.rubrics == ["tone"]
    assert cmap.clusters_for("tone") == ["chat"]
    assert cmap.model_dump() == {"clusters": {"chat": ["tone"]}, "rubrics": ["tone"], "field": "cluster"}
    for copied in (
        copy.deepcopy(cmap.clusters),
        pickle.loads(pickle.dumps(cmap.clusters)),
        cmap.clusters.copy(),
        cmap.to_dict(),
    ):
        copied["chat"].append("mine")  # a copy is the caller's to edit
        copied["poetry"] = []
        assert type(copied) is dict
        assert type(copied["chat"]) is list
    plain = ClusterMap(**cmap.model_dump())
    plain.set("poetry", "tone")
    assert cmap.to_dict() == {"chat": ["tone"]}


def test_cluster_map_rename_rubric_renames_the_rubric_in_the_workbench(wb, project):
    design(wb)
    wb.clusters.rename_rubric("tone", "warmth")  # what a widget's column rename does

    assert list(wb.rubrics) == ["warmth", "accuracy"]
    assert wb.rubrics["warmth"].text == "1 = polite"
    assert wb.rubrics["warmth"].weight == 2
    assert wb.clusters.clusters_for("warmth") == ["chat"]
    assert "applies_warmth" in wb.grader().graders
    assert "warmth" in json.loads(project.read_text())["clusters"]["rubrics"]

    assert wb.undo() == "renamed rubric 'tone' to 'warmth'"
    assert list(wb.rubrics) == ["tone", "accuracy"]
    assert wb.clusters.clusters_for("tone") == ["chat"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        pytest.param(
            lambda m: m.set("chat", "ghost"),
            "no rubric 'ghost'; rubrics are: tone, accuracy",
            id="set-unknown",
        ),
        pytest.param(
            lambda m: m.add_cluster("poetry", ["tone", "ghost"]),
            "no rubric 'ghost'",
            id="add-cluster-unknown",
        ),
        pytest.param(lambda m: m.add_rubric("ghost", ["chat"]), "rubrics are: tone", id="add-rubric-unknown"),
        pytest.param(lambda m: m.rename_rubric("ghost", "x"), "no rubric 'ghost'", id="rename-unknown"),
        pytest.param(
            lambda m: m.rename_rubric("tone", "accuracy"), "already exists", id="rename-onto-rubric"
        ),
        pytest.param(lambda m: m.rename_rubric("tone", "exact"), "already a grader", id="rename-onto-grader"),
        pytest.param(lambda m: m.rename_rubric("tone", "1x"), "not an identifier", id="rename-bad-name"),
        pytest.param(lambda m: m.remove_rubric("fmt"), "no rubric 'fmt'", id="remove-non-rubric"),
        pytest.param(lambda m: m.add_cluster("chat"), "already exists", id="add-existing-cluster"),
        pytest.param(lambda m: m.remove_cluster("ghost"), "no cluster 'ghost'", id="remove-unknown-cluster"),
        pytest.param(lambda m: m.rename_cluster("chat", "math"), "already exists", id="rename-onto-cluster"),
        pytest.param(lambda m: m.set("", "tone"), "non-empty", id="empty-cluster-name"),
    ],
)
def test_cluster_map_edit_when_invalid_raises_config_error_and_saves_nothing(wb, project, edit, match):
    design(wb)
    events: list[str] = []
    wb.observe(events.append)
    before, file_before = wb.to_dict(), project.read_bytes()

    with pytest.raises(ConfigError, match=match):
        edit(wb.clusters)
    assert wb.to_dict() == before
    assert project.read_bytes() == file_before
    assert events == []


@pytest.mark.parametrize(
    ("edit", "clusters", "event"),
    [
        pytest.param(
            lambda m: m.add_cluster("poetry", ["tone"]),
            {"chat": ["tone", "accuracy"], "math": ["accuracy"], "poetry": ["tone"]},
            "added cluster 'poetry'",
            id="add-cluster",
        ),
        pytest.param(
            lambda m: m.rename_cluster("math", "maths"),
            {"chat": ["tone", "accuracy"], "maths": ["accuracy"]},
            "renamed cluster 'math' to 'maths'",
            id="rename-cluster",
        ),
        pytest.param(
            lambda m: m.remove_cluster("math"),
            {"chat": ["tone", "accuracy"]},
            "removed cluster 'math'",
            id="remove-cluster",
        ),
        pytest.param(
            lambda m: m.add_rubric("tone", ["math"]),
            {"chat": ["tone", "accuracy"], "math": ["tone", "accuracy"]},
            "added rubric 'tone' to ['math']",
            id="add-known-rubric",
        ),
        pytest.param(
            lambda m: m.remove_rubric("tone"),
            {"chat": ["accuracy"], "math": ["accuracy"]},
            "removed rubric 'tone'",
            id="remove-rubric",
        ),
    ],
)
def test_cluster_map_edit_when_valid_is_one_saved_undoable_change(wb, project, edit, clusters, event):
    design(wb)
    before = wb.to_dict()
    events: list[str] = []
    wb.observe(events.append)

    edit(wb.clusters)
    assert wb.clusters.to_dict() == clusters
    assert json.loads(project.read_text())["clusters"]["clusters"] == clusters
    assert events == [event]
    assert set(wb.clusters.rubrics) == set(wb.rubrics)  # no rubric orphaned, none unknown
    wb.undo()
    assert wb.to_dict() == before


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        pytest.param("exact", "exact_match", "grader", id="grader"),
        pytest.param("fmt", "shape", "formatting", id="formatting"),
        pytest.param("accuracy", "accuracy", "rubric", id="same-name"),
    ],
)
def test_rename_keeps_everything_but_the_name(wb, project, old, new, kind):
    design(wb)
    formula = wb.grader().calculate_output

    assert wb.rename(old, new) == kind
    assert wb.kind_of(new) == kind
    assert wb.grader().calculate_output == formula.replace(old, new)
    assert Workbench(project).to_dict() == wb.to_dict()


# --- another writer changed the project file ------------------------------------------------------


def second_kernel(project: Path) -> None:
    Workbench(project).add_rubric("clarity", "1 = clear")


def hand_edit(project: Path) -> None:
    data = json.loads(project.read_text())
    data["name"] = "edited"
    project.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "behind_our_back",
    [
        pytest.param(second_kernel, id="second-workbench"),
        pytest.param(hand_edit, id="hand-edit"),
        pytest.param(lambda p: p.write_text("{oops"), id="corrupted"),
    ],
)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda wb: wb.add_rubric("accuracy", "1 = correct"), id="add-rubric"),
        pytest.param(lambda wb: wb.clusters.set("chat", "tone"), id="cluster-map-edit"),
        pytest.param(lambda wb: wb.undo(), id="undo"),
    ],
)
def test_autosave_when_the_file_changed_on_disk_refuses_and_rolls_back(project, behind_our_back, change):
    wb = Workbench(project)
    wb.add_rubric("tone", "1 = polite")
    behind_our_back(project)
    theirs, before = project.read_bytes(), wb.to_dict()
    events: list[str] = []
    wb.observe(events.append)

    with pytest.raises(ProjectFileError, match=r"rftkit\.json changed on disk since this notebook") as info:
        change(wb)
    assert "\n" not in str(info.value)
    assert project.read_bytes() == theirs
    assert wb.to_dict() == before
    assert events == []


def test_autosave_when_the_file_appeared_after_an_empty_start_refuses(project, monkeypatch):
    monkeypatch.chdir(project.parent)
    wb = Workbench("rftkit.json")  # no file yet
    second_kernel(project)

    with pytest.raises(ProjectFileError) as info:
        wb.add_rubric("tone", "1 = polite")
    assert str(info.value) == (
        "rftkit.json changed on disk since this notebook loaded it (another kernel or an edit?): "
        "%rft open rftkit.json to load it, or %rft save rftkit.json --overwrite to keep this notebook's version"
    )
    assert wb.rubrics == {}
    assert list(Workbench(project).rubrics) == ["clarity"]


@pytest.mark.parametrize(
    "behind_our_back",
    [
        pytest.param(lambda p: os.utime(p, ns=(0, 0)), id="touched-same-bytes"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()), id="rewritten-same-bytes"),
        pytest.param(lambda p: p.unlink(), id="deleted"),
    ],
)
def test_autosave_when_the_file_holds_nothing_new_writes(project, behind_our_back):
    wb = Workbench(project)
    wb.add_rubric("tone", "1 = polite")
    behind_our_back(project)

    wb.add_rubric("accuracy", "1 = correct")
    assert list(Workbench(project).rubrics) == ["tone", "accuracy"]


def test_conflict_when_resolved_by_open_or_by_save_overwrite_autosaves_again(project):
    ours, theirs = Workbench(project), None
    ours.add_rubric("tone", "1 = polite")
    theirs = Workbench(project)
    theirs.add_rubric("clarity", "1 = clear")

    with pytest.raises(ProjectFileError, match="changed on disk"):
        ours.save()
    ours.save(project, overwrite=True)  # keep this notebook's version
    assert list(Workbench(project).rubrics) == ["tone"]
    ours.add_rubric("accuracy", "1 = correct")
    assert list(Workbench(project).rubrics) == ["tone", "accuracy"]

    with pytest.raises(ProjectFileError, match="changed on disk"):
        theirs.add_rubric("style", "1 = stylish")
    theirs.open(project)  # or take the file's version
    theirs.add_rubric("style", "1 = stylish")
    assert list(Workbench(project).rubrics) == ["tone", "accuracy", "style"]


def test_observer_that_raises_warns_and_the_change_stays(wb):
    def broken(event: str) -> None:
        raise RuntimeError("widget gone")

    wb.observe(broken)
    with pytest.warns(RuntimeWarning, match="widget gone"):
        wb.add_rubric("tone", "t")
    assert "tone" in wb.rubrics


def test_set_example_when_not_plain_json_raises_config_error():
    wb = Workbench(None)
    wb.set_example({"a": 1, "output_text": "x"})
    assert wb.example == {"a": 1, "output_text": "x"}
    with pytest.raises(ConfigError, match="plain JSON"):
        wb.set_example({"a": {1, 2}})
    with pytest.raises(ConfigError, match="dict of column"):
        wb.set_example([1, 2])  # type: ignore[arg-type]
    assert wb.example == {"a": 1, "output_text": "x"}


# --- the project file ------------------------------------------------------------------------------------


def test_project_file_is_versioned_indented_json_with_a_trailing_newline(wb, project):
    design(wb)
    text = project.read_text()
    data = json.loads(text)

    assert list(data)[:2] == ["format", "version"]
    assert (data["format"], data["version"]) == (PROJECT_FORMAT, PROJECT_VERSION)
    assert text.endswith("}\n")
    assert text.startswith('{\n  "format"')
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_project_file_when_reopened_restores_everything(wb, project):
    design(wb)
    wb.configure(name="final", normalize=False, cluster_field="meta.kind")

    again = Workbench(project)
    assert again.to_dict() == wb.to_dict()
    assert again.grader() == wb.grader()
    assert again.formatting == wb.formatting


def test_project_file_writes_are_atomic_and_leave_no_temp_files(wb, project):
    os.chmod(project.parent, 0o755)
    design(wb)
    assert sorted(p.name for p in project.parent.iterdir()) == ["rftkit.json"]


def test_project_file_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "rftkit.json"
    link.symlink_to(real)
    Workbench(link).add_rubric("tone", "t")

    assert link.is_symlink()
    assert "tone" in real.read_text()


VALID = {"format": PROJECT_FORMAT, "version": 1, "name": "r", "normalize": True, "formatting": None,
         "rubrics": [], "graders": [], "clusters": {"clusters": {}, "rubrics": [], "field": "cluster"}}  # fmt: skip
RUBRIC = {
    "name": "tone",
    "text": "t",
    "weight": 1.0,
    "model": "m",
    "range": [0, 1],
    "input": None,
    "item_fields": [],
}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"{", "not valid JSON", id="truncated"),
        pytest.param(b"\x89PNG\r\n", "not valid JSON", id="binary"),
        pytest.param(b"[]", "not an rftkit_nb project file", id="list"),
        pytest.param(json.dumps({**VALID, "version": 2}).encode(), "newer than this rftkit_nb", id="newer"),
        pytest.param(json.dumps({**VALID, "version": "1"}).encode(), "invalid version", id="version-string"),
        pytest.param(
            json.dumps({**VALID, "rubrics": [{**RUBRIC, "weight": -1}]}).encode(),
            r"rubrics\[0\]",
            id="bad-weight",
        ),
        pytest.param(
            json.dumps({**VALID, "rubrics": [{**RUBRIC, "colour": 1}]}).encode(),
            r"rubrics\[0\]",
            id="unknown-key",
        ),
        pytest.param(
            json.dumps({**VALID, "rubrics": [RUBRIC, RUBRIC]}).encode(), "unique", id="duplicate-rubric"
        ),
        pytest.param(
            json.dumps({**VALID, "rubrics": [{**RUBRIC, "name": "1x"}]}).encode(),
            "cannot be a formula variable",
            id="bad-name",
        ),
        pytest.param(
            json.dumps(
                {
                    **VALID,
                    "graders": [{"weight": 1, "config": {"type": "python", "name": "tone", "source": GRADE}}],
                    "rubrics": [RUBRIC],
                }
            ).encode(),
            "two graders are named",
            id="name-clash",
        ),
        pytest.param(
            json.dumps({**VALID, "graders": [{"config": EXACT.config}]}).encode(),
            r"graders\[0\]: missing 'weight'",
            id="missing-weight",
        ),
        pytest.param(
            json.dumps({**VALID, "clusters": {"field": ""}}).encode(), "clusters", id="bad-cluster-field"
        ),
        pytest.param(
            json.dumps({k: v for k, v in VALID.items() if k != "name"}).encode(),
            "missing 'name'",
            id="missing-name",
        ),
    ],
)
def test_project_file_when_unreadable_raises_one_line_error_and_is_left_untouched(project, content, match):
    project.write_bytes(content)

    with pytest.raises(ProjectFileError, match=match) as info:
        Workbench(project)
    assert "\n" not in str(info.value)
    assert project.read_bytes() == content

    wb = Workbench.load_or_empty(project)
    assert wb.blocked is not None
    assert wb.names() == []
    wb.add_rubric("tone", "t")  # in memory only
    assert project.read_bytes() == content
    assert "autosave OFF" in repr(wb)


def test_save_when_autosave_is_blocked_refuses_the_same_path_unless_told(project, tmp_path):
    project.write_bytes(b"{oops")
    wb = Workbench.load_or_empty(project)
    wb.add_rubric("tone", "t")

    with pytest.raises(ProjectFileError, match="left untouched"):
        wb.save(project)
    assert project.read_bytes() == b"{oops"

    wb.save(tmp_path / "rescued.json")
    assert wb.blocked is None
    wb.add_rubric("clarity", "c")
    assert "clarity" in (tmp_path / "rescued.json").read_text()
    assert project.read_bytes() == b"{oops"

    wb.save(project, overwrite=True)
    assert Workbench(project).to_dict() == wb.to_dict()


def test_open_when_file_is_bad_keeps_the_current_work(wb, tmp_path):
    design(wb)
    before = wb.to_dict()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "rftkit_nb-project", "version": 1}')

    with pytest.raises(ProjectFileError, match="missing 'name'"):
        wb.open(bad)
    assert wb.to_dict() == before
    assert wb.path == wb.path.absolute()


def test_open_replaces_the_contents_in_place_and_clears_undo(wb, tmp_path):
    other = Workbench(tmp_path / "other.json")
    other.add_rubric("clarity", "c", clusters=["essay"])
    design(wb)
    cmap = wb.clusters

    wb.open(tmp_path / "other.json")
    assert list(wb.rubrics) == ["clarity"]
    assert wb.clusters is cmap
    assert cmap.to_dict() == {"essay": ["clarity"]}
    with pytest.raises(ConfigError, match="nothing to undo"):
        wb.undo()


def test_path_is_absolute_so_changing_directory_does_not_move_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wb = Workbench("rftkit.json")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    wb.add_rubric("tone", "t")
    assert (tmp_path / "rftkit.json").exists()
    assert not (tmp_path / "elsewhere" / "rftkit.json").exists()


# --- export and save never replace someone's file ----------------------------------------------------------


def _exported(wb: Workbench, path: Path) -> bool:
    return path.is_file() and grader_from_config(json.loads(path.read_text())) == wb.grader()


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda project: project, id="same-path"),
        pytest.param(lambda project: project.parent / "sub" / ".." / project.name, id="another-spelling"),
        pytest.param(lambda project: project.parent / "link.json", id="symlink-to-it"),
    ],
)
@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_export_when_path_is_the_project_file_refuses_even_with_overwrite(wb, project, spell, overwrite):
    design(wb)
    (project.parent / "sub").mkdir()
    (project.parent / "link.json").symlink_to(project)
    content = project.read_bytes()

    with pytest.raises(ConfigError, match="is this notebook's project file, never exported over") as info:
        wb.export(spell(project), overwrite=overwrite)
    assert "\n" not in str(info.value)
    assert project.read_bytes() == content
    wb.add_rubric("style", "s", clusters=["chat"])  # autosave goes on
    assert "style" in project.read_text()


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_export_when_path_is_the_unreadable_project_file_refuses_even_with_overwrite(project, overwrite):
    project.write_bytes(b"{oops")
    wb = Workbench.load_or_empty(project)
    wb.add_rubric("tone", "t")

    with pytest.raises(ConfigError, match="this notebook's project file"):
        wb.export(project, overwrite=overwrite)
    assert project.read_bytes() == b"{oops"


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_export_when_path_is_another_project_file_refuses_even_with_overwrite(wb, tmp_path, overwrite):
    design(wb)
    other = tmp_path / "other-project.json"
    Workbench(other).add_rubric("theirs", "t")
    content = other.read_bytes()

    with pytest.raises(ConfigError, match="is an rftkit_nb project file, never exported over"):
        wb.export(other, overwrite=overwrite)
    assert other.read_bytes() == content


def test_export_when_path_holds_a_previous_export_replaces_it_without_asking(wb, tmp_path):
    design(wb)
    out = tmp_path / "grader.json"
    wb.export(out)
    wb.add_rubric("style", "s", clusters=["chat"])

    assert wb.export(out) == out
    assert _exported(wb, out)
    assert "style" in json.loads(out.read_text())["graders"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"question,answer\n2+2,4\n", id="csv"),
        pytest.param(b'{"question": "2+2", "answer": "4"}\n', id="json-object-without-type"),
        pytest.param(b'[{"type": "string_check"}]', id="json-list"),
        pytest.param(b"\xff\xfe\x00binary", id="binary"),
        pytest.param(b"", id="empty-file"),
    ],
)
def test_export_when_path_holds_other_data_refuses_unless_overwrite(wb, tmp_path, monkeypatch, content):
    design(wb)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "rows.json"
    data.write_bytes(content)

    message = r"^rows\.json exists and is not a grader JSON: .* %rft export rows\.json --overwrite"
    with pytest.raises(ConfigError, match=message):
        wb.export("rows.json")
    assert data.read_bytes() == content

    wb.export("rows.json", overwrite=True)
    assert _exported(wb, data)


@pytest.mark.parametrize(
    ("content", "fix"),
    [
        pytest.param(b"question,answer\n2+2,4\n", "save to another file", id="data-file"),
        pytest.param(b'{"type": "string_check"}', "save to another file", id="grader-json"),
        pytest.param(None, "%rft open other.json to work on it", id="another-project"),
    ],
)
def test_save_when_path_holds_another_file_refuses_unless_overwrite(wb, tmp_path, monkeypatch, content, fix):
    design(wb)
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other.json"
    if content is None:
        Workbench(other).add_rubric("theirs", "t")
    else:
        other.write_bytes(content)
    existing = other.read_bytes()

    message = rf"^other\.json already exists and is not this notebook's project file: {fix}, or %rft save"
    with pytest.raises(ConfigError, match=message):
        wb.save("other.json")
    assert other.read_bytes() == existing
    assert wb.path == tmp_path / "rftkit.json"  # the autosave target did not move

    wb.save("other.json", overwrite=True)
    assert wb.path == other
    assert Workbench(other).to_dict() == wb.to_dict()


def test_save_when_path_is_new_or_the_project_file_needs_no_overwrite(wb, project, tmp_path):
    design(wb)
    assert wb.save() == project
    assert wb.save(project) == project
    assert wb.save(tmp_path / "new.json") == tmp_path / "new.json"
    assert Workbench(tmp_path / "new.json").to_dict() == wb.to_dict()


def test_autosave_blocked_when_the_file_is_unreadable_is_a_one_line_reminder_until_saved_elsewhere(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    Path("rftkit.json").write_bytes(b"{oops")
    readable = Workbench(None)
    assert readable.autosave_blocked is None

    wb = Workbench.load_or_empty("rftkit.json")
    assert wb.autosave_blocked == (
        "not saved: rftkit.json could not be read; %rft save OTHER.json to keep this work"
    )
    wb.add_rubric("tone", "t")
    assert wb.autosave_blocked is not None

    wb.save("rescued.json")
    assert wb.autosave_blocked is None


# --- display and lint -------------------------------------------------------------------------------------


def test_reprs_show_the_design_and_escape_every_user_value():
    wb = Workbench(None)
    wb.add_rubric("tone", f"Be kind {HOSTILE}", clusters=[HOSTILE])
    wb.add_grader(PythonGrader(name="p", source=GRADE))

    text, html = repr(wb), wb._repr_html_()
    for part in ("tone", "p | python", "formula:", "lint:", HOSTILE, "in memory"):
        assert part in text
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_repr_when_empty_says_so_without_raising():
    wb = Workbench(None)
    assert "formula: (none: the workbench is empty" in repr(wb)
    assert "workbench is empty" in wb._repr_html_()
    assert [f.level for f in wb.lint()] == ["error"]


def test_lint_reports_uncovered_rubrics_empty_clusters_and_rows_without_a_cluster():
    wb = design(Workbench(None))
    wb.add_rubric("clarity", "c")
    wb.set_cluster("poetry", "clarity", False)

    report = wb.lint(dataset=[{"cluster": "chat", "a": "x"}, {"a": "y"}])
    messages = [(f.level, f.message) for f in report]
    assert ("warning", "rubric 'clarity' is in no cluster, so it never counts") in messages
    assert ("info", "rows of cluster 'poetry' are graded without any rubric") in messages
    assert any("1 of 2 rows have no known cluster at item.cluster (first: row 1)" in m for _, m in messages)


def test_summary_lists_names_and_settings(wb):
    design(wb)
    s = wb.summary()
    assert s["rubrics"] == ["tone", "accuracy"]
    assert s["graders"] == ["exact"]
    assert s["formatting"] == "fmt"
    assert s["autosave"] is True


# --- properties ---------------------------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c"])
OPS = st.one_of(
    st.tuples(
        st.just("rubric"),
        NAMES,
        st.sampled_from([0.0, 0.5, 2.0]),
        st.lists(st.sampled_from(["x", "y"]), max_size=2),
    ),
    st.tuples(st.just("grader"), st.sampled_from(["g1", "g2"]), st.sampled_from([0.1, 1.0])),
    st.tuples(st.just("remove"), st.sampled_from(["a", "b", "c", "g1", "g2", "fmt"])),
    st.tuples(st.just("fmt"), st.sampled_from([0.0, 0.2])),
    st.tuples(st.just("cell"), st.sampled_from(["x", "y", "z"]), NAMES, st.booleans()),
)


def apply(wb: Workbench, op: tuple) -> None:
    kind, *args = op
    try:
        if kind == "rubric":
            wb.add_rubric(args[0], f"rubric {args[0]}", weight=args[1], clusters=args[2] or None)
        elif kind == "grader":
            wb.add_grader(PythonGrader(name=args[0], source=GRADE), weight=args[1])
        elif kind == "remove":
            wb.remove(args[0])
        elif kind == "fmt":
            wb.set_formatting(FormattingGrader(name="fmt", weight=args[0]))
        else:
            wb.set_cluster(*args)
    except ConfigError:
        pass  # refused changes are part of the property: they must change nothing


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, max_size=12))
def test_property_any_edits_reopen_equal_and_undo_back_to_empty(ops):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "rftkit.json")
        wb = Workbench(path)
        for op in ops:
            apply(wb, op)
        if wb.names():
            assert grader_from_config(wb.grader().config) == wb.grader()
        if path.exists():
            assert Workbench(path).to_dict() == wb.to_dict()
        while True:
            try:
                wb.undo()
            except ConfigError:
                break
        assert wb.to_dict() == Workbench(None).to_dict()
