"""A local OpenAI- and Anthropic-compatible server, configured as the `openai` and `anthropic`
providers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def llm(settings) -> Iterator[Any]:
    from tests.support.llm_server import LLMServer

    with LLMServer() as server:
        settings.ENV_PROVIDERS = {
            "openai": {"kind": "openai", "base_url": f"{server.url}/v1", "api_key": "sk-test"},
            "anthropic": {"kind": "anthropic", "base_url": server.url, "api_key": "sk-ant"},
        }
        settings.PROVIDER_TIMEOUT = 5.0
        settings.PROVIDER_MAX_RETRIES = 2
        yield server
