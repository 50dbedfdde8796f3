"""Peak memory of scoring 100,000 rows with the local graders of bench_scoring (target: under 1 GB).

The scoring runs in a child interpreter so its peak RSS is its own; the sandbox workers' peak is
reported separately.

    python benchmarks/bench_memory.py            # 100,000 rows
    python benchmarks/bench_memory.py --quick    # CI size
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys
sys.path.insert(0, {here!r})
from bench_scoring import make_grader, make_rows
from rftkit_nb.scoring.engine import score
rows = make_rows({rows})
report = score(make_grader(), rows, judge=False, progress=False)
assert len(report.frame) == {rows}
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({{"self_mb": self_kb / 1024, "largest_worker_mb": workers_kb / 1024}}))
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 5_000
    code = CHILD.format(here=str(Path(__file__).parent), rows=args.rows)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result = {"rows": args.rows, **{k: round(v) for k, v in result.items()}}
    print(f"memory, {args.rows:,} rows of local graders")
    print(
        f"  scoring process peak RSS {result['self_mb']:,} MB (target < 1,024 MB); largest sandbox worker {result['largest_worker_mb']:,} MB"
    )
    return result


if __name__ == "__main__":
    main()
