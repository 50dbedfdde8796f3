"""The Workbench's live cluster map: the :class:`ClusterMap` it hands out, whose edits are its changes.

A widget (the cluster x rubric matrix) edits the map it is given. On the Workbench's
:class:`LiveClusterMap`, each edit method calls the matching method of the map's owner (the Workbench,
seen here only through :class:`ClusterMapOwner`), so a bad edit (an unknown rubric) is refused before
anything changes, and a good one is validated, saved, undoable and announced. Its ``clusters`` and
``rubrics`` are read-only (mutating them raises), and assigning ``field`` is
``configure(cluster_field=...)``: the methods are the only way in. Only the owner changes what the map
holds, through :func:`apply_edit` and :func:`hold`.

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
from collections.abc import Callable, Collection, Iterable
from typing import Any, NoReturn, Protocol

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.errors import ConfigError

__all__ = ["ClusterMapOwner", "LiveClusterMap", "apply_edit", "hold", "place_rubric", "require_rubrics"]

Edit = Callable[[ClusterMap], None]


class ClusterMapOwner(Protocol):
    """What a :class:`LiveClusterMap` edits through: the Workbench's methods, each one change."""

    @property
    def rubrics(self) -> Collection[str]: ...

    def set_cluster(self, cluster: str, rubric: str, applies: bool = True) -> None: ...

    def add_cluster(self, cluster: str, rubrics: Iterable[str] = ()) -> None: ...

    def remove_cluster(self, cluster: str) -> None: ...

    def rename_cluster(self, old: str, new: str) -> None: ...

    def edit_clusters(self, event: str, edit: Edit, *, rubrics: Iterable[str] = ()) -> None: ...

    def remove(self, name: str) -> str: ...

    def rename(self, old: str, new: str) -> str: ...

    def configure(self, *, cluster_field: str | None = None) -> None: ...


def require_rubrics(known: Collection[str], names: Iterable[str]) -> None:
    """Refuse ``names`` that are not among the ``known`` rubrics, listing those."""
    unknown = [n for n in names if n not in known]
    if unknown:
        listed = ", ".join(known) or "(none: add one with %%rubric)"
        raise ConfigError(f"no rubric {unknown[0]!r}; rubrics are: {listed}")


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

    def __init__(self, owner: ClusterMapOwner | None = None, **fields: Any) -> None:
        super().__init__(**fields)
        # A weak reference: a widget holding the map must not keep a discarded workbench alive.
        self._owner = None if owner is None else weakref.ref(owner)
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

    def _workbench(self) -> ClusterMapOwner:
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
        names = list(clusters)
        event = f"added rubric {rubric!r} to {names!r}"
        self._workbench().edit_clusters(event, lambda m: m.add_rubric(rubric, names), rubrics=[rubric])

    def remove_rubric(self, rubric: str) -> None:
        wb = self._workbench()
        require_rubrics(wb.rubrics, [rubric])
        wb.remove(rubric)

    def rename_rubric(self, old: str, new: str) -> None:
        wb = self._workbench()
        require_rubrics(wb.rubrics, [old])
        wb.rename(old, new)


def apply_edit(live: LiveClusterMap, edit: Edit) -> None:
    """Apply ``edit`` to a mutable copy of ``live``, then hold the result; ``live``'s observers hear its events.

    For the map's owner only, inside one of its changes (which saves it and can undo it).
    """
    plain = ClusterMap(**live.model_dump())
    events: list[str] = []
    plain.observe(events.append)
    edit(plain)
    live._replace(plain)
    for event in events:
        live._changed(event)


def hold(live: LiveClusterMap, cmap: ClusterMap, event: str) -> None:
    """Make ``live`` hold ``cmap``'s content; when that changes anything, ``live``'s observers hear ``event``.

    For the map's owner only (undo, reloads, a new cluster field): widgets and indicator graders holding
    ``live`` see the new content in the same object.
    """
    old = live.model_dump()
    live._replace(cmap)
    if live.model_dump() != old:
        live._changed(event)


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
