"""The parent's side of one sandbox worker process: its pipes, buffers, crash log and rows in flight.

``WorkerProcess`` starts ``worker.py`` with ``subprocess.Popen`` and speaks its frame protocol
over non-blocking pipes; :mod:`rftkit_nb.scoring.sandbox` schedules rows across a pool of them. The
process's fd 1 and 2 go to a temporary crash log, so a death can be explained with what it last wrote.

Example::

    >>> import json, os, sys
    >>> from rftkit_nb.scoring.sandbox import worker as _sandbox_worker
    >>> settings = json.dumps({"memory_mb": None, "block_network": True, "parent_pid": os.getpid()})
    >>> workers = [WorkerProcess([sys.executable, _sandbox_worker.__file__, settings], dict(os.environ))]
    >>> workers[0].busy
    False
    >>> stop_workers(workers)
    >>> workers
    []
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections import OrderedDict, deque
from typing import Any

from rftkit_nb.scoring.sandbox import worker as _worker

__all__ = ["WorkerProcess", "encode_json", "stop_workers"]

encode_json = json.JSONEncoder(separators=(",", ":")).encode  # compact: rows cross the pipe as JSON


class WorkerProcess:
    """One worker process and the parent's view of it: pipes, buffers, rows in flight."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        # the worker's fd 1 and 2 (faulthandler dumps land here) and its progress record; closed by close()
        self.log, self.progress = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        self.progress.truncate(_worker.PROGRESS.size)
        try:
            self.popen = subprocess.Popen(  # noqa: S603  -- our interpreter running our worker script
                [*command, str(self.progress.fileno())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                env=env,
                pass_fds=(self.progress.fileno(),),
            )
        except BaseException:
            self.log.close()
            self.progress.close()
            raise
        assert self.popen.stdin is not None
        assert self.popen.stdout is not None
        self.rfd, self.wfd = self.popen.stdout.fileno(), self.popen.stdin.fileno()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.inbuf, self.outbuf = bytearray(), bytearray()
        self.known: OrderedDict[str, None] = OrderedDict()  # mirrors the worker's cache of loaded sources
        self.pending: deque[int] = deque()  # rows sent and not yet answered, in order
        self.done = 0  # rows answered over the process's life; compare with the progress record
        self.ready = self.loading = False
        self.since = time.monotonic()  # when the parent last saw progress (or started the process)
        self.log_mark = 0

    @property
    def busy(self) -> bool:
        return self.loading or bool(self.pending)

    def send_batch(self, key: str, source: str, rows: list[str]) -> None:
        """Queue one batch frame; the source goes only to a worker that has not loaded it yet."""
        send_source = key not in self.known
        self.known[key] = None
        self.known.move_to_end(key)
        while len(self.known) > _worker.CACHE_SIZE:
            self.known.popitem(last=False)
        body = f'["{key}",{encode_json(source) if send_source else "null"},[{",".join(rows)}]]'.encode()
        self.outbuf += _worker.frame(body)
        self.loading = True
        self.log_mark = os.fstat(self.log.fileno()).st_size
        if self.ready:
            self.since = time.monotonic()

    def flush(self) -> None:
        """Write what the pipe takes now (BrokenPipeError when the worker is gone)."""
        with contextlib.suppress(BlockingIOError):
            del self.outbuf[: os.write(self.wfd, self.outbuf)]

    def read_frames(self) -> list[Any] | None:
        """Decode every complete frame waiting on the pipe; None at end of file."""
        data = os.read(self.rfd, 1 << 18)
        if not data:
            return None
        self.inbuf += data
        return _worker.split_frames(self.inbuf)

    def row_in_progress(self) -> tuple[int, float]:
        """(index in ``pending`` of the row being graded, when it started), from the progress record."""
        started_at, started = _worker.read_progress(self.progress.fileno())
        return min(max(started - self.done - 1, 0), max(len(self.pending) - 1, 0)), started_at

    def death_note(self) -> str:
        """How the process ended, plus what it wrote to stderr since the current batch was sent."""
        try:
            code = self.popen.wait(timeout=2.0)
        except subprocess.TimeoutExpired:  # it closed its pipes but lingers: finish it
            self.popen.kill()
            code = self.popen.wait()
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            why = f"killed by {name}" + ("; the OS may have run out of memory" if name == "SIGKILL" else "")
        else:
            why = f"exit code {code}"
        end = os.fstat(self.log.fileno()).st_size
        start = max(self.log_mark, end - 4000)
        tail = os.pread(self.log.fileno(), end - start, start).decode(errors="replace").strip()
        return f"the grader process died ({why})" + (f"\n{tail}" if tail else "")

    def close(self, grace: float = 0.0) -> None:
        """End the process (after ``grace`` seconds to leave by itself), reap it, close every file."""
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.log.close()
        self.progress.close()


def stop_workers(workers: list[WorkerProcess]) -> None:
    """Close every worker's input (it then exits), wait a moment for them all, kill what remains."""
    for worker in workers:
        if worker.popen.stdin is not None:
            worker.popen.stdin.close()
    deadline = time.monotonic() + 1.0
    for worker in workers:
        worker.close(grace=max(0.0, deadline - time.monotonic()))
    workers.clear()
