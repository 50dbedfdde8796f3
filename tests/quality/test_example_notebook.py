"""examples/calibrate_and_preflight.ipynb runs top to bottom in a real Jupyter kernel, offline, and shows
what the issue promises: 20 labels through the widget, agreement with kappa and the baseline, a pre-flight
that flags the keyword-hackable rubric and the master-key-fooled judge, and a cost projection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "calibrate_and_preflight.ipynb"


def _outputs(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("example")
    shutil.copy(NOTEBOOK, workdir / NOTEBOOK.name)
    nb = nbformat.read(workdir / NOTEBOOK.name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return nb, workdir


@pytest.mark.slow
def test_example_when_run_then_labels_are_saved_beside_the_project(executed):
    nb, workdir = executed
    labels = json.loads((workdir / "rftkit.labels.json").read_text())["labels"]
    assert len(labels["correct"]) == 20
    assert len(labels["coverage"]) == 20
    assert "20 of 24 labelled" in _outputs(nb)


@pytest.mark.slow
@pytest.mark.parametrize(
    "shown",
    [
        pytest.param("kappa", id="agreement-kappa"),
        pytest.param("constant answer", id="agreement-baseline"),
        pytest.param("probe: keyword stuffing", id="hackable-rubric"),
        pytest.param("probe: master key", id="master-key-fooled-judge"),
        pytest.param("through correct, coverage", id="names-the-rubrics"),
        pytest.param("coverage: BELOW FLOOR 0.6", id="disagreeing-judge"),
        pytest.param("correct: PASS", id="agreeing-judge"),
        pytest.param("cost projection", id="cost"),
        pytest.param("auto-pause", id="azure-threshold"),
        pytest.param("test-retest", id="stability"),
        pytest.param("ScoreExplorer: 5 of 24 rows shown", id="worst-disagreements-in-the-explorer"),
    ],
)
def test_example_when_run_then_it_shows(executed, shown):
    assert shown in _outputs(executed[0])


@pytest.mark.slow
def test_example_when_run_then_no_traceback_and_no_key_in_outputs(executed):
    text = _outputs(executed[0])
    assert "Traceback" not in text
    assert "Error" not in text  # no exception name anywhere ('error' badges are lower case)
    assert "sk-demo" not in text  # the key set in the environment is never shown
