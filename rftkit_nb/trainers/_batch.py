"""The one place trainers call the scoring engine: a batch of rows in, one result per row out.

Every adapter (TRL, verl, verifiers) goes through :class:`BatchScorer`, which evaluates the grader with
the engine's public :func:`~rftkit_nb.scoring.engine.ascore` and nothing of its own: the formula,
masking, templates and clamping are the engine's, so a reward here is ``score()``'s reward. What this
module adds is what a training run needs around it:

* a sandbox pool started on the first batch that has a python grader, kept warm across batches, and
  closed by :meth:`BatchScorer.close` (and at interpreter exit by the sandbox's own finalizer);
* one judge per process (its concurrency is a per-process setting) passed to every batch, so the
  judge cache and its connections are shared across batches;
* one batch at a time: calls that arrive while a batch runs (verl and verifiers score one rollout per
  call, many at once) are coalesced into the next batch, so per-row callers still get batched judge
  calls and the engine never sees two runs closing the same judge;
* the error policy (``on_error``) turning a row's outcome into the value the trainer gets.

Example::

    >>> import asyncio
    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> scorer = BatchScorer(g, judge=False)
    >>> [r.value for r in asyncio.run(scorer.score_rows([{"answer": "4"}], ["4"]))]
    [1.0]
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.core.graders import BaseGrader, LabelModelGrader, MultiGrader, ScoreModelGrader
from rftkit_nb.core.graders import grader_from_config as _from_config
from rftkit_nb.errors import ConfigError
from rftkit_nb.scoring.engine import as_grader as resolve
from rftkit_nb.scoring.outcomes import ERROR, SCORED
from rftkit_nb.scoring.runners import is_judge

__all__ = [
    "ON_ERROR",
    "BatchScorer",
    "RowResult",
    "SandboxPool",
    "apply_policy",
    "as_grader",
    "default_judge_concurrency",
    "leaves_of",
]

logger = logging.getLogger("rftkit_nb.trainers")

#: What a row whose grading failed gives the trainer (see :class:`BatchScorer`).
ON_ERROR = ("zero", "none")
#: Judge requests in flight per process when nothing else is said (``RFTKIT_JUDGE_CONCURRENCY``).
DEFAULT_JUDGE_CONCURRENCY = 32
# The sample fields load_rows takes out of a row: a dataset column with one of these names would
# silently move from the item to the sample, so it is refused instead.
_SAMPLE_FIELDS = frozenset({"output_text", "output_json", "output_tools", "choices", "output_audio"})


def default_judge_concurrency() -> int:
    """``RFTKIT_JUDGE_CONCURRENCY`` from the environment, else 32 (judge requests per process).

    >>> default_judge_concurrency() >= 1
    True
    """
    raw = os.environ.get("RFTKIT_JUDGE_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_JUDGE_CONCURRENCY
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"RFTKIT_JUDGE_CONCURRENCY must be a whole number >= 1, got {raw!r}")
    return int(raw)


def as_grader(grader: Any, model_map: Mapping[str, str] | None = None) -> BaseGrader:
    """The grader to train with: a grader, its config dict or a Workbench, judge models mapped.

    ``model_map`` renames judge models (``{"gpt-4.1-mini-2025-04-14": "my-judge"}``): the request is
    otherwise the same, so the hosted model's prompt, sampling and range stay as designed.

    >>> from rftkit_nb.core.graders import ScoreModelGrader
    >>> g = ScoreModelGrader(name="tone", model="gpt-4o-mini", input=[{"role": "user", "content": "x"}])
    >>> as_grader(g, {"gpt-4o-mini": "qwen3"}).model
    'qwen3'
    """
    grader = resolve(grader)
    if not model_map:
        return grader
    config = grader.config
    used = _map_models(config, dict(model_map))
    unused = sorted(set(model_map) - used)
    if unused:
        models = sorted(_judge_models(grader)) or ["(no judges)"]
        raise ConfigError(f"model_map names {', '.join(map(repr, unused))}, which no judge of grader "
                          f"{grader.name!r} uses; its judge models are: {', '.join(models)}")  # fmt: skip
    return _from_config(config)


def _map_models(config: dict[str, Any], model_map: dict[str, str]) -> set[str]:
    used: set[str] = set()
    if config.get("type") in ("score_model", "label_model") and config.get("model") in model_map:
        used.add(config["model"])
        config["model"] = model_map[config["model"]]
    for sub in (config.get("graders") or {}).values() if config.get("type") == "multi" else ():
        used |= _map_models(sub, model_map)
    return used


def _judge_models(grader: BaseGrader) -> set[str]:
    leaves = grader.graders.values() if isinstance(grader, MultiGrader) else [grader]
    return {g.model for g in leaves if isinstance(g, ScoreModelGrader | LabelModelGrader)}


def leaves_of(grader: BaseGrader) -> dict[str, BaseGrader]:
    """The sub-graders a reward is made of, by their key (a single grader is its own leaf)."""
    return dict(grader.graders) if isinstance(grader, MultiGrader) else {grader.name: grader}


@dataclass(frozen=True)
class RowResult:
    """One row's outcome: ``value`` is what the trainer gets under the error policy; ``reward`` is what
    ``score()`` reports (errored sub-graders counted 0, None when it cannot be computed)."""

    value: float | None
    reward: float | None
    scores: dict[str, float | None]  # per sub-grader: the score, None when not applicable or errored
    states: dict[str, str]
    note: str = ""

    @property
    def errored(self) -> bool:
        """True when a sub-grader errored or no reward could be computed."""
        return self.reward is None or any(s == ERROR for s in self.states.values())


def apply_policy(reward: float | None, errored: bool, on_error: str) -> float | None:
    """The value a trainer gets: ``"zero"`` counts a failure 0 (as the hosted service does), ``"none"``
    returns None so the trainer leaves the row out."""
    if on_error == "none":
        return None if errored else reward
    return 0.0 if reward is None else reward


class SandboxPool:
    """The python-grader worker processes of one training process: started on first use, then warm.

    Several rewards of one run (``to_trl(..., split=True)``) share one pool.
    """

    def __init__(self, *, timeout: float = 30.0, workers: int | None = None) -> None:
        self.timeout, self.workers = timeout, workers
        self.sandbox: Any = None
        self.started = 0  # pools started so far (a warm pool is started once per run)
        self._lock = threading.Lock()

    def warm(self) -> Any:
        with self._lock:
            if self.sandbox is None:
                from rftkit_nb.scoring.sandbox import Sandbox

                self.sandbox = Sandbox(workers=self.workers or _share_of_cpus(), timeout=self.timeout)
                self.started += 1
            return self.sandbox

    def close(self) -> None:
        with self._lock:
            sandbox, self.sandbox = self.sandbox, None
        if sandbox is not None:
            sandbox.close()


@dataclass
class _Pending:
    items: list[dict[str, Any]]
    outputs: list[str]
    future: asyncio.Future[list[RowResult]] = field(repr=False)


class BatchScorer:
    """Scores rows with one grader for a whole training run (see the module docstring).

    ``judge``: a :class:`~rftkit_nb.scoring.judge.Judge`, ``None`` for one from the environment
    (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` / ``AZURE_OPENAI_*``, read now), or ``False`` when the
    grader has no judges. ``on_error``: ``"zero"`` or ``"none"``. ``sandbox_workers``: python-grader
    processes for this process (default: this process's share of the CPUs, by ``LOCAL_WORLD_SIZE``).
    """

    def __init__(
        self,
        grader: Any,
        *,
        judge: Any = None,
        on_error: str = "zero",
        model_map: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        timeout: float = 30.0,
        sandbox_workers: int | None = None,
        pool: SandboxPool | None = None,
    ) -> None:
        if on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be 'zero' or 'none', got {on_error!r}")
        self.grader = as_grader(grader, model_map)
        self.model_map = dict(model_map or {})
        self.leaves = leaves_of(self.grader)
        _check_runnable(self.grader, self.leaves)
        self.on_error, self.timeout = on_error, timeout
        self.sandbox_workers = sandbox_workers
        self.judge = _resolve_judge(self.grader, self.leaves, judge, concurrency)
        self.pool = pool if pool is not None else SandboxPool(timeout=timeout, workers=sandbox_workers)
        self._queue: list[_Pending] = []
        self._draining: asyncio.Task[None] | None = None
        self.batches = 0
        _live.add(self)

    @property
    def has_python(self) -> bool:
        return any(g.type == "python" for g in self.leaves.values())

    @property
    def sandbox(self) -> Any:
        """The warm sandbox (None until a batch with a python grader has run)."""
        return self.pool.sandbox

    async def score_rows(self, items: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[RowResult]:
        """Score ``outputs[i]`` against ``items[i]``; one :class:`RowResult` per row, in order.

        Calls made while a batch runs wait and go together in the next one.
        """
        if len(items) != len(outputs):
            raise ConfigError(f"got {len(items)} items for {len(outputs)} outputs; pass one item per output")
        future: asyncio.Future[list[RowResult]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending([dict(i) for i in items], list(outputs), future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            items = [item for p in batch for item in p.items]
            outputs = [out for p in batch for out in p.outputs]
            try:
                results = await self._run(items, outputs)
            except BaseException as exc:
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            start = 0
            for p in batch:
                if not p.future.done():
                    p.future.set_result(results[start : start + len(p.items)])
                start += len(p.items)

    async def _run(self, items: list[dict[str, Any]], outputs: list[str]) -> list[RowResult]:
        from rftkit_nb.scoring.engine import ascore

        rows = []
        for i, (item, output) in enumerate(zip(items, outputs, strict=True)):
            clash = _SAMPLE_FIELDS & item.keys()
            if clash:
                raise ConfigError(f"row {i} has a column named {sorted(clash)[0]!r}, which is a sample field "
                                  "in the grader format; rename that dataset column")  # fmt: skip
            rows.append({**item, "output_text": output})
        sandbox = self.pool.warm() if self.has_python else None
        report = await ascore(self.grader, rows, judge=self.judge if self.judge is not None else False,
                              sandbox=sandbox, progress=False, timeout=self.timeout)  # fmt: skip
        self.batches += 1
        return [self._row(report, i) for i in range(len(rows))]

    def _row(self, report: Any, i: int) -> RowResult:
        scores: dict[str, float | None] = {}
        states: dict[str, str] = {}
        for key, outs in report.outcomes.items():
            o = outs[i]
            states[key] = o.state if o is not None else "unfinished"
            scores[key] = o.score if o is not None and o.state == SCORED else None
        reward, note = report.rewards[i], report.reward_notes[i]
        errored = reward is None or any(s == ERROR for s in states.values())
        return RowResult(apply_policy(reward, errored, self.on_error), reward, scores, states, note)

    def close(self) -> None:
        """Stop the sandbox pool (the judge's connections close after each batch). Safe to call twice;
        a later batch starts a fresh pool."""
        self.pool.close()

    def __repr__(self) -> str:
        warm = "warm" if self.pool.sandbox is not None else "not started"
        return (f"BatchScorer(grader={self.grader.name!r}, sub_graders={len(self.leaves)}, "
                f"on_error={self.on_error!r}, sandbox={warm}, judge={self.judge!r})")  # fmt: skip


_RUNNABLE = frozenset({"string_check", "text_similarity", "python", "score_model", "label_model"})


def _check_runnable(grader: BaseGrader, leaves: Mapping[str, BaseGrader]) -> None:
    """A sub-grader that cannot run here would withhold every reward (or, counted 0, train on nothing)."""
    for key, leaf in leaves.items():
        if leaf.type not in _RUNNABLE:
            raise ConfigError(f"sub-grader {key!r} of grader {grader.name!r} has type {leaf.type!r}, which only "
                              "the hosted service runs; replace it by a python grader (or a judge) to train elsewhere")  # fmt: skip


def _resolve_judge(
    grader: BaseGrader, leaves: Mapping[str, BaseGrader], judge: Any, concurrency: int | None
) -> Any:
    needs = [k for k, g in leaves.items() if is_judge(g)]
    if judge is False:
        if needs:
            raise ConfigError(f"grader {grader.name!r} has judges ({', '.join(needs)}) but judge=False; pass a "
                              "Judge, or set OPENAI_BASE_URL / OPENAI_API_KEY and leave judge=None")  # fmt: skip
        return None
    if not needs:
        return None
    from rftkit_nb.scoring.judge import Judge

    if isinstance(judge, Judge):
        return judge
    kw = {"concurrency": concurrency or default_judge_concurrency()}
    made = Judge(judge, **kw) if judge is not None else Judge.from_env(**kw)
    if made is None:
        raise ConfigError(f"grader {grader.name!r} has judges ({', '.join(needs)}) and no judge is configured: "
                          "set OPENAI_BASE_URL (e.g. a vLLM server) and OPENAI_API_KEY, or pass judge=Judge(...)")  # fmt: skip
    return made


def _share_of_cpus() -> int:
    """This process's share of the CPUs: trainers start one process per GPU on a node."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cpus = os.cpu_count() or 1
    local = os.environ.get("LOCAL_WORLD_SIZE", "1")
    return max(1, cpus // max(1, int(local) if local.isdigit() else 1))


_live: weakref.WeakSet[BatchScorer] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for scorer in list(_live):
        scorer.close()
