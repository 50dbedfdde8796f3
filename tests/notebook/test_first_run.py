"""A first run that never misleads: pasted README lines, one project file per notebook, messages that
fit where the user is."""

from __future__ import annotations

import pytest

from rftkit_nb.notebook.commands import strip_comment


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("show   # rubrics, clusters", "show", id="trailing-comment"),
        pytest.param("# only a comment", "", id="only-comment"),
        pytest.param("x --input 'Q #1: {{ item.q }}'", "x --input 'Q #1: {{ item.q }}'", id="quoted-hash"),
        pytest.param('x --input "a # b" # c', 'x --input "a # b"', id="double-quoted-then-comment"),
        pytest.param("x --clusters c#d", "x --clusters c#d", id="hash-inside-a-word"),
    ],
)
def test_strip_comment_when_line_has_hash_then_only_a_word_starting_hash_outside_quotes_ends_it(
    line, expected
):
    assert strip_comment(line) == expected


def test_rft_when_readme_line_with_trailing_comment_pasted_then_it_runs(shell):
    shell.cell("%%rubric tone --weight 2   # how polite it is\n1 = polite\n")
    shown = shell.cell("%rft show                 # rubrics, clusters, the reward formula and lint findings")
    assert "tone" in repr(shown)
    assert shell.workbench.rubrics["tone"].weight == 2


@pytest.mark.parametrize("magic", ["rubric", "python_grader"])
def test_cell_magic_help_when_asked_then_usage_shows_two_percent_signs(shell, magic):
    doc = shell.ip.find_cell_magic(magic).__doc__
    assert f"%%{magic} " in doc
    assert f"  %{magic} " not in doc


def test_python_grader_when_no_example_row_then_a_note_says_it_was_not_test_run(shell, capsys):
    shell.cell("%%python_grader exact\ndef grade(sample, item):\n    return 1.0\n")
    assert "not test-run: no example row is set (%rft example DF sets one)" in capsys.readouterr().out


def test_rft_score_when_no_judge_then_the_hint_names_the_magic_option(shell):
    shell.cell("%%rubric tone\n1 = polite\n")
    shell.ip.user_ns["rows"] = [{"output_text": "x"}]
    report = shell.cell("%rft score rows")
    assert any("--judge VAR" in note for note in report.notes)


def test_load_ext_when_jupyter_names_the_notebook_then_it_gets_its_own_project_file(
    new_shell, project_dir, monkeypatch, capsys
):
    monkeypatch.setenv("JPY_SESSION_NAME", str(project_dir / "first.ipynb"))
    first = new_shell()
    first.load()
    first.cell("%%rubric tone\n1 = polite\n")
    assert (project_dir / "first.rftkit.json").is_file()
    assert not (project_dir / "rftkit.json").exists()
    first.close()

    monkeypatch.setenv("JPY_SESSION_NAME", str(project_dir / "second.ipynb"))
    second = new_shell()
    capsys.readouterr()
    second.load()
    assert second.workbench.rubrics == {}  # a new notebook never opens another one's design
    second.cell("%%rubric clarity\n1 = clear\n")
    assert (project_dir / "second.rftkit.json").is_file()

    monkeypatch.setenv("JPY_SESSION_NAME", str(project_dir / "first.ipynb"))
    again = new_shell()
    again.load()
    assert list(again.workbench.rubrics) == ["tone"]
    assert "opened first.rftkit.json: 1 rubric, 0 other graders" in capsys.readouterr().out


def test_rft_save_when_path_is_a_symlink_then_the_message_names_the_real_file(shell, project_dir):
    real = project_dir / "elsewhere.json"
    real.write_text("{}")
    (project_dir / "link.json").symlink_to(real)
    note = shell.cell("%rft save link.json --overwrite")
    assert f"the file written is {real}" in note.text
    assert (project_dir / "link.json").is_symlink()  # the link is kept; its target holds the project
