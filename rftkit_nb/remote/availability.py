"""Which RFT base models, grader models and APIs each platform offers, and until when: ONE dated table.

This is the only place in rftkit_nb where platform dates live (sources: the platforms' deprecation pages,
collected in December 2026). Dates move; edit the table when a platform announces a change::

    >>> from datetime import date
    >>> from rftkit_nb.remote.availability import AVAILABILITY
    >>> _ = AVAILABILITY.set("azure", "grader", "o3-mini-2025-01-31", shutdown=date(2027, 1, 31), note="extended")
    >>> AVAILABILITY.get("azure", "grader", "o3-mini").shutdown
    datetime.date(2027, 1, 31)
    >>> AVAILABILITY.reset()

``shutdown`` is the first day a model or API no longer works; ``guaranteed_until`` is a promise of "no
earlier than" (Azure's o4-mini training), after which a warning says to check; ``certain=False`` marks a
date inferred rather than announced (a warning, never an error). Lint with :func:`lint_target`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from rftkit_nb.core.graders import BaseGrader, LabelModelGrader, MultiGrader, ScoreModelGrader
from rftkit_nb.core.lint import Finding, LintReport

__all__ = ["AVAILABILITY", "Availability", "AvailabilityTable", "lint_target"]

Platform = Literal["openai", "azure"]
Kind = Literal["base", "grader", "api"]
PLATFORM_NAMES = {"openai": "OpenAI", "azure": "Azure OpenAI"}


@dataclass(frozen=True)
class Availability:
    """One row of the table: a model (or an API route) on a platform, and when it stops."""

    platform: Platform
    kind: Kind  # "base" = trainable with RFT; "grader" = usable as a score_model judge; "api" = a route
    model: str
    shutdown: date | None = None  # the first day it no longer works
    guaranteed_until: date | None = None  # "no earlier than": live for sure until this day
    certain: bool = True  # False: the date is inferred, not announced
    aliases: tuple[str, ...] = ()
    note: str = ""

    def names(self) -> tuple[str, ...]:
        return (self.model, *self.aliases)

    def is_gone(self, today: date) -> bool:
        return self.shutdown is not None and today >= self.shutdown

    def __str__(self) -> str:
        when = f"shuts {self.shutdown}" if self.shutdown else "no shutdown date"
        if self.guaranteed_until:
            when += f", live until at least {self.guaranteed_until}"
        return f"{PLATFORM_NAMES[self.platform]} {self.kind} {self.model}: {when}"


_A = Availability
_D = date
# fmt: off
_DEFAULT: tuple[Availability, ...] = (
    # --- OpenAI (deprecated target) ---
    _A("openai", "base", "o4-mini-2025-04-16", _D(2026, 10, 23), aliases=("o4-mini",),
       note="the only RFT base model; shut down 2026-10-23 (notice of 2026-04-22)"),
    _A("openai", "api", "jobs.create", _D(2027, 1, 6), note="no new fine-tuning jobs for anyone"),
    _A("openai", "api", "graders.run", _D(2027, 1, 6), certain=False,
       note="no date of its own; assumed to end no later than job creation"),
    _A("openai", "api", "graders.validate", _D(2027, 1, 6), certain=False,
       note="no date of its own; assumed to end no later than job creation"),
    _A("openai", "grader", "o4-mini-2025-04-16", _D(2026, 10, 23), aliases=("o4-mini",)),
    _A("openai", "grader", "gpt-5-2025-08-07", _D(2026, 12, 11), aliases=("gpt-5",)),
    _A("openai", "grader", "gpt-5-mini", _D(2026, 12, 11)),
    _A("openai", "grader", "gpt-5-nano", _D(2026, 12, 11)),
    _A("openai", "grader", "o3-2025-04-16", _D(2026, 12, 11), aliases=("o3",)),
    _A("openai", "grader", "gpt-4o-2024-08-06", _D(2027, 1, 14), aliases=("gpt-4o",)),
    _A("openai", "grader", "gpt-4o-mini-2024-07-18", _D(2027, 1, 14), aliases=("gpt-4o-mini",)),
    _A("openai", "grader", "gpt-4.1-2025-04-14", _D(2027, 1, 14), aliases=("gpt-4.1",)),
    _A("openai", "grader", "gpt-4.1-mini-2025-04-14", _D(2027, 1, 14), aliases=("gpt-4.1-mini",)),
    _A("openai", "grader", "gpt-4.1-nano-2025-04-14", _D(2027, 1, 14), certain=False, aliases=("gpt-4.1-nano",),
       note="no date of its own; every documented OpenAI grader model retires by 2027-01-14"),
    _A("openai", "grader", "o3-mini-2025-01-31", _D(2027, 1, 14), certain=False, aliases=("o3-mini",),
       note="no date of its own; every documented OpenAI grader model retires by 2027-01-14"),
    _A("openai", "grader", "o1-2024-12-17", _D(2027, 1, 14), certain=False, aliases=("o1",),
       note="no date of its own; every documented OpenAI grader model retires by 2027-01-14"),
    # --- Azure OpenAI / AI Foundry (the live target) ---
    _A("azure", "base", "o4-mini-2025-04-16", guaranteed_until=_D(2027, 4, 16), aliases=("o4-mini",),
       note="GA; training stays open for existing customers until no earlier than 2027-04-16"),
    _A("azure", "base", "gpt-5-2025-08-07", aliases=("gpt-5",),
       note="private preview: free, no user pause/resume, no auto-pause"),
    _A("azure", "api", "jobs.create", note="the v1 API and the dated ?api-version= API alike"),
    _A("azure", "api", "graders.run"),
    _A("azure", "api", "graders.validate"),
    _A("azure", "grader", "gpt-4o-2024-08-06", _D(2027, 4, 14), certain=False, aliases=("gpt-4o",),
       note="the base model retires 2027-04-14; whether grader use follows is unconfirmed"),
    _A("azure", "grader", "gpt-4.1-2025-04-14", _D(2027, 4, 14), certain=False, aliases=("gpt-4.1",),
       note="the base model retires 2027-04-14; whether grader use follows is unconfirmed"),
    _A("azure", "grader", "gpt-4.1-mini-2025-04-14", _D(2027, 4, 14), certain=False, aliases=("gpt-4.1-mini",),
       note="the base model retires 2027-04-14; whether grader use follows is unconfirmed"),
    _A("azure", "grader", "gpt-4.1-nano-2025-04-14", _D(2027, 4, 14), certain=False, aliases=("gpt-4.1-nano",),
       note="the base model retires 2027-04-14; whether grader use follows is unconfirmed"),
    _A("azure", "grader", "o3-mini-2025-01-31", _D(2026, 10, 1), certain=False, aliases=("o3-mini",),
       note="the base model retired 2026-10-01; whether grader use follows is unconfirmed"),
)
# fmt: on


class AvailabilityTable:
    """The editable table: :meth:`get`, :meth:`set`, :meth:`live`, :meth:`reset` (to the shipped dates)."""

    def __init__(self, entries: Iterable[Availability]) -> None:
        self._shipped = tuple(entries)
        self.entries: list[Availability] = list(self._shipped)

    def get(self, platform: str, kind: str, model: str) -> Availability | None:
        """The row for ``model`` (or one of its aliases), or None when the table does not list it."""
        return next((e for e in self.entries if (e.platform, e.kind) == (platform, kind)
                     and model in e.names()), None)  # fmt: skip

    def set(self, platform: Platform, kind: Kind, model: str, **changes: Any) -> Availability:
        """Add a row, or change fields (``shutdown=``, ``guaranteed_until=``, ``note=`` ...) of one."""
        found = self.get(platform, kind, model)
        if found is None:
            entry = Availability(platform, kind, model, **changes)
            self.entries.append(entry)
            return entry
        entry = replace(found, **changes)
        self.entries[self.entries.index(found)] = entry
        return entry

    def live(self, platform: str, kind: str, today: date) -> list[Availability]:
        """The rows of ``platform`` and ``kind`` still working on ``today``, in table order."""
        return [e for e in self.entries if (e.platform, e.kind) == (platform, kind) and not e.is_gone(today)]

    def reset(self) -> None:
        """Back to the shipped table."""
        self.entries = list(copy.copy(self._shipped))

    def __repr__(self) -> str:
        return "AvailabilityTable:\n" + "\n".join(f"  {e}" for e in self.entries)


#: The table every check reads (edit it in place; ``reset()`` restores the shipped dates).
AVAILABILITY = AvailabilityTable(_DEFAULT)


def _suggest(table: AvailabilityTable, platform: str, kind: str, model: str, today: date) -> str:
    if kind == "api":
        others = [e for e in table.live("azure", "api", today) if e.model == model and platform != "azure"]
        return "Azure OpenAI, which still offers it" if others else "no other platform listed for it"
    live = [e for e in table.live(platform, kind, today) if e.model != model]
    family = [e for e in live if e.model.split("-")[:2] == model.split("-")[:2]]
    picks = (family or live)[:2]
    if picks:
        return " or ".join(e.model for e in picks)
    if platform != "azure" and table.live("azure", kind, today):
        return f"Azure OpenAI ({table.live('azure', kind, today)[0].model})"
    return "none listed: update the availability table"


def _check(table: AvailabilityTable, platform: str, kind: str, model: str, where: str, today: date,
           add: Any) -> None:  # fmt: skip
    entry = table.get(platform, kind, model)
    name = PLATFORM_NAMES.get(platform, platform)
    what = {"base": "RFT base model", "grader": "grader model", "api": "API"}[kind]
    if entry is None:
        add("warning", where, f"{model!r} is not in the availability table as a {what} on {name}; it may "
            "still work (add it with AVAILABILITY.set)")  # fmt: skip
        return
    if entry.is_gone(today):
        level = "error" if entry.certain else "warning"
        said = "" if entry.certain else " (inferred date, unconfirmed)"
        add(level, where, f"{what} {model!r} shut down on {name} on {entry.shutdown}{said}; use "
            f"{_suggest(table, platform, kind, entry.model, today)}")  # fmt: skip
    elif entry.guaranteed_until is not None and today > entry.guaranteed_until:
        add("warning", where, f"{what} {model!r} on {name} was promised only until {entry.guaranteed_until}; "
            "check that it is still offered")  # fmt: skip
    elif entry.shutdown is not None and (entry.shutdown - today).days <= 45:
        add("warning", where, f"{what} {model!r} shuts down on {name} on {entry.shutdown}, in "
            f"{(entry.shutdown - today).days} days")  # fmt: skip


def lint_target(
    grader: BaseGrader | None,
    platform: str,
    *,
    model: str | None = None,
    apis: Iterable[str] = (),
    today: date | None = None,
    table: AvailabilityTable | None = None,
) -> LintReport:
    """Check a grader's judge models, a base ``model`` and the ``apis`` a call needs against the table.

    A model retired on ``platform`` by ``today`` is an error naming the date and a live model; the same
    grader on a platform where its model lives passes.

    >>> from rftkit_nb.core.graders import ScoreModelGrader
    >>> judge = ScoreModelGrader(name="tone", model="gpt-4.1-2025-04-14", input="Rate {{ sample.output_text }}")
    >>> [f.level for f in lint_target(judge, "openai", today=date(2027, 2, 1))]
    ['error']
    >>> list(lint_target(judge, "azure", today=date(2027, 2, 1)))
    []
    """
    table = table or AVAILABILITY
    today = today or date.today()
    out = LintReport()

    def add(level: Any, where: str, message: str) -> None:
        out.append(Finding(level, where, message))

    if grader is not None:
        for where, judge in _judges(grader):
            _check(table, platform, "grader", judge.model, f"{where}.model", today, add)
    if model is not None:
        _check(table, platform, "base", model, "model", today, add)
    for api in apis:
        _check(table, platform, "api", api, api, today, add)
    return out


def _judges(grader: BaseGrader) -> list[tuple[str, ScoreModelGrader | LabelModelGrader]]:
    judges = ScoreModelGrader | LabelModelGrader
    if isinstance(grader, MultiGrader):
        return [(f"{grader.name}.graders.{k}", g) for k, g in grader.graders.items() if isinstance(g, judges)]
    return [(grader.name, grader)] if isinstance(grader, judges) else []
