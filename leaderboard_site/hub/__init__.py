"""The one way this project talks to the Hugging Face Hub (see client.py)."""

from leaderboard_site.hub.client import HubError, HubNotFound, HubUnavailable

__all__ = ["HubError", "HubNotFound", "HubUnavailable"]
