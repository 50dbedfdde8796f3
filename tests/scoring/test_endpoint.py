"""score_endpoint: the endpoint grader scored locally against a real loopback server, faults included."""

from __future__ import annotations

import asyncio

import pytest

from rftkit_nb.core.graders import EndpointGrader
from rftkit_nb.errors import ErrorCategory
from rftkit_nb.scoring.endpoint import _RateLimiter, score_endpoint, trace_id_of
from rftkit_nb.testing import FakeOpenAI, fingerprint

SECRET = "endpoint-key-0123456789"
ROWS = [({"output_text": "4"}, {"answer": "4"}), ({"output_text": "5"}, {"answer": "4"})]


@pytest.fixture
def server():
    with FakeOpenAI(hang_seconds=2.0) as running:
        yield running


def grader(server: FakeOpenAI, **kw) -> EndpointGrader:
    return EndpointGrader(name="remote", url=server.endpoint_url, headers={"api-key": SECRET}, **kw)


def run(g: EndpointGrader, rows=ROWS, **kw):
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    kw.setdefault("sleep", no_sleep)
    return asyncio.run(score_endpoint(g, rows, **kw)), waits


def test_score_endpoint_when_server_answers_then_scores_in_order_with_body_and_headers(server) -> None:
    outcomes, _ = run(grader(server))
    assert [o.score for o in outcomes] == [1.0, 0.0]
    (request,) = [r for r in server.requests if r.body["sample"] == ROWS[0][0]]
    assert set(request.body) == {"sample", "item", "trace_id"}
    assert request.body["trace_id"] == trace_id_of(*ROWS[0])
    assert request.headers["api-key"] == fingerprint(SECRET)


def test_score_endpoint_when_trace_ids_given_then_sent() -> None:
    with FakeOpenAI() as server:
        run(grader(server), rows=ROWS[:1], trace_ids=["rollout-7"])
        assert server.requests[0].body["trace_id"] == "rollout-7"
    with pytest.raises(ValueError, match="trace_ids has 1 ids for 2 rows"):
        asyncio.run(score_endpoint(grader(server), ROWS, trace_ids=["x"]))


@pytest.mark.parametrize(
    ("kind", "times", "score", "attempts"),
    [
        pytest.param("server_error", 2, 1.0, 3, id="500-retried"),
        pytest.param("disconnect", 1, 1.0, 2, id="dropped-retried"),
        pytest.param("server_error", 4, None, 4, id="500-gives-up-after-3-retries"),
    ],
)
def test_score_endpoint_when_transient_failures_then_retried_up_to_three_times(
    server, kind, times, score, attempts
) -> None:
    server.inject(kind, times=times, route="endpoint")
    (outcome,), _ = run(grader(server), rows=ROWS[:1])
    assert (outcome.score, outcome.attempts) == (score, attempts)
    if score is None:
        assert outcome.error == ErrorCategory.ENDPOINT_SERVER
        assert "failed 4 times" in outcome.detail


def test_score_endpoint_when_rate_limited_then_waits_as_told(server) -> None:
    server.inject("rate_limit", route="endpoint", retry_after=4)
    (outcome,), waits = run(grader(server), rows=ROWS[:1])
    assert outcome.score == 1.0
    assert 4 in waits


@pytest.mark.parametrize(
    ("kind", "category", "needle"),
    [
        pytest.param("bad_request", ErrorCategory.ENDPOINT_SERVER, "HTTP 400 (not retried)", id="400"),
        pytest.param("malformed", ErrorCategory.OTHER, "'high', not a finite number", id="not-a-number"),
        pytest.param("unauthorized", ErrorCategory.ENDPOINT_SERVER, "HTTP 401", id="401"),
    ],
)
def test_score_endpoint_when_answer_unusable_then_error_not_retried(server, kind, category, needle) -> None:
    server.inject(kind, route="endpoint", times=5)
    (outcome,), _ = run(grader(server), rows=ROWS[:1])
    assert outcome.score is None
    assert outcome.error == category
    assert needle in outcome.detail
    assert outcome.attempts == 1
    assert SECRET not in outcome.detail


def test_score_endpoint_when_server_hangs_then_times_out_and_retries(server) -> None:
    server.inject("hang", route="endpoint")
    (outcome,), _ = run(grader(server), rows=ROWS[:1], timeout=0.3)
    assert outcome.score == 1.0
    assert outcome.attempts == 2


def test_score_endpoint_when_payload_over_one_megabyte_then_error_without_sending(server) -> None:
    (outcome,), _ = run(grader(server), rows=[({"output_text": "x" * 1_000_001}, {})])
    assert outcome.error == ErrorCategory.OTHER
    assert "1,000,000" in outcome.detail
    assert server.requests == []


def test_rate_limiter_when_many_starts_then_spaced_by_one_over_rate() -> None:
    now = [0.0]
    waits: list[float] = []
    limiter = _RateLimiter(10.0, clock=lambda: now[0])

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))

    async def starts() -> None:
        for _ in range(4):
            await limiter.wait(sleep)

    asyncio.run(starts())
    assert waits == [0.1, 0.2, 0.3]


def test_score_endpoint_when_grader_has_rate_limit_then_used(server) -> None:
    outcomes, waits = run(grader(server, rate_limit=2), rows=ROWS * 2)
    assert len(outcomes) == 4
    assert max(waits) >= 1.0  # the 3rd and 4th starts wait 1 s and 1.5 s at 2 requests/s


def test_score_when_multi_grader_has_an_endpoint_grader_then_it_is_scored_and_masked_like_a_judge():
    from rftkit_nb import MultiGrader, StringCheckGrader
    from rftkit_nb.scoring.engine import score
    from rftkit_nb.testing import FakeOpenAI

    with FakeOpenAI() as server:
        remote = EndpointGrader(name="remote", url=server.endpoint_url, headers={"api-key": "secret-value"})
        gate = StringCheckGrader(name="gate", input="{{ item.kind }}", reference="math", operation="eq")
        multi = MultiGrader(
            name="m", graders={"gate": gate, "remote": remote}, calculate_output="gate * remote"
        )
        rows = [
            {"kind": "math", "answer": "4", "output_text": "4"},
            {"kind": "math", "answer": "4", "output_text": "5"},
            {"kind": "chat", "answer": "4", "output_text": "4"},
        ]
        report = score(multi, rows, judge=False, progress=False)  # no Judge needed for an endpoint
        posted = [r for r in server.requests if r.path.endswith(server.endpoint_url.rsplit("/", 1)[-1])]
    assert report.frame["remote.state"].tolist() == ["scored", "scored", "not_applicable"]
    assert report.frame["reward"].tolist() == [1.0, 0.0, 0.0]
    assert len(posted) == 2  # the masked row was never posted
    assert "secret-value" not in repr(report.frame.to_dict())
