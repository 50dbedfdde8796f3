"""SubmitPanel: everything a hosted RFT job will be made of, checked, then submitted behind a confirmation.

It shows the grader JSON (header secrets masked) with its lint findings for the target (the availability
table included), the target, the dataset files, the hyperparameters with their allowed ranges, and the
cost drivers. The front end edits ``model``, ``hyperparameters`` and ``suffix`` (checked at once, the
field named in ``hyper_error``) and sends ``{"op": ...}`` messages:

* ``validate``: :func:`rftkit_nb.remote.validate` (local lint, then the platform's graders/validate);
* ``submit``: the local checks and the cost drivers, then ``stage = "confirm"`` with a ``token`` for
  exactly these settings; no job yet;
* ``confirm`` (with that token): :func:`rftkit_nb.remote.submit`, whose idempotency guard returns the
  first job for a repeated submission; settings changed since ``submit`` are refused;
* ``back``: leave the confirmation.

Every refused step says why in ``notice`` (one line); a platform error naming a field becomes a finding.

Example::

    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}", reference="x", operation="eq")
    >>> SubmitPanel(g, train=None, validation=None).target["error"][:30]
    'no hosted platform is configur'
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from rftkit_nb.errors import ConfigError, RftkitError
from rftkit_nb.notebook.widgets.cluster_matrix import STATIC, _weak_callback

__all__ = ["SubmitPanel"]


def _ranges() -> list[dict[str, Any]]:
    from rftkit_nb.remote.costs import HYPERPARAMETER_RANGES, REASONING_EFFORTS

    out: list[dict[str, Any]] = []
    for name, (kind, low, high, exclusive) in HYPERPARAMETER_RANGES.items():
        top = None if math.isinf(high) else high
        span = f"> {low:g}" if exclusive else f"{low:g}..{high:g}" if top is not None else f">= {low:g}"
        out.append({"name": name, "kind": kind.__name__, "low": low, "high": top, "exclusive": exclusive,
                    "text": f"{span} or auto"})  # fmt: skip
    out.append({"name": "reasoning_effort", "kind": "choice", "choices": list(REASONING_EFFORTS),
                "text": " / ".join(REASONING_EFFORTS)})  # fmt: skip
    return out


def _finding(f: Any, source: str) -> dict[str, str]:
    return {"level": str(f.level), "where": str(f.where), "message": str(f.message), "source": source}


def _file(given: Any, split: str) -> dict[str, Any]:
    """What the panel shows of one dataset file (a DatasetFile or a path)."""
    if given is None:
        return {"split": split, "path": "", "name": "", "rows": 0, "sha256": "", "findings": [],
                "error": f"no {split} file: write them with write_dataset(df, path, grader=...)"}  # fmt: skip
    path = Path(getattr(given, "path", given))
    if not path.is_file():
        return {"split": split, "path": str(path), "name": path.name, "rows": 0, "sha256": "", "findings": [],
                "error": f"{path} is not a file"}  # fmt: skip
    data = path.read_bytes()
    findings = [_finding(f, "dataset") for f in getattr(given, "findings", [])]
    return {"split": split, "path": str(path), "name": path.name, "rows": data.count(b"\n"),
            "sha256": hashlib.sha256(data).hexdigest(), "findings": findings, "error": ""}  # fmt: skip


class SubmitPanel(anywidget.AnyWidget):
    """Check and submit ``grader`` (a grader, its config, or a Workbench: its current grader) with the
    ``train`` / ``validation`` files (paths or what :func:`write_dataset` returned) to the target of
    ``client`` (or the environment). ``panel.job`` is the submitted :class:`Job`; ``panel.monitor()``
    watches it."""

    _esm = STATIC / "submit_panel.js"
    _css = STATIC / "widgets.css"

    grader_name = t.Unicode("").tag(sync=True)
    grader_json = t.Unicode("").tag(sync=True)
    target = t.Dict().tag(sync=True)  # {"name", "platform", "layout", "endpoint"} or {"error"}
    files = t.List(t.Dict()).tag(sync=True)
    model = t.Unicode("").tag(sync=True)
    models = t.List(t.Unicode()).tag(sync=True)  # the live base models of the target's platform
    ranges = t.List(t.Dict()).tag(sync=True)
    hyperparameters = t.Dict().tag(sync=True)
    hyper_error = t.Dict().tag(sync=True)  # {"field", "text"}
    suffix = t.Unicode("").tag(sync=True)
    findings = t.List(t.Dict()).tag(sync=True)
    validation = t.Dict().tag(sync=True)  # {"state": "not run" | "ok" | "not ok", "hosted", "notes"}
    cost = t.List(t.Unicode()).tag(sync=True)
    stage = t.Unicode("edit").tag(sync=True)  # edit -> confirm -> submitted
    confirm = t.Dict().tag(sync=True)  # what the confirmation says, and its token
    busy = t.Unicode("").tag(sync=True)  # "validating…" / "submitting…" while a request runs
    job_info = t.Dict().tag(sync=True)  # the submitted job: {"id", "status", "notes"}
    notice = t.Dict().tag(sync=True)  # {"level", "text", "seq"}

    def __init__(self, grader: Any, *, train: Any, validation: Any, model: str | None = None,
                 client: Any = None, hyperparameters: Mapping[str, Any] | None = None, suffix: str | None = None,
                 today: date | None = None, record: str | Path | None = None, **kwargs: Any) -> None:  # fmt: skip
        from rftkit_nb.remote import AVAILABILITY, resolve_target

        self._source, self._today, self._record = grader, today, record
        self._train, self._valid = train, validation
        self.job: Any = None  # the submitted Job
        self._target: Any = None
        self._seq = 0
        super().__init__(ranges=_ranges(), hyperparameters=dict(hyperparameters or {}), suffix=suffix or "",
                         validation={"state": "not run"}, **kwargs)  # fmt: skip
        try:
            self._target = resolve_target(client)
        except RftkitError as e:
            self.target = {"error": str(e)}
        else:
            tgt = self._target
            self.target = {"name": tgt.name, "platform": tgt.platform, "layout": tgt.layout,
                           "endpoint": tgt.endpoint}  # fmt: skip
            self.models = [e.model for e in AVAILABILITY.live(tgt.platform, "base", today or date.today())]
        self.model = model or (self.models[0] if self.models else "")
        self.files = [_file(train, "train"), _file(validation, "valid")]
        self._unbind = self._follow(grader)
        self._check()
        self.observe(lambda _c: self._check(), names=["model", "hyperparameters", "suffix"])
        self.on_msg(self._on_message)

    # --- what Python reads back ------------------------------------------------------------------

    @property
    def grader(self) -> Any:
        """The grader as it is now (a Workbench's current composition)."""
        from rftkit_nb.remote.submit import as_grader

        return as_grader(self._source)

    def monitor(self, *, poll: float = 10.0) -> Any:
        """A :class:`JobMonitor` of the submitted job."""
        from rftkit_nb.notebook.widgets.job_monitor import JobMonitor

        if self.job is None:
            raise ConfigError("nothing was submitted yet: press Submit, then confirm")
        return JobMonitor(self.job, poll=poll)

    # --- checks, at every edit -------------------------------------------------------------------

    def _follow(self, source: Any) -> Any:
        if not callable(getattr(source, "observe", None)) or not callable(getattr(source, "unobserve", None)):
            return lambda: None
        callback = _weak_callback(self, lambda panel, _event: panel._check())
        source.observe(callback)
        return lambda: source.unobserve(callback)

    def _settings(self) -> tuple[Any, dict[str, Any]]:
        """The grader and the checked hyperparameters; raises the first problem (one line)."""
        from rftkit_nb.remote import check_hyperparameters

        return self.grader, check_hyperparameters(self.hyperparameters)

    def _check(self) -> None:
        """Lint, ranges and cost drivers for the settings shown now; a pending confirmation is dropped."""
        from rftkit_nb.remote import cost_drivers
        from rftkit_nb.remote.submit import preflight

        findings: list[dict[str, str]] = []
        with self.hold_sync():
            if self.stage == "confirm":
                self.stage, self.confirm = "edit", {}
            try:
                g = self.grader
            except RftkitError as e:
                self.grader_json, self.findings = "", [{"level": "error", "where": "grader", "message": str(e),
                                                        "source": "lint"}]  # fmt: skip
                return
            self.grader_name, self.grader_json = g.name, json.dumps(g.config, indent=2, ensure_ascii=False)
            if self._target is not None:
                report = preflight(g, self._target, model=self.model or None, apis=("jobs.create",),
                                   today=self._today)  # fmt: skip
                findings += [_finding(f, "lint") for f in report]
            for f in self.files:
                findings += f["findings"]
                if f["error"]:
                    findings.append({"level": "error", "where": f"dataset.{f['split']}", "message": f["error"],
                                     "source": "dataset"})  # fmt: skip
            self.findings = findings
            try:
                _, hyper = self._settings()
            except ConfigError as e:
                field = str(e).split(":", 1)[0].removeprefix("hyperparameters.")
                self.hyper_error = {"field": field, "text": str(e)}
                return
            self.hyper_error = {}
            if self._target is not None:
                self.cost = cost_drivers(g, train_rows=self.files[0]["rows"], valid_rows=self.files[1]["rows"],
                                         hyperparameters=hyper, platform=self._target.platform,
                                         model=self.model).lines  # fmt: skip

    def _token(self) -> str:
        """A key for exactly the settings a confirmation is about."""
        settings = [self.grader_json, self.model, self.hyperparameters, self.suffix,
                    [f["sha256"] for f in self.files], self.target]  # fmt: skip
        return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]

    # --- the front end's requests ----------------------------------------------------------------

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        op = content.get("op") if isinstance(content, Mapping) else None
        handler = {"validate": self._validate, "submit": self._ask, "confirm": self._confirm,
                   "back": self._back}.get(str(op))  # fmt: skip
        if handler is None:
            self._say(
                "error", f"unknown submit panel message {content!r}; reload the widget (re-run its cell)"
            )
            return
        if self._target is None:
            self._say("error", str(self.target.get("error")))
            return
        try:
            handler(content)
        except RftkitError as e:
            self._refused(e)
        finally:
            self.busy = ""

    def _validate(self, content: Mapping[str, Any]) -> None:
        from rftkit_nb.remote import validate

        self.busy = "validating…"
        report = validate(self.grader, client=self._target, today=self._today)
        files = [f for file in self.files for f in file["findings"]]
        with self.hold_sync():
            self.findings = [_finding(f, "platform" if "rejects it" in f.message else "lint")
                             for f in report.findings] + files  # fmt: skip
            self.validation = {"state": "ok" if report.ok else "not ok", "hosted": report.hosted,
                               "notes": list(report.notes)}  # fmt: skip
        self._say("ok" if report.ok else "error", f"validate: {'ok' if report.ok else 'NOT ok'} "
                  f"(platform: {report.hosted})")  # fmt: skip

    def _ask(self, content: Mapping[str, Any]) -> None:
        self._check()
        self._settings()  # a hyperparameter out of range: its one line
        errors = [f for f in self.findings if f["level"] == "error"]
        if errors:
            first = errors[0]
            raise ConfigError(f"{len(errors)} error(s) to fix before submitting; first: {first['where']}: "
                              f"{first['message']}")  # fmt: skip
        train, valid = self.files
        self.confirm = {"token": self._token(), "model": self.model, "target": self.target.get("name", ""),
                        "endpoint": self.target.get("endpoint", ""), "train_rows": train["rows"],
                        "valid_rows": valid["rows"], "cost": list(self.cost)}  # fmt: skip
        self.stage = "confirm"
        self._say("info", "review the cost drivers, then create the job (or go back)")

    def _confirm(self, content: Mapping[str, Any]) -> None:
        from rftkit_nb.remote import submit

        if self.stage == "submitted" and self.job is not None:
            self._say("info", f"already submitted as {self.job.id}; nothing was sent")
            return
        token = self.confirm.get("token")
        if self.stage != "confirm" or content.get("token") != token or token != self._token():
            raise ConfigError("the settings changed since Submit was pressed (or it was not pressed); review "
                              "them and press Submit again")  # fmt: skip
        self.busy = "submitting…"
        g, hyper = self._settings()
        job = submit(g, train=self._train, validation=self._valid, model=self.model, client=self._target,
                     hyperparameters=hyper or None, suffix=self.suffix or None, today=self._today,
                     record=self._record, show=None)  # fmt: skip
        self.job = job
        repeated = any("already submitted" in n or "carries this submission" in n for n in job.notes)
        with self.hold_sync():
            self.job_info = {"id": job.id, "status": job.status, "notes": list(job.notes)}
            self.stage, self.confirm = "submitted", {}
        self._say("info" if repeated else "ok", f"{'found the earlier' if repeated else 'created'} job {job.id} "
                  f"({job.status}); watch it with panel.monitor() or %rft job {job.id}")  # fmt: skip

    def _back(self, content: Mapping[str, Any]) -> None:
        with self.hold_sync():
            self.stage = "submitted" if self.job is not None else "edit"
            self.confirm = {}
        self._say("info", "not submitted")

    def _refused(self, error: RftkitError) -> None:
        from rftkit_nb.remote.validate import grader_field

        param = getattr(error, "param", None)
        if param:  # the platform named a field: shown where lint findings are
            where = grader_field(param, self.grader, str(error)) if "grader" in str(param) else str(param)
            self.findings = [*self.findings, {"level": "error", "where": where, "message": str(error),
                                              "source": "platform"}]  # fmt: skip
        if self.stage == "confirm":
            self.stage, self.confirm = ("submitted" if self.job is not None else "edit"), {}
        self._say("error", str(error))

    def _say(self, level: str, text: str) -> None:
        self._seq += 1
        self.notice = {"level": level, "text": text, "seq": self._seq}

    def close(self) -> None:
        """Stop following the grader's Workbench, then close the widget."""
        self._unbind()
        super().close()

    # --- where widgets do not render -------------------------------------------------------------

    def __repr__(self) -> str:
        where = self.target.get("name") or self.target.get("error", "")
        errors = sum(f["level"] == "error" for f in self.findings)
        job = f", job {self.job_info['id']}" if self.job_info else ""
        return f"SubmitPanel: {self.grader_name!r} -> {self.model} on {where} ({errors} errors, {self.stage}{job})"

    def _repr_html_(self) -> str:
        from rftkit_nb.core import html as h

        rows: list[tuple[str, object]] = [("target", self.target.get("endpoint") or self.target.get("error")),
                                          ("model", self.model), ("stage", self.stage)]  # fmt: skip
        rows += [(f"{f['level']}", f"{f['where']}: {f['message']}") for f in self.findings]
        return h.card(f"submit {self.grader_name}", self.stage, rows)
