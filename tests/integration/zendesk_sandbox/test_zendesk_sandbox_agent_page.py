"""The sandbox answers the connector's "Open in Zendesk" link (``/agent/tickets/<id>``) with the ticket as HTML."""

from __future__ import annotations

from werkzeug.test import Client

from adapters.zendesk.sandbox import ZendeskSandbox


def test_the_agent_page_shows_the_ticket_its_fields_and_its_conversation():
    zendesk = ZendeskSandbox(tickets=0, seed=1)
    ticket_id = zendesk.create_ticket("Ten more seats", "Holiday cover.", tags=["license_exception"],
                                      custom_fields={"requested_seats": "35"})
    page = Client(zendesk).get(f"/agent/tickets/{ticket_id}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f"#{ticket_id} Ten more seats" in page.text and "license_exception" in page.text
    assert "requested_seats" in page.text and "35" in page.text and "Holiday cover." in page.text


def test_an_unknown_ticket_is_a_404_page():
    page = Client(ZendeskSandbox(tickets=0, seed=1)).get("/agent/tickets/99999")
    assert page.status_code == 404 and page.mimetype == "text/html" and "Not found" in page.text
