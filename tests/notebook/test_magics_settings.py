"""%rft config, %rft open while autosave is off, and %load_ext on a project file an older version wrote."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError

from rftkit_nb.core.project import PROJECT_FORMAT
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.notebook.display import Note


def rubric_cell(name: str, body: str = "1.0 = polite; 0.0 = rude.") -> str:
    return f"%%rubric {name}\n{body}\n"


@pytest.mark.parametrize(
    ("line", "name", "field", "normalize"),
    [
        pytest.param("%rft config --name final", "final", "cluster", True, id="name"),
        pytest.param(
            "%rft config --cluster-field meta.kind", "reward", "meta.kind", True, id="cluster-field"
        ),
        pytest.param("%rft config --no-normalize", "reward", "cluster", False, id="no-normalize"),
        pytest.param("%rft config --name final --normalize", "final", "cluster", True, id="name-normalize"),
        pytest.param("%rft config", "reward", "cluster", True, id="no-option-shows-the-settings"),
    ],
)
def test_rft_config_when_given_options_changes_those_settings_and_saves_them(
    shell, project_dir, line, name, field, normalize
):
    shell.cell(rubric_cell("tone"))
    note = shell.cell(line)

    wb = shell.workbench
    assert (wb.name, wb.cluster_field, wb.normalize) == (name, field, normalize)
    assert isinstance(note, Note)
    assert f"name {name!r}" in note.text
    saved = json.loads((project_dir / "rftkit.json").read_text())
    assert (saved["name"], saved["clusters"]["field"], saved["normalize"]) == (name, field, normalize)


def test_rft_config_when_the_name_is_taken_is_a_one_line_error_and_changes_nothing(shell):
    shell.cell(rubric_cell("tone"))
    with pytest.raises(UsageError, match="already a rubric") as info:
        shell.cell("%rft config --name tone")
    assert "\n" not in str(info.value)
    assert shell.workbench.name == "reward"


def test_rubric_when_named_like_the_composed_grader_points_to_rft_config(shell):
    with pytest.raises(UsageError, match=r"%rft config --name NEW_NAME"):
        shell.cell(rubric_cell("reward"))
    shell.cell("%rft config --name total")
    shell.cell(rubric_cell("reward"))
    assert list(shell.workbench.rubrics) == ["reward"]


def test_rft_open_when_autosave_is_off_refuses_to_drop_unsaved_work_unless_discard(new_shell, project_dir):
    (project_dir / "rftkit.json").write_text("{ not json")
    Workbench(project_dir / "other.json").add_rubric("clarity", "1 = clear")
    sh = new_shell()
    sh.load()
    sh.cell(rubric_cell("tone"))  # kept in memory only

    with pytest.raises(UsageError, match=r"^not opening other\.json: .*%rft save OTHER\.json first") as info:
        sh.cell("%rft open other.json")
    assert "\n" not in str(info.value)
    assert list(sh.workbench.rubrics) == ["tone"]
    assert "--discard" in sh.cell("%rft help open").text

    sh.cell("%rft open other.json --discard")
    assert list(sh.workbench.rubrics) == ["clarity"]
    assert sh.workbench.autosave_blocked is None


def test_load_ext_when_the_project_file_is_from_an_older_version_opens_it_and_lint_reports(
    new_shell, project_dir, capsys
):
    rubric = {"name": "tone", "text": "cite {{ item.source", "weight": 1.0, "model": "gpt-4.1-mini-2025-04-14",
              "range": [0.0, 1.0], "input": None, "item_fields": []}  # fmt: skip
    data = {"format": PROJECT_FORMAT, "version": 1, "name": "reward", "normalize": True, "formatting": None,
            "rubrics": [rubric], "graders": [], "clusters": {"clusters": {}, "rubrics": [], "field": "cluster"}}  # fmt: skip
    (project_dir / "rftkit.json").write_text(json.dumps(data))
    sh = new_shell()

    sh.load()
    assert "opened rftkit.json: 1 rubric," in capsys.readouterr().out
    assert sh.workbench.blocked is None
    assert [f.where for f in sh.cell("%rft lint").errors] == ["rubrics.tone"]


def test_rft_score_when_rows_lack_the_cluster_field_then_rows_flagged_and_one_line_says_so(shell):
    # The first-run trap: a cluster field the rows do not have gave "mean reward 0.000, 0 flagged".
    shell.cell("%%rubric tone --clusters chat\n1 = polite\n")
    shell.cell("%rft config --cluster-field meta.kind")
    shell.ip.user_ns["rows"] = [{"cluster": "chat", "output_text": f"hi {i}\nSCORE: 1"} for i in range(3)] + [
        {"meta": {"kind": "legal"}, "output_text": "x"}
    ]
    from rftkit_nb.scoring.engine import score

    report = score(shell.workbench, shell.ip.user_ns["rows"], judge=False, progress=False)
    assert report.frame["flagged"].tolist() == [True] * 4
    assert report.frame["note"].iloc[0].startswith("no cluster at item.meta.kind")
    assert report.frame["note"].iloc[3].startswith("cluster 'legal' is not in the cluster map")
    assert report.notes[0].startswith("4 of 4 rows have no known cluster at item.meta.kind")
