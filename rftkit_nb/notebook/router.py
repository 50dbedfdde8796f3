"""The ``%rft`` router: the registry of subcommands, how a line is split, dispatched and explained.

Each subcommand module (:mod:`~rftkit_nb.notebook.commands` for the design, ``quality_commands``,
``remote_commands``, ``trainer_commands``) registers its handlers with :func:`command`; the notebook
package imports them all, so ``%rft help`` lists every one. Handlers parse with an IPython
``MagicArgumentParser``, so a bad option is a one-line ``UsageError``.

Example::

    >>> "score" in COMMANDS and "preflight" in COMMANDS and "submit" in COMMANDS
    True
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.process import arg_split

if TYPE_CHECKING:
    from rftkit_nb.core.workbench import Workbench

__all__ = ["COMMANDS", "Command", "Context", "arg", "command", "dispatch", "help_text", "lookup", "split_line",
           "strip_comment"]  # fmt: skip


@dataclass(frozen=True)
class Context:
    """What a handler may use: the shell's workbench and the user's namespace."""

    workbench: Workbench
    user_ns: Mapping[str, Any]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    parser: MagicArgumentParser
    run: Callable[[Context, argparse.Namespace], Any]


COMMANDS: dict[str, Command] = {}


def command(name: str, summary: str, *arguments: tuple[tuple[str, ...], dict[str, Any]]) -> Callable:
    """Register a handler for ``%rft name`` with its argparse arguments."""

    def register(run: Callable[[Context, argparse.Namespace], Any]) -> Callable:
        # MagicArgumentParser: errors become UsageError; the plain formatter keeps the help readable.
        parser = MagicArgumentParser(
            prog=f"%rft {name}", description=summary, formatter_class=argparse.HelpFormatter
        )
        for names, options in arguments:
            parser.add_argument(*names, **options)
        COMMANDS[name] = Command(name, summary, parser, run)
        return run

    return register


def arg(*names: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return names, options


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment``, as a shell reads it: a ``#`` that starts a word, outside
    quotes. So README lines such as ``%rft show   # rubrics, clusters`` can be pasted as they are.

    >>> strip_comment("show   # rubrics, clusters"), strip_comment("x --clusters 'a #b' c#d")
    ('show', "x --clusters 'a #b' c#d")
    """
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def split_line(line: str) -> list[str]:
    """Split a magic's argument line like a shell would (quotes group words and are removed; a trailing
    ``# comment`` is dropped)."""
    posix = os.name == "posix"  # non-POSIX splitting keeps Windows backslashes; strip the quotes ourselves
    line = strip_comment(line)
    try:
        argv = arg_split(line, posix=posix)
    except ValueError as e:
        raise UsageError(f"cannot split the arguments ({e}): check the quotes in: {line.strip()}") from None
    return argv if posix else [a[1:-1] if len(a) > 1 and a[0] == a[-1] in "\"'" else a for a in argv]


def dispatch(ctx: Context, line: str) -> Any:
    """Run ``%rft <line>``: the first word picks the subcommand (default ``show``)."""
    argv = split_line(line)
    name, rest = (argv[0], argv[1:]) if argv else ("show", [])
    cmd = COMMANDS.get(name)
    if cmd is None:
        raise UsageError(f"unknown subcommand {name!r}; try one of: {', '.join(COMMANDS)} (%rft help)")
    return cmd.run(ctx, cmd.parser.parse_args(rest))


def help_text() -> str:
    """The ``%rft help`` page: one line per subcommand, then how to get more."""
    lines = ["%rft SUBCOMMAND [options]: design, check, score and export the grader of this notebook.", ""]
    for c in COMMANDS.values():
        usage = " ".join(c.parser.format_usage().split()).removeprefix("usage: ")
        lines += [f"  {usage}", f"      {c.summary}"]
    lines += ["", "%rft help SUBCOMMAND shows its options. Cell magics: %%rubric? and %%python_grader?"]
    return "\n".join(lines)


def lookup(ctx: Context, name: str, what: str) -> Any:
    """A variable of the user's namespace (by name only: nothing is evaluated)."""
    if name in ctx.user_ns:
        return ctx.user_ns[name]
    raise UsageError(f"no variable {name!r} in this notebook; pass the name of {what}")
