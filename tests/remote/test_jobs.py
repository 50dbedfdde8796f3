"""Job: status, metrics events, checkpoints, polite waiting, the pause/resume/cancel state machine."""

from __future__ import annotations

import pytest

from rftkit_nb.errors import RemoteError
from rftkit_nb.remote import Job, list_jobs, submit
from rftkit_nb.remote.jobs import Metrics
from tests.remote.conftest import BEFORE_OPENAI_CUTOFF, reward_grader


@pytest.fixture
def job(client, dataset, tmp_path) -> Job:
    train, valid = dataset
    return submit(reward_grader(), train=train, validation=valid, model="o4-mini-2025-04-16", client=client,
                  today=BEFORE_OPENAI_CUTOFF, record=tmp_path / "record.json", show=None)  # fmt: skip


def test_job_when_waited_then_succeeds_with_metrics_and_checkpoints(job) -> None:
    seen: list[str] = []
    sleeps: list[float] = []
    job.wait(poll=0.5, on_update=lambda j: seen.append(j.status), sleep=sleeps.append)
    assert job.status == "succeeded"
    assert job.done
    assert seen[0] == "queued"
    assert seen[-1] == "succeeded"
    metrics = job.metrics()
    assert [m.step for m in metrics] == [1, 2, 3, 4]
    assert metrics[-1].total_steps == 4
    assert metrics[-1].valid_reward_mean > metrics[0].valid_reward_mean
    assert set(metrics[0].graders) == {"exact", "short", "tone"}
    assert metrics[0].errors["exact"] == {"train_python_grader_runtime_error_count": 0.0}
    assert [c.step for c in job.checkpoints()] == [2, 4]
    assert job.checkpoints()[-1].model.endswith("ckpt-step-4")
    assert job.fine_tuned_model is not None


def test_job_wait_when_status_unchanged_then_polls_less_often(job) -> None:
    sleeps: list[float] = []
    job.wait(poll=1.0, sleep=sleeps.append)
    running = sleeps[2:]  # validating -> queued -> running each changed the status
    assert running == sorted(running)
    assert running[-1] > running[0]


def test_job_wait_when_timeout_then_error_says_it_keeps_running(job) -> None:
    with pytest.raises(RemoteError, match=r"still .* it keeps running"):
        job.wait(poll=1.0, timeout=0.5, sleep=lambda s: None)


def test_job_when_paused_resumed_cancelled_then_state_machine_holds(job, server) -> None:
    job.refresh().refresh()
    assert job.status == "running"
    assert job.pause().status == "paused"
    job.refresh()
    assert job.status == "paused"  # a paused job does not move on
    with pytest.raises(RemoteError, match=r"HTTP 400.*Cannot pause a job that is paused"):
        job.pause()
    assert job.resume().status == "running"
    assert job.cancel().status == "cancelled"
    with pytest.raises(RemoteError, match=r"Cannot resume a job that is cancelled"):
        job.resume()
    assert server.count("other") >= 0  # routes are recorded by name, not endpoint


def test_job_from_id_and_list_jobs_when_several_jobs_then_newest_first_through_cursor(job, client) -> None:
    again = Job.from_id(job.id, client=client)
    assert again.id == job.id
    ids = [j.id for j in list_jobs(client=client, limit=5)]
    assert ids == [job.id]
    assert "succeeded" not in repr(list_jobs(client=client))


def test_job_events_when_more_than_one_page_then_all_read_oldest_first(job) -> None:
    job.wait(poll=0.0, sleep=lambda s: None)
    events = job.events(limit=3)
    assert len(events) == 3
    everything = job.events()
    assert everything[0].message.startswith("Created fine-tuning job")
    assert everything[-1].message == "The job has successfully completed"


def test_job_from_id_when_unknown_then_404_message(client) -> None:
    with pytest.raises(RemoteError, match=r"HTTP 404.*does not exist"):
        Job.from_id("ftjob-missing", client=client)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"step": 3, "total_steps": 9, "train_reward_mean": 0.5}, (3, 9, 0.5, None), id="flat"),
        pytest.param({"scores": {"valid_reward_mean": 0.7, "graders": [{"name": "a", "valid_reward_mean": 1}]}},
                     (None, None, None, 0.7), id="grader-list"),
        pytest.param({"step": "x", "scores": "oops"}, (None, None, None, None), id="malformed"),
    ],
)  # fmt: skip
def test_metrics_parse_when_shapes_vary_then_read_defensively(data, expected) -> None:
    m = Metrics.parse(data)
    assert (m.step, m.total_steps, m.train_reward_mean, m.valid_reward_mean) == expected
    assert Metrics.parse(None) is None


def test_job_when_displayed_then_escaped_html_and_readable_repr(job) -> None:
    assert repr(job).startswith(f"Job({job.id}: validating_files")
    assert "<script" not in job._repr_html_()
