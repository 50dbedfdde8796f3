"""The labelling widget in a real JupyterLab and Chromium: ``%rft label``, clicks and number keys, skip, back
and clear, the labels read back from following cells, and again after a kernel restart.

Each step is proven from the other side: what the widget shows is read from the page, what was saved from
Python (``Labels.for_project``) and from the sidecar file (``labelling.ipynb`` keeps its project in
``labelling.rftkit.json``, its labels in ``labelling.rftkit.labels.json``); after the kernel restarts a
new process reads the same labels, on the data re-ordered. Any console error, uncaught exception or dialog
(the XSS row's ``alert``) fails the test.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

XSS = "<img src=x onerror=alert(1)>"
OUTPUTS = ["warm thanks", "go away", XSS, "fine, whatever"]
QUESTIONS = ["q0", "q1", "<b>q2</b>", "q3"]
DATA = f"df = pd.DataFrame({{'question': {QUESTIONS!r}, 'output_text': {OUTPUTS!r}}})"
READ_BACK = (
    "from rftkit_nb.quality import Labels\n"
    "wb = %rft show\n"
    "store = Labels.for_project(wb)\n"
    "saved = json.load(open('labelling.rftkit.labels.json'))  # beside labelling.ipynb's project file\n"
    "print(json.dumps({'store': [store.get('tone', r) for r in df.to_dict('records')],\n"
    "                  'file': sorted(saved['labels']['tone'].values()), 'format': saved['format'],\n"
    "                  'pid': os.getpid(), 'path': os.path.relpath(store.path)}))"
)
CELLS = [
    "%load_ext rftkit_nb\nimport json, os\nimport pandas as pd",  # 0
    "%%rubric tone\n1.0 = polite and warm; 0.0 = rude.",  # 1
    DATA,  # 2
    "w = %rft label df --rubric tone\nw",  # 3
    READ_BACK,  # 4
    # After the restart: a new process, the data re-ordered.
    "%load_ext rftkit_nb\nimport json, os\nimport pandas as pd\n" + DATA + "\ndf = df.iloc[::-1]",  # 5
    READ_BACK,  # 6
    "w = %rft label df --rubric tone\nw",  # 7
]
EXPECTED = [1.0, 1.0, 0.5, None]  # row 3 skipped


def shown(widget) -> dict:
    return {
        "progress": widget.locator(".rftkit-label-progress").inner_text(),
        "output": widget.locator(".rftkit-label-output").inner_text(),
    }


def wait_saved(widget, row: int, score: str, labelled: int) -> None:
    """Python answered: the store took ``score`` (or "cleared") for ``row`` (1-based), holds ``labelled``."""
    what = "cleared" if score == "cleared" else f"= {score}"
    notice = f"saved row {row} {what}: {labelled} of 4 labelled"
    widget.locator(".rftkit-label-notice").filter(has_text=notice).wait_for()


def test_labelling_in_jupyterlab_when_clicked_typed_and_restarted_then_labels_are_kept(
    notebook_factory, page, shots
):
    nb = notebook_factory("labelling.ipynb", CELLS)
    for i in range(4):
        nb.run(i)
    widget = nb.cell(3).locator(".rftkit-labelling")
    widget.wait_for()
    assert shown(widget) == {"progress": "row 1 of 4 · 0 labelled", "output": "warm thanks"}
    assert "1.0 = polite and warm" in widget.locator(".rftkit-label-rubric").inner_text()
    assert [b.inner_text() for b in widget.get_by_role("group", name="score").get_by_role("button").all()] == [
        "0", "0.25", "0.5", "0.75", "1",
    ]  # fmt: skip

    # A click on "1" labels row 0 and moves on.
    widget.get_by_role("button", name="1", exact=True).click()
    wait_saved(widget, 1, "1", 1)
    assert shown(widget)["progress"] == "row 2 of 4 · 1 labelled"

    # Number keys: "1" is the first score (0); JupyterLab's own "1" (make the cell a heading) stays out.
    widget.focus()
    page.keyboard.press("1")
    wait_saved(widget, 2, "0", 2)
    assert shown(widget) == {"progress": "row 3 of 4 · 2 labelled", "output": XSS}  # markup shown as text
    assert widget.locator("img").count() == 0
    assert widget.locator(".rftkit-label-fields dd").inner_text() == "<b>q2</b>"
    assert widget.locator(".rftkit-label-output *, dd *, dt *").count() == 0  # no data became an element
    assert page.evaluate("() => jupyterapp.shell.currentWidget.content.widgets[3].model.type") == "code"
    shots.keep(shots.save(widget, "labelling-light.png"), "labelling-light.png")

    # Skip, back, a score by key; then back twice and relabel row 1 with "5" (the fifth score, 1).
    page.keyboard.press("ArrowRight")
    assert shown(widget)["progress"] == "row 4 of 4 · 2 labelled"
    page.keyboard.press("b")
    assert shown(widget)["output"] == XSS
    page.keyboard.press("3")
    wait_saved(widget, 3, "0.5", 3)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert shown(widget)["output"] == "go away"
    page.keyboard.press("5")
    wait_saved(widget, 2, "1", 3)
    assert shown(widget)["output"] == XSS
    assert page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex") == 3

    # A following cell: the store and the sidecar file hold every label.
    first = nb.json(4)
    assert first["format"] == "rftkit_nb-labels"
    assert first["path"] == "labelling.rftkit.labels.json"
    assert first["store"] == EXPECTED
    assert first["file"] == sorted(v for v in EXPECTED if v is not None)

    shots.theme(page, "JupyterLab Dark")
    shots.keep(shots.save(widget, "labelling-dark.png"), "labelling-dark.png")
    shots.theme(page, "JupyterLab Light")

    # Restart the kernel: a new process reads the same labels, on the data re-ordered.
    page.evaluate("() => jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(
        "() => jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'",
        timeout=90_000,
    )
    nb.run(5)
    second = nb.json(6)
    assert second["pid"] != first["pid"]
    assert second["store"] == EXPECTED[::-1]
    assert second["file"] == first["file"]

    # A new widget in the new kernel opens on the first unlabelled row, with the saved labels shown.
    nb.run(7)
    again = nb.cell(7).locator(".rftkit-labelling")
    again.wait_for()
    assert shown(again) == {"progress": "row 1 of 4 · 3 labelled", "output": "fine, whatever"}
    again.focus()
    page.keyboard.press("ArrowRight")
    assert again.get_by_role("button", name="0.5", exact=True).get_attribute("aria-pressed") == "true"
    assert again.locator("img").count() == 0

    # Clear that label ("x"): the store and the file forget it.
    page.keyboard.press("x")
    wait_saved(again, 2, "cleared", 2)
    assert again.get_by_role("button", name="0.5", exact=True).get_attribute("aria-pressed") == "false"
    third = nb.json(6)
    assert third["store"] == [None, None, 1.0, 1.0]
    assert third["file"] == [1.0, 1.0]

    assert page.console.errors == []
