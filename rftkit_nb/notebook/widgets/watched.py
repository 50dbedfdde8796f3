"""What ``%rft job ID`` returns: the JobReport itself, shown as a live JobMonitor where widgets render.

``report = %rft job ID`` keeps the report (``report.job`` is the :class:`Job`: pause, resume, cancel,
wait); left as a cell's value it is displayed as the monitor, with the report's text and escaped HTML for
the places widgets do not render. The monitor (and its polling) starts when the report is first shown.

Example::

    >>> from rftkit_nb.remote.jobs import JobReport
    >>> issubclass(WatchedReport, JobReport)
    True
"""

from __future__ import annotations

from typing import Any

from rftkit_nb.notebook.widgets.job_monitor import JobMonitor
from rftkit_nb.remote.jobs import JobReport

__all__ = ["WatchedReport", "watched"]


class WatchedReport(JobReport):
    """What ``%rft job ID`` returns: the :class:`JobReport` (``.job`` is the Job), displayed as a live
    :class:`JobMonitor` where widgets render (built when first shown, then reused), with the report's text
    and escaped HTML for the places they do not."""

    poll: float = 10.0

    @property
    def monitor(self) -> JobMonitor:
        """The monitor of this report's job (polling starts when it is first asked for)."""
        found = self.__dict__.get("_monitor")
        if found is None:
            found = JobMonitor(self.job, poll=self.poll)
            object.__setattr__(self, "_monitor", found)  # a frozen dataclass: the cache is not a field
        return found

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        shown: Any = self.monitor._repr_mimebundle_(include=include, exclude=exclude)
        data, metadata = shown
        return {**data, "text/plain": repr(self), "text/html": self._repr_html_()}, metadata


def watched(report: JobReport, *, poll: float = 10.0) -> WatchedReport:
    """The same report (fields shared), displayed as a live monitor polling every ``poll`` s at first."""
    out = WatchedReport(report.job, report.metrics, report.checkpoints, report.recent)
    object.__setattr__(out, "poll", float(poll))
    return out
