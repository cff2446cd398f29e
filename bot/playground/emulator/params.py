"""Reading Web API parameters the same way whether they came form-encoded or as JSON.

Form bodies carry every value as a string, structured ones (``blocks``,
``metadata``, ``files``) as JSON strings; JSON bodies carry real types. Methods
read through ``Params`` and never see the difference.
"""

from __future__ import annotations

import json
from typing import Any

from .constants import SlackError

JSON_FIELDS = ("blocks", "attachments", "metadata", "files")


class Params:
    """Typed access to one call's parameters, raising Slack's error codes when they are bad."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        return default if value in (None, "") else str(value)

    def need(self, name: str, error: str) -> str:
        value = self.text(name)
        if value is None:
            raise SlackError(error)
        return value

    def json(self, name: str, error: str) -> Any:
        """A structured field, decoding it when it came as a JSON string (form bodies)."""
        value = self.raw.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise SlackError(error) from exc
        return value

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is True or str(value).lower() in ("1", "true")

    def number(self, name: str, default: int) -> int:
        value = self.raw.get(name)
        try:
            return int(value) if value not in (None, "") else default
        except (TypeError, ValueError) as exc:
            raise SlackError("invalid_arguments") from exc


def decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    """A copy with JSON-string fields parsed, so recorded calls read the same either way."""
    out = dict(params)
    for name in JSON_FIELDS:
        if isinstance(out.get(name), str):
            try:
                out[name] = json.loads(out[name])
            except ValueError:
                pass
    return out


def page(items: list[Any], p: Params) -> tuple[list[Any], str]:
    """Cursor pagination as Slack does it: an opaque cursor, "" when there is no more."""
    limit = max(1, p.number("limit", 100))
    cursor = p.text("cursor") or "offset_0"
    try:
        start = int(cursor.removeprefix("offset_"))
    except ValueError as exc:
        raise SlackError("invalid_cursor") from exc
    end = start + limit
    return items[start:end], (f"offset_{end}" if end < len(items) else "")
