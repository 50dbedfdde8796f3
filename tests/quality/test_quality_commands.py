"""%rft label / calibrate / preflight / cost through a real InteractiveShell, the judge on the loopback
server configured from the environment as a user would."""

from __future__ import annotations

import atexit
import os

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from rftkit_nb.notebook.widgets.labelling import LabellingWidget
from rftkit_nb.quality.agreement import AgreementReport
from rftkit_nb.quality.cost import CostReport
from rftkit_nb.quality.preflight import PreflightReport

from .conftest import scripted


class Shell:
    def __init__(self) -> None:
        config = Config()
        config.HistoryManager.enabled = False
        self.ip = InteractiveShell(config=config)
        self.cell("%load_ext rftkit_nb")

    def cell(self, source: str):
        result = self.ip.run_cell(source, store_history=False)
        result.raise_error()
        return result.result

    def close(self) -> None:
        self.ip.run_line_magic("unload_ext", "rftkit_nb")
        atexit.unregister(self.ip.atexit_operations)
        self.ip.atexit_operations()


@pytest.fixture
def shells(tmp_path, monkeypatch, server):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-magics")
    started: list[Shell] = []

    def start() -> Shell:
        started.append(Shell())
        started[-1].ip.user_ns["df"] = pd.DataFrame(
            [scripted(f"answer {i}", [0.0, 0.5, 1.0][i % 3], question=f"q{i // 2}") for i in range(12)]
        )
        started[-1].cell("%%rubric tone\n1 = polite, 0 = rude.\n")
        return started[-1]

    yield start
    for shell in started:
        shell.close()


def test_label_when_scores_clicked_then_a_new_kernel_calibrates_with_them(shells, tmp_path):
    first = shells()
    widget = first.cell("%rft label df --rubric tone")
    assert isinstance(widget, LabellingWidget)
    assert widget.choices == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert widget.rubric_text == "1 = polite, 0 = rude."
    for row, value in zip(widget.rows, [0.0, 0.5, 1.0] * 4, strict=True):
        widget.set_state({"labels": {**widget.labels, row["key"]: value}})
    assert (tmp_path / "rftkit.labels.json").is_file()
    second = shells()  # a restart: a new shell, a new Workbench, the same folder
    result = second.cell("%rft calibrate df --min-labels 10")
    assert isinstance(result, AgreementReport)
    assert result.rubrics["tone"].overall.n == 12
    assert result.rubrics["tone"].overall.kappa == pytest.approx(1.0)


def test_label_when_rubric_unknown_then_one_line_usage_error(shells):
    with pytest.raises(UsageError, match="no rubric 'style' in this notebook; rubrics are: tone"):
        shells().cell("%rft label df --rubric style")


def test_calibrate_when_given_a_score_report_then_uses_it_without_rescoring(shells, server):
    sh = shells()
    sh.ip.user_ns["report"] = sh.cell("%rft score df")
    before = server.count("chat")
    result = sh.cell("%rft calibrate report")
    assert server.count("chat") == before
    assert result.unlabelled == ["tone"]


def test_preflight_when_run_then_report_with_groups_and_probes(shells):
    report = shells().cell("%rft preflight df --samples-per-prompt 2 --probe-rows 4")
    assert isinstance(report, PreflightReport)
    assert report.groups is not None
    assert len(report.groups) == 6
    assert "(real answers)" in report.probes.index


def test_cost_when_run_then_projection_from_measured_tokens(shells):
    report = shells().cell("%rft cost df --epochs 2 --samples-per-prompt 4 --measure 3")
    assert isinstance(report, CostReport)
    assert report.calls_per_judge == 12 * 4 * 2
    assert report.frame.loc["tone", "in_per_call"] > 0


def test_cost_when_epochs_missing_then_usage_error(shells):
    with pytest.raises(UsageError, match="--epochs"):
        shells().cell("%rft cost df --samples-per-prompt 4")


def test_help_when_listed_then_the_quality_commands_are_there(shells):
    text = shells().cell("%rft help").text
    for name in ("label", "calibrate", "preflight", "cost"):
        assert f"%rft {name}" in text
    assert os.environ["OPENAI_API_KEY"] not in text


def test_label_when_limit_given_then_only_the_first_rows_are_sent(shells):
    widget = shells().cell("%rft label df --rubric tone --limit 5")
    assert len(widget.rows) == 5
