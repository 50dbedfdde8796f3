"""Grader templates: ``{{ item.x }}`` and ``{{ sample.output_json.a[0].b }}``.

A template is any string in a grader config; each ``{{ ... }}`` in it names a value of the dataset row
(``item``) or of the model's output (``sample``), reached by ``.key`` and ``[index]`` steps. Rendering
puts strings in as they are and anything else as compact JSON. Single braces and literal JSON around a
variable are left alone, so ``{"a": {{item.x}}}`` renders to valid JSON.

Example::

    >>> render('{"a": {{item.x}}}', item={"x": [1, 2]}, sample={})
    '{"a": [1, 2]}'
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rftkit_nb.errors import InvalidVariableError, TemplateError

__all__ = [
    "NAMESPACES",
    "SAMPLE_VARIABLES",
    "TemplateVariable",
    "find_variables",
    "first_placeholder",
    "grader_variables",
    "render",
    "resolve",
    "template_fields",
]

NAMESPACES = ("item", "sample")
SAMPLE_VARIABLES = ("output_text", "output_json", "output_tools", "choices", "output_audio")

# Non-greedy and brace-free inside, so `{{{item.x}}}` is a literal brace, the variable, a literal brace.
_VARIABLE = re.compile(r"\{\{([^{}]*?)\}\}")
_KEY = r"[A-Za-z0-9_-]+"
_STEP = re.compile(rf"\.({_KEY})|\[([0-9]+)\]")
_NAMESPACE = re.compile(rf"\s*({_KEY})")
# An opener clearly meant as a variable; any other unclosed `{{` (prose, nested JSON objects) stays literal.
_OPENER = re.compile(r"\{\{\s*(?:item|sample)\.")
_SHOWN_AFTER_OPENER = 30
_MAX_KEYS_SHOWN = 8
_NULL_HINTS = {"sample.output_json": " (the output was not valid JSON, or the job has no response_format)"}


@dataclass(frozen=True)
class TemplateVariable:
    """One ``{{ namespace.path }}`` occurrence in a template string.

    Example::

        >>> find_variables("{{ sample.output_json.a[0].b }}")[0].path
        ('output_json', 'a', 0, 'b')
    """

    namespace: str
    path: tuple[str | int, ...]
    text: str
    start: int
    end: int


def _canonical(namespace: str, path: Sequence[str | int]) -> str:
    return namespace + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _parse(inner: str, match: re.Match[str]) -> TemplateVariable:
    """Parse the text between ``{{`` and ``}}``; ``match`` gives the span for errors."""
    shown = f"template variable {match.group()!r} at position {match.start()}"
    head = _NAMESPACE.match(inner)
    if not head or not inner.strip():
        raise TemplateError(f"{shown} is empty or malformed; write e.g. {{{{ item.answer }}}}")
    namespace = head.group(1)
    if namespace not in NAMESPACES:
        hint = f" (did you mean {{{{ item.{namespace} }}}}?)" if inner.strip() == namespace else ""
        raise TemplateError(
            f"{shown} uses the namespace {namespace!r}; only 'item' (the dataset row) and 'sample' "
            f"(the model output) are allowed{hint}"
        )
    path: list[str | int] = []
    pos, body = head.end(), inner.rstrip()
    while pos < len(body):
        step = _STEP.match(body, pos)
        if not step:
            raise TemplateError(
                f"{shown} has a malformed path at {body[pos:]!r}; use .key and [index] steps, "
                "e.g. {{ sample.output_json.items[0].name }}"
            )
        path.append(step.group(1) if step.group(1) is not None else int(step.group(2)))
        pos = step.end()
    if not path or not isinstance(path[0], str):
        raise TemplateError(f"{shown} names no key; write e.g. {{{{ {namespace}.some_key }}}}")
    if namespace == "sample" and path[0] not in SAMPLE_VARIABLES:
        raise TemplateError(
            f"{shown} reads sample.{path[0]}, which does not exist; the sample has "
            + ", ".join(SAMPLE_VARIABLES)
        )
    return TemplateVariable(namespace, tuple(path), _canonical(namespace, path), match.start(), match.end())


def find_variables(template: str) -> list[TemplateVariable]:
    """Every ``{{ ... }}`` variable in ``template``, in order; raises ``TemplateError`` on a malformed one.

    Example::

        >>> [v.text for v in find_variables("Q: {{item.q}} A: {{ sample.output_text }}}")]
        ['item.q', 'sample.output_text']
    """
    return list(_variables(template))


def first_placeholder(text: str) -> str | None:
    """The first ``{{ ... }}`` in ``text`` as written (valid or not), or None: text that must stay literal.

    Example::

        >>> first_placeholder("Return {{ x }} or {a}"), first_placeholder("Return {a} or { {b} }")
        ('{{ x }}', None)
    """
    found = _VARIABLE.search(text)
    return found.group() if found else None


@functools.lru_cache(maxsize=1024)
def _variables(template: str) -> tuple[TemplateVariable, ...]:
    # The same few templates are rendered once per row, so parse each once.
    found = tuple(_parse(m.group(1), m) for m in _VARIABLE.finditer(template))
    _check_closed(template, {v.start for v in found})
    return found


def _check_closed(template: str, starts: set[int]) -> None:
    """Raise on a ``{{ item.`` / ``{{ sample.`` opener that no ``}}`` closes, which would render literally.

    A matched variable holds no brace, so an opener that is not where a variable starts never closes.
    """
    for opener in _OPENER.finditer(template):
        if opener.start() not in starts:
            start = opener.start()
            rest = template[start : start + _SHOWN_AFTER_OPENER]
            more = "..." if len(template) > start + _SHOWN_AFTER_OPENER else ""
            raise TemplateError(
                f"template variable at position {start} ({rest!r}{more}) is never closed: "
                "close it with }} before any other brace (e.g. {{ item.answer }}), or if it is meant "
                "as literal text, write it another way (e.g. '{ {' with a space)"
            )


def _type_name(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return f"a list of {len(value)}"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__} value"


def _show_keys(value: Mapping[object, object]) -> str:
    keys = [str(k) for k in value]
    if not keys:
        return "it is empty"
    more = f", ... ({len(keys) - _MAX_KEYS_SHOWN} more)" if len(keys) > _MAX_KEYS_SHOWN else ""
    return "keys: " + ", ".join(keys[:_MAX_KEYS_SHOWN]) + more


def _step(value: object, step: str | int, where: str) -> tuple[bool, object, str]:
    """One path step: ``(found, child, why_not)``."""
    if isinstance(step, str):
        if not isinstance(value, Mapping):
            return False, None, f"{where} is {_type_name(value)}, not an object, so it has no key {step!r}"
        if step not in value:
            return False, None, f"{where} has no key {step!r} ({_show_keys(value)})"
        return True, value[step], ""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        return False, None, f"{where} is {_type_name(value)}, not a list, so it has no index [{step}]"
    if step >= len(value):
        return False, None, f"{where} is a list of {len(value)}, so index [{step}] is out of range"
    return True, value[step], ""


def resolve(var: TemplateVariable, *, item: Mapping, sample: Mapping) -> object:
    """The value ``var`` names; raises ``InvalidVariableError`` when any part of the path is absent or null.

    Example::

        >>> v = find_variables("{{ item.a[1].b }}")[0]
        >>> resolve(v, item={"a": [{}, {"b": 3}]}, sample={})
        3
    """
    value: object = item if var.namespace == "item" else sample
    for depth, step in enumerate(var.path):
        where = _canonical(var.namespace, var.path[:depth]) if depth else f"the {var.namespace}"
        found, value, why = _step(value, step, where)
        if not found:
            raise InvalidVariableError(var.text, f"{_missing(var)}: {why}")
        if value is None:
            done = _canonical(var.namespace, var.path[: depth + 1])
            hint = _NULL_HINTS.get(done, "")
            raise InvalidVariableError(var.text, f"{_missing(var)}: {done} is null{hint}")
    return value


def _missing(var: TemplateVariable) -> str:
    return f"template variable {{{{ {var.text} }}}} is not present"


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def render(template: str, *, item: Mapping, sample: Mapping) -> str:
    """``template`` with every variable replaced; raises ``InvalidVariableError`` for a missing one.

    Example::

        >>> render("{{item.name}} said {{ sample.output_json.score }}", item={"name": "Ada"},
        ...        sample={"output_json": {"score": 0.5}})
        'Ada said 0.5'
    """
    parts: list[str] = []
    pos = 0
    for var in _variables(template):
        parts.append(template[pos : var.start])
        parts.append(_as_text(resolve(var, item=item, sample=sample)))
        pos = var.end
    parts.append(template[pos:])
    return "".join(parts)


# ------------------------------------------------------------------------------ where configs hold them

# The key of each content part type that may hold a template (input_audio nests its `data`).
_TEXT_PARTS = {"input_text": "text", "output_text": "text", "input_image": "image_url"}


def _content_fields(content: object, where: str) -> Iterator[tuple[str, str]]:
    """Templates in one message's ``content``: a string, one part, or a list of parts."""
    if isinstance(content, str):
        yield where, content
    elif isinstance(content, Mapping):
        part_type = content.get("type")
        if part_type in _TEXT_PARTS:
            key = _TEXT_PARTS[part_type]
            if isinstance(content.get(key), str):
                yield f"{where}.{key}", content[key]
        elif part_type == "input_audio":
            audio = content.get("input_audio")
            if isinstance(audio, Mapping) and isinstance(audio.get("data"), str):
                yield f"{where}.input_audio.data", audio["data"]
    elif isinstance(content, list):
        for j, part in enumerate(content):
            yield from _content_fields(part, f"{where}[{j}]")


def _grader_fields(config: Mapping, prefix: str) -> Iterator[tuple[str, str]]:
    kind = config.get("type")
    if kind in ("string_check", "text_similarity"):
        for key in ("input", "reference"):
            if isinstance(config.get(key), str):
                yield prefix + key, config[key]
    elif kind in ("score_model", "label_model"):
        messages = config.get("input")
        if isinstance(messages, list):
            for i, message in enumerate(messages):
                if isinstance(message, Mapping):
                    yield from _content_fields(message.get("content"), f"{prefix}input[{i}].content")
    elif kind == "multi" and isinstance(config.get("graders"), Mapping):
        for key, sub in config["graders"].items():
            if isinstance(sub, Mapping):
                yield from _grader_fields(sub, f"{prefix}graders.{key}.")


def template_fields(config: Mapping) -> list[tuple[str, str]]:
    """Every ``(field_path, template_text)`` in a grader config dict, sub-graders of a multi included.

    Python graders and unknown grader types hold no templates.

    Example::

        >>> template_fields({"type": "string_check", "input": "{{sample.output_text}}", "reference": "yes"})
        [('input', '{{sample.output_text}}'), ('reference', 'yes')]
    """
    return list(_grader_fields(config, ""))


def grader_variables(config: Mapping) -> list[TemplateVariable]:
    """All variables a grader config needs, first occurrence of each, in config order.

    Raises ``TemplateError`` naming the field when one of its templates is malformed.

    Example::

        >>> cfg = {"type": "text_similarity", "input": "{{ sample.output_text }}",
        ...        "reference": "{{item.answer}} / {{ sample.output_text }}"}
        >>> [v.text for v in grader_variables(cfg)]
        ['sample.output_text', 'item.answer']
    """
    seen: dict[str, TemplateVariable] = {}
    for where, text in template_fields(config):
        try:
            found = find_variables(text)
        except TemplateError as e:
            raise TemplateError(f"{where}: {e}") from e
        for var in found:
            seen.setdefault(var.text, var)
    return list(seen.values())
