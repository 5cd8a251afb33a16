"""Models on the local Hub, and a submit helper."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

CARD_TEXT = (
    "# A small test model\n\n"
    "This model exists to exercise the leaderboard's submission checks. It was trained on a "
    "small corpus, answers questions briefly, and is released under a permissive licence. "
    "Use it for tests only: its scores are not meant to be compared with real models.\n"
)
GOOD_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def publish(hub: Any, repo_id: str, **overrides: Any) -> str:
    """A model that passes every check unless `overrides` say otherwise; returns its sha."""
    fields: dict[str, Any] = {
        "card": CARD_TEXT,
        "license": "apache-2.0",
        "config": GOOD_CONFIG,
        "tokenizer_config": {"chat_template": CHAT_TEMPLATE},
        "params": 135_000_000,
    }
    fields.update(overrides)
    return hub.add_model(repo_id, **fields)


def submission(model_id: str = "acme/tiny", **overrides: Any) -> dict[str, Any]:
    body = {
        "model_id": model_id,
        "precision": "bfloat16",
        "weight_type": "Original",
        "model_type": "fine-tuned",
        "use_chat_template": False,
    }
    body.update(overrides)
    return body


def submit(client: APIClient, model_id: str = "acme/tiny", **overrides: Any) -> Any:
    return client.post("/api/models/submit", submission(model_id, **overrides), format="json")


@pytest.fixture
def tiny(hub: Any) -> str:
    return publish(hub, "acme/tiny")
