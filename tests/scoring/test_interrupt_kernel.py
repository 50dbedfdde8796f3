"""Ctrl-C in a real kernel while python graders run (through jupyter_client, as Jupyter interrupts).

Expected: the cell returns within a second or two; rows finished before the interrupt are kept; no
sandbox process outlives the interrupt; the report never changes after it is returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from jupyter_client.manager import start_new_kernel

SETUP = """
import os, time
from rftkit_nb import PythonGrader, score
g = PythonGrader(name="slow", source="import time\\ndef grade(sample, item):\\n    time.sleep(0.25)\\n    return 1.0")
rows = [{"output_text": str(i)} for i in range(400)]
"""

CHILDREN = """
def children():
    mine = str(os.getpid())
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == mine and fields[0] != "Z":
            found.append(int(pid))
    return found
"""


@pytest.fixture
def kernel() -> Iterator[object]:
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc: object, code: str, timeout: float = 60.0) -> dict:
    """Execute ``code``; return its stdout, the error name if any, and how long it took."""
    msg_id = kc.execute(code)  # type: ignore[attr-defined]
    started, out, error = time.monotonic(), [], None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)  # type: ignore[attr-defined]
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            error = content["ename"]
        elif kind == "status" and content["execution_state"] == "idle":
            return {"out": "".join(out), "error": error, "seconds": time.monotonic() - started}


def test_score_when_kernel_interrupted_during_python_graders_then_finished_rows_kept_and_work_stops(
    kernel: tuple,
) -> None:
    km, kc = kernel
    assert run(kc, SETUP + CHILDREN)["error"] is None
    msg_id = kc.execute("report = score(g, rows, progress=False)")
    time.sleep(4.0)  # ~30 rows graded by then
    interrupted_at = time.monotonic()
    km.interrupt_kernel()
    while True:  # the cell ends
        msg = kc.get_iopub_msg(timeout=30)
        mine = msg["parent_header"].get("msg_id") == msg_id
        if mine and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    returned_after = time.monotonic() - interrupted_at
    probe = (
        "import json\n"
        "counts = report.frame['slow.state'].value_counts().to_dict()\n"
        "print(json.dumps({'counts': counts, 'children': children(), 'interrupted': report.interrupted}))"
    )
    first = run(kc, probe)
    assert first["error"] is None, first
    state = json.loads(first["out"])
    time.sleep(2.0)
    second = json.loads(run(kc, probe)["out"])

    assert returned_after < 3.0
    assert state["counts"].get("scored", 0) >= 5  # rows finished before the interrupt are kept
    assert state["counts"].get("unfinished", 0) > 0
    assert state["children"] == []  # no sandbox worker (or its children) outlives the interrupt
    assert state["interrupted"] is True
    assert second["counts"] == state["counts"]  # the report never changes after it is returned

    rerun = run(kc, "print(score(g, rows[:8], progress=False).frame['reward'].tolist())")
    assert rerun["error"] is None
    assert rerun["out"].strip() == str([1.0] * 8)
