"""The project file under attack: two kernels racing, absurd files, symlinks, absurd weights."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import ConfigError, ProjectFileError

EDITOR = textwrap.dedent(
    """
    import json, sys
    from rftkit_nb.core.workbench import Workbench
    from rftkit_nb.errors import ProjectFileError
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wb = Workbench(path)
    saved = []
    for i in range(n):
        name = f"{who}_{i}"
        try:
            wb.add_rubric(name, "1 = good")
            saved.append(name)
        except ProjectFileError:  # the other kernel wrote first: a conflict, reported as such
            wb.open(path, discard=True)
    print(json.dumps(saved))
    """
)


def test_workbench_when_two_processes_edit_one_file_then_every_edit_reported_saved_is_in_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rftkit.json"
    Workbench(path).add_rubric("seed", "1 = good")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", EDITOR, str(path), who, "150"], stdout=subprocess.PIPE, text=True
        )
        for who in ("a", "b")
    ]
    saved: list[str] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        saved += json.loads(out)
    on_disk = set(Workbench(path).rubrics)
    assert len(saved) >= 150  # both made progress
    assert set(saved) <= on_disk  # nothing reported "saved" was lost


def test_read_when_project_file_is_nested_1000_levels_then_one_line_project_file_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rftkit.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ProjectFileError, match="nested too deeply"):
        Workbench(path)
    wb = Workbench.load_or_empty(path)  # %load_ext starts empty with autosave off, never crashes
    assert wb.blocked is not None


def test_read_when_project_file_is_huge_then_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "rftkit.json"
    with path.open("wb") as f:
        f.truncate(800 * 1024 * 1024)  # sparse: 800 MB that cost no disk
    with pytest.raises(ProjectFileError, match=r"is 839 MB, over the 16 MB"):
        Workbench(path)


@pytest.mark.parametrize("weight", [1e308, 1e7, float("inf")])
def test_weight_when_absurd_then_refused_at_construction(tmp_path: Path, weight: float) -> None:
    wb = Workbench(None)
    with pytest.raises(ConfigError, match="weight must be"):
        wb.add_rubric("tone", "1 = polite", weight=weight)
    assert wb.rubrics == {}
