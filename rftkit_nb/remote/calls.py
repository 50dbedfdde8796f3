"""The one boundary where openai SDK errors become :class:`RemoteError` / :class:`RateLimited`.

Every hosted call goes through :func:`call`. ``safe=True`` marks calls that may be repeated without
side effects (reads, polling, upload status, graders validate/run): the SDK retries those as the
client is configured. Everything else (uploads, job creation, pause/resume/cancel) is sent once, with
the SDK's retries off: a create that timed out may have happened, and the caller must look before
trying again. Credentials are masked in every message, and the SDK exception (whose body may echo a
key) is not chained.

Example::

    import openai
    from rftkit_nb.remote.targets import Target
    target = Target.of(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-demo-secret"))
    str(translate(openai.APIConnectionError(request=None), target, "list jobs"))
    'list jobs: could not reach OpenAI at http://127.0.0.1:9/v1 (Connection error.)'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from rftkit_nb.errors import RateLimited, RemoteError
from rftkit_nb.remote.targets import Target

__all__ = ["call", "translate"]

T = TypeVar("T")

_HINTS = {
    401: "check the API key (AZURE_OPENAI_API_KEY / OPENAI_API_KEY)",
    403: "check the key's permissions",
    404: "check the endpoint, the id, or whether this platform still offers the route",
}


def translate(
    exc: BaseException, target: Target, what: str, secrets: Sequence[str] = ()
) -> RemoteError | None:
    """``exc`` as a one-line RemoteError (None when it is not an openai SDK error).

    The error keeps ``status``, ``code`` and ``param`` (the field path a 400 names) as attributes.
    """
    import openai

    if not isinstance(exc, openai.OpenAIError):
        return None
    status: int | None = None
    code = param = None
    if isinstance(exc, openai.APITimeoutError):
        message = f"{what}: {target.name} at {target.endpoint} did not answer in time"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        message = f"{what}: could not reach {target.name} at {target.endpoint} ({cause})"
    elif isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = exc.body if isinstance(exc.body, Mapping) else {}
        body = body.get("error", body) if isinstance(body.get("error"), Mapping) else body
        code, param = body.get("code"), body.get("param")
        said = str(body.get("message") or exc.message)[:300]
        if code == "training_not_available":
            message = (f"{what}: {target.name} does not let this organisation train models (HTTP 403 "
                       "training_not_available); OpenAI is winding fine-tuning down: submit to Azure OpenAI "
                       "instead (client=openai.AzureOpenAI(...) or AZURE_OPENAI_ENDPOINT)")  # fmt: skip
        else:
            hint = _HINTS.get(status, "")
            field = f" (field {param})" if param else ""
            message = f"{what}: {target.name} answered HTTP {status}{field}: {said}" + (
                f"; {hint}" if hint else ""
            )
    else:
        message = f"{what}: {target.name} failed: {exc}"
    message = target.mask(message)
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        message = message.replace(secret, "***")  # e.g. an endpoint grader's header values, echoed back
    error: RemoteError
    if status == 429:
        retry_after = _retry_after(exc)
        error = RateLimited(message + "; wait and try again", retry_after=retry_after)
    else:
        error = RemoteError(message)
    error.status, error.code, error.param = status, code, param  # type: ignore[attr-defined]
    return error


def _retry_after(exc: Any) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


def call(target: Target, what: str, fn: Callable[[Any], T], *, safe: bool, secrets: Sequence[str] = ()) -> T:
    """Run ``fn(client)`` against ``target``; SDK errors become one-line RemoteErrors naming ``what``.

    ``safe=False`` turns the SDK's own retries off for this call (see the module docstring); ``secrets``
    are masked in the message besides the client's own credentials.
    """
    client = target.client if safe else target.client.with_options(max_retries=0)
    try:
        return fn(client)
    except Exception as exc:
        error = translate(exc, target, what, secrets)
        if error is None:
            raise
        raise error from None  # the SDK error's body may echo a credential: not chained
