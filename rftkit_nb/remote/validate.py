"""validate(): local lint first, then the platform's ``fine_tuning/alpha/graders/validate``.

A 400 from the platform names a field path (``grader.graders.tone.model``); it is mapped back to the
grader field lint uses (``reward.graders.tone.model``) so both kinds of finding read alike.

Example::

    >>> import openai
    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> from rftkit_nb.testing import FakeOpenAI
    >>> exact = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                           reference="{{ item.answer }}", operation="eq")
    >>> with FakeOpenAI() as server:
    ...     validate(exact, client=openai.OpenAI(base_url=server.base_url, api_key="sk-demo")).ok
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.core.graders import BaseGrader, config_with_secrets
from rftkit_nb.core.lint import Finding, LintReport
from rftkit_nb.errors import RemoteError
from rftkit_nb.remote.calls import call
from rftkit_nb.remote.submit import as_grader, header_secrets, preflight
from rftkit_nb.remote.targets import resolve_target

__all__ = ["ValidationReport", "grader_field", "validate"]

_QUOTED_PATH = re.compile(r"'((?:grader|method\.reinforcement\.grader)(?:\.[\w\[\]]+)*)'")


def grader_field(param: str | None, grader: BaseGrader, message: str = "") -> str:
    """The lint-style field path (rooted at the grader's name) for a platform's ``param``.

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="x", reference="y", operation="eq")
    >>> grader_field("method.reinforcement.grader.operation", g)
    'exact.operation'
    """
    if not param:
        found = _QUOTED_PATH.search(message)
        param = found.group(1) if found else "grader"
    for prefix in ("method.reinforcement.grader", "grader"):
        if param == prefix or param.startswith(prefix + "."):
            return grader.name + param[len(prefix) :]
    return param


@dataclass
class ValidationReport:
    """What local lint and the platform said; ``ok`` when neither found an error."""

    grader: str
    target: str
    findings: LintReport
    hosted: str  # "accepted", "rejected", or why it was not asked
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.findings.ok and self.hosted == "accepted"

    def __repr__(self) -> str:
        head = f"validate {self.grader!r} on {self.target}: {'ok' if self.ok else 'NOT ok'} (platform: {self.hosted})"
        return "\n".join([head, *(str(f) for f in self.findings), *(f"note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        rows = "".join(f"<div>{h.badge(f.level, f.level)} <code>{h.esc(f.where)}</code> {h.esc(f.message)}</div>"
                       for f in self.findings)  # fmt: skip
        rows += "".join(f"<div>{h.badge('note', 'info')} {h.esc(n)}</div>" for n in self.notes)
        return h.card(f"validate {self.grader}", "ok" if self.ok else "not ok",
                      [("target", self.target), ("platform", self.hosted)], body_html=rows)  # fmt: skip


def validate(grader: Any, *, client: Any = None, today: date | None = None) -> ValidationReport:
    """Lint ``grader`` for the target (the table included), then ask the platform to validate it."""
    target = resolve_target(client)
    g = as_grader(grader)
    findings = preflight(g, target, model=None, apis=("graders.validate",), today=today)
    report = ValidationReport(g.name, str(target), findings, "not asked")
    if findings.errors:
        report.hosted = "not asked: fix the local errors first"
        return report
    try:
        call(target, f"validate grader {g.name!r}",
             lambda c: c.fine_tuning.alpha.graders.validate(grader=config_with_secrets(g)), safe=True,
             secrets=header_secrets(g))  # fmt: skip
    except RemoteError as e:
        status = getattr(e, "status", None)
        if status != 400:
            raise
        where = grader_field(getattr(e, "param", None), g, str(e))
        findings.append(Finding("error", where, f"{target.name} rejects it: {_said(str(e))}"))
        report.hosted = "rejected"
        return report
    report.hosted = "accepted"
    return report


def _said(message: str) -> str:
    """The platform's own words, without our 'what: who answered HTTP 400 (field ...)' prefix."""
    return message.split(": ", 2)[-1] if message.count(": ") >= 2 else message
