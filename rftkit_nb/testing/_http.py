"""FakeOpenAI's HTTP plumbing: request bodies (JSON, chunked, multipart uploads), URL layouts, and the
``endpoint`` grader's answer. Standard library only.

>>> layout_of("/openai/v1/fine_tuning/jobs")
('azure-v1', '/fine_tuning/jobs')
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
from typing import Any

from rftkit_nb.testing._answers import Reply, error_reply

__all__ = ["endpoint_answer", "layout_of", "read_body", "read_chunked", "summary"]


def layout_of(path: str) -> tuple[str | None, str]:
    """Which API layout a path uses, and the route after its prefix."""
    for prefix, layout in (("/openai/v1/", "azure-v1"), ("/v1/", "openai"), ("/openai/", "azure-dated")):
        if path.startswith(prefix):
            return layout, "/" + path[len(prefix) :]
    return None, path


def read_body(raw: bytes, content_type: str) -> Any:
    """JSON, or a multipart form as ``{field: text, "filename": ..., "content": bytes}`` (uploads)."""
    if not raw:
        return None
    if not content_type.lower().startswith("multipart/form-data"):
        return json.loads(raw)
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            form["filename"], form["content"] = part.get_filename(), payload
        elif name:
            form[str(name)] = payload.decode()
    return form


def summary(form: Any) -> Any:
    if not isinstance(form, dict):
        return form
    return {k: (len(v) if k == "content" else v) for k, v in form.items()}


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def endpoint_answer(body: Any, fault: str | None) -> Reply:
    """An endpoint grader's answer: 1.0 when the sample's output_text equals the item's answer.

    A ``malformed`` fault answers ``{"score": "high"}`` (not a number)."""
    if fault == "malformed":
        return Reply(200, {"score": "high"})
    if not isinstance(body, dict) or not {"sample", "item", "trace_id"} <= set(body):
        return error_reply(
            400, "an endpoint grader request is {sample, item, trace_id}", "invalid_request_error"
        )
    sample, item = body["sample"] or {}, body["item"] or {}
    return Reply(200, {"score": float(sample.get("output_text") == item.get("answer"))})
