"""The parent's side of one sandbox worker process: its pipes, buffers, crash log and rows in flight.

``WorkerProcess`` starts ``worker.py`` with ``subprocess.Popen`` and speaks its frame protocol
over non-blocking pipes; :mod:`rftkit_nb.scoring.sandbox.pool` schedules rows across a pool of them.

Each worker leads its own session (process group), so a timeout or the end of a run kills it together
with anything it started, and a grader calling ``os.killpg(0, ...)`` reaches only its own group, never
the kernel's. Workers are started from one long-lived thread: Linux's parent-death signal, which kills
a worker when the kernel dies, is tied to the thread that started it. The process's fd 1 and 2 go to
an append-only temporary log, emptied after every batch (what a batch wrote there is shown with its
rows), so a chatty subprocess cannot fill the disk, and a death can be explained with what it wrote.

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
import fcntl
import json
import os
import signal
import subprocess
import tempfile
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rftkit_nb.scoring.sandbox import worker as _worker

__all__ = ["WorkerProcess", "encode_json", "stop_workers"]

encode_json = json.JSONEncoder(separators=(",", ":")).encode  # compact: rows cross the pipe as JSON
OUTPUT_HEAD = 2_000  # bytes of what a batch wrote straight to fd 1/2 that are kept and shown

# The one thread that starts workers; it lives as long as the process (see the module docstring).
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rftkit-sandbox-spawner")


class WorkerProcess:
    """One worker process and the parent's view of it: pipes, buffers, rows in flight."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        # the worker's fd 1 and 2 (faulthandler dumps land here) and its progress record; closed by close()
        self.log, self.progress = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        self.progress.truncate(_worker.PROGRESS.size)
        # append-only, so the worker's writes land at the start again once the parent empties the file
        fcntl.fcntl(
            self.log.fileno(), fcntl.F_SETFL, fcntl.fcntl(self.log.fileno(), fcntl.F_GETFL) | os.O_APPEND
        )
        try:
            self.popen = _spawner.submit(
                subprocess.Popen,  # our interpreter running our worker script
                [*command, str(self.progress.fileno())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                env=env,
                pass_fds=(self.progress.fileno(),),
                start_new_session=True,
            ).result()
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

    def take_output(self) -> str:
        """What the process (or anything it started) wrote straight to fd 1/2 since the last call: its
        first ``OUTPUT_HEAD`` bytes, with the size of the rest. The log is emptied to bound the disk."""
        fd = self.log.fileno()
        size = os.fstat(fd).st_size
        if size == 0:
            return ""
        head = os.pread(fd, min(size, OUTPUT_HEAD), 0).decode(errors="replace")
        os.ftruncate(fd, 0)
        self.log_mark = 0
        more = f"\n... [{size - OUTPUT_HEAD} more bytes dropped]" if size > OUTPUT_HEAD else ""
        return head + more

    def kill(self) -> None:
        """SIGKILL the worker's whole process group: the worker and whatever its grader started."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def death_note(self) -> str:
        """How the process ended, plus what it wrote to stderr since the current batch was sent."""
        try:
            code = self._reap(timeout=2.0)
        except subprocess.TimeoutExpired:  # it closed its pipes but lingers: finish it
            self.kill()
            code = self._reap()
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            why = f"killed by {name}" + ("; the OS may have run out of memory" if name == "SIGKILL" else "")
        else:
            why = f"exit code {code}"
        end = os.fstat(self.log.fileno()).st_size
        start = max(self.log_mark, end - 4000)
        tail = os.pread(self.log.fileno(), end - start, start).decode(errors="replace").strip()
        return f"the grader process died ({why})" + (f"\n{tail}" if tail else "")

    def _reap(self, timeout: float | None = None) -> int:
        """Wait for the worker to exit, kill what is left of its group, then collect its exit code.

        The group is killed while the exited worker is still unreaped, so its process-group id cannot
        have been handed to another process yet.
        """
        if self.popen.returncode is not None:
            return self.popen.returncode
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                exited = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # already reaped elsewhere
                return self.popen.wait()
            if exited is not None:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.popen.args, timeout or 0.0)
            time.sleep(0.005)
        self.kill()
        return self.popen.wait()

    def close(self, grace: float = 0.0) -> None:
        """End the process (after ``grace`` seconds to leave by itself) and everything it started, reap
        it, close every file."""
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()
        try:
            self._reap(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
            self._reap()
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
