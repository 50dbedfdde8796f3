"""How a Workbench's state becomes one grader, and the names its sub-graders may take.

The composed grader is an :class:`AggregatorGrader`: the formatting grader, one ``RubricGrader``
(score_model) per rubric, one ``IndicatorGrader`` (python) per rubric when clusters exist, named
``applies_<rubric>``, and every other grader; its formula is the weighted, normalised mean. Their names
are the formula's variables, so :func:`check_name` keeps them identifiers and unique across kinds.

Example::

    >>> from rftkit_nb.core.clusters import ClusterMap
    >>> from rftkit_nb.core.workbench.specs import RubricSpec
    >>> state = ProjectState("reward", True, None, {"tone": RubricSpec("tone", "1 = polite")}, {},
    ...                      ClusterMap.from_dict({"chat": ["tone"]}))
    >>> sorted(compose(state).graders)
    ['applies_tone', 'tone']
"""

from __future__ import annotations

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.graders import BaseGrader
from rftkit_nb.core.names import check_identifier
from rftkit_nb.core.rubrics import AggregatorGrader, IndicatorGrader
from rftkit_nb.core.workbench.project_file import ProjectState
from rftkit_nb.errors import ConfigError

__all__ = ["INDICATOR_PREFIX", "check_composed_name", "check_name", "compose", "kind_of", "label"]

#: A rubric ``tone``'s cluster mask is the sub-grader ``applies_tone``.
INDICATOR_PREFIX = "applies_"
_LABELS = {"indicator": "rubric's cluster indicator", "formatting": "formatting grader"}


def label(kind: str) -> str:
    """How a kind of sub-grader is named in messages (``"formatting grader"``, ``"rubric"``...)."""
    return _LABELS.get(kind, kind)


def kind_of(state: ProjectState, name: str) -> str | None:
    """``"rubric"``, ``"grader"``, ``"formatting"``, ``"indicator"`` (``applies_<rubric>``) or None."""
    if name in state.rubrics:
        return "rubric"
    if name in state.graders:
        return "grader"
    if state.formatting is not None and state.formatting.name == name:
        return "formatting"
    if name.startswith(INDICATOR_PREFIX) and name[len(INDICATOR_PREFIX) :] in state.rubrics:
        return "indicator"
    return None


def check_name(state: ProjectState, name: object, kind: str) -> None:
    """Refuse ``name`` for a new or replaced sub-grader of ``kind``: not an identifier, or taken.

    Taken means: the composed grader's name, another kind's name, or (for a rubric) the name its cluster
    indicator needs.
    """
    check_identifier(name, f"{label(kind)} name")
    assert isinstance(name, str)
    if state.name in (name, INDICATOR_PREFIX + name if kind == "rubric" else name):
        needs = f"{kind} {name!r} needs the name {state.name!r} for its cluster indicator, but "
        raise ConfigError(
            f"{'' if state.name == name else needs}{state.name!r} is the composed grader's name; "
            f"name the {kind} otherwise, or rename the composed grader: %rft config --name NEW_NAME"
        )
    taken = kind_of(state, name)
    if taken not in (None, kind):
        raise ConfigError(f"{name!r} is already a {label(taken)}; "
                          "pick another name or remove that one first")  # fmt: skip
    if kind == "rubric" and kind_of(state, INDICATOR_PREFIX + name) not in (None, "indicator"):
        raise ConfigError(f"rubric {name!r} needs the name {INDICATOR_PREFIX + name!r} for its cluster "
                          "indicator, and a grader already has it; rename one of them")  # fmt: skip


def check_composed_name(state: ProjectState, name: str) -> None:
    """Refuse ``name`` for the composed grader: it follows the rules of sub-grader names, and is none of them."""
    check_identifier(name, "the composed grader's name")
    taken = kind_of(state, name)
    if taken is not None:
        raise ConfigError(f"the composed grader's name {name!r} is already a {label(taken)}; pick another")


def compose(state: ProjectState) -> AggregatorGrader:
    """The composed grader of ``state``; a :class:`ConfigError` when there is nothing to compose."""
    graders: list[BaseGrader] = []
    weights: dict[str, float] = {}
    pairs: dict[str, str] = {}
    fmt = state.formatting
    if fmt is not None:
        graders.append(fmt)
        weights[fmt.name] = fmt.weight
    # The indicators share one plain copy of the map: it is theirs to observe, not the workbench's.
    masks = ClusterMap(**state.clusters.model_dump()) if state.clusters.clusters else None
    for spec in state.rubrics.values():
        graders.append(spec.grader())
        weights[spec.name] = spec.weight
        if masks is not None:
            pairs[spec.name] = INDICATOR_PREFIX + spec.name
            graders.append(IndicatorGrader(name=pairs[spec.name], rubric_name=spec.name, cluster_map=masks))
    for name, (g, w) in state.graders.items():
        graders.append(g)
        weights[name] = w
    if not graders:
        raise ConfigError("the workbench is empty: add a rubric (%%rubric) or a grader first")
    return AggregatorGrader(
        name=state.name, graders=graders, rubric_to_indicator_map=pairs,  # type: ignore[arg-type]
        normalize=state.normalize,
        formatting_grader_name=fmt.name if fmt else None, weights=weights,
    )  # fmt: skip
