"""Parity, always: every exporter's reward, called the way its trainer calls it, gives score()'s rewards.

The quickstart-like design (python formatting, a string check, two judged rubrics masked by cluster)
runs through the real sandbox and the real openai SDK against the loopback judge; exported modules are
loaded from their files by path and attribute name, as the trainers load them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import uuid

import pytest

from rftkit_nb import MultiGrader, PythonGrader
from rftkit_nb.errors import ConfigError
from rftkit_nb.trainers import check_parity, export_reward, to_trl, to_verifiers, to_verl

from .conftest import MENTIONS


def load_by_path(path, name):
    """What verl does with custom_reward_function.path / .name (and any trainer importing a file)."""
    spec = importlib.util.spec_from_file_location(f"custom_module_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.fixture
def env_judge(server, monkeypatch):
    """The judge an exported module reads from the environment at import: the same endpoint as `judge`."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-trainers")


BUILDERS = [
    pytest.param(lambda g, j: to_trl(g, judge=j), id="trl"),
    pytest.param(lambda g, j: to_trl(g, judge=j, on_error="none"), id="trl-on-error-none"),
    pytest.param(lambda g, j: to_verl(g, judge=j, ground_truth_field="answer"), id="verl"),
    pytest.param(lambda g, j: to_verifiers(g, judge=j), id="verifiers"),
]


@pytest.mark.parametrize("build", BUILDERS)
def test_check_parity_when_each_exporter_then_rewards_and_sub_scores_match_score(design, judge, rows, build):
    rows.append({"cluster": "essay", "question": "Q?", "output_text": "no answer field"})  # errors: mentions
    report = check_parity(build(design, judge), design, rows)
    assert report.ok, report.differences
    assert report.rows == len(rows)
    assert "reward" in report.compared


@pytest.mark.parametrize(
    ("to", "name"),
    [pytest.param("trl", "reward", id="trl"), pytest.param("verl", "compute_score", id="verl"),
     pytest.param("verifiers", "RftkitRewards", id="verifiers")],
)  # fmt: skip
def test_exported_module_when_loaded_by_path_then_parity_with_score(
    design, rows, env_judge, tmp_path, to, name
):
    path = export_reward(design, tmp_path / f"reward_{to}.py", to=to,
                         **({"ground_truth_field": "answer"} if to == "verl" else {}))  # fmt: skip
    reward = load_by_path(path, name)
    report = check_parity(reward, design, rows)
    assert report.ok, report.differences


def test_check_parity_when_split_functions_then_weighted_total_matches_score(judge):
    g = MultiGrader(name="m", graders={"mentions": MENTIONS, "len": PythonGrader(
        name="len", source="def grade(sample, item):\n    return len(sample['output_text']) / 10")},
        calculate_output="(2 * mentions + len) / 3")  # fmt: skip
    rows = [{"answer": "51", "output_text": "51"}, {"answer": "ok", "output_text": "no way"},
            {"output_text": "no answer field"}]  # fmt: skip
    report = check_parity(to_trl(g, judge=judge, split=True), g, rows)
    assert report.ok, report.differences
    assert report.compared == ["reward", "mentions", "len"]


def test_check_parity_when_reward_differs_then_reports_the_row_and_value(judge, rows):
    g = MultiGrader(name="m", graders={"mentions": MENTIONS}, calculate_output="mentions")
    other = MultiGrader(name="m", graders={"mentions": MENTIONS}, calculate_output="0.5 * mentions")
    report = check_parity(to_trl(other, judge=False), g, rows)
    assert not report.ok
    assert {(d.row, d.what) for d in report.differences} == {(0, "reward"), (2, "reward")}
    assert "2 difference(s)" in repr(report)
    with pytest.raises(AssertionError, match=r"row 0 reward: score\(\) 1.0, reward 0.5"):
        report.assert_ok()
    assert "<script" not in report._repr_html_()


def test_check_parity_when_not_a_reward_then_config_error():
    with pytest.raises(ConfigError, match="cannot call a function"):
        check_parity(lambda **kw: [0.0], MENTIONS, [{"answer": "a", "output_text": "a"}])


def test_check_parity_when_called_inside_a_running_loop_then_works_as_in_a_notebook(design, judge, rows):
    async def cell():  # a Jupyter cell runs inside the kernel's event loop
        return check_parity(to_trl(design, judge=judge), design, rows)

    report = asyncio.run(cell())
    assert report.ok, report.differences
    assert report.compared == ["reward", *design.graders]  # TRL's log_extra columns are compared too
