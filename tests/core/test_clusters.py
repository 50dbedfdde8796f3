"""Specification of ClusterMap (rftkit_nb.core.clusters): clusters x rubrics membership."""

from __future__ import annotations

import pytest

from rftkit_nb.core.clusters import ClusterMap, read_path
from rftkit_nb.errors import ConfigError

SEED = {"math": ["accuracy", "rigour"], "essay": ["accuracy", "clarity"], "chat": []}
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def cluster_map() -> ClusterMap:
    return ClusterMap.from_dict(SEED)


@pytest.fixture
def edits(cluster_map: ClusterMap) -> list[str]:
    seen: list[str] = []
    cluster_map.observe(seen.append)
    return seen


# ------------------------------------------------------------------------------------- seed shape


def test_from_dict_when_given_the_seed_shape_round_trips_through_to_dict():
    assert ClusterMap.from_dict(SEED).to_dict() == SEED
    assert ClusterMap.from_dict(ClusterMap.from_dict(SEED).to_dict()).to_dict() == SEED


def test_from_dict_when_built_puts_every_member_rubric_on_the_axis_in_first_seen_order(cluster_map):
    assert cluster_map.rubrics == ["accuracy", "rigour", "clarity"]
    assert list(cluster_map.clusters) == ["math", "essay", "chat"]


def test_from_dict_when_a_rubric_repeats_in_a_cluster_keeps_it_once():
    assert ClusterMap.from_dict({"a": ["r", "r", "s"]}).to_dict() == {"a": ["r", "s"]}


def test_to_dict_when_mutated_by_the_caller_does_not_change_the_map(cluster_map):
    exported = cluster_map.to_dict()
    exported["math"].append("intruder")
    assert "intruder" not in cluster_map.rubrics_for("math")


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        pytest.param(["math"], "dict of cluster", id="not-a-dict"),
        pytest.param({"math": "accuracy"}, "must be a list of names", id="rubrics-as-a-string"),
        pytest.param({"math": [""]}, "rubric name must be a non-empty string", id="empty-rubric"),
        pytest.param({"": ["a"]}, "cluster name must be a non-empty string", id="empty-cluster"),
        pytest.param({"math": [3]}, "rubric name", id="rubric-not-a-string"),
    ],
)
def test_from_dict_when_shape_is_wrong_raises_config_error_naming_the_problem(mapping, problem):
    with pytest.raises(ConfigError, match=problem):
        ClusterMap.from_dict(mapping)


@pytest.mark.parametrize("field", ["", "meta.", ".kind", "a..b"])
def test_cluster_map_when_field_is_not_a_dotted_path_raises_a_value_error_naming_field(field):
    with pytest.raises(ValueError, match="cluster field"):
        ClusterMap.from_dict(SEED, field=field)


# ------------------------------------------------------------------------------------------ queries


@pytest.mark.parametrize(
    ("cluster", "rubric", "expected"),
    [
        pytest.param("math", "rigour", True, id="member"),
        pytest.param("essay", "rigour", False, id="not-a-member"),
        pytest.param("chat", "accuracy", False, id="empty-cluster"),
        pytest.param("unknown", "accuracy", False, id="unknown-cluster"),
        pytest.param(None, "accuracy", False, id="no-cluster"),
    ],
)
def test_applies_when_asked_answers_membership(cluster_map, cluster, rubric, expected):
    assert cluster_map.applies(cluster, rubric) is expected


def test_rubrics_for_and_clusters_for_when_asked_read_both_axes(cluster_map):
    assert cluster_map.rubrics_for("essay") == ["accuracy", "clarity"]
    assert cluster_map.rubrics_for("unknown") == []
    assert cluster_map.clusters_for("accuracy") == ["math", "essay"]
    assert cluster_map.clusters_for("unknown") == []


def test_coverage_when_a_rubric_is_in_no_cluster_and_a_cluster_has_no_rubric_reports_both(cluster_map):
    cluster_map.add_rubric("tone")
    assert cluster_map.uncovered_rubrics() == ["tone"]
    assert cluster_map.empty_clusters() == ["chat"]


def test_coverage_when_every_rubric_and_cluster_is_used_reports_nothing():
    full = ClusterMap.from_dict({"a": ["x"], "b": ["y"]})
    assert full.uncovered_rubrics() == []
    assert full.empty_clusters() == []


@pytest.mark.parametrize(
    ("field", "item", "expected"),
    [
        pytest.param("cluster", {"cluster": "math"}, "math", id="top-level"),
        pytest.param("meta.kind", {"meta": {"kind": "essay"}, "cluster": "math"}, "essay", id="dotted-path"),
        pytest.param("a.b.c", {"a": {"b": {"c": "chat"}}}, "chat", id="three-levels"),
        pytest.param("cluster", {"cluster": 7}, "7", id="number-as-text"),
        pytest.param("cluster", {}, None, id="absent"),
        pytest.param("meta.kind", {"meta": "essay"}, None, id="path-through-a-non-dict"),
        pytest.param("cluster", {"cluster": None}, None, id="null"),
        pytest.param("cluster", {"cluster": 1.0}, "1", id="integral-float-from-a-column-with-gaps"),
        pytest.param("cluster", {"cluster": 1.5}, "1.5", id="fractional-float"),
        pytest.param("cluster", {"cluster": float("nan")}, None, id="nan-is-absent"),
    ],
)
def test_cluster_of_when_reading_an_item_follows_the_field_path(field, item, expected):
    assert ClusterMap.from_dict(SEED, field=field).cluster_of(item) == expected


def test_read_path_when_a_part_is_missing_returns_none():
    assert read_path({"a": {"b": 1}}, "a.b") == 1
    assert read_path({"a": {"b": 1}}, "a.c") is None


# -------------------------------------------------------------------------------------------- edits

EDITS = [
    pytest.param(
        lambda m: m.add_cluster("legal", ["accuracy", "citations"]),
        {**SEED, "legal": ["accuracy", "citations"]},
        "added cluster 'legal'",
        id="add-cluster",
    ),
    pytest.param(
        lambda m: m.remove_cluster("chat"),
        {"math": ["accuracy", "rigour"], "essay": ["accuracy", "clarity"]},
        "removed cluster 'chat'",
        id="remove-cluster",
    ),
    pytest.param(
        lambda m: m.rename_cluster("essay", "writing"),
        {"math": ["accuracy", "rigour"], "writing": ["accuracy", "clarity"], "chat": []},
        "renamed cluster 'essay' to 'writing'",
        id="rename-cluster-keeps-order",
    ),
    pytest.param(
        lambda m: m.add_rubric("tone", ["chat", "essay"]),
        {"math": ["accuracy", "rigour"], "essay": ["accuracy", "clarity", "tone"], "chat": ["tone"]},
        "added rubric 'tone'",
        id="add-rubric",
    ),
    pytest.param(
        lambda m: m.remove_rubric("accuracy"),
        {"math": ["rigour"], "essay": ["clarity"], "chat": []},
        "removed rubric 'accuracy'",
        id="remove-rubric",
    ),
    pytest.param(
        lambda m: m.rename_rubric("accuracy", "correctness"),
        {"math": ["correctness", "rigour"], "essay": ["correctness", "clarity"], "chat": []},
        "renamed rubric 'accuracy' to 'correctness'",
        id="rename-rubric",
    ),
    pytest.param(
        lambda m: m.set("chat", "clarity"),
        {**SEED, "chat": ["clarity"]},
        "on: 'chat' x 'clarity'",
        id="set-on",
    ),
    pytest.param(
        lambda m: m.set("math", "rigour", False),
        {**SEED, "math": ["accuracy"]},
        "off: 'math' x 'rigour'",
        id="set-off",
    ),
]


@pytest.mark.parametrize(("edit", "expected", "event"), EDITS)
def test_edit_when_applied_changes_the_map_and_tells_each_observer_once(
    cluster_map, edits, edit, expected, event
):
    edit(cluster_map)
    assert cluster_map.to_dict() == expected
    assert edits == [event]


def test_rename_rubric_when_applied_renames_it_on_the_axis_too(cluster_map):
    cluster_map.rename_rubric("rigour", "proof")
    assert cluster_map.rubrics == ["accuracy", "proof", "clarity"]


def test_remove_rubric_when_applied_takes_it_off_the_axis(cluster_map):
    cluster_map.remove_rubric("clarity")
    assert "clarity" not in cluster_map.rubrics


def test_set_when_switching_a_rubric_on_keeps_the_cluster_in_axis_order(cluster_map):
    cluster_map.set("essay", "rigour")
    assert cluster_map.rubrics_for("essay") == ["accuracy", "rigour", "clarity"]


def test_set_when_cluster_is_unknown_creates_it(cluster_map):
    cluster_map.set("legal", "accuracy")
    assert cluster_map.rubrics_for("legal") == ["accuracy"]


def test_observe_when_several_observers_are_registered_calls_each_on_every_edit(cluster_map):
    first: list[str] = []
    second: list[str] = []
    cluster_map.observe(first.append)
    cluster_map.observe(second.append)
    cluster_map.add_rubric("tone")
    cluster_map.remove_cluster("chat")
    assert first == second == ["added rubric 'tone'", "removed cluster 'chat'"]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        pytest.param(
            lambda m: m.remove_cluster("legal"),
            "no cluster 'legal'; clusters are: math",
            id="remove-unknown-cluster",
        ),
        pytest.param(
            lambda m: m.rename_cluster("legal", "x"), "no cluster 'legal'", id="rename-unknown-cluster"
        ),
        pytest.param(
            lambda m: m.remove_rubric("tone"),
            "no rubric 'tone'; rubrics are: accuracy",
            id="remove-unknown-rubric",
        ),
        pytest.param(lambda m: m.rename_rubric("tone", "x"), "no rubric 'tone'", id="rename-unknown-rubric"),
        pytest.param(lambda m: m.add_cluster("math"), "already exists", id="add-existing-cluster"),
        pytest.param(
            lambda m: m.rename_cluster("math", "essay"), "'essay' already exists", id="rename-cluster-clash"
        ),
        pytest.param(
            lambda m: m.rename_rubric("rigour", "clarity"),
            "'clarity' already exists",
            id="rename-rubric-clash",
        ),
        pytest.param(lambda m: m.add_rubric(""), "non-empty string", id="empty-rubric"),
        pytest.param(lambda m: m.add_cluster("  "), "non-empty string", id="blank-cluster"),
        pytest.param(lambda m: m.set("math", None), "rubric name", id="set-none-rubric"),
        pytest.param(
            lambda m: m.add_cluster("legal", ["accuracy", ""]), "rubric name", id="add-cluster-bad-member"
        ),
        pytest.param(
            lambda m: m.add_rubric("tone", ["chat", ""]), "cluster name", id="add-rubric-bad-cluster"
        ),
    ],
)
def test_edit_when_names_are_unknown_or_clash_raises_config_error_and_changes_nothing(
    cluster_map, edits, edit, problem
):
    with pytest.raises(ConfigError, match=problem):
        edit(cluster_map)
    assert cluster_map.to_dict() == SEED
    assert edits == []


# ------------------------------------------------------------------------------------------ display


def test_repr_when_called_draws_the_matrix_with_the_field(cluster_map):
    lines = repr(cluster_map).splitlines()
    assert lines[0] == "ClusterMap(field='cluster')"
    assert lines[1].split() == ["cluster", "accuracy", "rigour", "clarity"]
    assert lines[2].split() == ["math", "x", "x"]
    assert lines[4].split() == ["chat"]


def test_repr_when_empty_says_so():
    assert repr(ClusterMap()) == "ClusterMap(empty, field='cluster')"


def test_repr_html_when_names_are_hostile_escapes_them():
    hostile = ClusterMap.from_dict({HOSTILE: [HOSTILE]}, field="meta.kind")
    hostile.add_rubric("<b>loose</b>")
    html = hostile._repr_html_()
    assert "<script" not in html
    assert "<b>loose" not in html
    assert "&lt;script&gt;" in html


def test_repr_html_when_coverage_has_gaps_names_them(cluster_map):
    cluster_map.add_rubric("tone")
    html = cluster_map._repr_html_()
    assert "rubrics in no cluster" in html
    assert "tone" in html
    assert "clusters with no rubric" in html
