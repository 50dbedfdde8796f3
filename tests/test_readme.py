"""Every ``python`` block of the README runs, in order, in one real kernel against the loopback server.

So a pasted tour line can never fail again (``%rft show   # rubrics, ...`` once did), and the README
cannot drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_when_read_then_it_has_the_tour_and_every_section() -> None:
    blocks = readme_blocks()
    assert blocks[0].strip() == "%load_ext rftkit_nb"
    joined = "\n".join(blocks)
    for needed in ("%%rubric", "%rft score df", "explore(baseline=", "preflight(", "submit(", "to_trl("):
        assert needed in joined


@pytest.mark.slow
def test_readme_when_every_python_block_runs_in_a_kernel_then_none_fails(tmp_path, monkeypatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "JPY_SESSION_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(b) for b in readme_blocks()])
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "\n".join(
        str(out.get("text", "")) + "".join(map(str, out.get("data", {}).values()))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )
    assert "Traceback" not in outputs
    assert (tmp_path / "grader.json").is_file()  # %rft export ran
    assert (tmp_path / "reward_verl.py").is_file()  # the verl export ran
    assert "succeeded" in outputs  # the RFT job on the stand-in platform finished
    assert "demo" not in (tmp_path / "reward_verl.py").read_text().split('"""', 2)[-1]  # no key in the export
