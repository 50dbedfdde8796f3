"""``%rft label``, ``%rft calibrate``, ``%rft preflight``, ``%rft cost``: thin calls into :mod:`rftkit_nb.quality`.

Each handler parses its arguments, makes one call below and returns what it returns. Labels live beside
the project file (``rftkit.json`` -> ``rftkit.labels.json``). The quality lab (scipy, scikit-learn,
krippendorff) and the widget load only when one of these runs.

Example (in a notebook)::

    %rft label df --rubric tone
    %rft calibrate df --floor 0.6
    %rft preflight df --samples-per-prompt 4
    %rft cost df --epochs 2 --samples-per-prompt 4
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from rftkit_nb.notebook.router import Context, arg, command, lookup

__all__ = ["calibrate", "label", "preflight", "project_cost"]

_JUDGE = arg("--judge", default=None, metavar="VAR",
             help="a Judge or an openai client variable (default: from the OPENAI_* / AZURE_OPENAI_* variables)")  # fmt: skip


def _rows(ctx: Context, name: str) -> Any:
    rows = ctx.user_ns.get(name, name)
    if isinstance(rows, str) and not Path(rows).is_file():
        lookup(ctx, name, "a DataFrame, a list of dicts or a JSONL file")
    return rows


def _judge(ctx: Context, name: str | None) -> Any:
    return None if name is None else lookup(ctx, name, "a Judge or an openai client")


def _labels(ctx: Context) -> Any:
    from rftkit_nb.quality.labels import Labels

    return Labels.for_project(ctx.workbench)


@command(
    "label",
    "label rows for a rubric in a widget (click or number keys; saved beside the project file)",
    arg("rows", metavar="DF", help="a DataFrame or list of dicts variable, or a JSONL file"),
    arg("--rubric", required=True, metavar="NAME", help="the rubric to label (one of the workbench's)"),
    arg("--step", type=float, default=None, metavar="S", help="the distance between scores (default: from the range)"),
    arg("--limit", type=int, default=200, metavar="N", help="label the first N rows (default 200: every row is sent to the page)"),
    arg("--output-column", default="output_text", metavar="C", help="the column holding the model output"),
)  # fmt: skip
def label(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.notebook.widgets.labelling import LabellingWidget, label_steps

    spec = ctx.workbench.rubrics.get(args.rubric)
    if spec is None:
        known = ", ".join(ctx.workbench.rubrics) or "(none yet: add one with %%rubric)"
        raise UsageError(f"no rubric {args.rubric!r} in this notebook; rubrics are: {known}")
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    return LabellingWidget(_rows(ctx, args.rows), spec.name, _labels(ctx), rubric_text=spec.text,
                           output=args.output_column, limit=args.limit, choices=label_steps(*spec.range, step=args.step))  # fmt: skip


@command(
    "calibrate",
    "judge vs human agreement per rubric: kappa, alpha, correlations, bias, beside the base rate",
    arg("data", metavar="REPORT|DF", help="a ScoreReport variable, or rows to score with the composed grader"),
    _JUDGE,
    arg("--floor", type=float, default=0.6, metavar="K", help="the kappa a rubric must reach (default 0.6)"),
    arg("--min-labels", type=int, default=50, metavar="N", help="warn below N labels per rubric (default 50)"),
    arg("--output-column", default="output_text", metavar="C", help="the column holding the model output"),
)  # fmt: skip
def calibrate(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.quality.agreement import agreement

    data = ctx.user_ns.get(args.data)
    if data is None or not hasattr(data, "leaves"):
        from rftkit_nb.scoring.engine import score

        data = score(ctx.workbench.grader(), _rows(ctx, args.data), judge=_judge(ctx, args.judge),
                     output=args.output_column, cluster_field=ctx.workbench.cluster_field)  # fmt: skip
    return agreement(data, _labels(ctx), floor=args.floor, min_labels=args.min_labels)


@command(
    "preflight",
    "check the reward before training: saturation, constant groups, redundancy, hackability probes, baseline",
    arg("rows", metavar="DF", help="a DataFrame or list of dicts variable, or a JSONL file"),
    _JUDGE,
    arg("--samples-per-prompt", type=int, default=None, metavar="K", help="rows sharing an item are K samples of one prompt"),
    arg("--no-probes", action="store_true", help="skip the hackability probes (they call the judges)"),
    arg("--probe-rows", type=int, default=20, metavar="N", help="rows each probe is scored on (default 20)"),
    arg("--fraction", type=float, default=0.5, metavar="F", help="flag probes earning more than F of the real reward"),
    arg("--output-column", default="output_text", metavar="C", help="the column holding the model output"),
)  # fmt: skip
def preflight(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.quality.preflight import preflight as run

    return run(ctx.workbench, _rows(ctx, args.rows), samples_per_prompt=args.samples_per_prompt,
               judge=_judge(ctx, args.judge), probes=not args.no_probes, probe_rows=args.probe_rows,
               fraction=args.fraction, output=args.output_column)  # fmt: skip


@command(
    "cost",
    "project the cost of an RFT run: judge tokens measured on a few rows, every judge on every sample",
    arg("rows", metavar="DF", help="the training rows (a variable, or a JSONL file)"),
    arg("--epochs", type=int, required=True, metavar="N"),
    arg("--samples-per-prompt", type=int, required=True, metavar="K"),
    arg("--validation-rows", type=int, default=0, metavar="N"),
    arg("--eval-samples", type=int, default=1, metavar="N", help="samples per validation prompt"),
    arg("--evaluations", type=int, default=None, metavar="N", help="validation passes (default: one per epoch)"),
    arg("--training-hours", type=float, default=None, metavar="H", help="your estimate of core training hours"),
    arg("--measure", type=int, default=20, metavar="N", help="rows the judge tokens are measured on"),
    arg("--client", default=None, metavar="VAR", help="an openai client variable (default: OPENAI_BASE_URL / OPENAI_API_KEY)"),
    arg("--prices", default=None, metavar="VAR", help="a PriceTable variable (default: the dated built-in table)"),
)  # fmt: skip
def project_cost(ctx: Context, args: argparse.Namespace) -> Any:
    from rftkit_nb.quality.cost import cost
    from rftkit_nb.quality.prices import PRICES

    client = None if args.client is None else lookup(ctx, args.client, "an openai client")
    prices = PRICES if args.prices is None else lookup(ctx, args.prices, "a PriceTable")
    return cost(ctx.workbench, _rows(ctx, args.rows), epochs=args.epochs, samples_per_prompt=args.samples_per_prompt,
                validation_rows=args.validation_rows, eval_samples=args.eval_samples, evaluations=args.evaluations,
                training_hours=args.training_hours, measure=args.measure, client=client, prices=prices)  # fmt: skip
