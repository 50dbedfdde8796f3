"""What ``%load_ext rftkit_nb`` adds to starting IPython (target: <= 0.3 s), measured in fresh processes.

Each repetition starts a new interpreter for each variant, in turn:

* ``bare``: ``import IPython`` and start an ``InteractiveShell`` (history off);
* ``load_ext``: the same, then ``%load_ext rftkit_nb`` in a directory without a project file;
* ``load_ext+project``: the same, with a ``rftkit.json`` of 10 rubrics, a python grader and clusters
  to open (what a kernel restart does).

It prints the median wall time of each and the differences, plus the median time of the ``%load_ext``
call itself inside the process, and checks that no heavy module (openai, pandas, widgets, the scoring
engine) was imported.

    python benchmarks/bench_load_ext.py            # 9 repetitions
    python benchmarks/bench_load_ext.py --quick    # 3 (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("openai", "pandas", "tqdm", "anywidget", "ipywidgets", "httpx", "rftkit_nb.scoring.engine")
CHILD = """
import sys, time, json
import IPython
from traitlets.config import Config
from IPython.core.interactiveshell import InteractiveShell
config = Config()
config.HistoryManager.enabled = False
ip = InteractiveShell(config=config)
load_s = 0.0
if {load!r}:
    start = time.perf_counter()
    ip.run_line_magic("load_ext", "rftkit_nb")
    load_s = time.perf_counter() - start
print(json.dumps({{"load_s": load_s, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _write_project(directory: Path) -> None:
    from rftkit_nb.core.workbench import Workbench

    wb = Workbench(directory / "rftkit.json")
    for i in range(10):
        wb.add_rubric(
            f"rubric_{i}", f"Rubric {i}: 1.0 when the answer meets criterion {i}.", clusters=[f"c{i % 3}"]
        )
    wb.add_grader({"type": "python", "name": "exact", "source": "def grade(sample, item):\n    return 1.0\n"})


def _run(variant: str, cwd: Path, env: dict[str, str]) -> tuple[float, dict]:
    code = CHILD.format(load=variant != "bare", heavy=HEAVY)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    variants = ("bare", "load_ext", "load_ext+project")
    wall: dict[str, list[float]] = {v: [] for v in variants}
    inside: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        empty, project = Path(tmp, "empty"), Path(tmp, "project")
        empty.mkdir()
        project.mkdir()
        _write_project(project)
        env = {**os.environ, "IPYTHONDIR": str(Path(tmp, "ipython"))}
        _run("bare", empty, env)  # warm the OS file cache and the IPython profile directory
        for _ in range(repeat):
            for variant in variants:  # interleaved, so drift hits every variant alike
                seconds, child = _run(variant, project if variant.endswith("project") else empty, env)
                assert child["heavy"] == [], f"{variant} imported {child['heavy']}"
                wall[variant].append(seconds)
                inside[variant].append(child["load_s"])
    med = {v: statistics.median(wall[v]) for v in variants}
    result = {
        "repeat": repeat,
        "bare_s": round(med["bare"], 3),
        "load_ext_s": round(med["load_ext"], 3),
        "load_ext_project_s": round(med["load_ext+project"], 3),
        "added_s": round(med["load_ext"] - med["bare"], 3),
        "added_with_project_s": round(med["load_ext+project"] - med["bare"], 3),
        "load_ext_call_s": round(statistics.median(inside["load_ext"]), 3),
        "load_ext_call_with_project_s": round(statistics.median(inside["load_ext+project"]), 3),
    }
    print(f"%load_ext rftkit_nb, medians of {repeat} fresh processes each (target: adds <= 0.3 s)")
    print(f"  bare IPython start           {result['bare_s']:.3f} s")
    print(f"  + %load_ext                  {result['load_ext_s']:.3f} s  (adds {result['added_s']:+.3f} s; "
          f"the call itself {result['load_ext_call_s']:.3f} s)")  # fmt: skip
    print(f"  + %load_ext, 10-rubric file  {result['load_ext_project_s']:.3f} s  (adds "
          f"{result['added_with_project_s']:+.3f} s; the call itself {result['load_ext_call_with_project_s']:.3f} s)")  # fmt: skip
    print(f"  heavy modules imported: none of {', '.join(HEAVY)}")
    return result


if __name__ == "__main__":
    main()
