"""Lint checks of the dataset rows a grader will read: template variables present, RFT ``messages`` valid.

:func:`rftkit_nb.core.lint.lint` runs these when it is given a ``dataset``; findings go through the
``add(level, where, message)`` callable it passes in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rftkit_nb.core.templates import find_variables
from rftkit_nb.core.values import is_missing

__all__ = ["MAX_TRAINING_ROWS", "lint_dataset", "records"]

MAX_TRAINING_ROWS = 50_000


def records(dataset: Any) -> list[Mapping[str, Any]]:
    """The dataset's rows as a list: an iterable of item dicts, or a DataFrame's records without its gaps.

    Example::

        >>> records(iter([{"answer": "4"}]))
        [{'answer': '4'}]
    """
    if hasattr(dataset, "to_dict"):  # a DataFrame, without importing pandas here
        # A DataFrame fills the keys a row lacks with NaN/NA/NaT: drop them so absent fields read as absent.
        return [{k: v for k, v in row.items() if not is_missing(v)} for row in dataset.to_dict("records")]
    return list(dataset)


def lint_dataset(
    rows: list[Mapping[str, Any]], variables: list[tuple[str, str]], add: Any, *, for_rft: bool
) -> None:
    """Report through ``add(level, where, message)`` what is wrong with the dataset rows.

    ``variables`` are the (where, "item.path") template variables the grader reads; each must be present
    in every row. With ``for_rft`` the row count and each row's ``messages`` are checked too.

    Example::

        >>> found = []
        >>> rows = [{"messages": [{"role": "user", "content": "2+2?"}]}, {"answer": "4"}]
        >>> lint_dataset(rows, [], lambda *finding: found.append(finding), for_rft=True)
        >>> found
        [('error', 'dataset.messages', '1 rows have no messages (first: row 1)')]
    """
    from rftkit_nb.core.templates import resolve

    if for_rft and len(rows) > MAX_TRAINING_ROWS:
        add("error", "dataset", f"{len(rows):,} rows; RFT takes at most {MAX_TRAINING_ROWS:,} training rows")
    for where, text in dict.fromkeys(variables):
        var = find_variables("{{ " + text + " }}")[0]
        missing = [i for i, row in enumerate(rows) if _absent(var, row, resolve)]
        if missing:
            first = ", ".join(str(i) for i in missing[:5])
            add(
                "error",
                where,
                f"{{{{ {text} }}}} is absent in {len(missing)} of {len(rows)} rows (rows {first}...)",
            )
    if for_rft:
        _lint_messages(rows, add)


def _absent(var: Any, row: Mapping[str, Any], resolve: Any) -> bool:
    try:
        return resolve(var, item=row, sample={}) is None
    except Exception:  # any lookup failure means the variable is not there
        return True


def _messages_problem(messages: object) -> str | None:
    """Why a row's ``messages`` is not a list of message objects, or None."""
    if not isinstance(messages, list):
        return f"messages is {type(messages).__name__}, not a list of {{role, content}} objects"
    for j, m in enumerate(messages):
        if not isinstance(m, Mapping):
            return f"messages[{j}] is {type(m).__name__}, not a {{role, content}} object"
    return None


def _lint_messages(rows: list[Mapping[str, Any]], add: Any) -> None:
    objects = {i: r for i, r in enumerate(rows) if isinstance(r, Mapping)}
    if len(objects) < len(rows):
        first = next(i for i in range(len(rows)) if i not in objects)
        add("error", "dataset", f"{len(rows) - len(objects)} rows are not JSON objects (first: row {first})")
    no_messages = [i for i, r in objects.items() if not r.get("messages")]
    if objects and len(no_messages) == len(objects):
        add(
            "warning",
            "dataset.messages",
            "no row has messages; RFT rows need messages (the prompt to answer)",
        )
        return
    if no_messages:
        add(
            "error",
            "dataset.messages",
            f"{len(no_messages)} rows have no messages (first: row {no_messages[0]})",
        )
    malformed = [
        (i, p) for i, r in objects.items() if r.get("messages") and (p := _messages_problem(r["messages"]))
    ]
    if malformed:
        add(
            "error",
            "dataset.messages",
            f"{len(malformed)} rows have malformed messages (first: row {malformed[0][0]}: {malformed[0][1]})",
        )
    bad = {i for i, _ in malformed}
    lists = [r["messages"] for i, r in objects.items() if r.get("messages") and i not in bad]
    allowed = {"developer", "user", "assistant", "tool"}
    roles = {r if isinstance(r := m.get("role"), str | None) else repr(r) for ms in lists for m in ms}
    bad_roles = sorted(roles - allowed, key=str)
    if bad_roles:
        add(
            "error",
            "dataset.messages",
            f"roles {bad_roles} are not allowed in RFT rows (use developer, user, assistant, tool)",
        )
    not_user_last = sum(1 for ms in lists if ms[-1].get("role") != "user")
    if not_user_last:
        add("warning", "dataset.messages", f"in {not_user_last} rows the last message is not a user turn")
