"""Where a job goes: a :class:`Target` wraps the user's openai SDK client and knows its platform and layout.

From a client you pass (``openai.OpenAI`` for OpenAI or Azure's v1 API, ``openai.AzureOpenAI`` for Azure's
dated ``?api-version=`` API), or from the usual environment variables:

* ``AZURE_OPENAI_ENDPOINT`` + ``AZURE_OPENAI_API_KEY``: Azure; with ``OPENAI_API_VERSION`` the dated API
  (``AzureOpenAI``), without it the v1 API (``OpenAI(base_url=<endpoint>/openai/v1/)``, key in ``api-key``);
* ``OPENAI_API_KEY`` (and ``OPENAI_BASE_URL``): OpenAI, or the server that variable names.

Keys stay inside the client: a Target's repr, messages and records show the endpoint only.

Example::

    >>> import openai
    >>> client = openai.OpenAI(base_url="https://res.openai.azure.com/openai/v1/", api_key="demo-key")
    >>> Target.of(client)
    Target(platform='azure', layout='azure-v1', endpoint='https://res.openai.azure.com/openai/v1')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rftkit_nb.errors import ConfigError

__all__ = ["ENV_HINT", "Target", "resolve_target"]

ENV_HINT = (
    "pass client= (an openai.OpenAI or openai.AzureOpenAI client), or set AZURE_OPENAI_ENDPOINT and "
    "AZURE_OPENAI_API_KEY (plus OPENAI_API_VERSION for the dated API), or OPENAI_API_KEY"
)
_AZURE_HOSTS = (".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com")


def _openai() -> Any:
    try:
        import openai
    except ImportError as exc:  # hosted RFT is an optional feature
        raise ConfigError("hosted RFT needs the openai package: pip install 'rftkit-nb[openai]'") from exc
    return openai


@dataclass(frozen=True)
class Target:
    """A hosted platform reached through one SDK client: ``platform`` (openai / azure), ``layout``
    (openai, azure-v1, azure-dated) and ``endpoint`` (the base URL without credentials or query)."""

    client: Any = field(repr=False, compare=False)
    platform: str
    layout: str
    endpoint: str

    @classmethod
    def of(cls, client: Any, *, platform: str | None = None) -> Target:
        """The target of an SDK client; ``platform`` overrides the guess from its URL."""
        openai = _openai()
        if isinstance(client, Target):
            return (
                client if platform is None else cls(client.client, platform, client.layout, client.endpoint)
            )
        if not isinstance(client, openai.OpenAI):  # AzureOpenAI is a subclass
            raise ConfigError(f"client= got a {type(client).__name__}; pass an openai.OpenAI or "
                              "openai.AzureOpenAI client (sync: jobs are polled, not awaited)")  # fmt: skip
        url = urlsplit(str(client.base_url))
        port = f":{url.port}" if url.port else ""
        endpoint = f"{url.scheme}://{url.hostname}{port}{url.path}".rstrip("/")
        if isinstance(client, openai.AzureOpenAI):
            layout = "azure-v1" if "/openai/v1" in url.path else "azure-dated"
        elif "/openai/v1" in url.path or (url.hostname or "").endswith(_AZURE_HOSTS):
            layout = "azure-v1"
        else:
            layout = "openai"
        guessed = "openai" if layout == "openai" else "azure"
        if platform not in (None, "openai", "azure"):
            raise ConfigError(f"platform={platform!r} is unknown; use 'openai' or 'azure'")
        return cls(client, platform or guessed, layout, endpoint)

    @property
    def name(self) -> str:
        """``"Azure OpenAI"`` or ``"OpenAI"``, for messages."""
        return "Azure OpenAI" if self.platform == "azure" else "OpenAI"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Credential values this client sends (to mask them in every message it produces)."""
        found = [getattr(self.client, "api_key", None), getattr(self.client, "_azure_ad_token", None)]
        headers = getattr(self.client, "_custom_headers", {}) or {}
        found += [v for k, v in headers.items() if k.lower() in ("api-key", "authorization")]
        return tuple(s for s in found if isinstance(s, str) and len(s) >= 4)

    def mask(self, text: str) -> str:
        """``text`` with every credential of this target replaced by ``***``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def __str__(self) -> str:
        return f"{self.name} ({self.layout}) at {self.endpoint}"

    def _repr_html_(self) -> str:
        from rftkit_nb.core import html as h

        return h.card("target", self.platform, [("layout", self.layout), ("endpoint", self.endpoint)])


def resolve_target(client: Any = None, *, platform: str | None = None) -> Target:
    """The target of ``client`` (a client or a Target), or the one the environment describes.

    >>> resolve_target()  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    rftkit_nb.errors.ConfigError: no hosted platform is configured; ...
    """
    if client is not None:
        return Target.of(client, platform=platform)
    openai = _openai()
    env = os.environ
    endpoint, azure_key = env.get("AZURE_OPENAI_ENDPOINT"), env.get("AZURE_OPENAI_API_KEY")
    if endpoint:
        if not azure_key:
            raise ConfigError("AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is not; set it (Azure "
                              "RFT takes key auth), or pass client=openai.AzureOpenAI(...)")  # fmt: skip
        if env.get("OPENAI_API_VERSION"):
            made = openai.AzureOpenAI(azure_endpoint=endpoint, api_key=azure_key)
        else:
            base = endpoint.rstrip("/") + "/openai/v1/"
            made = openai.OpenAI(base_url=base, api_key=azure_key, default_headers={"api-key": azure_key})
        return Target.of(made, platform=platform or "azure")
    if env.get("OPENAI_API_KEY"):
        return Target.of(openai.OpenAI(), platform=platform)
    raise ConfigError(f"no hosted platform is configured; {ENV_HINT}")
