"""One runner per grader type: each turns a sub-grader and the rows into one :class:`Outcome` per row.

Runners never raise for a row: a failure on a row becomes an outcome in state ``error`` with OpenAI's
error category, so one bad row never stops a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rftkit_nb.core.graders import (
    BaseGrader,
    EndpointGrader,
    LabelModelGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from rftkit_nb.core.templates import render
from rftkit_nb.errors import ConfigError, ErrorCategory, GradingError
from rftkit_nb.scoring import similarity
from rftkit_nb.scoring.outcomes import ERROR, SKIPPED, Outcome
from rftkit_nb.scoring.rows import SampleRow

__all__ = [
    "build_judge_request",
    "is_judge",
    "render_messages",
    "run_local",
]


def is_judge(grader: BaseGrader) -> bool:
    """Graders that call out over the network, after the local ones and only where the reward depends
    on them: model graders and cosine similarity's embeddings (through the Judge), endpoint graders."""
    return isinstance(grader, ScoreModelGrader | LabelModelGrader | EndpointGrader) or (
        isinstance(grader, TextSimilarityGrader) and grader.evaluation_metric == "cosine"
    )


def run_local(
    grader: BaseGrader, rows: Sequence[SampleRow], sandbox: Any, cancel: threading.Event | None = None
) -> list[Outcome | None]:
    """Run a grader that needs no judge: string_check, text_similarity (not cosine), python.

    A python grader stops as soon as ``cancel`` is set; its unfinished rows are None.
    """
    if isinstance(grader, StringCheckGrader):
        return _per_row(rows, grader, lambda r: _string_check(grader, r))
    if isinstance(grader, TextSimilarityGrader):
        return _per_row(rows, grader, lambda r: _similarity(grader, r))
    if isinstance(grader, PythonGrader):
        return _python(grader, rows, sandbox, cancel)
    note = f"grader type {grader.type!r} cannot be run locally"
    return [Outcome(None, SKIPPED, None, note) for _ in rows]


def _per_row(
    rows: Sequence[SampleRow], grader: BaseGrader, fn: Callable[[SampleRow], Outcome]
) -> list[Outcome]:
    out = []
    for row in rows:
        try:
            out.append(fn(row))
        except GradingError as e:
            out.append(Outcome.failed(e))
        except ConfigError as e:
            out.append(Outcome.failed(ErrorCategory.OTHER, f"{grader.name}: {e}"))
    return out


def _string_check(grader: StringCheckGrader, row: SampleRow) -> Outcome:
    text = render(grader.input, item=row.item, sample=row.sample)
    reference = render(grader.reference, item=row.item, sample=row.sample)
    return Outcome(similarity.string_check(grader.operation, text, reference))


def _similarity(grader: TextSimilarityGrader, row: SampleRow) -> Outcome:
    text = render(grader.input, item=row.item, sample=row.sample)
    reference = render(grader.reference, item=row.item, sample=row.sample)
    result = similarity.text_similarity(grader.evaluation_metric, text, reference)
    info = {"approximate": result.note} if result.approximate else {}
    return Outcome(result.value, info=info)


def _python(
    grader: PythonGrader, rows: Sequence[SampleRow], sandbox: Any, cancel: threading.Event | None
) -> list[Outcome | None]:
    results = sandbox.grade_many(grader.source, [(r.sample, r.item) for r in rows], cancel=cancel)
    out: list[Outcome | None] = []
    for res in results:
        if res is None:  # cancelled before this row finished
            out.append(None)
            continue
        info = {"stdout": res.stdout} if res.stdout else {}
        if res.error:
            out.append(Outcome(None, ERROR, res.error, res.detail, info))
        else:
            out.append(Outcome(res.score, info=info))
    return out


# --- judge graders: rendering the request --------------------------------------------------------


def render_messages(messages: Sequence[Mapping[str, Any]], row: SampleRow) -> list[dict[str, Any]]:
    """Fill every template in grader-style input messages for one row."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            filled: Any = render(content, item=row.item, sample=row.sample)
        else:
            parts = content if isinstance(content, list) else [content]
            filled = [_render_part(p, row) for p in parts]
        out.append({**message, "content": filled})
    return out


def _render_part(part: Mapping[str, Any], row: SampleRow) -> dict[str, Any]:
    part = dict(part)
    for key in ("text", "image_url"):
        if isinstance(part.get(key), str):
            part[key] = render(part[key], item=row.item, sample=row.sample)
    audio = part.get("input_audio")
    if isinstance(audio, Mapping) and isinstance(audio.get("data"), str):
        part["input_audio"] = {**audio, "data": render(audio["data"], item=row.item, sample=row.sample)}
    return part


def build_judge_request(
    grader: ScoreModelGrader | LabelModelGrader, row: SampleRow, config: Mapping[str, Any] | None = None
) -> Any:
    """The judge request for one row (raises InvalidVariableError when a template variable is absent).

    Pass ``config`` (the grader's ``.config``) when building many requests, to compute it once.
    """
    from rftkit_nb.scoring.judge import JudgeRequest

    config = grader.config if config is None else config
    messages = render_messages(config["input"], row)
    if isinstance(grader, LabelModelGrader):
        return JudgeRequest(model=grader.model, messages=messages, kind="label", labels=tuple(grader.labels))
    return JudgeRequest(
        model=grader.model,
        messages=messages,
        sampling_params=config.get("sampling_params"),
        range=grader.score_range,
    )
