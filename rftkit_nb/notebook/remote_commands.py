"""``%rft validate | parity | submit | jobs | job``: the hosted-RFT subcommands, thin over rftkit_nb.remote.

Each parses its options, calls one or two functions of :mod:`rftkit_nb.remote` and returns what they
return (a rich object). ``--client VAR`` names an ``openai.OpenAI`` / ``openai.AzureOpenAI`` client of the
notebook; without it the target comes from the environment (``AZURE_OPENAI_*`` or ``OPENAI_*``).

Example (in a notebook)::

    %rft validate --client azure
    %rft parity df --client azure --judge judge
    %rft submit --train df --model o4-mini-2025-04-16 --client azure --n-epochs 2
    %rft jobs --client azure
    %rft job ftjob-abc123 --client azure
    %rft submit --train df --client azure --panel     # the submit panel (widget)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from rftkit_nb.notebook.router import Context, arg, command, lookup

__all__ = ["job", "jobs", "parity", "submit", "validate"]

_CLIENT = arg("--client", default=None, metavar="VAR",
              help="an openai.OpenAI / openai.AzureOpenAI client (default: from AZURE_OPENAI_* or OPENAI_*)")  # fmt: skip


def _client(ctx: Context, args: argparse.Namespace) -> Any:
    return None if args.client is None else lookup(ctx, args.client, "an openai.OpenAI or AzureOpenAI client")


def _hyperparameter(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            continue
    return name, value


@command("validate", "lint the grader for the target, then ask the platform to validate it", _CLIENT)
def validate(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.remote import validate as run

    return run(ctx.workbench, client=_client(ctx, args))


@command(
    "parity",
    "the same rows through the hosted graders/run and the local engine, side by side",
    arg("rows", metavar="DF", help="a DataFrame or list of dicts (with the model output column)"),
    arg("-n", type=int, default=20, metavar="N", help="how many rows (default 20)"),
    arg("--judge", default=None, metavar="VAR", help="the local judge: a Judge or an openai client variable"),
    arg("--output-column", default="output_text", metavar="C", help="the column holding the model output"),
    _CLIENT,
)
def parity(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.remote import parity as run

    if args.n < 1:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    rows = lookup(ctx, args.rows, "a DataFrame or a list of dicts")
    judge = None if args.judge is None else lookup(ctx, args.judge, "a Judge or an openai client")
    return run(
        ctx.workbench, rows, client=_client(ctx, args), n=args.n, judge=judge, output=args.output_column
    )


@command(
    "submit",
    "write the RFT files from DF, check everything, show the cost drivers, and create the job (or --panel)",
    arg("--train", default=None, metavar="DF", help="the rows: a DataFrame or list of dicts with messages"),
    arg("--model", default=None, metavar="M", help="the base model, e.g. o4-mini-2025-04-16"),
    arg("--validation", type=float, default=0.1, metavar="F", help="fraction (or count >= 1) held out (0.1)"),
    arg("--dir", default="rft_data", metavar="PATH", help="where the JSONL files go (default rft_data/)"),
    arg("--n-epochs", type=int, default=None, metavar="N", help="hyperparameters.n_epochs"),
    arg("--hyper", type=_hyperparameter, action="append", default=[], metavar="NAME=VALUE",
        help="any other hyperparameter (repeatable), e.g. --hyper compute_multiplier=0.5"),
    arg("--suffix", default=None, metavar="S"),
    arg("--seed", type=int, default=None, metavar="N"),
    arg("--force", action="store_true", help="create a job even if this exact submission was made before"),
    arg("--panel", action="store_true",
        help="show the submit panel (findings, ranges, cost drivers, validate, submit behind a confirmation)"),
    _CLIENT,
)  # fmt: skip
def submit(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.remote import submit as run
    from rftkit_nb.remote import write_dataset

    missing = [f"--{name}" for name in ("train", "model") if getattr(args, name) is None]
    if missing and not args.panel:
        raise UsageError(f"{' and '.join(missing)} required (or --panel to fill them in a panel)")
    wb = ctx.workbench
    train = valid = None
    if args.train is not None:
        rows = lookup(ctx, args.train, "a DataFrame or a list of dicts")
        count = int(args.validation) if args.validation >= 1 else args.validation
        train, valid = write_dataset(rows, Path(args.dir) / f"{wb.name}.jsonl", grader=wb, validation=count)
    hyper = dict(args.hyper)
    if args.n_epochs is not None:
        hyper["n_epochs"] = args.n_epochs
    if args.panel:
        from rftkit_nb.notebook.widgets.submit_panel import SubmitPanel  # anywidget loads on first use

        return SubmitPanel(wb, train=train, validation=valid, model=args.model, client=_client(ctx, args),
                           hyperparameters=hyper, suffix=args.suffix)  # fmt: skip
    return run(wb, train=train, validation=valid, model=args.model, client=_client(ctx, args),
               hyperparameters=hyper or None, suffix=args.suffix, seed=args.seed, force=args.force)  # fmt: skip


@command(
    "jobs",
    "the newest fine-tuning jobs of the target",
    arg("--limit", type=int, default=20, metavar="N", help="how many (default 20)"),
    _CLIENT,
)
def jobs(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.remote import list_jobs

    return list_jobs(client=_client(ctx, args), limit=args.limit)


@command(
    "job",
    "one job: status, progress, rewards, checkpoints, latest events (or --pause / --resume / --cancel it)",
    arg("id", metavar="ID", help="the job id, e.g. ftjob-abc123"),
    arg("--pause", action="store_true"),
    arg("--resume", action="store_true"),
    arg("--cancel", action="store_true"),
    arg(
        "--poll",
        type=float,
        default=10.0,
        metavar="S",
        help="the monitor's first polling interval in seconds (it grows while nothing changes; default 10)",
    ),
    _CLIENT,
)
def job(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.remote import Job

    actions = [name for name in ("pause", "resume", "cancel") if getattr(args, name)]
    if len(actions) > 1:
        raise UsageError(f"choose one of --pause, --resume, --cancel (got {', '.join(actions)})")
    if args.poll <= 0:
        raise UsageError(f"--poll must be a positive number of seconds, got {args.poll:g}")
    found = Job.from_id(args.id, client=_client(ctx, args))
    if actions:
        getattr(found, actions[0])()
    from rftkit_nb.notebook.widgets.watched import watched  # anywidget loads on first use

    # Still the JobReport (report.job is the Job); shown, it is a live monitor where widgets render.
    return watched(found.report(), poll=args.poll)
