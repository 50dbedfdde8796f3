"""Exports and saves (the store's writes): the exported config reads back equal, and nothing replaces
someone's file (a project file never; other data only when told)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rftkit_nb.core.graders import grader_from_config
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError


def test_export_writes_the_config_that_grader_from_config_reads_back_equal(wb, tmp_path, design):
    design(wb)
    path = wb.export(tmp_path / "grader.json")
    config = json.loads(path.read_text())
    assert config == wb.grader().config
    assert grader_from_config(config) == wb.grader()


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
def test_export_when_path_is_the_project_file_refuses_even_with_overwrite(
    wb, project, spell, overwrite, design
):
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
def test_export_when_path_is_another_project_file_refuses_even_with_overwrite(
    wb, tmp_path, overwrite, design
):
    design(wb)
    other = tmp_path / "other-project.json"
    Workbench(other).add_rubric("theirs", "t")
    content = other.read_bytes()

    with pytest.raises(ConfigError, match="is an rftkit_nb project file, never exported over"):
        wb.export(other, overwrite=overwrite)
    assert other.read_bytes() == content


def test_export_when_path_holds_a_previous_export_replaces_it_without_asking(wb, tmp_path, design):
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
def test_export_when_path_holds_other_data_refuses_unless_overwrite(
    wb, tmp_path, monkeypatch, content, design
):
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
def test_save_when_path_holds_another_file_refuses_unless_overwrite(
    wb, tmp_path, monkeypatch, content, fix, design
):
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


def test_save_when_path_is_new_or_the_project_file_needs_no_overwrite(wb, project, tmp_path, design):
    design(wb)
    assert wb.save() == project
    assert wb.save(project) == project
    assert wb.save(tmp_path / "new.json") == tmp_path / "new.json"
    assert Workbench(tmp_path / "new.json").to_dict() == wb.to_dict()
