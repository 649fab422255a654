"""Building SOQL without ever interpolating untrusted text.

Field and object names are checked against Salesforce's API-name rules (letters, digits, single
underscores, optional ``ns__`` namespace and ``__c``-style suffix, dotted relationship paths); values go
through ``quote`` (string literals, escaped per the SOQL "Quoted String Escape Sequences") or
``datetime_literal`` (unquoted UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

# One API name: optional namespace prefix "ns__", a name of alphanumerics joined by single underscores,
# optional suffix such as __c (custom), __r (relationship), __s (compound sub-field), __x, __mdt, __pc.
_NAME = r"(?:[A-Za-z][A-Za-z0-9]*__)?[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:__[A-Za-z]{1,3})?"
_FIELD_PATH = re.compile(rf"^{_NAME}(?:\.{_NAME}){{0,5}}$")
_OBJECT_NAME = re.compile(rf"^{_NAME}$")
_MAX_NAME_LENGTH = 80

REQUIRED_FIELDS: tuple[str, ...] = ("Id", "SystemModstamp", "IsDeleted")

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_LIKE_ESCAPES = {"%": "\\%", "_": "\\_"}


def validate_field_path(path: str) -> str:
    """Return ``path`` if it is a valid field or relationship path (``Account__r.Name``), else ValueError."""
    if (
        not isinstance(path, str)
        or not _FIELD_PATH.match(path)
        or any(len(part) > _MAX_NAME_LENGTH for part in path.split("."))
    ):
        raise ValueError(f"invalid Salesforce field name: {path!r}")
    return path


def validate_object_name(name: str) -> str:
    """Return ``name`` if it is a valid sObject API name, else ValueError."""
    if not isinstance(name, str) or not _OBJECT_NAME.match(name) or len(name) > _MAX_NAME_LENGTH:
        raise ValueError(f"invalid Salesforce object name: {name!r}")
    return name


def quote(value: str, like: bool = False) -> str:
    """A single-quoted SOQL string literal. With ``like=True`` the LIKE wildcards ``%`` and ``_`` are
    escaped too (only valid inside a LIKE pattern); other control characters become ``\\uXXXX``."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif like and char in _LIKE_ESCAPES:
            out.append(_LIKE_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


def datetime_literal(moment: datetime) -> str:
    """An unquoted SOQL datetime literal in UTC, truncated to the second (``2026-11-20T10:30:00Z``).

    Truncation moves the bound earlier, never later, so a ``>=`` filter can only overlap, never skip.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes in SOQL must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def select_list(fields: Iterable[str], required: Sequence[str] = REQUIRED_FIELDS) -> list[str]:
    """``required`` first, then ``fields`` in order; validated; duplicates dropped case-insensitively
    (Salesforce rejects a query that selects a field twice)."""
    seen: set[str] = set()
    result: list[str] = []
    for field in [*required, *fields]:
        validate_field_path(field)
        key = field.lower()
        if key not in seen:
            seen.add(key)
            result.append(field)
    return result


def build_incremental_query(
    object: str,
    fields: Iterable[str],
    since: datetime | None,
    limit: int | None = None,
    inclusive: bool = True,
) -> str:
    """The sync query: records changed since the watermark, in ``SystemModstamp, Id`` order.

    ``inclusive`` uses ``>=`` so records sharing the watermark's timestamp are read again (the caller
    de-duplicates); ``SystemModstamp`` is indexed, which keeps this cheap on large objects.
    """
    validate_object_name(object)
    soql = f"SELECT {', '.join(select_list(fields))} FROM {object}"
    if since is not None:
        soql += f" WHERE SystemModstamp {'>=' if inclusive else '>'} {datetime_literal(since)}"
    soql += " ORDER BY SystemModstamp, Id"
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError("limit must be a positive integer")
        soql += f" LIMIT {limit}"
    return soql


def build_records_query(object: str, fields: Iterable[str], ids: Iterable[str]) -> str:
    """Fetch specific records (e.g. those named by an Outbound Message) with the mapping's fields."""
    validate_object_name(object)
    id_list = list(dict.fromkeys(ids))
    if not id_list:
        raise ValueError("at least one record id is required")
    for record_id in id_list:
        if not re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", record_id):
            raise ValueError(f"invalid Salesforce record id: {record_id!r}")
    in_list = ", ".join(quote(record_id) for record_id in id_list)
    return f"SELECT {', '.join(select_list(fields))} FROM {object} WHERE Id IN ({in_list}) ORDER BY Id"
