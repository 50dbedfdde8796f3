"""Sample rows: turn a DataFrame, a list of dicts or a JSONL file into (item, sample) pairs.

A row holds the dataset fields (the ``item``) plus the model's output. The output column (default
``output_text``) becomes ``sample.output_text``; ``sample.output_json`` is the output parsed when it is
JSON; an ``output_tools`` column becomes ``sample.output_tools``. Everything else stays in the item.

Example::

    >>> [r.sample["output_json"] for r in load_rows([{"q": "2+2", "output_text": '{"a": 4}'}])]
    [{'a': 4}]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rftkit_nb.core.values import is_missing
from rftkit_nb.errors import ConfigError

__all__ = ["SampleRow", "load_rows"]

_SAMPLE_COLUMNS = ("output_tools", "output_json", "choices", "output_audio")


@dataclass(frozen=True)
class SampleRow:
    """One row to grade: ``item`` (dataset fields) and ``sample`` (the model's output)."""

    index: Any
    item: dict[str, Any]
    sample: dict[str, Any]
    repaired: bool = False  # text held lone UTF-16 surrogates, replaced with U+FFFD (see _text)


def load_rows(rows: Any, *, output: str = "output_text", limit: int | None = None) -> list[SampleRow]:
    """Normalise ``rows`` (DataFrame, list of dicts, or JSONL path) into :class:`SampleRow` objects."""
    records, index = _records(rows)
    if limit is not None:
        records, index = records[:limit], index[:limit]
    out = []
    for i, (idx, record) in enumerate(zip(index, records, strict=True)):
        if not isinstance(record, Mapping):
            raise ConfigError(f"row {i} is a {type(record).__name__}; every row must be a dict of fields")
        repairs: list[str] = []
        cleaned = {k: _clean(v, repairs) for k, v in record.items()}
        out.append(_split(idx, cleaned, output, i, repaired=bool(repairs)))
    return out


def _records(rows: Any) -> tuple[list[Any], list[Any]]:
    if isinstance(rows, str | os.PathLike):
        return _read_jsonl(Path(rows))
    if hasattr(rows, "to_dict") and hasattr(rows, "index"):  # a pandas DataFrame
        return list(rows.to_dict("records")), list(rows.index)
    if isinstance(rows, Mapping):
        raise ConfigError("rows must be a list of dicts, a DataFrame or a JSONL path, not a single dict")
    if isinstance(rows, Iterable):
        records = list(rows)
        return records, list(range(len(records)))
    raise ConfigError(f"rows must be a DataFrame, a list of dicts or a JSONL path, not {type(rows).__name__}")


def _read_jsonl(path: Path) -> tuple[list[Any], list[Any]]:
    if not path.exists():
        raise ConfigError(f"rows file {str(path)!r} does not exist")
    if not path.is_file():
        raise ConfigError(f"rows file {str(path)!r} is a directory, not a JSONL file; name the file itself")
    records = []
    try:
        with path.open("rb") as f:
            for n, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    records.append(json.loads(raw.decode("utf-8")))
                except UnicodeDecodeError as e:
                    raise ConfigError(f"{path.name} line {n} is not UTF-8 text (byte {e.start}); save the "
                                      "file as UTF-8") from None  # fmt: skip
                except json.JSONDecodeError as e:
                    raise ConfigError(f"{path.name} line {n} is not JSON: {e.msg}") from None
    except OSError as e:
        raise ConfigError(f"cannot read rows file {str(path)!r}: {e.strerror or e}") from None
    return records, list(range(len(records)))


def _clean(value: Any, repairs: list[str]) -> Any:
    """Make a cell JSON-like, as the service's items are: what graders and templates can rely on.

    NaN (pandas' empty cell) is a missing value; numpy values become Python values; dates and times
    become ISO strings; anything else that JSON cannot hold becomes its ``str``. Text that UTF-8 cannot
    hold is repaired (and noted in ``repairs``).
    """
    if isinstance(value, str):
        return _text(value, repairs)
    if is_missing(value):
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _clean(v, repairs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, repairs) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _clean(value.tolist(), repairs)
    if hasattr(value, "isoformat"):  # datetime, date, time, pandas Timestamp
        return value.isoformat()
    return str(value)


def _text(value: str, repairs: list[str]) -> str:
    """``value``, with lone UTF-16 surrogates (an output cut mid-emoji) replaced by U+FFFD.

    Such text cannot be encoded as UTF-8, so it could neither reach the service in a JSONL file nor be
    sent to a judge; valid surrogate pairs are joined into their character.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        repairs.append(value)
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _split(
    index: Any, record: dict[str, Any], output: str, position: int, *, repaired: bool = False
) -> SampleRow:
    if output not in record:
        raise ConfigError(
            f"row {position} has no output column {output!r}; columns are: {', '.join(map(str, record)) or '(none)'}"
            " (pass output='<column>' to choose another)"
        )
    text = record.pop(output)
    text = "" if text is None else text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    sample: dict[str, Any] = {"output_text": text, "output_json": _parse_json(text)}
    for column in _SAMPLE_COLUMNS:
        if column in record:
            value = record.pop(column)
            if value is not None:
                sample[column] = value
    sample.setdefault("output_tools", [])
    sample.setdefault("choices", [{"index": 0, "message": {"role": "assistant", "content": text}}])
    return SampleRow(index=index, item=record, sample=sample, repaired=repaired)


def _parse_json(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return None
