"""The formatted leaderboard shape (the Open LLM Leaderboard API's
`GET /api/leaderboard/formatted`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from leaderboard.contents import BENCHMARK_COLUMNS, Row


def upstream_api() -> bool:
    """LEADERBOARD_API=upstream: the full lists and the vote reads answer as the upstream
    backend did, for its React frontend."""
    return settings.LEADERBOARD_API == "upstream"


def formatted_row(r: Row, *, upstream: bool = False) -> dict[str, Any]:
    """One formatted model. `upstream`: `features.is_not_available_on_hub` carries the upstream
    backend's value (the "available on the hub" flag itself, which its frontend reads)."""
    return {
        "id": f"{r.model_name}_{r.precision}_{r.revision_sha}_{r.chat_template}",
        "model": {
            "name": r.model_name,
            "sha": r.revision_sha,
            "precision": r.precision,
            "type": r.model_type,
            "weight_type": r.weight_type,
            "architecture": r.architecture,
            "average_score": r.average,
            "has_chat_template": r.chat_template,
        },
        "evaluations": {
            key: {
                "name": display,
                "value": getattr(r, f"{key}_raw"),
                "normalized_score": getattr(r, key),
            }
            for key, _column, display in BENCHMARK_COLUMNS
        },
        "features": {
            "is_not_available_on_hub": r.available_on_hub if upstream else not r.available_on_hub,
            "is_merged": r.merged,
            "is_moe": r.moe,
            "is_flagged": r.flagged,
            "is_official_provider": r.official_provider,
        },
        "metadata": {
            "upload_date": r.upload_date,
            "submission_date": r.submission_date,
            "generation": r.generation,
            "base_model": r.base_model,
            "hub_license": r.hub_license,
            "hub_hearts": r.hub_hearts,
            "params_billions": r.params_billions,
            "co2_cost": r.co2_cost,
        },
    }
