"""The pool of sandbox worker processes; the package docstring says what it protects and why.

Example::

    >>> with Sandbox(workers=1) as box:
    ...     box.grade_many("def grade(sample, item):\\n    return 1", [({}, {})])
    [PythonResult(score=1.0, error=None, detail='', stdout='')]
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import selectors
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from rftkit_nb.errors import ConfigError, ErrorCategory
from rftkit_nb.scoring.sandbox import worker as _worker
from rftkit_nb.scoring.sandbox.process import WorkerProcess, encode_json, stop_workers

__all__ = ["RUNTIME_ERROR", "SERVER_ERROR", "PythonResult", "Sandbox"]

RUNTIME_ERROR = ErrorCategory.PYTHON_RUNTIME  # the grader failed (raised, hung, crashed, bad value)
SERVER_ERROR = ErrorCategory.PYTHON_SERVER  # this machinery failed (a worker would not start or talk)
STARTUP_TIMEOUT = 60.0  # seconds a fresh worker may take to report ready; charged to no row
CANCEL_CHECK = 0.05  # seconds between looks at a cancel flag, so an interrupt stops work at once
SOURCES_KEPT = 4  # grader sources whose workers stay warm; each source has workers of its own
FILE_LIMIT_MB = 1024  # the service's disk allowance: the most any file a grader writes may hold
FD_OUTPUT_LABEL = "[written straight to fd 1/2]"
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
# Whole parts of a variable name (split on _ and -) that mark a secret: API_KEY and GITHUB_TOKEN do,
# PIP_KEYRING_PROVIDER and GIT_AUTHOR_NAME do not.
_SECRET_PARTS = frozenset({"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL",
                           "CREDENTIALS", "AUTH", "COOKIE"})  # fmt: skip
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")  # a URL that carries user:password@


@dataclass(frozen=True, slots=True)
class PythonResult:
    """One row's outcome.

    ``score`` is None when the row failed; ``error`` is then ``RUNTIME_ERROR`` or ``SERVER_ERROR`` and
    ``detail`` the reason in one line, then the traceback if the grader raised. ``stdout`` is what the
    ``grade`` call printed to stdout and stderr (the first 10,000 characters).
    """

    score: float | None
    error: str | None = None
    detail: str = ""
    stdout: str = ""


class _Call:
    """One ``grade_many`` call: hands batches to the pool's workers and collects one result per row."""

    def __init__(
        self, box: Sandbox, source: str, rows: list[str], cancel: threading.Event | None = None
    ) -> None:
        self.box, self.cancel = box, cancel
        self.source, self.key, self.rows = source, sha256(source.encode()).hexdigest(), rows
        self.workers = box._workers_for(self.key)
        self.queue: deque[int] = deque(range(len(rows)))
        self.results: list[PythonResult | None] = [None] * len(rows)
        self.selector = selectors.DefaultSelector()

    def run(self) -> list[PythonResult | None]:
        try:
            for worker in self.workers:
                self.selector.register(worker.rfd, selectors.EVENT_READ, worker)
            while self.queue or any(w.busy for w in self.workers):
                if self.cancel is not None and self.cancel.is_set():
                    self.stop()
                    break
                self.dispatch()
                self.wait_and_handle()
        except BaseException:  # interrupted: a worker holding half a batch cannot be trusted any more
            self.stop()
            raise
        finally:
            self.selector.close()
        return self.results  # every row is answered, unless the call was cancelled

    def stop(self) -> None:
        """Kill the workers holding rows (with anything they started); unanswered rows stay None."""
        for worker in [w for w in self.workers if w.busy]:
            self.retire(worker)
        self.queue.clear()

    def dispatch(self) -> None:
        box = self.box
        for worker in [w for w in self.workers if not w.busy and w.popen.poll() is not None]:
            self.retire(worker)  # died while idle (OOM killer, kill -9): replace it quietly
        idle = [w for w in self.workers if not w.busy]
        while self.queue:
            if not idle and len(self.workers) < box.workers:
                try:
                    idle.append(WorkerProcess(box._command, box._env))
                except OSError as exc:
                    return self.fail_queue(SERVER_ERROR, f"could not start {box.python!r}: {exc}")
                self.workers.append(idle[-1])
                self.selector.register(idle[-1].rfd, selectors.EVENT_READ, idle[-1])
            if not idle:
                return None
            # small calls and the tail of big ones get smaller batches, so every worker has a share
            size = max(1, min(box.batch_size, -(-len(self.queue) // (2 * box.workers))))
            batch = [self.queue.popleft() for _ in range(min(size, len(self.queue)))]
            worker = idle.pop()
            worker.pending.extend(batch)
            worker.send_batch(self.key, self.source, [self.rows[i] for i in batch])
            self.flush(worker)
        return None

    def flush(self, worker: WorkerProcess) -> None:
        try:
            worker.flush()
        except BrokenPipeError:
            return self.fail_worker(worker, RUNTIME_ERROR, worker.death_note())
        if worker.outbuf:
            self.selector.register(worker.wfd, selectors.EVENT_WRITE, worker)
        return None

    def wait_and_handle(self) -> None:
        busy = [w for w in self.workers if w.busy]
        if not busy:
            return
        deadline = min(w.since + (self.box.timeout if w.ready else STARTUP_TIMEOUT) for w in busy)
        wait = max(0.0, deadline - time.monotonic())
        if self.cancel is not None:
            wait = min(wait, CANCEL_CHECK)
        for key, events in self.selector.select(wait):
            worker: WorkerProcess = key.data
            if worker not in self.workers:
                continue  # retired earlier in this round
            if events & selectors.EVENT_WRITE:
                self.selector.unregister(worker.wfd)
                self.flush(worker)
            else:
                self.read(worker)
        for worker in [w for w in self.workers if w.busy]:
            self.enforce_timeout(worker)

    def enforce_timeout(self, worker: WorkerProcess) -> None:
        now, timeout = time.monotonic(), self.box.timeout
        if not worker.ready:
            if now - worker.since > STARTUP_TIMEOUT:
                self.fail_worker(worker, SERVER_ERROR, f"not ready after {STARTUP_TIMEOUT} s")
            return
        if now - worker.since <= timeout:
            return
        if not worker.loading:
            started_at = worker.row_in_progress()[1]
            if now - started_at <= timeout:  # the row began after the last frame we read
                worker.since = started_at
                return
        self.fail_worker(worker, RUNTIME_ERROR, f"timed out after {float(timeout)} s")

    def read(self, worker: WorkerProcess) -> None:
        try:
            frames = worker.read_frames()
        except ValueError as exc:  # JSON or UTF-8 garbage on the pipe: the protocol broke
            return self.fail_worker(worker, SERVER_ERROR, f"unreadable message from the worker: {exc}")
        if frames is None:
            return self.fail_worker(worker, RUNTIME_ERROR, worker.death_note())
        worker.since = time.monotonic()
        for frame in frames:
            if isinstance(frame, list) and not worker.loading and len(frame) <= len(worker.pending):
                worker.done += len(frame)
                raw = worker.take_output()
                direct = f"{FD_OUTPUT_LABEL} (during a batch of {len(frame)} rows):\n{raw}" if raw else ""
                for score, detail, output in frame:
                    output = f"{output}\n{direct}".strip("\n") if direct else output
                    self.results[worker.pending.popleft()] = (
                        PythonResult(score, None, "", output)
                        if detail is None
                        else PythonResult(None, RUNTIME_ERROR, detail, output)
                    )
            elif isinstance(frame, dict) and "load" in frame and worker.loading:
                worker.loading = False
                if frame["load"] is not None:
                    self.fail_rows(worker.pending, RUNTIME_ERROR, frame["load"], frame["out"])
                    self.fail_queue(RUNTIME_ERROR, frame["load"], frame["out"])
            elif isinstance(frame, dict) and "ready" in frame:
                worker.ready = True
            else:
                return self.fail_worker(worker, SERVER_ERROR, f"unexpected message from the worker: {frame}")
        return None

    def fail_worker(self, worker: WorkerProcess, category: str, reason: str) -> None:
        """The worker is gone or hopeless: charge the row in progress (or the whole call), retire it."""
        if not worker.ready:
            reason = f"the grader process failed to start: {reason}"
            self.fail_rows(worker.pending, SERVER_ERROR, reason)
            self.fail_queue(SERVER_ERROR, reason)
        elif worker.loading:
            reason = f"{reason}, while running the grader source's top-level code"
            self.fail_rows(worker.pending, category, reason)
            self.fail_queue(category, reason)
        elif worker.pending:
            index = worker.row_in_progress()[0]
            self.fail_rows([worker.pending[index]], category, reason)
            del worker.pending[index]
            self.queue.extendleft(reversed(worker.pending))  # the rest of its batch goes to a fresh worker
        self.retire(worker)

    def fail_rows(self, rows: Sequence[int], category: str, detail: str, output: str = "") -> None:
        for i in rows:
            self.results[i] = PythonResult(None, category, detail, output)
        if isinstance(rows, deque):
            rows.clear()

    def fail_queue(self, category: str, detail: str, output: str = "") -> None:
        self.fail_rows(self.queue, category, detail, output)

    def retire(self, worker: WorkerProcess) -> None:
        for fd in (worker.rfd, worker.wfd):
            if fd in self.selector.get_map():
                self.selector.unregister(fd)
        worker.pending.clear()
        worker.loading = False
        worker.close()
        self.workers.remove(worker)


class Sandbox:
    """A pool of worker processes that run python grader source, one row at a time, within limits.

    ``workers``: processes (default: the CPUs this process may use). ``timeout``: seconds per row, and for
    the source's top-level code. ``memory_mb``: address-space cap per worker (None: no cap).
    ``block_network``: internet sockets raise ``PermissionError``. ``batch_size``: most rows per message.
    ``python``: the interpreter the workers run (default: this one; any Python 3.9 or newer).

    Example::

        >>> source = "def grade(sample, item):\\n    return float(sample['output_text'] == item['answer'])"
        >>> with Sandbox(workers=2, timeout=5) as box:
        ...     [r.score for r in box.grade_many(source, [({"output_text": "4"}, {"answer": "4"})])]
        [1.0]
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float = 30.0,
        memory_mb: int | None = 2048,
        block_network: bool = True,
        batch_size: int = 64,
        python: str | None = None,
    ) -> None:
        self.workers = _default_workers() if workers is None else workers
        self.timeout, self.memory_mb, self.block_network = timeout, memory_mb, block_network
        self.batch_size, self.python = batch_size, python or sys.executable
        _check_settings(self)
        settings = {"memory_mb": memory_mb, "block_network": block_network, "parent_pid": os.getpid(),
                    "file_limit_mb": FILE_LIMIT_MB}  # fmt: skip
        self._command = [self.python, _worker.__file__, json.dumps(settings)]
        self._env = _worker_environment(os.environ)
        self._secrets = _secret_values(os.environ)
        # Workers per grader source: one grader patching re or builtins never changes another's scores.
        self._pools: OrderedDict[str, list[WorkerProcess]] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        # a Sandbox nobody closed still reaps its processes when collected or at interpreter exit
        self._finalizer = weakref.finalize(self, _stop_pools, self._pools)

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """Process ids of the live workers (for diagnostics)."""
        return tuple(w.popen.pid for pool in self._pools.values() for w in pool)

    def _workers_for(self, key: str) -> list[WorkerProcess]:
        """The workers of one source (created empty), keeping the most recently used sources warm."""
        pool = self._pools.setdefault(key, [])
        self._pools.move_to_end(key)
        while len(self._pools) > SOURCES_KEPT:
            stop_workers(self._pools.popitem(last=False)[1])
        return pool

    def grade_many(
        self,
        source: str,
        pairs: Sequence[tuple[Mapping, Mapping]],
        *,
        cancel: threading.Event | None = None,
    ) -> list[PythonResult | None]:
        """Grade each ``(sample, item)`` pair with ``source``'s ``grade``; one result per pair, in order.

        A score is a finite float: an ``int`` (or a numpy number) return counts as that float, while a
        ``bool``, NaN, inf, ``str`` or ``None`` is a row error. Source that does not compile, or has no
        ``grade(sample, item)``, gives every row the same runtime error. Raises ``ConfigError`` when
        ``source`` is not a str or a pair is not two JSON-serialisable values. When ``cancel`` is set
        during the call, the busy workers are killed at once and rows not finished by then are None.

        Example::

            >>> with Sandbox(workers=1) as box:
            ...     box.grade_many("def grade(sample, item):\\n    return True", [({}, {})])[0].error
            'python_grader_runtime_error'
        """
        if not isinstance(source, str):
            raise ConfigError(f"source must be a str of Python code, not {type(source).__name__}")
        rows = [_encode_pair(index, pair) for index, pair in enumerate(pairs)]
        with self._lock:
            if self._closed:
                raise ConfigError("this Sandbox is closed; create a new Sandbox(...) to grade again")
            results = _Call(self, source, rows, cancel).run() if rows else []
        if not self._secrets:
            return results
        return [None if r is None else _masked(r, self._secrets) for r in results]

    def close(self) -> None:
        """Stop and reap every worker process. Calling it again does nothing."""
        with self._lock:
            self._closed = True
            self._finalizer()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _stop_pools(pools: OrderedDict[str, list[WorkerProcess]]) -> None:
    for pool in pools.values():
        stop_workers(pool)
    pools.clear()


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _check_settings(box: Sandbox) -> None:
    for name, kinds in (("workers", int), ("batch_size", int), ("timeout", (int, float))):
        value = getattr(box, name)
        if isinstance(value, bool) or not isinstance(value, kinds) or not 0 < value < float("inf"):
            raise ConfigError(f"Sandbox({name}={value!r}): {name} must be a positive, finite number")
    memory = box.memory_mb
    if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int) or memory < 128):
        raise ConfigError(f"Sandbox(memory_mb={memory!r}): give whole megabytes, at least 128 (or None)")


def _looks_secret(name: str, value: str) -> bool:
    parts = set(re.split(r"[_\-]+", name.upper()))
    return bool(parts & _SECRET_PARTS) or bool(_URL_WITH_PASSWORD.search(value))


def _secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values worth masking in what graders return: long enough not to mask ordinary words."""
    return tuple(
        sorted({v for k, v in environ.items() if _looks_secret(k, v) and len(v) >= 8}, key=len, reverse=True)
    )


def _masked(result: PythonResult, secrets: tuple[str, ...]) -> PythonResult:
    stdout, detail = result.stdout, result.detail
    for secret in secrets:
        stdout, detail = stdout.replace(secret, "***"), detail.replace(secret, "***")
    if stdout is result.stdout and detail is result.detail:
        return result
    return dataclasses.replace(result, stdout=stdout, detail=detail)


def _worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The kernel's environment minus what looks like a secret; one BLAS thread unless set."""
    env = {k: v for k, v in environ.items() if not _looks_secret(k, v)}
    for name in _THREAD_VARIABLES:
        env.setdefault(name, "1")  # N workers already use the cores; N x cores threads would thrash
    return env


def _encode_pair(index: int, pair: Any) -> str:
    try:
        sample, item = pair
    except (TypeError, ValueError):
        raise ConfigError(f"pairs[{index}] must be a (sample, item) pair") from None
    try:
        return encode_json([sample, item])
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"pairs[{index}] is not JSON-serialisable ({exc}); pass dicts of str, numbers, lists and "
            "dicts, as the service does"
        ) from exc
