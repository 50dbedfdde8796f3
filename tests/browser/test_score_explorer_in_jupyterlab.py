"""The score explorer in a real JupyterLab and Chromium: sort, filter, search, select, compare, big reports,
and opened on chosen rows (what an agreement report's worst disagreements use).

The report comes from ``%rft score`` against the loopback FakeOpenAI judge, in the kernel. What the user
did in the browser is read back from Python in a following cell (``explorer.selected``, ``.filtered``).
Any console error, uncaught exception or dialog (an XSS sample's ``alert``) fails the test.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

XSS = "<img src=x onerror=alert(1)>"
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
ROWS = f"""\
import random
rnd = random.Random(1)
rows = []
for i in range(200):
    answer = str(i % 7)
    reply = (answer if i % 3 == 0 else "nope") + f"\\nSCORE: {{round(rnd.random(), 2)}}"
    rows.append({{"cluster": "chat" if i % 2 == 0 else "math", "answer": answer, "reply": reply}})
rows[8]["reply"] = {XSS!r} + "\\nSCORE: 0.3"
df = pd.DataFrame(rows)
"""
CELLS = [
    "%load_ext rftkit_nb\nimport json, os, sys\nimport pandas as pd\nfrom rftkit_nb.testing import FakeOpenAI\n"
    "server = FakeOpenAI().__enter__()\n"
    "os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY='sk-test')",  # 0
    "%%rubric tone --clusters chat\n1.0 = polite and warm; 0.0 = rude.",  # 1
    "from rftkit_nb.notebook.magics import workbench_of\n"
    "_ = workbench_of(get_ipython()).add_grader({'type': 'string_check', 'name': 'exact', 'operation': 'like',"
    " 'input': '{{ sample.output_text }}', 'reference': '{{ item.answer }}'})",  # 2
    ROWS,  # 3
    "report = %rft score df --output-column reply",  # 4
    "explorer = report.explore()\nexplorer",  # 5
    "print(json.dumps({'selected': explorer.selected, 'sort': explorer.sort, 'filters': explorer.filters,"
    " 'count': len(explorer.filtered), 'output': report.rows[explorer.selected].sample['output_text']}))",  # 6
    "%%rubric tone --clusters chat --weight 3\n1.0 = polite and warm; 0.0 = rude.",  # 7
    "after = %rft score df --output-column reply\ncompare = after.explore(baseline=report)\ncompare",  # 8
    "print(json.dumps({'changed': compare.stats['changed'], 'sort': compare.sort,"
    " 'first_delta': float(compare.filtered['delta'].iloc[0]), 'max_delta': float(compare.filtered['delta'].max())}))",  # 9
    f"sys.path.insert(0, {str(BENCHMARKS)!r})\nfrom bench_widgets import synthetic_report\n"
    "mid, big = synthetic_report(10_000, seed=1), synthetic_report(100_000, seed=2)",  # 10
    "mid.explore()",  # 11
    "big.explore()",  # 12
    "chosen = report.explore(rows=[8, 3, 5])\nchosen",  # 13: as agreement(...).explore(rubric) opens it
    "print(json.dumps({'filters': chosen.filters, 'count': chosen.count}))",  # 14
    "server.__exit__(None, None, None)",  # 15
]


def wait_summary(widget, text: str) -> None:
    widget.locator(".rftkit-summary").filter(has_text=text).wait_for()


def test_explorer_in_jupyterlab_when_sorted_filtered_selected_and_compared(notebook_factory, page, shots):
    nb = notebook_factory("explorer.ipynb", CELLS)
    for i in range(6):
        nb.run(i)
    widget = nb.cell(5).locator(".rftkit-explorer")
    widget.locator(".rftkit-row").first.wait_for()
    wait_summary(widget, "rows: 200 of 200")
    assert widget.locator(".rftkit-row").count() < 60  # only the rows in view are drawn

    # Scrolling draws the rows that come into view.
    viewport = widget.locator(".rftkit-viewport")
    viewport.evaluate("(v) => { v.scrollTop = v.scrollHeight; }")
    widget.locator('.rftkit-row[data-position="199"]').wait_for()
    viewport.evaluate("(v) => { v.scrollTop = 0; }")

    # Sort by reward (highest first), filter to one cluster, search the outputs.
    widget.locator('.rftkit-header-row [data-column="reward"]').click()
    widget.locator('.rftkit-header-row [data-column="reward"][aria-sort="descending"]').wait_for()
    widget.locator('select[data-filter="cluster"]').select_option("chat")
    wait_summary(widget, "rows: 100 of 200")
    widget.locator('input[data-filter="search"]').fill("onerror")
    wait_summary(widget, "rows: 1 of 200")

    # Select the row: its detail comes from Python on request; the XSS sample is text.
    widget.locator(".rftkit-row").first.click()
    output = widget.locator(".rftkit-detail pre").filter(has_text="SCORE: 0.3").first
    output.wait_for()
    assert output.inner_text().startswith(XSS)
    assert widget.locator("img").count() == 0
    assert (
        widget.locator('.rftkit-detail [data-grader="tone"] summary')
        .inner_text()
        .startswith("tone (score_model)")
    )

    # Keys in the table stay in the table: the notebook keeps its active cell.
    viewport.focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex") == 5

    # Python sees what the user did.
    state = nb.json(6)
    assert state["selected"] == 8
    assert state["sort"] == {"column": "reward", "descending": True}
    assert state["filters"] == {"cluster": "chat", "search": "onerror"}
    assert state["count"] == 1
    assert state["output"].startswith(XSS)

    widget.locator('input[data-filter="search"]').fill("")
    wait_summary(widget, "rows: 100 of 200")
    shots.save(widget, "explorer-light.png")
    shots.theme(page, "JupyterLab Dark")
    shots.keep(shots.save(widget, "explorer-dark.png"), "score-explorer-dark.png")
    shots.theme(page, "JupyterLab Light")

    # Compare mode: after a rubric edit, sort by the reward delta; its histogram is there.
    nb.run(7)
    nb.run(8)
    compare = nb.cell(8).locator(".rftkit-explorer")
    compare.locator(".rftkit-row").first.wait_for()
    compare.locator('.rftkit-header-row [data-column="delta"]').click()
    compare.locator('.rftkit-header-row [data-column="delta"][aria-sort="descending"]').wait_for()
    assert compare.locator('.rftkit-hist[data-title^="reward delta"]').count() == 1
    state = nb.json(9)
    assert state["changed"] > 0
    assert state["sort"] == {"column": "delta", "descending": True}
    assert state["first_delta"] == state["max_delta"]
    shots.save(compare, "explorer-compare-light.png")

    # Big reports: from running the cell to the first rows drawn.
    nb.run(10)
    for cell, rows in ((11, 10_000), (12, 100_000)):
        start = time.perf_counter()
        nb.run(cell)
        nb.cell(cell).locator(".rftkit-explorer .rftkit-row").first.wait_for(timeout=60_000)
        nb.cell(cell).locator(".rftkit-summary").filter(has_text=f"rows: {rows} of {rows}").wait_for()
        print(f"\n{rows:,}-row report: explorer drawn {time.perf_counter() - start:.2f} s after the cell ran")

    # Opened on chosen rows: just those, in the given order, the first selected; the chip shows them all.
    nb.run(13)
    chosen = nb.cell(13).locator(".rftkit-explorer")
    wait_summary(chosen, "rows: 3 of 200")
    rows = chosen.locator(".rftkit-row")
    assert [rows.nth(i).get_attribute("data-position") for i in range(3)] == ["8", "3", "5"]
    assert rows.first.get_attribute("aria-selected") == "true"
    chosen.locator(".rftkit-detail pre").filter(has_text="SCORE: 0.3").first.wait_for()  # row 8's output
    assert chosen.locator(".rftkit-detail img").count() == 0
    chip = chosen.locator('button[data-filter="rows"]')
    assert chip.inner_text() == "3 chosen rows ✕"
    chip.click()
    wait_summary(chosen, "rows: 200 of 200")
    assert chip.count() == 0
    assert nb.json(14) == {"filters": {}, "count": 200}
    nb.run(15)

    assert page.console.errors == []
