"""ClusterMap: which rubrics apply to which kind of row.

A row's cluster is read from the dataset row (the ``item``) at a configurable field path, never from the
model's output: the policy being trained must not be able to choose which rubrics count.

Example::

    >>> m = ClusterMap.from_dict({"math": ["accuracy"], "essay": ["clarity", "accuracy"]})
    >>> m.applies("essay", "clarity"), m.applies("math", "clarity")
    (True, False)
    >>> m.cluster_of({"cluster": "math", "question": "2+2?"})
    'math'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rftkit_nb.core import html as h
from rftkit_nb.core.values import is_missing
from rftkit_nb.errors import ConfigError

__all__ = ["ClusterMap", "cluster_name", "read_path"]


def read_path(item: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path (``meta.cluster``) into a row; None when any part is absent."""
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def cluster_name(value: object) -> str | None:
    """The cluster name a row's value stands for: None when missing (see :func:`is_missing`), else its text.

    A float that is a whole number names the cluster without ``.0``, since a pandas number column with gaps
    turns cluster 1 into 1.0. IndicatorGrader's generated source does exactly the same in the sandbox.

    Example::

        >>> cluster_name(1.0), cluster_name(1.5), cluster_name("math"), cluster_name(float("nan"))
        ('1', '1.5', 'math', None)
    """
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ClusterMap(BaseModel):
    """Clusters x rubrics membership, plus the item field the cluster is read from.

    ``rubrics`` lists every rubric on the axis, including ones in no cluster yet; ``clusters`` maps each
    cluster to its rubrics, in axis order.
    """

    model_config = ConfigDict(extra="forbid")

    clusters: dict[str, list[str]] = Field(default_factory=dict)
    rubrics: list[str] = Field(default_factory=list)
    field: str = "cluster"

    @field_validator("field")
    @classmethod
    def _field_path(cls, v: str) -> str:
        if not v or any(not part for part in v.split(".")):
            raise ValueError(f"cluster field {v!r} must be a dotted path such as 'cluster' or 'meta.kind'")
        return v

    def model_post_init(self, _context: Any) -> None:
        self._observers: list[Callable[[str], None]] = []
        for members in self.clusters.values():  # every member rubric is on the axis
            for rubric in members:
                if rubric not in self.rubrics:
                    self.rubrics.append(rubric)

    # --- the seed's shape ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Iterable[str]], *, field: str = "cluster") -> ClusterMap:
        """Build from the seed's ``{"cluster": ["rubric", ...]}`` shape."""
        if not isinstance(mapping, Mapping):
            raise ConfigError(
                f"a cluster map is a dict of cluster -> list of rubrics, not {type(mapping).__name__}"
            )
        clusters: dict[str, list[str]] = {}
        for cluster, rubrics in mapping.items():
            if isinstance(rubrics, str) or not isinstance(rubrics, Iterable):
                raise ConfigError(f"cluster {cluster!r}: rubrics must be a list of names, got {rubrics!r}")
            clusters[_name(cluster, "cluster")] = list(dict.fromkeys(_name(r, "rubric") for r in rubrics))
        return cls(clusters=clusters, field=field)

    def to_dict(self) -> dict[str, list[str]]:
        """The seed's ``{"cluster": ["rubric", ...]}`` shape."""
        return {c: list(rs) for c, rs in self.clusters.items()}

    # --- queries ---------------------------------------------------------------------------------

    def applies(self, cluster: str | None, rubric: str) -> bool:
        """Whether ``rubric`` counts for rows of ``cluster`` (False for an unknown or missing cluster)."""
        return cluster is not None and rubric in self.clusters.get(cluster, ())

    def rubrics_for(self, cluster: str) -> list[str]:
        return list(self.clusters.get(cluster, ()))

    def clusters_for(self, rubric: str) -> list[str]:
        return [c for c, rs in self.clusters.items() if rubric in rs]

    def uncovered_rubrics(self) -> list[str]:
        """Rubrics in no cluster: they never count."""
        return [r for r in self.rubrics if not self.clusters_for(r)]

    def empty_clusters(self) -> list[str]:
        """Clusters with no rubric: their rows are graded on formatting alone."""
        return [c for c, rs in self.clusters.items() if not rs]

    def cluster_of(self, item: Mapping[str, Any]) -> str | None:
        """The cluster of a dataset row, read at ``field`` (see :func:`cluster_name`); None when absent."""
        return cluster_name(read_path(item, self.field))

    # --- edits (each tells observers) ------------------------------------------------------------

    def observe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(description)`` after every edit."""
        self._observers.append(callback)

    def _changed(self, what: str) -> None:
        for callback in list(self._observers):
            callback(what)

    def add_cluster(self, cluster: str, rubrics: Iterable[str] = ()) -> None:
        cluster = _name(cluster, "cluster")
        if cluster in self.clusters:
            raise ConfigError(f"cluster {cluster!r} already exists")
        names = [_name(rubric, "rubric") for rubric in rubrics]  # all checked before anything changes
        self.clusters[cluster] = []
        for rubric in names:
            self._set(cluster, rubric, True)
        self._changed(f"added cluster {cluster!r}")

    def remove_cluster(self, cluster: str) -> None:
        self._require_cluster(cluster)
        del self.clusters[cluster]
        self._changed(f"removed cluster {cluster!r}")

    def rename_cluster(self, old: str, new: str) -> None:
        self._require_cluster(old)
        new = _name(new, "cluster")
        if new in self.clusters and new != old:
            raise ConfigError(f"cannot rename cluster {old!r} to {new!r}: {new!r} already exists")
        self.clusters = {(new if c == old else c): rs for c, rs in self.clusters.items()}
        self._changed(f"renamed cluster {old!r} to {new!r}")

    def add_rubric(self, rubric: str, clusters: Iterable[str] = ()) -> None:
        """Put ``rubric`` on the axis (a no-op if there) and switch it on for ``clusters``."""
        rubric = _name(rubric, "rubric")
        names = [_name(cluster, "cluster") for cluster in clusters]  # all checked before anything changes
        if rubric not in self.rubrics:
            self.rubrics.append(rubric)
        for cluster in names:
            self._set(cluster, rubric, True)
        self._changed(f"added rubric {rubric!r}")

    def remove_rubric(self, rubric: str) -> None:
        self._require_rubric(rubric)
        self.rubrics.remove(rubric)
        for members in self.clusters.values():
            if rubric in members:
                members.remove(rubric)
        self._changed(f"removed rubric {rubric!r}")

    def rename_rubric(self, old: str, new: str) -> None:
        self._require_rubric(old)
        new = _name(new, "rubric")
        if new in self.rubrics and new != old:
            raise ConfigError(f"cannot rename rubric {old!r} to {new!r}: {new!r} already exists")
        self.rubrics = [new if r == old else r for r in self.rubrics]
        for cluster, members in self.clusters.items():
            self.clusters[cluster] = [new if r == old else r for r in members]
        self._changed(f"renamed rubric {old!r} to {new!r}")

    def set(self, cluster: str, rubric: str, applies: bool = True) -> None:
        """Switch one cell of the matrix; an unknown cluster is created."""
        self._set(_name(cluster, "cluster"), _name(rubric, "rubric"), applies)
        self._changed(f"{'on' if applies else 'off'}: {cluster!r} x {rubric!r}")

    def _set(self, cluster: str, rubric: str, applies: bool) -> None:
        if rubric not in self.rubrics:
            self.rubrics.append(rubric)
        members = self.clusters.setdefault(cluster, [])
        if applies and rubric not in members:
            members.append(rubric)
            members.sort(key=self.rubrics.index)
        elif not applies and rubric in members:
            members.remove(rubric)

    def _require_cluster(self, cluster: str) -> None:
        if cluster not in self.clusters:
            raise ConfigError(f"no cluster {cluster!r}; clusters are: {', '.join(self.clusters) or '(none)'}")

    def _require_rubric(self, rubric: str) -> None:
        if rubric not in self.rubrics:
            raise ConfigError(f"no rubric {rubric!r}; rubrics are: {', '.join(self.rubrics) or '(none)'}")

    # --- display ---------------------------------------------------------------------------------

    def matrix(self) -> list[list[str]]:
        """Rows of the cluster x rubric table as text ('x' where the rubric applies)."""
        return [[c, *("x" if r in rs else "" for r in self.rubrics)] for c, rs in self.clusters.items()]

    def __repr__(self) -> str:
        if not self.clusters and not self.rubrics:
            return f"ClusterMap(empty, field={self.field!r})"
        head = ["cluster", *self.rubrics]
        rows = [head, *self.matrix()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        return f"ClusterMap(field={self.field!r})\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        warn = (
            [("rubrics in no cluster", ", ".join(self.uncovered_rubrics()))]
            if self.uncovered_rubrics()
            else []
        )
        empty = (
            [("clusters with no rubric", ", ".join(self.empty_clusters()))] if self.empty_clusters() else []
        )
        body = h.table(["cluster", *self.rubrics], self.matrix())
        return h.card("cluster map", f"field: {self.field}", [*warn, *empty], body_html=body)


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"a {what} name must be a non-empty string, got {value!r}")
    return value
