"""Test helpers that ship with rftkit_nb: a loopback OpenAI-compatible server.

>>> from rftkit_nb.testing import FakeOpenAI
>>> with FakeOpenAI() as server:
...     server.base_url.endswith("/v1")
True
"""

from rftkit_nb.testing.openai_server import (
    FAULT_KINDS,
    FakeOpenAI,
    RecordedRequest,
    default_scorer,
    fingerprint,
    prompt_text,
)

__all__ = ["FAULT_KINDS", "FakeOpenAI", "RecordedRequest", "default_scorer", "fingerprint", "prompt_text"]
