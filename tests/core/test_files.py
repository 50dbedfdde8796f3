"""Writing files (rftkit_nb.core.files): atomic (temp file, fsync, os.replace), through symlinks."""

from __future__ import annotations

import os

from rftkit_nb.core.workbench import Workbench


def test_project_file_writes_are_atomic_and_leave_no_temp_files(wb, project, design):
    os.chmod(project.parent, 0o755)
    design(wb)
    assert sorted(p.name for p in project.parent.iterdir()) == ["rftkit.json"]


def test_project_file_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "rftkit.json"
    link.symlink_to(real)
    Workbench(link).add_rubric("tone", "t")

    assert link.is_symlink()
    assert "tone" in real.read_text()
