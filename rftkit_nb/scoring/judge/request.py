"""What one grader call sends to the judge and what comes back: ``JudgeRequest`` and ``JudgeAnswer``.

A ``JudgeRequest`` is one rendered score_model / label_model call; it maps the grader format's messages
(``input_text``, ``input_image``, ``input_audio`` parts) onto Chat Completions arguments with a strict
json_schema response format (its cache key is :func:`~rftkit_nb.scoring.judge.cache.answer_key`). ``parse_completion`` and
``parse_content`` read the judge's reply the way the service does and never raise: a reply that is not
usable is a ``JudgeAnswer`` carrying OpenAI's error category. Sending requests is
:class:`~rftkit_nb.scoring.judge.Judge`'s job.

Example::

    >>> messages = [{"role": "user", "content": "Is the answer polite?"}]
    >>> request = JudgeRequest("gpt-4o-mini", messages, kind="label", labels=("good", "bad"))
    >>> parse_content('{"steps": [], "result": "good"}', request).result
    'good'
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from rftkit_nb.errors import ConfigError, ErrorCategory

__all__ = [
    "JudgeAnswer",
    "JudgeRequest",
    "parse_completion",
    "parse_content",
]

PARSE_ERROR = ErrorCategory.JUDGE_PARSE
REFUSAL_ERROR = ErrorCategory.JUDGE_REFUSAL
_STEPS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"description": {"type": "string"}, "conclusion": {"type": "string"}},
        "required": ["description", "conclusion"],
        "additionalProperties": False,
    },
}
_PART_TYPES = {"input_text": "text", "output_text": "text", "text": "text"}


def _chat_part(part: Any, where: str) -> dict:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind in _PART_TYPES:
        return {"type": "text", "text": part["text"]}
    if kind == "input_image":
        image = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": dict(part["input_audio"])}
    raise ConfigError(
        f"{where}: content part type {kind!r} is not supported; use input_text, output_text, input_image "
        "or input_audio"
    )


def _chat_message(message: Mapping[str, Any], index: int) -> dict:
    content = message.get("content")
    if isinstance(content, Mapping):
        content = [content]  # the grader format allows one part without a list
    if isinstance(content, list):
        content = [_chat_part(part, f"messages[{index}].content[{n}]") for n, part in enumerate(content)]
    elif not isinstance(content, str):
        raise ConfigError(f"messages[{index}].content must be a string or a list of content parts")
    return {"role": message.get("role", "user"), "content": content}


@dataclass(frozen=True)
class JudgeRequest:
    """One rendered score_model / label_model call (templates already filled in).

    >>> JudgeRequest("gpt-4o-mini", [{"role": "user", "content": "Is it polite?"}]).chat_payload()["model"]
    'gpt-4o-mini'
    """

    model: str
    messages: list[dict]
    sampling_params: Mapping[str, Any] | None = None
    kind: str = "score"
    range: tuple[float, float] = (0.0, 1.0)
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("score", "label"):
            raise ConfigError(f'JudgeRequest.kind is {self.kind!r}; use "score" or "label"')
        if self.kind == "label" and not self.labels:
            raise ConfigError("JudgeRequest.labels is empty; a label judge needs at least one label")
        low, high = self.range
        if not low < high:
            raise ConfigError(f"JudgeRequest.range is {list(self.range)}; it needs min < max")

    def chat_payload(self) -> dict:
        """The Chat Completions arguments: model, messages, response_format and sampling parameters.

        >>> payload = JudgeRequest("m", [{"role": "user", "content": "hi"}], {"max_completions_tokens": 9})
        >>> payload.chat_payload()["max_completion_tokens"]
        9
        """
        return copy.deepcopy(self._payload)  # callers may mutate it; ours is shared with the SDK call

    @property
    def response_format(self) -> dict:
        """The strict json_schema response format the answer must follow (shared: do not mutate)."""
        return _response_format(self.kind, self.labels)

    # Computed once per request; cached_property writes to __dict__, so it works on a frozen dataclass.
    @cached_property
    def _payload(self) -> dict:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [_chat_message(m, i) for i, m in enumerate(self.messages)],
            "response_format": self.response_format,
        }
        for name, value in (self.sampling_params or {}).items():
            if value is not None:
                payload["max_completion_tokens" if name == "max_completions_tokens" else name] = value
        return payload


@lru_cache(maxsize=256)
def _response_format(kind: str, labels: tuple[str, ...]) -> dict:
    """The strict json_schema response format for a kind (and labels)."""
    result: dict[str, Any] = (
        {"type": "string", "enum": list(labels)} if kind == "label" else {"type": "number"}
    )
    schema = {
        "type": "object",
        "properties": {"steps": _STEPS_SCHEMA, "result": result},  # steps first: reason, then answer
        "required": ["steps", "result"],
        "additionalProperties": False,
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": f"{kind}_result", "strict": True, "schema": schema},
    }
    return response_format


@dataclass(frozen=True)
class JudgeAnswer:
    """What the judge said: ``result`` (a clamped float, or a label) or ``error`` (OpenAI's category)."""

    result: float | str | None
    steps: list[dict] = field(default_factory=list)
    error: str | None = None
    detail: str = ""
    cached: bool = False
    raw: str = ""
    clamped: bool = False
    shared: bool = False  # answered by an identical request sent at the same time

    def _cache_value(self) -> dict:
        return {"result": self.result, "steps": self.steps, "detail": self.detail, "raw": self.raw,
                "clamped": self.clamped}  # fmt: skip


def _failed(category: str, detail: str, raw: str = "") -> JudgeAnswer:
    return JudgeAnswer(None, [], category, detail, raw=raw)


def parse_content(raw: str, request: JudgeRequest) -> JudgeAnswer:
    """Read the model's message content (JSON ``{"steps": [...], "result": ...}``) as the service does.

    >>> parse_content('{"result": 7.5, "steps": []}', JudgeRequest("m", [])).result
    1.0
    """
    try:
        obj = json.loads(raw)
    except ValueError:
        return _failed(PARSE_ERROR, f"the judge's answer is not JSON: {raw[:200]!r}", raw)
    if not isinstance(obj, dict) or "result" not in obj:
        return _failed(PARSE_ERROR, f'the judge\'s answer has no "result" field: {raw[:200]!r}', raw)
    steps = obj.get("steps")
    steps = [step for step in steps if isinstance(step, dict)] if isinstance(steps, list) else []
    result = obj["result"]
    if request.kind == "label":
        if not isinstance(result, str) or result not in request.labels:
            return _failed(
                PARSE_ERROR, f"the judge's label {result!r} is not one of {list(request.labels)}", raw
            )
        return JudgeAnswer(result, steps, raw=raw)
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        return _failed(PARSE_ERROR, f"the judge's result {result!r} is not a finite number", raw)
    low, high = request.range
    value = min(max(float(result), low), high)
    if value != result:
        detail = f"the judge's result {result!r} was outside the range [{low:g}, {high:g}] and was clamped"
        return JudgeAnswer(value, steps, None, detail, raw=raw, clamped=True)
    return JudgeAnswer(value, steps, raw=raw)


def parse_completion(body: bytes, request: JudgeRequest) -> JudgeAnswer:
    """Read a Chat Completions HTTP body as the service does; the message content goes to ``parse_content``.

    A refusal, empty content, or a body that is not a chat completion is an answer with ``error`` set.

    >>> body = b'{"choices": [{"message": {"content": null, "refusal": "No."}}]}'
    >>> parse_completion(body, JudgeRequest("m", [])).error
    'model_grader_refusal_error'
    """
    try:
        message = json.loads(body)["choices"][0]["message"]
        refusal, content = message.get("refusal"), message.get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return _failed(
            ErrorCategory.JUDGE_SERVER, f"the judge's HTTP answer is not a chat completion: {body[:200]!r}"
        )
    if refusal:
        return _failed(REFUSAL_ERROR, f"the judge model refused: {refusal}")
    if not isinstance(content, str) or not content:
        return _failed(PARSE_ERROR, "the judge's answer has no text content")
    return parse_content(content, request)
