"""Specification of ClusterMatrix, driven headless as the front end drives it: ``set_state`` for the
``membership`` trait (a cell click) and custom messages for structural edits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.notebook.widgets import ClusterMatrix
from rftkit_nb.notebook.widgets.cluster_matrix import STATIC

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def wb(tmp_path: Path) -> Workbench:
    wb = Workbench(tmp_path / "rftkit.json")
    wb.add_rubric("tone", "1 = polite", weight=2, clusters=["chat"])
    wb.add_rubric("accuracy", "1 = correct", clusters=["chat", "math"])
    return wb


def saved_clusters(wb: Workbench) -> dict:
    assert wb.path is not None
    data = json.loads(wb.path.read_text())["clusters"]["clusters"]
    return {c: list(rs) for c, rs in data.items()}


def message(matrix: ClusterMatrix, op: str, *args: str) -> None:
    matrix._handle_custom_msg({"op": op, "args": list(args)}, [])


def test_matrix_when_built_from_a_workbench_shows_its_map_and_weights(wb):
    m = ClusterMatrix(wb)
    assert m.clusters == ["chat", "math"]
    assert m.rubrics == ["tone", "accuracy"]
    assert m.membership == {"chat": ["tone", "accuracy"], "math": ["accuracy"]}
    assert m.weights == {"tone": 2.0, "accuracy": 1.0}
    assert m.can_add_rubrics is False


def test_cell_click_when_sent_as_membership_updates_map_file_and_undo(wb):
    m = ClusterMatrix(wb)
    m.set_state({"membership": {"chat": ["accuracy"], "math": ["accuracy"]}})

    assert wb.clusters.to_dict() == {"chat": ["accuracy"], "math": ["accuracy"]}
    assert saved_clusters(wb) == {"chat": ["accuracy"], "math": ["accuracy"]}
    assert m.notice["level"] == "ok"
    assert wb.undo() == "off: 'chat' x 'tone'"
    assert m.membership == {"chat": ["tone", "accuracy"], "math": ["accuracy"]}


def test_membership_when_a_new_cluster_key_arrives_adds_the_cluster(wb):
    m = ClusterMatrix(wb)
    m.set_state({"membership": {**m.membership, "essay": ["tone"]}})
    assert wb.clusters.to_dict()["essay"] == ["tone"]
    assert m.clusters == ["chat", "math", "essay"]


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        pytest.param(lambda wb: wb.set_cluster("math", "tone"), {"chat": ["tone", "accuracy"],
                     "math": ["tone", "accuracy"]}, id="set-cluster"),
        pytest.param(lambda wb: wb.add_rubric("style", "1 = stylish", clusters=["math"]),
                     {"chat": ["tone", "accuracy"], "math": ["accuracy", "style"]}, id="rubric-added"),
        pytest.param(lambda wb: wb.remove("tone"), {"chat": ["accuracy"], "math": ["accuracy"]}, id="removed"),
        pytest.param(lambda wb: wb.undo(), {"chat": ["tone"]}, id="undo"),
    ],
)  # fmt: skip
def test_python_change_when_made_reaches_every_open_matrix(wb, change, shown):
    first, second = ClusterMatrix(wb), ClusterMatrix(wb)
    change(wb)
    assert first.membership == second.membership == shown
    assert first.rubrics == second.rubrics == list(wb.clusters.rubrics)


def test_matrix_when_workbench_opens_another_file_shows_that_file(wb, tmp_path):
    other = Workbench(tmp_path / "other.json")
    other.add_rubric("brevity", "1 = short", clusters=["support"])
    m = ClusterMatrix(wb)
    wb.open(tmp_path / "other.json")
    assert m.membership == {"support": ["brevity"]}
    assert m.weights == {"brevity": 1.0}


def test_refused_click_when_project_changed_on_disk_springs_back_with_the_message(wb):
    m = ClusterMatrix(wb)
    before = dict(m.membership)
    wb.path.write_text(wb.path.read_text().replace('"tone"', '"tone" '))  # another kernel wrote it
    m.set_state({"membership": {"chat": ["accuracy"], "math": ["accuracy"]}})

    assert m.membership == before
    assert wb.clusters.to_dict() == before
    assert m.notice["level"] == "error"
    assert "changed on disk" in m.notice["text"]


def test_refused_message_when_rubric_unknown_names_the_rubrics_and_changes_nothing(wb):
    m = ClusterMatrix(wb)
    message(m, "set", "chat", "ghost")
    assert m.notice == {"level": "error", "text": "no rubric 'ghost'; rubrics are: tone, accuracy", "seq": 1}
    assert wb.clusters.to_dict() == {"chat": ["tone", "accuracy"], "math": ["accuracy"]}


def test_same_refusal_when_repeated_gets_a_new_notice_sequence(wb):
    m = ClusterMatrix(wb)
    message(m, "set", "chat", "ghost")
    message(m, "set", "chat", "ghost")
    assert m.notice["seq"] == 2  # the front end shows it again


@pytest.mark.parametrize(
    ("op", "args", "expected"),
    [
        pytest.param("add_cluster", ["essay"], {"chat": ["tone", "accuracy"], "math": ["accuracy"], "essay": []},
                     id="add-cluster"),
        pytest.param("rename_cluster", ["math", "algebra"], {"chat": ["tone", "accuracy"], "algebra": ["accuracy"]},
                     id="rename-cluster"),
        pytest.param("remove_cluster", ["math"], {"chat": ["tone", "accuracy"]}, id="remove-cluster"),
        pytest.param("rename_rubric", ["tone", "warmth"], {"chat": ["warmth", "accuracy"], "math": ["accuracy"]},
                     id="rename-rubric"),
        pytest.param("remove_rubric", ["tone"], {"chat": ["accuracy"], "math": ["accuracy"]}, id="remove-rubric"),
        pytest.param("set", ["math", "tone", True], {"chat": ["tone", "accuracy"], "math": ["tone", "accuracy"]},
                     id="set"),
    ],
)  # fmt: skip
def test_structural_message_when_sent_edits_the_workbench_and_saves(wb, op, args, expected):
    m = ClusterMatrix(wb)
    message(m, op, *args)
    assert m.notice["level"] == "ok", m.notice
    assert wb.clusters.to_dict() == expected == m.membership
    assert saved_clusters(wb) == expected


def test_rubric_rename_when_from_the_matrix_renames_the_workbench_rubric(wb):
    m = ClusterMatrix(wb)
    message(m, "rename_rubric", "tone", "warmth")
    assert list(wb.rubrics) == ["warmth", "accuracy"]
    assert m.weights == {"warmth": 2.0, "accuracy": 1.0}
    wb.undo()
    assert m.rubrics == ["tone", "accuracy"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"op": "explode"}, id="unknown-op"),
        pytest.param("not a dict", id="not-a-dict"),
        pytest.param({"op": "rename_cluster", "args": ["chat"]}, id="missing-argument"),
    ],
)
def test_bad_message_when_received_shows_an_error_and_changes_nothing(wb, content):
    m = ClusterMatrix(wb)
    m._handle_custom_msg(content, [])
    assert m.notice["level"] == "error"
    assert wb.clusters.to_dict() == {"chat": ["tone", "accuracy"], "math": ["accuracy"]}


def test_matrix_when_built_from_a_cluster_map_edits_it_and_offers_adding_rubrics():
    cmap = ClusterMap.from_dict({"chat": ["tone"]})
    m = ClusterMatrix(cmap)
    assert m.can_add_rubrics is True
    message(m, "add_rubric", "clarity")
    m.set_state({"membership": {"chat": ["tone", "clarity"]}})
    assert cmap.to_dict() == {"chat": ["tone", "clarity"]}
    cmap.add_cluster("math", ["clarity"])  # a change from Python
    assert m.membership == {"chat": ["tone", "clarity"], "math": ["clarity"]}


def test_attach_when_rows_given_counts_clusters_and_lists_missing_ones(wb):
    rows = [{"cluster": "chat"}, {"cluster": "chat"}, {"cluster": "essay"}, {"cluster": 3.0}, {"q": "none"}]
    m = ClusterMatrix(wb).attach(rows)
    assert m.attached is True
    assert m.row_counts == {"chat": 2, "essay": 1, "3": 1}
    assert m.unclustered_rows == 1
    assert m.missing == ["essay", "3"]

    message(m, "add_cluster", "essay")  # the one-click addition
    assert m.missing == ["3"]
    assert "essay" in wb.clusters.clusters


def test_attach_when_cluster_field_changes_counts_again(wb):
    m = ClusterMatrix(wb).attach([{"cluster": "chat", "meta": {"kind": "math"}}])
    wb.configure(cluster_field="meta.kind")
    assert m.field == "meta.kind"
    assert m.row_counts == {"math": 1}
    assert m.missing == []


def test_closed_matrix_when_workbench_changes_no_longer_follows(wb):
    m = ClusterMatrix(wb)
    m.close()
    wb.set_cluster("math", "tone")
    assert m.membership == {"chat": ["tone", "accuracy"], "math": ["accuracy"]}


def test_matrix_when_not_rendered_falls_back_to_the_maps_escaped_views():
    m = ClusterMatrix(ClusterMap.from_dict({XSS: ["tone"]}))
    assert XSS not in m._repr_html_()
    assert "&lt;img" in m._repr_html_()
    assert XSS in repr(m)


def big_project(path: Path, n: int) -> Path:
    """A project file of n rubrics and n clusters, each cluster counting a tenth of the rubrics."""
    rubrics = [f"rubric_{j:03d}" for j in range(n)]
    spec = {"text": "1 = good", "weight": 1.0, "model": "gpt-4.1-mini-2025-04-14", "range": [0.0, 1.0],
            "input": None, "item_fields": []}  # fmt: skip
    clusters = {f"cluster_{i:03d}": [r for j, r in enumerate(rubrics) if (i + j) % 10 == 0] for i in range(n)}
    project = {"format": "rftkit_nb-project", "version": 1, "name": "reward", "normalize": True,
               "formatting": None, "rubrics": [{"name": r, **spec} for r in rubrics], "graders": [],
               "clusters": {"clusters": clusters, "rubrics": rubrics, "field": "cluster"}}  # fmt: skip
    path.write_text(json.dumps(project))
    return path


def test_matrix_when_200_by_200_keeps_synced_state_under_200_kb(tmp_path):
    wb = Workbench(big_project(tmp_path / "big.json", 200))
    start = time.perf_counter()
    m = ClusterMatrix(wb)
    built = time.perf_counter() - start
    size = len(json.dumps(m.get_state(), default=str))
    assert len(m.clusters) == len(m.rubrics) == 200
    assert sum(map(len, m.membership.values())) == 4000
    assert size < 200_000, size
    assert built < 5  # generous: the 100 ms figure is measured in benchmarks/bench_widgets.py


def test_static_modules_when_read_never_put_data_into_html():
    for path in STATIC.glob("*.js"):
        # SVG's namespace is a name (createElementNS), never fetched: the one URL-shaped string allowed.
        source = path.read_text().replace('"http://www.w3.org/2000/svg"', "SVG_NAMESPACE")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"
        assert "http://" not in source
        assert "https://" not in source
