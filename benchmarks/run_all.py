"""Run every benchmark, one after another; ``--quick`` is the reduced size CI runs so they cannot rot.

python benchmarks/run_all.py            # full size (minutes): the figures in the README
python benchmarks/run_all.py --quick    # CI size (seconds)
"""

from __future__ import annotations

import importlib
import platform
import sys
import time
from pathlib import Path

BENCHMARKS = ("bench_scoring", "bench_judge", "bench_memory", "bench_load_ext")


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    sys.path.insert(0, str(Path(__file__).parent))
    print(
        f"machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, {platform.system()}"
    )
    for name in BENCHMARKS:
        module = importlib.import_module(name)
        start = time.perf_counter()
        module.main(["--quick"] if quick else [])
        print(f"  ({name} took {time.perf_counter() - start:.1f} s)\n")
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
