"""cost(): what a hosted RFT run of this reward would cost, before it is paid for.

Judge tokens per call are measured, not guessed: each judge sub-grader scores the first ``measure`` rows
alone (so masked judges are measured too: hosted RFT calls and bills every judge on every sample) through
an openai client whose HTTP responses are metered, and the ``usage`` numbers the endpoint returns are
averaged. Calls are then counted as the service makes them: training rows x samples per prompt x epochs,
plus validation rows x eval samples x evaluations. Training hours are the user's estimate (the service
bills core-training time by the hour). Beside the total: a smaller judge, one judge call for all rubrics,
and the spend at which Azure pauses a job.

Example::

    cost(wb, rows, epochs=2, samples_per_prompt=4, base_url=server.base_url)
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rftkit_nb.core import html as h
from rftkit_nb.errors import ConfigError
from rftkit_nb.quality.prices import PRICES, PriceTable
from rftkit_nb.quality.runs import as_grader, judge_keys, leaves, rescore

__all__ = ["CostReport", "cost", "measure_tokens"]


@dataclass
class CostReport:
    """Per judge: calls, tokens per call, tokens and dollars; the total and the alternatives."""

    frame: (
        pd.DataFrame
    )  # index: judge; calls, in_per_call, out_per_call, input_tokens, output_tokens, dollars
    training_dollars: float | None
    alternatives: pd.DataFrame  # index: option; dollars, saving, note
    prices: PriceTable
    calls_per_judge: int
    notes: list[str] = field(default_factory=list)

    @property
    def grading_dollars(self) -> float:
        return float(self.frame["dollars"].sum()) if len(self.frame) else 0.0

    @property
    def total(self) -> float:
        return self.grading_dollars + (self.training_dollars or 0.0)

    @property
    def verdict(self) -> tuple[str, str]:
        pause = self.prices.auto_pause
        training = (
            "" if self.training_dollars is not None else " (grading only: pass training_hours= for training)"
        )
        text = f"${self.total:,.2f} projected: ${self.grading_dollars:,.2f} grading{training}"
        if self.training_dollars is not None:
            text += f" + ${self.training_dollars:,.2f} training"
        if pause and self.total >= pause:
            return (
                "error",
                f"{text}; over Azure's auto-pause at ${pause:,.0f}: the job would pause before it ends",
            )
        if pause and self.total >= 0.8 * pause:
            return "warning", f"{text}; within 20% of Azure's auto-pause at ${pause:,.0f}"
        return "ok", text + (f"; below Azure's auto-pause at ${pause:,.0f}" if pause else "")

    def __repr__(self) -> str:
        level, text = self.verdict
        lines = [f"CostReport (prices as of {self.prices.as_of}): [{level}] {text}",
                 self.frame.to_string(float_format=lambda x: f"{x:,.4g}"), "alternatives:",
                 self.alternatives.to_string(float_format=lambda x: f"{x:,.2f}")]  # fmt: skip
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def _repr_html_(self) -> str:
        level, text = self.verdict
        body = f"<div>{h.badge(level, level)} {h.esc(text)}</div>"
        body += h.table(
            ["judge", *self.frame.columns], [[i, *(_cell(v) for v in r)] for i, r in self.frame.iterrows()]
        )
        body += "<div style='margin-top:6px'><b>cheaper alternatives</b></div>"
        body += h.table(["option", *self.alternatives.columns],
                        [[i, *(_cell(v) for v in r)] for i, r in self.alternatives.iterrows()])  # fmt: skip
        body += "".join(f"<div>{h.badge('note', 'info')} {h.esc(n)}</div>" for n in self.notes)
        return h.card("cost projection", f"prices as of {self.prices.as_of}", body_html=body)


def cost(
    grader: Any,
    rows: Any,
    *,
    epochs: int,
    samples_per_prompt: int,
    validation_rows: int = 0,
    eval_samples: int = 1,
    evaluations: int | None = None,
    training_rows: int | None = None,
    training_hours: float | None = None,
    measure: int = 20,
    tokens: dict[str, tuple[float, float]] | None = None,
    client: Any = None,
    base_url: str | None = None,
    api_key: str | None = None,
    prices: PriceTable = PRICES,
) -> CostReport:
    """Project the judge (and, given ``training_hours``, training) cost of an RFT run.

    ``training_rows`` defaults to ``len(rows)``; ``evaluations`` (validation passes) to ``epochs``.
    ``tokens={judge: (input, output)}`` per call skips the measurement for those judges; the others are
    measured on the first ``measure`` rows through ``client`` / ``base_url`` / ``api_key`` (or the
    environment). ``prices`` is a :class:`~rftkit_nb.quality.prices.PriceTable`.
    """
    for name, value in (
        ("epochs", epochs),
        ("samples_per_prompt", samples_per_prompt),
        ("eval_samples", eval_samples),
    ):
        if value < 1:
            raise ConfigError(f"cost({name}=...) must be at least 1, got {value}")
    composed, _ = as_grader(grader)
    keys = judge_keys(composed)
    records = _records(rows)
    n_train = len(records) if training_rows is None else training_rows
    passes = epochs if evaluations is None else evaluations
    calls = n_train * samples_per_prompt * epochs + validation_rows * eval_samples * passes
    given = dict(tokens or {})
    todo = [k for k in keys if k not in given]
    measured = (
        measure_tokens(composed, records[:measure], todo, client=client, base_url=base_url, api_key=api_key)
        if todo
        else {}
    )
    per_call = {**measured, **{k: (float(i), float(o), 0.0) for k, (i, o) in given.items()}}
    table = {}
    for key in keys:
        tokens_in, tokens_out, shared = per_call[key]
        price = prices.model(leaves(composed)[key].config.get("model", ""))
        dollars = calls * (tokens_in * price.input_per_million + tokens_out * price.output_per_million) / 1e6
        table[key] = {"calls": calls, "in_per_call": tokens_in, "out_per_call": tokens_out,
                      "shared_per_call": shared, "input_tokens": calls * tokens_in, "output_tokens": calls * tokens_out,
                      "dollars": dollars}  # fmt: skip
    frame = pd.DataFrame(table).T if table else pd.DataFrame(columns=["calls", "dollars"])
    training = None if training_hours is None else training_hours * prices.training_per_hour
    notes = [f"every judge is billed on every sample ({calls:,} calls each), masked or not"] if keys else []
    notes += [f"{k}: tokens per call as given" for k in given if k in keys]
    return CostReport(frame, training, _alternatives(frame, composed, keys, prices), prices, calls, notes)


def _records(rows: Any) -> list[dict]:
    from rftkit_nb.scoring.rows import load_rows

    return [{**r.item, "output_text": r.sample["output_text"]} for r in load_rows(rows)]


def _alternatives(frame: pd.DataFrame, grader: Any, keys: list[str], prices: PriceTable) -> pd.DataFrame:
    if not keys:
        return pd.DataFrame(columns=["dollars", "saving", "note"])
    current = float(frame["dollars"].sum())
    small = prices.cheapest()
    p = prices.models[small]
    smaller = float(
        (frame["input_tokens"] * p.input_per_million + frame["output_tokens"] * p.output_per_million).sum()
        / 1e6
    )
    options = {f"every judge on {small}": (smaller, "the same tokens at the cheapest judge in the table; "
                                          "calibrate it against your labels first")}  # fmt: skip
    if len(keys) > 1:
        # One call grading every rubric: each judge's own instructions stay, the model output (measured as
        # what an empty output saves) is sent once, the answers add up; priced at the dearest judge.
        shared = frame["shared_per_call"]
        per_call_in = (frame["in_per_call"] - shared).sum() + shared.max()
        dearest = max((prices.model(leaves(grader)[k].config.get("model", "")) for k in keys),
                      key=lambda m: m.input_per_million + m.output_per_million)  # fmt: skip
        calls = float(frame["calls"].iloc[0])
        dollars = calls * (per_call_in * dearest.input_per_million
                           + frame["out_per_call"].sum() * dearest.output_per_million) / 1e6  # fmt: skip
        options[f"one judge call for all {len(keys)} rubrics"] = (dollars, "the output is sent once instead of "
                                                                   f"{len(keys)} times; a new prompt to calibrate")  # fmt: skip
    rows = {name: {"dollars": d, "saving": current - d, "note": note} for name, (d, note) in options.items()}
    return pd.DataFrame(rows).T


def measure_tokens(grader: Any, records: list[dict], keys: list[str], *, client: Any = None,
                   base_url: str | None = None, api_key: str | None = None) -> dict[str, tuple[float, float, float]]:  # fmt: skip
    """Per judge in ``keys``: mean prompt and completion tokens per call, from the endpoint's ``usage``,
    and the prompt tokens the model output accounts for (real prompt minus an empty-output prompt).

    Each judge scores ``records`` alone (no mask, cache off) through a metered copy of the client.
    """
    if not records:
        raise ConfigError("cost() needs at least one row to measure judge tokens on (or tokens={...})")
    build = _client_builder(client, base_url, api_key)
    out = {}
    for name in keys:
        prompt, completion = _mean_usage(leaves(grader)[name], records, build)
        without_output, _ = _mean_usage(
            leaves(grader)[name], [{**r, "output_text": ""} for r in records], build
        )
        out[name] = (prompt, completion, max(0.0, prompt - without_output))
    return out


def _mean_usage(judge: Any, records: list[dict], build: Any) -> tuple[float, float]:
    from rftkit_nb.scoring.judge import Judge

    usages: list[dict] = []
    meter = build(_metered_http(usages))
    try:
        rescore(judge, records, judge=Judge(meter, cache=False))
    finally:
        _close(meter)
    if not usages:
        raise ConfigError(f"judge {judge.name!r} answered no call with usage numbers while measuring tokens; "
                          "check the endpoint, or pass tokens={...}")  # fmt: skip
    return (sum(u.get("prompt_tokens", 0) for u in usages) / len(usages),
            sum(u.get("completion_tokens", 0) for u in usages) / len(usages))  # fmt: skip


def _close(client: Any) -> None:
    """Close an async client from sync code, also inside a notebook whose event loop is running."""
    worker = threading.Thread(target=lambda: asyncio.run(client.close()), name="rftkit-cost-close")
    worker.start()
    worker.join()


def _client_builder(client: Any, base_url: str | None, api_key: str | None) -> Any:
    """How to make an async openai client that sends through a given (metered) httpx client."""
    import openai

    if isinstance(
        client, openai.AsyncOpenAI
    ):  # AsyncAzureOpenAI too: endpoint, key, version and headers kept
        return lambda http: client.copy(http_client=http)
    if isinstance(client, openai.AzureOpenAI):
        raise ConfigError("cost(client=...) takes an AsyncAzureOpenAI client for Azure (or set the AZURE_OPENAI_* "
                          "variables); a sync AzureOpenAI client cannot be metered")  # fmt: skip
    if isinstance(client, openai.OpenAI):
        return lambda http: openai.AsyncOpenAI(
            base_url=str(client.base_url), api_key=client.api_key, http_client=http
        )
    if client is not None:
        raise ConfigError(f"cost(client=...) got a {type(client).__name__}; pass an openai client (not a Judge: "
                          "its cache would hide the calls)")  # fmt: skip
    env = os.environ
    if base_url is None and api_key is None and env.get("AZURE_OPENAI_ENDPOINT"):
        return lambda http: openai.AsyncAzureOpenAI(http_client=http)
    url = base_url or env.get("OPENAI_BASE_URL")
    key = api_key or env.get("OPENAI_API_KEY")
    if url is None and key is None:
        raise ConfigError("cost() needs a judge endpoint to measure tokens: pass client=, or base_url= and "
                          "api_key=, set OPENAI_API_KEY, or give tokens={judge: (input, output)}")  # fmt: skip
    return lambda http: openai.AsyncOpenAI(base_url=url, api_key=key or "no-key-needed", http_client=http)


def _metered_http(usages: list[dict]) -> Any:
    """An httpx client that records the ``usage`` of every chat completion it receives."""
    import httpx

    async def record(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/chat/completions") and response.status_code == 200:
            body = await response.aread()  # read here; the SDK then reads the same bytes
            try:
                usage = json.loads(body).get("usage")
            except ValueError:
                return
            if isinstance(usage, dict):
                usages.append(usage)

    # No kept-alive connections: score() runs each call on its own event loop.
    return httpx.AsyncClient(event_hooks={"response": [record]}, limits=httpx.Limits(max_keepalive_connections=0),
                             timeout=60.0)  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
