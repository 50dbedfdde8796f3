"""Judge: the real openai SDK against the real loopback FakeOpenAI server (nothing monkeypatched)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from rftkit_nb.errors import ConfigError, JudgeError
from rftkit_nb.scoring.judge import Judge, JudgeAnswer, JudgeRequest, parse_content
from rftkit_nb.scoring.judge.cache import JudgeCache, answer_key
from rftkit_nb.testing import FakeOpenAI, fingerprint

KEY = "sk-judge-test-SECRET-0123456789"
ENV_NAMES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_VERSION",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the default cache stays in tmp


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(hang_seconds=10.0) as running:
        yield running


def req(text: str, **kw: Any) -> JudgeRequest:
    messages = [{"role": "system", "content": "You grade answers."}, {"role": "user", "content": text}]
    return JudgeRequest(kw.pop("model", "gpt-4o-mini"), messages, **kw)


def grade(server: FakeOpenAI, requests: list[JudgeRequest], **kw: Any) -> list[JudgeAnswer]:
    kw.setdefault("cache", None)
    kw.setdefault("max_retries", 0)

    async def main() -> list[JudgeAnswer]:
        async with Judge(base_url=server.base_url, api_key=KEY, **kw) as judge:
            return await judge.grade_many(requests)

    return asyncio.run(main())


# -- JudgeRequest -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("plain", "plain", id="string"),
        pytest.param(
            [{"type": "input_text", "text": "q"}, {"type": "output_text", "text": "a"}],
            [{"type": "text", "text": "q"}, {"type": "text", "text": "a"}],
            id="text-parts",
        ),
        pytest.param(
            {"type": "input_text", "text": "alone"},
            [{"type": "text", "text": "alone"}],
            id="single-part-object",
        ),
        pytest.param(
            [{"type": "input_image", "image_url": "https://x/y.png", "detail": "low"}],
            [{"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}],
            id="image",
        ),
        pytest.param(
            [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}],
            [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}],
            id="audio",
        ),
    ],
)
def test_chat_payload_when_content_has_grader_parts_maps_them_to_chat_parts(
    content: Any, expected: Any
) -> None:
    request = JudgeRequest("m", [{"role": "user", "content": content, "type": "message"}])
    assert request.chat_payload()["messages"] == [{"role": "user", "content": expected}]


def test_chat_payload_when_sampling_params_given_renames_and_drops_nulls() -> None:
    params = {"max_completions_tokens": 50, "seed": 7, "temperature": None, "reasoning_effort": "low"}
    payload = JudgeRequest("o4-mini", [{"role": "user", "content": "x"}], params).chat_payload()
    assert payload["max_completion_tokens"] == 50
    assert payload["seed"] == 7
    assert payload["reasoning_effort"] == "low"
    assert "temperature" not in payload
    assert "max_completions_tokens" not in payload


@pytest.mark.parametrize(
    ("kind", "labels", "result_schema"),
    [
        pytest.param("score", (), {"type": "number"}, id="score"),
        pytest.param("label", ("yes", "no"), {"type": "string", "enum": ["yes", "no"]}, id="label"),
    ],
)
def test_chat_payload_when_kind_given_asks_for_a_strict_result_and_steps_schema(
    kind: str, labels: tuple[str, ...], result_schema: dict
) -> None:
    payload = JudgeRequest("m", [], kind=kind, labels=labels).chat_payload()
    response_format = payload["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["result"] == result_schema
    assert schema["required"] == ["steps", "result"]
    assert schema["properties"]["steps"]["items"]["required"] == ["description", "conclusion"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        pytest.param({"kind": "rank"}, "kind", id="bad-kind"),
        pytest.param({"kind": "label"}, "labels", id="label-without-labels"),
        pytest.param({"range": (1.0, 1.0)}, "range", id="empty-range"),
    ],
)
def test_judge_request_when_invalid_raises_config_error_naming_the_field(kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        JudgeRequest("m", [], **kw)


def test_chat_payload_when_part_type_unknown_raises_config_error_naming_where() -> None:
    request = JudgeRequest("m", [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}])
    with pytest.raises(ConfigError, match=r"messages\[0\]\.content\[0\].*input_file"):
        request.chat_payload()


def test_key_when_requests_are_equal_is_equal_and_survives_payload_mutation() -> None:
    first, second = req("same"), req("same")
    first.chat_payload()["model"] = "mutated"
    assert answer_key("e", first) == answer_key("e", second)
    assert first.chat_payload()["model"] == "gpt-4o-mini"


LABELLED = req("same", kind="label", labels=("a", "b"))


@pytest.mark.parametrize(
    ("base", "other"),
    [
        pytest.param(req("same"), req("same", model="gpt-4.1"), id="model"),
        pytest.param(req("same"), req("different"), id="messages"),
        pytest.param(req("same"), req("same", sampling_params={"seed": 1}), id="sampling"),
        pytest.param(req("same"), req("same", range=(0.0, 10.0)), id="range"),
        pytest.param(req("same"), LABELLED, id="kind"),
        pytest.param(LABELLED, req("same", kind="label", labels=("a", "c")), id="labels"),
    ],
)
def test_key_when_any_input_differs_differs(base: JudgeRequest, other: JudgeRequest) -> None:
    assert answer_key("e", other) != answer_key("e", base)


# -- parsing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "judge_request", "result", "error", "clamped"),
    [
        pytest.param('{"result": 0.25, "steps": []}', req("x"), 0.25, None, False, id="in-range"),
        pytest.param('{"result": 3, "steps": []}', req("x", range=(1.0, 7.0)), 3.0, None, False, id="int"),
        pytest.param('{"result": -2}', req("x"), 0.0, None, True, id="below-range"),
        pytest.param('{"result": 9}', req("x", range=(1.0, 7.0)), 7.0, None, True, id="above-range"),
        pytest.param("not json", req("x"), None, "model_grader_parse_error", False, id="not-json"),
        pytest.param('{"steps": []}', req("x"), None, "model_grader_parse_error", False, id="no-result"),
        pytest.param(
            '{"result": "high"}', req("x"), None, "model_grader_parse_error", False, id="text-score"
        ),
        pytest.param('{"result": true}', req("x"), None, "model_grader_parse_error", False, id="bool-score"),
        pytest.param('{"result": NaN}', req("x"), None, "model_grader_parse_error", False, id="nan-score"),
        pytest.param("[1, 2]", req("x"), None, "model_grader_parse_error", False, id="list"),
        pytest.param(
            '{"result": "maybe"}',
            req("x", kind="label", labels=("yes", "no")),
            None,
            "model_grader_parse_error",
            False,
            id="unknown-label",
        ),
        pytest.param(
            '{"result": "no"}', req("x", kind="label", labels=("yes", "no")), "no", None, False, id="label"
        ),
    ],
)
def test_parse_content_when_model_answers_reads_it_as_the_service_does(
    raw: str, judge_request: JudgeRequest, result: Any, error: str | None, clamped: bool
) -> None:
    answer = parse_content(raw, judge_request)
    assert answer.result == result
    assert answer.error == error
    assert answer.clamped is clamped
    assert answer.raw == raw
    if error or clamped:
        assert answer.detail


# -- grading against the server -----------------------------------------------------------------------
def test_grade_many_when_server_answers_parses_results_and_steps(server: FakeOpenAI) -> None:
    answers = grade(server, [req("Grade it.\nSCORE: 0.8"), req("Grade it.\nSCORE: 0.1")])
    assert [a.result for a in answers] == [0.8, 0.1]
    assert all(a.error is None and not a.cached for a in answers)
    assert answers[0].steps[0]["description"]
    assert '"result": 0.8' in answers[0].raw
    sent = server.requests[0].body
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["messages"][0] == {"role": "system", "content": "You grade answers."}


def test_grade_many_when_result_out_of_range_clamps_and_marks_it(server: FakeOpenAI) -> None:
    server.inject("out_of_range", match="row A")
    answers = grade(server, [req("row A"), req("row B\nSCORE: 9", range=(1.0, 7.0))])
    assert [(a.result, a.clamped) for a in answers] == [(1.0, True), (7.0, True)]
    assert "clamped" in answers[1].detail


@pytest.mark.parametrize(
    ("fault", "category", "detail"),
    [
        pytest.param("refusal", "model_grader_refusal_error", "refused", id="refusal"),
        pytest.param("malformed", "model_grader_parse_error", "not JSON", id="malformed"),
        pytest.param("server_error", "model_grader_server_error", "HTTP 500", id="server-error"),
        pytest.param("rate_limit", "model_grader_server_error", "HTTP 429", id="rate-limited-throughout"),
        pytest.param("bad_request", "model_grader_server_error", "HTTP 400 (not retried)", id="bad-request"),
        pytest.param("disconnect", "model_grader_server_error", "could not reach", id="disconnect"),
    ],
)
def test_grade_many_when_one_rubric_faults_only_it_errors(
    server: FakeOpenAI, fault: str, category: str, detail: str
) -> None:
    server.inject(fault, times=10, retry_after=0.01, match="tone rubric")
    requests = [req(f"{name} rubric, row {n}\nSCORE: 0.5") for name in ("tone", "clarity") for n in range(3)]
    answers = grade(server, requests, max_retries=1)
    for answer in answers[:3]:
        assert answer.error == category
        assert detail in answer.detail
        assert answer.result is None
    assert [a.result for a in answers[3:]] == [0.5, 0.5, 0.5]
    assert all(a.error is None for a in answers[3:])


def test_grade_when_rate_limited_with_retry_after_retries_and_succeeds(server: FakeOpenAI) -> None:
    server.inject("rate_limit", times=2, retry_after=0.05)
    [answer] = grade(server, [req("SCORE: 0.6")], max_retries=4)
    assert answer.result == 0.6
    assert answer.error is None
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1", "2"]


def test_grade_when_server_hangs_times_out_as_server_error(server: FakeOpenAI) -> None:
    server.inject("hang", match="slow")
    answers = grade(server, [req("slow"), req("fast\nSCORE: 1")], timeout=0.3)
    assert answers[0].error == "model_grader_server_error"
    assert "did not answer within 0.3s" in answers[0].detail
    assert answers[1].result == 1.0


def test_grade_many_when_requests_are_identical_sends_each_once(server: FakeOpenAI) -> None:
    answers = grade(server, [req("same")] * 5 + [req("other")])
    assert server.count("chat") == 2
    assert len({a.result for a in answers[:5]}) == 1


def test_grade_when_identical_calls_overlap_sends_one_request() -> None:
    async def main(url: str) -> list[JudgeAnswer]:
        async with Judge(base_url=url, api_key=KEY, cache=False) as judge:
            return list(await asyncio.gather(*(judge.grade(req("SCORE: 0.3")) for _ in range(4))))

    with FakeOpenAI(latency=0.2) as slow:
        answers = asyncio.run(main(slow.base_url))
        assert slow.count("chat") == 1
    assert [a.result for a in answers] == [0.3] * 4


def test_grade_many_when_rerun_with_a_cache_file_sends_nothing(server: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    requests = [req(f"row {n}") for n in range(10)]
    first = grade(server, requests, cache=path)
    assert server.count("chat") == 10
    again = grade(server, requests, cache=path)
    assert server.count("chat") == 10
    assert all(a.cached for a in again)
    assert [(a.result, a.steps, a.raw) for a in again] == [(a.result, a.steps, a.raw) for a in first]


def test_grade_many_when_an_answer_failed_does_not_cache_it(server: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    server.inject("refusal", match="row 1")
    first = grade(server, [req("row 0"), req("row 1")], cache=path)
    assert first[1].error == "model_grader_refusal_error"
    again = grade(server, [req("row 0"), req("row 1")], cache=path)
    assert server.count("chat") == 3  # only the refused row went out again
    assert again[0].cached
    assert not again[1].cached
    assert again[1].error is None


@pytest.mark.parametrize(
    ("cache", "second_run_sends"),
    [
        pytest.param(False, 1, id="off"),
        pytest.param(None, 0, id="in-memory"),
        pytest.param(True, 0, id="default-file"),
    ],
)
def test_judge_when_cache_option_given_reuses_answers_accordingly(
    server: FakeOpenAI, tmp_path: Path, cache: Any, second_run_sends: int
) -> None:
    async def main() -> None:
        async with Judge(base_url=server.base_url, api_key=KEY, cache=cache) as judge:
            await judge.grade(req("x"))
            await judge.grade(req("x"))

    asyncio.run(main())
    assert server.count("chat") == 1 + second_run_sends
    assert (tmp_path / "xdg" / "rftkit_nb" / "judge.sqlite3").exists() is (cache is True)


def test_judge_when_cache_file_is_corrupt_sets_it_aside_and_grades(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "judge.sqlite3"
    path.write_bytes(b"garbage, not sqlite " * 100)

    async def main() -> tuple[JudgeAnswer, list[str]]:
        async with Judge(base_url=server.base_url, api_key=KEY, cache=path) as judge:
            return await judge.grade(req("SCORE: 0.2")), judge.notes

    answer, notes = asyncio.run(main())
    assert answer.result == 0.2
    assert "unreadable" in notes[0]
    assert len(list(tmp_path.glob("judge.sqlite3.corrupt-*"))) == 1


def test_judge_when_given_a_cache_object_uses_it_and_leaves_it_open(server: FakeOpenAI) -> None:
    shared = JudgeCache(None)
    grade(server, [req("a")], cache=shared)
    grade(server, [req("a")], cache=shared)
    assert server.count("chat") == 1
    assert len(shared) == 1  # still open after both judges closed
    shared.close()


def test_grade_many_when_on_done_given_calls_it_once_per_row(server: FakeOpenAI) -> None:
    seen: list[tuple[int, Any]] = []

    async def main() -> list[JudgeAnswer]:
        async with Judge(base_url=server.base_url, api_key=KEY, cache=None) as judge:
            await judge.grade(req("row 0"))  # cached for the next call
            return await judge.grade_many(
                [req("row 0"), req("row 1"), req("row 1")], on_done=lambda i, a: seen.append((i, a))
            )

    answers = asyncio.run(main())
    assert sorted(i for i, _ in seen) == [0, 1, 2]
    assert dict(seen) == dict(enumerate(answers))
    assert answers[0].cached


def test_grade_many_when_on_done_raises_propagates_and_cancels_the_rest() -> None:
    def explode(index: int, answer: JudgeAnswer) -> None:
        raise RuntimeError("progress bar broke")

    async def main(url: str) -> None:
        async with Judge(base_url=url, api_key=KEY, cache=None) as judge:
            await judge.grade_many([req(f"SCORE: 0.{n}") for n in range(5)] + [req("slow")], on_done=explode)

    with FakeOpenAI(hang_seconds=10) as server:
        server.inject("hang", match="slow")
        with pytest.raises(RuntimeError, match="progress bar broke"):
            asyncio.run(main(server.base_url))


def test_grade_many_when_label_kind_returns_labels(server: FakeOpenAI) -> None:
    labels = ("good", "bad", "ugly")
    answers = grade(
        server, [req("LABEL: bad", kind="label", labels=labels), req("x", kind="label", labels=labels)]
    )
    assert answers[0].result == "bad"
    assert answers[1].result in labels
    assert server.requests[0].body["response_format"]["json_schema"]["schema"]["properties"]["result"][
        "enum"
    ] == [
        "good",
        "bad",
        "ugly",
    ]


def test_grade_many_when_concurrency_limited_never_exceeds_it() -> None:
    with FakeOpenAI(latency=0.1) as slow:
        answers = grade(slow, [req(f"row {n}") for n in range(12)], concurrency=3)
        assert slow.max_in_flight == 3
    assert all(a.error is None for a in answers)


def test_judge_when_model_override_given_sends_that_model(server: FakeOpenAI) -> None:
    grade(server, [req("x", model="gpt-4o")], model_override="my-deployment")
    assert server.requests[0].body["model"] == "my-deployment"


# -- clients and configuration ------------------------------------------------------------------------
def _azure(server: FakeOpenAI, cls: type) -> Any:
    return cls(azure_endpoint=server.azure_endpoint, api_key=KEY, api_version="2024-10-21")


@pytest.mark.parametrize(
    "make_client",
    [
        pytest.param(lambda s: _azure(s, openai.AzureOpenAI), id="azure-sync"),
        pytest.param(lambda s: _azure(s, openai.AsyncAzureOpenAI), id="azure-async"),
    ],
)
def test_judge_when_given_an_azure_client_calls_the_deployment_route(
    server: FakeOpenAI, make_client: Any
) -> None:
    client = make_client(server)

    async def main() -> JudgeAnswer:
        async with Judge(client, cache=None) as judge:
            answer = await judge.grade(req("SCORE: 0.9", model="judge-deployment"))
        if isinstance(client, openai.AsyncAzureOpenAI):
            await client.close()
        return answer

    answer = asyncio.run(main())
    if isinstance(client, openai.AzureOpenAI):
        client.close()
    assert answer.result == 0.9
    [sent] = server.requests
    assert sent.path == "/openai/deployments/judge-deployment/chat/completions"
    assert sent.query["api-version"] == "2024-10-21"
    assert sent.headers["api-key"] == fingerprint(KEY)


def test_judge_when_given_a_sync_openai_client_keeps_its_endpoint_key_and_headers(server: FakeOpenAI) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, default_headers={"x-team": "graders"}) as sync:
        [answer] = grade_with_client(sync)
    assert answer.result == 0.4
    assert server.requests[0].headers["authorization"] == fingerprint(f"Bearer {KEY}")
    assert server.requests[0].headers["x-team"] == "graders"


def grade_with_client(client: Any) -> list[JudgeAnswer]:
    async def main() -> list[JudgeAnswer]:
        async with Judge(client, cache=None) as judge:
            return await judge.grade_many([req("SCORE: 0.4")])

    return asyncio.run(main())


def test_judge_when_given_an_async_client_does_not_close_it(server: FakeOpenAI) -> None:
    async def main() -> str | None:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY)
        async with Judge(client, cache=None) as judge:
            await judge.grade(req("x"))
        reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "y"}])
        await client.close()
        return reply.choices[0].message.content

    assert asyncio.run(main())


def test_judge_when_used_on_a_second_event_loop_reconnects(server: FakeOpenAI) -> None:
    judge = Judge(base_url=server.base_url, api_key=KEY, cache=None)

    async def once(text: str) -> JudgeAnswer:
        try:
            return await judge.grade(req(text))
        finally:
            await judge.aclose()

    assert asyncio.run(once("SCORE: 0.1")).result == 0.1
    assert asyncio.run(once("SCORE: 0.2")).result == 0.2


def test_judge_never_shows_the_api_key(server: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    server.inject("server_error", match="fails")
    grade(server, [req("SCORE: 0.3"), req("fails")], cache=path)
    server.require_key = "sk-the-right-key-000000"  # the server now echoes the wrong key in its 401 message

    async def main() -> tuple[str, list[JudgeAnswer], str]:
        async with Judge(base_url=server.base_url, api_key=KEY, cache=path, max_retries=0) as judge:
            answers = await judge.grade_many([req("new row")])
            try:
                await judge.embed_many("e", ["x"])
            except JudgeError as exc:
                return repr(judge), answers, str(exc)
        raise AssertionError("embed_many should have failed")

    shown, answers, embed_error = asyncio.run(main())
    assert "HTTP 401" in answers[0].detail
    assert "***" in answers[0].detail  # the echoed key was masked
    for text in (shown, answers[0].detail, embed_error):
        assert KEY not in text
    for file in tmp_path.iterdir():
        assert KEY.encode() not in file.read_bytes()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, None, id="nothing-configured"),
        pytest.param({"OPENAI_API_KEY": KEY}, "https://api.openai.com/v1", id="openai-key"),
        pytest.param(
            {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, "http://127.0.0.1:1/v1", id="keyless-local"
        ),
    ],
)
def test_from_env_when_environment_varies_builds_a_judge_or_none(
    monkeypatch: pytest.MonkeyPatch, env: dict, expected: str | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    judge = Judge.from_env(cache=False)
    if expected is None:
        assert judge is None
        return
    assert judge is not None
    assert f"endpoint={expected!r}" in repr(judge)
    asyncio.run(judge.aclose())


def test_from_env_when_azure_variables_set_grades_through_azure(
    monkeypatch: pytest.MonkeyPatch, server: FakeOpenAI
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.azure_endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01")

    async def main() -> JudgeAnswer:
        judge = Judge.from_env(cache=False)
        assert judge is not None
        async with judge:
            return await judge.grade(req("SCORE: 0.7", model="dep"))

    assert asyncio.run(main()).result == 0.7
    assert server.requests[0].path == "/openai/deployments/dep/chat/completions"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param({}, "OPENAI_API_KEY", id="nothing-configured"),
        pytest.param({"AZURE_OPENAI_ENDPOINT": "http://x"}, "AZURE_OPENAI_API_KEY", id="azure-without-key"),
        pytest.param(
            {"AZURE_OPENAI_ENDPOINT": "http://x", "AZURE_OPENAI_API_KEY": KEY},
            "OPENAI_API_VERSION",
            id="azure-without-version",
        ),
    ],
)
def test_judge_when_environment_is_incomplete_raises_config_error_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, setup: dict, message: str
) -> None:
    for name, value in setup.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Judge(cache=False)


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"concurrency": 0}, id="concurrency"),
        pytest.param({"timeout": 0}, id="timeout"),
        pytest.param({"max_retries": -1}, id="retries"),
        pytest.param({"cache": 3}, id="cache-type"),
        pytest.param({"client": "not a client"}, id="client-type"),
    ],
)
def test_judge_when_options_invalid_raises_config_error(kw: dict) -> None:
    with pytest.raises(ConfigError):
        Judge(base_url="http://127.0.0.1:1/v1", api_key=KEY, **kw)


# -- embeddings ---------------------------------------------------------------------------------------
def test_embed_many_when_texts_exceed_a_batch_returns_vectors_in_order(server: FakeOpenAI) -> None:
    texts = [f"text {n}" for n in range(300)]

    async def main() -> tuple[list[list[float]], list[list[float]]]:
        async with Judge(base_url=server.base_url, api_key=KEY, cache=False) as judge:
            return await judge.embed_many("e", texts), await judge.embed_many("e", ["text 299", "text 0"])

    vectors, again = asyncio.run(main())
    assert len(vectors) == 300
    assert again == [vectors[299], vectors[0]]
    assert server.count("embeddings") == 3  # 256 + 44, then 2
    assert server.requests[0].body["encoding_format"] == "float"


def test_embed_many_when_server_fails_raises_judge_error(server: FakeOpenAI) -> None:
    server.inject("server_error")

    async def main() -> None:
        async with Judge(base_url=server.base_url, api_key=KEY, cache=False, max_retries=0) as judge:
            await judge.embed_many("e", ["x"])

    with pytest.raises(JudgeError, match="HTTP 500") as caught:
        asyncio.run(main())
    assert caught.value.category == "model_grader_server_error"


def test_judge_when_base_url_given_without_key_then_environment_openai_key_is_not_sent_there(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key-0123456789")
    with FakeOpenAI() as server:
        judge = Judge(base_url=server.base_url, cache=False)
        request = JudgeRequest(model="m", messages=[{"role": "user", "content": "SCORE: 0.5"}])
        answer = asyncio.run(_grade_and_close(judge, request))
    assert answer.result == 0.5
    assert server.requests[0].headers["authorization"] == fingerprint("Bearer no-key-needed")
    assert judge.notes == [
        "OPENAI_API_KEY was not sent to 127.0.0.1 (it is for OpenAI or OPENAI_BASE_URL); "
        "pass Judge(base_url=..., api_key=...) if that server needs a key"
    ]


def test_judge_when_base_url_is_the_environments_endpoint_then_its_key_is_used(monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-for-this-endpoint-01")
        judge = Judge(base_url=server.base_url, cache=False)
        request = JudgeRequest(model="m", messages=[{"role": "user", "content": "SCORE: 0.5"}])
        asyncio.run(_grade_and_close(judge, request))
    assert server.requests[0].headers["authorization"] == fingerprint(
        "Bearer sk-env-key-for-this-endpoint-01"
    )


async def _grade_and_close(judge, request):
    try:
        return await judge.grade(request)
    finally:
        await judge.aclose()
