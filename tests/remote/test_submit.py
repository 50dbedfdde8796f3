"""submit(): checks first, cost drivers shown, uploads processed, one job per submission."""

from __future__ import annotations

from datetime import date

import pytest

from rftkit_nb.errors import ConfigError, RemoteError
from rftkit_nb.remote import CostDrivers, submit
from rftkit_nb.remote.costs import check_hyperparameters
from tests.remote.conftest import BEFORE_OPENAI_CUTOFF, reward_grader


def go(client, dataset, tmp_path, **kw):
    train, valid = dataset
    kw.setdefault("today", BEFORE_OPENAI_CUTOFF)
    kw.setdefault("show", None)
    return submit(kw.pop("grader", reward_grader()), train=train, validation=valid,
                  model=kw.pop("model", "o4-mini-2025-04-16"), client=client, record=tmp_path / "rec.json", **kw)  # fmt: skip


def test_submit_when_valid_then_job_created_with_reinforcement_method(
    client, server, dataset, tmp_path
) -> None:
    shown: list[CostDrivers] = []
    job = go(client, dataset, tmp_path, hyperparameters={"n_epochs": 2}, suffix="demo", seed=7,
             metadata={"team": "rft"}, show=shown.append,
             response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": {}}})  # fmt: skip
    (create,) = [r for r in server.requests if r.route == "jobs.create"]
    method = create.body["method"]
    assert method["type"] == "reinforcement"
    assert method["reinforcement"]["grader"] == reward_grader().config
    assert method["reinforcement"]["hyperparameters"] == {"n_epochs": 2}
    assert method["reinforcement"]["response_format"]["json_schema"]["name"] == "a"
    assert create.body["suffix"] == "demo"
    assert create.body["seed"] == 7
    assert create.body["metadata"]["team"] == "rft"
    assert "rftkit_submission" in create.body["metadata"]
    uploads = [r for r in server.requests if r.route == "files.create"]
    assert [u.body["purpose"] for u in uploads] == ["fine-tune", "fine-tune"]
    assert {
        server.platform.files[f]["status"] for f in (job.data["training_file"], job.data["validation_file"])
    } == {"processed"}
    (cost,) = shown
    assert cost.judges == 1
    assert cost.n_epochs == 2
    assert "1 per sampled answer x 11 training rows = 11 per epoch x 2 epochs = 22" in repr(cost)


def test_submit_when_twice_then_second_returns_the_first_job(client, server, dataset, tmp_path) -> None:
    first = go(client, dataset, tmp_path)
    second = go(client, dataset, tmp_path)
    assert second.id == first.id
    assert "already submitted" in second.notes[0]
    assert server.counts["jobs.create"] == 1
    third = go(client, dataset, tmp_path, force=True)
    assert third.id != first.id
    assert server.counts["jobs.create"] == 2


def test_submit_when_record_lost_then_remote_metadata_still_finds_the_job(
    client, server, dataset, tmp_path
) -> None:
    first = go(client, dataset, tmp_path)
    (tmp_path / "rec.json").unlink()
    again = go(client, dataset, tmp_path)
    assert again.id == first.id
    assert "carries this submission's key" in again.notes[0]


def test_submit_when_settings_differ_then_a_new_job(client, server, dataset, tmp_path) -> None:
    go(client, dataset, tmp_path)
    go(client, dataset, tmp_path, hyperparameters={"n_epochs": 3})
    assert server.counts["jobs.create"] == 2


@pytest.mark.parametrize(
    ("hyper", "needle"),
    [
        pytest.param({"n_epochs": 0}, "hyperparameters.n_epochs: 0 is outside 1..50", id="epochs-low"),
        pytest.param({"batch_size": 2.5}, "batch_size: 2.5 is not an integer", id="batch-float"),
        pytest.param(
            {"compute_multiplier": 11}, "compute_multiplier: 11 is outside 1e-05..10", id="compute-high"
        ),
        pytest.param(
            {"learning_rate_multiplier": 0}, "learning_rate_multiplier: 0 is outside > 0", id="lr-zero"
        ),
        pytest.param({"reasoning_effort": "auto"}, "reasoning_effort: 'auto' is not one of", id="effort"),
        pytest.param({"epochs": 2}, "hyperparameters.epochs: not an RFT hyperparameter", id="unknown"),
    ],
)
def test_submit_when_hyperparameter_out_of_range_then_nothing_sent(
    client, server, dataset, tmp_path, hyper, needle
) -> None:
    with pytest.raises(ConfigError, match=needle):
        go(client, dataset, tmp_path, hyperparameters=hyper)
    assert [r for r in server.requests if r.route] == []


def test_check_hyperparameters_when_auto_then_accepted() -> None:
    assert check_hyperparameters({"n_epochs": "auto", "eval_interval": 5}) == {
        "n_epochs": "auto",
        "eval_interval": 5,
    }


def test_submit_when_openai_past_its_dates_then_one_line_naming_azure(server, dataset, tmp_path) -> None:
    from tests.remote.conftest import make_client

    with make_client(server, "openai") as openai_client:
        with pytest.raises(ConfigError, match=r"2026-10-23.*Azure OpenAI") as caught:
            go(openai_client, dataset, tmp_path, today=date(2026, 12, 4))
        with pytest.raises(ConfigError, match=r"jobs.create.*2027-01-06; use Azure OpenAI"):
            go(openai_client, dataset, tmp_path, today=date(2027, 1, 6), model="gpt-5-2025-08-07")
    assert "\n" not in str(caught.value)
    assert server.counts["jobs.create"] == 0


def test_submit_when_training_not_available_then_one_line_naming_azure(
    client, server, dataset, tmp_path
) -> None:
    server.inject("training_not_available", route="jobs.create")
    with pytest.raises(RemoteError, match=r"training_not_available.*Azure OpenAI") as caught:
        go(client, dataset, tmp_path)
    assert "\n" not in str(caught.value)


def test_submit_when_retired_judge_on_openai_then_error_and_fine_on_azure(server, dataset, tmp_path) -> None:
    from tests.remote.conftest import make_client

    grader = reward_grader("o3-2025-04-16")
    with (
        make_client(server, "openai") as openai_client,
        pytest.raises(ConfigError, match=r"tone.model.*2026-12-11"),
    ):
        go(openai_client, dataset, tmp_path, grader=grader, today=date(2026, 12, 20))
    server.platform.grader_models.add("o3-2025-04-16")
    from rftkit_nb.remote import AVAILABILITY

    AVAILABILITY.set("azure", "grader", "o3-2025-04-16", note="assumed for this test")
    with make_client(server, "azure-v1") as azure:
        job = go(azure, dataset, tmp_path, grader=grader, today=date(2026, 12, 20))
    assert job.status == "validating_files"


def test_submit_when_upload_stuck_in_processing_then_error_and_no_job(
    client, server, dataset, tmp_path
) -> None:
    server.inject("stuck_processing", route="files.create")
    with pytest.raises(RemoteError, match=r"still processing after 0.2s; nothing was submitted"):
        go(client, dataset, tmp_path, upload_timeout=0.2)
    assert server.counts["jobs.create"] == 0


def test_submit_when_costs_on_azure_then_auto_pause_and_masked_judges_named(dataset, tmp_path) -> None:
    from rftkit_nb.core.workbench import Workbench
    from rftkit_nb.remote.costs import cost_drivers

    wb = Workbench(path=None)
    wb.add_rubric("accuracy", "1.0 = correct", clusters=["math"])
    wb.add_rubric("tone", "1.0 = polite", clusters=["essay"])
    cost = cost_drivers(wb.grader(), train_rows=100, valid_rows=10, hyperparameters={}, platform="azure",
                        model="o4-mini-2025-04-16")  # fmt: skip
    text = repr(cost)
    assert cost.judges == 2
    assert cost.masked_judges == 2
    assert "runs every judge on every sample" in text
    assert "$5,000" in text
    assert "&lt;" not in cost._repr_html_() or "<li>" in cost._repr_html_()
    assert "free private preview" in repr(cost_drivers(wb.grader(), train_rows=1, valid_rows=1,
                                      hyperparameters={}, platform="azure", model="gpt-5-2025-08-07"))  # fmt: skip


def test_submit_when_files_missing_or_invalid_then_config_error(client, tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "assistant", "content": "x"}]}\n')
    with pytest.raises(ConfigError, match=r"train file: dataset.messages: row 0"):
        submit(
            reward_grader(),
            train=bad,
            validation=bad,
            model="o4-mini",
            client=client,
            today=BEFORE_OPENAI_CUTOFF,
            show=None,
        )
    with pytest.raises(ConfigError, match=r"is not a file"):
        submit(reward_grader(), train=tmp_path / "nope.jsonl", validation=bad, model="o4-mini", client=client,
               today=BEFORE_OPENAI_CUTOFF, show=None)  # fmt: skip


def test_submit_when_grader_has_endpoint_headers_then_sent_for_real_and_masked_in_errors(
    server, dataset, tmp_path
) -> None:
    from rftkit_nb.core.graders import EndpointGrader, MultiGrader
    from tests.remote.conftest import exact_grader, make_client

    secret = "Bearer endpoint-header-secret-42"
    remote = EndpointGrader(name="remote", url=server.endpoint_url, headers={"Authorization": secret})
    grader = MultiGrader(
        name="r", graders={"exact": exact_grader(), "remote": remote}, calculate_output="exact * remote"
    )
    with make_client(server, "azure-v1") as client:
        server.inject("invalid_field", route="jobs.create", param=secret)
        with pytest.raises(RemoteError) as caught:
            go(client, dataset, tmp_path, grader=grader)
        assert secret not in str(caught.value)
        job = go(client, dataset, tmp_path, grader=grader)
    sent = job.data["method"]["reinforcement"]["grader"]["graders"]["remote"]["headers"]
    assert sent == {"Authorization": secret}  # the hosted service needs the real value
    assert secret not in (tmp_path / "rec.json").read_text()
    assert secret not in repr(job) + job._repr_html_()
