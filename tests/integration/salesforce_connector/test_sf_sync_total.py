"""A sync learns how many records Salesforce's query holds (``totalSize``), so a progress bar has an end."""

from __future__ import annotations

from integration.salesforce_connector.mock_org import MockOrg, sf_record, sync

from connector.sync import SyncCounts, examined


def test_the_sync_reports_the_querys_total_size(client, admin, org: MockOrg, connected) -> None:
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    result = sync(client, admin)
    assert result["fetched"] == 5 and result["detail"]["total"] == 5


def test_progress_counts_the_records_a_source_skipped():
    counts = SyncCounts(fetched=3, detail={"skipped_already_seen": 2, "total": 10})
    assert examined(counts) == 5
