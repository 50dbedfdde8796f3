"""Judge throughput through the engine against the loopback server (100 ms latency, concurrency 32).

The ideal is concurrency / latency = 320 rows/s. The server runs in its own process, as a real endpoint
would (sharing this process's GIL would charge its work to the client). Re-runs over the same rows are
served from the on-disk cache (the median of three is reported); the script prints both rates and their ratio, measured in this one run.

    python benchmarks/bench_judge.py            # 2,000 rows
    python benchmarks/bench_judge.py --quick    # CI size
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rftkit_nb import RubricGrader
from rftkit_nb.scoring.engine import score
from rftkit_nb.scoring.judge import Judge


@contextlib.contextmanager
def _server(latency: float) -> Iterator[str]:
    cmd = [sys.executable, "-m", "rftkit_nb.testing", "--latency", str(latency)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        try:
            yield proc.stdout.readline().strip()
        finally:
            proc.stdin.close()  # the server exits when its stdin closes
            proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 300
    grader = RubricGrader(name="helpful", rubric="Is the answer helpful and correct?")
    rows = [{"question": f"question {i}", "output_text": f"answer number {i}"} for i in range(args.rows)]
    ideal = args.concurrency / args.latency

    with _server(args.latency) as base_url, tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "judge.sqlite3"

        def run() -> tuple[float, object]:
            judge = Judge(base_url=base_url, api_key="sk-bench", concurrency=args.concurrency, cache=cache)
            start = time.perf_counter()
            report = score(grader, rows, judge=judge, progress=False)
            return time.perf_counter() - start, report

        first_s, first = run()
        cached = [run() for _ in range(3)]  # the median of three cached re-scores
        second_s, second = sorted(cached, key=lambda pair: pair[0])[1]
    for report in (first, second):
        assert report.frame["flagged"].sum() == 0, report.frame[report.frame["flagged"]].head()
    first_rate, second_rate = args.rows / first_s, args.rows / second_s
    result = {
        "rows": args.rows,
        "first_rows_per_s": round(first_rate, 1),
        "first_pct_of_ideal": round(100 * first_rate / ideal, 1),
        "cached_rows_per_s": round(second_rate),
        "cached_seconds": round(second_s, 4),
        "cached_speedup": round(second_rate / first_rate, 1),
    }
    print(
        f"judge, {args.rows:,} rows, {args.latency * 1000:.0f} ms latency, concurrency {args.concurrency} (ideal {ideal:.0f} rows/s)"
    )
    print(
        f"  first run   {first_rate:8.1f} rows/s = {result['first_pct_of_ideal']:.1f}% of ideal (target >= 85%)"
    )
    print(
        f"  cached re-run {second_rate:8.0f} rows/s ({second_s * 1000:.0f} ms) = {result['cached_speedup']:.0f}x faster (target >= 50x)"
    )
    return result


if __name__ == "__main__":
    main()
