"""score(): run any composed grader on real sample rows, locally, and say why each row got its reward.

The order of work: local graders first (string_check, text_similarity, python in the sandbox), then the
judges, only on rows where the reward can depend on them, then the formula. A masked judge (its indicator
is 0 for the row's cluster) is not called locally and reported ``not_applicable``; the hosted service
calls every judge on every row, which :meth:`ScoreReport.summary` says when it counts judge calls.

Notebook-safe: the work runs on its own event loop in a worker thread, so ``score()`` works from a
Jupyter cell where a loop is already running (no nest_asyncio); Ctrl-C / interrupt returns the rows
finished so far, and the judge cache makes the next run resume where this one stopped.

Example::

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> score(g, [{"answer": "4", "output_text": "4"}], progress=False).frame["reward"].tolist()
    [1.0]
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rftkit_nb.core.formula import parse_formula
from rftkit_nb.core.graders import BaseGrader, MultiGrader, TextSimilarityGrader, grader_from_config
from rftkit_nb.errors import ConfigError, FormulaEvaluationError, GradingError
from rftkit_nb.scoring.report import ScoreReport
from rftkit_nb.scoring.rows import SampleRow, load_rows
from rftkit_nb.scoring.runners import (
    ERROR,
    NOT_APPLICABLE,
    SCORED,
    SKIPPED,
    Outcome,
    build_judge_request,
    is_judge,
    run_local,
)

__all__ = ["ascore", "score"]

NO_JUDGE_HINT = "no judge configured: pass judge=Judge(...) or set OPENAI_API_KEY / AZURE_OPENAI_ENDPOINT"


def score(
    grader: Any,
    rows: Any,
    *,
    output: str = "output_text",
    judge: Any = None,
    concurrency: int = 32,
    cache: Any = True,
    progress: bool = True,
    limit: int | None = None,
    timeout: float = 30.0,
    sandbox: Any = None,
    cluster_field: str = "cluster",
) -> ScoreReport:
    """Score ``rows`` with ``grader`` locally and return a :class:`ScoreReport`.

    ``grader``: any grader, a config dict, or anything with a ``.grader()`` method (a Workbench).
    ``rows``: a DataFrame, a list of dicts or a JSONL path; ``output`` names the model-output column.
    ``judge``: a :class:`~rftkit_nb.scoring.judge.Judge`, an openai (Azure)OpenAI client, ``None`` to use
    the environment (``OPENAI_API_KEY`` / ``AZURE_OPENAI_*``), or ``False`` for none (judges are then
    ``skipped``). ``timeout`` is the per-row limit for python graders.
    """
    kwargs = dict(output=output, judge=judge, concurrency=concurrency, cache=cache, progress=progress,
                  limit=limit, timeout=timeout, sandbox=sandbox, cluster_field=cluster_field)  # fmt: skip
    return _run_in_thread(lambda cancel: ascore(grader, rows, cancel=cancel, **kwargs))


async def ascore(
    grader: Any, rows: Any, *, cancel: threading.Event | None = None, **options: Any
) -> ScoreReport:
    """The async twin of :func:`score` (same arguments), for callers that own an event loop."""
    grader = _as_grader(grader)
    sample_rows = load_rows(rows, output=options.get("output", "output_text"), limit=options.get("limit"))
    run = _Run(grader, sample_rows, cancel or threading.Event(), options)
    try:
        await run.execute()
    except asyncio.CancelledError:
        run.interrupted = True
    return run.report()


def _as_grader(grader: Any) -> BaseGrader:
    if isinstance(grader, BaseGrader):
        return grader
    if isinstance(grader, Mapping):
        return grader_from_config(grader)
    if callable(getattr(grader, "grader", None)):
        return grader.grader()
    raise ConfigError(
        f"cannot score with a {type(grader).__name__}: pass a grader, a config dict or a Workbench"
    )


class _Run:
    """One scoring run's state: the leaves, their outcomes per row, and how far it got."""

    def __init__(
        self, grader: BaseGrader, rows: list[SampleRow], cancel: threading.Event, options: dict
    ) -> None:
        self.grader, self.rows, self.cancel, self.options = grader, rows, cancel, options
        self.leaves: dict[str, BaseGrader] = (
            dict(grader.graders) if isinstance(grader, MultiGrader) else {grader.name: grader}
        )
        self.outcomes: dict[str, list[Outcome | None]] = {k: [None] * len(rows) for k in self.leaves}
        self.interrupted = False
        self.judge_calls = 0

    async def execute(self) -> None:
        self._run_local()
        judge_keys = [k for k, g in self.leaves.items() if is_judge(g)]
        if judge_keys and not self.cancel.is_set():
            await self._run_judges(judge_keys)

    def _run_local(self) -> None:
        local = {k: g for k, g in self.leaves.items() if not is_judge(g)}
        if not local:
            return
        sandbox, owned = self._sandbox(local.values())
        python = {k: g for k, g in local.items() if g.type == "python"}
        # Python graders wait on worker processes: run them on a thread while the in-process metrics
        # use this one, so both cores stay busy.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rftkit-python") if python else None
        try:
            pending = pool.submit(self._run_each, python, sandbox) if pool is not None else None
            self._run_each({k: g for k, g in local.items() if k not in python}, sandbox)
            if pending is not None:
                pending.result()
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            if owned and sandbox is not None:
                sandbox.close()

    def _run_each(self, graders: Mapping[str, BaseGrader], sandbox: Any) -> None:
        for key, g in graders.items():
            if self.cancel.is_set():
                self.interrupted = True
                return
            self.outcomes[key] = list(run_local(g, self.rows, sandbox))

    def _sandbox(self, graders: Any) -> tuple[Any, bool]:
        if self.options.get("sandbox") is not None:
            return self.options["sandbox"], False
        if not any(g.type == "python" for g in graders):
            return None, False
        from rftkit_nb.scoring.sandbox import Sandbox

        return Sandbox(timeout=self.options.get("timeout", 30.0)), True

    async def _run_judges(self, keys: list[str]) -> None:
        applicable = self._applicability(keys)
        for key in keys:
            for i, applies in enumerate(applicable[key]):
                if not applies:
                    self.outcomes[key][i] = Outcome(
                        None, NOT_APPLICABLE, None, "masked: the reward does not depend on it for this row"
                    )
        judge = _make_judge(self.options)
        if judge is None:
            for key in keys:
                for i, applies in enumerate(applicable[key]):
                    if applies:
                        self.outcomes[key][i] = Outcome(None, SKIPPED, None, NO_JUDGE_HINT)
            return
        try:
            await self._grade_with(judge, keys, applicable)
        finally:
            # Always: its connections belong to this run's event loop, which ends with the run.
            # A judge passed in reconnects by itself when it is used again.
            await judge.aclose()

    def _applicability(self, keys: list[str]) -> dict[str, list[bool]]:
        """Whether the reward can depend on each judge, per row (given the local scores)."""
        if not isinstance(self.grader, MultiGrader):
            return {k: [True] * len(self.rows) for k in keys}
        formula = parse_formula(self.grader.calculate_output)
        bounds = {k: _bounds(self.leaves[k]) for k in keys}
        result: dict[str, list[bool]] = {k: [] for k in keys}
        for i in range(len(self.rows)):
            local = {k: _value(self.outcomes[k][i]) for k in self.leaves if k not in bounds}
            for key in keys:
                result[key].append(_depends_on(formula, local, bounds, key))
        return result

    async def _grade_with(self, judge: Any, keys: list[str], applicable: dict[str, list[bool]]) -> None:
        requests, slots = [], []
        for key in keys:
            g = self.leaves[key]
            config = g.config  # once per grader, not once per row
            for i, row in enumerate(self.rows):
                if not applicable[key][i]:
                    continue
                try:
                    requests.append(_request(g, row, config))
                    slots.append((key, i))
                except GradingError as e:
                    self.outcomes[key][i] = Outcome.failed(e)
        self.judge_calls = len(requests)
        bar = _progress(len(requests), self.options.get("progress", True))

        def done(n: int, answer: Any) -> None:
            key, i = slots[n]
            self.outcomes[key][i] = _outcome_from_answer(self.leaves[key], requests[n], answer)
            if bar is not None:
                bar.update(1)

        try:
            await _gather_answers(judge, requests, done)
        finally:
            if bar is not None:
                bar.close()

    def report(self) -> ScoreReport:
        rewards, flags = self._rewards()
        return ScoreReport(
            grader=self.grader, rows=self.rows, leaves=self.leaves, outcomes=self.outcomes,
            rewards=rewards, reward_notes=flags, interrupted=self.interrupted,
            judge_calls=self.judge_calls, cluster_field=self.options.get("cluster_field", "cluster"),
        )  # fmt: skip

    def _rewards(self) -> tuple[list[float | None], list[str]]:
        formula = (
            parse_formula(self.grader.calculate_output) if isinstance(self.grader, MultiGrader) else None
        )
        rewards: list[float | None] = []
        notes: list[str] = []
        for i in range(len(self.rows)):
            outs = {k: self.outcomes[k][i] for k in self.leaves}
            reward, note = _reward(formula, outs)
            rewards.append(reward)
            notes.append(note)
        return rewards, notes


def _reward(formula: Any, outs: Mapping[str, Outcome | None]) -> tuple[float | None, str]:
    if any(o is None for o in outs.values()):
        return None, "not finished (interrupted)"
    skipped = [k for k, o in outs.items() if o is not None and o.state == SKIPPED]
    if skipped:
        return None, f"incomplete: {', '.join(skipped)} skipped"
    # As the service does: an errored sub-grader counts 0, and the row is flagged.
    scores = {
        k: (o.score if o is not None and o.state == SCORED and o.score is not None else 0.0)
        for k, o in outs.items()
    }
    errors = [k for k, o in outs.items() if o is not None and o.state == ERROR]
    note = f"error in {', '.join(errors)} (counted as 0)" if errors else ""
    if formula is None:
        return next(iter(scores.values())), note
    try:
        return formula.evaluate(scores), note
    except FormulaEvaluationError as e:
        return None, f"formula failed: {e}"


def _value(outcome: Outcome | None) -> float:
    return outcome.score if outcome is not None and outcome.score is not None else 0.0


def _bounds(grader: BaseGrader) -> tuple[float, float]:
    return getattr(grader, "score_range", (0.0, 1.0))


def _depends_on(
    formula: Any, local: dict[str, float], bounds: dict[str, tuple[float, float]], key: str
) -> bool:
    """True unless the formula gives the same reward for the judge's lowest and highest score,
    whatever the other judges say (tried at their bounds): then the judge is masked for this row."""
    others = [k for k in bounds if k != key]
    for corner in (0, 1):
        env = {**local, **{k: bounds[k][corner] for k in others}}
        try:
            low = formula.evaluate({**env, key: bounds[key][0]})
            high = formula.evaluate({**env, key: bounds[key][1]})
        except FormulaEvaluationError:
            return True
        if abs(high - low) > 1e-12:
            return True
    return False


def _request(grader: BaseGrader, row: SampleRow, config: Mapping[str, Any]) -> Any:
    from rftkit_nb.core.templates import render

    if isinstance(grader, TextSimilarityGrader):  # cosine: embeddings of both texts
        return ("embed", render(grader.input, item=row.item, sample=row.sample),
                render(grader.reference, item=row.item, sample=row.sample))  # fmt: skip
    return build_judge_request(grader, row, config)  # type: ignore[arg-type]


async def _gather_answers(judge: Any, requests: Sequence[Any], done: Any) -> None:
    chat = [(n, r) for n, r in enumerate(requests) if not isinstance(r, tuple)]
    embeds = [(n, r) for n, r in enumerate(requests) if isinstance(r, tuple)]
    if chat:
        await judge.grade_many([r for _, r in chat], on_done=lambda j, a: done(chat[j][0], a))
    if embeds:
        texts = [t for _, r in embeds for t in (r[1], r[2])]
        try:
            vectors = await judge.embed_many("text-embedding-3-large", texts)
        except Exception as e:  # one translated failure for the whole batch of embeddings
            for n, _ in embeds:
                done(n, GradingError(f"embeddings failed: {e}", category="model_grader_server_error"))
            return
        for j, (n, _) in enumerate(embeds):
            done(n, (vectors[2 * j], vectors[2 * j + 1]))


def _outcome_from_answer(grader: BaseGrader, request: Any, answer: Any) -> Outcome:
    if isinstance(answer, GradingError):
        return Outcome.failed(answer)
    if isinstance(answer, tuple):  # cosine embeddings
        from rftkit_nb.scoring.similarity import cosine

        try:
            return Outcome(cosine(*answer), info={"note": "cosine is evals-only; RFT rejects it"})
        except GradingError as e:
            return Outcome.failed(e)
    info = {"steps": answer.steps, "raw": answer.raw, "cached": answer.cached}
    if answer.error:
        return Outcome(None, ERROR, answer.error, answer.detail, info)
    if grader.type == "label_model":
        passing = answer.result in getattr(grader, "passing_labels", ())
        return Outcome(1.0 if passing else 0.0, info={**info, "label": answer.result})
    if answer.clamped:
        info["clamped"] = True
    return Outcome(float(answer.result), info=info)


def _make_judge(options: Mapping[str, Any]) -> Any:
    judge = options.get("judge")
    if judge is False:
        return None
    from rftkit_nb.scoring.judge import Judge

    if isinstance(judge, Judge):
        return judge
    kw = dict(concurrency=options.get("concurrency", 32), cache=options.get("cache", True))
    if judge is None:
        return Judge.from_env(**kw)
    return Judge(judge, **kw)  # an openai client


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="judge", unit="call", delay=1.0, leave=False)


def _run_in_thread(make: Any) -> ScoreReport:
    """Run the coroutine on a fresh loop in a worker thread; on KeyboardInterrupt, cancel it and return
    what was finished."""
    cancel = threading.Event()
    started: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Task[ScoreReport]]] = queue.Queue()
    outcome: queue.Queue[tuple[str, Any]] = queue.Queue()

    def target() -> None:
        loop = asyncio.new_event_loop()
        try:
            task = loop.create_task(make(cancel))
            started.put((loop, task))
            outcome.put(("result", loop.run_until_complete(task)))
        except BaseException as e:  # handed to the caller's thread below
            outcome.put(("error", e))
        finally:
            loop.close()

    threading.Thread(target=target, name="rftkit-score", daemon=True).start()
    # Wait on a queue, not Thread.join: a Ctrl-C inside join() can leave the thread looking finished.
    try:
        kind, value = _wait(outcome)
    except KeyboardInterrupt:
        cancel.set()
        loop, task = started.get()
        if not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: nothing to cancel
                loop.call_soon_threadsafe(task.cancel)
        kind, value = outcome.get()
    if kind == "error":
        raise value
    return value


def _wait(results: queue.Queue[tuple[str, Any]]) -> tuple[str, Any]:
    while True:
        try:
            return results.get(timeout=0.1)
        except queue.Empty:
            continue
