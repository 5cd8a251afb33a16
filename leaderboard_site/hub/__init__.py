"""The one way this project talks to the Hugging Face Hub (see client.py)."""

from leaderboard_site.hub import client
from leaderboard_site.hub.client import HubError, HubNotFound, HubUnauthorized, HubUnavailable

__all__ = ["HubError", "HubNotFound", "HubUnauthorized", "HubUnavailable", "client"]
