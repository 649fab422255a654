"""The sandbox answers the connector's "Open in Salesforce" link with the record as an HTML page."""

from __future__ import annotations

from werkzeug.test import Client

from adapters.salesforce.sandbox import SalesforceSandbox


def test_the_record_page_shows_the_record_without_an_api_session():
    org = SalesforceSandbox(records=2, seed=3)
    record_id = org.record_ids()[0]
    record = org.get_record(record_id)
    page = Client(org).get(f"/lightning/r/{org.object_name}/{record_id}/view")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<h1>" in page.text and record["Name"].replace("'", "&#x27;") in page.text
    assert record_id in page.text and "Salesforce sandbox" in page.text


def test_an_unknown_record_is_a_404_page_not_json():
    org = SalesforceSandbox(records=1, seed=3)
    for path in (f"/lightning/r/{org.object_name}/a0X000000000999AAA/view", "/lightning/r/Account/x/view"):
        page = Client(org).get(path)
        assert page.status_code == 404 and page.mimetype == "text/html" and "Not found" in page.text
