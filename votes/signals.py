"""Sent once a vote's change is committed (cast, changed, withdrawn or voided), with
`model_name`.

The realtime layer turns it into `votes.updated` events (throttled per model).
"""

from django.dispatch import Signal

votes_changed = Signal()
