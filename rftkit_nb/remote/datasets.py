"""RFT training and validation files from a DataFrame or rows, linted before anything is sent.

A row is ``messages`` (the prompt the model answers) plus item fields (what the grader's ``{{ item.x }}``
templates read). :func:`write_dataset` lints the rows (roles, the last message from the user as Azure
requires, non-empty messages, row limits, the item fields every template and the cluster field need, the
clusters the map knows), splits them stably into train and validation (Azure requires both) and writes
both files atomically. Findings name row numbers (0-based positions in the input).

Example::

    >>> import tempfile, pathlib
    >>> rows = [{"messages": [{"role": "user", "content": f"{i}+{i}?"}], "answer": str(2 * i)} for i in range(20)]
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> train, valid = write_dataset(rows, folder / "math.jsonl")
    >>> (train.rows, valid.rows, valid.path.name)
    (18, 2, 'math.valid.jsonl')
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.core.graders import BaseGrader, MultiGrader
from rftkit_nb.core.lint import Finding, LintReport, lint
from rftkit_nb.core.lint_dataset import MAX_TRAINING_ROWS, records
from rftkit_nb.core.project import atomic_write
from rftkit_nb.core.rubrics import IndicatorGrader
from rftkit_nb.errors import ConfigError

__all__ = ["MAX_VALIDATION_ROWS", "DatasetFile", "lint_rows", "write_dataset"]

MAX_VALIDATION_ROWS = 1_000
_ROLES = frozenset({"developer", "user", "assistant", "tool"})  # the RFT row schema has no "system"
_SHOWN = 5  # row numbers listed per finding


@dataclass(frozen=True)
class DatasetFile:
    """One JSONL file written for RFT: where, how many rows, its content hash, and the findings."""

    path: Path
    rows: int
    sha256: str
    split: str  # "train" or "valid"
    findings: LintReport = field(default_factory=LintReport, compare=False)

    def __repr__(self) -> str:
        return f"DatasetFile({self.split}: {self.path}, {self.rows} rows, sha256 {self.sha256[:12]})"

    def _repr_html_(self) -> str:
        return h.card(self.path.name, self.split, [("rows", self.rows), ("sha256", self.sha256[:12])])


def _rows_text(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_SHOWN])
    more = f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _message_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "has no messages (a non-empty list of {role, content})"
    for j, m in enumerate(messages):
        if not isinstance(m, Mapping):
            return f"messages[{j}] is not a {{role, content}} object"
        if m.get("role") not in _ROLES:
            return f"messages[{j}] has role {m.get('role')!r} (use developer, user, assistant or tool)"
        content = m.get("content")
        if content is None or (isinstance(content, str | list) and not content):
            return f"messages[{j}] has empty content"
    if messages[-1].get("role") != "user":
        return f"the last message is from {messages[-1].get('role')!r}; it must be from the user (Azure requires it)"
    return None


def _indicators(grader: BaseGrader) -> list[IndicatorGrader]:
    subs = grader.graders.values() if isinstance(grader, MultiGrader) else [grader]
    return [g for g in subs if isinstance(g, IndicatorGrader) and g.cluster_map is not None]


def lint_rows(rows: Any, grader: Any = None, *, max_rows: int = MAX_TRAINING_ROWS) -> LintReport:
    """Every problem with ``rows`` as RFT rows for ``grader`` (a grader or a Workbench), by row number.

    >>> [str(f) for f in lint_rows([{"messages": [{"role": "assistant", "content": "hi"}]}])]
    ["error   dataset.messages: row 0: the last message is from 'assistant'; it must be from the user (Azure requires it)"]
    """
    grader = grader.grader() if callable(getattr(grader, "grader", None)) else grader
    items = records(rows)
    out = LintReport()
    if len(items) > max_rows:
        out.append(Finding("error", "dataset", f"{len(items):,} rows; RFT takes at most {max_rows:,}"))
    problems: dict[str, list[int]] = {}
    for i, row in enumerate(items):
        problem = _message_problem(row.get("messages")) if isinstance(row, Mapping) else "is not an object"
        if problem is not None:
            problems.setdefault(problem, []).append(i)
    for problem, numbers in problems.items():
        out.append(Finding("error", "dataset.messages", f"{_rows_text(numbers)}: {problem}"))
    if grader is not None:
        # Only the grader-driven dataset checks (template variables); the message checks are done above.
        found = lint(grader, dataset=[{k: v for k, v in r.items() if k != "messages"} for r in items],
                     for_rft=False)  # fmt: skip
        out.extend(f for f in found if f.where != "dataset" and "absent in" in f.message)
        for indicator in _indicators(grader):
            out.extend(_cluster_findings(indicator, items))
    return out


def _cluster_findings(indicator: IndicatorGrader, items: list[Mapping[str, Any]]) -> list[Finding]:
    from rftkit_nb.core.clusters import cluster_name, read_path

    cmap = indicator.cluster_map
    assert cmap is not None
    missing, unknown = [], []
    for i, row in enumerate(items):
        value = cluster_name(read_path(row, cmap.field))
        if value is None:
            missing.append(i)
        elif value not in cmap.clusters:
            unknown.append((i, value))
    out = []
    if missing:
        out.append(Finding("error", f"dataset.{cmap.field}", f"{_rows_text(missing)}: no {cmap.field!r} "
                           "field, so no rubric applies (add the cluster to every row)"))  # fmt: skip
    if unknown:
        names = sorted({v for _, v in unknown})
        out.append(Finding("error", f"dataset.{cmap.field}", f"{_rows_text([i for i, _ in unknown])}: clusters "
                           f"{names} are not in the cluster map ({', '.join(cmap.clusters)})"))  # fmt: skip
    return out


def _split_count(total: int, validation: float | int) -> int:
    if isinstance(validation, bool) or not isinstance(validation, int | float) or validation <= 0:
        raise ConfigError(f"validation={validation!r}: give a fraction in (0, 1) or a row count >= 1 (Azure "
                          "requires a validation file)")  # fmt: skip
    count = int(validation) if validation >= 1 else max(1, math.floor(total * validation + 0.5))
    if count >= total:
        raise ConfigError(f"validation={validation!r} leaves no training rows out of {total}")
    return min(count, MAX_VALIDATION_ROWS)


def write_dataset(
    rows: Any,
    path: str | Path,
    *,
    grader: Any = None,
    validation: float | int = 0.1,
    seed: int = 0,
    output: str = "output_text",
) -> tuple[DatasetFile, DatasetFile]:
    """Lint ``rows`` and write ``<stem>.train.jsonl`` and ``<stem>.valid.jsonl`` next to ``path``.

    ``validation`` is a fraction or a row count; which rows go where depends on each row's content and
    ``seed`` only, so adding rows never moves the others. The ``output`` column (model outputs kept for
    local scoring) is left out of the files. Errors raise :class:`ConfigError` and nothing is written.
    """
    items = [{k: v for k, v in r.items() if k != output} if isinstance(r, Mapping) else r
             for r in records(rows)]  # fmt: skip
    if len(items) < 2:
        raise ConfigError(
            f"{len(items)} rows: RFT needs a training and a validation file, so at least 2 rows"
        )
    findings = lint_rows(items, grader)
    if findings.errors:
        shown = "; ".join(f"{f.where}: {f.message}" for f in findings.errors[:3])
        more = (
            f" (+{len(findings.errors) - 3} more: lint_rows(rows, grader) lists them)"
            if len(findings.errors) > 3
            else ""
        )
        raise ConfigError(f"the rows are not valid RFT rows, nothing was written: {shown}{more}")
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in items]
    order = sorted(range(len(lines)), key=lambda i: hashlib.sha256(f"{seed}\n{lines[i]}".encode()).digest())
    chosen = set(order[: _split_count(len(lines), validation)])
    if len(lines) - len(chosen) > MAX_TRAINING_ROWS:
        raise ConfigError(
            f"{len(lines) - len(chosen):,} training rows; RFT takes at most {MAX_TRAINING_ROWS:,}"
        )
    base = Path(path)
    stem = base.name.removesuffix(".jsonl") if base.suffix == ".jsonl" else base.name
    folder = base.parent
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for split, keep in (("train", False), ("valid", True)):
        text = "".join(line + "\n" for i, line in enumerate(lines) if (i in chosen) == keep)
        target = folder / f"{stem}.{split}.jsonl"
        atomic_write(target, text)
        count = text.count("\n")
        digest = hashlib.sha256(text.encode()).hexdigest()
        out.append(DatasetFile(target, count, digest, split, LintReport(findings)))
    return out[0], out[1]
