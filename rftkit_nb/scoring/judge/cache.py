"""JudgeCache: successful judge answers kept in SQLite, so re-scoring unchanged rows costs no calls.

One table, ``key TEXT PRIMARY KEY -> value TEXT`` (JSON), in WAL mode so several threads and processes
(a trainer's workers, two kernels) can read and write one file. The busy timeout is short: when another
process holds the file, answers wait in memory and are written once it is free, so a run never stalls
on its cache. Lookups and writes are batched (one ``SELECT ... IN`` per chunk,
one transaction per ``put_many``) because per-row round trips would dominate a cached rerun. A file that is
not a readable SQLite database is renamed aside to ``<path>.corrupt-<timestamp>`` and a fresh cache is
started: the cache is an accelerator, so it never makes scoring fail. Its problems are listed in ``notes``.

Example::

    >>> from rftkit_nb.scoring.judge.request import JudgeRequest
    >>> key = answer_key("https://api.openai.com/v1", JudgeRequest("gpt-4o-mini", []))
    >>> with JudgeCache(None) as cache:  # None: in memory
    ...     cache.put(key, {"result": 0.5, "steps": []})
    ...     cache.get(key)
    {'result': 0.5, 'steps': []}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from rftkit_nb.scoring.judge.request import JudgeRequest

#: What ``cache=`` accepts: True = the default file, a path = that file, None = in memory, False = off,
#: or a JudgeCache you own.
CacheSpec = Union["JudgeCache", str, "os.PathLike[str]", bool, None]

__all__ = ["CacheSpec", "JudgeCache", "answer_key", "default_cache_path"]

_CHUNK = 500  # bound variables per SELECT ... IN, below SQLite's oldest limit (999)
_BUSY_TIMEOUT_S = 0.25  # short: a cache another process holds must never stall a run (it is only a speed-up)
_BUSY_BACKOFF_S = 5.0  # after a busy write, keep answers in memory this long before trying the file again
_CREATE = "CREATE TABLE IF NOT EXISTS judge_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_PROBE = "SELECT key, value FROM judge_cache LIMIT 1"
_SELECT = "SELECT key, value FROM judge_cache WHERE key IN ({marks})"
_UPSERT = "INSERT OR REPLACE INTO judge_cache (key, value) VALUES (?, ?)"
_COUNT = "SELECT count(*) FROM judge_cache"
_CANONICAL: dict[str, Any] = {
    "sort_keys": True,
    "separators": (",", ":"),
    "ensure_ascii": False,
    "default": str,
}


def answer_key(endpoint: str, request: JudgeRequest) -> str:
    """The cache key of a judge answer: the one definition of what makes two judge calls the same.

    The sha256 of the endpoint (the same model name on another server is another judge), the model, the
    rendered messages, the sampling parameters, the score range (answers are stored clamped) and the
    response format. Built from the request's inputs, not its payload, so a cached re-run never builds
    payloads. Lone surrogates (an output cut mid-emoji) are hashed as they are instead of failing.

    >>> from rftkit_nb.scoring.judge.request import JudgeRequest
    >>> a = JudgeRequest("gpt-4o-mini", [{"role": "user", "content": "hi"}])
    >>> answer_key("http://x/v1", a) == answer_key("http://y/v1", a)
    False
    """
    sampling = {k: v for k, v in (request.sampling_params or {}).items() if v is not None}
    scale = list(request.range) if request.kind == "score" else None
    parts = [endpoint, request.model, request.messages, sampling, scale, request.response_format]
    text = json.dumps(parts, **_CANONICAL)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/rftkit_nb/judge.sqlite3``, or ``~/.cache/rftkit_nb/judge.sqlite3``.

    >>> default_cache_path().name
    'judge.sqlite3'
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rftkit_nb" / "judge.sqlite3"


class JudgeCache:
    """A key -> JSON-object store: SQLite at ``path``, or an in-memory dict when ``path`` is None.

    Thread-safe (one connection behind a lock); several processes may open the same file.

    >>> cache = JudgeCache(None)
    >>> cache.put_many({"k1": {"result": 1.0}, "k2": {"result": 0.0}})
    >>> sorted(cache.get_many(["k1", "k2", "k3"]))
    ['k1', 'k2']
    >>> len(cache)
    2
    >>> cache.close()
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path: Path | None = Path(path).expanduser() if path is not None else None
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._memory: dict[str, str] = {}
        self._unsaved: dict[str, str] = {}  # answers a busy file could not take yet (written later)
        self._busy_until = 0.0
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        if self.path is not None:
            self._open()

    @classmethod
    def default(cls) -> JudgeCache:
        """The cache at :func:`default_cache_path`."""
        return cls(default_cache_path())

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "memory"
        return f"JudgeCache({where!r})"

    # -- opening and recovery --------------------------------------------------------------------------
    def _open(self) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._fall_back_to_memory(f"cannot create {self.path.parent} ({exc})")
            return
        try:
            self._conn = self._connect(self.path)
        except sqlite3.OperationalError as exc:
            # Locked for longer than the busy timeout, unwritable, etc.: not corruption, keep the file.
            self._fall_back_to_memory(f"cannot open {self.path} ({exc})")
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL with synchronous=NORMAL cannot corrupt the file; a crash may lose the last transaction only.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_CREATE)
            conn.execute(_PROBE).fetchall()
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_aside(self, exc: BaseException) -> None:
        """Rename the unreadable file (and its WAL/SHM companions) aside and start a fresh cache."""
        assert self.path is not None
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            for suffix in ("", "-wal", "-shm"):
                source = self.path.with_name(self.path.name + suffix)
                if source.exists():
                    os.replace(source, aside.with_name(aside.name + suffix))
            self._conn = self._connect(self.path)
        except (OSError, sqlite3.Error) as again:
            self._fall_back_to_memory(
                f"{self.path} is unreadable ({exc}) and could not be replaced ({again})"
            )
            return
        self.notes.append(
            f"judge cache {self.path} was unreadable ({exc}); moved it to {aside} and started afresh"
        )

    def _fall_back_to_memory(self, why: str) -> None:
        self.notes.append(f"judge cache: {why}; using an in-memory cache for this session")
        self._conn = None

    def _guard(self, exc: sqlite3.Error) -> None:
        """Handle a failure during use: corruption is set aside, anything else is noted and skipped."""
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            self._set_aside(exc)
        else:
            self.notes.append(f"judge cache: skipped an operation on {self.path} ({exc})")

    # -- reading and writing ---------------------------------------------------------------------------
    def get(self, key: str) -> dict | None:
        """The stored value for ``key``, or None."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict]:
        """The stored values for those ``keys`` that are present, in one query per 500 keys."""
        wanted = list(dict.fromkeys(keys))
        with self._lock:
            self._check_open()
            if self._conn is None:
                found = {k: self._memory[k] for k in wanted if k in self._memory}
            else:
                found = {k: self._unsaved[k] for k in wanted if k in self._unsaved}
                found.update(self._select([k for k in wanted if k not in found]))
        return {key: json.loads(text) for key, text in found.items()}

    def _select(self, keys: list[str]) -> dict[str, str]:
        assert self._conn is not None
        found: dict[str, str] = {}
        try:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                query = _SELECT.format(marks=",".join("?" * len(chunk)))  # only placeholders are inserted
                found.update(self._conn.execute(query, chunk).fetchall())
        except sqlite3.Error as exc:
            self._guard(exc)
        return found

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Store ``value`` (a JSON-serialisable mapping) under ``key``."""
        self.put_many([(key, value)])

    def put_many(
        self, items: Mapping[str, Mapping[str, Any]] | Iterable[tuple[str, Mapping[str, Any]]]
    ) -> None:
        """Store many values in one short transaction."""
        pairs = items.items() if isinstance(items, Mapping) else items
        rows = [(key, json.dumps(value, separators=(",", ":"))) for key, value in pairs]
        if not rows and not self._unsaved:
            return
        with self._lock:
            self._check_open()
            if self._conn is None:
                self._memory.update(rows)
                return
            self._unsaved.update(rows)
            if time.monotonic() < self._busy_until:
                return  # another process holds the file: stay in memory for a while
            pending = list(self._unsaved.items())
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(_UPSERT, pending)
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                self._unsaved.clear()
            except sqlite3.OperationalError as exc:  # locked or busy: not corruption; try again later
                self._busy_until = time.monotonic() + _BUSY_BACKOFF_S
                note = (f"judge cache: {self.path} was busy ({exc}; another process is writing it); answers "
                        "are kept in memory and written when it is free")  # fmt: skip
                if note not in self.notes:
                    self.notes.append(note)
            except sqlite3.Error as exc:
                self._guard(exc)

    def __len__(self) -> int:
        with self._lock:
            self._check_open()
            if self._conn is None:
                return len(self._memory)
            try:
                return int(self._conn.execute(_COUNT).fetchone()[0])
            except sqlite3.Error as exc:
                self._guard(exc)
                return 0

    # -- lifecycle -------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection; later reads and writes raise ValueError. Safe to call twice.

        Answers a busy file could not take are tried once more (briefly); they are lost only if the
        file is still busy, which costs a judge call next time, never a wrong answer.
        """
        if self._unsaved and not self._closed:
            self._busy_until = 0.0
            self.put_many({})
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self!r} is closed; open a new JudgeCache to read or write it")

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
