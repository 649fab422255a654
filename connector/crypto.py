"""Secrets at rest: a MultiFernet over ``CONNECTOR_ENCRYPTION_KEYS`` (the first key encrypts, all decrypt).

Without configured keys (a laptop, the demo) a key is generated once into the instance folder, readable by
the owner only, and a warning says so; production sets ``CONNECTOR_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from connector.config import settings

log = logging.getLogger(__name__)
_cache: dict[str, MultiFernet] = {}


class EncryptionKeyError(RuntimeError):
    pass


def _keys_from_config() -> str:
    configured = settings().encryption_keys
    if configured:
        return configured
    path = Path(current_app.instance_path) / "encryption.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
        log.warning("CONNECTOR_ENCRYPTION_KEYS is not set: generated %s; set the variable in production", path)
    return path.read_text().strip()


def fernet() -> MultiFernet:
    keys = _keys_from_config()
    cached = _cache.get(keys)
    if cached is None:
        try:
            cached = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
        except (ValueError, TypeError) as exc:
            raise EncryptionKeyError("CONNECTOR_ENCRYPTION_KEYS must be comma-separated Fernet keys") from exc
        _cache[keys] = cached
    return cached


def encrypt_json(value: Any) -> str:
    return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise EncryptionKeyError("a stored secret cannot be decrypted with CONNECTOR_ENCRYPTION_KEYS") from exc


def rotate_token(token: str) -> str:
    """Re-encrypt under the newest key (after a new key was put first in the list)."""
    return fernet().rotate(token.encode()).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored as a Fernet token: nothing in the database file is readable without the keys."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt_json(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else decrypt_json(value)
