"""Labels survive a kernel restart: a real ipykernel labels rows through %rft label, is restarted, and the
new kernel process finds every label beside the project file."""

from __future__ import annotations

import textwrap

import pytest
from jupyter_client.manager import start_new_kernel

LABEL_CELLS = [
    "%load_ext rftkit_nb",
    "%%rubric tone\n1 = polite, 0 = rude.\n",
    textwrap.dedent("""\
        import pandas as pd, os
        df = pd.DataFrame({"question": ["a", "b", "c"], "output_text": ["x", "y", "z"]})
        w = %rft label df --rubric tone
        for row, value in zip(w.rows, [1.0, 0.0, 0.5]):
            w.set_state({"labels": {**w.labels, row["key"]: value}})
        print("pid", os.getpid(), w.progress)"""),
]
READ_CELLS = [
    "%load_ext rftkit_nb",
    textwrap.dedent("""\
        import os, pandas as pd
        from rftkit_nb.quality import Labels
        wb = %rft show
        labels = Labels.for_project(wb)
        df = pd.DataFrame({"question": ["c", "a", "b"], "output_text": ["z", "x", "y"]})  # re-ordered
        print("pid", os.getpid(), [labels.get("tone", r) for r in df.to_dict("records")])"""),
]


def run(client, source: str) -> str:
    out: list[str] = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("ERROR " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])

    reply = client.execute_interactive(source, output_hook=hook, timeout=120)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


@pytest.mark.slow
def test_labels_when_the_kernel_restarts_then_the_new_kernel_reads_them(tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        first = [run(client, cell) for cell in LABEL_CELLS][-1]
        assert "3 of 3 labelled" in first
        manager.restart_kernel(now=True)
        client.wait_for_ready(timeout=60)
        second = [run(client, cell) for cell in READ_CELLS][-1]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert first.split()[1] != second.split()[1]  # another process
    assert second.strip().endswith("[0.5, 1.0, 0.0]")
    assert (tmp_path / "rftkit.labels.json").is_file()
