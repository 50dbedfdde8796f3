"""FakeOpenAI's fine-tuning platform: files, RFT jobs (events, checkpoints, pause/resume/cancel), graders.

Routes are the suffix after the layout's prefix (``/v1``, Azure's ``/openai/v1`` or the dated ``/openai``),
so one state machine serves the OpenAI and both Azure layouts. Jobs move on when they are read: every
``GET /fine_tuning/jobs/{id}`` advances a job one tick (validating_files -> queued -> running, one
training step per tick, a metrics event per step, a checkpoint every other step -> succeeded), so tests
and offline demos watch a whole job in milliseconds and deterministically. A paused job stays put.

``graders/run`` grades each sub-grader with :mod:`rftkit_nb.testing._grading` and combines them by the
multi grader's formula.

>>> platform = Platform()
>>> platform.files_create({"purpose": "fine-tune", "filename": "t.jsonl", "content": b"{}"}).body["status"]
'uploaded'
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.core.formula import parse_formula
from rftkit_nb.errors import RftkitError
from rftkit_nb.testing._answers import Reply, error_reply
from rftkit_nb.testing._grading import grade, json_or_none

__all__ = ["FAKE_BASE_MODELS", "FAKE_GRADER_MODELS", "Platform", "platform_route"]

FAKE_BASE_MODELS = frozenset({"o4-mini", "o4-mini-2025-04-16", "gpt-5-2025-08-07"})
FAKE_GRADER_MODELS = frozenset({
    "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14", "o3-mini-2025-01-31", "o3-2025-04-16", "o4-mini-2025-04-16",
    "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "o3-mini",
})  # fmt: skip
RFT_TYPES = frozenset({"string_check", "text_similarity", "python", "score_model", "multi", "endpoint"})
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_HYPER_RANGES: dict[str, tuple[float, float]] = {
    "n_epochs": (1, 50), "batch_size": (1, 256), "learning_rate_multiplier": (1e-9, 1e9),
    "eval_interval": (1, 1e9), "eval_samples": (1, 1e9), "compute_multiplier": (1e-5, 10),
}  # fmt: skip

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/files$"), "files.create"),
    ("GET", re.compile(r"^/files/(?P<id>[^/]+)$"), "files.retrieve"),
    ("POST", re.compile(r"^/fine_tuning/jobs$"), "jobs.create"),
    ("GET", re.compile(r"^/fine_tuning/jobs$"), "jobs.list"),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)$"), "jobs.retrieve"),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)/events$"), "jobs.events"),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)/checkpoints$"), "jobs.checkpoints"),
    ("POST", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)/(?P<action>pause|resume|cancel)$"), "jobs.action"),
    ("POST", re.compile(r"^/fine_tuning/alpha/graders/validate$"), "graders.validate"),
    ("POST", re.compile(r"^/fine_tuning/alpha/graders/run$"), "graders.run"),
]


def platform_route(method: str, suffix: str) -> tuple[str, dict[str, str]] | None:
    """The platform route name and path parameters for ``method suffix``, or None.

    >>> platform_route("POST", "/fine_tuning/jobs/ftjob-1/pause")
    ('jobs.pause', {'id': 'ftjob-1'})
    """
    for verb, pattern, name in _ROUTES:
        found = pattern.match(suffix)
        if found and verb == method:
            params = found.groupdict()
            action = params.pop("action", None)
            return (f"jobs.{action}" if action else name), params
    return None


@dataclass
class _Job:
    body: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0


def bad(message: str, param: str | None = None, code: str | None = None, status: int = 400) -> Reply:
    """A 400 (or ``status``) in OpenAI's error shape, naming ``param`` (the field path) when given."""
    reply = error_reply(status, message, "invalid_request_error", code)
    reply.body["error"]["param"] = param
    return reply


class Platform:
    """The fake platform's state. ``total_steps`` training steps per job; ``stuck_files`` names upload
    filenames that stay ``processing`` for ever; ``gone`` holds route names answered 404 (a retired API);
    ``scorer`` is the judge scorer the server uses for chat completions."""

    def __init__(self, *, total_steps: int = 4, scorer: Callable[[dict], dict] | None = None) -> None:
        self.total_steps = total_steps
        self.scorer = scorer
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, _Job] = {}
        self.stuck_files: set[str] = set()
        self.gone: set[str] = set()
        self.base_models = set(FAKE_BASE_MODELS)
        self.grader_models = set(FAKE_GRADER_MODELS)
        self._counter = 0

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-fake{self._counter:04d}"

    def handle(self, route: str, params: Mapping[str, str], query: Mapping[str, str], body: Any) -> Reply:
        """Answer one platform request (``body`` is JSON, or the parsed multipart form for uploads)."""
        if route in self.gone:
            return bad(f"{route} is not available on this endpoint", code="not_found", status=404)
        if route == "files.create":
            return self.files_create(body)
        if route == "files.retrieve":
            return self.files_retrieve(params["id"])
        if route == "graders.validate":
            return self.graders_validate(body)
        if route == "graders.run":
            return self.graders_run(body)
        if route == "jobs.create":
            return self.jobs_create(body)
        if route == "jobs.list":
            return _page([j.body for j in reversed(self.jobs.values())], query)
        job = self.jobs.get(params.get("id", ""))
        if job is None:
            return bad(f"fine-tuning job {params.get('id')!r} does not exist", "fine_tuning_job_id",
                       "fine_tune_not_found", 404)  # fmt: skip
        if route == "jobs.retrieve":
            self._advance(job)
            return Reply(200, job.body)
        if route == "jobs.events":
            return _page(list(reversed(job.events)), query)
        if route == "jobs.checkpoints":
            return _page(list(reversed(job.checkpoints)), query)
        return self._action(job, route.split(".")[1])

    # -- files -------------------------------------------------------------------------------------
    def files_create(self, form: Any) -> Reply:
        if not isinstance(form, Mapping) or "content" not in form:
            return bad("upload a file as multipart/form-data with 'file' and 'purpose'", "file")
        if form.get("purpose") != "fine-tune":
            return bad(f"purpose {form.get('purpose')!r} is not valid here; use 'fine-tune'", "purpose")
        file_id = self._new_id("file")
        name = str(form.get("filename") or "upload.jsonl")
        self.contents[file_id] = bytes(form["content"])
        self.files[file_id] = {
            "id": file_id, "object": "file", "bytes": len(form["content"]), "created_at": int(time.time()),
            "filename": name, "purpose": "fine-tune", "status": "uploaded", "status_details": None,
        }  # fmt: skip
        return Reply(200, dict(self.files[file_id]))

    def files_retrieve(self, file_id: str) -> Reply:
        record = self.files.get(file_id)
        if record is None:
            return bad(f"no such file: {file_id}", "file_id", "file_not_found", 404)
        if record["filename"] in self.stuck_files:
            record["status"] = "processing"
        elif record["status"] in ("uploaded", "processing"):
            record["status"] = "processed"  # one look is enough for the fake
        return Reply(200, dict(record))

    # -- graders -----------------------------------------------------------------------------------
    def graders_validate(self, body: Any) -> Reply:
        grader = body.get("grader") if isinstance(body, Mapping) else None
        problem = self.grader_problem(grader, "grader")
        if problem is not None:
            return problem
        return Reply(200, {"grader": grader})

    def grader_problem(self, grader: Any, where: str, *, top: bool = True) -> Reply | None:
        """What the service would refuse in ``grader`` (a 400 naming the field path), or None."""
        if not isinstance(grader, Mapping):
            return bad(f"Invalid type for '{where}': expected an object", where)
        kind = grader.get("type")
        if kind not in RFT_TYPES:
            return bad(
                f"Invalid value for '{where}.type': {kind!r} is not a supported grader type", f"{where}.type"
            )
        required = {"string_check": ("input", "reference", "operation"), "text_similarity": ("input",
                    "reference", "evaluation_metric"), "score_model": ("model", "input"), "python": ("source",),
                    "multi": ("graders", "calculate_output"), "endpoint": ("url",)}[kind]  # fmt: skip
        for name in required:
            if name not in grader:
                return bad(f"Missing required parameter: '{where}.{name}'.", f"{where}.{name}")
        if kind == "score_model" and grader["model"] not in self.grader_models:
            return bad(f"Invalid value for '{where}.model': {grader['model']!r} is not available as a grader "
                       "model", f"{where}.model")  # fmt: skip
        if kind == "multi":
            if not top:
                return bad(f"Invalid value for '{where}': multi graders cannot be nested", where)
            subs = grader["graders"]
            if not isinstance(subs, Mapping):
                return bad(f"Invalid type for '{where}.graders': expected an object", f"{where}.graders")
            try:
                unknown = parse_formula(grader["calculate_output"]).variables - set(subs)
            except RftkitError as e:
                return bad(f"Invalid value for '{where}.calculate_output': {e}", f"{where}.calculate_output")
            if unknown:
                return bad(f"Invalid value for '{where}.calculate_output': unknown variables {sorted(unknown)}",
                           f"{where}.calculate_output")  # fmt: skip
            for key, sub in subs.items():
                problem = self.grader_problem(sub, f"{where}.graders.{key}", top=False)
                if problem is not None:
                    return problem
        return None

    def graders_run(self, body: Any) -> Reply:
        if not isinstance(body, Mapping) or "grader" not in body or "model_sample" not in body:
            return bad("graders/run needs 'grader' and 'model_sample'", "model_sample")
        problem = self.grader_problem(body["grader"], "grader")
        if problem is not None:
            return problem
        text = str(body["model_sample"])
        sample = {"output_text": text, "output_json": json_or_none(text), "output_tools": [], "choices": []}
        item = body.get("item") or {}
        grader = body["grader"]
        errors: dict[str, bool] = {}
        started = time.perf_counter()
        sub_rewards: dict[str, float] = {}
        if grader["type"] == "multi":
            for key, sub in grader["graders"].items():
                sub_rewards[key] = self._run_one(sub, sample, item, errors)
            try:
                reward = parse_formula(grader["calculate_output"]).evaluate(sub_rewards)
            except RftkitError:
                errors["formula_parse_error"] = True
                reward = 0.0
        else:
            reward = self._run_one(grader, sample, item, errors)
        metadata = {"name": grader.get("name", grader["type"]), "type": grader["type"], "errors": errors,
                    "execution_time": time.perf_counter() - started, "scores": dict(sub_rewards),
                    "token_usage": None, "sampled_model_name": None}  # fmt: skip
        return Reply(200, {"reward": reward, "metadata": metadata, "sub_rewards": sub_rewards,
                           "model_grader_token_usage_per_model": {}})  # fmt: skip

    def _run_one(self, grader: Mapping[str, Any], sample: dict, item: Any, errors: dict[str, bool]) -> float:
        if grader.get("type") == "endpoint":  # the fake never calls out: flagged, never a silent 0
            errors["endpoint_grader_server_error"] = True
            return 0.0
        try:
            return grade(grader, sample, item, self.scorer)
        except RftkitError:
            errors["invalid_variable_error"] = True
        except (subprocess.SubprocessError, ValueError, TypeError) as e:
            errors["python_grader_runtime_error"] = True
            errors["python_grader_runtime_error_details"] = str(e)[:300]  # type: ignore[assignment]
        return 0.0

    # -- jobs --------------------------------------------------------------------------------------
    def jobs_create(self, body: Any) -> Reply:
        if not isinstance(body, Mapping):
            return bad("the request body must be a JSON object")
        if body.get("model") not in self.base_models:
            return bad(f"Model {body.get('model')!r} is not available for reinforcement fine-tuning", "model",
                       "model_not_available")  # fmt: skip
        for name in ("training_file", "validation_file"):
            file_id = body.get(name)
            if name == "training_file" or file_id is not None:
                record = self.files.get(str(file_id))
                if record is None:
                    return bad(f"Invalid file id {file_id!r} for '{name}'", name, "invalid_file")
                if record["status"] != "processed":
                    return bad(f"File {file_id} is still {record['status']}; wait until it is processed", name,
                               "file_not_ready")  # fmt: skip
        method = body.get("method") or {}
        if method.get("type") != "reinforcement":
            return bad(
                "this fake serves reinforcement fine-tuning only: method.type='reinforcement'", "method.type"
            )
        rft = method.get("reinforcement") or {}
        problem = self.grader_problem(rft.get("grader"), "method.reinforcement.grader")
        if problem is not None:
            return problem
        hyper = dict(rft.get("hyperparameters") or {})
        for name, value in hyper.items():
            low_high = _HYPER_RANGES.get(name)
            if low_high and value != "auto" and not (low_high[0] <= float(value) <= low_high[1]):
                return bad(f"Invalid value for hyperparameter {name}: {value}",
                           f"method.reinforcement.hyperparameters.{name}")  # fmt: skip
        job_id = self._new_id("ftjob")
        echo = {"type": "reinforcement", "reinforcement": {**rft, "hyperparameters": {
            "n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto", "eval_interval": "auto",
            "eval_samples": "auto", "compute_multiplier": "auto", "reasoning_effort": "default", **hyper}}}  # fmt: skip
        job = {
            "id": job_id, "object": "fine_tuning.job", "model": body["model"], "created_at": int(time.time()),
            "finished_at": None, "fine_tuned_model": None, "organization_id": "org-fake", "result_files": [],
            "status": "validating_files", "trained_tokens": None, "training_file": body["training_file"],
            "validation_file": body.get("validation_file"), "seed": body.get("seed", 42), "error": None,
            "estimated_finish": None, "integrations": [], "metadata": body.get("metadata"), "method": echo,
            "hyperparameters": {"n_epochs": hyper.get("n_epochs", "auto")}, "user_provided_suffix": body.get("suffix"),
        }  # fmt: skip
        self.jobs[job_id] = _Job(job)
        self._event(self.jobs[job_id], "message", f"Created fine-tuning job: {job_id}")
        return Reply(200, job)

    def _advance(self, job: _Job) -> None:
        status = job.body["status"]
        if status == "validating_files":
            job.body["status"] = "queued"
            self._event(job, "message", "Files validated; job queued")
        elif status == "queued":
            job.body["status"] = "running"
            self._event(job, "message", "Fine-tuning job started")
        elif status == "running":
            job.step += 1
            self._metrics(job)
            if job.step % 2 == 0 or job.step == self.total_steps:
                self._checkpoint(job)
            if job.step >= self.total_steps:
                job.body.update(status="succeeded", finished_at=int(time.time()),
                                fine_tuned_model=f"ft:{job.body['model']}:fake::{job.body['id'][-4:]}")  # fmt: skip
                self._event(job, "message", "The job has successfully completed")

    def _metrics(self, job: _Job) -> None:
        grader = job.body["method"]["reinforcement"]["grader"]
        keys = list(grader["graders"]) if grader["type"] == "multi" else [grader.get("name", grader["type"])]
        progress = job.step / self.total_steps
        train, valid = 0.3 + 0.5 * progress, 0.25 + 0.5 * progress
        per_grader = {k: {"train_reward_mean": round(train - 0.01 * i, 4), "valid_reward_mean":
                          round(valid - 0.01 * i, 4)} for i, k in enumerate(keys)}  # fmt: skip
        data = {
            "step": job.step, "total_steps": self.total_steps,
            "scores": {"train_reward_mean": round(train, 4), "valid_reward_mean": round(valid, 4),
                       "graders": per_grader},
            "errors": {"graders": {k: {"train_python_grader_runtime_error_count": 0} for k in keys}},
            "usage": {"graders": {}, "samples": {"train_reasoning_tokens_mean": 120.0}},
        }  # fmt: skip
        self._event(job, "metrics", f"Step {job.step}/{self.total_steps}", data)

    def _checkpoint(self, job: _Job) -> None:
        step = job.step
        job.checkpoints.append({
            "id": f"ftckpt-fake{len(job.checkpoints) + 1:03d}", "object": "fine_tuning.job.checkpoint",
            "created_at": int(time.time()), "fine_tuning_job_id": job.body["id"], "step_number": step,
            "fine_tuned_model_checkpoint": f"ft:{job.body['model']}:fake::{job.body['id'][-4:]}:ckpt-step-{step}",
            "metrics": {"step": step, "full_valid_mean_reward": job.events[-1]["data"]["scores"]["valid_reward_mean"]},
        })  # fmt: skip

    def _event(self, job: _Job, kind: str, message: str, data: Any = None) -> None:
        job.events.append({"id": f"ftevent-{job.body['id'][-4:]}-{len(job.events) + 1:04d}",
                           "object": "fine_tuning.job.event", "created_at": int(time.time()), "level": "info",
                           "message": message, "type": kind, "data": data})  # fmt: skip

    def _action(self, job: _Job, action: str) -> Reply:
        status = job.body["status"]
        allowed = {"pause": {"running"}, "resume": {"paused"}, "cancel": {"validating_files", "queued",
                   "running", "paused"}}[action]  # fmt: skip
        if status not in allowed:
            return bad(f"Cannot {action} a job that is {status}", "fine_tuning_job_id", "invalid_state")
        job.body["status"] = {"pause": "paused", "resume": "running", "cancel": "cancelled"}[action]
        self._event(job, "message", f"Job {job.body['status']} on request")
        return Reply(200, job.body)


def _page(items: list[dict[str, Any]], query: Mapping[str, str]) -> Reply:
    """A cursor page, newest first: ``after`` is the id of the last item of the previous page."""
    after = query.get("after")
    if after is not None:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit", "20"))
    page = items[:limit]
    return Reply(200, {"object": "list", "data": page, "has_more": len(items) > limit,
                       "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None})  # fmt: skip
