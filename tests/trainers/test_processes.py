"""Trainers run several processes (accelerate, torchrun, Ray): each loads the exported module, keeps its
own warm sandbox pool, and all share one judge cache file, written to concurrently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from rftkit_nb.trainers import export_reward

from .conftest import ROWS

WORKER = textwrap.dedent(
    """
    import importlib.util, json, sys
    spec = importlib.util.spec_from_file_location("custom_module", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    compute_score = getattr(module, "compute_score")
    rows = json.loads(sys.argv[2])
    out = [compute_score("q", r.pop("output_text"), r.pop("answer"), r)["score"] for r in rows]
    compute_score.close()
    print(json.dumps(out))
    """
)


def rows_for(rank):
    return [dict(r, question=f"{r['question']} (rank {rank}, {i})") for i, r in enumerate(ROWS * 3)]


def run_ranks(path, ranks, env):
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), json.dumps(rows_for(rank))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rank in ranks]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    return [json.loads(out) for out, _ in outs]


@pytest.mark.slow
def test_exported_reward_when_two_processes_share_the_cache_then_a_third_run_sends_nothing(
    design, server, tmp_path
):
    path = export_reward(design, tmp_path / "reward_verl.py", to="verl", ground_truth_field="answer")
    env = dict(os.environ, OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-test-ranks",
               XDG_CACHE_HOME=str(tmp_path / "shared-cache"), LOCAL_WORLD_SIZE="2")  # fmt: skip
    first = run_ranks(path, [0, 1], env)  # at the same time, one cache file
    sent = server.count("chat")
    assert sent > 0
    again = run_ranks(path, [0, 1], env)
    assert again == first
    assert server.count("chat") == sent  # every answer was in the shared cache
    assert (tmp_path / "shared-cache" / "rftkit_nb" / "judge.sqlite3").is_file()


EXIT_WITHOUT_CLOSE = textwrap.dedent(
    """
    import asyncio
    from rftkit_nb import PythonGrader
    from rftkit_nb.trainers import to_trl
    reward = to_trl(PythonGrader(name="one", source="def grade(sample, item):\\n    return 1.0"), judge=False)
    asyncio.run(reward(prompts=[""], completions=["x"]))
    print(" ".join(map(str, reward.scorer.sandbox.worker_pids)))
    """
)


def test_to_trl_when_the_trainer_process_exits_without_close_then_sandbox_workers_are_gone():
    out = subprocess.run([sys.executable, "-c", EXIT_WITHOUT_CLOSE], capture_output=True, text=True, timeout=60,
                         check=True).stdout  # fmt: skip
    pids = [int(p) for p in out.split()]
    assert pids
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # a zombie that nobody reaps is not running either; anything else is a leak
        with open(f"/proc/{pid}/stat") as f:
            assert f.read().split()[2] == "Z", f"sandbox worker {pid} outlived the trainer process"
