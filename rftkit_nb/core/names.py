"""Which names can be variables of the reward formula, decided once.

A sub-grader's name (its key in a multi grader) is a variable of ``calculate_output``, so it must be an
ASCII identifier that is not a Python keyword. :func:`identifier_problem` says why a name is not; the
grader models, the aggregator, the linter and the Workbench all word their refusal around it.
:func:`check_identifier` is the Workbench's stricter check: it also refuses the formula's function
names (``max``, ``log``...), which would read as calls.

Example::

    >>> is_identifier("tone_2"), is_identifier("2nd"), is_identifier("class")
    (True, False, False)
    >>> identifier_problem("class")
    "a Python keyword; pick another name, e.g. 'class_score'"
"""

from __future__ import annotations

import keyword
import re

from rftkit_nb.core.formula import FUNCTIONS
from rftkit_nb.errors import ConfigError

__all__ = ["check_identifier", "identifier_problem", "is_identifier"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier_problem(name: object) -> str | None:
    """Why ``name`` cannot be a variable of the reward formula (a phrase to follow "is"), or None.

    Example::

        >>> identifier_problem("tone-2")
        "not an identifier usable in the reward formula: use letters, digits and _, not starting with a digit (e.g. 'tone_2')"
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        return ("not an identifier usable in the reward formula: use letters, digits and _, "
                "not starting with a digit (e.g. 'tone_2')")  # fmt: skip
    if keyword.iskeyword(name):
        return f"a Python keyword; pick another name, e.g. '{name}_score'"
    return None


def is_identifier(name: str) -> bool:
    """True when ``name`` can be a formula variable (an ASCII identifier, not a Python keyword)."""
    return identifier_problem(name) is None


def check_identifier(name: object, what: str) -> None:
    """Refuse a name the reward formula cannot use as a variable, nor mistake for one of its functions.

    Example::

        >>> check_identifier("max", "rubric name")
        Traceback (most recent call last):
        ...
        rftkit_nb.errors.ConfigError: rubric name 'max' is a function of the reward formula (abs, ceil, exp, floor, log, max, min, sqrt); pick another name, e.g. 'max_score'
    """
    problem = identifier_problem(name)
    if problem is None and name in FUNCTIONS:
        functions = ", ".join(sorted(FUNCTIONS))
        problem = f"a function of the reward formula ({functions}); pick another name, e.g. '{name}_score'"
    if problem is not None:
        raise ConfigError(f"{what} {name!r} is {problem}")
