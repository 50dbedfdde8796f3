"""Local-grader throughput: the engine vs the in-process limit vs a fresh subprocess per row.

A composed grader of formatting (python) + indicator (python) + string_check + text_similarity, as in
issue 3. All three ways run in this one process run, side by side, so the ratios survive a noisy machine.

    python benchmarks/bench_scoring.py            # 10,000 rows
    python benchmarks/bench_scoring.py --quick    # CI size
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from rftkit_nb import (
    AggregatorGrader,
    ClusterMap,
    FormattingGrader,
    IndicatorGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from rftkit_nb.core.formula import parse_formula
from rftkit_nb.core.templates import render
from rftkit_nb.scoring import similarity
from rftkit_nb.scoring.engine import score


def make_grader() -> AggregatorGrader:
    clusters = ClusterMap.from_dict({"math": ["exact"], "prose": ["close"]})
    return AggregatorGrader(
        name="reward",
        graders=[
            FormattingGrader(name="fmt", weight=0.2, required_fields=["answer", "reasoning"]),
            IndicatorGrader(name="applies_exact", rubric_name="exact", cluster_map=clusters),
            StringCheckGrader(
                name="exact",
                input="{{ sample.output_json.answer }}",
                reference="{{ item.answer }}",
                operation="eq",
            ),
            TextSimilarityGrader(
                name="close",
                input="{{ sample.output_json.reasoning }}",
                reference="{{ item.reasoning }}",
                evaluation_metric="rouge_l",
            ),
        ],
        rubric_to_indicator_map={"exact": "applies_exact"},
        formatting_grader_name="fmt",
    )


def make_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        answer = str(i % 17)
        reasoning = f"step {i % 5}: add the numbers then check the result of case {i % 11}"
        out = {
            "answer": answer if i % 3 else "x",
            "reasoning": reasoning.replace("check", "verify") if i % 2 else reasoning,
        }
        rows.append(
            {
                "cluster": "math" if i % 2 else "prose",
                "answer": answer,
                "reasoning": reasoning,
                "output_text": json.dumps(out),
            }
        )
    return rows


def in_process(grader: AggregatorGrader, rows: list[dict]) -> float:
    """The limit: the same grade functions called directly in this process, no sandbox, no bookkeeping."""
    fns = {}
    for key in ("fmt", "applies_exact"):
        namespace: dict = {}
        exec(
            compile(grader.graders[key].config["source"], key, "exec"), namespace
        )  # our own generated source
        fns[key] = namespace["grade"]
    formula = parse_formula(grader.calculate_output)
    exact, close = grader.graders["exact"], grader.graders["close"]
    start = time.perf_counter()
    for row in rows:
        item = {k: v for k, v in row.items() if k != "output_text"}
        sample = {"output_text": row["output_text"], "output_json": json.loads(row["output_text"])}
        scores = {k: fn(sample, item) for k, fn in fns.items()}
        scores["exact"] = similarity.string_check(
            "eq",
            render(exact.input, item=item, sample=sample),
            render(exact.reference, item=item, sample=sample),
        )
        scores["close"] = similarity.text_similarity(
            "rouge_l",
            render(close.input, item=item, sample=sample),
            render(close.reference, item=item, sample=sample),
        ).value
        formula.evaluate(scores)
    return time.perf_counter() - start


def subprocess_per_row(grader: AggregatorGrader, rows: list[dict]) -> float:
    """The naive way: a fresh interpreter per row running the python graders (text metrics not even counted)."""
    program = (
        "import json,sys\n"
        "data=json.load(sys.stdin)\n"
        "out={}\n"
        "for key, src in data['sources'].items():\n"
        "    ns={}\n"
        "    exec(src, ns)\n"
        "    out[key]=ns['grade'](data['sample'], data['item'])\n"
        "print(json.dumps(out))\n"
    )
    sources = {k: grader.graders[k].config["source"] for k in ("fmt", "applies_exact")}
    start = time.perf_counter()
    for row in rows:
        item = {k: v for k, v in row.items() if k != "output_text"}
        payload = json.dumps(
            {
                "sources": sources,
                "item": item,
                "sample": {"output_text": row["output_text"], "output_json": None},
            }
        )
        subprocess.run(
            [sys.executable, "-c", program], input=payload, capture_output=True, text=True, check=True
        )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--naive-rows", type=int, default=100, help="rows for the subprocess-per-row way")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.naive_rows = 1_000, 10
    grader, rows = make_grader(), make_rows(args.rows)

    score(grader, rows[:50], judge=False, progress=False)  # warm imports and metric caches
    start = time.perf_counter()
    report = score(grader, rows, judge=False, progress=False)
    engine_s = time.perf_counter() - start
    assert report.frame["flagged"].sum() == 0, report.frame[report.frame["flagged"]].head()
    limit_s = in_process(grader, rows)
    naive_s = subprocess_per_row(grader, rows[: args.naive_rows])

    engine_rate, limit_rate, naive_rate = args.rows / engine_s, args.rows / limit_s, args.naive_rows / naive_s
    result = {
        "rows": args.rows,
        "engine_rows_per_s": round(engine_rate),
        "in_process_rows_per_s": round(limit_rate),
        "subprocess_per_row_rows_per_s": round(naive_rate, 1),
        "engine_vs_in_process": round(engine_rate / limit_rate, 3),
        "engine_vs_subprocess_per_row": round(engine_rate / naive_rate, 1),
    }
    print(f"local graders, {args.rows:,} rows (formatting + indicator python graders, string_check, rouge_l)")
    print(f"  (a) rftkit_nb engine (sandboxed)      {engine_rate:10,.0f} rows/s")
    print(f"  (b) same functions in-process (limit)  {limit_rate:10,.0f} rows/s")
    print(f"  (c) fresh subprocess per row           {naive_rate:10,.1f} rows/s  ({args.naive_rows} rows)")
    print(
        f"  a/b = {result['engine_vs_in_process']:.2f} (target >= 0.33)   a/c = {result['engine_vs_subprocess_per_row']:.0f}x (target >= 50x)"
    )
    return result


if __name__ == "__main__":
    main()
