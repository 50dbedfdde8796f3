"""OpenAI's grader format as pydantic models whose ``.config`` is exactly the JSON the API takes.

Six documented types (string_check, text_similarity, score_model, label_model, python, multi) plus
:class:`UnknownGrader`, which keeps any other type (Azure's ``endpoint``, say) intact so importing and
exporting a config never loses it. Two graders are equal when their ``.config`` is equal, so a seed
``RubricGrader`` equals the ``ScoreModelGrader`` rebuilt from its JSON.

Fields the caller did not set are left out of ``.config`` (``range``, ``sampling_params``,
``pass_threshold``, ``image_tag``), which is what makes ``grader_from_config(d).config == d`` hold for
every valid ``d``. The model-grader inputs (the judge model, :class:`Message` and its content parts,
:class:`SamplingParams`) are defined in :mod:`rftkit_nb.core.messages` and re-exported here.

Example::

    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> grader_from_config(g.config) == g
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

from pydantic import ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from rftkit_nb.core import html as h
from rftkit_nb.core.messages import (
    GRADER_MODELS,
    NON_REASONING_MODEL_PREFIXES,
    REASONING_MODEL_PREFIXES,
    InputAudio,
    InputImage,
    InputText,
    Message,
    OutputText,
    SamplingParams,
    _coerce_messages,
    _Strict,
    is_reasoning_model,
)
from rftkit_nb.core.messages import ContentPart as ContentPart  # importable from here, as before the split
from rftkit_nb.core.names import identifier_problem, is_identifier
from rftkit_nb.core.pysource import python_source_problems, source_of
from rftkit_nb.core.templates import find_variables, template_fields
from rftkit_nb.errors import ConfigError, TemplateError

__all__ = [
    "GRADER_MODELS",
    "MASKED_HEADER",
    "NON_REASONING_MODEL_PREFIXES",
    "REASONING_MODEL_PREFIXES",
    "RFT_TOP_LEVEL_TYPES",
    "SIMILARITY_METRICS",
    "BaseGrader",
    "EndpointGrader",
    "InputAudio",
    "InputImage",
    "InputText",
    "LabelModelGrader",
    "Message",
    "MultiGrader",
    "OutputText",
    "PythonGrader",
    "SamplingParams",
    "ScoreModelGrader",
    "SimilarityMetric",
    "StringCheckGrader",
    "TextSimilarityGrader",
    "UnknownGrader",
    "config_with_secrets",
    "grader_from_config",
    "is_identifier",
    "is_reasoning_model",
]

#: The grader types ``method.reinforcement.grader`` accepts at the top level.
RFT_TOP_LEVEL_TYPES: frozenset[str] = frozenset(
    {"string_check", "text_similarity", "python", "score_model", "multi"}
)
#: text_similarity's ``evaluation_metric`` values; the tuple below is read from this one definition.
SimilarityMetric = Literal[
    "cosine", "fuzzy_match", "bleu", "gleu", "meteor",
    "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l",
]  # fmt: skip
SIMILARITY_METRICS: tuple[str, ...] = get_args(SimilarityMetric)

# --- graders -----------------------------------------------------------------------------------------


class BaseGrader(_Strict):
    """Common base: every grader has a ``type`` and a ``name`` and a ``.config`` dict."""

    type: str
    name: str = Field(min_length=1)

    #: Whether the ``{{ ... }}`` templates of ``.config`` are checked (not for types this library doesn't model).
    _checks_templates: ClassVar[bool] = True

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            default = type(self).model_fields["type"].default
            kind = default if isinstance(default, str) else str(data.get("type", "grader"))
            raise ConfigError(_describe(e, kind, data.get("name"))) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):  # private state is never validated
            super().__setattr__(name, value)
            return
        # Pydantic keeps a value that failed an after-validator; put everything back instead.
        fields, private, fields_set = (
            dict(self.__dict__), dict(self.__pydantic_private__ or {}), set(self.model_fields_set)
        )  # fmt: skip
        try:
            super().__setattr__(name, value)
        except ValidationError as e:
            self.__dict__.clear()
            self.__dict__.update(fields)
            if self.__pydantic_private__ is not None:
                self.__pydantic_private__.clear()
                self.__pydantic_private__.update(private)
            self.model_fields_set.clear()
            self.model_fields_set.update(fields_set)
            raise ConfigError(_describe(e, self.type, self.name)) from None

    @model_validator(mode="after")
    def _derive_then_check_templates(self) -> BaseGrader:
        # Runs on construction and on every assignment, so derived fields and templates never go stale.
        self._derive()
        if self._checks_templates:
            for where, text in template_fields(self.config):
                try:
                    find_variables(text)
                except TemplateError as e:
                    raise ValueError(f"{where}: {e}") from None
        return self

    def _derive(self) -> None:
        """Recompute the fields computed from others (for subclasses that have any)."""

    def _set_derived(self, field: str, value: Any) -> None:
        # Written past validation: the value is generated here, and assigning would re-run this validator.
        self.__dict__[field] = value

    @property
    def config(self) -> dict[str, Any]:
        """The exact JSON object the OpenAI API takes for this grader."""
        out = self._dump()
        return {"type": self.type, "name": self.name, **out}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BaseGrader) and self.config == other.config

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by config

    def summary(self) -> list[tuple[str, object]]:
        """Key facts shown in the card and the repr."""
        return []

    def __repr__(self) -> str:
        facts = ", ".join(f"{k}={h.shorten(str(v), 60)!r}" for k, v in self.summary())
        return f"{type(self).__name__}(name={self.name!r}{', ' + facts if facts else ''})"

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        return h.card(self.name, self.type, self.summary(), config=self.config)


class StringCheckGrader(BaseGrader):
    """Exact or contains match; scores 0 or 1. ``like``/``ilike`` test "input contains reference"."""

    type: Literal["string_check"] = "string_check"
    input: str
    reference: str
    operation: Literal["eq", "ne", "like", "ilike"]

    @field_validator("operation", mode="before")
    @classmethod
    def _neq_is_ne(cls, v: Any) -> Any:
        if v == "neq":
            raise ValueError("operation 'neq' does not exist in the API; use 'ne'")
        return v

    def summary(self) -> list[tuple[str, object]]:
        return [("operation", self.operation), ("input", self.input), ("reference", self.reference)]


class TextSimilarityGrader(BaseGrader):
    """A text metric between ``input`` and ``reference``, 0..1. ``cosine`` is evals-only (not RFT)."""

    type: Literal["text_similarity"] = "text_similarity"
    input: str
    reference: str
    evaluation_metric: SimilarityMetric
    pass_threshold: float | None = None  # evals-only; kept when imported, never emitted by default

    def summary(self) -> list[tuple[str, object]]:
        return [("metric", self.evaluation_metric), ("input", self.input), ("reference", self.reference)]


class _ModelGrader(BaseGrader):
    model: str = Field(min_length=1)
    input: list[Message] = Field(min_length=1)

    @field_validator("input", mode="before")
    @classmethod
    def _bare_prompt(cls, v: Any) -> Any:
        return _coerce_messages(v)

    @property
    def config(self) -> dict[str, Any]:
        out = super().config
        out["input"] = [m.config() for m in self.input]
        return out


class ScoreModelGrader(_ModelGrader):
    """An LLM judge returning ``{"result": float, "steps": [...]}``; the result is clipped to ``range``."""

    type: Literal["score_model"] = "score_model"
    range: tuple[float, float] | None = None  # the API's default is [0, 1]
    sampling_params: SamplingParams | None = None
    pass_threshold: float | None = None  # evals-only; kept when imported

    @field_validator("range")
    @classmethod
    def _range_ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not all(math.isfinite(x) for x in v):
            raise ValueError(f"range must be two finite numbers [min, max], got {list(v)}")
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"range must be [min, max] with min < max, got {list(v)}")
        return v

    @property
    def score_range(self) -> tuple[float, float]:
        """The effective range (the API's default [0, 1] when unset)."""
        return self.range if self.range is not None else (0.0, 1.0)

    def summary(self) -> list[tuple[str, object]]:
        return [("model", self.model), ("range", list(self.score_range)),
                ("prompt", self.input[-1].text())]  # fmt: skip


class LabelModelGrader(_ModelGrader):
    """An LLM classifier (evals; not a top-level RFT grader): 1 when the label is a passing one."""

    type: Literal["label_model"] = "label_model"
    labels: list[str] = Field(min_length=1)
    passing_labels: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _passing_subset(self) -> LabelModelGrader:
        extra = [lbl for lbl in self.passing_labels if lbl not in self.labels]
        if extra:
            raise ValueError(f"passing_labels {extra} are not among labels {self.labels}")
        return self

    def summary(self) -> list[tuple[str, object]]:
        return [("model", self.model), ("labels", self.labels), ("passing", self.passing_labels)]


class PythonGrader(BaseGrader):
    """User code ``grade(sample, item) -> float``. ``source`` may be given as text, a function or a module.

    Example::

        >>> def grade(sample, item):
        ...     return float(sample["output_text"] == item["answer"])
        >>> PythonGrader(name="exact", source=grade).config["source"].startswith("def grade")
        True
    """

    type: Literal["python"] = "python"
    source: str
    image_tag: str | None = None
    pass_threshold: float | None = None  # evals-only; kept when imported, never emitted by default

    @field_validator("source", mode="before")
    @classmethod
    def _to_text(cls, v: Any) -> Any:
        # Turned into text once here, so `.config` never re-imports the function or module.
        try:
            return source_of(v) if not isinstance(v, str) else v
        except TypeError as e:  # pydantic reports ValueErrors only; keep the message, name the field
            raise ValueError(str(e)) from None

    @field_validator("source")
    @classmethod
    def _compiles(cls, v: str) -> str:
        fatal = [p for p in python_source_problems(v) if not p.startswith("source is ")]
        if fatal:
            raise ValueError(fatal[0])
        return v

    def summary(self) -> list[tuple[str, object]]:
        lines = self.source.count("\n") + 1
        return [("source", f"{lines} lines, {len(self.source.encode()):,} bytes")]

    def _repr_html_(self) -> str:
        code = f'<pre style="white-space:pre-wrap;margin:4px 0">{h.esc(self.source)}</pre>'
        return h.card(self.name, self.type, self.summary(), body_html=code, config=self.config)


#: What an endpoint grader's header values show in ``.config``, reprs, the project file and exports.
MASKED_HEADER = "***"


class EndpointGrader(BaseGrader):
    """Azure's preview ``endpoint`` grader: the service POSTs ``{sample, item, trace_id}`` to ``url`` and
    reads ``{"score": float}``. ``rate_limit`` is in requests per second.

    Header values are secrets (API keys, tokens): ``.config``, the repr, the project file and exports show
    them as ``"***"``; :func:`config_with_secrets` is the one way to get them back (for the hosted call,
    or an export the user asks for explicitly). Equality is by ``.config``, so it ignores header values.

    Example::

        >>> g = EndpointGrader(name="remote", url="https://grader.example.com/score",
        ...                    headers={"Authorization": "Bearer s3cret-token"})
        >>> g.config["headers"], "s3cret" in repr(g)
        ({'Authorization': '***'}, False)
        >>> config_with_secrets(g)["headers"]["Authorization"]
        'Bearer s3cret-token'
    """

    type: Literal["endpoint"] = "endpoint"
    url: str = Field(min_length=1)
    headers: dict[str, SecretStr] | None = None
    rate_limit: int | float | None = Field(default=None, gt=0)
    pass_threshold: int | float | None = None
    _checks_templates: ClassVar[bool] = False  # the url is sent as it is, not rendered

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError(f"url {v!r} must be an http(s) URL the service can POST to")
        return v

    def _config(self, secrets: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "endpoint", "name": self.name, "url": self.url}
        if self.headers is not None:
            out["headers"] = {
                k: v.get_secret_value() if secrets else MASKED_HEADER for k, v in self.headers.items()
            }
        out.update({k: v for k in ("rate_limit", "pass_threshold") if (v := getattr(self, k)) is not None})
        return out

    @property
    def config(self) -> dict[str, Any]:
        return self._config(secrets=False)

    def summary(self) -> list[tuple[str, object]]:
        masked = ", ".join(f"{k}: {MASKED_HEADER}" for k in self.headers or {})
        return [("url", self.url), *([("headers", masked)] if masked else []),
                *([("rate_limit", f"{self.rate_limit:g}/s")] if self.rate_limit else [])]  # fmt: skip


def config_with_secrets(grader: BaseGrader) -> dict[str, Any]:
    """``grader.config`` with endpoint graders' real header values: for the hosted call, never for files.

    >>> config_with_secrets(EndpointGrader(name="e", url="https://x.example", headers={"k": "v"}))["headers"]
    {'k': 'v'}
    """
    if isinstance(grader, EndpointGrader):
        return grader._config(secrets=True)
    if isinstance(grader, MultiGrader):
        return {**grader.config, "graders": {k: config_with_secrets(g) for k, g in grader.graders.items()}}
    return grader.config


class UnknownGrader(BaseGrader):
    """A grader type this library does not model (e.g. Azure's ``endpoint``), kept byte-for-byte."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    type: str
    _checks_templates: ClassVar[bool] = False  # its fields' meaning is unknown, so nothing is checked

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.model_dump(mode="json", exclude_unset=True))


class MultiGrader(BaseGrader):
    """Sub-graders keyed by formula variable, combined by ``calculate_output`` (RFT only).

    Example::

        >>> a = StringCheckGrader(name="a", input="{{ sample.output_text }}", reference="x", operation="eq")
        >>> MultiGrader(name="m", graders={"a": a}, calculate_output="a").config["graders"]["a"]["type"]
        'string_check'
    """

    type: Literal["multi"] = "multi"
    graders: dict[str, BaseGrader] = Field(min_length=1)
    calculate_output: str

    @field_validator("graders", mode="before")
    @classmethod
    def _build_subgraders(cls, v: Any) -> Any:
        if isinstance(v, BaseGrader) or _is_one_grader_dict(v):
            raise ValueError(
                "graders must be an object mapping each formula variable to a sub-grader "
                "(e.g. {'accuracy': {...}}), not a single grader"
            )
        if isinstance(v, list | tuple):  # the spec's wrong array form: key by each grader's name
            v = {(g.name if isinstance(g, BaseGrader) else g.get("name")): g for g in v}
        if not isinstance(v, Mapping):
            return v
        return {
            k: g if isinstance(g, BaseGrader) else grader_from_config(g, default_name=str(k))
            for k, g in v.items()
        }

    @field_validator("graders")
    @classmethod
    def _keys_and_nesting(cls, v: dict[str, BaseGrader]) -> dict[str, BaseGrader]:
        for key, grader in v.items():
            if (problem := identifier_problem(str(key))) is not None:
                raise ValueError(f"key {key!r} is {problem}")
            if isinstance(grader, MultiGrader):
                raise ValueError(f"graders[{key!r}] is a multi grader; the API does not allow nesting them")
        return v

    @model_validator(mode="after")
    def _formula_uses_keys(self) -> MultiGrader:
        from rftkit_nb.core.formula import check_formula

        unknown, _unused = check_formula(self.calculate_output, self.graders)
        if unknown:
            raise ValueError(
                f"calculate_output uses {sorted(unknown)}, which are not keys of graders "
                f"({sorted(self.graders)})"
            )
        return self

    @property
    def config(self) -> dict[str, Any]:
        return {
            "type": "multi",
            "name": self.name,
            "graders": {k: g.config for k, g in self.graders.items()},
            "calculate_output": self.calculate_output,
        }

    def summary(self) -> list[tuple[str, object]]:
        return [("graders", ", ".join(f"{k} ({g.type})" for k, g in self.graders.items())),
                ("formula", self.calculate_output)]  # fmt: skip

    def _repr_html_(self) -> str:
        rows = [(k, g.type, g.name) for k, g in self.graders.items()]
        inner = h.table(["key", "type", "name"], rows)
        return h.card(self.name, self.type, [("formula", self.calculate_output)],
                      body_html=inner, config=self.config)  # fmt: skip


def _is_one_grader_dict(v: Any) -> bool:
    """A grader's own config rather than sub-graders keyed by variable (keys may be 'type', 'name'...)."""
    if not isinstance(v, Mapping) or "type" not in v:
        return False
    return not all(isinstance(g, BaseGrader) or (isinstance(g, Mapping) and "type" in g) for g in v.values())


_TYPES: dict[str, type[BaseGrader]] = {
    "string_check": StringCheckGrader,
    "text_similarity": TextSimilarityGrader,
    "score_model": ScoreModelGrader,
    "label_model": LabelModelGrader,
    "python": PythonGrader,
    "multi": MultiGrader,
    "endpoint": EndpointGrader,
}


def grader_from_config(
    config: Mapping[str, Any], *, notes: list[str] | None = None, default_name: str | None = None
) -> BaseGrader:
    """Rebuild any grader (multi included, recursively) from the JSON the API takes.

    Unknown types are kept intact as :class:`UnknownGrader`. Invalid configs raise :class:`ConfigError`
    naming the field. A grader without a ``name`` (OpenAI's own examples omit it and the API fills it in)
    gets ``default_name`` (a multi's key) or its type; what was filled in is appended to ``notes``.

    Example::

        >>> grader_from_config({"type": "python", "name": "p",
        ...     "source": "def grade(sample, item):\\n    return 1.0\\n"}).type
        'python'
    """
    if isinstance(config, BaseGrader):
        return config
    if not isinstance(config, Mapping):
        raise ConfigError(f"a grader config must be a JSON object, not {type(config).__name__}")
    kind = config.get("type")
    if not isinstance(kind, str) or not kind:
        raise ConfigError("grader config has no 'type'; add one of: " + ", ".join(_TYPES))
    if not config.get("name"):
        config = {**config, "name": default_name or kind}
        if notes is not None:
            notes.append(f"{kind} grader had no name; named it {config['name']!r}")
    subs = config.get("graders")
    if kind == "multi" and notes is not None and isinstance(subs, Mapping):
        # Built here rather than in MultiGrader's validator so names filled in below reach `notes` too.
        config = {**config, "graders": {k: _sub_grader(g, str(k), notes) for k, g in subs.items()}}
    # The constructor turns validation errors into one-line ConfigErrors naming the field.
    return _TYPES.get(kind, UnknownGrader)(**config)


def _sub_grader(config: Any, key: str, notes: list[str]) -> Any:
    if not isinstance(config, Mapping):
        return config  # MultiGrader's own validation names the problem
    try:
        return grader_from_config(config, notes=notes, default_name=key)
    except ConfigError as e:
        raise ConfigError(f"graders[{key!r}]: {e}") from None


def _describe(error: ValidationError, kind: str, name: object) -> str:
    """One readable line per problem, naming the field path."""
    problems = []
    for err in error.errors(include_url=False)[:3]:
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        msg = err["msg"].removeprefix("Value error, ")
        # Whole-grader checks name their field inside the message.
        problems.append(f"{loc}: {msg}" if loc else msg)
    label = f"{kind} grader {name!r}" if name else f"{kind} grader"
    more = f" (+{error.error_count() - 3} more)" if error.error_count() > 3 else ""
    return f"invalid {label}: " + "; ".join(problems) + more
