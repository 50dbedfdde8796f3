"""The sandbox keeps graders apart from each other and from the kernel (issue: hardening).

Real processes and real signals: graders start subprocesses, fork, patch the standard library, signal
their process group and write straight to fd 1; the "kernel" in the kill tests is a child Python
process, so a regression can never take the test runner down with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

from rftkit_nb import MultiGrader, PythonGrader
from rftkit_nb.scoring.engine import score
from rftkit_nb.scoring.sandbox import Sandbox
from rftkit_nb.scoring.sandbox.pool import FD_OUTPUT_LABEL


def alive(pid: int) -> bool:
    """True while ``pid`` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


SPAWNS_SLEEPER = textwrap.dedent(
    """
    import subprocess, time
    def grade(sample, item):
        child = subprocess.Popen(["sleep", "120"])
        print(child.pid)
        if item.get("hang"):
            time.sleep(60)
        return 1.0
    """
)

FORKS = textwrap.dedent(
    """
    import os, time
    def grade(sample, item):
        pid = os.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        print(pid)
        return 1.0
    """
)


def printed_pids(results) -> list[int]:
    return [int(line) for r in results for line in r.stdout.split() if line.isdigit()]


def test_sandbox_when_grader_starts_a_subprocess_then_it_ends_with_the_run() -> None:
    with Sandbox(workers=1, timeout=5) as box:
        results = box.grade_many(SPAWNS_SLEEPER, [({}, {})])
    assert results[0].score == 1.0
    pids = printed_pids(results)
    assert len(pids) == 1
    assert wait_gone(pids) == []


def test_sandbox_when_grader_forks_then_the_fork_ends_with_the_run() -> None:
    with Sandbox(workers=1, timeout=5) as box:
        results = box.grade_many(FORKS, [({}, {})])
    pids = printed_pids(results)
    assert len(pids) == 1
    assert wait_gone(pids) == []


def test_sandbox_when_row_times_out_then_its_subprocesses_are_killed_too() -> None:
    source = textwrap.dedent(
        """
        import subprocess, sys, time
        def grade(sample, item):
            child = subprocess.Popen(["sleep", "120"])
            sys.__stdout__.write(f"{child.pid}\\n"); sys.__stdout__.flush()
            time.sleep(60)
            return 1.0
        """
    )
    with Sandbox(workers=1, timeout=1.0) as box:
        worker_pids: list[int] = []
        threading.Timer(0.5, lambda: worker_pids.extend(box.worker_pids)).start()
        (result,) = box.grade_many(source, [({}, {})])
        assert result.error == "python_grader_runtime_error"
        assert "timed out" in result.detail
        assert box.worker_pids == ()  # the timed-out worker was retired, not reused
    assert worker_pids
    assert wait_gone(worker_pids) == []
    # the sleeper's pid went to fd 1 (sys.__stdout__), which the death note shows
    pids = [int(w) for w in result.detail.split() if w.isdigit()]
    assert wait_gone(pids) == []


def test_sandbox_when_grader_signals_its_process_group_then_the_kernel_lives() -> None:
    kernel = textwrap.dedent(
        """
        from rftkit_nb.scoring.sandbox import Sandbox
        source = "import os, signal\\ndef grade(sample, item):\\n    os.killpg(0, signal.SIGTERM)\\n    return 1.0"
        with Sandbox(workers=1, timeout=5) as box:
            result = box.grade_many(source, [({}, {})])[0]
        print("kernel alive", result.error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", kernel], capture_output=True, text=True, timeout=60, start_new_session=True
    )
    assert done.returncode == 0, done.stderr
    assert "kernel alive python_grader_runtime_error" in done.stdout


def test_sandbox_when_kernel_is_killed_then_a_worker_in_a_long_c_call_dies_too() -> None:
    # sum(range(...)) holds the GIL in C: a watchdog thread inside the worker could never run.
    kernel = textwrap.dedent(
        """
        import sys, threading, time
        from rftkit_nb.scoring.sandbox import Sandbox
        box = Sandbox(workers=1, timeout=600)
        source = "def grade(sample, item):\\n    return float(sum(range(10**13)))"
        threading.Thread(target=box.grade_many, args=(source, [({}, {})]), daemon=True).start()
        while not box.worker_pids:
            time.sleep(0.05)
        time.sleep(0.5)
        print(box.worker_pids[0], flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", kernel], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        worker = int(proc.stdout.readline())
        assert alive(worker)
        proc.kill()
        proc.wait(timeout=10)
        assert wait_gone([worker], seconds=5) == []
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


PATCHES_STDLIB = textwrap.dedent(
    """
    import builtins, re
    re.fullmatch = lambda *a, **k: None
    builtins.round = lambda *a, **k: 0
    def grade(sample, item):
        return 0.0
    """
)
USES_STDLIB = textwrap.dedent(
    """
    import re
    def grade(sample, item):
        matched = re.fullmatch(r"\\d+", sample["output_text"]) is not None
        return round(0.5 + 0.4) * float(matched)
    """
)


def test_sandbox_when_one_grader_patches_the_stdlib_then_another_grader_is_unaffected() -> None:
    with Sandbox(workers=1, timeout=5) as box:
        box.grade_many(PATCHES_STDLIB, [({"output_text": "42"}, {})])
        (result,) = box.grade_many(USES_STDLIB, [({"output_text": "42"}, {})])
    assert result.score == 1.0


def test_score_when_multi_grader_has_a_patching_grader_then_the_other_scores_as_alone() -> None:
    patcher = PythonGrader(name="a", source=PATCHES_STDLIB)
    user = PythonGrader(name="b", source=USES_STDLIB)
    multi = MultiGrader(name="m", graders={"a": patcher, "b": user}, calculate_output="a + b")
    rows = [{"output_text": "42"}, {"output_text": "x"}]
    together = score(multi, rows, progress=False).frame["b.score"].tolist()
    alone = score(user, rows, progress=False).frame["reward"].tolist()
    assert together == alone == [1.0, 0.0]


def test_sandbox_when_grader_writes_straight_to_fd1_then_output_is_bounded_and_its_head_shown() -> None:
    source = textwrap.dedent(
        """
        import os
        def grade(sample, item):
            os.system("head -c 20000000 /dev/zero | tr '\\\\0' 'y'")
            return 1.0
        """
    )
    with Sandbox(workers=1, timeout=30) as box:
        results = box.grade_many(source, [({}, {}), ({}, {})])
        logs = [os.fstat(w.log.fileno()).st_size for pool in box._pools.values() for w in pool]
    assert [r.score for r in results] == [1.0, 1.0]
    assert FD_OUTPUT_LABEL in results[0].stdout
    assert "yyyy" in results[0].stdout
    assert "more bytes dropped" in results[0].stdout
    assert len(results[0].stdout) < 10_000
    assert logs == [0]  # emptied after each batch: a chatty grader cannot fill the disk


def test_sandbox_when_cancelled_then_busy_workers_stop_and_finished_rows_are_kept() -> None:
    source = "import time\ndef grade(sample, item):\n    time.sleep(item['t'])\n    return 1.0"
    cancel = threading.Event()
    pairs = [({}, {"t": 0.0})] * 4 + [({}, {"t": 30.0})] * 4
    with Sandbox(workers=2, timeout=60, batch_size=1) as box:
        threading.Timer(1.0, cancel.set).start()
        started = time.monotonic()
        results = box.grade_many(source, pairs, cancel=cancel)
        elapsed = time.monotonic() - started
        assert box.worker_pids == ()
    assert [r is not None and r.score == 1.0 for r in results[:4]] == [True] * 4
    assert results[4:] == [None] * 4
    assert elapsed < 5.0


def test_worker_when_started_then_it_leads_its_own_session() -> None:
    with Sandbox(workers=1, timeout=5) as box:
        box.grade_many("def grade(sample, item):\n    return 1.0", [({}, {})])
        (pid,) = box.worker_pids
        assert os.getsid(pid) == pid
        assert os.getpgid(pid) != os.getpgid(0)
