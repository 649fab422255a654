"""Anchors of the audit chain, kept outside the database (SPEC §6).

A chain verifies from its own rows, so deleting its last events, or rewriting its tail with recomputed hashes,
leaves a shorter or different chain that still verifies. An anchor — a head ``(seq, hash)`` written where the
database's writers cannot rewrite it — catches both: the chain must still hold every anchored ``(seq, hash)``.
The worker appends the head to ``CONNECTOR_AUDIT_ANCHOR_PATH`` once an hour; an operator ships that file to
write-once storage, and ``audit verify --anchor FILE`` checks the chain against it.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connector import audit
from connector.config import settings
from connector.db import db
from connector.models import AuditEvent

#: how often the worker appends the head; the anchor file's modification time says when it last did
ANCHOR_INTERVAL_SECONDS = 3600.0
_HASH = re.compile(r"[0-9a-f]{64}")
_LOOKUP_CHUNK = 500


class AnchorFileError(ValueError):
    """The anchor file is not what ``audit head`` writes (one JSON object with ``seq`` and ``hash`` a line)."""


@dataclass(frozen=True)
class Anchor:
    line: int
    seq: int
    hash: str

    def describe(self) -> str:
        return f"anchor on line {self.line} (seq {self.seq}, hash {self.hash})"


def parse_anchors(lines: Iterable[str], source: str) -> list[Anchor]:
    """The anchors in ``lines`` (blank lines skipped); ``AnchorFileError`` naming the first line that is not one."""
    anchors: list[Anchor] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        seq = entry.get("seq") if isinstance(entry, dict) else None
        digest = entry.get("hash") if isinstance(entry, dict) else None
        if type(seq) is not int or seq < 0 or not isinstance(digest, str) or not _HASH.fullmatch(digest):
            raise AnchorFileError(f'{source} line {number}: not an `audit head` line '
                                  f'({{"seq": <integer>, "hash": "<64 hex digits>"}})')
        anchors.append(Anchor(number, seq, digest))
    if not anchors:
        raise AnchorFileError(f"{source}: holds no anchor")
    return anchors


def read_anchors(path: Path) -> list[Anchor]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorFileError(f"{path}: cannot be read ({exc})") from exc
    return parse_anchors(text.splitlines(), str(path))


def _stored_hashes(seqs: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(seqs), _LOOKUP_CHUNK):
        chunk = seqs[start:start + _LOOKUP_CHUNK]
        rows = db.session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(chunk)))
        found.update({seq: digest for seq, digest in rows})
    return found


def broken_anchor(anchors: Sequence[Anchor]) -> str | None:
    """What is wrong with the lowest anchor the chain no longer holds, or ``None`` when every anchor holds.

    Meant after ``audit.verify()`` passed: the stored hashes are then the recomputed ones.
    """
    head_seq = int(audit.head()["seq"])
    stored = _stored_hashes(sorted({a.seq for a in anchors if a.seq > 0}))
    stored[0] = audit.GENESIS
    for anchor in sorted(anchors, key=lambda a: (a.seq, a.line)):
        found = stored.get(anchor.seq)
        if found is None:
            return f"{anchor.describe()}: the chain ends at seq {head_seq}, before the anchor"
        if found != anchor.hash:
            return f"{anchor.describe()}: the chain's event {anchor.seq} now has hash {found}"
    return None


def _append_durably(path: Path, line: str) -> None:
    """Append one line and fsync it (and the directory when the file is new): an anchor is only worth
    shipping once it is on disk."""
    created = not path.exists()
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())
    if created:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def anchor_head(now: float | None = None) -> dict[str, Any] | None:
    """The worker's periodic job: append the head to ``CONNECTOR_AUDIT_ANCHOR_PATH`` when that file was last
    written an hour ago or more (its modification time, so restarts and several workers still anchor once an
    hour); returns the head appended, ``None`` when none was due or no path is set."""
    configured = settings().audit_anchor_path
    if not configured:
        return None
    path = Path(configured)
    try:
        if (time.time() if now is None else now) - path.stat().st_mtime < ANCHOR_INTERVAL_SECONDS:
            return None
    except FileNotFoundError:
        pass
    current = audit.head()
    _append_durably(path, json.dumps(current))
    return current


__all__ = ["ANCHOR_INTERVAL_SECONDS", "Anchor", "AnchorFileError", "anchor_head", "broken_anchor",
           "parse_anchors", "read_anchors"]
