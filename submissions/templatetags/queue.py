"""The queue page's filters."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def waited(wait_time: str) -> str:
    """The API's wait time ("5400.0s") as a person reads it ("1 h 30 min")."""
    try:
        seconds = int(float(wait_time.rstrip("s")))
    except ValueError:
        return wait_time
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"
