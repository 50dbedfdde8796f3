"""Every injected fault ends in a clear one-line message, and never in a duplicate job."""

from __future__ import annotations

import pytest

from rftkit_nb.errors import RateLimited, RemoteError
from rftkit_nb.remote import Job, list_jobs, submit, validate
from tests.remote.conftest import BEFORE_OPENAI_CUTOFF, LAYOUTS, exact_grader, make_client, reward_grader


def go(client, dataset, tmp_path, **kw):
    train, valid = dataset
    return submit(reward_grader(), train=train, validation=valid, model="o4-mini-2025-04-16", client=client,
                  today=BEFORE_OPENAI_CUTOFF, record=tmp_path / "rec.json", show=None, **kw)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        pytest.param("invalid_field", r"HTTP 400 \(field grader\)", id="400"),
        pytest.param("unauthorized", "HTTP 401.*check the API key", id="401"),
        pytest.param("training_not_available", "training_not_available.*Azure OpenAI", id="403"),
        pytest.param("not_found", "HTTP 404.*check the endpoint", id="404"),
        pytest.param("rate_limit", "HTTP 429.*wait and try again", id="429"),
    ],
)
def test_submit_when_create_fails_with_status_then_clear_message_and_no_job(client, server, dataset, tmp_path,
                                                                           kind, needle) -> None:  # fmt: skip
    server.inject(kind, route="jobs.create")
    with pytest.raises(RemoteError, match=needle) as caught:
        go(client, dataset, tmp_path)
    assert "\n" not in str(caught.value)
    assert server.platform.jobs == {}
    assert caught.value.__cause__ is None  # the SDK error (which may echo a key) is not chained


def test_submit_when_server_error_on_create_then_not_retried_and_no_job(server, dataset, tmp_path) -> None:
    with make_client(server, "azure-v1", max_retries=3) as client:
        server.inject("server_error", route="jobs.create")
        with pytest.raises(RemoteError, match=r"HTTP 500.*none was created"):
            go(client, dataset, tmp_path)
    assert len([r for r in server.requests if r.route == "jobs.create"]) == 1  # never retried blind
    assert server.platform.jobs == {}


def test_submit_when_connection_drops_before_create_then_says_none_was_created(
    client, server, dataset, tmp_path
) -> None:
    server.inject("disconnect", route="jobs.create")
    with pytest.raises(RemoteError, match=r"could not reach.*none was created: submit\(\) again"):
        go(client, dataset, tmp_path)
    job = go(client, dataset, tmp_path)  # trying again is safe
    assert list(server.platform.jobs) == [job.id]


def test_submit_when_answer_lost_after_create_then_finds_the_job_instead_of_a_second(
    client, server, dataset, tmp_path
) -> None:
    server.inject("disconnect_after", route="jobs.create")
    job = go(client, dataset, tmp_path)
    assert list(server.platform.jobs) == [job.id]
    again = go(client, dataset, tmp_path)
    assert again.id == job.id
    assert len(server.platform.jobs) == 1


def test_reads_when_server_error_then_sdk_retries_them(server) -> None:
    with make_client(server, "azure-v1", max_retries=2) as client:
        server.inject("server_error", route="graders.validate")
        assert validate(exact_grader(), client=client).ok
    assert len([r for r in server.requests if r.route == "graders.validate"]) == 2


def test_job_wait_when_rate_limited_then_waits_as_told_and_finishes(
    client, server, dataset, tmp_path
) -> None:
    job = go(client, dataset, tmp_path)
    server.inject("rate_limit", route="jobs.retrieve", retry_after=7)
    sleeps: list[float] = []
    job.wait(poll=0.5, sleep=sleeps.append)
    assert job.status == "succeeded"
    assert sleeps[0] == 7


def test_list_jobs_when_rate_limited_then_rate_limited_error(client, server) -> None:
    server.inject("rate_limit", route="jobs.list", retry_after=3)
    with pytest.raises(RateLimited) as caught:
        list_jobs(client=client)
    assert caught.value.retry_after == 3


def test_job_from_id_when_connection_drops_then_clear_message(client, server) -> None:
    server.inject("disconnect", route="jobs.retrieve")
    with pytest.raises(RemoteError, match=r"read job ftjob-x: could not reach"):
        Job.from_id("ftjob-x", client=client)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_unauthorized_when_server_echoes_the_key_then_message_masks_it(server, layout) -> None:
    server.require_key = "the-only-right-key"
    with make_client(server, layout) as client, pytest.raises(RemoteError) as caught:
        list_jobs(client=client)
    assert "HTTP 401" in str(caught.value)
    assert client.api_key not in str(caught.value)
    assert "***" in str(caught.value)
