"""A real JupyterLab on 127.0.0.1 and Debian's Chromium driven by Playwright, for the widget tests.

Everything JupyterLab writes (config, data, runtime files, workspaces, the notebook and its project file)
goes to a temporary directory; no announcement or update check is fetched; the server is stopped at the
end. The kernel imports this checkout (``PYTHONPATH``). Screenshots go to a folder the run prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("RFTKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
STARTUP_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """A running JupyterLab server: its root directory, base URL and token."""

    def __init__(self, base: Path) -> None:
        self.root, self.base = base / "root", base
        self.root.mkdir()
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / "jupyterlab.log"
        self.env = self._environment()
        self.process: subprocess.Popen[bytes] | None = None

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "JUPYTER"))}
        for name in ("config", "data", "runtime", "ipython", "cache"):
            (self.base / name).mkdir()
        env.update(
            JUPYTER_CONFIG_DIR=str(self.base / "config"), JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"), IPYTHONDIR=str(self.base / "ipython"),
            XDG_CACHE_HOME=str(self.base / "cache"), JUPYTER_PLATFORM_DIRS="1",
            PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
        )  # fmt: skip
        labconfig = self.base / "config" / "labconfig"
        labconfig.mkdir()
        # No "would you like news?" toast and no feed fetched: nothing leaves the machine.
        (labconfig / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        )
        return env

    def start(self) -> None:
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            f"--IdentityProvider.token={self.token}", "--allow-root", f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.workspaces_dir={self.base / 'workspaces'}", "--ServerApp.open_browser=False",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=self.root, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2),
            ):
                return
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not start in {STARTUP_S} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError):  # shuts the kernels down too
            request = urllib.request.Request(f"{self.url}/api/shutdown?token={self.token}", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the root; returns the URL that opens it."""
        nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
                        for src in cells],
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
        (self.root / name).write_text(json.dumps(nb))
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("RFTKIT_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nwidget screenshots: {folder}")
    return folder


# Module scope: the server and Playwright's event loop end with each test module, so the tests that run
# after them (asyncio.run in the scoring tests) find no loop running in the main thread.
@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (no browser is downloaded)")
    server = Lab(tmp_path_factory.mktemp("jupyterlab"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Console:
    """Every error the page reports: console errors, uncaught exceptions, dialogs (an XSS's alert)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog: {dialog.type} {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console = Console(page)
    try:
        yield page
    finally:
        context.close()


class Notebook:
    """An open notebook: run its cells one by one and read their outputs."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        page.goto(url)
        page.wait_for_function(
            "() => window.jupyterapp && jupyterapp.shell.currentWidget && jupyterapp.shell.currentWidget.content"
            " && jupyterapp.shell.currentWidget.content.widgets && jupyterapp.shell.currentWidget.content.widgets.length",
            timeout=STARTUP_S * 1000,
        )
        page.evaluate("() => jupyterapp.shell.currentWidget.sessionContext.ready")
        page.wait_for_function(
            "() => jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'",
            timeout=STARTUP_S * 1000,
        )

    def cell(self, i: int) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(i)

    def run(self, i: int) -> Any:
        """Run cell ``i`` and wait for it to finish; returns its locator."""
        ok = self.page.evaluate(
            """async (i) => {
                const panel = jupyterapp.shell.currentWidget;
                panel.content.activeCellIndex = i;
                panel.content.deselectAll();
                await jupyterapp.commands.execute('notebook:run-cell');
                return true;
            }""",
            i,
        )
        assert ok
        self.page.wait_for_function(
            "(i) => { const c = jupyterapp.shell.currentWidget.content.widgets[i];"
            " return c.model.executionCount !== null && c.promptNode.textContent.indexOf('*') < 0; }",
            arg=i,
            timeout=60_000,
        )
        return self.cell(i)

    def text(self, i: int) -> str:
        """The output text of cell ``i`` (its streams and plain-text results)."""
        return self.cell(i).locator(".jp-OutputArea-output").all_inner_texts()

    def json(self, i: int) -> Any:
        """Run cell ``i``, which prints one JSON line, and parse it."""
        self.run(i)
        texts = [t for t in self.text(i) if t.strip()]
        assert texts, f"cell {i} printed nothing"
        errors = [t for t in texts if "Traceback" in t or "Error" in t.split("\n")[0]]
        assert not errors, errors
        return json.loads(texts[-1])


@pytest.fixture
def notebook_factory(lab: Lab, page: Any) -> Any:
    def open_notebook(name: str, cells: list[str]) -> Notebook:
        return Notebook(page, lab.notebook(name, cells))

    return open_notebook


class Shots:
    """Screenshots of widgets, in the folder the run prints; the best are copied to docs/img on request
    (``RFTKIT_UPDATE_DOCS_IMAGES=1``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, locator: Any, name: str) -> Path:
        path = self.folder / name
        locator.screenshot(path=str(path))
        return path

    @staticmethod
    def theme(page: Any, theme: str) -> None:
        page.evaluate("(t) => jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
        page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme, timeout=20_000)
        page.wait_for_timeout(300)  # the theme's CSS variables apply

    @staticmethod
    def keep(path: Path, name: str) -> None:
        if os.environ.get("RFTKIT_UPDATE_DOCS_IMAGES"):
            target = REPO / "docs" / "img" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


@pytest.fixture(scope="session")
def shots(screenshots: Path) -> Shots:
    return Shots(screenshots)
