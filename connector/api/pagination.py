"""Cursor pagination: ``?after=<cursor>&limit=N`` → ``{"items": [...], "next": cursor | null}``."""

from __future__ import annotations

import base64
from typing import Any

from marshmallow import Schema, fields, validate

from connector.governance.errors import InvalidInput
from connector.keys import MAX_KEY


class PageArgs(Schema):
    after = fields.String(load_default=None, metadata={"description": "Cursor from a previous page's `next`."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"c:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        position = int(value)
        if kind != "c" or not 0 <= position <= MAX_KEY:  # a position a key column holds
            raise ValueError(cursor)
        return position
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("bad_cursor", "The 'after' cursor is not one this API gave out.",
                           {"fields": {"after": ["Use the 'next' value of a previous page."]}}) from exc


def page(items: list[Any], limit: int, position: Any) -> dict[str, Any]:
    """``items`` was fetched with ``limit + 1`` rows; ``position(item)`` gives the cursor value."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": encode_cursor(position(items[-1])) if more and items else None}
