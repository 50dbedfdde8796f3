"""What ``%rft score`` returns: the ScoreReport itself, shown as a ScoreExplorer where widgets render.

``report = %rft score df`` keeps the report object (every attribute and method of a ScoreReport); left as a
cell's value it is displayed as the explorer, with the report's escaped HTML and text alongside for the
places widgets do not render (nbconvert, a static view of the notebook, a terminal).

Example::

    >>> from rftkit_nb.scoring.report import ScoreReport
    >>> report = explorable(ScoreReport(grader=None, rows=[], leaves={}, outcomes={}, rewards=[],
    ...                                 reward_notes=[]))
    >>> isinstance(report, ScoreReport)
    True
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rftkit_nb.scoring.report import ScoreReport

__all__ = ["ExplorableReport", "explorable"]


@dataclasses.dataclass(repr=False)
class ExplorableReport(ScoreReport):
    """A ScoreReport whose display is a :class:`ScoreExplorer` (built when it is first shown, then reused:
    showing the report again shows the same explorer, in sync)."""

    _explorer: Any = dataclasses.field(default=None, repr=False, compare=False)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        if self._explorer is None:
            self._explorer = self.explore()
        data, metadata = self._explorer._repr_mimebundle_(include=include, exclude=exclude)
        # Where the widget cannot render, the report's own text and escaped HTML are shown instead.
        data = {**data, "text/plain": repr(self), "text/html": self._repr_html_()}
        return data, metadata

    def __repr__(self) -> str:
        return ScoreReport.__repr__(self)


def explorable(report: ScoreReport) -> ExplorableReport:
    """The same report (its fields shared, not copied), displayed as an explorer."""
    values = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    return ExplorableReport(**values)
