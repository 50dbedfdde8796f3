"""Fixtures for the hosted-RFT widgets: a loopback platform, a real SDK client, a Workbench grader and its
dataset files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from rftkit_nb.core.workbench import Workbench
from rftkit_nb.remote import write_dataset
from rftkit_nb.testing import FakeOpenAI

KEY = "azkey-widgets-0123456789abcdef"


def azure_client(server: FakeOpenAI) -> openai.OpenAI:
    """Azure's v1 API (the key in the api-key header), no SDK retries: every fault reaches the code."""
    return openai.OpenAI(base_url=server.azure_v1_base_url, api_key=KEY, default_headers={"api-key": KEY},
                         max_retries=0, timeout=5.0)  # fmt: skip


def workbench(tmp_path: Path) -> Workbench:
    wb = Workbench(tmp_path / "rftkit.json")
    wb.add_rubric("tone", "1 = polite", clusters=["chat"])
    wb.add_grader({"type": "string_check", "name": "exact", "operation": "eq",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"})  # fmt: skip
    return wb


def dataset(wb: Workbench, tmp_path: Path, n: int = 12) -> tuple[Any, Any]:
    rows = [{"messages": [{"role": "user", "content": f"What is {i} + {i}?"}], "answer": str(2 * i),
             "cluster": "chat"} for i in range(n)]  # fmt: skip
    return write_dataset(rows, tmp_path / "data" / "rft.jsonl", grader=wb)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


@pytest.fixture
def azure(server: FakeOpenAI) -> Iterator[openai.OpenAI]:
    from rftkit_nb.notebook.widgets.job_monitor import JobMonitor

    with azure_client(server) as client:
        yield client
        JobMonitor.stop_all()  # no poller outlives its client


@pytest.fixture
def wb(tmp_path: Path) -> Workbench:
    return workbench(tmp_path)


@pytest.fixture
def files(wb: Workbench, tmp_path: Path) -> tuple[Any, Any]:
    return dataset(wb, tmp_path)
