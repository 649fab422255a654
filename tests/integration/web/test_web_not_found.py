"""An unknown address under the UI gets the UI's styled page; under the API, JSON problem details."""

from __future__ import annotations


def test_unknown_urls_render_the_styled_page_and_the_api_stays_json(app, signed_in):
    client = signed_in("admin")
    r = client.get("/no/such/page")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "<h1>Not found</h1>" in html and "connector.css" in html and "Sign out" in html
    r = app.test_client().get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.mimetype == "application/json" and r.get_json()["status"] == 404
    r = app.test_client().get("/requests/LEX-99999")
    assert r.status_code in (302, 303)  # a known route: sign-in first, as before
    assert client.get("/requests/LEX-99999").status_code == 404


def test_a_failed_oauth_callback_is_a_page_in_the_uis_style_for_a_browser_and_json_for_a_script(app):
    client = app.test_client()
    r = client.get("/oauth/callback?state=nope&code=x", headers={"Accept": "text/html,application/xhtml+xml"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and r.mimetype == "text/html"
    assert "<h1>Authorization not completed</h1>" in html and 'href="/admin/connections"' in html
    assert "connector.css" in html
    r = client.get("/oauth/callback?error=access_denied&error_description=User+said+no",
                   headers={"Accept": "text/html"})
    assert "The provider refused the authorization: User said no." in r.get_data(as_text=True)
    r = client.get("/oauth/callback?state=nope&code=x", headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.get_json()["status"] == 400
