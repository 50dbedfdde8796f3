"""A real OpenAI-compatible HTTP server on 127.0.0.1, for tests, benchmarks and offline demos.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length or chunked bodies) for the official ``openai``
SDK, runs on its own asyncio loop in a background thread (latency is an ``asyncio.sleep``, so hundreds of
slow requests cost no threads), and answers:

* ``POST /v1/chat/completions`` with a ChatCompletion whose content is the JSON a grader judge expects
  (``{"steps": [...], "result": ...}``), deterministic from the prompt; a line ``SCORE: 0.8`` (or
  ``LABEL: good``) in the last user message fixes the result;
* ``POST /v1/embeddings`` with deterministic unit vectors hashed from each text;
* the Azure spellings ``/openai/deployments/{d}/chat/completions`` and ``.../embeddings``
  (``?api-version=`` required), so ``AzureOpenAI`` clients work too.

Faults can be injected for the next (optionally only the matching) requests. It imports nothing from
rftkit_nb, only the standard library.

Example::

    >>> import openai
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
import base64
import contextlib
import hashlib
import json
import math
import re
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FAULT_KINDS", "FakeOpenAI", "RecordedRequest", "default_scorer", "prompt_text"]

FAULT_KINDS = (
    "rate_limit",  # 429, with retry-after when given
    "server_error",  # 500
    "bad_request",  # 400 (the SDK does not retry it)
    "hang",  # no answer for `hang_seconds`: the client times out
    "disconnect",  # the connection is closed without an answer
    "malformed",  # 200, message content that is not JSON
    "refusal",  # 200, message.refusal set and content null
    "out_of_range",  # 200, result 7.5
)

_SCORE_LINE = re.compile(r"^[ \t]*SCORE:[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_LABEL_LINE = re.compile(r"^[ \t]*LABEL:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_AZURE_PATH = re.compile(r"^/openai/deployments/([^/]+)/(chat/completions|embeddings)$")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received (body is the decoded JSON, or None)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

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


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def prompt_text(body: Any, *, last_user_only: bool = False) -> str:
    """The text of a chat request's messages (or an embeddings request's input), joined by newlines.

    >>> prompt_text({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
    'hi'
    """
    if not isinstance(body, dict):
        return ""
    if "messages" not in body:
        given = body.get("input", "")
        return given if isinstance(given, str) else "\n".join(map(str, given))
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    if last_user_only:
        users = [m for m in messages if m.get("role") == "user"]
        messages = users[-1:]
    texts = []
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        texts.extend(p if isinstance(p, str) else str(p.get("text", "")) for p in parts if p)
    return "\n".join(texts)


def _result_schema(body: dict) -> dict:
    try:
        return body["response_format"]["json_schema"]["schema"]["properties"]["result"]
    except (KeyError, TypeError):
        return {}


def default_scorer(body: dict) -> dict:
    """The judge's answer for a chat request: deterministic from the last user message.

    A ``SCORE: x`` line sets the result (kept as text when it is not a number, to provoke parse errors);
    a ``LABEL: x`` line does the same for label schemas; otherwise the result is a stable hash of the text
    mod 101, divided by 100 and placed in the schema's ``minimum``..``maximum`` (default 0..1).

    >>> default_scorer({"messages": [{"role": "user", "content": "SCORE: 0.25"}]})["result"]
    0.25
    """
    text = prompt_text(body, last_user_only=True)
    bucket = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 101
    schema = _result_schema(body)
    labels = schema.get("enum")
    result: Any
    if labels:
        chosen = _LABEL_LINE.search(text)
        result = chosen.group(1) if chosen else labels[bucket % len(labels)]
    elif chosen := _SCORE_LINE.search(text):
        try:
            result = float(chosen.group(1))
        except ValueError:
            result = chosen.group(1)
    else:
        low, high = schema.get("minimum", 0.0), schema.get("maximum", 1.0)
        result = low + (high - low) * bucket / 100
    steps = [{"description": "Read the answer against the criterion.", "conclusion": f"bucket {bucket}"}]
    return {"steps": steps, "result": result}


def _embedding(text: str, dims: int) -> list[float]:
    raw = b""
    counter = 0
    while len(raw) < dims:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = [byte / 127.5 - 1.0 for byte in raw[:dims]]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


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
    ) -> None:
        self.latency = latency
        self.scorer = scorer or default_scorer
        self.hang_seconds = hang_seconds
        self.embedding_dims = embedding_dims
        self.require_key = require_key
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
    ) -> None:
        """Make the next ``times`` requests (only those matching, when ``match`` is given) fail as ``kind``.

        ``match`` is a substring of the request's prompt text, or a predicate on the JSON body.

        >>> server = FakeOpenAI()
        >>> server.inject("rate_limit", times=2, retry_after=0.05)
        >>> server.inject("refusal", match="tone rubric")
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} is unknown; use one of {', '.join(FAULT_KINDS)}")
        predicate = _contains(match) if isinstance(match, str) else match
        with self._lock:
            self._faults.append(_Fault(kind, times, retry_after, predicate))

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

    def _take_fault(self, body: Any) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.match is None or fault.match(body):
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
            raw = await _read_chunked(reader)
        else:
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
        reply = await self._handle(method, target, headers, raw)
        if reply is None:
            return False
        keep_alive = version.strip() == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        writer.write(_encode(reply, keep_alive))
        await writer.drain()
        return keep_alive

    async def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> _Reply | None:
        url = urlsplit(target)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "the request body is not JSON", "invalid_request_error")
        self.requests.append(RecordedRequest(method, url.path, query, headers, body))
        route = self._route(method, url.path, query)
        if isinstance(route, _Reply):
            return route
        refused = self._check_key(headers)
        if refused is not None:
            return refused
        fault = self._take_fault(body)
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
            reply = self._answer(route, body, fault)
        except Exception as exc:  # a custom scorer failed: answer like a broken upstream would
            return _error(500, f"scorer failed: {exc!r}", "server_error")
        if reply.status == 200:
            self.counts[route] += 1
        return reply

    def _check_key(self, headers: dict[str, str]) -> _Reply | None:
        given = headers.get("api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if self.require_key is None or given == self.require_key:
            return None
        # Echoes the whole key it got (OpenAI echoes part of it), so tests can prove clients never show it.
        return _error(
            401, f"Incorrect API key provided: {given}.", "invalid_request_error", "invalid_api_key"
        )

    def _route(self, method: str, path: str, query: dict[str, str]) -> str | _Reply:
        if method != "POST":
            return _error(404, f"{method} {path} is not served here", "invalid_request_error")
        if path in ("/v1/chat/completions", "/v1/embeddings"):
            return "chat" if path.endswith("completions") else "embeddings"
        azure = _AZURE_PATH.match(path)
        if azure is None:
            return _error(404, f"no route for {path}", "invalid_request_error")
        if "api-version" not in query:
            return _error(400, "Azure routes need the api-version query parameter", "invalid_request_error")
        return "chat" if azure.group(2) == "chat/completions" else "embeddings"

    def _answer(self, route: str, body: Any, fault: _Fault | None) -> _Reply:
        if fault is not None and fault.kind in ("rate_limit", "server_error", "bad_request"):
            status, kind = {
                "rate_limit": (429, "rate_limit_error"),
                "bad_request": (400, "invalid_request"),
            }.get(fault.kind, (500, "server_error"))
            reply = _error(status, f"injected {fault.kind}", kind)
            if fault.retry_after is not None:
                reply.headers["retry-after"] = f"{fault.retry_after:g}"
            return reply
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object", "invalid_request_error")
        if route == "embeddings":
            return _Reply(200, self._embeddings(body))
        kind = fault.kind if fault is not None else None
        content: str | None
        refusal = None
        if kind == "refusal":
            content, refusal = None, "I'm sorry, I can't help with that."
        elif kind == "malformed":
            content = "The answer looks good to me, I would give it a high score."
        else:
            answer = self.scorer(body)
            if kind == "out_of_range":
                answer = {**answer, "result": 7.5}
            content = json.dumps(answer)
        return _Reply(200, _completion(body, content, refusal))

    def _embeddings(self, body: dict) -> dict:
        given = body.get("input", "")
        texts = [given] if isinstance(given, str) else [t if isinstance(t, str) else str(t) for t in given]
        dims = int(body.get("dimensions") or self.embedding_dims)
        data = []
        for index, text in enumerate(texts):
            vector: Any = _embedding(text, dims)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(len(t.split()) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage}


def _contains(needle: str) -> Callable[[Any], bool]:
    def matches(body: Any) -> bool:
        return needle in prompt_text(body)

    return matches


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _completion(body: dict, content: str | None, refusal: str | None) -> dict:
    message = {"role": "assistant", "content": content, "refusal": refusal}
    prompt_tokens = len(prompt_text(body).split())
    completion_tokens = len((content or refusal or "").split())
    return {
        "id": f"chatcmpl-fake{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(status: int, message: str, kind: str, code: str | None = None) -> _Reply:
    return _Reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})


def _encode(reply: _Reply, keep_alive: bool) -> bytes:
    payload = json.dumps(reply.body).encode()
    reason = _REASONS.get(reply.status, "Internal Server Error" if reply.status >= 500 else "Error")
    lines = [
        f"HTTP/1.1 {reply.status} {reason}",
        "content-type: application/json",
        f"content-length: {len(payload)}",
        f"connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in reply.headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


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
    args = parser.parse_args(argv)
    with FakeOpenAI(latency=args.latency, port=args.port) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # returns when the parent closes our stdin
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
