"""The notebook's working set of a grader design, saved to a project file after every change.

A :class:`Workbench` holds rubrics, other graders (python, string_check, text_similarity, any config), an
optional formatting grader, the :class:`ClusterMap` and the composition settings, and composes them into
one :class:`AggregatorGrader` with :meth:`Workbench.grader`. Every change is validated first (a bad input
raises :class:`ConfigError` and changes nothing), then written atomically to the project file, then
announced to observers, so magics, widgets and the file never disagree; :meth:`Workbench.undo` steps back.
That machinery is in :mod:`~rftkit_nb.core.workbench_store`; the cluster matrix edits, which the live
:attr:`Workbench.clusters` map routes to, are in :mod:`~rftkit_nb.core.workbench_clusters`.

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
from typing import Any

from rftkit_nb.core import workbench_view as view
from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import BaseGrader, MultiGrader, PythonGrader, grader_from_config
from rftkit_nb.core.lint import Finding, LintReport, lint
from rftkit_nb.core.project import (
    ProjectState,
    RubricSpec,
    check_identifier,
    check_python,
    cluster_map,
    dumps,
    finite_weight,
    rubric_spec,
)
from rftkit_nb.core.rubrics import (
    DEFAULT_JUDGE_MODEL,
    AggregatorGrader,
    FormattingGrader,
    IndicatorGrader,
    RubricGrader,
    rubric_text_problem,
)
from rftkit_nb.core.workbench_clusters import ClusterEdits, LiveClusterMap, place_rubric
from rftkit_nb.core.workbench_store import DEFAULT_PROJECT_FILE
from rftkit_nb.errors import ConfigError

__all__ = ["DEFAULT_PROJECT_FILE", "INDICATOR_PREFIX", "LiveClusterMap", "RubricSpec", "Workbench"]

#: A rubric ``tone``'s cluster mask is the sub-grader ``applies_tone``.
INDICATOR_PREFIX = "applies_"
Vet = Callable[[BaseGrader], None]
_KIND_LABELS = {"indicator": "rubric's cluster indicator", "formatting": "formatting grader"}


class Workbench(ClusterEdits):
    """Rubrics, graders, formatting grader, cluster map and composition settings, autosaved to ``path``.

    ``path=None`` keeps everything in memory. An existing project file at ``path`` is opened (a corrupt or
    newer one raises :class:`ProjectFileError`; see :meth:`load_or_empty`).
    """

    def __init__(self, path: str | os.PathLike[str] | None = DEFAULT_PROJECT_FILE) -> None:
        super().__init__(path)
        self.example: dict[str, Any] | None = None  # the row graders are test-run on; never saved
        self.name, self.normalize = "reward", True
        self._rubrics: dict[str, RubricSpec] = {}
        self._graders: dict[str, tuple[BaseGrader, float]] = {}
        self._formatting: FormattingGrader | None = None
        self._clusters = LiveClusterMap(self)
        self._start()

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

    def names(self) -> list[str]:
        fmt = [self._formatting.name] if self._formatting else []
        return [*fmt, *self._rubrics, *self._graders]

    def kind_of(self, name: str) -> str | None:
        """``"rubric"``, ``"grader"``, ``"formatting"``, ``"indicator"`` (``applies_<rubric>``) or None."""
        if name in self._rubrics:
            return "rubric"
        if name in self._graders:
            return "grader"
        if self._formatting is not None and self._formatting.name == name:
            return "formatting"
        if name.startswith(INDICATOR_PREFIX) and name[len(INDICATOR_PREFIX) :] in self._rubrics:
            return "indicator"
        return None

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
        self._check_name(name, "rubric")
        if input is not None and item_fields:  # they shape only the default prompt, which input replaces
            raise ConfigError(
                f"rubric {name!r}: item_fields (--fields) are shown by the default prompt only; "
                "with an input template, show them in it ({{ item.FIELD }}) and drop them"
            )
        spec = rubric_spec(
            name, text, weight, DEFAULT_JUDGE_MODEL if model is None else model, range, input, item_fields
        )
        wanted = None if clusters is None else list(dict.fromkeys(clusters))
        with self._change(f"{'updated' if name in self._rubrics else 'added'} rubric {name!r}"):
            self._rubrics[name] = spec
            self._clusters._edit(lambda cmap: place_rubric(cmap, name, wanted))
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
        self._check_name(g.name, "grader")
        check_python(g)
        w = finite_weight(weight, f"grader {g.name!r}")
        if vet is not None:
            vet(g)
        with self._change(f"{'updated' if g.name in self._graders else 'added'} grader {g.name!r}"):
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
        self._check_name(options["name"], "formatting")
        fmt = FormattingGrader(**options)
        check_python(fmt)
        if vet is not None:
            vet(fmt)
        with self._change(f"set formatting grader {fmt.name!r}"):
            self._formatting = fmt
        return fmt

    def remove(self, name: str) -> str:
        """Remove a rubric (and its cluster memberships), a grader or the formatting grader; returns its kind."""
        kind = self._require(name)
        with self._change(f"removed {_KIND_LABELS.get(kind, kind)} {name!r}"):
            if kind == "rubric":
                del self._rubrics[name]
                if name in self._clusters.rubrics:
                    self._clusters._edit(lambda cmap: cmap.remove_rubric(name))
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
        self._check_name(new, kind)
        if new != old and self.kind_of(new) is not None:
            raise ConfigError(f"cannot rename {old!r} to {new!r}: {new!r} already exists; pick another name")
        with self._change(f"renamed {_KIND_LABELS.get(kind, kind)} {old!r} to {new!r}"):
            if kind == "rubric":
                self._rubrics = {new if n == old else n: replace(s, name=new) if n == old else s
                                 for n, s in self._rubrics.items()}  # fmt: skip
                if old in self._clusters.rubrics:
                    self._clusters._edit(lambda cmap: cmap.rename_rubric(old, new))
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
            check_identifier(name, "the composed grader's name")
            taken = self.kind_of(name)
            if taken is not None:
                label = _KIND_LABELS.get(taken, taken)
                raise ConfigError(f"the composed grader's name {name!r} is already a {label}; pick another")
        field = self._clusters.field if cluster_field is None else cluster_field
        moved = cluster_map(self._clusters.model_dump() | {"field": field})
        with self._change("changed settings"):
            self.name = self.name if name is None else name
            self.normalize = self.normalize if normalize is None else bool(normalize)
            if field != self._clusters.field:
                self._clusters._replace(moved)
                # Indicator graders built on this map regenerate their source from its notifications.
                self._clusters._changed(f"cluster field set to {field!r}")

    def set_example(self, row: Mapping[str, Any] | None) -> None:
        """Set (or clear, with None) the row graders are test-run on; kept in memory, never saved."""
        if row is not None and not isinstance(row, Mapping):
            raise ConfigError(f"the example row must be a dict of column -> value, not {type(row).__name__}")
        try:
            self.example = None if row is None else json.loads(json.dumps(dict(row), allow_nan=False))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"the example row must be plain JSON data: {e}") from None

    # --- composing and checking ------------------------------------------------------------------

    def grader(self) -> AggregatorGrader:
        """The composed grader: formatting + a judge per rubric (masked by cluster, when any) + the rest."""
        graders: list[BaseGrader] = []
        weights: dict[str, float] = {}
        pairs: dict[str, str] = {}
        fmt = self._formatting
        if fmt is not None:
            graders.append(fmt)
            weights[fmt.name] = fmt.weight
        masks = ClusterMap(**self._clusters.model_dump()) if self._clusters.clusters else None
        for spec in self._rubrics.values():
            graders.append(spec.grader())
            weights[spec.name] = spec.weight
            if masks is not None:
                pairs[spec.name] = INDICATOR_PREFIX + spec.name
                graders.append(
                    IndicatorGrader(name=pairs[spec.name], rubric_name=spec.name, cluster_map=masks)
                )
        for name, (g, w) in self._graders.items():
            graders.append(g)
            weights[name] = w
        if not graders:
            raise ConfigError("the workbench is empty: add a rubric (%%rubric) or a grader first")
        return AggregatorGrader(
            name=self.name, graders=graders, rubric_to_indicator_map=pairs,  # type: ignore[arg-type]
            normalize=self.normalize,
            formatting_grader_name=fmt.name if fmt else None, weights=weights,
        )  # fmt: skip

    def lint(self, dataset: Any = None) -> LintReport:
        """Lint the composed grader (and the ``dataset`` rows, a DataFrame or dicts) plus the cluster map."""
        try:
            report = lint(self.grader(), dataset=dataset)
        except ConfigError as e:
            return LintReport([Finding("error", "workbench", str(e))])
        for spec in self._rubrics.values():  # text an older version took, kept when its file was read
            problem = rubric_text_problem(spec.text)
            if problem is not None:
                report.append(Finding("error", f"rubrics.{spec.name}", f"{problem}; the judge is shown "
                                      "each {{ as { {: fix the text and re-run its %%rubric cell"))  # fmt: skip
        report.extend(view.cluster_findings(self, dataset))
        return report

    def export(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``grader().config`` as JSON to ``path``; returns the path.

        Never over this notebook's project file nor any rftkit_nb project file, even with ``overwrite``.
        A previous export (a JSON object with a ``"type"``: a grader) is replaced without asking, since
        exporting grader.json again after each change is the usual loop; any other existing file may be
        someone's data, so replacing it needs ``overwrite=True``.
        """
        return self._write_export(path, dumps(self.grader().config), overwrite=overwrite)

    # --- internals -------------------------------------------------------------------------------

    def _state(self) -> ProjectState:
        return ProjectState(
            self.name, self.normalize, self._formatting, self._rubrics, self._graders, self._clusters
        )

    def _check_name(self, name: object, kind: str) -> None:
        check_identifier(name, f"{_KIND_LABELS.get(kind, kind)} name")
        assert isinstance(name, str)
        if self.name in (name, INDICATOR_PREFIX + name if kind == "rubric" else name):
            needs = f"{kind} {name!r} needs the name {self.name!r} for its cluster indicator, but "
            raise ConfigError(
                f"{'' if self.name == name else needs}{self.name!r} is the composed grader's name; "
                f"name the {kind} otherwise, or rename the composed grader: %rft config --name NEW_NAME"
            )
        taken = self.kind_of(name)
        if taken not in (None, kind):
            raise ConfigError(f"{name!r} is already a {_KIND_LABELS.get(taken, taken)}; "
                              "pick another name or remove that one first")  # fmt: skip
        if kind == "rubric" and self.kind_of(INDICATOR_PREFIX + name) not in (None, "indicator"):
            raise ConfigError(f"rubric {name!r} needs the name {INDICATOR_PREFIX + name!r} for its cluster "
                              "indicator, and a grader already has it; rename one of them")  # fmt: skip

    def _require(self, name: str) -> str:
        kind = self.kind_of(name)
        if kind in (None, "indicator"):
            names = ", ".join(self.names()) or "(none)"
            raise ConfigError(f"no rubric or grader named {name!r}; names are: {names}")
        return str(kind)

    def _has_work(self) -> bool:
        return self.to_dict() != Workbench(path=None).to_dict()

    def _validate(self) -> None:
        if self.names():  # composing checks that names are unique identifiers and the formula builds
            self.grader()

    def _assign(self, state: ProjectState) -> None:
        # The cluster map is updated in place (widgets hold it), then tells its own observers.
        self.name, self.normalize, self._formatting, self._rubrics, self._graders, cmap = state
        old = self._clusters.model_dump()
        self._clusters._replace(cmap)
        if self._clusters.model_dump() != old:
            self._clusters._changed("reloaded")

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
        return view.render_text(self)

    def _repr_html_(self) -> str:
        return view.render_html(self)
