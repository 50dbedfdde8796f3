"""``rftkit-nb``: the command line's one job, opening the quickstart notebook in JupyterLab.

``rftkit-nb quickstart`` starts JupyterLab on the quickstart notebook. As root (containers, Colab-like
hosts, CI machines) it adds ``--allow-root``, which JupyterLab otherwise refuses to start without;
anything after ``--`` goes to JupyterLab as it is.

Example::

    >>> lab_command(Path("q.ipynb"), root=True, extra=["--no-browser"])[-3:]
    ['q.ipynb', '--allow-root', '--no-browser']
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["lab_command", "main", "quickstart_notebook"]

_PACKAGED = Path(__file__).resolve().parent / "examples" / "quickstart.ipynb"
_REPOSITORY = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def quickstart_notebook(folder: Path) -> Path:
    """The quickstart in ``folder``: the repository's copy when run from a checkout, else copied there."""
    for candidate in (folder / "examples" / "quickstart.ipynb", folder / "quickstart.ipynb", _REPOSITORY):
        if candidate.is_file():
            return candidate
    if not _PACKAGED.is_file():
        raise SystemExit(
            "rftkit-nb: the quickstart notebook is not installed; run from a checkout of rftkit_nb"
        )
    target = folder / "quickstart.ipynb"
    shutil.copyfile(_PACKAGED, target)
    return target


def lab_command(notebook: Path, *, root: bool, extra: list[str]) -> list[str]:
    """The JupyterLab command line for ``notebook`` (``--allow-root`` when running as root)."""
    return [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        str(notebook),
        *(["--allow-root"] if root else []),
        *extra,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rftkit-nb", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["quickstart"], help="open the quickstart notebook in JupyterLab")
    parser.add_argument("lab_args", nargs="*", help="after --: options for JupyterLab (e.g. --no-browser)")
    args = parser.parse_args(argv)
    notebook = quickstart_notebook(Path.cwd())
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    # JupyterLab serves its working folder: start it in the notebook's, wherever the command was run.
    command = lab_command(Path(notebook.name), root=root, extra=args.lab_args)
    return subprocess.call(command, cwd=notebook.parent)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
