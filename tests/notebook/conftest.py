"""A real IPython shell for the notebook-layer tests (history off, cell errors re-raised)."""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


class Shell:
    """An ``InteractiveShell`` whose cells raise their errors instead of only printing them."""

    def __init__(self) -> None:
        config = Config()
        config.HistoryManager.enabled = False  # no SQLite file, nothing left open
        self.ip = InteractiveShell(config=config)
        self.closed = False

    def cell(self, source: str) -> Any:
        """Run a cell as a notebook would; return its value, or raise what it raised."""
        result = self.ip.run_cell(source, store_history=False)
        result.raise_error()
        return result.result

    def load(self) -> Any:
        return self.cell("%load_ext rftkit_nb")

    @property
    def workbench(self) -> Any:
        from rftkit_nb.notebook.magics import workbench_of

        return workbench_of(self.ip)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if "rftkit_nb" in self.ip.extension_manager.loaded:
            self.ip.run_line_magic("unload_ext", "rftkit_nb")
        atexit.unregister(self.ip.atexit_operations)  # it runs once, here, not again at exit
        self.ip.atexit_operations()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real credentials, no writes to the home directory (IPython profile, judge cache)."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AZURE_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)  # set by Jupyter Server: tests name it themselves
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The notebook's directory (the kernel's working directory): where rftkit.json lives."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def new_shell(project_dir: Path) -> Iterator[Callable[[], Shell]]:
    """Start fresh shells in the project directory (a second one is a kernel restart)."""
    shells: list[Shell] = []

    def start() -> Shell:
        shells.append(Shell())
        return shells[-1]

    yield start
    for shell in shells:
        shell.close()


@pytest.fixture
def shell(new_shell: Callable[[], Shell]) -> Shell:
    """A shell with the extension loaded."""
    sh = new_shell()
    sh.load()
    return sh
