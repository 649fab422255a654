"""Ids drawn in bulk for a sync page have exactly the form of ids drawn one at a time."""

from __future__ import annotations

import uuid

from connector.models import new_public_id, new_public_ids


def test_bulk_ids_are_distinct_random_version_4_uuids_in_hex():
    ids = new_public_ids(2000)
    assert len(set(ids)) == 2000
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert parsed.hex == value and len(value) == len(new_public_id())


def test_bulk_ids_differ_between_calls_and_none_are_asked_for_nothing():
    assert not set(new_public_ids(100)) & set(new_public_ids(100))
    assert new_public_ids(0) == []
