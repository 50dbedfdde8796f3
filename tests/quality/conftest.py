"""Fixtures for the quality lab: the real openai SDK against the loopback server, graders and rows whose
judge answers are scripted by ``SCORE:`` lines (the fake server reads the last user message)."""

from __future__ import annotations

import pytest

from rftkit_nb import AggregatorGrader, RubricGrader
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.testing.openai_server import FakeOpenAI, default_scorer, prompt_text


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


KEYWORDS = ("chlorophyll", "sunlight", "glucose", "oxygen")
MASTER_KEYS = (":", "Thought process:", "Let's solve this problem step by step.")


def response_of(body: dict) -> str:
    text = prompt_text(body, last_user_only=True)
    return text.split("Response to grade:\n", 1)[-1]


def gullible_scorer(body: dict) -> dict:
    """A judge with the failures pre-flight must catch, decided by the rubric named in the prompt:
    ``(easy)`` always gives full marks; ``(accuracy)`` counts the rubric's keywords; every judge is fooled
    by the master keys; the others read the ``SCORE:`` line and give 0 without one."""
    prompt, response = prompt_text(body), response_of(body)
    if response.strip() in MASTER_KEYS or "(easy)" in prompt:
        result = 1.0
    elif "(accuracy)" in prompt:
        result = sum(word in response.lower() for word in KEYWORDS) / len(KEYWORDS)
    elif "SCORE:" in response:
        return default_scorer(body)
    else:
        result = 0.0  # strict about everything else: an answer without substance earns nothing
    return {"steps": [{"description": "read", "conclusion": "done"}], "result": result}


@pytest.fixture
def gullible():
    with FakeOpenAI(scorer=gullible_scorer) as s:
        yield s


def wobbly_scorer(body: dict) -> dict:
    """``(wobbly)`` answers the SCORE line on even seeds and 1 minus it on odd seeds; others are steady."""
    answer = default_scorer(body)
    if "(wobbly)" in prompt_text(body) and body.get("seed", 0) % 2:
        answer["result"] = round(1 - answer["result"], 6)
    return answer


def length_loving_scorer(body: dict) -> dict:
    """``(verbose)`` pays for length (1 point per 400 characters of response); others read the SCORE line."""
    answer = default_scorer(body)
    if "(verbose)" in prompt_text(body):
        answer["result"] = min(1.0, len(response_of(body)) / 400)
    elif "(first)" in prompt_text(body):  # pays for what comes first: the position bias of arXiv 2305.17926
        answer["result"] = 1.0 if response_of(body).startswith("Correct") else 0.0
    return answer
