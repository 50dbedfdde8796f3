"""The notebook's interactive widgets (anywidget): the cluster x rubric matrix, the score explorer, the
submit panel and job monitor of hosted RFT, and the labelling widget (rftkit_nb.notebook.widgets.labelling).

Each is one Python class whose state lives in synced traits, with its ES module and CSS shipped as package
data in ``static/`` (no build step, no CDN). Where widgets cannot render (terminal IPython, nbconvert, a
static notebook view), each falls back to the escaped HTML / plain-text repr of what it shows.

Example::

    >>> from rftkit_nb.core.workbench import Workbench
    >>> from rftkit_nb.notebook.widgets import ClusterMatrix
    >>> wb = Workbench(path=None)
    >>> _ = wb.add_rubric("tone", "1 = polite", clusters=["chat"])
    >>> ClusterMatrix(wb).membership
    {'chat': ['tone']}
"""

from rftkit_nb.notebook.widgets.cluster_matrix import ClusterMatrix
from rftkit_nb.notebook.widgets.job_monitor import JobMonitor
from rftkit_nb.notebook.widgets.score_explorer import ScoreExplorer
from rftkit_nb.notebook.widgets.submit_panel import SubmitPanel

__all__ = ["ClusterMatrix", "JobMonitor", "ScoreExplorer", "SubmitPanel"]
