"""The local phase of a run: string_check, text_similarity and python graders, in chunks.

Rows go through in chunks so that an interrupt is honoured within one chunk and a progress bar can
move. Python graders wait on sandbox worker processes, so they run on a second thread while the
in-process metrics use this one, keeping both cores busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rftkit_nb.core.graders import BaseGrader
from rftkit_nb.scoring.outcomes import Outcome
from rftkit_nb.scoring.rows import SampleRow
from rftkit_nb.scoring.runners import run_local

__all__ = ["CHUNK_ROWS", "run_local_phase"]

#: Rows per chunk: large enough that the sandbox's batching stays efficient, small enough that an
#: interrupt is honoured within a fraction of a second.
CHUNK_ROWS = 1_000


def run_local_phase(
    graders: Mapping[str, BaseGrader],
    rows: Sequence[SampleRow],
    outcomes: dict[str, list[Outcome | None]],
    *,
    cancel: threading.Event,
    sandbox: Any = None,
    timeout: float = 30.0,
    advance: Callable[[int], None] | None = None,
) -> None:
    """Fill ``outcomes[key][i]`` for every local grader and row, until done or ``cancel`` is set.

    ``sandbox``: a :class:`~rftkit_nb.scoring.sandbox.Sandbox` to use (left open), else one is made for
    the run when a python grader needs it. ``advance(n)`` is called as rows finish (a progress bar).
    """
    if not graders:
        return
    python = {k: g for k, g in graders.items() if g.type == "python"}
    others = {k: g for k, g in graders.items() if k not in python}
    owned = sandbox is None and bool(python)
    if owned:
        from rftkit_nb.scoring.sandbox import Sandbox

        sandbox = Sandbox(timeout=timeout)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rftkit-python") if python else None
    try:
        pending = pool.submit(_run_chunks, python, rows, outcomes, cancel, sandbox, advance) if pool else None
        _run_chunks(others, rows, outcomes, cancel, sandbox, advance)
        if pending is not None:
            pending.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        if owned:
            sandbox.close()


def _run_chunks(
    graders: Mapping[str, BaseGrader],
    rows: Sequence[SampleRow],
    outcomes: dict[str, list[Outcome | None]],
    cancel: threading.Event,
    sandbox: Any,
    advance: Callable[[int], None] | None,
) -> None:
    for key, grader in graders.items():
        for start in range(0, len(rows), CHUNK_ROWS):
            if cancel.is_set():
                return
            chunk = rows[start : start + CHUNK_ROWS]
            done = run_local(grader, chunk, sandbox, cancel)
            outcomes[key][start : start + len(chunk)] = done
            if advance is not None:
                advance(sum(o is not None for o in done))
