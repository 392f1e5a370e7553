"""Trusted rating pads: only a device paired with a supervisor's one-time code rates."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from hall.realtime import socketio

from ..conftest import pair_pad_page, save_screenshot
from .conftest import add_staff, live_session, make_live, rows
from .test_pad import rating_rows, serve_one

NOT_PAIRED = "此设备尚未配对为评价器"


def new_code(boss, window=1) -> str:
    r = boss.post("/api/pads/pairing-codes", json={"window": window})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def test_a_never_paired_device_cannot_rate(clerk_at, kiosk, hall):
    c = clerk_at(1)
    serve_one(c, kiosk)
    stranger = kiosk
    for r in (
        stranger.post("/api/pad/1/rating", json={"score": 5}),
        stranger.post("/api/pad/1/timeout", json={}),
        stranger.get("/api/pad/1"),
    ):
        assert r.status_code == 403 and NOT_PAIRED in r.get_json()["error"]
    # A made-up cookie is no better.
    stranger.set_cookie("hall_pad", "x" * 43)
    assert stranger.post("/api/pad/1/rating", json={"score": 5}).status_code == 403
    assert rating_rows(hall) == []
    # Its page is the pairing form, not the pad.
    html = stranger.get("/counter/pad/1").get_data(as_text=True)
    assert 'id="pair-code"' in html and 'id="pad-prompt"' not in html


def test_pairing_then_rating_then_revoked(clerk_at, kiosk, hall, staff, clock):
    boss = staff("boss", role="supervisor")
    clerk = clerk_at(1)
    code = new_code(boss, 1)
    pad = kiosk  # the tablet: an anonymous client until paired
    r = pad.post("/api/pad/1/pair", json={"code": code})
    assert r.status_code == 201 and r.get_json()["window"] == 1
    cookie = r.headers["Set-Cookie"]
    assert "hall_pad=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    token = re.search(r"hall_pad=([^;]+)", cookie).group(1)
    # Only the token's hash is stored.
    stored = hall.store.db().execute("SELECT token_hash FROM pad_devices").fetchall()
    assert len(stored) == 1 and token not in stored[0][0]
    assert token.encode() not in open(hall.store.path, "rb").read()

    t = serve_one(clerk, kiosk)
    r = pad.post("/api/pad/1/rating", json={"score": 5, "ticket": t["id"]})
    assert r.status_code == 201, r.get_json()
    # A pad paired with window 1 is not window 3's pad.
    r = pad.post("/api/pad/3/rating", json={"score": 5})
    assert r.status_code == 403 and "1号窗口" in r.get_json()["error"]

    devices = boss.get("/api/pads").get_json()["devices"]
    assert [(d["window"], d["active"], d["paired_by"]) for d in devices] == [(1, True, "boss")]
    assert devices[0]["last_seen"] and devices[0]["address"] == "127.0.0.1"
    # A clerk may not see or manage pads.
    assert staff("clerk9").get("/api/pads").status_code == 403
    r = boss.post(f"/api/pads/{devices[0]['id']}/revoke")
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert boss.post(f"/api/pads/{devices[0]['id']}/revoke").status_code == 409
    t2 = serve_one(clerk, kiosk)
    r = pad.post("/api/pad/1/rating", json={"score": 1, "reasons": ["效率低"]})
    assert r.status_code == 403 and NOT_PAIRED in r.get_json()["error"]
    assert rating_rows(hall, t2["id"]) == []
    audit = [r["action"] for r in hall.store.db().query("SELECT action FROM audit_log")]
    assert {"pad_code", "pad_paired", "pad_revoke"} <= set(audit)


def test_a_code_is_single_use_for_one_window_and_expires(app, kiosk, hall, staff, clock):
    boss = staff("boss", role="supervisor")
    code = new_code(boss, 1)
    # Wrong window, wrong code: refused, and the code still works afterwards.
    assert app.test_client().post("/api/pad/3/pair", json={"code": code}).status_code == 403
    assert app.test_client().post("/api/pad/1/pair", json={"code": "12345678"}).status_code == 403
    assert app.test_client().post("/api/pad/1/pair", json={"code": code}).status_code == 201
    # Used once: never again.
    r = app.test_client().post("/api/pad/1/pair", json={"code": code})
    assert r.status_code == 403 and "配对码错误、已使用或已过期" in r.get_json()["error"]
    # Ten minutes: then it is worthless.
    late = new_code(boss, 2)
    clock.advance(minutes=10)
    assert app.test_client().post("/api/pad/2/pair", json={"code": late}).status_code == 403
    # A newer code for a window replaces an open one.
    first, second = new_code(boss, 2), new_code(boss, 2)
    assert app.test_client().post("/api/pad/2/pair", json={"code": first}).status_code == 403
    assert app.test_client().post("/api/pad/2/pair", json={"code": second}).status_code == 201
    # Guessing is limited per address.
    guesser = app.test_client()
    answers = [
        guesser.post("/api/pad/1/pair", json={"code": f"{i:08d}"}).status_code for i in range(12)
    ]
    assert answers[-1] == 429 and set(answers) == {403, 429}
    assert staff("clerk5").post("/api/pads/pairing-codes", json={"window": 1}).status_code == 403
    assert boss.post("/api/pads/pairing-codes", json={"window": 99}).status_code == 404


def test_pad_namespace_takes_paired_pads_only(app, clerk_at, paired_pad):
    stranger = socketio.test_client(app, namespace="/pad")
    assert not stranger.is_connected("/pad")
    pad = socketio.test_client(app, namespace="/pad", flask_test_client=paired_pad(1))
    try:
        assert pad.is_connected("/pad")
        assert pad.emit("join", {"window": 3}, namespace="/pad", callback=True) == {"ok": False}
        assert pad.emit("join", {"window": 1}, namespace="/pad", callback=True)["ok"] is True
    finally:
        pad.disconnect(namespace="/pad")


def test_supervisor_pairs_in_the_admin_page_and_revokes(app, staff, kiosk, clerk_at, hall):
    boss = staff("boss", role="supervisor")
    assert kiosk.get("/counter/pads").status_code == 401  # the login form
    page = boss.get("/counter/pads").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert boss.client.post("/counter/pads/code", data={"window": "3"}).status_code == 403
    r = boss.client.post("/counter/pads/code", data={"window": "3", "csrf_token": csrf})
    html = r.get_data(as_text=True)
    code = re.search(r'id="pair-code-value">(\d{8})<', html).group(1)
    # The pad enters it in its own form (no script needed), and is sent to the pad.
    r = kiosk.post("/counter/pad/3/pair", data={"code": code})
    assert r.status_code == 303 and r.headers["Location"].endswith("/counter/pad/3")
    assert 'id="pad-prompt"' in kiosk.get("/counter/pad/3").get_data(as_text=True)
    html = boss.get("/counter/pads").get_data(as_text=True)
    device = re.search(r'data-device="(\d+)"', html).group(1)
    assert "使用中" in html and "127.0.0.1" in html
    r = boss.client.post(f"/counter/pads/{device}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert "已撤销" in boss.get("/counter/pads").get_data(as_text=True)
    assert 'id="pair-code"' in kiosk.get("/counter/pad/3").get_data(as_text=True)
    # A wrong code on the form says so, in Chinese.
    r = kiosk.post("/counter/pad/3/pair", data={"code": "00000000"})
    assert r.status_code == 403 and "配对码错误" in r.get_data(as_text=True)


def test_a_pad_is_paired_in_the_browser_and_rates(browser, tmp_path):
    live = make_live(tmp_path)
    try:
        add_staff(live, "clerk1", staff_no="C0001")
        clerk = live_session(live, "clerk1")
        assert clerk.post(live.url + "/api/windows/1/open").status_code == 200
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = ctx.new_page()
        try:
            page.goto(live.url + "/counter/pad/1")
            expect(page.locator("#pad-pair")).to_be_visible()
            page.fill("#pair-code", "11112222")
            page.click("#pair-submit")
            expect(page.locator("#pair-error")).to_contain_text("配对码错误")
            save_screenshot(page, "counter_pad_pairing")
            pair_pad_page(page, live, 1)
            expect(page.locator("#pad-idle")).to_be_visible()
            expect(page.locator("#pad-staffno")).to_have_text("C0001")
            # The cookie is the browser's own, out of the page's scripts' reach.
            assert page.evaluate("document.cookie").find("hall_pad") == -1
            r = clerk.post(live.url + "/api/tickets", json={"service": "SB"})
            t = clerk.post(live.url + "/api/windows/1/call-next").json()["ticket"]
            assert clerk.post(f"{live.url}/api/tickets/{t['id']}/finish").ok and r.ok
            expect(page.locator("#pad-prompt")).to_be_visible()
            page.click(".score[data-score='5']")
            expect(page.locator("#pad-thanks")).to_be_visible()
            stored = rows(live.db_path, "SELECT * FROM ratings WHERE ticket_id = ?", [t["id"]])
            assert [(r["score"], r["channel"]) for r in stored] == [(5, "pad")]
        finally:
            ctx.close()
    finally:
        live.stop()
