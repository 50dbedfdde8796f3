"""The remote layer's tests: a real FakeOpenAI server and real openai SDK clients in each layout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openai
import pandas as pd
import pytest

from rftkit_nb.core.graders import MultiGrader, PythonGrader, ScoreModelGrader, StringCheckGrader
from rftkit_nb.remote.availability import AVAILABILITY
from rftkit_nb.testing import FakeOpenAI

OPENAI_KEY = "sk-remote-test-openai-0123456789abcdef"
AZURE_KEY = "azkey-remote-test-fedcba9876543210"
BEFORE_OPENAI_CUTOFF = date(2026, 6, 1)  # o4-mini still trainable on OpenAI
LAYOUTS = ("openai", "azure-v1", "azure-dated")


def make_client(server: FakeOpenAI, layout: str, **options: Any) -> openai.OpenAI:
    """A real SDK client for one layout: OpenAI on /v1, OpenAI on Azure's v1 API, AzureOpenAI dated."""
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 5.0)
    if layout == "openai":
        return openai.OpenAI(base_url=server.base_url, api_key=OPENAI_KEY, **options)
    if layout == "azure-v1":
        return openai.OpenAI(base_url=server.azure_v1_base_url, api_key=AZURE_KEY,
                             default_headers={"api-key": AZURE_KEY}, **options)  # fmt: skip
    return openai.AzureOpenAI(azure_endpoint=server.azure_endpoint, api_key=AZURE_KEY,
                              api_version="2025-04-01-preview", **options)  # fmt: skip


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(hang_seconds=3.0) as running:
        yield running


@pytest.fixture(params=LAYOUTS)
def client(request: pytest.FixtureRequest, server: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with make_client(server, request.param) as sdk:
        yield sdk


@pytest.fixture(autouse=True)
def _shipped_table() -> Iterator[None]:
    """Tests that edit the availability table never leak the edit."""
    yield
    AVAILABILITY.reset()


def exact_grader() -> StringCheckGrader:
    return StringCheckGrader(name="exact", input="{{ sample.output_text }}", reference="{{ item.answer }}",
                             operation="eq")  # fmt: skip


def reward_grader(judge_model: str = "gpt-4.1-mini-2025-04-14") -> MultiGrader:
    """A multi grader with a string check, a python grader and a judge (SCORE: lines fix its verdict)."""
    judge = ScoreModelGrader(name="tone", model=judge_model,
                             input=[{"role": "user", "content": "Rate it.\n{{ sample.output_text }}\nSCORE: 0.5"}])  # fmt: skip
    length = PythonGrader(
        name="short", source="def grade(sample, item):\n    return float(len(sample['output_text']) < 5)\n"
    )
    return MultiGrader(name="reward", graders={"exact": exact_grader(), "short": length, "tone": judge},
                       calculate_output="(exact + short + tone) / 3")  # fmt: skip


def rows_frame(n: int = 12) -> pd.DataFrame:
    """RFT rows with a model output column: every third answer is wrong."""
    return pd.DataFrame([{"messages": [{"role": "user", "content": f"What is {i} + {i}?"}], "answer": str(2 * i),
                          "output_text": str(2 * i + (i % 3 == 0))} for i in range(n)])  # fmt: skip


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Any, Any]:
    from rftkit_nb.remote import write_dataset

    return write_dataset(rows_frame(), tmp_path / "rft.jsonl", grader=reward_grader())
