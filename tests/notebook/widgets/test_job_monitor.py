"""Specification of JobMonitor: the kernel polls the loopback platform's job (which moves one tick per read)
until it ends or the widget closes; pause / resume / cancel arrive as ``{"op": ...}`` messages."""

from __future__ import annotations

import time

import pytest

from rftkit_nb.notebook.widgets.job_monitor import MAX_FAILURES, JobMonitor, curves
from rftkit_nb.remote import submit
from rftkit_nb.remote.jobs import Metrics
from rftkit_nb.testing import FakeOpenAI

KEY = "azkey-widgets-0123456789abcdef"


def press(monitor: JobMonitor, op: str) -> None:
    monitor._handle_custom_msg({"op": op}, [])


def reads(server: FakeOpenAI) -> int:
    return sum(r.route == "jobs.retrieve" for r in server.requests)


@pytest.fixture
def job(wb, files, azure):
    train, valid = files
    return submit(wb, train=train, validation=valid, model="o4-mini-2025-04-16", client=azure, show=None)


def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_monitor_when_job_runs_reaches_succeeded_with_curves_and_stops_polling(job, server, wb):
    monitor = JobMonitor(job, poll=0.01)
    assert monitor.join(10)
    assert monitor.status == "succeeded"
    assert monitor.polling is False
    assert monitor.actions == []
    assert monitor.progress == {"step": 4, "total_steps": 4}
    assert [s for s, _ in monitor.series["train"]] == [1, 2, 3, 4]
    assert [s for s, _ in monitor.series["valid"]] == [1, 2, 3, 4]
    assert monitor.series["train"][-1][1] > monitor.series["train"][0][1]
    assert set(monitor.series["graders"]) == set(wb.grader().graders)  # one curve set per sub-grader
    assert all(len(points) == 4 for per in monitor.series["graders"].values() for points in per.values())
    assert [c["step"] for c in monitor.checkpoints] == [2, 4]
    assert monitor.info["fine_tuned_model"].startswith("ft:o4-mini")
    assert any(e["type"] == "metrics" for e in monitor.events)
    assert monitor.events[-1]["message"] == "The job has successfully completed"
    done = reads(server)
    time.sleep(0.2)
    assert reads(server) == done  # polling stopped when the job ended
    assert KEY not in repr(monitor) + str(monitor.get_state())


def test_monitor_when_closed_stops_polling(job, server):
    job.refresh()
    job.refresh()
    job.pause()  # a paused job stays put: polling would go on for ever
    monitor = JobMonitor(job, poll=0.01)
    until(lambda: reads(server) >= 5)
    assert monitor.polling
    assert monitor.status == "paused"
    assert monitor.actions == ["resume", "cancel"]
    monitor.close()
    assert monitor.join(5)
    stopped = reads(server)
    time.sleep(0.2)
    assert reads(server) == stopped
    assert monitor.polling is False


def test_monitor_when_idle_backs_off_politely(job, server):
    job.refresh()
    job.refresh()
    job.pause()
    monitor = JobMonitor(job, poll=0.01, start=False)
    asked: list[float] = []
    polite = monitor._sleep

    def sleep(seconds: float) -> None:  # the intervals the poller waits, from Job.wait's backoff
        asked.append(seconds)
        if len(asked) == 6:
            monitor.stop()
        polite(seconds)

    monitor._sleep = sleep  # type: ignore[method-assign]
    monitor.watch()
    assert monitor.join(5)
    assert asked == sorted(asked)
    assert asked[-1] > 5 * asked[0]


def test_pause_resume_cancel_when_pressed_change_the_job_and_the_buttons(job, server):
    server.platform.total_steps = 50
    monitor = JobMonitor(job, poll=0.01, start=False)
    for _ in range(3):
        press(monitor, "refresh")
        monitor.stop()
        monitor.join(5)
    until(lambda: monitor.status == "running")
    press(monitor, "pause")
    assert monitor.status == "paused"
    assert monitor.actions == ["resume", "cancel"]
    assert monitor.notice["level"] == "ok"
    monitor.stop()
    monitor.join(5)
    press(monitor, "pause")  # the platform refuses: its one line, in the widget
    assert monitor.notice["level"] == "error"
    assert "Cannot pause a job that is paused" in monitor.notice["text"]
    assert "\n" not in monitor.notice["text"]
    press(monitor, "resume")
    until(lambda: monitor.series["train"])  # polling again: steps come in
    assert monitor.actions == ["pause", "cancel"] or monitor.status != "running"
    press(monitor, "cancel")
    assert monitor.join(5)
    assert monitor.status == "cancelled"
    assert monitor.actions == []
    assert monitor.polling is False
    assert sum(r.route == "jobs.cancel" for r in server.requests) == 1


def test_monitor_when_reads_keep_failing_stops_and_refresh_starts_again(job, server):
    server.inject("server_error", times=MAX_FAILURES, route="jobs.retrieve")
    monitor = JobMonitor(job, poll=0.005)
    assert monitor.join(10)
    assert monitor.notice["level"] == "error"
    assert f"stopped polling after {MAX_FAILURES} failed reads" in monitor.notice["text"]
    assert "HTTP 500" in monitor.notice["text"]
    assert KEY not in monitor.notice["text"]
    press(monitor, "refresh")
    assert monitor.join(10)
    assert monitor.status == "succeeded"


def test_monitor_when_the_job_is_gone_shows_the_error(job, server):
    server.inject("not_found", route="jobs.retrieve")
    monitor = JobMonitor(job, start=False)
    assert "HTTP 404" in monitor.notice["text"]


def test_monitor_when_message_unknown_says_so(job):
    monitor = JobMonitor(job, start=False)
    press(monitor, "explode")
    assert "unknown job monitor message" in monitor.notice["text"]


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        pytest.param([], {"train": [], "valid": [], "graders": {}}, id="none"),
        pytest.param([Metrics(None, 4, 0.5, 0.5)], {"train": [], "valid": [], "graders": {}}, id="no-step"),
        pytest.param([Metrics(1, 4, 0.5, None), Metrics(2, 4, None, 0.25)],
                     {"train": [[1, 0.5]], "valid": [[2, 0.25]], "graders": {}}, id="gaps-left-out"),
        pytest.param([Metrics(3, 4, None, None, {"tone": {"train_reward_mean": 0.1, "valid_reward_mean": 0.2}})],
                     {"train": [], "valid": [], "graders": {"tone": {"train_reward_mean": [[3, 0.1]],
                                                                      "valid_reward_mean": [[3, 0.2]]}}},
                     id="per-grader"),
    ],
)  # fmt: skip
def test_curves_when_metrics_given_are_step_value_pairs(metrics, expected):
    assert curves(metrics) == expected
