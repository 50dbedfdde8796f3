"""to_verl: verl's compute_score, called one rollout at a time from several threads, as verl's workers do."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pytest

from rftkit_nb import score
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers import to_verl
from rftkit_nb.trainers.verl import verl_item


def call(reward, row, field="answer"):
    extra = {k: v for k, v in row.items() if k not in (field, "output_text")}
    return reward("quickstart", row["output_text"], row.get(field), extra)


def test_to_verl_when_called_then_dict_has_score_and_every_sub_grader(design, judge, rows):
    reward = to_verl(design, judge=judge, ground_truth_field="answer")
    try:
        out = call(reward, rows[0])
    finally:
        reward.close()
    expected = score(design, rows[:1], judge=judge, progress=False)
    assert out["score"] == expected.rewards[0]
    assert set(out) == {"score", *design.graders}
    assert math.isnan(out["clarity"])  # masked for a math row: NaN, not a silent 0
    assert out["applies_clarity"] == 0.0


def test_to_verl_when_many_threads_call_at_once_then_calls_are_batched(server, judge, rows):
    from .conftest import make_design

    reward = to_verl(make_design(), judge=judge, ground_truth_field="answer")
    many = [dict(rows[i % 4], question=f"{rows[i % 4]['question']} #{i}") for i in range(32)]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            outs = list(pool.map(lambda r: call(reward, r), many))
        assert reward.scorer.batches < len(many)  # concurrent rollouts shared batches
        assert reward.scorer.pool.started == 1
    finally:
        reward.close()
    assert all(isinstance(o["score"], float) for o in outs)


def test_to_verl_when_on_error_none_then_config_error_says_why():
    from .conftest import MENTIONS

    with pytest.raises(ConfigError, match="verl needs a number for every rollout"):
        to_verl(MENTIONS, judge=False, on_error="none")


@pytest.mark.parametrize(
    ("ground_truth", "extra_info", "item"),
    [
        pytest.param("4", {"q": "2+2"}, {"q": "2+2", "ground_truth": "4"}, id="string"),
        pytest.param({"answer": "4", "unit": "m"}, None, {"answer": "4", "unit": "m"}, id="dict-merged"),
        pytest.param(None, {"q": "x"}, {"q": "x"}, id="no-ground-truth"),
    ],
)
def test_verl_item_when_verl_arguments_then_item(ground_truth, extra_info, item):
    assert verl_item(ground_truth, extra_info) == item
