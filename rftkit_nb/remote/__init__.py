"""Hosted RFT through the official openai SDK: Azure OpenAI first, OpenAI (deprecated) while it lasts.

The path a grader takes to a real job, each step one function::

    from rftkit_nb.remote import write_dataset, validate, parity, submit, list_jobs, Job
    train, valid = write_dataset(df, "data/rft.jsonl", grader=wb)
    validate(wb, client=azure)
    parity(wb, df, client=azure, judge=judge)
    job = submit(wb, train=train, validation=valid, model="o4-mini-2025-04-16", client=azure)
    job.wait().checkpoints()

Where the platform dates live: :data:`rftkit_nb.remote.availability.AVAILABILITY` (one editable table).
Errors: every SDK error becomes a one-line :class:`~rftkit_nb.errors.RemoteError` in
:mod:`rftkit_nb.remote.calls`. No IPython here; the ``%rft`` commands are thin wrappers.
"""

from rftkit_nb.remote.availability import AVAILABILITY, Availability, AvailabilityTable, lint_target
from rftkit_nb.remote.costs import CostDrivers, check_hyperparameters, cost_drivers
from rftkit_nb.remote.datasets import DatasetFile, lint_rows, write_dataset
from rftkit_nb.remote.jobs import Checkpoint, Job, JobEvent, JobList, JobReport, Metrics, list_jobs
from rftkit_nb.remote.parity import ParityReport, parity
from rftkit_nb.remote.submit import submit
from rftkit_nb.remote.targets import Target, resolve_target
from rftkit_nb.remote.validate import ValidationReport, validate

__all__ = [
    "AVAILABILITY",
    "Availability",
    "AvailabilityTable",
    "Checkpoint",
    "CostDrivers",
    "DatasetFile",
    "Job",
    "JobEvent",
    "JobList",
    "JobReport",
    "Metrics",
    "ParityReport",
    "Target",
    "ValidationReport",
    "check_hyperparameters",
    "cost_drivers",
    "lint_rows",
    "lint_target",
    "list_jobs",
    "parity",
    "resolve_target",
    "submit",
    "validate",
    "write_dataset",
]
