"""to_verifiers: the @vf.reward method, found and called the way verifiers' Task finds and calls it.

verifiers 0.4 pins an openai SDK older than this project's, so it is not installed here; the tests
follow its scoring code instead: rewards are the task class's methods marked ``reward`` (weight in
``_vf_weight``), called with the arguments they name (``task``: the row's data, ``trace``: the rollout).
"""

from __future__ import annotations

import asyncio
import inspect

import pytest
from pydantic import BaseModel, ConfigDict

from rftkit_nb import score
from rftkit_nb.errors import ConfigError, GradingError
from rftkit_nb.trainers import to_verifiers

from .conftest import MENTIONS


class MathData(BaseModel):  # the shape of a verifiers TaskData subclass: frozen pydantic, extra fields
    model_config = ConfigDict(frozen=True)
    idx: int | None = None
    prompt: str | None = None
    cluster: str | None = None
    question: str | None = None
    answer: str | None = None


class Trace:
    def __init__(self, reply):
        self.last_reply = reply
        self.metrics = {}

    def record_metrics(self, values):
        self.metrics.update(values)


def rewards_of(task):
    """verifiers' discovery: callables on the class marked ``reward``, bound through getattr."""
    names = {
        n
        for klass in type(task).__mro__
        for n, fn in vars(klass).items()
        if callable(fn) and hasattr(fn, "reward")
    }
    return [getattr(task, n) for n in sorted(names)]


def invoke(fn, available):
    params = inspect.signature(fn).parameters
    return fn(**{name: available[name] for name in params if name in available})


def test_to_verifiers_when_task_scores_a_trace_then_reward_is_score_and_metrics_recorded(design, judge, rows):
    Rewards = to_verifiers(design, judge=judge, weight=2.0)
    task = type("MathTask", (Rewards,), {})()
    (method,) = rewards_of(task)
    assert method._vf_weight == 2.0
    row = rows[2]
    data = MathData(idx=0, prompt=row["question"], **{k: row[k] for k in ("cluster", "question", "answer")})
    trace = Trace(row["output_text"])
    value = asyncio.run(invoke(method, {"task": data, "trace": trace}))
    item = {"idx": 0, "prompt": row["question"], **{k: row[k] for k in ("cluster", "question", "answer")}}
    expected = score(design, [{**item, "output_text": row["output_text"]}], judge=judge, progress=False)
    assert value == expected.rewards[0]
    assert trace.metrics["clarity"] == expected.outcomes["clarity"][0].score
    Rewards.rftkit_scorer.close()


def test_to_verifiers_when_row_errors_and_on_error_none_then_rollout_errors():
    Rewards = to_verifiers(MENTIONS, judge=False, on_error="none")
    (method,) = rewards_of(Rewards())
    with pytest.raises(GradingError, match="could not grade this rollout"):
        asyncio.run(method(task={"question": "no answer"}, trace=Trace("x")))


def test_to_verifiers_when_named_then_method_and_class_names_follow():
    Rewards = to_verifiers(MENTIONS, judge=False, name="exactness")
    assert Rewards.__name__ == "MentionsRewards"
    assert [m.__name__ for m in rewards_of(Rewards())] == ["exactness"]


def test_rubric_judge_criteria_when_only_weighted_rubrics_then_criteria_file(tmp_path):
    import json

    from rftkit_nb.core.workbench import Workbench
    from rftkit_nb.trainers.verifiers import rubric_judge_criteria

    wb = Workbench(path=None)
    wb.add_rubric("accuracy", "1.0 = correct; 0.0 = wrong.", weight=2)
    wb.add_rubric("clarity", "1.0 = clear; 0.0 = confusing.")
    criteria = rubric_judge_criteria(wb, tmp_path / "rubric.json", levels=5)
    assert json.loads((tmp_path / "rubric.json").read_text()) == {"criteria": criteria}
    assert [(c["name"], c["text"]) for c in criteria] == [
        ("accuracy", "1.0 = correct; 0.0 = wrong."), ("clarity", "1.0 = clear; 0.0 = confusing.")]  # fmt: skip
    assert [c["weight"] for c in criteria] == pytest.approx([2 / 3, 1 / 3])  # RubricJudge divides by the sum
    assert criteria[0]["choices"] == ["0", "0.25", "0.5", "0.75", "1"]


def test_rubric_judge_criteria_when_design_has_formatting_or_masks_then_config_error(design):
    from rftkit_nb.trainers.verifiers import rubric_judge_criteria

    with pytest.raises(ConfigError, match="holds only judged rubrics; fmt, applies_accuracy"):
        rubric_judge_criteria(design)
