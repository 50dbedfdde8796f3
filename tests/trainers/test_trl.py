"""to_trl: the reward TRL calls, fed the way TRL feeds it, against score() on the same rows.

Real parts throughout: python graders in sandbox worker processes, judges through the openai SDK to the
loopback server. TRL itself runs in test_trl_training.py.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from rftkit_nb import MultiGrader, PythonGrader, ScoreModelGrader, StringCheckGrader, score
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers import to_trl
from rftkit_nb.trainers.trl import completion_text

from .conftest import MENTIONS


def trl_call(reward, rows, *, conversational=False, **extra):
    """Call ``reward`` as GRPOTrainer does: prompts, completions, completion_ids, one list per column."""
    columns = {k: [r.get(k) for r in rows] for k in rows[0] if k != "output_text"}
    outputs = [r["output_text"] for r in rows]
    completions = [[{"role": "assistant", "content": o}] for o in outputs] if conversational else outputs
    metrics, extras = {}, {}
    result = asyncio.run(reward(prompts=[r.get("question", "") for r in rows], completions=completions,
                                completion_ids=[[1, 2] for _ in rows], trainer_state=None,
                                log_metric=lambda n, v: metrics.setdefault(n, []).append(v),
                                log_extra=lambda c, v: extras.setdefault(c, []).extend(v),
                                **columns, **extra))  # fmt: skip
    return result, metrics, extras


@pytest.mark.parametrize(
    "conversational", [pytest.param(False, id="plain"), pytest.param(True, id="conversational")]
)
def test_to_trl_when_called_like_trl_then_rewards_equal_score(design, judge, rows, conversational):
    expected = score(design, rows, judge=judge, progress=False).rewards
    with to_trl(design, judge=judge) as reward:
        result, _, _ = trl_call(reward, rows, conversational=conversational)
    assert result == expected
    assert len(result) == len(rows)
    assert all(isinstance(v, float) for v in result)


def test_to_trl_when_called_then_logs_each_sub_grader_mean_and_column(design, judge, rows):
    report = score(design, rows, judge=judge, progress=False)
    with to_trl(design, judge=judge) as reward:
        _, metrics, extras = trl_call(reward, rows)
    assert set(design.graders) <= {name.removesuffix("/mean") for name in metrics}
    clarity = [o.score for o in report.outcomes["clarity"] if o.state == "scored"]
    assert metrics["clarity/mean"] == [pytest.approx(sum(clarity) / len(clarity))]
    assert extras["clarity"][:2] == [None, None]  # masked for the math rows: no score, not a zero
    assert metrics["rftkit/errored_rows"] == [0.0]


def test_to_trl_when_batches_repeat_then_sandbox_starts_once_and_stays_warm(design, judge, rows):
    reward = to_trl(design, judge=judge)
    try:
        trl_call(reward, rows)
        pids = reward.scorer.sandbox.worker_pids
        trl_call(reward, rows)
        trl_call(reward, rows)
        assert reward.scorer.pool.started == 1
        assert reward.scorer.sandbox.worker_pids == pids
        assert reward.calls == 3
    finally:
        reward.close()
    assert reward.scorer.sandbox is None


def test_to_trl_when_a_row_lacks_an_item_field_then_that_row_errors_and_others_score(judge):
    g = MultiGrader(name="m", graders={"mentions": MENTIONS, "len": PythonGrader(
        name="len", source="def grade(sample, item):\n    return len(item['answer']) / 10")},
        calculate_output="0.5 * mentions + 0.5 * len")  # fmt: skip
    rows = [{"answer": "51", "output_text": "51"}, {"answer": None, "output_text": "51"},
            {"answer": "ok", "output_text": "OK"}]  # fmt: skip
    expected = score(g, rows, judge=False, progress=False)
    assert expected.reward_notes[1]
    assert not expected.reward_notes[0]
    with to_trl(g, judge=False, on_error="zero") as zero, to_trl(g, judge=False, on_error="none") as none:
        assert trl_call(zero, rows)[0] == expected.rewards
        assert trl_call(none, rows)[0] == [expected.rewards[0], None, expected.rewards[2]]


def test_to_trl_when_on_error_none_and_judge_fails_then_row_is_none_and_logged(server, judge, caplog):
    g = ScoreModelGrader(name="q", model="m", input="Grade {{ item.id }}: {{ sample.output_text }}")
    server.inject("bad_request", times=1, match="Grade 2")
    rows = [{"id": i, "output_text": "x"} for i in range(3)]
    with (
        to_trl(g, judge=judge, on_error="none") as reward,
        caplog.at_level(logging.INFO, "rftkit_nb.trainers"),
    ):
        result, metrics, _ = trl_call(reward, rows)
    assert result[2] is None
    assert None not in result[:2]
    assert metrics["rftkit/errored_rows"] == [pytest.approx(1 / 3)]
    assert "on_error='none'" in caplog.text
    assert "1 of 3 rows" in caplog.text


def test_to_trl_when_model_map_then_judge_receives_mapped_model(server, judge):
    g = ScoreModelGrader(name="q", model="gpt-4.1-mini-2025-04-14", input="Grade: {{ sample.output_text }}")
    with to_trl(g, judge=judge, model_map={"gpt-4.1-mini-2025-04-14": "my-judge"}) as reward:
        trl_call(reward, [{"output_text": "x"}])
    assert [r.body["model"] for r in server.requests if r.path.endswith("/chat/completions")] == ["my-judge"]


def test_to_trl_when_model_map_names_no_judge_model_then_config_error_names_it(judge):
    g = ScoreModelGrader(name="q", model="gpt-4o", input="Grade: {{ sample.output_text }}")
    with pytest.raises(ConfigError, match=r"'gpt-4o-typo'.*judge models are: gpt-4o"):
        to_trl(g, judge=judge, model_map={"gpt-4o-typo": "x"})


def test_to_trl_when_judges_and_no_judge_configured_then_config_error():
    g = ScoreModelGrader(name="q", model="m", input="Grade: {{ sample.output_text }}")
    with pytest.raises(ConfigError, match="no judge is configured: set OPENAI_BASE_URL"):
        to_trl(g)


def test_to_trl_when_judge_from_environment_then_uses_it(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    g = ScoreModelGrader(name="q", model="m", input="Grade: {{ sample.output_text }}\nSCORE: 0.25")
    with to_trl(g, concurrency=3) as reward:
        assert reward.scorer.judge.concurrency == 3
        assert trl_call(reward, [{"output_text": "x"}])[0] == [0.25]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        pytest.param({"on_error": "skip"}, "on_error must be 'zero' or 'none'", id="bad-policy"),
        pytest.param({"split": True}, "split=True needs a multi grader", id="split-single"),
    ],
)
def test_to_trl_when_bad_option_then_one_line_config_error(option, message):
    with pytest.raises(ConfigError, match=message):
        to_trl(MENTIONS, judge=False, **option)


def test_to_trl_when_split_on_normalised_formula_then_error_says_use_single_function(design, judge):
    with pytest.raises(ConfigError, match=r"multiplies sub-grader scores together, e.g. a mask.*split=False"):
        to_trl(design, judge=judge, split=True)


def test_to_trl_when_split_on_weighted_sum_then_weighted_functions_add_up_to_score(judge):
    g = MultiGrader(name="m", graders={"mentions": MENTIONS, "len": PythonGrader(
        name="len", source="def grade(sample, item):\n    return len(sample['output_text']) / 10")},
        calculate_output="0.25 * mentions + 0.75 * len")  # fmt: skip
    rows = [{"answer": "51", "output_text": "51"}, {"answer": "ok", "output_text": "no way"}]
    funcs, weights = to_trl(g, judge=judge, split=True)
    try:
        assert [f.__name__ for f in funcs] == ["mentions", "len"]
        assert weights == [0.25, 0.75]
        parts = [trl_call(f, rows)[0] for f in funcs]
        assert funcs[0].scorer.pool is funcs[1].scorer.pool  # one warm pool for the run
    finally:
        for f in funcs:
            f.close()
    total = [sum(w * p[i] for w, p in zip(weights, parts, strict=True)) for i in range(len(rows))]
    assert total == pytest.approx(score(g, rows, judge=False, progress=False).rewards, abs=1e-12)


def test_to_trl_when_a_column_is_named_like_a_sample_field_then_error_names_it():
    with to_trl(MENTIONS, judge=False) as reward, pytest.raises(ConfigError, match=r"'choices'.*rename"):
        trl_call(reward, [{"answer": "a", "choices": ["a", "b"], "output_text": "a"}])


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param([{"role": "assistant", "content": "last"}], "last", id="one-message"),
        pytest.param(
            [
                {"role": "assistant", "content": "a"},
                {"role": "tool", "content": "t"},
                {"role": "assistant", "content": "b"},
            ],
            "b",
            id="last-assistant",
        ),
        pytest.param(
            [
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}],
                }
            ],
            "xy",
            id="parts",
        ),
        pytest.param([{"role": "assistant", "content": None}], "", id="tool-call-only"),
    ],
)
def test_completion_text_when_completion_shape_then_sample_output_text(completion, text):
    assert completion_text(completion) == text


def test_to_trl_when_output_is_json_then_graders_see_output_json(judge):
    g = PythonGrader(
        name="j", source="def grade(sample, item):\n    return float(sample['output_json']['a'])"
    )
    with to_trl(g, judge=False) as reward:
        assert trl_call(reward, [{"output_text": '{"a": 0.5}'}])[0] == [0.5]


def test_to_trl_when_string_check_only_then_name_and_repr_are_readable():
    g = StringCheckGrader(name="exact match", input="{{ sample.output_text }}", reference="x", operation="eq")
    reward = to_trl(g, judge=False)
    assert reward.__name__ == "exact_match"
    assert "on_error='zero'" in repr(reward)
    assert "TRL reward" in reward._repr_html_()


def test_to_trl_when_a_sub_grader_only_runs_hosted_then_config_error_instead_of_silent_zero():
    endpoint = {"type": "endpoint", "name": "ours", "url": "https://example.invalid/grade"}
    grader = {"type": "multi", "name": "m", "graders": {"ours": endpoint, "mentions": MENTIONS.config},
              "calculate_output": "ours + mentions"}  # fmt: skip
    with pytest.raises(ConfigError, match="'ours' of grader 'm' has type 'endpoint', which only the hosted"):
        to_trl(grader, judge=False)
