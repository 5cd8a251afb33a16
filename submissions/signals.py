"""Sent once a request's status change is committed: `request`, `previous` (None if new), `status`.

The realtime layer turns it into `submission.status` events.
"""

from django.dispatch import Signal

request_status_changed = Signal()
