"""TRL: the grader as a reward function for ``GRPOTrainer`` (and RLOO, which calls rewards the same way).

TRL calls each reward function once per generation batch, as
``f(prompts=..., completions=..., completion_ids=..., **columns, trainer_state=..., log_extra=...,
log_metric=...)``, with every dataset column as a list, and awaits ``async`` ones on its own loop. The
reward built here turns each completion and its row's columns into one ``(item, sample)`` row, scores the
batch exactly as ``score()`` does (see :mod:`rftkit_nb.trainers._batch`), logs each sub-grader's mean
(``<sub>/mean``) and per-row scores (``log_extra``), and returns one ``float | None`` per completion.

Example::

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> reward = to_trl(g)
    >>> import asyncio
    >>> asyncio.run(reward(prompts=["2+2?", "2+2?"], completions=["4", "5"], answer=["4", "4"]))
    [1.0, 0.0]
    >>> reward.close()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.core.graders import BaseGrader, MultiGrader
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers._batch import BatchScorer, RowResult, SandboxPool, logger
from rftkit_nb.trainers.weights import plain_weights

__all__ = ["TrlReward", "completion_text", "to_trl"]

# Keyword arguments TRL adds that are not dataset columns.
_TRAINER_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments", "completion_ids"})


def completion_text(completion: Any) -> str:
    """The text a grader sees as ``sample.output_text``: a plain completion as it is, or the last
    assistant message of a conversational one (its text parts joined).

    >>> completion_text([{"role": "assistant", "content": "4"}])
    '4'
    >>> completion_text("4")
    '4'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        for message in reversed(completion):
            if isinstance(message, Mapping) and message.get("role", "assistant") == "assistant":
                return _content_text(message.get("content"))
        return ""
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    raise ConfigError(f"a completion must be a string or a list of messages, not {type(completion).__name__}")


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return str(content)


class TrlReward:
    """An async reward function for TRL's trainers; build it with :func:`to_trl`.

    TRL names it by ``__name__`` (the grader's name, or the sub-grader's key with ``split=True``), so its
    logs show ``rewards/<name>/mean``. Close it when training ends: pass ``callbacks=[reward.callback()]``
    to the trainer, use ``with reward:``, or call ``reward.close()``; otherwise the sandbox workers stop at
    interpreter exit.
    """

    def __init__(self, scorer: BatchScorer, name: str, *, leaf: str | None = None) -> None:
        self.scorer = scorer
        self.__name__ = name
        self.leaf = leaf  # with split=True: the key of the one sub-grader whose score this function returns
        self.calls = 0
        self._told_policy = False

    @property
    def grader(self) -> BaseGrader:
        return self.scorer.grader

    @property
    def on_error(self) -> str:
        return self.scorer.on_error

    async def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                       **kwargs: Any) -> list[float | None]:  # fmt: skip
        """Score one generation batch; ``kwargs`` are the dataset columns (and TRL's helpers)."""
        if not self._told_policy:
            logger.info("reward %r: an errored sub-grader %s", self.__name__, _POLICY_TEXT[self.on_error])
            self._told_policy = True
        columns = {k: v for k, v in kwargs.items() if k not in _TRAINER_KWARGS}
        items = _items(columns, len(completions))
        results = await self.scorer.score_rows(items, [completion_text(c) for c in completions])
        self.calls += 1
        names = {k: k for k in self.scorer.leaves}
        if self.leaf is not None:  # a split function scores one sub-grader, named by its own name
            names = {self.leaf: next(iter(self.scorer.leaves))}
        _log(results, names, kwargs)
        errored = sum(r.errored for r in results)
        if errored:
            logger.warning("reward %r: %d of %d rows had a grading error (%s); first: %s", self.__name__,
                           errored, len(results), _POLICY_TEXT[self.on_error],
                           next(r.note for r in results if r.errored))  # fmt: skip
        return [r.value for r in results]

    def callback(self) -> Any:
        """A ``transformers.TrainerCallback`` that closes this reward when training ends."""
        from transformers import TrainerCallback

        reward = self

        class CloseReward(TrainerCallback):  # type: ignore[misc]
            def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                reward.close()

        return CloseReward()

    def close(self) -> None:
        """Stop the sandbox workers of this reward (a later call starts them again)."""
        self.scorer.close()

    def __enter__(self) -> TrlReward:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"TrlReward({self.__name__!r}, grader={self.grader.name!r}, sub_graders={len(self.scorer.leaves)}, "
                f"on_error={self.on_error!r}, batches={self.calls})")  # fmt: skip

    def _repr_html_(self) -> str:
        facts = [("grader", self.grader.name), ("sub-graders", ", ".join(self.scorer.leaves)),
                 ("on_error", f"{self.on_error}: {_POLICY_TEXT[self.on_error]}"), ("batches", self.calls)]  # fmt: skip
        return h.card(self.__name__, "TRL reward", facts)


_POLICY_TEXT = {
    "zero": "counts 0 in the formula, as the hosted service does (on_error='zero')",
    "none": "makes the row's reward None, so TRL leaves it out (on_error='none')",
}


def _items(columns: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    for name, values in columns.items():
        if not isinstance(values, Sequence) or isinstance(values, str) or len(values) != n:
            raise ConfigError(f"dataset column {name!r} must be a list with one value per completion ({n}); "
                              "call the reward the way TRL does, with every column as a list")  # fmt: skip
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def _log(results: list[RowResult], names: Mapping[str, str], kwargs: Mapping[str, Any]) -> None:
    """Log each sub-grader's mean over the rows it scored, and its per-row scores (None: not scored)."""
    log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
    log_extra: Callable[[str, list], None] | None = kwargs.get("log_extra")
    if log_metric is None and log_extra is None:
        return
    for key, leaf in names.items():
        scores = [r.scores.get(leaf) for r in results]
        present = [s for s in scores if s is not None and math.isfinite(s)]
        if log_metric is not None and present:  # a sub-grader masked on every row has no mean
            log_metric(f"{key}/mean", sum(present) / len(present))
        if log_extra is not None:
            log_extra(key, scores)
    if log_metric is not None:
        log_metric("rftkit/errored_rows", sum(r.errored for r in results) / max(1, len(results)))


def to_trl(
    grader: Any,
    *,
    judge: Any = None,
    on_error: str = "zero",
    model_map: Mapping[str, str] | None = None,
    split: bool = False,
    concurrency: int | None = None,
    timeout: float = 30.0,
    sandbox_workers: int | None = None,
) -> Any:
    """The grader as a TRL reward function, evaluated exactly as ``score()`` evaluates it.

    ``grader``: a grader, its config dict or a Workbench. ``judge``: a
    :class:`~rftkit_nb.scoring.judge.Judge` (e.g. ``Judge(base_url="http://vllm:8000/v1")``), or None to
    read ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (or ``AZURE_OPENAI_*``) from the environment now.
    ``on_error``: ``"zero"`` (default) counts an errored sub-grader 0 in the formula, as the hosted service
    does; ``"none"`` returns None for that row, which TRL leaves out of the loss. ``model_map`` renames
    judge models to ones your endpoint serves. ``concurrency``: judge requests in flight per process
    (default ``RFTKIT_JUDGE_CONCURRENCY`` or 32). ``timeout``: seconds per row for python graders.

    ``split=True`` returns ``(reward_funcs, reward_weights)`` for ``GRPOConfig(reward_weights=...)``, one
    function per sub-grader, when ``calculate_output`` is a plain weighted sum (TRL sums and does not
    normalise); any other formula is a ``ConfigError``.

    Example::

        reward = to_trl(wb, judge=Judge(base_url="http://localhost:8000/v1", api_key="none"))
        trainer = GRPOTrainer(model=..., reward_funcs=[reward], train_dataset=ds,
                              callbacks=[reward.callback()])
    """
    options = dict(judge=judge, on_error=on_error, model_map=model_map, concurrency=concurrency,
                   timeout=timeout, sandbox_workers=sandbox_workers)  # fmt: skip
    whole = BatchScorer(grader, **options)
    if not split:
        return TrlReward(whole, _function_name(whole.grader.name))
    if not isinstance(whole.grader, MultiGrader):
        raise ConfigError(f"split=True needs a multi grader; {whole.grader.name!r} is one {whole.grader.type} "
                          "grader: use the single reward function")  # fmt: skip
    if on_error == "none":
        raise ConfigError("split=True with on_error='none' cannot leave a row out: TRL adds the functions with "
                          "nansum, so one None counts 0; use the single reward function for on_error='none'")  # fmt: skip
    weights = plain_weights(whole.grader.calculate_output, whole.grader.graders)
    pool = SandboxPool(timeout=timeout, workers=sandbox_workers)
    options["judge"] = whole.judge if whole.judge is not None else False
    options["model_map"] = None  # already applied to whole.grader
    funcs = []
    for key in weights:
        scorer = BatchScorer(whole.grader.graders[key], pool=pool, **options)  # one judge, one pool
        scorer.model_map = whole.model_map  # applied already; kept so check_parity maps the same way
        funcs.append(TrlReward(scorer, _function_name(key), leaf=key))
    return funcs, list(weights.values())


def _function_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "rftkit_reward"
