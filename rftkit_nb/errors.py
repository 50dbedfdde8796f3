"""The one exception tree of rftkit_nb.

Every error the library raises on purpose is an ``RftkitError``; the notebook layer turns them into
one-line ``UsageError`` messages in a single decorator, and the openai SDK's errors are translated into
``JudgeError`` / ``RemoteError`` at exactly one boundary each.

::

    RftkitError
    ├── ConfigError            a grader, rubric, cluster map or option is invalid (names the field and the fix)
    │   ├── FormulaError       calculate_output does not parse (names the position and the problem)
    │   └── TemplateError      a {{ ... }} template is malformed
    ├── GradingError           one row could not be graded; carries OpenAI's error ``category``
    │   ├── InvalidVariableError   a template variable is absent from the item or sample
    │   ├── FormulaEvaluationError the formula failed on this row's scores (division by zero, log(0)...)
    │   └── SandboxError           a python grader raised, hung, crashed or returned a non-float
    ├── JudgeError             the judge endpoint failed (server, refusal, unparsable answer)
    ├── ProjectFileError       the project file is corrupt or from a newer version; it was left untouched
    └── RemoteError            a hosted platform call failed
        └── RateLimited

Example::

    >>> from rftkit_nb.errors import ConfigError, RftkitError
    >>> issubclass(ConfigError, RftkitError)
    True
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FormulaError",
    "FormulaEvaluationError",
    "GradingError",
    "InvalidVariableError",
    "JudgeError",
    "ProjectFileError",
    "RateLimited",
    "RemoteError",
    "RftkitError",
    "SandboxError",
    "TemplateError",
]


class RftkitError(Exception):
    """Base of every error rftkit_nb raises on purpose."""


class ConfigError(RftkitError, ValueError):
    """Something the user configured is invalid. The message names the field and the fix."""


class FormulaError(ConfigError):
    """``calculate_output`` cannot be parsed.

    ``position`` is the 0-based character offset of the problem in ``formula``.
    """

    def __init__(self, problem: str, *, formula: str = "", position: int | None = None) -> None:
        self.problem = problem
        self.formula = formula
        self.position = position
        where = f" at position {position}" if position is not None else ""
        shown = f" in {formula!r}" if formula else ""
        super().__init__(f"formula error{where}{shown}: {problem}")


class TemplateError(ConfigError):
    """A ``{{ ... }}`` template is malformed (unknown namespace, bad path syntax)."""


class GradingError(RftkitError):
    """One row could not be graded. ``category`` is OpenAI's error category name."""

    category: str = "other_error"

    def __init__(self, message: str, *, category: str | None = None, detail: str = "") -> None:
        if category is not None:
            self.category = category
        self.detail = detail or message
        super().__init__(message)


class InvalidVariableError(GradingError):
    """A template variable is absent from the item or the sample (OpenAI: invalid_variable_error)."""

    category = "invalid_variable_error"

    def __init__(self, path: str, message: str | None = None) -> None:
        self.path = path
        super().__init__(message or f"template variable {{{{ {path} }}}} is not present")


class FormulaEvaluationError(GradingError):
    """The formula could not be evaluated on one row's sub-grader scores."""

    category = "other_error"


class SandboxError(GradingError):
    """A python grader failed on a row (OpenAI: python_grader_runtime_error)."""

    category = "python_grader_runtime_error"


class JudgeError(RftkitError):
    """The judge endpoint failed. ``category`` is one of OpenAI's model_grader_* error names."""

    def __init__(self, message: str, *, category: str = "model_grader_server_error") -> None:
        self.category = category
        super().__init__(message)


class ProjectFileError(RftkitError):
    """The project file could not be read; it has been left exactly as it was."""


class RemoteError(RftkitError):
    """A call to a hosted platform (OpenAI, Azure OpenAI) failed."""


class RateLimited(RemoteError):
    """The hosted platform answered 429; ``retry_after`` is in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)
