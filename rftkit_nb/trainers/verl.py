"""verl: the grader as ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)``.

verl calls a custom reward function once per rollout, from its reward workers (often many at once, in
threads or Ray actors), and logs every key of the dict it returns besides ``"score"``. The item is
rebuilt from what verl passes: the ``extra_info`` dict (put your item columns there when you write the
parquet files) plus ``ground_truth`` under ``ground_truth_field`` (or merged in, when it is a dict).

Calls are sync. Each process runs the scoring on one background event loop, so concurrent calls from
verl's threads are batched together (judges in parallel, python graders in one warm sandbox pool).

Example::

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.ground_truth }}", operation="eq")
    >>> compute_score = to_verl(g)
    >>> compute_score("gsm8k", "4", "4")
    {'score': 1.0, 'exact': 1.0}
    >>> compute_score.close()
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Mapping
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers._batch import BatchScorer, RowResult

__all__ = ["VerlReward", "to_verl", "verl_item"]


def verl_item(ground_truth: Any, extra_info: Mapping[str, Any] | None, field: str = "ground_truth") -> dict:
    """The grader's item from verl's arguments: ``extra_info`` plus the ground truth.

    >>> verl_item("4", {"question": "2+2?"})
    {'question': '2+2?', 'ground_truth': '4'}
    >>> verl_item({"answer": "4"}, None)
    {'answer': '4'}
    """
    item = dict(extra_info or {})
    if isinstance(ground_truth, Mapping):
        item.update(ground_truth)
    elif ground_truth is not None:
        item[field] = ground_truth
    return item


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


class _LoopThread:
    """One event loop on a daemon thread for this process: sync callers hand it coroutines."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coroutine: Any) -> Any:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=_serve, args=(self._loop,), name="rftkit-verl", daemon=True).start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def stop(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


class VerlReward:
    """verl's ``compute_score``; build it with :func:`to_verl`. Returns ``{"score": reward, <sub>: score}``
    where a sub-grader that did not score the row (masked, or errored) is NaN, so verl's means skip
    nothing silently."""

    def __init__(self, scorer: BatchScorer, ground_truth_field: str) -> None:
        self.scorer = scorer
        self.ground_truth_field = ground_truth_field
        self.__name__ = "compute_score"
        self._loop = _LoopThread()

    def __call__(self, data_source: Any = None, solution_str: str = "", ground_truth: Any = None,
                 extra_info: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, float]:  # fmt: skip
        """Score one rollout (verl's signature; extra keyword arguments are ignored)."""
        item = verl_item(ground_truth, extra_info, self.ground_truth_field)
        (result,) = self._loop.run(self.scorer.score_rows([item], [solution_str or ""]))
        return _as_dict(result)

    def close(self) -> None:
        """Stop the sandbox workers and the background loop (a later call starts them again)."""
        self.scorer.close()
        self._loop.stop()

    def __repr__(self) -> str:
        return (
            f"VerlReward(grader={self.scorer.grader.name!r}, ground_truth_field={self.ground_truth_field!r})"
        )

    def _repr_html_(self) -> str:
        facts = [("grader", self.scorer.grader.name), ("sub-graders", ", ".join(self.scorer.leaves)),
                 ("ground truth", f"item.{self.ground_truth_field}")]  # fmt: skip
        return h.card("compute_score", "verl reward", facts)


def _as_dict(result: RowResult) -> dict[str, float]:
    out = {"score": 0.0 if result.value is None else result.value}
    for key, value in result.scores.items():
        out[key] = math.nan if value is None else value
    return out


def to_verl(
    grader: Any,
    *,
    judge: Any = None,
    on_error: str = "zero",
    model_map: Mapping[str, str] | None = None,
    ground_truth_field: str = "ground_truth",
    concurrency: int | None = None,
    timeout: float = 30.0,
    sandbox_workers: int | None = None,
) -> VerlReward:
    """The grader as verl's ``compute_score``, evaluated exactly as ``score()`` evaluates it.

    Arguments as for :func:`~rftkit_nb.trainers.to_trl`; ``ground_truth_field`` names the item field
    verl's ``ground_truth`` fills. verl needs a number for every rollout, so ``on_error`` is ``"zero"``.
    """
    if on_error != "zero":
        raise ConfigError(f"verl needs a number for every rollout, so on_error must be 'zero' (got {on_error!r}); "
                          "rows with errors are counted 0 as on the hosted service")  # fmt: skip
    scorer = BatchScorer(grader, judge=judge, on_error=on_error, model_map=model_map, concurrency=concurrency,
                         timeout=timeout, sandbox_workers=sandbox_workers)  # fmt: skip
    return VerlReward(scorer, ground_truth_field)
