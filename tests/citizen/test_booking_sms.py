"""即将到号 for bookings: the phone given with a booking subscribes the booking's ticket
once it is checked in (by its code or by the ID card), to exactly one 即将到号 and one
called message through the fake HTTP gateway; none when the booker said no, none after
the ticket is cancelled or transferred away; the phone is masked where it is shown and
erased at retention."""

from __future__ import annotations

import pytest

from hall import idnumber, privacy
from tests.citizen.test_sms import SIGN, Gateway, http_app, sender
from tests.conftest import local

BOOKER = "13812345678"


@pytest.fixture
def gw():
    g = Gateway()
    yield g
    g.close()


def book(client, phone, slot="10:00", service="SB", **extra):
    r = client.post(
        "/api/appointments",
        json={
            "service": service,
            "date": "2026-12-01",
            "slot": slot,
            "name": "张三丰",
            "phone": phone,
            **extra,
        },
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def check_in(client, code):
    r = client.post(f"/api/appointments/{code}/check-in", json={"kiosk": "K1"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_the_booking_phone_gets_one_ahead_and_one_called(make_app, gw, clock, clerk_at_app):
    app = http_app(make_app, gw)  # [sms] ahead = 1
    hall = app.extensions["hall"]
    client = app.test_client()
    code = book(client, BOOKER)
    quiet = book(client, "13900000001", slot="10:30", notify=False)
    clock.set(local(2026, 12, 1, 9, 40))
    notifier = sender(app)
    notifier.run_once()
    assert gw.texts() == []  # nothing before the check-in
    for _ in range(2):  # two walk-ins already waiting
        client.post("/api/tickets", json={"service": "SB"})
    mine = check_in(client, code)  # lane 1: before the walk-ins, 0 ahead
    assert mine["sms"] is True and mine["number"] == "B003"
    assert BOOKER not in repr(mine)
    sub = next(iter(hall.store.db().query("SELECT * FROM sms_subscriptions")))
    assert (sub["ticket_id"], sub["origin"], sub["state"]) == (mine["id"], "appointment", "active")
    notifier.run_once()
    notifier.run_once()
    assert gw.texts() == [
        (BOOKER, f"{SIGN}您的排队号B003（社会保险）前面还有0人，请回到大厅留意叫号。")
    ]
    # the booker said no: checked in, no subscription, no message
    clock.set(local(2026, 12, 1, 10, 5))
    other = check_in(client, quiet)
    assert other.get("sms") is not True
    clerk = clerk_at_app(app, 1)
    called = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == "B003"
    clerk.post(f"/api/tickets/{called['id']}/recall")  # 重呼: no second message
    notifier.run_once()
    notifier.run_once()
    assert gw.texts()[1:] == [(BOOKER, f"{SIGN}请B003号到1号窗口办理（1号综办窗口）。")]
    clerk.post(f"/api/tickets/{called['id']}/finish")
    for _ in range(3):
        clerk.post("/api/windows/1/call-next")
        notifier.run_once()
    assert len(gw.texts()) == 2
    assert "13900000001" not in [p for p, _ in gw.texts()]
    # supervisors and staff see the phone masked
    sup = notifier.report()
    assert sup["counts"]["sent"] == 2
    staff = clerk.get("/api/appointments?date=2026-12-01").get_json()
    assert {b["phone"] for b in staff} == {"138****5678", "139****0001"}


def test_none_after_cancel_or_transfer_of_a_booked_ticket(
    make_app, gw, clock, clerk_at_app, staff_of
):
    app = http_app(make_app, gw)
    client = app.test_client()
    gone = book(client, "13900000002", slot="10:00")
    moved = book(client, "13900000003", slot="10:00", service="YB")
    clock.set(local(2026, 12, 1, 9, 45))
    t_gone = check_in(client, gone)
    t_moved = check_in(client, moved)
    sup = staff_of(app, "sup", "supervisor")
    assert sup.post(f"/api/tickets/{t_gone['id']}/cancel").status_code == 200
    clerk = clerk_at_app(app, 3)
    t = clerk.post("/api/windows/3/call-next").get_json()["ticket"]
    assert t["number"] == t_moved["number"]
    r = clerk.post(f"/api/tickets/{t['id']}/transfer", json={"service": "GJJ"})
    assert r.status_code == 200
    sender(app).run_once()
    clerk_at_app(app, 1).post("/api/windows/1/call-next")  # GJJ at window 1 (secondary)
    sender(app).run_once()
    assert gw.texts() == []
    db = app.extensions["hall"].store.db()
    subs = db.execute(
        "SELECT ticket_id, state, stopped_reason FROM sms_subscriptions ORDER BY ticket_id"
    ).fetchall()
    assert subs == [(t_gone["id"], "stopped", "取消"), (t_moved["id"], "stopped", "转办")]


def test_a_card_check_in_subscribes_too_and_purge_erases(make_app, gw, clock):
    app = make_app(
        {
            "sms": {"channel": "http", "http_url": gw.url, "http_success": "OK", "ahead": 1},
            "privacy": {"retention_days": 31},
        }
    )
    hall = app.extensions["hall"]
    client = app.test_client()
    full = idnumber.make("34082319900307123")
    code = book(client, BOOKER, id_number=full)
    clock.set(local(2026, 12, 1, 9, 50))
    read = client.post("/api/idcard/scan", json={"kiosk": "K1", "number": full}).get_json()
    r = client.post("/api/idcard/check-in", json={"card": read["card"], "kiosk": "K1"})
    assert r.status_code == 201 and r.get_json()["sms"] is True
    sender(app).run_once()
    assert [p for p, _ in gw.texts()] == [BOOKER]
    clock.advance(days=40)
    privacy.purge(hall)
    db = hall.store.db()
    assert db.execute("SELECT phone FROM sms_subscriptions").fetchone() == ("",)
    assert db.execute("SELECT phone FROM sms_outbox").fetchone() == ("",)
    row = db.execute("SELECT phone FROM appointments WHERE code = ?", [code]).fetchone()
    assert row == ("138****5678",)
    assert BOOKER.encode() not in open(hall.store.path, "rb").read()
