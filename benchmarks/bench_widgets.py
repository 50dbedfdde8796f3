"""The widgets' Python side: what building them costs and how much state they ship.

* ``ClusterMatrix`` of a 200 x 200 workbench (each cluster counting a tenth of the rubrics, and every
  rubric for the dense case): build time and synced state size (targets: <= 100 ms, < 200 KB).
* ``ScoreExplorer`` of 10,000 and 100,000-row reports (4 sub-graders, 5 clusters): open time (building
  the report's frame, the columns and the first view), bytes sent when it opens, a filter + sort round
  (what each change in the browser costs Python) and one row's detail (targets: <= 1 s and <= 3 s open).

The click-to-Python round trip is measured in a real browser by tests/browser (target <= 150 ms).

    python benchmarks/bench_widgets.py            # 10,000 and 100,000 rows
    python benchmarks/bench_widgets.py --quick    # 2,000 and 10,000 rows (CI)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rftkit_nb.core.graders import MultiGrader, StringCheckGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.notebook.widgets import ClusterMatrix, ScoreExplorer
from rftkit_nb.scoring.outcomes import ERROR, NOT_APPLICABLE, Outcome
from rftkit_nb.scoring.report import ScoreReport
from rftkit_nb.scoring.rows import SampleRow


def project_file(path: Path, n: int, density: float) -> Path:
    """A project of n rubrics and n clusters; each cluster counts ``density`` of the rubrics."""
    rubrics = [f"rubric_{j:03d}" for j in range(n)]
    step = max(1, round(1 / density))
    spec = {"text": "1 = good", "weight": 1.0, "model": "gpt-4.1-mini-2025-04-14", "range": [0.0, 1.0],
            "input": None, "item_fields": []}  # fmt: skip
    clusters = {
        f"cluster_{i:03d}": [r for j, r in enumerate(rubrics) if (i + j) % step == 0] for i in range(n)
    }
    project = {"format": "rftkit_nb-project", "version": 1, "name": "reward", "normalize": True,
               "formatting": None, "rubrics": [{"name": r, **spec} for r in rubrics], "graders": [],
               "clusters": {"clusters": clusters, "rubrics": rubrics, "field": "cluster"}}  # fmt: skip
    path.write_text(json.dumps(project))
    return path


def synthetic_report(n: int, graders: int = 4, seed: int = 0) -> ScoreReport:
    """A report of ``n`` rows as the engine would make it: scores, a masked sub-grader, a few errors."""
    rnd = random.Random(seed)
    leaves = {f"g{j}": StringCheckGrader(name=f"g{j}", input="{{ sample.output_text }}", reference="x",
                                         operation="eq") for j in range(graders)}  # fmt: skip
    rows = [SampleRow(i, {"cluster": f"c{i % 5}", "question": f"question {i}"}, {"output_text": f"answer {i}"})
            for i in range(n)]  # fmt: skip

    def outcome(i: int, j: int) -> Outcome:
        if j == 0 and i % 5 == 1:
            return Outcome(None, NOT_APPLICABLE)
        if rnd.random() < 0.01:
            return Outcome.failed("server_error", "judge returned 500")
        return Outcome(round(rnd.random(), 3))

    outcomes = {key: [outcome(i, j) for i in range(n)] for j, key in enumerate(leaves)}
    rewards: list[float | None] = []
    notes = []
    for i in range(n):
        scores = [outcomes[k][i].score for k in leaves if outcomes[k][i].state != NOT_APPLICABLE]
        failed = any(outcomes[k][i].state == ERROR for k in leaves)
        rewards.append(None if failed else sum(s or 0.0 for s in scores) / max(len(scores), 1))
        notes.append("a sub-grader failed" if failed else "")
    formula = "(" + " + ".join(leaves) + f") / {graders}"
    grader = MultiGrader(name="reward", graders=leaves, calculate_output=formula)
    return ScoreReport(grader=grader, rows=rows, leaves=dict(leaves), outcomes=outcomes, rewards=rewards,
                       reward_notes=notes)  # fmt: skip


def _median_s(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _state_bytes(widget: Any) -> int:
    """What the widget's opening message carries: its JSON state plus its binary buffers."""
    state = widget.get_state()
    binary = sum(len(v) for v in state.values() if isinstance(v, bytes | bytearray | memoryview))
    text = {k: v for k, v in state.items() if not isinstance(v, bytes | bytearray | memoryview)}
    return binary + len(json.dumps(text, default=str))


def bench_matrix(repeat: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, density in (("", 0.1), ("_dense", 1.0)):
            wb = Workbench(project_file(Path(tmp) / f"p{label}.json", 200, density))
            built = _median_s(lambda wb=wb: ClusterMatrix(wb).close(), repeat)
            out[f"matrix{label}_build_ms"] = round(built * 1000, 1)
            out[f"matrix{label}_state_kb"] = round(_state_bytes(ClusterMatrix(wb)) / 1000, 1)
    return out


def bench_explorer(n: int, repeat: int) -> dict[str, float]:
    reports = [synthetic_report(n, seed=s) for s in range(repeat)]  # fresh ones: no frame built yet
    opened = []
    for report in reports:
        start = time.perf_counter()
        explorer = ScoreExplorer(report)
        opened.append(time.perf_counter() - start)
    filters = {"cluster": "c2", "reward_min": 0.3, "search": "question 1"}

    def refine() -> None:
        explorer.filters = {**filters, "search": filters["search"] + str(random.randint(0, 9))}
        explorer.sort = {"column": "g1", "descending": not explorer.sort.get("descending")}

    explorer.filters = filters  # the search text of every row is built once, on the first search
    return {
        f"explorer_{n}_open_s": round(statistics.median(opened), 3),
        f"explorer_{n}_sent_mb": round(_state_bytes(explorer) / 1e6, 2),
        f"explorer_{n}_refilter_ms": round(_median_s(refine, repeat) * 1000, 1),
        f"explorer_{n}_detail_ms": round(_median_s(lambda: explorer.detail(n // 2), repeat) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    small, large = (2_000, 10_000) if args.quick else (10_000, 100_000)
    repeat = 3 if args.quick else 5
    result = bench_matrix(repeat)
    result |= bench_explorer(small, repeat)
    result |= bench_explorer(large, repeat)
    result["explorer_small_open_s"] = result[f"explorer_{small}_open_s"]
    result["explorer_large_open_s"] = result[f"explorer_{large}_open_s"]
    print("widgets (Python side):")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
