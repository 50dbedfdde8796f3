"""The IPython magics: ``%%rubric``, ``%%python_grader`` and ``%rft``, thin wrappers over a Workbench.

Each magic parses its arguments, makes one call into :class:`~rftkit_nb.core.workbench.Workbench` (or,
through :mod:`rftkit_nb.notebook.commands`, the scoring engine) and returns a rich object. Every error
rftkit_nb raises on purpose becomes a one-line ``UsageError`` in :func:`usage_errors`, and nothing changes.

One Workbench per shell, opened when the extension loads from the notebook's own project file
(``<notebook>.rftkit.json``, see :func:`project_file`), or ``./rftkit.json`` outside Jupyter.

Example (in a notebook)::

    %load_ext rftkit_nb

    %%rubric tone --weight 2 --clusters chat
    1.0 = polite and warm; 0.0 = rude.

    %rft export grader.json
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, TypeVar, cast

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from rftkit_nb.core.graders import BaseGrader, PythonGrader
from rftkit_nb.core.rubrics import RubricGrader
from rftkit_nb.core.workbench import DEFAULT_PROJECT_FILE, Workbench
from rftkit_nb.errors import RftkitError
from rftkit_nb.notebook import commands

__all__ = ["RftMagics", "load", "project_file", "unload", "usage_errors", "workbench_of"]

F = TypeVar("F", bound=Callable[..., Any])


def usage_errors(fn: F) -> F:
    """The one place an :class:`RftkitError` becomes a one-line ``UsageError`` (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RftkitError as e:
            raise UsageError(" ".join(str(e).split())) from None

    return wrapper  # type: ignore[return-value]


def _parse(magic: Any, line: str) -> Any:
    return magic.parser.parse_args(commands.split_line(line))


@magics_class
class RftMagics(Magics):
    """The magics of one shell, bound to its :class:`Workbench`."""

    def __init__(self, shell: InteractiveShell, workbench: Workbench) -> None:
        super().__init__(shell)
        self.workbench = workbench
        self._ip = shell  # typed; Magics.shell is untyped
        workbench.observe(self.remind_unsaved)

    def remind_unsaved(self, event: str) -> None:
        """After each change (a magic's, a widget's, Python code's), say when it was not saved."""
        reminder = self.workbench.autosave_blocked
        if reminder is not None:
            print(reminder)

    @cell_magic
    @no_var_expand  # `{{ item.x }}` in --input must reach the template as written
    @usage_errors
    @magic_arguments("%rubric")  # the parser adds one "%": usage and errors then read %%rubric
    @argument("name", help="the rubric's name: an identifier (its variable in the reward formula)")
    @argument("--weight", type=float, default=1.0, help="its weight in the reward (default 1)")
    @argument("--model", default=None, help="the judge model (default: a small documented grader model)")
    @argument("--range", nargs=2, type=float, default=(0.0, 1.0), metavar=("LO", "HI"),
              help="the judge's score range (default 0 1)")  # fmt: skip
    @argument("--clusters", type=commands.parse_names, default=None, metavar="A,B",
              help="exactly the clusters it applies to (default: leave membership as it is)")  # fmt: skip
    @argument("--input", default=None, metavar="TEMPLATE",
              help="what the judge is shown, e.g. 'Q: {{ item.question }} A: {{ sample.output_text }}'")  # fmt: skip
    @argument("--fields", type=commands.parse_names, default=(), metavar="F1,F2",
              help="dataset fields the default prompt shows the judge (with --input, put them in the "
                   "template instead)")  # fmt: skip
    def rubric(self, line: str, cell: str) -> RubricGrader:
        """Create or update a rubric judged by an LLM; the cell body is the rubric text.

        Re-running the cell edits the rubric in place. Shows the rubric's judge (its score_model grader).
        When clusters exist a rubric in no cluster counts for no row: a one-line note says so when this
        rubric ends up in none, or when its --clusters creates the first clusters and so leaves the
        rubrics without --clusters counting for no row.
        """
        a = _parse(self.rubric, line)
        wb = self.workbench
        had_clusters = bool(wb.clusters.clusters)
        judge = wb.add_rubric(a.name, cell, weight=a.weight, model=a.model, range=tuple(a.range),
                              input=a.input, item_fields=a.fields, clusters=a.clusters)  # fmt: skip
        for note in commands.cluster_notes(wb, a.name, had_clusters=had_clusters):
            print(note)
        return judge

    @cell_magic
    @no_var_expand  # `{{ item.x }}` in --input must reach the template as written
    @usage_errors
    @magic_arguments("%python_grader")
    @argument("name", help="the grader's name: an identifier (its variable in the reward formula)")
    @argument("--weight", type=float, default=None, help="its weight (default 1; 0.2 with --formatting)")
    @argument("--formatting", action="store_true", help="make it the formatting grader")
    def python_grader(self, line: str, cell: str) -> BaseGrader:
        """Create or update a python grader; the cell body defines ``grade(sample, item) -> float``.

        The source is checked at once (syntax, signature, size, no name that only another cell defines:
        the source is shipped and run alone) and, when an example row is set
        (``%rft example VAR``), test-run on it in a separate process; the kernel never runs it.
        """
        a = _parse(self.python_grader, line)
        notes: list[str] = []

        def vet(grader: Any) -> None:
            note = commands.test_run(self.workbench, grader)
            notes.append(note or "not test-run: no example row is set (%rft example DF sets one)")

        grader = PythonGrader(name=a.name, source=cell)
        added: BaseGrader
        if a.formatting:
            added = self.workbench.set_formatting(grader, weight=a.weight, vet=vet)
        else:
            added = self.workbench.add_grader(grader, weight=1.0 if a.weight is None else a.weight, vet=vet)
        for note in notes:
            print(note)
        return added

    @line_magic
    @usage_errors
    def rft(self, line: str) -> Any:
        return commands.dispatch(commands.Context(self.workbench, self._ip.user_ns), line)

    rft.__doc__ = commands.help_text()


_MAGICS: weakref.WeakKeyDictionary[InteractiveShell, RftMagics] = weakref.WeakKeyDictionary()


def workbench_of(shell: InteractiveShell) -> Workbench:
    """The Workbench the extension holds for ``shell`` (for widgets and Python code)."""
    if shell not in _MAGICS:
        raise UsageError("rftkit_nb is not loaded in this shell: run %load_ext rftkit_nb")
    return _MAGICS[shell].workbench


def project_file(environ: Mapping[str, str] | None = None) -> str:
    """The project file this kernel opens: one per notebook when Jupyter says which notebook it runs.

    Jupyter Server puts the notebook's path in ``JPY_SESSION_NAME``; the kernel runs in the notebook's
    folder, so ``analysis.ipynb`` keeps its design in ``analysis.rftkit.json`` beside it, and a new
    notebook never opens another one's design. Elsewhere (a console, a script, nbclient) it is
    ``rftkit.json``.

    >>> project_file({"JPY_SESSION_NAME": "/work/reports/analysis.ipynb"})
    'analysis.rftkit.json'
    >>> project_file({})
    'rftkit.json'
    """
    session = (os.environ if environ is None else environ).get("JPY_SESSION_NAME", "")
    name = PurePath(session).name
    if name.endswith(".ipynb") and len(name) > len(".ipynb"):
        return f"{name[: -len('.ipynb')]}.rftkit.json"
    return DEFAULT_PROJECT_FILE


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def load(shell: InteractiveShell) -> RftMagics:
    """Register the magics on ``shell`` with a Workbench opened from :func:`project_file` (if it is there)."""
    if shell in _MAGICS:
        return _MAGICS[shell]
    path = project_file()
    wb = Workbench.load_or_empty(path)
    if wb.blocked is not None:
        print(f"rftkit_nb: {wb.blocked}. Starting empty with autosave off: %rft save OTHER.json first "
              "keeps the work you do here; then %rft open PATH opens another project")  # fmt: skip
    elif wb.names():
        others = len(wb.names()) - len(wb.rubrics)
        print(f"rftkit_nb: opened {path}: {_count(len(wb.rubrics), 'rubric')}, "
              f"{_count(others, 'other grader')}")  # fmt: skip

    magics = RftMagics(shell, wb)
    shell.register_magics(magics)
    _MAGICS[shell] = magics
    return magics


def unload(shell: InteractiveShell) -> None:
    """Unregister the magics from ``shell`` (the project file stays as it is)."""
    magics = _MAGICS.pop(shell, None)
    if magics is None:
        return
    magics.workbench.unobserve(magics.remind_unsaved)  # code may still hold the workbench
    manager: Any = shell.magics_manager
    tables = cast(dict[str, dict[str, Any]], magics.magics)  # {"line": {...}, "cell": {...}}
    for kind, table in tables.items():
        for name in table:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(type(magics).__name__, None)
