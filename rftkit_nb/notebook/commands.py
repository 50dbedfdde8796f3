"""``%rft SUBCOMMAND ...``: a small router and one short handler per subcommand.

Each handler parses its own arguments (an IPython ``MagicArgumentParser``: a bad option is a one-line
``UsageError``), calls one :class:`~rftkit_nb.core.workbench.Workbench` or scoring function, and returns a
rich object. Heavy modules (the scoring engine, pandas, the openai SDK, the sandbox) are imported inside
the handlers that need them, never when the extension loads.

Example::

    >>> from rftkit_nb.core.workbench import Workbench
    >>> ctx = Context(Workbench(path=None), {})
    >>> dispatch(ctx, "help").text.splitlines()[0]
    '%rft SUBCOMMAND [options]: design, check, score and export the grader of this notebook.'
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from rftkit_nb.core.graders import BaseGrader, PythonGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.errors import SandboxError
from rftkit_nb.notebook.display import HelpText, Note
from rftkit_nb.notebook.router import (
    COMMANDS,
    Context,
    arg,
    command,
    dispatch,
    help_text,
    lookup,
    split_line,
    strip_comment,
)

__all__ = [
    "COMMANDS",
    "Context",
    "cluster_notes",
    "dispatch",
    "help_text",
    "split_line",
    "strip_comment",
    "test_run",
]


# --- the subcommands ---------------------------------------------------------------------------------


@command("show", "the whole design: rubrics, graders, clusters, formula, lint findings")
def show(ctx: Context, args: argparse.Namespace) -> Workbench:
    return ctx.workbench


@command(
    "clusters",
    "the cluster x rubric matrix (which rubrics count for which rows), as an editable widget",
    arg(
        "rows",
        nargs="?",
        default=None,
        metavar="DF",
        help="a DataFrame or list of dicts: its rows per cluster",
    ),
)
def clusters(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.notebook.widgets.cluster_matrix import ClusterMatrix  # anywidget loads on first use

    matrix = ClusterMatrix(ctx.workbench)
    if args.rows is not None:
        matrix.attach(lookup(ctx, args.rows, "a DataFrame or a list of dicts"))
    return matrix


@command(
    "score",
    "score rows (a DataFrame, a list of dicts or a JSONL path) with the composed grader",
    arg("rows", metavar="DF", help="a variable of the notebook, or a JSONL file"),
    arg("--limit", type=int, default=None, metavar="N", help="score only the first N rows"),
    arg("--output-column", default="output_text", metavar="C", help="the column holding the model output"),
    arg(
        "--judge",
        default=None,
        metavar="VAR",
        help="a Judge or an openai client variable (default: from the OPENAI_* / AZURE_OPENAI_* variables)",
    ),
    arg("--timeout", type=float, default=None, metavar="S",
        help="seconds one judge request may take (default 30, with 2 retries; set it on a --judge Judge)"),
    arg("--deadline", type=float, default=None, metavar="S",
        help="seconds for the whole run; rows not finished by then are reported unfinished"),
)  # fmt: skip
def score(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.scoring.engine import score as run_score  # heavy: pandas, openai

    wb = ctx.workbench
    rows = ctx.user_ns.get(args.rows, args.rows)
    if isinstance(rows, str) and not Path(rows).is_file():
        lookup(ctx, args.rows, "a DataFrame, a list of dicts or a JSONL file")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    judge = None if args.judge is None else lookup(ctx, args.judge, "a Judge or an openai client")
    timing: dict[str, float] = {"deadline": args.deadline} if args.deadline is not None else {}
    if args.timeout is not None:
        timing["judge_timeout"] = args.timeout
    report = run_score(wb.grader(), rows, output=args.output_column, limit=args.limit, judge=judge,
                       cluster_field=wb.cluster_field, **timing)  # fmt: skip
    from rftkit_nb.notebook.widgets.explorable import explorable

    # Still a ScoreReport (report = %rft score df); shown, it is the explorer where widgets render.
    return explorable(report)


@command(
    "export",
    "write the composed grader's JSON (what the API takes); a previous export is replaced",
    arg("path", metavar="PATH"),
    arg(
        "--overwrite",
        action="store_true",
        help="replace an existing file that is not a grader JSON (a project file never is)",
    ),
    arg(
        "--to",
        choices=("trl", "verl", "verifiers"),
        default=None,
        help="write a python module that builds the reward for this trainer instead of the JSON",
    ),
)
def export(ctx: Context, args: argparse.Namespace) -> Note:
    if args.to is not None:
        from rftkit_nb.notebook.trainer_commands import export_for_trainer

        return export_for_trainer(ctx.workbench, args.path, args.to, overwrite=args.overwrite)
    grader = ctx.workbench.grader()
    path = ctx.workbench.export(args.path, overwrite=args.overwrite)
    return Note(f"wrote grader {grader.name!r} ({len(grader.graders)} sub-graders) to {path}")


@command(
    "lint",
    "check the grader (and, given DF, its rows) against what the service accepts",
    arg("rows", nargs="?", default=None, metavar="DF", help="a DataFrame or list of dicts to check too"),
)
def lint(ctx: Context, args: argparse.Namespace) -> Any:
    rows = None if args.rows is None else lookup(ctx, args.rows, "a DataFrame or a list of dicts")
    return ctx.workbench.lint(rows)


@command("remove", "remove a rubric or a grader (%rft undo brings it back)", arg("name", metavar="NAME"))
def remove(ctx: Context, args: argparse.Namespace) -> Note:
    kind = ctx.workbench.remove(args.name)
    return Note(f"removed {kind} {args.name!r}; %rft undo brings it back")


@command(
    "open",
    "open a project file; autosave goes there from now on",
    arg("path", metavar="PATH"),
    arg("--discard", action="store_true", help="drop this notebook's unsaved work (autosave is off)"),
)
def open_project(ctx: Context, args: argparse.Namespace) -> Workbench:
    ctx.workbench.open(args.path, discard=args.discard)
    return ctx.workbench


@command(
    "config",
    "the composed grader's settings: its name, the row field clusters are read from, normalisation",
    arg("--name", default=None, metavar="NAME", help="the composed grader's name (an identifier)"),
    arg("--cluster-field", default=None, metavar="FIELD", help="the dataset field (dotted path) of a row's cluster"),
    arg("--normalize", action=argparse.BooleanOptionalAction, default=None,
        help="keep each row's reward in [0, 1] (--no-normalize: the raw weighted sum)"),
)  # fmt: skip
def config(ctx: Context, args: argparse.Namespace) -> Note:
    wb = ctx.workbench
    wb.configure(name=args.name, cluster_field=args.cluster_field, normalize=args.normalize)
    return Note(f"settings: name {wb.name!r}, cluster field {wb.cluster_field!r}, normalize {wb.normalize}")


@command(
    "save",
    "save the project to PATH; autosave goes there from now on",
    arg("path", metavar="PATH"),
    arg(
        "--overwrite",
        action="store_true",
        help="write over an existing file, or a project file that could not be read or that changed on disk "
        "since it was read",
    ),
)
def save(ctx: Context, args: argparse.Namespace) -> Note:
    path = ctx.workbench.save(args.path, overwrite=args.overwrite)
    real = os.path.realpath(path)
    through = f" (a symbolic link: the file written is {real})" if real != os.path.abspath(path) else ""
    return Note(f"saved to {path}{through}; autosaving there from now on")


@command(
    "example",
    "set the row python graders are test-run on (a dict, or a DataFrame row)",
    arg("var", nargs="?", default=None, metavar="VAR", help="a dict, a Series or a DataFrame variable"),
    arg("--row", type=int, default=0, metavar="N", help="which row of a DataFrame (by position; default 0)"),
    arg("--output-column", default="output_text", metavar="C", help="the column holding the model output"),
    arg("--clear", action="store_true", help="forget the example row"),
)
def example(ctx: Context, args: argparse.Namespace) -> Note:
    wb = ctx.workbench
    if args.clear or args.var is None:
        if args.clear:
            wb.set_example(None)
        return Note(f"example row: {wb.example!r}" if wb.example else "no example row", "info")
    row = _row_of(lookup(ctx, args.var, "a dict or a DataFrame"), args.row)
    if args.output_column not in row:
        raise UsageError(f"the example row has no output column {args.output_column!r}; "
                         f"columns are: {', '.join(map(str, row))} (choose one with --output-column)")  # fmt: skip
    row["output_text"] = row.pop(args.output_column)
    wb.set_example(row)
    return Note(f"example row set ({len(row)} fields); python graders are test-run on it")


@command("undo", "undo the last change (repeat to go further back)")
def undo(ctx: Context, args: argparse.Namespace) -> Note:
    return Note(f"undone: {ctx.workbench.undo()}")


@command("help", "this list, or one subcommand's options", arg("sub", nargs="?", default=None, metavar="SUB"))
def help_(ctx: Context, args: argparse.Namespace) -> HelpText:
    if args.sub is None:
        return HelpText(help_text())
    if args.sub not in COMMANDS:
        raise UsageError(f"unknown subcommand {args.sub!r}; try one of: {', '.join(COMMANDS)}")
    return HelpText(COMMANDS[args.sub].parser.format_help())


# --- helpers for the magics ---------------------------------------------------------------------------


def _row_of(value: Any, position: int) -> dict[str, Any]:
    """A plain dict from a dict, a pandas Series or one row of a DataFrame (duck-typed: no pandas import)."""
    if hasattr(value, "iloc") and hasattr(value, "columns"):
        if not -len(value) <= position < len(value):
            raise UsageError(f"--row {position} is out of range: the DataFrame has {len(value)} rows")
        value = value.iloc[position]
    if hasattr(value, "to_json") and hasattr(
        value, "index"
    ):  # a Series: to_json turns numpy values into JSON
        value = json.loads(value.to_json())
    if not isinstance(value, Mapping):
        raise UsageError(f"the example must be a dict or a DataFrame row, not {type(value).__name__}")
    return dict(value)


def test_run(wb: Workbench, grader: BaseGrader) -> str | None:
    """Test-run a python grader on the workbench's example row; None when there is no example to run on.

    The run itself is :func:`~rftkit_nb.scoring.sandbox.check_example`; this adds what the cell's user
    should do when it fails.
    """
    if wb.example is None or not isinstance(grader, PythonGrader):
        return None
    from rftkit_nb.scoring.sandbox import check_example

    try:
        return check_example(grader, wb.example)
    except SandboxError as e:
        raise SandboxError(f"{e}; nothing was registered (fix it, or %rft example --clear)") from None


def cluster_notes(wb: Workbench, rubric: str, *, had_clusters: bool) -> list[str]:
    """One-line notes after ``%%rubric`` about rubrics that count for no row because they are in no cluster.

    Example::

        >>> wb = Workbench(path=None)
        >>> _ = wb.add_rubric("tone", "t"), wb.add_rubric("clarity", "c", clusters=["essay"])
        >>> cluster_notes(wb, "clarity", had_clusters=False)
        ['note: now that clusters exist, a rubric in no cluster counts for no row: tone; re-run its %%rubric cell with --clusters essay']
    """
    cmap = wb.clusters
    if not cmap.clusters:
        return []
    known = ",".join(cmap.clusters)
    lost = [r for r in cmap.uncovered_rubrics() if r in wb.rubrics]
    notes = []
    if rubric in lost:
        notes.append(f"note: {rubric} is in no cluster, so it counts for no row; "
                     f"add --clusters {known} (or some of them) to its %%rubric line")  # fmt: skip
    others = [r for r in lost if r != rubric]
    if others and not had_clusters:
        whose = "its %%rubric cell" if len(others) == 1 else "their %%rubric cells"
        notes.append(f"note: now that clusters exist, a rubric in no cluster counts for no row: "
                     f"{', '.join(others)}; re-run {whose} with --clusters {known}")  # fmt: skip
    return notes


def parse_names(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (for --clusters and --fields)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:  # argparse shows this message as it is
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names
