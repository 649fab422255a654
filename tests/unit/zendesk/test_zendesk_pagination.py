"""``ZendeskClient.paginate``: any list endpoint, cursor or offset pagination, each page through ``request``;
and the webhook and trigger bodies provisioning sends."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import (
    TRIGGER_WEBHOOK_BODY,
    ZendeskClient,
    trigger_body,
    trigger_notifies,
    webhook_body,
)
from adapters.zendesk.errors import ForeignUrl

BASE = "https://acme.zendesk.com"
TRIGGERS = f"{BASE}/api/v2/triggers.json"
WEBHOOKS = f"{BASE}/api/v2/webhooks"


@pytest.fixture
def client(settings, clock, make_token):
    return ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)


@responses.activate
def test_cursor_pagination_follows_links_next_while_has_more(client):
    responses.get(WEBHOOKS, match=[matchers.query_param_matcher({"page[size]": "2"})], json={
        "webhooks": [{"id": "a"}, {"id": "b"}],
        "meta": {"has_more": True}, "links": {"next": f"{WEBHOOKS}?page[after]=xyz&page[size]=2"}})
    responses.get(WEBHOOKS, match=[matchers.query_param_matcher({"page[after]": "xyz", "page[size]": "2"})], json={
        "webhooks": [{"id": "c"}], "meta": {"has_more": False}, "links": {"next": f"{WEBHOOKS}?page[after]=end"}})

    items = list(client.paginate("/api/v2/webhooks", "webhooks", params={"page[size]": 2}))

    assert [item["id"] for item in items] == ["a", "b", "c"]
    assert len(responses.calls) == 2, "has_more false ends the walk even with a links.next"


@responses.activate
def test_offset_pagination_follows_next_page(client):
    responses.get(TRIGGERS, match=[matchers.query_param_matcher({})],
                  json={"triggers": [{"id": 1}], "next_page": f"{TRIGGERS}?page=2"})
    responses.get(TRIGGERS, match=[matchers.query_param_matcher({"page": "2"})],
                  json={"triggers": [{"id": 2}], "next_page": None})

    assert [t["id"] for t in client.triggers()] == [1, 2]


@responses.activate
def test_pages_are_fetched_lazily(client):
    responses.get(TRIGGERS, match=[matchers.query_param_matcher({})],
                  json={"triggers": [{"id": 1}], "next_page": f"{TRIGGERS}?page=2"})
    pages = client.paginate("/api/v2/triggers.json", "triggers")
    assert next(pages) == {"id": 1}
    assert len(responses.calls) == 1


@responses.activate
def test_a_next_link_to_another_host_is_refused_before_any_credential_leaves(client):
    responses.get(WEBHOOKS, json={"webhooks": [{"id": "a"}], "meta": {"has_more": True},
                                  "links": {"next": "https://attacker.example/api/v2/webhooks?page[after]=x"}})
    walk = client.webhooks()
    assert next(walk) == {"id": "a"}
    with pytest.raises(ForeignUrl):
        next(walk)
    assert len(responses.calls) == 1


@responses.activate
def test_a_missing_list_yields_nothing(client):
    responses.get(WEBHOOKS, json={"meta": {"has_more": False}})
    assert list(client.webhooks()) == []


def test_the_trigger_body_selects_by_tag_or_by_form():
    by_tag = trigger_body("T", "wh1", tag="license_exception")
    assert by_tag["conditions"]["all"] == [{"field": "current_tags", "operator": "includes",
                                            "value": "license_exception"}]
    by_form = trigger_body("F", "wh1", ticket_form_id=360001)
    assert by_form["conditions"]["all"] == [{"field": "ticket_form_id", "operator": "is", "value": "360001"}]
    for body in (by_tag, by_form):
        assert body["active"] is True
        assert body["actions"] == [{"field": "notification_webhook", "value": ["wh1", TRIGGER_WEBHOOK_BODY]}]
        assert {c["value"] for c in body["conditions"]["any"]} == {"Create", "Change"}
    with pytest.raises(ValueError):
        trigger_body("T", "wh1")
    with pytest.raises(ValueError):
        trigger_body("T", "wh1", tag="x", ticket_form_id=1)


def test_trigger_notifies_reads_the_webhook_action():
    assert trigger_notifies(trigger_body("T", "wh1", tag="x"), "wh1")
    assert not trigger_notifies(trigger_body("T", "wh1", tag="x"), "wh2")
    assert not trigger_notifies({"actions": [{"field": "notification_webhook", "value": []}]}, "wh1")
    assert not trigger_notifies({}, "wh1")


@responses.activate
def test_create_trigger_by_form_and_create_webhook_post_the_helpers_bodies(client):
    responses.post(TRIGGERS, json={"trigger": {"id": 7}})
    responses.post(WEBHOOKS, json={"webhook": {"id": "wh9"}})

    assert client.create_trigger("F", "wh1", ticket_form_id=360001) == {"id": 7}
    assert client.create_webhook("LEC", "https://connector.example.com/webhooks/zendesk/zd") == "wh9"

    assert json.loads(responses.calls[0].request.body) == {"trigger": trigger_body("F", "wh1",
                                                                                   ticket_form_id=360001)}
    assert json.loads(responses.calls[1].request.body) == {
        "webhook": webhook_body("LEC", "https://connector.example.com/webhooks/zendesk/zd")}
    assert webhook_body("n", "u")["subscriptions"] == ["conditional_ticket_events"]
