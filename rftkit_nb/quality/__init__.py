"""The grader quality lab: human labels, judge-vs-human agreement, judge stability and bias, pre-flight
checks of a reward, and a cost projection, all before paying for a training run.

Above ``scoring`` (it calls ``score()`` and reads ``ScoreReport``), below ``notebook``; no IPython.

Example::

    >>> from rftkit_nb.quality import Labels
    >>> Labels(path=None)
    Labels(in memory): 0 labels (none yet)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "PRICES",
    "AgreementReport",
    "CostReport",
    "Labels",
    "PreflightReport",
    "PriceTable",
    "StabilityReport",
    "agreement",
    "bias",
    "cost",
    "preflight",
    "stability",
]

# Imported on first use (PEP 562): scipy, scikit-learn and krippendorff load only when a statistic runs.
_LAZY = {
    "Labels": "rftkit_nb.quality.labels",
    "agreement": "rftkit_nb.quality.agreement",
    "AgreementReport": "rftkit_nb.quality.agreement",
    "stability": "rftkit_nb.quality.stability",
    "StabilityReport": "rftkit_nb.quality.stability",
    "bias": "rftkit_nb.quality.bias",
    "preflight": "rftkit_nb.quality.preflight",
    "PreflightReport": "rftkit_nb.quality.preflight",
    "cost": "rftkit_nb.quality.cost",
    "CostReport": "rftkit_nb.quality.cost",
    "PriceTable": "rftkit_nb.quality.prices",
    "PRICES": "rftkit_nb.quality.prices",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rftkit_nb.quality' has no attribute {name!r}")
