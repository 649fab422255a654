"""Integer keys as they arrive from outside (a path, a cursor, a form): bounded to the columns' range first.

Every integer key column is ``INTEGER``: 32 bits on PostgreSQL, which refuses a larger bound parameter outright
(``NumericValueOutOfRange``) instead of finding nothing. A key beyond the range names no row on either database,
so it is answered like any other unknown key (404) before a query is built.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

#: the largest value an ``INTEGER`` column holds on PostgreSQL (SQLite's are wider, but never hold more)
MAX_KEY = 2**31 - 1


def is_key(value: int | None) -> bool:
    """Whether ``value`` is a key a row can have (1 … ``MAX_KEY``)."""
    return value is not None and 0 < value <= MAX_KEY


class KeyConverter(IntegerConverter):
    """``<key:name>`` in a route: a positive whole number a key column can hold, so anything else is a 404.

    flask-smorest documents it as an integer with its bounds (it looks converters up by their class's MRO)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_KEY)
