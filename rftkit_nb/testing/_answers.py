"""What FakeOpenAI says: the judge's verdict, chat completions, embeddings, errors, and their HTTP bytes.

Every answer is deterministic from the request body (only ids and timestamps vary), so tests can predict
it. Standard library only, like the server.

>>> reply = chat_answer({"messages": [{"role": "user", "content": "SCORE: 0.4"}]}, None, default_scorer)
>>> json.loads(reply.body["choices"][0]["message"]["content"])["result"]
0.4
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HTTP_FAULTS",
    "Reply",
    "chat_answer",
    "default_scorer",
    "embeddings_answer",
    "encode",
    "error_reply",
    "fault_reply",
    "prompt_text",
]

HTTP_FAULTS = {  # injected faults answered with an HTTP error: (status, OpenAI error type, code)
    "rate_limit": (429, "rate_limit_error", None),
    "server_error": (500, "server_error", None),
    "bad_request": (400, "invalid_request", None),
    "invalid_field": (400, "invalid_request_error", "invalid_value"),  # names a field path in `param`
    "unauthorized": (401, "invalid_request_error", "invalid_api_key"),
    "training_not_available": (403, "invalid_request_error", "training_not_available"),
    "not_found": (404, "invalid_request_error", "not_found"),
}
_FAULT_MESSAGES = {
    "unauthorized": "Incorrect API key provided.",
    "training_not_available": "Fine-tuning is not available for your organization.",
    "not_found": "The requested resource does not exist.",
}
_SCORE_LINE = re.compile(r"^[ \t]*SCORE:[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_LABEL_LINE = re.compile(r"^[ \t]*LABEL:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests"}  # fmt: skip


@dataclass
class Reply:
    """One HTTP answer: status, JSON body and extra headers."""

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


def chat_answer(body: dict, fault: str | None, scorer: Callable[[dict], dict]) -> Reply:
    """A 200 chat completion: ``scorer``'s verdict as JSON content, or what a content ``fault`` asks for.

    ``fault`` is None, ``"refusal"`` (content null, refusal set), ``"malformed"`` (content that is not
    JSON) or ``"out_of_range"`` (the verdict with result 7.5).

    >>> chat_answer({"messages": []}, "refusal", default_scorer).body["choices"][0]["message"]["refusal"]
    "I'm sorry, I can't help with that."
    """
    content: str | None
    refusal = None
    if fault == "refusal":
        content, refusal = None, "I'm sorry, I can't help with that."
    elif fault == "malformed":
        content = "The answer looks good to me, I would give it a high score."
    else:
        answer = scorer(body)
        if fault == "out_of_range":
            answer = {**answer, "result": 7.5}
        content = json.dumps(answer)
    return Reply(200, _completion(body, content, refusal))


def embeddings_answer(body: dict, dims: int) -> Reply:
    """A 200 embeddings list: one unit vector hashed from each input text (``dimensions`` overrides dims).

    >>> len(embeddings_answer({"input": ["a", "b"]}, 8).body["data"][1]["embedding"])
    8
    """
    given = body.get("input", "")
    texts = [given] if isinstance(given, str) else [t if isinstance(t, str) else str(t) for t in given]
    dims = int(body.get("dimensions") or dims)
    data = []
    for index, text in enumerate(texts):
        vector: Any = _embedding(text, dims)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(len(t.split()) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return Reply(200, {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage})


def fault_reply(kind: str, retry_after: float | None, param: str | None = None) -> Reply:
    """The HTTP error for an injected fault in ``HTTP_FAULTS``, with ``retry-after`` when given.

    ``param`` is the field path a 400 names (``invalid_field``: default ``grader``).

    >>> fault_reply("rate_limit", 0.5).headers
    {'retry-after': '0.5'}
    >>> fault_reply("invalid_field", None, "grader.graders.tone.model").body["error"]["param"]
    'grader.graders.tone.model'
    """
    status, error_type, code = HTTP_FAULTS[kind]
    if kind == "invalid_field":
        param = param or "grader"
        message = f"Invalid value for '{param}': injected invalid_field"
    else:
        message = _FAULT_MESSAGES.get(kind, f"injected {kind}")
    reply = error_reply(status, message, error_type, code)
    reply.body["error"]["param"] = param
    if retry_after is not None:
        reply.headers["retry-after"] = f"{retry_after:g}"
    return reply


def error_reply(status: int, message: str, kind: str, code: str | None = None) -> Reply:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

    >>> error_reply(404, "no route for /x", "invalid_request_error").body["error"]["type"]
    'invalid_request_error'
    """
    return Reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})


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


def encode(reply: Reply, keep_alive: bool) -> bytes:
    """The HTTP/1.1 response bytes for ``reply``.

    >>> encode(Reply(200, {}), keep_alive=False).split(b"\\r\\n")[0]
    b'HTTP/1.1 200 OK'
    """
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
