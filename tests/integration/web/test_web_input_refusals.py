"""The UI's side of bad input: a ``next=`` that is not a plain local path goes home after sign-in (never a split
header, another host, or a 500), ids beyond a key column are 404, and a reviewer without the committee standing a
form asks is refused (403) before the form is read."""

from __future__ import annotations

import pytest

BAD_NEXT = ["/%0D%0ALocation:%20https://evil.example", "/%0ASet-Cookie:%20x=1", "//evil.example/x",
            "/%5Cevil.example", "https://evil.example/", "/%09/evil.example", "%2F%2Fevil.example", "/%00",
            "/%E2%88%95%E2%88%95evil.example", "javascript:alert(1)", "/%20/evil.example"]


@pytest.mark.parametrize("raw", BAD_NEXT)
def test_a_next_that_is_not_a_plain_local_path_goes_home(client, make_account, csrf, password, raw):
    email = make_account("admin")
    page = client.get(f"/sign-in?next={raw}")
    assert page.status_code in (200, 400)  # a NUL is refused outright, as everywhere in the UI
    token = csrf(client.get("/sign-in").get_data(as_text=True))
    r = client.post(f"/sign-in?next={raw}", data={"csrf_token": token, "email": email, "password": password})
    if r.status_code == 400:
        assert "NUL" in r.get_data(as_text=True)
        return
    assert r.status_code == 303 and r.headers["Location"] == "/", r.headers.get("Location")
    assert "evil" not in page.get_data(as_text=True) and "Set-Cookie: x" not in str(r.headers)


def test_a_plain_local_path_is_followed(client, make_account, csrf, password):
    email = make_account("admin")
    token = csrf(client.get("/sign-in").get_data(as_text=True))
    r = client.post("/sign-in?next=/admin/connections%3Fx%3D1", data={"csrf_token": token, "email": email,
                                                                        "password": password})
    assert r.status_code == 303 and r.headers["Location"] == "/admin/connections?x=1"


@pytest.mark.parametrize("value", ["2147483648", "9223372036854775808", "-1"])
def test_ids_beyond_a_key_column_are_404_pages(signed_in, csrf, value):
    auditor, admin = signed_in("auditor"), signed_in("admin")
    assert auditor.get(f"/audit/samples/{value}").status_code == 404
    token = csrf(admin.get("/admin/connections").get_data(as_text=True))
    assert admin.post(f"/admin/deliveries/{value}/retry", data={"csrf_token": token}).status_code == 404
    assert auditor.get("/requests", query_string={"before": value}).status_code == 200  # the first page


def test_a_reviewer_without_the_standing_is_403_before_the_form_is_read(signed_in, submit, small, csrf):
    key = submit(small)
    legal, outsider = signed_in("reviewer", "legal"), signed_in("reviewer")
    token = csrf(legal.get(f"/requests/{key}").get_data(as_text=True))
    r = legal.post(f"/requests/{key}/decision", data={"csrf_token": token})
    assert r.status_code == 403 and "Only the chair (licensing)" in r.get_data(as_text=True)
    token = csrf(outsider.get(f"/requests/{key}").get_data(as_text=True))
    r = outsider.post(f"/requests/{key}/votes", data={"csrf_token": token})
    assert r.status_code == 403 and "Only committee members" in r.get_data(as_text=True)
