"""The process that runs python grader source on behalf of ``rftkit_nb.scoring.sandbox`` (this package).

It runs as a script (``python worker.py SETTINGS_JSON PROGRESS_FD``) and imports the standard
library only, so a grader sees the interpreter's installed packages and nothing of rftkit_nb or the kernel.

Protocol (parent <-> worker), over the worker's original stdin/stdout, which it moves to private file
descriptors at start-up so that user code writing to fd 1 cannot corrupt it. Every frame is an 8-byte
big-endian length followed by that many bytes of UTF-8 JSON:

* worker -> parent, once at start: ``{"ready": pid}``
* parent -> worker, one per batch: ``[key, source_or_null, [[sample, item], ...]]``; ``source`` is sent only
  the first time this worker sees ``key`` (the parent mirrors the worker's LRU cache of loaded sources).
* worker -> parent, one per batch, after loading: ``{"load": error_or_null, "out": load_output}``;
  after a load error no rows follow.
* worker -> parent: ``[[score_or_null, error_detail_or_null, captured_output], ...]``, one entry per row in
  order; one frame at the end of the batch, or more when the batch runs past ``FLUSH_AFTER`` seconds.

Besides the pipes, the worker writes ``PROGRESS`` = (``time.monotonic()`` when the current row started,
rows started so far) into a 16-byte file it maps (``argv[2]`` is its descriptor). The parent reads it
only when a worker overruns its timeout or dies, to know which row was in progress: no message per row.

Example (the parent's side, by hand)::

    import subprocess, sys, tempfile
    progress = tempfile.TemporaryFile(); progress.truncate(PROGRESS.size)
    worker = subprocess.Popen([sys.executable, __file__, "{}", str(progress.fileno())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=[progress.fileno()])
    worker.stdin.write(frame(b'["k", "def grade(s, i):\\n    return 1", [[{}, {}]]]'))
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import faulthandler
import inspect
import io
import json
import linecache
import math
import mmap
import numbers
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from typing import Any, NamedTuple

NETWORK_DISABLED = "network access is disabled in python graders"
SOURCE_FILENAME = "<grader>"
CACHE_SIZE = 8  # the parent keeps the same number; both evict the least recently used source
FLUSH_AFTER = 0.1  # seconds: a batch running longer than this sends what it has finished
PROGRESS = struct.Struct("<dQ")  # (time.monotonic() when the current row started, rows started so far)
HEADER = struct.Struct(">Q")
_encode = json.JSONEncoder(separators=(",", ":")).encode
_DETAIL_LIMIT = 20_000


def frame(body: bytes) -> bytes:
    """One protocol frame: the body's length, then the body."""
    return HEADER.pack(len(body)) + body


def split_frames(buffer: bytearray) -> list[Any]:
    """Decode every complete frame at the start of ``buffer`` and remove them from it."""
    frames, at = [], 0
    while len(buffer) - at >= HEADER.size:
        end = at + HEADER.size + HEADER.unpack_from(buffer, at)[0]
        if end > len(buffer):
            break
        frames.append(json.loads(buffer[at + HEADER.size : end]))
        at = end
    del buffer[:at]
    return frames


def read_progress(fd: int) -> tuple[float, int]:
    """(when the current row started, rows started so far), as the worker last wrote them to ``fd``."""
    raw = os.pread(fd, PROGRESS.size, 0)
    while raw != (again := os.pread(fd, PROGRESS.size, 0)):  # torn: the worker was writing; read again
        raw = again
    return PROGRESS.unpack(raw)


class _BoundedWriter(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters written to it and counts the rest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._parts: list[str] = []
        self._kept = 0
        self._dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = max(self._limit - self._kept, 0)
        if room:
            piece = text[:room]
            self._parts.append(piece)
            self._kept += len(piece)
        self._dropped += len(text) - min(len(text), room)
        return len(text)

    def reset(self) -> None:
        self._parts.clear()
        self._kept = self._dropped = 0

    def getvalue(self) -> str:
        text = "".join(self._parts)
        if self._dropped:
            text += f"\n... [{self._dropped} more characters of output dropped]\n"
        return text


def _blocked(*_args: object, **_kwargs: object) -> None:
    raise PermissionError(NETWORK_DISABLED)


def block_network() -> None:
    """Make every way of opening an internet socket raise ``PermissionError``.

    Unix-domain sockets stay allowed: asyncio's event loop needs ``socket.socketpair()`` for its self-pipe.
    """
    original = socket.socket
    local = {getattr(socket, "AF_UNIX", None)} - {None}

    class GuardedSocket(original):  # type: ignore[misc, valid-type]
        def __init__(self, family: int = -1, *args: object, **kwargs: object) -> None:
            if family == -1 or family not in local:
                raise PermissionError(NETWORK_DISABLED)
            super().__init__(family, *args, **kwargs)

    GuardedSocket.__name__ = GuardedSocket.__qualname__ = "socket"
    socket.socket = GuardedSocket  # type: ignore[misc]
    socket.SocketType = GuardedSocket
    for name in ("create_connection", "create_server", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
                 "gethostbyaddr", "getnameinfo", "fromfd"):  # fmt: skip
        if hasattr(socket, name):
            setattr(socket, name, _blocked)


def set_memory_limit(megabytes: int | None) -> None:
    """Cap the address space; allocations past it raise ``MemoryError`` (best effort: not on macOS)."""
    if megabytes is None:
        return
    try:
        import resource
    except ImportError:  # Windows has no rlimits
        return
    limit = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):  # some kernels (macOS) refuse RLIMIT_AS: best effort
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _exit_when_orphaned(parent_pid: int) -> None:
    # If the kernel dies while a grader loops forever, nobody would read our pipe again: leave.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(3)


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the kernel dies, even inside a long C call.

    The watchdog thread above cannot run while a C extension holds the GIL; the kernel's death signal
    needs no cooperation. The parent starts workers from a thread that lives as long as it does, since
    Linux sends the signal when the *thread* that started us ends.
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the kernel died before the request took effect
        os._exit(3)


def bound_written_files(megabytes: int | None) -> None:
    """Cap every file this process (and anything it starts) writes, its fd 1/2 log included.

    SIGXFSZ is ignored so a write past the cap fails with EFBIG instead of killing the grader; the
    parent empties the log after each batch, so the cap bounds what one batch can write.
    """
    if megabytes is None:
        return
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        limit = megabytes * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))


class _ContractError(Exception):
    """The source loaded but breaks the grader contract; the message is the whole detail."""


def format_exception(exc: BaseException) -> str:
    """One line naming the exception, then the traceback without this module's frames."""
    if isinstance(exc, _ContractError):
        return str(exc)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    head = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return (head + "\n" + "".join(lines))[:_DETAIL_LIMIT]


def _describe(value: object) -> str:
    kind = type(value).__module__ + "." + type(value).__qualname__
    try:
        shown = repr(value)
    except Exception:  # user classes may have a broken __repr__; the type is enough then
        shown = "(unprintable)"
    return f"{kind.removeprefix('builtins.')} {shown if len(shown) <= 80 else shown[:77] + '...'}"


def check_score(value: object) -> tuple[float | None, str | None]:
    """Accept a finite real number (int and numpy scalars included, bool refused), as the service does."""
    if type(value) is float:
        number = value
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None, f"grade() returned {_describe(value)}; it must return a finite float such as 0.5"
    else:
        try:
            number = float(value)
        except Exception as exc:  # user numeric types may raise anything from __float__
            return None, f"grade() returned {_describe(value)}, which is not convertible to float: {exc}"
    if not math.isfinite(number):
        return None, f"grade() returned {number!r}; it must return a finite float such as 0.5"
    return number, None


def load_grade(source: str, module_name: str) -> Callable[[object, object], object]:
    """Compile and run ``source`` as a module; return its ``grade``, checked to take (sample, item).

    Raises ``_ContractError`` when ``grade`` is absent, not callable or takes the wrong arguments;
    whatever the source itself raises propagates.
    """
    code = compile(source, SOURCE_FILENAME, "exec")
    module = types.ModuleType(module_name)
    module.__dict__["__builtins__"] = builtins
    sys.modules[module_name] = module
    exec(code, module.__dict__)  # noqa: S102  -- running user grader code is this process's purpose
    grade = module.__dict__.get("grade")
    if grade is None:
        raise _ContractError("the source defines no `grade`; define `def grade(sample, item) -> float`")
    if not callable(grade):
        raise _ContractError(f"`grade` is {_describe(grade)}, not a function taking (sample, item)")
    try:
        signature = inspect.signature(grade)
    except (TypeError, ValueError):  # some builtins have no signature: let the call decide
        return grade
    try:
        signature.bind(None, None)
    except TypeError:
        raise _ContractError(
            f"`grade{signature}` cannot be called as grade(sample, item); it must take two arguments"
        ) from None
    return grade


class _Loaded(NamedTuple):
    grade: Callable[[object, object], object] | None
    error: str | None  # the load failed: every row of this source gets this detail
    output: str  # what the module-level code printed
    source: str


class Worker:
    """Grades batches read from ``reader``, writing frames to ``writer_fd`` and progress to ``progress``."""

    def __init__(self, reader: io.BufferedReader, writer_fd: int, progress: Any, output_limit: int) -> None:
        self.reader = reader
        self.writer_fd = writer_fd
        self.progress = progress
        self.started = 0  # rows started over this process's life; the parent counts the rows it got back
        self.output = _BoundedWriter(output_limit)
        self.loaded: collections.OrderedDict[str, _Loaded] = collections.OrderedDict()
        self.shown_key = ""

    def send(self, message: object) -> None:
        view = memoryview(frame(_encode(message).encode()))
        while view:
            view = view[os.write(self.writer_fd, view) :]

    def receive(self) -> Any:
        header = self.reader.read(HEADER.size)
        if len(header) < HEADER.size:
            return None
        (size,) = HEADER.unpack(header)
        return json.loads(self.reader.read(size))

    def captured(self, call: Callable[..., object], *args: object) -> tuple[object, BaseException | None]:
        """Run ``call(*args)`` with stdout and stderr going to ``self.output``; return (value, exception)."""
        self.output.reset()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.output
        try:
            return call(*args), None
        except BaseException as exc:  # SystemExit and friends raised by user code are row errors too
            return None, exc
        finally:
            sys.stdout, sys.stderr = saved

    def show_in_tracebacks(self, key: str, source: str) -> None:
        # mtime None keeps linecache.checkcache from dropping the entry
        lines = source.splitlines(keepends=True)
        linecache.cache[SOURCE_FILENAME] = (len(source), None, lines, SOURCE_FILENAME)
        self.shown_key = key

    def load(self, key: str, source: str | None) -> _Loaded:
        entry = self.loaded.pop(key, None)
        if entry is None and source is None:
            entry = _Loaded(None, "internal error: the parent sent no source for an unknown grader", "", "")
        elif entry is None:
            assert source is not None
            self.show_in_tracebacks(key, source)
            grade, exc = self.captured(load_grade, source, _module_name(key))
            error = None if exc is None else format_exception(exc)
            entry = _Loaded(grade, error, self.output.getvalue(), source)  # type: ignore[arg-type]
        self.loaded[key] = entry
        while len(self.loaded) > CACHE_SIZE:
            old_key, _ = self.loaded.popitem(last=False)
            sys.modules.pop(_module_name(old_key), None)
        return entry

    def grade_batch(self, key: str, source: str | None, rows: list[list[object]]) -> None:
        grade, error, load_output, source = self.load(key, source)
        self.send({"load": error, "out": load_output if error else ""})
        if grade is None:
            return
        if self.shown_key != key:
            self.show_in_tracebacks(key, source)
        results: list[list[object]] = []
        last_sent = time.monotonic()
        for sample, item in rows:
            self.started += 1
            PROGRESS.pack_into(self.progress, 0, time.monotonic(), self.started)
            value, exc = self.captured(grade, sample, item)
            if exc is None:
                score, problem = check_score(value)
                results.append([score, problem, self.output.getvalue()])
            else:
                results.append([None, format_exception(exc), self.output.getvalue()])
            if time.monotonic() - last_sent > FLUSH_AFTER:  # slow rows: do not sit on finished work
                self.send(results)
                results, last_sent = [], time.monotonic()
        if results:
            self.send(results)

    def serve(self) -> None:
        self.send({"ready": os.getpid()})
        while True:
            message = self.receive()
            if message is None:
                return
            key, source, rows = message
            self.grade_batch(key, source, rows)


def _module_name(key: str) -> str:
    return "_grader_" + key[:16]


def _claim_protocol_fds() -> tuple[io.BufferedReader, int]:
    """Move the protocol pipes off fds 0 and 1 so that user code writing there cannot corrupt them."""
    reader_fd, writer_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # output written below Python's sys.stdout goes to the parent's crash log
    return io.BufferedReader(io.FileIO(reader_fd, "r"), buffer_size=1 << 16), writer_fd


def main(argv: list[str]) -> int:
    """Entry point: ``argv[1]`` is a JSON object of settings, ``argv[2]`` the progress file's descriptor."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]  # our package directory must not shadow what the grader imports
    settings = json.loads(argv[1]) if len(argv) > 1 else {}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel's interrupt is for the kernel; it kills us
    faulthandler.enable(all_threads=False)
    reader, writer_fd = _claim_protocol_fds()
    if settings.get("parent_pid"):
        die_with_parent(settings["parent_pid"])
        threading.stack_size(256 * 1024)  # the watchdog needs little; keep the address-space budget for users
        threading.Thread(target=_exit_when_orphaned, args=(settings["parent_pid"],), daemon=True).start()
        threading.stack_size(0)
    with mmap.mmap(int(argv[2]), PROGRESS.size) as progress:
        set_memory_limit(settings.get("memory_mb"))
        bound_written_files(settings.get("file_limit_mb"))
        if settings.get("block_network", True):
            block_network()
        Worker(reader, writer_fd, progress, settings.get("output_limit", 10_000)).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
