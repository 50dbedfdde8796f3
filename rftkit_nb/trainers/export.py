"""Files a trainer can load: a small python module that embeds the grader JSON and builds the reward.

``export_reward(grader, "reward_verl.py", to="verl")`` writes a module whose only code is one call to
:func:`load_reward` with the grader's JSON as a string literal. Its docstring shows the trainer's
configuration lines that load it. Nothing secret is written: the judge endpoint and key are read from the
environment when the trainer imports the module (``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` or
``AZURE_OPENAI_*``; ``RFTKIT_JUDGE_CONCURRENCY`` for judge requests in flight per process).

Example::

    >>> import tempfile, pathlib
    >>> from rftkit_nb.core.graders import StringCheckGrader
    >>> g = StringCheckGrader(name="exact", input="{{ sample.output_text }}",
    ...                       reference="{{ item.answer }}", operation="eq")
    >>> path = export_reward(g, pathlib.Path(tempfile.mkdtemp()) / "reward_trl.py", to="trl")
    >>> "reward_funcs=[reward]" in path.read_text()
    True
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rftkit_nb.core.project import atomic_write
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers._batch import ON_ERROR, as_grader

__all__ = ["TARGETS", "export_reward", "load_reward"]

TARGETS = ("trl", "verl", "verifiers")
_NAMES = {"trl": "reward", "verl": "compute_score", "verifiers": "RftkitRewards"}
_MARK = "# rftkit_nb reward module"  # first line of every exported file: what may be replaced unasked

_USAGE = {
    "trl": """TRL (GRPOTrainer; RLOOTrainer alike)::

    from {module} import reward
    trainer = GRPOTrainer(model=..., reward_funcs=[reward], train_dataset=dataset,
                          callbacks=[reward.callback()])  # closes the sandbox workers at the end

The dataset's columns (other than the prompt) become the grader's item; the completion is
sample.output_text (the last assistant message of a conversational completion). TRL logs
rewards/{name}/mean and each sub-grader as <sub>/mean.""",
    "verl": """verl (reward config)::

    reward.custom_reward_function.path={path}
    reward.custom_reward_function.name=compute_score

verl calls compute_score(data_source, solution_str, ground_truth, extra_info). Put the item's
columns in each row's extra_info; ground_truth becomes item.{ground_truth_field}. The returned dict
has "score" and one key per sub-grader (NaN where it did not score the row), which verl logs.""",
    "verifiers": """verifiers (v1 Task)::

    from {module} import RftkitRewards
    class MyTask(RftkitRewards, vf.Task[MyData]):
        ...

RftkitRewards has one @vf.reward(weight=1.0) method, rftkit_reward(self, task, trace); the item is
the task's data, sample.output_text is trace.last_reply; sub-grader scores are recorded as metrics.""",
}

_TEMPLATE = '''{mark} (to={to!r}): grader '{grader_name}', written by rftkit_nb.export_reward.
"""The reward of grader '{grader_name}' ({count} sub-graders: {keys}) for {to}, as score() computes it.

{usage}

The judge endpoint and key come from the environment at run time, never from this file:
OPENAI_BASE_URL (e.g. http://localhost:8000/v1 for a vLLM server) and OPENAI_API_KEY, or
AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY. RFTKIT_JUDGE_CONCURRENCY sets the judge requests in
flight per process (default 32). Python graders run in a sandbox pool started once per process.
Re-export from the notebook (%rft export --to {to} PATH) after changing the design.
"""

from rftkit_nb.trainers.export import load_reward

GRADER_JSON = {grader_json}

{name} = load_reward(GRADER_JSON, to={to!r}, on_error={on_error!r}, model_map={model_map!r}{extra})
'''


def export_reward(
    grader: Any,
    path: str | os.PathLike[str],
    *,
    to: str = "trl",
    on_error: str = "zero",
    model_map: Mapping[str, str] | None = None,
    ground_truth_field: str = "ground_truth",
    overwrite: bool = False,
) -> Path:
    """Write a python module at ``path`` that builds ``grader``'s reward for trainer ``to``.

    ``to``: ``"trl"``, ``"verl"`` or ``"verifiers"``. ``on_error`` and ``model_map`` are written into the
    file (they are design, not secrets). A previous export is replaced; any other existing file needs
    ``overwrite=True``. Returns the path.
    """
    if to not in TARGETS:
        raise ConfigError(f"to must be one of {', '.join(TARGETS)}, got {to!r}")
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be 'zero' or 'none', got {on_error!r}")
    target = Path(path)
    if target.suffix != ".py":
        raise ConfigError(f"the reward module must be a .py file, got {str(target)!r}")
    module = target.stem
    if not module.isidentifier():
        raise ConfigError(f"{target.name!r} cannot be imported as a module; name it like reward_{to}.py")
    if target.exists() and not overwrite and not target.read_text(errors="replace").startswith(_MARK):
        raise ConfigError(f"{str(target)!r} exists and is not an exported reward; pass overwrite=True "
                          "(--overwrite) to replace it, or choose another path")  # fmt: skip
    base = as_grader(grader)
    as_grader(base, model_map)  # a model_map naming no judge model fails here, not in the trainer
    keys = list(getattr(base, "graders", {base.name: base}))
    usage = _USAGE[to].format(module=module, name=_doc_safe(base.name), path=_doc_safe(target.resolve()),
                              ground_truth_field=_doc_safe(ground_truth_field))  # fmt: skip
    extra = f", ground_truth_field={ground_truth_field!r}" if to == "verl" else ""
    text = _TEMPLATE.format(
        mark=_MARK, to=to, grader_name=_doc_safe(base.name), count=len(keys), keys=_doc_safe(", ".join(keys)), usage=usage,
        grader_json=repr(json.dumps(base.config, ensure_ascii=False, sort_keys=True)),
        name=_NAMES[to], on_error=on_error, model_map=dict(model_map or {}), extra=extra,
    )  # fmt: skip
    atomic_write(target, text)
    return target


def _doc_safe(value: object) -> str:
    """Text that can sit in the module's comment line and docstring: one line, no quotes or backslashes
    (a grader's name comes from imported JSON and must never end the docstring early)."""
    return " ".join(str(value).split()).replace("\\", "/").replace('"', "'")


def load_reward(
    grader: Any,
    *,
    to: str = "trl",
    on_error: str = "zero",
    model_map: Mapping[str, str] | None = None,
    judge: Any = None,
    **options: Any,
) -> Any:
    """Build the reward for trainer ``to`` from a grader, its config dict or its JSON text (what an
    exported module calls at import). The judge comes from the environment unless ``judge`` is given.
    """
    if isinstance(grader, str):
        try:
            grader = json.loads(grader)
        except json.JSONDecodeError as e:
            raise ConfigError(f"the grader JSON does not parse: {e.msg} at character {e.pos}") from None
    common = dict(judge=judge, on_error=on_error, model_map=model_map, **options)
    if to == "trl":
        from rftkit_nb.trainers.trl import to_trl

        return to_trl(grader, **common)
    if to == "verl":
        from rftkit_nb.trainers.verl import to_verl

        return to_verl(grader, **common)
    if to == "verifiers":
        from rftkit_nb.trainers.verifiers import to_verifiers

        return to_verifiers(grader, **common)
    raise ConfigError(f"to must be one of {', '.join(TARGETS)}, got {to!r}")
