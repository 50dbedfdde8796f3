"""The Workbench's entries, each checked when it is made: rubrics, python graders' sources, the cluster map.

A :class:`RubricSpec` is one rubric as the user wrote it (text, weight, judge model, range, input
template, item fields); :func:`rubric_spec` builds one from loose values with a one-line
:class:`ConfigError` naming the field. Editing is strict; reading a project file written by an older
version is lenient (``strict=False``), and ``lint()`` reports what the strict check would refuse.

Example::

    >>> rubric_spec("tone", "1 = polite", weight=2).grader().config["name"]
    'tone'
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import BaseGrader, PythonGrader
from rftkit_nb.core.pysource import free_globals, has_star_import, python_source_problems
from rftkit_nb.core.rubrics import (
    DEFAULT_JUDGE_MODEL,
    IndicatorGrader,
    RubricGrader,
    default_judge_messages,
    literal_rubric_text,
)
from rftkit_nb.core.templates import find_variables
from rftkit_nb.core.values import finite_weight
from rftkit_nb.errors import ConfigError

__all__ = ["RubricSpec", "check_python", "cluster_map", "item_fields_of", "rubric_spec"]


@dataclass(frozen=True)
class RubricSpec:
    """One rubric as the user wrote it. ``input``, when set, is the judge's user-message template.

    Example::

        >>> RubricSpec("tone", "1 = polite").grader().type
        'score_model'
    """

    name: str
    text: str
    weight: float = 1.0
    model: str = DEFAULT_JUDGE_MODEL
    range: tuple[float, float] = (0.0, 1.0)
    input: str | None = None
    item_fields: tuple[str, ...] = ()

    def grader(self, *, strict: bool = False) -> RubricGrader:
        """The rubric's score_model judge.

        Text the strict check refuses (``{{`` in it: kept from an older project file) is shown to the judge
        with each ``{{`` written ``{ {``, and the workbench's lint reports it; ``strict=True`` refuses it.
        """
        text = self.text if strict else literal_rubric_text(self.text)
        extra: dict[str, Any] = {}
        if self.input is not None:
            # The rubric stays the judge's instructions; the template replaces only what it is shown, so
            # the instructions name the row fields the template shows, not the default prompt's.
            shown = item_fields_of(self.input)
            system = default_judge_messages(self.name, text, self.range, shown)[0]
            extra["input"] = [system, {"role": "user", "content": self.input}]
        return RubricGrader(
            name=self.name, rubric=text, weight=self.weight, model=self.model,  # type: ignore[arg-type]
            range=self.range, item_fields=self.item_fields, **extra,
        )  # fmt: skip


def item_fields_of(template: str) -> list[str]:
    """The dataset-row fields a template reads (its ``{{ item.* }}`` variables), each once, in order.

    Example::

        >>> item_fields_of("Q: {{ item.question }} ({{ item.meta.kind }}) A: {{ sample.output_text }}")
        ['question', 'meta.kind']
    """
    paths = (v.text.removeprefix("item.") for v in find_variables(template) if v.namespace == "item")
    return list(dict.fromkeys(paths))


def rubric_spec(
    name: str, text: object, weight: object = 1.0, model: object = DEFAULT_JUDGE_MODEL,
    range: object = (0.0, 1.0), input: object = None, item_fields: object = (), *, strict: bool = True,
) -> RubricSpec:  # fmt: skip
    """A validated :class:`RubricSpec` (its judge builds), or a ConfigError naming the field.

    ``strict=False`` (reading a project file) keeps text with ``{{`` in it, which older versions took.

    Example::

        >>> rubric_spec("tone", "cite {{ item.source", strict=False).grader().rubric.content
        'cite { { item.source'
    """
    owner = f"rubric {name!r}"
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{owner}: the text is empty; write the rubric (the %%rubric cell body)")
    lo_hi = list(range) if isinstance(range, list | tuple) else []
    if len(lo_hi) != 2 or not all(isinstance(x, int | float) and math.isfinite(x) for x in lo_hi):
        raise ConfigError(f"{owner}: range must be two finite numbers [low, high], got {range!r}")
    if input is not None and not isinstance(input, str):
        raise ConfigError(f"{owner}: input must be a template string, got {input!r}")
    try:
        find_variables(input or "")
    except ConfigError as e:
        raise ConfigError(f"{owner}: input template: {e}") from None
    if isinstance(item_fields, str) or not isinstance(item_fields, list | tuple):
        raise ConfigError(f"{owner}: item_fields must be a list of field names, got {item_fields!r}")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{owner}: model must be a model name, got {model!r}")
    spec = RubricSpec(
        name, text.strip(), finite_weight(weight, owner), model,
        (float(lo_hi[0]), float(lo_hi[1])), input, tuple(map(str, item_fields)),
    )  # fmt: skip
    spec.grader(strict=strict)
    return spec


def check_python(g: BaseGrader) -> None:
    """Size, syntax, signature and free names of a python grader's source, checked when it is added."""
    if isinstance(g, PythonGrader) and not isinstance(g, IndicatorGrader):
        problems = python_source_problems(g.source) or _outside_names(g.source)
        if problems:
            raise ConfigError(f"python grader {g.name!r}: {problems[0]}")


def _outside_names(source: str) -> list[str]:
    """A problem when the source reads names it neither defines nor imports: only it is shipped and run."""
    try:
        if has_star_import(ast.parse(source)):
            return []  # what `import *` binds is unknown here; the sandbox test run will tell
        names = free_globals(source)
    except (SyntaxError, ValueError):  # reported by python_source_problems
        return []
    if not names:
        return []
    return [f"it uses {', '.join(names)}, defined outside its source (another cell?); only this source "
            "is shipped and run, so define or import them in it"]  # fmt: skip


def cluster_map(data: Mapping[str, Any]) -> ClusterMap:
    """A :class:`ClusterMap` from its fields, or a one-line ConfigError."""
    try:
        return ClusterMap(**data)
    except (ValidationError, TypeError) as e:
        problem = e.errors(include_url=False)[0]["msg"] if isinstance(e, ValidationError) else str(e)
        raise ConfigError(f"invalid cluster map: {problem}") from None
