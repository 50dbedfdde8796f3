"""The cost of to_trl's reward: per-batch overhead with python graders, and judge throughput inside it.

1. Python graders only, batches of 64 and 512 completions, after warm-up (median of several batches):
   the reward as TRL calls it, the engine alone (``ascore`` with the same warm sandbox), and the same
   grade functions called in-process (no sandbox, no engine; the floor). The fixed overhead is the
   intercept of a line through (64, t64) and (512, t512) of reward minus in-process: what every batch
   pays whatever its size (target <= 2 ms); the per-row part is the sandbox's IPC.
2. A judge at concurrency 32 against the loopback server at 100 ms latency, in its own process: rows per
   second through the reward, as a share of the ideal concurrency / latency (target >= 85%).

    python benchmarks/bench_trainers.py            # full size
    python benchmarks/bench_trainers.py --quick    # CI size
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench_judge import _server

from rftkit_nb import MultiGrader, PythonGrader, RubricGrader
from rftkit_nb.scoring.engine import ascore
from rftkit_nb.scoring.judge import Judge
from rftkit_nb.trainers import to_trl

LENGTH = "def grade(sample, item):\n    return min(1.0, len(sample['output_text']) / 40)\n"
EXACT = "def grade(sample, item):\n    return float(item['answer'] in sample['output_text'])\n"


def _batch(n: int) -> tuple[list[str], dict[str, list]]:
    completions = [f"the answer is {i % 97} because of step {i}" for i in range(n)]
    return completions, {"answer": [str(i % 89) for i in range(n)], "cluster": ["math"] * n}


def _interleaved_medians_ms(runs: dict[str, object], repeats: int) -> dict[str, float]:
    """Median milliseconds of each run, timed in turn within every repeat, so that a load spike on the
    shared machine hits all of them alike rather than one."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(ts) for name, ts in times.items()}


def python_overhead(sizes: tuple[int, ...], repeats: int) -> dict[str, float]:
    grader = MultiGrader(name="local", graders={"length": PythonGrader(name="length", source=LENGTH),
                         "exact": PythonGrader(name="exact", source=EXACT)},
                         calculate_output="0.5 * length + 0.5 * exact")  # fmt: skip
    namespace: dict = {}
    functions = []
    for source in (LENGTH, EXACT):
        exec(source, namespace)  # the same functions, in this process: the floor
        functions.append(namespace["grade"])
    reward = to_trl(grader, judge=False)
    loop = asyncio.new_event_loop()
    out: dict[str, float] = {}
    try:
        for n in sizes:
            completions, columns = _batch(n)
            samples = [{"output_text": c} for c in completions]
            items = [
                {"answer": a, "cluster": c}
                for a, c in zip(columns["answer"], columns["cluster"], strict=True)
            ]
            rows = [{**item, "output_text": c} for item, c in zip(items, completions, strict=True)]

            def call_reward(completions=completions, columns=columns) -> None:
                loop.run_until_complete(
                    reward(prompts=[""] * len(completions), completions=completions, **columns)
                )

            def call_engine(rows=rows) -> None:
                loop.run_until_complete(
                    ascore(grader, rows, judge=False, sandbox=reward.scorer.sandbox, progress=False)
                )

            def call_in_process(samples=samples, items=items) -> None:
                for s, i in zip(samples, items, strict=True):
                    0.5 * functions[0](s, i) + 0.5 * functions[1](s, i)

            call_reward()  # warm-up: starts the pool once
            runs = {"reward": call_reward, "engine": call_engine, "in_process": call_in_process}
            for name, ms in _interleaved_medians_ms(runs, repeats).items():
                out[f"{name}_ms_{n}"] = round(ms, 3)
        assert reward.scorer.pool.started == 1
    finally:
        reward.close()
        loop.close()
    small, large = sizes
    gap = {n: out[f"reward_ms_{n}"] - out[f"in_process_ms_{n}"] for n in sizes}
    per_row = (gap[large] - gap[small]) / (large - small)
    out["fixed_overhead_ms"] = round(gap[small] - per_row * small, 3)
    out["per_row_us"] = round(1000 * per_row, 2)
    out[f"trainer_layer_ms_{small}"] = round(out[f"reward_ms_{small}"] - out[f"engine_ms_{small}"], 3)
    engine_gap = {n: out[f"engine_ms_{n}"] - out[f"in_process_ms_{n}"] for n in sizes}
    engine_per_row = (engine_gap[large] - engine_gap[small]) / (large - small)
    out["engine_fixed_ms"] = round(engine_gap[small] - engine_per_row * small, 3)
    return out


def judge_throughput(rows: int, latency: float, concurrency: int) -> dict[str, float]:
    """The reward and score() side by side, on different rows (no cache hits), against one server."""
    from rftkit_nb.scoring.engine import score

    grader = RubricGrader(name="helpful", rubric="Is the answer helpful and correct?")
    completions, columns = _batch(rows)
    columns["question"] = [f"question {i}" for i in range(rows)]
    score_rows = [
        {"question": f"question {i}", "output_text": f"{c}, again"} for i, c in enumerate(completions)
    ]
    ideal = concurrency / latency
    with _server(latency) as base_url, tempfile.TemporaryDirectory() as tmp:
        judge = Judge(
            base_url=base_url, api_key="sk-bench", concurrency=concurrency, cache=Path(tmp) / "j.sqlite3"
        )
        reward = to_trl(grader, judge=judge)
        start = time.perf_counter()
        values = asyncio.run(reward(prompts=[""] * rows, completions=completions, **columns))
        reward_s = time.perf_counter() - start
        start = time.perf_counter()
        report = score(grader, score_rows, judge=judge, progress=False)
        score_s = time.perf_counter() - start
    assert None not in values
    assert None not in report.rewards
    return {
        "judge_rows_per_s": round(rows / reward_s, 1),
        "judge_pct_of_ideal": round(100 * rows / reward_s / ideal, 1),
        "score_pct_of_ideal": round(100 * rows / score_s / ideal, 1),
        "judge_reward_vs_score": round(score_s / reward_s, 2),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats, judge_rows = (9, 300) if args.quick else (41, 2_000)
    result = python_overhead((64, 512), repeats)
    result.update(judge_throughput(judge_rows, 0.1, 32))
    print(f"to_trl reward, python graders only (median of {repeats} warm batches)")
    for n in (64, 512):
        print(f"  {n:4d} completions: reward {result[f'reward_ms_{n}']:7.2f} ms | engine (ascore, warm sandbox) "
              f"{result[f'engine_ms_{n}']:7.2f} ms | in-process functions {result[f'in_process_ms_{n}']:6.2f} ms")  # fmt: skip
    print(f"  fixed overhead per batch over in-process: {result['fixed_overhead_ms']:.2f} ms (target <= 2 ms); "
          f"{result['per_row_us']:.1f} us per row (sandbox IPC); the trainer layer over ascore at 64: "
          f"{result['trainer_layer_ms_64']:.2f} ms; the engine's own fixed cost {result['engine_fixed_ms']:.2f} ms")  # fmt: skip
    print(
        f"judge inside the reward, {judge_rows} completions, 100 ms latency, concurrency 32 (ideal 320 rows/s)"
    )
    print(
        f"  reward {result['judge_rows_per_s']:.1f} rows/s = {result['judge_pct_of_ideal']:.1f}% of ideal "
        f"(target >= 85%); score() in the same run {result['score_pct_of_ideal']:.1f}%; "
        f"reward / score() = {result['judge_reward_vs_score']:.2f}"
    )
    return result


if __name__ == "__main__":
    main()
