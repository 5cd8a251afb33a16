"""Sent once a rebuilt leaderboard snapshot is the served one and its version differs from the
previous one, with `version` ({api, raw, formatted, search: digest}), `entries` and `built_at`
(Unix seconds).

The realtime layer turns it into `leaderboard.updated` events.
"""

from django.dispatch import Signal

snapshot_published = Signal()
