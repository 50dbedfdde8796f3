"""Targets: from a user's client or the environment, in each of the three layouts."""

from __future__ import annotations

import openai
import pytest

from rftkit_nb.errors import ConfigError
from rftkit_nb.remote.targets import Target, resolve_target
from tests.remote.conftest import AZURE_KEY, OPENAI_KEY


@pytest.mark.parametrize(
    ("make", "platform", "layout"),
    [
        pytest.param(lambda: openai.OpenAI(api_key=OPENAI_KEY), "openai", "openai", id="openai"),
        pytest.param(lambda: openai.OpenAI(base_url="https://res.openai.azure.com/openai/v1/", api_key=AZURE_KEY),
                     "azure", "azure-v1", id="azure-v1-by-openai-client"),
        pytest.param(lambda: openai.AzureOpenAI(azure_endpoint="https://res.openai.azure.com", api_key=AZURE_KEY,
                                                api_version="2025-04-01-preview"), "azure", "azure-dated", id="azure-dated"),
    ],
)  # fmt: skip
def test_target_of_when_client_given_then_platform_and_layout_read_from_it(make, platform, layout) -> None:
    target = Target.of(make())
    assert (target.platform, target.layout) == (platform, layout)
    assert OPENAI_KEY not in repr(target)
    assert AZURE_KEY not in repr(target)


def test_resolve_target_when_azure_env_without_version_then_v1_with_api_key_header(monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    target = resolve_target()
    assert (target.platform, target.layout) == ("azure", "azure-v1")
    assert target.endpoint == "https://res.openai.azure.com/openai/v1"
    assert target.client._custom_headers["api-key"] == AZURE_KEY


def test_resolve_target_when_azure_env_with_version_then_dated_azure_client(monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    target = resolve_target()
    assert isinstance(target.client, openai.AzureOpenAI)
    assert target.layout == "azure-dated"


def test_resolve_target_when_openai_env_then_openai(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert resolve_target().platform == "openai"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        pytest.param({}, "no hosted platform is configured", id="nothing"),
        pytest.param(
            {"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com"}, "AZURE_OPENAI_API_KEY", id="no-key"
        ),
    ],
)
def test_resolve_target_when_incomplete_env_then_one_line_error(monkeypatch, env, needle) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=needle):
        resolve_target()


def test_target_of_when_not_a_sync_client_then_error_names_the_classes() -> None:
    with pytest.raises(ConfigError, match=r"openai.OpenAI or openai.AzureOpenAI"):
        Target.of(openai.AsyncOpenAI(api_key=OPENAI_KEY))


def test_target_mask_when_message_holds_the_key_then_masked() -> None:
    target = Target.of(openai.OpenAI(base_url="https://res.openai.azure.com/openai/v1/", api_key=AZURE_KEY,
                                     default_headers={"api-key": AZURE_KEY}))  # fmt: skip
    assert target.mask(f"bad key {AZURE_KEY}!") == "bad key ***!"


def test_target_of_when_platform_forced_then_used() -> None:
    target = Target.of(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key=OPENAI_KEY), platform="azure")
    assert target.platform == "azure"
    with pytest.raises(ConfigError, match=r"platform='aws'"):
        Target.of(target.client, platform="aws")
