"""The Zendesk app's sidebar page in the system Chromium, with a stub ZAF client standing in for Zendesk: the
status of a request waiting for information (with a field to fill), an approved one, the flag form on a ticket not
yet flagged, and what the app sends (secure requests with the token placeholder, never a token). Screenshots are
saved under ``test-results/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.servers import serve
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.wrappers import Response

from adapters.zendesk.app_build import APP_ROOT

STUB = (Path(__file__).parent / "zaf_stub.js").read_text()
SCREENSHOTS = Path("test-results")
CONNECTOR = "https://lec.example.com"
STATUS_URL = f"{CONNECTOR}/api/v1/sources/zendesk/zd-prod/tickets/4242/status"
FIELDS = [
    {"name": "justification", "field_id": 501, "label": "Business justification", "type": "textarea"},
    {"name": "requested_seats", "field_id": 502, "label": "Requested seats", "type": "integer"},
    {"name": "category", "field_id": 503, "label": "License exception category", "type": "tagger",
     "options": [{"name": "Seat expansion", "value": "lec_category_seat_expansion"},
                 {"name": "Other", "value": "lec_category_other"}]},
]


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    static = SharedDataMiddleware(lambda environ, start: Response(status=404)(environ, start), {"/": str(APP_ROOT)})
    with serve(static) as url:
        yield url


def open_sidebar(browser: Any, app_url: str, zaf: dict[str, Any], shot: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 340, "height": 700})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(f"window.__ZAF = {json.dumps(zaf)};")
    page.route("https://static.zdassets.com/**", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=STUB))
    page.goto(f"{app_url}/assets/iframe.html")
    page.wait_for_selector("[data-id=state], [data-id=flag-form], [data-id=error]")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"zendesk-app-{shot}.png"), full_page=True)
    foreign = [url for url in requested if not url.startswith((app_url, "https://static.zdassets.com/"))]
    assert not foreign, foreign
    return context, page


def zaf(status: dict[str, Any] | None = None, location: str = "ticket_sidebar", **responses: Any) -> dict[str, Any]:
    answers = {STATUS_URL: {"status": 200, "body": status}} if status is not None else {}
    answers.update(responses)
    return {"location": location, "settings": {"connector_url": CONNECTOR + "/", "connection": "zd-prod"},
            "ticket": {"ticket.id": 4242, "ticket.customField:custom_field_501": None,
                       "ticket.customField:custom_field_502": 100}, "responses": answers}


def calls(page: Any) -> list[Any]:
    return page.evaluate("window.__zafCalls")


def test_a_request_waiting_for_information_shows_what_is_missing_and_fills_it(browser, app_url):
    status = {"flagged": True, "key": "LEX-1042", "state": "needs_info", "track": "fast", "risk_band": "low",
              "missing": {"summary": "Missing: justification. Conflicts: seats_not_increased",
                          "fields": FIELDS[:2]},
              "votes_waiting": [], "decision": None, "boundaries": [], "url": f"{CONNECTOR}/requests/LEX-1042"}
    context, page = open_sidebar(browser, app_url, zaf(status), "needs-info")
    assert page.text_content("[data-id=state]") == "Needs information"
    assert "Missing: justification" in page.text_content("[data-id=missing]")
    assert page.get_attribute("[data-id=link]", "href") == f"{CONNECTOR}/requests/LEX-1042"
    page.click("[data-id=fill-502]")
    assert page.input_value("#f-502") == "100"
    page.fill("#f-502", "150")
    page.click("text=Set Requested seats")
    page.wait_for_selector("text=Set — save the ticket to send it")
    page.screenshot(path=str(SCREENSHOTS / "zendesk-app-needs-info-filled.png"), full_page=True)
    assert ["set", "ticket.customField:custom_field_502", 150] in calls(page)
    [request] = [c[1] for c in calls(page) if c[0] == "request"]
    assert request["url"] == STATUS_URL and request["secure"] is True
    assert request["headers"] == {"Authorization": "Bearer {{setting.token}}"}  # Zendesk's proxy fills it in
    context.close()


def test_an_approved_request_shows_its_decision_boundaries_and_expiry(browser, app_url):
    status = {"flagged": True, "key": "LEX-1043", "state": "approved", "track": "standard", "risk_band": "high",
              "missing": {"summary": "", "fields": []}, "votes_waiting": [],
              "decision": {"outcome": "approved_with_conditions", "rationale": "Strategic account; <b>bold</b>"},
              "boundaries": ["seats: 120", "regions: EMEA"], "effective_from": "2026-12-01",
              "expires_at": "2026-12-21", "expires_in_days": 18, "url": f"{CONNECTOR}/requests/LEX-1043"}
    context, page = open_sidebar(browser, app_url, zaf(status), "approved")
    assert page.text_content("[data-id=state]") == "Approved"
    assert page.text_content("[data-id=risk]") == "High risk"
    assert page.text_content("[data-id=expiry]") == "Expires in 18 days"
    assert "warning" in (page.get_attribute("[data-id=expiry]", "class") or "")
    assert page.locator("[data-id=boundaries] li").all_text_contents() == ["seats: 120", "regions: EMEA"]
    assert page.text_content("[data-id=rationale]") == "Strategic account; <b>bold</b>"  # text, never markup
    assert page.locator("[data-id=rationale] b").count() == 0
    assert page.locator("[data-id=missing]").count() == 0
    context.close()


def test_a_ticket_in_review_lists_the_votes_it_waits_for(browser, app_url):
    status = {"flagged": True, "key": "LEX-1044", "state": "in_review", "track": "standard", "risk_band": "medium",
              "missing": {"summary": "", "fields": []}, "votes_waiting": ["security", "legal"], "decision": None,
              "boundaries": [], "url": f"{CONNECTOR}/requests/LEX-1044"}
    context, page = open_sidebar(browser, app_url, zaf(status), "in-review")
    assert page.locator("[data-id=votes-waiting] li").all_text_contents() == ["Security", "Legal"]
    context.close()


def test_a_ticket_not_yet_flagged_gets_the_flag_form_which_fills_the_fields_and_adds_the_tag(browser, app_url):
    context, page = open_sidebar(browser, app_url, zaf({"flagged": False, "tag": "license_exception",
                                                        "form": FIELDS}), "flag-form")
    page.fill("#f-501", "Pilot for a new team")
    page.select_option("#f-503", "lec_category_seat_expansion")
    page.click("[data-id=flag]")
    page.wait_for_selector("[data-id=flagged]")
    made = calls(page)
    assert ["set", "ticket.customField:custom_field_501", "Pilot for a new team"] in made
    assert ["set", "ticket.customField:custom_field_503", "lec_category_seat_expansion"] in made
    assert ["invoke", "ticket.tags.add", "license_exception"] in made
    context.close()


def test_a_new_ticket_reads_the_form_from_the_connector(browser, app_url):
    form_url = f"{CONNECTOR}/api/v1/sources/zendesk/zd-prod/flag-form"
    context, page = open_sidebar(browser, app_url, zaf(location="new_ticket_sidebar", **{
        form_url: {"status": 200, "body": {"tag": "license_exception", "form": FIELDS}}}), "new-ticket")
    assert page.locator("[data-id=flag-form] label").all_text_contents() == [f["label"] for f in FIELDS]
    context.close()


def test_a_refused_token_says_what_to_do(browser, app_url):
    context, page = open_sidebar(browser, app_url, zaf(**{STATUS_URL: {"status": 403, "body": None}}), "refused")
    assert "provision the Zendesk connection again" in page.text_content("[data-id=error]")
    context.close()
