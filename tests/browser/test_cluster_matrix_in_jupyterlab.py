"""The cluster x rubric matrix in a real JupyterLab and Chromium: mouse, keyboard, Python, the project file.

Each step is proven from the other side: a click is read back from a following cell (the Python-side map
and the project file), a change made in Python is read from the grid. Any console error, uncaught
exception or dialog (an XSS sample's ``alert``) fails the test.
"""

from __future__ import annotations

import statistics
import time

import pytest

pytestmark = pytest.mark.slow

XSS = "<img src=x onerror=alert(1)>"
READ_BACK = (
    "print(json.dumps({'map': matrix.cluster_map.to_dict(),"
    " 'file': json.load(open(project))['clusters']['clusters']}))"
)
CELLS = [
    "%load_ext rftkit_nb\nimport json\nimport pandas as pd\nfrom rftkit_nb.notebook.magics import project_file\n"
    "project = project_file()  # this notebook's own project file (JupyterLab names the notebook)",  # 0
    "%%rubric tone --clusters chat\n1.0 = polite and warm; 0.0 = rude.",  # 1
    "%%rubric accuracy --clusters chat,math\n1.0 = the answer is correct.",  # 2
    f"df = pd.DataFrame({{'cluster': ['chat', 'math', 'chat', {XSS!r}], 'q': ['a', 'b', 'c', 'd']}})",  # 3
    "matrix = %rft clusters df\nmatrix",  # 4
    READ_BACK,  # 5
    "matrix.cluster_map.set('chat', 'accuracy')",  # 6: a change from Python
    "open(project, 'a').write(' ')  # another kernel touched the file",  # 7
    "%rft open $project --discard",  # 8
    READ_BACK,  # 9
    "from rftkit_nb import ClusterMap, ClusterMatrix\n"
    "names = [f'r{j:03d}' for j in range(200)]\n"
    "big = ClusterMatrix(ClusterMap.from_dict({f'c{i:03d}': names[i % 10::10] for i in range(200)}))\nbig",  # 10
]


def checked(grid, row: int, col: int) -> str:
    return grid.locator(f'td[data-row="{row}"][data-col="{col}"]').get_attribute("aria-checked")


def wait_checked(page, row: int, col: int, value: str) -> None:
    page.wait_for_function(
        '([r, c, v]) => document.querySelector(`.rftkit-matrix td[data-row="${r}"][data-col="${c}"]`)'
        "?.getAttribute('aria-checked') === v",
        arg=[row, col, value],
    )


ROUND_TRIP = """async ([cell, row, col]) => {
    // From the click to Python's answer drawn: the notice line shows the edit's outcome.
    const root = jupyterapp.shell.currentWidget.content.widgets[cell].node.querySelector('.rftkit-matrix');
    const seq = root.querySelector('.rftkit-notice').dataset.seq;
    const start = performance.now();
    root.querySelector(`td[data-row="${row}"][data-col="${col}"]`).click();
    await new Promise((resolve) => {
        const observer = new MutationObserver(() => {
            const notice = root.querySelector('.rftkit-notice');
            if (notice && notice.dataset.seq !== seq) { observer.disconnect(); resolve(); }
        });
        observer.observe(root, {subtree: true, childList: true, attributes: true});
    });
    await new Promise(requestAnimationFrame);
    return performance.now() - start;
}"""


def test_matrix_in_jupyterlab_when_clicked_typed_and_changed_from_python(notebook_factory, page, shots):
    nb = notebook_factory("matrix.ipynb", CELLS)
    for i in range(5):
        nb.run(i)
    widget = nb.cell(4).locator(".rftkit-matrix")
    widget.wait_for()
    grid = widget.get_by_role("grid")
    assert grid.get_attribute("data-lm-suppress-shortcuts") == "true"
    assert grid.locator('[role="gridcell"][aria-checked]').count() == 4  # 2 clusters x 2 rubrics
    assert checked(grid, 0, 0) == "true"
    assert checked(grid, 1, 0) == "false"

    # The XSS sample: a cluster of the data, offered as an addition, shown as text.
    chip = widget.get_by_role("button", name=f"add cluster {XSS}")
    assert XSS in chip.inner_text()
    assert widget.locator("img").count() == 0
    shots.save(widget, "matrix-light.png")

    # Mouse: math x tone on, timed from the click to Python's answer on screen.
    times = [page.evaluate(ROUND_TRIP, [4, 1, 0])]
    wait_checked(page, 1, 0, "true")
    for _ in range(3):  # off and on again: the round trip, measured a few times
        times += [page.evaluate(ROUND_TRIP, [4, 1, 0]), page.evaluate(ROUND_TRIP, [4, 1, 0])]
    wait_checked(page, 1, 0, "true")
    print(f"\nclick-to-Python round trip: median {statistics.median(times):.0f} ms over {len(times)} clicks")

    # Keyboard: focus chat x tone, move right, Space switches chat x accuracy off; the notebook keeps
    # its active cell (JupyterLab's arrows did not run), and Tab leaves the grid.
    grid.locator('td[data-row="0"][data-col="0"]').focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.dataset.col") == "1"
    page.keyboard.press("Space")
    wait_checked(page, 0, 1, "false")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("() => document.activeElement.dataset.row") == "0"
    assert page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex") == 4
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('role')") != "gridcell"

    # A following cell sees the clicks and the keys: the Python-side map and the project file.
    expected = {"chat": ["tone"], "math": ["tone", "accuracy"]}
    assert nb.json(5) == {"map": expected, "file": expected}

    # Python changes the map: the grid follows.
    nb.run(6)
    wait_checked(page, 0, 1, "true")

    # One click adds the data's missing cluster; its name is text, not markup.
    chip.click()
    page.wait_for_function("(x) => [...document.querySelectorAll('.rftkit-matrix tr[data-cluster]')]"
                           ".some((tr) => tr.dataset.cluster === x)", arg=XSS)  # fmt: skip
    header = widget.locator("tbody tr[data-cluster]").nth(2).locator("th .rftkit-name")
    assert header.inner_text() == XSS
    assert widget.locator("img").count() == 0

    # Rename a cluster from the widget.
    widget.get_by_role("button", name="rename cluster math").click()
    rename = widget.get_by_role("textbox", name="new name for math")
    rename.fill("algebra")
    rename.press("Enter")
    page.wait_for_function("() => document.querySelector('.rftkit-matrix tr[data-cluster=\"algebra\"]')")
    widget.locator(".rftkit-notice.rftkit-ok").filter(has_text="renamed cluster").wait_for()
    shots.keep(shots.save(widget, "matrix-light-renamed.png"), "cluster-matrix-light.png")

    # A refused edit: the file changed behind the notebook; the cell springs back, the message shows.
    nb.run(7)
    before = checked(grid, 0, 0)
    grid.locator('td[data-row="0"][data-col="0"]').click()
    notice = widget.locator(".rftkit-notice.rftkit-error")
    notice.wait_for()
    assert "changed on disk" in notice.inner_text()
    wait_checked(page, 0, 0, before)

    # %rft open reloads the file: every open matrix shows it.
    nb.run(8)
    state = nb.json(9)
    assert state["map"] == state["file"]
    assert "algebra" in state["map"]

    shots.save(widget, "matrix-light-reopened.png")
    shots.theme(page, "JupyterLab Dark")
    shots.save(widget, "matrix-dark.png")
    shots.theme(page, "JupyterLab Light")

    # 200 x 200: drawn, and a click answered, while the page stays usable.
    start = time.perf_counter()
    nb.run(10)
    large = nb.cell(10).locator(".rftkit-matrix")
    large.locator('td[data-row="0"][data-col="199"]').wait_for()
    print(f"200 x 200 matrix drawn {time.perf_counter() - start:.2f} s after the cell ran")
    assert large.locator("tbody tr[data-cluster]").count() < 100  # only the rows in view are in the page
    large.locator(".rftkit-scroll").evaluate("(s) => { s.scrollTop = s.scrollHeight; }")
    large.locator('td[data-row="199"][data-col="199"]').wait_for()
    large.locator(".rftkit-scroll").evaluate("(s) => { s.scrollTop = 0; }")
    large.locator('td[data-row="5"][data-col="5"]').wait_for()
    clicks = [page.evaluate(ROUND_TRIP, [10, 5, 5]) for _ in range(4)]
    print(f"200 x 200 click-to-Python round trip: median {statistics.median(clicks):.0f} ms")

    assert page.console.errors == []
