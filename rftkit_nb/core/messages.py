"""The inputs of a score_model / label_model grader: the judge model, messages, sampling parameters.

Each ``.config()`` is exactly the JSON the API takes; fields the caller did not set are left out (a part's
``type`` is always sent). :mod:`rftkit_nb.core.graders` re-exports every public name defined here.

Example::

    >>> Message(role="user", content=[InputText(text="Grade {{ sample.output_text }}")]).config()
    {'role': 'user', 'content': [{'type': 'input_text', 'text': 'Grade {{ sample.output_text }}'}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_JUDGE_MODEL",
    "GRADER_MODELS",
    "NON_REASONING_MODEL_PREFIXES",
    "REASONING_MODEL_PREFIXES",
    "ContentPart",
    "InputAudio",
    "InputImage",
    "InputText",
    "Message",
    "OutputText",
    "SamplingParams",
    "is_reasoning_model",
    "sampling_problems",
]

#: Grader models OpenAI's graders guide lists (2026-06); probably stale, so only ever warned about.
GRADER_MODELS: tuple[str, ...] = (
    "gpt-4o-2024-08-06",
    "gpt-4o-mini-2024-07-18",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "o1-2024-12-17",
    "o3-mini-2025-01-31",
    "o3-2025-04-16",
    "o4-mini-2025-04-16",
)
#: A grader model from OpenAI's documented list: cheap, non-reasoning (so no reasoning_effort).
DEFAULT_JUDGE_MODEL = "gpt-4.1-mini-2025-04-14"
#: A reasoning model of that list, suggested when a non-reasoning model is given reasoning_effort.
_REASONING_EXAMPLE = "o4-mini-2025-04-16"
#: Model name prefixes of reasoning models: these reject ``temperature``; the others reject ``reasoning_effort``.
REASONING_MODEL_PREFIXES: tuple[str, ...] = ("o1", "o3", "o4", "gpt-5")
#: Exceptions to REASONING_MODEL_PREFIXES: the chat-tuned gpt-5 models take temperature like gpt-4.1.
NON_REASONING_MODEL_PREFIXES: tuple[str, ...] = ("gpt-5-chat",)


def is_reasoning_model(model: str) -> bool:
    """True for o-series and gpt-5 models (which take ``reasoning_effort`` and reject ``temperature``).

    The chat-tuned ``gpt-5-chat*`` models are not reasoning models.

    Example::

        >>> is_reasoning_model("o4-mini-2025-04-16"), is_reasoning_model("gpt-5-chat-latest")
        (True, False)
    """
    return model.startswith(REASONING_MODEL_PREFIXES) and not model.startswith(NON_REASONING_MODEL_PREFIXES)


class _Strict(BaseModel):
    """Unknown fields are errors, so a typo such as ``max_completion_tokens`` fails at once."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def _dump(self) -> dict[str, Any]:
        # Only what the caller set, so defaults never leak into the JSON and configs round-trip.
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class _Part(_Strict):
    def config(self) -> dict[str, Any]:
        # The part's `type` is always sent, even when it came from the default.
        return self.model_dump(mode="json", exclude_none=True)


class InputText(_Part):
    type: Literal["input_text"] = "input_text"
    text: str


class OutputText(_Part):
    type: Literal["output_text"] = "output_text"
    text: str


class InputImage(_Part):
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["high", "low", "auto"] | None = None


class _AudioData(_Strict):
    data: str
    format: str


class InputAudio(_Part):
    type: Literal["input_audio"] = "input_audio"
    input_audio: _AudioData


ContentPart = Annotated[InputText | OutputText | InputImage | InputAudio, Field(discriminator="type")]


class Message(_Strict):
    """One input message of a score_model / label_model grader."""

    role: Literal["user", "assistant", "system", "developer"]
    content: str | ContentPart | list[ContentPart]
    type: Literal["message"] | None = None

    def text(self) -> str:
        """The message's text parts joined, for display."""
        parts = self.content if isinstance(self.content, list) else [self.content]
        return "\n".join(p if isinstance(p, str) else getattr(p, "text", f"[{p.type}]") for p in parts)

    def config(self) -> dict[str, Any]:
        content = self.content
        out: dict[str, Any] = {
            "role": self.role,
            "content": content if isinstance(content, str)
            else [p.config() for p in content] if isinstance(content, list)
            else content.config(),
        }  # fmt: skip
        if "type" in self.model_fields_set:
            out["type"] = self.type
        return out


class SamplingParams(_Strict):
    """score_model sampling parameters. Note the API's spelling: ``max_completions_tokens``."""

    seed: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_completions_tokens: int | None = Field(default=None, ge=1)
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_the_misspelling(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "max_completion_tokens" in data:
            raise ValueError(
                "sampling_params uses 'max_completion_tokens'; the grader API spells it "
                "'max_completions_tokens' (with an s)"
            )
        return data


def sampling_problems(model: str, params: SamplingParams | None) -> list[tuple[str, str]]:
    """What ``model`` rejects in ``params``, as ``(field, problem)`` pairs; empty when it takes them all.

    Reasoning models take ``reasoning_effort`` and reject ``temperature``; the others the other way round.
    ``RubricGrader`` refuses the first problem; ``lint()`` reports each under ``sampling_params.FIELD``.

    Example::

        >>> sampling_problems("o3-2025-04-16", SamplingParams(temperature=0.2))[0][0]
        'temperature'
        >>> sampling_problems("gpt-4.1-2025-04-14", SamplingParams(temperature=0.2))
        []
    """
    if params is None:
        return []
    problems: list[tuple[str, str]] = []
    if is_reasoning_model(model) and params.temperature is not None:
        problems.append(("temperature", (
            f"model {model!r} is a reasoning model: it takes reasoning_effort, not temperature; "
            "remove sampling_params.temperature (set reasoning_effort instead) "
            f"or pick a non-reasoning model such as {DEFAULT_JUDGE_MODEL!r}"
        )))  # fmt: skip
    if not is_reasoning_model(model) and params.reasoning_effort is not None:
        problems.append(("reasoning_effort", (
            f"model {model!r} is not a reasoning model: it takes temperature, not reasoning_effort; "
            f"remove sampling_params.reasoning_effort or pick a reasoning model such as {_REASONING_EXAMPLE!r}"
        )))  # fmt: skip
    return problems


def _coerce_messages(v: Any) -> Any:
    # A bare prompt string is the common case in notebooks: make it one user message.
    if isinstance(v, str):
        return [{"role": "user", "content": v}]
    return v
