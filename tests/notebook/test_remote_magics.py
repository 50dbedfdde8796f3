"""%rft validate / parity / submit / jobs / job: thin magics over rftkit_nb.remote, on the loopback server."""

from __future__ import annotations

import openai
import pandas as pd
import pytest
from IPython.core.error import UsageError

from rftkit_nb.remote import Job, JobList, ParityReport, ValidationReport
from rftkit_nb.remote.jobs import JobReport
from rftkit_nb.testing import FakeOpenAI

KEY = "azkey-magics-0123456789abcdef"


@pytest.fixture
def azure(shell):
    with FakeOpenAI() as server:
        client = openai.OpenAI(base_url=server.azure_v1_base_url, api_key=KEY, default_headers={"api-key": KEY},
                               max_retries=0)  # fmt: skip
        shell.ip.user_ns["azure"] = client
        shell.ip.user_ns["server"] = server
        shell.cell(
            "from rftkit_nb import Judge\njudge = Judge(base_url=server.base_url, api_key='j', cache=False)"
        )
        shell.ip.user_ns["df"] = pd.DataFrame(
            [{"messages": [{"role": "user", "content": f"What is {i}+{i}?"}], "answer": str(2 * i),
              "output_text": str(2 * i)} for i in range(12)]
        )  # fmt: skip
        shell.cell(
            '%%python_grader exact\ndef grade(sample, item):\n    return float(sample["output_text"] == item["answer"])\n'
        )
        yield server
        from rftkit_nb.notebook.widgets.job_monitor import JobMonitor

        JobMonitor.stop_all()  # the monitors `%rft job` displayed poll this client: stop them first
        client.close()


def test_rft_validate_when_grader_valid_then_report_from_the_platform(shell, azure) -> None:
    report = shell.cell("%rft validate --client azure")
    assert isinstance(report, ValidationReport)
    assert report.ok
    assert azure.counts["graders.validate"] == 1


def test_rft_parity_when_df_given_then_parity_report(shell, azure) -> None:
    report = shell.cell("%rft parity df -n 3 --client azure --judge judge")
    assert isinstance(report, ParityReport)
    assert len(report.rows) == 3
    assert report.verdict.startswith("parity: all 3 rows agree")


def test_rft_submit_jobs_job_when_run_in_order_then_job_created_listed_and_shown(
    shell, azure, project_dir, capsys
) -> None:
    job = shell.cell(
        "%rft submit --train df --model o4-mini-2025-04-16 --client azure --n-epochs 2 --hyper compute_multiplier=0.5"
    )
    assert isinstance(job, Job)
    assert "cost drivers" in capsys.readouterr().out
    (create,) = [r for r in azure.requests if r.route == "jobs.create"]
    assert create.body["method"]["reinforcement"]["hyperparameters"] == {
        "compute_multiplier": 0.5,
        "n_epochs": 2,
    }
    assert (project_dir / "rft_data" / "reward.train.jsonl").is_file()
    listed = shell.cell("%rft jobs --client azure")
    assert isinstance(listed, JobList)
    assert [j.id for j in listed] == [job.id]
    for _ in range(6):
        report = shell.cell(f"%rft job {job.id} --client azure")
    assert isinstance(report, JobReport)
    assert "step 4/4" in repr(report)
    assert "checkpoint step 4" in repr(report)
    again = shell.cell(
        "%rft submit --train df --model o4-mini-2025-04-16 --client azure --n-epochs 2 --hyper compute_multiplier=0.5"
    )
    assert again.id == job.id


def test_rft_job_when_cancel_then_cancelled(shell, azure) -> None:
    job = shell.cell("%rft submit --train df --model o4-mini-2025-04-16 --client azure")
    report = shell.cell(f"%rft job {job.id} --cancel --client azure")
    assert report.job.status == "cancelled"


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        pytest.param("%rft job ftjob-x --pause --cancel --client azure", "choose one of", id="two-actions"),
        pytest.param("%rft job ftjob-missing --client azure", "HTTP 404", id="unknown-job"),
        pytest.param("%rft parity nope --client azure", "no variable 'nope'", id="unknown-df"),
        pytest.param("%rft validate --client nope", "no variable 'nope'", id="unknown-client"),
        pytest.param(
            "%rft submit --train df --model o4-mini --client azure --hyper n_epochs=0",
            "outside 1..50",
            id="range",
        ),
        pytest.param(
            "%rft submit --train df --model o4-mini --client azure --hyper bad",
            "NAME=VALUE",
            id="hyper-syntax",
        ),
        pytest.param("%rft jobs", "no hosted platform is configured", id="no-target"),
        pytest.param(
            "%rft submit --client azure", r"--train and --model required \(or --panel", id="no-train"
        ),
        pytest.param("%rft job ftjob-x --poll 0 --client azure", "--poll must be a positive", id="poll"),
    ],
)
def test_rft_remote_commands_when_input_bad_then_one_line_usage_error(shell, azure, line, needle) -> None:
    with pytest.raises(UsageError, match=needle) as caught:
        shell.cell(line)
    assert "\n" not in str(caught.value)
    assert KEY not in str(caught.value)


def test_rft_submit_panel_when_asked_then_panel_with_the_files_and_settings(
    shell, azure, project_dir
) -> None:
    from rftkit_nb.notebook.widgets.submit_panel import SubmitPanel

    panel = shell.cell("%rft submit --train df --client azure --n-epochs 2 --panel")
    assert isinstance(panel, SubmitPanel)
    assert [f["name"] for f in panel.files] == ["reward.train.jsonl", "reward.valid.jsonl"]
    assert panel.hyperparameters == {"n_epochs": 2}
    assert panel.model == "o4-mini-2025-04-16"
    assert azure.counts["jobs.create"] == 0  # the panel only shows; its confirmation creates the job
    bare = shell.cell("%rft submit --panel --client azure")
    assert [f["error"] != "" for f in bare.files] == [True, True]


def test_rft_job_when_shown_then_a_live_monitor_and_still_the_report(shell, azure) -> None:
    job = shell.cell("%rft submit --train df --model o4-mini-2025-04-16 --client azure")
    report = shell.cell(f"%rft job {job.id} --client azure --poll 0.01")
    assert isinstance(report, JobReport)
    assert report.job.id == job.id
    data, _ = report._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == repr(report)
    assert "RFT job" in data["text/html"]
    assert report.monitor.join(10)
    assert report.monitor.status == "succeeded"


def test_rft_help_when_listed_then_remote_commands_present(shell) -> None:
    text = shell.cell("%rft help").text
    for name in ("validate", "parity", "submit", "jobs", "job"):
        assert f"%rft {name}" in text
