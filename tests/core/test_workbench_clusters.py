"""The Workbench's live cluster map (rftkit_nb.core.workbench.clusters): every edit on it is a
validated, saved, undoable change; its contents are read-only; a rubric on it is the Workbench's rubric."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError


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


def test_cluster_map_rename_rubric_renames_the_rubric_in_the_workbench(wb, project, design):
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
def test_cluster_map_edit_when_invalid_raises_config_error_and_saves_nothing(
    wb, project, edit, match, design
):
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
def test_cluster_map_edit_when_valid_is_one_saved_undoable_change(wb, project, edit, clusters, event, design):
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
