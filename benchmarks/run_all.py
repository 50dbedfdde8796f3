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

BENCHMARKS = (
    "bench_scoring",
    "bench_judge",
    "bench_memory",
    "bench_load_ext",
    "bench_widgets",
    "bench_trainers",
)

# Loose floors, far below the targets the README reports against: they catch a real regression (a
# lost batch, a client per call, an eager import) without failing on a noisy shared machine.
FLOORS: dict[str, dict[str, tuple[str, float]]] = {
    "bench_scoring": {"engine_vs_in_process": (">=", 0.15), "engine_vs_subprocess_per_row": (">=", 15)},
    "bench_judge": {"first_pct_of_ideal": (">=", 50), "cached_speedup": (">=", 10)},
    "bench_memory": {"self_mb": ("<=", 1024)},
    "bench_load_ext": {"added_s": ("<=", 0.6)},
    "bench_widgets": {
        "matrix_build_ms": ("<=", 500),
        "matrix_state_kb": ("<=", 200),
        "explorer_large_open_s": ("<=", 10),
    },
    "bench_trainers": {"trainer_layer_ms_64": ("<=", 10), "judge_reward_vs_score": (">=", 0.5)},
}


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    sys.path.insert(0, str(Path(__file__).parent))
    print(
        f"machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, {platform.system()}"
    )
    failures = []
    for name in BENCHMARKS:
        module = importlib.import_module(name)
        start = time.perf_counter()
        result = module.main(["--quick"] if quick else [])
        print(f"  ({name} took {time.perf_counter() - start:.1f} s)\n")
        failures += [f"{name}: {key} = {result[key]} (floor {op} {bound})"
                     for key, (op, bound) in FLOORS[name].items()
                     if not (result[key] >= bound if op == ">=" else result[key] <= bound)]  # fmt: skip
    for failure in failures:
        print(f"REGRESSION {failure}")
    return 1 if failures else 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
