"""cost(): judge tokens measured from the endpoint's usage numbers, calls counted as hosted RFT makes them,
checked against a hand computation from the requests the loopback server recorded."""

from __future__ import annotations

import json

import pytest

from rftkit_nb import Workbench
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.cost import cost
from rftkit_nb.quality.prices import PRICES, ModelPrice, PriceTable
from rftkit_nb.testing.openai_server import default_scorer, prompt_text

from .conftest import response_of, scripted, two_rubrics

ROUND = PriceTable("2026-12-04", "test prices", {"gpt-4.1-mini": ModelPrice(1000.0, 2000.0),
                                                 "gpt-4.1-nano": ModelPrice(10.0, 20.0)}, 100.0, 5000.0)  # fmt: skip


def rows(n: int = 5) -> list[dict]:
    return [
        scripted("word " * (i + 1), 0.5, question=f"q{i}", cluster="chat" if i % 2 else "essay")
        for i in range(n)
    ]


def usage_by_hand(server, rubric: str, *, empty_output: bool) -> tuple[float, float]:
    """The fake server's usage rule (whitespace words of the prompt and of the answer), from its records."""
    bodies = [r.body for r in server.requests
              if r.endpoint == "chat" and f"({rubric})" in prompt_text(r.body)
              and (response_of(r.body) == "") == empty_output]  # fmt: skip
    prompt = [len(prompt_text(b).split()) for b in bodies]
    completion = [len(json.dumps(default_scorer(b)).split()) for b in bodies]
    return sum(prompt) / len(prompt), sum(completion) / len(completion)


def test_cost_when_measured_then_equals_the_hand_computation(server):
    report = cost(
        two_rubrics(),
        rows(),
        epochs=2,
        samples_per_prompt=4,
        validation_rows=3,
        eval_samples=2,
        evaluations=2,
        base_url=server.base_url,
        api_key="sk-test",
        prices=ROUND,
    )
    calls = (
        5 * 4 * 2 + 3 * 2 * 2
    )  # training rows x samples x epochs + validation rows x eval samples x passes
    assert report.calls_per_judge == calls == 52
    total = 0.0
    for rubric in ("tone", "clarity"):
        tokens_in, tokens_out = usage_by_hand(server, rubric, empty_output=False)
        row = report.frame.loc[rubric]
        assert (row["in_per_call"], row["out_per_call"]) == pytest.approx((tokens_in, tokens_out))
        assert row["dollars"] == pytest.approx(calls * (tokens_in * 1000 + tokens_out * 2000) / 1e6)
        assert row["shared_per_call"] == pytest.approx(
            tokens_in - usage_by_hand(server, rubric, empty_output=True)[0]
        )
        total += row["dollars"]
    assert report.total == pytest.approx(total)
    assert report.training_dollars is None
    assert "grading only" in report.verdict[1]


def test_cost_when_alternatives_then_smaller_judge_and_one_call_are_cheaper(server):
    report = cost(
        two_rubrics(),
        rows(),
        epochs=1,
        samples_per_prompt=2,
        base_url=server.base_url,
        api_key="sk-test",
        prices=ROUND,
    )
    alt = report.alternatives
    f = report.frame
    nano = (f["input_tokens"] * 10 + f["output_tokens"] * 20).sum() / 1e6
    assert alt.loc["every judge on gpt-4.1-nano", "dollars"] == pytest.approx(nano)
    one = alt.loc["one judge call for all 2 rubrics"]
    per_call_in = (f["in_per_call"] - f["shared_per_call"]).sum() + f["shared_per_call"].max()
    assert one["dollars"] == pytest.approx(10 * (per_call_in * 1000 + f["out_per_call"].sum() * 2000) / 1e6)
    assert 0 < one["saving"] < report.total


def test_cost_when_judges_are_masked_by_cluster_then_each_is_still_billed_on_every_row(server):
    wb = Workbench(path=None)
    wb.add_rubric("tone", "Polite.", clusters=["chat"])
    wb.add_rubric("clarity", "Clear.", clusters=["essay"])
    report = cost(
        wb, rows(6), epochs=1, samples_per_prompt=1, base_url=server.base_url, api_key="k", prices=ROUND
    )
    assert report.frame["calls"].tolist() == [6, 6]
    tone_requests = [r for r in server.requests if "(tone)" in prompt_text(r.body)]
    # measured on every row, then with an empty output (identical requests then, so the judge sends one)
    assert len(tone_requests) == 6 + 1
    assert "masked or not" in report.notes[0]


def test_cost_when_training_pushes_past_azure_auto_pause_then_error_verdict(server):
    report = cost(
        two_rubrics(),
        rows(2),
        epochs=1,
        samples_per_prompt=1,
        training_hours=50.5,
        prices=PRICES,
        tokens={"tone": (1000, 100), "clarity": (1000, 100)},
    )
    assert report.training_dollars == pytest.approx(5050.0)
    assert report.verdict[0] == "error"
    assert "auto-pause at $5,000" in report.verdict[1]
    assert server.count("chat") == 0  # tokens given: nothing measured
    near = cost(
        two_rubrics(),
        rows(2),
        epochs=1,
        samples_per_prompt=1,
        training_hours=45,
        prices=PRICES,
        tokens={"tone": (1000, 100), "clarity": (1000, 100)},
    )
    assert near.verdict[0] == "warning"  # $4,500: within 20% of the pause


def test_cost_when_tokens_given_then_hand_computed_dollars():
    report = cost(
        two_rubrics(),
        rows(3),
        epochs=3,
        samples_per_prompt=8,
        prices=PRICES,
        tokens={"tone": (500, 50), "clarity": (400, 40)},
    )
    # gpt-4.1-mini at $0.40 / $1.60 per 1M tokens; 3 rows x 8 samples x 3 epochs = 72 calls each
    expected = 72 * (500 * 0.40 + 50 * 1.60) / 1e6 + 72 * (400 * 0.40 + 40 * 1.60) / 1e6
    assert report.grading_dollars == pytest.approx(expected)
    assert report.verdict[0] == "ok"


def test_cost_when_no_endpoint_and_no_tokens_then_one_line_error():
    with pytest.raises(ConfigError, match="needs a judge endpoint"):
        cost(two_rubrics(), rows(1), epochs=1, samples_per_prompt=1)


def test_price_table_when_model_unknown_then_error_names_the_fix():
    with pytest.raises(ConfigError, match=r"with_model\('claude-x'"):
        PRICES.model("claude-x")
    assert PRICES.model("gpt-4.1-nano-2025-04-14") == PRICES.models["gpt-4.1-nano"]  # longest family prefix


def test_price_table_when_loaded_from_json_then_user_prices_are_used(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "as_of": "2027-01-01",
                "training_per_hour": 50,
                "auto_pause": None,
                "models": {"gpt-4.1-mini": [0.2, 0.8]},
            }
        )
    )
    table = PriceTable.load(path)
    assert (table.as_of, table.model("gpt-4.1-mini").output_per_million, table.auto_pause) == (
        "2027-01-01",
        0.8,
        None,
    )
    assert "as of 2027-01-01" in repr(table)


@pytest.mark.parametrize(
    "kind", [pytest.param("async", id="async-client"), pytest.param("sync", id="sync-client")]
)
def test_cost_when_an_openai_client_is_given_then_its_endpoint_and_key_are_metered(server, kind):
    import openai

    from rftkit_nb.testing.openai_server import fingerprint

    cls = openai.AsyncOpenAI if kind == "async" else openai.OpenAI
    client = cls(base_url=server.base_url, api_key="sk-test-client-key")
    report = cost(two_rubrics(), rows(2), epochs=1, samples_per_prompt=1, client=client, prices=ROUND)
    assert report.frame.loc["tone", "in_per_call"] > 0
    assert {r.headers.get("authorization") for r in server.requests} == {
        fingerprint("Bearer sk-test-client-key")
    }


def test_cost_when_given_a_judge_then_refused_naming_the_cache():
    from rftkit_nb.scoring.judge import Judge

    with pytest.raises(ConfigError, match="not a Judge"):
        cost(
            two_rubrics(),
            rows(1),
            epochs=1,
            samples_per_prompt=1,
            client=Judge(base_url="http://127.0.0.1:9/v1", api_key="k", cache=False),
        )
