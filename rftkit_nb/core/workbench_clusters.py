"""Moved to :mod:`rftkit_nb.core.workbench.clusters`; kept so old imports work.

``ClusterEdits``, the Workbench's former base class, is gone: its methods are the Workbench's own
(``set_cluster``, ``add_cluster``, ``remove_cluster``, ``rename_cluster``, ``edit_clusters``).
"""

from rftkit_nb.core.workbench.clusters import LiveClusterMap, place_rubric

__all__ = ["LiveClusterMap", "place_rubric"]
