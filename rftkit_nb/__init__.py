"""rftkit_nb: design, test and ship reinforcement-fine-tuning graders from a notebook.

    %load_ext rftkit_nb

or, from Python::

    >>> from rftkit_nb import StringCheckGrader, grader_from_config
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> grader_from_config(g.config) == g
    True

The core names import at once (pydantic only); ``score``, ``ScoreReport`` and ``Judge`` load the scoring
engine (pandas, the openai SDK) and ``ClusterMatrix`` / ``ScoreExplorer`` the widgets (anywidget) on first
use, so ``%load_ext rftkit_nb`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import (
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    grader_from_config,
)
from rftkit_nb.core.rubrics import (
    AggregatorGrader,
    FormattingGrader,
    IndicatorGrader,
    RubricGrader,
    RubricItem,
)

if TYPE_CHECKING:
    from rftkit_nb.core.lint import lint
    from rftkit_nb.core.workbench import Workbench
    from rftkit_nb.notebook.widgets import ClusterMatrix, ScoreExplorer
    from rftkit_nb.scoring.engine import score
    from rftkit_nb.scoring.judge import Judge
    from rftkit_nb.scoring.report import ScoreReport

__version__ = "0.1.0"

__all__ = [
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

# Names whose modules are imported on first access (PEP 562), to keep import and %load_ext cheap.
_LAZY = {
    "lint": "rftkit_nb.core.lint",
    "Workbench": "rftkit_nb.core.workbench",
    "score": "rftkit_nb.scoring.engine",
    "ScoreReport": "rftkit_nb.scoring.report",
    "Judge": "rftkit_nb.scoring.judge",
    "ClusterMatrix": "rftkit_nb.notebook.widgets",
    "ScoreExplorer": "rftkit_nb.notebook.widgets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rftkit_nb' has no attribute {name!r}")


# --- IPython extension entry points (owned by the notebook layer) --------------------------------


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext rftkit_nb``: register %%rubric, %%python_grader and %rft, and open ./rftkit.json."""
    from rftkit_nb.notebook.magics import load  # IPython-only code loads only inside IPython

    load(ip)


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext rftkit_nb``: unregister the magics (the project file is left as it is)."""
    from rftkit_nb.notebook.magics import unload

    unload(ip)
