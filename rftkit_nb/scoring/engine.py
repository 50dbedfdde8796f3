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
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rftkit_nb.core.clusters import ClusterMap, cluster_name, read_path
from rftkit_nb.core.formula import parse_formula
from rftkit_nb.core.graders import BaseGrader, EndpointGrader, MultiGrader, grader_from_config
from rftkit_nb.core.rubrics import IndicatorGrader
from rftkit_nb.errors import ConfigError, FormulaEvaluationError
from rftkit_nb.scoring.judge.client import TIMED_OUT
from rftkit_nb.scoring.options import DEFAULT, GraderSource, JudgeSpec, RowsSource, ScoreOptions, _Default
from rftkit_nb.scoring.outcomes import ERROR, SKIPPED, Outcome, reward_input
from rftkit_nb.scoring.phases.judges import JudgePhase, applicability
from rftkit_nb.scoring.phases.local import run_local_phase
from rftkit_nb.scoring.report import ScoreReport
from rftkit_nb.scoring.rows import SampleRow, load_rows
from rftkit_nb.scoring.runners import is_judge

if TYPE_CHECKING:
    from rftkit_nb.scoring.judge.cache import CacheSpec
    from rftkit_nb.scoring.sandbox import Sandbox

__all__ = ["as_grader", "ascore", "score"]


def score(
    grader: GraderSource,
    rows: RowsSource,
    *,
    output: str = "output_text",
    judge: JudgeSpec = None,
    concurrency: int | _Default = DEFAULT,
    cache: CacheSpec | _Default = DEFAULT,
    judge_timeout: float | _Default = DEFAULT,
    deadline: float | None = None,
    progress: bool = True,
    limit: int | None = None,
    timeout: float = 30.0,
    sandbox: Sandbox | None = None,
    cluster_field: str | None = None,
) -> ScoreReport:
    """Score ``rows`` with ``grader`` locally and return a :class:`ScoreReport`.

    ``grader``: any grader, a config dict, or anything with a ``.grader()`` method (a Workbench, whose
    cluster field is then used). ``rows``: a DataFrame, a list of dicts or a JSONL path; ``output`` names
    the model-output column; ``limit`` scores only the first rows. ``judge``: a
    :class:`~rftkit_nb.scoring.judge.Judge`, an openai (Azure)OpenAI client, ``None`` to use the
    environment (``OPENAI_API_KEY`` / ``AZURE_OPENAI_*``), or ``False`` for none (judges are then
    ``skipped``). ``concurrency`` (default 32) and ``cache`` (default: the cache file, see
    :class:`~rftkit_nb.scoring.judge.Judge`) configure the judge ``score()`` builds; with a ``Judge`` you
    pass, set them on it (passing them here too is an error, not silently ignored); so does
    ``judge_timeout``, the seconds one judge request may take (default 30, with 2 retries).
    ``deadline``: seconds for the whole run, after which unfinished rows are reported ``unfinished`` and
    the rest kept (a rerun resumes from the judge cache). ``timeout`` is the per-row limit for python
    graders and ``sandbox`` a :class:`~rftkit_nb.scoring.sandbox.Sandbox` to reuse; ``cluster_field``
    the item field the report groups by (default ``cluster``).
    """
    options = ScoreOptions(output=output, judge=judge, concurrency=concurrency, cache=cache,
                           judge_timeout=judge_timeout, deadline=deadline, progress=progress, limit=limit,
                           timeout=timeout, sandbox=sandbox, cluster_field=cluster_field)  # fmt: skip
    return _run_in_thread(lambda cancel: _ascore(grader, rows, options, cancel))


async def ascore(
    grader: GraderSource, rows: RowsSource, *, cancel: threading.Event | None = None, **options: Any
) -> ScoreReport:
    """The async twin of :func:`score` (the same keyword options), for callers that own an event loop.

    The local graders run on a worker thread, so the caller's loop stays responsive.
    """
    return await _ascore(grader, rows, ScoreOptions(**options), cancel)


async def _ascore(
    grader: GraderSource, rows: RowsSource, options: ScoreOptions, cancel: threading.Event | None
) -> ScoreReport:
    cluster_field = options.cluster_field or getattr(grader, "cluster_field", None) or "cluster"
    resolved = as_grader(grader)
    sample_rows = load_rows(rows, output=options.output, limit=options.limit)
    run = _Run(resolved, sample_rows, cancel or threading.Event(), options, cluster_field)
    try:
        await run.execute()
    except asyncio.CancelledError:
        run.cancel.set()
    finally:
        run.close()
    return run.report()


def as_grader(grader: GraderSource) -> BaseGrader:
    """The grader ``score()`` runs for ``grader``: a grader, its config dict, or a Workbench's composed one."""
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
        self,
        grader: BaseGrader,
        rows: list[SampleRow],
        cancel: threading.Event,
        options: ScoreOptions,
        cluster_field: str,
    ) -> None:
        self.grader, self.rows, self.cancel, self.options = grader, rows, cancel, options
        self.cluster_field = cluster_field
        self.leaves: dict[str, BaseGrader] = (
            dict(grader.graders) if isinstance(grader, MultiGrader) else {grader.name: grader}
        )
        self.outcomes: dict[str, list[Outcome | None]] = {k: [None] * len(rows) for k in self.leaves}
        self.judges = JudgePhase(self.leaves, rows, self.outcomes)
        self.bar: Any = None
        self.expired = False  # the deadline was reached
        self._ends_at: float | None = None

    def _remaining(self) -> float | None:
        return None if self._ends_at is None else max(0.0, self._ends_at - time.monotonic())

    def _expire(self) -> None:
        self.expired = True
        self.cancel.set()  # stops the local phase; the judge phase is cancelled where it is awaited

    async def execute(self) -> None:
        local = {k: g for k, g in self.leaves.items() if not is_judge(g)}
        keys = [k for k in self.leaves if k not in local]
        # The judge is set up first: a bad configuration fails before minutes of local work, not after.
        needs_judge = any(not isinstance(self.leaves[k], EndpointGrader) for k in keys)
        judge = self.options.make_judge() if needs_judge else None
        expiry = None
        if self.options.deadline is not None:
            self._ends_at = time.monotonic() + self.options.deadline
            expiry = asyncio.get_running_loop().call_later(self.options.deadline, self._expire)
        try:
            if local:
                self.bar = _progress(self.options.progress, len(local) * len(self.rows), "local graders")
                await self._finish(asyncio.to_thread(
                    run_local_phase, local, self.rows, self.outcomes, cancel=self.cancel,
                    sandbox=self.options.sandbox, timeout=self.options.timeout,
                    advance=None if self.bar is None else self.bar.update,
                ))  # fmt: skip
                self.close()
            if keys and not self.cancel.is_set():
                await self._run_judges(keys, judge)
        finally:
            if expiry is not None:
                expiry.cancel()
            if judge is not None:
                # Always: its connections belong to this run's event loop, which ends with the run.
                # A judge passed in reconnects by itself when it is used again.
                await judge.aclose()

    async def _finish(self, work: Any) -> None:
        """Await the local phase's thread; when the run is cancelled, stop it and still wait for it.

        The report is built only after the thread has ended, so it never changes once returned, and no
        grading goes on behind the user's back.
        """
        future = asyncio.ensure_future(work)
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            self.cancel.set()  # the sandbox kills its busy workers within CANCEL_CHECK seconds
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(future)
            raise

    async def _run_judges(self, keys: list[str], judge: Any) -> None:
        applicable = applicability(self.grader, keys, self.outcomes, len(self.rows))
        self.judges.mask(applicable)
        endpoints = {k: v for k, v in applicable.items() if isinstance(self.leaves[k], EndpointGrader)}
        models = {k: v for k, v in applicable.items() if k not in endpoints}
        if judge is None:  # endpoint graders need no Judge; model graders are skipped, not guessed
            self.judges.skip(models)
            models = {}
        planned = sum(sum(flags) for flags in (*models.values(), *endpoints.values()))
        self.bar = _progress(self.options.progress, planned, "judge")
        work = [self.judges.run_endpoints(endpoints, self.bar)] if endpoints else []
        if models:
            work.append(self.judges.run(judge, models, self.bar))
        if not work:
            return
        task = asyncio.ensure_future(asyncio.gather(*work))
        try:
            done, _ = await asyncio.wait({task}, timeout=self._remaining())
        except asyncio.CancelledError:  # interrupted: stop the judge calls, keep the answers in hand
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        if done:
            task.result()  # a failure of the phase itself surfaces; it is not swallowed
            return
        self._expire()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def _deadline_notes(self) -> list[str]:
        if not self.expired:
            return []
        rows = sum(any(self.outcomes[k][i] is None for k in self.leaves) for i in range(len(self.rows)))
        return [f"the deadline of {self.options.deadline:g} s was reached: {rows} row(s) are unfinished; "
                "finished rows are kept, and a rerun resumes from the judge cache"]  # fmt: skip

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def report(self) -> ScoreReport:
        formula = (
            parse_formula(self.grader.calculate_output) if isinstance(self.grader, MultiGrader) else None
        )
        unclustered = _cluster_problems(self.rows, self.leaves)
        rewards, row_notes = [], []
        for i in range(len(self.rows)):
            reward, note = _reward(formula, {k: self.outcomes[k][i] for k in self.leaves})
            if unclustered[i]:  # a reward with every rubric masked looks like a score; it is flagged
                note = f"{unclustered[i]}; {note}" if note else unclustered[i]
            rewards.append(reward)
            row_notes.append(note)
        interrupted = any(o is None for outs in self.outcomes.values() for o in outs)
        return ScoreReport(
            grader=self.grader, rows=self.rows, leaves=self.leaves, outcomes=self.outcomes,
            rewards=rewards, reward_notes=row_notes, interrupted=interrupted,
            judge_calls=self.judges.calls, cluster_field=self.cluster_field,
            notes=[*_cluster_notes(unclustered, self.leaves), *_row_notes(self.rows), *self._deadline_notes(),
                   *run_notes(self.leaves, self.outcomes, self.judges.notes)],
        )  # fmt: skip


def _cluster_map(leaves: Mapping[str, BaseGrader]) -> ClusterMap | None:
    """The cluster map the indicator graders read (one per composed grader), if any."""
    maps = [g.cluster_map for g in leaves.values() if isinstance(g, IndicatorGrader) and g.cluster_map]
    return maps[0] if maps else None


def _cluster_problems(rows: Sequence[SampleRow], leaves: Mapping[str, BaseGrader]) -> list[str]:
    """Per row, why no rubric can apply to it ("" when its cluster is known to the map)."""
    cmap = _cluster_map(leaves)
    if cmap is None or not cmap.clusters:
        return [""] * len(rows)
    problems = []
    for row in rows:
        name = cluster_name(read_path(row.item, cmap.field))
        if name is None:
            problems.append(f"no cluster at item.{cmap.field}: every rubric is masked")
        elif name not in cmap.clusters:
            problems.append(f"cluster {name!r} is not in the cluster map: every rubric is masked")
        else:
            problems.append("")
    return problems


def _cluster_notes(problems: Sequence[str], leaves: Mapping[str, BaseGrader]) -> list[str]:
    bad = sum(1 for p in problems if p)
    if not bad:
        return []
    cmap = _cluster_map(leaves)
    assert cmap is not None
    return [f"{bad} of {len(problems)} rows have no known cluster at item.{cmap.field} (missing, or not one "
            f"of {', '.join(map(repr, cmap.clusters))}): no rubric counts for them, so their reward is not a "
            "rubric score; they are flagged (check the data, or %rft config --cluster-field)"]  # fmt: skip


def _reward(formula: Any, outs: Mapping[str, Outcome | None]) -> tuple[float | None, str]:
    if any(o is None for o in outs.values()):
        return None, "not finished (interrupted)"
    skipped = [k for k, o in outs.items() if o is not None and o.state == SKIPPED]
    if skipped:
        return None, f"incomplete: {', '.join(skipped)} skipped"
    scores = {k: reward_input(o) for k, o in outs.items()}
    errors = [k for k, o in outs.items() if o is not None and o.state == ERROR]
    note = f"error in {', '.join(errors)} (counted as 0)" if errors else ""
    if formula is None:
        return next(iter(scores.values())), note
    try:
        return formula.evaluate(scores), note
    except FormulaEvaluationError as e:
        return None, f"formula failed: {e}"


def _row_notes(rows: Sequence[SampleRow]) -> list[str]:
    """What the rows themselves needed before grading."""
    repaired = [str(r.index) for r in rows if r.repaired]
    if not repaired:
        return []
    shown = ", ".join(repaired[:5]) + (", ..." if len(repaired) > 5 else "")
    return [f"{len(repaired)} row(s) ({shown}) held text with lone UTF-16 surrogates (e.g. an output cut "
            "mid-emoji), which UTF-8 cannot carry; they were replaced with U+FFFD before grading"]  # fmt: skip


def run_notes(
    leaves: Mapping[str, BaseGrader],
    outcomes: Mapping[str, Sequence[Outcome | None]],
    judge_notes: Sequence[str],
) -> list[str]:
    """What the user should know about the whole run, one line each."""
    notes: list[str] = []
    for key, outs in outcomes.items():
        done = [o for o in outs if o is not None]
        approximate = next((o.info["approximate"] for o in done if o.info.get("approximate")), None)
        if approximate:  # similarity.fidelity_note: why this metric's local values may differ from hosted
            notes.append(f"{key}: {approximate}")
        clamped = sum(1 for o in done if o.info.get("clamped"))
        if clamped:
            notes.append(
                f"{key}: {clamped} judge result(s) were outside the range and clamped, as the service does"
            )
        timed_out = sum(1 for o in done if o.state == ERROR and TIMED_OUT in o.detail)
        if timed_out:
            notes.append(f"{key}: {timed_out} row(s) got no judge answer in time (counted 0 and flagged); "
                         "raise the judge timeout (%rft score --timeout, score(judge_timeout=...)) or check "
                         "the endpoint")  # fmt: skip
        if any(o.state == SKIPPED for o in done):
            detail = next(o.detail for o in done if o.state == SKIPPED)
            notes.append(f"{key}: skipped ({detail})")
        if any(o.info.get("note") for o in done):
            notes.append(f"{key}: {next(o.info['note'] for o in done if o.info.get('note'))}")
    return notes + list(judge_notes)


def _progress(enabled: bool, total: int, what: str) -> Any:
    """A progress bar for one phase; it appears only when the phase lasts over a second."""
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=what, unit="row", delay=1.0, leave=False)


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
        kind, value = _wait(outcome, patient=True)
    if kind == "error":
        raise value
    return value


def _wait(results: queue.Queue[tuple[str, Any]], *, patient: bool = False) -> tuple[str, Any]:
    """Wait for the run's outcome; when ``patient``, a further Ctrl-C does not abandon the finished rows."""
    while True:
        try:
            return results.get(timeout=0.1)
        except queue.Empty:
            continue
        except KeyboardInterrupt:
            if not patient:
                raise
