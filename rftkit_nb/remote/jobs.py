"""A hosted RFT job: status, metrics events, checkpoints, polite waiting, pause / resume / cancel.

Example::

    >>> import openai
    >>> from rftkit_nb.testing import FakeOpenAI
    >>> with FakeOpenAI() as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="sk-demo")
    ...     list_jobs(client=client)
    no fine-tuning jobs
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.core import html as h
from rftkit_nb.errors import RateLimited, RemoteError
from rftkit_nb.remote.calls import call
from rftkit_nb.remote.targets import Target, resolve_target

__all__ = [
    "TERMINAL_STATES",
    "Checkpoint",
    "Job",
    "JobEvent",
    "JobList",
    "JobReport",
    "Metrics",
    "as_data",
    "list_jobs",
]

TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
_MAX_POLL = 60.0  # seconds: polling never gets slower than this


def as_data(obj: Any) -> dict[str, Any]:
    """An SDK model (or a dict) as plain JSON data; unknown fields kept."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        # The SDK types multi's `graders` wrongly (one grader, not a dict): its serializer would warn.
        return obj.model_dump(mode="json", warnings=False)
    return dict(vars(obj))


def _cursor(after: Any, limit: int) -> dict[str, Any]:
    return {"limit": limit} if after is None else {"after": after, "limit": limit}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Metrics:
    """What one RFT ``metrics`` event says: progress, reward means, per-grader scores and error counts."""

    step: int | None
    total_steps: int | None
    train_reward_mean: float | None
    valid_reward_mean: float | None
    graders: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> Metrics | None:
        """Read an event's ``data`` defensively: the shape is only partly documented."""
        if not isinstance(data, Mapping):
            return None
        raw_scores, raw_errors = data.get("scores"), data.get("errors")
        scores: Mapping[str, Any] = raw_scores if isinstance(raw_scores, Mapping) else {}
        errors: Mapping[str, Any] = raw_errors if isinstance(raw_errors, Mapping) else {}
        step, total = _number(data.get("step")), _number(data.get("total_steps"))
        return cls(
            step=None if step is None else int(step),
            total_steps=None if total is None else int(total),
            train_reward_mean=_number(scores.get("train_reward_mean", data.get("train_reward_mean"))),
            valid_reward_mean=_number(scores.get("valid_reward_mean", data.get("valid_reward_mean"))),
            graders=_per_grader(scores.get("graders")),
            errors=_per_grader(errors.get("graders")),
        )  # fmt: skip


def _per_grader(value: Any) -> dict[str, dict[str, float]]:
    """``{name: {metric: number}}`` from either a dict keyed by grader or a list of ``{name, ...}``."""
    if isinstance(value, list):
        value = {str(v.get("name", i)): v for i, v in enumerate(value) if isinstance(v, Mapping)}
    if not isinstance(value, Mapping):
        return {}
    return {str(k): {m: n for m, x in v.items() if (n := _number(x)) is not None}
            for k, v in value.items() if isinstance(v, Mapping)}  # fmt: skip


@dataclass(frozen=True)
class JobEvent:
    """One job event: ``type`` (message / metrics / ...), ``level``, ``message``, parsed ``metrics``."""

    id: str
    created_at: int
    level: str
    type: str
    message: str
    metrics: Metrics | None = None

    @classmethod
    def of(cls, raw: Any) -> JobEvent:
        d = as_data(raw)
        kind = str(d.get("type") or "message")
        metrics = Metrics.parse(d.get("data")) if kind == "metrics" else None
        return cls(str(d.get("id")), int(d.get("created_at") or 0), str(d.get("level") or "info"), kind,
                   str(d.get("message") or ""), metrics)  # fmt: skip


@dataclass(frozen=True)
class Checkpoint:
    """A saved model of a job: its id, step, the model name to deploy and its metrics."""

    id: str
    step: int
    model: str
    metrics: dict[str, Any]

    @classmethod
    def of(cls, raw: Any) -> Checkpoint:
        d = as_data(raw)
        return cls(str(d.get("id")), int(d.get("step_number") or 0), str(d.get("fine_tuned_model_checkpoint")),
                   {k: v for k, v in (d.get("metrics") or {}).items() if v is not None})  # fmt: skip


class Job:
    """An RFT job on a hosted platform. ``status`` is the last one read; ``refresh()`` reads it again."""

    def __init__(self, target: Target, data: Any, *, notes: list[str] | None = None) -> None:
        self.target = target
        self._data = as_data(data)
        self.notes = list(notes or [])
        self.cost: Any = None  # the CostDrivers shown before submit() created it

    @classmethod
    def from_id(cls, job_id: str, *, client: Any = None) -> Job:
        """The job ``job_id`` on the target of ``client`` (or the environment's)."""
        target = resolve_target(client)
        return cls(
            target,
            call(target, f"read job {job_id}", lambda c: c.fine_tuning.jobs.retrieve(job_id), safe=True),
        )

    @property
    def id(self) -> str:
        return str(self._data.get("id"))

    @property
    def status(self) -> str:
        return str(self._data.get("status"))

    @property
    def model(self) -> str:
        return str(self._data.get("model"))

    @property
    def fine_tuned_model(self) -> str | None:
        return self._data.get("fine_tuned_model")

    @property
    def data(self) -> dict[str, Any]:
        """The job object as the platform last sent it."""
        return dict(self._data)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATES

    def refresh(self) -> Job:
        """Read the job again (safe to retry)."""
        self._data = as_data(call(self.target, f"read job {self.id}",
                                lambda c: c.fine_tuning.jobs.retrieve(self.id), safe=True))  # fmt: skip
        return self

    def events(self, *, limit: int = 1000) -> list[JobEvent]:
        """The job's events, oldest first, metrics parsed (pages through the cursor up to ``limit``)."""
        raw = self._pages(
            "events", lambda c, after: c.fine_tuning.jobs.list_events(self.id, **_cursor(after, 100)), limit
        )
        return [JobEvent.of(e) for e in reversed(raw)]

    def metrics(self) -> list[Metrics]:
        """The metrics events' contents, oldest first."""
        return [e.metrics for e in self.events() if e.metrics is not None]

    def checkpoints(self) -> list[Checkpoint]:
        """The job's checkpoints, by step (RFT keeps the best three by valid_reward_mean)."""
        raw = self._pages(
            "checkpoints",
            lambda c, after: c.fine_tuning.jobs.checkpoints.list(self.id, **_cursor(after, 100)),
            1000,
        )
        return sorted((Checkpoint.of(c) for c in raw), key=lambda c: c.step)

    def _pages(self, what: str, fetch: Callable[[Any, Any], Any], limit: int) -> list[Any]:
        out: list[Any] = []
        after: Any = None
        while len(out) < limit:
            page = call(self.target, f"list {what} of job {self.id}", lambda c: fetch(c, after), safe=True)  # noqa: B023
            data = list(page.data)
            out.extend(data)
            if not data or not getattr(page, "has_more", False):
                break
            after = as_data(data[-1]).get("id")
        return out[:limit]

    def wait(
        self,
        *,
        poll: float = 10.0,
        timeout: float | None = 24 * 3600.0,
        on_update: Callable[[Job], object] | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> Job:
        """Poll until the job ends; ``on_update(job)`` after every read. Returns the job.

        Polite: the interval grows by half while nothing changes (up to 60 s) and a 429 waits as the
        server says. A ``timeout`` (seconds) raises :class:`RemoteError`; the job itself keeps running.
        """
        started = time.monotonic()
        interval, last = poll, None
        while True:
            try:
                self.refresh()
            except RateLimited as e:
                interval = max(interval, e.retry_after or interval * 2)
            else:
                if on_update is not None:
                    on_update(self)
                if self.done:
                    return self
                interval = poll if self.status != last else min(interval * 1.5, max(poll, _MAX_POLL))
                last = self.status
            if timeout is not None and time.monotonic() - started + interval > timeout:
                raise RemoteError(f"job {self.id} is still {self.status} after {timeout:g}s; it keeps running "
                                  f"(job.wait() again, or Job.from_id({self.id!r}) later)")  # fmt: skip
            sleep(interval)

    def _act(self, action: str) -> Job:
        if self.target.platform == "azure" and self.model.startswith("gpt-5") and action != "cancel":
            raise RemoteError(f"{action}: gpt-5 RFT on Azure (preview) has no user {action}")
        self._data = as_data(call(self.target, f"{action} job {self.id}",
                                lambda c: getattr(c.fine_tuning.jobs, action)(self.id), safe=False))  # fmt: skip
        return self

    def pause(self) -> Job:
        """Pause a running job (a checkpoint is kept; charges stop). Sent once, never retried."""
        return self._act("pause")

    def resume(self) -> Job:
        """Resume a paused job (on Azure no $5,000 auto-pause follows). Sent once, never retried."""
        return self._act("resume")

    def cancel(self) -> Job:
        """Cancel the job. Sent once, never retried."""
        return self._act("cancel")

    def report(self) -> JobReport:
        """Status, progress and rewards from the metrics events, checkpoints and the latest events."""
        events = self.events()
        return JobReport(
            self, [e.metrics for e in events if e.metrics is not None], self.checkpoints(), events[-5:]
        )

    def __repr__(self) -> str:
        return f"Job({self.id}: {self.status}, {self.model} on {self.target.name})"

    def _repr_html_(self) -> str:
        rows: list[tuple[str, object]] = [("status", self.status), ("model", self.model),
                                          ("target", str(self.target))]  # fmt: skip
        if self.fine_tuned_model:
            rows.append(("fine-tuned model", self.fine_tuned_model))
        rows += [("note", n) for n in self.notes]
        return h.card(f"RFT job {self.id}", self.status, rows)


@dataclass(frozen=True)
class JobReport:
    """One look at a job: what ``%rft job ID`` shows."""

    job: Job
    metrics: list[Metrics]
    checkpoints: list[Checkpoint]
    recent: list[JobEvent]

    def lines(self) -> list[str]:
        out = [repr(self.job)]
        if self.metrics:
            m = self.metrics[-1]
            rewards = [f"{k} {v:.3f}" for k, v in (("train", m.train_reward_mean), ("valid", m.valid_reward_mean))
                       if v is not None]  # fmt: skip
            out.append(
                f"step {m.step}/{m.total_steps}" + (f", reward {', '.join(rewards)}" if rewards else "")
            )
            out += [f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
                    for name, scores in m.graders.items()]  # fmt: skip
        out += [f"checkpoint step {c.step}: {c.model}" for c in self.checkpoints]
        out += [f"[{e.level}] {e.message}" for e in self.recent] + [f"note: {n}" for n in self.job.notes]
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        rows = "".join(f"<div>{h.esc(line)}</div>" for line in self.lines()[1:])
        return h.card(
            f"RFT job {self.job.id}", self.job.status, [("target", str(self.job.target))], body_html=rows
        )


class JobList(list[Job]):
    """Jobs, newest first, that display as a table."""

    def __repr__(self) -> str:
        if not self:
            return "no fine-tuning jobs"
        return "\n".join(f"{j.id}  {j.status:<16} {j.model}" for j in self)

    def _repr_html_(self) -> str:
        return h.table(["job", "status", "model", "fine-tuned model"],
                       [(j.id, j.status, j.model, j.fine_tuned_model or "") for j in self])  # fmt: skip


def list_jobs(client: Any = None, limit: int = 20) -> JobList:
    """The newest ``limit`` fine-tuning jobs of the target (pages through the cursor)."""
    target = resolve_target(client)
    out = JobList()
    after: Any = None
    while len(out) < limit:
        page = call(target, "list fine-tuning jobs",
                    lambda c: c.fine_tuning.jobs.list(**_cursor(after, min(100, limit))), safe=True)  # noqa: B023  # fmt: skip
        data = list(page.data)
        out.extend(Job(target, j) for j in data)
        if not data or not getattr(page, "has_more", False):
            break
        after = as_data(data[-1]).get("id")
    return JobList(out[:limit])
