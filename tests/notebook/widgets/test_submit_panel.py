"""Specification of SubmitPanel, driven headless as the front end drives it (``set_state`` for the edited
traits, ``{"op": ...}`` messages for the buttons) against the loopback platform and a real SDK client."""

from __future__ import annotations

import json
from datetime import date

import openai
import pytest

from rftkit_nb.notebook.widgets.submit_panel import SubmitPanel
from rftkit_nb.testing import FakeOpenAI

KEY = "azkey-widgets-0123456789abcdef"


def press(panel: SubmitPanel, op: str, **extra: object) -> None:
    panel._handle_custom_msg({"op": op, **extra}, [])


def creates(server: FakeOpenAI) -> int:
    return sum(r.route == "jobs.create" for r in server.requests)


@pytest.fixture
def panel(wb, files, azure) -> SubmitPanel:
    train, valid = files
    return SubmitPanel(wb, train=train, validation=valid, model="o4-mini-2025-04-16", client=azure)


def test_panel_when_built_shows_grader_target_files_ranges_and_cost(panel, wb):
    assert json.loads(panel.grader_json) == wb.grader().config
    assert panel.target["name"] == "Azure OpenAI"
    assert panel.target["layout"] == "azure-v1"
    assert [(f["split"], f["rows"]) for f in panel.files] == [("train", 11), ("valid", 1)]
    assert "o4-mini-2025-04-16" in panel.models
    ranges = {r["name"]: r for r in panel.ranges}
    assert ranges["n_epochs"]["text"] == "1..50 or auto"
    assert ranges["reasoning_effort"]["choices"] == ["default", "low", "medium", "high"]
    assert [f for f in panel.findings if f["level"] == "error"] == []
    assert any("$5,000" in line for line in panel.cost)  # Azure's auto-pause
    assert any("masked for some rows" in line for line in panel.cost)
    assert KEY not in repr(panel) + panel._repr_html_() + json.dumps(panel.get_state(), default=str)


def test_validate_when_platform_accepts_shows_ok(panel, server):
    press(panel, "validate")
    assert panel.validation["state"] == "ok"
    assert panel.validation["hosted"] == "accepted"
    assert panel.notice["level"] == "ok"
    assert sum(r.route == "graders.validate" for r in server.requests) == 1
    assert panel.busy == ""


def test_validate_when_platform_rejects_a_field_shows_it_as_a_finding(panel, server):
    server.inject("invalid_field", route="graders.validate", param="grader.graders.exact.reference")
    press(panel, "validate")
    (finding,) = [f for f in panel.findings if f["source"] == "platform"]
    assert finding["where"] == "reward.graders.exact.reference"
    assert panel.validation["state"] == "not ok"
    assert panel.notice["level"] == "error"


def test_submit_when_not_confirmed_creates_no_job(panel, server):
    press(panel, "submit")
    assert panel.stage == "confirm"
    assert panel.confirm["train_rows"] == 11
    assert panel.confirm["cost"] == panel.cost
    press(panel, "confirm", token="not-the-token")
    assert panel.notice["level"] == "error"
    assert "settings changed" in panel.notice["text"]
    press(panel, "back")
    assert panel.stage == "edit"
    press(panel, "confirm", token="anything")  # a confirm with no Submit before it
    assert creates(server) == 0
    assert panel.job is None


def test_confirm_when_settings_changed_after_submit_is_refused(panel, server):
    press(panel, "submit")
    token = panel.confirm["token"]
    panel.set_state({"hyperparameters": {"n_epochs": 2}})  # the front end edits a field
    assert panel.stage == "edit"  # the confirmation no longer stands
    press(panel, "confirm", token=token)
    assert creates(server) == 0
    assert "settings changed" in panel.notice["text"]


def test_confirm_when_clicked_twice_or_resubmitted_creates_one_job(panel, server):
    press(panel, "submit")
    token = panel.confirm["token"]
    press(panel, "confirm", token=token)
    first = panel.job
    assert panel.stage == "submitted"
    assert panel.job_info["id"] == first.id
    assert panel.notice["level"] == "ok"
    assert first.id in panel.notice["text"]
    press(panel, "confirm", token=token)  # a second click on the same button
    assert "already submitted" in panel.notice["text"]
    press(panel, "submit")
    press(panel, "confirm", token=panel.confirm["token"])  # the whole flow again: the guard finds the job
    assert panel.job.id == first.id
    assert "found the earlier job" in panel.notice["text"]
    assert creates(server) == 1


@pytest.mark.parametrize(
    ("fault", "param", "needle", "where"),
    [
        pytest.param("training_not_available", None, "training_not_available", None, id="403-no-training"),
        pytest.param("invalid_field", "method.reinforcement.grader.graders.exact.operation",
                     "(field method.reinforcement.grader.graders.exact.operation)", "reward.graders.exact.operation",
                     id="400-field"),
        pytest.param("unauthorized", None, "HTTP 401", None, id="401"),
    ],
)  # fmt: skip
def test_confirm_when_the_platform_refuses_shows_one_line_and_no_job(
    panel, server, fault, param, needle, where
):
    server.inject(fault, route="jobs.create", param=param)
    press(panel, "submit")
    press(panel, "confirm", token=panel.confirm["token"])
    assert panel.notice["level"] == "error"
    assert needle in panel.notice["text"]
    assert "\n" not in panel.notice["text"]
    assert KEY not in panel.notice["text"]
    assert panel.stage == "edit"
    assert panel.job is None
    assert panel.busy == ""
    if where is not None:
        assert where in [f["where"] for f in panel.findings if f["source"] == "platform"]
    if fault == "training_not_available":
        assert "Azure OpenAI" in panel.notice["text"]
    assert [r for r in server.requests if r.route == "jobs.create"]  # asked once, not retried
    assert len([r for r in server.requests if r.route == "jobs.create"]) == 1


@pytest.mark.parametrize(
    ("hyper", "field", "needle"),
    [
        pytest.param({"n_epochs": 0}, "n_epochs", "outside 1..50", id="below-range"),
        pytest.param({"batch_size": "many"}, "batch_size", "not an integer", id="not-a-number"),
        pytest.param({"reasoning_effort": "max"}, "reasoning_effort", "not one of", id="bad-choice"),
        pytest.param({"warmup": 3}, "warmup", "not an RFT hyperparameter", id="unknown"),
    ],
)
def test_hyperparameter_when_out_of_range_names_the_field_and_blocks_submit(
    panel, server, hyper, field, needle
):
    panel.set_state({"hyperparameters": hyper})
    assert panel.hyper_error["field"] == field
    assert needle in panel.hyper_error["text"]
    press(panel, "submit")
    assert panel.stage == "edit"
    assert panel.notice["level"] == "error"
    assert needle in panel.notice["text"]
    panel.set_state({"hyperparameters": {"n_epochs": 2}})
    assert panel.hyper_error == {}
    assert any("n_epochs 2" in line for line in panel.cost)
    assert creates(server) == 0


def test_submit_when_the_target_table_finds_an_error_is_refused_before_the_confirmation(wb, files, server):
    train, valid = files
    with openai.OpenAI(base_url=server.base_url, api_key="sk-widgets-0123456789", max_retries=0) as client:
        # OpenAI, read after o4-mini's RFT shutdown there (2026-10-23): an error that names Azure.
        panel = SubmitPanel(wb, train=train, validation=valid, client=client, today=date(2026, 12, 1))
        assert panel.models == []  # no base model is live there any more
        panel.set_state({"model": "o4-mini-2025-04-16"})
        (error,) = [f for f in panel.findings if f["level"] == "error"]
        assert error["where"] == "model"
        assert "Azure OpenAI" in error["message"]
        press(panel, "submit")
    assert panel.stage == "edit"
    assert "to fix before submitting" in panel.notice["text"]
    assert creates(server) == 0


def test_panel_when_no_target_is_configured_says_so_in_the_widget(wb, files):
    train, valid = files
    panel = SubmitPanel(wb, train=train, validation=valid)
    assert "no hosted platform is configured" in panel.target["error"]
    press(panel, "validate")
    assert panel.notice["level"] == "error"
    assert "AZURE_OPENAI_ENDPOINT" in panel.notice["text"]


def test_panel_when_no_files_validates_but_refuses_to_submit(wb, azure, server):
    panel = SubmitPanel(wb, train=None, validation=None, client=azure)
    assert panel.model == "o4-mini-2025-04-16"  # the first live base model of the target's table
    press(panel, "validate")
    assert panel.validation["state"] == "ok"
    press(panel, "submit")
    assert "no train file" in panel.notice["text"]
    assert creates(server) == 0


def test_panel_when_the_workbench_changes_shows_the_new_grader_and_drops_the_confirmation(panel, wb):
    press(panel, "submit")
    assert panel.stage == "confirm"
    wb.add_rubric("care", "1 = careful", clusters=["chat"])
    assert "care" in json.loads(panel.grader_json)["graders"]
    assert panel.stage == "edit"


def test_panel_when_message_unknown_says_so(panel):
    press(panel, "explode")
    assert panel.notice["level"] == "error"
    assert "unknown submit panel message" in panel.notice["text"]


def test_monitor_when_nothing_submitted_is_refused_in_one_line(panel):
    with pytest.raises(Exception, match="nothing was submitted yet"):
        panel.monitor()
