"""export_reward: the module a trainer loads. It embeds the grader JSON, says how to load it, and holds
no secret: the judge's endpoint and key come from the environment when the trainer imports it."""

from __future__ import annotations

import ast
import asyncio
import json

import pytest

from rftkit_nb import StringCheckGrader, grader_from_config
from rftkit_nb.errors import ConfigError
from rftkit_nb.testing import FakeOpenAI, fingerprint
from rftkit_nb.trainers import export_reward

from .test_parity import load_by_path

SECRET = "sk-live-do-not-write-me-0123456789"


@pytest.mark.parametrize(
    ("to", "lines"),
    [
        pytest.param("trl", ["reward_funcs=[reward]", "callbacks=[reward.callback()]"], id="trl"),
        pytest.param("verl", ["reward.custom_reward_function.path=", "reward.custom_reward_function.name=compute_score"], id="verl"),
        pytest.param("verifiers", ["class MyTask(RftkitRewards, vf.Task[MyData])"], id="verifiers"),
    ],
)  # fmt: skip
def test_export_reward_when_written_then_docstring_shows_trainer_config_and_json_round_trips(
    design, tmp_path, to, lines
):
    path = export_reward(design, tmp_path / f"reward_{to}.py", to=to)
    text = path.read_text()
    module = ast.parse(text)
    doc = ast.get_docstring(module)
    for line in lines:
        assert line in doc
    assert "OPENAI_BASE_URL" in doc
    embedded = next(n.value.value for n in module.body if isinstance(n, ast.Assign)
                    and n.targets[0].id == "GRADER_JSON")  # fmt: skip
    assert grader_from_config(json.loads(embedded)) == design


def test_export_reward_when_key_in_environment_then_file_holds_no_secret_and_import_sends_it(
    design, rows, tmp_path, monkeypatch
):
    with FakeOpenAI(require_key=SECRET) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        path = export_reward(design, tmp_path / "reward_trl.py", to="trl",
                             model_map={"gpt-4.1-mini-2025-04-14": "local-judge"})  # fmt: skip
        text = path.read_text()
        assert SECRET not in text
        assert server.base_url not in text
        assert "'local-judge'" in text  # the model map is design, written in the file
        reward = load_by_path(path, "reward")
        values = asyncio.run(reward(prompts=[""], completions=[rows[2]["output_text"]],
                                    **{k: [rows[2][k]] for k in ("cluster", "question", "answer")}))  # fmt: skip
        reward.close()
        sent = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(values) == 1
    assert isinstance(values[0], float)
    assert {r.body["model"] for r in sent} == {"local-judge"}
    assert {r.headers["authorization"] for r in sent} == {fingerprint(f"Bearer {SECRET}")}


def test_export_reward_when_grader_name_would_end_the_docstring_then_module_stays_data_only(tmp_path):
    evil = 'x"""\nimport os; os.system("echo pwned")\n"""'
    g = StringCheckGrader(name=evil, input="{{ sample.output_text }}", reference="a", operation="eq")
    path = export_reward(g, tmp_path / "reward_trl.py", to="trl")
    module = ast.parse(path.read_text())
    kinds = [type(n).__name__ for n in module.body]
    assert kinds == ["Expr", "ImportFrom", "Assign", "Assign"]  # docstring, import, JSON literal, the call
    assert not any(isinstance(n, ast.Import) for n in ast.walk(module))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"to": "openrlhf"}, "to must be one of trl, verl, verifiers", id="unknown-trainer"),
        pytest.param({"on_error": "skip"}, "on_error must be 'zero' or 'none'", id="bad-policy"),
        pytest.param({"model_map": {"nope": "x"}}, "model_map names 'nope'", id="unused-model-map"),
    ],
)
def test_export_reward_when_bad_option_then_config_error_and_no_file(design, tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        export_reward(design, tmp_path / "reward.py", **kwargs)
    assert not (tmp_path / "reward.py").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [pytest.param("reward.json", "must be a .py file", id="not-py"),
     pytest.param("my-reward.py", "cannot be imported as a module", id="not-identifier")],
)  # fmt: skip
def test_export_reward_when_bad_path_then_config_error(design, tmp_path, name, message):
    with pytest.raises(ConfigError, match=message):
        export_reward(design, tmp_path / name)


def test_export_reward_when_other_file_exists_then_refused_unless_overwrite(design, tmp_path):
    path = tmp_path / "train.py"
    path.write_text("print('my training script')\n")
    with pytest.raises(ConfigError, match="is not an exported reward; pass overwrite=True"):
        export_reward(design, path)
    assert path.read_text() == "print('my training script')\n"
    export_reward(design, path, overwrite=True)
    export_reward(design, path, to="verl")  # a previous export is replaced unasked
    assert "to='verl'" in path.read_text()
