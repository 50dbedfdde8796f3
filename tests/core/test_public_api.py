"""Specification of the public surface: ``rftkit_nb.__all__`` is pinned, and importing it stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import rftkit_nb

PUBLIC = [
    "AggregatorGrader",
    "ClusterMap",
    "ClusterMatrix",
    "FormattingGrader",
    "IndicatorGrader",
    "Judge",
    "LabelModelGrader",
    "MultiGrader",
    "PythonGrader",
    "RubricGrader",
    "RubricItem",
    "ScoreExplorer",
    "ScoreModelGrader",
    "ScoreReport",
    "StringCheckGrader",
    "TextSimilarityGrader",
    "Workbench",
    "grader_from_config",
    "lint",
    "load_ipython_extension",
    "score",
    "unload_ipython_extension",
]
# Heavy or interactive modules a bare `import rftkit_nb` must not load (they load on first use).
NOT_ON_IMPORT = ("pandas", "openai", "IPython.core.magic", "ipywidgets", "anywidget", "rftkit_nb.scoring")


def test_all_when_read_is_sorted():
    assert rftkit_nb.__all__ == sorted(rftkit_nb.__all__)


def test_all_when_read_is_exactly_the_pinned_list():
    assert rftkit_nb.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_when_accessed_imports(name):
    value = getattr(rftkit_nb, name)
    assert value is not None
    assert getattr(value, "__name__", name) == name


def test_unknown_attribute_when_accessed_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = rftkit_nb.no_such_name


def test_import_when_done_in_a_fresh_interpreter_loads_no_heavy_module():
    probe = (
        "import json, sys\n"
        "import rftkit_nb\n"
        f"heavy = {NOT_ON_IMPORT!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + '.' for h in heavy)))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_star_import_when_done_in_a_fresh_interpreter_binds_every_public_name():
    probe = "from rftkit_nb import *\nprint(sorted(n for n in dir() if not n.startswith('_')))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr(sorted(PUBLIC))
