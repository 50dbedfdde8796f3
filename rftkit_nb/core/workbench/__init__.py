"""The notebook's working set of a grader design, saved to a project file after every change.

A :class:`Workbench` holds rubrics, other graders (python, string_check, text_similarity, any config), an
optional formatting grader, the :class:`ClusterMap` and the composition settings, and composes them into
one :class:`AggregatorGrader` with :meth:`Workbench.grader`. Every change is validated first (a bad input
raises :class:`ConfigError` and changes nothing), then written atomically to the project file, then
announced to observers, so magics, widgets and the file never disagree; :meth:`Workbench.undo` steps back.

The Workbench is a facade over the parts it holds, one module each:

* :mod:`.store` -- the :class:`ProjectStore`: one change at a time, autosave, undo, observers, open/save,
  and the check that the file was not changed on disk by someone else;
* :mod:`.project_file` -- the file format (versioned JSON) and reading it back;
* :mod:`.specs` -- the entries and their checks (a rubric, a python grader's source, the cluster map);
* :mod:`.clusters` -- the live cluster map :attr:`Workbench.clusters`, whose edits are Workbench changes;
* :mod:`.compose` -- the state as one grader;
* :mod:`.views` -- the text and HTML views.

None of them imports this facade (``lint-imports`` checks it): each sees the Workbench only through a
protocol of its public methods, or through the functions the Workbench hands it.

A corrupt project file, or one from a newer version, raises :class:`ProjectFileError` and is never written
over: :meth:`Workbench.load_or_empty` starts empty with autosave off until the work is saved elsewhere.

Example::

    >>> wb = Workbench(path=None)  # in memory; the default is ./rftkit.json
    >>> _ = wb.add_rubric("tone", "1 = polite and warm, 0 = rude", weight=2)
    >>> wb.grader().config["calculate_output"]
    '(2 * tone) / max(2, 0.000001)'
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.files import canonical_json
from rftkit_nb.core.graders import BaseGrader, MultiGrader, PythonGrader, grader_from_config
from rftkit_nb.core.lint import Finding, LintReport, lint
from rftkit_nb.core.rubrics import DEFAULT_JUDGE_MODEL, AggregatorGrader, FormattingGrader, RubricGrader
from rftkit_nb.core.values import finite_weight
from rftkit_nb.core.workbench import views
from rftkit_nb.core.workbench.clusters import (
    Edit,
    LiveClusterMap,
    apply_edit,
    hold,
    place_rubric,
    require_rubrics,
)
from rftkit_nb.core.workbench.compose import (
    INDICATOR_PREFIX,
    check_composed_name,
    check_name,
    compose,
    kind_of,
    label,
)
from rftkit_nb.core.workbench.project_file import ProjectState
from rftkit_nb.core.workbench.specs import RubricSpec, check_python, cluster_map, rubric_spec
from rftkit_nb.core.workbench.store import DEFAULT_PROJECT_FILE, ProjectStore
from rftkit_nb.errors import ConfigError, ProjectFileError

__all__ = ["DEFAULT_PROJECT_FILE", "INDICATOR_PREFIX", "LiveClusterMap", "RubricSpec", "Workbench"]

Vet = Callable[[BaseGrader], None]
_W = TypeVar("_W", bound="Workbench")


class Workbench:
    """Rubrics, graders, formatting grader, cluster map and composition settings, autosaved to ``path``.

    ``path=None`` keeps everything in memory. An existing project file at ``path`` is opened (a corrupt or
    newer one raises :class:`ProjectFileError`; see :meth:`load_or_empty`).
    """

    def __init__(self, path: str | os.PathLike[str] | None = DEFAULT_PROJECT_FILE) -> None:
        self.example: dict[str, Any] | None = None  # the row graders are test-run on; never saved
        self.name, self.normalize = "reward", True
        self._rubrics: dict[str, RubricSpec] = {}
        self._graders: dict[str, tuple[BaseGrader, float]] = {}
        self._formatting: FormattingGrader | None = None
        self._clusters = LiveClusterMap(self)
        self._store = ProjectStore(path, read=self._state, assign=self._assign, validate=self._validate)
        self._store.start()

    @classmethod
    def load_or_empty(cls: type[_W], path: str | os.PathLike[str] = DEFAULT_PROJECT_FILE) -> _W:
        """Open ``path``; if it cannot be read, an empty workbench that will not autosave over it.

        Example::

            >>> Workbench.load_or_empty("no-such-dir/rftkit.json").rubrics
            {}
        """
        try:
            return cls(path)
        except ProjectFileError as e:
            wb = cls(None)
            wb._store.block(path, e)
            return wb

    # --- what it holds ---------------------------------------------------------------------------

    @property
    def rubrics(self) -> dict[str, RubricSpec]:
        return dict(self._rubrics)

    @property
    def graders(self) -> dict[str, tuple[BaseGrader, float]]:
        """The other graders by name, as ``(grader, weight)``."""
        return dict(self._graders)

    @property
    def formatting(self) -> FormattingGrader | None:
        return self._formatting

    @property
    def clusters(self) -> LiveClusterMap:
        """The live cluster map: its edits (a widget's) go through the workbench's checks, saving and undo."""
        return self._clusters

    @property
    def cluster_field(self) -> str:
        """The item field a row's cluster is read from (set it with ``configure(cluster_field=...)``)."""
        return self._clusters.field

    @property
    def path(self) -> Path | None:
        """The project file every change is saved to (absolute); None keeps the work in memory."""
        return self._store.path

    @property
    def blocked(self) -> ProjectFileError | None:
        """Why autosave is off (the project file could not be read), or None while it is on."""
        return self._store.blocked

    @property
    def autosave_blocked(self) -> str | None:
        """While autosave is off (the project file could not be read), the one-line reminder that changes
        are kept in memory only; None while changes are saved (or when there is no project file).

        Example::

            >>> Workbench(path=None).autosave_blocked is None
            True
        """
        return self._store.autosave_blocked

    def to_dict(self) -> dict[str, Any]:
        """The project file's content."""
        return self._store.to_dict()

    def names(self) -> list[str]:
        fmt = [self._formatting.name] if self._formatting else []
        return [*fmt, *self._rubrics, *self._graders]

    def kind_of(self, name: str) -> str | None:
        """``"rubric"``, ``"grader"``, ``"formatting"``, ``"indicator"`` (``applies_<rubric>``) or None."""
        return kind_of(self._state(), name)

    # --- changes ---------------------------------------------------------------------------------

    def add_rubric(
        self, name: str, text: str, *, weight: float = 1.0, model: str | None = None,
        range: tuple[float, float] = (0.0, 1.0), input: str | None = None,
        item_fields: Sequence[str] = (), clusters: Iterable[str] | None = None,
    ) -> RubricGrader:  # fmt: skip
        """Create rubric ``name``, or replace it in place; ``clusters``, when given, is its exact membership.

        Returns its judge (a :class:`RubricGrader`). When clusters exist, a rubric in no cluster counts for
        no row. This method prints nothing (core code never writes to the output): ``%%rubric`` prints a
        one-line note when the rubric ends up in no cluster, or when its ``--clusters`` creates the first
        clusters and so stops the unclustered rubrics counting; ``lint()`` and the repr warn as well.

        Example::

            >>> wb = Workbench(path=None)
            >>> wb.add_rubric("clarity", "1 = clear", clusters=["essay"]).type
            'score_model'
        """
        check_name(self._state(), name, "rubric")
        if input is not None and item_fields:  # they shape only the default prompt, which input replaces
            raise ConfigError(
                f"rubric {name!r}: item_fields (--fields) are shown by the default prompt only; "
                "with an input template, show them in it ({{ item.FIELD }}) and drop them"
            )
        spec = rubric_spec(
            name, text, weight, DEFAULT_JUDGE_MODEL if model is None else model, range, input, item_fields
        )
        wanted = None if clusters is None else list(dict.fromkeys(clusters))
        with self._store.change(f"{'updated' if name in self._rubrics else 'added'} rubric {name!r}"):
            self._rubrics[name] = spec
            apply_edit(self._clusters, lambda cmap: place_rubric(cmap, name, wanted))
        return spec.grader()

    def update(self, name: str, **changes: Any) -> None:
        """Change some fields of a rubric (text, weight, model, range, input, item_fields) or a grader's weight."""
        kind = self._require(name)
        if kind == "rubric":
            unknown = set(changes) - set(RubricSpec.__dataclass_fields__) | ({"name"} & set(changes))
            if unknown:
                raise ConfigError(f"rubric {name!r}: cannot update {sorted(unknown)}; "
                                  "fields are text, weight, model, range, input, item_fields")  # fmt: skip
            self.add_rubric(**(asdict(self._rubrics[name]) | changes))
        elif set(changes) - {"weight"}:
            raise ConfigError(f"{kind} {name!r}: only its weight can be updated; add it again to change more")
        elif kind == "formatting":
            self.set_formatting(self._formatting, weight=changes.get("weight"))
        else:
            self.add_grader(self._graders[name][0], weight=changes.get("weight", self._graders[name][1]))

    def add_grader(
        self, grader: BaseGrader | Mapping[str, Any], *, weight: float = 1.0, vet: Vet | None = None
    ) -> BaseGrader:
        """Add (or replace, by name) any grader but a multi, given as an object or as its config.

        ``vet(grader)`` runs after every check passed and before anything changes; raising refuses it.

        Example::

            >>> Workbench(path=None).add_grader({"type": "string_check", "name": "exact", "operation": "eq",
            ...     "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"}).type
            'string_check'
        """
        g = grader_from_config(grader)  # type: ignore[arg-type]  # a grader object passes through
        if isinstance(g, MultiGrader):
            raise ConfigError(f"grader {g.name!r} is a multi grader; add its sub-graders one by one")
        check_name(self._state(), g.name, "grader")
        check_python(g)
        w = finite_weight(weight, f"grader {g.name!r}")
        if vet is not None:
            vet(g)
        with self._store.change(f"{'updated' if g.name in self._graders else 'added'} grader {g.name!r}"):
            self._graders[g.name] = (g, w)
        return g

    def set_formatting(
        self, grader: PythonGrader | None = None, *, weight: float | None = None, vet: Vet | None = None,
        **options: Any,
    ) -> FormattingGrader:  # fmt: skip
        """Set the formatting grader: from a python grader, or from :class:`FormattingGrader` options.

        Example::

            >>> Workbench(path=None).set_formatting(name="fmt", required_fields=["answer"]).weight
            0.2
        """
        if grader is not None:
            options = {"name": grader.name, "source": grader.source} | options
            if isinstance(grader, FormattingGrader):
                keep = {"weight", "required_fields", "json_schema", "partial_credit"}
                options = grader.model_dump(include=keep) | options
        options.setdefault("name", "formatting")
        if weight is not None:
            options["weight"] = finite_weight(weight, f"formatting grader {options['name']!r}")
        check_name(self._state(), options["name"], "formatting")
        fmt = FormattingGrader(**options)
        check_python(fmt)
        if vet is not None:
            vet(fmt)
        with self._store.change(f"set formatting grader {fmt.name!r}"):
            self._formatting = fmt
        return fmt

    def remove(self, name: str) -> str:
        """Remove a rubric (and its cluster memberships), a grader or the formatting grader; returns its kind."""
        kind = self._require(name)
        with self._store.change(f"removed {label(kind)} {name!r}"):
            if kind == "rubric":
                del self._rubrics[name]
                if name in self._clusters.rubrics:
                    apply_edit(self._clusters, lambda cmap: cmap.remove_rubric(name))
            elif kind == "grader":
                del self._graders[name]
            else:
                self._formatting = None
        return kind

    def rename(self, old: str, new: str) -> str:
        """Rename a rubric (its cluster memberships follow), a grader or the formatting grader; its kind.

        Example::

            >>> wb = Workbench(path=None)
            >>> _ = wb.add_rubric("tone", "1 = polite", clusters=["chat"])
            >>> wb.rename("tone", "warmth"), wb.clusters.to_dict()
            ('rubric', {'chat': ['warmth']})
        """
        kind = self._require(old)
        check_name(self._state(), new, kind)
        if new != old and self.kind_of(new) is not None:
            raise ConfigError(f"cannot rename {old!r} to {new!r}: {new!r} already exists; pick another name")
        with self._store.change(f"renamed {label(kind)} {old!r} to {new!r}"):
            if kind == "rubric":
                self._rubrics = {new if n == old else n: replace(s, name=new) if n == old else s
                                 for n, s in self._rubrics.items()}  # fmt: skip
                if old in self._clusters.rubrics:
                    apply_edit(self._clusters, lambda cmap: cmap.rename_rubric(old, new))
            elif kind == "grader":
                g, w = self._graders[old]
                renamed = (grader_from_config(g.config | {"name": new}), w)
                self._graders = {new if n == old else n: renamed if n == old else v
                                 for n, v in self._graders.items()}  # fmt: skip
            elif self._formatting is not None:
                self._formatting = FormattingGrader(**self._formatting.model_dump() | {"name": new})
        return kind

    def configure(
        self, *, name: str | None = None, normalize: bool | None = None, cluster_field: str | None = None
    ) -> None:
        """Composition settings: the composed grader's name, normalisation, where a row's cluster is read.

        The name follows the rules of sub-grader names and must differ from each of them.
        """
        if name is not None:
            check_composed_name(self._state(), name)
        field = self._clusters.field if cluster_field is None else cluster_field
        moved = cluster_map(self._clusters.model_dump() | {"field": field})
        with self._store.change("changed settings"):
            self.name = self.name if name is None else name
            self.normalize = self.normalize if normalize is None else bool(normalize)
            # Indicator graders built on this map regenerate their source from its notifications.
            hold(self._clusters, moved, f"cluster field set to {field!r}")

    def set_example(self, row: Mapping[str, Any] | None) -> None:
        """Set (or clear, with None) the row graders are test-run on; kept in memory, never saved."""
        if row is not None and not isinstance(row, Mapping):
            raise ConfigError(f"the example row must be a dict of column -> value, not {type(row).__name__}")
        try:
            self.example = None if row is None else json.loads(json.dumps(dict(row), allow_nan=False))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"the example row must be plain JSON data: {e}") from None

    # --- the cluster x rubric matrix (wb.clusters leads here too) ----------------------------------

    def set_cluster(self, cluster: str, rubric: str, applies: bool = True) -> None:
        """Switch one cell of the cluster x rubric matrix (an unknown cluster is created)."""
        event = f"{'on' if applies else 'off'}: {cluster!r} x {rubric!r}"
        self.edit_clusters(event, lambda m: m.set(cluster, rubric, applies), rubrics=[rubric])

    def add_cluster(self, cluster: str, rubrics: Iterable[str] = ()) -> None:
        """Add a cluster (a kind of row) and switch ``rubrics`` on for it."""
        names = list(rubrics)
        self.edit_clusters(
            f"added cluster {cluster!r}", lambda m: m.add_cluster(cluster, names), rubrics=names
        )

    def remove_cluster(self, cluster: str) -> None:
        """Remove a cluster: its rows then count no rubric."""
        self.edit_clusters(f"removed cluster {cluster!r}", lambda m: m.remove_cluster(cluster))

    def rename_cluster(self, old: str, new: str) -> None:
        """Rename a cluster (as the rows' cluster field now spells it)."""
        self.edit_clusters(f"renamed cluster {old!r} to {new!r}", lambda m: m.rename_cluster(old, new))

    def edit_clusters(self, event: str, edit: Edit, *, rubrics: Iterable[str] = ()) -> None:
        """Apply ``edit`` (a function of a :class:`ClusterMap`) to the cluster map as one change, ``event``.

        The ``rubrics`` it names must be rubrics of this workbench. The edit is validated, saved, undoable
        and announced like any other change; this is what every cluster edit, a widget's too, comes to.

        Example::

            >>> wb = Workbench(path=None)
            >>> _ = wb.add_rubric("tone", "1 = polite")
            >>> wb.edit_clusters("chat and mail", lambda m: m.add_cluster("chat", ["tone"]) or m.add_cluster("mail"))
            >>> wb.clusters.to_dict(), wb.undo()
            ({'chat': ['tone'], 'mail': []}, 'chat and mail')
        """
        require_rubrics(self._rubrics, rubrics)
        with self._store.change(event):
            apply_edit(self._clusters, edit)

    # --- saving, undo, observers (the store's) ----------------------------------------------------

    def undo(self) -> str:
        """Restore the state before the last change; returns the change undone."""
        return self._store.undo()

    def observe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(event)`` after every change (``"added rubric 'tone'"``, ``"undo: ..."``)."""
        self._store.observe(callback)

    def unobserve(self, callback: Callable[[str], None]) -> None:
        self._store.unobserve(callback)

    def open(self, path: str | os.PathLike[str], *, discard: bool = False) -> None:
        """Replace everything with the project file at ``path`` and autosave there from now on.

        While autosave is blocked, work that is only in memory is not dropped unless ``discard=True``.
        """
        self._store.open(path, discard=discard)

    def save(self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False) -> Path:
        """Write the project file to ``path`` (default: the current one), which becomes the autosave target.

        Writing over the current file when it could not be read, or when it changed on disk since this
        notebook read or wrote it, needs ``overwrite=True``; so does writing over any other existing file
        (another project, someone's data): nothing is replaced silently.
        """
        return self._store.save(path, overwrite=overwrite)

    # --- composing and checking ------------------------------------------------------------------

    def grader(self) -> AggregatorGrader:
        """The composed grader: formatting + a judge per rubric (masked by cluster, when any) + the rest."""
        return compose(self._state())

    def lint(self, dataset: Any = None) -> LintReport:
        """Lint the composed grader (and the ``dataset`` rows, a DataFrame or dicts) plus the cluster map."""
        try:
            report = lint(self.grader(), dataset=dataset)
        except ConfigError as e:
            return LintReport([Finding("error", "workbench", str(e))])
        report.extend(views.findings(self, dataset))
        return report

    def export(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``grader().config`` as JSON to ``path``; returns the path.

        Never over this notebook's project file nor any rftkit_nb project file, even with ``overwrite``.
        A previous export (a JSON object with a ``"type"``: a grader) is replaced without asking, since
        exporting grader.json again after each change is the usual loop; any other existing file may be
        someone's data, so replacing it needs ``overwrite=True``.
        """
        return self._store.write_export(path, canonical_json(self.grader().config), overwrite=overwrite)

    # --- internals -------------------------------------------------------------------------------

    def _state(self) -> ProjectState:
        """The state now, as a value later edits leave alone: the store keeps it to undo or roll back to."""
        cmap = ClusterMap(**self._clusters.model_dump())
        return ProjectState(
            self.name, self.normalize, self._formatting, dict(self._rubrics), dict(self._graders), cmap
        )

    def _require(self, name: str) -> str:
        kind = self.kind_of(name)
        if kind in (None, "indicator"):
            names = ", ".join(self.names()) or "(none)"
            raise ConfigError(f"no rubric or grader named {name!r}; names are: {names}")
        return str(kind)

    def _validate(self) -> None:
        if self.names():  # composing checks that names are unique identifiers and the formula builds
            self.grader()

    def _assign(self, state: ProjectState) -> None:
        # Copies, so edits never reach a state the store keeps. The cluster map is updated in place
        # (widgets hold it), then tells its own observers.
        self.name, self.normalize, self._formatting = state.name, state.normalize, state.formatting
        self._rubrics, self._graders = dict(state.rubrics), dict(state.graders)
        hold(self._clusters, state.clusters, "reloaded")

    # --- display ---------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Names and settings at a glance."""
        return {
            "name": self.name, "rubrics": list(self._rubrics), "graders": list(self._graders),
            "formatting": self._formatting.name if self._formatting else None,
            "clusters": self._clusters.to_dict(), "cluster_field": self._clusters.field,
            "normalize": self.normalize, "path": str(self.path) if self.path else None,
            "autosave": self.path is not None and self.blocked is None,
        }  # fmt: skip

    def __repr__(self) -> str:
        return views.render_text(self)

    def _repr_html_(self) -> str:
        return views.render_html(self)
