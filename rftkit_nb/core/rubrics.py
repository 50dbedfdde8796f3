"""The seed API (rftkit), kept name for name, with its defects fixed.

``RubricItem`` holds a rubric's text; ``RubricGrader`` turns it into a score_model judge;
``FormattingGrader`` and ``IndicatorGrader`` are python graders whose source is generated (they live in
:mod:`rftkit_nb.core.generated` and are re-exported here); ``AggregatorGrader`` combines them into one
multi grader.

The reward. With formatting score s_F and weight w_F, rubric scores s_i, weights w_i and indicator masks
m_i (1 when the rubric applies to the row's cluster, else 0):

* ``normalize=True`` (default): ``(w_F*s_F + sum_i m_i*w_i*s_i) / max(w_F + sum_i m_i*w_i, 1e-6)``.
  Every row's reward stays in [0, 1] whatever its cluster's rubric count; a row where nothing applies
  (and w_F = 0) gets 0 instead of a division by zero.
* ``normalize=False``: the seed's raw ``w_F*s_F + sum_i m_i*w_i*s_i``.

A score_model sub-grader whose ``range`` [lo, hi] is not [0, 1] enters the normalised formula rescaled, as
``((s - lo) / (hi - lo))`` with ``hi - lo`` written as one number and never a unary minus (``((s + 5) / 4)``
for [-5, -1], ``(s / hi)`` when lo is 0), so the reward stays in [0, 1]; the service clips
the judge's answer to its range first. The raw formula keeps raw scores, as the seed did. Weights must be
finite and >= 0; each is written as a plain decimal with every digit it needs, and the 1e-6 floor drops
to the smallest positive weight when that is smaller, so tiny weights still normalise exactly.

Example (the seed README's Quick Start)::

    >>> fmt = FormattingGrader(name="format_validator", weight=0.2)
    >>> rubric = RubricItem(id=1, content="Accuracy: 0.0 = incorrect, 1.0 = perfect")
    >>> acc = RubricGrader(name="rubric_accuracy", rubric=rubric, weight=1.0)
    >>> ind = IndicatorGrader(name="indicator_accuracy", rubric_name="accuracy")
    >>> agg = AggregatorGrader(name="final_score", graders=[fmt, acc, ind],
    ...     rubric_to_indicator_map={"rubric_accuracy": "indicator_accuracy"},
    ...     formatting_grader_name="format_validator")
    >>> agg.config["calculate_output"]
    '(0.2 * format_validator + indicator_accuracy * 1 * rubric_accuracy) / max(0.2 + indicator_accuracy * 1, 0.000001)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rftkit_nb.core.generated import FormattingGrader, IndicatorGrader, Weight
from rftkit_nb.core.graders import BaseGrader, Message, MultiGrader, ScoreModelGrader
from rftkit_nb.core.messages import DEFAULT_JUDGE_MODEL, sampling_problems
from rftkit_nb.core.names import identifier_problem, is_identifier
from rftkit_nb.core.templates import find_variables, first_placeholder
from rftkit_nb.core.values import weight_problem
from rftkit_nb.errors import ConfigError, TemplateError

__all__ = [
    "DEFAULT_JUDGE_MODEL",
    "AggregatorGrader",
    "FormattingGrader",
    "IndicatorGrader",
    "RubricGrader",
    "RubricItem",
    "compose_formula",
    "literal_rubric_text",
    "rubric_text_problem",
]

#: The smallest denominator the normalised formula divides by (lower only for smaller weights).
_DENOMINATOR_FLOOR = 1e-6


class RubricItem(BaseModel):
    """A rubric's text. ``id`` is whatever identifies it in your own records."""

    model_config = ConfigDict(extra="forbid")
    id: int | str
    content: str = Field(min_length=1)


def default_judge_messages(
    rubric_name: str, content: str, score_range: tuple[float, float], item_fields: Sequence[str]
) -> list[dict[str, str]]:
    """The default judge prompt: the rubric, the score range, what to answer, and the fields it reads."""
    lo, hi = (_num(x) for x in score_range)
    fields = "".join(f"\n{f}: {{{{ item.{f} }}}}" for f in item_fields)
    reads = (
        f"It also reads these fields of the dataset row: {', '.join(item_fields)}."
        if item_fields
        else "It reads no fields of the dataset row."
    )
    system = (
        "You are a careful, strict grader for reinforcement fine-tuning.\n"
        f"Grade the response against this rubric ({rubric_name}):\n\n{content}\n\n"
        f"Give `result`: a number from {lo} (the response fails the rubric) to {hi} (it fully meets it). "
        "Give `steps`: your reasoning, each step with a `description` and a `conclusion`. "
        f"Grade only what the rubric asks. {reads}"
    )
    user = (
        "Dataset row:" + fields + "\n\n" if item_fields else ""
    ) + "Response to grade:\n{{ sample.output_text }}"
    return [{"role": "developer", "content": system}, {"role": "user", "content": user}]


def rubric_text_problem(text: str) -> str | None:
    """Why rubric ``text`` cannot be shown to the judge as written (it holds ``{{``), or None.

    Example::

        >>> rubric_text_problem("1 = polite") is None, rubric_text_problem("uses {{ item.x }}")[:21]
        (True, "content contains '{{ ")
    """
    found = first_placeholder(text)
    if found is not None:
        return (
            f"content contains {found!r}, which the judge prompt would read as a template variable; "
            "templates have no escape for literal braces, so write them another way "
            "(e.g. '{ {' with a space, or in words)"
        )
    try:
        find_variables(text)  # what is left to catch: an opener such as `{{ item.x` never closed
    except TemplateError as e:
        return f"content: {e}; rubric text is literal (list row fields in item_fields)"
    return None


def literal_rubric_text(text: str) -> str:
    """``text`` unchanged when the judge can be shown it, else with every ``{{`` written ``{ {``.

    For rubric text kept from an older project file, which the strict check of new edits refuses.

    Example::

        >>> literal_rubric_text("cite {{ item.source"), literal_rubric_text("1 = polite")
        ('cite { { item.source', '1 = polite')
    """
    if rubric_text_problem(text) is None:
        return text
    while "{{" in text:  # `{{{` needs two passes
        text = text.replace("{{", "{ {")
    return text


class RubricGrader(ScoreModelGrader):
    """An LLM-judged ``score_model`` grader built from a rubric.

    ``input`` (a prompt string or messages) replaces the default prompt entirely; the default one states
    the rubric, the range, the ``result``/``steps`` answer and the item fields listed in ``item_fields``,
    and follows later edits of those. ``weight`` is used by :class:`AggregatorGrader`, never sent.
    """

    rubric: RubricItem
    weight: Weight = 1.0
    model: str = DEFAULT_JUDGE_MODEL
    input: list[Message] = Field(default_factory=list)
    item_fields: tuple[str, ...] = ()
    _generated_input: list[Message] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _default_range(cls, data: Any) -> Any:
        if isinstance(data, dict) and "range" not in data:
            data = {**data, "range": (0.0, 1.0)}  # always sent, so the JSON says what the prompt says
        return data

    @field_validator("rubric", mode="before")
    @classmethod
    def _rubric_text(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, str):
            return {"id": info.data.get("name", "rubric"), "content": v}
        return v

    @field_validator("rubric")
    @classmethod
    def _no_template_in_rubric(cls, v: RubricItem) -> RubricItem:
        problem = rubric_text_problem(v.content)
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("item_fields")
    @classmethod
    def _item_paths(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for f in v:
            if not all(is_identifier(p) for p in f.split(".")):
                raise ValueError(f"entry {f!r} must be a dotted path of identifiers")
        return v

    def _derive(self) -> None:
        fresh = [
            Message.model_validate(m)
            for m in default_judge_messages(
                self.name, self.rubric.content, self.score_range, self.item_fields
            )
        ]
        # A prompt given by the caller is kept; the default one follows rubric, range and item_fields.
        if not self.input or self.input in (self._generated_input, fresh):
            self._set_derived("input", fresh)
            self._generated_input = fresh

    @model_validator(mode="after")
    def _sampling_suits_model(self) -> RubricGrader:
        problems = sampling_problems(self.model, self.sampling_params)
        if problems:
            raise ValueError(problems[0][1])
        return self

    @property
    def config(self) -> dict[str, Any]:
        out = super().config
        for private in ("rubric", "weight", "item_fields"):
            out.pop(private, None)
        out["model"] = self.model
        return out


# --- the aggregate -------------------------------------------------------------------------------


def _num(x: float | Decimal) -> str:
    """A plain decimal literal (no exponent) the formula language reads, with every digit of ``x``.

    The shortest text that reads back as the same float, so 1e-07 is ``0.0000001``, never ``0``.
    """
    text = format(x if isinstance(x, Decimal) else Decimal(repr(float(x))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _scaled(key: str, score_range: tuple[float, float] | None) -> str:
    """``key`` rescaled from its range to [0, 1] (left as it is when the range is [0, 1])."""
    if score_range is None or tuple(score_range) == (0.0, 1.0):
        return key
    lo, hi = (Decimal(_num(x)) for x in score_range)
    # hi - lo is folded into one literal: with hi < 0 the unfolded text would need a unary minus, which
    # OpenAI's formula docs do not list. It is computed on the printed numbers, in decimal, so [0.1, 0.3]
    # gives 0.2 rather than the float subtraction's 0.19999999999999998.
    span = _num(hi - lo)
    if lo == 0:
        return f"({key} / {span})"
    shift = f"{key} - {_num(lo)}" if lo > 0 else f"{key} + {_num(-lo)}"
    return f"(({shift}) / {span})"


def compose_formula(
    terms: Sequence[tuple[str, float, str | None]],
    *,
    normalize: bool = True,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> str:
    """The reward formula for ``(key, weight, mask_key or None)`` terms.

    ``ranges`` gives the score range of keys whose scores are not in [0, 1]; normalised, they are rescaled.

    Example::

        >>> compose_formula([("fmt", 0.2, None), ("acc", 1.0, "ind_acc")])
        '(0.2 * fmt + ind_acc * 1 * acc) / max(0.2 + ind_acc * 1, 0.000001)'
        >>> compose_formula([("fmt", 0.2, None), ("acc", 1.0, "ind_acc")], normalize=False)
        '0.2 * fmt + ind_acc * 1 * acc'
        >>> compose_formula([("acc", 1.0, None)], ranges={"acc": (1.0, 10.0)})
        '(1 * ((acc - 1) / 9)) / max(1, 0.000001)'
    """
    if not terms:
        raise ConfigError("nothing to combine: give at least one grader")
    scaled = (ranges or {}) if normalize else {}
    num = " + ".join(f"{m + ' * ' if m else ''}{_num(w)} * {_scaled(k, scaled.get(k))}" for k, w, m in terms)
    if not normalize:
        return num
    den = " + ".join(f"{m} * {_num(w)}" if m else _num(w) for _k, w, m in terms)
    # Any active term's weight is >= the floor, so it only ever matters when nothing applies (then 0).
    floor = min([_DENOMINATOR_FLOOR, *(w for _k, w, _m in terms if w > 0)])
    return f"({num}) / max({den}, {_num(floor)})"


class AggregatorGrader(MultiGrader):
    """The seed's multi grader: formatting + masked, weighted rubrics (+ any other graders).

    ``graders`` is a list; each is keyed by its name (names must be identifiers and unique).
    ``rubric_to_indicator_map`` pairs each masked grader with its indicator. Weights come from each
    grader's ``weight`` (1 when it has none) unless ``weights`` overrides them. See the module docstring
    for the formula; ``normalize=False`` gives the seed's raw sum.
    """

    rubric_to_indicator_map: dict[str, str] = Field(default_factory=dict)
    formatting_grader_name: str | None = None
    normalize: bool = True
    weights: dict[str, float] = Field(default_factory=dict)
    calculate_output: str = ""

    @model_validator(mode="before")
    @classmethod
    def _compose(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("graders"), list | tuple):
            return data
        graders: list[BaseGrader] = list(data["graders"])
        keyed = _key_by_name(graders)
        pairs = dict(data.get("rubric_to_indicator_map") or {})
        for rubric_key, indicator_key in pairs.items():
            for k in (rubric_key, indicator_key):
                if k not in keyed:
                    raise ValueError(
                        f"rubric_to_indicator_map names {k!r}, which is not among graders {list(keyed)}"
                    )
        fmt = data.get("formatting_grader_name")
        if fmt is not None and fmt not in keyed:
            raise ValueError(f"formatting_grader_name {fmt!r} is not among graders {list(keyed)}")
        weights = _checked_weights(keyed, data.get("weights") or {})
        indicators = set(pairs.values())
        order = ([fmt] if fmt else []) + [k for k in keyed if k != fmt and k not in indicators]
        terms = [(k, weights[k], pairs.get(k)) for k in order]
        ranges = {k: g.score_range for k, g in keyed.items() if isinstance(g, ScoreModelGrader)}
        formula = compose_formula(terms, normalize=data.get("normalize", True), ranges=ranges)
        return {**data, "graders": keyed, "calculate_output": formula}


def _checked_weights(keyed: Mapping[str, BaseGrader], overrides: Mapping[str, Any]) -> dict[str, float]:
    """Each grader's weight (its own ``weight``, 1 without one, or the override), all finite and >= 0."""
    unknown = [k for k in overrides if k not in keyed]
    if unknown:
        raise ValueError(f"weights names {unknown}, which are not among graders {list(keyed)}")
    weights: dict[str, float] = {}
    for key, grader in keyed.items():
        w = overrides.get(key, getattr(grader, "weight", 1.0))
        if weight_problem(w) is not None:
            raise ValueError(f"weights[{key!r}]: grader {key!r} needs a finite weight >= 0, got {w!r}")
        weights[key] = float(w)
    return weights


def _key_by_name(graders: Sequence[BaseGrader]) -> dict[str, BaseGrader]:
    keyed: dict[str, BaseGrader] = {}
    for g in graders:
        if not isinstance(g, BaseGrader):
            raise ValueError(f"graders must be grader objects, got {type(g).__name__}")
        if (problem := identifier_problem(g.name)) is not None:
            raise ValueError(f"grader name {g.name!r} cannot be a formula variable: it is {problem}")
        if g.name in keyed:
            raise ValueError(f"two graders are named {g.name!r}; names must be unique")
        keyed[g.name] = g
    return keyed
