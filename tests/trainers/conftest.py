"""Fixtures for the trainer adapters: the loopback judge, the quickstart-like design, sample rows."""

from __future__ import annotations

import pytest

from rftkit_nb import PythonGrader, StringCheckGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.testing import FakeOpenAI

FMT_SOURCE = """
def grade(sample, item):
    words = sample["output_text"].split()
    return min(1.0, len(words) / 4)
"""

MENTIONS = StringCheckGrader(
    name="mentions", input="{{ sample.output_text }}", reference="{{ item.answer }}", operation="ilike"
)


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


@pytest.fixture
def judge(server, tmp_path):
    return Judge(base_url=server.base_url, api_key="sk-test-trainers", cache=tmp_path / "judge.sqlite3",
                 timeout=5.0, max_retries=1)  # fmt: skip


def make_design():
    """The quickstart's shape: a python formatting grader, a string check, two judged rubrics masked by
    cluster (accuracy for math and essay rows, clarity for essay rows only)."""
    wb = Workbench(path=None)
    wb.add_rubric("accuracy", "1.0 = the answer is correct; 0.0 = wrong.", clusters=["math", "essay"],
                  item_fields=["question"])  # fmt: skip
    wb.add_rubric("clarity", "1.0 = easy to follow; 0.0 = confusing.", weight=0.5, clusters=["essay"])
    wb.set_formatting(PythonGrader(name="fmt", source=FMT_SOURCE), weight=0.2)
    wb.add_grader(MENTIONS, weight=0.3)
    return wb.grader()


@pytest.fixture
def design():
    return make_design()


ROWS = [
    {"cluster": "math", "question": "What is 17 * 3?", "answer": "51", "output_text": "the answer is 51"},
    {"cluster": "math", "question": "What is 2 ^ 10?", "answer": "1024", "output_text": "1000"},
    {"cluster": "essay", "question": "Why is the sky blue?", "answer": "scattering",
     "output_text": "Rayleigh Scattering of short wavelengths"},
    {"cluster": "essay", "question": "Is remote work better?", "answer": "depends", "output_text": "no"},
]  # fmt: skip


@pytest.fixture
def rows():
    return [dict(r) for r in ROWS]
