"""The Workbench's cluster x rubric edits, and its live map whose edit methods lead to them.

:class:`ClusterEdits` (a base of :class:`~rftkit_nb.core.workbench.Workbench`) switches cells and adds,
removes and renames clusters, each as one validated, saved, undoable change. A widget (the cluster x rubric
matrix) edits the map it is given; on the Workbench's :class:`LiveClusterMap`, each edit method calls the
matching Workbench method, so a bad edit (an unknown rubric) is refused before anything changes. Its
``clusters`` and ``rubrics`` are read-only (mutating them raises), and assigning ``field`` is
``configure(cluster_field=...)``: the methods are the only way in.

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
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.workbench_store import AutosavedState
from rftkit_nb.errors import ConfigError

if TYPE_CHECKING:
    from rftkit_nb.core.project import RubricSpec
    from rftkit_nb.core.workbench import Workbench

__all__ = ["ClusterEdits", "LiveClusterMap", "place_rubric"]


class ClusterEdits(AutosavedState):
    """Edits of the cluster x rubric matrix, each one change (the Workbench inherits them)."""

    _clusters: LiveClusterMap
    _rubrics: dict[str, RubricSpec]

    def set_cluster(self, cluster: str, rubric: str, applies: bool = True) -> None:
        """Switch one cell of the cluster x rubric matrix (an unknown cluster is created)."""
        self._require_rubrics([rubric])
        with self._change(f"{'on' if applies else 'off'}: {cluster!r} x {rubric!r}"):
            self._clusters._edit(lambda m: m.set(cluster, rubric, applies))

    def add_cluster(self, cluster: str, rubrics: Iterable[str] = ()) -> None:
        """Add a cluster (a kind of row) and switch ``rubrics`` on for it."""
        names = list(rubrics)
        self._require_rubrics(names)
        with self._change(f"added cluster {cluster!r}"):
            self._clusters._edit(lambda m: m.add_cluster(cluster, names))

    def remove_cluster(self, cluster: str) -> None:
        """Remove a cluster: its rows then count no rubric."""
        with self._change(f"removed cluster {cluster!r}"):
            self._clusters._edit(lambda m: m.remove_cluster(cluster))

    def rename_cluster(self, old: str, new: str) -> None:
        """Rename a cluster (as the rows' cluster field now spells it)."""
        with self._change(f"renamed cluster {old!r} to {new!r}"):
            self._clusters._edit(lambda m: m.rename_cluster(old, new))

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
        self._replace(self)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "field":
            self._workbench().configure(cluster_field=value)
        elif name in ("clusters", "rubrics"):
            _read_only(name)
        else:
            super().__setattr__(name, value)

    def _replace(self, cmap: ClusterMap) -> None:
        """Hold ``cmap``'s content, read-only; the Workbench's edits, undo and reloads land here."""
        clusters = _ReadOnlyDict({c: _ReadOnlyList(rs) for c, rs in cmap.clusters.items()})
        # Straight into the model's storage: the public attributes refuse assignment.
        self.__dict__.update(clusters=clusters, rubrics=_ReadOnlyList(cmap.rubrics), field=cmap.field)

    def _edit(self, edit: Callable[[ClusterMap], None]) -> None:
        """Apply ``edit`` to a mutable copy, then hold the result; this map's observers hear its events."""
        plain = ClusterMap(**self.model_dump())
        events: list[str] = []
        plain.observe(events.append)
        edit(plain)
        self._replace(plain)
        for event in events:
            self._changed(event)

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
            self._edit(lambda m: m.add_rubric(rubric, names))

    def remove_rubric(self, rubric: str) -> None:
        wb = self._workbench()
        wb._require_rubrics([rubric])
        wb.remove(rubric)

    def rename_rubric(self, old: str, new: str) -> None:
        wb = self._workbench()
        wb._require_rubrics([old])
        wb.rename(old, new)


def place_rubric(cmap: ClusterMap, rubric: str, clusters: list[str] | None) -> None:
    """Put ``rubric`` on the map's axis; ``clusters``, when given, become exactly its clusters.

    Example::

        >>> m = ClusterMap.from_dict({"chat": ["tone"], "math": ["tone"]})
        >>> place_rubric(m, "tone", ["math", "essay"]); m.to_dict()
        {'chat': [], 'math': ['tone'], 'essay': ['tone']}
    """
    cmap.add_rubric(rubric)
    if clusters is None:
        return
    for cluster in [*cmap.clusters, *clusters]:
        cmap.set(cluster, rubric, cluster in clusters)


_METHODS = "set, add_cluster, remove_cluster, rename_cluster, add_rubric, remove_rubric or rename_rubric"


def _read_only(what: str) -> NoReturn:
    raise AttributeError(
        f"the workbench's cluster map is edited through its methods ({_METHODS}), "
        f"so its {what} cannot be changed in place"
    )


class _ReadOnlyList(list[str]):
    """A list that refuses changes; a copy (``list(x)``, ``copy``, pickle) is a plain, editable list."""

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        _read_only("rubric lists")

    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return list, (list(self),)


class _ReadOnlyDict(dict[str, list[str]]):
    """A dict that refuses changes; a copy (``dict(x)``, ``copy``, pickle) is a plain, editable dict."""

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        _read_only("clusters")

    pop = popitem = clear = update = setdefault = _refuse
    __setitem__ = __delitem__ = __ior__ = _refuse

    def copy(self) -> dict[str, list[str]]:
        return {c: list(rs) for c, rs in self.items()}

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return dict, (self.copy(),)
