"""verifiers (v1 API): the grader as a ``@vf.reward`` method for a ``vf.Task``.

verifiers scores a rollout by calling each ``@vf.reward(weight=...)`` method of the task with the
arguments it names (``task``: the row's ``TaskData``, ``trace``: the rollout) and summing
``score * weight``. A reward returning a dict would have each key summed, so the reward returns the
grader's total and records the sub-grader scores with ``trace.record_metrics`` (recorded, not summed).

:func:`to_verifiers` returns a mixin class; put it before ``vf.Task`` in your task's bases::

    RftkitRewards = to_verifiers(wb)

    class MathTask(RftkitRewards, vf.Task[MathData]):
        ...

The item is the task's data (``task.model_dump(exclude_unset=True)``: the fields your taskset set), and
``sample.output_text`` is ``trace.last_reply``. Every rollout of a process goes through one batcher, so
concurrent rollouts share judge calls and one warm sandbox pool.

Example::

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> Rewards = to_verifiers(g)
    >>> Rewards.rftkit_reward._vf_weight
    1.0
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rftkit_nb.core.graders import MultiGrader
from rftkit_nb.core.project import atomic_write
from rftkit_nb.core.rubrics import RubricGrader
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers._batch import BatchScorer, as_grader
from rftkit_nb.trainers.weights import plain_weights

__all__ = ["rubric_judge_criteria", "task_item", "to_verifiers"]


def task_item(task: Any) -> dict[str, Any]:
    """The grader's item from a verifiers ``TaskData`` (pydantic), or any mapping.

    >>> task_item({"answer": "4"})
    {'answer': '4'}
    """
    if isinstance(task, Mapping):
        return dict(task)
    dump = getattr(task, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json", exclude_unset=True))
    return dict(vars(task))


def _mark_reward(fn: Callable[..., Any], weight: float) -> Callable[..., Any]:
    """``@vf.reward(weight=weight)`` when verifiers is installed; else the same marks, so the class is
    importable where verifiers is not (a driver process, a test)."""
    try:
        import verifiers as vf

        return vf.reward(weight=weight)(fn)
    except (ImportError, AttributeError):
        fn.reward = True  # type: ignore[attr-defined]  # the marks vf.reward sets
        fn.reward_priority = 0  # type: ignore[attr-defined]
        fn._vf_weight = weight  # type: ignore[attr-defined]
        return fn


def to_verifiers(
    grader: Any,
    *,
    judge: Any = None,
    on_error: str = "zero",
    model_map: Mapping[str, str] | None = None,
    weight: float = 1.0,
    name: str = "rftkit_reward",
    concurrency: int | None = None,
    timeout: float = 30.0,
    sandbox_workers: int | None = None,
) -> type:
    """A mixin class whose ``@vf.reward(weight=weight)`` method ``name`` is the grader's reward.

    Arguments as for :func:`~rftkit_nb.trainers.to_trl`. With ``on_error="none"`` an errored row raises,
    which verifiers records as an errored rollout (it has no "leave this row out" value).
    """
    scorer = BatchScorer(grader, judge=judge, on_error=on_error, model_map=model_map, concurrency=concurrency,
                         timeout=timeout, sandbox_workers=sandbox_workers)  # fmt: skip

    async def reward(self: Any, task: Any, trace: Any) -> float:
        (result,) = await scorer.score_rows([task_item(task)], [getattr(trace, "last_reply", "") or ""])
        record = getattr(trace, "record_metrics", None)
        if callable(record):
            record({key: score for key, score in result.scores.items() if score is not None})
        if result.value is None:
            from rftkit_nb.errors import GradingError

            raise GradingError(f"grader {scorer.grader.name!r} could not grade this rollout: {result.note}")
        return result.value

    reward.__name__ = reward.__qualname__ = name
    reward.__doc__ = f"The reward of grader {scorer.grader.name!r}, as score() computes it (rftkit_nb)."
    namespace = {name: _mark_reward(reward, weight), "rftkit_scorer": scorer}
    return type(f"{_class_name(scorer.grader.name)}Rewards", (), namespace)


def _class_name(name: str) -> str:
    parts = "".join(c if c.isalnum() else " " for c in name).split()
    return "".join(p[:1].upper() + p[1:] for p in parts) or "Rftkit"


def rubric_judge_criteria(
    grader: Any, path: str | os.PathLike[str] | None = None, *, levels: int = 3
) -> list[dict[str, Any]]:
    """verifiers' own ``RubricJudge`` criteria for a design made only of weighted judge rubrics.

    Each rubric becomes ``{name, text, weight, choices}`` with ``levels`` evenly spaced choices from
    ``"0"`` to ``"1"`` (RubricJudge scores a choice by its rank, so they land on the same 0..1 scale),
    and RubricJudge's ``sum(w * score) / sum(w)`` is the design's weighted mean. This is verifiers'
    judge prompt, not the rubric's, and its scores are discrete, so it is **not** a parity export: use
    :func:`to_verifiers` for the reward exactly as designed. Written as JSON to ``path`` when given.

    Example::

        >>> from rftkit_nb.core.workbench import Workbench
        >>> wb = Workbench(path=None)
        >>> _ = wb.add_rubric("accuracy", "1.0 = correct; 0.0 = wrong.")
        >>> rubric_judge_criteria(wb)[0]["choices"]
        ['0', '0.5', '1']
    """
    if levels < 2:
        raise ConfigError(f"levels must be at least 2 (RubricJudge needs two choices), got {levels}")
    base = as_grader(grader)
    leaves = dict(base.graders) if isinstance(base, MultiGrader) else {base.name: base}
    others = [k for k, g in leaves.items() if not isinstance(g, RubricGrader)]
    if others:
        raise ConfigError(f"a RubricJudge file holds only judged rubrics; {', '.join(others)} are not (formatting, "
                          "masks and other graders need the reward from to_verifiers)")  # fmt: skip
    for key, rubric in leaves.items():
        if tuple(rubric.score_range) != (0.0, 1.0):
            raise ConfigError(f"rubric {key!r} has range {list(rubric.score_range)}; RubricJudge scores 0..1")
    formula = base.calculate_output if isinstance(base, MultiGrader) else base.name
    weights = plain_weights(formula, leaves)
    choices = [f"{i / (levels - 1):g}" for i in range(levels)]
    criteria = [
        {"name": k, "text": leaves[k].rubric.content, "weight": w, "choices": choices}
        for k, w in weights.items()
    ]
    if path is not None:
        atomic_write(Path(path), json.dumps({"criteria": criteria}, indent=2, ensure_ascii=False) + "\n")
    return criteria
