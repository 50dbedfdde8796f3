"""How a :class:`~rftkit_nb.scoring.judge.Judge` gets its async openai client.

From an async client you pass (used as it is), a sync client you pass (an async twin with the same
endpoint, credentials, headers and query), ``base_url`` / ``api_key``, or the environment (OpenAI, or
Azure OpenAI when ``AZURE_OPENAI_ENDPOINT`` is set). The openai package is imported on first use: judges
are an optional feature.

Example::

    >>> factory = client_factory(None, "http://127.0.0.1:9/v1", "sk-demo")
    >>> endpoint_of(factory())
    'http://127.0.0.1:9/v1'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from rftkit_nb.errors import ConfigError, ErrorCategory, JudgeError

__all__ = [
    "ENV_HINT",
    "TIMED_OUT",
    "client_factory",
    "endpoint_of",
    "import_openai",
    "translate_openai_error",
]

TIMED_OUT = "did not answer within"  # how a judge timeout reads in a row's detail (and is counted)
ENV_HINT = (
    "pass client= (an openai client), or base_url= and api_key=, or set OPENAI_API_KEY (and OPENAI_BASE_URL "
    "for another endpoint), or AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION for Azure"
)


def import_openai() -> Any:
    """The openai module, or ``ConfigError`` naming the extra to install.

    >>> import_openai().__name__
    'openai'
    """
    try:
        import openai
    except ImportError as exc:  # the judge is an optional feature
        raise ConfigError("score_model / label_model judges need the openai package: "
                          "pip install 'rftkit-nb[openai]'") from exc  # fmt: skip
    return openai


def _async_twin(client: Any) -> Any:
    """A new async client with a client's endpoint, credentials, headers and query.

    Async clients are copied too: connections belong to the event loop that opened them and fail with
    "Event loop is closed" on any other. An async client's own ``http_client`` (a proxy, a transport,
    event hooks) is carried over, as the SDK's ``copy()`` does: it must then work on score()'s loop.
    """
    openai = import_openai()
    query = dict(getattr(client, "_custom_query", {}) or {})
    common = {
        "base_url": str(client.base_url),
        "organization": client.organization,
        "project": client.project,
        "default_headers": dict(getattr(client, "_custom_headers", {}) or {}) or None,
    }
    http = getattr(client, "_client", None)
    default = getattr(getattr(openai, "_base_client", None), "AsyncHttpxClientWrapper", ())
    if isinstance(client, openai.AsyncOpenAI) and http is not None and not isinstance(http, default):
        common["http_client"] = http
    if isinstance(client, openai.AzureOpenAI | openai.AsyncAzureOpenAI):
        token = getattr(client, "_azure_ad_token", None)
        provider = getattr(client, "_azure_ad_token_provider", None)
        key = None if token or provider else client.api_key
        version = query.pop("api-version", None)
        return openai.AsyncAzureOpenAI(api_key=key, azure_ad_token=token, azure_ad_token_provider=provider,
                                       api_version=version, default_query=query or None, **common)  # fmt: skip
    return openai.AsyncOpenAI(api_key=client.api_key, default_query=query or None, **common)


def client_factory(client: Any, base_url: str | None, api_key: str | None) -> Callable[[], Any]:
    """How to build the judge's own async client, one per event loop.

    A client you pass is copied, never used itself: its connections would be bound to whichever loop
    used them first (score() runs each call on a loop of its own), leaving your client broken.

    >>> type(client_factory(None, "http://127.0.0.1:9/v1", "sk-demo")()).__name__
    'AsyncOpenAI'
    """
    openai = import_openai()
    if isinstance(client, openai.AsyncOpenAI | openai.OpenAI):
        return lambda: _async_twin(client)
    if client is not None:
        raise ConfigError(f"Judge(client=...) got a {type(client).__name__}; pass an openai.OpenAI, "
                          "AsyncOpenAI, AzureOpenAI or AsyncAzureOpenAI client")  # fmt: skip
    env = os.environ
    if base_url is None and api_key is None and env.get("AZURE_OPENAI_ENDPOINT"):
        return lambda: openai.AsyncAzureOpenAI()
    if base_url is None and api_key is None and not (env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL")):
        raise ConfigError(f"no judge endpoint is configured; {ENV_HINT}")
    # Local OpenAI-compatible servers often need no key, but the SDK insists on one. The environment's
    # OpenAI key goes only to OpenAI or to the endpoint the environment itself names: never to a
    # base_url given here for another server.
    env_key = env.get("OPENAI_API_KEY") if _same_host(base_url, env.get("OPENAI_BASE_URL")) else None
    key = api_key or env_key or "no-key-needed"
    return lambda: openai.AsyncOpenAI(base_url=base_url, api_key=key)


def withheld_key_note(client: Any, base_url: str | None, api_key: str | None) -> str | None:
    """Say so when the environment's OpenAI key was not sent to ``base_url`` (a 401 would be a mystery).

    >>> withheld_key_note(None, "https://proxy.example/v1", None) is None  # no key in this environment
    True
    """
    env = os.environ
    if client is not None or api_key is not None or base_url is None or not env.get("OPENAI_API_KEY"):
        return None
    if _same_host(base_url, env.get("OPENAI_BASE_URL")):
        return None
    host = urlsplit(base_url).hostname
    return (f"OPENAI_API_KEY was not sent to {host} (it is for OpenAI or OPENAI_BASE_URL); "
            "pass Judge(base_url=..., api_key=...) if that server needs a key")  # fmt: skip


def _same_host(base_url: str | None, env_base_url: str | None) -> bool:
    """Whether a key meant for the environment's endpoint may be sent to ``base_url``."""
    if base_url is None:
        return True
    target = urlsplit(base_url).hostname
    allowed = {"api.openai.com", urlsplit(env_base_url).hostname if env_base_url else None}
    return target in allowed


def endpoint_of(client: Any) -> str:
    """The client's base URL for messages and cache keys: no credentials, no query, no trailing slash.

    >>> from types import SimpleNamespace
    >>> endpoint_of(SimpleNamespace(base_url="https://user:pw@example.com:8443/v1/?api-version=1"))
    'https://example.com:8443/v1'
    """
    url = urlsplit(str(client.base_url))  # drop any user:password@ and query
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.hostname}{port}{url.path}".rstrip("/")


def translate_openai_error(
    exc: BaseException, *, endpoint: str, timeout: float, retries: int, secrets: Sequence[str] = ()
) -> JudgeError | None:
    """The one place openai SDK errors become ``JudgeError`` (None when ``exc`` is not one of them).

    >>> import openai
    >>> translate_openai_error(openai.OpenAIError("boom"), endpoint="x", timeout=1, retries=0).category
    'model_grader_server_error'
    """
    import openai

    if not isinstance(exc, openai.OpenAIError):
        return None
    tries = f"after {retries} {'retry' if retries == 1 else 'retries'}" if retries else "without retries"
    if isinstance(exc, openai.APITimeoutError):
        message = f"the judge at {endpoint} {TIMED_OUT} {timeout:g}s ({tries})"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        message = f"could not reach the judge at {endpoint} ({tries}): {cause}"
    elif isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, Mapping) else {}
        said = str(body.get("message") or exc.message)[:300]
        status = exc.status_code
        hint = {401: "; check the API key", 403: "; check the key's permissions", 404: "; check the model "
                "(deployment) name and the base URL"}.get(status, "")  # fmt: skip
        retried = tries if status in (408, 409, 429) or status >= 500 else "not retried"  # as the SDK does
        message = f"the judge at {endpoint} answered HTTP {status} ({retried}): {said}{hint}"
    else:
        message = f"the judge at {endpoint} failed: {exc}"
    for secret in secrets:  # servers may echo credentials back (OpenAI echoes part of a wrong key)
        message = message.replace(secret, "***")
    return JudgeError(message, category=ErrorCategory.JUDGE_SERVER)
