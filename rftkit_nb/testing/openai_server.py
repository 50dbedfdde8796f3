"""A real OpenAI-compatible HTTP server on 127.0.0.1, for tests, benchmarks and offline demos.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length or chunked bodies) for the official ``openai``
SDK, runs on its own asyncio loop in a background thread (latency is an ``asyncio.sleep``, so hundreds of
slow requests cost no threads), and answers:

* ``POST /v1/chat/completions`` with a ChatCompletion whose content is the JSON a grader judge expects
  (``{"steps": [...], "result": ...}``), deterministic from the prompt; a line ``SCORE: 0.8`` (or
  ``LABEL: good``) in the last user message fixes the result;
* ``POST /v1/embeddings`` with deterministic unit vectors hashed from each text;
* the Azure spellings ``/openai/deployments/{d}/chat/completions`` and ``.../embeddings``
  (``?api-version=`` required), so ``AzureOpenAI`` clients work too;
* the fine-tuning platform (:mod:`rftkit_nb.testing._platform`): files (multipart upload, processing
  status), RFT jobs with metrics events, checkpoints, pause/resume/cancel and cursor lists, and
  ``fine_tuning/alpha/graders/{validate,run}``, in three layouts: OpenAI's ``/v1/...``, Azure's v1
  ``/openai/v1/...`` (no api-version) and Azure's dated ``/openai/...?api-version=``;
* ``POST /endpoint/score``: an ``endpoint`` grader's URL (``server.endpoint_url``), answering
  ``{"score": 1.0}`` when ``sample.output_text`` equals ``item.answer``, else ``{"score": 0.0}``.

Faults can be injected for the next (optionally only the matching) requests. The answers are built in
:mod:`rftkit_nb.testing._answers`; the platform (files, jobs, graders) in :mod:`rftkit_nb.testing._platform`. The package imports only
the standard library and rftkit_nb.core.

Example::

    >>> import json, openai
    >>> with FakeOpenAI() as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
    ...     reply = client.chat.completions.create(
    ...         model="gpt-4o-mini", messages=[{"role": "user", "content": "Rate it.\\nSCORE: 0.8"}]
    ...     )
    ...     client.close()
    >>> json.loads(reply.choices[0].message.content)["result"]
    0.8
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rftkit_nb.testing._answers import (
    HTTP_FAULTS,
    Reply,
    chat_answer,
    default_scorer,
    embeddings_answer,
    encode,
    error_reply,
    fault_reply,
    prompt_text,
)
from rftkit_nb.testing._http import endpoint_answer, layout_of, read_body, read_chunked, summary
from rftkit_nb.testing._platform import Platform, platform_route

__all__ = ["FAULT_KINDS", "FakeOpenAI", "RecordedRequest", "default_scorer", "fingerprint", "prompt_text"]

FAULT_KINDS = (
    "rate_limit",  # 429, with retry-after when given
    "server_error",  # 500
    "bad_request",  # 400 (the SDK does not retry it)
    "hang",  # no answer for `hang_seconds`: the client times out
    "disconnect",  # the connection is closed without an answer
    "disconnect_after",  # the request is carried out, then the connection closes without an answer
    "malformed",  # 200, message content that is not JSON
    "refusal",  # 200, message.refusal set and content null
    "out_of_range",  # 200, result 7.5
    "invalid_field",  # 400 naming a field path (inject(..., param="grader.graders.tone.model"))
    "unauthorized",  # 401 invalid_api_key
    "training_not_available",  # 403 training_not_available (an organisation shut out of fine-tuning)
    "not_found",  # 404
    "stuck_processing",  # files.create succeeds, but that file stays `processing` for ever
)

_AZURE_PATH = re.compile(r"^/openai/deployments/([^/]+)/(chat/completions|embeddings)$")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received (body is the decoded JSON, or None)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    route: str = ""  # "chat", "embeddings", "files.create", "jobs.create", ... ("" when unrouted)
    layout: str = ""  # "openai" (/v1), "azure-v1" (/openai/v1) or "azure-dated" (/openai?api-version=)

    @property
    def endpoint(self) -> str:
        """``"chat"``, ``"embeddings"`` or ``"other"``, whichever spelling (OpenAI or Azure) was used."""
        if self.path.endswith("/chat/completions"):
            return "chat"
        return "embeddings" if self.path.endswith("/embeddings") else "other"


@dataclass
class _Fault:
    kind: str
    remaining: int
    retry_after: float | None
    match: Callable[[Any], bool] | None
    route: str | None = None
    param: str | None = None


@dataclass(frozen=True)
class _Route:
    name: str
    params: dict[str, str]
    layout: str


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 (a random free port unless ``port`` is given).

    ``latency`` delays every answer (seconds, without blocking other requests); ``scorer(body) -> dict``
    replaces :func:`default_scorer`; ``require_key`` makes requests without that key fail with 401.
    Use as a context manager, or call ``start()`` / ``stop()``.

    >>> with FakeOpenAI(latency=0.01) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        scorer: Callable[[dict], dict] | None = None,
        hang_seconds: float = 30.0,
        embedding_dims: int = 16,
        require_key: str | None = None,
        port: int = 0,
        total_steps: int = 4,
    ) -> None:
        self.latency = latency
        self.scorer = scorer or default_scorer
        self.hang_seconds = hang_seconds
        self.embedding_dims = embedding_dims
        self.require_key = require_key
        # Files, jobs and graders; its scorer follows self.scorer (see _answer).
        self.platform = Platform(total_steps=total_steps)
        self.requests: list[RecordedRequest] = []
        self.counts: Counter[str] = Counter()  # 200 answers per endpoint; faults served per kind
        self.in_flight = 0  # requests waiting out their latency now, and the most there ever were
        self.max_in_flight = 0
        self.port = port
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._startup_error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def endpoint_url(self) -> str:
        """The URL an ``endpoint`` grader can POST to: ``http://127.0.0.1:PORT/endpoint/score``."""
        return f"http://127.0.0.1:{self.port}/endpoint/score"

    @property
    def azure_v1_base_url(self) -> str:
        """Azure's v1 API base, for ``OpenAI(base_url=...)``: ``http://127.0.0.1:PORT/openai/v1/``."""
        return f"http://127.0.0.1:{self.port}/openai/v1/"

    @property
    def azure_endpoint(self) -> str:
        """The endpoint to give ``AzureOpenAI(azure_endpoint=...)``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOpenAI:
        """Start serving in a background thread; returns self once the port is bound."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="FakeOpenAI", daemon=True)
        self._thread.start()
        ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"FakeOpenAI could not start: {self._startup_error}") from self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join the thread. Safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port, limit=1 << 22)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # reported to start() in the caller's thread
            self._startup_error = exc
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    # -- faults and records ----------------------------------------------------------------------------
    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        retry_after: float | None = None,
        match: str | Callable[[Any], bool] | None = None,
        route: str | None = None,
        param: str | None = None,
    ) -> None:
        """Make the next ``times`` requests (only those matching, when ``match`` is given) fail as ``kind``.

        ``match`` is a substring of the request's prompt text, or a predicate on the JSON body; ``route``
        limits the fault to one route (``"jobs.create"``) or a family (``"jobs"``, ``"files"``,
        ``"graders"``); ``param`` is the field path an ``invalid_field`` 400 names.

        >>> server = FakeOpenAI()
        >>> server.inject("rate_limit", times=2, retry_after=0.05)
        >>> server.inject("refusal", match="tone rubric")
        >>> server.inject("training_not_available", route="jobs.create")
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} is unknown; use one of {', '.join(FAULT_KINDS)}")
        predicate = _contains(match) if isinstance(match, str) else match
        with self._lock:
            self._faults.append(_Fault(kind, times, retry_after, predicate, route, param))

    def clear(self) -> None:
        """Forget recorded requests, counters and pending faults."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.counts.clear()
            self.max_in_flight = 0

    def count(self, endpoint: str = "chat") -> int:
        """How many requests reached ``endpoint`` (``"chat"`` or ``"embeddings"``), retries included."""
        return sum(1 for request in self.requests if request.endpoint == endpoint)

    def _take_fault(self, body: Any, route: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                on_route = fault.route is None or route == fault.route or route.startswith(fault.route + ".")
                if on_route and (fault.match is None or fault.match(body)):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    self.counts[f"fault:{fault.kind}"] += 1
                    return fault
        return None

    # -- HTTP ------------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or spoke broken HTTP: drop the connection
        except asyncio.CancelledError:
            # Only stop() cancels us; ending quietly keeps asyncio's stream callback from logging it.
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, _, header_block = head.decode("latin-1").partition("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = {}
        for line in header_block.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            raw = await read_chunked(reader)
        else:
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
        reply = await self._handle(method, target, headers, raw)
        if reply is None:
            return False
        keep_alive = version.strip() == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        writer.write(encode(reply, keep_alive))
        await writer.drain()
        return keep_alive

    async def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply | None:
        url = urlsplit(target)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        route = self._route(method, url.path, query)
        name, layout = (route.name, route.layout) if isinstance(route, _Route) else ("", "")
        try:
            body = read_body(raw, headers.get("content-type", ""))
        except ValueError:
            return error_reply(400, "the request body is not JSON", "invalid_request_error")
        shown = summary(body) if name == "files.create" else body  # uploads are recorded by size
        self.requests.append(
            RecordedRequest(method, url.path, query, _redacted(headers), shown, name, layout)
        )
        if isinstance(route, Reply):
            return route
        refused = self._check_key(headers)
        if refused is not None:
            return refused
        fault = self._take_fault(body, name)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if fault is not None and fault.kind == "hang":
                await asyncio.sleep(self.hang_seconds)
            elif self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        if fault is not None and fault.kind == "disconnect":
            return None
        try:
            reply = self._answer(route, query, body, fault)
        except Exception as exc:  # a custom scorer failed: answer like a broken upstream would
            return error_reply(500, f"scorer failed: {exc!r}", "server_error")
        if fault is not None and fault.kind == "disconnect_after":
            return None  # done, but the answer is lost (the client cannot tell whether it happened)
        if reply.status == 200:
            self.counts[name] += 1
        return reply

    def _check_key(self, headers: dict[str, str]) -> Reply | None:
        given = headers.get("api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if self.require_key is None or given == self.require_key:
            return None
        # Echoes the whole key it got (OpenAI echoes part of it), so tests can prove clients never show it.
        return error_reply(
            401, f"Incorrect API key provided: {given}.", "invalid_request_error", "invalid_api_key"
        )

    def _route(self, method: str, path: str, query: dict[str, str]) -> _Route | Reply:
        if path == "/endpoint/score" and method == "POST":
            return _Route("endpoint", {}, "endpoint")
        layout, suffix = layout_of(path)
        if layout is None:
            return error_reply(404, f"no route for {path}", "invalid_request_error")
        if layout == "azure-dated" and "api-version" not in query:
            return error_reply(
                400, "Azure routes need the api-version query parameter", "invalid_request_error"
            )
        azure = _AZURE_PATH.match(path)
        if method == "POST" and (suffix in ("/chat/completions", "/embeddings") or azure is not None):
            chat = suffix.endswith("chat/completions")
            if layout != "azure-dated" or azure is not None:
                return _Route("chat" if chat else "embeddings", {}, layout)
        found = platform_route(method, suffix)
        if found is None:
            return error_reply(404, f"{method} {path} is not served here", "invalid_request_error")
        return _Route(found[0], found[1], layout)

    def _answer(self, route: _Route, query: dict[str, str], body: Any, fault: _Fault | None) -> Reply:
        if fault is not None and fault.kind in HTTP_FAULTS:
            return fault_reply(fault.kind, fault.retry_after, fault.param)
        if route.name == "endpoint":
            return endpoint_answer(body, fault.kind if fault is not None else None)
        if route.name not in ("chat", "embeddings"):
            self.platform.scorer = self.scorer
            reply = self.platform.handle(route.name, route.params, query, body)
            if fault is not None and fault.kind == "stuck_processing" and route.name == "files.create":
                self.platform.stuck_files.add(reply.body.get("filename", ""))
            return reply
        if not isinstance(body, dict):
            return error_reply(400, "the request body must be a JSON object", "invalid_request_error")
        if route.name == "embeddings":
            return embeddings_answer(body, self.embedding_dims)
        return chat_answer(body, fault.kind if fault is not None else None, self.scorer)


def _contains(needle: str) -> Callable[[Any], bool]:
    def matches(body: Any) -> bool:
        return needle in prompt_text(body)

    return matches


def fingerprint(secret: str) -> str:
    """How a credential appears in recorded headers: never the secret, but comparable to it.

    >>> fingerprint("Bearer sk-test") == fingerprint("Bearer sk-test") != fingerprint("Bearer sk-other")
    True
    """
    return "redacted:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    """Recorded headers without credentials (tests assert on them, reprs show them)."""
    return {k: (fingerprint(v) if k in ("authorization", "api-key") else v) for k, v in headers.items()}


def main(argv: list[str] | None = None) -> int:
    """Serve until stdin closes (or Ctrl-C): ``python -m rftkit_nb.testing --latency 0.1``.

    The first line printed is the base URL, so a parent process (a benchmark, a notebook) can read it.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        description="An OpenAI-compatible judge server on 127.0.0.1 for offline use."
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--total-steps", type=int, default=4, help="training steps of each fake RFT job")
    args = parser.parse_args(argv)
    with FakeOpenAI(latency=args.latency, port=args.port, total_steps=args.total_steps) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # returns when the parent closes our stdin
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
