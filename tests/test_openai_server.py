"""FakeOpenAI: a real loopback server, exercised through the real openai SDK and raw HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import math
from collections.abc import Iterator

import openai
import pytest

from rftkit_nb.testing import FakeOpenAI, default_scorer, fingerprint, prompt_text

KEY = "sk-test-server-0123456789"
SCORE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "r",
        "strict": True,
        "schema": {"type": "object", "properties": {"result": {"type": "number"}}},
    },
}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(hang_seconds=5.0) as running:
        yield running


@pytest.fixture
def client(server: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=5.0) as sdk:
        yield sdk


def ask(client: openai.OpenAI, text: str, **kw: object) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kw
    )


def content_of(reply: openai.types.chat.ChatCompletion) -> dict:
    return json.loads(reply.choices[0].message.content or "")


def raw_post(server: FakeOpenAI, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_server_when_prompt_has_score_line_answers_that_result(client: openai.OpenAI) -> None:
    answer = content_of(ask(client, "Grade this.\nSCORE: 0.8\n", response_format=SCORE_FORMAT))
    assert answer["result"] == 0.8
    assert answer["steps"][0].keys() == {"description", "conclusion"}


def test_server_when_no_score_line_answers_a_stable_hash_in_range(client: openai.OpenAI) -> None:
    first = content_of(ask(client, "the same text"))["result"]
    again = content_of(ask(client, "the same text"))["result"]
    other = content_of(ask(client, "another text"))["result"]
    assert first == again
    assert 0.0 <= first <= 1.0
    assert 0.0 <= other <= 1.0
    assert first != other


def test_default_scorer_when_schema_has_bounds_places_result_inside_them() -> None:
    schema = {"properties": {"result": {"type": "number", "minimum": 1, "maximum": 7}}}
    results = [
        default_scorer(
            {
                "messages": [{"role": "user", "content": f"text {n}"}],
                "response_format": {"json_schema": {"schema": schema}},
            }
        )["result"]
        for n in range(30)
    ]
    assert all(1 <= r <= 7 for r in results)
    assert max(results) > 1.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("LABEL: bad", "bad", id="label-line"),
        pytest.param("Rate it", None, id="hashed-label"),
    ],
)
def test_server_when_schema_is_a_label_enum_answers_a_label(
    client: openai.OpenAI, text: str, expected: str | None
) -> None:
    label_format = {
        "type": "json_schema",
        "json_schema": {
            "name": "l",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"result": {"type": "string", "enum": ["good", "bad"]}},
            },
        },
    }
    result = content_of(ask(client, text, response_format=label_format))["result"]
    assert result in {"good", "bad"}
    if expected is not None:
        assert result == expected


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        pytest.param("rate_limit", openai.RateLimitError, id="rate-limit-429"),
        pytest.param("server_error", openai.InternalServerError, id="server-error-500"),
        pytest.param("bad_request", openai.BadRequestError, id="bad-request-400"),
        pytest.param("disconnect", openai.APIConnectionError, id="disconnect"),
    ],
)
def test_server_when_error_fault_injected_sdk_raises_matching_error(
    server: FakeOpenAI, client: openai.OpenAI, kind: str, error: type[Exception]
) -> None:
    server.inject(kind, retry_after=0.25)
    with pytest.raises(error) as caught:
        ask(client, "hello")
    if isinstance(caught.value, openai.APIStatusError) and kind != "bad_request":
        assert caught.value.response.headers["retry-after"] == "0.25"
    assert content_of(ask(client, "SCORE: 0.5"))["result"] == 0.5  # the fault was used up


def test_server_when_hang_injected_client_times_out(server: FakeOpenAI) -> None:
    server.inject("hang")
    with (
        openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=0.3) as sdk,
        pytest.raises(openai.APITimeoutError),
    ):
        ask(sdk, "hello")
    assert server.counts["fault:hang"] == 1


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        pytest.param(
            "malformed", lambda m: m.refusal is None and not m.content.startswith("{"), id="malformed"
        ),
        pytest.param("refusal", lambda m: m.content is None and "sorry" in m.refusal, id="refusal"),
        pytest.param("out_of_range", lambda m: json.loads(m.content)["result"] == 7.5, id="out-of-range"),
    ],
)
def test_server_when_content_fault_injected_answers_200_with_that_content(
    server: FakeOpenAI, client: openai.OpenAI, kind: str, check: object
) -> None:
    server.inject(kind)
    message = ask(client, "hello").choices[0].message
    assert check(message)  # type: ignore[operator]


def test_inject_when_match_given_faults_only_matching_requests(
    server: FakeOpenAI, client: openai.OpenAI
) -> None:
    server.inject("refusal", times=2, match="tone rubric")
    assert ask(client, "clarity rubric").choices[0].message.refusal is None
    assert ask(client, "tone rubric, row 1").choices[0].message.refusal is not None
    assert ask(client, "other rubric").choices[0].message.refusal is None
    assert ask(client, "tone rubric, row 2").choices[0].message.refusal is not None
    assert ask(client, "tone rubric, row 3").choices[0].message.refusal is None  # both uses consumed


def test_inject_when_match_is_a_predicate_uses_it(server: FakeOpenAI, client: openai.OpenAI) -> None:
    server.inject("out_of_range", match=lambda body: body.get("model") == "special")
    assert content_of(ask(client, "SCORE: 0.1"))["result"] == 0.1
    special = client.chat.completions.create(model="special", messages=[{"role": "user", "content": "x"}])
    assert content_of(special)["result"] == 7.5


def test_inject_when_kind_unknown_raises_value_error_listing_kinds(server: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        server.inject("explode")


def test_server_records_bodies_headers_and_retries(server: FakeOpenAI) -> None:
    server.inject("rate_limit", times=2, retry_after=0.01)
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=2) as sdk:
        assert content_of(ask(sdk, "SCORE: 0.4"))["result"] == 0.4
    assert server.count("chat") == 3
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1", "2"]
    assert server.requests[0].headers["authorization"] == fingerprint(f"Bearer {KEY}")
    assert server.requests[0].body["messages"][0]["content"] == "SCORE: 0.4"
    assert server.counts["fault:rate_limit"] == 2
    assert server.counts["chat"] == 1
    server.clear()
    assert server.requests == []
    assert server.count() == 0


@pytest.mark.parametrize(
    "encoding", [pytest.param(None, id="sdk-default"), pytest.param("float", id="float")]
)
def test_embeddings_when_asked_returns_deterministic_unit_vectors(
    server: FakeOpenAI, client: openai.OpenAI, encoding: str | None
) -> None:
    kw = {"encoding_format": encoding} if encoding else {}
    first = client.embeddings.create(model="e", input=["alpha", "beta"], **kw)  # type: ignore[arg-type]
    again = client.embeddings.create(model="e", input="alpha", **kw)  # type: ignore[arg-type]
    vectors = [item.embedding for item in first.data]
    assert len(vectors) == 2
    assert len(vectors[0]) == server.embedding_dims
    assert math.isclose(math.fsum(v * v for v in vectors[0]), 1.0, rel_tol=1e-5)
    assert again.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert vectors[0] != pytest.approx(vectors[1], abs=1e-3)
    assert server.count("embeddings") == 2


def test_embeddings_when_dimensions_given_uses_them(client: openai.OpenAI) -> None:
    reply = client.embeddings.create(model="e", input="x", dimensions=40, encoding_format="float")
    assert len(reply.data[0].embedding) == 40


def test_server_when_azure_client_calls_deployment_route_answers(server: FakeOpenAI) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint, api_key=KEY, api_version="2024-10-21"
    ) as az:
        reply = az.chat.completions.create(
            model="my-deploy", messages=[{"role": "user", "content": "SCORE: 1"}]
        )
        vectors = az.embeddings.create(model="my-embed", input="x", encoding_format="float")
    assert content_of(reply)["result"] == 1.0
    assert len(vectors.data) == 1
    chat, embed = server.requests
    assert chat.path == "/openai/deployments/my-deploy/chat/completions"
    assert chat.endpoint == "chat"
    assert chat.query == {"api-version": "2024-10-21"}
    assert chat.headers["api-key"] == fingerprint(KEY)
    assert embed.path == "/openai/deployments/my-embed/embeddings"
    assert embed.endpoint == "embeddings"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/openai/deployments/d/chat/completions", 400, id="azure-without-api-version"),
        pytest.param("/v1/unknown", 404, id="unknown-route"),
    ],
)
def test_server_when_route_is_wrong_answers_an_error_object(
    server: FakeOpenAI, path: str, status: int
) -> None:
    code, body = raw_post(server, path, b"{}", {"content-type": "application/json"})
    assert code == status
    assert body["error"]["message"]


def test_server_when_require_key_and_key_is_wrong_answers_401(server: FakeOpenAI) -> None:
    server.require_key = "sk-right-key-0000"
    with (
        openai.OpenAI(base_url=server.base_url, api_key="sk-wrong-key-1111", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        ask(sdk, "x")
    with openai.OpenAI(base_url=server.base_url, api_key="sk-right-key-0000", max_retries=0) as sdk:
        assert ask(sdk, "SCORE: 0").choices[0].message.content


def test_server_when_custom_scorer_given_uses_it_and_reports_its_failure_as_500(server: FakeOpenAI) -> None:
    def scorer(body: dict) -> dict:
        if "boom" in prompt_text(body):
            raise RuntimeError("scorer exploded")
        return {"steps": [], "result": len(prompt_text(body))}

    server.scorer = scorer
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        assert content_of(ask(sdk, "abcd"))["result"] == 4
        with pytest.raises(openai.InternalServerError, match="scorer exploded"):
            ask(sdk, "boom")


def test_server_when_one_connection_sends_several_requests_keeps_it_alive(server: FakeOpenAI) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for n in range(3):
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"SCORE: 0.{n}"}]})
            conn.request(
                "POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json"}
            )
            response = conn.getresponse()
            assert response.getheader("connection") == "keep-alive"
            reply = json.loads(response.read())
            assert json.loads(reply["choices"][0]["message"]["content"])["result"] == n / 10
    finally:
        conn.close()


def test_server_when_body_is_chunked_reads_it(server: FakeOpenAI) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "SCORE: 0.3"}]}).encode()
    chunks = iter([body[:10], body[10:]])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", "/v1/chat/completions", body=chunks, encode_chunked=True)
        reply = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert json.loads(reply["choices"][0]["message"]["content"])["result"] == 0.3


def test_server_when_body_is_not_json_answers_400(server: FakeOpenAI) -> None:
    status, body = raw_post(server, "/v1/chat/completions", b"{not json", {})
    assert status == 400
    assert "not JSON" in body["error"]["message"]


def test_server_when_many_clients_wait_on_latency_serves_them_concurrently() -> None:
    async def burst(url: str) -> list[str]:
        async with openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0) as sdk:
            calls = [
                sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": f"SCORE: {n}"}])
                for n in range(16)
            ]
            return [r.choices[0].message.content or "" for r in await asyncio.gather(*calls)]

    with FakeOpenAI(latency=0.5) as slow:
        contents = asyncio.run(burst(slow.base_url))
        assert slow.max_in_flight == 16
        assert slow.in_flight == 0
    assert [json.loads(c)["result"] for c in contents] == list(range(16))


def test_server_when_stopped_with_a_hung_request_shuts_down_and_refuses_connections() -> None:
    server = FakeOpenAI(hang_seconds=60).start()
    port = server.port
    server.inject("hang")
    with (
        openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=0.2) as sdk,
        pytest.raises(openai.APITimeoutError),
    ):
        ask(sdk, "x")
    server.stop()
    server.stop()  # idempotent
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    with pytest.raises(ConnectionRefusedError):
        conn.request("POST", "/v1/chat/completions", body=b"{}")
    conn.close()


def test_server_when_port_is_taken_start_raises_runtime_error(server: FakeOpenAI) -> None:
    with pytest.raises(RuntimeError, match="could not start"):
        FakeOpenAI(port=server.port).start()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, "a\nb"
        ),
        pytest.param(
            {
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "t"}, {"type": "image_url"}]}
                ]
            },
            "t\n",
            id="parts",
        ),
        pytest.param({"input": ["x", "y"]}, "x\ny", id="embeddings-input"),
        pytest.param(None, "", id="no-body"),
    ],
)
def test_prompt_text_when_given_a_body_joins_its_texts(body: object, expected: str) -> None:
    assert prompt_text(body) == expected


def test_server_when_requests_recorded_then_credentials_are_never_kept():
    import openai

    with FakeOpenAI() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=KEY)
        try:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        finally:
            client.close()
        recorded = repr(server.requests)
    assert KEY not in recorded
    assert fingerprint(f"Bearer {KEY}") in recorded


# --- the fine-tuning platform (files, jobs, graders) in three layouts --------------------------------

EXACT = {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
         "reference": "{{ item.answer }}", "operation": "eq"}  # fmt: skip


def raw_request(server: FakeOpenAI, method: str, path: str, body: object = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        payload = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=payload, headers={"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "layout"),
    [
        pytest.param("/v1/fine_tuning/alpha/graders/validate", "openai", id="openai"),
        pytest.param("/openai/v1/fine_tuning/alpha/graders/validate", "azure-v1", id="azure-v1"),
        pytest.param("/openai/fine_tuning/alpha/graders/validate?api-version=2025-04-01-preview", "azure-dated",
                     id="azure-dated"),
    ],
)  # fmt: skip
def test_server_when_platform_route_in_any_layout_then_served_and_recorded(server, path, layout) -> None:
    status, body = raw_request(server, "POST", path, {"grader": EXACT})
    assert (status, body) == (200, {"grader": EXACT})
    assert (server.requests[-1].route, server.requests[-1].layout) == ("graders.validate", layout)


def test_server_when_dated_azure_route_lacks_api_version_then_400(server) -> None:
    status, body = raw_request(server, "GET", "/openai/fine_tuning/jobs")
    assert status == 400
    assert "api-version" in body["error"]["message"]


def test_server_when_unknown_platform_route_then_404(server) -> None:
    status, _ = raw_request(server, "DELETE", "/v1/fine_tuning/jobs/ftjob-1")
    assert status == 404


@pytest.mark.parametrize(
    ("grader", "param"),
    [
        pytest.param({**EXACT, "type": "label_model"}, "grader.type", id="type"),
        pytest.param({k: v for k, v in EXACT.items() if k != "operation"}, "grader.operation", id="missing"),
        pytest.param({"type": "multi", "name": "m", "graders": {"a": EXACT}, "calculate_output": "a + b"},
                     "grader.calculate_output", id="formula"),
        pytest.param({"type": "multi", "name": "m", "graders": {"a": {"type": "score_model", "name": "j",
                      "model": "gpt-0", "input": []}}, "calculate_output": "a"}, "grader.graders.a.model", id="model"),
    ],
)  # fmt: skip
def test_server_when_grader_invalid_then_400_names_the_field_path(server, grader, param) -> None:
    status, body = raw_request(server, "POST", "/v1/fine_tuning/alpha/graders/validate", {"grader": grader})
    assert status == 400
    assert body["error"]["param"] == param


def test_server_when_graders_run_then_reward_and_sub_rewards(client) -> None:
    multi = {"type": "multi", "name": "m", "graders": {"exact": EXACT, "py": {"type": "python", "name": "py",
             "source": "def grade(sample, item):\n    return 0.5\n"}}, "calculate_output": "exact + py"}  # fmt: skip
    answer = client.fine_tuning.alpha.graders.run(grader=multi, model_sample="4", item={"answer": "4"})
    assert answer.reward == 1.5
    assert answer.sub_rewards == {"exact": 1.0, "py": 0.5}


def test_server_when_file_uploaded_then_processed_on_first_look_unless_stuck(client, server) -> None:
    import io

    made = client.files.create(file=("t.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")
    assert made.status == "uploaded"
    assert client.files.retrieve(made.id).status == "processed"
    assert server.requests[0].body == {"purpose": "fine-tune", "filename": "t.jsonl", "content": 3}
    server.inject("stuck_processing", route="files.create")
    stuck = client.files.create(file=("s.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")
    assert [client.files.retrieve(stuck.id).status for _ in range(3)] == ["processing"] * 3


def test_server_when_job_read_then_moves_one_tick_and_pages_newest_first(client, server) -> None:
    import io

    file_id = client.files.create(file=("t.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune").id
    client.files.retrieve(file_id)
    method = {"type": "reinforcement", "reinforcement": {"grader": EXACT}}
    ids = [
        client.fine_tuning.jobs.create(model="o4-mini", training_file=file_id, method=method).id
        for _ in range(3)
    ]
    first = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in first.data] == ids[:0:-1]
    assert first.has_more
    rest = client.fine_tuning.jobs.list(limit=2, after=first.data[-1].id)
    assert [j.id for j in rest.data] == ids[:1]
    assert not rest.has_more
    statuses = [client.fine_tuning.jobs.retrieve(ids[0]).status for _ in range(7)]
    assert statuses == ["queued", "running", "running", "running", "running", "succeeded", "succeeded"]


def test_server_when_fault_has_a_route_then_other_routes_unaffected(client, server) -> None:
    server.inject("not_found", route="jobs")
    assert client.fine_tuning.alpha.graders.validate(grader=EXACT).grader is not None
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.list()


def test_server_when_job_created_with_unprocessed_file_then_400_names_the_field(client) -> None:
    import io

    file_id = client.files.create(file=("t.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune").id
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="o4-mini", training_file=file_id,
                                       method={"type": "reinforcement", "reinforcement": {"grader": EXACT}})  # fmt: skip
    assert caught.value.body["param"] == "training_file"
