"""submit(): one RFT job from a grader and two dataset files, checked first, never created twice by accident.

The order: hyperparameters against their ranges, the grader's lint and the target's availability table
(a retired judge or base model, OpenAI past its job cutoff), the files' rows, the idempotency guard, the
cost drivers shown, the uploads (purpose ``fine-tune``, waited on until ``processed``), then one create
call that is never retried blind. The guard is a content key (grader + files + settings + target) kept in
a small record (``$XDG_CACHE_HOME/rftkit_nb/submissions.json``: ids and endpoints, never keys) and in the
job's own metadata, so a create whose answer was lost is found instead of repeated.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from rftkit_nb.core.graders import BaseGrader, config_with_secrets
from rftkit_nb.core.lint import LintReport, lint
from rftkit_nb.core.project import atomic_write
from rftkit_nb.errors import ConfigError, RemoteError
from rftkit_nb.remote.availability import lint_target
from rftkit_nb.remote.calls import call
from rftkit_nb.remote.costs import check_hyperparameters, cost_drivers
from rftkit_nb.remote.datasets import DatasetFile, lint_rows
from rftkit_nb.remote.jobs import Job, list_jobs
from rftkit_nb.remote.targets import Target, resolve_target

__all__ = [
    "METADATA_KEY",
    "as_grader",
    "default_record_path",
    "header_secrets",
    "preflight",
    "submit",
    "upload",
]

METADATA_KEY = "rftkit_submission"


def default_record_path() -> Path:
    """``$XDG_CACHE_HOME/rftkit_nb/submissions.json`` (or ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rftkit_nb" / "submissions.json"


def as_grader(grader: Any) -> BaseGrader:
    """A grader from a grader, its config dict, or a Workbench (as ``score()`` resolves it)."""
    from rftkit_nb.scoring.engine import as_grader as resolve

    return resolve(grader)


def header_secrets(grader: BaseGrader) -> tuple[str, ...]:
    """The endpoint graders' header values in ``grader``: masked in every error message."""
    found: list[str] = []

    def walk(config: Any) -> None:
        if isinstance(config, Mapping):
            if config.get("type") == "endpoint":
                found.extend(str(v) for v in (config.get("headers") or {}).values())
            for sub in (config.get("graders") or {}).values() if config.get("type") == "multi" else ():
                walk(sub)

    walk(config_with_secrets(grader))
    return tuple(found)


def preflight(grader: BaseGrader, target: Target, *, model: str | None, apis: tuple[str, ...],
              today: date | None) -> LintReport:  # fmt: skip
    """Local lint plus the target's availability table, in one report."""
    report = lint(grader)
    report.extend(lint_target(grader, target.platform, model=model, apis=apis, today=today))
    return report


def _refuse(report: LintReport, what: str) -> None:
    if report.errors:
        shown = "; ".join(f"{f.where}: {f.message}" for f in report.errors[:3])
        more = f" (+{len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise ConfigError(f"{what}: {shown}{more}")


def _file(given: Any, split: str) -> tuple[Path, str, list[dict[str, Any]]]:
    path = given.path if isinstance(given, DatasetFile) else Path(given)
    if not path.is_file():
        raise ConfigError(
            f"{split}={str(given)!r} is not a file; pass a path or what write_dataset() returned"
        )
    text = path.read_text(encoding="utf-8")
    try:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as e:
        raise ConfigError(f"{split} file {path} is not JSONL: {e}") from None
    return path, hashlib.sha256(text.encode()).hexdigest(), rows


def upload(target: Target, path: Path, *, timeout: float = 600.0, poll: float = 1.0,
           sleep: Callable[[float], object] = time.sleep) -> str:  # fmt: skip
    """Upload one JSONL file (purpose fine-tune) and wait until it is processed; its file id."""
    data = path.read_bytes()
    made = call(target, f"upload {path.name}",
                lambda c: c.files.create(file=(path.name, io.BytesIO(data)), purpose="fine-tune"), safe=False)  # fmt: skip
    started = time.monotonic()
    status, looked = made.status, False
    while status != "processed":
        if status in ("error", "deleted"):
            detail = getattr(made, "status_details", None) or "no detail"
            raise RemoteError(f"upload {path.name}: {target.name} could not process it ({status}): {detail}")
        if time.monotonic() - started > timeout:
            raise RemoteError(f"upload {path.name}: file {made.id} is still {status} after {timeout:g}s; nothing "
                              "was submitted (try again later: the upload is reused only if you pass its id)")  # fmt: skip
        if looked:  # the first look is at once: most uploads are processed by then
            sleep(poll)
        made = call(target, f"check upload {made.id}", lambda c: c.files.retrieve(made.id), safe=True)  # noqa: B023
        status, looked = made.status, True
    return str(made.id)


class _Record:
    """The idempotency record: content key -> job id, endpoint, model, when. No credentials, ever."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def put(self, key: str, entry: dict[str, Any]) -> None:
        records = self.read()
        records[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(records, indent=2, sort_keys=True))


def _find_remote(target: Target, key: str) -> Job | None:
    """A job on the target carrying this submission key in its metadata (a create whose answer was lost)."""
    for job in list_jobs(client=target, limit=100):
        if (job.data.get("metadata") or {}).get(METADATA_KEY) == key:
            return job
    return None


def submit(
    grader: Any,
    *,
    train: Any,
    validation: Any,
    model: str,
    client: Any = None,
    hyperparameters: Mapping[str, Any] | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    metadata: Mapping[str, str] | None = None,
    response_format: Mapping[str, Any] | None = None,
    force: bool = False,
    today: date | None = None,
    record: str | Path | None = None,
    show: Callable[[Any], object] | None = print,
    upload_timeout: float = 600.0,
) -> Job:
    """Create an RFT job for ``grader`` on the target of ``client`` (or the environment); the :class:`Job`.

    ``train`` / ``validation``: paths or what :func:`write_dataset` returned. The same submission twice
    returns the first job (``force=True`` creates another). ``show`` receives the cost drivers before the
    job is created; ``today`` is the date the availability table is read for.

    Example::

        job = submit(wb, train=train, validation=valid, model="o4-mini-2025-04-16",
                     client=openai.AzureOpenAI(...))
        job.wait().checkpoints()
    """
    target = resolve_target(client)
    g = as_grader(grader)
    hyper = check_hyperparameters(hyperparameters)
    user_meta = _checked_settings(suffix, metadata)
    _refuse(preflight(g, target, model=model, apis=("jobs.create",), today=today),
            f"not submitted to {target.name}")  # fmt: skip
    (train_path, train_hash, train_rows), (valid_path, valid_hash, valid_rows) = (
        _file(train, "train"), _file(validation, "validation"))  # fmt: skip
    for split, rows in (("train", train_rows), ("validation", valid_rows)):
        _refuse(lint_rows(rows, g, max_rows=50_000 if split == "train" else 1_000), f"{split} file")
    settings = {"grader": g.config, "train": train_hash, "validation": valid_hash, "model": model,
                "hyperparameters": hyper, "suffix": suffix, "seed": seed, "metadata": user_meta,
                "response_format": response_format, "target": [target.platform, target.endpoint]}  # fmt: skip
    key = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:32]
    store = _Record(Path(record) if record is not None else default_record_path())
    earlier = None if force else _submitted_before(store, target, key)
    if earlier is not None:
        return earlier
    cost = cost_drivers(g, train_rows=len(train_rows), valid_rows=len(valid_rows), hyperparameters=hyper,
                        platform=target.platform, model=model)  # fmt: skip
    if show is not None:
        show(cost)
    reinforcement: dict[str, Any] = {"grader": config_with_secrets(g)}
    if hyper:
        reinforcement["hyperparameters"] = hyper
    if response_format is not None:
        reinforcement["response_format"] = dict(response_format)  # not in the SDK's TypedDict; sent as is
    payload: dict[str, Any] = {"model": model, "training_file": upload(target, train_path, timeout=upload_timeout),
                               "validation_file": upload(target, valid_path, timeout=upload_timeout),
                               "method": {"type": "reinforcement", "reinforcement": reinforcement},
                               "metadata": {**user_meta, METADATA_KEY: key}}  # fmt: skip
    payload.update({k: v for k, v in (("suffix", suffix), ("seed", seed)) if v is not None})
    job = Job(target, _create(target, payload, key, header_secrets(g)), notes=[f"submission key {key}"])
    job.cost = cost
    store.put(key, {"job_id": job.id, "platform": target.platform, "endpoint": target.endpoint, "model": model,
                    "submitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})  # fmt: skip
    return job


def _checked_settings(suffix: str | None, metadata: Mapping[str, str] | None) -> dict[str, str]:
    if suffix is not None and len(suffix) > 64:
        raise ConfigError(f"suffix is {len(suffix)} characters; at most 64")
    user_meta = dict(metadata or {})
    if len(user_meta) > 15:
        raise ConfigError(f"metadata has {len(user_meta)} pairs; at most 15 (one is kept for {METADATA_KEY})")
    return user_meta


def _submitted_before(store: _Record, target: Target, key: str) -> Job | None:
    """The job this exact submission already created: in the local record, or on the platform."""
    earlier = store.read().get(key)
    if earlier is not None:
        job = Job.from_id(earlier["job_id"], client=target)
        job.notes.append(f"already submitted on {earlier['submitted_at']} as {job.id} (same grader, files, "
                         "settings and target): returned it; submit(..., force=True) creates another")  # fmt: skip
        return job
    found = _find_remote(target, key)
    if found is not None:
        found.notes.append(f"{found.id} on {target.name} carries this submission's key: returned it; "
                           "submit(..., force=True) creates another")  # fmt: skip
    return found


def _create(target: Target, payload: dict[str, Any], key: str, secrets: tuple[str, ...]) -> Any:
    """One create call, never retried; when its answer is lost, the job is looked for, not created again."""
    try:
        return call(target, "create the RFT job", lambda c: c.fine_tuning.jobs.create(**payload), safe=False,
                    secrets=secrets)  # fmt: skip
    except RemoteError as e:
        status = getattr(e, "status", None)
        if status is not None and status < 500:
            raise
        found = _find_remote(target, key)  # no answer, or a server error: was the job created anyway?
        if found is None:
            raise RemoteError(f"{e}; no job carrying submission key {key} exists on {target.name}, so none was "
                              "created: submit() again (it looks for the job before creating one)") from None  # fmt: skip
        return found.data
