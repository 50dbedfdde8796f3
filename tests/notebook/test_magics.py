"""%load_ext rftkit_nb, %%rubric, %%python_grader and %rft, driven through a real InteractiveShell."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.error import UsageError

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import PythonGrader, grader_from_config
from rftkit_nb.core.lint import LintReport
from rftkit_nb.core.rubrics import FormattingGrader, RubricGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.notebook.display import HelpText, Note
from rftkit_nb.testing.openai_server import FakeOpenAI

GRADE_EXACT = """\
def grade(sample, item):
    return float(sample["output_text"].strip() == item["answer"])
"""
HOSTILE = "<script>alert('x')</script>"


def rubric_cell(args: str, body: str = "1.0 = polite and warm; 0.0 = rude.") -> str:
    return f"%%rubric {args}\n{body}\n"


def state(shell, project_dir: Path) -> tuple[dict, bytes | None]:
    """The workbench's content and the project file's bytes: what 'nothing changed' compares."""
    file = project_dir / "rftkit.json"
    return shell.workbench.to_dict(), file.read_bytes() if file.exists() else None


def assert_one_line_usage_error(shell, source: str, capsys, match: str) -> None:
    with pytest.raises(UsageError, match=match) as info:
        shell.cell(source)
    assert "\n" not in str(info.value)
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert f"UsageError: {info.value}" in shown
    assert "Traceback" not in shown


# --- loading ----------------------------------------------------------------------------------------


def test_load_ext_when_no_project_file_registers_magics_quietly(new_shell, project_dir, capsys):
    sh = new_shell()
    sh.load()

    magics = sh.ip.magics_manager.magics
    assert {"rubric", "python_grader"} <= set(magics["cell"])
    assert "rft" in magics["line"]
    assert capsys.readouterr().out == ""
    assert not (project_dir / "rftkit.json").exists()  # nothing is written until something changes


def test_load_ext_does_not_import_heavy_modules(project_dir):
    # A fresh interpreter, because this test process has imported everything already.
    heavy = ["openai", "pandas", "tqdm", "anywidget", "ipywidgets", "httpx", "rftkit_nb.scoring.engine",
             "rftkit_nb.scoring.sandbox", "rftkit_nb.scoring.judge"]  # fmt: skip
    Workbench(project_dir / "rftkit.json").add_rubric("tone", "1 = polite", clusters=["chat"])
    script = textwrap.dedent(f"""
        import json, sys
        from traitlets.config import Config
        from IPython.core.interactiveshell import InteractiveShell
        config = Config()
        config.HistoryManager.enabled = False
        ip = InteractiveShell(config=config)
        before = [m for m in {heavy!r} if m in sys.modules]
        ip.run_line_magic("load_ext", "rftkit_nb")
        ip.run_cell("%rft show")
        after = [m for m in {heavy!r} if m in sys.modules]
        print(json.dumps([before, after, "rft" in ip.magics_manager.magics["line"]]))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=project_dir
    )

    before, after, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded
    assert before == []
    assert after == []


def test_unload_ext_when_loaded_unregisters_the_magics_and_reload_works(shell, capsys):
    shell.cell(rubric_cell("tone"))
    shell.cell("%unload_ext rftkit_nb")

    magics = shell.ip.magics_manager.magics
    assert "rubric" not in magics["cell"]
    assert "python_grader" not in magics["cell"]
    assert "rft" not in magics["line"]
    with pytest.raises(UsageError, match="not found"):
        shell.cell(rubric_cell("clarity"))

    shell.load()
    assert list(shell.workbench.rubrics) == ["tone"]  # reopened from rftkit.json


def test_load_ext_twice_keeps_one_workbench(shell):
    first = shell.workbench
    shell.load()
    assert shell.workbench is first


# --- %%rubric -----------------------------------------------------------------------------------------


def test_rubric_when_new_adds_it_saves_it_and_returns_its_judge(shell, project_dir):
    judge = shell.cell(rubric_cell("tone --weight 2 --clusters chat,essay"))

    assert isinstance(judge, RubricGrader)
    assert judge.name == "tone"
    assert judge.weight == 2.0
    spec = shell.workbench.rubrics["tone"]
    assert spec.text == "1.0 = polite and warm; 0.0 = rude."
    assert shell.workbench.clusters.clusters_for("tone") == ["chat", "essay"]
    saved = json.loads((project_dir / "rftkit.json").read_text())
    assert [r["name"] for r in saved["rubrics"]] == ["tone"]


def test_rubric_when_rerun_edits_it_in_place(shell):
    shell.cell(rubric_cell("tone --clusters chat,essay"))
    shell.cell(rubric_cell("clarity"))
    shell.cell(rubric_cell("tone --weight 3 --clusters essay", "new text"))

    wb = shell.workbench
    assert list(wb.rubrics) == ["tone", "clarity"]  # same place
    assert wb.rubrics["tone"].text == "new text"
    assert wb.rubrics["tone"].weight == 3.0
    assert wb.clusters.clusters_for("tone") == ["essay"]  # --clusters is the exact membership


def test_rubric_without_clusters_option_keeps_membership(shell):
    shell.cell(rubric_cell("tone --clusters chat"))
    shell.cell(rubric_cell("tone --weight 2"))

    assert shell.workbench.clusters.clusters_for("tone") == ["chat"]


@pytest.mark.parametrize(
    ("args", "check"),
    [
        pytest.param("--model o3-mini-2025-01-31", lambda c: c["model"] == "o3-mini-2025-01-31", id="model"),
        pytest.param("--range -1 1", lambda c: c["range"] == [-1.0, 1.0], id="negative-range"),
        pytest.param(
            "--input 'Q: {{ item.question }} A: {{ sample.output_text }}'",
            lambda c: (
                c["input"][-1]
                == {"role": "user", "content": "Q: {{ item.question }} A: {{ sample.output_text }}"}
            ),
            id="input-template-quoted",
        ),
        pytest.param(
            "--fields question,meta.topic",
            lambda c: "{{ item.meta.topic }}" in c["input"][-1]["content"],
            id="fields-in-default-prompt",
        ),
    ],
)
def test_rubric_options_when_given_reach_the_judge_config(shell, args, check):
    judge = shell.cell(rubric_cell(f"tone {args}"))
    assert check(judge.config)
    assert "1.0 = polite and warm" in judge.config["input"][0]["content"]  # the rubric stays the instructions


@pytest.mark.parametrize(
    ("args", "body", "match"),
    [
        pytest.param("tone", "", "text is empty", id="empty-body"),
        pytest.param("tone", "   \n  ", "text is empty", id="blank-body"),
        pytest.param("1tone", "text", "not an identifier", id="name-starts-with-digit"),
        pytest.param("'<script>'", "text", "not an identifier", id="hostile-name"),
        pytest.param("class", "text", "'class' is a Python keyword", id="keyword-name"),
        pytest.param("reward", "text", "'reward' is the composed grader's name", id="composed-grader-name"),
        pytest.param("max", "text", "'max' is a function of the reward formula", id="formula-function-name"),
        pytest.param(
            "tone --input 'A: {{ sample.output_text }}' --fields question",
            "text",
            r"item_fields \(--fields\) are shown by the default prompt only; with an input template",
            id="fields-with-input",
        ),
        pytest.param("", "text", "required: name", id="no-name"),
        pytest.param("tone --bogus 1", "text", "unrecognized arguments", id="unknown-option"),
        pytest.param("tone --weight abc", "text", "invalid float", id="weight-not-a-number"),
        pytest.param("tone --weight nan", "text", "finite", id="weight-nan"),
        pytest.param("tone --weight -1", "text", ">= 0", id="weight-negative"),
        pytest.param("tone --range 1 0", "text", "min < max", id="range-reversed"),
        pytest.param("tone --range 0", "text", "expected 2 arguments", id="range-one-number"),
        pytest.param("tone --clusters ,", "text", "comma-separated names", id="clusters-empty"),
        pytest.param(
            "tone --input '{{ item. }}'", "text", "input template: .*malformed path", id="malformed-template"
        ),
        pytest.param("tone --fields a-b", "text", "item_fields", id="field-not-a-path"),
        pytest.param("tone --input 'unbalanced", "text", "quotes", id="unbalanced-quote"),
        pytest.param("exact", "text", "already a grader", id="name-taken-by-a-grader"),
        pytest.param("applies_x", "text", "already a rubric's cluster indicator", id="name-of-an-indicator"),
    ],
)
def test_rubric_when_input_is_bad_raises_one_line_usage_error_and_changes_nothing(
    shell, project_dir, capsys, args, body, match
):
    shell.cell(rubric_cell("x --clusters chat"))
    shell.workbench.add_grader(PythonGrader(name="exact", source=GRADE_EXACT))
    before = state(shell, project_dir)
    capsys.readouterr()

    assert_one_line_usage_error(shell, rubric_cell(args, body), capsys, match)
    assert state(shell, project_dir) == before


NOTE_ALONE = (
    "note: clarity is in no cluster, so it counts for no row; "
    "add --clusters chat,math (or some of them) to its %%rubric line"
)
NOTE_FIRST = (
    "note: now that clusters exist, a rubric in no cluster counts for no row: tone, style; "
    "re-run their %%rubric cells with --clusters essay"
)


@pytest.mark.parametrize(
    ("earlier", "last", "notes"),
    [
        pytest.param(["tone --clusters chat,math"], "clarity", [NOTE_ALONE], id="new-rubric-in-no-cluster"),
        pytest.param(
            ["tone --clusters chat,math", "clarity"], "clarity --weight 2", [NOTE_ALONE], id="rerun"
        ),
        pytest.param(["tone", "style"], "clarity --clusters essay", [NOTE_FIRST], id="first-clusters"),
        pytest.param(["tone"], "clarity", [], id="no-clusters-at-all"),
        pytest.param(["tone --clusters chat"], "clarity --clusters chat", [], id="every-rubric-clustered"),
        pytest.param(["tone --clusters chat", "style"], "clarity --clusters essay", [], id="not-the-first"),
    ],
)
def test_rubric_when_a_rubric_is_left_in_no_cluster_prints_a_one_line_note(
    shell, capsys, earlier, last, notes
):
    for args in earlier:
        shell.cell(rubric_cell(args))
    capsys.readouterr()

    judge = shell.cell(rubric_cell(last))
    assert isinstance(judge, RubricGrader)
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("Out[")]
    assert printed == notes


def test_rubric_help_when_asked_with_question_mark_shows_the_options(shell, capsys):
    shell.cell("%%rubric?")
    shown = capsys.readouterr().out
    assert "Create or update a rubric" in shown
    for option in ("--weight", "--model", "--range", "--clusters", "--input", "--fields"):
        assert option in shown


# --- %%python_grader --------------------------------------------------------------------------------


def test_python_grader_when_valid_registers_it_with_its_weight(shell):
    grader = shell.cell(f"%%python_grader exact --weight 0.5\n{GRADE_EXACT}")

    assert isinstance(grader, PythonGrader)
    assert grader.source == GRADE_EXACT
    assert shell.workbench.graders["exact"] == (grader, 0.5)


def test_python_grader_with_formatting_flag_sets_the_formatting_grader(shell):
    grader = shell.cell(f"%%python_grader fmt --formatting\n{GRADE_EXACT}")

    assert isinstance(grader, FormattingGrader)
    assert shell.workbench.formatting == grader
    assert grader.weight == 0.2
    assert shell.workbench.grader().formatting_grader_name == "fmt"


@pytest.mark.parametrize(
    ("args", "source", "match"),
    [
        pytest.param("p", "def grade(sample, item)\n    return 1.0\n", "does not compile", id="syntax-error"),
        pytest.param("p", "def grade(sample):\n    return 1.0\n", "two positional", id="one-parameter"),
        pytest.param(
            "p", "def score(sample, item):\n    return 1.0\n", "no top-level function grade", id="no-grade"
        ),
        pytest.param("p", "", "cell body is empty", id="empty-body"),
        pytest.param("p", "\n\n", "no top-level function grade", id="blank-body"),
        pytest.param("p", GRADE_EXACT + "# " + "x" * 270_000 + "\n", "256 kB", id="source-too-large"),
        pytest.param("'p q'", GRADE_EXACT, "not an identifier", id="bad-name"),
        pytest.param("tone", GRADE_EXACT, "already a rubric", id="name-taken-by-a-rubric"),
        pytest.param("sqrt", GRADE_EXACT, "function of the reward formula", id="formula-function-name"),
        pytest.param("reward", GRADE_EXACT, "composed grader's name", id="composed-grader-name"),
        pytest.param("p --weight x", GRADE_EXACT, "invalid float", id="weight-not-a-number"),
        pytest.param("p --weight inf", GRADE_EXACT, "finite", id="weight-infinite"),
    ],
)
def test_python_grader_when_input_is_bad_raises_one_line_usage_error_and_changes_nothing(
    shell, project_dir, capsys, args, source, match
):
    shell.cell(rubric_cell("tone"))
    before = state(shell, project_dir)
    capsys.readouterr()

    assert_one_line_usage_error(shell, f"%%python_grader {args}\n{source}", capsys, match)
    assert state(shell, project_dir) == before


def test_python_grader_when_example_row_is_set_is_test_run_on_it(shell, capsys):
    shell.ip.user_ns["row"] = {"answer": "4", "output_text": " 4 "}
    note = shell.cell("%rft example row")
    assert isinstance(note, Note)
    assert "example row set" in note.text

    shell.cell(f"%%python_grader exact\n{GRADE_EXACT}")
    assert "example row: exact = 1" in capsys.readouterr().out
    assert "exact" in shell.workbench.graders


def test_python_grader_when_it_fails_on_the_example_row_is_not_registered(shell, project_dir, capsys):
    shell.ip.user_ns["df"] = pd.DataFrame({"question": ["2+2"], "reply": ["4"]})
    shell.cell("%rft example df --row 0 --output-column reply")
    before = state(shell, project_dir)
    capsys.readouterr()

    assert_one_line_usage_error(shell, f"%%python_grader exact\n{GRADE_EXACT}", capsys, "KeyError: 'answer'")
    assert state(shell, project_dir) == before


@pytest.mark.parametrize(
    ("line", "match"),
    [
        pytest.param("%rft example nothing_here", "no variable 'nothing_here'", id="unknown-variable"),
        pytest.param("%rft example df --row 5", "out of range", id="row-out-of-range"),
        pytest.param("%rft example df --output-column missing", "no output column 'missing'", id="no-output"),
        pytest.param("%rft example number", "not int", id="not-a-row"),
    ],
)
def test_example_when_input_is_bad_raises_usage_error(shell, capsys, line, match):
    shell.ip.user_ns.update(df=pd.DataFrame({"output_text": ["a"]}), number=3)
    assert_one_line_usage_error(shell, line, capsys, match)
    assert shell.workbench.example is None


def test_python_grader_when_grade_uses_names_from_another_cell_is_rejected_naming_them(
    shell, project_dir, capsys
):
    shell.cell(rubric_cell("tone"))
    shell.cell("LIMIT = 3\ndef helper(text):\n    return len(text)")  # another cell of the notebook
    before = state(shell, project_dir)
    capsys.readouterr()
    source = "import math\n\ndef grade(sample, item):\n    return math.tanh(helper(sample['output_text']) / LIMIT)\n"

    message = r"^python grader 'p': it uses LIMIT, helper, defined outside its source \(another cell\?\)"
    assert_one_line_usage_error(shell, f"%%python_grader p\n{source}", capsys, message)
    assert state(shell, project_dir) == before


# --- %rft -------------------------------------------------------------------------------------------------


def build_design(shell) -> None:
    shell.cell(rubric_cell("tone --weight 2 --clusters chat"))
    shell.cell(rubric_cell("accuracy --clusters chat,math", "1 = correct"))
    shell.cell(rubric_cell("clarity --clusters essay", "1 = clear"))
    shell.cell(f"%%python_grader exact\n{GRADE_EXACT}")


@pytest.mark.parametrize("line", [pytest.param("%rft", id="bare"), pytest.param("%rft show", id="show")])
def test_rft_show_returns_the_workbench_with_text_and_escaped_html(shell, line):
    judge = shell.cell(rubric_cell(f"tone --clusters '{HOSTILE}'", f"Be kind. {HOSTILE}"))
    assert "<script>" not in judge._repr_html_()

    shown = shell.cell(line)
    assert shown is shell.workbench
    text, html = repr(shown), shown._repr_html_()
    for part in ("tone", HOSTILE, "formula:", "lint:"):
        assert part in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_rft_clusters_returns_the_matrix_of_the_notebooks_cluster_map(shell):
    build_design(shell)
    matrix = shell.cell("%rft clusters")
    assert isinstance(matrix.cluster_map, ClusterMap)
    assert matrix.cluster_map is shell.workbench.clusters
    assert matrix.membership == {"chat": ["tone", "accuracy"], "math": ["accuracy"], "essay": ["clarity"]}


def test_rft_export_writes_json_that_grader_from_config_reads_back_equal(shell, project_dir):
    build_design(shell)
    (project_dir / "out").mkdir()
    note = shell.cell("%rft export out/grader.json")

    assert isinstance(note, Note)
    assert "grader.json" in note.text
    config = json.loads((project_dir / "out" / "grader.json").read_text())
    assert grader_from_config(config) == shell.workbench.grader()
    assert sorted(config["graders"]) == sorted(
        ["tone", "accuracy", "clarity", "applies_tone", "applies_accuracy", "applies_clarity", "exact"]
    )


def test_rft_export_when_workbench_is_empty_raises_usage_error(shell, project_dir, capsys):
    assert_one_line_usage_error(shell, "%rft export grader.json", capsys, "workbench is empty")
    assert not (project_dir / "grader.json").exists()


@pytest.mark.parametrize(
    ("line", "match"),
    [
        pytest.param("%rft export rftkit.json", "this notebook's project file", id="project-file"),
        pytest.param(
            "%rft export rftkit.json --overwrite", "this notebook's project file", id="project-forced"
        ),
        pytest.param("%rft export theirs.json --overwrite", "an rftkit_nb project file", id="other-project"),
        pytest.param("%rft export rows.csv", r"not a grader JSON: .*--overwrite", id="data-file"),
    ],
)
def test_rft_export_when_path_is_a_project_or_data_file_refuses_in_one_line(
    shell, project_dir, capsys, line, match
):
    build_design(shell)
    Workbench(project_dir / "theirs.json").add_rubric("theirs", "t")
    (project_dir / "rows.csv").write_text("question,answer\n2+2,4\n")
    files = {f.name: f.read_bytes() for f in project_dir.iterdir()}
    capsys.readouterr()

    assert_one_line_usage_error(shell, line, capsys, match)
    assert {f.name: f.read_bytes() for f in project_dir.iterdir()} == files


def test_rft_export_again_replaces_the_previous_export_and_overwrite_replaces_data(shell, project_dir):
    build_design(shell)
    shell.cell("%rft export grader.json")
    shell.cell(rubric_cell("style --clusters chat"))
    (project_dir / "rows.csv").write_text("question,answer\n")

    shell.cell("%rft export grader.json")  # the usual loop: no flag needed
    note = shell.cell("%rft export rows.csv --overwrite")

    assert "rows.csv" in note.text
    for name in ("grader.json", "rows.csv"):
        config = json.loads((project_dir / name).read_text())
        assert grader_from_config(config) == shell.workbench.grader()
    assert "--overwrite" in shell.cell("%rft help export").text


def test_rft_save_when_path_exists_refuses_unless_overwrite(shell, project_dir, capsys):
    shell.cell(rubric_cell("tone"))
    (project_dir / "rows.csv").write_text("question,answer\n")
    capsys.readouterr()

    assert_one_line_usage_error(
        shell, "%rft save rows.csv", capsys, "rows.csv already exists and is not this"
    )
    assert (project_dir / "rows.csv").read_text() == "question,answer\n"
    shell.cell(rubric_cell("style"))
    assert [r["name"] for r in json.loads((project_dir / "rftkit.json").read_text())["rubrics"]] == [
        "tone",
        "style",
    ]

    shell.cell("%rft save rows.csv --overwrite")
    assert Workbench(project_dir / "rows.csv").to_dict() == shell.workbench.to_dict()


def test_cluster_map_from_rft_clusters_when_its_field_is_assigned_saves_it(shell, project_dir):
    build_design(shell)
    shell.cell("matrix = %rft clusters\ncmap = matrix.cluster_map\ncmap.field = 'meta.kind'")

    assert shell.workbench.cluster_field == "meta.kind"
    assert json.loads((project_dir / "rftkit.json").read_text())["clusters"]["field"] == "meta.kind"
    with pytest.raises(AttributeError, match="edited through its methods"):
        shell.cell("cmap.clusters['chat'].append('ghost')")
    assert "ghost" not in shell.workbench.clusters.rubrics


def test_rft_lint_with_rows_reports_rows_without_a_known_cluster(shell):
    build_design(shell)
    shell.ip.user_ns["rows"] = [{"cluster": "chat", "answer": "4"}, {"cluster": "poetry", "answer": "x"}]

    report = shell.cell("%rft lint rows")
    assert isinstance(report, LintReport)
    assert any("1 of 2 rows have no known cluster" in f.message for f in report)
    assert "lint:" in repr(report)


def test_rft_remove_removes_and_undo_brings_it_back(shell):
    build_design(shell)
    before = shell.workbench.to_dict()

    note = shell.cell("%rft remove accuracy")
    assert "removed rubric 'accuracy'" in note.text
    assert "accuracy" not in shell.workbench.rubrics
    assert "accuracy" not in shell.workbench.clusters.rubrics

    undone = shell.cell("%rft undo")
    assert "removed rubric 'accuracy'" in undone.text
    assert shell.workbench.to_dict() == before


@pytest.mark.parametrize(
    ("line", "match"),
    [
        pytest.param("%rft remove ghost", "no rubric or grader named 'ghost'", id="remove-unknown"),
        pytest.param("%rft undo", "nothing to undo", id="undo-nothing"),
        pytest.param("%rft bogus", "unknown subcommand 'bogus'", id="unknown-subcommand"),
        pytest.param("%rft score", "required: DF", id="score-without-rows"),
        pytest.param("%rft score nothing_here", "no variable 'nothing_here'", id="score-unknown-variable"),
        pytest.param("%rft score df --limit 0", "at least 1", id="score-limit-zero"),
        pytest.param("%rft score df --limit x", "invalid int", id="score-limit-not-a-number"),
        pytest.param("%rft open missing.json", "cannot read project file", id="open-missing"),
        pytest.param("%rft export", "required: PATH", id="export-without-path"),
        pytest.param("%rft help bogus", "unknown subcommand 'bogus'", id="help-unknown"),
        pytest.param("%rft lint nothing_here", "no variable", id="lint-unknown-variable"),
    ],
)
def test_rft_when_input_is_bad_raises_one_line_usage_error_and_changes_nothing(
    shell, project_dir, capsys, line, match
):
    shell.cell(rubric_cell("tone"))
    shell.cell("%rft undo")  # the undo history is now empty, the file exists
    shell.ip.user_ns["df"] = pd.DataFrame({"output_text": ["a"]})
    before = state(shell, project_dir)
    capsys.readouterr()

    assert_one_line_usage_error(shell, line, capsys, match)
    assert state(shell, project_dir) == before


def test_rft_help_lists_every_subcommand_and_explains_one(shell):
    page = shell.cell("%rft help")
    assert isinstance(page, HelpText)
    for sub in ("show", "clusters", "score", "export", "lint", "remove", "open", "save", "example", "undo"):
        assert f"%rft {sub}" in page.text
    assert "--output-column" in shell.cell("%rft help score").text
    assert page._repr_html_().startswith("<pre")


def test_rft_question_mark_shows_the_subcommands(shell, capsys):
    shell.cell("%rft?")
    assert "%rft score" in capsys.readouterr().out


def test_rft_save_then_open_moves_the_autosave_target(shell, project_dir):
    shell.cell(rubric_cell("tone"))
    note = shell.cell("%rft save other.json")
    assert "other.json" in note.text

    shell.cell(rubric_cell("clarity"))
    other = json.loads((project_dir / "other.json").read_text())
    first = json.loads((project_dir / "rftkit.json").read_text())
    assert [r["name"] for r in other["rubrics"]] == ["tone", "clarity"]
    assert [r["name"] for r in first["rubrics"]] == ["tone"]

    assert shell.cell("%rft open rftkit.json") is shell.workbench
    assert list(shell.workbench.rubrics) == ["tone"]


def test_rubric_when_another_kernel_changed_the_file_refuses_until_open_or_overwrite(
    new_shell, project_dir, capsys
):
    ours, theirs = new_shell(), new_shell()  # two kernels in one folder
    ours.load()
    ours.cell(rubric_cell("tone"))
    theirs.load()
    theirs.cell(rubric_cell("clarity"))
    file = project_dir / "rftkit.json"
    their_file = file.read_bytes()
    capsys.readouterr()

    message = r"^rftkit\.json changed on disk since this notebook loaded it \(another kernel or an edit\?\): "
    assert_one_line_usage_error(ours, rubric_cell("accuracy"), capsys, message)
    assert list(ours.workbench.rubrics) == ["tone"]
    assert file.read_bytes() == their_file
    assert "changed on disk" in ours.cell("%rft help save").text

    ours.cell("%rft open rftkit.json")  # take the file's version, then go on
    ours.cell(rubric_cell("accuracy"))
    assert list(Workbench(file).rubrics) == ["tone", "clarity", "accuracy"]

    assert_one_line_usage_error(theirs, rubric_cell("style"), capsys, "changed on disk")
    theirs.cell("%rft save rftkit.json --overwrite")  # keep this notebook's version
    assert list(Workbench(file).rubrics) == ["tone", "clarity"]
    theirs.cell(rubric_cell("style"))
    assert list(Workbench(file).rubrics) == ["tone", "clarity", "style"]


def test_rft_score_runs_the_composed_grader_on_a_dataframe(shell, monkeypatch):
    shell.cell(rubric_cell("tone --clusters chat", "Judge the tone."))
    shell.cell(f"%%python_grader exact\n{GRADE_EXACT}")
    shell.ip.user_ns["df"] = pd.DataFrame(
        {
            "cluster": ["chat", "math", "chat"],
            "answer": ["4", "4", "5"],
            "reply": ["4\nSCORE: 0.5", "4", "no\nSCORE: 1"],
        }
    )
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        report = shell.cell("%rft score df --output-column reply --limit 2")

    rewards = report.frame["reward"].tolist()
    # row 0: (1 * 0.5 [tone] + 1 * 0 [exact: "4\nSCORE..." != "4"]) / 2; row 1 (math): tone masked, exact = 1
    assert rewards == pytest.approx([0.25, 1.0])
    assert server.count("chat") == 1  # the masked judge was not called


def test_rft_score_when_judge_variable_given_then_uses_that_judge(shell, tmp_path):
    from rftkit_nb.scoring.judge import Judge

    shell.cell(rubric_cell("tone", "Judge the tone."))
    shell.ip.user_ns["rows"] = [{"output_text": "fine\nSCORE: 0.75"}]
    with FakeOpenAI() as server:
        shell.ip.user_ns["my_judge"] = Judge(base_url=server.base_url, api_key="sk-test", cache=False)
        report = shell.cell("%rft score rows --judge my_judge")
    assert report.frame["reward"].tolist() == [0.75]
    assert server.count("chat") == 1


def test_rft_score_when_async_client_variable_given_twice_then_both_runs_score(shell):
    import openai

    shell.cell(rubric_cell("tone", "Judge the tone."))
    shell.ip.user_ns["rows"] = [{"output_text": "fine\nSCORE: 0.75"}]
    with FakeOpenAI() as server:
        shell.ip.user_ns["client"] = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        first = shell.cell("%rft score rows --judge client --timeout 5")
        second = shell.cell("%rft score rows --judge client --timeout 5")
    assert first.frame["reward"].tolist() == second.frame["reward"].tolist() == [0.75]


def test_rft_score_when_timeout_given_with_a_judge_variable_then_usage_error_says_where_to_set_it(
    shell, tmp_path
):
    from rftkit_nb.scoring.judge import Judge

    shell.cell(rubric_cell("tone", "Judge the tone."))
    shell.ip.user_ns["rows"] = [{"output_text": "x"}]
    shell.ip.user_ns["my_judge"] = Judge(base_url="http://127.0.0.1:9/v1", api_key="sk-test", cache=False)
    with pytest.raises(UsageError, match=r"keeps its own timeout; set them on it"):
        shell.cell("%rft score rows --judge my_judge --timeout 5")


def test_rft_score_when_deadline_not_positive_then_usage_error(shell):
    shell.cell(rubric_cell("tone", "Judge the tone."))
    shell.ip.user_ns["rows"] = [{"output_text": "x"}]
    with pytest.raises(UsageError, match=r"deadline=...\) is -1"):
        shell.cell("%rft score rows --deadline -1")


def test_rft_score_when_judge_variable_unknown_then_usage_error(shell):
    shell.cell(rubric_cell("tone", "Judge the tone."))
    shell.ip.user_ns["rows"] = [{"output_text": "x"}]
    with pytest.raises(UsageError, match="nope"):
        shell.cell("%rft score rows --judge nope")


# --- the project file across a kernel restart --------------------------------------------------------


def test_kernel_restart_when_project_file_exists_brings_everything_back(new_shell, project_dir, capsys):
    first = new_shell()
    first.load()
    build_design(first)
    first.cell(f"%%python_grader fmt --formatting --weight 0.1\n{GRADE_EXACT}")
    saved_state, saved_config = first.workbench.to_dict(), first.workbench.grader().config
    first.close()
    capsys.readouterr()

    second = new_shell()
    second.load()
    assert "opened rftkit.json: 3 rubrics, 2 other graders" in capsys.readouterr().out
    assert second.workbench.to_dict() == saved_state
    assert second.workbench.grader().config == saved_config
    assert second.cell("%rft export g.json") is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b'{"format": "rftkit_nb-project", "version": 1, ', "not valid JSON", id="truncated-json"
        ),
        pytest.param(b"\xff\xfe garbage", "not valid JSON", id="binary"),
        pytest.param(
            b'{"format": "rftkit_nb-project", "version": 2}', "newer than this rftkit_nb", id="newer"
        ),
        pytest.param(b'{"hello": 1}', "not an rftkit_nb project file", id="foreign-json"),
        pytest.param(
            b'{"format": "rftkit_nb-project", "version": 1, "name": "r", "normalize": true, "formatting": null, '
            b'"rubrics": [{"name": "t", "text": ""}], "graders": [], "clusters": {}}',
            "rubrics[0]",
            id="invalid-rubric",
        ),
    ],
)
def test_load_ext_when_project_file_is_unreadable_starts_empty_and_never_writes_it(
    new_shell, project_dir, capsys, content, message
):
    project = project_dir / "rftkit.json"
    project.write_bytes(content)
    sh = new_shell()

    sh.load()
    shown = capsys.readouterr().out
    assert message in shown
    assert "left untouched" in shown
    assert "%rft save OTHER.json first keeps the work you do here; then %rft open PATH" in shown
    assert len(shown.strip().splitlines()) == 1
    assert sh.workbench.names() == []

    sh.cell(rubric_cell("tone"))  # work goes on in memory...
    assert capsys.readouterr().out.splitlines()[0] == REMINDER
    assert project.read_bytes() == content  # ...and the file is not written over
    assert "autosave OFF" in repr(sh.workbench)
    with pytest.raises(UsageError, match="left untouched"):
        sh.cell("%rft save rftkit.json")
    assert project.read_bytes() == content

    sh.cell("%rft save rescued.json")
    sh.cell(rubric_cell("clarity"))
    rescued = json.loads((project_dir / "rescued.json").read_text())
    assert [r["name"] for r in rescued["rubrics"]] == ["tone", "clarity"]
    assert project.read_bytes() == content


REMINDER = "not saved: rftkit.json could not be read; %rft save OTHER.json to keep this work"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(rubric_cell("clarity"), id="rubric"),
        pytest.param(f"%%python_grader exact\n{GRADE_EXACT}", id="python-grader"),
        pytest.param("%rft remove tone", id="remove"),
        pytest.param("%rft undo", id="undo"),
        pytest.param("from rftkit_nb.notebook.magics import workbench_of\n"
                     "workbench_of(get_ipython()).set_cluster('chat', 'tone')", id="python-code"),
        pytest.param("matrix = %rft clusters\nmatrix.cluster_map.add_cluster('essay', ['tone'])",
                     id="cluster-map-edit"),
    ],
)  # fmt: skip
def test_change_when_autosave_is_off_prints_a_one_line_reminder(new_shell, project_dir, capsys, change):
    (project_dir / "rftkit.json").write_bytes(b"{oops")
    sh = new_shell()
    sh.load()
    sh.cell(rubric_cell("tone"))
    capsys.readouterr()

    sh.cell(change)
    shown = capsys.readouterr().out.splitlines()
    printed = [line for line in shown if not line.startswith(("Out[", "not test-run: no example row"))]
    assert printed == [REMINDER]
    assert (project_dir / "rftkit.json").read_bytes() == b"{oops"

    sh.cell("%rft save rescued.json")
    sh.cell(rubric_cell("style"))
    assert REMINDER not in capsys.readouterr().out


def test_change_when_autosave_is_on_prints_no_reminder(shell, capsys):
    shell.cell(rubric_cell("tone"))
    shell.cell("%rft remove tone")
    assert "not saved" not in capsys.readouterr().out


def test_done_when_story_new_user_designs_restarts_and_exports(new_shell, project_dir):
    """The issue's 'done when': three rubrics and a python grader survive a restart; export reads back."""
    sh = new_shell()
    sh.load()
    for name in ("tone", "accuracy", "clarity"):
        sh.cell(rubric_cell(name, f"Rubric for {name}."))
    sh.cell(f"%%python_grader exact\n{GRADE_EXACT}")
    sh.close()

    again = new_shell()
    again.load()
    assert list(again.workbench.rubrics) == ["tone", "accuracy", "clarity"]
    assert "exact" in again.workbench.graders
    again.cell("%rft export reward.json")
    config = json.loads((project_dir / "reward.json").read_text())
    assert grader_from_config(config) == again.workbench.grader()
