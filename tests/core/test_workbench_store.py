"""The Workbench's store (rftkit_nb.core.workbench.store): one change at a time, rolled back when it
cannot be saved, undo, observers, open and save, and the check that nobody else changed the file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rftkit_nb.core.graders import PythonGrader, StringCheckGrader, grader_from_config
from rftkit_nb.core.rubrics import FormattingGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError, ProjectFileError

GRADE = "def grade(sample, item):\n    return 1.0\n"
EXACT = StringCheckGrader(
    name="exact", input="{{ sample.output_text }}", reference="{{ item.a }}", operation="eq"
)


# --- changes, rollback, undo, observers -----------------------------------------------------------


def test_change_when_the_file_cannot_be_written_rolls_back(tmp_path):
    (tmp_path / "file").write_text("")
    wb = Workbench(tmp_path / "file" / "rftkit.json")  # its parent is a file: every write fails

    with pytest.raises(ProjectFileError, match="could not write"):
        wb.add_rubric("tone", "1 = polite")
    assert wb.rubrics == {}


def _folder_instead_of_the_file(wb: Workbench, project: Path) -> None:
    project.unlink()
    project.mkdir()  # the next autosave cannot read nor write it
    wb.add_rubric("accuracy", "1 = correct")


@pytest.mark.parametrize(
    ("step_back", "name"),
    [
        pytest.param(lambda wb, project: wb.remove_cluster("no-such-cluster"), "total", id="edit-refused"),
        pytest.param(_folder_instead_of_the_file, "total", id="autosave-failed"),
        pytest.param(lambda wb, project: wb.undo(), "reward", id="undo-of-the-rename"),
    ],
)
def test_state_when_rolled_back_or_undone_is_the_kept_objects_not_copies_rebuilt_from_json(
    project, step_back, name
):
    wb = Workbench(project)
    wb.add_grader(EXACT)
    fmt = wb.set_formatting(name="fmt")
    wb.add_rubric("tone", "1 = polite")
    rubric = wb.rubrics["tone"]
    wb.configure(name="total")
    held = wb.to_dict()

    with contextlib.suppress(ConfigError, ProjectFileError):
        step_back(wb, project)
    assert wb.graders["exact"][0] is EXACT
    assert wb.formatting is fmt
    assert wb.rubrics["tone"] is rubric
    assert wb.to_dict() == held | {"name": name}


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


def test_observer_that_raises_warns_and_the_change_stays(wb):
    def broken(event: str) -> None:
        raise RuntimeError("widget gone")

    wb.observe(broken)
    with pytest.warns(RuntimeWarning, match="widget gone"):
        wb.add_rubric("tone", "t")
    assert "tone" in wb.rubrics


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


# --- open and save --------------------------------------------------------------------------------


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


def test_open_when_file_is_bad_keeps_the_current_work(wb, tmp_path, design):
    design(wb)
    before = wb.to_dict()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "rftkit_nb-project", "version": 1}')

    with pytest.raises(ProjectFileError, match="missing 'name'"):
        wb.open(bad)
    assert wb.to_dict() == before
    assert wb.path == wb.path.absolute()


def test_open_replaces_the_contents_in_place_and_clears_undo(wb, tmp_path, design):
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


# --- properties -----------------------------------------------------------------------------------


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
