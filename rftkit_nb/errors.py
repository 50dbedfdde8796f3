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

from enum import Enum

__all__ = [
    "ConfigError",
    "ErrorCategory",
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


class ErrorCategory(str, Enum):
    """OpenAI's error categories for a sub-grader that could not score a row, in one place.

    The names are the service's own (``graders/run`` errors and RFT metrics events use them), so a
    local report and a hosted one read alike. Members are ``str``: they compare equal to the plain
    names and serialise as them. The two "server" errors are told apart by who failed: the python
    sandbox's infrastructure, or the judge model's endpoint.

    >>> ErrorCategory.PYTHON_SERVER == "python_grader_server_error"
    True
    >>> str(ErrorCategory.JUDGE_PARSE)
    'model_grader_parse_error'
    """

    SAMPLE_PARSE = "sample_parse_error"
    INVALID_VARIABLE = "invalid_variable_error"
    FORMULA_PARSE = "formula_parse_error"
    TRUNCATED_OBSERVATION = "truncated_observation_error"
    UNRESPONSIVE_REWARD = "unresponsive_reward_error"
    OTHER = "other_error"
    PYTHON_SERVER = "python_grader_server_error"
    PYTHON_RUNTIME = "python_grader_runtime_error"
    JUDGE_SERVER = "model_grader_server_error"
    JUDGE_REFUSAL = "model_grader_refusal_error"
    JUDGE_PARSE = "model_grader_parse_error"
    JUDGE_MAX_TOKENS = "model_grader_exceeded_max_tokens_error"
    ENDPOINT_SERVER = "endpoint_grader_server_error"

    __str__ = str.__str__  # the plain name in messages and f-strings, as the service spells it

    def __repr__(self) -> str:  # reads as the plain name in reports, reprs and doctests
        return repr(self.value)


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

    category: str = ErrorCategory.OTHER

    def __init__(self, message: str, *, category: str | None = None, detail: str = "") -> None:
        if category is not None:
            self.category = category
        self.detail = detail or message
        super().__init__(message)


class InvalidVariableError(GradingError):
    """A template variable is absent from the item or the sample (OpenAI: invalid_variable_error)."""

    category = ErrorCategory.INVALID_VARIABLE

    def __init__(self, path: str, message: str | None = None) -> None:
        self.path = path
        super().__init__(message or f"template variable {{{{ {path} }}}} is not present")


class FormulaEvaluationError(GradingError):
    """The formula could not be evaluated on one row's sub-grader scores."""

    category = ErrorCategory.OTHER


class SandboxError(GradingError):
    """A python grader failed on a row (OpenAI: python_grader_runtime_error)."""

    category = ErrorCategory.PYTHON_RUNTIME


class JudgeError(RftkitError):
    """The judge endpoint failed. ``category`` is one of OpenAI's model_grader_* error names."""

    def __init__(self, message: str, *, category: str = ErrorCategory.JUDGE_SERVER) -> None:
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
