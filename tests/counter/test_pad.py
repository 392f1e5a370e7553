"""The 评价器 (rating pad): who may rate, when, how often; unrated after the timeout;
pushed over the /pad namespace; the server-side timer."""

from __future__ import annotations

import json
import time

import pytest

from hall import create_app
from hall.clock import Clock
from hall.realtime import socketio

from ..conftest import TEST_CONFIG, pair_pad
from .conftest import issue


def serve_one(c, kiosk, window=1, service="SB"):
    """Issue, call and finish one ticket at a window; return the ticket."""
    t = issue(kiosk, service)
    called = c.post(f"/api/windows/{window}/call-next").get_json()["ticket"]
    assert called["id"] == t["id"]
    r = c.post(f"/api/tickets/{t['id']}/finish")
    assert r.status_code == 200
    return t


def rating_rows(hall, ticket_id=None):
    db = hall.store.db()
    if ticket_id is None:
        return list(db.query("SELECT * FROM ratings ORDER BY id"))
    return list(db.query("SELECT * FROM ratings WHERE ticket_id = ?", [ticket_id]))


def test_idle_pad_shows_window_and_staff_number(kiosk, make_user, staff, paired_pad):
    pad1 = paired_pad(1)
    make_user("clerk1", staff_no="C0001")
    s = pad1.get("/api/pad/1").get_json()
    assert s["window_name"] == "1号综办窗口" and s["prompt"] is None
    assert s["signed_in"] is False and s["staff_no"] == ""
    c = staff("clerk1")
    c.post("/api/windows/1/open")
    s = pad1.get("/api/pad/1").get_json()
    assert s["signed_in"] is True and s["staff_no"] == "C0001"
    assert "clerk1" not in json.dumps(s)  # no login name on a public screen
    assert s["reasons"] == ["态度不好", "效率低", "材料要求不清", "多次跑腿", "其他"]
    html = pad1.get("/counter/pad/1").get_data(as_text=True)
    assert "1号综办窗口" in html and "C0001" in html and "工作人员工号" in html
    assert pad1.get("/api/pad/99").status_code == 404
    assert pad1.get("/counter/pad/99").status_code == 404


def test_finish_opens_the_prompt_and_a_good_rating_is_stored_once(
    clerk_at, kiosk, hall, paired_pad
):
    pad1 = paired_pad(1)
    c = clerk_at(1)
    t = serve_one(c, kiosk)
    s = pad1.get("/api/pad/1").get_json()
    assert s["prompt"]["number"] == "B001" and s["prompt"]["ticket_id"] == t["id"]
    assert s["prompt"]["service_name"] == "社会保险"
    assert s["prompt"]["remaining_seconds"] == 60
    assert t["token"] not in pad1.get("/api/pad/1").get_data(as_text=True)
    assert t["token"] not in pad1.get("/counter/pad/1").get_data(as_text=True)

    r = pad1.post("/api/pad/1/rating", json={"score": 5, "ticket": t["id"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["label"] == "非常满意" and r.get_json()["state"]["prompt"] is None
    stored = rating_rows(hall, t["id"])
    assert len(stored) == 1 and stored[0]["score"] == 5 and stored[0]["channel"] == "pad"
    assert stored[0]["window"] == 1 and stored[0]["clerk"] == "clerk1"
    # Only once: a second tap (or another person) cannot rate again.
    r = pad1.post("/api/pad/1/rating", json={"score": 1, "reasons": ["态度不好"]})
    assert r.status_code == 409
    assert rating_rows(hall, t["id"])[0]["score"] == 5


def test_bad_rating_needs_a_known_reason(clerk_at, kiosk, hall, paired_pad):
    pad1 = paired_pad(1)
    c = clerk_at(1)
    t = serve_one(c, kiosk)
    for body in (
        {"score": 2},
        {"score": 1, "reasons": []},
        {"score": 2, "reasons": ["我编的原因"]},
        {"score": 2, "reasons": "效率低"},
        {"score": 6},
        {"score": 0},
        {"score": "5"},
        {"score": True},
        {},
        {"score": 2, "reasons": ["效率低"], "comment": "长" * 201},
    ):
        r = pad1.post("/api/pad/1/rating", json=body)
        assert r.status_code == 400, body
    assert rating_rows(hall) == []
    r = pad1.post(
        "/api/pad/1/rating",
        json={"score": 2, "reasons": ["效率低", "多次跑腿"], "comment": "材料来回改"},
    )
    assert r.status_code == 201 and r.get_json()["bad"] is True
    row = rating_rows(hall, t["id"])[0]
    assert row["score"] == 2 and json.loads(row["reasons"]) == ["效率低", "多次跑腿"]
    assert row["comment"] == "材料来回改" and row["status"] == "open" and row["deadline"]
    # A comment alone is enough for a 差评 ("pick a reason or type one").
    c2 = serve_one(c, kiosk)
    r = pad1.post("/api/pad/1/rating", json={"score": 1, "comment": "态度生硬"})
    assert r.status_code == 201
    assert rating_rows(hall, c2["id"])[0]["score"] == 1


def test_nothing_to_rate_before_finish_or_at_another_window(clerk_at, kiosk, hall, paired_pad):
    pad1, pad3 = paired_pad(1), paired_pad(3)
    c = clerk_at(1)
    issue(kiosk, "SB")
    t = c.post("/api/windows/1/call-next").get_json()["ticket"]
    # Called but not finished: nothing to rate.
    assert pad1.get("/api/pad/1").get_json()["prompt"] is None
    assert pad1.post("/api/pad/1/rating", json={"score": 5}).status_code == 409
    c.post(f"/api/tickets/{t['id']}/finish")
    # Window 3's pad cannot rate window 1's ticket.
    assert pad3.get("/api/pad/3").get_json()["prompt"] is None
    assert pad3.post("/api/pad/3/rating", json={"score": 5}).status_code == 409
    assert pad3.post("/api/pad/3/rating", json={"score": 5, "ticket": t["id"]}).status_code == 409
    assert pad1.post("/api/pad/99/rating", json={"score": 5}).status_code == 404
    assert rating_rows(hall) == []


def test_only_the_most_recently_finished_ticket(clerk_at, kiosk, hall, clock, paired_pad):
    pad1 = paired_pad(1)
    c = clerk_at(1)
    first = serve_one(c, kiosk)
    clock.advance(10)
    second = serve_one(c, kiosk)
    s = pad1.get("/api/pad/1").get_json()
    assert s["prompt"]["ticket_id"] == second["id"]
    # A pad still showing the first ticket is told it is over.
    r = pad1.post("/api/pad/1/rating", json={"score": 4, "ticket": first["id"]})
    assert r.status_code == 409
    r = pad1.post("/api/pad/1/rating", json={"score": 4})
    assert r.status_code == 201
    assert rating_rows(hall, second["id"])[0]["score"] == 4
    assert rating_rows(hall, first["id"]) == []
    # The first one is recorded unrated once its time is over.
    clock.advance(60)
    pad1.get("/api/pad/1")
    row = rating_rows(hall, first["id"])[0]
    assert row["score"] is None and row["channel"] == "timeout"


def test_timeout_records_unrated_never_good(clerk_at, kiosk, hall, clock, paired_pad):
    pad1 = paired_pad(1)
    c = clerk_at(1)
    t = serve_one(c, kiosk)
    # Before the time is up, a timeout request records nothing.
    clock.advance(30)
    r = pad1.post("/api/pad/1/timeout", json={})
    assert r.status_code == 200 and r.get_json()["recorded"] == 0
    assert r.get_json()["state"]["prompt"]["remaining_seconds"] == 30
    assert rating_rows(hall) == []
    clock.advance(30)
    # The time is up: the pad may not rate any more ...
    assert pad1.post("/api/pad/1/rating", json={"score": 5}).status_code == 409
    # ... and the ticket is recorded as unrated, not as 满意.
    r = pad1.post("/api/pad/1/timeout", json={})
    assert r.get_json()["recorded"] == 1 and r.get_json()["state"]["prompt"] is None
    rows = rating_rows(hall)
    assert len(rows) == 1 and rows[0]["ticket_id"] == t["id"]
    assert rows[0]["score"] is None and rows[0]["channel"] == "timeout"
    assert rows[0]["status"] == "none"
    # Sweeping again changes nothing.
    assert pad1.post("/api/pad/1/timeout", json={}).get_json()["recorded"] == 0
    # The ticket's public JSON says "not rated".
    assert kiosk.get(f"/api/tickets/{t['token']}").get_json()["rated"] is False


def test_pad_posts_must_be_json(clerk_at, kiosk, hall, paired_pad):
    pad1 = paired_pad(1)
    c = clerk_at(1)
    serve_one(c, kiosk)
    r = pad1.post("/api/pad/1/rating", data='{"score": 5}', content_type="text/plain")
    assert r.status_code == 400
    r = pad1.post("/api/pad/1/rating", data="{oops", content_type="application/json")
    assert r.status_code == 400
    assert rating_rows(hall) == []


def test_pad_addresses_limit_who_may_rate(tmp_path, clock, make_user):
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {"counter": {"pad_addresses": ["10.0.0.21"]}},
            "DATABASE": str(tmp_path / "pads.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        from hall.engine import Actor

        a = Actor("clerk1", "clerk")
        hall.engine.open_window(1, a)
        hall.engine.issue("SB")
        t = hall.engine.call_next(1, a)
        hall.engine.finish(t["id"], a)
        other = app.test_client()
        r = other.post("/api/pad/1/rating", json={"score": 5})
        assert r.status_code == 403
        pad = pair_pad(app, 1, address="10.0.0.21")
        r = pad.post(
            "/api/pad/1/rating", json={"score": 5}, environ_base={"REMOTE_ADDR": "10.0.0.21"}
        )
        assert r.status_code == 201
    finally:
        hall.store.close()


def test_pad_namespace_pushes_the_prompt(app, clerk_at, kiosk, hall, paired_pad):
    c = clerk_at(1)
    pad1 = paired_pad(1)
    pad = socketio.test_client(app, namespace="/pad", flask_test_client=pad1)
    other = socketio.test_client(app, namespace="/pad", flask_test_client=paired_pad(3))
    try:
        ack = pad.emit("join", {"window": 1}, namespace="/pad", callback=True)
        assert ack["ok"] and ack["state"]["prompt"] is None
        other.emit("join", {"window": 3}, namespace="/pad", callback=True)
        assert pad.emit("join", {"window": "1"}, namespace="/pad", callback=True) == {"ok": False}
        assert pad.emit("join", {"window": 99}, namespace="/pad", callback=True) == {"ok": False}
        big = {"window": 10**30}
        assert pad.emit("join", big, namespace="/pad", callback=True) == {"ok": False}
        pad.get_received("/pad")
        other.get_received("/pad")
        t = serve_one(c, kiosk)
        states = [m["args"][0] for m in pad.get_received("/pad") if m["name"] == "state"]
        assert states and states[-1]["prompt"]["ticket_id"] == t["id"]
        assert all(t["token"] not in json.dumps(s) for s in states)
        # Window 3's pad hears nothing about window 1.
        assert [m for m in other.get_received("/pad") if m["name"] == "state"] == []
        pad1.post("/api/pad/1/rating", json={"score": 3})
        states = [m["args"][0] for m in pad.get_received("/pad") if m["name"] == "state"]
        assert states and states[-1]["prompt"] is None
    finally:
        pad.disconnect(namespace="/pad")
        other.disconnect(namespace="/pad")


@pytest.mark.slow
def test_server_side_timer_records_unrated(tmp_path):
    """With a real clock and nobody at the pad, the server records unrated by itself."""
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {"ratings": {"pad_timeout_seconds": 1}, "hours": {"always_open": True}},
            "DATABASE": str(tmp_path / "timer.sqlite3"),
            "CLOCK": Clock(),
            "TESTING": True,
            "NO_VOICE": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        from hall.engine import Actor

        a = Actor("clerk1", "clerk")
        hall.engine.open_window(1, a)
        hall.engine.issue("SB")
        t = hall.engine.call_next(1, a)
        hall.engine.finish(t["id"], a)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not rating_rows(hall, t["id"]):
            time.sleep(0.1)
        rows = rating_rows(hall, t["id"])
        assert len(rows) == 1 and rows[0]["score"] is None and rows[0]["channel"] == "timeout"
    finally:
        hall.store.close()
