"""The Workbench's cluster x rubric edits, and its live map whose edit methods lead to them.

:class:`ClusterEdits` (a base of :class:`~rftkit_nb.core.workbench.Workbench`) switches cells and adds,
removes and renames clusters, each as one validated, saved, undoable change. A widget (the cluster x rubric
matrix) edits the map it is given; on the Workbench's :class:`LiveClusterMap`, each edit method calls the
matching Workbench method, so a bad edit (an unknown rubric) is refused before anything changes.

Example::

    >>> from rftkit_nb.core.workbench import Workbench
    >>> wb = Workbench(path=None)
    >>> _ = wb.add_rubric("tone", "1 = polite")
    >>> wb.clusters.add_cluster("chat", ["tone"])
    >>> wb.undo()
    "added cluster 'chat'"
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.workbench_store import AutosavedState
from rftkit_nb.errors import ConfigError

if TYPE_CHECKING:
    from rftkit_nb.core.project import RubricSpec
    from rftkit_nb.core.workbench import Workbench

__all__ = ["ClusterEdits", "LiveClusterMap"]


class ClusterEdits(AutosavedState):
    """Edits of the cluster x rubric matrix, each one change (the Workbench inherits them)."""

    _clusters: LiveClusterMap
    _rubrics: dict[str, RubricSpec]

    def set_cluster(self, cluster: str, rubric: str, applies: bool = True) -> None:
        """Switch one cell of the cluster x rubric matrix (an unknown cluster is created)."""
        self._require_rubrics([rubric])
        with self._change(f"{'on' if applies else 'off'}: {cluster!r} x {rubric!r}"):
            ClusterMap.set(self._clusters, cluster, rubric, applies)

    def add_cluster(self, cluster: str, rubrics: Iterable[str] = ()) -> None:
        """Add a cluster (a kind of row) and switch ``rubrics`` on for it."""
        names = list(rubrics)
        self._require_rubrics(names)
        with self._change(f"added cluster {cluster!r}"):
            ClusterMap.add_cluster(self._clusters, cluster, names)

    def remove_cluster(self, cluster: str) -> None:
        """Remove a cluster: its rows then count no rubric."""
        with self._change(f"removed cluster {cluster!r}"):
            ClusterMap.remove_cluster(self._clusters, cluster)

    def rename_cluster(self, old: str, new: str) -> None:
        """Rename a cluster (as the rows' cluster field now spells it)."""
        with self._change(f"renamed cluster {old!r} to {new!r}"):
            ClusterMap.rename_cluster(self._clusters, old, new)

    def _require_rubrics(self, names: Iterable[str]) -> None:
        unknown = [n for n in names if n not in self._rubrics]
        if unknown:
            known = ", ".join(self._rubrics) or "(none: add one with %%rubric)"
            raise ConfigError(f"no rubric {unknown[0]!r}; rubrics are: {known}")


class LiveClusterMap(ClusterMap):
    """The Workbench's own cluster map: its edit methods are the Workbench's, so they are validated,
    saved, undoable and announced like any other change.

    A rubric on this map is a rubric of the workbench: ``rename_rubric`` renames the rubric itself and
    ``remove_rubric`` removes it (``undo`` brings it back); a name that is not a rubric is refused with a
    :class:`ConfigError` listing the rubrics, and nothing changes.

    Example::

        >>> from rftkit_nb.core.workbench import Workbench
        >>> wb = Workbench(path=None)
        >>> _ = wb.add_rubric("tone", "1 = polite")
        >>> wb.clusters.set("chat", "ghost")
        Traceback (most recent call last):
        ...
        rftkit_nb.errors.ConfigError: no rubric 'ghost'; rubrics are: tone
    """

    def __init__(self, workbench: Workbench | None = None, **fields: Any) -> None:
        super().__init__(**fields)
        # A weak reference: a widget holding the map must not keep a discarded workbench alive.
        self._owner = None if workbench is None else weakref.ref(workbench)

    def _workbench(self) -> Workbench:
        owner = getattr(self, "_owner", None)
        wb = owner() if owner is not None else None
        if wb is None:
            raise ConfigError("this cluster map's workbench is gone; edit the current one (%rft clusters)")
        return wb

    def set(self, cluster: str, rubric: str, applies: bool = True) -> None:
        self._workbench().set_cluster(cluster, rubric, applies)

    def add_cluster(self, cluster: str, rubrics: Iterable[str] = ()) -> None:
        self._workbench().add_cluster(cluster, rubrics)

    def remove_cluster(self, cluster: str) -> None:
        self._workbench().remove_cluster(cluster)

    def rename_cluster(self, old: str, new: str) -> None:
        self._workbench().rename_cluster(old, new)

    def add_rubric(self, rubric: str, clusters: Iterable[str] = ()) -> None:
        """Switch a rubric of the workbench on for ``clusters`` (one change); add rubrics with %%rubric."""
        wb, names = self._workbench(), list(clusters)
        wb._require_rubrics([rubric])
        with wb._change(f"added rubric {rubric!r} to {names!r}"):
            ClusterMap.add_rubric(self, rubric, names)

    def remove_rubric(self, rubric: str) -> None:
        wb = self._workbench()
        wb._require_rubrics([rubric])
        wb.remove(rubric)

    def rename_rubric(self, old: str, new: str) -> None:
        wb = self._workbench()
        wb._require_rubrics([old])
        wb.rename(old, new)
