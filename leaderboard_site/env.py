"""Typed reading of settings from the environment (and an optional `.env` file).

Every setting comes from here, so that a bad value fails at start with a message that names the
variable instead of surfacing later as an obscure error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

# The reader's methods are named after the types they return (env.str, env.int...); these
# aliases keep the annotations inside the class pointing at the builtin types.
Text = str
Integer = int
Number = float
Flag = bool
Texts = list[str]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; `#` comments, blank lines and `export ` prefixes are allowed."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class Env:
    """Reads variables from the process environment, falling back to a `.env` file."""

    def __init__(self, environ: Mapping[Text, Text], dotenv: Mapping[Text, Text] | None = None):
        self._values = {**(dotenv or {}), **environ}

    def raw(self, name: Text) -> Text | None:
        value = self._values.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def _parse(self, name: Text, default: T, parse: Callable[[Text], T], expected: Text) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"{name}={value!r} is not valid: expected {expected}"
            ) from exc

    def str(self, name: Text, default: Text = "") -> Text:
        value = self.raw(name)
        return default if value is None else value

    def optional(self, name: Text) -> Text | None:
        return self.raw(name)

    def int(self, name: Text, default: Integer, *, minimum: Integer | None = None) -> Integer:
        value = self._parse(name, default, int, "an integer")
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name}={value} is not valid: expected at least {minimum}")
        return value

    def float(self, name: Text, default: Number, *, minimum: Number | None = None) -> Number:
        value = self._parse(name, default, float, "a number")
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name}={value} is not valid: expected at least {minimum}")
        return value

    def bool(self, name: Text, default: Flag) -> Flag:
        return self._parse(name, default, _parse_bool, "true or false")

    def list(self, name: Text, default: Iterable[Text] = ()) -> Texts:
        value = self.raw(name)
        if value is None:
            return list(default)
        items = (item.strip().strip("\"'").strip() for item in value.strip("[]").split(","))
        return [item for item in items if item]

    def choice(self, name: Text, choices: Iterable[Text], default: Text) -> Text:
        allowed = list(choices)
        value = self.str(name, default).lower()
        if value not in allowed:
            raise ImproperlyConfigured(f"{name}={value!r} is not valid: expected one of {allowed}")
        return value

    def mapping(self, name: Text) -> dict[Text, Text]:
        """`a=1,b=2` -> {"a": "1", "b": "2"}."""
        result: dict[Text, Text] = {}
        for item in self.list(name):
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ImproperlyConfigured(f"{name}: expected name=value pairs, got {item!r}")
            result[key.strip()] = value.strip()
        return result


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(value)


def from_process(base_dir: Path) -> Env:
    return Env(os.environ, read_dotenv(base_dir / ".env"))
