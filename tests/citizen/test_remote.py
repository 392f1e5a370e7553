"""线上取号 at /m: not called before check-in, called in its place after; the limits
refuse with clear messages."""

from __future__ import annotations

import re

from citizen import remote
from tests.citizen.test_sms import Gateway

PHONE = "13812345678"


def test_remote_ticket_waits_for_arrival_then_takes_its_place(make_app, clerk_at_app, clock):
    app = make_app({"mobile": {"arrival_required": True}})
    hall = app.extensions["hall"]
    phone = app.test_client()
    r = phone.post("/api/m/tickets", json={"service": "SB", "phone": PHONE})
    assert r.status_code == 201, r.get_json()
    mine = r.get_json()
    assert mine["number"] == "B001" and mine["arrival_required"]
    kiosk = app.test_client()
    for _ in range(2):
        clock.advance(seconds=60)
        assert kiosk.post("/api/tickets", json={"service": "SB"}).status_code == 201  # B002, B003
    clerk = clerk_at_app(app, 1)
    first = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert first["number"] == "B002"  # B001 is skipped: not here yet
    clerk.post(f"/api/tickets/{first['id']}/finish")
    # the door QR, opened on the phone that took it (its cookie), checks it in
    code = remote.door_code(hall)
    wrong = phone.post("/api/m/arrive", json={"token": mine["token"], "door": "yesterday00"})
    assert wrong.status_code == 403 and "二维码" in wrong.get_json()["error"]
    assert (
        phone.post("/api/m/arrive", json={"token": mine["token"], "door": code}).status_code == 200
    )
    nxt = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert nxt["number"] == "B001"  # its place: before B003, taken later
    kinds = [
        r["kind"]
        for r in hall.store.db().query(
            "SELECT kind FROM ticket_events WHERE ticket_id = ? ORDER BY id", [mine["id"]]
        )
    ]
    assert kinds == ["issued", "arrived", "called"]


def test_page_flow_and_door_qr_cookie(make_app, clerk_at_app, staff_of):
    app = make_app({"mobile": {"arrival_required": True}})
    phone = app.test_client()
    page = phone.get("/m")
    assert page.status_code == 200 and "线上取号" in page.get_data(as_text=True)
    r = phone.post("/m", data={"service": "YB", "phone": PHONE})
    assert r.status_code == 303 and r.headers["Location"].startswith("/t/")
    token = r.headers["Location"][3:]
    staff = staff_of(app, "guide1")
    door = staff.get("/m/door").get_data(as_text=True)
    code = re.search(r"/m/arrive/([0-9a-f]+)", door).group(1)
    assert phone.get("/m/door").status_code == 401  # the code of the day is for staff
    other = app.test_client()
    r = other.get(f"/m/arrive/{code}")
    assert r.status_code == 404 and "用取号的手机" in r.get_data(as_text=True)
    r = phone.get(f"/m/arrive/{code}")
    assert r.status_code == 200 and "C001已签到" in r.get_data(as_text=True)
    assert f"/t/{token}" in r.get_data(as_text=True)


def test_kiosk_check_in_by_number_and_phone(make_app, clerk_at_app):
    app = make_app({"mobile": {"arrival_required": True}})
    c = app.test_client()
    t = c.post("/api/m/tickets", json={"service": "SB", "phone": PHONE}).get_json()
    r = c.post("/api/kiosk/arrive", json={"number": "B001", "last4": "0000"})
    assert r.status_code == 404 and "后四位" in r.get_json()["error"]
    r = c.post("/api/kiosk/arrive", json={"number": "b001", "last4": "5678"})
    assert r.status_code == 200 and r.get_json()["id"] == t["id"]
    called = clerk_at_app(app, 1).post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == "B001"


def test_limits_refuse_with_clear_messages(make_app, clerk_at_app, clock):
    app = make_app({"mobile": {"daily_cap_per_service": 2}})
    c = app.test_client()
    assert c.post("/api/m/tickets", json={"service": "SB", "phone": PHONE}).status_code == 201
    r = c.post("/api/m/tickets", json={"service": "YB", "phone": PHONE})
    assert r.status_code == 409 and "该手机号已有未办结的号B001" in r.get_json()["error"]
    assert (
        c.post("/api/m/tickets", json={"service": "SB", "phone": "13900000000"}).status_code == 201
    )
    r = c.post("/api/m/tickets", json={"service": "SB", "phone": "13700000000"})
    assert r.status_code == 409 and "今日该业务线上取号已满" in r.get_json()["error"]
    r = c.post("/api/m/tickets", json={"service": "SB", "phone": "1234"})
    assert r.status_code == 400 and "手机号码" in r.get_json()["error"]
    # outside opening hours
    clock.advance(hours=10)
    r = c.post("/api/m/tickets", json={"service": "YB", "phone": "13600000000"})
    assert r.status_code == 409 and "办理时间" in r.get_json()["error"]
    # once B001 is done the phone may take another
    clock.advance(hours=-10)
    clerk = clerk_at_app(app, 1)
    t = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    clerk.post(f"/api/tickets/{t['id']}/finish")
    assert c.post("/api/m/tickets", json={"service": "YB", "phone": PHONE}).status_code == 201


def test_sms_code_when_a_channel_is_configured(make_app):
    gw = Gateway()
    try:
        app = make_app({"sms": {"channel": "http", "http_url": gw.url, "signature": ""}})
        c = app.test_client()
        r = c.post("/api/m/tickets", json={"service": "SB", "phone": PHONE})
        assert r.status_code == 403 and "验证码" in r.get_json()["error"]
        assert c.post("/api/m/code", json={"phone": PHONE}).status_code == 200
        again = c.post("/api/m/code", json={"phone": PHONE})
        assert again.status_code == 429 and "60秒" in again.get_json()["error"]
        app.extensions["hall"].faces.state("citizen").notifier.run_once()
        ((to, text),) = gw.texts()
        code = re.search(r"\d{6}", text).group(0)
        assert to == PHONE and text.startswith("您的取号验证码是")
        bad = c.post(
            "/api/m/tickets",
            json={
                "service": "SB",
                "phone": PHONE,
                "code": "000000" if code != "000000" else "111111",
            },
        )
        assert bad.status_code == 403
        r = c.post("/api/m/tickets", json={"service": "SB", "phone": PHONE, "code": code})
        assert r.status_code == 201
        # a code is used once
        r = c.post("/api/m/tickets", json={"service": "YB", "phone": "13900000000", "code": code})
        assert r.status_code == 403
    finally:
        gw.close()
