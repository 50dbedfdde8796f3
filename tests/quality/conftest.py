"""Fixtures for the quality lab: the real openai SDK against the loopback server, graders and rows whose
judge answers are scripted by ``SCORE:`` lines (the fake server reads the last user message)."""

from __future__ import annotations

import pytest

from rftkit_nb import AggregatorGrader, RubricGrader
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.testing.openai_server import FakeOpenAI


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


@pytest.fixture
def judge(server):
    return Judge(base_url=server.base_url, api_key="sk-test-quality", cache=False, timeout=5.0, max_retries=1)


def rubric(name: str, text: str | None = None, weight: float = 1.0) -> RubricGrader:
    return RubricGrader(name=name, rubric=text or f"The {name} rubric.", weight=weight)


def two_rubrics() -> AggregatorGrader:
    return AggregatorGrader(name="reward", graders=[rubric("tone"), rubric("clarity")])


def scripted(answer: str, score: float, **item) -> dict:
    """A row whose judge answer is ``score`` for every rubric (the SCORE line sits in the output)."""
    return {**item, "output_text": f"{answer}\nSCORE: {score}"}
