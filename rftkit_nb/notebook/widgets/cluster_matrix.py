"""ClusterMatrix: the cluster x rubric matrix as a widget, bound two ways to a Workbench or a ClusterMap.

Rows are clusters, columns rubrics (with their weights), a toggle per cell. The front end edits in two
ways, both handled here: it writes the pinned ``membership`` trait (a cell toggled), and it sends small
``{"op": ...}`` messages (add, rename or remove a cluster or a rubric). Every edit goes through the
source's own methods: on a Workbench that means validated, autosaved and undoable. A refused edit sets
``notice`` to its one-line message and puts the traits back to what the source holds, so the cell springs
back. Changes made elsewhere (a magic, ``%rft undo``, ``%rft open``, Python) reach every open matrix
through the source's observers.

Example::

    >>> from rftkit_nb.core.workbench import Workbench
    >>> wb = Workbench(path=None)
    >>> _ = wb.add_rubric("tone", "1 = polite", clusters=["chat"])
    >>> m = ClusterMatrix(wb)
    >>> m.set_state({"membership": {"chat": []}})  # what a click on the cell sends
    >>> wb.clusters.to_dict()
    {'chat': []}
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.lint_dataset import records
from rftkit_nb.errors import ConfigError, RftkitError

__all__ = ["ClusterMatrix"]

STATIC = Path(__file__).parent / "static"


class ClusterMatrix(anywidget.AnyWidget):
    """The cluster x rubric matrix of ``source`` (a :class:`Workbench` or a :class:`ClusterMap`).

    ``matrix.attach(rows)`` counts the rows per cluster and offers the clusters found in the data but
    missing from the map as one-click additions.
    """

    _esm = STATIC / "cluster_matrix.js"
    _css = STATIC / "widgets.css"

    clusters = t.List(t.Unicode()).tag(sync=True)
    rubrics = t.List(t.Unicode()).tag(sync=True)
    membership = t.Dict().tag(sync=True)  # cluster -> rubrics: ClusterMap.to_dict()
    weights = t.Dict().tag(sync=True)  # rubric -> weight (a Workbench's rubrics)
    field = t.Unicode("cluster").tag(sync=True)
    can_add_rubrics = t.Bool(False).tag(sync=True)  # a Workbench's rubrics are added with %%rubric
    row_counts = t.Dict().tag(sync=True)  # cluster -> rows of the attached data
    unclustered_rows = t.Int(0).tag(sync=True)  # attached rows with no cluster value
    missing = t.List(t.Unicode()).tag(sync=True)  # clusters of the attached data not on the map
    attached = t.Bool(False).tag(sync=True)
    notice = t.Dict().tag(sync=True)  # {"level", "text", "seq"}: the last edit's outcome

    def __init__(self, source: Any, **kwargs: Any) -> None:
        # A Workbench (duck-typed: anything with a live `clusters` map and observers) or a plain map.
        self._workbench: Any = None if isinstance(source, ClusterMap) else source
        self._map: ClusterMap | None = source if self._workbench is None else None
        if self._workbench is not None and not isinstance(getattr(source, "clusters", None), ClusterMap):
            raise ConfigError(f"ClusterMatrix shows a Workbench or a ClusterMap, not {type(source).__name__}")
        self._items: list[Mapping[str, Any]] | None = None
        self._counted_field: str | None = None
        self._seq = 0
        self._applying = False  # an edit of this matrix is under way (its own notice follows)
        super().__init__(**kwargs)
        self.can_add_rubrics = self._workbench is None
        self._pull()
        callback = _weak_callback(self, ClusterMatrix._on_source_change)
        if self._workbench is not None:
            self._workbench.observe(callback)
            self._unbind: Callable[[], None] = partial(self._workbench.unobserve, callback)
        else:
            source.observe(callback)  # a ClusterMap has no unobserve: the callback is weak instead
            self._unbind = lambda: None
        self.observe(self._on_membership, names="membership")
        self.on_msg(self._on_message)

    # --- what the matrix shows -------------------------------------------------------------------

    @property
    def cluster_map(self) -> ClusterMap:
        """The map this matrix edits (a Workbench's live map)."""
        if self._workbench is not None:
            return self._workbench.clusters
        assert self._map is not None
        return self._map

    def attach(self, rows: Any) -> ClusterMatrix:
        """Count ``rows`` (a DataFrame or a list of dicts) per cluster; returns the matrix.

        Example::

            >>> m = ClusterMatrix(ClusterMap.from_dict({"chat": []}))
            >>> m.attach([{"cluster": "chat"}, {"cluster": "math"}]).missing
            ['math']
        """
        self._items = records(rows)
        self._counted_field = None
        self._pull()
        return self

    def _pull(self) -> None:
        """Show what the source holds now (after any change, refused ones included)."""
        cmap = self.cluster_map
        membership = cmap.to_dict()
        weights = {n: spec.weight for n, spec in self._workbench.rubrics.items()} if self._workbench else {}
        with self.hold_sync():
            self.clusters, self.rubrics, self.membership = list(membership), list(cmap.rubrics), membership
            self.weights, self.field = weights, cmap.field
            if self._items is not None:
                self._count(cmap)

    def _count(self, cmap: ClusterMap) -> None:
        if self._counted_field != cmap.field:  # counting 100,000 rows again only when the field moves
            assert self._items is not None
            self._counts = Counter(cmap.cluster_of(item) for item in self._items)
            self._counted_field = cmap.field
        self.row_counts = {c: n for c, n in self._counts.items() if c is not None}
        self.unclustered_rows = self._counts.get(None, 0)
        self.missing = [c for c in self.row_counts if c not in cmap.clusters]
        self.attached = True

    # --- edits from the front end ----------------------------------------------------------------

    def _on_source_change(self, event: str) -> None:
        self._pull()
        if not self._applying:  # a change made elsewhere (a magic, undo, Python): say what it was
            self._say("info", event)

    def _on_membership(self, change: dict[str, Any]) -> None:
        wanted, held = change["new"], self.cluster_map.to_dict()
        if wanted == held:
            return
        edits: list[Callable[[], None]] = []
        cmap = self.cluster_map
        edits += [partial(cmap.remove_cluster, c) for c in held if c not in wanted]
        for cluster, rubrics in wanted.items():
            if cluster not in held:
                edits.append(partial(cmap.add_cluster, cluster, list(rubrics)))
                continue
            edits += [partial(cmap.set, cluster, r, True) for r in rubrics if r not in held[cluster]]
            edits += [partial(cmap.set, cluster, r, False) for r in held[cluster] if r not in rubrics]
        self._apply(edits, "changed the matrix")

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, Mapping) or content.get("op") not in _OPS:
            self._say("error", f"unknown matrix message {content!r}; reload the widget (re-run its cell)")
            return
        op, args = content["op"], content.get("args", [])
        if not isinstance(args, list):
            args = [args]
        method = getattr(self.cluster_map, _OPS[op][0])
        try:
            done = _OPS[op][1].format(*args)
        except IndexError:  # too few arguments: the call below refuses it with its TypeError
            done = op
        self._apply([lambda: method(*args)], done)

    def _apply(self, edits: list[Callable[[], None]], done: str) -> None:
        self._applying = True
        try:
            for edit in edits:
                edit()
        except (RftkitError, TypeError) as e:  # TypeError: a message with the wrong arguments
            self._say("error", str(e))
        else:
            self._say("ok", done)
        finally:
            self._applying = False
            self._pull()  # a refused edit springs back: the traits show the source again

    def _say(self, level: str, text: str) -> None:
        self._seq += 1
        self.notice = {"level": level, "text": text, "seq": self._seq}

    def close(self) -> None:
        """Stop following the source, then close the widget."""
        self._unbind()
        super().close()

    # --- where widgets do not render -------------------------------------------------------------

    def __repr__(self) -> str:
        return f"ClusterMatrix of {self.cluster_map!r}"

    def _repr_html_(self) -> str:
        return self.cluster_map._repr_html_()


# op -> (method of the cluster map, what the notice says when it worked)
_OPS: dict[str, tuple[str, str]] = {
    "set": ("set", "switched {0!r} x {1!r}"),
    "add_cluster": ("add_cluster", "added cluster {0!r}"),
    "remove_cluster": ("remove_cluster", "removed cluster {0!r} (%rft undo brings it back)"),
    "rename_cluster": ("rename_cluster", "renamed cluster {0!r} to {1!r}"),
    "add_rubric": ("add_rubric", "added rubric {0!r}"),
    "remove_rubric": ("remove_rubric", "removed rubric {0!r} (%rft undo brings it back)"),
    "rename_rubric": ("rename_rubric", "renamed rubric {0!r} to {1!r}"),
}


def _weak_callback(
    widget: ClusterMatrix, method: Callable[[ClusterMatrix, str], None]
) -> Callable[[str], None]:
    """An observer that does not keep the widget alive (a closed or dropped matrix just stops updating)."""
    ref = weakref.ref(widget)

    def callback(event: str) -> None:
        target = ref()
        if target is not None and target.comm is not None:
            method(target, event)

    return callback
