"""The same reward for open trainers: TRL, verl and verifiers, evaluated exactly as ``score()`` does.

Hosted RFT with OpenAI-format graders is closing or time-limited; a grader designed and calibrated here
keeps working as a trainer's reward:

* :func:`to_trl` -> an async reward function for TRL's ``GRPOTrainer`` (``split=True``: one per sub-grader);
* :func:`to_verl` -> verl's ``compute_score(data_source, solution_str, ground_truth, extra_info)``;
* :func:`to_verifiers` -> a mixin of ``@vf.reward`` / ``@vf.metric`` methods for a verifiers ``Task``;
* :func:`export_reward` -> a small python module a trainer loads by path, embedding the grader JSON;
* :func:`check_parity` -> proof that an exported reward gives ``score()``'s rewards on your rows.

Example::

    >>> from rftkit_nb.trainers import to_trl
    >>> callable(to_trl)
    True
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ParityReport",
    "check_parity",
    "export_reward",
    "load_reward",
    "rubric_judge_criteria",
    "to_trl",
    "to_verifiers",
    "to_verl",
]

_WHERE = {
    "to_trl": "rftkit_nb.trainers.trl",
    "to_verl": "rftkit_nb.trainers.verl",
    "to_verifiers": "rftkit_nb.trainers.verifiers",
    "rubric_judge_criteria": "rftkit_nb.trainers.verifiers",
    "export_reward": "rftkit_nb.trainers.export",
    "load_reward": "rftkit_nb.trainers.export",
    "check_parity": "rftkit_nb.trainers.parity",
    "ParityReport": "rftkit_nb.trainers.parity",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'rftkit_nb.trainers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
