"""JudgeCache: a batched, crash-tolerant SQLite (or in-memory) store of judge answers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rftkit_nb.scoring.judge.cache import JudgeCache, answer_key, default_cache_path
from rftkit_nb.scoring.judge.request import JudgeRequest

VALUE = {"result": 0.5, "steps": [{"description": "d", "conclusion": "c"}], "raw": "{}"}


@pytest.fixture(params=[pytest.param("file", id="sqlite"), pytest.param("memory", id="memory")])
def cache(request: pytest.FixtureRequest, tmp_path: Path):
    store = JudgeCache(tmp_path / "judge.sqlite3" if request.param == "file" else None)
    yield store
    store.close()


def test_answer_key_when_sampling_params_order_differs_is_the_same() -> None:
    first = JudgeRequest("m", [{"role": "user", "content": "hi"}], {"seed": 1, "top_p": 0.5})
    second = JudgeRequest("m", [{"role": "user", "content": "hi"}], {"top_p": 0.5, "seed": 1})
    assert answer_key("http://x/v1", first) == answer_key("http://x/v1", second)


def test_answer_key_when_endpoint_differs_differs() -> None:
    request = JudgeRequest("m", [{"role": "user", "content": "hi"}])
    key = answer_key("http://x/v1", request)
    assert key != answer_key("http://y/v1", request)
    assert len(key) == 64
    assert int(key, 16) >= 0


def test_answer_key_when_text_has_a_lone_surrogate_is_a_key() -> None:
    request = JudgeRequest("m", [{"role": "user", "content": "cut mid-emoji \ud83d"}])
    assert len(answer_key("http://x/v1", request)) == 64


def test_cache_when_value_put_gets_it_back(cache: JudgeCache) -> None:
    assert cache.get("k") is None
    cache.put("k", VALUE)
    assert cache.get("k") == VALUE
    assert len(cache) == 1


def test_cache_when_same_key_put_twice_keeps_the_last_value(cache: JudgeCache) -> None:
    cache.put("k", VALUE)
    cache.put("k", {"result": 1.0})
    assert cache.get("k") == {"result": 1.0}
    assert len(cache) == 1


@pytest.mark.parametrize("as_mapping", [pytest.param(True, id="mapping"), pytest.param(False, id="pairs")])
def test_cache_when_many_keys_looked_up_returns_only_the_stored_ones(
    cache: JudgeCache, as_mapping: bool
) -> None:
    items = {f"k{n}": {"result": n} for n in range(1200)}  # more than two SELECT chunks
    cache.put_many(items if as_mapping else list(items.items()))
    wanted = [f"k{n}" for n in range(0, 1500, 3)] + ["k3"]  # repeated and missing keys too
    found = cache.get_many(wanted)
    assert set(found) == {f"k{n}" for n in range(0, 1200, 3)}
    assert found["k999"] == {"result": 999}
    assert len(cache) == 1200


def test_cache_when_put_many_is_empty_stores_nothing(cache: JudgeCache) -> None:
    cache.put_many([])
    assert len(cache) == 0


def test_cache_when_reopened_keeps_values_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "judge.sqlite3"
    with JudgeCache(path) as first:
        first.put("k", VALUE)
    with JudgeCache(path) as second:
        assert second.get("k") == VALUE
        assert second.notes == []
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def _damaged_sqlite(path: Path) -> None:
    with JudgeCache(path) as healthy:
        healthy.put_many({f"k{n}": {"result": n, "pad": "x" * 500} for n in range(500)})
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(8192)
        handle.write(b"\x5a" * (size - 8192))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_text("this is not a database, just text " * 200), id="not-sqlite"),
        pytest.param(_damaged_sqlite, id="damaged-pages"),
    ],
)
def test_cache_when_file_is_corrupt_sets_it_aside_and_starts_afresh(tmp_path: Path, damage) -> None:
    path = tmp_path / "judge.sqlite3"
    damage(path)
    before = path.read_bytes()
    with JudgeCache(path) as cache:
        assert len(cache) == 0
        cache.put("k", VALUE)
        assert cache.get("k") == VALUE
        assert len(cache.notes) == 1
        assert "moved it to" in cache.notes[0]
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("judge.sqlite3.corrupt-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == before
    assert aside[0].name in cache.notes[0]


def test_cache_when_directory_cannot_be_created_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with JudgeCache(blocker / "sub" / "judge.sqlite3") as cache:
        cache.put("k", VALUE)
        assert cache.get("k") == VALUE
        assert "in-memory" in cache.notes[0]


def test_cache_when_closed_refuses_reads_and_writes(tmp_path: Path) -> None:
    cache = JudgeCache(tmp_path / "judge.sqlite3")
    cache.close()
    cache.close()  # twice is fine
    with pytest.raises(ValueError, match="closed"):
        cache.get("k")
    with pytest.raises(ValueError, match="closed"):
        cache.put("k", VALUE)


def test_cache_when_threads_write_concurrently_keeps_every_value(tmp_path: Path) -> None:
    with JudgeCache(tmp_path / "judge.sqlite3") as cache:

        def write(worker: int) -> None:
            for batch in range(10):
                cache.put_many({f"w{worker}-{batch}-{n}": {"result": n} for n in range(20)})
                cache.get_many([f"w{worker}-{batch}-{n}" for n in range(20)])

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(cache) == 4 * 10 * 20
        assert cache.notes == []


WRITER = """
import sys
from rftkit_nb.scoring.judge.cache import JudgeCache
path, worker = sys.argv[1], sys.argv[2]
with JudgeCache(path) as cache:
    for batch in range(20):
        cache.put_many({f"p{worker}-{batch}-{n}": {"result": n} for n in range(10)})
        cache.get_many([f"p{worker}-{batch}-{n}" for n in range(10)])
    assert not cache.notes, cache.notes
"""


def test_cache_when_processes_write_the_same_file_keeps_every_value(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w)], env=env, stderr=subprocess.PIPE)
        for w in range(3)
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], errors
    with JudgeCache(path) as cache:
        assert len(cache) == 3 * 20 * 10
        assert cache.get("p2-19-9") == {"result": 9}


@pytest.mark.parametrize(
    ("xdg", "expected"),
    [
        pytest.param("xdg", Path("xdg") / "rftkit_nb" / "judge.sqlite3", id="xdg-cache-home"),
        pytest.param(None, Path("home") / ".cache" / "rftkit_nb" / "judge.sqlite3", id="home"),
    ],
)
def test_default_cache_path_when_xdg_cache_home_set_or_not_follows_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str | None, expected: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / xdg))
    assert default_cache_path() == tmp_path / expected
    with JudgeCache.default() as cache:
        cache.put("k", VALUE)
    assert (tmp_path / expected).exists()


def test_cache_repr_names_the_file_or_memory(tmp_path: Path) -> None:
    with JudgeCache(None) as memory, JudgeCache(tmp_path / "c.sqlite3") as file:
        assert repr(memory) == "JudgeCache('memory')"
        assert "c.sqlite3" in repr(file)
