"""``rftkit-nb quickstart``: the README's first command works as root and as a normal user."""

from __future__ import annotations

import sys
from pathlib import Path

from rftkit_nb.cli import lab_command, quickstart_notebook


def test_lab_command_when_root_then_allow_root_is_added_and_extra_args_follow() -> None:
    command = lab_command(Path("quickstart.ipynb"), root=True, extra=["--no-browser"])
    assert command[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert command[4:] == ["quickstart.ipynb", "--allow-root", "--no-browser"]


def test_lab_command_when_a_normal_user_then_no_root_flag() -> None:
    assert "--allow-root" not in lab_command(Path("q.ipynb"), root=False, extra=[])


def test_quickstart_notebook_when_run_from_a_checkout_then_the_repository_copy(tmp_path: Path) -> None:
    found = quickstart_notebook(tmp_path)
    assert found.name == "quickstart.ipynb"
    assert found.is_file()
    assert not (tmp_path / "quickstart.ipynb").exists()  # nothing copied when the checkout has it


def test_rftkit_nb_quickstart_when_run_as_root_then_jupyterlab_starts(tmp_path: Path) -> None:
    # The real command, as the README gives it; as root (CI), JupyterLab must not refuse to start.
    import os
    import subprocess
    import time
    import urllib.request

    port = "18899"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "rftkit_nb.cli", "quickstart", "--", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=t0ken"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token=t0ken", timeout=2
                ) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
