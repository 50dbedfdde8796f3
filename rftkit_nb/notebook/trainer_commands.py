"""``%rft export --to trl|verl|verifiers PATH``: the design as a reward module an open trainer loads.

The handler in :mod:`rftkit_nb.notebook.commands` routes here when ``--to`` is given; the work is one call
to :func:`rftkit_nb.trainers.export_reward`.

Example::

    >>> import tempfile, pathlib
    >>> from rftkit_nb.core.workbench import Workbench
    >>> wb = Workbench(path=None)
    >>> _ = wb.add_grader({"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
    ...                    "reference": "{{ item.answer }}", "operation": "eq"})
    >>> note = export_for_trainer(wb, pathlib.Path(tempfile.mkdtemp()) / "reward_verl.py", "verl")
    >>> "custom_reward_function.name=compute_score" in note.text
    True
"""

from __future__ import annotations

import os

from rftkit_nb.core.workbench import Workbench
from rftkit_nb.notebook.display import Note

__all__ = ["export_for_trainer"]

_LOAD = {
    "trl": "from {module} import reward; GRPOTrainer(..., reward_funcs=[reward], callbacks=[reward.callback()])",
    "verl": "reward.custom_reward_function.path={path} reward.custom_reward_function.name=compute_score",
    "verifiers": "from {module} import RftkitRewards; class MyTask(RftkitRewards, vf.Task[MyData]): ...",
}


def export_for_trainer(
    workbench: Workbench, path: str | os.PathLike[str], to: str, *, overwrite: bool = False
) -> Note:
    """Write the workbench's grader as a reward module for ``to``; the note says how to load it."""
    from rftkit_nb.trainers import export_reward

    grader = workbench.grader()
    written = export_reward(grader, path, to=to, overwrite=overwrite)
    how = _LOAD[to].format(module=written.stem, path=written.resolve())
    return Note(f"wrote the {to} reward of grader {grader.name!r} to {written}; load it with: {how} "
                "(the judge's endpoint and key come from the environment, never from the file)")  # fmt: skip
