"""Human labels: expert scores per rubric, keyed by row content, saved atomically next to the project.

A label belongs to a row's *content* (its item fields and the model output), not to its position, so
re-ordering, filtering or concatenating the data keeps every label on its row. The store is a small JSON
sidecar beside the project file (``rftkit.json`` -> ``rftkit.labels.json``), rewritten atomically (temp
file + fsync + ``os.replace``) on every change, so a kernel restart or a crash never loses a label.

Example::

    >>> labels = Labels(path=None)
    >>> rows = [{"question": "2+2?", "output_text": "4"}]
    >>> labels.set("correct", rows[0], 1.0)
    >>> labels.get("correct", {"output_text": "4", "question": "2+2?"})
    1.0
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.core.files import atomic_write
from rftkit_nb.errors import ConfigError
from rftkit_nb.scoring.rows import SampleRow, load_rows

__all__ = ["LABELS_FORMAT", "Labels", "labels_path", "row_key"]

LABELS_FORMAT = "rftkit_nb-labels"
LABEL_PREFIX = "label."
_VERSION = 1
_CANONICAL: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False}


def row_key(item: Mapping[str, Any], output_text: str) -> str:
    """The content key of a row: sha256 of its item fields and output, independent of key order.

    Fields named ``label.<rubric>`` are labels, not content: they never change a row's key, so a
    DataFrame can be scored with or without its label columns.

    >>> row_key({"a": 1, "b": 2}, "x") == row_key({"b": 2, "a": 1, "label.tone": 1}, "x")
    True
    """
    content = {k: v for k, v in item.items() if not (isinstance(k, str) and k.startswith(LABEL_PREFIX))}
    text = json.dumps([content, output_text], default=str, **_CANONICAL)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def key_of(row: SampleRow | Mapping[str, Any], output: str = "output_text") -> str:
    """The content key of a :class:`SampleRow` or of a raw row dict (normalised as ``score()`` does)."""
    if isinstance(row, SampleRow):
        return row_key(row.item, row.sample["output_text"])
    (sample_row,) = load_rows([dict(row)], output=output)
    return row_key(sample_row.item, sample_row.sample["output_text"])


def labels_path(project: Any) -> Path | None:
    """The sidecar file of a project: ``<stem>.labels.json`` beside it; None for an in-memory workbench.

    ``project`` is a Workbench (its ``.path``), a path, or None.

    >>> labels_path("work/rftkit.json").name
    'rftkit.labels.json'
    """
    path = getattr(project, "path", project)
    if path is None:
        return None
    path = Path(path)
    return path.with_name(f"{path.stem}.labels.json")


class Labels:
    """Expert scores per rubric, keyed by row content; autosaved to ``path`` (None: in memory).

    An existing file at ``path`` is read; a file that is not a labels file raises ``ConfigError`` and is
    never written over.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).absolute() if path is not None else None
        self._scores: dict[str, dict[str, float]] = {}
        if self.path is not None and self.path.exists():
            self._scores = _read(self.path)

    @classmethod
    def for_project(cls, project: Any) -> Labels:
        """The labels saved beside a project (a Workbench or a project-file path).

        >>> Labels.for_project(None).path is None
        True
        """
        return cls(labels_path(project))

    # --- reading ---------------------------------------------------------------------------------

    @property
    def rubrics(self) -> list[str]:
        return list(self._scores)

    def for_rubric(self, rubric: str) -> dict[str, float]:
        """``{row key: score}`` for one rubric (empty when it has no labels)."""
        return dict(self._scores.get(rubric, {}))

    def get(
        self, rubric: str, row: SampleRow | Mapping[str, Any], *, output: str = "output_text"
    ) -> float | None:
        return self._scores.get(rubric, {}).get(key_of(row, output))

    def __len__(self) -> int:
        return sum(len(v) for v in self._scores.values())

    def __iter__(self) -> Iterator[tuple[str, str, float]]:
        for rubric, scores in self._scores.items():
            for key, value in scores.items():
                yield rubric, key, value

    # --- changing (each change is saved at once) ---------------------------------------------------

    def set(self, rubric: str, row: SampleRow | Mapping[str, Any], value: float | None, *,
            output: str = "output_text") -> None:  # fmt: skip
        """Label ``row`` for ``rubric`` with ``value`` (None removes the label) and save."""
        self.set_key(rubric, key_of(row, output), value)

    def set_key(self, rubric: str, key: str, value: float | None) -> None:
        """Label the row whose content key is ``key`` (None removes the label) and save."""
        self.update({rubric: {key: value}})

    def update(self, changes: Mapping[str, Mapping[str, float | None]]) -> None:
        """Apply ``{rubric: {row key: score or None}}`` in one atomic save."""
        new = {r: dict(s) for r, s in self._scores.items()}
        for rubric, scores in changes.items():
            if not isinstance(rubric, str) or not rubric:
                raise ConfigError(f"a label's rubric must be a non-empty name, got {rubric!r}")
            target = new.setdefault(rubric, {})
            for key, value in scores.items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = _score(value, rubric)
            if not target:
                del new[rubric]
        self._save(new)
        self._scores = new

    def attach(
        self, rows: Any, columns: Mapping[str, str] | None = None, *, output: str = "output_text"
    ) -> int:
        """Take labels from columns of ``rows`` (a DataFrame, dicts or a JSONL path): ``{rubric: column}``.

        ``columns=None`` reads every column named ``label.<rubric>``. Empty cells are skipped; the label
        columns (the ones given, and any ``label.*``) are not part of the row's content key. Returns how many labels were set.

        >>> labels = Labels()
        >>> labels.attach([{"q": "hi", "output_text": "hello", "label.tone": 1}])
        1
        """
        records = [dict(r.item, **{output: r.sample["output_text"]}) for r in load_rows(rows, output=output)]
        if columns is None:
            found = {c for r in records for c in r if isinstance(c, str) and c.startswith(LABEL_PREFIX)}
            columns = {c.removeprefix(LABEL_PREFIX): c for c in sorted(found)}
        if not columns:
            raise ConfigError(
                "no label columns: pass columns={'rubric': 'column'} or name them label.<rubric>"
            )
        label_columns = set(columns.values())
        changes: dict[str, dict[str, float | None]] = {rubric: {} for rubric in columns}
        for n, record in enumerate(records):
            content = {k: v for k, v in record.items() if k not in label_columns}
            key = key_of(content, output)
            for rubric, column in columns.items():
                if column not in record:
                    raise ConfigError(f"row {n} has no label column {column!r} (for rubric {rubric!r})")
                if record[column] is not None:
                    changes[rubric][key] = record[column]
        self.update(changes)
        return sum(len(v) for v in changes.values())

    def _save(self, scores: Mapping[str, Mapping[str, float]]) -> None:
        if self.path is None:
            return
        payload = {"format": LABELS_FORMAT, "version": _VERSION, "labels": scores}
        atomic_write(self.path, json.dumps(payload, indent=1, sort_keys=True) + "\n")

    # --- display ---------------------------------------------------------------------------------

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "in memory"
        counts = ", ".join(f"{r}: {len(s)}" for r, s in self._scores.items()) or "none yet"
        return f"Labels({where}): {len(self)} labels ({counts})"

    def _repr_html_(self) -> str:
        rows = [(r, len(s)) for r, s in self._scores.items()]
        body = h.table(["rubric", "labels"], rows) if rows else "<div>no labels yet</div>"
        return h.card("human labels", str(self.path) if self.path else "in memory", body_html=body)


def _score(value: Any, rubric: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"label for rubric {rubric!r} must be a finite number, got {value!r}")
    return float(value)


def _read(path: Path) -> dict[str, dict[str, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"labels file {path.name} cannot be read ({e}); move it away to start afresh"
        ) from None
    if not isinstance(data, dict) or data.get("format") != LABELS_FORMAT:
        raise ConfigError(f"{path.name} is not a labels file (no format {LABELS_FORMAT!r}); move it away")
    if data.get("version", 0) > _VERSION:
        raise ConfigError(
            f"{path.name} was written by a newer rftkit_nb (version {data['version']}); upgrade"
        )
    labels = data.get("labels") or {}
    return {str(r): {str(k): _score(v, r) for k, v in s.items()} for r, s in labels.items()}
