"""JobMonitor: one hosted RFT job, watched live: status, progress, reward curves, events, checkpoints.

The kernel polls, not the browser: a background thread runs :meth:`Job.wait` (its polite backoff: the
interval grows by half while the status stands still, up to 60 s, and a 429 waits as the server says)
and after every read pushes the job's state into synced traits. Polling stops when the job reaches a
terminal state, when the widget is closed, or after a few reads in a row failed (the error is shown;
the refresh button starts again). Pause, resume and cancel are ``{"op": ...}`` messages, each one
:class:`Job` call; its one-line error lands in ``notice``. The curves are numbers (``series``); the
front end draws them as inline SVG.

Example::

    >>> from rftkit_nb.remote.jobs import Metrics
    >>> curves([Metrics(1, 4, 0.3, 0.2, {"exact": {"train_reward_mean": 0.3}})])["train"]
    [[1, 0.3]]
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

import anywidget
import traitlets as t

from rftkit_nb.errors import RftkitError
from rftkit_nb.notebook.widgets.cluster_matrix import STATIC

__all__ = ["JobMonitor", "curves"]

MAX_FAILURES = 5  # reads in a row that failed before polling stops (the refresh button starts again)
EVENTS_SHOWN = 200
_MAX_BACKOFF = 60.0


class _Stopped(Exception):
    """Raised by the monitor's sleep to end Job.wait when the widget is closed or stopped."""


def curves(metrics: list[Any]) -> dict[str, Any]:
    """Reward curves from parsed metrics events: ``{"train": [[step, mean], ...], "valid": [...],
    "graders": {name: {metric: [[step, value], ...]}}}`` (steps without a value are left out)."""
    out: dict[str, Any] = {"train": [], "valid": [], "graders": {}}
    for m in metrics:
        if m.step is None:
            continue
        for key, value in (("train", m.train_reward_mean), ("valid", m.valid_reward_mean)):
            if value is not None:
                out[key].append([m.step, value])
        for name, scores in m.graders.items():
            per = out["graders"].setdefault(name, {})
            for metric, value in scores.items():
                per.setdefault(metric, []).append([m.step, value])
    return out


def _actions(job: Any) -> list[str]:
    """What the user may do to the job now (the platform refuses the rest anyway)."""
    if job.done:
        return []
    preview = job.target.platform == "azure" and job.model.startswith("gpt-5")  # no user pause/resume
    allowed = {"running": ["pause", "cancel"], "paused": ["resume", "cancel"]}.get(job.status, ["cancel"])
    return ["cancel"] if preview else allowed


class JobMonitor(anywidget.AnyWidget):
    """Watch ``job`` (a :class:`Job`); ``poll`` is the first interval in seconds (it grows while nothing
    changes). ``start=False`` reads once and does not poll until :meth:`watch` (or the refresh button)."""

    _esm = STATIC / "job_monitor.js"
    _css = STATIC / "widgets.css"

    info = t.Dict().tag(sync=True)  # id, model, target, fine-tuned model, notes, error
    status = t.Unicode("").tag(sync=True)
    progress = t.Dict().tag(sync=True)  # {"step", "total_steps"}
    series = t.Dict().tag(sync=True)  # see curves()
    grader_errors = t.Dict().tag(sync=True)  # grader -> error count at the latest step
    events = t.List(t.Dict()).tag(sync=True)  # the latest EVENTS_SHOWN, oldest first
    checkpoints = t.List(t.Dict()).tag(sync=True)
    actions = t.List(t.Unicode()).tag(sync=True)
    polling = t.Bool(False).tag(sync=True)
    notice = t.Dict().tag(sync=True)  # {"level", "text", "seq"}

    def __init__(self, job: Any, *, poll: float = 10.0, start: bool = True, **kwargs: Any) -> None:
        self.job = job
        self._poll = float(poll)
        self._lock = threading.RLock()
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._checkpoint_key: tuple[str, int] | None = None
        super().__init__(**kwargs)
        JobMonitor._live.add(self)
        self._show_job()
        self.on_msg(self._on_message)
        if start:
            self.watch()
        else:
            self.refresh()

    # --- polling ---------------------------------------------------------------------------------

    _live: ClassVar[weakref.WeakSet[JobMonitor]] = weakref.WeakSet()

    @classmethod
    def stop_all(cls, timeout: float | None = 5.0) -> None:
        """Stop every monitor's polling and wait for the pollers to end (before closing a client)."""
        monitors = list(cls._live)
        for monitor in monitors:
            monitor.stop()
        for monitor in monitors:
            monitor.join(timeout)

    def watch(self) -> JobMonitor:
        """Poll in the background until the job ends or the widget is closed (no-op while polling)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._wake.set()  # read again soon
                return self
            self._stop.clear()
            self.polling = True
            self._thread = threading.Thread(target=self._run, name=f"rftkit-job-{self.job.id}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (the job itself keeps running)."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the polling thread to end; True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def refresh(self) -> JobMonitor:
        """Read the job, its events and checkpoints once, now."""
        try:
            self.job.refresh()
            self._update(self.job)
        except RftkitError as e:
            self._say("error", str(e))
        return self

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()
        if self._stop.is_set():
            raise _Stopped

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    self.job.wait(poll=self._poll, timeout=None, on_update=self._update, sleep=self._sleep)
                    return  # the job ended
                except Exception as e:
                    if not isinstance(e, RftkitError):  # e.g. the client was closed: not worth retrying
                        self._say("error", f"polling stopped: {type(e).__name__}: {e}")
                        return
                    failures += 1
                    if failures >= MAX_FAILURES:
                        self._say(
                            "error", f"{e}; stopped polling after {failures} failed reads (↻ tries again)"
                        )
                        return
                    delay = min(self._poll * 2**failures, _MAX_BACKOFF)
                    self._say("error", f"{e}; trying again in {delay:g} s")
                    self._sleep(delay)
        except _Stopped:
            pass
        finally:
            self.polling = False

    # --- what the widget shows -------------------------------------------------------------------

    def _update(self, job: Any) -> None:
        """After every read of the job: its events (metrics parsed) and, when they moved, checkpoints."""
        events = job.events()
        metrics = [e.metrics for e in events if e.metrics is not None]
        latest = metrics[-1] if metrics else None
        key = (job.status, latest.step if latest is not None and latest.step is not None else -1)
        checkpoints = None
        if key != self._checkpoint_key:
            checkpoints = [{"id": c.id, "step": c.step, "model": c.model, "metrics": c.metrics}
                           for c in job.checkpoints()]  # fmt: skip
            self._checkpoint_key = key
        with self._lock, self.hold_sync():
            self._show_job()
            self.series = curves(metrics)
            if latest is not None:
                self.progress = {"step": latest.step, "total_steps": latest.total_steps}
                self.grader_errors = {g: sum(v.values()) for g, v in latest.errors.items() if sum(v.values())}
            self.events = [{"id": e.id, "created_at": e.created_at, "level": e.level, "type": e.type,
                            "message": e.message} for e in events[-EVENTS_SHOWN:]]  # fmt: skip
            if checkpoints is not None:
                self.checkpoints = checkpoints

    def _show_job(self) -> None:
        job = self.job
        error = job.data.get("error")
        message = error.get("message") if isinstance(error, Mapping) else None
        self.info = {"id": job.id, "model": job.model, "target": str(job.target),
                     "fine_tuned_model": job.fine_tuned_model or "", "notes": list(job.notes),
                     "error": str(message or "")}  # fmt: skip
        self.status = job.status
        self.actions = _actions(job)

    def _say(self, level: str, text: str) -> None:
        with self._lock:
            self._seq += 1
            self.notice = {"level": level, "text": text, "seq": self._seq}

    # --- the front end's requests ----------------------------------------------------------------

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        op = content.get("op") if isinstance(content, Mapping) else None
        if op == "refresh":
            self.refresh()
            if not self.job.done:
                self.watch()
            return
        if op not in ("pause", "resume", "cancel"):
            self._say(
                "error", f"unknown job monitor message {content!r}; reload the widget (re-run its cell)"
            )
            return
        try:
            with self._lock:
                getattr(self.job, op)()
                self._show_job()
        except RftkitError as e:
            self._say("error", str(e))
            return
        self._say("ok", f"{op}: job {self.job.id} is {self.job.status}")
        if not self.job.done:
            self.watch()  # read again soon (a paused job's next state, a resumed job's steps)
        else:
            self._wake.set()  # the poller reads once more, sees the end and stops
            self.refresh()  # the final events and checkpoints

    def close(self) -> None:
        """Stop polling, then close the widget."""
        self.stop()
        super().close()

    # --- where widgets do not render -------------------------------------------------------------

    def __repr__(self) -> str:
        step = self.progress.get("step")
        progress = f", step {step}/{self.progress.get('total_steps')}" if step is not None else ""
        watching = ", polling" if self.polling else ""
        return f"JobMonitor of {self.job!r}{progress}{watching}"

    def _repr_html_(self) -> str:
        return str(self.job._repr_html_())
