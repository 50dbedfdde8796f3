"""The judge cache shared by several processes: concurrent writers, and a file held by another one."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rftkit_nb import ScoreModelGrader
from rftkit_nb.scoring.engine import score
from rftkit_nb.scoring.judge import Judge, JudgeCache
from rftkit_nb.testing import FakeOpenAI

WRITER = textwrap.dedent(
    """
    import sys
    from rftkit_nb.scoring.judge.cache import JudgeCache
    path, who = sys.argv[1], sys.argv[2]
    cache = JudgeCache(path)
    for batch in range(20):
        cache.put_many({f"{who}-{batch}-{i}": {"result": i} for i in range(50)})
    cache.close()
    print(len(cache.notes))
    """
)


def test_cache_when_four_processes_write_at_once_then_every_answer_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    JudgeCache(path).close()  # created (WAL) before the writers race
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"p{n}"], stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    for proc in procs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    with JudgeCache(path) as cache:
        assert len(cache) == 4 * 20 * 50
        assert cache.get("p3-19-49") == {"result": 49}


HOLDER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT OR REPLACE INTO judge_cache (key, value) VALUES ('held', '{}')")
    print("holding", flush=True)
    sys.stdin.readline()  # held until the test says so
    conn.execute("COMMIT")
    """
)


def test_score_when_another_process_holds_the_cache_then_the_run_goes_on_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    JudgeCache(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        grader = ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}\nSCORE: 0.5")
        rows = [{"output_text": f"row {i}"} for i in range(640)]
        with FakeOpenAI() as server:
            judge = Judge(base_url=server.base_url, api_key="sk-test", cache=path)
            started = time.monotonic()
            report = score(grader, rows, judge=judge, progress=False)
            elapsed = time.monotonic() - started
        assert holder.poll() is None  # the file was held for the whole run
    finally:
        if holder.stdin is not None:
            holder.stdin.write("release\n")
            holder.stdin.close()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    assert report.frame["reward"].tolist() == [0.5] * 640
    assert any("was busy" in note and "kept in memory" in note for note in report.notes)
    # Waiting out the busy timeout on every batch took minutes; the run must not wait for the holder.
    assert elapsed < 20.0
    with FakeOpenAI() as server:  # once the file is free, answers reach it again
        judge = Judge(base_url=server.base_url, api_key="sk-test", cache=path)
        again = score(grader, rows[:10], judge=judge, progress=False)
    assert not any("was busy" in note for note in again.notes)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM judge_cache WHERE key != 'held'").fetchone()[0] >= 10
