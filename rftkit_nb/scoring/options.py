"""The options of a scoring run as one typed object, and the types ``score()``'s arguments take.

Example::

    >>> options = ScoreOptions(judge=False, timeout=5)
    >>> options.timeout, options.make_judge()
    (5.0, None)
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from rftkit_nb.core.graders import BaseGrader
from rftkit_nb.errors import ConfigError

if TYPE_CHECKING:
    import openai
    import pandas as pd

    from rftkit_nb.scoring.judge import Judge
    from rftkit_nb.scoring.judge.cache import CacheSpec
    from rftkit_nb.scoring.sandbox import Sandbox

__all__ = [
    "DEFAULT",
    "JUDGE_CONCURRENCY",
    "JUDGE_RETRIES",
    "JUDGE_TIMEOUT",
    "GraderSource",
    "JudgeSpec",
    "RowsSource",
    "ScoreOptions",
    "SupportsGrader",
]


class SupportsGrader(Protocol):
    """Anything that composes a grader, such as a Workbench."""

    def grader(self) -> BaseGrader: ...


#: What ``grader=`` accepts: a grader, its config dict, or anything with ``.grader()`` (a Workbench).
GraderSource: TypeAlias = "BaseGrader | Mapping[str, Any] | SupportsGrader"
#: What ``rows=`` accepts: a DataFrame, a sequence of dicts, or a JSONL path.
RowsSource: TypeAlias = "pd.DataFrame | Sequence[Mapping[str, Any]] | str | os.PathLike[str] | Path"


#: What ``judge=`` accepts: a Judge, an openai client (sync or async, OpenAI or Azure), None (from the
#: environment) or False (no judge: judge sub-graders are ``skipped``).
JudgeSpec: TypeAlias = "Judge | openai.OpenAI | openai.AsyncOpenAI | bool | None"


class _Default(enum.Enum):
    """A default that says "not given", so an option passed alongside a Judge is never ignored."""

    VALUE = "default"

    def __repr__(self) -> str:
        return "default"


DEFAULT = _Default.VALUE
# The judge score() builds: a judge that never answers costs a row at most 30 s x 3 attempts, not minutes.
JUDGE_CONCURRENCY = 32
JUDGE_TIMEOUT = 30.0
JUDGE_RETRIES = 2
_ON_JUDGE = {"judge_timeout": "timeout"}  # score()'s option name -> the Judge's


@dataclass(frozen=True)
class ScoreOptions:
    """The options of one run, as :func:`score` and :func:`ascore` take them (see :func:`score`).

    >>> ScoreOptions(concurrency=8).concurrency
    8
    """

    output: str = "output_text"
    judge: JudgeSpec = None
    concurrency: int | _Default = DEFAULT
    cache: CacheSpec | _Default = DEFAULT
    judge_timeout: float | _Default = DEFAULT
    deadline: float | None = None
    progress: bool = True
    limit: int | None = None
    timeout: float = 30.0
    sandbox: Sandbox | None = None
    cluster_field: str | None = None

    def __post_init__(self) -> None:
        for name in ("timeout", "judge_timeout", "deadline"):
            value = getattr(self, name)
            if value is DEFAULT or (value is None and name == "deadline"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
                raise ConfigError(f"score({name}=...) is {value!r}; give a number of seconds above 0")
        object.__setattr__(self, "timeout", float(self.timeout))
        from rftkit_nb.scoring.judge import Judge

        given = [n for n in ("concurrency", "cache", "judge_timeout") if getattr(self, n) is not DEFAULT]
        if isinstance(self.judge, Judge) and given:
            on_judge = [_ON_JUDGE.get(n, n) for n in given]
            raise ConfigError(
                f"score(judge=Judge(...), {'=..., '.join(given)}=...): a Judge you pass keeps its own "
                f"{' and '.join(on_judge)}; set them on it, e.g. Judge(..., {on_judge[0]}=...)"
            )

    def make_judge(self) -> Judge | None:
        """The judge this run uses (a Judge passed in, else one built from the client or environment)."""
        if self.judge is False:
            return None
        from rftkit_nb.scoring.judge import Judge

        if isinstance(self.judge, Judge):
            return self.judge
        kw: dict[str, Any] = {
            "concurrency": JUDGE_CONCURRENCY if self.concurrency is DEFAULT else self.concurrency,
            "cache": True if self.cache is DEFAULT else self.cache,
            "timeout": JUDGE_TIMEOUT if self.judge_timeout is DEFAULT else self.judge_timeout,
            "max_retries": JUDGE_RETRIES,
        }
        if self.judge is None or self.judge is True:
            return Judge.from_env(**kw)
        return Judge(self.judge, **kw)  # an openai client
