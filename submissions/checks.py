"""The Hub checks a submission passes before it is queued, in the leaderboard's order.

Each failure is an ApiError whose `details.reason` names the check, so a caller (and a test)
knows exactly which one refused the model. Every Hub call goes through leaderboard_site.hub.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from huggingface_hub import ModelCard, ModelInfo

from leaderboard.models import Precision, WeightType
from leaderboard_site.api.errors import ApiError, Forbidden, NotFound, ServiceUnavailable
from leaderboard_site.hub import client

MIN_CARD_TEXT = 200
CUSTOM_CODE = re.compile(r"(^|/)(modeling|configuration|tokenization)_[^/]*\.py$")


class CheckFailed(ApiError):
    """A submission refused by a check: 400 unless the check says otherwise."""

    def __init__(self, reason: str, message: str, *, status: int = 400, **details: Any) -> None:
        super().__init__(message, details={"reason": reason, **details}, status=status)


@dataclass(frozen=True)
class Submission:
    model_id: str
    revision: str
    precision: str
    weight_type: str
    model_type: str
    base_model: str
    use_chat_template: bool


@dataclass(frozen=True)
class HubFacts:
    """What the checks learned about the model on the Hub."""

    sha: str
    params_billions: float
    architectures: list[str]
    license: str
    likes: int


def _reason(reason: str, exc: Exception) -> ApiError:
    """A Hub failure as the caller's answer."""
    if isinstance(exc, client.HubUnavailable):
        return ServiceUnavailable(
            "The Hugging Face Hub is unavailable; try again later.",
            details={"reason": "hub_unavailable"},
        )
    if isinstance(exc, client.HubGated):
        return Forbidden(
            "The model is gated and the leaderboard's token may not read it.",
            details={"reason": "gated"},
        )
    return ApiError(f"The Hub refused the request: {exc}", details={"reason": reason}, status=502)


def _model_info(model_id: str, revision: str, reason: str) -> ModelInfo:
    try:
        return client.model_info(model_id, revision=revision)
    except client.HubNotFound as exc:
        raise NotFound(
            f"{model_id} at revision {revision!r} was not found on the Hub (or is private).",
            details={"reason": reason, "model_id": model_id, "revision": revision},
        ) from exc
    except client.HubError as exc:
        raise _reason(reason, exc) from exc


def _read(model_id: str, path: str, sha: str) -> bytes | None:
    try:
        return client.read_file(model_id, path, revision=sha)
    except client.HubError as exc:
        raise _reason("hub_error", exc) from exc


def _json_file(model_id: str, path: str, sha: str) -> dict[str, Any] | None:
    data = _read(model_id, path, sha)
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise CheckFailed("config", f"{path} of {model_id} is not valid JSON.") from exc
    return parsed if isinstance(parsed, dict) else None


def check_exists(sub: Submission) -> ModelInfo:
    """1. The model exists at that revision, is public, and is readable (gated ones with us)."""
    info = _model_info(sub.model_id, sub.revision, "model_not_found")
    if info.private:
        raise CheckFailed(
            "private", f"{sub.model_id} is private: only public models are evaluated.", status=403
        )
    if not info.sha:
        raise CheckFailed("model_not_found", f"The Hub gave no commit for {sub.model_id}.")
    return info


def check_no_remote_code(sub: Submission, info: ModelInfo) -> list[str]:
    """2. It loads without remote code; returns its architectures."""
    assert info.sha is not None
    name = "adapter_config.json" if sub.weight_type == WeightType.ADAPTER else "config.json"
    config = _json_file(sub.model_id, name, info.sha)
    if config is None:
        raise CheckFailed("config", f"{sub.model_id} has no {name}.")
    custom = sorted(s.rfilename for s in info.siblings or [] if CUSTOM_CODE.search(s.rfilename))
    if "auto_map" in config or custom:
        raise CheckFailed(
            "remote_code",
            f"{sub.model_id} needs remote code (trust_remote_code); only models supported by "
            "a stable transformers release are evaluated.",
            files=custom,
        )
    architectures = config.get("architectures") or []
    return [str(a) for a in architectures] if isinstance(architectures, list) else []


def check_model_card(sub: Submission, info: ModelInfo) -> str:
    """3. A model card with a licence in its metadata and enough text; returns the licence."""
    assert info.sha is not None
    readme = _read(sub.model_id, "README.md", info.sha)
    if readme is None:
        raise CheckFailed("model_card", f"{sub.model_id} has no model card (README.md).")
    try:
        card = ModelCard(readme.decode("utf-8", errors="replace"), ignore_metadata_errors=True)
    except ValueError as exc:
        raise CheckFailed("model_card", f"The model card of {sub.model_id}: {exc}") from exc
    data = card.data.to_dict()
    licence = data.get("license") or (
        data.get("license_name") if data.get("license_name") and data.get("license_link") else None
    )
    if not licence:
        raise CheckFailed(
            "license",
            "The model card has no licence in its metadata: add `license:` (or license_name and "
            "license_link) to its YAML header.",
        )
    if len(card.text.strip()) < MIN_CARD_TEXT:
        raise CheckFailed(
            "model_card",
            f"The model card has {len(card.text.strip())} characters of text; at least "
            f"{MIN_CARD_TEXT} are needed to describe the model.",
        )
    return str(licence if isinstance(licence, str) else ",".join(map(str, licence)))


def _safetensors_total(info: ModelInfo) -> int | None:
    safetensors = info.safetensors
    return int(safetensors.total) if safetensors is not None and safetensors.total else None


def check_size(sub: Submission, info: ModelInfo) -> float:
    """4. The parameter count is known from safetensors metadata and within the caps."""
    total = _safetensors_total(info)
    if total is None:
        raise CheckFailed(
            "params_unknown",
            f"The parameter count of {sub.model_id} is unknown: publish its weights as "
            "safetensors.",
        )
    if sub.weight_type == WeightType.ADAPTER:
        base = check_base_model(sub)
        total += _safetensors_total(base) or 0
    factor = 8 if sub.precision == Precision.GPTQ or "gptq" in sub.model_id.lower() else 1
    billions = round(factor * total / 1e9, 3)
    cap = settings.SUBMISSION_MAX_PARAMS_B[sub.precision]
    if billions > cap:
        raise CheckFailed(
            "too_large",
            f"{sub.model_id} has {billions}B parameters; the limit for {sub.precision} is {cap}B.",
            params_billions=billions,
            limit_billions=cap,
        )
    return billions


def check_base_model(sub: Submission) -> ModelInfo:
    """5. Delta and Adapter weights name a base model that exists."""
    if not sub.base_model:
        raise CheckFailed("base_model", f"{sub.weight_type} weights need a base_model.")
    try:
        return client.model_info(sub.base_model)
    except client.HubNotFound as exc:
        raise CheckFailed(
            "base_model", f"The base model {sub.base_model} was not found on the Hub."
        ) from exc
    except client.HubError as exc:
        raise _reason("base_model", exc) from exc


def check_chat_template(sub: Submission, info: ModelInfo) -> None:
    """6. With use_chat_template, the tokenizer has a chat template."""
    if not sub.use_chat_template:
        return
    assert info.sha is not None
    siblings = {s.rfilename for s in info.siblings or []}
    if siblings & {"chat_template.jinja", "chat_template.json"}:
        return
    tokenizer_config = _json_file(sub.model_id, "tokenizer_config.json", info.sha) or {}
    if not tokenizer_config.get("chat_template"):
        raise CheckFailed(
            "chat_template",
            f"use_chat_template is set but {sub.model_id}'s tokenizer_config.json has no "
            "chat_template.",
        )


def check_on_hub(sub: Submission) -> HubFacts:
    """Checks 1 to 6, in order; the first failure is raised."""
    info = check_exists(sub)
    architectures = check_no_remote_code(sub, info)
    licence = check_model_card(sub, info)
    params = check_size(sub, info)
    if sub.weight_type in (WeightType.DELTA, WeightType.ADAPTER):
        check_base_model(sub)
    check_chat_template(sub, info)
    assert info.sha is not None
    return HubFacts(
        sha=info.sha,
        params_billions=params,
        architectures=architectures,
        license=licence,
        likes=info.likes or 0,
    )
