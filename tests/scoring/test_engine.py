"""score(): every grader type on real rows, faults, masking, caching, notebooks, interrupts.

The judge is the real openai SDK talking to the loopback server; python graders run in real sandbox
worker processes.
"""

from __future__ import annotations

import _thread
import asyncio
import json
import math
import threading

import pandas as pd
import pytest

from rftkit_nb import (
    AggregatorGrader,
    ClusterMap,
    FormattingGrader,
    IndicatorGrader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    RubricGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from rftkit_nb.errors import ConfigError
from rftkit_nb.scoring.engine import ascore, score
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.testing.openai_server import FakeOpenAI

EXACT = StringCheckGrader(
    name="exact", input="{{ sample.output_text }}", reference="{{ item.answer }}", operation="eq"
)


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


@pytest.fixture
def judge(server, tmp_path):
    return Judge(base_url=server.base_url, api_key="sk-test-engine", cache=tmp_path / "judge.sqlite3",
                 timeout=2.0, max_retries=2)  # fmt: skip


def rubric(name: str, weight: float = 1.0) -> RubricGrader:
    return RubricGrader(name=name, rubric=f"The {name} rubric.", weight=weight)


def scored(report, key: str) -> list:
    return [None if pd.isna(v) else v for v in report.frame[f"{key}.score"]]


# --- every grader type, against hand-computed values ----------------------------------------------


def test_score_when_string_check_eq_then_rewards_are_exact_matches():
    rows = [{"answer": "4", "output_text": "4"}, {"answer": "4", "output_text": "four"}]
    report = score(EXACT, rows, judge=False, progress=False)
    assert report.frame["reward"].tolist() == [1.0, 0.0]
    assert report.frame["flagged"].tolist() == [False, False]


def test_score_when_text_similarity_fuzzy_then_matches_rapidfuzz_ratio():
    g = TextSimilarityGrader(
        name="sim",
        input="{{ sample.output_text }}",
        reference="{{ item.ref }}",
        evaluation_metric="fuzzy_match",
    )
    report = score(g, [{"ref": "abcd", "output_text": "abcf"}], judge=False, progress=False)
    # ratio = 2 * matches / total length = 2 * 3 / 8
    assert report.frame["reward"].iloc[0] == pytest.approx(0.75)


def test_score_when_python_grader_then_runs_in_sandbox_and_returns_its_value():
    g = PythonGrader(
        name="length",
        source="def grade(sample, item):\n    print('seen', item['id'])\n    return len(sample['output_text']) / 10\n",
    )
    report = score(
        g,
        [{"id": 1, "output_text": "abc"}, {"id": 2, "output_text": "abcdefgh"}],
        judge=False,
        progress=False,
    )
    assert report.frame["reward"].tolist() == [pytest.approx(0.3), pytest.approx(0.8)]
    assert "seen 2" in report.row(1).graders[0]["outcome"].info["stdout"]


def test_score_when_score_model_then_judge_result_and_steps_are_reported(judge, server):
    g = ScoreModelGrader(name="q", model="gpt-4.1-mini-2025-04-14", input="Grade.\n{{ sample.output_text }}")
    rows = [{"output_text": "SCORE: 0.8"}, {"output_text": "SCORE: 0.25"}]
    report = score(g, rows, judge=judge, progress=False)
    assert report.frame["reward"].tolist() == [0.8, 0.25]
    explanation = report.row(0)
    assert explanation.graders[0]["outcome"].info["steps"][0]["description"]
    assert ("input[0].content", "Grade.\nSCORE: 0.8") in explanation.graders[0]["rendered"]


def test_score_when_score_model_result_out_of_range_then_clamped(judge):
    g = ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}", range=[0, 1])
    report = score(g, [{"output_text": "SCORE: 7.5"}], judge=judge, progress=False)
    assert report.frame["reward"].iloc[0] == 1.0
    assert report.row(0).graders[0]["outcome"].info["clamped"] is True


def test_score_when_label_model_then_passing_label_scores_one(judge):
    g = LabelModelGrader(
        name="pol",
        model="m",
        input="{{ sample.output_text }}",
        labels=["polite", "rude"],
        passing_labels=["polite"],
    )
    report = score(
        g, [{"output_text": "LABEL: polite"}, {"output_text": "LABEL: rude"}], judge=judge, progress=False
    )
    assert report.frame["reward"].tolist() == [1.0, 0.0]


def test_score_when_cosine_then_uses_embeddings_endpoint(judge, server):
    g = TextSimilarityGrader(
        name="cos", input="{{ sample.output_text }}", reference="{{ item.ref }}", evaluation_metric="cosine"
    )
    report = score(g, [{"ref": "same", "output_text": "same"}], judge=judge, progress=False)
    assert report.frame["reward"].iloc[0] == pytest.approx(1.0)
    assert server.count("embeddings") >= 1


def test_score_when_multi_then_reward_is_formula_of_sub_scores(judge):
    g = MultiGrader(
        name="m",
        graders={
            "exact": EXACT,
            "q": ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}"),
        },
        calculate_output="0.25 * exact + 0.75 * q",
    )
    rows = [
        {"answer": "SCORE: 0.4", "output_text": "SCORE: 0.4"},
        {"answer": "x", "output_text": "SCORE: 0.4"},
    ]
    report = score(g, rows, judge=judge, progress=False)
    assert report.frame["reward"].tolist() == [pytest.approx(0.25 + 0.75 * 0.4), pytest.approx(0.75 * 0.4)]


# --- clusters and masking ----------------------------------------------------------------------------


def seed_grader(clusters: ClusterMap) -> AggregatorGrader:
    graders = [
        FormattingGrader(name="fmt", weight=0.5),
        rubric("accuracy"),
        rubric("clarity", weight=0.5),
        IndicatorGrader(name="applies_accuracy", rubric_name="accuracy", cluster_map=clusters),
        IndicatorGrader(name="applies_clarity", rubric_name="clarity", cluster_map=clusters),
    ]
    return AggregatorGrader(name="reward", graders=graders, formatting_grader_name="fmt",
                            rubric_to_indicator_map={"accuracy": "applies_accuracy", "clarity": "applies_clarity"})  # fmt: skip


def test_score_when_rubric_masked_for_cluster_then_judge_not_called_and_reward_normalised(judge, server):
    clusters = ClusterMap.from_dict({"math": ["accuracy"], "essay": ["accuracy", "clarity"]})
    rows = [
        {"cluster": "math", "output_text": "first\nSCORE: 0.6"},
        {"cluster": "essay", "output_text": "second\nSCORE: 0.6"},
    ]
    report = score(seed_grader(clusters), rows, judge=judge, progress=False)
    frame = report.frame
    assert frame["clarity.state"].tolist() == ["not_applicable", "scored"]
    assert server.count("chat") == 3  # accuracy twice, clarity once
    assert frame["fmt.score"].tolist() == [0.0, 0.0]  # not JSON
    assert frame["reward"].iloc[0] == pytest.approx((0.5 * 0 + 0.6) / 1.5)
    assert frame["reward"].iloc[1] == pytest.approx((0.5 * 0 + 0.6 + 0.5 * 0.6) / 2.0)
    calls = report.summary().judge_calls
    assert (calls.needed, calls.sent, calls.cached, calls.hosted) == (3, 3, 0, 4)


def test_score_when_cluster_claimed_in_output_then_item_cluster_wins(judge, server):
    clusters = ClusterMap.from_dict({"math": ["accuracy"], "essay": ["accuracy", "clarity"]})
    rows = [{"cluster": "math", "output_text": json.dumps({"cluster": "essay", "text": "SCORE: 1"})}]
    report = score(seed_grader(clusters), rows, judge=judge, progress=False)
    assert report.frame["clarity.state"].iloc[0] == "not_applicable"


def test_score_when_no_judge_then_judges_skipped_with_hint_and_reward_withheld():
    g = MultiGrader(name="m", graders={"exact": EXACT, "q": rubric("q")}, calculate_output="exact + q")
    report = score(g, [{"answer": "a", "output_text": "a"}], judge=False, progress=False)
    frame = report.frame
    assert frame["q.state"].iloc[0] == "skipped"
    assert "no judge configured" in report.row(0).graders[1]["outcome"].detail
    assert pd.isna(frame["reward"].iloc[0])
    assert bool(frame["flagged"].iloc[0])
    assert frame["exact.score"].iloc[0] == 1.0


def test_score_when_judge_is_none_and_no_env_then_skipped(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    report = score(rubric("q"), [{"output_text": "a"}], progress=False)
    assert report.frame["q.state"].iloc[0] == "skipped"


# --- faults end as the right state while the run completes -----------------------------------------


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        pytest.param("server_error", "model_grader_server_error", id="500"),
        pytest.param("malformed", "model_grader_parse_error", id="malformed-json"),
        pytest.param("refusal", "model_grader_refusal_error", id="refusal"),
        pytest.param("bad_request", "model_grader_server_error", id="400"),
    ],
)
def test_score_when_judge_fault_on_one_row_then_that_row_errors_and_others_score(
    judge, server, fault, category
):
    server.inject(fault, times=10, match="row-two")
    g = ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}")
    rows = [
        {"output_text": "row-one SCORE: 0.5"},
        {"output_text": "row-two"},
        {"output_text": "row-three\nSCORE: 0.5"},
    ]
    report = score(g, rows, judge=judge, progress=False)
    frame = report.frame
    assert frame["q.state"].tolist() == ["scored", "error", "scored"]
    assert frame["q.error"].iloc[1] == category
    assert bool(frame["flagged"].iloc[1])
    assert not bool(frame["flagged"].iloc[2])
    assert frame["reward"].iloc[1] == 0.0  # as the service counts it, but flagged


def test_score_when_rate_limited_with_retry_after_then_retried_and_scored(judge, server):
    server.inject("rate_limit", times=2, retry_after=0.05)
    report = score(
        ScoreModelGrader(name="q", model="m", input="SCORE: 0.3"),
        [{"output_text": "x"}],
        judge=judge,
        progress=False,
    )
    assert report.frame["reward"].iloc[0] == pytest.approx(0.3)
    assert server.count("chat") == 3


def test_score_when_judge_hangs_past_timeout_then_server_error(server, tmp_path):
    server.hang_seconds = 5
    server.inject("hang", times=5)
    judge = Judge(base_url=server.base_url, api_key="sk-test-engine", cache=False, timeout=0.3, max_retries=0)
    report = score(
        ScoreModelGrader(name="q", model="m", input="hi"), [{"output_text": "x"}], judge=judge, progress=False
    )
    assert report.frame["q.error"].iloc[0] == "model_grader_server_error"


def test_score_when_template_variable_missing_then_invalid_variable_error_for_that_row():
    report = score(
        EXACT, [{"answer": "a", "output_text": "a"}, {"output_text": "a"}], judge=False, progress=False
    )
    assert report.frame["exact.state"].tolist() == ["scored", "error"]
    assert report.frame["exact.error"].iloc[1] == "invalid_variable_error"
    assert "answer" in report.row(1).graders[0]["outcome"].detail


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        pytest.param("while True:\n            pass", "timed out", id="infinite-loop"),
        pytest.param("raise ValueError('boom')", "boom", id="raises"),
        pytest.param("return float('nan')", "nan", id="nan"),
        pytest.param("b = bytearray(10 * 1024 ** 3)\n        return 1.0", "memory", id="10-GB"),
        pytest.param("import socket\n        socket.socket()\n        return 1.0", "network", id="socket"),
    ],
)
def test_score_when_python_grader_misbehaves_on_one_row_then_kernel_lives_and_others_score(body, needle):
    source = f"def grade(sample, item):\n    if item['bad']:\n        {body}\n    return 0.5\n"
    g = PythonGrader(name="py", source=source)
    rows = [
        {"bad": False, "output_text": "a"},
        {"bad": True, "output_text": "b"},
        {"bad": False, "output_text": "c"},
    ]
    report = score(g, rows, judge=False, progress=False, timeout=2.0)
    frame = report.frame
    assert frame["py.state"].tolist() == ["scored", "error", "scored"]
    assert frame["py.error"].iloc[1] == "python_grader_runtime_error"
    assert needle in report.row(1).graders[0]["outcome"].detail.lower()


# --- cache, event loops, interrupts --------------------------------------------------------------------


def test_score_when_one_rubric_edited_then_only_that_rubric_calls_the_judge(judge, server):
    rows = [{"output_text": f"answer {i}"} for i in range(5)]
    first = MultiGrader(
        name="m", graders={"a": rubric("a"), "b": rubric("b")}, calculate_output="(a + b) / 2"
    )
    score(first, rows, judge=judge, progress=False)
    assert server.count("chat") == 10
    server.clear()
    edited = RubricGrader(name="b", rubric="The b rubric, made stricter.")
    report = score(MultiGrader(name="m", graders={"a": rubric("a"), "b": edited}, calculate_output="(a + b) / 2"),
                   rows, judge=judge, progress=False)  # fmt: skip
    assert server.count("chat") == 5
    assert not report.frame["flagged"].any()


def test_score_when_called_inside_running_event_loop_then_works(judge):
    async def notebook_cell():
        return score(
            ScoreModelGrader(name="q", model="m", input="SCORE: 0.9"),
            [{"output_text": "x"}],
            judge=judge,
            progress=False,
        )

    report = asyncio.run(notebook_cell())
    assert report.frame["reward"].iloc[0] == pytest.approx(0.9)


def test_ascore_when_awaited_then_same_result_as_score(judge):
    g = ScoreModelGrader(name="q", model="m", input="SCORE: 0.2")
    report = asyncio.run(ascore(g, [{"output_text": "x"}], judge=judge, progress=False))
    assert report.frame["reward"].iloc[0] == pytest.approx(0.2)


def test_score_when_interrupted_then_returns_finished_rows_and_next_run_resumes(tmp_path):
    with FakeOpenAI(latency=0.2) as server:
        judge = Judge(
            base_url=server.base_url, api_key="sk-test-engine", cache=tmp_path / "c.sqlite3", concurrency=2
        )
        rows = [{"output_text": f"row {i}"} for i in range(20)]
        g = rubric("q")
        timer = threading.Timer(0.7, _thread.interrupt_main)
        timer.start()
        try:
            report = score(g, rows, judge=judge, progress=False)
        finally:
            timer.cancel()
        assert report.interrupted
        states = report.frame["q.state"].tolist()
        finished = states.count("scored")
        assert 0 < finished < 20
        assert "unfinished" in states
        assert report.frame["reward"].isna().sum() == 20 - finished
        server.clear()
        again = score(g, rows, judge=judge, progress=False)
        assert not again.interrupted
        assert again.frame["q.state"].eq("scored").all()
        assert server.count("chat") == 20 - finished


# --- inputs and outputs ----------------------------------------------------------------------------


def test_score_when_rows_are_dataframe_or_jsonl_then_same_rewards(tmp_path):
    rows = [{"answer": "a", "output_text": "a"}, {"answer": "b", "output_text": "c"}]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    frame = pd.DataFrame(rows, index=["r1", "r2"])
    by_frame = score(EXACT, frame, judge=False, progress=False)
    by_path = score(EXACT, path, judge=False, progress=False)
    assert by_frame.frame["reward"].tolist() == by_path.frame["reward"].tolist() == [1.0, 0.0]
    assert list(by_frame.frame.index) == ["r1", "r2"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param([{"answer": "a"}], "no output column 'output_text'", id="no-output-column"),
        pytest.param({"answer": "a"}, "single dict", id="one-dict"),
        pytest.param("missing.jsonl", "does not exist", id="missing-file"),
    ],
)
def test_score_when_rows_are_bad_then_config_error_names_the_fix(rows, message):
    with pytest.raises(ConfigError, match=message):
        score(EXACT, rows, judge=False, progress=False)


def test_score_when_output_column_option_then_reads_that_column():
    report = score(
        EXACT, [{"answer": "a", "completion": "a"}], output="completion", judge=False, progress=False
    )
    assert report.frame["reward"].iloc[0] == 1.0


def test_report_when_displayed_then_html_is_escaped_and_jsonl_round_trips(tmp_path):
    rows = [{"answer": "<script>alert(1)</script>", "output_text": "<script>alert(1)</script>"}]
    report = score(EXACT, rows, judge=False, progress=False)
    html = report._repr_html_() + report.row(0)._repr_html_() + report.summary()._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "ScoreReport('exact')" in repr(report)
    lines = report.to_jsonl(tmp_path / "out.jsonl").splitlines()
    assert json.loads(lines[0])["graders"]["exact"]["state"] == "scored"
    assert (tmp_path / "out.jsonl").read_text().strip() == lines[0]


def test_summary_when_clusters_present_then_stats_per_cluster_and_error_rates():
    rows = [{"cluster": "a", "answer": "x", "output_text": "x"}, {"cluster": "a", "answer": "x", "output_text": "y"},
            {"cluster": "b", "output_text": "y"}]  # fmt: skip
    summary = score(EXACT, rows, judge=False, progress=False).summary()
    assert summary.reward.loc["a", "mean"] == pytest.approx(0.5)
    assert summary.reward.loc["(all)", "count"] == 3
    assert summary.graders.loc["exact", "error"] == 1
    assert math.isclose(summary.graders.loc["exact", "error_rate"], 1 / 3)


def test_score_when_given_workbench_like_object_then_uses_its_grader():
    class Bench:
        def grader(self):
            return EXACT

    assert (
        score(Bench(), [{"answer": "a", "output_text": "a"}], judge=False, progress=False)
        .frame["reward"]
        .iloc[0]
        == 1.0
    )


# --- more inputs: configs, clients, content parts, odd rows ---------------------------------------


def test_score_when_given_config_dict_then_same_as_grader():
    report = score(EXACT.config, [{"answer": "a", "output_text": "a"}], judge=False, progress=False)
    assert report.frame["reward"].iloc[0] == 1.0


def test_score_when_given_something_else_then_config_error():
    with pytest.raises(ConfigError, match="cannot score with a int"):
        score(42, [{"output_text": "a"}], judge=False, progress=False)


def test_score_when_grader_type_unknown_then_skipped_not_guessed():
    from rftkit_nb import grader_from_config

    # endpoint graders are scored now (tests/scoring/test_endpoint.py); a type from the future is not
    future = grader_from_config(
        {"type": "future_grader_type", "name": "ep", "url": "https://example.invalid"}
    )
    report = score(future, [{"output_text": "a"}], judge=False, progress=False)
    assert report.frame["ep.state"].iloc[0] == "skipped"
    assert pd.isna(report.frame["reward"].iloc[0])


def test_score_when_judge_prompt_variable_missing_then_error_without_calling_judge(judge, server):
    g = ScoreModelGrader(name="q", model="m", input="{{ item.question }} {{ sample.output_text }}")
    report = score(g, [{"output_text": "a"}], judge=judge, progress=False)
    assert report.frame["q.error"].iloc[0] == "invalid_variable_error"
    assert server.count("chat") == 0


def test_score_when_formula_fails_on_a_row_then_reward_withheld_and_flagged():
    g = MultiGrader(name="m", graders={"a": EXACT}, calculate_output="1 / a")
    report = score(
        g,
        [{"answer": "x", "output_text": "x"}, {"answer": "x", "output_text": "y"}],
        judge=False,
        progress=False,
    )
    assert report.frame["reward"].iloc[0] == 1.0
    assert pd.isna(report.frame["reward"].iloc[1])
    assert report.frame["note"].iloc[1].startswith("formula failed")


def test_score_when_content_parts_then_each_part_is_rendered(judge, server):
    g = ScoreModelGrader(name="q", model="m", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "Answer: {{ sample.output_text }}"},
        {"type": "input_image", "image_url": "{{ item.image }}", "detail": "low"},
    ]}])  # fmt: skip
    score(
        g, [{"image": "https://img.example/1.png", "output_text": "SCORE: 0.5"}], judge=judge, progress=False
    )
    parts = server.requests[-1].body["messages"][0]["content"]
    assert parts[0]["text"] == "Answer: SCORE: 0.5"
    assert parts[1]["image_url"]["url"] == "https://img.example/1.png"


def test_score_when_judge_is_an_openai_client_then_it_is_used(server, tmp_path, monkeypatch):
    import openai

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-client")
    try:
        report = score(
            ScoreModelGrader(name="q", model="m", input="SCORE: 0.4"),
            [{"output_text": "x"}],
            judge=client,
            progress=False,
        )
    finally:
        client.close()
    assert report.frame["reward"].iloc[0] == pytest.approx(0.4)
    assert server.count("chat") == 1


def test_score_when_sandbox_given_then_reused_and_left_open():
    from rftkit_nb.scoring.sandbox import Sandbox

    g = PythonGrader(name="p", source="def grade(sample, item):\n    return 0.5\n")
    with Sandbox(workers=1, timeout=5) as sandbox:
        for _ in range(2):
            assert (
                score(g, [{"output_text": "a"}], judge=False, progress=False, sandbox=sandbox)
                .frame["reward"]
                .iloc[0]
                == 0.5
            )
        assert sandbox.worker_pids  # still running: the caller owns it


def test_score_when_rows_have_nan_numpy_and_structured_output_then_cleaned():
    import numpy as np

    frame = pd.DataFrame({"answer": ["a", None], "n": [np.int64(3), np.int64(4)],
                          "output_text": [{"answer": "a"}, "plain"], "output_tools": [[{"id": "t"}], None]})  # fmt: skip
    g = PythonGrader(name="p", source=(
        "def grade(sample, item):\n"
        "    assert isinstance(item['n'], int)\n"
        "    return 1.0 if item.get('answer') is None else float(sample['output_json'] == {'answer': 'a'})\n"
    ))  # fmt: skip
    report = score(g, frame, judge=False, progress=False)
    assert report.frame["reward"].tolist() == [1.0, 1.0]
    assert report.rows[0].sample["output_tools"] == [{"id": "t"}]
    assert report.rows[1].sample["output_tools"] == []
    assert "answer" not in report.rows[1].item or report.rows[1].item["answer"] is None


def test_score_when_progress_on_and_run_is_long_then_a_bar_shows_judge_calls(tmp_path, capsys):
    with FakeOpenAI(latency=0.3) as server:
        judge = Judge(base_url=server.base_url, api_key="sk-test-engine", cache=False, concurrency=1)
        rows = [{"output_text": f"SCORE: 0.{i}"} for i in range(5)]
        report = score(
            ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}"),
            rows,
            judge=judge,
            progress=True,
        )
    assert report.frame["q.state"].eq("scored").all()
    assert "judge" in capsys.readouterr().err  # tqdm shows after 1 s; quick runs stay quiet


# --- review follow-ups: interrupts in the local phase, odd cells, masking soundness, notes ----------


def test_score_when_interrupted_during_python_graders_then_returns_promptly_with_partial_rows():
    g = PythonGrader(
        name="slow", source="import time\n\ndef grade(sample, item):\n    time.sleep(0.002)\n    return 1.0\n"
    )
    rows = [{"output_text": str(i)} for i in range(6_000)]
    timer = threading.Timer(0.8, _thread.interrupt_main)
    timer.start()
    try:
        report = score(g, rows, judge=False, progress=False)
    finally:
        timer.cancel()
    states = report.frame["slow.state"]
    assert report.interrupted
    assert repr(report.summary()).startswith("interrupted: these figures cover only the rows that finished")
    assert states.eq("unfinished").any()
    assert report.frame["reward"].isna().sum() == states.eq("unfinished").sum()


def test_score_when_cells_hold_dates_and_numpy_values_then_python_graders_see_json_values():
    g = PythonGrader(
        name="p",
        source="def grade(sample, item):\n    return 1.0 if item['when'].startswith('2026-01-02') else 0.0\n",
    )
    frame = pd.DataFrame({"when": [pd.Timestamp("2026-01-02 10:00")], "output_text": ["x"]})
    assert score(g, frame, judge=False, progress=False).frame["reward"].tolist() == [1.0]


def test_score_when_formula_is_nonlinear_in_judges_then_no_judge_is_masked(judge, server):
    g = MultiGrader(
        name="m", graders={"a": rubric("a"), "b": rubric("b")}, calculate_output="a * b * (1 - b)"
    )
    report = score(g, [{"output_text": "x\nSCORE: 0.5"}], judge=judge, progress=False)
    assert report.frame["a.state"].iloc[0] == "scored"
    assert report.frame["b.state"].iloc[0] == "scored"
    assert report.frame["reward"].iloc[0] == pytest.approx(0.5 * 0.5 * 0.5)


def test_report_when_metric_approximate_or_judge_skipped_then_notes_and_details_say_so():
    sim = TextSimilarityGrader(
        name="sim", input="{{ sample.output_text }}", reference="{{ item.ref }}", evaluation_metric="gleu"
    )
    g = MultiGrader(name="m", graders={"sim": sim, "q": rubric("q")}, calculate_output="(sim + q) / 2")
    report = score(g, [{"ref": "a b c", "output_text": "a b c"}], judge=False, progress=False)
    assert any(
        n.startswith("sim: local gleu is unconfirmed: no published hosted score") for n in report.notes
    )
    assert any(n.startswith("q: skipped (no judge configured") for n in report.notes)
    assert report.frame["q.detail"].iloc[0].startswith("no judge configured")
    assert "no judge configured" in repr(report.row(0))
    assert "note: q: skipped" in repr(report)


def test_score_when_given_an_object_with_cluster_field_then_report_groups_by_it():
    class Bench:
        cluster_field = "meta.kind"

        def grader(self):
            return EXACT

    rows = [{"meta": {"kind": "k1"}, "answer": "a", "output_text": "a"}]
    report = score(Bench(), rows, judge=False, progress=False)
    assert report.frame["cluster"].tolist() == ["k1"]


def test_summary_when_outputs_repeat_then_counts_sent_shared_and_cached_requests(judge, server):
    g = ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}")
    rows = [{"output_text": f"answer {i % 2}\nSCORE: 0.5"} for i in range(6)]
    first = score(g, rows, judge=judge, progress=False).summary().judge_calls
    again = score(g, rows, judge=judge, progress=False).summary().judge_calls
    assert (first.needed, first.sent, first.shared, first.cached) == (6, 2, 4, 0)
    assert (again.needed, again.sent, again.cached) == (6, 0, 6)
    assert server.count("chat") == 2


def test_score_when_judge_cannot_be_set_up_then_fails_before_any_local_work():
    from rftkit_nb.scoring.sandbox import Sandbox

    g = MultiGrader(name="m", graders={"p": PythonGrader(name="p", source="def grade(s, i):\n    return 1.0\n"),
                                       "q": rubric("q")}, calculate_output="p + q")  # fmt: skip
    with Sandbox(workers=1) as sandbox:
        with pytest.raises(ConfigError, match="Judge"):
            score(g, [{"output_text": "x"}], judge=object(), sandbox=sandbox, progress=False)
        assert sandbox.worker_pids == ()  # workers start lazily: none ever started


def test_row_explanation_when_printed_then_shows_what_the_judge_was_shown(judge):
    g = ScoreModelGrader(name="q", model="m", input="Grade this: {{ sample.output_text }}")
    report = score(g, [{"output_text": "forty-two\nSCORE: 0.5"}], judge=judge, progress=False)
    assert "input[0].content: Grade this: forty-two SCORE: 0.5" in repr(report.row(0))


def test_row_explanation_when_rubric_judged_then_text_shows_the_last_message_only(judge):
    clusters = ClusterMap.from_dict({"math": ["accuracy"], "essay": ["accuracy", "clarity"]})
    report = score(
        seed_grader(clusters),
        [{"cluster": "math", "output_text": "x\nSCORE: 0.5"}],
        judge=judge,
        progress=False,
    )
    text = repr(report.row(0))
    assert "input[1].content: Response to grade: x SCORE: 0.5" in text
    assert "careful, strict grader" not in text  # the rubric's instructions are in the HTML view
    clarity = text.split("clarity (score_model): not_applicable", 1)[1].split("\n  applies_", 1)[0]
    assert "input[" not in clarity  # nothing rendered for a masked judge


@pytest.mark.parametrize(
    "option", [pytest.param({"cache": False}, id="cache"), pytest.param({"concurrency": 4}, id="concurrency")]
)
def test_score_when_judge_given_with_its_own_options_then_refused_not_ignored(judge, option):
    with pytest.raises(ConfigError, match=f"keeps its own {next(iter(option))}"):
        score(rubric("tone"), [{"output_text": "x"}], judge=judge, progress=False, **option)


def test_score_when_timeout_not_positive_then_one_line_config_error():
    g = StringCheckGrader(name="s", input="{{ sample.output_text }}", reference="a", operation="eq")
    with pytest.raises(ConfigError, match=r"score\(timeout=...\) is 0; give a number of seconds"):
        score(g, [{"output_text": "a"}], timeout=0, progress=False)


@pytest.mark.parametrize("wrap", [pytest.param(False, id="client"), pytest.param(True, id="Judge(client)")])
def test_score_when_async_client_given_then_it_works_for_every_run(server, tmp_path, wrap):
    import openai

    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test-async")
    judge = Judge(client, cache=False) if wrap else client
    g = ScoreModelGrader(name="q", model="m", input="SCORE: 0.4")
    rewards = []
    for n in range(3):  # each run has its own event loop; the client's connections belong to the first
        kwargs = {} if wrap else {"cache": tmp_path / f"c{n}.sqlite3"}
        report = score(g, [{"output_text": f"x{n}"}], judge=judge, progress=False, **kwargs)
        assert not report.frame["flagged"].iloc[0], report.frame["q.error"].iloc[0]
        rewards.append(report.frame["reward"].iloc[0])
    assert rewards == [pytest.approx(0.4)] * 3
    assert server.count("chat") == 3
    assert not client.is_closed()  # the caller's client is the caller's to close
    asyncio.run(client.close())


def test_score_when_an_output_has_a_lone_surrogate_then_it_is_repaired_noted_and_other_rows_score(judge):
    g = ScoreModelGrader(
        name="q", model="m", input=[{"role": "user", "content": "{{ sample.output_text }}\nSCORE: 0.5"}]
    )
    rows = [{"output_text": "cut mid-emoji \ud83d"}, {"output_text": "fine"}]
    for _ in range(2):  # the second run answers from the cache: its key must not trip on it either
        report = score(g, rows, judge=judge, progress=False)
        assert report.frame["reward"].tolist() == [0.5, 0.5]
    assert any("lone UTF-16 surrogates" in n and "replaced with U+FFFD" in n for n in report.notes)
    assert report.rows[0].sample["output_text"] == "cut mid-emoji \ufffd"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(
            b'{"output_text": "ok"}\n{"output_text": "\xff\xfe"}\n', r"line 2 is not UTF-8", id="bad-utf8"
        ),
        pytest.param(None, "is a directory", id="directory"),
    ],
)
def test_score_when_rows_file_is_unreadable_then_one_line_config_error(tmp_path, content, match):
    g = StringCheckGrader(name="s", input="{{ sample.output_text }}", reference="a", operation="eq")
    path = tmp_path / "rows.jsonl"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=match):
        score(g, path, progress=False)


def test_score_when_judge_never_answers_then_judge_timeout_bounds_each_row_and_notes_say_so(tmp_path):
    g = ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}\nSCORE: 0.5")
    with FakeOpenAI(latency=30.0) as slow:
        client = __import__("openai").OpenAI(base_url=slow.base_url, api_key="sk-test")
        report = score(g, [{"output_text": "a"}, {"output_text": "b"}], judge=client, judge_timeout=0.2,
                       cache=False, progress=False)  # fmt: skip
        client.close()
    assert report.frame["flagged"].tolist() == [True, True]
    assert all("did not answer within 0.2s" in o.detail for o in report.outcomes["q"])
    assert any("2 row(s) got no judge answer in time" in n for n in report.notes)


def test_score_when_deadline_reached_then_finished_rows_kept_rest_unfinished_and_noted(judge, server):
    server.latency = 0.05
    g = ScoreModelGrader(name="q", model="m", input="{{ sample.output_text }}\nSCORE: 0.5")
    rows = [{"output_text": f"row {i}"} for i in range(200)]
    slow = Judge(base_url=server.base_url, api_key="sk-t", cache=False, concurrency=2)
    report = score(g, rows, judge=slow, deadline=1.0, progress=False)
    states = report.frame["q.state"].value_counts().to_dict()
    assert 0 < states.get("scored", 0) < 200
    assert states.get("unfinished", 0) == 200 - states["scored"]
    assert report.interrupted
    assert any("deadline of 1 s was reached" in n and "row(s) are unfinished" in n for n in report.notes)
