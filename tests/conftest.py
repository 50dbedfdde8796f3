"""Shared fixtures: every test runs without real credentials and without touching the home directory."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_credentials_no_home_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Clear OPENAI_* / AZURE_* variables (a developer's real key must never reach a test) and point the
    judge cache at a temporary folder."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AZURE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
