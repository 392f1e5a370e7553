"""API v1: each endpoint with good and bad input."""

from __future__ import annotations

import pytest

from .conftest import local

TICKET_FIELDS = {
    "id",
    "number",
    "service",
    "service_name",
    "status",
    "priority",
    "issued_at",
    "called_at",
    "finished_at",
    "window",
    "waiting_ahead",
    "eta_minutes",
}


def issue(client, service="SB", **body):
    r = client.post("/api/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# --- services ------------------------------------------------------------------------
def test_services_list(client):
    issue(client, "BDC")
    issue(client, "BDC")
    services = {s["code"]: s for s in client.get("/api/services").get_json()}
    assert set(services) == {"BDC", "SB", "YB", "GJJ", "CRJ"}
    bdc = services["BDC"]
    assert bdc["name"] == "不动产登记" and bdc["department"] == "自然资源局"
    assert bdc["prefix"] == "A" and bdc["waiting"] == 2 and bdc["open"] is True
    assert bdc["eta_minutes"] > 0
    assert services["CRJ"]["remaining"] == 3 and services["SB"]["remaining"] is None


def test_services_show_closed_hours_and_quota(client, clock):
    for _ in range(3):
        issue(client, "CRJ")
    services = {s["code"]: s for s in client.get("/api/services").get_json()}
    assert services["CRJ"]["open"] is False and services["CRJ"]["remaining"] == 0
    assert services["CRJ"]["closed_reason"] == "今日号已取完"
    clock.set(local(2026, 11, 30, 18, 0))
    services = client.get("/api/services").get_json()
    assert all(not s["open"] for s in services)
    assert "08:30" in services[0]["closed_reason"]


# --- tickets -------------------------------------------------------------------------
def test_issue_ticket_returns_the_ticket_with_token(client):
    issue(client, "SB")
    t = issue(client, "SB")
    assert TICKET_FIELDS <= set(t)
    assert t["number"] == "B002" and t["status"] == "waiting" and t["waiting_ahead"] == 1
    assert t["issued_at"] == "2026-11-30T09:00:00+08:00"  # shown in the hall's timezone
    assert len(t["token"]) >= 20
    again = client.get(f"/api/tickets/{t['token']}").get_json()
    assert again["number"] == "B002" and again["token"] == t["token"]


def test_unknown_token_is_404(client):
    r = client.get("/api/tickets/not-a-real-token-at-all")
    assert r.status_code == 404 and "error" in r.get_json()
    assert client.get("/api/tickets/" + "x" * 300).status_code == 404


@pytest.mark.parametrize(
    "body,status",
    [
        ({}, 400),
        ({"service": 5}, 400),
        ({"service": ["SB"]}, 400),
        ({"service": None}, 400),
        ({"service": "NOPE"}, 404),
        ({"service": "SB", "priority": "yes"}, 400),
        ({"service": "SB", "priority": True, "priority_reason": "老人"}, 403),
        ({"service": "SB", "kiosk": "K9"}, 400),
        ({"service": "x" * 1000}, 400),
    ],
)
def test_issue_ticket_bad_input(client, hall, body, status):
    r = client.post("/api/tickets", json=body)
    assert r.status_code == status
    assert isinstance(r.get_json()["error"], str)
    assert hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


@pytest.mark.parametrize(
    "data,ctype",
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"SB"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"service=SB", "application/x-www-form-urlencoded"),
    ],
)
def test_broken_bodies_are_400(client, data, ctype):
    r = client.post("/api/tickets", data=data, content_type=ctype)
    assert r.status_code == 400
    assert "error" in r.get_json()


def test_huge_body_is_413(client, hall):
    r = client.post(
        "/api/tickets",
        data=b'{"service": "' + b"x" * (1024 * 1024 + 10) + b'"}',
        content_type="application/json",
    )
    assert r.status_code == 413
    assert "1MB" in r.get_json()["error"]
    assert hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


def test_outside_hours_is_409_with_next_opening(client, clock):
    clock.set(local(2026, 12, 4, 18, 0))  # Friday evening
    r = client.post("/api/tickets", json={"service": "SB"})
    assert r.status_code == 409
    assert "2026-12-07" in r.get_json()["error"]


def test_quota_is_409(client):
    for _ in range(3):
        issue(client, "CRJ")
    r = client.post("/api/tickets", json={"service": "CRJ"})
    assert r.status_code == 409 and "今日号已取完" in r.get_json()["error"]


def test_rate_limit_per_address(tmp_path, clock):
    from hall import create_app

    from .conftest import TEST_CONFIG

    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "r.sqlite3"),
            "CLOCK": clock,
            "HALL": {"security": {"ticket_rate_limit_per_minute": 3}},
        }
    )
    c = app.test_client()
    codes = [c.post("/api/tickets", json={"service": "SB"}).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    other = c.post("/api/tickets", json={"service": "SB"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 201


def test_staff_issue_priority_with_reason(staff, client):
    guide = staff("guide")
    r = guide.post("/api/tickets", json={"service": "SB", "priority": True})
    assert r.status_code == 400  # the reason is required
    r = guide.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "残疾人"}
    )
    assert r.status_code == 201 and r.get_json()["priority"] is True


def test_ticket_actions_need_staff(client):
    t = issue(client)
    for action in ("recall", "finish", "no-show", "requeue", "cancel", "transfer", "start"):
        assert client.post(f"/api/tickets/{t['id']}/{action}", json={}).status_code == 401


def test_ticket_actions_through_the_api(clerk_at, client):
    c1 = clerk_at(1)
    t = issue(client, "SB")
    r = c1.post("/api/windows/1/call-next")
    assert r.status_code == 200 and r.get_json()["ticket"]["number"] == t["number"]
    tid = t["id"]
    assert c1.post(f"/api/tickets/{tid}/recall").status_code == 200
    assert c1.post(f"/api/tickets/{tid}/start").status_code == 200
    r = c1.post(f"/api/tickets/{tid}/finish")
    assert r.status_code == 200 and r.get_json()["status"] == "done"
    r = c1.post(f"/api/tickets/{tid}/finish")
    assert r.status_code == 409 and "error" in r.get_json()
    assert c1.post("/api/tickets/999999/finish").status_code == 404
    assert c1.post(f"/api/tickets/{tid}/dance").status_code == 404
    # empty queue: call-next answers null
    assert c1.post("/api/windows/1/call-next").get_json() == {"ticket": None}


def test_transfer_validation(clerk_at, client):
    c1 = clerk_at(1)
    issue(client, "SB")
    tid = c1.post("/api/windows/1/call-next").get_json()["ticket"]["id"]
    for body in (
        {},
        {"window": "2"},
        {"service": 3},
        {"service": "BDC", "window": 2},
        {"window": 2, "note": 5},
        {"window": 2, "note": "x" * 501},
    ):
        r = c1.post(f"/api/tickets/{tid}/transfer", json=body)
        assert r.status_code == 400, body
    r = c1.post(f"/api/tickets/{tid}/transfer", json={"window": 2, "note": "请复核"})
    assert r.status_code == 200
    assert r.get_json()["status"] == "waiting" and r.get_json()["target_window"] == 2


def test_no_show_requeue_and_cancel(clerk_at, staff, client):
    c1 = clerk_at(1)
    t = issue(client, "SB")
    c1.post("/api/windows/1/call-next")
    assert c1.post(f"/api/tickets/{t['id']}/no-show").get_json()["status"] == "no_show"
    guide = staff("guide")
    assert guide.post(f"/api/tickets/{t['id']}/requeue").get_json()["status"] == "waiting"
    assert guide.post(f"/api/tickets/{t['id']}/requeue").status_code == 409
    r = guide.post(f"/api/tickets/{t['id']}/cancel", json={"reason": "群众离开"})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


# --- windows -------------------------------------------------------------------------
def test_window_actions(clerk_at, staff, client):
    c1 = clerk_at(1)
    r = c1.post("/api/windows/1/pause", json={"reason": "午休"})
    assert r.status_code == 200 and r.get_json()["state"] == "paused"
    assert r.get_json()["pause_reason"] == "午休"
    issue(client, "SB")
    assert c1.post("/api/windows/1/call-next").status_code == 409
    assert c1.post("/api/windows/1/open").get_json()["state"] == "open"
    assert c1.post("/api/windows/99/open").status_code == 404
    assert c1.post("/api/windows/1/fly").status_code == 404
    assert c1.post("/api/windows/1/pause", json={"reason": 3}).status_code == 400
    other = staff("clerk2")
    assert other.post("/api/windows/1/call-next").status_code == 403
    windows = {w["number"]: w for w in client.get("/api/windows").get_json()}
    assert windows[1]["state"] == "open" and windows[2]["state"] == "closed"


def test_force_close_needs_a_supervisor(clerk_at, staff):
    clerk_at(1)
    other = staff("clerk2")
    assert other.post("/api/windows/1/close", json={"force": True}).status_code == 403
    boss = staff("boss", role="supervisor")
    r = boss.post("/api/windows/1/close", json={"force": True})
    assert r.status_code == 200 and r.get_json()["state"] == "closed"


# --- ratings -------------------------------------------------------------------------
def done_ticket(clerk_at, client):
    c1 = clerk_at(1)
    t = issue(client, "SB")
    c1.post("/api/windows/1/call-next")
    c1.post(f"/api/tickets/{t['id']}/finish")
    return t


def test_rating_by_token(clerk_at, client):
    t = done_ticket(clerk_at, client)
    waiting = issue(client, "YB")
    r = client.post(f"/api/tickets/{waiting['token']}/rating", json={"score": 5})
    assert r.status_code == 409  # only after 办结
    url = f"/api/tickets/{t['token']}/rating"
    assert client.post(url, json={"score": 1}).status_code == 400
    assert client.post(url, json={"score": 0}).status_code == 400
    assert client.post(url, json={"score": "5"}).status_code == 400
    assert client.post(url, json={"score": 5, "reasons": "x"}).status_code == 400
    assert client.post(url, json={"score": 5, "reasons": [1]}).status_code == 400
    r = client.post(url, json={"score": 2, "reasons": ["效率低"], "comment": "排队太久"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["score"] == 2 and body["reasons"] == ["效率低"] and body["status"] == "open"
    assert client.post(url, json={"score": 5}).status_code == 409
    assert client.post("/api/tickets/nope/rating", json={"score": 5}).status_code == 404


# --- stats ---------------------------------------------------------------------------
def test_stats_roles_and_dates(clerk_at, staff, client, clock):
    c1 = clerk_at(1)
    t = issue(client, "SB")
    clock.advance(90)
    c1.post("/api/windows/1/call-next")
    c1.post(f"/api/tickets/{t['id']}/finish")
    issue(client, "SB")
    assert client.get("/api/stats").status_code == 401
    assert c1.get("/api/stats").status_code == 403
    boss = staff("boss", role="supervisor")
    s = boss.get("/api/stats?from=2026-11-30&to=2026-11-30").get_json()
    assert s["tickets"] == 2 and s["served"] == 1 and s["avg_wait_s"] == 90
    assert boss.get("/api/stats?from=2026-13-01").status_code == 400
    assert boss.get("/api/stats?from=2026-11-30&to=2026-11-01").status_code == 400
    empty = boss.get("/api/stats?from=2026-11-01&to=2026-11-02").get_json()
    assert empty["tickets"] == 0


# --- privacy -------------------------------------------------------------------------
def test_token_never_in_lists_or_staff_views(clerk_at, staff, client):
    t = issue(client, "SB")
    c1 = clerk_at(1)
    called = c1.post("/api/windows/1/call-next").get_data(as_text=True)
    listing = staff("guide").get("/api/tickets").get_data(as_text=True)
    services = client.get("/api/services").get_data(as_text=True)
    windows = client.get("/api/windows").get_data(as_text=True)
    for text in (called, listing, services, windows):
        assert t["token"] not in text


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and "error" in r.get_json()
    r = client.put("/api/tickets")
    assert r.status_code == 405 and "error" in r.get_json()


def test_ids_beyond_sqlite_integers_are_404(clerk_at):
    c1 = clerk_at(1)
    assert c1.post(f"/api/tickets/{2**64}/finish").status_code == 404
    assert c1.post(f"/api/windows/{2**64}/open").status_code == 404
