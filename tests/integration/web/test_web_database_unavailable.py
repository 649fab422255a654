"""A lost database is a 503 page (HTML, ``Retry-After``) for a browser, never a 500, and the UI works again as soon
as the database is back, still signed in."""

from __future__ import annotations

from support.outage import database_lost

from connector.db import RETRY_AFTER_SECONDS


def test_pages_and_forms_answer_503_while_the_database_is_lost(app, signed_in, csrf):
    reviewer = signed_in("reviewer", "licensing")
    page = reviewer.get("/requests").get_data(as_text=True)
    with database_lost(app):
        for r in (reviewer.get("/queue"), reviewer.get("/requests"),
                  reviewer.post("/requests/LEX-1/votes", data={"csrf_token": csrf(page)})):
            assert r.status_code == 503 and r.mimetype == "text/html", r.status_code
            assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            assert "The database is unavailable" in r.get_data(as_text=True)
    assert reviewer.get("/queue").status_code == 200
