"""Notification messages as each channel renders them: Slack blocks, a Teams MessageCard, an e-mail; an external
channel never gets the internal part; a webhook's answer becomes a delivery outcome; webhook URLs are checked."""

from __future__ import annotations

from datetime import date

import pytest

from connector.governance.errors import InvalidInput
from connector.notification_senders import classify
from connector.notifications import (
    Message,
    digest_heading,
    email_parts,
    payload_for,
    slack_payload,
    teams_payload,
    validate_webhook_url,
)

DECISION = Message("decision", "LEX-1001", 'Decided: LEX-1001 "Seats <b>&co" was approved by chair',
                   "https://lec.example/requests/LEX-1001", ("Customer summary: five more seats.",),
                   ("Rationale: margin is fine.", "Internal note: do not tell sales."))
REMINDER = Message("reminder", "LEX-1002", "Reminder: LEX-1002 is due soon", "https://lec.example/requests/LEX-1002",
                   ("12.0 business hours left.",))


def test_slack_payload_has_text_and_a_section_per_message_with_escaped_mrkdwn():
    body = slack_payload([DECISION])
    assert body["text"] == DECISION.headline
    [section] = body["blocks"]
    text = section["text"]["text"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert text.startswith("*<https://lec.example/requests/LEX-1001|Decided: LEX-1001 \"Seats &lt;b&gt;&amp;co\"")
    assert "_Internal:_ Rationale: margin is fine." in text and "five more seats" in text


def test_an_external_channel_never_gets_the_internal_part():
    for channel in ("slack", "teams", "email"):
        shown = str(payload_for(channel, "a@example.com", [DECISION.for_channel(external=True)]))
        assert "margin is fine" not in shown and "do not tell sales" not in shown and "Internal" not in shown
        assert "five more seats" in shown
        inside = str(payload_for(channel, "a@example.com", [DECISION.for_channel(external=False)]))
        assert "do not tell sales" in inside


def test_teams_message_card_has_a_section_and_an_open_action_per_message():
    card = teams_payload([DECISION, REMINDER], heading="Digest")
    assert card["@type"] == "MessageCard" and card["@context"] == "https://schema.org/extensions"
    assert card["summary"] == card["title"] == "Digest"
    assert [s["activityTitle"] for s in card["sections"]] == [DECISION.headline, REMINDER.headline]
    action = card["sections"][1]["potentialAction"][0]
    assert action["@type"] == "OpenUri" and action["targets"][0]["uri"] == REMINDER.url


def test_email_of_one_message_and_of_a_digest():
    subject, body = email_parts([REMINDER])
    assert subject == "[LEX-1002] Reminder: LEX-1002 is due soon"
    assert body.endswith("Open it: https://lec.example/requests/LEX-1002\n")
    heading = digest_heading(2, date(2026, 12, 3))
    assert heading == "Your license exception digest for 2026-12-03: 2 notifications"
    subject, body = email_parts([DECISION, REMINDER], heading)
    assert subject == heading and DECISION.headline in body and REMINDER.headline in body
    assert digest_heading(1, date(2026, 12, 3)).endswith("1 notification")


def test_digest_slack_payload_has_one_header_then_every_item():
    body = slack_payload([DECISION, REMINDER], heading="Your digest")
    assert body["text"] == "Your digest"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section"]


def test_message_round_trips_through_its_stored_form():
    assert Message.from_dict(DECISION.as_dict()) == DECISION


@pytest.mark.parametrize(("status", "header", "result", "wait"), [
    (200, None, "delivered", None), (204, None, "delivered", None), (503, "7", "retry", 7.0),
    (429, "30", "retry", 30.0), (500, None, "retry", None), (404, None, "dead", None), (400, None, "dead", None),
])
def test_webhook_answers_classified(status, header, result, wait):
    outcome = classify(status, "no_service" if status == 404 else "", header)
    assert outcome.result == result and outcome.retry_after == wait and outcome.status_code == status
    if status == 404:
        assert outcome.detail == "HTTP 404: no_service"


@pytest.mark.parametrize("url", ["http://hooks.slack.com/services/x", "ftp://x.example/y", "not a url",
                                 "https://" + "a" * 2000 + ".example/"])
def test_webhook_url_must_be_https(url):
    with pytest.raises(InvalidInput) as caught:
        validate_webhook_url("slack", url)
    assert "webhooks.slack" in caught.value.details["fields"]


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T/B/x", "http://127.0.0.1:8765/hook",
                                 "http://localhost/hook"])
def test_https_or_a_loopback_receiver_accepted(url):
    assert validate_webhook_url("slack", f" {url} ") == url
