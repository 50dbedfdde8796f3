"""``%rft export --to trl|verl|verifiers PATH`` in a real IPython shell: one call to export_reward."""

from __future__ import annotations

import ast

import pytest
from IPython.core.error import UsageError

from ..notebook.conftest import Shell

CELLS = [
    "%%rubric accuracy --clusters math\n1.0 = correct; 0.0 = wrong.",
    "%%python_grader fmt --formatting\ndef grade(sample, item):\n    return 1.0",
]


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    sh = Shell()
    sh.load()
    for cell in CELLS:
        sh.cell(cell)
    yield sh
    sh.close()


@pytest.mark.parametrize(
    ("to", "says"),
    [pytest.param("trl", "reward_funcs=[reward]", id="trl"),
     pytest.param("verl", "custom_reward_function.name=compute_score", id="verl"),
     pytest.param("verifiers", "RftkitRewards", id="verifiers")],
)  # fmt: skip
def test_rft_export_to_trainer_when_run_then_writes_module_and_says_how_to_load_it(shell, tmp_path, to, says):
    note = shell.cell(f"%rft export --to {to} reward_{to}.py")
    assert says in note.text
    assert "never from the file" in note.text
    module = ast.parse((tmp_path / f"reward_{to}.py").read_text())
    call = module.body[-1].value
    assert call.func.id == "load_reward"
    assert {k.arg: k.value.value for k in call.keywords if k.arg == "to"} == {"to": to}


def test_rft_export_to_trainer_when_path_is_not_python_then_one_line_usage_error(shell):
    with pytest.raises(UsageError, match=r"must be a \.py file"):
        shell.cell("%rft export --to trl grader.json")


def test_rft_export_without_to_then_still_writes_the_grader_json(shell, tmp_path):
    shell.cell("%rft export grader.json")
    assert (tmp_path / "grader.json").read_text().lstrip().startswith("{")
