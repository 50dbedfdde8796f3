"""The labelling widget's ES module in a real browser (Debian's Chromium through Playwright): rendered with
a stand-in for the anywidget model (get / set / on / save_changes), clicked and typed at like a user would.
The Python side of the same traits is covered headless in test_labelling_widget.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rftkit_nb.notebook.widgets.labelling import STATIC

CHROMIUM = Path(os.environ.get("RFTKIT_CHROMIUM", "/usr/bin/chromium"))
ROWS = [
    {"key": "k0", "output": "<b>bold?</b> <img src=x onerror=alert(1)>", "fields": [["question", "q0 <i>"]]},
    {"key": "k1", "output": "second answer", "fields": [["question", "q1"]]},
    {"key": "k2", "output": "third answer", "fields": [["question", "q2"]]},
]

# A model as anywidget hands it to render(): traits in a dict, change events, save_changes recorded.
HARNESS = """
async ([source, state]) => {
  const listeners = {};
  window.saved = [];
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); },
    on: (e, f) => { (listeners[e] ||= []).push(f); },
    save_changes: () => window.saved.push(JSON.parse(JSON.stringify(state))),
  };
  window.model = model;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  const el = document.createElement("div");
  el.id = "widget";
  document.body.append(el);
  widget.render({ model, el });
}
"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium (apt-get install chromium)")


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        state = {"rubric": "tone", "rubric_text": "1 = polite", "choices": [0.0, 0.5, 1.0], "rows": ROWS,
                 "index": 0, "labels": {}, "notice": ""}  # fmt: skip
        page.evaluate(HARNESS, [(STATIC / "labelling.js").read_text(), state])
        yield page
        browser.close()


def state(page) -> dict:
    return page.evaluate(
        "() => JSON.parse(JSON.stringify({labels: model.get('labels'), index: model.get('index')}))"
    )


def test_browser_when_a_score_is_clicked_then_labels_and_index_are_saved(page):
    page.get_by_role("button", name="1", exact=True).click()
    assert state(page) == {"labels": {"k0": 1.0}, "index": 1}
    assert page.evaluate("() => window.saved.length") == 1


def test_browser_when_number_keys_and_back_then_like_clicks(page):
    page.locator("#widget").focus()
    page.keyboard.press("1")  # the first score, 0
    page.keyboard.press("3")  # the third, 1
    page.keyboard.press("b")
    assert state(page) == {"labels": {"k0": 0.0, "k1": 1.0}, "index": 1}
    assert "row 2 of 3 · 2 labelled" in page.locator("#widget").inner_text()
    page.keyboard.press("x")  # clear this row's label
    assert state(page)["labels"] == {"k0": 0.0}


def test_browser_when_data_holds_markup_then_it_is_shown_as_text(page):
    widget = page.locator("#widget")
    assert widget.locator("pre").inner_text() == ROWS[0]["output"]
    assert widget.locator("pre *, dd *, dt *").count() == 0  # nothing in the data became an element
    assert widget.locator("img").count() == 0
    assert "q0 <i>" in widget.inner_text()
    assert json.loads(page.evaluate("() => JSON.stringify(window.saved)")) == []  # rendering saved nothing
