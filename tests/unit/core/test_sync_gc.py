"""The sync's relaxed garbage collection is undone however syncs overlap."""

from __future__ import annotations

import gc

from connector.sync import few_collections


def test_overlapping_syncs_restore_the_collector_when_the_last_one_ends():
    before = gc.get_threshold()
    first, second = few_collections(), few_collections()
    first.__enter__()
    assert gc.get_threshold()[0] >= 50_000 and gc.get_freeze_count() > 0
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start ends first: the second still runs relaxed
    assert gc.get_threshold()[0] >= 50_000
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_an_error_inside_still_restores_the_collector():
    before = gc.get_threshold()
    try:
        with few_collections():
            raise RuntimeError("page failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
