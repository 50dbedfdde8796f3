"""The python graders whose source rftkit_nb generates: :class:`FormattingGrader` and :class:`IndicatorGrader`.

Both send only what the API takes (``type``, ``name``, ``source``, ``image_tag``): their other fields
(weight, required fields, cluster map...) are never sent, they are what ``source`` is generated from.
:mod:`rftkit_nb.core.rubrics` re-exports both, so the seed API imports them from there.

Generated python source embeds data only as ``repr``/JSON literals, so no rubric or cluster name can
inject code; the cluster is read from the dataset row (``item``), never from the model's output.

Example::

    >>> IndicatorGrader(name="ind_accuracy", rubric_name="accuracy").config["source"].splitlines()[0]
    'def grade(sample, item):'
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import PythonGrader
from rftkit_nb.core.values import weight_problem

__all__ = ["FormattingGrader", "IndicatorGrader", "Weight"]


def _weight(value: object) -> float:
    problem = weight_problem(value)
    if problem is not None:
        raise ValueError(problem)  # pydantic reports it under the field's name
    return float(value)  # type: ignore[arg-type]  # weight_problem admits only int and float


#: A grader's weight as a pydantic field type (``weight: Weight = 1.0``), checked by the one weight rule.
Weight = Annotated[float, BeforeValidator(_weight)]

_FORMATTING_SOURCE = """\
import json

REQUIRED = json.loads({required})
SCHEMA = json.loads({schema})
PARTIAL_CREDIT = {partial}


def _parse(sample):
    parsed = sample.get("output_json")
    if parsed is None:
        try:
            parsed = json.loads(sample.get("output_text") or "")
        except ValueError:
            return None
    return parsed


def _present(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return False
        obj = obj[part]
    return obj is not None and obj != ""


def grade(sample, item):
    parsed = _parse(sample)
    if not isinstance(parsed, dict):
        return 0.0
    if SCHEMA is not None:
        import jsonschema

        if not jsonschema.Draft202012Validator(SCHEMA).is_valid(parsed):
            return 0.0
    if not REQUIRED:
        return 1.0
    found = sum(1 for path in REQUIRED if _present(parsed, path))
    if PARTIAL_CREDIT:
        return found / len(REQUIRED)
    return 1.0 if found == len(REQUIRED) else 0.0
"""


class _GeneratedPythonGrader(PythonGrader):
    """A python grader whose source is generated here; only what the API takes is sent."""

    source: str = ""

    @property
    def config(self) -> dict[str, Any]:
        return {"type": "python", "name": self.name, "source": self.source,
                **({"image_tag": self.image_tag} if self.image_tag else {})}  # fmt: skip


class FormattingGrader(_GeneratedPythonGrader):
    """A python grader checking the output's structure; scores in [0, 1].

    The output must be a JSON object (from ``output_json`` or by parsing ``output_text``), else 0.
    With ``json_schema`` it must validate, else 0. Then, with ``required_fields`` (dotted paths), the score
    is the fraction present and non-empty (``partial_credit=True``, the default) or 1/0 for all/any missing.
    With neither, any JSON object scores 1. A ``source`` given by the caller is kept as it is.
    """

    weight: Weight = 0.2
    required_fields: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    partial_credit: bool = True
    _generated: str | None = PrivateAttr(default=None)

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        try:  # a runtime dependency, but core itself stays stdlib + pydantic
            import jsonschema
        except ImportError:  # pragma: no cover - then the sandbox finds out
            return v
        try:
            jsonschema.Draft202012Validator.check_schema(v)
        except jsonschema.SchemaError as e:
            raise ValueError(f"not a valid JSON Schema (draft 2020-12): {e.message}") from None
        return v

    def render_source(self) -> str:
        """The source the current options generate."""
        return _FORMATTING_SOURCE.format(
            required=repr(json.dumps([str(f) for f in self.required_fields])),
            schema=repr(json.dumps(self.json_schema)),
            partial=repr(bool(self.partial_credit)),
        )

    def _derive(self) -> None:
        fresh = self.render_source()
        if not self.source or self.source in (self._generated, fresh):
            self._set_derived("source", fresh)
            self._generated = fresh


_INDICATOR_SOURCE = """\
import json

RUBRIC = {rubric}
CLUSTER_FIELD = {field}
CLUSTERS = json.loads({clusters})


def _cluster(item):
    value = item
    for part in CLUSTER_FIELD.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    # As ClusterMap.cluster_of: NaN is absent, 1.0 (a number column with gaps) is cluster "1".
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def grade(sample, item):
    # The cluster comes from the dataset row, never from the model's output.
    return 1.0 if RUBRIC in CLUSTERS.get(_cluster(item), ()) else 0.0
"""

_ALWAYS_SOURCE = """\
def grade(sample, item):
    # No cluster map was given: the rubric applies to every row.
    return 1.0
"""


class IndicatorGrader(_GeneratedPythonGrader):
    """A python grader: 1 when ``rubric_name`` applies to the row's cluster, else 0.

    The cluster is read from the dataset row at ``cluster_map.field``. Without a cluster map, the rubric
    applies to every row (nothing is hard-coded). A row whose cluster is missing or unknown scores 0.
    ``source`` follows the cluster map's edits (made through its methods) and every assignment.
    """

    rubric_name: str = Field(min_length=1)
    cluster_map: ClusterMap | None = None
    _following: Any = PrivateAttr(default=None)  # a weak reference to the map whose edits are followed

    @field_validator("cluster_map", mode="before")
    @classmethod
    def _from_seed_shape(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and not {"clusters", "rubrics", "field"} & set(v):
            return ClusterMap.from_dict(v)
        return v

    def _derive(self) -> None:
        self._set_derived("source", self.render_source())
        cmap = self.cluster_map
        if cmap is not None and (self._following is None or self._following() is not cmap):
            cmap.observe(_refresher(self, cmap))
            self._following = weakref.ref(cmap)

    def render_source(self) -> str:
        """The source for the cluster map as it is now (the map may have been edited since)."""
        if self.cluster_map is None:
            return _ALWAYS_SOURCE
        return _INDICATOR_SOURCE.format(
            rubric=repr(self.rubric_name),
            field=repr(self.cluster_map.field),
            clusters=repr(json.dumps(self.cluster_map.to_dict(), sort_keys=True)),
        )


def _refresher(grader: IndicatorGrader, cmap: ClusterMap) -> Callable[[str], None]:
    """An observer of ``cmap`` that regenerates ``grader.source``; it keeps the grader collectable."""
    ref = weakref.ref(grader)

    def refresh(_what: str) -> None:
        current = ref()
        if current is not None and current.cluster_map is cmap:  # it may have been given another map
            current._set_derived("source", current.render_source())

    return refresh
