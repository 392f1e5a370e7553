"""Input rules every endpoint shares (hall/validate.py) and the description's promises
that the security review asked for: control characters are never stored, null is not
"absent", query values are refused rather than truncated or ignored, a method a path
does not have is a 405 with Allow."""

from __future__ import annotations

import pytest

from hall.openapi import spec
from hall.vocabulary import TICKET_STATUSES

CONTROLS = ["ok\u0001", "a\x0eb", "x\x7f", "c1\x85", "nul\x00", "cr\r"]


def finished_ticket(client, clerk):
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    called = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["id"] == t["id"]
    assert clerk.post(f"/api/tickets/{t['id']}/finish").status_code == 200
    return t


@pytest.mark.parametrize("comment", CONTROLS)
def test_a_rating_comment_with_a_control_character_is_refused(client, clerk_at, hall, comment):
    clerk = clerk_at(1)
    t = finished_ticket(client, clerk)
    r = client.post(f"/api/tickets/{t['token']}/rating", json={"score": 4, "comment": comment})
    assert r.status_code == 400 and "控制字符" in r.get_json()["error"]
    assert list(hall.store.db().query("SELECT * FROM ratings WHERE ticket_id = ?", [t["id"]])) == []
    ok = {"score": 4, "comment": "很好\n谢谢\t!"}  # tab and newline are text
    assert client.post(f"/api/tickets/{t['token']}/rating", json=ok).status_code == 201


@pytest.mark.parametrize("value", CONTROLS)
def test_admin_texts_with_control_characters_are_refused(staff, hall, value):
    admin = staff("boss", "admin")
    r = admin.post("/api/admin/services/SB", json={"department": value})
    assert r.status_code == 400 and "控制字符" in r.get_json()["error"]
    r = admin.post("/api/admin/services/SB", json={"matters": ["好", value]})
    assert r.status_code == 400
    assert "\x0e" not in str(list(hall.store.db().query("SELECT * FROM services")))
    body = {"code": "NEW", "name": "新业务", "department": value, "prefix": "N"}
    assert admin.post("/api/admin/services", json=body).status_code == 400


def test_null_is_not_absent(staff, client):
    admin = staff("boss", "admin")
    r = admin.post("/api/admin/windows/1", json={"active": None})
    assert r.status_code == 400 and "null" in r.get_json()["error"]
    r = admin.post("/api/admin/windows/1", json={"name": "一号窗口", "active": None})
    assert r.status_code == 400
    assert client.post("/api/tickets", json={"service": "SB", "kiosk": None}).status_code == 400


def test_ticket_status_is_one_of_the_statuses(staff):
    guide = staff("guide", "clerk")
    for status in TICKET_STATUSES:
        assert guide.get(f"/api/tickets?status={status}").status_code == 200
    for bad in ("waiting" + "x" * 40, "", "WAITING", "no-show"):
        r = guide.get("/api/tickets", query_string={"status": bad})
        assert r.status_code == 400, bad
    assert guide.get("/api/tickets?number=" + "A" * 9).status_code == 400  # not truncated


@pytest.mark.parametrize(
    "url",
    [
        "/api/stats?to=",
        "/api/stats?from=",
        "/api/ratings?to=",
        "/api/audit?from=",
        "/api/export/tickets.csv?to=",
        "/api/ratings?bad=",
        "/api/ratings?limit=",
        "/api/ratings?limit=1_0",
        "/api/printers?check=yes",
    ],
)
def test_empty_or_odd_query_values_are_refused(staff, url):
    assert staff("boss", "admin").get(url).status_code == 400, url


def test_pad_timeout_needs_a_json_body(paired_pad):
    client = paired_pad(1)  # only a paired pad reaches the body check
    r = client.post("/api/pad/1/timeout", data=b"\x00", content_type="application/json")
    assert r.status_code == 400
    assert client.post("/api/pad/1/timeout", json={}).status_code == 200


def test_a_method_the_path_lacks_is_405_with_allow(client, staff):
    admin = staff("boss", "admin")
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    for c in (client, admin):
        # A digits-only token once met the staff-only /api/tickets/<id>/<action> route (401).
        for url in (f"/api/tickets/{t['id']}/qr.png", f"/api/tickets/{t['id']}/ticket.png"):
            r = c.post(url)
            assert r.status_code == 405, url
            assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    r = admin.client.open("/api/windows/1/state", method="OPTIONS")
    assert "POST" not in r.headers["Allow"]
    r = admin.client.delete("/api/windows/1/pause")
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
    assert r.get_json()["error"]


def test_described_values_match_the_server(app):
    doc = spec(app)
    schemas = doc["components"]["schemas"]
    overdue = schemas["RatingFollowUp"]["properties"]["overdue"]
    assert overdue["enum"] == ["callback", "rectify"] and overdue["nullable"] is True
    issue = schemas["IssueTicket"]["properties"]
    hall = app.extensions["hall"]
    for option in hall.faces.issue_options():  # the kiosk face's print and matter
        kind = {bool: "boolean", str: "string", int: "integer"}[option.kind]
        assert issue[option.name]["type"] == kind
        assert issue[option.name].get("maxLength") == option.max_len
    assert issue["kiosk"]["enum"] == [k["id"] for k in hall.cfg.kiosks]
    status = doc["paths"]["/api/tickets"]["get"]["parameters"][2]
    assert status["schema"]["enum"] == list(TICKET_STATUSES)
